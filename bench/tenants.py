"""Many tenants on Dagster (issue 20): BENCH_TENANTS company pairs (default 20), each its own generated sandbox
pair with BENCH_TENANT_REGISTRATIONS registrations per side (default 2,000), all run through a real Dagster
deployment of orchestrate/ (`sandbox.orchestrator.DagsterDeployment`: daemon + webserver, PostgreSQL storage,
the QueuedRunCoordinator with one run per tenant and MAX_CONCURRENT_RUNS at once).

Set up as tests/e2e/test_dagster_tenants.py does: a tenants.yml whose entries name `_env` variables, a links file
per tenant (`bench_links()`: every project and person linked, no flood guard), each tenant's ledger its own
PostgreSQL database, Meltano's system database one shared PostgreSQL database, Dagster's storage another;
`timesync tenants check` and `prepare`, then the deployment.

Two rounds, each launching every tenant's job at once through the webserver's GraphQL and waiting for all:

- round 1: every tenant's first sync (the backfill), the one-off cost of onboarding a company pair;
- round 2: nothing changed since, what every 15-minute slot costs in steady state.

Per round: wall time from the first launch to the last run's end; per-run durations (Dagster's endTime -
startTime) p50/p95/max; every run must succeed. While a round runs a thread samples, every 0.5 s, the summed
RSS of the deployment's process tree (daemon, webserver, their code servers, every run process and the
`meltano run` and plugin processes under it) and the CPU (user + system) each process of that tree has used.
Peak RSS per concurrent run = (peak tree RSS - the idle tree's RSS) / MAX_CONCURRENT_RUNS.

CPU per run = the CPU seconds the whole tree used during the round / the number of runs. It is summed per process
as last seen by the sampler, so up to one sample interval at the end of each process that exits is missed (and a
process living under 0.5 s may be missed entirely): a slight undercount. The sandboxes (the simulated Forecast
and TimeLog) and PostgreSQL are not in the tree; the machine-wide CPU delta (/proc/stat, which also counts them
and anything else on the shared machine) is reported next to it as an upper bound.

Then a paper estimate for ESTIMATE_TENANTS tenants, each synced once per WINDOW_SECONDS, from round 2's figures:
cores for CPU = ESTIMATE_TENANTS x CPU s per run / (WINDOW_SECONDS x MAX_UTILIZATION); run slots =
ESTIMATE_TENANTS x p95 run wall time / WINDOW_SECONDS; memory = slots x peak RSS per concurrent run.

Settings (environment): TIMESYNC_TEST_POSTGRES_URL (required: a PostgreSQL server where databases may be created
and dropped, e.g. postgresql+psycopg://postgres@127.0.0.1:55432/timesync_test), BENCH_TENANTS (default 20),
BENCH_TENANT_REGISTRATIONS (default 2000), BENCH_KEEP=1 keeps the scratch folder (Dagster's home and logs).

A quick run: `BENCH_TENANTS=2 BENCH_TENANT_REGISTRATIONS=200 TIMESYNC_TEST_POSTGRES_URL=... .venv/bin/python -m
bench tenants`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import yaml

from bench._measure import MIB, load, machine
from bench.sync import bench_links
from sandbox.orchestrator import DagsterDeployment, PostgresDatabases, sandbox_tenant, sandbox_tenant_env
from sandbox.pipeline import REPO_ROOT
from sandbox.testing import SandboxProcess

POSTGRES_URL = os.environ.get("TIMESYNC_TEST_POSTGRES_URL", "")
TENANTS = int(os.environ.get("BENCH_TENANTS", "20"))
REGISTRATIONS = int(os.environ.get("BENCH_TENANT_REGISTRATIONS", "2000"))
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")
#: Runs at once on this machine: one per core (README "Many company pairs"), the bench machine has 2.
MAX_CONCURRENT_RUNS = 2
#: Seed of tenant i's generated data is FIRST_SEED + i.
FIRST_SEED = 100
SAMPLE_SECONDS = 0.5
#: How long the idle deployment's RSS is sampled before round 1.
IDLE_SECONDS = 10.0
ROUND_TIMEOUT_SECONDS = 3 * 3600
# The paper estimate.
ESTIMATE_TENANTS = 1000
WINDOW_SECONDS = 900.0
MAX_UTILIZATION = 0.7

TIMESYNC = Path(sys.executable).with_name("timesync")
RESULTS = Path(__file__).with_name("RESULTS.md")
SAVED = Path(__file__).parent / "out" / "tenants.json"
BEGIN, END = "<!-- bench/tenants.py: begin (generated) -->", "<!-- bench/tenants.py: end -->"
ROUNDS = ("round 1: first sync (backfill)", "round 2: nothing changed")


# -- the tenants ---------------------------------------------------------------------------------------------

def tenant_name(number: int) -> str:
    """t01, t02, ...: a tenant name (lower case and digits) and so Dagster's job sync_t01."""
    return f"t{number:02d}"


# -- sampling the deployment's process tree -------------------------------------------------------------------

def tree(roots: list[psutil.Process]) -> list[psutil.Process]:
    """The roots and all their descendants that still exist."""
    found: list[psutil.Process] = []
    for root in roots:
        try:
            found += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, /proc/stat via psutil): all but idle and iowait."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class TreeSampler:
    """Every SAMPLE_SECONDS: the summed RSS of the tree (its peak kept) and each process's user + system CPU (the
    last value seen, per process; a process alive at the start counts from its value then)."""

    def __init__(self, roots: list[psutil.Process], interval: float = SAMPLE_SECONDS) -> None:
        self.roots, self.interval = roots, interval
        self.peak_rss = 0
        self.rss_samples: list[int] = []
        self._first: dict[tuple[int, float], float] = {}
        self._last: dict[tuple[int, float], float] = {}
        self._started_busy = 0.0
        self.machine_cpu = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)

    def __enter__(self) -> TreeSampler:
        self._started_busy = machine_busy_seconds()
        self._sample(baseline=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._sample()
        self.machine_cpu = machine_busy_seconds() - self._started_busy

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            self._sample()

    def _sample(self, *, baseline: bool = False) -> None:
        total = 0
        for process in tree(self.roots):
            try:
                with process.oneshot():
                    key = (process.pid, process.create_time())
                    times = process.cpu_times()
                    rss = process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += rss
            used = float(times.user + times.system)
            if baseline:
                self._first[key] = used
            self._last[key] = used
        self.rss_samples.append(total)
        self.peak_rss = max(self.peak_rss, total)

    @property
    def cpu(self) -> float:
        """CPU seconds the tree used since the start."""
        return sum(used - self._first.get(key, 0.0) for key, used in self._last.items())

    @property
    def processes(self) -> int:
        """Processes seen (counting those alive at the start)."""
        return len(self._last)


# -- the figures ----------------------------------------------------------------------------------------------

@dataclass
class Round:
    """One round: every tenant's run, launched at once."""

    name: str
    wall: float = 0.0
    durations: list[float] = field(default_factory=list)
    queued: list[float] = field(default_factory=list)  # launch to start, per run
    statuses: list[str] = field(default_factory=list)
    peak_rss: int = 0
    cpu: float = 0.0
    machine_cpu: float = 0.0
    processes: int = 0
    load: str = ""

    @property
    def runs(self) -> int:
        return len(self.durations)

    @property
    def cpu_per_run(self) -> float:
        return self.cpu / self.runs if self.runs else 0.0


@dataclass
class Measured:
    """Everything the table is made of."""

    tenants: int
    registrations: int
    slots: int
    idle_rss: int
    setup_seconds: float = 0.0
    rounds: list[Round] = field(default_factory=list)


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (0..1), inclusive method; the value itself for one sample."""
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(share * 100) - 1]


def rss_per_run(peak_rss: int, idle_rss: int, slots: int) -> float:
    """(peak tree RSS - the idle deployment's RSS) / concurrent runs, in bytes."""
    return max(0, peak_rss - idle_rss) / slots


@dataclass(frozen=True)
class Estimate:
    """What ESTIMATE_TENANTS tenants each synced once a window need, from one round's per-run figures."""

    tenants: int
    cpu_per_run: float
    p95_wall: float
    rss_per_run: float
    window: float = WINDOW_SECONDS
    utilization: float = MAX_UTILIZATION

    @property
    def core_seconds(self) -> float:
        return self.tenants * self.cpu_per_run

    @property
    def cores_for_cpu(self) -> int:
        return math.ceil(self.core_seconds / (self.window * self.utilization))

    @property
    def slot_seconds(self) -> float:
        return self.tenants * self.p95_wall

    @property
    def slots(self) -> int:
        return math.ceil(self.slot_seconds / self.window)

    @property
    def memory(self) -> float:
        return self.slots * self.rss_per_run

    @property
    def workers(self) -> int:
        """Cores, with one run slot per core (README): whichever of CPU and slots asks more."""
        return max(self.cores_for_cpu, self.slots)


def estimate(measured: Measured, tenants: int = ESTIMATE_TENANTS) -> Estimate:
    """The estimate from the steady-state round (the last)."""
    steady = measured.rounds[-1]
    return Estimate(tenants, steady.cpu_per_run, percentile(sorted(steady.durations), 0.95),
                    rss_per_run(steady.peak_rss, measured.idle_rss, measured.slots))


def _mb(size: float) -> str:
    return f"{size / MIB:,.0f} MB"


def rows(measured: Measured) -> list[tuple[str, ...]]:
    """(round, figure, value, how it is computed) rows."""
    table: list[tuple[str, ...]] = [
        ("setup", "idle deployment RSS", _mb(measured.idle_rss),
         f"daemon + webserver + code servers, before round 1 (median of {IDLE_SECONDS:g} s of samples)"),
    ]
    for one in measured.rounds:
        durations = sorted(one.durations)
        failed = sum(1 for status in one.statuses if status != "SUCCESS")
        per_run = rss_per_run(one.peak_rss, measured.idle_rss, measured.slots)
        table += [
            (one.name, "runs", f"{one.runs} ({failed} not SUCCESS)", f"load {one.load} at the end"),
            (one.name, "wall time, all runs", f"{one.wall:.1f} s", "first launch to the last run's end"),
            (one.name, "run duration p50 / p95 / max",
             f"{percentile(durations, 0.5):.1f} s / {percentile(durations, 0.95):.1f} s / {durations[-1]:.1f} s",
             "Dagster endTime - startTime"),
            (one.name, "queued before start, max", f"{max(one.queued):.1f} s",
             f"launch to startTime; Σ durations / {measured.slots} slots = {sum(durations) / measured.slots:.1f} s"),
            (one.name, "peak RSS, whole tree", _mb(one.peak_rss),
             f"sampled every {SAMPLE_SECONDS:g} s; {one.processes} processes seen"),
            (one.name, "peak RSS per concurrent run", _mb(per_run),
             f"({_mb(one.peak_rss)} - {_mb(measured.idle_rss)} idle) / {measured.slots}"),
            (one.name, "CPU per run", f"{one.cpu_per_run:.1f} s",
             f"tree CPU {one.cpu:.1f} s / {one.runs} runs; machine-wide {one.machine_cpu:.1f} s "
             f"({one.machine_cpu / one.runs:.1f} s per run, with the sandboxes and PostgreSQL)"),
        ]
    guess = estimate(measured)
    name = f"estimate: {guess.tenants:,} tenants / {guess.window / 60:g} min"
    table += [
        (name, "core-seconds per window", f"{guess.core_seconds:,.0f}",
         f"{guess.tenants:,} runs x {guess.cpu_per_run:.1f} CPU s (round 2)"),
        (name, "cores for CPU", f"{guess.cores_for_cpu}",
         f"⌈{guess.core_seconds:,.0f} / ({guess.window:g} s x {guess.utilization:.0%})⌉"),
        (name, "run slots", f"{guess.slots}",
         f"⌈{guess.tenants:,} x {guess.p95_wall:.1f} s p95 / {guess.window:g} s⌉ = "
         f"⌈{guess.slot_seconds / guess.window:.2f}⌉"),
        (name, "workers (cores, one run slot each)", f"{guess.workers}", "the larger of the two above"),
        (name, "memory for the runs", _mb(guess.memory),
         f"{guess.slots} slots x {_mb(guess.rss_per_run)} per concurrent run (plus the idle deployment)"),
    ]
    if len(measured.rounds) > 1:
        first = measured.rounds[0]
        core_hours = guess.tenants * first.cpu_per_run / 3600
        table.append((f"one-off: onboarding {guess.tenants:,} tenants", "backfill CPU",
                      f"{core_hours:,.1f} core-hours",
                      f"{guess.tenants:,} x {first.cpu_per_run:.1f} CPU s (round 1) / 3600; "
                      f"≈ {guess.tenants * percentile(sorted(first.durations), 0.5) / 3600:,.1f} slot-hours at p50 "
                      f"{percentile(sorted(first.durations), 0.5):.1f} s per run"))
    return table


def markdown(table: list[tuple[str, ...]]) -> str:
    header = ("round", "figure", "measured", "how")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines)


def write_results(table: str, measured: Measured) -> None:
    """Replace this benchmark's section of bench/RESULTS.md (the rest of the file is kept)."""
    info = machine()
    section = "\n".join([
        BEGIN,
        "## Many tenants on Dagster (`bench/tenants.py`)",
        "",
        f"- Date: {info['date']}; machine: {info['cores']}, {info['ram']} RAM, {info['cpu']}; Python "
        f"{info['python']}; {info['os']}.",
        f"- {measured.tenants} tenants (BENCH_TENANTS) x {measured.registrations:,} registrations per side "
        f"(BENCH_TENANT_REGISTRATIONS), each its own generated sandbox pair (seed {FIRST_SEED} + i), every project "
        f"and person linked; a real Dagster deployment (daemon + webserver, PostgreSQL storage, QueuedRunCoordinator "
        f"with one run per tenant) with max_concurrent_runs = {measured.slots} (MAX_CONCURRENT_RUNS, one per core); "
        f"each ledger its own PostgreSQL database, Meltano's system database shared. Setup (sandboxes, databases, "
        f"`timesync tenants check/prepare`, Dagster up) took {measured.setup_seconds:.0f} s.",
        "- Each round launches every tenant's job at once and waits for all. RSS and CPU: the deployment's whole "
        f"process tree (daemon, webserver, code servers, run processes, `meltano run` and its plugins), sampled every "
        f"{SAMPLE_SECONDS:g} s; CPU per run is the tree's CPU over the round / runs (a process's last "
        f"{SAMPLE_SECONDS:g} s before it exits is missed: a slight undercount); the machine-wide figure also "
        "counts the simulators, PostgreSQL and anything else on the shared machine.",
        f"- The estimate uses round 2 (steady state): at most {MAX_UTILIZATION:.0%} CPU utilization, one run per "
        f"tenant per {WINDOW_SECONDS / 60:g} minutes.",
        "",
        table,
        END,
    ])
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")


# -- running it -----------------------------------------------------------------------------------------------

def run_round(name: str, dagster: DagsterDeployment, jobs: list[str], roots: list[psutil.Process]) -> Round:
    """Launch every job at once, wait for all; fail loudly unless every run succeeded."""
    print(f"[bench/tenants] {name}: launching {len(jobs)} runs", flush=True)
    with TreeSampler(roots) as sampler:
        started = time.time()
        launched = {dagster.launch(job): time.time() for job in jobs}
        runs = dagster.wait(list(launched), timeout=ROUND_TIMEOUT_SECONDS)
        ended = max(run["endTime"] for run in runs)
    failed = [run for run in runs if run["status"] != "SUCCESS"]
    if failed:
        raise RuntimeError(f"{name}: {len(failed)} of {len(runs)} runs did not succeed: "
                           f"{[(r['jobName'], r['runId'], r['status']) for r in failed]}\n{dagster.log_tail()}")
    one = Round(name, wall=ended - started, durations=[run["endTime"] - run["startTime"] for run in runs],
                queued=[run["startTime"] - launched[run["runId"]] for run in runs],
                statuses=[run["status"] for run in runs], peak_rss=sampler.peak_rss, cpu=sampler.cpu,
                machine_cpu=sampler.machine_cpu, processes=sampler.processes, load=load())
    print(f"[bench/tenants] {name}: {one.wall:.1f} s, CPU {one.cpu:.1f} s, peak RSS {_mb(one.peak_rss)}",
          flush=True)
    return one


def idle_rss(roots: list[psutil.Process]) -> int:
    """The median summed RSS of the idle deployment over IDLE_SECONDS."""
    samples = []
    deadline = time.monotonic() + IDLE_SECONDS
    while time.monotonic() < deadline:
        total = 0
        for process in tree(roots):
            try:
                total += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        samples.append(total)
        time.sleep(SAMPLE_SECONDS)
    return int(statistics.median(samples))


def measure(scratch: Path) -> Measured:
    """Sandboxes, databases, tenants.yml, the deployment, both rounds; everything stopped and dropped after."""
    started = time.perf_counter()
    databases = PostgresDatabases(POSTGRES_URL)
    names = [tenant_name(number) for number in range(1, TENANTS + 1)]
    sandboxes: dict[str, SandboxProcess] = {}
    try:
        for index, name in enumerate(names, start=1):
            print(f"[bench/tenants] {name}: generating {REGISTRATIONS:,} registrations per side", flush=True)
            sandboxes[name] = SandboxProcess(data=f"generate:registrations={REGISTRATIONS},"
                                                  f"seed={FIRST_SEED + index}").start()
            (scratch / f"links-{name}.yml").write_text(yaml.safe_dump(bench_links(), sort_keys=False),
                                                       encoding="utf-8")
        registry = {
            "project_root": str(REPO_ROOT),
            "sys_root": "sys",
            "meltano_database_uri": databases.url(databases.create("meltano")),
            "orchestrator": {"schedule_status": "stopped", "retries": 0},
            "tenants": [sandbox_tenant(name) for name in names],
        }
        tenants_file = scratch / "tenants.yml"
        tenants_file.write_text(yaml.safe_dump(registry, sort_keys=False), encoding="utf-8")
        env: dict[str, str] = {}
        for name, sandbox in sandboxes.items():
            env |= sandbox_tenant_env(name, sandbox.forecast_url, str(sandbox.timelog_url),
                                      databases.url(databases.create(name)))
        for command in ("check", "prepare"):
            done = subprocess.run([str(TIMESYNC), "tenants", command, "--file", str(tenants_file)],
                                  env=os.environ | env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"timesync tenants {command}: {done.stdout[-3000:]}{done.stderr[-3000:]}")
        dagster = DagsterDeployment(scratch / "dagster-home", tenants_file,
                                    databases.url(databases.create("dagster"), driver="psycopg2"), env=env,
                                    max_concurrent_runs=MAX_CONCURRENT_RUNS)
        with dagster:
            roots = [psutil.Process(process.pid) for process in dagster.processes]
            time.sleep(IDLE_SECONDS)  # let the daemon start its code server and settle
            measured = Measured(TENANTS, REGISTRATIONS, MAX_CONCURRENT_RUNS, idle_rss(roots),
                                setup_seconds=time.perf_counter() - started)
            print(f"[bench/tenants] set up in {measured.setup_seconds:.0f} s; idle deployment "
                  f"{_mb(measured.idle_rss)}", flush=True)
            jobs = [f"sync_{name}" for name in names]
            for name in ROUNDS:
                measured.rounds.append(run_round(name, dagster, jobs, roots))
        return measured
    finally:
        for sandbox in sandboxes.values():
            sandbox.stop()
        databases.close()


def main() -> None:
    """Measure, print the table, update bench/RESULTS.md."""
    if not POSTGRES_URL:
        sys.exit("bench/tenants.py needs a PostgreSQL server: set TIMESYNC_TEST_POSTGRES_URL, e.g. "
                 "postgresql+psycopg://postgres@127.0.0.1:55432/timesync_test")
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-tenants-{TENANTS}x{REGISTRATIONS}-"))
    try:
        measured = measure(scratch)
    finally:
        if KEEP:
            print(f"[bench/tenants] scratch kept in {scratch}", flush=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    SAVED.parent.mkdir(parents=True, exist_ok=True)
    SAVED.write_text(json.dumps(asdict(measured)), encoding="utf-8")
    table = markdown(rows(measured))
    print(table, flush=True)
    write_results(table, measured)
    print(f"[bench/tenants] done at {dt.datetime.now(dt.UTC):%H:%M} UTC", flush=True)


if __name__ == "__main__":
    main()
