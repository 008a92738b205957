"""Business rules of the TimeLog simulator, driven in-process through zeep clients built from its own WSDL."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timedelta

import pytest

from sandbox.timelog.testing import NS_V1_7, get_token, item_results, retype_token
from sandbox.timelog.testing import SITE_START as START
from sandbox.timelog.testing import InProcessSite as Site


def _unallocated_task(site: Site, employee_id: int) -> int:
    store = site.app.store
    return next(t for t in sorted(store.tasks) if (employee_id, t) not in store.allocation_by_pair)


# -- work rules -----------------------------------------------------------------------------------------


def test_work_needs_an_allocation_and_succeeds_after_add_employee_to_task(site: Site) -> None:
    _initials, employee_id, _ = site.first_allocation()
    task_id = _unallocated_task(site, employee_id)
    unit = site.new_unit(TaskID=task_id)

    refused = site.insert(unit)
    assert refused.ResponseState == "Invalid"
    [(status, message)] = item_results(refused)
    assert status == "Invalid"
    assert "not allocated" in message
    assert unit.GUID not in site.app.store.work

    added = site.pm.service.AddEmployeeToTask(employeeID=employee_id, taskID=task_id, BudgetHours=0,
                                              token=site.token)
    assert item_results(added, "Allocation") == [("Success", None)]
    accepted = site.insert(unit)
    assert accepted.ResponseState == "Success"
    assert item_results(accepted) == [("Success", None)]
    assert site.app.store.work[unit.GUID].employee_id == employee_id


def test_empty_initials_is_error_10002_and_writes_nothing(site: Site) -> None:
    before = len(site.app.store.work)
    response = site.insert(site.new_unit(), site.new_unit(EmployeeInitials=""))
    assert response.ResponseState == "Invalid"
    assert response.ErrorCode == 10002
    assert [(m.Message, m.ErrorCode) for m in response.Messages.APIMessage if m.ErrorCode] == [
        ("Initials, was null or empty", 10002)]
    assert len(site.app.store.work) == before


def test_one_bad_item_does_not_stop_the_others(site: Site) -> None:
    good, bad = site.new_unit(), site.new_unit(TaskID=999_999)
    response = site.insert(good, bad)
    statuses = item_results(response)
    assert statuses[0] == ("Success", None)
    assert statuses[1][0] == "Invalid"
    assert "999999" in statuses[1][1]
    assert response.ResponseState == "Invalid"
    assert good.GUID in site.app.store.work


@pytest.mark.parametrize("minutes", [1, 7, 20, 50, 61, 95, 1439])
def test_durations_round_trip_exactly(site: Site, minutes: int) -> None:
    unit = site.new_unit(minutes=minutes)
    inserted = site.insert(unit)
    assert inserted.Return.BatchContainerOfWorkUnit[0].Item.Duration == timedelta(minutes=minutes)
    assert site.app.store.work[unit.GUID].minutes == minutes
    day = datetime(2026, 11, 19)
    page = site.pm.service.GetWorkPaged(initials=unit.EmployeeInitials, startDate=day, endDate=day, page=1,
                                        pageSize=500, token=site.token)
    [flat] = [w for w in page.Return.WorkUnitFlat if w.WorkUnitGuid == unit.GUID]
    assert round(flat.Hours * 60) == minutes
    assert flat.Date == day


def test_durations_finer_than_a_minute_or_empty_are_refused(site: Site) -> None:
    response = site.insert(site.new_unit(Duration=timedelta(minutes=1, seconds=30)), site.new_unit(minutes=0))
    messages = [message for _, message in item_results(response)]
    assert "whole minutes" in messages[0]
    assert "more than 0" in messages[1]


def test_guids_are_stable_and_cannot_be_reused(site: Site) -> None:
    unit = site.new_unit()
    inserted = site.insert(unit)
    assert inserted.Return.BatchContainerOfWorkUnit[0].Item.GUID == unit.GUID
    unit.Description = "changed"
    updated = site.update(unit)
    assert updated.Return.BatchContainerOfWorkUnit[0].Item.GUID == unit.GUID
    again = site.insert(site.new_unit(GUID=unit.GUID))
    [(status, message)] = item_results(again)
    assert status == "Invalid"
    assert "already exists" in message


def test_a_locked_week_refuses_insert_update_and_delete(site: Site) -> None:
    unit = site.new_unit(day=date(2026, 11, 18))
    site.insert(unit)
    _, employee_id, _ = site.first_allocation()
    site.app.lock_period({"employee_id": employee_id, "week": "2026-W47"})

    unit.Description = "late edit"
    for response in (site.update(unit), site.delete(unit.GUID), site.insert(site.new_unit(day=date(2026, 11, 17)))):
        [(status, message)] = item_results(response)
        assert status == "Invalid"
        assert "2026-W47 is closed" in message
    assert site.app.store.work[unit.GUID].description == "Møde <x> & \"y\""
    # The week after is still open.
    assert item_results(site.insert(site.new_unit(day=date(2026, 11, 23)))) == [("Success", None)]


def test_a_period_closed_for_everyone_refuses_every_employee(site: Site) -> None:
    answer = site.app.lock_period({"from": "2026-11-16", "to": "2026-11-19"})
    assert answer["closed_period"] == {"from": "2026-11-16", "to": "2026-11-19", "employee_id": None}
    [(status, message)] = item_results(site.insert(site.new_unit(day=date(2026, 11, 16))))
    assert status == "Invalid"
    assert "closed" in message
    assert item_results(site.insert(site.new_unit(day=date(2026, 11, 20)))) == [("Success", None)]
    with pytest.raises(ValueError, match="both 'from' and 'to'"):
        site.app.lock_period({"from": "2026-11-16"})
    with pytest.raises(ValueError, match="unknown field"):
        site.app.lock_period({"weeks": "2026-W40"})


def test_approved_entries_refuse_update_and_delete(site: Site) -> None:
    unit = site.new_unit()
    site.insert(unit)
    site.app.lock_period({"work_guids": [unit.GUID]})
    assert site.app.store.work[unit.GUID].approved_status == 10
    for response in (site.update(unit), site.delete(unit.GUID)):
        [(status, message)] = item_results(response)
        assert status == "Invalid"
        assert "approved" in message
    assert unit.GUID in site.app.store.work


def test_demo_has_approved_entries_that_are_locked(site: Site) -> None:
    approved = [u for u in site.app.store.work.values() if u.approved_status >= 10]
    assert approved
    [(status, _)] = item_results(site.delete(approved[0].guid))
    assert status == "Invalid"


def test_update_and_delete_of_unknown_guid_are_refused_per_item(site: Site) -> None:
    ghost = str(uuid.uuid4())
    for response in (site.update(site.new_unit(GUID=ghost)), site.delete(ghost)):
        [(status, message)] = item_results(response)
        assert status == "Invalid"
        assert "does not exist" in message


# -- change feeds ---------------------------------------------------------------------------------------


def _change_log(site: Site, start: datetime, end: datetime, **include: bool) -> list:
    flags = {"includeCreates": True, "includeUpdates": True, "includeDeletes": True, **include}
    response = site.pm.service.GetWorkChangeLogPaged(startDate=start, endDate=end, page=1, pageSize=500,
                                                     token=site.token, **flags)
    assert response.ResponseState == "Success"
    return response.Return.WorkUnitFlat if response.Return else []


def test_change_log_sees_creates_updates_and_deletes_and_blanks_deleted_units(site: Site) -> None:
    unit = site.new_unit()
    site.insert(unit)
    site.clock.advance(minutes=5)
    unit.Duration = timedelta(minutes=30)
    site.update(unit)
    kept = site.new_unit()
    site.insert(kept)

    changes = _change_log(site, START, START + timedelta(hours=1))
    mine = [(c.Action, c.ActionDate) for c in changes if c.WorkUnitGuid == unit.GUID]
    assert [action for action, _ in mine] == ["Created", "Updated"]
    assert mine[1][1] > mine[0][1]
    [kept_entry] = [c for c in changes if c.WorkUnitGuid == kept.GUID]
    assert kept_entry.Hours == 1.5
    assert kept_entry.TaskGuid == site.app.store.tasks[kept.TaskID].guid

    site.clock.advance(minutes=5)
    site.delete(unit.GUID)
    after = [c for c in _change_log(site, START, START + timedelta(hours=1)) if c.WorkUnitGuid == unit.GUID]
    assert [c.Action for c in after] == ["Created", "Updated", "Deleted"]
    # Documented: for deleted work only the action and the GUID are filled, on every line of that work.
    assert all(c.Hours == 0 and c.EmployeeInitials is None and c.TaskName is None for c in after)
    without_deletes = _change_log(site, START, START + timedelta(hours=1), includeDeletes=False)
    assert [c.Action for c in without_deletes if c.WorkUnitGuid == unit.GUID] == ["Created", "Updated"]


def test_change_log_has_day_granularity_but_work_changes_honour_time(site: Site) -> None:
    unit = site.new_unit()
    site.insert(unit)
    later_same_day = START + timedelta(hours=3)
    # GetWorkChangeLogPaged ignores the time of day (documented), so a window starting later that day still
    # contains the change; GetWorkChangesPaged compares full timestamps.
    assert [c for c in _change_log(site, later_same_day, later_same_day) if c.WorkUnitGuid == unit.GUID]
    changes = site.pm.service.GetWorkChangesPaged(
        initials="", registrationStartDate=datetime(2026, 1, 1), registrationEndDate=datetime(2027, 1, 1),
        changeStartDate=later_same_day, changeEndDate=later_same_day + timedelta(hours=1), page=1, pageSize=500,
        token=site.token)
    assert not [c for c in (changes.Return.WorkUnitFlat if changes.Return else []) if c.WorkUnitGuid == unit.GUID]
    around = site.pm.service.GetWorkChangesPaged(
        initials=unit.EmployeeInitials, registrationStartDate=datetime(2026, 11, 19),
        registrationEndDate=datetime(2026, 11, 19), changeStartDate=START - timedelta(minutes=1),
        changeEndDate=START + timedelta(minutes=1), page=1, pageSize=500, token=site.token)
    assert [c.Action for c in around.Return.WorkUnitFlat if c.WorkUnitGuid == unit.GUID] == ["Created"]


def test_change_log_keeps_three_months(site: Site) -> None:
    oldest = min(site.app.store.change_log, key=lambda e: e.at)
    start, end = oldest.at - timedelta(days=1), oldest.at + timedelta(days=1)
    assert [c for c in _change_log(site, start, end) if c.WorkUnitGuid == oldest.work_guid]
    site.clock.advance(days=100)
    site.token = retype_token(site.pm, get_token(site.security))  # the old token expired meanwhile
    assert not [c for c in _change_log(site, start, end) if c.WorkUnitGuid == oldest.work_guid]


# -- paging ---------------------------------------------------------------------------------------------


def test_work_pages_are_capped_at_500_and_a_page_past_the_end_is_empty(site: Site) -> None:
    total = len(site.app.store.work)
    args = {"initials": "", "startDate": datetime(2000, 1, 1), "endDate": datetime(2100, 1, 1), "token": site.token}
    first = site.pm.service.GetWorkPaged(page=1, pageSize=5000, **args)
    assert first.IsReturnPaged is True
    assert len(first.Return.WorkUnitFlat) == 500
    assert first.TotalPageCount == math.ceil(total / 500)
    seen = set()
    for page in range(1, first.TotalPageCount + 1):
        seen |= {w.WorkUnitGuid for w in site.pm.service.GetWorkPaged(page=page, pageSize=500, **args)
                 .Return.WorkUnitFlat}
    assert seen == set(site.app.store.work)
    past = site.pm.service.GetWorkPaged(page=first.TotalPageCount + 1, pageSize=500, **args)
    assert past.ResponseState == "Success"
    assert not past.Return or not past.Return.WorkUnitFlat
    zero = site.pm.service.GetWorkPaged(page=0, pageSize=500, **args)
    assert zero.ResponseState == "Invalid"


def test_employee_pages_are_capped_at_100(site: Site, demo_data: dict) -> None:
    template = demo_data["employees"][0]
    extra = [{**template, "employee_id": 1000 + i, "user_id": 2000 + i, "initials": f"X{i}",
              "username": f"extra{i}", "guid": str(uuid.UUID(int=i + 1))} for i in range(120)]
    site.app.reset({**demo_data, "employees": demo_data["employees"] + extra})
    response = site.org.service.GetEmployeesPaged(page=1, pageSize=500, token=site.org_token)
    assert len(response.Return.Employee) == 100
    assert response.TotalPageCount == math.ceil((len(demo_data["employees"]) + 120) / 100)


# -- tokens ---------------------------------------------------------------------------------------------


def test_an_expired_token_gets_a_non_success_response_saying_expired(site: Site) -> None:
    ok = site.pm.service.GetTaskByID(taskID=1001, loadExternalKeys=False, token=site.token)
    assert ok.ResponseState == "Success"
    site.clock.advance(seconds=3601)
    expired = site.pm.service.GetTaskByID(taskID=1001, loadExternalKeys=False, token=site.token)
    assert expired.ResponseState != "Success"
    assert "expired" in expired.Messages.APIMessage[0].Message
    forged = retype_token(site.pm, site.token)
    forged.Hash = "AAAA"
    assert "expired" in site.pm.service.GetTaskByID(taskID=1001, loadExternalKeys=False, token=forged) \
        .Messages.APIMessage[0].Message


def test_get_token_with_a_wrong_password_is_invalid_and_echoes_parameters(site: Site) -> None:
    response = site.security.service.GetToken(user="tl-sync", password="wrong-password")
    assert response.ResponseState == "Invalid"
    assert "password" in response.Messages.APIMessage[0].Message
    assert not response.Return or not response.Return.SecurityToken
    # Like TimeLog, the password comes back in Request/Parameters: clients must never log raw responses.
    echoed = {p.Name: p.Value for p in response.Request.Parameters.RequestParameter}
    assert echoed == {"user": "tl-sync", "password": "wrong-password"}


def test_get_user_and_is_alive(site: Site) -> None:
    token = get_token(site.security)
    user = site.security.service.GetUser(token=token)
    assert user.ResponseState == "Success"
    assert user.Return.User[0].Initials == token.Initials
    assert "SystemAdministrator" in user.Return.User[0].Roles.RoleTypes
    assert site.security.service.IsAlive() is True


# -- tasks, allocations, projects, employees ------------------------------------------------------------


def test_tasks_keep_external_keys_and_are_found_by_them(site: Site) -> None:
    guid = str(uuid.uuid4())
    created = site.pm.service.CreateTask(task=site.task(ID=guid, Name="Forecast task", No="F-1",
                                                    IsExternalKeysLoaded=True,
                                                    ExternalKeys=site.keys(("Forecast", "5001"))),
                                         projectID=2001, token=site.token)
    item = created.Return.BatchContainerOfTask[0].Item
    assert (item.ID, item.Name, item.Details.ProjectHeader.ID) == (guid, "Forecast task", 2001)
    found = site.pm.service.GetTaskByExternalKey(key="5001", systemName="Forecast", token=site.token)
    assert guid == found.Return.Task[0].ID
    clash = site.pm.service.CreateTask(task=site.task(Name="Other", IsExternalKeysLoaded=True,
                                                  ExternalKeys=site.keys(("Forecast", "5001"))),
                                       projectID=2001, token=site.token)
    assert "already used" in clash.Return.BatchContainerOfTask[0].Message

    updated = site.pm.service.UpdateTask(task=site.task(ID=guid, Name="Renamed", IsExternalKeysLoaded=True,
                                                    ExternalKeys=site.keys(("Forecast", "5002"))),
                                         projectID=2001, token=site.token)
    assert updated.Return.BatchContainerOfTask[0].Status == "Success"
    assert site.pm.service.GetTaskByExternalKey(key="5002", systemName="Forecast", token=site.token) \
        .Return.Task[0].Name == "Renamed"
    by_id = site.pm.service.GetTaskByID(taskID=item.TaskID, loadExternalKeys=True, token=site.token)
    assert by_id.Return.Task[0].ExternalKeys.ExternalSystemContext[0].ExternalID == "5002"


def test_sub_tasks_status_and_delete(site: Site) -> None:
    project_guid = site.app.store.projects[2001].guid
    first_level = site.pm.service.GetTasksByProjectId(projectGuid=project_guid, token=site.token).Return.Task
    parent = first_level[0]
    sub = site.pm.service.CreateSubTask(task=site.task(Name="Sub"), parentTaskId=parent.TaskID, projectID=2001,
                                        token=site.token).Return.BatchContainerOfTask[0].Item
    assert sub.Details.ParentTaskID == parent.TaskID
    assert sub.ID not in {t.ID for t in site.pm.service.GetTasksByProjectId(
        projectGuid=project_guid, token=site.token).Return.Task}
    flat = site.pm.service.GetProjectTasksPaged(projectGuid=project_guid, page=1, pageSize=500, token=site.token)
    assert sub.ID in {t.TaskGuid for t in flat.Return.ProjectTaskFlat}

    closed = site.pm.service.ChangeTaskStatus(taskGuid=sub.ID, targetStatus=3, token=site.token)
    assert closed.Return.Task[0].State.IsActive is False
    _initials, employee_id, _ = site.first_allocation()
    site.pm.service.AddEmployeeToTask(employeeID=employee_id, taskID=sub.TaskID, BudgetHours=1, token=site.token)
    [(status, message)] = item_results(site.insert(site.new_unit(TaskID=sub.TaskID)))
    assert (status, "Completed" in message) == ("Invalid", True)

    task_with_work = site.app.store.tasks[next(iter(site.app.store.work.values())).task_id]
    busy = site.pm.service.DeleteTask(taskGuid=task_with_work.guid, token=site.token)
    assert busy.ResponseState == "Invalid"
    assert "time registrations" in busy.Messages.APIMessage[0].Message
    assert site.pm.service.DeleteTask(taskGuid=sub.ID, token=site.token).ResponseState == "Success"
    assert sub.ID not in site.app.store.task_by_guid


def test_modified_in_period_feeds(site: Site) -> None:
    site.pm.service.CreateTask(task=site.task(Name="New"), projectID=2002, token=site.token)
    window = {"startDate": START - timedelta(minutes=1), "endDate": START + timedelta(minutes=1), "page": 1,
              "pageSize": 100}
    tasks = site.pm.service.GetTasksModifiedInPeriodPaged(token=site.token, **window)
    assert [t.Name for t in tasks.Return.Task] == ["New"]
    projects = site.pm.service.GetProjectsModifiedInPeriodPaged(token=site.token, **window)
    assert not projects.Return or not projects.Return.ProjectApiReadModel
    everything = {**window, "startDate": datetime(2000, 1, 1)}
    assert len(site.pm.service.GetProjectsModifiedInPeriodPaged(token=site.token, **everything)
               .Return.ProjectApiReadModel) == len(site.app.store.projects)
    employees = site.org.service.GetEmployeesModifiedInPeriodPaged(token=site.org_token, **everything)
    assert len(employees.Return.Employee) == len(site.app.store.employees)


def test_allocations_crud(site: Site) -> None:
    initials, employee_id, _ = site.first_allocation()
    task_id = _unallocated_task(site, employee_id)
    allocation_type = site.pm.get_type(f"{{{NS_V1_7}}}Allocation")
    created = site.pm.service.CreateAllocation(allocation=allocation_type(EmployeeID=employee_id, TaskID=task_id,
                                                                          HoursAllocated=12.5), token=site.token)
    assert created.ResponseState == "Success"
    guid = created.Return.Allocation[0].ID
    mine = site.pm.service.GetAllocationsToEmployee(initials=initials, token=site.token).Return.Allocation
    assert guid in {a.ID for a in mine}
    twice = site.pm.service.AddEmployeeToTask(employeeID=employee_id, taskID=task_id, BudgetHours=0,
                                              token=site.token)
    assert "already allocated" in twice.Return.BatchContainerOfAllocation[0].Message
    assert site.pm.service.DeleteAllocation(allocationGuid=guid, token=site.token).ResponseState == "Success"
    assert (employee_id, task_id) not in site.app.store.allocation_by_pair


def test_projects_and_organisation_reads(site: Site) -> None:
    projects = site.pm.service.GetProjects(customerID=0, projectManagerID=0, includeInactiveProjects=True,
                                           statusID=-1, token=site.token)
    assert {p.ID for p in projects.Return.ProjectHeader} == set(site.app.store.projects)
    project = site.pm.service.GetProjectByID(projectID=2001, loadExternalKeys=True, token=site.token)
    assert project.Return.ProjectApiReadModel[0].No == "P-1001"
    employee = next(iter(site.app.store.employees.values()))
    header = site.org.service.GetEmployeeByUsername(username=employee.username.upper(), token=site.org_token)
    assert header.Return.EmployeeHeader[0].EmployeeID == employee.employee_id
    departments = site.org.service.GetDepartments(token=site.org_token)
    assert len(departments.Return.Department) == len(site.app.store.departments)


def test_operation_names_and_writes_for_stats(site: Site) -> None:
    from sandbox.common.app import Request

    path = "/sandbox/WebServices/ProjectManagement/V1_8/ProjectManagementServiceSecure.svc"
    insert = Request("POST", path, {"soapaction": '"InsertWorkRequest"'})
    read = Request("POST", path, {"soapaction": "http://www.timelog.com/api/tlp/v1_8/ProjectManagementService/"
                                                "GetWorkPaged"})
    assert (site.app.operation_of(insert), site.app.is_write(insert)) == ("ProjectManagementService.InsertWork", True)
    assert (site.app.operation_of(read), site.app.is_write(read)) == ("ProjectManagementService.GetWorkPaged", False)
    reporting = Request("POST", "/sandbox/service.asmx/GetWorkUnitsRaw", {})
    assert site.app.operation_of(reporting) == "Reporting.GetWorkUnitsRaw"
