"""TimeLog items (Reporting XML and Transactional objects) as the snake_case records of docs/streams.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Mapping
from typing import Any

from timelog_api.convert import (
    Item,
    hours_to_minutes,
    require,
    to_bool,
    to_date,
    to_decimal,
    to_guid,
    to_int,
    to_utc_rfc3339,
)
from timelog_api.guids import GuidModel
from timelog_api.items import ACTIVE_STATUS, require_work_item

#: The `work` record field (as Reporting lists it) that holds the Transactional GUID under each model.
GUID_RECORD_FIELDS = {GuidModel.TIME_REGISTRATION: "time_registration_guid",
                      GuidModel.WORK_UNIT: "reporting_work_unit_guid"}


def _positive(value: Any) -> int | None:
    """An id where TimeLog writes 0 (or nothing) for "none"."""
    number = to_int(value)
    return number or None


def keyed(model: GuidModel, record: dict[str, Any]) -> dict[str, Any]:
    """A `work` record with `work_unit_guid`, its key, set to the Transactional GUID under `model`."""
    field = GUID_RECORD_FIELDS[model]
    guid = record.get(field)
    if guid is None:
        raise ValueError(f"work unit {record.get('work_unit_id')} without {field}")
    record["work_unit_guid"] = guid
    return record


def matching_model(record: Mapping[str, Any], transactional_guids: Container[str | None]) -> GuidModel | None:
    """The model under which this `work` record's unit is one of `transactional_guids`, or None."""
    return next((model for model in GuidModel if record.get(GUID_RECORD_FIELDS[model]) in transactional_guids), None)


def work_record(item: Item, tz: dt.tzinfo, task_guids: Mapping[int, str | None]) -> dict[str, Any]:
    """A Reporting `tlp:WorkUnit` as a `work` record, not yet keyed: `keyed` sets `work_unit_guid`.
    `task_guids` maps TaskID to the task's GUID."""
    # Both GUIDs are required elements of GetWorkUnitsRaw.xsd; a row without one is malformed (and retried).
    require_work_item(item)
    task_id = to_int(item.get("TaskID"))
    return {
        "work_unit_guid": None,
        "work_unit_id": to_int(item.get("ID")),
        "time_registration_guid": to_guid(item.get("TimeRegistrationGuid")),
        "reporting_work_unit_guid": to_guid(item.get("WorkUnitGuid")),
        "employee_id": to_int(item.get("EmployeeID")),
        "employee_initials": item.get("EmployeeInitials"),
        "user_id": _positive(item.get("UserID")),
        "allocation_id": _positive(item.get("AllocationID")),
        "task_id": task_id,
        "task_guid": task_guids.get(task_id) if task_id is not None else None,
        "task_name": item.get("TaskName"),
        "project_id": to_int(item.get("ProjectID")),
        "customer_id": _positive(item.get("CustomerId")),
        "department_id": _positive(item.get("DepartmentID")),
        "date": to_date(item.get("Date")),
        "minutes": hours_to_minutes(item.get("RegHours")),
        "hours": to_decimal(item.get("RegHours")),
        "note": item.get("Note"),
        "additional_text": item.get("AdditionalTextField"),
        "approval_status": to_int(item.get("ApprovedStatus")),
        "is_billable": to_bool(item.get("IsBillable")),
        "billable_status": to_int(item.get("BillableStatus")),
        "invoice_status": to_int(item.get("InvoiceStatus")),
        "created_at": to_utc_rfc3339(item.get("CreatedAt"), tz),
        "created_by_employee_id": _positive(item.get("CreatedByEmployeeId")),
        "modified_at": to_utc_rfc3339(item.get("LastModifiedAt"), tz),
        "modified_by_employee_id": _positive(item.get("LastModifiedByEmployeeId")),
    }


def work_deletion_record(item: Item, tz: dt.tzinfo, seen_at: str | None) -> dict[str, Any]:
    """A change-log `WorkUnitFlat` with Action Deleted; TimeLog may leave ActionDate empty, then `seen_at` is used."""
    require("WorkUnitGuid")(item)
    return {
        "work_unit_guid": to_guid(item.get("WorkUnitGuid")),
        "deleted_at": to_utc_rfc3339(item.get("ActionDate"), tz) or seen_at,
    }


def external_keys(item: Item) -> list[dict[str, str]]:
    """`ExternalKeys` of an `APIBaseExtended` object as `[{system_name, external_id}]`."""
    wrapper = item.get("ExternalKeys") or {}
    contexts = wrapper.get("ExternalSystemContext") if isinstance(wrapper, Mapping) else wrapper
    return [
        {"system_name": c.get("SystemName"), "external_id": c.get("ExternalID")}
        for c in contexts or []
        if c.get("SystemName") is not None
    ]


def task_record(item: Item, tz: dt.tzinfo, keys: list[dict[str, str]]) -> dict[str, Any]:
    """A Reporting `tlp:Task` as a `tasks` record, with the external keys read from the Transactional API."""
    require("ID", "GUID", "ProjectID", "LastModifiedAt")(item)
    return {
        "task_id": to_int(item.get("ID")),
        "task_guid": to_guid(item.get("GUID")),
        "project_id": to_int(item.get("ProjectID")),
        "parent_task_id": _positive(item.get("ParentID")),
        "is_parent": to_bool(item.get("IsParent")),
        "name": item.get("Name"),
        "no": item.get("TaskNo"),
        "wbs": item.get("WBS"),
        "status": to_int(item.get("StatusDetailed")),
        "is_active": to_int(item.get("Status")) == ACTIVE_STATUS,
        "task_type_id": _positive(item.get("TaskTypeID")),
        "is_billable": to_bool(item.get("IsBillable")),
        "is_fixed_price": to_bool(item.get("IsFixedPrice")),
        "start_date": to_date(item.get("StartDate")),
        "end_date": to_date(item.get("EndDate")),
        "budget_hours": to_decimal(item.get("BudgetHours")),
        "budget_amount": to_decimal(item.get("BudgetAmount")),
        "external_keys": keys,
        "created_at": to_utc_rfc3339(item.get("CreatedAt"), tz),
        "modified_at": to_utc_rfc3339(item.get("LastModifiedAt"), tz),
    }


def employee_record(item: Item, guid: str | None) -> dict[str, Any]:
    """A Reporting `tlp:Employee` as an `employees` record; `guid` comes from OrganisationService."""
    require("ID", "Initials")(item)
    return {
        "employee_id": to_int(item.get("ID")),
        "user_id": _positive(item.get("EmployeeUserId")),
        "employee_guid": to_guid(guid),
        "initials": item.get("Initials"),
        "username": item.get("Username"),
        "email": item.get("Email"),
        "first_name": item.get("FirstName"),
        "last_name": item.get("LastName"),
        "full_name": item.get("FullName"),
        "title": item.get("Title"),
        "employee_no": item.get("EmployeeNo"),
        "department_id": _positive(item.get("DepartmentNameID")),
        "is_active": to_int(item.get("Status")) == ACTIVE_STATUS,
        "hired_date": to_date(item.get("HiredDate")),
        "terminated_date": to_date(item.get("TerminatedDate")),
    }


def project_record(item: Item, tz: dt.tzinfo) -> dict[str, Any]:
    """A Reporting `tlp:Project` as a `projects` record."""
    require("ID")(item)
    return {
        "project_id": to_int(item.get("ID")),
        "project_guid": to_guid(item.get("GUID")),
        "name": item.get("Name"),
        "no": item.get("No"),
        "customer_id": _positive(item.get("CustomerID")),
        "customer_name": item.get("CustomerName"),
        "project_manager_id": _positive(item.get("PMID")),
        "status": to_int(item.get("Status")),
        "status_name": item.get("ProjectStatusName"),
        "is_active": to_int(item.get("Status")) == ACTIVE_STATUS,
        "is_internal": to_bool(item.get("InternalProject")),
        "start_date": to_date(item.get("ProjectStartDate")),
        "end_date": to_date(item.get("ProjectEndDate")),
        "budget_hours": to_decimal(item.get("BudgetHours")),
        "created_at": to_utc_rfc3339(item.get("CreatedAt"), tz),
        "modified_at": to_utc_rfc3339(item.get("LastModifiedAt"), tz),
    }


def customer_record(item: Item, tz: dt.tzinfo) -> dict[str, Any]:
    """A Reporting `tlp:Customer` as a `customers` record."""
    require("ID")(item)
    return {
        "customer_id": to_int(item.get("ID")),
        "customer_guid": to_guid(item.get("GUID")),
        "name": item.get("Name"),
        "nick_name": item.get("NickName"),
        "no": item.get("No"),
        "status_id": to_int(item.get("CustomerStatusID")),
        "status": item.get("CustomerStatus"),
        "email": item.get("Email"),
        "vat_no": item.get("VATNo"),
        "account_manager_id": _positive(item.get("AccountManagerID")),
        "created_at": to_utc_rfc3339(item.get("CreatedAt"), tz),
        "modified_at": to_utc_rfc3339(item.get("LastModifiedAt"), tz),
    }


def allocation_record(item: Item) -> dict[str, Any]:
    """A Reporting `tlp:Allocation` (employee on task) as an `allocations` record."""
    require("ID", "TaskID", "EmployeeID")(item)
    return {
        "allocation_id": to_int(item.get("ID")),
        "project_id": to_int(item.get("ProjectID")),
        "task_id": to_int(item.get("TaskID")),
        "employee_id": to_int(item.get("EmployeeID")),
        "allocated_hours": to_decimal(item.get("AllocatedHours")),
        "hourly_rate": to_decimal(item.get("HourlyRate")),
        "task_is_fixed_price": to_bool(item.get("TaskIsFixedPrice")),
        "is_active": to_bool(item.get("IsActive")),
        "starts_at": to_date(item.get("StartsAt")),
        "ends_at": to_date(item.get("EndsAt")),
    }


def department_record(item: Item) -> dict[str, Any]:
    """An OrganisationService `Department` as a `departments` record."""
    require("DepartmentID")(item)
    return {
        "department_id": to_int(item.get("DepartmentID")),
        "department_guid": to_guid(item.get("ID")),
        "name": item.get("Name"),
        "no": item.get("No"),
        "parent_department_guid": to_guid(item.get("ParentDepartmentGuid")),
        "manager_employee_guid": to_guid(item.get("DepartmentManagerGuid")),
    }
