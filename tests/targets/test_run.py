"""A whole target run: one clear error line for a setting to fix, progress while applying, few calls per run."""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

import pytest

from sandbox import credentials
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
from timesync.ledger import PairKind, PairState
from timesync.model import Direction
from timesync.reconcile.apply import ApplyProgress

F2T, T2F = Direction.FORECAST_TO_TIMELOG, Direction.TIMELOG_TO_FORECAST
WRONG_SECRET = "not-the-secret-4711"
#: tests/e2e/test_suite_progress.py's definition of a progress line.
PROGRESS_LINE = re.compile(r"\b\d+\s*(/|of)\s*\d+\b|progress", re.IGNORECASE)


def _cli(executable: str, config: dict, commands: list[dict], tmp_path: Path) -> tuple[int, str]:
    process = target_process(executable, config, commands, tmp_path)
    _, err = process.communicate(timeout=120)
    return process.returncode, err.decode()


def _errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if "ERROR" in line]


@pytest.mark.parametrize(("change", "fragments"), [
    ({"password": WRONG_SECRET}, ("password",)),
    ({"account": "no-such-account"}, ("account", "no-such-account")),
    ({"domain": "app1.timelog.com"}, ("domain", "https://")),
], ids=["wrong-password", "unknown-account", "domain-without-scheme"])
def test_a_timelog_setting_to_fix_is_one_error_line_before_any_write(sandbox, ledger, ledger_url, tmp_path, change,
                                                                      fragments):
    """Exit 1 with one line naming the setting (as tap-timelog reports it), no traceback, no secret, no write:
    the token comes before the first write."""
    commands = plan(ledger, F2T, [forecast_task(9001, "Parent"), forecast_registration(7001, task=9001, minutes=30)])
    sandbox.timelog.clear_stats()
    code, log = _cli("target-timelog", timelog_config(sandbox, ledger_url, **change), commands, tmp_path)
    assert code == 1, log
    [error] = _errors(log)
    assert all(fragment in error for fragment in fragments), error
    assert "Traceback" not in log
    assert WRONG_SECRET not in log
    assert credentials.TIMELOG_PASSWORD not in log
    assert sandbox.timelog.stats()["writes_total"] == 0
    assert ledger.find_pair(PairKind.TASK, forecast_id="9001").state is PairState.CREATING


def test_a_wrong_forecast_key_is_one_error_line_before_any_write(sandbox, ledger, ledger_url, tmp_path):
    """The same for target-forecast: the first request is refused, so nothing is written."""
    commands = plan(ledger, T2F, [timelog_work("4f0e0d0c-0b0a-4909-8807-060504030201", task_id=1001, minutes=30)])
    before = sandbox.forecast.state()["time_registrations"]
    code, log = _cli("target-forecast", forecast_config(sandbox, ledger_url, api_key=WRONG_SECRET), commands,
                     tmp_path)
    assert code == 1, log
    [error] = _errors(log)
    assert "api_key" in error
    assert "Traceback" not in log
    assert WRONG_SECRET not in log
    assert sandbox.forecast.state()["time_registrations"] == before


def test_the_progress_line_says_how_far_and_counts_outcomes():
    """A line the e2e progress suite recognises: applied of received, outcomes summed over kinds."""
    progress = ApplyProgress(logging.getLogger("test"))
    assert "waiting for commands" in progress.line()
    progress.received = 3000
    for kind, outcome in [("task_upsert", "created"), ("work_create", "created"), ("work_update", "conflict")]:
        progress.count(kind, outcome)
    line = progress.line()
    assert PROGRESS_LINE.search(line)
    assert "3 commands applied (received 3,000; conflict 1, created 2)" in line
    assert progress.summary(by_kind=True) == "task_upsert.created 1, work_create.created 1, work_update.conflict 1"


def _operations(control) -> Counter:
    """Request counts per operation name (the sandbox keys them `<Service version>.<Op>`)."""
    counts: Counter = Counter()
    for key, count in control.stats()["requests"].items():
        counts[key.rsplit(".", 1)[-1]] += count
    return counts


def test_a_run_of_many_small_batches_reads_employees_and_allocations_once(sandbox, ledger, ledger_url, caplog):
    """Tasks in the first batch, their work in later ones (resolved through the ledger); one writer per run."""
    records = [forecast_task(9001, "Parent", assigned=[FORECAST_PERSON]), forecast_task(9002, "Child", parent=9001)]
    records += [forecast_registration(20_000 + i, task=9001 + i % 2, minutes=10 + i, day=f"2026-11-{1 + i % 28:02d}",
                                      person=11 + i % 3, note=f"batch {i}") for i in range(120)]
    commands = plan(ledger, F2T, records)
    sandbox.timelog.clear_stats()
    with caplog.at_level(logging.INFO):
        run_target(TargetTimeLog, timelog_config(sandbox, ledger_url, batch_size_rows=25), commands)
    calls = _operations(sandbox.timelog)
    assert calls["GetEmployeesPaged"] == 1
    assert calls["GetAllocationsToEmployee"] <= 3, "once per employee, not per batch"
    # A first sync looks each new task up once (a ledger lost with Meltano's state looks like a first sync, and
    # TimeLog holding our keyed task gives it away), then checks that TimeLog stored the first new task's key.
    assert calls["GetTaskByExternalKey"] == 2 + 1
    assert len(ledger.pairs(states=[PairState.LINKED], kind=PairKind.TIME_ENTRY)) == 120
    assert re.search(r"applied 123 commands: .*work_create\.created 120", caplog.text)


def test_once_the_ledger_has_synced_a_new_task_is_created_without_a_lookup(sandbox, ledger, ledger_url):
    """The lost-ledger check belongs to first syncs: a settled ledger creates new tasks with no lookup first."""
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), plan(ledger, F2T, [forecast_task(9001, "Parent")]))
    commands = plan(ledger, F2T, [forecast_task(9002, "Later")])
    sandbox.timelog.clear_stats()
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), commands)
    calls = _operations(sandbox.timelog)
    assert (calls["CreateTask"], calls["GetTaskByExternalKey"]) == (1, 1), "only the check of the stored key"


def test_an_update_on_the_same_task_skips_the_allocation_check(sandbox, ledger, ledger_url):
    """The unit is on that task already, so its employee is allocated: no GetAllocationsToEmployee."""
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url),
               plan(ledger, F2T, [forecast_task(9001, "Parent"), forecast_registration(7001, task=9001, minutes=30)]))
    commands = plan(ledger, F2T, [forecast_registration(7001, task=9001, minutes=45, note="longer")])
    sandbox.timelog.clear_stats()
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url), commands)
    calls = _operations(sandbox.timelog)
    assert (calls["UpdateWork"], calls["GetAllocationsToEmployee"], calls["AddEmployeeToTask"]) == (1, 0, 0)
    assert ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001").state is PairState.LINKED
