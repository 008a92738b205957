"""TimeLogClient against the sandbox: the generic call for writes, per-item results, retries that give up."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from sandbox.testing import SandboxProcess
from timelog_api.client import TimeLogClient
from timelog_api.convert import require
from timelog_api.errors import MalformedResponseError, TimeLogApiError, TimeLogTransportError
from timelog_api.services import Service
from timelog_api.settings import TimeLogSettings

FEW_TRIES = 2


def client_for(config: dict, **overrides: object) -> TimeLogClient:
    return TimeLogClient(TimeLogSettings.from_config({**config, **overrides}))


def new_unit(task_id: int, initials: str, minutes: int, day: dt.date) -> dict:
    start = dt.datetime.combine(day, dt.time(9))
    return {"GUID": str(uuid.uuid4()), "TaskID": task_id, "EmployeeInitials": initials,
            "Duration": dt.timedelta(minutes=minutes), "StartDateTime": start,
            "EndDateTime": start + dt.timedelta(minutes=minutes), "Description": "from the client test"}


def test_a_batch_insert_reports_each_item(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """InsertWork succeeds per item: an unknown task refuses that item only, with TimeLog's message."""
    state = timelog_sandbox.timelog.state()
    allocation = state["allocations"][0]
    initials = next(e["initials"] for e in state["employees"] if e["employee_id"] == allocation["employee_id"])
    day = dt.date.fromisoformat(allocation["start_date"]) + dt.timedelta(days=1)
    good, bad = new_unit(allocation["task_id"], initials, 61, day), new_unit(999_999, initials, 7, day)
    with client_for(config) as client:
        results = client.batch(Service.PROJECT_MANAGEMENT, "InsertWork", work={"WorkUnit": [good, bad]},
                                    source=0)
    assert [r.ok for r in results] == [True, False]
    assert "999999" in (results[1].message or "")
    stored = next(u for u in timelog_sandbox.timelog.state()["work_units"] if u["guid"] == good["GUID"])
    assert stored["minutes"] == 61


def test_a_refused_call_carries_timelog_message_and_error_code(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """The captured refusal: empty initials make the whole InsertWork Invalid with ErrorCode 10002."""
    unit = new_unit(1001, "", 30, dt.date.today())
    with client_for(config) as client, pytest.raises(TimeLogApiError) as refused:
        client.batch(Service.PROJECT_MANAGEMENT, "InsertWork", work={"WorkUnit": [unit]}, source=0)
    assert refused.value.error_code == 10002
    assert "Initials" in refused.value.api_message
    assert "InsertWork" in str(refused.value)


def test_malformed_answers_that_persist_fail_naming_the_operation(
    timelog_sandbox: SandboxProcess, config: dict,
) -> None:
    """Every answer truncated: after the retries the error names the operation; no item is skipped silently."""
    timelog_sandbox.timelog.faults(malformed_rate=1.0, malformed_kinds=["truncated"], only_operations=[
        "Reporting.GetProjectsRaw"])
    with client_for(config, max_tries=FEW_TRIES) as client, pytest.raises(MalformedResponseError) as failed:
        client.projects()
    assert "GetProjectsRaw" in str(failed.value)
    assert timelog_sandbox.timelog.stats()["requests"]["Reporting.GetProjectsRaw"] == FEW_TRIES


def test_a_missing_field_is_malformed_not_a_null(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """An allocation without its EmployeeID would be a wrong record: it is an error instead."""
    timelog_sandbox.timelog.faults(malformed_rate=1.0, malformed_kinds=["missing_fields"], only_operations=[
        "Reporting.GetAllocationsRaw"])
    with client_for(config, max_tries=FEW_TRIES) as client, pytest.raises(MalformedResponseError) as failed:
        client.reporting("GetAllocationsRaw", allocationID=0, taskID=0, employeeID=0, projectID=0,
                         parse=require("ID", "TaskID", "EmployeeID"))
    assert "GetAllocationsRaw" in str(failed.value)


def test_a_value_of_the_wrong_type_is_malformed_not_a_logged_null(
    timelog_sandbox: SandboxProcess, config: dict, caplog: pytest.LogCaptureFixture,
) -> None:
    """zeep logs text in an xs:int with a traceback and reads None; the client fails the call instead."""
    timelog_sandbox.timelog.faults(malformed_rate=1.0, malformed_kinds=["wrong_types"], only_operations=[
        "ProjectManagementService.GetWorkChangeLogPaged"])
    today = dt.datetime.combine(dt.date.today(), dt.time())
    with client_for(config, max_tries=FEW_TRIES) as client, pytest.raises(MalformedResponseError) as failed:
        list(client.paged(Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", page_size=10,
                          startDate=today - dt.timedelta(days=60), endDate=today, includeCreates=True,
                          includeUpdates=True, includeDeletes=False))
    message = str(failed.value)
    assert "GetWorkChangeLogPaged" in message
    assert "wrong type" in message
    assert "not-a-number" in message
    assert "Traceback" not in caplog.text
    assert timelog_sandbox.timelog.stats()["requests"]["ProjectManagementService.GetWorkChangeLogPaged"] == FEW_TRIES


def test_the_tasks_are_read_once_per_client(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """The tap's tasks stream and the work stream's task GUIDs share one GetTasksRaw call."""
    with client_for(config) as client:
        tasks = client.tasks()
        guids = client.task_guids()
    assert len(guids) == len(tasks) > 0
    assert timelog_sandbox.timelog.stats()["requests"]["Reporting.GetTasksRaw"] == 1


def test_count_reads_the_size_of_a_paged_operation_in_one_call(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """`count` asks for pages of one item and reads TotalPageCount: what a cursor past everything needs."""
    today = dt.datetime.combine(dt.date.today(), dt.time())
    window = {"startDate": today - dt.timedelta(days=80), "endDate": today + dt.timedelta(days=1),
              "includeCreates": True, "includeUpdates": True, "includeDeletes": True}
    with client_for(config) as client:
        everything = list(client.paged(Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", page_size=500, **window))
        timelog_sandbox.timelog.clear_stats()
        assert client.count(Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", **window) == len(everything) > 0
    assert timelog_sandbox.timelog.stats()["requests"]["ProjectManagementService.GetWorkChangeLogPaged"] == 1


def test_server_errors_that_persist_fail_after_bounded_retries(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """503 on every try: a transport error with the status, after exactly max_tries requests."""
    timelog_sandbox.timelog.faults(error_rate=1.0, statuses=[503],
                                   only_operations=["OrganisationService.GetDepartments"])
    with client_for(config, max_tries=FEW_TRIES) as client, pytest.raises(TimeLogTransportError) as failed:
        client.fetch(Service.ORGANISATION, "GetDepartments")
    assert failed.value.status_code == 503
    assert timelog_sandbox.timelog.stats()["faults"]["503"] == FEW_TRIES


def test_one_token_serves_every_service(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """The v1_2 token from SecurityService is re-typed into v1_3 and reused until it expires."""
    with client_for(config) as client:
        client.fetch(Service.ORGANISATION, "GetDepartments")
        client.fetch(Service.PROJECT_MANAGEMENT, "GetTasksModifiedInPeriodPaged", startDate=dt.datetime(2020, 1, 1),
                     endDate=dt.datetime(2030, 1, 1), page=1, pageSize=10)
        assert client.initials
    assert timelog_sandbox.timelog.stats()["requests"]["SecurityService.GetToken"] == 1
