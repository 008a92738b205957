"""bench/latency.py's table: percentiles, edits never mirrored, the verdict against the 60 s target."""

from __future__ import annotations

from bench.latency import Edit, Outcome, percentile, rows
from timesync.model import Side


def test_percentiles_of_the_samples() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 50.5
    assert percentile(samples, 0.95) == 95.05
    assert percentile([7.0], 0.95) == 7.0


def test_rows_per_direction_count_edits_never_mirrored_and_judge_p95() -> None:
    outcome = Outcome("webhooks + poll", loads=[1.5, 2.5], runs=[(10.0, 0), (12.0, 1)])
    outcome.edits = [Edit(Side.FORECAST, str(n), 30, made_at=100.0, mirrored_at=100.0 + n) for n in range(1, 11)]
    outcome.edits += [Edit(Side.TIMELOG, "g1", 30, made_at=0.0, mirrored_at=90.0),
                      Edit(Side.TIMELOG, "g2", 30, made_at=0.0)]
    forecast, timelog, runs = rows([outcome])
    assert forecast[:3] == ("webhooks + poll", "Forecast → TimeLog", "10 of 10 mirrored")
    assert forecast[3:6] == ("5.5 s", "9.6 s", "10.0 s")
    assert forecast[6].endswith("✓")
    assert timelog[2] == "1 of 2 mirrored (1 not within the drain)"
    assert timelog[6].endswith("✗")  # 90 s is over the 60 s target
    assert runs[2] == "2 runs, 1 failed"
    assert forecast[7] == "1.50 to 2.50"
