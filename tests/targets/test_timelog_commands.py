"""target-timelog against the TimeLog sandbox, one test per command kind and per tricky outcome."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from contextlib import redirect_stdout

import pytest

from target_timelog.target import TargetTimeLog
from target_timelog.work import WORK_SOURCE
from tests.targets.helpers import (
    FORECAST_PERSON,
    OTHER_FORECAST_PERSON,
    OTHER_TIMELOG_EMPLOYEE,
    TIMELOG_EMPLOYEE,
    TIMELOG_PROJECT,
    forecast_deletion,
    forecast_registration,
    forecast_task,
    plan,
    run_target,
    singer_input,
    timelog_config,
)
from timelog_api.client import TimeLogClient
from timelog_api.errors import TimeLogConfigError, TimeLogLoginError, TimeLogTransportError
from timelog_api.services import Service
from timelog_api.settings import TimeLogSettings
from timesync.ledger import Ledger, PairKind, PairState
from timesync.model import Direction

F2T = Direction.FORECAST_TO_TIMELOG


def _tasks_with_key(state: dict, key: str) -> list[dict]:
    return [t for t in state["tasks"] if any(k.get("external_id") == key for k in t.get("external_keys") or [])]


def _work_of(state: dict, employee: int) -> list[dict]:
    return [w for w in state["work_units"] if w["employee_id"] == employee]


def _apply(sandbox, ledger: Ledger, ledger_url: str, records: list, **config) -> list[dict]:
    commands = plan(ledger, F2T, records)
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url, **config), commands)
    return commands


def test_task_subtask_allocation_and_work_in_one_run_land_in_order(sandbox, ledger, ledger_url):
    """The sub-task and the work need the task created in the same run: ids are resolved at write time."""
    _apply(sandbox, ledger, ledger_url, [
        forecast_registration(7001, task=9002, minutes=61, note="sub-task work <&>"),
        forecast_task(9002, "Child", parent=9001, assigned=[FORECAST_PERSON]),
        forecast_task(9001, "Parent"),
    ])
    state = sandbox.timelog.state()
    [parent] = _tasks_with_key(state, "9001")
    [child] = _tasks_with_key(state, "9002")
    assert child["parent_task_id"] == parent["task_id"]
    assert parent["project_id"] == TIMELOG_PROJECT
    assert any(a["employee_id"] == TIMELOG_EMPLOYEE and a["task_id"] == child["task_id"]
               for a in state["allocations"])
    [unit] = [w for w in _work_of(state, TIMELOG_EMPLOYEE) if w["task_id"] == child["task_id"]]
    assert (unit["minutes"], unit["description"]) == (61, "sub-task work <&>")
    pair = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert pair.state is PairState.LINKED
    assert pair.timelog_id == unit["guid"]
    assert ledger.find_pair(PairKind.TASK, forecast_id="9002").timelog_id == str(child["task_id"])


def _pm_stats(sandbox) -> Counter:
    """Request counts per ProjectManagement operation name (the sandbox keys them `<Service version>.<Op>`)."""
    counts: Counter = Counter()
    for key, count in sandbox.timelog.stats()["requests"].items():
        counts[key.rsplit(".", 1)[-1]] += count
    return counts


def _client(sandbox) -> TimeLogClient:
    return TimeLogClient(TimeLogSettings.from_config(timelog_config(sandbox, "sqlite://")))


def test_a_fresh_ledger_meeting_our_keyed_task_refuses_before_writing(sandbox, ledger, ledger_url, tmp_path):
    """A ledger lost together with Meltano's state looks like a first sync; TimeLog already holding a task under
    our external key gives it away. Nothing is written: creating the time again would double every hour."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent")])
    sandbox.timelog.clear_stats()
    other_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with (Ledger.open(other_url) as fresh,
          pytest.raises(TimeLogConfigError, match=r"9001.*never synced it.*Nothing was written")):
        _apply(sandbox, fresh, other_url, [forecast_task(9001, "Parent renamed"), forecast_task(9003, "New"),
                                           forecast_registration(7001, task=9001, minutes=30)])
    assert sandbox.timelog.stats()["writes_total"] == 0
    state = sandbox.timelog.state()
    assert [task["name"] for task in _tasks_with_key(state, "9001")] == ["Parent"]
    assert _tasks_with_key(state, "9003") == []


def test_a_settled_ledger_adopts_a_keyed_task_it_has_no_pair_for(sandbox, ledger, ledger_url, tmp_path):
    """Once the ledger has synced anything, a task found by its key (made through another ledger, or by a crash
    after CreateTask) is adopted, not created twice."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent")])
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    with Ledger.open(other_url) as other:
        _apply(sandbox, other, other_url, [forecast_task(9002, "Other")])
    _apply(sandbox, ledger, ledger_url, [forecast_task(9002, "Other renamed")])
    [task] = _tasks_with_key(sandbox.timelog.state(), "9002")
    assert task["name"] == "Other renamed"
    assert ledger.find_pair(PairKind.TASK, forecast_id="9002").timelog_id == str(task["task_id"])


def test_changed_task_is_updated_in_place(sandbox, ledger, ledger_url):
    """A rename in Forecast becomes UpdateTask on the same TimeLog task."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Before")])
    sandbox.timelog.clear_stats()
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "After")])
    [task] = _tasks_with_key(sandbox.timelog.state(), "9001")
    assert task["name"] == "After"
    stats = _pm_stats(sandbox)
    assert stats["UpdateTask"] == 1
    assert stats["CreateTask"] == 0


def test_a_task_moved_in_forecast_is_moved_under_its_new_parent_with_its_work(sandbox, ledger, ledger_url):
    """MoveTaskUnderParentTask on the same TimeLog task: its work unit stays on it; a replay calls nothing."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent"), forecast_task(9003, "Other parent"),
                                         forecast_task(9002, "Child", parent=9001),
                                         forecast_registration(7001, task=9002, minutes=45, note="on the child")])
    sandbox.timelog.clear_stats()
    commands = _apply(sandbox, ledger, ledger_url, [forecast_task(9002, "Child renamed", parent=9003)])
    state = sandbox.timelog.state()
    [child], [other] = _tasks_with_key(state, "9002"), _tasks_with_key(state, "9003")
    assert (child["name"], child["parent_task_id"]) == ("Child renamed", other["task_id"])
    [unit] = [w for w in _work_of(state, TIMELOG_EMPLOYEE) if w["description"] == "on the child"]
    assert unit["task_id"] == child["task_id"]
    assert (_pm_stats(sandbox)["MoveTaskUnderParentTask"], _pm_stats(sandbox)["CreateTask"]) == (1, 0)
    pair = ledger.find_pair(PairKind.TASK, forecast_id="9002")
    assert (pair.state, pair.base["timelog"]["parent"]) == (PairState.LINKED, str(other["task_id"]))
    [item] = [i for i in ledger.run_items(commands[0]["run_id"]) if i.actor == "target"]
    assert f"moved under task {other['task_id']}" in item.message
    # A replay after a crash finds the task already there and moves nothing.
    sandbox.timelog.clear_stats()
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), [{**commands[0], "lookup_first": True}])
    assert _pm_stats(sandbox)["MoveTaskUnderParentTask"] == 0


def test_a_refused_task_move_fails_the_item_and_keeps_it_for_the_next_run(sandbox, ledger, ledger_url):
    """A move TimeLog refuses (here: the new parent is in another project) is recorded failed with its message."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent"), forecast_task(9002, "Child", parent=9001)])
    commands = plan(ledger, F2T, [forecast_task(9002, "Child", parent=9003), forecast_task(9003, "New parent")])
    # The new parent's twin is put in another TimeLog project behind the sync's back: TimeLog refuses the move.
    elsewhere = [c for c in commands if c["source_id"] == "9003"]
    elsewhere[0]["native"]["project_id"] = 2002
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), commands)
    [child] = _tasks_with_key(sandbox.timelog.state(), "9002")
    assert child["parent_task_id"] == _tasks_with_key(sandbox.timelog.state(), "9001")[0]["task_id"]
    pair = ledger.find_pair(PairKind.TASK, forecast_id="9002")
    assert pair.pending
    assert "MoveTaskUnderParentTask" in (pair.reason or "")


def test_allocation_is_checked_first_and_not_added_twice(sandbox, ledger, ledger_url):
    """Employee 1 is already on demo task 1001 (allocation 5001): the target adds nothing."""
    # A ledger that has synced before: on a first sync, a task already keyed to us would stop the run.
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), plan(ledger, F2T, [forecast_task(9005, "Earlier")]))
    task_pair_commands = plan(ledger, F2T, [forecast_task(9001, "Parent", assigned=[FORECAST_PERSON])])
    # Point the task pair at the existing TimeLog task 1001 by letting the target find its external key.
    client = _client(sandbox)
    pm_task = client.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByID",
                           taskID=1001, loadExternalKeys=True)[0]
    [updated] = client.batch(Service.PROJECT_MANAGEMENT, "UpdateTask", projectID=TIMELOG_PROJECT, task={
        **pm_task, "IsExternalKeysLoaded": True,
        "ExternalKeys": {"ExternalSystemContext": [{"SystemName": "Forecast", "ExternalID": "9001"}]}})
    assert updated.ok, updated.message
    sandbox.timelog.clear_stats()
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), task_pair_commands)
    allocations = [a for a in sandbox.timelog.state()["allocations"] if a["task_id"] == 1001
                   and a["employee_id"] == TIMELOG_EMPLOYEE]
    assert len(allocations) == 1
    assert _pm_stats(sandbox)["AddEmployeeToTask"] == 0
    assert ledger.find_pair(PairKind.ALLOCATION, forecast_id=f"9001:{FORECAST_PERSON}").state is PairState.LINKED


def test_work_for_an_unallocated_employee_allocates_them_first(sandbox, ledger, ledger_url):
    """TimeLog refuses work from an employee not allocated to the task; the target allocates, then inserts."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent"),
                                         forecast_registration(7001, task=9001, minutes=30,
                                                               person=OTHER_FORECAST_PERSON)])
    state = sandbox.timelog.state()
    [task] = _tasks_with_key(state, "9001")
    assert any(a["employee_id"] == OTHER_TIMELOG_EMPLOYEE and a["task_id"] == task["task_id"]
               for a in state["allocations"])
    assert [w["minutes"] for w in _work_of(state, OTHER_TIMELOG_EMPLOYEE) if w["task_id"] == task["task_id"]] == [30]


@pytest.mark.parametrize("batch_size", [100, 250])
def test_one_thousand_work_units_take_few_insert_calls(sandbox, ledger, ledger_url, batch_size):
    """InsertWork carries many units per call: ceil(1000 / batch size) calls plus a small constant."""
    records = [forecast_task(9001, "Bulk")]
    records += [forecast_registration(10_000 + i, task=9001, minutes=1 + i % 600, day=f"2026-11-{1 + i % 28:02d}",
                                      note=f"bulk {i}") for i in range(1000)]
    sandbox.timelog.clear_stats()
    _apply(sandbox, ledger, ledger_url, records, work_batch_size=batch_size)
    stats = _pm_stats(sandbox)
    assert stats["InsertWork"] <= -(-1000 // batch_size) + 2
    [task] = _tasks_with_key(sandbox.timelog.state(), "9001")
    units = [w for w in sandbox.timelog.state()["work_units"] if w["task_id"] == task["task_id"]]
    assert len(units) == 1000
    assert len(ledger.pairs(states=[PairState.LINKED], kind=PairKind.TIME_ENTRY)) == 1000


def _linked_work(sandbox, ledger, ledger_url, *, minutes=45, note="first") -> tuple[dict, str]:
    """One Forecast registration synced to TimeLog; (its TimeLog unit, its GUID)."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent"),
                                         forecast_registration(7001, task=9001, minutes=minutes, note=note)])
    guid = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001").timelog_id
    [unit] = [w for w in sandbox.timelog.state()["work_units"] if w["guid"] == guid]
    return unit, guid


def _edit_in_timelog(sandbox, unit: dict, *, minutes: int, note: str) -> None:
    """A user edits the work unit in TimeLog (UpdateWork through the real SOAP API)."""
    client = _client(sandbox)
    start = dt.datetime.fromisoformat(unit["start_at"])
    [result] = client.batch(Service.PROJECT_MANAGEMENT, "UpdateWork", source=WORK_SOURCE, work={"WorkUnit": [{
        "GUID": unit["guid"], "TaskID": unit["task_id"], "EmployeeInitials": "ANØ",
        "Duration": dt.timedelta(minutes=minutes), "StartDateTime": start,
        "EndDateTime": start + dt.timedelta(minutes=minutes), "Description": note}]})
    assert result.ok, result.message


def test_work_update_passes_the_lease_and_is_written(sandbox, ledger, ledger_url):
    """The twin still equals the base: UpdateWork writes the new minutes and note."""
    _, guid = _linked_work(sandbox, ledger, ledger_url)
    _apply(sandbox, ledger, ledger_url, [forecast_registration(7001, task=9001, minutes=90, note="second")])
    [unit] = [w for w in sandbox.timelog.state()["work_units"] if w["guid"] == guid]
    assert (unit["minutes"], unit["description"]) == (90, "second")
    assert ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001").state is PairState.LINKED


def test_twin_edited_between_plan_and_write_is_a_conflict_and_not_overwritten(sandbox, ledger, ledger_url):
    """The lease check re-reads the unit right before writing: a TimeLog edit since the plan parks it."""
    unit, guid = _linked_work(sandbox, ledger, ledger_url)
    commands = plan(ledger, F2T, [forecast_registration(7001, task=9001, minutes=90, note="forecast edit")])
    _edit_in_timelog(sandbox, unit, minutes=120, note="timelog edit")
    sandbox.timelog.clear_stats()
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), commands)
    [after] = [w for w in sandbox.timelog.state()["work_units"] if w["guid"] == guid]
    assert (after["minutes"], after["description"]) == (120, "timelog edit")
    assert _pm_stats(sandbox)["UpdateWork"] == 0
    pair = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert pair.state is PairState.CONFLICT
    assert pair.conflict["timelog"]["minutes"] == 120


def test_updates_of_one_employees_work_over_weeks_cost_one_lease_read(sandbox, ledger, ledger_url):
    """The lease re-reads an employee's units in one GetEmployeeWork over the batch's dates, not one per unit."""
    days = ("2026-11-02", "2026-11-13", "2026-11-23")
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent"), *(
        forecast_registration(7001 + n, task=9001, minutes=45, day=day) for n, day in enumerate(days))])
    sandbox.timelog.clear_stats()
    _apply(sandbox, ledger, ledger_url, [forecast_registration(7001 + n, task=9001, minutes=90, day=day)
                                         for n, day in enumerate(days)])
    stats = _pm_stats(sandbox)
    assert (stats["GetEmployeeWork"], stats["UpdateWork"]) == (1, 1)
    guids = {ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(7001 + n)).timelog_id for n in range(3)}
    assert [w["minutes"] for w in sandbox.timelog.state()["work_units"] if w["guid"] in guids] == [90, 90, 90]


def test_a_unit_whose_date_was_edited_is_still_found_by_the_lease(sandbox, ledger, ledger_url):
    """A TimeLog user moved the unit a month on: the lease finds it outside the base's dates, and parks the edit
    as a conflict instead of taking the unit for deleted."""
    unit, guid = _linked_work(sandbox, ledger, ledger_url)
    commands = plan(ledger, F2T, [forecast_registration(7001, task=9001, minutes=90, note="forecast edit")])
    _edit_in_timelog(sandbox, {**unit, "start_at": "2026-12-28" + unit["start_at"][10:]}, minutes=45, note="first")
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), commands)
    [after] = [w for w in sandbox.timelog.state()["work_units"] if w["guid"] == guid]
    assert (after["start_at"][:10], after["minutes"]) == ("2026-12-28", 45)
    pair = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert pair.state is PairState.CONFLICT
    assert pair.conflict["timelog"]["date"] == "2026-12-28"


def test_delete_propagates_when_the_twin_is_unchanged(sandbox, ledger, ledger_url):
    """DeleteWork after the lease check; the pair becomes a tombstone."""
    _, guid = _linked_work(sandbox, ledger, ledger_url)
    _apply(sandbox, ledger, ledger_url, [forecast_deletion(7001)])
    assert guid not in {w["guid"] for w in sandbox.timelog.state()["work_units"]}
    assert ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001").state is PairState.DELETED


def test_delete_of_a_twin_changed_since_the_plan_is_not_written(sandbox, ledger, ledger_url):
    """Deleting an entry someone just edited in TimeLog would lose their edit: it is parked instead."""
    unit, guid = _linked_work(sandbox, ledger, ledger_url)
    commands = plan(ledger, F2T, [forecast_deletion(7001)])
    _edit_in_timelog(sandbox, unit, minutes=15, note="still needed")
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), commands)
    assert guid in {w["guid"] for w in sandbox.timelog.state()["work_units"]}
    assert ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001").state in (PairState.ORPHANED,
                                                                               PairState.CONFLICT)


def test_insert_into_a_closed_week_becomes_locked_and_the_run_goes_on(sandbox, ledger, ledger_url):
    """A closed period refuses the item: pair `locked` with TimeLog's reason; the other item is written."""
    sandbox.timelog.lock(week="2026-W48", employee_id=TIMELOG_EMPLOYEE)
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent"),
                                         forecast_registration(7001, task=9001, minutes=30, day="2026-11-24"),
                                         forecast_registration(7002, task=9001, minutes=30, day="2026-11-10")])
    locked = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert locked.state is PairState.LOCKED
    assert "closed" in locked.reason
    assert ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7002").state is PairState.LINKED


def test_update_of_an_approved_unit_is_locked_and_not_written(sandbox, ledger, ledger_url):
    """An approved unit is never edited; the difference stays visible as pair state `locked`."""
    _, guid = _linked_work(sandbox, ledger, ledger_url)
    sandbox.timelog.lock(work_guids=[guid])
    sandbox.timelog.clear_stats()
    _apply(sandbox, ledger, ledger_url, [forecast_registration(7001, task=9001, minutes=90, note="late edit")])
    assert _pm_stats(sandbox)["UpdateWork"] == 0
    assert ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001").state is PairState.LOCKED


def test_an_invalid_item_is_recorded_with_timelogs_message_and_the_rest_is_written(sandbox, ledger, ledger_url):
    """Per-item `Invalid` (here: a 25-hour registration) fails that item only."""
    commands = _apply(sandbox, ledger, ledger_url, [
        forecast_task(9001, "Parent"),
        forecast_registration(7001, task=9001, minutes=25 * 60, note="too long"),
        forecast_registration(7002, task=9001, minutes=30, note="fine"),
    ])
    assert commands
    bad = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert bad.state is PairState.CREATING
    assert "Duration" in bad.reason
    assert bad.pending, "a failed create stays pending, so the next run retries it"
    assert ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7002").state is PairState.LINKED
    run_items = ledger.run_items(commands[0]["run_id"])
    assert any(item.outcome == "failed" and "Duration" in (item.message or "") for item in run_items)


def test_transport_failure_beyond_the_retries_fails_the_run_without_state(sandbox, ledger, ledger_url):
    """TimeLog down: the target raises, emits no STATE, so Meltano keeps the old bookmark."""
    commands = plan(ledger, F2T, [forecast_task(9001, "Parent")])
    sandbox.timelog.faults(error_rate=1.0, statuses=[503])
    out = io.StringIO()
    with pytest.raises(TimeLogTransportError, match="HTTP 503"), redirect_stdout(out):
        TargetTimeLog(config=timelog_config(sandbox, ledger_url)).listen(io.StringIO(singer_input(commands)))
    assert '"STATE"' not in out.getvalue()
    assert ledger.find_pair(PairKind.TASK, forecast_id="9001").state is PairState.CREATING


def test_unconfirmed_create_adopts_the_unit_its_fingerprint_finds(sandbox, ledger, ledger_url):
    """A unit made by an earlier attempt (any GUID) with the same person, date, task, minutes and note is
    linked, not inserted again; an identical unit already paired elsewhere is never taken."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Parent", assigned=[FORECAST_PERSON])])
    task_id = int(ledger.find_pair(PairKind.TASK, forecast_id="9001").timelog_id)
    [earlier] = _client(sandbox).batch(Service.PROJECT_MANAGEMENT, "InsertWork", source=WORK_SOURCE,
                                       work={"WorkUnit": [{
        "GUID": "2a2a2a2a-0000-4000-8000-000000000001", "TaskID": task_id, "EmployeeInitials": "ANØ",
        "Duration": dt.timedelta(minutes=45), "StartDateTime": dt.datetime(2026, 11, 23),
        "EndDateTime": dt.datetime(2026, 11, 23, 0, 45), "Description": "made before the crash"}]})
    assert earlier.ok
    records = [forecast_registration(7001, task=9001, minutes=45, note="made before the crash")]
    first = plan(ledger, F2T, records)
    replay = [{**command, "lookup_first": True} for command in first]  # as the mapper replays a pending create
    sandbox.timelog.clear_stats()
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), replay)
    assert _pm_stats(sandbox)["InsertWork"] == 0
    pair = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert (pair.state, pair.timelog_id) == (PairState.LINKED, "2a2a2a2a-0000-4000-8000-000000000001")
    # A second registration with the same content must get its own unit, not the one already paired.
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url),
               [{**c, "lookup_first": True} for c in plan(ledger, F2T, [forecast_registration(
                   7002, task=9001, minutes=45, note="made before the crash")])])
    second = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7002")
    assert second.state is PairState.LINKED
    assert second.timelog_id != pair.timelog_id
    same = [w for w in sandbox.timelog.state()["work_units"] if w["description"] == "made before the crash"]
    assert len(same) == 2


def test_a_wrong_password_fails_the_run_naming_the_user_never_the_password(sandbox, ledger, ledger_url, caplog):
    """Login refused: a clear, fatal error; the password is in neither the error nor the log."""
    secret = "not-the-password-but-secret"
    commands = plan(ledger, F2T, [forecast_task(9001, "Parent")])
    with pytest.raises(TimeLogLoginError, match="username and password") as failure:
        run_target(TargetTimeLog, timelog_config(sandbox, ledger_url, password=secret), commands)
    assert secret not in str(failure.value)
    assert secret not in caplog.text
