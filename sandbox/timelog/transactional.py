"""The Transactional operations: decoded SOAP parameters in, `Outcome`s of contract-shaped dicts out.

Each handler is registered under its service and operation name. Entities become contract dicts in the
`*_contract` functions below, the one place each mapping lives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sandbox.timelog.model import (
    PROJECT_STATUS_NAMES,
    TASK_STATUS_NAMES,
    Allocation,
    Department,
    Employee,
    ExternalKey,
    Project,
    Task,
    WorkUnit,
)
from sandbox.timelog.soap import EMPTY_GUID, MIN_DATETIME, to_site_time
from sandbox.timelog.store import (
    ACTION_CREATED,
    ACTION_DELETED,
    ACTION_UPDATED,
    Page,
    RefusedError,
    Store,
    TaskInput,
    WorkInput,
    paginate,
)

SUCCESS, INVALID, ERROR = "Success", "Invalid", "Error"
#: TimeLog's one documented error code (captured 2015): empty initials on InsertWork.
ERROR_INITIALS_EMPTY = 10002
MAX_PAGE_SIZE_WORK = 500
MAX_PAGE_SIZE_TASKS = 500
MAX_PAGE_SIZE_EMPLOYEES = 100
#: Paged endpoints without a documented cap (projects) use the work cap.
MAX_PAGE_SIZE_DEFAULT = 500


@dataclass
class Outcome:
    """What an operation returns, before the ResponseOf<T> envelope is put around it."""

    items: list[Any] = field(default_factory=list)
    state: str = SUCCESS
    messages: list[tuple[str, str, int]] = field(default_factory=list)  # (text, severity, error code)
    error_code: int = 0
    paged: bool = False
    total_pages: int = 1

    @classmethod
    def refused(cls, message: str, error_code: int = 0, state: str = INVALID) -> Outcome:
        return cls(state=state, messages=[(message, state, error_code)], error_code=error_code)

    @classmethod
    def page(cls, page: Page) -> Outcome:
        return cls(items=page.items, paged=True, total_pages=page.total_pages)


@dataclass
class Caller:
    """Who called: the employee behind the token."""

    employee: Employee


Handler = Callable[[Store, Caller, dict[str, Any]], Outcome]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(service: str, *operations: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for operation in operations:
            HANDLERS[(service, operation)] = func
        return func
    return register


PM = "ProjectManagementService"
ORG = "OrganisationService"

# -- entity → contract ---------------------------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def external_keys_contract(keys: list[ExternalKey]) -> list[dict]:
    return [{"Action": "Original", "IsCustomFieldsLoaded": False, "IsExternalKeysLoaded": False,
             "SystemName": k.system_name, "ExternalID": k.external_id} for k in keys]


def _extended(keys: list[ExternalKey] | None) -> dict[str, Any]:
    """The APIBaseExtended members; external keys only when loaded."""
    return {"Action": "Original", "IsCustomFieldsLoaded": False, "CustomFields": None,
            "IsExternalKeysLoaded": keys is not None,
            "ExternalKeys": external_keys_contract(keys) if keys is not None else None}


def customer_header(store: Store, project: Project) -> dict | None:
    customer = store.customers.get(project.customer_id)
    if customer is None:
        return None
    return {"ID": customer.customer_id, "Name": customer.name, "No": customer.no, "GUID": customer.guid}


def project_header(project: Project) -> dict:
    return {"ID": project.project_id, "ProjectGUID": project.guid, "Name": project.name, "No": project.no,
            "IsActive": project.is_active, "IsGeneralProject": False, "StartDate": _midnight(project.start_date),
            "EndDate": _midnight(project.end_date), "MainContractID": 1}


def project_contract(project: Project, load_keys: bool = True) -> dict:
    return {**_extended(project.external_keys if load_keys else None),
            "ID": project.guid, "ProjectID": project.project_id, "CustomerID": project.customer_id,
            "Name": project.name, "No": project.no, "Description": project.description, "Link": "",
            "StartDate": _midnight(project.start_date), "EndDate": _midnight(project.end_date),
            "IsInternalProject": False, "ProjectManagerID": project.project_manager_id, "ExchangeRate": 1.0,
            "MainContractID": 1}


def _task_chain(store: Store, task: Task) -> list[Task]:
    chain = [task]
    while chain[0].parent_task_id and chain[0].parent_task_id in store.tasks:
        chain.insert(0, store.tasks[chain[0].parent_task_id])
    return chain


def task_wbs(store: Store, task: Task) -> str:
    return ".".join(str(t.sort_order) for t in _task_chain(store, task))


def task_full_name(store: Store, task: Task) -> str:
    return " > ".join(t.name for t in _task_chain(store, task))


def task_contract(store: Store, task: Task, load_keys: bool = True) -> dict:
    project = store.projects[task.project_id]
    return {
        **_extended(task.external_keys if load_keys else None),
        "ID": task.guid, "TaskID": task.task_id, "Name": task.name, "FullName": task_full_name(store, task),
        "No": task.no, "Description": task.description, "Link": "", "BudgetHours": task.budget_hours,
        "BudgetAmount": 0.0, "StartDate": _midnight(task.start_date), "EndDate": _midnight(task.end_date),
        "TaskTypeID": 1, "AdditionalTextIsRequired": task.additional_text_required, "ProjectSubContractID": 0,
        "HourlyRateID": 0,
        "IsReadyForInvoicing": False,
        "Details": {"CustomerHeader": customer_header(store, project), "ProjectHeader": project_header(project),
                    "Type": {"ID": 1, "ID2": 0, "Name": "Standard", "Name2": ""}, "CustomField": None,
                    "WBS": task_wbs(store, task),
                    "IsParent": any(t.parent_task_id == task.task_id for t in store.tasks.values()),
                    "ParentTaskID": task.parent_task_id, "SortOrder": task.sort_order},
        "State": {"IsActive": task.is_active},
    }


def task_header(store: Store, task: Task) -> dict:
    return {"ID": task.task_id, "Name": task.name, "No": task.no, "IsActive": task.is_active,
            "WBS": task_wbs(store, task), "FullName": task_full_name(store, task),
            "ExternalKey": task.external_keys[0].external_id if task.external_keys else None}


def project_task_flat(store: Store, task: Task) -> dict:
    project = store.projects[task.project_id]
    customer = store.customers.get(project.customer_id)
    chain = _task_chain(store, task)
    parent = store.tasks.get(task.parent_task_id)
    return {
        "CustomerGuid": customer.guid if customer else EMPTY_GUID,
        "CustomerName": customer.name if customer else None, "CustomerNo": customer.no if customer else None,
        "ProjectGuid": project.guid, "ProjectName": project.name, "ProjectNo": project.no,
        "ProjectStatusName": PROJECT_STATUS_NAMES.get(project.status), "TaskBudgetAmount": 0.0,
        "TaskBudgetHours": task.budget_hours, "TaskDescription": task.description,
        "TaskEndDate": _midnight(task.end_date), "TaskGuid": task.guid, "TaskHourlyRateAmount": 0.0,
        "TaskID": task.task_id, "TaskInvoicingType": "TimeAndMaterial", "TaskIsBillable": True,
        "TaskIsReadyForInvoicing": False, "TaskLink": "", "TaskName": task.name,
        "TaskNameChain": " > ".join(t.name for t in chain), "TaskNo": task.no,
        "TaskNoChain": " > ".join(t.no for t in chain), "TaskParentGuid": parent.guid if parent else EMPTY_GUID,
        "TaskStartDate": _midnight(task.start_date), "TaskStatus": TASK_STATUS_NAMES[task.status],
        "TaskTypeName": "Standard", "TaskWBS": task_wbs(store, task),
    }


def employee_header(employee: Employee) -> dict:
    return {"ID": employee.guid, "EmployeeID": employee.employee_id, "UserName": employee.username,
            "Initials": employee.initials, "FirstName": employee.first_name, "LastName": employee.last_name,
            "EmployeeNo": str(employee.employee_id), "Fullname": employee.full_name}


def allocation_contract(allocation: Allocation, store: Store) -> dict:
    employee = store.employees.get(allocation.employee_id)
    return {**_extended(None), "AllocationID": allocation.allocation_id, "ID": allocation.guid,
            "TaskID": allocation.task_id, "HoursAllocated": allocation.hours_allocated, "HourlyRateID": 0,
            "EmployeeID": allocation.employee_id, "StartDate": _midnight(allocation.start_date),
            "EndDate": _midnight(allocation.end_date),
            "Details": {"EmployeeHeader": employee_header(employee) if employee else None}}


def work_unit_contract(store: Store, unit: WorkUnit) -> dict:
    task = store.tasks.get(unit.task_id)
    project = store.projects.get(task.project_id) if task else None
    allocation = store.allocation_by_pair.get((unit.employee_id, unit.task_id))
    duration = timedelta(minutes=unit.minutes)
    return {
        "GUID": unit.guid, "AllocationGUID": allocation.guid if allocation else EMPTY_GUID, "TaskID": unit.task_id,
        "EmployeeInitials": store.employees[unit.employee_id].initials, "Duration": duration,
        "StartDateTime": unit.start_at, "EndDateTime": unit.start_at + duration, "Description": unit.description,
        "TimeStamp": unit.row_version.to_bytes(8, "big"), "IsEditable": store.is_locked(unit) is None,
        "AdditionalText": unit.additional_text, "IsMeeting": unit.is_meeting,
        # Nil unless the registration set one (InsertWork.cs: "Add if you want to deviate from registered time").
        "BillableDuration": None if unit.billable_minutes is None else timedelta(minutes=unit.billable_minutes),
        "Details": {"TaskHeader": task_header(store, task) if task else None,
                    "ProjectHeader": project_header(project) if project else None,
                    "CustomerHeader": customer_header(store, project) if project else None},
    }


def work_flat(store: Store, unit: WorkUnit, action: str | None = None, action_date: datetime | None = None) -> dict:
    """WorkUnitFlat; `Action`/`ActionDate` are only filled in change-log answers."""
    task = store.tasks.get(unit.task_id)
    project = store.projects.get(task.project_id) if task else None
    customer = store.customers.get(project.customer_id) if project else None
    employee = store.employees[unit.employee_id]
    department = store.departments.get(employee.department_id)
    parent = store.tasks.get(task.parent_task_id) if task else None
    chain = _task_chain(store, task) if task else []
    return {
        "Action": action, "ActionDate": action_date or MIN_DATETIME, "ApprovedStatus": unit.approved_status,
        "CustomerGuid": customer.guid if customer else EMPTY_GUID,
        "CustomerName": customer.name if customer else None, "CustomerNo": customer.no if customer else None,
        "Date": _midnight(unit.date),
        "EmployeeDepartmentGuid": department.guid if department else EMPTY_GUID,
        "EmployeeDepartmentName": department.name if department else None,
        "EmployeeDepartmentNo": department.no if department else None,
        "EmployeeGuid": employee.guid, "EmployeeInitials": employee.initials,
        "EmployeeInternalId": str(employee.employee_id), "Hours": unit.minutes / 60,
        "ProjectGuid": project.guid if project else EMPTY_GUID, "ProjectName": project.name if project else None,
        "ProjectNo": project.no if project else None,
        "ProjectStatusName": PROJECT_STATUS_NAMES.get(project.status) if project else None,
        "SalaryCodeGuid": EMPTY_GUID,
        "TaskGuid": task.guid if task else EMPTY_GUID, "TaskName": task.name if task else None,
        "TaskNameChain": " > ".join(t.name for t in chain), "TaskNo": task.no if task else None,
        "TaskNoChain": " > ".join(t.no for t in chain), "TaskParentGuid": parent.guid if parent else EMPTY_GUID,
        "TaskTypeName": "Standard", "TaskWBS": task_wbs(store, task) if task else None,
        "UserGuid": employee.user_guid, "UserId": employee.user_id, "WorkUnitGuid": unit.guid,
    }


def employee_contract(store: Store, employee: Employee) -> dict:
    department = store.departments.get(employee.department_id)
    return {
        **_extended(None), "ID": employee.guid, "EmployeeID": employee.employee_id, "UserName": employee.username,
        "Initials": employee.initials, "FirstName": employee.first_name, "LastName": employee.last_name,
        "Fullname": employee.full_name, "EmployeeNo": str(employee.employee_id), "Title": employee.title,
        "DepartmentGuid": department.guid if department else EMPTY_GUID,
        "DepartmentName": department.name if department else None,
        "DepartmentNo": department.no if department else None, "InterfaceLanguage": 1,
        "HiredDate": _midnight(employee.hired_date), "IsHired": employee.is_active, "IsLocked": False,
        "CostPriceGuid": EMPTY_GUID, "HourlyRateGuid": EMPTY_GUID,
    }


def department_contract(department: Department) -> dict:
    return {**_extended(None), "ID": department.guid, "Name": department.name, "No": department.no,
            "ParentDepartmentGuid": EMPTY_GUID, "DepartmentManagerGuid": EMPTY_GUID,
            "DepartmentID": department.department_id}


# -- request helpers ------------------------------------------------------------------------------------


def _page_args(params: dict[str, Any], cap: int) -> tuple[int, int] | Outcome:
    """(page, pageSize) with pageSize capped at `cap`, or a refusal naming the bad parameter."""
    page, size = params.get("page") or 0, params.get("pageSize") or 0
    if page < 1:
        return Outcome.refused(f"page must be 1 or more (pages are numbered from 1), got {page}")
    if size < 1:
        return Outcome.refused(f"pageSize must be 1 or more (at most {cap}), got {size}")
    return page, min(size, cap)


def _paged(params: dict[str, Any], cap: int, ordered: Callable[[], list], convert: Callable[[Any], dict]) -> Outcome:
    args = _page_args(params, cap)
    if isinstance(args, Outcome):
        return args
    page = paginate(ordered(), *args)
    page.items = [convert(item) for item in page.items]
    return Outcome.page(page)


def _modified_in_period(params: dict[str, Any], cap: int, rows: Iterable, row_id: Callable[[Any], int],
                        convert: Callable[[Any], dict]) -> Outcome:
    """The `Get*ModifiedInPeriodPaged` operations: rows modified in [startDate, endDate], oldest change first."""
    start, end = _site(params.get("startDate"), MIN_DATETIME), _site(params.get("endDate"), datetime.max)
    return _paged(params, cap,
                  lambda: sorted((row for row in rows if start <= row.modified_at <= end),
                                 key=lambda row: (row.modified_at, row_id(row))),
                  convert)


def _day(value: datetime | None) -> date | None:
    return to_site_time(value).date() if value is not None else None


def _site(value: datetime | None, default: datetime) -> datetime:
    return to_site_time(value) if value is not None else default


def _date_or_none(value: datetime | None) -> date | None:
    """A DateTime member as a date; None for DateTime.MinValue (what an unset DateTime arrives as) and nil."""
    if value is None or to_site_time(value) == MIN_DATETIME:
        return None
    return to_site_time(value).date()


def _task_input(task: dict) -> TaskInput:
    """Task contract → `TaskInput`. The codec gives absent members their WCF defaults, so nothing here means
    "unchanged". ExternalKeys count only with IsExternalKeysLoaded = true, as the SDK samples
    ExternalKeysOnProjectAndTasks.cs and ManipulateExternalKeys.cs set it."""
    guid = task.get("ID")
    keys = None
    if task.get("IsExternalKeysLoaded"):
        keys = [ExternalKey(k.get("SystemName") or "", k.get("ExternalID") or "")
                for k in task.get("ExternalKeys") or [] if k and k.get("SystemName") and k.get("ExternalID")]
    return TaskInput(
        guid=None if guid in (None, EMPTY_GUID) else guid, name=task.get("Name") or "", no=task.get("No") or "",
        description=task.get("Description") or "", budget_hours=task.get("BudgetHours") or 0.0,
        start_date=_date_or_none(task.get("StartDate")), end_date=_date_or_none(task.get("EndDate")),
        additional_text_required=bool(task.get("AdditionalTextIsRequired")),
        is_active=bool((task.get("State") or {}).get("IsActive")), external_keys=keys)


def _batch(item: dict | None, message: str | None = None) -> dict:
    return {"Item": item, "Status": SUCCESS if message is None else INVALID, "Message": message}


def _batch_outcome(containers: list[dict]) -> Outcome:
    """Success when every item succeeded; otherwise Invalid, with each item's own Status and Message."""
    failed = [c for c in containers if c["Status"] != SUCCESS]
    if not failed:
        return Outcome(items=containers)
    return Outcome(items=containers, state=INVALID,
                   messages=[(f"{len(failed)} of {len(containers)} item(s) failed; see each item's Status and "
                              "Message", INVALID, 0)])


# -- projects -------------------------------------------------------------------------------------------


@handles(PM, "GetProjects")
def get_projects(store: Store, caller: Caller, params: dict) -> Outcome:
    status, customer, manager = params.get("statusID"), params.get("customerID"), params.get("projectManagerID")
    include_inactive = bool(params.get("includeInactiveProjects"))
    items = [project_header(p) for p in sorted(store.projects.values(), key=lambda p: p.project_id)
             if (include_inactive or p.is_active) and status in (None, -1, p.status)
             and customer in (None, 0, p.customer_id) and manager in (None, 0, p.project_manager_id)]
    return Outcome(items=items)


@handles(PM, "GetProjectByID")
def get_project_by_id(store: Store, caller: Caller, params: dict) -> Outcome:
    project = store.projects.get(params.get("projectID") or 0)
    if project is None:
        return Outcome.refused(f"Project with ProjectID {params.get('projectID')} does not exist")
    return Outcome(items=[project_contract(project, bool(params.get("loadExternalKeys")))])


@handles(PM, "GetProjectsModifiedInPeriodPaged")
def get_projects_modified(store: Store, caller: Caller, params: dict) -> Outcome:
    return _modified_in_period(params, MAX_PAGE_SIZE_DEFAULT, store.projects.values(), lambda p: p.project_id,
                               project_contract)


# -- tasks ----------------------------------------------------------------------------------------------


def _task_or_refusal(store: Store, guid: str | None) -> Task | Outcome:
    task = store.task_by_guid.get(guid or "")
    if task is None:
        return Outcome.refused(f"Task with ID (GUID) {guid} does not exist")
    return task


@handles(PM, "GetTasksByProjectId")
def get_tasks_by_project(store: Store, caller: Caller, params: dict) -> Outcome:
    project = store.project_by_guid.get(params.get("projectGuid") or "")
    if project is None:
        return Outcome.refused(f"Project with GUID {params.get('projectGuid')} does not exist")
    tasks = [t for t in store.tasks.values() if t.project_id == project.project_id and not t.parent_task_id]
    return Outcome(items=[task_contract(store, t) for t in sorted(tasks, key=lambda t: t.sort_order)])


@handles(PM, "GetProjectTasksPaged")
def get_project_tasks_paged(store: Store, caller: Caller, params: dict) -> Outcome:
    guid = params.get("projectGuid") or EMPTY_GUID
    if guid != EMPTY_GUID and guid not in store.project_by_guid:
        return Outcome.refused(f"Project with GUID {guid} does not exist")
    project_id = store.project_by_guid[guid].project_id if guid != EMPTY_GUID else None

    def ordered() -> list[Task]:
        return sorted((t for t in store.tasks.values() if project_id in (None, t.project_id)),
                      key=lambda t: t.task_id)
    return _paged(params, MAX_PAGE_SIZE_TASKS, ordered, lambda t: project_task_flat(store, t))


@handles(PM, "GetTaskByID")
def get_task_by_int_id(store: Store, caller: Caller, params: dict) -> Outcome:
    task = store.tasks.get(params.get("taskID") or 0)
    if task is None:
        return Outcome.refused(f"Task with TaskID {params.get('taskID')} does not exist")
    return Outcome(items=[task_contract(store, task, bool(params.get("loadExternalKeys")))])


@handles(PM, "GetTaskById")
def get_task_by_guid(store: Store, caller: Caller, params: dict) -> Outcome:
    task = _task_or_refusal(store, params.get("taskGuid"))
    return task if isinstance(task, Outcome) else Outcome(items=[task_contract(store, task)])


@handles(PM, "GetTaskByExternalKey")
def get_task_by_external_key(store: Store, caller: Caller, params: dict) -> Outcome:
    # timelog-api.md §3.8: the system name "must be defined in TimeLog's API settings"; how an undefined one is
    # answered is our choice.
    if store.options.defined_system(params.get("systemName") or "") is None:
        return Outcome.refused(f"The external system {params.get('systemName')!r} is not defined in TimeLog's API "
                               f"settings; defined: {store.options.external_systems}")
    task = store.task_by_external_key(params.get("systemName") or "", params.get("key") or "")
    if task is None:
        return Outcome.refused(f"No task has external key {params.get('systemName')}/{params.get('key')}")
    return Outcome(items=[task_contract(store, task)])


@handles(PM, "CreateTask", "CreateSubTask")
def create_task(store: Store, caller: Caller, params: dict) -> Outcome:
    raw = params.get("task")
    if raw is None:
        return Outcome.refused("task is required")
    try:
        task = store.create_task(params.get("projectID") or 0, _task_input(raw), params.get("parentTaskId") or 0)
    except RefusedError as exc:
        return _batch_outcome([_batch(raw, str(exc))])
    return _batch_outcome([_batch(task_contract(store, task))])


@handles(PM, "UpdateTask")
def update_task(store: Store, caller: Caller, params: dict) -> Outcome:
    raw = params.get("task")
    if raw is None:
        return Outcome.refused("task is required")
    fields = _task_input(raw)
    # The task is identified by its ID (GUID), as the SDK samples UpdateTask.cs and ManipulateExternalKeys.cs pass
    # back a task read before; TaskID is the fallback.
    task = store.task_by_guid.get(fields.guid or "") if fields.guid else store.tasks.get(raw.get("TaskID") or 0)
    if task is None:
        return _batch_outcome([_batch(raw, f"Task with ID (GUID) {raw.get('ID')} (TaskID {raw.get('TaskID')}) "
                                           "does not exist")])
    try:
        store.update_task(task, params.get("projectID") or 0, fields)
    except RefusedError as exc:
        return _batch_outcome([_batch(raw, str(exc))])
    return _batch_outcome([_batch(task_contract(store, task))])


@handles(PM, "MoveTaskUnderParentTask")
def move_task_under_parent(store: Store, caller: Caller, params: dict) -> Outcome:
    """Only the signature is documented (ProjectManagementServiceSecure22.wsdl; reference/timelog-api.md §3.4,
    "MoveTaskUnderParentTask(parentTaskID, task, changeToParentContract)"). Strict readings: the task is found as
    UpdateTask finds it (ID, else TaskID) and only its place changes, not its data properties; the parent must be
    another task of the same project, not the task itself or one below it; parentTaskID 0 (no parent) is refused,
    since no source says the operation can move a task to the top level. Work and allocations stay on the task."""
    raw = params.get("task")
    if raw is None:
        return Outcome.refused("task is required")
    guid = _task_input(raw).guid
    task = store.task_by_guid.get(guid or "") if guid else store.tasks.get(raw.get("TaskID") or 0)
    if task is None:
        return Outcome.refused(f"Task with ID (GUID) {raw.get('ID')} (TaskID {raw.get('TaskID')}) does not exist")
    try:
        store.move_task(task, params.get("parentTaskID") or 0)
    except RefusedError as exc:
        return Outcome.refused(str(exc))
    return Outcome(items=[task_contract(store, task)])


@handles(PM, "DeleteTask")
def delete_task(store: Store, caller: Caller, params: dict) -> Outcome:
    task = _task_or_refusal(store, params.get("taskGuid"))
    if isinstance(task, Outcome):
        return task
    contract = task_contract(store, task)
    try:
        store.delete_task(task)
    except RefusedError as exc:
        return Outcome.refused(str(exc))
    return Outcome(items=[contract])


@handles(PM, "ChangeTaskStatus")
def change_task_status(store: Store, caller: Caller, params: dict) -> Outcome:
    task = _task_or_refusal(store, params.get("taskGuid"))
    if isinstance(task, Outcome):
        return task
    try:
        store.change_task_status(task, params.get("targetStatus") or 0)
    except RefusedError as exc:
        return Outcome.refused(str(exc))
    return Outcome(items=[task_contract(store, task)])


@handles(PM, "GetTasksModifiedInPeriodPaged")
def get_tasks_modified(store: Store, caller: Caller, params: dict) -> Outcome:
    return _modified_in_period(params, MAX_PAGE_SIZE_TASKS, store.tasks.values(), lambda t: t.task_id,
                               lambda t: task_contract(store, t, store.options.task_feed_external_keys))


# -- allocations ----------------------------------------------------------------------------------------


@handles(PM, "AddEmployeeToTask")
def add_employee_to_task(store: Store, caller: Caller, params: dict) -> Outcome:
    try:
        allocation = store.allocate(params.get("employeeID") or 0, params.get("taskID") or 0,
                                    params.get("BudgetHours") or 0.0)
    except RefusedError as exc:
        return _batch_outcome([_batch(None, str(exc))])
    return _batch_outcome([_batch(allocation_contract(allocation, store))])


@handles(PM, "CreateAllocation")
def create_allocation(store: Store, caller: Caller, params: dict) -> Outcome:
    raw = params.get("allocation") or {}
    start, end = raw.get("StartDate"), raw.get("EndDate")
    try:
        allocation = store.allocate(
            raw.get("EmployeeID") or 0, raw.get("TaskID") or 0, raw.get("HoursAllocated") or 0.0,
            _day(start) if start and to_site_time(start) != MIN_DATETIME else None,
            _day(end) if end and to_site_time(end) != MIN_DATETIME else None)
    except RefusedError as exc:
        return Outcome.refused(str(exc))
    return Outcome(items=[allocation_contract(allocation, store)])


@handles(PM, "DeleteAllocation")
def delete_allocation(store: Store, caller: Caller, params: dict) -> Outcome:
    allocation = store.allocation_by_guid.get(params.get("allocationGuid") or "")
    if allocation is None:
        return Outcome.refused(f"Allocation with GUID {params.get('allocationGuid')} does not exist")
    contract = allocation_contract(allocation, store)
    try:
        store.delete_allocation(allocation)
    except RefusedError as exc:
        return Outcome.refused(str(exc))
    return Outcome(items=[contract])


@handles(PM, "GetAllocationsToEmployee")
def get_allocations_to_employee(store: Store, caller: Caller, params: dict) -> Outcome:
    employee = store.employee_by_initials(params.get("initials"))
    if employee is None:
        return Outcome.refused(f"Employee with initials {params.get('initials')!r} does not exist")
    allocations = sorted((a for a in store.allocations.values() if a.employee_id == employee.employee_id),
                         key=lambda a: a.allocation_id)
    return Outcome(items=[allocation_contract(a, store) for a in allocations])


# -- work -----------------------------------------------------------------------------------------------


def _minutes(duration: timedelta | None, member: str = "Duration") -> int:
    """Whole minutes of a registration; anything finer is refused rather than rounded."""
    if duration is None:
        raise RefusedError(f"{member} is required (xs:duration, e.g. PT1H30M)")
    seconds = duration.total_seconds()
    if seconds % 60:
        raise RefusedError(f"{member} must be whole minutes, got {seconds:g} seconds")
    return int(seconds // 60)


def _start(raw: dict) -> datetime:
    start = raw.get("StartDateTime")
    if start is None or start.replace(tzinfo=None) == MIN_DATETIME:
        raise RefusedError("StartDateTime is required")
    # The registration date is the calendar date as written, never shifted by an offset.
    return start.replace(tzinfo=None)


def _work_input(raw: dict) -> WorkInput:
    """WorkUnit contract → `WorkInput`; absent members are WCF defaults: AdditionalText null (cleared on
    update), BillableDuration null, IsMeeting false."""
    billable = raw.get("BillableDuration")
    return WorkInput(task_id=raw.get("TaskID") or 0, start_at=_start(raw), minutes=_minutes(raw.get("Duration")),
                     description=raw.get("Description") or "", additional_text=raw.get("AdditionalText") or "",
                     billable_minutes=None if billable is None else _minutes(billable, "BillableDuration"),
                     is_meeting=bool(raw.get("IsMeeting")))


def _employee(store: Store, raw: dict) -> Employee:
    employee = store.employee_by_initials(raw.get("EmployeeInitials"))
    if employee is None:
        raise RefusedError(f"Employee with initials {raw.get('EmployeeInitials')!r} does not exist")
    return employee


def _empty_initials(work: list[dict]) -> Outcome | None:
    if any(not (unit.get("EmployeeInitials") or "").strip() for unit in work):
        return Outcome.refused("Initials, was null or empty", ERROR_INITIALS_EMPTY)
    return None


@handles(PM, "InsertWork")
def insert_work(store: Store, caller: Caller, params: dict) -> Outcome:
    work = [unit or {} for unit in params.get("work") or []]
    rejected = _empty_initials(work)
    if rejected:
        return rejected
    containers = []
    for raw in work:
        try:
            guid = raw.get("GUID")
            unit = store.insert_work(_employee(store, raw), None if guid in (None, EMPTY_GUID) else guid,
                                     _work_input(raw))
        except RefusedError as exc:
            containers.append(_batch(raw, str(exc)))
        else:
            containers.append(_batch(work_unit_contract(store, unit)))
    return _batch_outcome(containers)


@handles(PM, "UpdateWork")
def update_work(store: Store, caller: Caller, params: dict) -> Outcome:
    work = [unit or {} for unit in params.get("work") or []]
    rejected = _empty_initials(work)
    if rejected:
        return rejected
    containers = []
    for raw in work:
        try:
            unit = store.update_work(raw.get("GUID") or EMPTY_GUID, _employee(store, raw), _work_input(raw))
        except RefusedError as exc:
            containers.append(_batch(raw, str(exc)))
        else:
            containers.append(_batch(work_unit_contract(store, unit)))
    return _batch_outcome(containers)


@handles(PM, "DeleteWork")
def delete_work(store: Store, caller: Caller, params: dict) -> Outcome:
    containers = []
    for guid in params.get("work") or []:
        try:
            contract = work_unit_contract(store, store.work[guid]) if guid in store.work else None
            store.delete_work(guid)
        except RefusedError as exc:
            containers.append(_batch({"GUID": guid}, str(exc)))
        else:
            containers.append(_batch(contract))
    return _batch_outcome(containers)


def _not_system_administrator(store: Store, caller: Caller, operation: str) -> Outcome | None:
    """TimeLog.TLP.API.XML on GetWorkPaged and GetWorkChangesPaged: "Security requirements: System
    administrator"; GetWorkChangeLogPaged is held to the same (strict reading)."""
    if store.options.is_system_administrator():
        return None
    return Outcome.refused(f"{operation} requires the system administrator role; user {caller.employee.initials} "
                           "lacks the system administrator role (SystemAdministrator)")


def _employee_filter(store: Store, initials: str | None) -> int | Outcome | None:
    """None for "all employees" (empty initials), the employee id, or a refusal."""
    if not (initials or "").strip():
        return None
    employee = store.employee_by_initials(initials)
    if employee is None:
        return Outcome.refused(f"Employee with initials {initials!r} does not exist")
    return employee.employee_id


@handles(PM, "GetEmployeeWork")
def get_employee_work(store: Store, caller: Caller, params: dict) -> Outcome:
    employee = store.employee_by_initials(params.get("initials"))
    if employee is None:
        return Outcome.refused(f"Employee with initials {params.get('initials')!r} does not exist")
    first, last = _day(params.get("startDate")) or date.min, _day(params.get("endDate")) or date.max
    units = store.work_between(first, last, employee.employee_id)
    return Outcome(items=[work_unit_contract(store, u) for u in units])


@handles(PM, "GetWorkPaged")
def get_work_paged(store: Store, caller: Caller, params: dict) -> Outcome:
    refused = _not_system_administrator(store, caller, "GetWorkPaged")
    if refused:
        return refused
    employee_id = _employee_filter(store, params.get("initials"))
    if isinstance(employee_id, Outcome):
        return employee_id
    first, last = _day(params.get("startDate")) or date.min, _day(params.get("endDate")) or date.max
    return _paged(params, MAX_PAGE_SIZE_WORK, lambda: store.work_between(first, last, employee_id),
                  lambda u: work_flat(store, u))


def _change_flat(store: Store, entry: Any) -> dict:
    """A change-log line; for work deleted since, only Action and WorkUnitGuid are filled (as documented,
    also on the create and update lines of that work)."""
    unit = store.work.get(entry.work_guid)
    if unit is None:
        return {"Action": entry.action, "WorkUnitGuid": entry.work_guid}
    return work_flat(store, unit, entry.action, entry.at)


@handles(PM, "GetWorkChangesPaged")
def get_work_changes_paged(store: Store, caller: Caller, params: dict) -> Outcome:
    refused = _not_system_administrator(store, caller, "GetWorkChangesPaged")
    if refused:
        return refused
    employee_id = _employee_filter(store, params.get("initials"))
    if isinstance(employee_id, Outcome):
        return employee_id
    start, end = _site(params.get("changeStartDate"), MIN_DATETIME), _site(params.get("changeEndDate"), datetime.max)
    first, last = _day(params.get("registrationStartDate")), _day(params.get("registrationEndDate"))
    actions = (ACTION_CREATED, ACTION_UPDATED, ACTION_DELETED)
    return _paged(params, MAX_PAGE_SIZE_WORK,
                  lambda: store.changes_between(start, end, actions, employee_id, first, last),
                  lambda e: _change_flat(store, e))


@handles(PM, "GetWorkChangeLogPaged")
def get_work_change_log_paged(store: Store, caller: Caller, params: dict) -> Outcome:
    refused = _not_system_administrator(store, caller, "GetWorkChangeLogPaged")
    if refused:
        return refused
    # Documented: "timestamp is ignored": the window is whole days, start day 00:00 to end day 24:00.
    first, last = _day(params.get("startDate")) or date.min, _day(params.get("endDate")) or date.max
    start = datetime.combine(first, time())
    end = datetime.combine(last, time.max) if last < date.max else datetime.max
    actions = [action for action, flag in ((ACTION_CREATED, "includeCreates"), (ACTION_UPDATED, "includeUpdates"),
                                           (ACTION_DELETED, "includeDeletes")) if params.get(flag)]
    return _paged(params, MAX_PAGE_SIZE_WORK, lambda: store.changes_between(start, end, actions),
                  lambda e: _change_flat(store, e))


# -- organisation ---------------------------------------------------------------------------------------


@handles(ORG, "GetEmployeesPaged")
def get_employees_paged(store: Store, caller: Caller, params: dict) -> Outcome:
    return _paged(params, MAX_PAGE_SIZE_EMPLOYEES, lambda: sorted(store.employees.values(),
                                                                  key=lambda e: e.employee_id),
                  lambda e: employee_contract(store, e))


@handles(ORG, "GetEmployeesModifiedInPeriodPaged")
def get_employees_modified(store: Store, caller: Caller, params: dict) -> Outcome:
    return _modified_in_period(params, MAX_PAGE_SIZE_EMPLOYEES, store.employees.values(), lambda e: e.employee_id,
                               lambda e: employee_contract(store, e))


@handles(ORG, "GetEmployeeByUsername")
def get_employee_by_username(store: Store, caller: Caller, params: dict) -> Outcome:
    wanted = (params.get("username") or "").strip().lower()
    for employee in store.employees.values():
        if employee.username.lower() == wanted:
            return Outcome(items=[employee_header(employee)])
    return Outcome.refused(f"Employee with user name {params.get('username')!r} does not exist")


@handles(ORG, "GetDepartments")
def get_departments(store: Store, caller: Caller, params: dict) -> Outcome:
    return Outcome(items=[department_contract(d) for d in sorted(store.departments.values(),
                                                                 key=lambda d: d.department_id)])
