"""The TimeLog simulator behind `python -m sandbox serve`: control API, stats, faults and token lifetime."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

from lxml import etree
from zeep import Client

from sandbox.testing import SandboxProcess
from sandbox.timelog.testing import get_token, retype_token, service_url

NS_V1_7 = "http://www.timelog.com/api/tlp/v1_7"


def _clients(base_url: str) -> tuple[Client, object]:
    security = Client(service_url(base_url, "Security") + "?wsdl")
    pm = Client(service_url(base_url, "ProjectManagement") + "?wsdl")
    return pm, retype_token(pm, get_token(security))


def _allocated(state: dict) -> tuple[dict, int]:
    allocation = state["allocations"][0]
    employee = next(e for e in state["employees"] if e["employee_id"] == allocation["employee_id"])
    return employee, allocation["task_id"]


def test_lock_through_the_control_api_refuses_writes_in_that_week(sandbox: SandboxProcess) -> None:
    pm, token = _clients(sandbox.timelog_url)
    employee, task_id = _allocated(sandbox.timelog.state())
    answer = sandbox.timelog.lock(employee_id=employee["employee_id"], week="2026-W45")
    assert answer["closed_period"] == {"from": "2026-11-02", "to": "2026-11-08",
                                       "employee_id": employee["employee_id"]}
    unit = pm.get_type(f"{{{NS_V1_7}}}WorkUnit")(
        GUID=str(uuid.uuid4()), TaskID=task_id, EmployeeInitials=employee["initials"],
        Duration=timedelta(hours=1), StartDateTime=datetime(2026, 11, 4, 9), Description="closed week")
    response = pm.service.InsertWork(work={"WorkUnit": [unit]}, source=0, token=token)
    assert response.Return.BatchContainerOfWorkUnit[0].Status == "Invalid"
    assert "closed" in response.Return.BatchContainerOfWorkUnit[0].Message
    assert sandbox.timelog.state()["closed_periods"] == [
        {"start": "2026-11-02", "end": "2026-11-08", "employee_id": employee["employee_id"]}]
    stats = sandbox.timelog.stats()
    assert stats["requests"]["ProjectManagementService.InsertWork"] == 1
    # A refused write still reached the operation: the server counts what the client sent.
    assert stats["requests"]["SecurityService.GetToken"] == 1


def test_lock_rejects_bad_specs_with_a_clear_message(sandbox: SandboxProcess) -> None:
    response = sandbox.timelog.http.post(f"{sandbox.timelog_url}/_sandbox/lock", json={"week": "W40"}, timeout=10)
    assert response.status_code == 400
    assert "ISO week" in response.json()["message"]


def test_approving_entries_through_the_control_api(sandbox: SandboxProcess) -> None:
    work = sandbox.timelog.state()["work_units"][-1]
    assert sandbox.timelog.lock(work_guids=[work["guid"]])["approved"] == 1
    approved = {w["guid"]: w for w in sandbox.timelog.state()["work_units"]}[work["guid"]]
    assert approved["approved_status"] == 10


def test_malformed_fault_corrupts_soap_answers(sandbox: SandboxProcess) -> None:
    pm, token = _clients(sandbox.timelog_url)
    sandbox.timelog.faults(malformed_rate=1.0, malformed_kinds=["wrong_types"],
                           only_operations=["ProjectManagementService.GetTaskByID"])
    # zeep only logs a bad number and hands back None: clients must check required values themselves.
    corrupted = pm.service.GetTaskByID(taskID=1001, loadExternalKeys=False, token=token)
    assert corrupted.Return.Task[0].TaskID is None
    raw = pm.transport.session.post(
        service_url(sandbox.timelog_url, "ProjectManagement"), timeout=10,
        headers={"SOAPAction": "http://www.timelog.com/api/tlp/v1_8/ProjectManagementService/GetTaskByID",
                 "Content-Type": "text/xml; charset=utf-8"},
        data=b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
             b'<GetTaskByID xmlns="http://www.timelog.com/api/tlp/v1_8"><taskID>1001</taskID></GetTaskByID>'
             b"</s:Body></s:Envelope>")
    assert etree.fromstring(raw.content).findtext(".//{*}ErrorCode") == "not-a-number"


def test_tokens_expire_after_the_configured_lifetime() -> None:
    with SandboxProcess(data="demo", extra_args=["--token-ttl", "1"]) as short_lived:
        pm, token = _clients(short_lived.timelog_url)
        assert pm.service.GetTaskByID(taskID=1001, loadExternalKeys=False, token=token).ResponseState == "Success"
        time.sleep(1.2)
        expired = pm.service.GetTaskByID(taskID=1001, loadExternalKeys=False, token=token)
        assert expired.ResponseState != "Success"
        assert "expired" in expired.Messages.APIMessage[0].Message
