"""TimeLog writes for target-timelog: each batch's tasks (parents first), then allocations, then work."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from target_timelog.common import ItemRefusedError, record_refusal
from target_timelog.staff import Staff
from target_timelog.tasks import TaskWriter, dependencies_first
from target_timelog.work import DEFAULT_WORK_BATCH_SIZE, WorkWriter
from timelog_api.errors import TimeLogApiError
from timesync.reconcile.apply import OutcomeRecorder
from timesync.reconcile.commands import CommandKind
from timesync.states import Outcome, UnresolvedDependencyError

if TYPE_CHECKING:  # the zeep client is built on the first batch: a run with nothing to write imports no zeep
    from timelog_api.client import TimeLogClient

WORK_KINDS = (CommandKind.WORK_DELETE, CommandKind.WORK_UPDATE, CommandKind.WORK_CREATE)


class TimeLogWriter:
    """Applies batches of commands in the order their dependencies need.

    One writer serves the whole run, so the employees' initials, the allocations and the external-key check are
    read once per run, not once per batch.
    """

    def __init__(self, client: TimeLogClient, recorder: OutcomeRecorder, *, system_name: str,
                 work_batch_size: int = DEFAULT_WORK_BATCH_SIZE, additional_text: str | None = None) -> None:
        self.recorder = recorder
        self.staff = Staff(client)
        self.tasks = TaskWriter(client, recorder, system_name=system_name)
        self.work = WorkWriter(client, recorder, self.staff, self.tasks, system_name=system_name,
                               work_batch_size=work_batch_size, additional_text=additional_text)

    def apply(self, commands: list[dict[str, Any]]) -> None:
        """Tasks, then allocations, then work: what a later phase needs is created (and recorded) first."""
        by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for command in commands:
            by_kind[command["kind"]].append(command)
        tasks = dependencies_first(by_kind.pop(CommandKind.TASK_UPSERT, []))
        self.tasks.refuse_a_lost_ledger(tasks)
        for command in tasks:
            self._run_one(command, self.tasks.upsert)
        for command in by_kind.pop(CommandKind.ALLOCATION, []):
            self._run_one(command, self._allocation)
        work = [command for kind in WORK_KINDS for command in by_kind.pop(kind, [])]
        for command in (c for unknown in by_kind.values() for c in unknown):
            self.recorder.outcome(command, Outcome.FAILED,
                                  message=f"target-timelog cannot apply a {command['kind']!r} command")
        self.work.apply([resolved for resolved in map(self._resolve, work) if resolved is not None])

    def _resolve(self, command: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.recorder.resolve(command)
        except UnresolvedDependencyError as exc:
            self.recorder.outcome(command, Outcome.FAILED, message=str(exc))
            return None

    def _run_one(self, command: dict[str, Any], apply: Callable[[dict[str, Any]], None]) -> None:
        resolved = self._resolve(command)
        if resolved is None:
            return
        try:
            apply(resolved)
        except (ItemRefusedError, TimeLogApiError) as exc:
            record_refusal(self.recorder, resolved, exc)

    def _allocation(self, command: dict[str, Any]) -> None:
        native = command["native"]
        task_id, employee_id = int(native["task_id"]), int(native["employee_id"])
        self.staff.ensure_allocated(employee_id, task_id)
        self.recorder.created(command, f"{task_id}:{employee_id}")
