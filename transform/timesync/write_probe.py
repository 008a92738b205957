"""`timesync doctor --write-probe TASK_ID`: one 1-minute work unit written, read back and deleted, to settle what
only a write can show: which Reporting GUID the Transactional API uses (docs/assumptions.md 1), and whether
InsertWork keeps the client's GUID (8). The model found is recorded in the ledger, and the sync keys work by it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from timelog_api.convert import to_guid
from timelog_api.errors import TimeLogError
from timelog_api.guids import GuidModel
from timelog_api.items import ALL_IDS, require_work_item
from timelog_api.registration import additional_text_required, registration_settings
from timelog_api.services import Service
from timesync.adapters.timelog import GUID_MODEL_FACT, GUID_RECORD_FIELDS
from timesync.doctor import CheckFailedError, Finding, Site, Status

PROBE_MINUTES = 1
PROBE_DESCRIPTION = "timesync doctor write probe (deleted right away)"
CHANGE_LOG_PAGE = 500
WORK_SOURCE = 0  # "Externals should use 0" (TimeLog's docs)
PROBE_CHECK = "write probe"


def write_probe(site: Site, task_id: int) -> list[Finding]:
    """Insert, read back, delete; record the GUID model. Findings for each step that taught something."""
    try:
        return _probe(site, task_id)
    except CheckFailedError as exc:
        return [Finding(PROBE_CHECK, exc.status, exc.detail, exc.fix)]
    except TimeLogError as exc:
        return [Finding(PROBE_CHECK, Status.FAIL, str(exc), "see the message")]


def _probe(site: Site, task_id: int) -> list[Finding]:
    client = site.timelog
    task = _task(site, task_id)
    initials = client.initials
    allocated = {int(a["TaskID"]) for a in client.fetch(Service.PROJECT_MANAGEMENT, "GetAllocationsToEmployee",
                                                        initials=initials)}
    if task_id not in allocated:
        raise CheckFailedError(f"{initials}, the sync's TimeLog user, is not allocated to task {task_id}",
                               "name a task the user is allocated to, or allocate the user to this one")
    sent = str(uuid.uuid4())
    guid = _insert(site, task, initials, sent)
    findings = []
    try:
        if guid != sent:
            findings.append(Finding("insert keeps the client's GUID", Status.WARN,
                                    f"InsertWork returned {guid}, not the GUID sent ({sent})",
                                    "nothing to do: crash recovery finds such units by their fingerprint"))
        else:
            findings.append(Finding("insert keeps the client's GUID", Status.OK,
                                    "InsertWork kept the GUID it was sent"))
        findings.append(_in_change_log(site, guid, includes={"includeCreates": True}, what="the new unit"))
        model = _reporting_model(site, task_id, guid)
    finally:
        _delete(site, guid)
    findings.append(_in_change_log(site, guid, includes={"includeDeletes": True}, what="the deletion"))
    recorded = site.ledger.facts().get(GUID_MODEL_FACT)
    site.ledger.record_fact(GUID_MODEL_FACT, model.value,
                            f"timesync doctor --write-probe {task_id} on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}Z")
    changed = f"; it was recorded as {recorded[0]!r} ({recorded[1]}) before" if recorded and \
        recorded[0] != model.value else ""
    findings.append(Finding("guid model", Status.WARN if changed else Status.OK,
                            f"the Transactional GUID is Reporting's {GUID_RECORD_FIELDS[model]} ({model.value}); "
                            f"recorded in the ledger{changed}",
                            f"set tap-timelog's guid_model to {model.value}" if changed else ""))
    return findings


def _task(site: Site, task_id: int) -> dict[str, Any]:
    found = site.timelog.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByID", taskID=task_id, loadExternalKeys=False)
    if not found:
        raise CheckFailedError(f"TimeLog has no task {task_id}", "name an existing, active task")
    return found[0]


def _insert(site: Site, task: dict[str, Any], initials: str, guid: str) -> str:
    start = dt.datetime.combine(site.today, dt.time())
    duration = dt.timedelta(minutes=PROBE_MINUTES)
    unit: dict[str, Any] = {"GUID": guid, "TaskID": int(task["TaskID"]), "EmployeeInitials": initials,
                            "Duration": duration, "StartDateTime": start, "EndDateTime": start + duration,
                            "Description": PROBE_DESCRIPTION}
    settings = registration_settings(site.timelog)
    if additional_text_required(settings, lambda: bool(task.get("AdditionalTextIsRequired"))):
        if not site.additional_text:
            raise CheckFailedError(f"task {task['TaskID']} requires an additional text",
                                   "set TARGET_TIMELOG_ADDITIONAL_TEXT, or name another task")
        unit["AdditionalText"] = site.additional_text
    [result] = site.timelog.batch(Service.PROJECT_MANAGEMENT, "InsertWork", work={"WorkUnit": [unit]},
                                  source=WORK_SOURCE)
    if not result.ok:
        raise CheckFailedError(f"InsertWork refused the probe on task {task['TaskID']}: {result.message}",
                               "name a task and a day the user can register on (not a closed week)")
    return to_guid((result.item or {}).get("GUID")) or guid


def _delete(site: Site, guid: str) -> None:
    [result] = site.timelog.batch(Service.PROJECT_MANAGEMENT, "DeleteWork", work={"guid": [guid]},
                                  source=WORK_SOURCE)
    if not result.ok:
        raise CheckFailedError(f"DeleteWork refused to delete the probe unit {guid}: {result.message}",
                               f"delete the 1-minute unit {guid!r} ({PROBE_DESCRIPTION}) in TimeLog by hand")


def _in_change_log(site: Site, guid: str, *, includes: dict[str, bool], what: str) -> Finding:
    day = dt.datetime.combine(site.today, dt.time())
    flags = {"includeCreates": False, "includeUpdates": False, "includeDeletes": False, **includes}
    lines = site.timelog.paged(Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", page_size=CHANGE_LOG_PAGE,
                               startDate=day, endDate=day, **flags)
    if any(to_guid(line.get("WorkUnitGuid")) == guid for line in lines):
        return Finding(f"change log shows {what}", Status.OK, f"GetWorkChangeLogPaged lists {guid}")
    return Finding(f"change log shows {what}", Status.FAIL, f"GetWorkChangeLogPaged does not list {guid}",
                   "tell the sync's maintainers: the sync reads edits and deletions from this log")


def _reporting_model(site: Site, task_id: int, guid: str) -> GuidModel:
    rows = site.timelog.reporting_paged(
        "GetWorkUnitsRawPaged", page_size=CHANGE_LOG_PAGE, workUnitID=ALL_IDS, employeeID=ALL_IDS,
        allocationID=ALL_IDS, taskID=task_id, projectID=ALL_IDS, departmentID=ALL_IDS,
        startDate=site.today.isoformat(), endDate=site.today.isoformat(), parse=require_work_item)
    for row in rows:
        model = GuidModel.matching(row, {guid})
        if model is not None:
            return model
    raise CheckFailedError(f"Reporting lists the probe unit {guid} under neither of its GUIDs",
                           "tell the sync's maintainers: Reporting and the Transactional API disagree on this site")
