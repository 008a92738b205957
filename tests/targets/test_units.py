"""Pure pieces of the targets, as a specification: serialisation, lock words, ordering, GUIDs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from target_forecast.sinks import independent_groups
from target_timelog.common import is_lock_message
from target_timelog.tasks import TaskWriter, dependency_levels, task_matches
from target_timelog.work import WorkWriter
from timelog_api.errors import TimeLogApiError, TimeLogConfigError
from timelog_api.responses import BatchItemResult
from timesync.reconcile.apply import json_ready


def test_sdk_datetimes_and_decimals_go_back_to_exact_json_values():
    """The SDK parses date-times and fractional numbers; the ledger must store what the mapper wrote."""
    record = {"source_updated_at": dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC),
              "native": {"hours": Decimal("1.016667"), "minutes": Decimal(61)},
              "list": [dt.date(2026, 11, 23)]}
    assert json_ready(record) == {"source_updated_at": "2026-11-24T10:00:00Z",
                                  "native": {"hours": "1.016667", "minutes": 61}, "list": ["2026-11-23"]}


@pytest.mark.parametrize(("message", "locked"), [
    ("The time sheet period 2026-W48 is closed for employee 1", True),
    ("Work unit x is approved or in a closed time sheet (ApprovedStatus 20)", True),
    ("Duration must be more than 0 and at most 24 hours", False),
    (None, False),
])
def test_timelog_lock_refusals_are_told_from_other_refusals(message, locked):
    """A lock is reported as pair state `locked`, anything else as a failed item that later runs retry."""
    assert is_lock_message(message) is locked


def _command(command_id: str, source_id: str, parent: str | None = None) -> dict:
    depends = [{"pair_kind": "task", "forecast_id": parent, "field": "parent_task_id"}] if parent else []
    return {"command_id": command_id, "pair_kind": "task", "source_id": source_id, "depends_on": depends}


def test_sub_tasks_come_after_their_parent_in_the_same_batch():
    """Replays can put a sub-task before its parent; the writer reorders them."""
    commands = [_command("c1", "3", parent="2"), _command("c2", "2", parent="1"), _command("c3", "1"),
                _command("c4", "9", parent="8")]
    order = [c["source_id"] for level in dependency_levels(commands) for c in level]
    assert order.index("1") < order.index("2") < order.index("3")
    assert sorted(order) == ["1", "2", "3", "9"]


def test_task_levels_put_a_sub_task_and_a_second_command_on_a_task_after_what_they_need():
    """A level's commands run side by side: a second command on a task goes in a later level than the first, a
    sub-task after every command on its parent; a parent outside the batch (created earlier) holds nothing back."""
    commands = [_command("c1", "3", parent="2"), _command("c2", "2", parent="1"), _command("c3", "1"),
                _command("c4", "9", parent="8"), _command("c5", "1")]
    levels = [sorted(c["command_id"] for c in level) for level in dependency_levels(commands)]
    assert levels == [["c3", "c4"], ["c5"], ["c2"], ["c1"]]


def test_work_guid_is_stable_for_a_retry_and_new_for_new_content():
    """The same create gets the same GUID (TimeLog refuses a second unit with it); new content gets a new one."""
    writer = WorkWriter.__new__(WorkWriter)
    writer.system_name = "Forecast"
    snapshot = {"person": "1", "date": "2026-11-23", "task": "1001", "minutes": 30, "note": "x"}
    first = {"source_id": "7001", "twin_snapshot": snapshot, "native": {}}
    assert writer.work_guid(first) == writer.work_guid(dict(first))
    assert writer.work_guid(first) != writer.work_guid({**first, "twin_snapshot": {**snapshot, "minutes": 31}})
    assert writer.work_guid(first) != writer.work_guid({**first, "source_id": "7002"})


@pytest.mark.parametrize(("change", "matches"), [({}, True), ({"Name": "Other"}, False),
                                                 ({"BudgetHours": 10.5}, False),
                                                 ({"EndDate": dt.datetime(2027, 1, 1)}, False)])
def test_a_task_already_holding_the_values_is_not_updated(change, matches):
    """Adopting a task found by its external key writes only when something differs."""
    existing = {"Name": "Design", "BudgetHours": 10.0, "StartDate": dt.datetime(2026, 11, 1),
                "EndDate": dt.datetime(2026, 12, 31), **change}
    native = {"name": "Design", "budget_hours": "10.000000", "start_date": "2026-11-01", "end_date": "2026-12-31"}
    assert task_matches(existing, native) is matches


class _ForgetfulTimeLog:
    """A TimeLog that creates tasks but keeps no external keys (the system name is not defined there)."""

    def __init__(self) -> None:
        self.created = 0

    def fetch(self, service, operation, **params):
        if operation == "GetProjectByID":  # the task has no dates: it takes the project's
            return [{"StartDate": dt.datetime(2026, 1, 1), "EndDate": dt.datetime(2026, 12, 31)}]
        raise TimeLogApiError(operation, "Invalid", "No task has that external key")

    def batch(self, service, operation, **params):
        self.created += 1
        return [BatchItemResult(item={"TaskID": 4000 + self.created}, status="Success", message=None)]


class _Recorder:
    """Collects what the writer records as created."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, object]] = []

    def created(self, command, remote_id, **_details) -> None:
        self.recorded.append((command["command_id"], remote_id))


def test_a_created_task_that_cannot_be_found_by_its_key_stops_the_run():
    """Without the key every later run would create the task again: stop, naming the setting to fix."""
    recorder = _Recorder()
    client = _ForgetfulTimeLog()
    writer = TaskWriter(client, recorder, system_name="Forecast")
    command = {"command_id": "r1-1", "source_id": "9001", "external_key": "9001", "twin_id": None,
               "action": "create", "native": {"name": "Task", "project_id": 2001, "parent_task_id": None}}
    with pytest.raises(TimeLogConfigError, match="external_system_name"):
        writer.upsert(command)
    assert recorder.recorded == [("r1-1", 4001)], "the task that was made is recorded, so it is not made again"
    assert client.created == 1


def test_commands_on_the_same_person_and_day_never_run_in_parallel():
    """Two creates with one fingerprint must not both adopt (or one adopt the other's fresh create)."""
    def command(pair_id: int, person: str, day: str, seq: int) -> dict:
        return {"pair_id": pair_id, "seq": seq, "fingerprint": {"person": person, "date": day}}

    commands = [command(1, "11", "2026-11-23", 1), command(2, "11", "2026-11-23", 2),
                command(3, "12", "2026-11-23", 3), command(1, "11", "2026-11-24", 4)]
    groups = independent_groups(commands)
    assert sorted([c["seq"] for c in group] for group in groups) == [[1, 2, 4], [3]]
