"""Forecast adapter: tap-forecast streams to canonical records; canonical time entries to target-forecast input."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from timesync.adapters.base import CanonicalRecord, id_text, require, shared_id
from timesync.model import (
    Assignment,
    Deletion,
    Person,
    Project,
    Side,
    Task,
    TimeEntry,
    parse_date,
    parse_timestamp,
)

APPROVED = "APPROVED"


def _optional_date(value: Any) -> Any:
    return parse_date(value) if value else None


def _minutes(value: Any) -> int | None:
    """Forecast estimates are minutes (possibly sent as decimals)."""
    if value is None:
        return None
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class ForecastAdapter:
    """Reads the tap-forecast streams of docs/streams.md; writes target-forecast registration payloads."""

    side: ClassVar[Side] = Side.FORECAST
    tool: ClassVar[str] = "forecast"
    entry_stream: ClassVar[str] = "time_registrations"
    whole_streams: ClassVar[frozenset[str]] = frozenset()  # the tap reads its full-table streams whole itself
    resumed_state: ClassVar[str] = "before_schema"  # a singer-sdk tap
    stream_keys: ClassVar[Mapping[str, Sequence[str]]] = {
        "time_registrations": ("id",),
        "tasks": ("id",),
        "deleted_time_registrations": ("id",),
        "deleted_tasks": ("id",),
        "persons": ("id",),
        "projects": ("id",),
    }
    # Forecast's PUT changes only time_registered, date and notes; anything else is delete + create.
    immutable_entry_fields: ClassVar[frozenset[str]] = frozenset({"person", "task", "project"})

    def observed_facts(self, stream: str, record: Mapping[str, Any]) -> Mapping[str, str]:
        """Forecast records show no fact the sync must keep relying on."""
        return {}

    def to_canonical(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        """Canonical records for one tap-forecast record."""
        reader = getattr(self, f"_read_{stream}", None)
        return reader(stream, record) if reader else []

    def _read_time_registrations(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        project = record.get("project_id") or record.get("project") or record.get("task_project")
        return [TimeEntry(
            side=Side.FORECAST,
            id=str(require(stream, record, "id", "id")),
            project_id=shared_id(project),
            person_id=sys.intern(str(require(stream, record, "person", "id"))),
            task_id=shared_id(record.get("task")),
            date=parse_date(require(stream, record, "date", "id")),
            minutes=int(require(stream, record, "time_registered", "id")),
            note=record.get("notes") or "",
            locked=record.get("approval_status") == APPROVED,
            non_project=record.get("non_project_time") is not None,
            updated_at=parse_timestamp(record.get("updated_at")),
        )]

    def _read_tasks(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        task_id = str(require(stream, record, "id", "id"))
        project_id = str(require(stream, record, "project_id", "id"))
        task = Task(
            side=Side.FORECAST,
            id=task_id,
            project_id=project_id,
            name=record.get("title") or "",
            parent_id=id_text(record.get("parent_task_id")),
            start_date=_optional_date(record.get("start_date")),
            end_date=_optional_date(record.get("end_date")),
            estimate_minutes=_minutes(record.get("estimate")),
        )
        assignments = [
            Assignment(side=Side.FORECAST, task_id=task_id, project_id=project_id, person_id=str(person))
            for person in record.get("assigned_persons") or []
        ]
        return [task, *assignments]

    def _read_deleted_time_registrations(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        return [Deletion(Side.FORECAST, "time_entry", str(require(stream, record, "id", "id")),
                         parse_timestamp(record.get("deleted_at")))]

    def _read_deleted_tasks(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        return [Deletion(Side.FORECAST, "task", str(require(stream, record, "id", "id")),
                         parse_timestamp(record.get("deleted_at")))]

    def _read_persons(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        name = " ".join(part for part in (record.get("first_name"), record.get("last_name")) if part)
        return [Person(Side.FORECAST, str(require(stream, record, "id", "id")), name, record.get("email"),
                       bool(record.get("active", True)))]

    def _read_projects(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        return [Project(Side.FORECAST, str(require(stream, record, "id", "id")), record.get("name") or "",
                        id_text(record.get("company_project_id")), record.get("status") != "DONE")]

    def entry_payload(self, entry: TimeEntry, *, update: bool) -> dict[str, Any]:
        """A v1 time registration body: exactly one of task or project; an update carries only PUT's fields."""
        body: dict[str, Any] = {"time_registered": entry.minutes, "date": entry.date.isoformat(), "notes": entry.note}
        if update:
            return body
        where = {"task": int(entry.task_id)} if entry.task_id else {"project": int(entry.project_id or 0)}
        return {"person": int(entry.person_id), **where, **body}

    def task_payload(self, task: Task) -> dict[str, Any]:
        """Forecast receives no tasks from the sync (tasks go one way, Forecast to TimeLog)."""
        raise NotImplementedError("tasks are synced one way, Forecast to TimeLog")
