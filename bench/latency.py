"""Change-to-mirror latency (issue 19): how long an edit on one side takes to show on the other, p50 and p95 per
direction, at BENCH_REGISTRATIONS per side, under the two ways of running the sync often:

- **one-minute poll**: `meltano run sync` at every wall-clock minute, as cron runs schedule `sync-every-minute`
  (with `flock -n`, the README's cron line: a slot whose run is still going is skipped);
- **webhooks + poll**: `timesync listen --poll-seconds 60` with its default debounce (5 s quiet, 30 s at most),
  subscribed through `timesync webhooks subscribe`; the Forecast simulator posts a webhook for each API edit, and
  the listener runs the same one-minute poll for TimeLog, which has no push.

A fresh sandbox is generated and backfilled, then each setup runs for BENCH_LATENCY_WINDOW_SECONDS while edits
are made through the real APIs at random moments (a seeded gap of 0.5x to 1.5x BENCH_LATENCY_EDIT_SECONDS),
alternating Forecast registrations and TimeLog work units, each a different in-scope, unlocked, synced entry.

An edit counts as mirrored when the ledger shows the other side's twin at the edited duration: the target records
that base right after the write call returns, so this is the moment the other side holds it. Latency = that
moment minus the moment the edit's API call returned, sampled every 0.25 s.

Settings (environment): BENCH_REGISTRATIONS (default 50000), BENCH_LATENCY_WINDOW_SECONDS (default 360),
BENCH_LATENCY_EDIT_SECONDS (default 10), BENCH_LATENCY_TICK_SECONDS (the poll period, default 60; shorter only to
try the benchmark out), BENCH_KEEP=1 keeps the scratch folder (run logs, the listener's log).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from bench._measure import load, machine, verdict
from bench.sync import SEED, bench_links, editable, python_env, run_meltano, scope_of, warm_up
from sandbox.editors import ForecastEditor, TimeLogEditor
from sandbox.pipeline import MELTANO, REPO_ROOT, IsolatedMeltano, sandbox_plugin_env
from sandbox.testing import SandboxProcess
from timesync.ledger import Ledger, PairKind
from timesync.model import Side

SIZE = int(os.environ.get("BENCH_REGISTRATIONS", "50000"))
WINDOW_SECONDS = float(os.environ.get("BENCH_LATENCY_WINDOW_SECONDS", "360"))
EDIT_SECONDS = float(os.environ.get("BENCH_LATENCY_EDIT_SECONDS", "10"))
TICK_SECONDS = float(os.environ.get("BENCH_LATENCY_TICK_SECONDS", "60"))
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")
#: The issue's target for p95, in seconds.
TARGET_P95_SECONDS = 60.0
#: After the window, edits still on their way get this long to land (two poll periods and a slow run).
DRAIN_SECONDS = 2 * TICK_SECONDS + 120
SAMPLE_SECONDS = 0.25
STATE_ID_SUFFIX = "bench-latency"
TOKEN = "bench-latency-webhook-token-0123456789"
RESULTS = Path(__file__).with_name("RESULTS.md")
SAVED = Path(__file__).parent / "out" / "latency.json"
BEGIN, END = "<!-- bench/latency.py: begin (generated) -->", "<!-- bench/latency.py: end -->"
SETUPS = ("one-minute poll", "webhooks + poll")
DIRECTIONS = {Side.FORECAST: "Forecast → TimeLog", Side.TIMELOG: "TimeLog → Forecast"}


@dataclass
class Edit:
    """One edit made through an API, and when its twin on the other side showed it."""

    side: Side
    native_id: str
    minutes: int
    made_at: float
    mirrored_at: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.mirrored_at is None else self.mirrored_at - self.made_at


@dataclass
class Outcome:
    """One setup's window: its edits, the sync runs that happened, the load."""

    setup: str
    edits: list[Edit] = field(default_factory=list)
    runs: list[tuple[float, int]] = field(default_factory=list)  # (seconds, exit code)
    loads: list[float] = field(default_factory=list)


class Candidates:
    """Synced, in-scope, unlocked entries to edit, the most recent first, each edited once."""

    def __init__(self, sandbox: SandboxProcess, links: dict) -> None:
        forecast, timelog = sandbox.forecast.state(), sandbox.timelog.state()
        self.forecast, self.timelog = editable(scope_of(forecast, timelog, links), forecast, timelog)
        self.initials = {e["employee_id"]: e["initials"] for e in timelog["employees"]}
        self.forecast_editor = ForecastEditor(sandbox.forecast_url)
        self.timelog_editor = TimeLogEditor(sandbox.timelog_url)
        self.touched: set[int] = set()

    def edit(self, side: Side, ledger_url: str) -> Edit:
        """Edit the next entry of one side (its duration + 15 minutes) and say when the API call returned.

        Each edit touches a pair no earlier edit touched: the other side's twin of an edited entry carries the
        edit too, so editing it from the state read at the start would change nothing.
        """
        with Ledger.open(ledger_url) as ledger:
            while True:
                entry = (self.forecast if side is Side.FORECAST else self.timelog).pop(0)
                native_id = str(entry["id"] if side is Side.FORECAST else entry["guid"])
                pair = ledger.find_pair(PairKind.TIME_ENTRY, **{f"{side}_id": native_id})
                if pair is not None and pair.id not in self.touched:
                    self.touched.add(pair.id)
                    break
        if side is Side.FORECAST:
            minutes = entry["time_registered"] + 15
            self.forecast_editor.update_registration(entry["id"], time_registered=minutes)
        else:
            minutes = entry["minutes"] + 15
            self.timelog_editor.update_work(entry["guid"], initials=self.initials[entry["employee_id"]],
                                            task_id=entry["task_id"], date=entry["start_at"][:10], minutes=minutes,
                                            note=entry.get("description") or "Work")
        return Edit(side, native_id, minutes, time.monotonic())


class MirrorWatch:
    """Samples the ledger until each edit's twin holds the edited duration."""

    def __init__(self, ledger_url: str) -> None:
        self.ledger_url = ledger_url
        self.pending: list[Edit] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="mirror-watch", daemon=True)

    def __enter__(self) -> MirrorWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def add(self, edit: Edit) -> None:
        with self._lock:
            self.pending.append(edit)

    def waiting(self) -> int:
        with self._lock:
            return len(self.pending)

    def _sample(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            with self._lock:
                pending = list(self.pending)
            if not pending:
                continue
            now = time.monotonic()
            try:
                mirrored = self._mirrored(pending)
            except Exception as exc:  # a run holding the SQLite write lock: sample again shortly
                print(f"[bench/latency] ledger read skipped: {type(exc).__name__}", flush=True)
                continue
            with self._lock:
                for edit in mirrored:
                    edit.mirrored_at = now
                    self.pending.remove(edit)

    def _mirrored(self, pending: list[Edit]) -> list[Edit]:
        found: list[Edit] = []
        with Ledger.open(self.ledger_url) as ledger:
            for side in (Side.FORECAST, Side.TIMELOG):
                edits = [e for e in pending if e.side is side]
                if not edits:
                    continue
                other = Side.TIMELOG if side is Side.FORECAST else Side.FORECAST
                pairs = ledger.find_pairs(PairKind.TIME_ENTRY, side, [e.native_id for e in edits])
                for edit in edits:
                    pair = pairs.get(edit.native_id)
                    twin = pair.base_on(other) if pair else None
                    if twin and int(twin.get("minutes", -1)) == edit.minutes:
                        found.append(edit)
        return found


class MinuteCron:
    """cron with `flock -n`: `meltano run sync` at each multiple of TICK_SECONDS, a slot skipped while one runs."""

    def __init__(self, project: IsolatedMeltano, env: dict[str, str], scratch: Path, outcome: Outcome) -> None:
        self.project, self.env, self.scratch, self.outcome = project, env, scratch, outcome
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="minute-cron", daemon=True)

    def __enter__(self) -> MinuteCron:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()  # lets a run in progress finish

    def _loop(self) -> None:
        number = 0
        while not self._done.wait(TICK_SECONDS - time.time() % TICK_SECONDS):
            number += 1
            log = self.scratch / f"cron-run-{number}.log"
            code, seconds, _peaks = run_meltano(self.project, self.env, log, "run", "--state-id-suffix",
                                                STATE_ID_SUFFIX, "sync")
            self.outcome.runs.append((seconds, code))


class Listener:
    """`timesync listen --poll-seconds TICK` subscribed to the Forecast simulator's webhooks."""

    def __init__(self, project: IsolatedMeltano, env: dict[str, str], scratch: Path) -> None:
        self.env = python_env(project.env() | env | {"TIMESYNC_WEBHOOK_TOKEN": TOKEN})
        self.log = scratch / "listen.log"
        self.timesync = str(Path(sys.executable).parent / "timesync")
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Listener:
        command = shlex.join([MELTANO, "run", "--state-id-suffix", STATE_ID_SUFFIX, "sync"])
        with self.log.open("w") as output:
            self.process = subprocess.Popen([self.timesync, "listen", "--port", "0", "--poll-seconds",
                                             f"{TICK_SECONDS:g}", "--command", command],
                                            cwd=REPO_ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT)
        base_url = self._listening_url()
        subscribed = subprocess.run([self.timesync, "webhooks", "subscribe", "--public-url", base_url],
                                    cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, check=False,
                                    timeout=120)
        if subscribed.returncode != 0:
            raise RuntimeError(f"timesync webhooks subscribe failed: {subscribed.stderr[-2000:]}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()  # waits for a run in progress
            self.process.wait(1800)

    def _listening_url(self) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for line in self.log.read_text().splitlines():
                if line.startswith("timesync listen: on "):
                    return line.split()[3]
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"timesync listen exited:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError("timesync listen did not start")

    def runs(self) -> list[tuple[float, int]]:
        """(seconds, exit code) of each run the listener logged."""
        runs = []
        for match in re.finditer(r"sync run (done|failed with exit code (\d+)) in (\d+)s", self.log.read_text()):
            runs.append((float(match.group(3)), 0 if match.group(1) == "done" else int(match.group(2))))
        return runs


def window(setup: str, candidates: Candidates, ledger_url: str, driver: MinuteCron | Listener) -> Outcome:
    """Edits at random moments for WINDOW_SECONDS under one setup, then until every edit landed (or DRAIN)."""
    outcome = driver.outcome if isinstance(driver, MinuteCron) else Outcome(setup)
    pace = random.Random(SEED)
    sides = (Side.FORECAST, Side.TIMELOG)
    print(f"[bench/latency] {setup}: editing for {WINDOW_SECONDS:.0f} s", flush=True)
    with driver, MirrorWatch(ledger_url) as watch:
        started = time.monotonic()
        number = 0
        while time.monotonic() - started < WINDOW_SECONDS:
            time.sleep(EDIT_SECONDS * pace.uniform(0.5, 1.5))
            edit = candidates.edit(sides[number % 2], ledger_url)
            number += 1
            outcome.edits.append(edit)
            outcome.loads.append(float(load()))
            watch.add(edit)
        deadline = time.monotonic() + DRAIN_SECONDS
        while watch.waiting() and time.monotonic() < deadline:
            time.sleep(1)
    if isinstance(driver, Listener):
        outcome.runs = driver.runs()
    return outcome


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (0..1), inclusive method; the value itself for one sample."""
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(share * 100) - 1]


def rows(outcomes: list[Outcome]) -> list[tuple[str, ...]]:
    table: list[tuple[str, ...]] = []
    for outcome in outcomes:
        load_range = f"{min(outcome.loads):.2f} to {max(outcome.loads):.2f}" if outcome.loads else ""
        for side, direction in DIRECTIONS.items():
            edits = [e for e in outcome.edits if e.side is side]
            latencies = sorted(e.latency for e in edits if e.latency is not None)
            missing = len(edits) - len(latencies)
            if not latencies:
                table.append((outcome.setup, direction, f"{len(edits)} edits", "none mirrored", "", "", "",
                              load_range))
                continue
            p95 = percentile(latencies, 0.95)
            table.append((outcome.setup, direction,
                          f"{len(latencies)} of {len(edits)} mirrored" + (f" ({missing} not within the drain)"
                                                                          if missing else ""),
                          f"{percentile(latencies, 0.5):.1f} s", f"{p95:.1f} s", f"{latencies[-1]:.1f} s",
                          verdict(p95, TARGET_P95_SECONDS), load_range))
        durations = [seconds for seconds, _code in outcome.runs]
        failed = sum(1 for _seconds, code in outcome.runs if code != 0)
        if durations:
            table.append((outcome.setup, "sync runs", f"{len(durations)} runs, {failed} failed",
                          f"{statistics.median(durations):.1f} s (median run)", "", f"{max(durations):.1f} s",
                          "", load_range))
    return table


def markdown(table: list[tuple[str, ...]]) -> str:
    header = ("setup", "direction", "edits", "p50", "p95", "max", f"p95 ÷ {TARGET_P95_SECONDS:.0f} s", "load")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines)


def write_results(table: str) -> None:
    """Replace this benchmark's section of bench/RESULTS.md (the rest of the file is kept)."""
    info = machine()
    section = "\n".join([
        BEGIN,
        "## Change-to-mirror latency (`bench/latency.py`)",
        "",
        f"- Date: {info['date']}; machine: {info['cores']}, {info['ram']} RAM, {info['cpu']}; Python "
        f"{info['python']}.",
        f"- {SIZE:,} registrations per side, backfilled first; each setup ran for {WINDOW_SECONDS:.0f} s with an "
        f"edit every {EDIT_SECONDS * 0.5:g} to {EDIT_SECONDS * 1.5:g} s, alternating sides; poll period "
        f"{TICK_SECONDS:g} s; the listener's default debounce (5 s quiet, 30 s at most).",
        "- Mirrored = the ledger holds the twin at the edited duration (recorded when the write call returns). "
        "The load column is the range of the 1-minute load average while editing.",
        "",
        table,
        END,
    ])
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")


def main() -> None:
    """Generate and backfill a sandbox, measure both setups, print the table, update bench/RESULTS.md."""
    warm_up()
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-latency-{SIZE}-"))
    outcomes: list[Outcome] = []
    try:
        print(f"[bench/latency] generating {SIZE:,} registrations per side", flush=True)
        with SandboxProcess(data=f"generate:registrations={SIZE},seed={SEED}") as sandbox:
            links = bench_links()
            links_path = scratch / "links.yml"
            links_path.write_text(yaml.safe_dump(links, sort_keys=False), encoding="utf-8")
            project = IsolatedMeltano(scratch / "project",
                                      sandbox_plugin_env(sandbox.forecast_url, sandbox.timelog_url),
                                      links_path=links_path)
            env = {"TIMESYNC_CACHE_DIR": str(scratch / "cache")}
            for name in ("backfill", "settle"):
                started = time.perf_counter()
                code, _seconds, _peaks = run_meltano(project, env, scratch / f"{name}.log", "run",
                                                     "--state-id-suffix", STATE_ID_SUFFIX, "sync")
                if code != 0:
                    raise RuntimeError(f"{name} failed; see {scratch / f'{name}.log'}")
                print(f"[bench/latency] {name}: {time.perf_counter() - started:.1f} s", flush=True)
            candidates = Candidates(sandbox, links)
            outcomes.append(window(SETUPS[0], candidates, project.ledger_url,
                                   MinuteCron(project, env, scratch, Outcome(SETUPS[0]))))
            outcomes.append(window(SETUPS[1], candidates, project.ledger_url, Listener(project, env, scratch)))
    finally:
        if KEEP:
            print(f"[bench/latency] logs kept in {scratch}", flush=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    SAVED.parent.mkdir(parents=True, exist_ok=True)  # the raw samples, kept until the next run
    SAVED.write_text(json.dumps([asdict(o) for o in outcomes], default=str), encoding="utf-8")
    table = markdown(rows(outcomes))
    print(table, flush=True)
    write_results(table)
    print(f"[bench/latency] done at {dt.datetime.now(dt.UTC):%H:%M} UTC", flush=True)


if __name__ == "__main__":
    main()
