"""The world every seeded suite runs in: a trimmed demo in the sandbox, an isolated Meltano project, editors.

Every `meltano run` a suite makes goes through `SuiteWorld`, which keeps the output and checks, after each
run, that no configured secret reached the logs, the Meltano system database (state) or the ledger
(invariant 9). Background runs (crash, overlap) start in their own process group so a test can kill -9
`meltano run` together with every plugin it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from sandbox import credentials
from sandbox.editors import ForecastEditor, TimeLogEditor
from sandbox.pipeline import MELTANO, REPO_ROOT, IsolatedMeltano, MeltanoRun, sandbox_plugin_env
from sandbox.roster import demo_links
from sandbox.testing import SandboxProcess

#: The admin CLI, installed in the same venv as meltano.
TIMESYNC = str(Path(MELTANO).with_name("timesync"))

#: `TIMESYNC_LONG_SUITES=1` (make test-long) runs more seeds, rounds and crash points.
LONG = os.environ.get("TIMESYNC_LONG_SUITES") == "1"
#: Registrations (Forecast) and work units (TimeLog) kept per project: every case, a quick run.
ENTRIES_PER_PROJECT = 5
#: Forecast tasks kept per project besides those the kept registrations use (new tasks for TimeLog).
EXTRA_TASKS_PER_PROJECT = 1
#: The suites make more changes per run than a 15-minute schedule would; the guard is tested elsewhere.
SUITE_MAX_CHANGES = 5000
#: One `meltano run sync` of the small world takes well under a minute; a hang fails the test instead.
RUN_TIMEOUT_SECONDS = 300

#: Configured secrets (sandbox/credentials.py) and what to call them in a failure message.
SECRETS = {
    "Forecast API key": credentials.FORECAST_API_KEY,
    "TimeLog password": credentials.TIMELOG_PASSWORD,
    "TimeLog site code": credentials.TIMELOG_SITE_CODE,
    "TimeLog reporting password": credentials.TIMELOG_REPORTING_PASSWORD,
}


def secrets_in(text: str | bytes) -> list[str]:
    """Names of the configured secrets that occur in `text` (case-insensitive: a log may upper-case them)."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    lowered = data.lower()
    return [name for name, value in SECRETS.items() if value.lower().encode() in lowered]


# -- the trimmed demo ------------------------------------------------------------------------------------


def _forecast_project(registration: dict, tasks: dict[int, dict]) -> int | None:
    if registration.get("project"):
        return registration["project"]
    task = tasks.get(registration.get("task"))
    return task["project_id"] if task else None


def small_forecast(state: dict, per_project: int = ENTRIES_PER_PROJECT) -> dict:
    """The newest `per_project` registrations per project (and of non-project time), the tasks they need."""
    tasks = {task["id"]: task for task in state["tasks"]}
    kept: list[dict] = []
    counts: dict[object, int] = {}
    for registration in sorted(state["time_registrations"], key=lambda r: r["id"], reverse=True):
        group = _forecast_project(registration, tasks) or f"npt-{registration.get('non_project_time')}"
        if counts.get(group, 0) < per_project:
            counts[group] = counts.get(group, 0) + 1
            kept.append(registration)
    needed = {r["task"] for r in kept if r.get("task")}
    extra: dict[int, int] = {}
    for task in sorted(state["tasks"], key=lambda t: t["id"]):
        if task["id"] not in needed and extra.get(task["project_id"], 0) < EXTRA_TASKS_PER_PROJECT:
            extra[task["project_id"]] = extra.get(task["project_id"], 0) + 1
            needed.add(task["id"])
    while True:  # parents of kept sub-tasks
        parents = {tasks[t]["parent_task_id"] for t in needed if tasks[t].get("parent_task_id")} - needed
        if not parents:
            break
        needed |= parents
    return state | {
        "time_registrations": sorted(kept, key=lambda r: r["id"]),
        "tasks": [task for task in state["tasks"] if task["id"] in needed],
        "deleted_time_registrations": [], "deleted_tasks": [],
    }


def small_timelog(state: dict, per_project: int = ENTRIES_PER_PROJECT) -> dict:
    """The newest `per_project` work units per project, and their change-log lines."""
    task_project = {task["task_id"]: task["project_id"] for task in state["tasks"]}
    kept: list[dict] = []
    counts: dict[int, int] = {}
    for unit in sorted(state["work_units"], key=lambda u: u["work_id"], reverse=True):
        project = task_project[unit["task_id"]]
        if counts.get(project, 0) < per_project:
            counts[project] = counts.get(project, 0) + 1
            kept.append(unit)
    guids = {unit["guid"] for unit in kept}
    return state | {
        "work_units": sorted(kept, key=lambda u: u["work_id"]),
        "change_log": [line for line in state["change_log"] if line["work_guid"] in guids],
    }


# -- the world ---------------------------------------------------------------------------------------------


@dataclass
class LedgerView:
    """Read-only SQL over the isolated ledger (SQLite): pairs, runs and run items."""

    path: Path

    def _rows(self, sql: str, *params: object) -> list[dict]:
        if not self.path.exists():
            return []
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(sql, params)]
        finally:
            connection.close()

    def pairs(self, kind: str = "time_entry") -> list[dict]:
        """Pairs of one kind."""
        return self._rows("SELECT * FROM pairs WHERE kind = ? ORDER BY id", kind)

    def runs(self) -> list[dict]:
        """Every recorded run (one per direction per `meltano run sync`), oldest first."""
        return self._rows("SELECT * FROM runs ORDER BY id")

    def run_items(self, run_ids: list[int]) -> list[dict]:
        """Items of these runs."""
        if not run_ids:
            return []
        marks = ",".join("?" * len(run_ids))
        return self._rows(f"SELECT * FROM run_items WHERE run_id IN ({marks}) ORDER BY id", *run_ids)

    def max_run_id(self) -> int:
        """The newest run id (0 before the first run)."""
        rows = self._rows("SELECT MAX(id) AS id FROM runs")
        return (rows[0]["id"] or 0) if rows else 0


@dataclass
class SuiteWorld:
    """The sandbox, an isolated Meltano project that syncs it, editors for both sides, and every run's output."""

    sandbox: SandboxProcess
    project: IsolatedMeltano
    links: dict
    links_path: Path
    forecast: ForecastEditor
    timelog: TimeLogEditor
    outputs: list[str] = field(default_factory=list)
    #: Added to every `meltano run` (e.g. `--force` once a killed run left its job marked as running).
    run_args: tuple[str, ...] = ()

    @property
    def ledger(self) -> LedgerView:
        """The isolated ledger."""
        return LedgerView(self.project.workdir / "ledger.db")

    def write_links(self, links: dict) -> None:
        """Replace the links file."""
        self.links = links
        self.links_path.write_text(yaml.safe_dump(links, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def states(self) -> tuple[dict, dict]:
        """(Forecast state, TimeLog state) from `/_sandbox/state`."""
        return self.sandbox.forecast.state(), self.sandbox.timelog.state()

    def clear_stats(self) -> None:
        """Zero both simulators' request counters."""
        self.sandbox.forecast.clear_stats()
        self.sandbox.timelog.clear_stats()

    def writes(self) -> dict[str, int]:
        """`writes_total` per simulator since the last clear."""
        return {"forecast": self.sandbox.forecast.stats()["writes_total"],
                "timelog": self.sandbox.timelog.stats()["writes_total"]}

    def faults_off(self) -> None:
        """No faults on either simulator (also releases requests the crash hook holds)."""
        self.sandbox.forecast.faults()
        self.sandbox.timelog.faults()

    # -- runs ----------------------------------------------------------------------------------------------

    def sync(self, *extra: str, expect_ok: bool = True, env: dict[str, str] | None = None) -> MeltanoRun:
        """`meltano run [EXTRA…] sync`; the output is kept and checked for secrets, as are state and ledger."""
        project = self.project
        if env:
            project = IsolatedMeltano(self.project.workdir, self.project.plugin_env | env, self.project.links_path)
        run = project.run(*self.run_args, *extra, "sync", timeout=RUN_TIMEOUT_SECONDS)
        self.outputs.append(run.output)
        self.assert_no_secrets(run.output)
        if expect_ok and run.returncode != 0:
            pytest.fail(f"meltano run sync failed ({run.returncode}):\n{run.output[-8000:]}")
        return run

    def start_sync(self, name: str, *extra: str) -> BackgroundRun:
        """Start `meltano run sync` in its own process group (so kill -9 reaches every plugin process)."""
        log = self.project.workdir / f"{name}.log"
        handle = log.open("w", encoding="utf-8")
        process = subprocess.Popen(
            [MELTANO, "run", "--state-id-suffix", self.project.workdir.name, *self.run_args, *extra, "sync"],
            cwd=REPO_ROOT, env=self.project.env(), stdout=handle, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        handle.close()
        return BackgroundRun(process, log, self)

    def timesync(self, *args: str) -> subprocess.CompletedProcess:
        """The admin CLI (`timesync --json ARGS…`) on this project's ledger and links file."""
        completed = subprocess.run(
            [TIMESYNC, "--ledger-url", self.project.ledger_url, "--links-path", str(self.links_path), "--json", *args],
            cwd=REPO_ROOT, env=self.project.env(), capture_output=True, text=True, timeout=120, check=False,
        )
        self.outputs.append(completed.stdout + completed.stderr)
        self.assert_no_secrets(completed.stdout + completed.stderr)
        return completed

    def database_files(self) -> list[Path]:
        """The ledger and the Meltano system database (where Meltano keeps state), with their WAL/SHM files."""
        return sorted({*self.project.workdir.glob("*.db*"), *self.project.sys_dir.glob("*.db*")})

    def assert_no_secrets(self, output: str = "") -> None:
        """Invariant 9: no secret in `output`, the system DB (Meltano state), or the ledger (files incl. WAL)."""
        found = [f"{name} in the run output" for name in secrets_in(output)]
        databases = self.database_files()
        assert any(p.name == "meltano.db" for p in databases) or not self.outputs, (
            f"the Meltano system database was not found where the scan looks: {databases}")
        for path in databases:
            found += [f"{name} in {path.name}" for name in secrets_in(path.read_bytes())]
        assert not found, f"secrets leaked: {found}"


@dataclass
class BackgroundRun:
    """A `meltano run sync` started by `SuiteWorld.start_sync`."""

    process: subprocess.Popen
    log: Path
    world: SuiteWorld

    def output(self) -> str:
        """What it printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_until(self, condition: Callable[[], bool], timeout: float = RUN_TIMEOUT_SECONDS,
                   poll: float = 0.2) -> bool:
        """Poll until `condition()` holds (True) or the run ended first (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if self.process.poll() is not None:
                return condition()
            time.sleep(poll)
        self.kill()
        pytest.fail(f"background run neither reached the point nor ended in {timeout} s:\n{self.output()[-4000:]}")

    def kill(self) -> None:
        """kill -9 the whole process group: meltano and every plugin it started."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it ended just now
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def finish(self, timeout: float = RUN_TIMEOUT_SECONDS) -> MeltanoRun:
        """Wait for the end; the output is kept and checked for secrets like a foreground run's."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"background run did not end in {timeout} s:\n{self.output()[-4000:]}")
        output = self.output()
        self.world.outputs.append(output)
        self.world.assert_no_secrets(output)
        return MeltanoRun(["run", "sync"], self.process.returncode, output, "")


def suite_links(options: dict | None = None) -> dict:
    """The demo links (4 projects, 20 persons linked; some deliberately not), with suite options."""
    links = demo_links()
    links["options"] = {"max_changes_per_run": SUITE_MAX_CHANGES, **(options or {})}
    return links


def open_world(sandbox: SandboxProcess, demo_states: tuple[dict, dict], tmp_path: Path, *,
               per_project: int = ENTRIES_PER_PROJECT, links: dict | None = None) -> SuiteWorld:
    """Reset the (session) sandbox to the trimmed demo and give it a project that has never synced."""
    forecast_demo, timelog_demo = demo_states
    sandbox.forecast.faults()
    sandbox.timelog.faults()
    sandbox.forecast.reset(small_forecast(forecast_demo, per_project))
    sandbox.timelog.reset(small_timelog(timelog_demo, per_project))
    links_path = tmp_path / "links.yml"
    project = IsolatedMeltano(tmp_path / "project", sandbox_plugin_env(sandbox.forecast_url, sandbox.timelog_url),
                              links_path=links_path)
    world = SuiteWorld(sandbox, project, {}, links_path, ForecastEditor(sandbox.forecast_url),
                       TimeLogEditor(sandbox.timelog_url))
    world.write_links(links if links is not None else suite_links())
    return world
