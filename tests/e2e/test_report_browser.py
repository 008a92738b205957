"""`timesync report` of a real sync, opened in headless Chromium: the page a project manager checks before invoicing.

The sync runs through `meltano run sync` against the sandbox; a conflict is parked and two locked-period
differences are made through the sandbox's control API, one on each side. The report is written by the real CLI
(reading both simulators' APIs), then opened in Debian's Chromium with JavaScript off and the network cut. Every
figure on the page must equal what the simulators hold (`GET /_sandbox/state`), each made difference must be on
the page with its explanation, and the charts must render.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from sandbox import credentials
from sandbox.browser import chromium_missing, open_page
from sandbox.roster import demo_links
from timesync.ledger import Ledger, PairKind, PairState

# In `make test-suites`: Chromium and a synced world take a minute or two (README "Tests").
pytestmark = [pytest.mark.e2e, pytest.mark.suite]

LINKS = demo_links()
FORECAST_PROJECTS = {p["forecast"]: p["timelog"] for p in LINKS["projects"]}
TIMELOG_PROJECTS = {timelog: forecast for forecast, timelog in FORECAST_PROJECTS.items()}
LINKED_PERSONS = {p["forecast"]: p["timelog"] for p in LINKS["persons"]}
TIMESYNC = str(Path(sys.executable).parent / "timesync")
SECRETS = (credentials.FORECAST_API_KEY, credentials.TIMELOG_PASSWORD, credentials.TIMELOG_SITE_CODE,
           credentials.TIMELOG_REPORTING_PASSWORD)


def _week(day: str) -> str:
    year, week, _ = dt.date.fromisoformat(day[:10]).isocalendar()
    return f"{year}-W{week:02d}"


def expected_minutes(forecast: dict, timelog: dict) -> dict[tuple[str, str], list[int]]:
    """In-scope minutes per (Forecast project, ISO week) on each side, straight from the simulators' state."""
    task_project = {t["id"]: t["project_id"] for t in forecast["tasks"]}
    tl_task_project = {t["task_id"]: t["project_id"] for t in timelog["tasks"]}
    linked_employees = set(LINKED_PERSONS.values())
    found: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in forecast["time_registrations"]:
        project = r["project"] or task_project.get(r["task"])
        if project in FORECAST_PROJECTS and r["person"] in LINKED_PERSONS:
            found[(str(project), _week(r["date"]))][0] += r["time_registered"]
    for u in timelog["work_units"]:
        project = TIMELOG_PROJECTS.get(tl_task_project[u["task_id"]])
        if project is not None and u["employee_id"] in linked_employees:
            found[(str(project), _week(u["start_at"]))][1] += u["minutes"]
    return dict(found)


def _hours(minutes: int) -> str:
    text = f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _twins(harness) -> list[tuple[dict, dict]]:
    """(registration, work unit) of every linked pair, oldest pair first."""
    forecast, timelog = harness.forecast_state(), harness.timelog_state()
    registrations = {str(r["id"]): r for r in forecast["time_registrations"]}
    work = {u["guid"]: u for u in timelog["work_units"]}
    with Ledger.open(harness.project.ledger_url) as ledger:
        pairs = ledger.pairs(kind=PairKind.TIME_ENTRY, states=[PairState.LINKED])
    open_pairs = [(registrations.get(p.forecast_id or ""), work.get(p.timelog_id or "")) for p in pairs]
    return [(registration, unit) for registration, unit in open_pairs
            if registration and unit and registration["approval_status"] != "APPROVED" and unit["approved_status"] < 10]


def _edit_work(harness, unit: dict, minutes: int) -> None:
    initials = {e["employee_id"]: e["initials"] for e in harness.timelog_state()["employees"]}
    harness.timelog.update_work(unit["guid"], initials=initials[unit["employee_id"]], task_id=unit["task_id"],
                                date=unit["start_at"][:10], minutes=minutes, note=unit["description"])


def _make_differences(harness) -> dict[str, tuple[dict, dict]]:
    """A parked conflict, a TimeLog edit of an entry Forecast approved, and a Forecast edit in a closed TimeLog week.

    Each on its own person and day, so one lock never covers another case's entry.
    """
    chosen: dict[str, tuple[dict, dict]] = {}
    used: set[tuple[int, str]] = set()
    for registration, unit in _twins(harness):
        key = (registration["person"], registration["date"])
        if key in used:
            continue
        used.add(key)
        chosen[("conflict", "forecast_lock", "timelog_lock")[len(chosen)]] = (registration, unit)
        if len(chosen) == 3:
            break
    assert len(chosen) == 3, "the small world has three linked pairs on different persons or days"
    registration, unit = chosen["conflict"]
    harness.forecast.update_registration(registration["id"], time_registered=registration["time_registered"] + 15)
    _edit_work(harness, unit, unit["minutes"] + 45)
    registration, unit = chosen["forecast_lock"]
    harness.sandbox.forecast.lock(person=registration["person"], **{"from": registration["date"],
                                                                     "to": registration["date"]})
    _edit_work(harness, unit, unit["minutes"] + 60)
    registration, unit = chosen["timelog_lock"]
    harness.sandbox.timelog.lock(employee_id=unit["employee_id"], **{"from": unit["start_at"][:10],
                                                                      "to": unit["start_at"][:10]})
    harness.forecast.update_registration(registration["id"], time_registered=registration["time_registered"] + 30)
    return chosen


@pytest.fixture
def browser_ready() -> None:
    reason = chromium_missing()
    if reason:
        pytest.skip(f"no headless browser for the report test: {reason}")


@pytest.mark.usefixtures("browser_ready")
def test_the_report_of_a_real_sync_shows_the_truth_in_a_browser(harness, tmp_path: Path) -> None:
    harness.sync()
    cases = _make_differences(harness)
    harness.sync()
    forecast, timelog = harness.forecast_state(), harness.timelog_state()
    expected = expected_minutes(forecast, timelog)
    days = sorted({r["date"] for r in forecast["time_registrations"]}
                  | {u["start_at"][:10] for u in timelog["work_units"]})
    page_path = tmp_path / "report.html"
    written = subprocess.run([TIMESYNC, "report", "--out", str(page_path), "--since", days[0], "--until", days[-1]],
                             env=harness.project.env(), capture_output=True, text=True, timeout=120, check=False)
    assert written.returncode == 0, written.stdout + written.stderr
    html = page_path.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in html, "a secret reached the report (invariant 9)"
    with Ledger.open(harness.project.ledger_url) as ledger:
        pair_of = {name: ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration["id"]))
                   for name, (registration, _) in cases.items()}
    assert pair_of["conflict"].state is PairState.CONFLICT
    assert pair_of["forecast_lock"].state is PairState.LOCKED
    assert pair_of["timelog_lock"].state is PairState.LOCKED

    with open_page(page_path) as (page, blocked):
        assert page.locator("#differences-table").is_visible()
        page.locator("#all-weeks > summary").click()  # every project-week, agreeing ones included
        assert page.locator("#agreement-table").is_visible()
        rows = page.locator("#agreement-table tbody tr[data-week]")
        shown = {}
        for i in range(rows.count()):
            row = rows.nth(i)
            key = (row.get_attribute("data-project"), row.get_attribute("data-week"))
            minutes = [int(row.get_attribute("data-forecast-minutes")), int(row.get_attribute("data-timelog-minutes"))]
            if any(minutes):
                shown[key] = minutes
                cells = row.locator("td.num")
                assert cells.nth(0).inner_text().split()[0] == _hours(minutes[0])
                assert cells.nth(1).inner_text().split()[0] == _hours(minutes[1])
                assert cells.nth(0).inner_text().split()[1] == "API", "each figure names its source"
        assert shown == expected, "the page's hours are not what the two systems hold"

        for name, why in (("conflict", "conflict"), ("forecast_lock", "locked"), ("timelog_lock", "locked")):
            registration, _ = cases[name]
            project = str(registration["project"] or next(t["project_id"] for t in forecast["tasks"]
                                                          if t["id"] == registration["task"]))
            week = _week(registration["date"])
            row = page.locator(f'#differences-table tr[data-project="{project}"][data-week="{week}"]')
            assert row.count() == 1, f"the {name} week is not among the differences"
            assert row.locator(f"li.why-{why}").count() >= 1, f"the {name} difference is not explained as {why}"
        conflict_id = pair_of["conflict"].id
        conflict_row = page.locator(f'#attention-table tr.attention-conflict[data-pair="{conflict_id}"]')
        assert conflict_row.count() == 1
        assert f"timesync conflicts resolve {conflict_id} --keep forecast" in conflict_row.inner_text()
        assert f"timesync conflicts resolve {conflict_id} --keep timelog" in conflict_row.inner_text()
        for name in ("forecast_lock", "timelog_lock"):
            assert page.locator(f'#attention-table tr.attention-locked[data-pair="{pair_of[name].id}"]').count() == 1

        charts = page.locator("figure svg[role=img]")
        assert charts.count() == 2
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None
            assert box["width"] > 0
            assert box["height"] > 0
        assert blocked == [], f"the page tried to fetch {blocked}"
        screenshot = tmp_path / "report.png"
        page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000


def test_meltano_invoke_timesync_report_writes_the_page(harness, tmp_path: Path) -> None:
    """`meltano invoke timesync report` works: the utility's own venv has what the page needs (the report extra)."""
    page_path = tmp_path / "ledger-report.html"
    run = harness.project.meltano("invoke", "timesync", "report", "--ledger-only", "--out", str(page_path))
    assert run.returncode == 0, run.output[-3000:]
    html = page_path.read_text(encoding="utf-8")
    assert "Ledger only." in html
    assert "No sync run is recorded yet." in html
