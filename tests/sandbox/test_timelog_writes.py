"""WCF data-contract semantics on the simulator's writes: a member a request leaves out is its type's default.

Driven in-process through zeep clients built from the simulator's own WSDL (zeep leaves unset members out of
the message, so every test here also shows what a client that sends only some members gets).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from lxml import etree

from sandbox.timelog.contracts import PROJECT_MANAGEMENT
from sandbox.timelog.options import SiteOptions
from sandbox.timelog.soap import EMPTY_GUID, MIN_DATETIME, Codec
from sandbox.timelog.testing import NS_V1_7, item_results
from sandbox.timelog.testing import SITE_START as START
from sandbox.timelog.testing import InProcessSite as Site

PROJECT = 2001


@pytest.fixture
def site(demo_data: dict) -> Site:
    return Site.start(demo_data, START, SiteOptions(external_systems=["Forecast", "Jira"]))


def _task_result(response: object) -> tuple[str, str | None, object]:
    container = response.Return.BatchContainerOfTask[0]
    return container.Status, container.Message, container.Item


def _create(site: Site, **fields: object) -> object:
    status, message, item = _task_result(site.pm.service.CreateTask(task=site.task(**fields), projectID=PROJECT,
                                                                     token=site.token))
    assert status == "Success", message
    return item


def _update(site: Site, task: object, project_id: int = PROJECT) -> tuple[str, str | None, object]:
    return _task_result(site.pm.service.UpdateTask(task=task, projectID=project_id, token=site.token))


def _stored(site: Site, item: object) -> object:
    return site.app.store.task_by_guid[item.ID]


# -- the codec -------------------------------------------------------------------------------------------


def test_members_a_request_leaves_out_are_read_as_their_type_default() -> None:
    codec = Codec(PROJECT_MANAGEMENT.at("V1_8"))
    node = etree.fromstring(f'<WorkUnit xmlns="{NS_V1_7}"><TaskID>7</TaskID></WorkUnit>')
    unit = codec.read(node, "WorkUnit")
    assert unit["TaskID"] == 7
    assert (unit["GUID"], unit["Duration"], unit["StartDateTime"], unit["IsMeeting"]) == (
        EMPTY_GUID, timedelta(0), MIN_DATETIME, False)
    assert (unit["Description"], unit["AdditionalText"], unit["BillableDuration"], unit["Details"]) == (
        None, None, None, None)


# -- CreateTask / CreateSubTask ----------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "expected"), [
    ({"Name": "  "}, "Name is required"),
    ({"Name": "x", "State": None}, "State.IsActive must be true"),
    ({"Name": "x", "State": {"IsActive": False}}, "State.IsActive must be true"),
    ({"Name": "x", "StartDate": None}, "StartDate is required"),
    ({"Name": "x", "EndDate": None}, "EndDate is required"),
    ({"Name": "x", "StartDate": datetime(1, 1, 1)}, "StartDate is required"),
    ({"Name": "x", "EndDate": datetime(2026, 10, 31)}, "before its StartDate"),
])
@pytest.mark.parametrize("operation", ["CreateTask", "CreateSubTask"])
def test_a_new_task_needs_what_the_sdk_sample_sets(site: Site, operation: str, fields: dict, expected: str) -> None:
    before = len(site.app.store.tasks)
    extra = {"parentTaskId": 1001} if operation == "CreateSubTask" else {}
    response = getattr(site.pm.service, operation)(task=site.task(**fields), projectID=PROJECT, token=site.token,
                                                   **extra)
    status, message, _ = _task_result(response)
    assert status == "Invalid"
    assert expected in message
    assert len(site.app.store.tasks) == before


def test_create_task_stores_every_data_property(site: Site) -> None:
    item = _create(site, Name="Full", No="T-9", Description="All of it", BudgetHours=12.5,
                   AdditionalTextIsRequired=True)
    assert (item.No, item.Description, item.BudgetHours, item.AdditionalTextIsRequired) == (
        "T-9", "All of it", 12.5, True)
    assert (item.StartDate, item.EndDate, item.State.IsActive) == (
        datetime(2026, 11, 1), datetime(2027, 3, 31), True)
    read = site.pm.service.GetTaskByID(taskID=item.TaskID, loadExternalKeys=False, token=site.token)
    assert read.Return.Task[0].AdditionalTextIsRequired is True
    assert _stored(site, item).additional_text_required is True


def test_create_task_keeps_external_keys_only_when_loaded_and_only_of_defined_systems(site: Site) -> None:
    not_loaded = _create(site, Name="Keys not loaded", ExternalKeys=site.keys(("Forecast", "a-1")))
    assert _stored(site, not_loaded).external_keys == []
    loaded = _create(site, Name="Keys loaded", IsExternalKeysLoaded=True,
                     ExternalKeys=site.keys(("Forecast", "a-2"), ("e-conomic", "77"), ("jira", "J-1")))
    # "e-conomic" is not defined in this site's API settings: dropped without a word.
    assert [(k.system_name, k.external_id) for k in _stored(site, loaded).external_keys] == [
        ("Forecast", "a-2"), ("jira", "J-1")]


# -- UpdateTask --------------------------------------------------------------------------------------------


def test_update_task_sets_absent_members_to_their_defaults(site: Site) -> None:
    item = _create(site, Name="Rich", No="R-1", Description="Lots", BudgetHours=40, AdditionalTextIsRequired=True)
    status, message, updated = _update(site, site.task(ID=item.ID, Name="Renamed"))
    assert status == "Success", message
    # zeep reads an empty string element as None.
    assert (updated.Name, updated.No, updated.Description, updated.BudgetHours, updated.AdditionalTextIsRequired) == (
        "Renamed", None, None, 0, False)
    task = _stored(site, item)
    assert (task.no, task.description, task.budget_hours, task.additional_text_required) == ("", "", 0.0, False)


def test_update_task_with_the_task_read_back_changes_nothing(site: Site) -> None:
    """UpdateTask.cs: read a task with GetTaskById, pass it back with Details.ProjectHeader.ID as projectID."""
    item = _create(site, Name="Round trip", No="RT", Description="Same", BudgetHours=3)
    read = site.pm.service.GetTaskById(taskGuid=item.ID, token=site.token).Return.Task[0]
    status, message, updated = _update(site, read, read.Details.ProjectHeader.ID)
    assert status == "Success", message
    assert (updated.Name, updated.No, updated.Description, updated.BudgetHours, updated.State.IsActive) == (
        "Round trip", "RT", "Same", 3, True)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"Name": None}, "Name is required"),
    ({"StartDate": None}, "StartDate is required"),
    ({"EndDate": None}, "EndDate is required"),
    ({"EndDate": datetime(2026, 1, 1)}, "before its StartDate"),
])
def test_update_task_refuses_what_create_refuses(site: Site, fields: dict, expected: str) -> None:
    item = _create(site, Name="Keep me")
    status, message, _ = _update(site, site.task(**{"ID": item.ID, "Name": "Changed", **fields}))
    assert (status, expected in message) == ("Invalid", True)
    assert _stored(site, item).name == "Keep me"


def test_update_task_state_closes_and_reopens(site: Site) -> None:
    item = _create(site, Name="Stateful")
    status, _, closed = _update(site, site.task(ID=item.ID, Name="Stateful", State=None))
    assert (status, closed.State.IsActive, _stored(site, item).status) == ("Success", False, 3)
    _, _, reopened = _update(site, site.task(ID=item.ID, Name="Stateful"))
    assert (reopened.State.IsActive, _stored(site, item).status) == (True, 1)
    site.pm.service.ChangeTaskStatus(taskGuid=item.ID, targetStatus=4, token=site.token)  # Cancelled
    _update(site, site.task(ID=item.ID, Name="Stateful", State={"IsActive": False}))
    assert _stored(site, item).status == 4  # an inactive task stays as it is


def test_update_task_finds_the_task_by_guid_then_task_id(site: Site) -> None:
    item = _create(site, Name="By id")
    status, _, updated = _update(site, site.task(TaskID=item.TaskID, Name="By TaskID"))
    assert (status, updated.ID, updated.Name) == ("Success", item.ID, "By TaskID")
    status, message, _ = _update(site, site.task(ID=str(uuid.uuid4()), TaskID=item.TaskID, Name="Ghost"))
    assert (status, "does not exist" in message) == ("Invalid", True)
    status, message, _ = _update(site, site.task(Name="Nobody"))
    assert (status, "does not exist" in message) == ("Invalid", True)


def test_update_task_refuses_another_projects_id(site: Site) -> None:
    item = _create(site, Name="Mine")
    status, message, _ = _update(site, site.task(ID=item.ID, Name="Moved?"), project_id=2002)
    assert status == "Invalid"
    assert f"belongs to project {PROJECT}" in message


def test_update_task_replaces_external_keys_only_when_loaded(site: Site) -> None:
    item = _create(site, Name="Keyed", IsExternalKeysLoaded=True,
                   ExternalKeys=site.keys(("Forecast", "k-1"), ("Jira", "J-9")))
    _update(site, site.task(ID=item.ID, Name="Keyed"))  # not loaded: the stored keys stay
    assert len(_stored(site, item).external_keys) == 2
    _update(site, site.task(ID=item.ID, Name="Keyed", IsExternalKeysLoaded=True,
                            ExternalKeys=site.keys(("Forecast", "k-2"))))
    # Loaded: the list sent replaces the stored one wholesale, so Jira's key, not sent, is gone.
    assert [(k.system_name, k.external_id) for k in _stored(site, item).external_keys] == [("Forecast", "k-2")]
    _update(site, site.task(ID=item.ID, Name="Keyed", IsExternalKeysLoaded=True))
    assert _stored(site, item).external_keys == []


def test_get_task_by_external_key_of_an_undefined_system_is_invalid(site: Site) -> None:
    response = site.pm.service.GetTaskByExternalKey(key="1", systemName="Harvest", token=site.token)
    assert response.ResponseState == "Invalid"
    assert "not defined" in response.Messages.APIMessage[0].Message
    _create(site, Name="Found", IsExternalKeysLoaded=True, ExternalKeys=site.keys(("Forecast", "f-7")))
    found = site.pm.service.GetTaskByExternalKey(key="f-7", systemName="FORECAST", token=site.token)
    assert found.Return.Task[0].Name == "Found"


# -- InsertWork / UpdateWork ---------------------------------------------------------------------------


@pytest.mark.parametrize("description", ["", "   ", None])
def test_work_needs_a_description(site: Site, description: str | None) -> None:
    unit = site.new_unit(Description=description)
    [(status, message)] = item_results(site.insert(unit))
    assert (status, message) == ("Invalid", "Description is required")
    good = site.new_unit()
    site.insert(good)
    good.Description = description
    [(status, message)] = item_results(site.update(good))
    assert (status, message) == ("Invalid", "Description is required")


def _options(site: Site, **changes: object) -> None:
    site.app.set_options(changes)


def test_additional_text_always_required(site: Site) -> None:
    _options(site, additional_text_validation=2)
    [(status, message)] = item_results(site.insert(site.new_unit()))
    assert (status, "AdditionalText is required" in message) == ("Invalid", True)
    assert item_results(site.insert(site.new_unit(AdditionalText="Ticket 12"))) == [("Success", None)]


def test_additional_text_required_per_task(site: Site) -> None:
    _options(site, additional_text_validation=1)
    _, _, task_id = site.first_allocation()
    assert item_results(site.insert(site.new_unit())) == [("Success", None)]
    task = site.pm.service.GetTaskByID(taskID=task_id, loadExternalKeys=False, token=site.token).Return.Task[0]
    task.AdditionalTextIsRequired = True
    assert _update(site, task, task.Details.ProjectHeader.ID)[0] == "Success"
    [(status, message)] = item_results(site.insert(site.new_unit()))
    assert (status, f"required on task {task_id}" in message) == ("Invalid", True)


@pytest.mark.parametrize(("validation", "text", "ok"), [
    (2, "42", True), (2, " -7 ", True), (2, "4.2", False), (2, "abc", False),
    (1, "abc", False),  # strict reading: with validation on, any text given is type-checked
    (0, "abc", True),  # "No validation"
])
def test_additional_text_of_integer_type(site: Site, validation: int, text: str, ok: bool) -> None:
    _options(site, additional_text_validation=validation, additional_text_type=2)
    [(status, message)] = item_results(site.insert(site.new_unit(AdditionalText=text)))
    assert (status == "Success") is ok, message
    if not ok:
        assert "must be an integer" in message


def test_update_work_applies_defaults_to_absent_members(site: Site) -> None:
    unit = site.new_unit(AdditionalText="Extra", BillableDuration=timedelta(minutes=30), IsMeeting=True)
    inserted = site.insert(unit).Return.BatchContainerOfWorkUnit[0].Item
    assert (inserted.AdditionalText, inserted.BillableDuration, inserted.IsMeeting) == (
        "Extra", timedelta(minutes=30), True)
    stored = site.app.store.work[unit.GUID]
    assert (stored.additional_text, stored.billable_minutes, stored.is_meeting) == ("Extra", 30, True)
    initials, _, _ = site.first_allocation()
    day = datetime(2026, 11, 19)
    [read] = [w for w in site.pm.service.GetEmployeeWork(initials=initials, startDate=day, endDate=day,
                                                         token=site.token).Return.WorkUnit if w.GUID == unit.GUID]
    assert (read.AdditionalText, read.BillableDuration, read.IsMeeting) == ("Extra", timedelta(minutes=30), True)

    bare = site.new_unit(GUID=unit.GUID, Duration=timedelta(minutes=45))
    updated = site.update(bare).Return.BatchContainerOfWorkUnit[0].Item
    assert (updated.Duration, updated.AdditionalText, updated.BillableDuration, updated.IsMeeting) == (
        timedelta(minutes=45), None, None, False)  # zeep reads an empty string element as None
    assert (stored.additional_text, stored.billable_minutes, stored.is_meeting) == ("", None, False)


def test_billable_duration_is_whole_minutes(site: Site) -> None:
    [(status, message)] = item_results(site.insert(site.new_unit(BillableDuration=timedelta(seconds=90))))
    assert (status, "BillableDuration must be whole minutes" in message) == ("Invalid", True)


def test_update_work_without_a_start_or_task_is_refused(site: Site) -> None:
    unit = site.new_unit()
    site.insert(unit)
    [(status, message)] = item_results(site.update(site.new_unit(GUID=unit.GUID, StartDateTime=None)))
    assert (status, message) == ("Invalid", "StartDateTime is required")
    [(status, message)] = item_results(site.update(site.new_unit(GUID=unit.GUID, TaskID=None)))
    assert (status, message) == ("Invalid", "Task with TaskID 0 does not exist")
    assert site.app.store.work[unit.GUID].date == date(2026, 11, 19)


# -- MoveTaskUnderParentTask ----------------------------------------------------------------------------------


def _move(site: Site, task: object, parent_id: int) -> object:
    return site.pm.service.MoveTaskUnderParentTask(parentTaskID=parent_id, task=task, changeToParentContract=False,
                                                   token=site.token)


def test_move_task_under_parent_task_keeps_the_task_its_data_and_its_work(site: Site) -> None:
    old_parent, new_parent = _create(site, Name="Old parent"), _create(site, Name="New parent")
    status, message, child = _task_result(site.pm.service.CreateSubTask(
        task=site.task(Name="Child"), parentTaskId=old_parent.TaskID, projectID=PROJECT, token=site.token))
    assert status == "Success", message
    store = site.app.store
    store.allocate(next(iter(store.employees)), child.TaskID, 0)
    # Only the place changes: a Name sent along is not applied (strict reading), the task read back is sent.
    response = _move(site, site.task(ID=child.ID, Name="Renamed?"), new_parent.TaskID)
    assert response.ResponseState == "Success"
    [moved] = response.Return.Task
    assert (moved.TaskID, moved.ID, moved.Name, moved.Details.ParentTaskID) == (
        child.TaskID, child.ID, "Child", new_parent.TaskID)
    assert _stored(site, child).parent_task_id == new_parent.TaskID
    assert [a.task_id for a in store.allocations.values()].count(child.TaskID) == 1, "allocations stay on it"


@pytest.mark.parametrize("where", ["top level", "itself", "below itself", "another project", "missing"])
def test_move_task_under_parent_task_refuses_what_no_source_allows(site: Site, where: str) -> None:
    parent = _create(site, Name="Parent")
    _, _, child = _task_result(site.pm.service.CreateSubTask(
        task=site.task(Name="Child"), parentTaskId=parent.TaskID, projectID=PROJECT, token=site.token))
    other = _task_result(site.pm.service.CreateTask(task=site.task(Name="Elsewhere"), projectID=2002,
                                                    token=site.token))[2]
    target = {"top level": 0, "itself": parent.TaskID, "below itself": child.TaskID,
              "another project": other.TaskID, "missing": 999_999}[where]
    response = _move(site, site.task(ID=parent.ID) if where != "top level" else site.task(ID=child.ID), target)
    assert response.ResponseState == "Invalid"
    assert response.Messages.APIMessage[0].Message
    assert (_stored(site, parent).parent_task_id, _stored(site, child).parent_task_id) == (0, parent.TaskID)
