"""The per-direction sync summary that `timesync status` and the demo print."""

from __future__ import annotations

import datetime as dt

from timesync.ledger import Run, RunStatus
from timesync.reconcile.report import SUMMARY_COLUMNS, direction_summary, last_sync


class _Ledger:
    def __init__(self, runs: list[Run], outcomes: dict[int, dict[str, int]]) -> None:
        self._runs, self._outcomes = runs, outcomes

    def runs(self, limit: int = 10) -> list[Run]:
        return self._runs[:limit]

    def outcome_counts(self, run_id: int) -> dict[str, int]:
        return self._outcomes.get(run_id, {})


def _run(run_id: int, direction: str, counts: dict[str, int], *, dry_run: bool = False) -> Run:
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    return Run(run_id, direction, dry_run, RunStatus.OK, now, now, counts, None)


def test_outcomes_and_plan_counts_land_in_their_columns() -> None:
    run = _run(1, "forecast_to_timelog", {
        "time_entry.unchanged": 5, "task.unchanged": 2, "time_entry.conflict": 1, "time_entry.locked": 2,
        "out_of_scope.unlinked_project": 3, "out_of_scope.non_project_time": 4, "read.persons": 25, "commands": 9,
    })
    ledger = _Ledger([run], {1: {"created": 6, "already_applied": 1, "updated": 2, "deleted": 1,
                                 "move_deleted": 1, "conflict": 1, "locked": 1, "failed": 2}})
    assert direction_summary(ledger, run) == {
        "created": 7, "updated": 2, "deleted": 2, "unchanged": 7, "conflicts": 2, "locked": 3,
        "out of scope": 7, "failed": 2,
    }


def test_last_sync_takes_the_latest_real_run_of_each_direction() -> None:
    runs = [  # newest first, as the ledger returns them
        _run(4, "timelog_to_forecast", {"time_entry.unchanged": 9}, dry_run=True),
        _run(3, "timelog_to_forecast", {"time_entry.unchanged": 3}),
        _run(2, "forecast_to_timelog", {"time_entry.unchanged": 2}),
        _run(1, "forecast_to_timelog", {"time_entry.unchanged": 1}),
    ]
    summary = last_sync(_Ledger(runs, {}))
    assert list(summary) == ["forecast_to_timelog", "timelog_to_forecast"]
    assert summary["forecast_to_timelog"]["unchanged"] == 2
    assert summary["timelog_to_forecast"]["unchanged"] == 3
    assert list(summary["forecast_to_timelog"]) == list(SUMMARY_COLUMNS)
