"""The whole sync, `meltano run sync`, against generated sandboxes: one table of ratios against the issue-9 targets.

Per series (registrations per side, simulated latency per request) a fresh sandbox is generated and an isolated
Meltano project (own system DB, ledger, links, WSDL cache) runs four scenarios:

- backfill: the first run (no bookmarks, empty ledger);
- settle: the next run, which reads back what the backfill wrote (reported, since it is what the second run of
  a real deployment costs);
- no change: nothing changed since the last run;
- 1% changed: 1% of the registrations edited on each side through the real APIs (`sandbox.editors`).

Per scenario: wall time, API calls per endpoint/operation (`/_sandbox/stats`) against the minimum, and the peak
RSS per process of the `meltano run` process tree. The minimum is computed from the generated data, not from
what the sync did: pages read of the streams the reconcile step consumes (`ADAPTERS[side].stream_keys`) for
the records changed since the tap last read, plus the writes needed (TimeLog batch writes one call per batch),
with page and batch sizes taken from the plugins' settings and constants.

Also: reconcile throughput (`timesync-reconcile` alone, fed a captured tap stream), and the baseline: a temporary
Meltano project under /tmp whose job runs two trivial singer-sdk tap -> target pipelines (Meltano's own
overhead for a two-block job, as `sync` is).

Why this baseline: it is Meltano's own cost for what `sync` is, a job of two blocks, each a singer-sdk tap and
target started by `meltano run` (discovery included), with nothing of ours in it. `tap-forecast target-csv`
against an empty sandbox would already include our tap (its imports, its key check, its reference streams):
part of what the ratio is meant to show.

Settings (environment):
- BENCH_REGISTRATIONS: registrations per side (default 50000);
- BENCH_SMALL_REGISTRATIONS: the second size for the memory-flatness check and the reconcile-alone
  measurement (default 5000; 0 skips it);
- BENCH_LATENCIES_MS: simulated latency per request on both simulators (default "0,20");
- BENCH_REPEATS: runs of the no-change scenario and of the baseline, the median counts (default 3);
- BENCH_BYTECODE=installed: plugin processes use the bytecode as installed (and PYTHONDONTWRITEBYTECODE as set)
  instead of the benchmark's own warm cache: `make install` compiles it; `PYTHONDONTWRITEBYTECODE=1` then shows
  what a scheduled run in a Docker image pays (default: the warm cache under bench/out/pycache);
- BENCH_ONLY="50000:20,...": measure only these series, take the others from bench/out/sync/ (a long run split
  in parts); BENCH_KEEP=1: keep each series' scratch folder (meltano logs, captured streams, ledgers).

A quick run: `BENCH_REGISTRATIONS=2000 BENCH_SMALL_REGISTRATIONS=0 BENCH_LATENCIES_MS=0 BENCH_REPEATS=1
.venv/bin/python -m bench sync` (about 3 minutes). The full run takes about an hour on 2 busy cores.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests
import yaml

from bench._measure import MIB, PeakRss, cpu_seconds, load, machine, pages, ratio, role_by_executable, verdict
from sandbox import credentials, roster
from sandbox.editors import ForecastEditor, TimeLogEditor
from sandbox.pipeline import MELTANO, REPO_ROOT, IsolatedMeltano, sandbox_plugin_env
from sandbox.testing import SandboxProcess

SIZE = int(os.environ.get("BENCH_REGISTRATIONS", "50000"))
SMALL_SIZE = int(os.environ.get("BENCH_SMALL_REGISTRATIONS", "5000"))
#: Registrations per side of the series whose captured tap streams feed the reconcile-alone measurement.
RECONCILE_SIZE = int(os.environ.get("BENCH_RECONCILE_REGISTRATIONS", str(SMALL_SIZE or SIZE)))
LATENCIES_MS = tuple(int(v) for v in os.environ.get("BENCH_LATENCIES_MS", "0,20").split(",") if v.strip())
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
#: Keep each series' scratch folder (meltano logs, captured streams, ledger) instead of deleting it.
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")
CHANGED_SHARE = 0.01
#: A small unreported series first, so every module any plugin imports is compiled before a measured run (0: skip).
WARM_UP_REGISTRATIONS = int(os.environ.get("BENCH_WARM_UP_REGISTRATIONS", "200"))
SEED = 9

# The targets.
TARGET_CALL_RATIO = 1.05
TARGET_BASELINE_RATIO = 1.5
TARGET_RSS_BYTES = 200 * MIB
#: "Flat from 10k to 100k records": our reading is at most this growth for 10x the records.
TARGET_RSS_GROWTH = 1.25
TARGET_RECONCILE_RECORDS_PER_SECOND = 20_000
TARGET_LATENCY_BOUND_RATIO = 1.3

RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- bench/sync.py: begin (generated) -->", "<!-- bench/sync.py: end -->"
ROLES = ("tap-forecast", "tap-timelog", "timesync-reconcile", "target-timelog", "target-forecast", "meltano")
PLUGIN_BIN = {
    "tap-forecast": REPO_ROOT / ".meltano/extractors/tap-forecast/venv/bin/tap-forecast",
    "tap-timelog": REPO_ROOT / ".meltano/extractors/tap-timelog/venv/bin/tap-timelog",
    "timesync-reconcile": REPO_ROOT / ".meltano/mappers/timesync-reconcile/venv/bin/timesync-reconcile",
}
RUN_TIMEOUT_SECONDS = 3 * 3600
#: `meltano run` keeps a tap's state file in the project's shared `.meltano/run/<plugin>/`, so a concurrent meltano
#: in the same checkout (tests, demo) can delete it under us: the block fails before reading anything. Retried.
SHARED_RUN_DIR_RACE = "state.json': No such file or directory"
MAX_RETRIES = 2
#: Bytecode for every process the benchmark starts. Plugin venvs built by `meltano install` (uv) hold no .pyc,
#: so with PYTHONDONTWRITEBYTECODE set each plugin process would compile ~600 modules on every start; the
#: benchmark measures warm processes, as on a machine that has run the sync once (see `python_env`).
PYCACHE = REPO_ROOT / "bench" / "out" / "pycache"
#: BENCH_BYTECODE=installed: measure the bytecode as installed instead (the venvs' and the checkout's own
#: __pycache__, PYTHONDONTWRITEBYTECODE as the caller set it), i.e. what a scheduled run on a user's machine pays.
BYTECODE_AS_INSTALLED = os.environ.get("BENCH_BYTECODE", "prefix") == "installed"
#: Each series' results, so BENCH_ONLY can re-measure some series and reuse the others.
SAVED = REPO_ROOT / "bench" / "out" / "sync"


# -- the plugins' own page and batch sizes --------------------------------------------------------------------

def _meltano_setting(kind: str, plugin: str, setting: str) -> Any:
    """The `value` meltano.yml gives a plugin setting (None when it gives none)."""
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text(encoding="utf-8"))
    for entry in project["plugins"][kind]:
        if entry["name"] == plugin:
            return next((s.get("value") for s in entry.get("settings", []) if s["name"] == setting), None)
    return None


@dataclass(frozen=True)
class Sizes:
    """Page sizes, batch size and write concurrency, as the plugins use them in the `sync` job."""

    forecast_page: int
    timelog_work_page: int
    timelog_change_log_page: int
    timelog_employees_page: int
    work_batch: int
    max_concurrency: int

    @classmethod
    def from_plugins(cls) -> Sizes:
        """meltano.yml values where it sets one, else the plugin's default constant."""
        from tap_forecast.tap import DEFAULT_PAGE_SIZE
        from tap_timelog.client import CHANGE_LOG_PAGE_SIZE
        from tap_timelog.streams import WORK_PAGE_SIZE
        from target_forecast.sinks import DEFAULT_MAX_CONCURRENCY
        from target_timelog.work import DEFAULT_WORK_BATCH_SIZE
        from timelog_api.services import EMPLOYEES_PAGE_SIZE

        return cls(
            forecast_page=int(_meltano_setting("extractors", "tap-forecast", "page_size") or DEFAULT_PAGE_SIZE),
            timelog_work_page=WORK_PAGE_SIZE, timelog_change_log_page=CHANGE_LOG_PAGE_SIZE,
            timelog_employees_page=EMPLOYEES_PAGE_SIZE,
            work_batch=int(_meltano_setting("loaders", "target-timelog", "work_batch_size")
                           or DEFAULT_WORK_BATCH_SIZE),
            max_concurrency=int(_meltano_setting("loaders", "target-forecast", "max_concurrency")
                                or DEFAULT_MAX_CONCURRENCY),
        )


# -- links and scope -----------------------------------------------------------------------------------------

def bench_links() -> dict:
    """Every project and person that exists on both sides of the generated agency, linked; no flood guard."""
    return {
        "projects": [{"forecast": p.forecast_id, "timelog": p.timelog_project_id}
                     for p in roster.PROJECTS if p.forecast_id and p.timelog_project_id],
        "persons": [{"forecast": p.forecast_id, "timelog": p.timelog_employee_id}
                    for p in roster.PEOPLE if p.forecast_id and p.timelog_employee_id],
        "options": {"max_changes_per_run": 10_000_000},
    }


@dataclass
class Scope:
    """What the generated data asks the sync to write on a backfill, derived from the data and the links."""

    forecast_entries: list[dict]
    timelog_units: list[dict]
    tasks: int
    sub_tasks: int
    project_time_tasks: int
    allocations: int


def scope_of(forecast: dict, timelog: dict, links: dict) -> Scope:
    """In-scope Forecast registrations and TimeLog units, and the tasks and allocations they need in TimeLog."""
    projects_f = {link["forecast"] for link in links["projects"]}
    persons_f = {link["forecast"] for link in links["persons"]}
    projects_t = {link["timelog"] for link in links["projects"]}
    persons_t = {link["timelog"] for link in links["persons"]}
    task_project = {task["id"]: task["project_id"] for task in forecast["tasks"]}
    entries = [r for r in forecast["time_registrations"] if r.get("non_project_time") is None
               and r["person"] in persons_f
               and (r.get("project") or task_project.get(r.get("task"))) in projects_f]
    linked_tasks = [task for task in forecast["tasks"] if task["project_id"] in projects_f]
    allocations = {(person, ("task", task["id"])) for task in linked_tasks
                   for person in task.get("assigned_persons") or [] if person in persons_f}
    allocations |= {(r["person"], ("task", r["task"]) if r.get("task") else ("project", r["project"]))
                    for r in entries}
    timelog_task_project = {task["task_id"]: task["project_id"] for task in timelog["tasks"]}
    units = [u for u in timelog["work_units"]
             if u["employee_id"] in persons_t and timelog_task_project.get(u["task_id"]) in projects_t]
    return Scope(
        forecast_entries=entries, timelog_units=units,
        tasks=sum(1 for task in linked_tasks if not task.get("parent_task_id")),
        sub_tasks=sum(1 for task in linked_tasks if task.get("parent_task_id")),
        project_time_tasks=len({r["project"] for r in entries if not r.get("task")}),
        allocations=len(allocations),
    )


def _changed(before: list[dict] | None, after: list[dict], key: str, stamp: str) -> int:
    """Records of `after` that are new or carry another `stamp` than in `before` (all when `before` is None)."""
    if before is None:
        return len(after)
    old = {record[key]: record.get(stamp) for record in before}
    return sum(1 for record in after if old.get(record[key], object()) != record.get(stamp))


# -- the minimum --------------------------------------------------------------------------------------------

@dataclass
class Needed:
    """What one run must read and write, in records; turned into calls by `minimum_calls`."""

    full_read: bool
    forecast_registrations: int = 0
    forecast_tasks: int = 0
    forecast_deleted_registrations: int = 0
    forecast_deleted_tasks: int = 0
    timelog_work: int = 0
    timelog_tasks: int = 0
    timelog_deleted_work: int = 0
    timelog_employees: int = 0
    work_creates: int = 0
    work_updates: int = 0
    task_creates: int = 0
    sub_task_creates: int = 0
    allocations: int = 0
    registration_creates: int = 0
    registration_updates: int = 0
    wsdls: bool = False


def minimum_calls(needed: Needed, sizes: Sizes) -> dict[str, int]:
    """The fewest requests per endpoint/operation that read what changed and make the writes needed.

    Reads are the streams the reconcile step consumes (`ADAPTERS[side].stream_keys`): Forecast time
    registrations, tasks, the two deleted feeds, persons, projects; TimeLog work, work deletions, tasks,
    employees, projects. An incremental feed costs at least one poll. Target-side reads count only where no
    write can be made without them (the employees' initials InsertWork/UpdateWork need); lookups before a
    first create and re-reads before an update are not in the minimum (they show as the excess).
    """
    n, fp = needed, sizes.forecast_page
    tl = "ProjectManagementService"
    registrations = "GET /api/v4/time_registrations" + ("" if n.full_read else "/updated_after/{ts}")
    tasks = "GET /api/v4/tasks" + ("" if n.full_read else "/updated_after/{ts}")
    calls = {
        registrations: pages(n.forecast_registrations, fp),
        tasks: pages(n.forecast_tasks, fp),
        "GET /api/v4/time_registrations/deleted": pages(n.forecast_deleted_registrations, fp),
        "GET /api/v4/tasks/deleted": pages(n.forecast_deleted_tasks, fp),
        "GET /api/v2/persons": 1,
        "GET /api/v1/projects": 1,
        "POST /api/v1/time_registrations": n.registration_creates,
        "PUT /api/v1/time_registrations/{id}": n.registration_updates,
        # tap-timelog: one token; work rows by date on a first run, else the change log then the changed rows.
        "SecurityService.GetToken": 1 + (1 if n.work_creates or n.work_updates or n.task_creates else 0),
        "Reporting.GetWorkUnitsRawPaged": pages(n.timelog_work, sizes.timelog_work_page,
                                                at_least=1 if n.full_read else 0),
        f"{tl}.GetWorkChangeLogPaged": pages(n.timelog_deleted_work, sizes.timelog_change_log_page)
        + (0 if n.full_read else pages(n.timelog_work, sizes.timelog_change_log_page)),
        f"{tl}.GetTasksModifiedInPeriodPaged": pages(n.timelog_tasks, sizes.timelog_change_log_page),
        "Reporting.GetTasksRaw": 1,
        "Reporting.GetEmployeesRaw": 1,
        "Reporting.GetProjectsRaw": 1,
        "OrganisationService.GetEmployeesPaged": pages(n.timelog_employees, sizes.timelog_employees_page)
        * (2 if n.work_creates or n.work_updates else 1),
        f"{tl}.InsertWork": math.ceil(n.work_creates / sizes.work_batch),
        f"{tl}.UpdateWork": math.ceil(n.work_updates / sizes.work_batch),
        f"{tl}.CreateTask": n.task_creates,
        f"{tl}.CreateSubTask": n.sub_task_creates,
        f"{tl}.AddEmployeeToTask": n.allocations,
    }
    if n.wsdls:
        calls |= dict.fromkeys(("SecurityService.wsdl", f"{tl}.wsdl", "OrganisationService.wsdl", "Reporting.wsdl"),
                               1)
    return {operation: count for operation, count in calls.items() if count}


# -- running meltano ---------------------------------------------------------------------------------------

@dataclass
class Run:
    """One measured `meltano run`."""

    scenario: str
    returncode: int
    seconds: float
    calls: dict[str, int]
    minimum: dict[str, int]
    peak_rss: dict[str, int]
    load: str
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)
    #: CPU seconds per role (as PeakRss saw them), and `sandbox` for both simulators (one process).
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        """Requests to both simulators."""
        return sum(self.calls.values())

    @property
    def total_minimum(self) -> int:
        """The minimum for both simulators."""
        return sum(self.minimum.values())


def python_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with bytecode written to (and read from) the benchmark's own PYCACHE, never into the checkout
    (unchanged under BENCH_BYTECODE=installed)."""
    if BYTECODE_AS_INSTALLED:
        return env
    env = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(PYCACHE)}


def warm_up() -> None:
    """Compile every plugin's modules into PYCACHE (`--about` imports the plugin), so no measured run pays it."""
    PYCACHE.mkdir(parents=True, exist_ok=True)
    for name in ("tap-forecast", "tap-timelog", "timesync-reconcile", "target-timelog", "target-forecast"):
        kind = {"tap": "extractors", "tar": "loaders", "tim": "mappers"}[name[:3]]
        executable = REPO_ROOT / ".meltano" / kind / name / "venv" / "bin" / name
        subprocess.run([str(executable), "--about"], env=python_env(dict(os.environ)), capture_output=True,
                       check=False, timeout=300)


def run_meltano(project: IsolatedMeltano, extra_env: dict[str, str], log: Path, *args: str) -> tuple[int, float,
                                                                                                      PeakRss]:
    """`meltano ARGS` in the repo's project, isolated; returns (exit code, seconds, peak RSS and CPU per role)."""
    env = python_env(project.env() | extra_env)
    with log.open("w") as out:
        started = time.perf_counter()
        process = subprocess.Popen([MELTANO, *args], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        with PeakRss(psutil.Process(process.pid), role_by_executable(ROLES)) as rss:
            returncode = process.wait(timeout=RUN_TIMEOUT_SECONDS)
        seconds = time.perf_counter() - started
    return returncode, seconds, rss


def _stats(sandbox: SandboxProcess) -> dict[str, int]:
    return {**sandbox.forecast.stats()["requests"], **sandbox.timelog.stats()["requests"]}


def _clear(sandbox: SandboxProcess) -> None:
    sandbox.forecast.clear_stats()
    sandbox.timelog.clear_stats()


def _latency(sandbox: SandboxProcess, latency_ms: int) -> None:
    for control in (sandbox.forecast, sandbox.timelog):
        control.faults(latency_ms=latency_ms) if latency_ms else control.faults()


# -- edits through the real APIs ------------------------------------------------------------------------------

def _unlocked(entry: dict, locks: list[dict]) -> bool:
    return not any(lock["person"] == entry["person"] and lock["from"] <= entry["date"] <= lock["to"]
                   for lock in locks)


def editable(scope: Scope, forecast: dict, timelog: dict) -> tuple[list[dict], list[dict]]:
    """The in-scope Forecast registrations outside locked periods and the in-scope, unapproved TimeLog units, as
    `forecast` and `timelog` hold them, the most recent first: what a person could still edit."""
    live_f = {r["id"]: r for r in forecast["time_registrations"]}
    entries = sorted((live_f[e["id"]] for e in scope.forecast_entries
                      if e["id"] in live_f and _unlocked(live_f[e["id"]], forecast["locked_periods"])),
                     key=lambda e: (e["date"], e["id"]), reverse=True)
    live_t = {u["guid"]: u for u in timelog["work_units"]}
    units = sorted((live_t[u["guid"]] for u in scope.timelog_units
                    if u["guid"] in live_t and not live_t[u["guid"]].get("approved_status")),
                   key=lambda u: (u["start_at"], u["guid"]), reverse=True)
    return entries, units


def edit_one_percent(sandbox: SandboxProcess, scope: Scope, forecast: dict,
                     timelog: dict) -> tuple[int, int, int]:
    """Edit 1% of the registrations on each side through the APIs.

    Returns the Forecast and TimeLog edit counts and the lease re-reads of invariant 4 they call for: one
    GetEmployeeWork per person of the Forecast edits (their TimeLog twins, before UpdateWork), one v3 read per
    employee of the TimeLog edits (their Forecast twins, before the PUTs).

    The edits are the most recent in-scope, unlocked registrations (people correct the last weeks, not 2022),
    so each side's change feed finds them in a few recent days.
    """
    count = max(1, math.ceil(len(forecast["time_registrations"]) * CHANGED_SHARE))
    entries, units = editable(scope, forecast, timelog)
    entries, units = entries[:count], units[:count]
    forecast_editor, timelog_editor = ForecastEditor(sandbox.forecast_url), TimeLogEditor(sandbox.timelog_url)
    for entry in entries:
        forecast_editor.update_registration(entry["id"], time_registered=entry["time_registered"] + 15,
                                            notes=f"{entry.get('notes') or ''} (bench edit)".strip())
    initials = {e["employee_id"]: e["initials"] for e in timelog["employees"]}
    for unit in units:
        timelog_editor.update_work(unit["guid"], initials=initials[unit["employee_id"]], task_id=unit["task_id"],
                                   date=unit["start_at"][:10], minutes=unit["minutes"] + 15,
                                   note=f"{unit.get('description') or ''} (bench edit)".strip())
    lease_reads = len({entry["person"] for entry in entries}) + len({unit["employee_id"] for unit in units})
    return len(entries), len(units), lease_reads


# -- one series -------------------------------------------------------------------------------------------------

@dataclass
class Series:
    """Every scenario at one size and latency."""

    registrations: int
    latency_ms: int
    runs: list[Run] = field(default_factory=list)
    throughput: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def label(self) -> str:
        """`50k/side, 20 ms`."""
        size = f"{self.registrations // 1000}k" if self.registrations >= 1000 else str(self.registrations)
        return f"{size}/side, {self.latency_ms} ms"

    def run(self, scenario: str) -> Run | None:
        """The run of a scenario, if it was measured."""
        return next((r for r in self.runs if r.scenario == scenario), None)


def _write_tap_config(path: Path, sandbox: SandboxProcess, sizes: Sizes) -> dict[str, Path]:
    forecast = path / "tap-forecast.json"
    forecast.write_text(json.dumps({"api_key": credentials.FORECAST_API_KEY, "base_url": sandbox.forecast_url,
                                    "page_size": sizes.forecast_page}))
    timelog = path / "tap-timelog.json"
    timelog.write_text(json.dumps({
        "domain": sandbox.timelog_url, "account": credentials.TIMELOG_ACCOUNT,
        "username": credentials.TIMELOG_USERNAME, "password": credentials.TIMELOG_PASSWORD,
        "site_code": credentials.TIMELOG_SITE_CODE, "reporting_username": credentials.TIMELOG_REPORTING_USERNAME,
        "reporting_password": credentials.TIMELOG_REPORTING_PASSWORD, "site_timezone": "UTC",
    }))
    return {"tap-forecast": forecast, "tap-timelog": timelog}


def capture_taps(sandbox: SandboxProcess, scratch: Path, sizes: Sizes, env: dict[str, str]) -> dict[str, Path]:
    """Each tap's full Singer output, run as Meltano runs it (the plugin's own venv), before any sync."""
    configs = _write_tap_config(scratch, sandbox, sizes)
    captured = {}
    for tap, config in configs.items():
        output = scratch / f"{tap}.singer"
        with output.open("wb") as out:
            subprocess.run([str(PLUGIN_BIN[tap]), "--config", str(config)], stdout=out, stderr=subprocess.DEVNULL,
                           env=python_env({**os.environ, **env}), check=True, timeout=RUN_TIMEOUT_SECONDS)
        captured[tap] = output
    return captured


_RECORD_LINE = (b'{"type":"RECORD"', b'{"type": "RECORD"')


def _time_mapper(stream: Path, ledger: Path | None, links: Path, scratch: Path, name: str) -> dict[str, Any]:
    """One `timesync-reconcile` process on `stream`, against a fresh copy of `ledger` (None: empty)."""
    copy = scratch / f"ledger-{name}.db"
    copy.unlink(missing_ok=True)
    if ledger is not None:
        shutil.copy(ledger, copy)
    config = scratch / f"reconcile-{name}.json"
    config.write_text(json.dumps({"ledger_url": f"sqlite:///{copy}", "links_path": str(links)}))
    output = scratch / "reconcile.out"
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with stream.open("rb") as source, output.open("wb") as sink:
        process = subprocess.Popen([str(PLUGIN_BIN["timesync-reconcile"]), "--config", str(config)],
                                   stdin=source, stdout=sink, stderr=subprocess.DEVNULL,
                                   env=python_env(dict(os.environ)))
        with PeakRss(psutil.Process(process.pid), lambda _p: "mapper") as rss:
            returncode = process.wait(timeout=RUN_TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    # CPU time of the mapper (the only child reaped meanwhile): on a shared machine it varies far less than wall.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)
    commands = sum(1 for line in output.open("rb") if b'"RECORD"' in line[:20])
    return {"seconds": seconds, "cpu_seconds": cpu, "returncode": returncode, "peak_rss": rss.peaks.get("mapper", 0),
            "commands": commands}


def reconcile_throughput(captured: dict[str, Path], ledger: Path | None, links: Path, scratch: Path,
                         label: str) -> list[dict[str, Any]]:
    """Time `timesync-reconcile` alone on each captured stream, against a copy of `ledger` (None: empty).

    The step alone is the run minus the same process on the same stream without its RECORD messages (SCHEMA and
    STATE kept, same ledger): interpreter start-up, imports, opening the ledger, recording an empty run and exiting
    take 1-2 s whatever the input, which alone would cap 5k records at a few thousand per second. Both figures are
    kept: `seconds` with start-up, `startup_seconds` without records. Each is the median of REPEATS runs.
    """
    results = []
    for tap, stream in captured.items():
        records = sum(1 for line in stream.open("rb") if line.startswith(_RECORD_LINE))
        no_records = scratch / f"{tap}.no-records.singer"
        with stream.open("rb") as source, no_records.open("wb") as sink:
            sink.writelines(line for line in source if not line.startswith(_RECORD_LINE))
        runs, startups = [], []
        for _ in range(max(1, REPEATS)):
            startups.append(_time_mapper(no_records, ledger, links, scratch, f"{label}-{tap}-no-records"))
            runs.append(_time_mapper(stream, ledger, links, scratch, f"{label}-{tap}"))
        run = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        results.append({"input": tap, "ledger": label, "records": records, "commands": run["commands"],
                        "seconds": run["seconds"], "startup_seconds": statistics.median(r["seconds"] for r in startups),
                        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
                        "startup_cpu_seconds": statistics.median(r["cpu_seconds"] for r in startups),
                        "returncode": run["returncode"], "peak_rss": max(r["peak_rss"] for r in runs), "load": load()})
    return results


#: A wall-time difference under this is within the start-up's run-to-run spread on a shared machine.
STEP_NOISE_FLOOR_SECONDS = 0.2


def throughput_rows(label: str, result: dict[str, Any]) -> list[tuple[str, ...]]:
    """The reconcile-alone rows of one measurement: the step alone (the target), then with start-up."""
    what = (f"{result['input']} stream, {result['ledger']} ledger: {result['records']:,} records → "
            f"{result['commands']:,} commands, peak RSS {_mb(result['peak_rss'])}")
    status = "" if result.get("returncode", 0) == 0 else f" EXIT {result['returncode']}"
    rows = []
    startup = result.get("startup_seconds")  # absent in results saved before it was measured
    if startup is not None:
        step = result["seconds"] - startup
        cpu_step = max(result["cpu_seconds"] - result["startup_cpu_seconds"], 1e-3)
        cpu_rate = result["records"] / cpu_step
        # On a busy machine the run without records can take as long as the run with them: a wall-time difference
        # that small is noise, so the CPU-time difference (which the load does not inflate) is judged instead.
        noisy = step < STEP_NOISE_FLOOR_SECONDS
        rate = cpu_rate if noisy else result["records"] / step
        wall = ("wall-time difference below noise, judged by CPU time" if noisy else
                f"{result['records'] / step:,.0f} rec/s by wall time")
        rows.append((label, "reconcile alone", f"{what}; step alone = run minus the same run without records"
                     f"{status}", f"{rate:,.0f} rec/s ({wall}: {result['seconds']:.2f} s - {startup:.2f} s; "
                     f"by CPU time {cpu_rate:,.0f} rec/s)",
                     "", "", f"≥ {TARGET_RECONCILE_RECORDS_PER_SECOND:,} rec/s",
                     verdict(rate, TARGET_RECONCILE_RECORDS_PER_SECOND, at_most=False), result["load"]))
    rate = result["records"] / result["seconds"]
    rows.append((label, "reconcile alone", f"{what}; whole process, start-up included{status}",
                 f"{rate:,.0f} rec/s ({result['seconds']:.2f} s)", "", "",
                 "(diagnostic)" if startup is not None else f"≥ {TARGET_RECONCILE_RECORDS_PER_SECOND:,} rec/s",
                 "" if startup is not None else verdict(rate, TARGET_RECONCILE_RECORDS_PER_SECOND, at_most=False),
                 result["load"]))
    return rows


def run_series(registrations: int, latency_ms: int, sizes: Sizes, *, measure_reconcile: bool) -> Series:
    """Generate a sandbox, then backfill, settle, no change (REPEATS times) and 1% changed, each measured."""
    series = Series(registrations, latency_ms)
    print(f"[bench/sync] {series.label}: generating the sandbox", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-sync-{registrations}-{latency_ms}ms-"))
    try:
        _run_series(series, scratch, sizes, measure_reconcile=measure_reconcile)
    except (OSError, RuntimeError, subprocess.SubprocessError, requests.RequestException) as exc:
        # A sandbox killed from outside (the checkout is shared) must not lose the scenarios already measured.
        series.error = f"{type(exc).__name__}: {exc}"[:300]
        print(f"[bench/sync] {series.label}: stopped early: {series.error}", flush=True)
    finally:
        if KEEP:
            print(f"[bench/sync] {series.label}: logs kept in {scratch}", flush=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return series


def _run_series(series: Series, scratch: Path, sizes: Sizes, *, measure_reconcile: bool) -> None:
    registrations, latency_ms = series.registrations, series.latency_ms
    with SandboxProcess(data=f"generate:registrations={registrations},seed={SEED}") as sandbox:
        links = bench_links()
        links_path = scratch / "links.yml"
        links_path.write_text(yaml.safe_dump(links, sort_keys=False), encoding="utf-8")
        project = IsolatedMeltano(scratch / "project", sandbox_plugin_env(sandbox.forecast_url, sandbox.timelog_url),
                                  links_path=links_path)
        env = {"TIMESYNC_CACHE_DIR": str(scratch / "cache")}
        forecast, timelog = sandbox.forecast.state(), sandbox.timelog.state()
        scope = scope_of(forecast, timelog, links)
        captured = capture_taps(sandbox, scratch, sizes, {"TIMESYNC_CACHE_DIR": str(scratch / "capture-cache")}) \
            if measure_reconcile else {}
        forecast_last_read: dict | None = None  # Forecast as tap-forecast last read it
        timelog_last_read: dict | None = None   # TimeLog as tap-timelog last read it (after target-timelog wrote)

        def measure(scenario: str, needed_writes: dict[str, int]) -> Run:
            nonlocal forecast_last_read, timelog_last_read
            forecast_now = sandbox.forecast.state()
            log = scratch / f"{scenario.replace(' ', '-').replace('%', 'pct')}.log"
            retries = 0
            while True:
                _clear(sandbox)
                _latency(sandbox, latency_ms)
                load_before = load()
                simulators = psutil.Process(sandbox.process.pid)
                simulators_cpu = cpu_seconds(simulators)
                returncode, seconds, sampled = run_meltano(project, env, log, "run", "--state-id-suffix", "bench",
                                                           "sync")
                cpu = sampled.cpu | {"sandbox": cpu_seconds(simulators) - simulators_cpu}
                _latency(sandbox, 0)
                if returncode == 0 or retries >= MAX_RETRIES or SHARED_RUN_DIR_RACE not in log.read_text():
                    break
                retries += 1
                print(f"[bench/sync] {series.label} {scenario}: another meltano in this checkout removed "
                      f"{SHARED_RUN_DIR_RACE!r} (shared .meltano/run); retrying", flush=True)
            calls = _stats(sandbox)
            timelog_now = sandbox.timelog.state()
            previous_f, previous_t = forecast_last_read, timelog_last_read
            needed = Needed(
                full_read=previous_f is None,
                forecast_registrations=_changed(previous_f and previous_f["time_registrations"],
                                                forecast_now["time_registrations"], "id", "updated_at"),
                forecast_tasks=_changed(previous_f and previous_f["tasks"], forecast_now["tasks"], "id",
                                        "updated_at"),
                forecast_deleted_registrations=_changed(previous_f and previous_f["deleted_time_registrations"],
                                                        forecast_now["deleted_time_registrations"], "id", "id"),
                forecast_deleted_tasks=_changed(previous_f and previous_f["deleted_tasks"],
                                                forecast_now["deleted_tasks"], "id", "id"),
                timelog_work=_changed(previous_t and previous_t["work_units"], timelog_now["work_units"], "guid",
                                      "modified_at"),
                timelog_tasks=_changed(previous_t and previous_t["tasks"], timelog_now["tasks"], "task_id",
                                       "modified_at"),
                timelog_deleted_work=_changed(
                    previous_t and [c for c in previous_t["change_log"] if c["action"] == "Deleted"],
                    [c for c in timelog_now["change_log"] if c["action"] == "Deleted"], "work_guid", "at"),
                timelog_employees=len(timelog_now["employees"]),
                wsdls=previous_t is None,
                **needed_writes,
            )
            forecast_last_read, timelog_last_read = forecast_now, timelog_now
            run = Run(scenario, returncode, seconds, calls, minimum_calls(needed, sizes), sampled.peaks, load_before,
                      log, cpu_seconds=cpu)
            run.extra["retries"] = retries
            run.extra["landed"] = {
                "work units": len(timelog_now["work_units"]) - len(timelog["work_units"]),
                "registrations": len(sandbox.forecast.state()["time_registrations"])
                - len(forecast["time_registrations"]),
            }
            if returncode != 0:
                print(f"[bench/sync] {series.label} {scenario}: meltano exited {returncode}; see the tail of its "
                      f"log:\n{textwrap.indent(log.read_text()[-3000:], '    ')}", flush=True)
            print(f"[bench/sync] {series.label} {scenario}: {seconds:.1f} s, {run.total_calls} calls "
                  f"(minimum {run.total_minimum}), load {load_before}", flush=True)
            series.runs.append(run)
            return run

        measure("backfill", {
            "work_creates": len(scope.forecast_entries), "task_creates": scope.tasks + scope.project_time_tasks,
            "sub_task_creates": scope.sub_tasks, "allocations": scope.allocations,
            "registration_creates": len(scope.timelog_units),
        })
        measure("settle", {})
        if measure_reconcile:
            ledger = Path(project.ledger_url.removeprefix("sqlite:///"))
            series.throughput += reconcile_throughput(captured, None, links_path, scratch, "empty")
            series.throughput += reconcile_throughput(captured, ledger, links_path, scratch, "synced")
        repeats = [measure("no change", {}) for _ in range(max(1, REPEATS))]
        median = statistics.median(r.seconds for r in repeats)
        repeats[0].extra["median_seconds"] = median
        repeats[0].extra["all_seconds"] = [round(r.seconds, 2) for r in repeats]
        for extra in repeats[1:]:
            series.runs.remove(extra)
        edited_f, edited_t, lease_reads = edit_one_percent(sandbox, scope, forecast, sandbox.timelog.state())
        run = measure("1% changed", {"work_updates": edited_f, "registration_updates": edited_t})
        run.extra["edits"] = {"forecast": edited_f, "timelog": edited_t}
        # Invariant 4 re-reads each twin right before writing, batched per person on both sides (see
        # edit_one_percent). Not in the minimum; shown beside it.
        run.extra["lease_rereads"] = lease_reads


# -- the baseline ----------------------------------------------------------------------------------------------

TRIVIAL_TAP = '''#!{python}
"""A trivial singer-sdk tap: one stream of ten records."""
from singer_sdk import Stream, Tap
from singer_sdk import typing as th


class Items(Stream):
    name = "items"
    primary_keys = ("id",)
    schema = th.PropertiesList(th.Property("id", th.IntegerType), th.Property("name", th.StringType)).to_dict()

    def get_records(self, context):
        for i in range(10):
            yield {{"id": i, "name": f"item {{i}}"}}


class TapTrivial(Tap):
    name = "tap-trivial"
    config_jsonschema = th.PropertiesList().to_dict()

    def discover_streams(self):
        return [Items(self)]


TapTrivial.cli()
'''

TRIVIAL_TARGET = '''#!{python}
"""A trivial singer-sdk target: records are accepted and dropped."""
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.sinks import RecordSink


class Drop(RecordSink):
    def process_record(self, record, context):
        pass


class TargetTrivial(Target):
    name = "target-trivial"
    config_jsonschema = th.PropertiesList().to_dict()
    default_sink_class = Drop


TargetTrivial.cli()
'''


def baseline() -> dict[str, Any]:
    """Wall time of `meltano run` for a job of two trivial tap -> target blocks, in a temporary project."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        root = Path(tmp)
        for name, source in (("tap-trivial", TRIVIAL_TAP), ("target-trivial", TRIVIAL_TARGET)):
            path = root / name
            path.write_text(source.format(python=sys.executable))
            path.chmod(0o755)
        plugin = {"capabilities": ["catalog", "discover", "state", "about"]}
        (root / "meltano.yml").write_text(yaml.safe_dump({
            "version": 1, "project_id": "bench-baseline", "default_environment": "bench",
            "send_anonymous_usage_stats": False, "environments": [{"name": "bench"}],
            "plugins": {
                "extractors": [{"name": "tap-one", "namespace": "tap_trivial", "executable": str(root / "tap-trivial"),
                                **plugin},
                               {"name": "tap-two", "inherit_from": "tap-one"}],
                "loaders": [{"name": "target-one", "namespace": "target_trivial",
                             "executable": str(root / "target-trivial"), "capabilities": ["about"]},
                            {"name": "target-two", "inherit_from": "target-one"}],
            },
            "jobs": [{"name": "two", "tasks": ["tap-one target-one", "tap-two target-two"]}],
        }, sort_keys=False))
        env = python_env({**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                          "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
                          "MELTANO_DATABASE_URI": f"sqlite:///{root / 'meltano.db'}"})
        seconds, loads = [], []
        for attempt in range(max(1, REPEATS) + 1):  # the first run creates the system DB: a warm-up, not counted
            loads.append(load())
            started = time.perf_counter()
            done = subprocess.run([MELTANO, "run", "two"], cwd=root, env=env, capture_output=True, text=True,
                                  check=False, timeout=600)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"baseline meltano run failed ({done.returncode}):\n{done.stderr[-3000:]}")
            if attempt:
                seconds.append(elapsed)
    return {"median": statistics.median(seconds), "all": [round(s, 2) for s in seconds], "load": loads[1]}


# -- where the wall time goes ----------------------------------------------------------------------------------

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z")
_MARKS = {
    "start": re.compile(r"meltano +Running job with name"),
    "read": re.compile(r"Reader 'timesync-reconcile' completed"),
    "plan": re.compile(r"timesync-reconcile run \d+ \w+ \("),
    "end": re.compile(r"meltano +Block run completed"),
}


def phases(log: Path) -> str:
    """Per block of `meltano run sync`, from its log: start-up and tap read, reconcile, target write (seconds)."""
    if not log.exists():
        return ""
    blocks: list[dict[str, float]] = []
    for line in log.read_text(errors="replace").splitlines():
        stamp = _STAMP.match(line)
        if not stamp:
            continue
        seconds = dt.datetime.fromisoformat(stamp.group(1)).timestamp()
        for mark, pattern in _MARKS.items():
            if pattern.search(line):
                if mark == "start":
                    blocks.append({})
                if blocks:
                    blocks[-1].setdefault(mark, seconds)
    parts = []
    for block in blocks:
        if {"start", "read", "plan", "end"} <= set(block):
            parts.append(f"start+read {block['read'] - block['start']:.1f} s, reconcile "
                         f"{block['plan'] - block['read']:.1f} s, write+state {block['end'] - block['plan']:.1f} s")
    return " | ".join(parts)


# -- the table ------------------------------------------------------------------------------------------------

HEADER = ("series", "scenario", "figure", "measured", "reference", "ratio", "target", "vs target", "load")


def _mb(value: int) -> str:
    return f"{value / MIB:.0f} MB"


def rows_for(series: list[Series], base: dict[str, Any], sizes: Sizes, *, detail: bool) -> list[tuple[str, ...]]:
    """The table: per series and scenario, then the cross-series targets. `detail`: every operation."""
    rows: list[tuple[str, ...]] = []
    for s in series:
        for run in s.runs:
            wall = run.extra.get("median_seconds", run.seconds)
            note = f" (median of {run.extra['all_seconds']})" if "all_seconds" in run.extra else ""
            note += f" [taken {run.extra['taken_at']}]" if "taken_at" in run.extra else ""
            note += f" [retried {run.extra['retries']}x: shared .meltano/run race]" if run.extra.get("retries") else ""
            note += f" [{run.extra['note']}]" if run.extra.get("note") else ""
            status = "" if run.returncode == 0 else f" EXIT {run.returncode}"
            rows.append((s.label, run.scenario, "wall time" + status, f"{wall:.1f} s{note}", "", "", "", "",
                         run.load))
            where = phases(run.log)
            if where:
                rows.append((s.label, run.scenario, "  phases: block 1 | block 2", where, "", "", "", "", ""))
            calls_ratio = ratio(run.total_calls, run.total_minimum)
            rows.append((s.label, run.scenario, "API calls, total", f"{run.total_calls:,}",
                         f"min {run.total_minimum:,}", f"{calls_ratio:.2f}x", f"≤ {TARGET_CALL_RATIO}x min",
                         verdict(calls_ratio, TARGET_CALL_RATIO), run.load))
            if run.extra.get("lease_rereads"):
                floor = run.total_minimum + run.extra["lease_rereads"]
                rows.append((s.label, run.scenario, "API calls ÷ (minimum + lease re-reads of invariant 4)",
                             f"{run.total_calls:,}", f"{run.total_minimum:,} + {run.extra['lease_rereads']:,}",
                             f"{ratio(run.total_calls, floor):.2f}x", "(diagnostic)", "", run.load))
            for operation in sorted(set(run.calls) | set(run.minimum)):
                calls, needed = run.calls.get(operation, 0), run.minimum.get(operation, 0)
                if detail or calls != needed:
                    rows.append((s.label, run.scenario, f"  {operation}", f"{calls:,}", f"min {needed:,}",
                                 f"{ratio(calls, needed):.2f}x" if needed else "(not needed)", "", "", ""))
            for role in ROLES:
                if role in run.peak_rss:
                    target = f"≤ {_mb(TARGET_RSS_BYTES)}" if role != "meltano" else "(Meltano itself)"
                    rows.append((s.label, run.scenario, f"peak RSS {role}", _mb(run.peak_rss[role]), "", "",
                                 target, verdict(run.peak_rss[role], TARGET_RSS_BYTES) if role != "meltano" else "",
                                 run.load))
            for role in (*ROLES, "sandbox"):
                if role in run.cpu_seconds:
                    rows.append((s.label, run.scenario, f"CPU s {role}", f"{run.cpu_seconds[role]:.1f} s", "", "",
                                 "(diagnostic)", "", run.load))
        if s.error:
            rows.append((s.label, "(stopped)", "the series stopped early", s.error, "", "", "", "", ""))
    rows += _summary_rows(series, base, sizes)
    return rows


def _summary_rows(series: list[Series], base: dict[str, Any], sizes: Sizes) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    rows.append(("machine", "baseline", "meltano run: 2 trivial tap→target blocks",
                 f"{base['median']:.1f} s (median of {base['all']})", "", "", "", "", base["load"]))
    for s in series:
        quiet = s.run("no change")
        if quiet:
            wall = quiet.extra.get("median_seconds", quiet.seconds)
            rows.append((s.label, "no change", "wall ÷ baseline", f"{wall:.1f} s", f"{base['median']:.1f} s",
                         f"{wall / base['median']:.2f}x", f"≤ {TARGET_BASELINE_RATIO}x",
                         verdict(wall / base["median"], TARGET_BASELINE_RATIO), quiet.load))
        backfill = s.run("backfill")
        if backfill and s.latency_ms:
            bound = backfill.total_minimum / sizes.max_concurrency * s.latency_ms / 1000
            rows.append((s.label, "backfill", f"wall ÷ (min calls {backfill.total_minimum:,} ÷ "
                         f"{sizes.max_concurrency} x {s.latency_ms} ms)", f"{backfill.seconds:.1f} s",
                         f"{bound:.1f} s", f"{backfill.seconds / bound:.2f}x", f"≤ {TARGET_LATENCY_BOUND_RATIO}x",
                         verdict(backfill.seconds / bound, TARGET_LATENCY_BOUND_RATIO), backfill.load))
            zero = next((o.run("backfill") for o in series
                         if o.registrations == s.registrations and o.latency_ms == 0 and o.run("backfill")), None)
            if zero:
                added = backfill.seconds - zero.seconds
                rows.append((s.label, "backfill", "wall added by latency ÷ the same bound", f"{added:.1f} s",
                             f"{bound:.1f} s", f"{added / bound:.2f}x", "(diagnostic)", "", backfill.load))
        for result in s.throughput:
            rows += throughput_rows(s.label, result)
    small = next((s for s in series if s.registrations == SMALL_SIZE and s.latency_ms == 0), None)
    large = next((s for s in series if s.registrations == SIZE and s.latency_ms == 0), None)
    if small and large and small is not large:
        for role in ROLES[:-1]:
            low = max((r.peak_rss.get(role, 0) for r in small.runs), default=0)
            high = max((r.peak_rss.get(role, 0) for r in large.runs), default=0)
            if low and high:
                growth = high / low
                rows.append(("flatness", f"{small.label} → {large.label}", f"peak RSS {role} (max over scenarios)",
                             f"{_mb(low)} → {_mb(high)}", f"x{large.registrations / small.registrations:.0f} data",
                             f"{growth:.2f}x", f"≤ {TARGET_RSS_GROWTH}x (flat)",
                             verdict(growth, TARGET_RSS_GROWTH), ""))
    return rows


def markdown(rows: list[tuple[str, ...]]) -> str:
    """The rows as one Markdown table."""
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(table: str, detail: str, sizes: Sizes, base: dict[str, Any]) -> None:
    """Replace this benchmark's section of bench/RESULTS.md (the rest of the file is kept)."""
    info = machine()
    section = "\n".join([
        BEGIN,
        "## Whole sync (`bench/sync.py`)",
        "",
        f"- Date: {info['date']}; machine: {info['cores']}, {info['ram']} RAM, {info['cpu']}; Python "
        f"{info['python']}; {info['os']}.",
        f"- Sizes: {SIZE:,} registrations per side (BENCH_REGISTRATIONS), {SMALL_SIZE:,} for the memory check; "
        f"latencies {', '.join(f'{ms} ms' for ms in LATENCIES_MS)}; BENCH_REPEATS={REPEATS} (runs of the no-change "
        "scenario and of the baseline; the median counts). Rows marked [taken …] come from an earlier process "
        "(BENCH_ONLY).",
        f"- From the plugins: Forecast page {sizes.forecast_page}, TimeLog work page {sizes.timelog_work_page}, "
        f"change-log page {sizes.timelog_change_log_page}, employees page {sizes.timelog_employees_page}, "
        f"InsertWork/UpdateWork batch {sizes.work_batch}, target-forecast max_concurrency "
        f"{sizes.max_concurrency}.",
        f"- Baseline: {base['median']:.1f} s for `meltano run` of two trivial singer-sdk tap→target blocks.",
        "- The load column is the 1-minute load average when the figure was taken (the machine is shared).",
        "",
        table,
        "",
        "<details><summary>Every operation, every scenario</summary>",
        "",
        detail,
        "",
        "</details>",
        END,
    ])
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")


def _save(series: Series) -> None:
    SAVED.mkdir(parents=True, exist_ok=True)
    data = asdict(series) | {"taken_at": machine()["date"]}
    (SAVED / f"{series.registrations}-{series.latency_ms}ms.json").write_text(json.dumps(data, default=str))


def _load(registrations: int, latency_ms: int) -> Series | None:
    path = SAVED / f"{registrations}-{latency_ms}ms.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    runs = [Run(**(run | {"log": Path(run["log"])})) for run in data.pop("runs")]
    taken_at = data.pop("taken_at")
    series = Series(**(data | {"runs": runs}))
    for run in series.runs:
        run.extra["taken_at"] = taken_at
    return series


def main() -> None:
    """Measure every series and the baseline, print one table, update bench/RESULTS.md.

    BENCH_ONLY="50000:20,5000:0" measures only those series and takes the others from their last saved results
    (bench/out/sync/, marked with the time they were taken): a long run can be split while the machine is busy.
    """
    sizes = Sizes.from_plugins()
    plan = [(SIZE, latency) for latency in LATENCIES_MS]
    if SMALL_SIZE and SMALL_SIZE != SIZE:
        plan.insert(0, (SMALL_SIZE, 0))
    only = {tuple(int(v) for v in item.split(":")) for item in os.environ.get("BENCH_ONLY", "").split(",") if item}
    warm_up()
    base = baseline()
    if WARM_UP_REGISTRATIONS:
        run_series(WARM_UP_REGISTRATIONS, 0, sizes, measure_reconcile=False)  # not reported
    series = []
    for registrations, latency in plan:
        if only and (registrations, latency) not in only:
            saved = _load(registrations, latency)
            if saved is not None:
                print(f"[bench/sync] {saved.label}: saved results of {saved.runs[0].extra['taken_at']}", flush=True)
                series.append(saved)
            continue
        measure_reconcile = registrations == RECONCILE_SIZE and latency == 0
        series.append(run_series(registrations, latency, sizes, measure_reconcile=measure_reconcile))
        _save(series[-1])
    table = markdown(rows_for(series, base, sizes, detail=False))
    print(table)
    write_results(table, markdown(rows_for(series, base, sizes, detail=True)), sizes, base)
    print(f"\n(written to {RESULTS.relative_to(REPO_ROOT)})")


if __name__ == "__main__":
    main()
