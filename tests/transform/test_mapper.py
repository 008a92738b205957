"""ReconcileMapper in-process: Singer messages in, command records and the untouched STATE out."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from timesync.ledger import Ledger, PairState, RunStatus
from timesync.model import Side
from timesync.reconcile.commands import COMMAND_SCHEMA
from timesync.reconcile.mapper import DirectionError, ReconcileMapper, side_of_stream

LINKS = """\
projects:
  - forecast: 101
    timelog: 2001
persons:
  - forecast: 11
    timelog: 7
options:
  max_changes_per_run: {limit}
"""
STATE = {"bookmarks": {"time_registrations": {"replication_key_value": "2026-03-01T10:00:00Z"}}}


def _schema(stream: str, key: str) -> dict[str, Any]:
    return {"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": {}},
            "key_properties": [key]}


def _record(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


FORECAST_INPUT = [
    _schema("tasks", "id"),
    _record("tasks", {"id": 301, "title": "Design", "project_id": 101, "parent_task_id": None,
                      "start_date": "2026-01-01", "end_date": None, "estimate": 120, "assigned_persons": [11, 99]}),
    _schema("time_registrations", "id"),
    _record("time_registrations", {"id": 5000, "person": 11, "project": None, "task": 301, "task_project": 101,
                                   "project_id": 101, "non_project_time": None, "time_registered": 61,
                                   "date": "2026-03-01", "notes": "hi & <b>", "approval_status": "NOT_SUBMITTED",
                                   "updated_at": "2026-03-01T09:00:00Z"}),
    _record("time_registrations", {"id": 5001, "person": 12, "project": 101, "task": None, "task_project": None,
                                   "project_id": 101, "non_project_time": None, "time_registered": 30,
                                   "date": "2026-03-01", "notes": "", "approval_status": "NOT_SUBMITTED"}),
    {"type": "STATE", "value": STATE},
    _schema("persons", "id"),
    _record("persons", {"id": 11, "first_name": "Ada", "last_name": "L", "email": "ada@x", "active": True}),
]


def _run(tmp_path: Path, messages: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], *,
         dry_run: bool = False, limit: int = 500) -> list[dict[str, Any]]:
    links = tmp_path / "links.yml"
    links.write_text(LINKS.format(limit=limit))
    mapper = ReconcileMapper(config={"ledger_url": f"sqlite:///{tmp_path / 'ledger.db'}",
                                     "links_path": str(links), "dry_run": dry_run})
    capsys.readouterr()
    mapper.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_forecast_input_becomes_timelog_commands_then_state(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Task upsert, allocation (linked person only) and work create, in dependency order; STATE last, unchanged."""
    out = _run(tmp_path, FORECAST_INPUT, capsys)
    assert [m["type"] for m in out] == ["SCHEMA", "RECORD", "RECORD", "RECORD", "STATE"]
    assert out[0]["stream"] == "commands"
    assert out[-1]["value"] == STATE
    commands = [m["record"] for m in out if m["type"] == "RECORD"]
    for command in commands:
        jsonschema.validate(command, COMMAND_SCHEMA)
    assert [c["kind"] for c in commands] == ["task_upsert", "allocation", "work_create"]
    task, allocation, work = commands
    assert task["native"] == {"project_id": 2001, "parent_task_id": None, "name": "Design",
                              "start_date": "2026-01-01", "end_date": None, "budget_hours": "2.000000",
                              "external_key": "301"}
    assert allocation["native"] == {"task_id": None, "employee_id": 7}
    assert work["native"] == {"employee_id": 7, "task_id": None, "project_id": 2001, "date": "2026-03-01",
                              "minutes": 61, "hours": "1.016667", "note": "hi & <b>"}
    assert work["depends_on"] == [{"pair_kind": "task", "forecast_id": "301", "field": "task_id",
                                   "snapshot_field": "task"}]
    assert work["expected_base"] is None
    assert [c["seq"] for c in commands] == [1, 2, 3]

    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    pair = ledger.pair(work["pair_id"])
    assert pair is not None
    assert (pair.state, pair.forecast_id, [c["command_id"] for c in pair.pending]) == (
        PairState.CREATING, "5000", [work["command_id"]]), "the intent is in the ledger before the command leaves"
    (run,) = ledger.runs()
    assert run.status is RunStatus.OK
    assert run.counts["out_of_scope.unlinked_person"] == 2  # registration 5001 and assignee 99
    ledger.close()


def test_dry_run_emits_nothing_and_records_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No commands and no STATE (the next real run must see the same changes); the plan is in the ledger."""
    assert _run(tmp_path, FORECAST_INPUT, capsys, dry_run=True) == []
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    (run,) = ledger.runs()
    assert (run.status, run.dry_run) == (RunStatus.DRY_RUN, True)
    assert sorted(i.outcome for i in ledger.run_items(run.id)) == ["new", "new", "new", "out_of_scope",
                                                                  "out_of_scope"]
    assert ledger.pairs() == []
    ledger.close()


def test_the_flood_guard_refuses_before_emitting(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """Over max_changes_per_run: non-zero exit naming the option, nothing emitted, the plan recorded."""
    with pytest.raises(SystemExit) as caught:
        _run(tmp_path, FORECAST_INPUT, capsys, limit=2)
    assert caught.value.code == 1
    (error,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "max_changes_per_run=2" in error
    assert "would write 3 changes" in error
    assert capsys.readouterr().out == ""
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    (run,) = ledger.runs()
    assert run.status is RunStatus.REFUSED
    assert {i.outcome for i in ledger.run_items(run.id)} >= {"refused:new"}
    assert ledger.pairs() == [], "no intent is written for a refused run"
    ledger.close()


def test_state_passes_through_even_without_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tap with nothing new still gets its bookmark saved."""
    out = _run(tmp_path, [{"type": "STATE", "value": STATE}], capsys)
    assert out == [{"type": "STATE", "value": STATE}]


@pytest.mark.parametrize(
    ("stream", "key", "side"),
    [("tasks", "id", "forecast"), ("tasks", "task_id", "timelog"), ("work", "work_unit_guid", "timelog"),
     ("time_registrations", "id", "forecast"), ("projects", "project_id", "timelog"), ("other", "id", None)],
)
def test_the_direction_comes_from_stream_names_and_keys(stream: str, key: str, side: str | None) -> None:
    """`tasks` and `projects` exist in both taps; their primary key tells them apart."""
    found = side_of_stream(stream, [key])
    assert (str(found) if found else None) == side


def test_mixing_both_taps_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One mapper instance serves one direction."""
    with pytest.raises(DirectionError, match="mixes both taps"):
        _run(tmp_path, [_schema("time_registrations", "id"), _schema("work", "work_unit_guid")], capsys)


def test_a_timelog_edit_becomes_a_lease_checked_registration_update(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Direction 2 after direction 1: the update carries the Forecast base as its lease, then STATE."""
    out = _run(tmp_path, FORECAST_INPUT, capsys)
    commands = [m["record"] for m in out if m["type"] == "RECORD"]
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    task, _allocation, work = commands
    ledger.complete_create(task, 902)
    ledger.complete_create(ledger.resolve_dependencies(work), "guid-1")
    ledger.close()
    work_state = {"bookmarks": {"work": {"replication_key_value": "2026-03-02T00:00:00Z"}}}
    edited = {"work_unit_guid": "guid-1", "employee_id": 7, "task_id": 902, "task_name": "Design",
              "project_id": 2001, "date": "2026-03-01", "minutes": 59, "hours": "0.983333", "note": "hi & <b>",
              "approval_status": 0, "modified_at": "2026-03-02T08:00:00Z"}
    out = _run(tmp_path, [_schema("work", "work_unit_guid"), _record("work", edited),
                          {"type": "STATE", "value": work_state}], capsys)
    assert [m["type"] for m in out] == ["SCHEMA", "RECORD", "STATE"]
    update = out[1]["record"]
    jsonschema.validate(update, COMMAND_SCHEMA)
    assert (update["kind"], update["direction"], update["twin_id"]) == (
        "registration_update", "timelog_to_forecast", "5000")
    assert update["native"] == {"time_registered": 59, "date": "2026-03-01", "notes": "hi & <b>"}
    assert update["expected_base"] == {"project": "101", "person": "11", "task": "301", "date": "2026-03-01",
                                       "minutes": 61, "note": "hi & <b>"}
    assert out[-1]["value"] == work_state



def _directory_input(projects: list[int], persons: list[int]) -> list[dict[str, Any]]:
    return [_schema("projects", "id"), *(_record("projects", {"id": p, "name": "P"}) for p in projects),
            _schema("persons", "id"), *(_record("persons", {"id": p, "first_name": "A"}) for p in persons),
            {"type": "STATE", "value": STATE}]


def test_a_ledger_of_another_account_is_refused_before_planning(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """The ledger knows an account by the project and person ids it read there: a tap reading none of them reads
    another account (or the ledger is another company pair's), and the run stops before planning anything."""
    _run(tmp_path, _directory_input([101], [11]), capsys)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        runs = len(ledger.runs())
    with pytest.raises(SystemExit):
        _run(tmp_path, _directory_input([9101], [911]) + FORECAST_INPUT[:4], capsys)
    error = caplog.text
    assert "this ledger belongs to another Forecast account" in error
    assert "ids 101" in error
    assert "Nothing was written" in error
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert len(ledger.runs()) == runs, "nothing was planned"
        assert ledger.directory_ids(Side.FORECAST, "project") == {"101"}, "the ledger's directory is kept"


def test_the_same_account_with_projects_and_persons_come_and_gone_is_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path, _directory_input([101, 102], [11]), capsys)
    out = _run(tmp_path, _directory_input([101, 103], [11, 12]), capsys)
    assert out[-1] == {"type": "STATE", "value": STATE}
