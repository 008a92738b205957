"""bench/tenants.py's table: percentiles, RSS per concurrent run, the 1,000-tenant estimate's arithmetic."""

from __future__ import annotations

from bench._measure import MIB
from bench.tenants import Estimate, Measured, Round, estimate, percentile, rows, rss_per_run, tenant_name


def _round(name: str, durations: list[float], cpu: float, peak_rss: int) -> Round:
    return Round(name, wall=100.0, durations=durations, queued=[float(n) for n in range(len(durations))],
                 statuses=["SUCCESS"] * len(durations), peak_rss=peak_rss, cpu=cpu, machine_cpu=2 * cpu,
                 processes=50, load="1.50")


def _measured() -> Measured:
    measured = Measured(tenants=20, registrations=2000, slots=2, idle_rss=300 * MIB)
    measured.rounds = [_round("round 1", [20.0 + n for n in range(20)], cpu=600.0, peak_rss=900 * MIB),
                       _round("round 2", [5.0 + n / 10 for n in range(20)], cpu=80.0, peak_rss=700 * MIB)]
    return measured


def test_percentiles_of_the_samples() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 50.5
    assert percentile(samples, 0.95) == 95.05
    assert percentile([7.0], 0.95) == 7.0


def test_rss_per_concurrent_run_is_above_idle_shared_by_slots() -> None:
    assert rss_per_run(700 * MIB, 300 * MIB, 2) == 200 * MIB
    assert rss_per_run(100, 300, 2) == 0


def test_estimate_arithmetic() -> None:
    guess = Estimate(tenants=1000, cpu_per_run=4.0, p95_wall=6.3, rss_per_run=200 * MIB)
    assert guess.core_seconds == 4000
    assert guess.cores_for_cpu == 7  # 4000 / (900 x 0.7) = 6.35
    assert guess.slots == 7  # 1000 x 6.3 / 900 = 7.0
    assert guess.memory == 7 * 200 * MIB
    assert guess.workers == 7
    assert Estimate(1000, cpu_per_run=1.0, p95_wall=18.1, rss_per_run=0).workers == 21  # slots govern


def test_estimate_uses_the_steady_round() -> None:
    guess = estimate(_measured())
    assert guess.cpu_per_run == 4.0  # 80 CPU s / 20 runs of round 2
    assert guess.p95_wall == percentile([5.0 + n / 10 for n in range(20)], 0.95)
    assert guess.rss_per_run == 200 * MIB


def test_rows_show_each_round_and_the_arithmetic() -> None:
    table = rows(_measured())
    by_figure = {(row[0], row[1]): row for row in table}
    assert by_figure[("setup", "idle deployment RSS")][2] == "300 MB"
    assert by_figure[("round 2", "runs")][2] == "20 (0 not SUCCESS)"
    assert by_figure[("round 2", "run duration p50 / p95 / max")][2] == "6.0 s / 6.8 s / 6.9 s"
    assert by_figure[("round 2", "peak RSS per concurrent run")][2] == "200 MB"
    assert by_figure[("round 2", "CPU per run")][2] == "4.0 s"
    assert by_figure[("round 1", "CPU per run")][2] == "30.0 s"
    estimate_rows = {row[1]: row for row in table if row[0].startswith("estimate: 1,000 tenants")}
    assert estimate_rows["core-seconds per window"][2:] == ("4,000", "1,000 runs x 4.0 CPU s (round 2)")
    assert estimate_rows["cores for CPU"][2:] == ("7", "⌈4,000 / (900 s x 70%)⌉")
    assert estimate_rows["run slots"][2] == "8"  # 1000 x 6.805 / 900 = 7.56
    assert estimate_rows["workers (cores, one run slot each)"][2] == "8"
    assert estimate_rows["memory for the runs"][2] == "1,600 MB"
    onboarding = next(row for row in table if row[0].startswith("one-off"))
    assert onboarding[2] == "8.3 core-hours"  # 1000 x 30 s / 3600


def test_tenant_names_are_valid_job_names() -> None:
    assert tenant_name(1) == "t01"
    assert tenant_name(20) == "t20"
