"""The input of one direction's run: a tap's records in canonical form, the latest version of each id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from timesync.adapters import Adapter
from timesync.model import Assignment, Deletion, Person, Project, Task, TimeEntry
from timesync.reconcile.spill import Spill, SpilledEntries


class Intake:
    """What one tap sent, collected whole: moves, the flood guard and the dependency order need all of it.

    The time entries, which grow with the input, are spilled to ``spill``'s temporary file past a few thousand
    (``SpilledEntries``); tasks, assignments and deletions are few and stay in memory.
    """

    def __init__(self, adapter: Adapter, spill: Spill | None = None) -> None:
        self.adapter = adapter
        self.entries = SpilledEntries(spill)
        self.tasks: dict[str, Task] = {}
        self.assignments: dict[str, Assignment] = {}
        self.deletions: dict[tuple[str, str], Deletion] = {}
        self.ignored: Counter[str] = Counter()
        # The source side's projects and persons (id -> name), by kind: links.yml is checked against them.
        self.directory: dict[str, dict[str, str]] = {}

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        """Take one tap record; the latest version of an id wins (overlap windows re-send records)."""
        for item in self.adapter.to_canonical(stream, record):
            if isinstance(item, TimeEntry):
                self.entries.put(item)
                self.deletions.pop(("time_entry", item.id), None)
            elif isinstance(item, Deletion):
                self.deletions[(item.kind, item.id)] = item
                if item.kind == "time_entry":
                    self.entries.discard(item.id)
            elif isinstance(item, Task):
                self.tasks[item.id] = item
            elif isinstance(item, Assignment):
                self.assignments[item.id] = item
            else:
                if isinstance(item, Project | Person):
                    self.directory.setdefault("project" if isinstance(item, Project) else "person", {})[
                        item.id] = item.name
                self.ignored[stream] += 1

    def entry_deletions(self) -> list[Deletion]:
        """The time-entry deletions (the deletion feeds also report tasks)."""
        return [deletion for deletion in self.deletions.values() if deletion.kind == "time_entry"]

    def task_deletions(self) -> list[Deletion]:
        """The task deletions."""
        return [deletion for deletion in self.deletions.values() if deletion.kind == "task"]
