"""The ledger on SQLite and (when TIMESYNC_TEST_POSTGRES_URL names a throwaway database) on Postgres."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from timesync.ledger import (
    MAX_REPLAY_ATTEMPTS,
    Ledger,
    Outcome,
    PairKind,
    PairState,
    PlannedPair,
    RunItem,
    RunStatus,
    UnresolvedDependencyError,
)
from timesync.model import Direction, Side

POSTGRES_URL = os.environ.get("TIMESYNC_TEST_POSTGRES_URL")
F2T = Direction.FORECAST_TO_TIMELOG


def _fresh_postgres(url: str) -> str:
    """An empty schema of the test database for this xdist worker, and the URL that puts the ledger in it.

    Tests on two workers run at once; each worker's ledger lives in its own schema, so they never see each other.
    """
    schema = f"ledger_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file in a temp dir, or a fresh schema of the Postgres test database (skipped when none is set)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'deep' / 'ledger.db'}"
    if not POSTGRES_URL:
        pytest.skip("set TIMESYNC_TEST_POSTGRES_URL to a throwaway Postgres database to run the Postgres ledger tests")
    return _fresh_postgres(POSTGRES_URL)


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    opened = Ledger.open(ledger_url)
    yield opened
    opened.close()


def _create_command(run_id: int, **overrides: Any) -> dict[str, Any]:
    command = {
        "command_id": f"r{run_id}-1", "run_id": run_id, "seq": 1, "direction": str(F2T), "kind": "work_create",
        "action": "create", "pair_id": 0, "pair_kind": "time_entry", "source_id": "5000", "twin_id": None,
        "native": {"task_id": None, "minutes": 61}, "source_snapshot": {"minutes": 61, "task": "301"},
        "twin_snapshot": {"minutes": 61, "task": None}, "fingerprint": {"minutes": 61, "task": None},
        "depends_on": [{"pair_kind": "task", "forecast_id": "301", "field": "task_id", "snapshot_field": "task"}],
    }
    return command | overrides


def _plan_create(ledger: Ledger, run_id: int) -> dict[str, Any]:
    command = _create_command(run_id)
    (pair_id,) = ledger.record_plan(
        run_id, F2T, [PlannedPair(PairKind.TIME_ENTRY, forecast_id="5000", origin=Side.FORECAST,
                                  state=PairState.CREATING, commands=[command])],
        [RunItem(kind="time_entry", action="create", outcome="new", source_id="5000", pair_id=-1)],
        {"time_entry.new": 1}, dry_run=False)
    assert command["pair_id"] == pair_id, "record_plan fills the pair id into its commands"
    return command


def test_open_migrates_once_and_reopens(ledger_url: str) -> None:
    """A new database is migrated to head at open; opening again is a no-op."""
    first = Ledger.open(ledger_url)
    revision = first.schema_revision()
    first.close()
    again = Ledger.open(ledger_url)
    from timesync.ledger.store import SCHEMA_HEAD_REVISION

    assert again.schema_revision() == revision == SCHEMA_HEAD_REVISION
    again.close()


def test_concurrent_opens_and_writes_queue_instead_of_failing(ledger_url: str) -> None:
    """The tap, mapper and target processes open the ledger at once (WAL + busy timeout + migration lock)."""
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            own = Ledger.open(ledger_url)
            for _ in range(5):
                own.finish_run(own.begin_run(F2T), RunStatus.OK, counts={"n": 1})
            own.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    reader = Ledger.open(ledger_url)
    assert len(reader.runs(limit=100)) == 20
    reader.close()


def test_a_run_left_running_by_a_killed_process_is_marked_failed(ledger: Ledger) -> None:
    """begin_run closes interrupted runs of its direction; counts merge on finish."""
    stale = ledger.begin_run(F2T)
    fresh = ledger.begin_run(F2T)
    ledger.finish_run(fresh, RunStatus.OK, counts={"time_entry.new": 2})
    runs = {run.id: run for run in ledger.runs()}
    assert runs[stale].status is RunStatus.FAILED
    assert "interrupted" in (runs[stale].message or "")
    assert (runs[fresh].status, runs[fresh].counts) == (RunStatus.OK, {"time_entry.new": 2})


def test_the_intent_is_recorded_before_the_create(ledger: Ledger) -> None:
    """record_plan writes the pair in `creating` with the command as its pending intent."""
    run_id = ledger.begin_run(F2T)
    command = _plan_create(ledger, run_id)
    pair = ledger.pair(command["pair_id"])
    assert pair is not None
    assert (pair.state, pair.forecast_id, pair.timelog_id) == (PairState.CREATING, "5000", None)
    assert [c["command_id"] for c in pair.pending] == [command["command_id"]]
    assert ledger.pending_pairs(F2T) == [pair]
    assert ledger.pending_pairs(Direction.TIMELOG_TO_FORECAST) == []
    items = ledger.run_items(run_id)
    assert [(i.actor, i.pair_id, i.outcome) for i in items] == [("mapper", pair.id, "new")]


def test_dependencies_resolve_at_write_time(ledger: Ledger) -> None:
    """A work create on a task made in the same run gets the task's TimeLog id once the task exists."""
    run_id = ledger.begin_run(F2T)
    command = _plan_create(ledger, run_id)
    with pytest.raises(UnresolvedDependencyError, match="no TimeLog id yet for task with Forecast id 301"):
        ledger.resolve_dependencies(command)
    task_command = _create_command(run_id, command_id=f"r{run_id}-0", kind="task_upsert", pair_kind="task",
                                   source_id="301", depends_on=[])
    (task_pair,) = ledger.record_plan(run_id, F2T, [PlannedPair(PairKind.TASK, forecast_id="301",
                                                                commands=[task_command])], [], {}, dry_run=False)
    ledger.complete_create(task_command, 902)
    resolved = ledger.resolve_dependencies(command)
    assert resolved["native"]["task_id"] == 902
    assert resolved["twin_snapshot"]["task"] == resolved["fingerprint"]["task"] == "902"
    assert command["native"]["task_id"] is None, "the emitted command itself is not changed"
    assert ledger.find_pair(PairKind.TASK, timelog_id="902").id == task_pair


def test_complete_create_links_and_stores_the_base_in_one_step(ledger: Ledger) -> None:
    """Twin id, base (what was written, so no echo), state and run item land together."""
    run_id = ledger.begin_run(F2T)
    command = ledger.resolve_dependencies(_create_command(ledger.begin_run(F2T), depends_on=[])) | {"run_id": run_id}
    (pair_id,) = ledger.record_plan(run_id, F2T, [PlannedPair(PairKind.TIME_ENTRY, forecast_id="5000",
                                                              commands=[command])], [], {}, dry_run=False)
    ledger.complete_create(command, "guid-1", written={"minutes": 61, "task": "902"})
    pair = ledger.pair(pair_id)
    assert pair is not None
    assert (pair.state, pair.timelog_id, pair.pending) == (PairState.LINKED, "guid-1", [])
    assert pair.base == {"forecast": {"minutes": 61, "task": "301"}, "timelog": {"minutes": 61, "task": "902"}}
    assert ledger.find_pair(PairKind.TIME_ENTRY, timelog_id="guid-1") == pair
    target_items = [i for i in ledger.run_items(run_id) if i.actor == "target"]
    assert [(i.outcome, i.pair_id) for i in target_items] == [("created", pair_id)]
    assert ledger.outcome_counts(run_id) == {"created": 1}


def test_a_conflict_keeps_both_values_and_clears_the_intent(ledger: Ledger) -> None:
    """The lease saw the twin changed: parked with both snapshots for `timesync conflicts`."""
    run_id = ledger.begin_run(F2T)
    command = _plan_create(ledger, run_id)
    ledger.record_outcome(command, Outcome.CONFLICT, current={"minutes": 30}, message="changed on both sides")
    pair = ledger.pair(command["pair_id"])
    assert pair is not None
    assert (pair.state, pair.reason, pair.pending) == (PairState.CONFLICT, "changed on both sides", [])
    assert pair.conflict == {"forecast": {"minutes": 61, "task": "301"}, "timelog": {"minutes": 30}}


def test_a_failed_command_is_replayed_until_the_attempt_limit(ledger: Ledger) -> None:
    """A per-item failure keeps the intent; replays stop after MAX_REPLAY_ATTEMPTS and stay visible."""
    run_id = ledger.begin_run(F2T)
    command = _plan_create(ledger, run_id)
    for attempt in range(1, MAX_REPLAY_ATTEMPTS + 1):
        assert ledger.pending_pairs(F2T), f"attempt {attempt} should still be replayed"
        ledger.record_outcome(command, Outcome.FAILED, message="Invalid: task closed")
    pair = ledger.pair(command["pair_id"])
    assert pair is not None
    assert (pair.attempts, pair.reason, len(pair.pending)) == (MAX_REPLAY_ATTEMPTS, "Invalid: task closed", 1)
    assert ledger.pending_pairs(F2T) == []


def test_created_is_refused_by_record_outcome(ledger: Ledger) -> None:
    """A create needs its remote id: the API says which call to use."""
    run_id = ledger.begin_run(F2T)
    with pytest.raises(ValueError, match="complete_create"):
        ledger.record_outcome(_plan_create(ledger, run_id), Outcome.CREATED)


def test_a_dry_run_records_items_but_no_pairs(ledger: Ledger) -> None:
    """dry_run: the plan is audited, nothing is promised."""
    run_id = ledger.begin_run(F2T, dry_run=True)
    ledger.record_plan(run_id, F2T, [PlannedPair(PairKind.TIME_ENTRY, forecast_id="1", commands=[_create_command(
        run_id)])], [RunItem(kind="time_entry", action="create", outcome="new", source_id="1")], {"x": 1},
        dry_run=True)
    assert ledger.pairs() == []
    assert [i.outcome for i in ledger.run_items(run_id)] == ["new"]


def test_the_fast_path_revision_is_alembics_head() -> None:
    """Ledger.open skips Alembic when the database is at SCHEMA_HEAD_REVISION: it must be the real head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from timesync.ledger.store import MIGRATIONS_DIR, SCHEMA_HEAD_REVISION

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD_REVISION


def test_one_run_by_id(ledger_url: str) -> None:
    """Ledger.run finds one run (what the mapper's plan summary reads), and None for an unknown id."""
    with Ledger.open(ledger_url) as ledger:
        first = ledger.begin_run(F2T)
        second = ledger.begin_run(F2T, dry_run=True)
        run = ledger.run(first)
        assert run is not None
        assert (run.id, run.dry_run) == (first, False)
        assert ledger.run(second).dry_run is True  # type: ignore[union-attr]
        assert ledger.run(second + 1) is None
