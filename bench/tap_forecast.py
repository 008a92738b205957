"""tap-forecast against generated sandboxes: records per second, API calls against the minimum, peak RSS.

For each size the sandbox is generated afresh, then `tap-forecast` runs as its own process (as Meltano runs it)
with its Singer output read and counted here. The minimum number of calls is one per bare-array endpoint (one
per project for the per-project ones) and ceil(N / page_size) per paginated stream. Peak RSS is sampled from the
tap process; comparing sizes shows whether memory grows with N (it should not: records stream through). A
second, incremental run from the first run's state shows what a quiet 15-minute schedule costs.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bench._measure import pages, run_tap
from sandbox.credentials import FORECAST_API_KEY
from sandbox.testing import SandboxProcess

SIZES = (10_000, 100_000)
PAGE_SIZE = 500
TARGET_CALL_RATIO = 1.05
TAP = str(Path(sys.executable).parent / "tap-forecast")
#: Paginated v4 endpoint of each stream that has one (stats keys of the sandbox).
PAGED = {
    "tasks": "GET /api/v4/tasks",
    "time_registrations": "GET /api/v4/time_registrations",
    "deleted_tasks": "GET /api/v4/tasks/deleted",
    "deleted_time_registrations": "GET /api/v4/time_registrations/deleted",
}
PER_PROJECT = (
    "GET /api/v1/projects/{id}/phases", "GET /api/v1/projects/{id}/workflow_columns",
    "GET /api/v1/projects/{id}/team",
)
ACCOUNT_WIDE = (
    "GET /api/v1/projects", "GET /api/v2/persons", "GET /api/v1/clients", "GET /api/v1/roles",
    "GET /api/v1/non_project_time", "GET /api/v1/allocations",
)


def _minimum_calls(state: dict) -> dict[str, int]:
    """The fewest requests that can read everything, per endpoint."""
    minimum = {endpoint: pages(len(state[stream]), PAGE_SIZE) for stream, endpoint in PAGED.items()}
    minimum |= dict.fromkeys(PER_PROJECT, len(state["projects"]))
    minimum |= dict.fromkeys(ACCOUNT_WIDE, 1)
    return minimum


def _run_tap(config: Path, state: Path | None) -> dict:
    """Run `tap-forecast` once; count its records per stream, keep its last STATE, sample its RSS."""
    return run_tap([TAP, "--config", str(config), *(["--state", str(state)] if state else [])])


def run_once(registrations: int) -> dict:
    """Generate a sandbox of `registrations`, run the tap over it twice (full, then incremental), and measure."""
    with SandboxProcess(data=f"generate:registrations={registrations}") as sandbox, \
            tempfile.TemporaryDirectory() as scratch:
        state = sandbox.forecast.state()
        config = Path(scratch) / "config.json"
        config.write_text(json.dumps({"api_key": FORECAST_API_KEY, "base_url": sandbox.forecast_url,
                                      "page_size": PAGE_SIZE}))
        sandbox.forecast.clear_stats()
        full = _run_tap(config, state=None)
        full["calls"] = sandbox.forecast.stats()["requests"]
        bookmarks = Path(scratch) / "state.json"
        bookmarks.write_text(json.dumps(full["state"]))
        sandbox.forecast.clear_stats()
        incremental = _run_tap(config, state=bookmarks)
        incremental["calls"] = sandbox.forecast.stats()["requests"]
    return {"registrations": registrations, **full, "minimum": _minimum_calls(state), "incremental": incremental}


def _report(result: dict) -> None:
    total_records = sum(result["records"].values())
    print(f"\n{result['registrations']:,} registrations: exit code {result['returncode']}, "
          f"{total_records:,} records in {result['seconds']:.1f} s = "
          f"{total_records / result['seconds']:,.0f} records/s; peak RSS {result['peak_rss'] / 2**20:.0f} MiB")
    print(f"  {'endpoint':<48} {'calls':>7} {'minimum':>8} {'ratio':>6}")
    for endpoint, minimum in sorted(result["minimum"].items()):
        calls = result["calls"].get(endpoint, 0)
        print(f"  {endpoint:<48} {calls:>7} {minimum:>8} {calls / minimum:>6.2f}")
    extra = sorted(set(result["calls"]) - set(result["minimum"]))
    for endpoint in extra:
        print(f"  {endpoint:<48} {result['calls'][endpoint]:>7} {'-':>8} (overhead: the key check)")
    calls, minimum = sum(result["calls"].values()), sum(result["minimum"].values())
    print(f"  {'total':<48} {calls:>7} {minimum:>8} {calls / minimum:>6.2f}  (target <= {TARGET_CALL_RATIO})")
    again = result["incremental"]
    print(f"  then an incremental run with no changes: exit code {again['returncode']}, "
          f"{sum(again['calls'].values())} calls, {sum(again['records'].values()):,} records "
          f"(only the 30-minute overlap and the full-table lists) in {again['seconds']:.1f} s")


def main() -> None:
    """Measure each size, then compare peak memory across sizes."""
    results = [run_once(size) for size in SIZES]
    for result in results:
        _report(result)
    small, large = results[0], results[-1]
    print(f"\nPeak RSS {large['registrations']:,} vs {small['registrations']:,} registrations: "
          f"{large['peak_rss'] / 2**20:.0f} MiB vs {small['peak_rss'] / 2**20:.0f} MiB "
          f"(x{large['peak_rss'] / small['peak_rss']:.2f} for x{large['registrations'] / small['registrations']:.0f} "
          "data)")


if __name__ == "__main__":
    main()
