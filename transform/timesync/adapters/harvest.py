"""Harvest adapter: singer-io tap-harvest streams to canonical records (Harvest is read only, never written).

Harvest takes the planning tool's role in the engine, the role Forecast has in job `sync` (``Side.FORECAST``: the
side tasks come from and whose ids the ledger keeps in its ``forecast_id`` column). Job `harvest-to-timelog` has a
ledger of its own, so those ids never meet Forecast's (README, "Swapping in another time tool").

- A Harvest **task** is account-wide; a project uses it through a *task assignment*. The TimeLog task is made per
  task assignment (one per project and task), so its id (``project_tasks.id``, ``time_entries.task_assignment_id``)
  is the canonical task id and the TimeLog external key. Its name comes from the ``tasks`` stream.
- A time entry's user must be allocated to its TimeLog task, so every entry also gives the assignment of its user
  to its task assignment (Harvest's own ``user_project_tasks`` carry no project id to check the link with).
- **Hours to minutes**: Harvest stores decimal hours (two decimals on the wire, more through its API). They become
  whole minutes rounded to the nearest minute, halves up (``model.minutes_from_hours``): 0.1 h is 6 min, 0.333 h
  is 19.98 min so 20, 1.005 h is 60.3 min so 60, 0.125 h is 7.5 min so 8. One minute is the finest unit TimeLog
  and the sync keep; Harvest's own 0.01 h steps (36 s) are finer, so two Harvest values may land on one minute.
- A **running timer** is skipped until it stops: its hours grow while it runs, and stopping it updates the entry,
  so the next run reads its final hours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from timesync.adapters.base import CanonicalRecord, id_text, require, shared_id
from timesync.model import (
    Assignment,
    Person,
    Project,
    Side,
    Task,
    TimeEntry,
    minutes_from_hours,
    parse_date,
    parse_timestamp,
)

#: How a TimeLog task is named while the Harvest task's name has not arrived (the `tasks` stream renames it).
UNNAMED_TASK = "Harvest task {task_id}"


class HarvestAdapter:
    """Reads the tap-harvest streams that job `harvest-to-timelog` selects; Harvest receives nothing.

    One instance per run (``adapters.source_adapter``): it joins task names (``tasks``) to task assignments
    (``project_tasks``) in whichever order the tap sends them.
    """

    side: ClassVar[Side] = Side.FORECAST  # the planning tool's role: tasks come from here (module docstring)
    tool: ClassVar[str] = "harvest"
    stream_keys: ClassVar[Mapping[str, Sequence[str]]] = {
        "time_entries": ("id",),
        "tasks": ("id",),
        "project_tasks": ("id",),
        "users": ("id",),
        "projects": ("id",),
    }
    entry_stream: ClassVar[str] = "time_entries"
    # Streams read whole on every run: the mapper drops their bookmarks from the STATE it passes on, so links.yml
    # is checked against every project and user, and every task assignment finds its task's name.
    whole_streams: ClassVar[frozenset[str]] = frozenset({"tasks", "project_tasks", "users", "projects"})
    # tap-harvest (singer-python) writes the state it resumed from after its first stream's SCHEMA, before records.
    resumed_state: ClassVar[str] = "before_records"
    # Nothing is written to Harvest, so no Harvest field needs a move.
    immutable_entry_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self._task_names: dict[str, str] = {}
        self._assignments_of_task: dict[str, list[Mapping[str, Any]]] = {}

    def observed_facts(self, stream: str, record: Mapping[str, Any]) -> Mapping[str, str]:
        """Harvest records show no fact the sync must keep relying on."""
        return {}

    def to_canonical(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        """Canonical records for one tap-harvest record."""
        reader = getattr(self, f"_read_{stream}", None)
        return reader(stream, record) if reader else []

    def _read_time_entries(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        if record.get("is_running"):
            return []
        project = str(require(stream, record, "project_id", "id"))
        person = str(require(stream, record, "user_id", "id"))
        task = shared_id(require(stream, record, "task_assignment_id", "id"))
        assert task is not None, "require() refused a missing task assignment"
        entry = TimeEntry(
            side=self.side,
            id=str(require(stream, record, "id", "id")),
            project_id=shared_id(project),
            person_id=shared_id(person) or person,
            task_id=task,
            date=parse_date(require(stream, record, "spent_date", "id")),
            minutes=minutes_from_hours(require(stream, record, "hours", "id")),
            note=record.get("notes") or "",
            # Approved, closed or invoiced in Harvest: its TimeLog twin is still created (a locked *source*).
            locked=bool(record.get("is_locked")),
            updated_at=parse_timestamp(record.get("updated_at")),
        )
        return [entry, Assignment(side=self.side, task_id=task, project_id=project, person_id=person)]

    def _read_project_tasks(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        task_id = str(require(stream, record, "task_id", "id"))
        self._assignments_of_task.setdefault(task_id, []).append(record)
        return [self._task(stream, record)]

    def _read_tasks(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        task_id = str(require(stream, record, "id", "id"))
        self._task_names[task_id] = record.get("name") or ""
        # Task assignments read before their task get their name now (the intake keeps the latest per id).
        return [self._task("project_tasks", assignment) for assignment in self._assignments_of_task.get(task_id, [])]

    def _task(self, stream: str, record: Mapping[str, Any]) -> Task:
        task_id = str(record["task_id"])
        # No estimate: a task assignment's `budget` is hours or money, depending on the project's `budget_by`.
        return Task(
            side=self.side,
            id=str(require(stream, record, "id", "id")),
            project_id=str(require(stream, record, "project_id", "id")),
            name=self._task_names.get(task_id) or UNNAMED_TASK.format(task_id=task_id),
        )

    def _read_users(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        name = " ".join(part for part in (record.get("first_name"), record.get("last_name")) if part)
        return [Person(self.side, str(require(stream, record, "id", "id")), name, record.get("email"),
                       bool(record.get("is_active", True)))]

    def _read_projects(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        return [Project(self.side, str(require(stream, record, "id", "id")), record.get("name") or "",
                        id_text(record.get("code")), bool(record.get("is_active", True)))]

    def entry_payload(self, entry: TimeEntry, *, update: bool) -> dict[str, Any]:
        """Harvest receives no time from the sync (job `harvest-to-timelog` is one way)."""
        raise NotImplementedError("Harvest is read only: job harvest-to-timelog writes TimeLog only")

    def task_payload(self, task: Task) -> dict[str, Any]:
        """Harvest receives no tasks from the sync."""
        raise NotImplementedError("Harvest is read only: job harvest-to-timelog writes TimeLog only")
