"""Helpers for the target tests: links, tap-shaped records, planning with the real reconciler, running targets."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from singer_sdk import Target

from sandbox import credentials
from sandbox.testing import SandboxProcess
from timesync.ledger import Ledger
from timesync.links import Links, parse_links
from timesync.model import Direction
from timesync.reconcile.commands import COMMAND_KEY, COMMAND_SCHEMA, COMMAND_STREAM
from timesync.reconcile.engine import Reconciler

# The demo agency (sandbox/roster.py): Forecast person 11+i is TimeLog employee 1+i; project 101 is 2001.
FORECAST_PROJECT, TIMELOG_PROJECT = 101, 2001
FORECAST_PERSON, TIMELOG_EMPLOYEE = 11, 1
OTHER_FORECAST_PERSON, OTHER_TIMELOG_EMPLOYEE = 12, 2
LINKS_TEXT = f"""
projects:
  - forecast: {FORECAST_PROJECT}
    timelog: {TIMELOG_PROJECT}
  - forecast: 102
    timelog: 2002
persons:
  - forecast: {FORECAST_PERSON}
    timelog: {TIMELOG_EMPLOYEE}
  - forecast: {OTHER_FORECAST_PERSON}
    timelog: {OTHER_TIMELOG_EMPLOYEE}
  - forecast: 13
    timelog: 3
options:
  max_changes_per_run: 5000
"""
STAMP = "2026-11-24T10:00:00Z"
STATE_VALUE = {"bookmarks": {"time_registrations": {"replication_key_value": STAMP}}}


def links() -> Links:
    """The links every target test uses."""
    return parse_links(LINKS_TEXT)


def forecast_task(task_id: int, title: str, *, parent: int | None = None, assigned: Iterable[int] = (),
                  project: int = FORECAST_PROJECT) -> tuple[str, dict[str, Any]]:
    """A tap-forecast `tasks` record."""
    return "tasks", {"id": task_id, "title": title, "project_id": project, "parent_task_id": parent,
                     "start_date": "2026-11-01", "end_date": "2026-12-31", "estimate": 600,
                     "assigned_persons": list(assigned), "updated_at": STAMP}


def forecast_registration(reg_id: int, *, task: int | None, minutes: int, day: str = "2026-11-23",
                          note: str = "", person: int = FORECAST_PERSON,
                          approval: str = "NOT_SUBMITTED") -> tuple[str, dict[str, Any]]:
    """A tap-forecast `time_registrations` record."""
    return "time_registrations", {
        "id": reg_id, "person": person, "project": None if task else FORECAST_PROJECT, "task": task,
        "task_project": FORECAST_PROJECT if task else None, "project_id": FORECAST_PROJECT,
        "non_project_time": None, "time_registered": minutes, "date": day, "notes": note,
        "approval_status": approval, "created_at": STAMP, "updated_at": STAMP}


def forecast_deletion(reg_id: int) -> tuple[str, dict[str, Any]]:
    """A tap-forecast `deleted_time_registrations` record."""
    return "deleted_time_registrations", {"id": reg_id, "deleted_at": STAMP}


def timelog_work(guid: str, *, task_id: int, minutes: int, day: str = "2026-11-23", note: str = "",
                 employee: int = TIMELOG_EMPLOYEE, project: int = TIMELOG_PROJECT,
                 task_name: str = "Analyse") -> tuple[str, dict[str, Any]]:
    """A tap-timelog `work` record."""
    return "work", {"work_unit_guid": guid, "employee_id": employee, "task_id": task_id, "task_name": task_name,
                    "project_id": project, "date": day, "minutes": minutes, "note": note, "approval_status": 0,
                    "created_at": STAMP, "modified_at": STAMP}


def timelog_deletion(guid: str) -> tuple[str, dict[str, Any]]:
    """A tap-timelog `work_deletions` record."""
    return "work_deletions", {"work_unit_guid": guid, "deleted_at": STAMP}


def plan(ledger: Ledger, direction: Direction, records: Iterable[tuple[str, dict[str, Any]]]) -> list[dict]:
    """The commands the real reconcile mapper emits for these tap records (intents recorded in ``ledger``)."""
    reconciler = Reconciler(ledger, links(), direction)
    for stream, record in records:
        reconciler.add(stream, record)
    return reconciler.run()


def singer_input(commands: list[dict], *, state: dict | None = None) -> str:
    """The mapper's output: the commands SCHEMA, one RECORD per command, then the held STATE."""
    lines = [{"type": "SCHEMA", "stream": COMMAND_STREAM, "schema": COMMAND_SCHEMA,
              "key_properties": list(COMMAND_KEY)}]
    lines += [{"type": "RECORD", "stream": COMMAND_STREAM, "record": command} for command in commands]
    lines.append({"type": "STATE", "value": state if state is not None else STATE_VALUE})
    return "".join(json.dumps(line) + "\n" for line in lines)


def run_target(target_class: type[Target], config: dict, commands: list[dict]) -> list[dict]:
    """Run a target in-process on the commands; the messages it emitted (STATE)."""
    return listen(target_class(config=config, validate_config=True), commands)


def listen(target: Target, commands: list[dict]) -> list[dict]:
    """Feed an existing target the commands; the messages it emitted."""
    out = io.StringIO()
    with redirect_stdout(out):
        target.listen(io.StringIO(singer_input(commands)))
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def timelog_config(sandbox: SandboxProcess, ledger_url: str, **extra: Any) -> dict[str, Any]:
    """target-timelog settings for the sandbox."""
    return {"domain": sandbox.timelog_url, "account": credentials.TIMELOG_ACCOUNT,
            "username": credentials.TIMELOG_USERNAME, "password": credentials.TIMELOG_PASSWORD,
            "ledger_url": ledger_url, **extra}


def forecast_config(sandbox: SandboxProcess, ledger_url: str, **extra: Any) -> dict[str, Any]:
    """target-forecast settings for the sandbox."""
    return {"api_key": credentials.FORECAST_API_KEY, "base_url": sandbox.forecast_url, "ledger_url": ledger_url,
            **extra}


def target_process(executable: str, config: dict, commands: list[dict], workdir: Path) -> subprocess.Popen:
    """Start a target as a real process (for kill -9 tests), fed the commands on stdin."""
    config_path = workdir / f"{executable}.json"
    config_path.write_text(json.dumps(config))
    input_path = workdir / f"{executable}.singer"
    input_path.write_text(singer_input(commands))
    binary = str(Path(sys.executable).parent / executable)
    with input_path.open("rb") as stdin:
        return subprocess.Popen([binary, "--config", str(config_path)], stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
