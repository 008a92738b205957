"""A project linked after weeks of time on both sides syncs completely on the next `meltano run sync` (issue 15).

An incremental run reads what changed since the last one; the entries a new link brings into scope changed
before it, so only the backfill that `timesync:finish` runs brings them, with no manual step.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sandbox.roster import demo_links, workdays_until
from timesync.ledger import BackfillState, Ledger, PairKind

pytestmark = [pytest.mark.e2e]

LAST_DAY = dt.date(2026, 11, 20)  # a Friday inside the demo's three months


def _in_scope(harness, forecast_project: int, timelog_project: int, links: dict) -> tuple[set[str], set[str]]:
    """Ids of the entries of one project, by linked persons, on each side."""
    persons = {p["forecast"] for p in links["persons"]}
    employees = {p["timelog"] for p in links["persons"]}
    forecast, timelog = harness.forecast_state(), harness.timelog_state()
    task_project = {t["id"]: t["project_id"] for t in forecast["tasks"]}
    registrations = {str(r["id"]) for r in forecast["time_registrations"] if r["person"] in persons
                     and (r["project"] == forecast_project or task_project.get(r["task"]) == forecast_project)}
    tl_task_project = {t["task_id"]: t["project_id"] for t in timelog["tasks"]}
    work = {u["guid"] for u in timelog["work_units"]
            if u["employee_id"] in employees and tl_task_project.get(u["task_id"]) == timelog_project}
    return registrations, work


def test_a_project_linked_after_three_weeks_syncs_on_the_next_run(harness) -> None:
    links = demo_links()
    later = links["projects"].pop(0)
    harness.write_links(links)
    forecast = harness.forecast_state()
    task = next(t for t in forecast["tasks"] if t["project_id"] == later["forecast"] and not t["parent_task_id"])
    person = links["persons"][0]["forecast"]
    for number, day in enumerate(workdays_until(LAST_DAY, 15)[::2], start=1):
        harness.forecast.create_registration(person=person, date=day.isoformat(), minutes=15 * number,
                                             task=task["id"], notes=f"week-old work {number}")
    harness.sync()
    registrations, work = _in_scope(harness, later["forecast"], later["timelog"], demo_links())
    assert len(registrations) >= 8, "three weeks of Forecast time on the project"
    assert work, "the small world has TimeLog time on the project by a linked employee"
    with Ledger.open(harness.project.ledger_url) as ledger:
        paired = {p.forecast_id for p in ledger.pairs(kind=PairKind.TIME_ENTRY)}
    assert not registrations & paired, "an unlinked project is not synced"

    harness.write_links(demo_links())
    harness.sandbox.forecast.clear_stats()
    run = harness.sync()
    requests = harness.sandbox.forecast.stats()["requests"]
    assert any("/v3/projects/{" in op and "time_registrations" in op for op in requests), \
        f"the backfill reads the project's registrations only: {sorted(requests)}"
    assert "backfill 1 done" in run.output, run.output[-6000:]
    registrations, work = _in_scope(harness, later["forecast"], later["timelog"], demo_links())
    with Ledger.open(harness.project.ledger_url) as ledger:
        pairs = ledger.pairs(kind=PairKind.TIME_ENTRY)
        [backfill] = ledger.backfills()
    settled = [p for p in pairs if p.forecast_id and p.timelog_id]
    assert registrations <= {p.forecast_id for p in settled}, "every Forecast entry of the new link has a twin"
    assert work <= {p.timelog_id for p in settled}, "every TimeLog entry of the new link has a twin"
    assert backfill.state is BackfillState.DONE
    assert backfill.request.forecast == str(later["forecast"])

    harness.sandbox.forecast.clear_stats()
    harness.sandbox.timelog.clear_stats()
    again = harness.sync()
    assert "backfill" not in again.output.replace("backfill: false", "")
    assert harness.sandbox.forecast.stats()["writes_total"] == 0, "nothing is written twice"
    assert harness.sandbox.timelog.stats()["writes_total"] == 0
    status = harness.project.meltano("invoke", "timesync", "--json", "status")
    assert status.returncode == 0, status.output[-3000:]
    listed = json.loads(status.stdout[status.stdout.index("{"):])["backfills"]
    assert [(b["id"], b["state"]) for b in listed] == [(1, "done")]
