"""TimeLog task writes: creates and updates by external key, parents first, whole tasks sent back."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from target_timelog.common import DEFAULT_MAX_CONCURRENCY, ItemRefusedError, midnight, run_concurrently
from timelog_api.convert import to_date
from timelog_api.errors import TimeLogConfigError
from timelog_api.services import Service
from timelog_api.tasks import task_by_external_key
from timesync.model import minutes_from_hours, parse_date
from timesync.reconcile.apply import OutcomeRecorder
from timesync.states import Outcome

if TYPE_CHECKING:  # the zeep client is built on the first batch: a run with nothing to write imports no zeep
    from timelog_api.client import TimeLogClient
    from timelog_api.responses import BatchItemResult

TASK_GUID_NAMESPACE = uuid.UUID("0c7d2f4a-6b1e-4d8f-8e3a-9f2b5c1d7e40")
#: How a date renders for .NET's DateTime.MinValue, WCF's "no value".
NET_MIN_DATE = "0001-"


def _hours(value: str | None) -> float | None:
    """The adapter's exact decimal hours as the double TimeLog's contract wants (explicit, never implicit)."""
    return None if value is None else float(Decimal(value))


class TaskWriter:
    """Task upserts. The external-key check and the projects' dates are read once per run."""

    def __init__(self, client: TimeLogClient, recorder: OutcomeRecorder, *, system_name: str,
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        self.client, self.recorder, self.system_name = client, recorder, system_name
        self.max_concurrency = max_concurrency
        self._projects: dict[int, tuple[dt.date, dt.date]] = {}
        self._keys_verified = False
        self._ledger_settled = False
        # One GetProjectByID per project, and one external-key check per run, however many tasks ask at once.
        self._projects_lock, self._keys_lock = threading.Lock(), threading.Lock()

    def _batch(self, operation: str, /, **params: Any) -> list[BatchItemResult]:
        """A ProjectManagementService batch write: one result per item sent, in order."""
        return self.client.batch(Service.PROJECT_MANAGEMENT, operation, **params)

    def refuse_a_lost_ledger(self, tasks: list[dict[str, Any]]) -> None:
        """Before a batch writes anything on a ledger with no settled pair (a first sync, or a ledger lost along
        with Meltano's state, which looks the same): no task it creates may already carry our external key. One
        that does means TimeLog was synced from a ledger this one is not, and creating the time would write every
        hour twice. Costs one lookup per new task, on a first sync only."""
        if self._ledger_settled or not tasks:
            return
        if self.recorder.ledger.has_settled_pairs():
            self._ledger_settled = True
            return
        # A replayed create is the crash case: the ledger knows it, and the lookup adopts it.
        new = [c for c in tasks if c["action"] == "create" and not c.get("lookup_first")]
        run_concurrently(self._refuse_if_keyed, new, self.max_concurrency)

    def _refuse_if_keyed(self, command: dict[str, Any]) -> None:
        """Refuse the run when a task this batch would create already carries our external key."""
        key = command.get("external_key") or command["source_id"]
        existing = self.find_task(key)
        if existing is not None:
            raise TimeLogConfigError(
                f"TimeLog task {existing.get('TaskID')} already carries external key {self.system_name!r}/{key} "
                f"(Forecast task {key}), but this ledger has never synced it: the ledger was lost or replaced, "
                "probably with Meltano's state, or another integration synced these accounts before. Nothing "
                "was written. Point ledger_url at the ledger the earlier runs used, or restore the newest "
                "backup of it and of Meltano's system database (README 'A lost ledger').")

    def find_task(self, external_key: str) -> dict[str, Any] | None:
        """The task carrying ``external_key`` under the configured system name, or None."""
        return task_by_external_key(self.client, external_key, self.system_name)

    def task_by_id(self, task_id: int) -> dict[str, Any]:
        """The whole task, external keys loaded: what an UpdateTask must send back."""
        found = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByID", taskID=task_id, loadExternalKeys=True)
        if not found:
            raise ItemRefusedError(f"TimeLog task {task_id} no longer exists")
        return found[0]

    def upsert(self, command: dict[str, Any]) -> None:
        key = command.get("external_key") or command["source_id"]
        # A first create needs no lookup (invariant 3 asks for one only before a re-create); an update must read
        # the task it compares against.
        existing = self._existing_task(command, key) if command.get("lookup_first") or command.get("twin_id") \
            else None
        if existing is None:
            created = self._create_task(command, key)
            if isinstance(created, int):
                self.recorder.created(command, created)
                self._verify_external_keys(key)
                return
            existing = created
        if not task_matches(existing, command["native"]):
            self._update_task(existing, command, key)
        moved = self._move_task(existing, command, key) if command["action"] == "move" else None
        if command["action"] == "create" or command["twin_id"] is None:
            self.recorder.created(command, existing["TaskID"], message="task found by its external key")
        else:
            self.recorder.outcome(command, Outcome.UPDATED, message=moved)

    def _existing_task(self, command: dict[str, Any], key: str) -> dict[str, Any] | None:
        """The task by its external key, else by the twin id the ledger holds (a task whose key was removed)."""
        existing = self.find_task(key)
        if existing is None and command.get("twin_id"):
            try:
                existing = self.task_by_id(int(command["twin_id"]))
            except ItemRefusedError:
                raise ItemRefusedError(f"TimeLog task {command['twin_id']} (Forecast task {key}) no longer exists") \
                    from None
        return existing

    def _verify_external_keys(self, key: str) -> None:
        """Once per run, after the first create: the new task must be found by its key, or every later run would
        create it again. TimeLog keeps keys only for system names defined in its API settings."""
        with self._keys_lock:
            if self._keys_verified:
                return
            if self.find_task(key) is None:
                raise TimeLogConfigError(
                    f"TimeLog stored no external key {self.system_name!r}/{key} on the task just created; define the "
                    f"external system {self.system_name!r} in TimeLog's API settings or change external_system_name. "
                    "The run stops so no task is created twice.")
            self._keys_verified = True

    def _create_task(self, command: dict[str, Any], key: str) -> int | dict[str, Any]:
        """The new task's TaskID; or, when TimeLog refused it because a task with our GUID or external key exists
        (a retried call whose first attempt had succeeded, or a ledger that lost the pair), that task."""
        native = command["native"]
        project_id = int(native["project_id"])
        task = self._new_task(native, key, project_id)
        parent = native.get("parent_task_id")
        if parent:
            [result] = self._batch("CreateSubTask", task=task, parentTaskId=int(parent), projectID=project_id)
        else:
            [result] = self._batch("CreateTask", task=task, projectID=project_id)
        if result.ok and result.item:
            return int(result.item["TaskID"])
        existing = self.find_task(key)
        if existing is not None:
            return existing
        raise ItemRefusedError(f"{'CreateSubTask' if parent else 'CreateTask'} for Forecast task {key}: "
                               f"{result.message}")

    def _new_task(self, native: Mapping[str, Any], key: str, project_id: int) -> dict[str, Any]:
        """A whole Task for CreateTask: what TimeLog's SDK sample sets (an active state, start and end dates; the
        project's dates where the Forecast task has none), our external key, and a GUID derived from it."""
        project_start, project_end = self._project_dates(project_id)
        start = parse_date(native["start_date"]) if native.get("start_date") else project_start
        end = parse_date(native["end_date"]) if native.get("end_date") else max(project_end, start)
        return {
            "Action": "Created", "IsCustomFieldsLoaded": False, "IsExternalKeysLoaded": True,
            "ExternalKeys": {"ExternalSystemContext": [self._our_key(key)]},
            "ID": str(uuid.uuid5(TASK_GUID_NAMESPACE, f"{self.system_name}/{key}")), "Name": native["name"],
            "No": "", "Description": "", "BudgetHours": _hours(native.get("budget_hours")) or 0.0,
            "StartDate": midnight(start), "EndDate": midnight(max(end, start)), "ProjectSubContractID": 0,
            "State": {"IsActive": True},
        }

    def _project_dates(self, project_id: int) -> tuple[dt.date, dt.date]:
        """A project's start and end dates (read once per run), for tasks that have none in Forecast."""
        with self._projects_lock:
            if project_id not in self._projects:
                found = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetProjectByID", projectID=project_id,
                                          loadExternalKeys=False)
                if not found:
                    raise ItemRefusedError(f"TimeLog has no project {project_id}; check the projects in links.yml")
                start, end = to_date(found[0].get("StartDate")), to_date(found[0].get("EndDate"))
                if not start or start.startswith(NET_MIN_DATE):
                    raise ItemRefusedError(f"TimeLog project {project_id} has no start date, and the Forecast task "
                                           "none either; give the task dates in Forecast or the project dates in "
                                           "TimeLog")
                first = parse_date(start)
                last = parse_date(end) if end and not end.startswith(NET_MIN_DATE) else first
                self._projects[project_id] = (first, max(first, last))
            return self._projects[project_id]

    def _update_task(self, existing: dict[str, Any], command: dict[str, Any], key: str) -> None:
        """UpdateTask with the whole task as TimeLog holds it, changed only where the sync owns it.

        WCF gives every member a request leaves out its default, so a partial Task would clear the number, the
        description, the state and other systems' external keys: the task is re-read with its keys and sent back.
        """
        current = existing if existing.get("IsExternalKeysLoaded") else self.task_by_id(int(existing["TaskID"]))
        native = command["native"]
        task = dict(current)
        task["Name"] = native["name"]
        if native.get("start_date"):
            task["StartDate"] = midnight(native["start_date"])
        if native.get("end_date"):
            task["EndDate"] = midnight(native["end_date"])
        if isinstance(task.get("StartDate"), dt.datetime) and isinstance(task.get("EndDate"), dt.datetime):
            task["EndDate"] = max(task["EndDate"], task["StartDate"])
        if native.get("budget_hours") is not None:
            task["BudgetHours"] = _hours(native["budget_hours"])
        others = [k for k in _external_keys(current) if (k.get("SystemName") or "").lower() != self.system_name.lower()]
        task["ExternalKeys"] = {"ExternalSystemContext": [*others, self._our_key(key)]}
        task["IsExternalKeysLoaded"] = True
        header = (current.get("Details") or {}).get("ProjectHeader") or {}
        project_id = int(header.get("ID") or native["project_id"])
        [result] = self._batch("UpdateTask", task=task, projectID=project_id)
        if not result.ok:
            raise ItemRefusedError(f"UpdateTask {current['TaskID']} (Forecast task {key}): {result.message}")

    def _move_task(self, existing: dict[str, Any], command: dict[str, Any], key: str) -> str | None:
        """MoveTaskUnderParentTask when the task is not under the parent the command names yet (a replay after a
        crash finds it moved and calls nothing). The task goes re-read, as it is now, in case TimeLog applies its
        data properties too; its contract stays (changeToParentContract false: a move must not change billing)."""
        parent = command["native"].get("parent_task_id")
        if not parent:
            # The planner reports a move to the top level instead (MoveTaskUnderParentTask needs a parent task).
            raise ItemRefusedError(f"Forecast task {key} has no parent to move its TimeLog task under")
        task_id = int(existing["TaskID"])
        if _parent_of(existing) == int(parent):
            return None
        current = self.task_by_id(task_id)
        if _parent_of(current) == int(parent):
            return None
        self.client.fetch(Service.PROJECT_MANAGEMENT, "MoveTaskUnderParentTask", parentTaskID=int(parent),
                          task=current, changeToParentContract=False)
        return f"TimeLog task {task_id} moved under task {parent} (from {_parent_of(current) or 'the top level'})"

    def _our_key(self, key: str) -> dict[str, Any]:
        return {"SystemName": self.system_name, "ExternalID": key}


def _parent_of(task: Mapping[str, Any]) -> int:
    """The task's parent TaskID as TimeLog holds it; 0 at the top level."""
    return int((task.get("Details") or {}).get("ParentTaskID") or 0)


def _external_keys(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    wrapper = task.get("ExternalKeys") or {}
    return list((wrapper.get("ExternalSystemContext") if isinstance(wrapper, Mapping) else wrapper) or [])


def task_matches(existing: Mapping[str, Any], native: Mapping[str, Any]) -> bool:
    """Whether the TimeLog task already holds the name, dates and budget the command asks for."""
    def day(value: Any) -> str | None:
        text = to_date(value)
        return None if text is None or text.startswith("0001") else text

    budget = native.get("budget_hours")
    same_budget = budget is None or minutes_from_hours(Decimal(str(existing.get("BudgetHours") or 0))) == \
        minutes_from_hours(Decimal(budget))
    return (existing.get("Name") == native["name"] and same_budget
            and (native.get("start_date") is None or day(existing.get("StartDate")) == native["start_date"])
            and (native.get("end_date") is None or day(existing.get("EndDate")) == native["end_date"]))


def dependency_levels(commands: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Task commands in levels whose commands are independent of each other, so may run at once, each level in
    the batch's order: a sub-task comes in a later level than every command on its parent in the batch (replays
    can put it before them), and a command on a task in a later level than the batch's earlier ones on it."""
    by_task: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, command in enumerate(commands):
        by_task[(command["pair_kind"], command["source_id"])].append(index)
    level: dict[int, int] = {}
    visiting: set[int] = set()

    def level_of(index: int) -> int:
        if index not in level:
            if index in visiting:  # a cycle: left to the ledger, whose resolve fails the command it cannot place
                return 0
            visiting.add(index)
            command = commands[index]
            earlier = [i for i in by_task[(command["pair_kind"], command["source_id"])] if i < index]
            parents = [i for ref in command.get("depends_on") or []
                       for i in by_task.get((ref["pair_kind"], ref["forecast_id"]), [])]
            level[index] = max((level_of(i) + 1 for i in earlier + parents), default=0)
        return level[index]

    levels: list[list[dict[str, Any]]] = []
    for index, command in enumerate(commands):
        while len(levels) <= level_of(index):
            levels.append([])
        levels[level_of(index)].append(command)
    return levels
