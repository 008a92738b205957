"""The canonical model every adapter converts to: projects, persons, tasks, assignments and time entries."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

MINUTES_PER_HOUR = 60
# Enough digits that minutes -> hours -> minutes is exact for every duration a day can hold (1..1440).
HOURS_DECIMAL_PLACES = 6


class Side(StrEnum):
    """One of the two systems the sync connects."""

    FORECAST = "forecast"
    TIMELOG = "timelog"

    @property
    def other(self) -> Side:
        """The opposite side."""
        return Side.TIMELOG if self is Side.FORECAST else Side.FORECAST


class Direction(StrEnum):
    """Which way one pipeline of job ``sync`` carries changes."""

    FORECAST_TO_TIMELOG = "forecast_to_timelog"
    TIMELOG_TO_FORECAST = "timelog_to_forecast"

    @property
    def source(self) -> Side:
        """The side the tap reads."""
        return Side.FORECAST if self is Direction.FORECAST_TO_TIMELOG else Side.TIMELOG

    @property
    def target(self) -> Side:
        """The side the target writes."""
        return self.source.other

    @classmethod
    def from_source(cls, side: Side) -> Direction:
        """The direction whose tap reads ``side``."""
        return cls.FORECAST_TO_TIMELOG if side is Side.FORECAST else cls.TIMELOG_TO_FORECAST


def minutes_from_hours(hours: Decimal | str | int | float) -> int:
    """Whole minutes from decimal hours, rounded half-up to the nearest minute.

    Floats go through ``str`` first so 0.1 means 0.1, not 0.1000000000000000055.
    """
    value = hours if isinstance(hours, Decimal) else Decimal(str(hours))
    return int((value * MINUTES_PER_HOUR).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def hours_from_minutes(minutes: int) -> Decimal:
    """Decimal hours for whole minutes, with enough places to convert back exactly."""
    return (Decimal(minutes) / MINUTES_PER_HOUR).quantize(Decimal(1).scaleb(-HOURS_DECIMAL_PLACES))


def parse_date(value: str | dt.date) -> dt.date:
    """A calendar date from ``YYYY-MM-DD`` (or the date part of a timestamp), never shifted by a time zone."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return _date_from_text(str(value)[:10])


@lru_cache(maxsize=4096)
def _date_from_text(text: str) -> dt.date:
    """One date object per calendar day: a run's records share a few hundred days."""
    return dt.date.fromisoformat(text)


def parse_timestamp(value: str | dt.datetime | None) -> dt.datetime | None:
    """A UTC timestamp from RFC 3339 text; naive values are taken as UTC."""
    if value is None or value == "":
        return None
    stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Project:
    """A project on one side."""

    side: Side
    id: str
    name: str
    number: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Person:
    """A person (Forecast) or employee (TimeLog) on one side."""

    side: Side
    id: str
    name: str
    email: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Task:
    """A task on one side. ``estimate_minutes`` is the Forecast estimate or the TimeLog budget."""

    side: Side
    id: str
    project_id: str
    name: str
    parent_id: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    estimate_minutes: int | None = None
    external_ids: tuple[str, ...] = ()

    def snapshot(self) -> dict[str, Any]:
        """The fields the sync compares and stores as the base, as JSON-ready values."""
        return {
            "project": self.project_id,
            "name": self.name,
            "parent": self.parent_id,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "estimate_minutes": self.estimate_minutes,
        }


@dataclass(frozen=True, slots=True)
class Assignment:
    """A person assigned to a task (Forecast ``assigned_persons``; a TimeLog allocation)."""

    side: Side
    task_id: str
    project_id: str
    person_id: str

    @property
    def id(self) -> str:
        """A stable id for the pair table: task and person."""
        return f"{self.task_id}:{self.person_id}"


@dataclass(frozen=True, slots=True)
class TimeEntry:
    """A Forecast time registration or a TimeLog work unit, in whole minutes on a calendar date.

    ``task_id`` is None for Forecast time on the project itself. ``task_name`` is informational (TimeLog work on
    a task Forecast does not know keeps it in the Forecast note). ``locked`` means approved/closed: never written.
    """

    side: Side
    id: str
    project_id: str | None
    person_id: str
    task_id: str | None
    date: dt.date
    minutes: int
    note: str = ""
    locked: bool = False
    non_project: bool = False
    task_name: str | None = None
    updated_at: dt.datetime | None = field(default=None, compare=False)

    def snapshot(self) -> dict[str, Any]:
        """The fields the sync compares and stores as the base (locks are state, not content)."""
        return {
            "project": self.project_id,
            "person": self.person_id,
            "task": self.task_id,
            "date": self.date.isoformat(),
            "minutes": self.minutes,
            "note": self.note,
        }

    def fingerprint(self) -> str:
        """What finds this entry again after a crash when there is no id: person, date, task, minutes, note."""
        return "|".join([self.person_id, self.date.isoformat(), self.task_id or "-", str(self.minutes), self.note])


@dataclass(frozen=True, slots=True)
class Deletion:
    """An entity id that a deletion feed reports as gone."""

    side: Side
    kind: str  # "time_entry" or "task"
    id: str
    deleted_at: dt.datetime | None = None


def entry_from_snapshot(side: Side, entry_id: str, snapshot: dict[str, Any]) -> TimeEntry:
    """Rebuild a time entry from a stored snapshot (used to resolve parked conflicts)."""
    return TimeEntry(
        side=side,
        id=entry_id,
        project_id=snapshot["project"],
        person_id=snapshot["person"],
        task_id=snapshot["task"],
        date=parse_date(snapshot["date"]),
        minutes=int(snapshot["minutes"]),
        note=snapshot["note"],
        task_name=snapshot.get("task_name"),
    )


_JSON_SCALARS = frozenset({str, int, float, bool})


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names (None for any other type), looked up once per class."""
    return tuple(item.name for item in fields(cls)) if is_dataclass(cls) else None


def to_json_ready(value: Any, *, utc: bool = False) -> Any:
    """Dataclasses, enums, dates and Decimals as JSON-ready values: the one converter of the sync.

    It makes a command's canonical payload, the report's data, the ledger's JSON text (``json_text``) and, in a
    target, turns the SDK's parsed record back into what the mapper wrote. A Decimal becomes an int when it is
    whole (the SDK reads ``61.0`` as one), else its exact text. ``utc``: datetimes as RFC 3339 UTC text ending in
    ``Z`` (naive ones taken as UTC), the form a target stores; otherwise ``isoformat()`` as they are.
    """
    if value is None or type(value) in _JSON_SCALARS:
        return value
    # A class is hashable; mypy checks type[X] against Hashable through X's unbound __hash__ and refuses it.
    names = _field_names(type(value))  # type: ignore[arg-type]
    if names is not None:
        # Field by field, not dataclasses.asdict: that deep-copies every value first (most of the cost per command).
        return {name: to_json_ready(getattr(value, name), utc=utc) for name in names}
    if isinstance(value, dict):
        return {key: to_json_ready(item, utc=utc) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_ready(item, utc=utc) for item in value]
    if isinstance(value, dt.datetime):
        if utc:
            stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            return stamp.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, StrEnum):
        return str(value)
    return value


def json_text(value: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces): equal values store as equal text in the ledger.

    Values JSON cannot hold go through ``to_json_ready``; anything that still cannot becomes its ``str``.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    ready = to_json_ready(value)
    return str(value) if ready is value else ready
