"""Contract tests: zeep clients built from TimeLog's OFFICIAL WSDLs call `python -m sandbox serve`.

The archived WSDLs are ProjectManagement V1_7, Organisation V1_7 and Security V1_2; their absolute import
URLs are mapped to the local files. zeep parses strictly, so a wrong element name, order or namespace in an
answer fails here. Our own served WSDL is compared type by type with the official one.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from zeep import Client
from zeep.proxy import ServiceProxy
from zeep.transports import Transport

from sandbox.testing import SandboxProcess
from sandbox.timelog.testing import get_token, retype_token, service_url

pytestmark = pytest.mark.reference

OFFICIAL_WSDLS = {
    "Security": ("V1_2", "SecurityService/SecurityServiceSecure.wsdl"),
    "ProjectManagement": ("V1_7", "ProjectManagementService/ProjectManagementServiceSecure22.wsdl"),
    "Organisation": ("V1_7", "OrganisationService/OrganisationServiceSecure1.wsdl"),
}
#: The ProjectManagement WSDL imports its binding (`?wsdl=wsdl0`), which imports the main document back.
IMPORTED_DOCUMENTS = {
    "ProjectManagementServiceSecure.svc?wsdl=wsdl0": "ProjectManagementService/ProjectManagementServiceSecure23.wsdl",
    "ProjectManagementServiceSecure.svc?wsdl": "ProjectManagementService/ProjectManagementServiceSecure22.wsdl",
}
NS_V1_7 = "http://www.timelog.com/api/tlp/v1_7"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
PM_OPERATIONS = {
    "GetProjects", "GetProjectByID", "GetProjectsModifiedInPeriodPaged", "GetTasksByProjectId",
    "GetProjectTasksPaged", "GetTaskByID", "GetTaskById", "GetTaskByExternalKey", "CreateTask", "CreateSubTask",
    "UpdateTask", "DeleteTask", "ChangeTaskStatus", "GetTasksModifiedInPeriodPaged", "AddEmployeeToTask",
    "GetAllocationsToEmployee", "CreateAllocation", "DeleteAllocation", "GetEmployeeWork", "InsertWork",
    "UpdateWork", "DeleteWork", "GetWorkPaged", "GetWorkChangesPaged", "GetWorkChangeLogPaged",
}
ORG_OPERATIONS = {"GetEmployeesPaged", "GetEmployeesModifiedInPeriodPaged", "GetEmployeeByUsername",
                  "GetDepartments"}


class ReferenceTransport(Transport):
    """Serves the archived WSDL documents for their absolute app8.timelog.com URLs."""

    def __init__(self, wsdl_dir: Path) -> None:
        super().__init__()
        self.wsdl_dir = wsdl_dir

    def load(self, url: str) -> bytes:
        if url.startswith("https://app8.timelog.com/"):
            for suffix, relative in IMPORTED_DOCUMENTS.items():
                if url.endswith(suffix):
                    return (self.wsdl_dir / relative).read_bytes()
            raise ValueError(f"no local copy of {url}")
        return super().load(url)


@pytest.fixture(scope="module")
def live() -> SandboxProcess:
    """A sandbox of our own: these tests write, and leave the shared one alone."""
    with SandboxProcess(data="demo") as process:
        yield process


@pytest.fixture(scope="module")
def official(reference_dir: Path, live: SandboxProcess) -> dict:
    """Official-WSDL clients bound to the simulator's endpoints, by area."""
    wsdl_dir = reference_dir / "timelog" / "transactional-wsdl"
    clients = {}
    for area, (version, relative) in OFFICIAL_WSDLS.items():
        client = Client(str(wsdl_dir / relative), transport=ReferenceTransport(wsdl_dir))
        port = next(iter(next(iter(client.wsdl.services.values())).ports.values()))
        # The port's binding lives in an imported document, so bind the proxy to it directly.
        clients[area] = (client, ServiceProxy(client, port.binding, address=service_url(live.timelog_url, area,
                                                                                         version)))
    return clients


@pytest.fixture(scope="module")
def session(official: dict) -> dict:
    """Token and services: security, pm and org proxies plus the pm/org clients for types."""
    _, security = official["Security"]
    pm_client, pm = official["ProjectManagement"]
    org_client, org = official["Organisation"]
    token = get_token(security)
    return {"security": security, "pm": pm, "pm_client": pm_client, "org": org, "org_client": org_client,
            "raw_token": token, "pm_token": retype_token(pm_client, token),
            "org_token": retype_token(org_client, token)}


def _ok(response: object) -> object:
    assert response.ResponseState == "Success", [m.Message for m in response.Messages.APIMessage]
    return response


def _new_task(types: Client, **fields: object) -> object:
    """A Task with what ExternalKeysOnProjectAndTasks.cs sets (dates, State.IsActive), overridden by `fields`."""
    state = types.get_type(f"{{{NS_V1_7}}}TaskState")(IsActive=True)
    valid = {"StartDate": datetime(2026, 11, 1), "EndDate": datetime(2027, 3, 31), "State": state}
    return types.get_type(f"{{{NS_V1_7}}}Task")(**{**valid, **fields})


def test_security_operations(session: dict) -> None:
    security = session["security"]
    assert security.IsAlive() is True
    user = _ok(security.GetUser(token=session["raw_token"]))
    assert user.Return.User[0].Initials == session["raw_token"].Initials
    wrong = security.GetToken(user="tl-sync", password="nope")
    assert wrong.ResponseState == "Invalid"


def test_time_registration_settings_through_the_official_security_wsdl(session: dict, live: SandboxProcess) -> None:
    security = session["security"]
    [settings] = _ok(security.GetTimeRegistrationSettings(token=session["raw_token"])) \
        .Return.TimeRegistrationSettings
    assert (settings.AdditionalTextFieldValidation, settings.AdditionalTextFieldType) == (0, 0)
    live.timelog.options(additional_text_validation=1, additional_text_type=2)
    try:
        [settings] = _ok(security.GetTimeRegistrationSettings(token=session["raw_token"])) \
            .Return.TimeRegistrationSettings
        assert (settings.AdditionalTextFieldValidation, settings.AdditionalTextFieldType) == (1, 2)
        assert settings.ShowTimesheetAdditionalTextField is True
    finally:
        live.timelog.options(additional_text_validation=0, additional_text_type=0)


def test_done_when_official_project_management_wsdl(session: dict, live: SandboxProcess) -> None:
    """GetToken, CreateTask, AddEmployeeToTask, InsertWork, UpdateWork, DeleteWork, then the delete is logged."""
    pm, types, token = session["pm"], session["pm_client"], session["pm_token"]
    created = _ok(pm.CreateTask(task=_new_task(types, ID=str(uuid.uuid4()), Name="Contract task ✓ <&>"),
                                projectID=2001, token=token))
    task = created.Return.BatchContainerOfTask[0].Item
    employee = live.timelog.state()["employees"][0]
    _ok(pm.AddEmployeeToTask(employeeID=employee["employee_id"], taskID=task.TaskID, BudgetHours=2.5, token=token))
    unit_type = types.get_type(f"{{{NS_V1_7}}}WorkUnit")
    guid = str(uuid.uuid4())
    start = datetime(2026, 11, 19, 9, 0)
    unit = unit_type(GUID=guid, TaskID=task.TaskID, EmployeeInitials=employee["initials"],
                     Duration=timedelta(minutes=95), StartDateTime=start, EndDateTime=start + timedelta(minutes=95),
                     Description="Første møde <kunde> & \"plan\"")
    inserted = _ok(pm.InsertWork(work={"WorkUnit": [unit]}, source=0, token=token))
    assert inserted.Return.BatchContainerOfWorkUnit[0].Item.Duration == timedelta(minutes=95)
    unit.Duration = timedelta(hours=2)
    updated = _ok(pm.UpdateWork(work={"WorkUnit": [unit]}, source=0, token=token))
    assert updated.Return.BatchContainerOfWorkUnit[0].Item.Description == unit.Description
    guids = types.get_type(f"{{{NS_ARRAYS}}}ArrayOfguid")
    _ok(pm.DeleteWork(work=guids(guid=[guid]), source=0, token=token))
    now = datetime.now(UTC).replace(tzinfo=None)  # the site clock is naive UTC
    log = _ok(pm.GetWorkChangeLogPaged(startDate=now - timedelta(days=1), endDate=now + timedelta(days=1),
                                       includeCreates=True, includeUpdates=True, includeDeletes=True, page=1,
                                       pageSize=500, token=token))
    assert [entry.Action for entry in log.Return.WorkUnitFlat if entry.WorkUnitGuid == guid] == [
        "Created", "Updated", "Deleted"]


def test_every_project_management_operation_parses(session: dict, live: SandboxProcess) -> None:
    pm, types, token = session["pm"], session["pm_client"], session["pm_token"]
    state = live.timelog.state()
    project = state["projects"][0]
    employee = state["employees"][0]
    task = next(t for t in state["tasks"] if t["project_id"] == project["project_id"])
    window = {"startDate": datetime(2026, 1, 1), "endDate": datetime(2027, 1, 1)}
    paged = {"page": 1, "pageSize": 50}
    called = set()

    def call(name: str, **kwargs: object) -> object:
        called.add(name)
        return _ok(getattr(pm, name)(token=token, **kwargs))

    assert call("GetProjects", customerID=0, projectManagerID=0, includeInactiveProjects=True, statusID=-1) \
        .Return.ProjectHeader
    assert call("GetProjectByID", projectID=project["project_id"], loadExternalKeys=True).Return.Project[0].Name \
        == project["name"]
    call("GetProjectsModifiedInPeriodPaged", startDate=datetime(2000, 1, 1), endDate=datetime(2100, 1, 1), **paged)
    assert call("GetTasksByProjectId", projectGuid=project["guid"]).Return.Task
    assert call("GetProjectTasksPaged", projectGuid=project["guid"], **paged).Return.ProjectTaskFlat
    assert task["guid"] == call("GetTaskByID", taskID=task["task_id"], loadExternalKeys=False).Return.Task[0].ID
    assert call("GetTaskById", taskGuid=task["guid"]).Return.Task[0].TaskID == task["task_id"]
    key_type = types.get_type("{http://api.timelog.com}ExternalSystemContext")
    keys = {"ExternalSystemContext": [key_type(SystemName="Forecast", ExternalID=str(uuid.uuid4()))]}
    new = call("CreateTask", task=_new_task(types, Name="Parent", IsExternalKeysLoaded=True, ExternalKeys=keys),
               projectID=project["project_id"]).Return.BatchContainerOfTask[0].Item
    assert call("GetTaskByExternalKey", key=keys["ExternalSystemContext"][0].ExternalID, systemName="Forecast") \
        .Return.Task[0].ID == new.ID
    sub = call("CreateSubTask", task=_new_task(types, Name="Child"), parentTaskId=new.TaskID,
               projectID=project["project_id"]).Return.BatchContainerOfTask[0].Item
    call("UpdateTask", task=_new_task(types, ID=sub.ID, Name="Child renamed"), projectID=project["project_id"])
    call("ChangeTaskStatus", taskGuid=sub.ID, targetStatus=2)
    call("GetTasksModifiedInPeriodPaged", startDate=datetime(2000, 1, 1), endDate=datetime(2100, 1, 1), **paged)
    allocation_type = types.get_type(f"{{{NS_V1_7}}}Allocation")
    allocation = call("CreateAllocation", allocation=allocation_type(EmployeeID=employee["employee_id"],
                                                                     TaskID=sub.TaskID, HoursAllocated=3.0))
    call("AddEmployeeToTask", employeeID=employee["employee_id"], taskID=new.TaskID, BudgetHours=1.0)
    assert call("GetAllocationsToEmployee", initials=employee["initials"]).Return.Allocation
    call("DeleteAllocation", allocationGuid=allocation.Return.Allocation[0].ID)
    call("DeleteTask", taskGuid=sub.ID)
    assert call("GetEmployeeWork", initials=employee["initials"], **window).Return.WorkUnit
    assert call("GetWorkPaged", initials="", **window, **paged).Return.WorkUnitFlat
    call("GetWorkChangesPaged", initials="", registrationStartDate=window["startDate"],
         registrationEndDate=window["endDate"], changeStartDate=datetime(2000, 1, 1),
         changeEndDate=datetime(2100, 1, 1), **paged)
    call("GetWorkChangeLogPaged", includeCreates=True, includeUpdates=True, includeDeletes=True,
         startDate=datetime(2026, 11, 1), endDate=datetime(2026, 11, 30), **paged)
    # InsertWork, UpdateWork and DeleteWork run in the done-when test.
    assert called | {"InsertWork", "UpdateWork", "DeleteWork"} == PM_OPERATIONS


def test_every_organisation_operation_parses(session: dict, live: SandboxProcess) -> None:
    org, token = session["org"], session["org_token"]
    employees = _ok(org.GetEmployeesPaged(page=1, pageSize=100, token=token)).Return.Employee
    assert len(employees) == len(live.timelog.state()["employees"])
    changed = _ok(org.GetEmployeesModifiedInPeriodPaged(startDate=datetime(2000, 1, 1),
                                                        endDate=datetime(2100, 1, 1), page=1, pageSize=100,
                                                        token=token))
    assert changed.Return.Employee
    header = _ok(org.GetEmployeeByUsername(username="TL-SYNC", token=token))
    assert header.Return.EmployeeHeader[0].Initials == "SYNC"
    assert _ok(org.GetDepartments(token=token)).Return.Department


# -- our WSDL against the official one -------------------------------------------------------------------


def _operations(client: Client) -> dict:
    port = next(iter(next(iter(client.wsdl.services.values())).ports.values()))
    return port.binding._operations


def _element_names(zeep_type: object) -> list[tuple[str, str | None]]:
    """(name, namespace) of each member, inherited ones first: the wire shape of a type."""
    return [(name, getattr(element, "qname", None) and element.qname.namespace)
            for name, element in zeep_type.elements]


def _signature(body_type: object) -> list[tuple[str, str | None, object]]:
    """Each wrapper child: name, namespace and type QName."""
    return [(name, element.qname.namespace, getattr(element.type, "qname", None))
            for name, element in body_type.elements]


@pytest.mark.parametrize("area", list(OFFICIAL_WSDLS))
def test_our_wsdl_matches_the_official_one(area: str, official: dict, live: SandboxProcess) -> None:
    version = OFFICIAL_WSDLS[area][0]
    ours = Client(service_url(live.timelog_url, area, version) + "?wsdl")
    theirs = official[area][0]
    our_ops, their_ops = _operations(ours), _operations(theirs)
    assert set(our_ops) <= set(their_ops)
    for name, operation in our_ops.items():
        reference = their_ops[name]
        assert operation.soapaction == reference.soapaction, name
        assert operation.input.body.qname == reference.input.body.qname, name
        assert _signature(operation.input.body.type) == _signature(reference.input.body.type), name
        assert _signature(operation.output.body.type) == _signature(reference.output.body.type), name
    # Every complex type we publish has the official members, in the official order and namespaces.
    for our_type in ours.wsdl.types.types:
        qname = getattr(our_type, "qname", None)
        if qname is None or not hasattr(our_type, "elements") or re.match(r"^ArrayOf", qname.localname):
            continue
        their_type = theirs.wsdl.types.get_type(qname)
        assert _element_names(our_type) == _element_names(their_type), qname
