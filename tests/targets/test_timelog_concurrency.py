"""target-timelog's max_concurrency: independent TimeLog calls side by side, never more than the setting, every
outcome recorded, parents still before children, and one failing call costing only its own items."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from target_timelog.target import TargetTimeLog
from tests.targets.helpers import (
    FORECAST_PERSON,
    OTHER_FORECAST_PERSON,
    forecast_registration,
    forecast_task,
    plan,
    run_target,
    timelog_config,
)
from timelog_api.client import TimeLogClient
from timelog_api.errors import TimeLogApiError, TimeLogTransportError
from timesync.ledger import Ledger, PairKind, PairState
from timesync.model import Direction

F2T = Direction.FORECAST_TO_TIMELOG
#: Long enough that calls started together overlap, short enough to keep the tests quick.
CALL_SECONDS = 0.03
WORK = 16


class InFlight:
    """Wraps TimeLogClient.batch and .fetch: counts the calls in flight at once, and can fail chosen calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: Any = None) -> None:
        self.now = self.peak = 0
        self.operations: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.fail = fail or (lambda operation, params: None)
        for name in ("batch", "fetch"):
            monkeypatch.setattr(TimeLogClient, name, self._counting(getattr(TimeLogClient, name)))

    def _counting(self, original: Any) -> Any:
        def call(client: TimeLogClient, service: Any, operation: str, /, **params: Any) -> Any:
            with self.lock:
                self.operations[operation] += 1
                self.now += 1
                self.peak = max(self.peak, self.now)
            try:
                time.sleep(CALL_SECONDS)
                error = self.fail(operation, params)
                if error is not None:
                    raise error
                return original(client, service, operation, **params)
            finally:
                with self.lock:
                    self.now -= 1
        return call


def _records() -> list:
    """Three levels of tasks (9003 under 9001, 9004 under 9003), two people assigned, and WORK registrations."""
    records = [forecast_task(9004, "Grandchild", parent=9003), forecast_task(9003, "Child", parent=9001),
               forecast_task(9001, "Parent", assigned=[FORECAST_PERSON, OTHER_FORECAST_PERSON]),
               forecast_task(9002, "Sibling", assigned=[FORECAST_PERSON])]
    records += [forecast_registration(7000 + i, task=9001 if i % 2 else 9002, minutes=10 + i,
                                      day=f"2026-11-{2 + i:02d}", note=f"unit {i}",
                                      person=FORECAST_PERSON if i % 3 else OTHER_FORECAST_PERSON)
                for i in range(WORK)]
    return records


def _apply(sandbox: Any, ledger: Ledger, ledger_url: str, **config: Any) -> list[dict]:
    commands = plan(ledger, F2T, _records())
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url, work_batch_size=2, **config), commands)
    return commands


def _ours(sandbox: Any) -> tuple[dict[str, dict], list[dict]]:
    """The tasks carrying our keys, by key, and the work units on them."""
    state = sandbox.timelog.state()
    tasks = {k["external_id"]: t for t in state["tasks"] for k in t.get("external_keys") or []}
    ids = {t["task_id"] for t in tasks.values()}
    return tasks, [w for w in state["work_units"] if w["task_id"] in ids]


@pytest.mark.parametrize("max_concurrency", [1, 4])
def test_every_outcome_is_recorded_and_parents_come_first(sandbox, ledger, ledger_url, monkeypatch,
                                                          max_concurrency):
    """All tasks, allocations and work land once and are linked in the ledger, with up to max_concurrency calls
    in flight (exactly one at a time for 1), and each sub-task under the TimeLog twin of its parent."""
    calls = InFlight(monkeypatch)
    _apply(sandbox, ledger, ledger_url, max_concurrency=max_concurrency)

    tasks, units = _ours(sandbox)
    assert tasks["9003"]["parent_task_id"] == tasks["9001"]["task_id"]
    assert tasks["9004"]["parent_task_id"] == tasks["9003"]["task_id"]
    assert sorted(w["description"] for w in units) == sorted(f"unit {i}" for i in range(WORK))
    assert len(ledger.pairs(states=[PairState.LINKED], kind=PairKind.TASK)) == 4
    assert len(ledger.pairs(states=[PairState.LINKED], kind=PairKind.TIME_ENTRY)) == WORK
    assert not [p for p in ledger.pairs() if p.pending]
    if max_concurrency == 1:
        assert calls.peak == 1
    else:
        assert 1 < calls.peak <= max_concurrency
    # Creates running side by side still check once that TimeLog kept our external key (no lookup-first here).
    assert calls.operations["GetTaskByExternalKey"] == 4 + 1  # the lost-ledger check per new task, then that one


def _fail_unit(note: str, error: Exception) -> Any:
    def fail(operation: str, params: dict) -> Exception | None:
        units = (params.get("work") or {}).get("WorkUnit") or []
        return error if operation == "InsertWork" and any(u["Description"] == note for u in units) else None
    return fail


def test_a_refused_call_in_the_middle_fails_only_its_own_items(sandbox, ledger, ledger_url, monkeypatch):
    """TimeLog refusing one InsertWork call as a whole: its two units fail (and stay pending for the next run),
    every other call's units are written and linked."""
    InFlight(monkeypatch, _fail_unit("unit 7", TimeLogApiError("InsertWork", "Invalid", "refused")))
    _apply(sandbox, ledger, ledger_url, max_concurrency=4)

    _, units = _ours(sandbox)
    refused = {"unit 6", "unit 7"}  # work_batch_size 2: unit 7 shares its call with unit 6
    assert sorted(w["description"] for w in units) == sorted({f"unit {i}" for i in range(WORK)} - refused)
    entries = {p.forecast_id: p for p in ledger.pairs(kind=PairKind.TIME_ENTRY)}
    assert {fid for fid, p in entries.items() if p.state is not PairState.LINKED} == {"7006", "7007"}
    assert all(entries[fid].pending and "refused" in entries[fid].reason for fid in ("7006", "7007"))


def test_a_fatal_error_in_one_call_loses_no_other_calls_outcome(sandbox, ledger, ledger_url, monkeypatch):
    """TimeLog gone mid-run: the run fails, but every unit a call running beside the failed one wrote is linked
    (nothing exists in TimeLog that the ledger does not know), and the next run completes the rest, once each."""
    InFlight(monkeypatch, _fail_unit("unit 7", TimeLogTransportError("InsertWork", "HTTP 503", 503)))
    with pytest.raises(TimeLogTransportError):
        _apply(sandbox, ledger, ledger_url, max_concurrency=4)

    _, units = _ours(sandbox)
    linked = {p.timelog_id for p in ledger.pairs(states=[PairState.LINKED], kind=PairKind.TIME_ENTRY)}
    assert {w["guid"].lower() for w in units} <= {str(t).lower() for t in linked}
    assert len(units) < WORK

    monkeypatch.undo()
    _apply(sandbox, ledger, ledger_url)
    _, units = _ours(sandbox)
    assert sorted(w["description"] for w in units) == sorted(f"unit {i}" for i in range(WORK))
