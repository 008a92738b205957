"""A lost or stale ledger never duplicates hours: the next `meltano run sync` refuses and writes nothing (issue 15).

The ledger is the only record of which entry is whose twin. Without it, or with an older copy, every entry
synced since looks new and would be created again on the other side. Meltano's state survives both cases (it
is kept apart from the ledger), so the tap resumes from a bookmark the ledger never passed on: the mapper sees
that before planning and stops the run.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from sandbox.roster import demo_links
from tests.e2e.suites.checks import World, convergence_problems
from tests.e2e.suites.world import LedgerView

pytestmark = [pytest.mark.e2e, pytest.mark.suite]

SOME_DAY = "2026-11-16"


def _ledger_file(harness) -> Path:
    return harness.project.workdir / "ledger.db"


def _replace_ledger(harness, source: Path | None) -> None:
    """Swap the ledger file (and drop SQLite's WAL files, which belong to the old one) for `source`, or none."""
    ledger = _ledger_file(harness)
    for path in (ledger, ledger.with_name("ledger.db-wal"), ledger.with_name("ledger.db-shm")):
        path.unlink(missing_ok=True)
    if source is not None:
        shutil.copy(source, ledger)


def _backup(harness, path: Path) -> None:
    run = harness.project.meltano("invoke", "timesync", "ledger", "backup", str(path))
    assert run.returncode == 0, run.output[-3000:]
    assert path.exists()


def _new_registration(harness, minutes: int) -> dict:
    state = harness.forecast_state()
    linked = {int(link["forecast"]) for link in demo_links()["projects"]}
    persons = {int(link["forecast"]) for link in demo_links()["persons"]}
    task = next(t for t in state["tasks"] if t["project_id"] in linked and not t["parent_task_id"])
    return harness.forecast.create_registration(person=min(persons), date=SOME_DAY, minutes=minutes,
                                                task=task["id"], notes=f"guard {minutes}")


def _assert_refused_without_writes(harness) -> None:
    harness.sandbox.forecast.clear_stats()
    harness.sandbox.timelog.clear_stats()
    run = harness.sync(expect_ok=False)
    assert run.returncode != 0, "a run against a ledger behind Meltano's state must fail"
    assert "lost or older than the last run" in run.output
    assert harness.sandbox.forecast.stats()["writes_total"] == 0
    assert harness.sandbox.timelog.stats()["writes_total"] == 0


def test_a_deleted_ledger_makes_the_next_run_refuse_without_writing(harness) -> None:
    harness.sync()
    _replace_ledger(harness, None)
    _new_registration(harness, 35)
    _assert_refused_without_writes(harness)


def test_yesterdays_copy_of_the_ledger_makes_the_run_refuse(harness, tmp_path: Path) -> None:
    harness.sync()
    yesterday = tmp_path / "backups" / "yesterday.db"
    _backup(harness, yesterday)
    _new_registration(harness, 40)
    harness.sync()
    _replace_ledger(harness, yesterday)
    _new_registration(harness, 45)
    _assert_refused_without_writes(harness)


def test_the_newest_backup_restored_carries_on_with_nothing_written_twice(harness, tmp_path: Path) -> None:
    """`timesync ledger backup` copies a consistent ledger: restored, the next run proceeds and writes only news."""
    harness.sync()
    newest = tmp_path / "backups" / "newest.db"
    _backup(harness, newest)
    _replace_ledger(harness, newest)
    harness.sandbox.forecast.clear_stats()
    harness.sandbox.timelog.clear_stats()
    harness.sync()
    assert harness.sandbox.forecast.stats()["writes"] == {}
    assert harness.sandbox.timelog.stats()["writes"] == {}


def _clear_meltano_state(harness) -> None:
    listed = harness.project.meltano("state", "list")
    assert listed.returncode == 0, listed.output[-3000:]
    state_ids = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
    assert state_ids, "the first sync saved Meltano state"
    for state_id in state_ids:
        cleared = harness.project.meltano("state", "clear", "--force", state_id)
        assert cleared.returncode == 0, cleared.output[-3000:]


def test_a_ledger_lost_with_meltanos_state_refuses_without_writing(harness) -> None:
    """Losing `.meltano/` loses both: the run looks like a first sync, but TimeLog already holds our keyed tasks."""
    harness.sync()
    _replace_ledger(harness, None)
    _clear_meltano_state(harness)
    _new_registration(harness, 50)
    harness.sandbox.forecast.clear_stats()
    harness.sandbox.timelog.clear_stats()
    run = harness.sync(expect_ok=False)
    assert run.returncode != 0
    assert "never synced it" in run.output
    assert harness.sandbox.forecast.stats()["writes_total"] == 0
    assert harness.sandbox.timelog.stats()["writes_total"] == 0


def _rebuild(harness, *args: str) -> dict:
    run = harness.project.meltano("invoke", "timesync", "--json", "ledger", "rebuild", *args)
    assert run.returncode == 0, run.output[-3000:]
    return json.loads(run.stdout[run.stdout.index("{"):])


def _ids(harness) -> tuple[set[int], set[str]]:
    return ({r["id"] for r in harness.forecast_state()["time_registrations"]},
            {u["guid"] for u in harness.timelog_state()["work_units"]})


def _assert_converged_with_nothing_twice(harness, synced: tuple[set[int], set[str]], meantime: dict) -> None:
    """Nothing synced before was lost, only the meantime registration and its twin are new, every entry has one
    twin."""
    synced_forecast, synced_timelog = synced
    forecast_ids, timelog_ids = _ids(harness)
    assert synced_forecast <= forecast_ids, "nothing lost in Forecast"
    assert synced_timelog <= timelog_ids, "nothing lost in TimeLog"
    assert forecast_ids - synced_forecast == {meantime["id"]}, "no registration created twice"
    assert len(timelog_ids - synced_timelog) == 1, "only the meantime registration's twin is new in TimeLog"
    world = World.read(harness.forecast_state(), harness.timelog_state(), demo_links(),
                       LedgerView(_ledger_file(harness)))
    assert convergence_problems(world) == []


def test_a_deleted_ledger_rebuilt_syncs_on_with_nothing_twice_and_nothing_lost(harness) -> None:
    """The issue's case: sync, lose the ledger, the run refuses; `rebuild` (dry, then --apply), then `sync`: every
    entry has exactly one twin, no entry was created a second time or lost, and the news of the meantime arrive."""
    harness.sync()
    synced = _ids(harness)
    linked = [pair for pair in LedgerView(_ledger_file(harness)).pairs() if pair["state"] == "linked"]
    _replace_ledger(harness, None)
    meantime = _new_registration(harness, 55)
    _assert_refused_without_writes(harness)

    dry = _rebuild(harness)
    assert dry["applied"] is False
    assert dry["counts"]["time_entry.paired"] == len(linked), "every pair the lost ledger held, found again"
    assert "time_entry.parked" not in dry["counts"], "the small world has no ambiguous entries"
    assert dry["counts"]["task.paired"] > 0
    assert dry["counts"]["time_entry.unmatched.forecast"] == 1, "the registration made after the ledger was lost"
    assert LedgerView(_ledger_file(harness)).pairs() == [], "a dry run writes nothing"
    applied = _rebuild(harness, "--apply")
    assert applied["counts"] == dry["counts"]
    with closing(sqlite3.connect(_ledger_file(harness))) as ledger:
        recorded = {direction for (direction,) in ledger.execute("SELECT direction FROM bookmarks")}
    assert recorded == {"forecast_to_timelog", "timelog_to_forecast"}, "Meltano's bookmarks, read and recorded"

    run = harness.sync()
    assert "predates bookmark records" not in run.output, "the recorded bookmarks are the ones Meltano resumes from"
    _assert_converged_with_nothing_twice(harness, synced, meantime)


def test_a_ledger_lost_with_meltanos_state_rebuilt_syncs_everything_once(harness) -> None:
    """No bookmarks to record: the next run reads both sides whole, finds the rebuilt pairs unchanged, and creates
    only what has no twin."""
    harness.sync()
    synced = _ids(harness)
    _replace_ledger(harness, None)
    _clear_meltano_state(harness)
    meantime = _new_registration(harness, 65)
    applied = _rebuild(harness, "--apply")
    assert applied["counts"]["time_entry.unmatched.forecast"] == 1
    harness.sync()
    _assert_converged_with_nothing_twice(harness, synced, meantime)


def _linked_entry_pairs(harness) -> list[dict]:
    return [pair for pair in LedgerView(_ledger_file(harness)).pairs() if pair["state"] == "linked"]


def _edit_forecast(harness, registration_id: int, minutes: int) -> None:
    harness.forecast.update_registration(registration_id, time_registered=minutes)


def _edit_timelog(harness, guid: str, note: str) -> None:
    unit = next(u for u in harness.timelog_state()["work_units"] if u["guid"] == guid)
    initials = {e["employee_id"]: e["initials"] for e in harness.timelog_state()["employees"]}
    harness.timelog.update_work(guid, initials=initials[unit["employee_id"]], task_id=unit["task_id"],
                                date=unit["start_at"][:10], minutes=unit["minutes"], note=note)


def test_yesterdays_ledger_restored_and_rebuilt_writes_nothing_twice_and_the_days_edits_arrive(
        harness, tmp_path: Path) -> None:
    """The issue's second case: the ledger is restored from the day before, after a day of synced edits.

    The run refuses; `rebuild --apply` re-pairs what the old ledger does not know and gives its pairs the values
    both sides agree on now; the next `sync` creates nothing a second time, and every edit of the day (synced before
    the loss, or made after it) holds on both sides."""
    harness.sync()
    yesterday = tmp_path / "backups" / "yesterday.db"
    _backup(harness, yesterday)
    pairs = _linked_entry_pairs(harness)
    assert len(pairs) >= 4, "the small world syncs a few entries per project"
    # Four different pairs, so that no pair is edited on both sides (that would be a conflict, parked by design).
    forecast_day, timelog_day, forecast_after, timelog_after = pairs[:4]

    # The day: a new registration, an edit on each side, all synced before the ledger is lost.
    created_in_the_day = _new_registration(harness, 40)
    _edit_forecast(harness, int(forecast_day["forecast_id"]), 95)
    _edit_timelog(harness, timelog_day["timelog_id"], "edited in TimeLog during the day")
    harness.sync()
    synced = _ids(harness)

    _replace_ledger(harness, yesterday)
    # After the loss: a new registration, and an edit on each side of entries the day did not touch.
    meantime = _new_registration(harness, 45)
    _edit_forecast(harness, int(forecast_after["forecast_id"]), 105)
    _edit_timelog(harness, timelog_after["timelog_id"], "edited in TimeLog after the restore")
    _assert_refused_without_writes(harness)

    applied = _rebuild(harness, "--apply")
    assert applied["counts"]["time_entry.unmatched.forecast"] == 1, "only the registration made after the loss"
    harness.sync()

    _assert_converged_with_nothing_twice(harness, synced, meantime)
    registrations = {r["id"]: r for r in harness.forecast_state()["time_registrations"]}
    units = {u["guid"]: u for u in harness.timelog_state()["work_units"]}
    assert registrations[created_in_the_day["id"]]["time_registered"] == 40
    for pair, minutes in ((forecast_day, 95), (forecast_after, 105)):
        assert registrations[int(pair["forecast_id"])]["time_registered"] == minutes
        assert units[pair["timelog_id"]]["minutes"] == minutes, "the Forecast edit holds in TimeLog"
    for pair, note in ((timelog_day, "edited in TimeLog during the day"),
                       (timelog_after, "edited in TimeLog after the restore")):
        assert units[pair["timelog_id"]]["description"] == note
        assert registrations[int(pair["forecast_id"])]["notes"] == note, "the TimeLog edit holds in Forecast"
