"""End-to-end fixtures: a small world in the sandbox and an isolated Meltano project that syncs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sandbox.editors import ForecastEditor, TimeLogEditor
from sandbox.pipeline import IsolatedMeltano, MeltanoRun, sandbox_plugin_env
from sandbox.roster import demo_links
from sandbox.testing import SandboxProcess

#: Registrations/work units kept per project in the small world: enough for every case, quick to sync.
ENTRIES_PER_PROJECT = 4
#: Forecast tasks kept per project (plus those the kept registrations need, and their parents).
TASKS_PER_PROJECT = 6


def _small_forecast(state: dict) -> dict:
    kept, per_project = [], {}
    tasks = {t["id"]: t for t in state["tasks"]}
    for entry in sorted(state["time_registrations"], key=lambda e: e["id"], reverse=True):
        project = entry["project"] or (tasks[entry["task"]]["project_id"] if entry["task"] else None)
        if per_project.get(project, 0) < ENTRIES_PER_PROJECT:
            per_project[project] = per_project.get(project, 0) + 1
            kept.append(entry)
    wanted = {entry["task"] for entry in kept if entry["task"]}
    per_project = {}
    for task in sorted(state["tasks"], key=lambda t: t["id"]):
        if per_project.get(task["project_id"], 0) < TASKS_PER_PROJECT:
            per_project[task["project_id"]] = per_project.get(task["project_id"], 0) + 1
            wanted.add(task["id"])
    wanted |= {tasks[i]["parent_task_id"] for i in list(wanted) if tasks[i]["parent_task_id"]}
    return state | {
        "tasks": [task for task in state["tasks"] if task["id"] in wanted],
        "time_registrations": kept, "deleted_time_registrations": [], "deleted_tasks": [],
    }


def _small_timelog(state: dict) -> dict:
    task_project = {t["task_id"]: t["project_id"] for t in state["tasks"]}
    kept, per_project = [], {}
    for unit in sorted(state["work_units"], key=lambda u: u["work_id"], reverse=True):
        project = task_project[unit["task_id"]]
        if per_project.get(project, 0) < ENTRIES_PER_PROJECT:
            per_project[project] = per_project.get(project, 0) + 1
            kept.append(unit)
    guids = {unit["guid"] for unit in kept}
    return state | {"work_units": kept, "change_log": [c for c in state["change_log"] if c["work_guid"] in guids]}


@pytest.fixture(scope="session")
def small_world(_sandbox_session: tuple[SandboxProcess, dict, dict]) -> tuple[dict, dict]:
    """The demo data trimmed to a few entries per project on each side."""
    _, forecast_demo, timelog_demo = _sandbox_session
    return _small_forecast(forecast_demo), _small_timelog(timelog_demo)


@dataclass
class SyncHarness:
    """The sandbox, an isolated Meltano project pointed at it, and editors for both sides."""

    sandbox: SandboxProcess
    project: IsolatedMeltano
    forecast: ForecastEditor
    timelog: TimeLogEditor
    write_links: Callable[[dict], Path]

    def sync(self, *, expect_ok: bool = True) -> MeltanoRun:
        """`meltano run sync`; by default fail the test with the run's output if it fails."""
        run = self.project.run("sync")
        if expect_ok and run.returncode != 0:
            pytest.fail(f"meltano run sync failed ({run.returncode}):\n{run.output[-6000:]}")
        return run

    def forecast_state(self) -> dict:
        """Everything in the Forecast simulator."""
        return self.sandbox.forecast.state()

    def timelog_state(self) -> dict:
        """Everything in the TimeLog simulator."""
        return self.sandbox.timelog.state()


@pytest.fixture
def harness(sandbox: SandboxProcess, small_world: tuple[dict, dict], tmp_path: Path) -> SyncHarness:
    """A small world in the sandbox, the demo links, and a project that has never synced."""
    forecast_state, timelog_state = small_world
    sandbox.forecast.reset(forecast_state)
    sandbox.timelog.reset(timelog_state)
    links_path = tmp_path / "links.yml"

    def write_links(links: dict) -> Path:
        links_path.write_text(yaml.safe_dump(links, sort_keys=False), encoding="utf-8")
        return links_path

    write_links(demo_links())
    project = IsolatedMeltano(tmp_path / "project", sandbox_plugin_env(sandbox.forecast_url, sandbox.timelog_url),
                              links_path=links_path)
    return SyncHarness(sandbox, project, ForecastEditor(sandbox.forecast_url), TimeLogEditor(sandbox.timelog_url),
                       write_links)
