"""TimeLog adapter: tap-timelog streams to canonical records; canonical values to target-timelog input."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from timelog_api.convert import hours_to_minutes, to_date, to_int, to_utc_rfc3339
from timelog_api.guids import GuidModel
from timelog_api.items import ACTIVE_STATUS
from timesync.adapters.base import CanonicalRecord, id_text, require, shared_id
from timesync.model import (
    Deletion,
    Person,
    Project,
    Side,
    Task,
    TimeEntry,
    hours_from_minutes,
    minutes_from_hours,
    parse_date,
    parse_timestamp,
)

# TimeLog ApprovedStatus: 10 and above is approved (or further), and closed to edits.
APPROVED_STATUS_MIN = 10
#: What an empty note is in TimeLog. InsertWork and UpdateWork require a Description (TimeLog's InsertWork
#: sample and API docs), Forecast allows none: an empty note goes in as this, and comes back out as empty.
EMPTY_NOTE = "-"


#: The ledger fact naming which Reporting GUID of a work unit is the Transactional one (`GuidModel` values).
GUID_MODEL_FACT = "timelog.guid_model"
#: The `work` record fields holding a unit's two Reporting GUIDs, by the model under which each one is the key.
GUID_RECORD_FIELDS = {GuidModel.TIME_REGISTRATION: "time_registration_guid",
                      GuidModel.WORK_UNIT: "reporting_work_unit_guid"}


def work_description(note: str | None) -> str:
    """A canonical note as a TimeLog work Description, which may not be empty."""
    return note or EMPTY_NOTE


def note_of(description: str | None) -> str:
    """A TimeLog work Description as a canonical note: the stand-in for an empty note is empty again."""
    return "" if description in (None, EMPTY_NOTE) else description


class TimeLogAdapter:
    """Reads the tap-timelog streams of docs/streams.md; writes target-timelog task, allocation and work payloads."""

    side: ClassVar[Side] = Side.TIMELOG
    tool: ClassVar[str] = "timelog"
    entry_stream: ClassVar[str] = "work"
    whole_streams: ClassVar[frozenset[str]] = frozenset()  # the tap reads its full-table streams whole itself
    resumed_state: ClassVar[str] = "before_schema"  # a singer-sdk tap
    stream_keys: ClassVar[Mapping[str, Sequence[str]]] = {
        "work": ("work_unit_guid",),
        "work_deletions": ("work_unit_guid",),
        "tasks": ("task_id",),
        "employees": ("employee_id",),
        "projects": ("project_id",),
    }
    # UpdateWork can change every field of a work unit.
    immutable_entry_fields: ClassVar[frozenset[str]] = frozenset()

    def to_canonical(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        """Canonical records for one tap-timelog record."""
        reader = getattr(self, f"_read_{stream}", None)
        return reader(stream, record) if reader else []

    def _read_work(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        key = "work_unit_guid"
        minutes = record.get("minutes")
        if minutes is None:
            minutes = minutes_from_hours(require(stream, record, "hours", key))
        return [TimeEntry(
            side=Side.TIMELOG,
            id=str(require(stream, record, key, key)),
            project_id=shared_id(require(stream, record, "project_id", key)),
            person_id=sys.intern(str(require(stream, record, "employee_id", key))),
            task_id=shared_id(require(stream, record, "task_id", key)),
            date=parse_date(require(stream, record, "date", key)),
            minutes=int(minutes),
            note=note_of(record.get("note")),
            locked=int(record.get("approval_status") or 0) >= APPROVED_STATUS_MIN,
            task_name=record.get("task_name"),
            updated_at=parse_timestamp(record.get("modified_at")),
        )]

    def _read_work_deletions(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        return [Deletion(Side.TIMELOG, "time_entry", str(require(stream, record, "work_unit_guid", "work_unit_guid")),
                         parse_timestamp(record.get("deleted_at")))]

    def _read_tasks(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        budget = record.get("budget_hours")
        return [Task(
            side=Side.TIMELOG,
            id=str(require(stream, record, "task_id", "task_id")),
            project_id=str(require(stream, record, "project_id", "task_id")),
            name=record.get("name") or "",
            parent_id=id_text(record.get("parent_task_id")),
            start_date=parse_date(record["start_date"]) if record.get("start_date") else None,
            end_date=parse_date(record["end_date"]) if record.get("end_date") else None,
            estimate_minutes=minutes_from_hours(budget) if budget is not None else None,
            external_ids=tuple(str(key.get("external_id")) for key in record.get("external_keys") or []),
        )]

    def _read_employees(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        name = " ".join(part for part in (record.get("first_name"), record.get("last_name")) if part)
        return [Person(Side.TIMELOG, str(require(stream, record, "employee_id", "employee_id")), name,
                       record.get("email"), bool(record.get("is_active", True)))]

    def _read_projects(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        return [Project(Side.TIMELOG, str(require(stream, record, "project_id", "project_id")),
                        record.get("name") or "", id_text(record.get("no")), bool(record.get("is_active", True)))]

    def observed_facts(self, stream: str, record: Mapping[str, Any]) -> Mapping[str, str]:
        """A `work` record keyed by one of its two (different) Reporting GUIDs shows the site's GUID model."""
        if stream != "work" or record.get("time_registration_guid") == record.get("reporting_work_unit_guid"):
            return {}
        key = record.get("work_unit_guid")
        model = next((model for model, field in GUID_RECORD_FIELDS.items() if key and record.get(field) == key), None)
        return {GUID_MODEL_FACT: model.value} if model else {}

    # -- raw TimeLog Reporting items: for what reads TimeLog's API itself (the CLI, doctor and the report) --------

    def person_from_reporting(self, item: Mapping[str, Any]) -> Person:
        """A Reporting employee (GetEmployeesRaw) as the canonical person its `employees` record gives."""
        name = " ".join(part for part in (item.get("FirstName"), item.get("LastName")) if part)
        return Person(Side.TIMELOG, str(to_int(item["ID"])), name, item.get("Email"),
                      to_int(item.get("Status")) == ACTIVE_STATUS)

    def project_from_reporting(self, item: Mapping[str, Any]) -> Project:
        """A Reporting project (GetProjectsRaw) as the canonical project its `projects` record gives."""
        return Project(Side.TIMELOG, str(to_int(item["ID"])), item.get("Name") or "", id_text(item.get("No")),
                       to_int(item.get("Status")) == ACTIVE_STATUS)

    def entry_from_reporting(self, item: Mapping[str, Any], model: GuidModel, site_tz: dt.tzinfo) -> TimeEntry:
        """A Reporting work unit (GetWorkUnitsRaw) as the canonical entry its `work` record gives, keyed by the GUID
        `model` names (offset-less times are in `site_tz`)."""
        guid = model.guid(item)
        if guid is None:
            raise ValueError(f"work unit {item.get('ID')} without {model.item_field}")
        day, minutes = to_date(item["Date"]), hours_to_minutes(item["RegHours"])
        if day is None or minutes is None:  # the `work` stream's records require both too (_read_work)
            raise ValueError(f"work unit {item.get('ID')} without Date or RegHours")
        return TimeEntry(
            side=Side.TIMELOG,
            id=guid,
            project_id=shared_id(int(item["ProjectID"])),
            person_id=sys.intern(str(int(item["EmployeeID"]))),
            task_id=shared_id(int(item["TaskID"])),
            date=parse_date(day),
            minutes=minutes,
            note=note_of(item.get("Note")),
            locked=(to_int(item.get("ApprovedStatus")) or 0) >= APPROVED_STATUS_MIN,
            task_name=item.get("TaskName"),
            updated_at=parse_timestamp(to_utc_rfc3339(item.get("LastModifiedAt"), site_tz)),
        )

    def task_from_transactional(self, item: Mapping[str, Any]) -> Task:
        """A Transactional task (GetTaskByExternalKey, GetTaskByID) as the canonical task its `tasks` record gives
        (.NET's DateTime.MinValue and a ParentTaskID of 0 mean none)."""
        details = item.get("Details") or {}
        budget = item.get("BudgetHours")

        def day(value: Any) -> dt.date | None:
            text = to_date(value)
            return None if text is None or text.startswith("0001") else parse_date(text)

        return Task(
            side=Side.TIMELOG,
            id=str(to_int(item["TaskID"])),
            project_id=str(to_int((details.get("ProjectHeader") or {}).get("ID"))),
            name=item.get("Name") or "",
            parent_id=id_text(to_int(details.get("ParentTaskID")) or None),
            start_date=day(item.get("StartDate")),
            end_date=day(item.get("EndDate")),
            estimate_minutes=minutes_from_hours(budget) if budget is not None else None,
        )

    def entry_payload(self, entry: TimeEntry, *, update: bool) -> dict[str, Any]:
        """A WorkUnit: minutes are authoritative; hours are the exact decimal for APIs that want hours."""
        del update  # UpdateWork and InsertWork take the same fields
        return {
            "employee_id": int(entry.person_id),
            "task_id": int(entry.task_id) if entry.task_id and entry.task_id.isdigit() else entry.task_id,
            "project_id": int(entry.project_id) if entry.project_id else None,
            "date": entry.date.isoformat(),
            "minutes": entry.minutes,
            "hours": str(hours_from_minutes(entry.minutes)),
            "note": work_description(entry.note),
        }

    def task_payload(self, task: Task) -> dict[str, Any]:
        """CreateTask/CreateSubTask/UpdateTask input; the Forecast task id goes in as the external key."""
        return {
            "project_id": int(task.project_id),
            "parent_task_id": int(task.parent_id) if task.parent_id and task.parent_id.isdigit() else None,
            "name": task.name,
            "start_date": task.start_date.isoformat() if task.start_date else None,
            "end_date": task.end_date.isoformat() if task.end_date else None,
            "budget_hours": str(hours_from_minutes(task.estimate_minutes)) if task.estimate_minutes else None,
            "external_key": task.external_ids[0] if task.external_ids else None,
        }
