"""Contract tests for the current versions (ProjectManagement V1_8, Organisation V1_9, Security V1_2).

No raw WSDL of V1_8/V1_9 is archived; `transactional_contracts.json` (extracted from TimeLog's svcutil proxies)
is the referee: same operations, SOAPActions, parameters, return types and data contracts. Then a zeep client
built from OUR served `?wsdl` runs the done-when scenario against `python -m sandbox serve`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from zeep import Client

from sandbox.testing import SandboxProcess
from sandbox.timelog.contracts import SERVICES, DataContract, Enumeration, ServiceVersion
from sandbox.timelog.testing import get_token, retype_token, service_url

CURRENT = [("SecurityService", "V1_2"), ("ProjectManagementService", "V1_8"), ("OrganisationService", "V1_9")]
NS_V1_7 = "http://www.timelog.com/api/tlp/v1_7"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"


@pytest.fixture(scope="module")
def reference_contracts(reference_dir: Path) -> dict:
    path = reference_dir / "timelog" / "transactional-extracted" / "transactional_contracts.json"
    return json.loads(path.read_text(encoding="utf-8"))["services"]


def _reachable(version: ServiceVersion) -> set[str]:
    """Every contract name the served operations use, transitively (generic wrappers included)."""
    seen: set[str] = set()
    pending = [t for op in version.operations.values() for t in (op.returns, *(p for _, p in op.params))]
    while pending:
        name = pending.pop().removesuffix("[]").removesuffix("?")
        if name in seen or version.is_primitive(name) or name in ("bool", "XmlElement"):
            continue
        seen.add(name)
        found = version.lookup(name)
        if isinstance(found, DataContract):
            pending.extend(m.type for m in found.members)
            if found.base:
                pending.append(found.base)
    return seen


@pytest.mark.reference
@pytest.mark.parametrize(("service", "version"), CURRENT)
def test_operations_match_the_current_contract(service: str, version: str, reference_contracts: dict) -> None:
    served = SERVICES[service].at(version)
    reference = reference_contracts[service]
    assert served.namespace == reference["service_namespace"]
    operations = {op["name"]: op for op in reference["operations"]}
    for operation in served.operations.values():
        expected = operations[operation.name]
        assert served.soap_action(operation) == expected["soap_action"], operation.name
        assert [list(p) for p in operation.params] == [[p["name"], p["type"]] for p in expected["params"]], \
            operation.name
        assert operation.returns == expected["returns"], operation.name


@pytest.mark.reference
@pytest.mark.parametrize(("service", "version"), CURRENT)
def test_data_contracts_match_the_current_contract(service: str, version: str, reference_contracts: dict) -> None:
    served = SERVICES[service].at(version)
    reference = dict(reference_contracts[service]["types"])
    enums = reference_contracts[service]["enums"]
    checked = 0
    for name in sorted(_reachable(served)):
        ours = served.lookup(name)
        if isinstance(ours, Enumeration):
            assert ours.namespace == enums[name]["namespace"], name
            if ours.values:  # DomainType's 250+ names are deliberately not listed (we never send one)
                assert list(ours.values) == list(enums[name]["values"]), name
            continue
        theirs = reference[name]
        assert (ours.name, ours.namespace) == (theirs["xml_name"], theirs["namespace"]), name
        assert (ours.base or "object") == theirs["base"], name
        assert [(m.name, m.type.replace("TimeSpan?", "Nullable<TimeSpan>").replace("base64", "byte[]")
                 .replace("anyType", "object").replace("XmlElement", "Xml.XmlElement"), m.required)
                for m in ours.members] == [
            (m["name"], m["type"], "req" in m["flags"]) for m in theirs["members"]], name
        checked += 1
    assert checked >= 5  # the envelope types at least: the loop did compare something


# -- our own WSDL, live ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live() -> SandboxProcess:
    with SandboxProcess(data="demo") as process:
        yield process


def test_done_when_with_our_served_wsdl(live: SandboxProcess) -> None:
    security = Client(service_url(live.timelog_url, "Security") + "?wsdl")
    pm = Client(service_url(live.timelog_url, "ProjectManagement") + "?wsdl")
    token = retype_token(pm, get_token(security))
    task_type = pm.get_type(f"{{{NS_V1_7}}}Task")
    active = pm.get_type(f"{{{NS_V1_7}}}TaskState")(IsActive=True)
    task = pm.service.CreateTask(task=task_type(Name="Via our WSDL", StartDate=datetime(2026, 11, 1),
                                                EndDate=datetime(2027, 3, 31), State=active),
                                 projectID=2002, token=token).Return.BatchContainerOfTask[0].Item
    employee = live.timelog.state()["employees"][1]
    added = pm.service.AddEmployeeToTask(employeeID=employee["employee_id"], taskID=task.TaskID, BudgetHours=0,
                                         token=token)
    assert added.ResponseState == "Success"
    guid = str(uuid.uuid4())
    unit = pm.get_type(f"{{{NS_V1_7}}}WorkUnit")(
        GUID=guid, TaskID=task.TaskID, EmployeeInitials=employee["initials"], Duration=timedelta(minutes=50),
        StartDateTime=datetime(2026, 11, 18, 10), Description="ÆØÅ & <tags>")
    assert pm.service.InsertWork(work={"WorkUnit": [unit]}, source=0, token=token).ResponseState == "Success"
    unit.Duration = timedelta(minutes=65)
    assert pm.service.UpdateWork(work={"WorkUnit": [unit]}, source=0, token=token).ResponseState == "Success"
    guids = pm.get_type(f"{{{NS_ARRAYS}}}ArrayOfguid")(guid=[guid])
    assert pm.service.DeleteWork(work=guids, source=0, token=token).ResponseState == "Success"
    now = datetime.now(UTC).replace(tzinfo=None)  # the site clock is naive UTC
    log = pm.service.GetWorkChangeLogPaged(startDate=now, endDate=now, includeCreates=True, includeUpdates=True,
                                           includeDeletes=True, page=1, pageSize=500, token=token)
    assert [e.Action for e in log.Return.WorkUnitFlat if e.WorkUnitGuid == guid] == ["Created", "Updated", "Deleted"]
    state = live.timelog.state()
    assert guid not in {w["guid"] for w in state["work_units"]}
    assert [e["action"] for e in state["change_log"] if e["work_guid"] == guid] == ["Created", "Updated", "Deleted"]
    stats = live.timelog.stats()
    assert stats["writes"]["ProjectManagementService.InsertWork"] >= 1


def test_current_organisation_version_carries_user_names(live: SandboxProcess) -> None:
    security = Client(service_url(live.timelog_url, "Security") + "?wsdl")
    org = Client(service_url(live.timelog_url, "Organisation") + "?wsdl")
    token = retype_token(org, get_token(security))
    employees = org.service.GetEmployeesPaged(page=1, pageSize=100, token=token).Return.Employee
    state = {e["employee_id"]: e for e in live.timelog.state()["employees"]}
    assert {e.EmployeeID: e.UserName for e in employees} == {i: e["username"] for i, e in state.items()}
