"""Stream schemas, modelled on TimeLog's Reporting XSDs and Transactional data contracts (names per docs/streams.md)."""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th


def _p(name: str, kind: type[th.JSONTypeHelper[Any]] | th.JSONTypeHelper[Any], description: str, *,
       required: bool = False) -> th.Property[Any]:
    return th.Property(name, kind, description=description, required=required)


_ID = th.IntegerType
_TEXT = th.StringType
_DATE = th.DateType
_TIMESTAMP = th.DateTimeType
_NUMBER = th.NumberType
_FLAG = th.BooleanType

WORK = th.PropertiesList(
    _p("work_unit_guid", _TEXT, "The unit's GUID in the Transactional API (WorkUnit.GUID, the change log's "
                                "WorkUnitGuid): one of the two Reporting GUIDs, as the guid_model setting says.",
       required=True),
    _p("work_unit_id", _ID, "Integer work unit id (Reporting WorkUnit@ID)."),
    _p("time_registration_guid", _TEXT, "Reporting TimeRegistrationGuid, as Reporting lists it."),
    _p("reporting_work_unit_guid", _TEXT, "Reporting WorkUnitGuid, as Reporting lists it."),
    _p("employee_id", _ID, "Integer EmployeeID of the person who registered."),
    _p("employee_initials", _TEXT, "Initials of that employee."),
    _p("user_id", _ID, "UserID of that employee (distinct from EmployeeID)."),
    _p("allocation_id", _ID, "Allocation (employee on task) the work was registered through."),
    _p("task_id", _ID, "Integer TaskID."),
    _p("task_guid", _TEXT, "Task GUID."),
    _p("task_name", _TEXT, "Task name."),
    _p("project_id", _ID, "Integer ProjectID."),
    _p("customer_id", _ID, "Customer id of the project."),
    _p("department_id", _ID, "Department of the employee."),
    _p("date", _DATE, "Registration date (calendar date, never shifted by a time zone)."),
    _p("minutes", _ID, "Registered duration in whole minutes (RegHours x 60, rounded to the nearest minute)."),
    _p("hours", _NUMBER, "Registered hours exactly as TimeLog reports them (RegHours)."),
    _p("note", _TEXT, "The registration's note (Reporting Note, Transactional Description)."),
    _p("additional_text", _TEXT, "Additional text field."),
    _p("approval_status", _ID, "ApprovedStatus: 0 open, 10 time sheet closed, 20 approved by project manager, "
                               "30 approved by department manager. 10 or more is locked."),
    _p("is_billable", _FLAG, "Whether the registration is billable."),
    _p("billable_status", _ID, "BillableStatus (-3..2, see TimeLog's Work Unit Billable Status enum)."),
    _p("invoice_status", _ID, "InvoiceStatus: 0 not booked, 1 on a voucher, 2 on an invoice."),
    _p("created_at", _TIMESTAMP, "Created (UTC)."),
    _p("created_by_employee_id", _ID, "EmployeeID of the creator."),
    _p("modified_at", _TIMESTAMP, "Last modified (UTC); the replication key."),
    _p("modified_by_employee_id", _ID, "EmployeeID of the last editor."),
)

WORK_DELETIONS = th.PropertiesList(
    _p("work_unit_guid", _TEXT, "GUID of the deleted work unit.", required=True),
    _p("deleted_at", _TIMESTAMP, "When TimeLog's change log recorded the deletion (UTC); the replication key."),
)

EXTERNAL_KEY = th.ObjectType(
    _p("system_name", _TEXT, "External system name, e.g. Forecast."),
    _p("external_id", _TEXT, "The item's id in that system."),
)

TASKS = th.PropertiesList(
    _p("task_id", _ID, "Integer TaskID.", required=True),
    _p("task_guid", _TEXT, "Task GUID."),
    _p("project_id", _ID, "Integer ProjectID."),
    _p("parent_task_id", _ID, "TaskID of the parent task; null for a top-level task."),
    _p("is_parent", _FLAG, "Whether the task has sub-tasks."),
    _p("name", _TEXT, "Task name."),
    _p("no", _TEXT, "Task number."),
    _p("wbs", _TEXT, "Work breakdown structure position, e.g. 1.2."),
    _p("status", _ID, "Detailed status: 0 not started, 1 in progress, 2 on hold, 3 completed, 4 cancelled."),
    _p("is_active", _FLAG, "Whether time can be registered on the task."),
    _p("task_type_id", _ID, "Task type id."),
    _p("is_billable", _FLAG, "Whether the task is billable."),
    _p("is_fixed_price", _FLAG, "Whether the task is fixed price."),
    _p("start_date", _DATE, "Start date."),
    _p("end_date", _DATE, "End date."),
    _p("budget_hours", _NUMBER, "Budgeted hours."),
    _p("budget_amount", _NUMBER, "Budgeted amount (system currency)."),
    _p("external_keys", th.ArrayType(EXTERNAL_KEY), "External keys (ExternalSystemContext) on the task."),
    _p("created_at", _TIMESTAMP, "Created (UTC)."),
    _p("modified_at", _TIMESTAMP, "Last modified (UTC); the replication key."),
)

EMPLOYEES = th.PropertiesList(
    _p("employee_id", _ID, "Integer EmployeeID.", required=True),
    _p("user_id", _ID, "Integer UserID (distinct from EmployeeID)."),
    _p("employee_guid", _TEXT, "Employee GUID (OrganisationService Employee.ID)."),
    _p("initials", _TEXT, "Initials; TimeLog's key for work registrations."),
    _p("username", _TEXT, "Login name."),
    _p("email", _TEXT, "E-mail address."),
    _p("first_name", _TEXT, "First name."),
    _p("last_name", _TEXT, "Last name."),
    _p("full_name", _TEXT, "Full name."),
    _p("title", _TEXT, "Job title."),
    _p("employee_no", _TEXT, "Employee number."),
    _p("department_id", _ID, "Department id."),
    _p("is_active", _FLAG, "Whether the employee is active."),
    _p("hired_date", _DATE, "Hired date."),
    _p("terminated_date", _DATE, "Termination date."),
)

PROJECTS = th.PropertiesList(
    _p("project_id", _ID, "Integer ProjectID.", required=True),
    _p("project_guid", _TEXT, "Project GUID."),
    _p("name", _TEXT, "Project name."),
    _p("no", _TEXT, "Project number."),
    _p("customer_id", _ID, "Customer id."),
    _p("customer_name", _TEXT, "Customer name."),
    _p("project_manager_id", _ID, "EmployeeID of the project manager."),
    _p("status", _ID, "Project status (Reporting Status)."),
    _p("status_name", _TEXT, "Project status name."),
    _p("is_active", _FLAG, "Whether the project is active."),
    _p("is_internal", _FLAG, "Whether the project is internal."),
    _p("start_date", _DATE, "Start date."),
    _p("end_date", _DATE, "End date."),
    _p("budget_hours", _NUMBER, "Budgeted hours."),
    _p("created_at", _TIMESTAMP, "Created (UTC)."),
    _p("modified_at", _TIMESTAMP, "Last modified (UTC)."),
)

CUSTOMERS = th.PropertiesList(
    _p("customer_id", _ID, "Integer customer id.", required=True),
    _p("customer_guid", _TEXT, "Customer GUID."),
    _p("name", _TEXT, "Name."),
    _p("nick_name", _TEXT, "Nickname."),
    _p("no", _TEXT, "Customer number."),
    _p("status_id", _ID, "Customer status id."),
    _p("status", _TEXT, "Customer status name."),
    _p("email", _TEXT, "E-mail address."),
    _p("vat_no", _TEXT, "VAT number."),
    _p("account_manager_id", _ID, "EmployeeID of the account manager."),
    _p("created_at", _TIMESTAMP, "Created (UTC)."),
    _p("modified_at", _TIMESTAMP, "Last modified (UTC)."),
)

ALLOCATIONS = th.PropertiesList(
    _p("allocation_id", _ID, "Integer allocation id.", required=True),
    _p("project_id", _ID, "ProjectID."),
    _p("task_id", _ID, "TaskID."),
    _p("employee_id", _ID, "EmployeeID allocated to the task."),
    _p("allocated_hours", _NUMBER, "Allocated hours."),
    _p("hourly_rate", _NUMBER, "Hourly rate."),
    _p("task_is_fixed_price", _FLAG, "Whether the task is fixed price."),
    _p("is_active", _FLAG, "Whether the allocation is active."),
    _p("starts_at", _DATE, "First day of the allocation."),
    _p("ends_at", _DATE, "Last day of the allocation."),
)

DEPARTMENTS = th.PropertiesList(
    _p("department_id", _ID, "Integer department id.", required=True),
    _p("department_guid", _TEXT, "Department GUID."),
    _p("name", _TEXT, "Name."),
    _p("no", _TEXT, "Department number."),
    _p("parent_department_guid", _TEXT, "GUID of the parent department; null at the top."),
    _p("manager_employee_guid", _TEXT, "Employee GUID of the department manager."),
)
