"""tap-timelog against generated sandboxes: records per second, SOAP calls against the minimum, peak RSS.

For each size the sandbox is generated afresh, then `tap-timelog` runs as its own process (as Meltano runs it),
first a full run, then an incremental run from the state it emitted. The minimum number of calls is one per
unpaged operation, ceil(N / page size) per paged one, one GetToken and one WSDL per service (empty WSDL cache).
Peak RSS is sampled from the tap process; comparing sizes shows whether memory grows with N (it should not).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from bench._measure import pages, run_tap
from sandbox import credentials
from sandbox.testing import SandboxProcess

SIZES = (10_000, 100_000)
WORK_PAGE_SIZE = 500
CHANGE_LOG_PAGE_SIZE = 500
EMPLOYEES_PAGE_SIZE = 100
TARGET_CALL_RATIO = 1.05
TAP = str(Path(sys.executable).parent / "tap-timelog")
PM = "ProjectManagementService"
ORG = "OrganisationService"
ONE_CALL = (
    "SecurityService.GetToken", "Reporting.GetTasksRaw", "Reporting.GetEmployeesRaw", "Reporting.GetProjectsRaw",
    "Reporting.GetCustomersRaw", "Reporting.GetAllocationsRaw", f"{ORG}.GetDepartments",
)
WSDLS = ("SecurityService.wsdl", f"{PM}.wsdl", f"{ORG}.wsdl", "Reporting.wsdl")



def _minimum_calls(state: dict) -> dict[str, int]:
    """The fewest requests that can read everything on a first run, per operation."""
    deletions = sum(1 for entry in state["change_log"] if entry["action"] == "Deleted")
    minimum = dict.fromkeys(ONE_CALL + WSDLS, 1)
    minimum |= {
        "Reporting.GetWorkUnitsRawPaged": pages(len(state["work_units"]), WORK_PAGE_SIZE),
        f"{PM}.GetWorkChangeLogPaged": pages(deletions, CHANGE_LOG_PAGE_SIZE),
        f"{PM}.GetTasksModifiedInPeriodPaged": pages(len(state["tasks"]), CHANGE_LOG_PAGE_SIZE),
        f"{ORG}.GetEmployeesPaged": pages(len(state["employees"]), EMPLOYEES_PAGE_SIZE),
    }
    return minimum


def _run_tap(config: Path, state: Path | None, env: dict[str, str]) -> dict:
    """One tap process: records per stream, the last STATE, seconds and peak RSS."""
    return run_tap([TAP, "--config", str(config), *(["--state", str(state)] if state else [])], env)


def run_once(registrations: int) -> dict:
    """Generate a sandbox of `registrations`, run the tap twice over it (full, then incremental), and measure."""
    with SandboxProcess(data=f"generate:registrations={registrations}") as sandbox, \
            tempfile.TemporaryDirectory() as scratch:
        state = sandbox.timelog.state()
        sandbox.timelog.clear_stats()
        config = Path(scratch) / "config.json"
        config.write_text(json.dumps({
            "domain": sandbox.timelog_url, "account": credentials.TIMELOG_ACCOUNT,
            "username": credentials.TIMELOG_USERNAME, "password": credentials.TIMELOG_PASSWORD,
            "site_code": credentials.TIMELOG_SITE_CODE, "reporting_username": credentials.TIMELOG_REPORTING_USERNAME,
            "reporting_password": credentials.TIMELOG_REPORTING_PASSWORD, "site_timezone": "UTC",
        }))
        env = {**os.environ, "TIMESYNC_CACHE_DIR": str(Path(scratch) / "cache")}
        full = _run_tap(config, None, env)
        full["calls"] = sandbox.timelog.stats()["requests"]
        sandbox.timelog.clear_stats()
        state_file = Path(scratch) / "state.json"
        state_file.write_text(json.dumps(full["state"]))
        incremental = _run_tap(config, state_file, env)
        incremental["calls"] = sandbox.timelog.stats()["requests"]
    return {"registrations": registrations, "full": full, "incremental": incremental,
            "minimum": _minimum_calls(state)}


def _report(result: dict) -> None:
    full, minimum = result["full"], result["minimum"]
    total_records = sum(full["records"].values())
    print(f"\n{result['registrations']:,} registrations, full run: exit code {full['returncode']}, "
          f"{total_records:,} records in {full['seconds']:.1f} s = {total_records / full['seconds']:,.0f} "
          f"records/s; peak RSS {full['peak_rss'] / 2**20:.0f} MiB")
    print(f"  records: {dict(sorted(full['records'].items()))}")
    print(f"  {'operation':<52} {'calls':>7} {'minimum':>8} {'ratio':>6}")
    for operation, needed in sorted(minimum.items()):
        calls = full["calls"].get(operation, 0)
        print(f"  {operation:<52} {calls:>7} {needed:>8} {calls / needed:>6.2f}")
    for operation in sorted(set(full["calls"]) - set(minimum)):
        print(f"  {operation:<52} {full['calls'][operation]:>7} {'-':>8} (not needed)")
    calls, needed = sum(full["calls"].values()), sum(minimum.values())
    print(f"  {'total':<52} {calls:>7} {needed:>8} {calls / needed:>6.2f}  (target <= {TARGET_CALL_RATIO})")
    incremental = result["incremental"]
    print(f"  incremental run (nothing changed): exit code {incremental['returncode']}, "
          f"{sum(incremental['records'].values())} records, {sum(incremental['calls'].values())} calls "
          f"{dict(sorted(incremental['calls'].items()))}, {incremental['seconds']:.1f} s, "
          f"peak RSS {incremental['peak_rss'] / 2**20:.0f} MiB")


def main() -> None:
    """Measure each size, then compare peak memory across sizes."""
    results = [run_once(size) for size in SIZES]
    for result in results:
        _report(result)
    small, large = results[0]["full"], results[-1]["full"]
    print(f"\nPeak RSS {results[-1]['registrations']:,} vs {results[0]['registrations']:,} registrations: "
          f"{large['peak_rss'] / 2**20:.0f} MiB vs {small['peak_rss'] / 2**20:.0f} MiB "
          f"(x{large['peak_rss'] / small['peak_rss']:.2f} for "
          f"x{results[-1]['registrations'] / results[0]['registrations']:.0f} data)")


if __name__ == "__main__":
    main()
