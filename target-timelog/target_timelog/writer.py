"""TimeLog writes for target-timelog: each batch's tasks (parents first), then allocations, then work."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from target_timelog.common import DEFAULT_MAX_CONCURRENCY, ItemRefusedError, record_refusal, run_concurrently
from target_timelog.staff import Staff
from target_timelog.tasks import TaskWriter, dependency_levels
from target_timelog.work import DEFAULT_WORK_BATCH_SIZE, WorkWriter
from timelog_api.errors import TimeLogApiError
from timesync.reconcile.apply import OutcomeRecorder
from timesync.reconcile.commands import CommandKind
from timesync.states import Outcome, UnresolvedDependencyError

if TYPE_CHECKING:  # the zeep client is built on the first batch: a run with nothing to write imports no zeep
    from timelog_api.client import TimeLogClient

WORK_KINDS = (CommandKind.WORK_DELETE, CommandKind.WORK_UPDATE, CommandKind.WORK_CREATE)


class TimeLogWriter:
    """Applies batches of commands in the order their dependencies need, independent calls up to
    ``max_concurrency`` at once.

    One writer serves the whole run, so the employees' initials, the allocations and the external-key check are
    read once per run, not once per batch.
    """

    def __init__(self, client: TimeLogClient, recorder: OutcomeRecorder, *, system_name: str,
                 work_batch_size: int = DEFAULT_WORK_BATCH_SIZE, additional_text: str | None = None,
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        self.recorder, self.max_concurrency = recorder, max_concurrency
        self.staff = Staff(client)
        self.tasks = TaskWriter(client, recorder, system_name=system_name, max_concurrency=max_concurrency)
        self.work = WorkWriter(client, recorder, self.staff, self.tasks, system_name=system_name,
                               work_batch_size=work_batch_size, additional_text=additional_text,
                               max_concurrency=max_concurrency)

    def apply(self, commands: list[dict[str, Any]]) -> None:
        """Tasks level by level, then allocations, then work: what a later step needs is created (and recorded)
        first. Within a step the calls are independent and run side by side."""
        by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for command in commands:
            by_kind[command["kind"]].append(command)
        tasks = by_kind.pop(CommandKind.TASK_UPSERT, [])
        self.tasks.refuse_a_lost_ledger(tasks)
        for level in dependency_levels(tasks):  # a level's parents are recorded, so its commands resolve
            run_concurrently(partial(self._run_one, apply=self.tasks.upsert), level, self.max_concurrency)
        run_concurrently(partial(self._run_one, apply=self._allocation), by_kind.pop(CommandKind.ALLOCATION, []),
                         self.max_concurrency)
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
