"""Crash injection: kill -9 a target while the sandbox holds its request after k writes, let the held write land
(so the remote create exists but the ledger never heard of it), re-run, and find no duplicate and nothing lost."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from target_forecast.target import TargetForecast
from target_timelog.target import TargetTimeLog
from tests.targets.helpers import (
    FORECAST_PERSON,
    forecast_config,
    forecast_registration,
    forecast_task,
    plan,
    run_target,
    target_process,
    timelog_config,
    timelog_work,
)
from timesync.ledger import Ledger, PairKind, PairState
from timesync.model import Direction

HOLD_WAIT_SECONDS = 60
POLL_SECONDS = 0.05
#: After the kill, the held request is released; give the server this long to apply it.
SETTLE_SECONDS = 0.5

TIMELOG_RECORDS = [
    forecast_task(9001, "Parent", assigned=[FORECAST_PERSON]),
    forecast_task(9002, "Child", parent=9001),
    forecast_registration(7001, task=9001, minutes=30, note="a"),
    forecast_registration(7002, task=9002, minutes=45, note="b"),
    forecast_registration(7003, task=9002, minutes=45, note="b"),  # the same fingerprint twice, on purpose
]
FORECAST_RECORDS = [
    timelog_work(f"1f0e0d0c-0b0a-4909-8807-06050403020{i}", task_id=1001, minutes=20 + i, note=f"crash {i}")
    for i in range(4)
] + [timelog_work("1f0e0d0c-0b0a-4909-8807-060504030299", task_id=1001, minutes=20, note="crash 0")]


def _wait_until_held(control, process) -> None:
    deadline = time.monotonic() + HOLD_WAIT_SECONDS
    while control.stats()["faults"].get("blocked", 0) < 1:
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the target finished before it was held (exit {process.returncode}): {err[-2000:]!r}")
        if time.monotonic() > deadline:
            pytest.fail("the sandbox never held a request")
        time.sleep(POLL_SECONDS)


def _crash_then_rerun(sandbox, control, start_state, tmp_path: Path, k: int, *, executable: str, target_class,
                      config_of, direction: Direction, records: list) -> Ledger:
    """One scenario: fresh data and ledger, a kill -9 after k writes, the held write applied, then a re-run."""
    control.reset(start_state)
    url = f"sqlite:///{tmp_path / f'ledger-{k}.db'}"
    ledger = Ledger.open(url)
    commands = plan(ledger, direction, records)
    control.faults(block_after_writes=k)
    process = target_process(executable, config_of(sandbox, url), commands, tmp_path)
    try:
        _wait_until_held(control, process)
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        control.faults()  # releases the held request: it lands although its client is gone
    time.sleep(SETTLE_SECONDS)
    replay = plan(ledger, direction, records)  # the tap re-reads the same records: the bookmark never moved
    run_target(target_class, config_of(sandbox, url), replay)
    return ledger


def _clean_write_count(sandbox, control, start_state, tmp_path: Path, *, target_class, config_of, direction,
                       records) -> int:
    control.reset(start_state)
    url = f"sqlite:///{tmp_path / 'clean.db'}"
    with Ledger.open(url) as ledger:
        run_target(target_class, config_of(sandbox, url), plan(ledger, direction, records))
    return control.stats()["writes_total"]


def test_a_kill_after_every_timelog_write_leaves_no_duplicate(sandbox, tmp_path):
    """Tasks by external key, allocations by a check, work by GUID and fingerprint: each found, none twice."""
    control = sandbox.timelog
    start = control.state()
    options = {"target_class": TargetTimeLog, "config_of": timelog_config,
               "direction": Direction.FORECAST_TO_TIMELOG, "records": TIMELOG_RECORDS}
    writes = _clean_write_count(sandbox, control, start, tmp_path, **options)
    assert writes >= 3
    for k in range(writes):
        ledger = _crash_then_rerun(sandbox, control, start, tmp_path, k, executable="target-timelog", **options)
        state = control.state()
        keyed = Counter(key["external_id"] for task in state["tasks"] for key in task.get("external_keys") or [])
        assert (keyed["9001"], keyed["9002"]) == (1, 1), f"k={k}: {keyed}"
        ours = [w for w in state["work_units"] if w["description"] in ("a", "b")]
        assert sorted(w["minutes"] for w in ours) == [30, 45, 45], f"k={k}: {ours}"
        pairs = ledger.pairs(kind=PairKind.TIME_ENTRY)
        assert {p.state for p in pairs} == {PairState.LINKED}, f"k={k}"
        assert len({p.timelog_id for p in pairs}) == 3
        allocations = Counter((a["task_id"], a["employee_id"]) for a in state["allocations"])
        assert max(allocations.values()) == 1
        ledger.close()


def test_a_kill_after_every_forecast_write_leaves_no_duplicate(sandbox, tmp_path):
    """A POST that landed but was never recorded is found by fingerprint (v3 per person) on the re-run."""
    control = sandbox.forecast
    start = control.state()
    options = {"target_class": TargetForecast, "config_of": forecast_config,
               "direction": Direction.TIMELOG_TO_FORECAST, "records": FORECAST_RECORDS}
    writes = _clean_write_count(sandbox, control, start, tmp_path, **options)
    assert writes == len(FORECAST_RECORDS)
    for k in range(writes):
        ledger = _crash_then_rerun(sandbox, control, start, tmp_path, k, executable="target-forecast", **options)
        ours = [r for r in control.state()["time_registrations"] if "crash" in (r["notes"] or "")]
        assert sorted(r["time_registered"] for r in ours) == [20, 20, 21, 22, 23], f"k={k}: {ours}"
        pairs = ledger.pairs(kind=PairKind.TIME_ENTRY)
        assert {p.state for p in pairs} == {PairState.LINKED}, f"k={k}"
        assert len({p.forecast_id for p in pairs}) == len(FORECAST_RECORDS)
        ledger.close()
