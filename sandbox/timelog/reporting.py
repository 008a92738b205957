"""The Reporting API (`service.asmx`): SOAP 1.1 and HTTP POST, results shaped as TimeLog's v4_4 XSDs say.

Each result row is written as an ordered list of (element, value): the order is the XSD sequence order,
and a None value leaves out an element the XSD marks optional. Numbers use the invariant culture, decimals
four places, booleans 1/0 and datetimes no offset, like TimeLog's samples.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from lxml import etree

from sandbox.common.app import Request, Response
from sandbox.timelog.model import Allocation, Customer, Employee, Project, Task, WorkUnit
from sandbox.timelog.options import GUID_MODEL_WORK_UNIT
from sandbox.timelog.soap import (
    NS_SOAP_ENV,
    SOAP_CONTENT_TYPE,
    SoapFaultError,
    envelope,
    fault_envelope,
    parse_xml,
    soap_body_child,
)
from sandbox.timelog.store import Store, paginate
from sandbox.timelog.transactional import task_wbs

if TYPE_CHECKING:
    from sandbox.timelog.app import TimeLogApp

NS_REPORTING_SERVICE = "http://www.timelog.com/ws/tlp/v4_4"
NS_RESULT = "http://www.timelog.com/XML/Schema/tlp/v4_4"
ACCESS_DENIED = "Access denied. Check siteCode, apiID, apiPassword and SSL settings"
#: Filter values meaning "all".
ALL_IDS = 0
ALL_STATUSES = -1
ALL_PROJECT_STATUSES = -2
CREDENTIALS = ("siteCode", "apiID", "apiPassword")

Row = list[tuple[str, Any]]


@dataclass(frozen=True)
class ReportingOperation:
    """A Reporting operation: its filters after the credentials, result root and item element."""

    name: str
    params: tuple[tuple[str, str], ...]  # (name, "int" | "string")
    root: str
    item: str

    @property
    def soap_action(self) -> str:
        return f"{NS_REPORTING_SERVICE}/{self.name}"


def _params(spec: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(p.split(":")) for p in spec.split())  # type: ignore[misc]


_WORK_FILTERS = ("workUnitID:int employeeID:int allocationID:int taskID:int projectID:int departmentID:int "
                 "startDate:string endDate:string")
OPERATIONS: dict[str, ReportingOperation] = {op.name: op for op in (
    ReportingOperation("ValidateCredentials", (), "", ""),
    ReportingOperation("GetProjectsRaw", _params("projectID:int status:int customerID:int projectManagerID:int"),
                       "Projects", "Project"),
    ReportingOperation("GetTasksRaw", _params("taskID:int projectID:int status:int taskTypeID:int"), "Tasks", "Task"),
    ReportingOperation("GetEmployeesRaw", _params("employeeID:int initials:string departmentID:int status:int"),
                       "Employees", "Employee"),
    ReportingOperation("GetCustomersRaw", _params("customerID:int customerStatusID:int accountManagerID:int"),
                       "Customers", "Customer"),
    ReportingOperation("GetAllocationsRaw", _params("allocationID:int taskID:int employeeID:int projectID:int"),
                       "Allocations", "Allocation"),
    ReportingOperation("GetWorkUnitsRaw", _params(_WORK_FILTERS), "WorkUnits", "WorkUnit"),
    ReportingOperation("GetWorkUnitsRawPaged", _params(f"{_WORK_FILTERS} page:string pageSize:string"),
                       "WorkUnits", "WorkUnit"),
)}


class ReportingError(Exception):
    """Bad input: HTTP 500 with the reason, as the real API answers since 2021."""


def operation_from_action(action: str | None) -> str | None:
    name = (action or "").strip().strip('"').rsplit("/", 1)[-1]
    return name if name in OPERATIONS else None


# -- formatting ---------------------------------------------------------------------------------------


def _decimal(value: float) -> str:
    return f"{value:.4f}"


def _bool(value: bool) -> str:
    return "1" if value else "0"


def _datetime(value: datetime | date) -> str:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value.isoformat(timespec="seconds")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return _bool(value)
    if isinstance(value, float):
        return _decimal(value)
    if isinstance(value, date):
        return _datetime(value)
    return str(value)


# -- rows (element order = XSD sequence order) ---------------------------------------------------------


def _guids(store: Store, unit: WorkUnit) -> tuple[str, str]:
    """(TimeRegistrationGuid, WorkUnitGuid). GetWorkUnitsRaw.xml (TimeLog's sample) shows the two different; no
    source says which one the Transactional API's WorkUnit.GUID is, so the `guid_model` option picks."""
    if store.options.guid_model == GUID_MODEL_WORK_UNIT:
        return unit.other_guid, unit.guid
    return unit.guid, unit.other_guid


def work_unit_row(store: Store, unit: WorkUnit) -> tuple[dict[str, str], Row]:
    employee = store.employees[unit.employee_id]
    task = store.tasks.get(unit.task_id)
    project = store.projects.get(task.project_id) if task else None
    customer = store.customers.get(project.customer_id) if project else None
    allocation = store.allocation_by_pair.get((unit.employee_id, unit.task_id))
    department = store.departments.get(employee.department_id)
    hours = unit.minutes / 60
    end = unit.start_at + timedelta(minutes=unit.minutes)
    zero = 0.0
    row: Row = [
        *zip(("TimeRegistrationGuid", "WorkUnitGuid"), _guids(store, unit), strict=True), ("OvertimeFactor", 100.0),
        ("EmployeeID", employee.employee_id), ("EmployeeInitials", employee.initials),
        ("EmployeeFirstName", employee.first_name), ("EmployeeLastName", employee.last_name),
        ("AllocationID", allocation.allocation_id if allocation else 1), ("TaskID", unit.task_id),
        ("TaskName", task.name if task else ""), ("ProjectID", project.project_id if project else 1),
        ("ProjectName", project.name if project else ""), ("CustomerId", customer.customer_id if customer else 1),
        ("CustomerName", customer.name if customer else ""), ("Date", unit.date), ("StartTime", unit.start_at),
        ("EndTime", end), ("Note", unit.description or None), ("DepartmentID", employee.department_id),
        ("DepartmentName", department.name if department else None),
        ("AdditionalTextField", unit.additional_text or None), ("ActualExchangeRate", 100.0),
        ("RegHours", hours), ("RegHourlyRate", zero), ("RegHourlyRateProjectCurrency", zero), ("RegAmount", zero),
        ("RegAmountProjectCurrency", zero), ("EstimatedHours", hours), ("EstimatedHourlyRate", zero),
        ("EstimatedHourlyRateProjectCurrency", zero), ("EstimatedAmount", zero),
        ("EstimatedAmountProjectCurrency", zero), ("BARHours", zero), ("BARHourlyRate", zero),
        ("BARHourlyRateProjectCurrency", zero), ("BARAmount", zero), ("BARAmountProjectCurrency", zero),
        ("InvoicedHours", zero), ("InvoicedHourlyRate", zero), ("InvoicedHourlyRateProjectCurrency", zero),
        ("InvoicedAmount", zero), ("InvoicedAmountProjectCurrency", zero), ("InvHours", zero), ("InvAmount", zero),
        ("CostAmount", zero), ("CostAmountCurrency", zero), ("HourlyRateId", 1), ("InvoiceStatus", 0),
        ("BillableStatus", 1), ("IsBillable", True), ("ApprovedStatus", unit.approved_status),
        ("MonthlyPeriod", None), ("CreatedAt", unit.created_at), ("CreatedByEmployeeId", employee.employee_id),
        ("CreatedBy", employee.full_name), ("LastModifiedAt", unit.modified_at),
        ("LastModifiedByEmployeeId", employee.employee_id), ("LastModifiedBy", employee.full_name),
        ("UserID", employee.user_id),
    ]
    return {"ID": str(unit.work_id), "OldID": str(unit.work_id)}, row


def task_row(store: Store, task: Task) -> tuple[dict[str, str], Row]:
    project = store.projects[task.project_id]
    creator = store.employees.get(project.project_manager_id)
    creator_id = creator.employee_id if creator else 1
    creator_name = creator.full_name if creator else ""
    row: Row = [
        ("Name", task.name), ("WBS", task_wbs(store, task)), ("TaskNo", None), ("ProjectID", project.project_id),
        ("ProjectNo", project.no), ("Status", int(task.is_active)), ("StatusDetailed", task.status),
        ("ProjectSubContractID", 1), ("ParentID", task.parent_task_id or None),
        ("IsParent", any(t.parent_task_id == task.task_id for t in store.tasks.values())),
        ("TaskTypeID", 1), ("TaskType", "Standard"), ("TaskCategoryID", None), ("TaskCategory", None),
        ("BudgetHours", task.budget_hours), ("BudgetAmount", 0.0), ("BudgetAmountCurrency", 0.0),
        ("IsFixedPrice", False), ("StartDate", task.start_date), ("EndDate", task.end_date),
        ("InvoicingType", "TimeAndMaterial"), ("CreatedAt", task.created_at), ("CreatedByEmployeeId", creator_id),
        ("CreatedBy", creator_name), ("LastModifiedAt", task.modified_at),
        ("LastModifiedByEmployeeId", creator_id), ("LastModifiedBy", creator_name), ("IsBillable", True),
        ("AllocatedRevenueAmount", 0.0), ("AllocatedRevenueAmountCurrency", 0.0),
    ]
    return {"ID": str(task.task_id), "GUID": task.guid}, row


def project_row(store: Store, project: Project) -> tuple[dict[str, str], Row]:
    customer = store.customers.get(project.customer_id)
    manager = store.employees.get(project.project_manager_id)
    manager_id, initials, full_name = ((manager.employee_id, manager.initials, manager.full_name) if manager
                                       else (1, "", ""))
    zero = 0.0
    row: Row = [
        ("Name", project.name), ("No", project.no), ("Status", int(project.is_active)), ("Department", 1),
        ("OrderedByDepartment", 1), ("ProjectStartDate", project.start_date), ("ProjectEndDate", project.end_date),
        ("Link", ""), ("Description", project.description), ("CustomerID", project.customer_id),
        ("CustomerName", customer.name if customer else ""), ("CustomerNo", customer.no if customer else None),
        ("PMID", manager_id), ("PMInitials", initials), ("PMFullName", full_name),
        ("AccountManagerID", manager_id), ("AccountManagerInitials", initials),
        ("AccountManagerFullName", full_name), ("PartnerID", manager_id), ("PartnerInitials", initials),
        ("PartnerFullName", full_name), ("ProjectTypeID", 1), ("ProjectTypeName", "Standard"),
        ("ProjectCategoryID", None), ("ProjectCategoryName", None),
        ("BudgetAmountFixedPriceTasks", zero), ("BudgetAmountFixedPriceProject", zero),
        ("BudgetAmountTimeAndMaterial", zero), ("BudgetAmountExpenses", zero), ("BudgetAmountTravel", zero),
        ("BudgetAmountWorkCurrency", zero), ("BudgetAmountExpenseCurrency", zero),
        ("BudgetAmountTravelCurrency", zero), ("BudgetHoursFixedPriceTasks", zero),
        ("BudgetHoursFixedPriceProject", zero), ("BudgetHoursTimeAndMaterial", zero), ("BudgetAmount", zero),
        ("BudgetHours", zero), ("ForecastPercent", zero), ("CreatedAt", project.created_at),
        ("CreatedByEmployeeId", manager_id), ("CreatedBy", full_name), ("LastModifiedAt", project.modified_at),
        ("LastModifiedByEmployeeId", manager_id), ("LastModifiedBy", full_name),
        ("ProjectStatusName", "In progress" if project.is_active else "Completed"), ("ContactID", 1),
        ("ContactFullName", ""), ("ContactEmail", ""), ("InternalProject", False), ("PONumber", ""),
        ("ProjectStage", ""), ("CurrencyISOCode", "DKK"), ("CurrencyRate", 100.0), ("IsMultiCustomerProject", False),
        ("LegalEntityID", None),
    ]
    return {"ID": str(project.project_id), "GUID": project.guid}, row


def employee_row(store: Store, employee: Employee) -> tuple[dict[str, str], Row]:
    department = store.departments.get(employee.department_id)
    row: Row = [
        ("EmployeeUserId", employee.user_id), ("FirstName", employee.first_name), ("LastName", employee.last_name),
        ("FullName", employee.full_name), ("Initials", employee.initials), ("Title", employee.title or None),
        ("Email", employee.email or None), ("Phone", None), ("Mobile", None), ("PrivatePhone", None),
        ("Address", None), ("ZipCode", None), ("City", None), ("Status", int(employee.is_active)),
        ("HiredDate", employee.hired_date), ("TerminatedDate", None),
        ("DepartmentNameID", department.department_id if department else None),
        ("DepartmentName", department.name if department else None), ("WorkWeek", None), ("EmployeeTypeID", None),
        ("EmployeeTypeName", None), ("EmployeeNo", str(employee.employee_id)), ("Username", employee.username),
        ("CostPrice", None), ("LegalEntityID", None), ("ApprovalManagerUserID", None),
        ("ApprovalManagerEmployeeID", None), ("DefaultHourlyRateID", 1), ("DefaultHourlyRate", 0.0),
        ("DefaultHourlyRateCurrency", "DKK"),
    ]
    return {"ID": str(employee.employee_id)}, row


def customer_row(store: Store, customer: Customer) -> tuple[dict[str, str], Row]:
    row: Row = [
        ("Name", customer.name), ("NickName", customer.name), ("No", customer.no), ("CustomerStatusID", 1),
        ("CustomerStatus", "Customer"), ("CreatedAt", customer.created_at), ("CreatedByEmployeeId", 1),
        ("CreatedBy", ""), ("LastModifiedAt", customer.modified_at), ("LastModifiedByEmployeeId", 1),
        ("LastModifiedBy", ""),
    ]
    return {"ID": str(customer.customer_id), "GUID": customer.guid}, row


def allocation_row(store: Store, allocation: Allocation) -> tuple[dict[str, str], Row]:
    task = store.tasks[allocation.task_id]
    row: Row = [
        ("ProjectID", task.project_id), ("TaskID", allocation.task_id), ("EmployeeID", allocation.employee_id),
        ("AllocatedHours", allocation.hours_allocated), ("HourlyRate", 0.0), ("TaskIsFixedPrice", False),
        ("IsActive", task.is_active), ("StartsAt", allocation.start_date), ("EndsAt", allocation.end_date),
    ]
    return {"ID": str(allocation.allocation_id)}, row


# -- queries ------------------------------------------------------------------------------------------


def _matches(wanted: int, actual: int) -> bool:
    return wanted in (ALL_IDS, actual)


def _date_filter(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip()).date()
    except ValueError as exc:
        raise ReportingError(f"{name}: {text!r} is not a date (use yyyy-MM-dd)") from exc


def _registration_range(store: Store, f: dict[str, Any]) -> tuple[date, date]:
    """startDate..endDate, at most `max_reporting_range_days` days (both ends counted). TimeLog's guidance
    (SDK Views/Reporting/SynchronizingData.cshtml) is to sync "in batches by month", and its SDK caps an answer
    at MaxReceivedMessageSize (ServiceHandler.cs): a longer or open range is refused (strict reading)."""
    limit = store.options.max_reporting_range_days
    first, last = _date_filter(f["startDate"], "startDate"), _date_filter(f["endDate"], "endDate")
    if first is None or last is None:
        raise ReportingError(f"startDate and endDate are required: a registration date range is at most {limit} "
                             "days on this site (sync in month batches)")
    days = (last - first).days + 1
    if days > limit:
        raise ReportingError(f"The registration date range {first}..{last} is {days} days; at most {limit} days "
                             "per call are allowed on this site (sync in month batches)")
    return first, last


def _work_units(store: Store, f: dict[str, Any]) -> list[WorkUnit]:
    first, last = _registration_range(store, f)
    units = store.work_between(first, last, f["employeeID"] or None)
    result = []
    for unit in units:
        task = store.tasks.get(unit.task_id)
        allocation = store.allocation_by_pair.get((unit.employee_id, unit.task_id))
        employee = store.employees[unit.employee_id]
        if (_matches(f["workUnitID"], unit.work_id) and _matches(f["taskID"], unit.task_id)
                and _matches(f["projectID"], task.project_id if task else 0)
                and _matches(f["allocationID"], allocation.allocation_id if allocation else 0)
                and _matches(f["departmentID"], employee.department_id)):
            result.append(unit)
    return result


def _status_matches(wanted: int, active: bool, all_value: int) -> bool:
    return wanted == all_value or wanted == int(active)


QUERIES: dict[str, tuple[Callable[[Store, dict], Iterable[Any]], Callable[[Store, Any], tuple[dict, Row]]]] = {
    "GetProjectsRaw": (lambda s, f: [p for p in sorted(s.projects.values(), key=lambda p: p.project_id)
                                     if _matches(f["projectID"], p.project_id)
                                     and _status_matches(f["status"], p.is_active, ALL_PROJECT_STATUSES)
                                     and _matches(f["customerID"], p.customer_id)
                                     and _matches(f["projectManagerID"], p.project_manager_id)], project_row),
    "GetTasksRaw": (lambda s, f: [t for t in sorted(s.tasks.values(), key=lambda t: t.task_id)
                                  if _matches(f["taskID"], t.task_id) and _matches(f["projectID"], t.project_id)
                                  and _status_matches(f["status"], t.is_active, ALL_STATUSES)
                                  and _matches(f["taskTypeID"], 1)], task_row),
    "GetEmployeesRaw": (lambda s, f: [e for e in sorted(s.employees.values(), key=lambda e: e.employee_id)
                                      if _matches(f["employeeID"], e.employee_id)
                                      and (not f["initials"].strip() or f["initials"].strip().lower()
                                           == e.initials.lower())
                                      and _matches(f["departmentID"], e.department_id)
                                      and _status_matches(f["status"], e.is_active, ALL_STATUSES)], employee_row),
    "GetCustomersRaw": (lambda s, f: [c for c in sorted(s.customers.values(), key=lambda c: c.customer_id)
                                      if _matches(f["customerID"], c.customer_id)
                                      and f["customerStatusID"] in (ALL_STATUSES, 1)
                                      and f["accountManagerID"] == ALL_IDS], customer_row),
    "GetAllocationsRaw": (lambda s, f: [a for a in sorted(s.allocations.values(), key=lambda a: a.allocation_id)
                                        if _matches(f["allocationID"], a.allocation_id)
                                        and _matches(f["taskID"], a.task_id)
                                        and _matches(f["employeeID"], a.employee_id)
                                        and _matches(f["projectID"], s.tasks[a.task_id].project_id)],
                          allocation_row),
    "GetWorkUnitsRaw": (_work_units, work_unit_row),
    "GetWorkUnitsRawPaged": (_work_units, work_unit_row),
}


def _page_value(text: str, name: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise ReportingError(f"{name}: {text!r} must be a whole number of 1 or more, or empty for all rows")
    return int(text)


def result_document(store: Store, operation: ReportingOperation, filters: dict[str, Any]) -> etree._Element:
    """The `tlp:` result root for `operation`."""
    select, to_row = QUERIES[operation.name]
    items = list(select(store, filters))
    root = etree.Element(f"{{{NS_RESULT}}}{operation.root}", nsmap={"tlp": NS_RESULT})
    if operation.name == "GetWorkUnitsRawPaged":
        page, size = _page_value(filters["page"], "page"), _page_value(filters["pageSize"], "pageSize")
        total = len(items)
        if size is not None:
            current = paginate(items, page or 1, size)
            items, total_pages = current.items, current.total_pages
        else:
            total_pages = 1 if total else 0
        root.set("Page", str(page or 1))
        root.set("PageSize", str(size or total))
        root.set("TotalPages", str(total_pages))
        root.set("TotalRecords", str(total))
    if not items:
        root.set("resultEmpty", "true")
    for item in items:
        attributes, row = to_row(store, item)
        node = etree.SubElement(root, f"{{{NS_RESULT}}}{operation.item}", attributes)
        for name, value in row:
            if value is not None:
                etree.SubElement(node, f"{{{NS_RESULT}}}{name}").text = _text(value)
    return root


# -- HTTP ---------------------------------------------------------------------------------------------


def _decode_filters(operation: ReportingOperation, raw: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for name, kind in operation.params:
        text = raw.get(name)
        if text is None:
            raise ReportingError(f"Missing parameter: {name}.")
        if kind == "int":
            try:
                filters[name] = int(text.strip())
            except ValueError as exc:
                raise ReportingError(f"Cannot convert {text!r} to System.Int32. Parameter name: {name}") from exc
        else:
            filters[name] = text
    return filters


def _authorized(store: Store, raw: dict[str, str]) -> bool:
    expected = store.reporting
    if expected is None:
        return False
    given = (raw.get("siteCode") or "", raw.get("apiID") or "", raw.get("apiPassword") or "")
    wanted = (expected.site_code, expected.api_id, expected.api_password)
    return all(secrets.compare_digest(a.encode(), b.encode()) for a, b in zip(given, wanted, strict=True))


def _soap_arguments(request: Request) -> tuple[ReportingOperation, dict[str, str]]:
    wrapper = soap_body_child(parse_xml(request.body))
    qname = etree.QName(wrapper)
    operation = OPERATIONS.get(qname.localname) if qname.namespace == NS_REPORTING_SERVICE else None
    action = (request.headers.get("soapaction") or "").strip().strip('"')
    if operation is None or action != operation.soap_action:
        raise SoapFaultError(f"Server did not recognize the value of HTTP Header SOAPAction: {action}.")
    raw = {etree.QName(child).localname: child.text or "" for child in wrapper if isinstance(child.tag, str)}
    return operation, raw


def _xml_error(status: int, message: str) -> Response:
    root = etree.Element(f"{{{NS_RESULT}}}Errors", nsmap={"tlp": NS_RESULT})
    etree.SubElement(root, f"{{{NS_RESULT}}}Error").text = message
    return Response.xml(status, etree.tostring(root, encoding="utf-8"))


def _soap_fault(status: int, message: str) -> Response:
    fault = SoapFaultError(message, "soap:Server" if status >= 500 else "soap:Client")
    return Response.xml(status, fault_envelope(fault))


def handle(app: TimeLogApp, request: Request, path_operation: str | None) -> Response:
    """Serve one Reporting request (SOAP when no operation is in the path, HTTP POST otherwise)."""
    if request.method != "POST":
        return _xml_error(405, "Use SOAP 1.1 or HTTP POST; HTTP GET is not supported by this sandbox")
    is_soap = path_operation is None
    try:
        if is_soap:
            operation, raw = _soap_arguments(request)
        else:
            operation = OPERATIONS.get(path_operation or "")
            if operation is None:
                return _xml_error(500, f"Unknown web method {path_operation}.")
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
            raw = {key: values[-1] for key, values in form.items()}
        with app.lock:
            authorized = _authorized(app.store, raw)
            if operation.name == "ValidateCredentials":
                return _answer(operation, is_soap, "true" if authorized else "false")
            if not authorized:
                return _soap_fault(401, ACCESS_DENIED) if is_soap else _xml_error(401, ACCESS_DENIED)
            document = result_document(app.store, operation, _decode_filters(operation, raw))
    except SoapFaultError as fault:
        return _soap_fault(500, fault.message)
    except ReportingError as exc:
        return _soap_fault(500, str(exc)) if is_soap else _xml_error(500, str(exc))
    return _answer(operation, is_soap, document)


def _answer(operation: ReportingOperation, is_soap: bool, result: etree._Element | str) -> Response:
    if not is_soap:
        if isinstance(result, str):
            node = etree.Element(f"{{{NS_REPORTING_SERVICE}}}boolean", nsmap={None: NS_REPORTING_SERVICE})
            node.text = result
            result = node
        return Response.xml(200, etree.tostring(result, xml_declaration=True, encoding="utf-8"))
    wrapper = etree.Element(f"{{{NS_REPORTING_SERVICE}}}{operation.name}Response",
                            nsmap={None: NS_REPORTING_SERVICE})
    holder = etree.SubElement(wrapper, f"{{{NS_REPORTING_SERVICE}}}{operation.name}Result")
    if isinstance(result, str):
        holder.text = result
    else:
        holder.append(result)
    return Response(200, envelope(wrapper), {"Content-Type": SOAP_CONTENT_TYPE})


__all__ = ["NS_RESULT", "NS_SOAP_ENV", "OPERATIONS", "handle", "operation_from_action", "result_document"]
