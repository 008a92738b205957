"""The simulated TimeLog site: entities in memory, their indexes, and the business rules writes must pass.

Everything here speaks Python values (minutes, dates, entities); the SOAP and Reporting layers translate.
Reads are proportional to the page asked for: work is indexed by GUID and by date, the change log is kept
in time order, and full result orderings are cached until the next write (`revision`).
"""

from __future__ import annotations

import bisect
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.timelog.model import (
    APPROVED_CLOSED,
    TASK_STATUS_COMPLETED,
    TASK_STATUS_IN_PROGRESS,
    TASK_STATUS_NAMES,
    Allocation,
    ApiUser,
    ChangeEntry,
    ClosedPeriod,
    Customer,
    Department,
    Employee,
    ExternalKey,
    Project,
    ReportingCredentials,
    Task,
    WorkUnit,
    from_json,
    to_json,
)
from sandbox.timelog.options import (
    ADDITIONAL_TEXT_ALWAYS,
    ADDITIONAL_TEXT_NOT_VALIDATED,
    ADDITIONAL_TEXT_PER_TASK,
    ADDITIONAL_TEXT_TYPE_INTEGER,
    SiteOptions,
)

#: TimeLog keeps the work change log for three months.
CHANGE_LOG_RETENTION = timedelta(days=92)
#: A registration longer than a day is refused.
MAX_WORK_MINUTES = 24 * 60
#: What .NET's int.Parse accepts: an optional sign and digits, blanks around.
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
ACTION_CREATED, ACTION_UPDATED, ACTION_DELETED = "Created", "Updated", "Deleted"

#: The JSON sections of a snapshot and the entity each holds.
SECTIONS: dict[str, type] = {
    "departments": Department,
    "customers": Customer,
    "employees": Employee,
    "projects": Project,
    "tasks": Task,
    "allocations": Allocation,
    "work_units": WorkUnit,
    "change_log": ChangeEntry,
    "closed_periods": ClosedPeriod,
    "api_users": ApiUser,
}


class RefusedError(Exception):
    """A business rule refused one item; the message tells the client what to fix."""


@dataclass
class WorkInput:
    """One WorkUnit as InsertWork/UpdateWork receive it (absent members already at their WCF defaults)."""

    task_id: int
    start_at: datetime
    minutes: int
    description: str
    additional_text: str = ""
    billable_minutes: int | None = None
    is_meeting: bool = False


@dataclass
class TaskInput:
    """One Task as CreateTask/CreateSubTask/UpdateTask receive it (absent members at their WCF defaults)."""

    guid: str | None
    name: str = ""
    no: str = ""
    description: str = ""
    budget_hours: float = 0.0
    #: None for DateTime.MinValue (what an unset DateTime arrives as).
    start_date: date | None = None
    end_date: date | None = None
    additional_text_required: bool = False
    #: State.IsActive; False when State is absent.
    is_active: bool = False
    #: None unless IsExternalKeysLoaded is true.
    external_keys: list[ExternalKey] | None = None


def utc_now() -> datetime:
    """The site clock: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_guid() -> str:
    return str(uuid.uuid4())


def iso_week_bounds(week: str) -> tuple[date, date]:
    """"2026-W40" → (Monday, Sunday) of that ISO week."""
    try:
        year, number = week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError as exc:
        raise ValueError(f"week {week!r}: expected an ISO week such as 2026-W40") from exc
    return monday, monday + timedelta(days=6)


@dataclass
class Page:
    """One page of an ordered result."""

    items: list[Any]
    total_pages: int


def paginate(ordered: list[Any], page: int, page_size: int) -> Page:
    """Page `page` (from 1) of `ordered`; a page past the end is empty."""
    total_pages = -(-len(ordered) // page_size) if ordered else 0
    start = (page - 1) * page_size
    return Page(ordered[start:start + page_size], total_pages)


class Store:
    """All data of one simulated site, with indexes. Callers hold the app lock."""

    def __init__(self, data: dict | None = None, clock: Callable[[], datetime] = utc_now,
                 options: SiteOptions | None = None) -> None:
        self.clock = clock
        #: The site's settings; `load` (and so `/_sandbox/reset`) never touches them.
        self.options = options or SiteOptions()
        self._last_stamp = datetime.min
        self.load(data or {})

    # -- loading and snapshots -----------------------------------------------------------------------

    def load(self, data: dict) -> None:
        """Replace everything with `data` (the snapshot shape); unknown sections are an error."""
        unknown = sorted(set(data) - set(SECTIONS) - {"reporting"})
        if unknown:
            raise ValueError(f"timelog data: unknown section(s) {unknown}; known: {sorted(SECTIONS)} and reporting")
        parsed = {name: [from_json(cls, row, f"{name}[{i}]") for i, row in enumerate(data.get(name, []))]
                  for name, cls in SECTIONS.items()}
        reporting = data.get("reporting")
        self.reporting = from_json(ReportingCredentials, reporting, "reporting") if reporting else None
        self.departments: dict[int, Department] = {d.department_id: d for d in parsed["departments"]}
        self.customers: dict[int, Customer] = {c.customer_id: c for c in parsed["customers"]}
        self.employees: dict[int, Employee] = {e.employee_id: e for e in parsed["employees"]}
        self.projects: dict[int, Project] = {p.project_id: p for p in parsed["projects"]}
        self.tasks: dict[int, Task] = {t.task_id: t for t in parsed["tasks"]}
        self.allocations: dict[int, Allocation] = {a.allocation_id: a for a in parsed["allocations"]}
        self.api_users: list[ApiUser] = parsed["api_users"]
        self.closed_periods: list[ClosedPeriod] = parsed["closed_periods"]
        self.work: dict[str, WorkUnit] = {}
        self.work_by_date: dict[date, dict[str, WorkUnit]] = {}
        for unit in parsed["work_units"]:
            self._index_work(unit)
        self.change_log: list[ChangeEntry] = sorted(parsed["change_log"], key=lambda e: e.at)
        self._change_times = [entry.at for entry in self.change_log]
        self._reindex()
        self.revision = 0
        self._cache: dict[tuple, tuple[int, list]] = {}

    def _reindex(self) -> None:
        self.project_by_guid = {p.guid: p for p in self.projects.values()}
        self.task_by_guid = {t.guid: t for t in self.tasks.values()}
        self.allocation_by_pair = {(a.employee_id, a.task_id): a for a in self.allocations.values()}
        self.allocation_by_guid = {a.guid: a for a in self.allocations.values()}
        self.employee_by_login = {}
        for employee in self.employees.values():
            self.employee_by_login[employee.initials.lower()] = employee
            self.employee_by_login[employee.username.lower()] = employee
        self.work_count_by_task: dict[int, int] = {}
        for unit in self.work.values():
            self.work_count_by_task[unit.task_id] = self.work_count_by_task.get(unit.task_id, 0) + 1
        self._next_ids = {
            "task": max(self.tasks, default=1000) + 1,
            "allocation": max(self.allocations, default=5000) + 1,
            "work": max((u.work_id for u in self.work.values()), default=100_000) + 1,
        }

    def snapshot(self) -> dict:
        """Every entity as JSON (the shape `load` accepts)."""
        data = {
            "departments": list(self.departments.values()),
            "customers": list(self.customers.values()),
            "employees": list(self.employees.values()),
            "projects": list(self.projects.values()),
            "tasks": list(self.tasks.values()),
            "allocations": list(self.allocations.values()),
            "work_units": sorted(self.work.values(), key=lambda u: u.work_id),
            "change_log": self.change_log,
            "closed_periods": self.closed_periods,
            "api_users": self.api_users,
        }
        result = {name: to_json(rows) for name, rows in data.items()}
        result["reporting"] = to_json(self.reporting) if self.reporting else None
        return result

    # -- bookkeeping ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """A strictly increasing timestamp, so change-log order equals write order."""
        stamp = max(self.clock(), self._last_stamp + timedelta(microseconds=1))
        self._last_stamp = stamp
        return stamp

    def _changed(self) -> None:
        self.revision += 1

    def cached(self, key: tuple, compute: Callable[[], list]) -> list:
        """`compute()` once per revision: page 2..n of a query reuse page 1's ordering."""
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self.revision:
            return hit[1]
        if len(self._cache) > 256:
            self._cache.clear()
        value = compute()
        self._cache[key] = (self.revision, value)
        return value

    def _next_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        self._next_ids[kind] += 1
        return value

    # -- lookups -------------------------------------------------------------------------------------

    def employee_by_initials(self, login: str | None) -> Employee | None:
        """By initials or user name, case-insensitively (TimeLog accepts either)."""
        return self.employee_by_login.get((login or "").strip().lower())

    def api_user(self, login: str) -> ApiUser | None:
        employee = self.employee_by_initials(login)
        for user in self.api_users:
            same_login = user.username.lower() == login.strip().lower()
            if same_login or (employee is not None and user.employee_id == employee.employee_id):
                return user
        return None

    def task_by_external_key(self, system_name: str, external_id: str) -> Task | None:
        wanted = (system_name.lower(), external_id)
        for task in self.tasks.values():
            if any((k.system_name.lower(), k.external_id) == wanted for k in task.external_keys):
                return task
        return None

    def is_locked(self, unit: WorkUnit) -> str | None:
        """Why `unit` cannot be changed, or None."""
        if unit.approved_status >= APPROVED_CLOSED:
            return (f"Work unit {unit.guid} is approved or in a closed time sheet "
                    f"(ApprovedStatus {unit.approved_status})")
        return self.closed_reason(unit.employee_id, unit.date)

    def closed_reason(self, employee_id: int, day: date) -> str | None:
        for period in self.closed_periods:
            if period.start <= day <= period.end and period.employee_id in (None, employee_id):
                year, week, _ = day.isocalendar()
                return (f"The time sheet period {year}-W{week:02d} is closed for employee {employee_id}; "
                        "registrations in it cannot be added, changed or deleted")
        return None

    # -- work ----------------------------------------------------------------------------------------

    def _index_work(self, unit: WorkUnit) -> None:
        self.work[unit.guid] = unit
        self.work_by_date.setdefault(unit.date, {})[unit.guid] = unit

    def _unindex_work(self, unit: WorkUnit) -> None:
        del self.work[unit.guid]
        day = self.work_by_date.get(unit.date)
        if day is not None:
            day.pop(unit.guid, None)
            if not day:
                del self.work_by_date[unit.date]

    def _log(self, action: str, unit: WorkUnit, at: datetime) -> None:
        self.change_log.append(ChangeEntry(action, unit.guid, at, unit.employee_id, unit.date))
        self._change_times.append(at)

    def _check_registration(self, employee: Employee, work: WorkInput) -> Task:
        # InsertWork.cs (SDK sample): `Description = "Test registration", // Required`; TimeLog.TLP.API.XML,
        # InsertWork: "Initialize at least GUID, TaskID, EmployeeInitials, Duration, StartDateTime, EndDateTime
        # and Description".
        if not work.description.strip():
            raise RefusedError("Description is required")
        task = self.tasks.get(work.task_id)
        if task is None:
            raise RefusedError(f"Task with TaskID {work.task_id} does not exist")
        if not task.is_active:
            raise RefusedError(f"Task {work.task_id} is {TASK_STATUS_NAMES[task.status]}; time cannot be registered "
                               "on it")
        if (employee.employee_id, work.task_id) not in self.allocation_by_pair:
            raise RefusedError(f"Employee {employee.initials} (EmployeeID {employee.employee_id}) is not allocated to "
                               f"task {work.task_id}; allocate the employee first (AddEmployeeToTask)")
        if not 0 < work.minutes <= MAX_WORK_MINUTES:
            raise RefusedError(f"Duration must be more than 0 and at most 24 hours, got {work.minutes} minutes")
        if work.billable_minutes is not None and not 0 <= work.billable_minutes <= MAX_WORK_MINUTES:
            raise RefusedError(f"BillableDuration must be 0 to 24 hours, got {work.billable_minutes} minutes")
        self._check_additional_text(task, work.additional_text)
        reason = self.closed_reason(employee.employee_id, work.start_at.date())
        if reason:
            raise RefusedError(reason)
        return task

    def _check_additional_text(self, task: Task, text: str) -> None:
        """TimeLog.TLP.API.XML, GetTimeRegistrationSettings: AdditionalTextFieldValidation 0 "No validation",
        1 "Based on AdditionalTextIsRequired on task, apply validation based on type", 2 "Field is required,
        apply validation based on type"; AdditionalTextFieldType 2 "Integer"."""
        validation = self.options.additional_text_validation
        if validation == ADDITIONAL_TEXT_NOT_VALIDATED:
            return
        required = validation == ADDITIONAL_TEXT_ALWAYS or (validation == ADDITIONAL_TEXT_PER_TASK
                                                            and task.additional_text_required)
        if required and not text.strip():
            where = "on this site" if validation == ADDITIONAL_TEXT_ALWAYS else f"on task {task.task_id}"
            raise RefusedError(f"AdditionalText is required {where}")
        # Strict reading: with validation on, a non-empty text is type-checked on every task.
        if (text.strip() and self.options.additional_text_type == ADDITIONAL_TEXT_TYPE_INTEGER
                and not _INTEGER.fullmatch(text)):
            raise RefusedError(f"AdditionalText must be an integer on this site, got {text!r}")

    def insert_work(self, employee: Employee, guid: str | None, work: WorkInput) -> WorkUnit:
        """Register time; refuses unallocated tasks, closed periods and GUIDs already used."""
        if guid and guid in self.work:
            raise RefusedError(f"A work unit with GUID {guid} already exists")
        self._check_registration(employee, work)
        now = self.now()
        unit = WorkUnit(self._next_id("work"), guid or new_guid(), work.task_id, employee.employee_id, work.start_at,
                        work.minutes, work.description, now, now, additional_text=work.additional_text,
                        other_guid=new_guid(), billable_minutes=work.billable_minutes, is_meeting=work.is_meeting)
        self._index_work(unit)
        self.work_count_by_task[work.task_id] = self.work_count_by_task.get(work.task_id, 0) + 1
        self._log(ACTION_CREATED, unit, now)
        self._changed()
        return unit

    def update_work(self, guid: str, employee: Employee | None, work: WorkInput) -> WorkUnit:
        """Change a registration (matched on GUID) to exactly `work`; locked ones are refused, before and after
        the change."""
        unit = self.work.get(guid)
        if unit is None:
            raise RefusedError(f"Work unit with GUID {guid} does not exist")
        reason = self.is_locked(unit)
        if reason:
            raise RefusedError(reason)
        if employee is not None and employee.employee_id != unit.employee_id:
            raise RefusedError(f"Work unit {guid} belongs to employee {unit.employee_id}; "
                               "the employee cannot be changed")
        owner = self.employees[unit.employee_id]
        self._check_registration(owner, work)
        self._unindex_work(unit)
        if work.task_id != unit.task_id:
            self.work_count_by_task[unit.task_id] -= 1
            self.work_count_by_task[work.task_id] = self.work_count_by_task.get(work.task_id, 0) + 1
        now = self.now()
        unit.task_id, unit.start_at, unit.minutes = work.task_id, work.start_at, work.minutes
        unit.description, unit.additional_text = work.description, work.additional_text
        unit.billable_minutes, unit.is_meeting = work.billable_minutes, work.is_meeting
        unit.modified_at = now
        unit.row_version += 1
        self._index_work(unit)
        self._log(ACTION_UPDATED, unit, now)
        self._changed()
        return unit

    def delete_work(self, guid: str) -> WorkUnit:
        """Delete a registration; locked ones are refused."""
        unit = self.work.get(guid)
        if unit is None:
            raise RefusedError(f"Work unit with GUID {guid} does not exist")
        reason = self.is_locked(unit)
        if reason:
            raise RefusedError(reason)
        self._unindex_work(unit)
        self.work_count_by_task[unit.task_id] -= 1
        self._log(ACTION_DELETED, unit, self.now())
        self._changed()
        return unit

    def work_between(self, first: date, last: date, employee_id: int | None = None) -> list[WorkUnit]:
        """Registrations dated first..last (inclusive), by date then id."""
        def compute() -> list[WorkUnit]:
            # Walk the calendar for short ranges, the index's own dates for long ("everything") ones.
            span = (last - first).days + 1
            days = ([first + timedelta(days=i) for i in range(span)] if span <= len(self.work_by_date)
                    else sorted(d for d in self.work_by_date if first <= d <= last))
            result = []
            for day in days:
                units = self.work_by_date.get(day, {}).values()
                result.extend(sorted((u for u in units if employee_id in (None, u.employee_id)),
                                     key=lambda u: u.work_id))
            return result
        if last < first:
            return []
        return self.cached(("work_between", first, last, employee_id), compute)

    def changes_between(self, start: datetime, end: datetime, actions: Iterable[str],
                        employee_id: int | None = None, first_day: date | None = None,
                        last_day: date | None = None) -> list[ChangeEntry]:
        """Change-log entries with start <= at <= end (and within retention), in the order they happened."""
        # Retention is applied per hour, so that all pages of one read share a cached ordering.
        oldest = (self.clock() - CHANGE_LOG_RETENTION).replace(minute=0, second=0, microsecond=0)
        start = max(start, oldest)
        wanted = frozenset(actions)

        def compute() -> list[ChangeEntry]:
            lo = bisect.bisect_left(self._change_times, start)
            hi = bisect.bisect_right(self._change_times, end)
            return [
                entry for entry in self.change_log[lo:hi]
                if entry.action in wanted
                and employee_id in (None, entry.employee_id)
                and (first_day is None or first_day <= entry.work_date)
                and (last_day is None or entry.work_date <= last_day)
            ]
        if end < start:
            return []
        return self.cached(("changes", start, end, wanted, employee_id, first_day, last_day), compute)

    # -- tasks ---------------------------------------------------------------------------------------

    def _check_external_keys(self, keys: list[ExternalKey], task_id: int | None) -> None:
        for key in keys:
            other = self.task_by_external_key(key.system_name, key.external_id)
            if other is not None and other.task_id != task_id:
                raise RefusedError(f"External key {key.system_name}/{key.external_id} is already used by task "
                                   f"{other.task_id}")

    def _defined_keys(self, keys: list[ExternalKey]) -> list[ExternalKey]:
        """The keys of external systems defined in TimeLog's API settings; the others are dropped silently
        (timelog-api.md §3.8: "System name must be defined in TimeLog's API settings")."""
        return [key for key in keys if self.options.defined_system(key.system_name) is not None]

    @staticmethod
    def _checked_task_fields(fields: TaskInput) -> str:
        """The task's name, once the members every task needs are there (what ExternalKeysOnProjectAndTasks.cs
        sets: Name, StartDate, EndDate)."""
        name = fields.name.strip()
        if not name:
            raise RefusedError("Task Name is required")
        if fields.start_date is None:
            raise RefusedError("Task StartDate is required (DateTime.MinValue is no date)")
        if fields.end_date is None:
            raise RefusedError("Task EndDate is required (DateTime.MinValue is no date)")
        if fields.end_date < fields.start_date:
            raise RefusedError(f"Task EndDate {fields.end_date} is before its StartDate {fields.start_date}")
        return name

    def create_task(self, project_id: int, fields: TaskInput, parent_task_id: int = 0) -> Task:
        """A new task (last in its project's or parent's list), with everything the SDK sample
        ExternalKeysOnProjectAndTasks.cs sets: Name, StartDate, EndDate and State.IsActive = true."""
        project = self.projects.get(project_id)
        if project is None:
            raise RefusedError(f"Project with ProjectID {project_id} does not exist")
        if parent_task_id:
            parent = self.tasks.get(parent_task_id)
            if parent is None or parent.project_id != project_id:
                raise RefusedError(f"Parent task {parent_task_id} does not exist in project {project_id}")
        name = self._checked_task_fields(fields)
        if not fields.is_active:
            raise RefusedError("Task State.IsActive must be true: a task is created active")
        if fields.guid and fields.guid in self.task_by_guid:
            raise RefusedError(f"A task with ID (GUID) {fields.guid} already exists")
        keys = self._defined_keys(fields.external_keys or [])
        self._check_external_keys(keys, None)
        now = self.now()
        siblings = [t for t in self.tasks.values() if t.project_id == project_id and t.parent_task_id == parent_task_id]
        task = Task(
            task_id=self._next_id("task"), guid=fields.guid or new_guid(), project_id=project_id, name=name,
            no=fields.no, start_date=fields.start_date, end_date=fields.end_date, created_at=now, modified_at=now,
            parent_task_id=parent_task_id, description=fields.description, budget_hours=fields.budget_hours,
            sort_order=len(siblings) + 1, external_keys=keys, additional_text_required=fields.additional_text_required,
        )
        self.tasks[task.task_id] = task
        self.task_by_guid[task.guid] = task
        self._changed()
        return task

    def update_task(self, task: Task, project_id: int, fields: TaskInput) -> Task:
        """Set every data property of `task` to what was sent ("Updates the data properties of the specified
        Task", TimeLog.TLP.API.XML): absent members arrive as defaults and are applied as such."""
        if project_id != task.project_id:
            raise RefusedError(f"Task {task.task_id} belongs to project {task.project_id}, not to projectID "
                               f"{project_id}")
        name = self._checked_task_fields(fields)
        keys = None
        if fields.external_keys is not None:  # IsExternalKeysLoaded: the list replaces the stored one
            keys = self._defined_keys(fields.external_keys)
            self._check_external_keys(keys, task.task_id)
        task.name, task.no, task.description = name, fields.no, fields.description
        task.budget_hours, task.additional_text_required = fields.budget_hours, fields.additional_text_required
        task.start_date, task.end_date = fields.start_date, fields.end_date
        if keys is not None:
            task.external_keys = keys
        # State.IsActive (strict reading): false closes an active task as Completed, true reopens a closed one.
        if task.is_active and not fields.is_active:
            task.status = TASK_STATUS_COMPLETED
        elif fields.is_active and not task.is_active:
            task.status = TASK_STATUS_IN_PROGRESS
        task.modified_at = self.now()
        self._changed()
        return task

    def move_task(self, task: Task, parent_task_id: int) -> Task:
        """Put `task` last under another task of its project (what CreateSubTask does with a new one)."""
        if not parent_task_id:
            raise RefusedError("parentTaskID is required: a task can only be moved under another task")
        parent = self.tasks.get(parent_task_id)
        if parent is None or parent.project_id != task.project_id:
            raise RefusedError(f"Parent task {parent_task_id} does not exist in project {task.project_id}")
        ancestor: Task | None = parent
        while ancestor is not None:
            if ancestor.task_id == task.task_id:
                raise RefusedError(f"Task {task.task_id} cannot be moved under itself or one of its sub-tasks")
            ancestor = self.tasks.get(ancestor.parent_task_id) if ancestor.parent_task_id else None
        if task.parent_task_id != parent_task_id:
            siblings = [t for t in self.tasks.values() if t.parent_task_id == parent_task_id]
            task.parent_task_id, task.sort_order = parent_task_id, len(siblings) + 1
            task.modified_at = self.now()
            self._changed()
        return task

    def change_task_status(self, task: Task, status: int) -> Task:
        if status not in TASK_STATUS_NAMES:
            raise RefusedError(f"targetStatus {status} is not a task status; use one of {sorted(TASK_STATUS_NAMES)}")
        task.status = status
        task.modified_at = self.now()
        self._changed()
        return task

    def delete_task(self, task: Task) -> Task:
        """Delete a task without registrations or sub-tasks (and its allocations)."""
        if self.work_count_by_task.get(task.task_id):
            raise RefusedError(f"Task {task.task_id} has time registrations and cannot be deleted")
        if any(t.parent_task_id == task.task_id for t in self.tasks.values()):
            raise RefusedError(f"Task {task.task_id} has sub-tasks and cannot be deleted")
        for allocation in [a for a in self.allocations.values() if a.task_id == task.task_id]:
            del self.allocations[allocation.allocation_id]
        del self.tasks[task.task_id]
        self._reindex_after_structure_change()
        return task

    # -- allocations ---------------------------------------------------------------------------------

    def allocate(self, employee_id: int, task_id: int, hours: float, start: date | None = None,
                 end: date | None = None) -> Allocation:
        """Allocate an employee to a task; a second allocation of the same pair is refused."""
        employee = self.employees.get(employee_id)
        if employee is None:
            raise RefusedError(f"Employee with EmployeeID {employee_id} does not exist")
        task = self.tasks.get(task_id)
        if task is None:
            raise RefusedError(f"Task with TaskID {task_id} does not exist")
        if (employee_id, task_id) in self.allocation_by_pair:
            raise RefusedError(f"Employee {employee_id} is already allocated to task {task_id}")
        allocation = Allocation(self._next_id("allocation"), new_guid(), task_id, employee_id, hours or 0.0,
                                start or task.start_date, end or task.end_date)
        self.allocations[allocation.allocation_id] = allocation
        self.allocation_by_pair[(employee_id, task_id)] = allocation
        self.allocation_by_guid[allocation.guid] = allocation
        self._changed()
        return allocation

    def delete_allocation(self, allocation: Allocation) -> Allocation:
        """Remove an allocation unless the employee has registrations on the task."""
        if any(u.task_id == allocation.task_id and u.employee_id == allocation.employee_id
               for u in self.work.values()):
            raise RefusedError(f"Employee {allocation.employee_id} has time registrations on task "
                               f"{allocation.task_id}; the allocation cannot be deleted")
        del self.allocations[allocation.allocation_id]
        self._reindex_after_structure_change()
        return allocation

    def _reindex_after_structure_change(self) -> None:
        next_ids = self._next_ids
        self._reindex()
        self._next_ids = next_ids  # ids are never reused, even after a delete
        self._changed()

    # -- control API ---------------------------------------------------------------------------------

    def lock(self, spec: dict) -> dict:
        """Close a period (`week` or `from`/`to`, optionally for one `employee_id`) or approve `work_guids`."""
        if not isinstance(spec, dict):
            raise ValueError("lock: expected a JSON object")
        known = {"employee_id", "week", "from", "to", "work_guids", "approved_status"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"lock: unknown field(s) {unknown}; known: {sorted(known)}")
        result: dict[str, Any] = {"status": "locked"}
        if "work_guids" in spec:
            status = int(spec.get("approved_status", APPROVED_CLOSED))
            missing = [g for g in spec["work_guids"] if g not in self.work]
            if missing:
                raise ValueError(f"lock: unknown work_guids {missing}")
            for guid in spec["work_guids"]:
                self.work[guid].approved_status = status
            result["approved"] = len(spec["work_guids"])
        if "week" in spec:
            start, end = iso_week_bounds(str(spec["week"]))
        elif "from" in spec or "to" in spec:
            if not ("from" in spec and "to" in spec):
                raise ValueError("lock: give both 'from' and 'to' (ISO dates)")
            start, end = date.fromisoformat(str(spec["from"])[:10]), date.fromisoformat(str(spec["to"])[:10])
        else:
            if "work_guids" not in spec:
                raise ValueError("lock: give week, from/to or work_guids")
            self._changed()
            return result
        employee_id = spec.get("employee_id")
        if employee_id is not None and int(employee_id) not in self.employees:
            raise ValueError(f"lock: unknown employee_id {employee_id}")
        self.closed_periods.append(ClosedPeriod(start, end, None if employee_id is None else int(employee_id)))
        result["closed_period"] = {"from": start.isoformat(), "to": end.isoformat(), "employee_id": employee_id}
        self._changed()
        return result
