"""Command building: every command the reconcile step emits is made here, and only here."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from timesync.adapters import ADAPTERS
from timesync.ledger import Pair, PairKind, PairState
from timesync.links import Options
from timesync.model import Assignment, Deletion, Direction, Side, Task, to_json_ready
from timesync.reconcile.commands import CommandKind
from timesync.reconcile.plan import EntryWrite
from timesync.reconcile.rules import Action, Change

# The time-entry command kinds of each target side, by what the command does.
ENTRY_COMMANDS: dict[Side, dict[str, CommandKind]] = {
    Side.TIMELOG: {"create": CommandKind.WORK_CREATE, "update": CommandKind.WORK_UPDATE,
                   "delete": CommandKind.WORK_DELETE},
    Side.FORECAST: {"create": CommandKind.REGISTRATION_CREATE, "update": CommandKind.REGISTRATION_UPDATE,
                    "delete": CommandKind.REGISTRATION_DELETE},
}
PROJECT_TIME_EXTERNAL_KEY = "project-{project}"


def dependency(kind: PairKind, forecast_id: str, native_field: str, snapshot_field: str) -> dict[str, str]:
    """A ``depends_on`` entry: a TimeLog id the target resolves from the ledger at write time."""
    return {"pair_kind": str(kind), "forecast_id": forecast_id, "field": native_field,
            "snapshot_field": snapshot_field}


def replayed(pairs: Iterable[Pair]) -> list[dict[str, Any]]:
    """The unconfirmed commands of ``pairs`` again, as recorded: looked up first, since they may have landed."""
    return [{**command, "lookup_first": True} for pair in pairs for command in pair.pending]


class CommandBuilder:
    """Builds the commands of one direction from what the planner decided (unnumbered; the plan numbers them)."""

    def __init__(self, direction: Direction, options: Options) -> None:
        self.direction, self.options = direction, options
        self.target = direction.target
        self.adapter = ADAPTERS[self.target]
        self.kinds = ENTRY_COMMANDS[self.target]

    # -- tasks and allocations (Forecast to TimeLog) ---------------------------------------------------------

    def task_upsert(self, task: Task, action: Action, pair: Pair | None, timelog_project: str,
                    parent_twin: str | None) -> dict[str, Any]:
        """A Forecast task's TimeLog twin, created or updated; its external key is the Forecast id.

        ``parent_twin``: the parent task's TimeLog id, None while it is unknown (then resolved at write time).
        """
        depends = ([dependency(PairKind.TASK, task.parent_id, "parent_task_id", "parent")]
                   if task.parent_id and parent_twin is None else [])
        image = replace(task, side=Side.TIMELOG, id=pair.timelog_id or "" if pair else "", project_id=timelog_project,
                        parent_id=parent_twin, external_ids=(task.id,))
        return self._command(
            CommandKind.TASK_UPSERT, action, PairKind.TASK, task.id, canonical=task,
            native=self.adapter.task_payload(image), twin_id=pair.timelog_id if pair else None,
            source_snapshot=task.snapshot(), twin_snapshot=image.snapshot(), depends_on=depends,
            lookup_first=pair is not None and pair.state is PairState.CREATING, external_key=task.id,
        )

    def project_time_task(self, forecast_project: str, timelog_project: str, pair: Pair | None) -> dict[str, Any]:
        """The TimeLog task that holds a linked project's Forecast time without a task (created once)."""
        external_key = PROJECT_TIME_EXTERNAL_KEY.format(project=forecast_project)
        image = Task(side=Side.TIMELOG, id="", project_id=timelog_project, name=self.options.project_time_task,
                     external_ids=(external_key,))
        return self._command(
            CommandKind.TASK_UPSERT, Action.CREATE, PairKind.PROJECT_TIME_TASK, forecast_project, canonical=image,
            native=self.adapter.task_payload(image), source_snapshot={"project": forecast_project},
            twin_snapshot=image.snapshot(), lookup_first=pair is not None, external_key=external_key,
        )

    def allocation(self, assignment: Assignment, task_twin: str | None, employee: str,
                   pair: Pair | None) -> dict[str, Any]:
        """The employee allocated to the task's TimeLog twin (resolved at write time while ``task_twin`` is None)."""
        return self._command(
            CommandKind.ALLOCATION, Action.CREATE, PairKind.ALLOCATION, assignment.id, canonical=assignment,
            native={"task_id": int(task_twin) if task_twin else None, "employee_id": int(employee)},
            source_snapshot={"task": assignment.task_id, "person": assignment.person_id},
            twin_snapshot={"task": task_twin, "person": employee},
            depends_on=[] if task_twin else [dependency(PairKind.TASK, assignment.task_id, "task_id", "task")],
            lookup_first=pair is not None,
        )

    # -- time entries ----------------------------------------------------------------------------------------

    def entry_commands(self, write: EntryWrite) -> list[dict[str, Any]]:
        """The commands of one planned entry: as many as ``write.count`` says."""
        entry, image, task_ref, pair = write.entry, write.image, write.task_ref, write.pair
        twin_snapshot = image.snapshot()
        depends = ([dependency(task_ref.pair_kind, task_ref.forecast_id, "task_id", "task")]
                   if task_ref is not None and image.task_id is None else [])
        source_change = Change.CHANGED if write.stale_intent else write.source_change
        common: dict[str, Any] = {
            "canonical": entry, "source_snapshot": entry.snapshot(), "twin_snapshot": twin_snapshot,
            "source_change": source_change, "source_updated_at": entry.updated_at}
        twin_id = pair.id_on(self.target) if pair else None
        base_twin = pair.base_on(self.target) if pair else None
        if write.stale_intent:
            # The source changed after an unconfirmed create: a twin made from the old intent may exist. Remove
            # it (found by the old fingerprint, only if untouched) and create the new one, as the halves of a move.
            return [self._entry_delete(entry.id, Action.MOVE, None, write.stale_intent, lookup_first=True,
                                       fingerprint=write.stale_intent, **common),
                    self._entry_create(write, Action.MOVE, depends, lookup_first=True, **common)]
        if write.action is Action.CREATE:
            return [self._entry_create(write, Action.CREATE, depends, lookup_first=pair is not None, **common)]
        if write.action is Action.UPDATE:
            return [self._command(
                self.kinds["update"], Action.UPDATE, PairKind.TIME_ENTRY, entry.id, twin_id=twin_id,
                native=self.adapter.entry_payload(image, update=True), expected_base=base_twin,
                depends_on=depends, **common)]
        if write.action is Action.MOVE:
            return [self._entry_delete(entry.id, Action.MOVE, twin_id, base_twin, **common),
                    self._entry_create(write, Action.MOVE, depends, lookup_first=True, **common)]
        return []

    def entry_deletion(self, deletion: Deletion, pair: Pair) -> dict[str, Any]:
        """Delete a deleted entry's twin; an unconfirmed create's twin is found by its fingerprint first."""
        creating = pair.state is PairState.CREATING
        expected = json.loads(pair.fingerprint) if creating and pair.fingerprint else pair.base_on(self.target)
        return self._entry_delete(
            deletion.id, Action.DELETE, pair.id_on(self.target), expected, lookup_first=creating,
            fingerprint=expected if creating else None, canonical=deletion,
            source_snapshot=pair.base_on(self.direction.source), twin_snapshot=None, source_change=Change.DELETED)

    def _entry_create(self, write: EntryWrite, action: Action, depends: list[dict[str, str]], *,
                      lookup_first: bool, **common: Any) -> dict[str, Any]:
        """Create the twin; the fingerprint finds it again after a crash."""
        return self._command(
            self.kinds["create"], action, PairKind.TIME_ENTRY, write.entry.id,
            native=self.adapter.entry_payload(write.image, update=False), depends_on=depends,
            lookup_first=lookup_first, fingerprint=common["twin_snapshot"], **common)

    def _entry_delete(self, source_id: str, action: Action, twin_id: str | None,
                      expected_base: dict[str, Any] | None, **common: Any) -> dict[str, Any]:
        """Delete the twin if it still equals ``expected_base`` (the lease)."""
        return self._command(self.kinds["delete"], action, PairKind.TIME_ENTRY, source_id, native={},
                             twin_id=twin_id, expected_base=expected_base, **common)

    # -- the command ------------------------------------------------------------------------------------------

    def _command(self, kind: CommandKind, action: Action, pair_kind: PairKind, source_id: str, *,
                 canonical: Any, native: dict[str, Any], twin_id: str | None = None,
                 source_snapshot: dict[str, Any] | None = None, twin_snapshot: dict[str, Any] | None = None,
                 expected_base: dict[str, Any] | None = None, source_change: Change | None = None,
                 depends_on: list[dict[str, str]] | None = None, lookup_first: bool = False,
                 external_key: str | None = None, fingerprint: dict[str, Any] | None = None,
                 source_updated_at: Any = None) -> dict[str, Any]:
        """One record of the `commands` stream (COMMAND_SCHEMA), numbered later."""
        options = self.options
        return {
            "command_id": "", "run_id": 0, "seq": 0, "pair_id": 0,
            "direction": str(self.direction), "kind": str(kind), "action": str(action),
            "pair_kind": str(pair_kind), "source_id": source_id, "twin_id": twin_id,
            "canonical": to_json_ready(canonical), "native": to_json_ready(native),
            "source_snapshot": source_snapshot, "twin_snapshot": twin_snapshot, "expected_base": expected_base,
            "source_change": str(source_change or (Change.NEW if action is Action.CREATE else Change.CHANGED)),
            "depends_on": depends_on or [], "lookup_first": lookup_first, "external_key": external_key,
            "fingerprint": fingerprint, "conflict_policy": str(options.conflict_policy),
            "delete_policy": str(options.delete_policy), "source_updated_at": to_json_ready(source_updated_at),
        }
