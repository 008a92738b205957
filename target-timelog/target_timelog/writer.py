"""TimeLog writes for target-timelog: task upserts, allocations and work, through the shared SOAP client."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from timelog_api.client import EMPLOYEES_PAGE_SIZE, TimeLogClient
from timelog_api.convert import duration_to_minutes, minutes_to_duration, to_date, to_guid
from timelog_api.errors import TimeLogApiError, TimeLogConfigError
from timelog_api.registration import additional_text_required, registration_settings
from timelog_api.responses import BatchItemResult
from timelog_api.services import Service
from timesync.adapters import TimeLogAdapter
from timesync.adapters.timelog import APPROVED_STATUS_MIN, work_description
from timesync.ledger import Outcome, UnresolvedDependencyError
from timesync.model import TimeEntry, minutes_from_hours, parse_date
from timesync.reconcile.apply import OutcomeRecorder
from timesync.reconcile.commands import CommandKind
from timesync.reconcile.lease import check_lease, find_created, move_create_allowed

logger = logging.getLogger(__name__)

#: InsertWork `source`: "Externals should use 0" (TimeLog's docs).
WORK_SOURCE = 0
#: Work units per InsertWork/UpdateWork/DeleteWork call. TimeLog documents no limit; this keeps a call small.
DEFAULT_WORK_BATCH_SIZE = 100
#: A lease re-read that misses a unit on its base date (its date was edited) searches this far either side.
LEASE_SEARCH_DAYS = 400
#: Words in TimeLog's per-item message when a week is closed or an entry approved (pair state `locked`).
LOCK_MARKERS = ("closed", "approved", "locked")
#: AddEmployeeToTask budget when the sync allocates someone: unknown, and TimeLog documents 0 for that.
ALLOCATION_BUDGET_HOURS = 0.0
#: Work units carry a GUID the sync chooses, derived from the source entry and its content, so a retried
#: InsertWork cannot create a second unit and a crash-recovery lookup recognises the unit it made.
WORK_GUID_NAMESPACE = uuid.UUID("5b0f3c1e-8a57-4c1e-9a0d-3f4e2b7d9c61")
TASK_GUID_NAMESPACE = uuid.UUID("0c7d2f4a-6b1e-4d8f-8e3a-9f2b5c1d7e40")
WORK_KINDS = (CommandKind.WORK_DELETE, CommandKind.WORK_UPDATE, CommandKind.WORK_CREATE)
MOVE_REFUSED = "move: the delete half did not happen, so the create half waits"
#: How a date renders for .NET's DateTime.MinValue, WCF's "no value".
NET_MIN_DATE = "0001-"


def is_lock_message(message: str | None) -> bool:
    """Whether TimeLog refused an item because its week is closed or it is approved."""
    return any(marker in (message or "").lower() for marker in LOCK_MARKERS)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _midnight(day: str | dt.date) -> dt.datetime:
    """A calendar date as TimeLog's naive dateTime at 00:00 (never shifted by a time zone)."""
    return dt.datetime.combine(parse_date(day), dt.time())


def _hours(value: str | None) -> float | None:
    """The adapter's exact decimal hours as the double TimeLog's contract wants (explicit, never implicit)."""
    return None if value is None else float(Decimal(value))


class ItemRefusedError(Exception):
    """TimeLog refused one item (per-item `Invalid`, or a lookup that cannot succeed): recorded, the run goes on."""


@dataclass
class WorkWrite:
    """One work command on its way to a batch call: the resolved command and what the call needs."""

    command: dict[str, Any]
    initials: str
    guid: str | None = None
    current: TimeEntry | None = None
    #: The WorkUnit as the lease re-read it: what an UpdateWork sends back, changed only where the sync owns it.
    current_item: Mapping[str, Any] | None = None
    additional_text: str | None = None


class TimeLogWriter:
    """Applies batches of commands: tasks (parents first), then allocations, then work in batched calls.

    One writer serves the whole run, so the employees' initials, the allocations and the external-key check are
    read once per run, not once per batch.
    """

    def __init__(self, client: TimeLogClient, recorder: OutcomeRecorder, *, system_name: str,
                 work_batch_size: int = DEFAULT_WORK_BATCH_SIZE, additional_text: str | None = None) -> None:
        self.client, self.recorder = client, recorder
        self.system_name, self.work_batch_size = system_name, work_batch_size
        self.additional_text = additional_text
        self._registration_settings: Mapping[str, Any] | None = None
        self._text_required_on: dict[int, bool] = {}
        self._unit_items: dict[str, Mapping[str, Any]] = {}
        self.adapter = TimeLogAdapter()
        self._initials: dict[int, str] | None = None
        self._allocated: dict[str, set[int]] = {}
        self._projects: dict[int, tuple[dt.date, dt.date]] = {}
        self._keys_verified = False
        self._ledger_settled = False

    def _batch(self, operation: str, /, **params: Any) -> list[BatchItemResult]:
        """A ProjectManagementService batch write: one result per item sent, in order."""
        return self.client.batch(Service.PROJECT_MANAGEMENT, operation, **params)

    def apply(self, commands: list[dict[str, Any]]) -> None:
        """Tasks, then allocations, then work: what a later phase needs is created (and recorded) first."""
        by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for command in commands:
            by_kind[command["kind"]].append(command)
        tasks = _dependencies_first(by_kind.pop(CommandKind.TASK_UPSERT, []))
        self._refuse_a_lost_ledger(tasks)
        for command in tasks:
            self._run_one(command, self._task)
        for command in by_kind.pop(CommandKind.ALLOCATION, []):
            self._run_one(command, self._allocation)
        work = [command for kind in WORK_KINDS for command in by_kind.pop(kind, [])]
        for command in (c for unknown in by_kind.values() for c in unknown):
            self.recorder.outcome(command, Outcome.FAILED,
                                  message=f"target-timelog cannot apply a {command['kind']!r} command")
        self._work([resolved for resolved in map(self._resolve, work) if resolved is not None])

    def _refuse_a_lost_ledger(self, tasks: list[dict[str, Any]]) -> None:
        """Before a batch writes anything on a ledger with no settled pair (a first sync, or a ledger lost along
        with Meltano's state, which looks the same): no task it creates may already carry our external key. One
        that does means TimeLog was synced from a ledger this one is not, and creating the time would write every
        hour twice. Costs one lookup per new task, on a first sync only."""
        if self._ledger_settled or not tasks:
            return
        if self.recorder.ledger.has_settled_pairs():
            self._ledger_settled = True
            return
        for command in tasks:
            if command["action"] != "create" or command.get("lookup_first"):
                continue  # a replayed create is the crash case: the ledger knows it, and the lookup adopts it
            key = command.get("external_key") or command["source_id"]
            existing = self.find_task(key)
            if existing is not None:
                raise TimeLogConfigError(
                    f"TimeLog task {existing.get('TaskID')} already carries external key {self.system_name!r}/{key} "
                    f"(Forecast task {key}), but this ledger has never synced it: the ledger was lost or replaced, "
                    "probably with Meltano's state, or another integration synced these accounts before. Nothing "
                    "was written. Point ledger_url at the ledger the earlier runs used, or restore the newest "
                    "backup of it and of Meltano's system database (README 'A lost ledger').")

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
            self._refused(resolved, exc)

    def _refused(self, command: dict[str, Any], exc: Exception) -> None:
        """Record a refusal of one item: `locked` for a closed week or an approved entry, else `failed`."""
        self.recorder.outcome(command, Outcome.LOCKED if is_lock_message(str(exc)) else Outcome.FAILED,
                              message=str(exc))

    # -- employees and allocations ----------------------------------------------------------------------------

    def _employees(self) -> dict[int, str]:
        """EmployeeID -> initials (InsertWork and the work reads name employees by initials), read once per run."""
        if self._initials is None:
            self._initials = dict(self.client.paged(
                Service.ORGANISATION, "GetEmployeesPaged", page_size=EMPLOYEES_PAGE_SIZE,
                parse=lambda e: (int(e["EmployeeID"]), str(e["Initials"]))))
        return self._initials

    def initials_of(self, employee_id: int) -> str:
        """The initials of an EmployeeID."""
        initials = self._employees().get(employee_id)
        if initials is None:
            raise ItemRefusedError(f"TimeLog has no employee with EmployeeID {employee_id}; check the persons in "
                                   "links.yml")
        return initials

    def employee_of(self, initials: str) -> int | None:
        """The EmployeeID of some initials."""
        wanted = initials.lower()
        return next((eid for eid, known in self._employees().items() if known.lower() == wanted), None)

    def _allocations(self, initials: str, *, refresh: bool = False) -> set[int]:
        if refresh or initials not in self._allocated:
            items = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetAllocationsToEmployee", initials=initials)
            self._allocated[initials] = {int(item["TaskID"]) for item in items}
        return self._allocated[initials]

    def ensure_allocated(self, employee_id: int, task_id: int) -> bool:
        """Allocate the employee to the task unless already allocated; True when this call allocated them."""
        initials = self.initials_of(employee_id)
        if task_id in self._allocations(initials):
            return False
        [result] = self._batch("AddEmployeeToTask", employeeID=employee_id, taskID=task_id,
                                     BudgetHours=ALLOCATION_BUDGET_HOURS)
        if not result.ok and task_id not in self._allocations(initials, refresh=True):
            raise ItemRefusedError(f"AddEmployeeToTask employee {employee_id} task {task_id}: {result.message}")
        self._allocated[initials].add(task_id)
        return result.ok

    def _allocation(self, command: dict[str, Any]) -> None:
        native = command["native"]
        task_id, employee_id = int(native["task_id"]), int(native["employee_id"])
        self.ensure_allocated(employee_id, task_id)
        self.recorder.created(command, f"{task_id}:{employee_id}")

    # -- tasks ------------------------------------------------------------------------------------------------

    def find_task(self, external_key: str) -> dict[str, Any] | None:
        """The task carrying ``external_key`` under the configured system name, or None."""
        try:
            items = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByExternalKey", key=external_key,
                                      systemName=self.system_name)
        except TimeLogApiError as exc:
            if exc.state == "Invalid":  # TimeLog answers a lookup that finds nothing as Invalid (docs/assumptions.md)
                return None
            raise
        return items[0] if items else None

    def task_by_id(self, task_id: int) -> dict[str, Any]:
        """The whole task, external keys loaded: what an UpdateTask must send back."""
        found = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByID", taskID=task_id, loadExternalKeys=True)
        if not found:
            raise ItemRefusedError(f"TimeLog task {task_id} no longer exists")
        return found[0]

    def _task(self, command: dict[str, Any]) -> None:
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
        if not _task_matches(existing, command["native"]):
            self._update_task(existing, command, key)
        if command["action"] == "create" or command["twin_id"] is None:
            self.recorder.created(command, existing["TaskID"], message="task found by its external key")
        else:
            self.recorder.outcome(command, Outcome.UPDATED)

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
            "StartDate": _midnight(start), "EndDate": _midnight(max(end, start)), "ProjectSubContractID": 0,
            "State": {"IsActive": True},
        }

    def _project_dates(self, project_id: int) -> tuple[dt.date, dt.date]:
        """A project's start and end dates (read once per run), for tasks that have none in Forecast."""
        if project_id not in self._projects:
            found = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetProjectByID", projectID=project_id,
                                      loadExternalKeys=False)
            if not found:
                raise ItemRefusedError(f"TimeLog has no project {project_id}; check the projects in links.yml")
            start, end = to_date(found[0].get("StartDate")), to_date(found[0].get("EndDate"))
            if not start or start.startswith(NET_MIN_DATE):
                raise ItemRefusedError(f"TimeLog project {project_id} has no start date, and the Forecast task none "
                                       "either; give the task dates in Forecast or the project dates in TimeLog")
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
            task["StartDate"] = _midnight(native["start_date"])
        if native.get("end_date"):
            task["EndDate"] = _midnight(native["end_date"])
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

    def _our_key(self, key: str) -> dict[str, Any]:
        return {"SystemName": self.system_name, "ExternalID": key}

    # -- work -------------------------------------------------------------------------------------------------

    def _work(self, commands: list[dict[str, Any]]) -> None:
        writes: dict[str, list[WorkWrite]] = defaultdict(list)
        for command in commands:
            try:
                writes[command["kind"]].append(self._prepare(command))
            except (ItemRefusedError, TimeLogApiError) as exc:
                self._refused(command, exc)
        self._lease_check(writes[CommandKind.WORK_DELETE] + writes[CommandKind.WORK_UPDATE])
        self._run_batches("DeleteWork", [w for w in writes[CommandKind.WORK_DELETE] if w.guid])
        updates = self._with_additional_text([w for w in writes[CommandKind.WORK_UPDATE] if w.guid])
        self._run_batches("UpdateWork", self._allocated_for(updates))
        self._insert(writes[CommandKind.WORK_CREATE])

    def _prepare(self, command: dict[str, Any]) -> WorkWrite:
        """The employee's initials (a delete names its employee only in the base) and the twin's GUID."""
        person = command["native"].get("employee_id") or _base(command).get("person")
        if person is None:
            raise ItemRefusedError(f"command {command['command_id']} names no employee")
        return WorkWrite(command, self.initials_of(int(person)), guid=command.get("twin_id"))

    def _lease_check(self, writes: list[WorkWrite]) -> None:
        """Re-read each twin right before writing; only those equal to the expected base keep their GUID."""
        by_employee: dict[str, list[WorkWrite]] = defaultdict(list)
        for write in writes:
            by_employee[write.initials].append(write)
        for initials, group in by_employee.items():
            dates = [parse_date(_base(w.command)["date"]) for w in group if _base(w.command).get("date")]
            try:
                units = self._units(initials, min(dates, default=None), max(dates, default=None))
                missing = [w for w in group if w.guid and to_guid(w.guid) not in units]
                if missing and dates:  # a twin whose date was edited: look further
                    span = dt.timedelta(days=LEASE_SEARCH_DAYS)
                    units = self._units(initials, min(dates) - span, max(dates) + span)
            except TimeLogApiError as exc:
                self._refuse_all(group, exc)
                continue
            for write in group:
                self._check(write, units)

    def _refuse_all(self, writes: list[WorkWrite], exc: Exception) -> None:
        for write in writes:
            write.guid = None
            self._refused(write.command, exc)

    def _check(self, write: WorkWrite, units: Mapping[str, TimeEntry]) -> None:
        command = write.command
        current = units.get(to_guid(write.guid) or "") if write.guid else None
        if current is None and not write.guid and command.get("lookup_first"):
            current = find_created({**command, "fingerprint": _base(command)},
                                   self._unclaimed(command, units.values()))
        verdict = check_lease(command, current)
        if verdict.outcome is None:  # check_lease lets the write through exactly when it gives no outcome
            write.guid, write.current = (current.id if current else write.guid), current
            write.current_item = self._unit_items.get(current.id) if current else None
            return
        write.guid = None
        self.recorder.outcome(command, verdict.outcome, current=verdict.current, message=verdict.reason)

    def _allocated_for(self, writes: list[WorkWrite]) -> list[WorkWrite]:
        """The writes whose employee is (now) allocated to the task; the others are recorded as failed/locked."""
        ready = []
        for write in writes:
            native = write.command["native"]
            if not _same_task_and_employee(write):
                try:
                    self.ensure_allocated(int(native["employee_id"]), int(native["task_id"]))
                except (ItemRefusedError, TimeLogApiError) as exc:
                    self._refused(write.command, exc)
                    continue
            ready.append(write)
        return ready

    def _insert(self, writes: list[WorkWrite]) -> None:
        pending = []
        for write in writes:
            if not move_create_allowed(write.command, self.recorder.pair(write.command["pair_id"])):
                self.recorder.outcome(write.command, Outcome.SKIPPED, message=MOVE_REFUSED)
                continue
            write.guid = self.work_guid(write.command)
            pending.append(write)
        self._adopt([w for w in pending if w.command.get("lookup_first")])
        inserts = self._with_additional_text([w for w in pending if w.guid])
        self._run_batches("InsertWork", self._allocated_for(inserts))

    def work_guid(self, command: Mapping[str, Any]) -> str:
        """The GUID of the unit a create makes: the same for a retry of the same create, new for new content."""
        content = json.dumps(command.get("twin_snapshot") or command["native"], sort_keys=True)
        return str(uuid.uuid5(WORK_GUID_NAMESPACE, f"{self.system_name}/{command['source_id']}/{content}"))

    def _adopt(self, writes: list[WorkWrite]) -> None:
        """Creates that may have happened before a crash: the unit with our GUID, else one matching the
        fingerprint (person, date, task, minutes, note) that no other pair holds, is linked instead."""
        by_employee: dict[str, list[WorkWrite]] = defaultdict(list)
        for write in writes:
            by_employee[write.initials].append(write)
        for initials, group in by_employee.items():
            dates = [parse_date(w.command["native"]["date"]) for w in group]
            try:
                units = self._units(initials, min(dates), max(dates))
            except TimeLogApiError as exc:
                self._refuse_all(group, exc)
                continue
            claimed: set[str] = set()
            for write in group:
                found = units.get(write.guid or "") or find_created(
                    {**write.command, "fingerprint": _base(write.command)},
                    [u for u in self._unclaimed(write.command, units.values()) if u.id not in claimed])
                if found is not None:
                    claimed.add(found.id)
                    write.guid = None
                    self.recorder.created(write.command, found.id, message="found after an unconfirmed create")

    def _unclaimed(self, command: Mapping[str, Any], units: Iterable[TimeEntry]) -> list[TimeEntry]:
        return [u for u in units if not self.recorder.paired_elsewhere(command, u.id)]

    def _units(self, initials: str, first: dt.date | None, last: dt.date | None) -> dict[str, TimeEntry]:
        """The employee's work units between two dates, by GUID, as canonical entries."""
        if first is None or last is None:
            return {}
        items = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetEmployeeWork", initials=initials,
                                  startDate=_midnight(first), endDate=_midnight(last))
        units = {}
        for item in items:
            entry = self.unit_entry(item)
            if entry is not None:
                units[entry.id] = entry
                self._unit_items[entry.id] = item
        return units

    def unit_entry(self, unit: Mapping[str, Any]) -> TimeEntry | None:
        """A WorkUnit as a canonical entry, through the TimeLog adapter (as the tap's `work` record would be)."""
        employee = self.employee_of(str(unit.get("EmployeeInitials") or ""))
        project = ((unit.get("Details") or {}).get("ProjectHeader") or {}).get("ID")
        if employee is None or unit.get("GUID") is None:
            return None
        record = {
            "work_unit_guid": to_guid(unit["GUID"]), "employee_id": employee, "task_id": unit.get("TaskID"),
            "project_id": project, "date": to_date(unit.get("StartDateTime")),
            "minutes": duration_to_minutes(unit.get("Duration")), "note": unit.get("Description") or "",
            "approval_status": 0 if unit.get("IsEditable", True) else APPROVED_STATUS_MIN,
        }
        [entry] = self.adapter.to_canonical("work", record)
        assert isinstance(entry, TimeEntry)
        return entry

    def _work_unit(self, write: WorkWrite) -> dict[str, Any]:
        """The WorkUnit to send: for an update, the unit as TimeLog holds it with the sync's fields changed.

        WCF gives every member a request leaves out its default, so UpdateWork with only the sync's fields would
        clear the additional text, the billable duration and the meeting flag: the re-read unit goes back whole.
        A billable duration that equalled the duration follows it (the unit stays fully billable); one that a
        person set apart is kept.
        """
        native = write.command["native"]
        start = _midnight(native["date"])
        duration = minutes_to_duration(int(native["minutes"]))
        unit: dict[str, Any] = dict(write.current_item or {})
        if unit.get("BillableDuration") is not None and unit.get("BillableDuration") == unit.get("Duration"):
            unit["BillableDuration"] = duration
        unit.update({"GUID": write.guid, "TaskID": int(native["task_id"]), "EmployeeInitials": write.initials,
                     "Duration": duration, "StartDateTime": start, "EndDateTime": start + duration,
                     "Description": work_description(native.get("note"))})
        if write.additional_text:
            unit["AdditionalText"] = write.additional_text
        return unit

    # -- the site's time registration settings -----------------------------------------------------------------

    def _with_additional_text(self, writes: list[WorkWrite]) -> list[WorkWrite]:
        """The writes that can carry the additional text the site requires; the others are recorded as failed.

        TimeLog's GetTimeRegistrationSettings says whether a registration needs one: AdditionalTextFieldValidation
        0 never, 1 where the task's AdditionalTextIsRequired, 2 always. Forecast has no such field, so the
        `additional_text` setting supplies it; a unit that already has one keeps its own.
        """
        ready = []
        for write in writes:
            current = (write.current_item or {}).get("AdditionalText")
            try:
                if not current and self._text_required(int(write.command["native"]["task_id"])):
                    if not self.additional_text:
                        raise ItemRefusedError(
                            f"TimeLog requires an additional text on task {write.command['native']['task_id']} "
                            "(its time registration settings); set target-timelog's additional_text "
                            "(TARGET_TIMELOG_ADDITIONAL_TEXT) to the text the sync should enter")
                    write.additional_text = self.additional_text
            except (ItemRefusedError, TimeLogApiError) as exc:
                self._refused(write.command, exc)
                continue
            ready.append(write)
        return ready

    def _text_required(self, task_id: int) -> bool:
        if self._registration_settings is None:
            self._registration_settings = registration_settings(self.client)
        return additional_text_required(self._registration_settings, lambda: self._task_requires_text(task_id))

    def _task_requires_text(self, task_id: int) -> bool:
        if task_id not in self._text_required_on:
            self._text_required_on[task_id] = bool(self.task_by_id(task_id).get("AdditionalTextIsRequired"))
        return self._text_required_on[task_id]

    def _run_batches(self, operation: str, writes: list[WorkWrite]) -> None:
        """InsertWork/UpdateWork/DeleteWork in calls of ``work_batch_size`` units; each item's result recorded."""
        for chunk in _chunks(writes, self.work_batch_size):
            work = ({"guid": [w.guid for w in chunk]} if operation == "DeleteWork"
                    else {"WorkUnit": [self._work_unit(w) for w in chunk]})
            try:
                results = self._batch(operation, work=work, source=WORK_SOURCE)
            except TimeLogApiError as exc:  # the whole call refused (no per-item results): each item fails
                self._refuse_all(chunk, exc)
                continue
            if len(results) != len(chunk):
                raise TimeLogApiError(operation, "Malformed", f"{len(results)} results for {len(chunk)} items")
            for write, result in zip(chunk, results, strict=True):
                self._record(operation, write, result)

    def _record(self, operation: str, write: WorkWrite, result: BatchItemResult) -> None:
        command = write.command
        if result.ok:
            if operation == "InsertWork":
                guid = to_guid((result.item or {}).get("GUID")) or write.guid
                assert guid is not None  # _insert sends only writes with a GUID
                self.recorder.created(command, guid)
            elif operation == "DeleteWork":
                outcome = Outcome.MOVE_DELETED if command["action"] == "move" else Outcome.DELETED
                self.recorder.outcome(command, outcome)
            else:
                self.recorder.outcome(command, Outcome.UPDATED)
            return
        if operation == "InsertWork" and self._exists(write):  # a retried call whose first attempt had succeeded
            self.recorder.created(command, write.guid or "")
            return
        outcome = Outcome.LOCKED if is_lock_message(result.message) else Outcome.FAILED
        self.recorder.outcome(command, outcome, current=write.current.snapshot() if write.current else None,
                              message=f"{operation}: {result.message}")

    def _exists(self, write: WorkWrite) -> bool:
        day = parse_date(write.command["native"]["date"])
        return to_guid(write.guid) in self._units(write.initials, day, day)


def _same_task_and_employee(write: WorkWrite) -> bool:
    """Whether an update keeps the unit (as re-read for the lease) on its task and employee: the employee is
    allocated then (TimeLog accepted the unit there), so no allocation check is needed."""
    native, current = write.command["native"], write.current
    return current is not None and current.task_id == str(native.get("task_id")) \
        and current.person_id == str(native.get("employee_id"))


def _base(command: Mapping[str, Any]) -> dict[str, Any]:
    """What the twin looked like (or should look like): expected base, else fingerprint, else intended image."""
    return command.get("expected_base") or command.get("fingerprint") or command.get("twin_snapshot") or {}


def _external_keys(task: Mapping[str, Any]) -> list[dict[str, Any]]:
    wrapper = task.get("ExternalKeys") or {}
    return list((wrapper.get("ExternalSystemContext") if isinstance(wrapper, Mapping) else wrapper) or [])


def _task_matches(existing: Mapping[str, Any], native: Mapping[str, Any]) -> bool:
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


def _dependencies_first(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Task commands ordered so one whose parent is created in the same batch comes after it."""
    by_source = {(c["pair_kind"], c["source_id"]): c for c in commands}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(command: dict[str, Any], depth: int = 0) -> None:
        if command["command_id"] in placed or depth > len(commands):
            return
        for ref in command.get("depends_on") or []:
            parent = by_source.get((ref["pair_kind"], ref["forecast_id"]))
            if parent is not None:
                place(parent, depth + 1)
        placed.add(command["command_id"])
        ordered.append(command)

    for command in commands:
        place(command)
    return ordered
