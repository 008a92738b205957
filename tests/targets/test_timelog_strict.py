"""target-timelog against the strict TimeLog simulator: WCF data-contract rules, required members, site settings.

WCF gives every member a request leaves out its default, so a partial update clears what it leaves out; the
simulator does the same, so each test here fails if the target sends less than the whole object.
"""

from __future__ import annotations

import datetime as dt

from target_timelog.target import TargetTimeLog
from tests.targets.helpers import (
    FORECAST_PERSON,
    TIMELOG_EMPLOYEE,
    TIMELOG_PROJECT,
    forecast_registration,
    forecast_task,
    plan,
    run_target,
    timelog_config,
)
from timelog_api.client import TimeLogClient
from timelog_api.services import Service
from timelog_api.settings import TimeLogSettings
from timesync.ledger import Ledger, PairKind, PairState
from timesync.model import Direction

F2T = Direction.FORECAST_TO_TIMELOG
OTHER_SYSTEM = "Jira"


def _apply(sandbox, ledger: Ledger, ledger_url: str, records: list, **config) -> list[dict]:
    commands = plan(ledger, F2T, records)
    run_target(TargetTimeLog, timelog_config(sandbox, ledger_url, **config), commands)
    return commands


def _client(sandbox) -> TimeLogClient:
    return TimeLogClient(TimeLogSettings.from_config(timelog_config(sandbox, "sqlite://")))


def _task_with_key(sandbox, key: str) -> dict:
    [task] = [t for t in sandbox.timelog.state()["tasks"]
              if any(k["external_id"] == key for k in t["external_keys"])]
    return task


def _unit_of(sandbox, guid: str) -> dict:
    [unit] = [u for u in sandbox.timelog.state()["work_units"] if u["guid"] == guid]
    return unit


def test_a_renamed_task_keeps_what_others_set_on_it(sandbox, ledger, ledger_url):
    """UpdateTask sends the whole task: its number, description, state and another system's key survive a rename."""
    sandbox.timelog.options(external_systems=["Forecast", OTHER_SYSTEM])
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Before")])
    client = _client(sandbox)
    task_id = _task_with_key(sandbox, "9001")["task_id"]
    [current] = client.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByID", taskID=task_id, loadExternalKeys=True)
    keys = [*current["ExternalKeys"]["ExternalSystemContext"], {"SystemName": OTHER_SYSTEM, "ExternalID": "ENDK-1"}]
    [edited] = client.batch(Service.PROJECT_MANAGEMENT, "UpdateTask", projectID=TIMELOG_PROJECT, task={
        **current, "No": "T-77", "Description": "Set in TimeLog", "IsExternalKeysLoaded": True,
        "ExternalKeys": {"ExternalSystemContext": keys}})
    assert edited.ok, edited.message

    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "After")])

    task = _task_with_key(sandbox, "9001")
    assert task["name"] == "After"
    assert (task["no"], task["description"]) == ("T-77", "Set in TimeLog")
    assert task["status"] not in (3, 4), "the task is still active"
    assert {(k["system_name"], k["external_id"]) for k in task["external_keys"]} == {
        ("Forecast", "9001"), (OTHER_SYSTEM, "ENDK-1")}


def test_a_task_without_dates_takes_its_projects(sandbox, ledger, ledger_url):
    """CreateTask needs start and end dates (TimeLog's SDK sample sets them); Forecast tasks may have none."""
    system, record = forecast_task(9001, "Undated")
    _apply(sandbox, ledger, ledger_url, [(system, {**record, "start_date": None, "end_date": None})])
    project = next(p for p in sandbox.timelog.state()["projects"] if p["project_id"] == TIMELOG_PROJECT)
    task = _task_with_key(sandbox, "9001")
    assert (task["start_date"], task["end_date"]) == (project["start_date"], project["end_date"])
    assert task["status"] not in (3, 4)


def test_an_empty_note_goes_in_as_a_dash(sandbox, ledger, ledger_url):
    """InsertWork refuses an empty Description; an empty Forecast note is '-' in TimeLog."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "T", assigned=[FORECAST_PERSON]),
                                         forecast_registration(7001, task=9001, minutes=30, note="")])
    pair = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert pair.state is PairState.LINKED
    assert _unit_of(sandbox, pair.timelog_id)["description"] == "-"


def test_an_update_keeps_the_units_additional_text_and_billable_time(sandbox, ledger, ledger_url):
    """UpdateWork sends the unit back whole: what a TimeLog user set beside the sync's fields stays."""
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "T", assigned=[FORECAST_PERSON]),
                                         forecast_registration(7001, task=9001, minutes=60, note="first")])
    guid = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001").timelog_id
    client = _client(sandbox)
    day = dt.datetime(2026, 11, 23)
    [unit] = [u for u in _employee_work(client, sandbox, day) if u["GUID"] == guid]
    [edited] = client.batch(Service.PROJECT_MANAGEMENT, "UpdateWork", source=0, work={"WorkUnit": [
        {**unit, "AdditionalText": "PO-4711", "BillableDuration": dt.timedelta(minutes=45)}]})
    assert edited.ok, edited.message
    before = _unit_of(sandbox, guid)  # only TimeLog's extras changed: the sync's fields still equal its base
    assert (before["additional_text"], before["billable_minutes"]) == ("PO-4711", 45)

    _apply(sandbox, ledger, ledger_url, [forecast_registration(7001, task=9001, minutes=90, note="second")])

    after = _unit_of(sandbox, guid)
    assert (after["minutes"], after["description"]) == (90, "second")
    assert (after["additional_text"], after["billable_minutes"]) == ("PO-4711", 45)


def _employee_work(client: TimeLogClient, sandbox, day: dt.datetime) -> list[dict]:
    employee = next(e for e in sandbox.timelog.state()["employees"] if e["employee_id"] == TIMELOG_EMPLOYEE)
    return client.fetch(Service.PROJECT_MANAGEMENT, "GetEmployeeWork", initials=employee["initials"],
                        startDate=day, endDate=day)


def test_a_site_that_requires_an_additional_text_gets_the_configured_one(sandbox, ledger, ledger_url):
    """GetTimeRegistrationSettings says every registration needs one; additional_text supplies it."""
    sandbox.timelog.options(additional_text_validation=2)
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "T", assigned=[FORECAST_PERSON]),
                                         forecast_registration(7001, task=9001, minutes=30, note="x")],
           additional_text="From Forecast")
    pair = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert pair.state is PairState.LINKED
    assert _unit_of(sandbox, pair.timelog_id)["additional_text"] == "From Forecast"


def test_without_the_setting_the_entry_fails_naming_it_and_nothing_is_lost(sandbox, ledger, ledger_url):
    """The item is refused with the setting's name, kept for a retry; the run goes on."""
    sandbox.timelog.options(additional_text_validation=2)
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "T", assigned=[FORECAST_PERSON]),
                                         forecast_registration(7001, task=9001, minutes=30, note="x")])
    pair = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    assert pair.state is PairState.CREATING, "the intent stays, so the next run retries it"
    [item] = [i for run in ledger.runs() for i in ledger.run_items(run.id)
              if i.actor == "target" and i.source_id == "7001"]
    assert item.outcome == "failed"
    assert "additional_text" in item.message
    assert ledger.find_pair(PairKind.TASK, forecast_id="9001").state is PairState.LINKED, "the task still landed"


def test_a_per_task_requirement_is_read_from_the_task(sandbox, ledger, ledger_url):
    """Validation 1 asks each task: one that does not require a text gets none, one that does gets the setting."""
    sandbox.timelog.options(additional_text_validation=1)
    _apply(sandbox, ledger, ledger_url, [forecast_task(9001, "Free", assigned=[FORECAST_PERSON]),
                                         forecast_task(9002, "Strict", assigned=[FORECAST_PERSON]),
                                         forecast_registration(7001, task=9001, minutes=30, note="x")])
    client = _client(sandbox)
    strict_id = _task_with_key(sandbox, "9002")["task_id"]
    [strict] = client.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByID", taskID=strict_id, loadExternalKeys=True)
    [edited] = client.batch(Service.PROJECT_MANAGEMENT, "UpdateTask", projectID=TIMELOG_PROJECT,
                            task={**strict, "AdditionalTextIsRequired": True})
    assert edited.ok, edited.message

    _apply(sandbox, ledger, ledger_url, [forecast_registration(7002, task=9002, minutes=30, note="y")],
           additional_text="From Forecast")

    free = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7001")
    required = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id="7002")
    assert _unit_of(sandbox, free.timelog_id)["additional_text"] == ""
    assert _unit_of(sandbox, required.timelog_id)["additional_text"] == "From Forecast"
