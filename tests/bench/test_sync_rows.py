"""bench/sync.py's table rows: the 1% changed run is also shown against the minimum plus the lease re-reads; CPU
seconds per process."""

from __future__ import annotations

from pathlib import Path

from bench.sync import Run, Series, Sizes, rows_for

SIZES = Sizes(forecast_page=500, timelog_work_page=500, timelog_change_log_page=500, timelog_employees_page=100,
              work_batch=100, max_concurrency=4)
BASE = {"median": 2.0, "all": [2.0], "load": "0.1"}


def _run(scenario: str, calls: int, minimum: int, **extra: int) -> Run:
    return Run(scenario, 0, 1.0, {"PUT /api/v1/time_registrations/{id}": calls},
               {"PUT /api/v1/time_registrations/{id}": minimum}, {}, "0.1", Path("/nonexistent.log"), dict(extra))


def _rows(run: Run) -> dict[str, tuple[str, ...]]:
    series = Series(registrations=5000, latency_ms=0, runs=[run])
    return {row[2]: row for row in rows_for([series], BASE, SIZES, detail=False) if row[1] == run.scenario}


def test_lease_rereads_row_divides_by_the_minimum_plus_the_rereads() -> None:
    rows = _rows(_run("1% changed", 134, 68, lease_rereads=66))
    assert rows["API calls, total"][5] == "1.97x"
    lease = rows["API calls ÷ (minimum + lease re-reads of invariant 4)"]
    assert lease[4] == "68 + 66"
    assert lease[5] == "1.00x"


def test_no_lease_row_without_lease_rereads() -> None:
    rows = _rows(_run("no change", 14, 14))
    assert not any("lease" in figure for figure in rows)


def test_cpu_seconds_are_shown_per_process_next_to_peak_rss() -> None:
    run = _run("backfill", 14, 14)
    run.cpu_seconds = {"target-timelog": 12.34, "sandbox": 5.0}
    rows = _rows(run)
    assert rows["CPU s target-timelog"][3] == "12.3 s"
    assert rows["CPU s sandbox"][3] == "5.0 s"
    assert "CPU s tap-forecast" not in rows
