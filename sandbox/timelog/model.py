"""The TimeLog simulator's entities and their JSON form (the shape of `/_sandbox/state` and `reset`).

Durations are integer minutes; registration dates are calendar dates; timestamps are naive site-local
datetimes (the simulated site's clock is UTC, so they compare directly with the sync's UTC cursors).
"""

from __future__ import annotations

import dataclasses
import types
import typing
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

#: WorkUnit ApprovedStatus values (Reporting "Approved Status" enum).
APPROVED_OPEN = 0
APPROVED_CLOSED = 10
APPROVED_BY_PROJECT_MANAGER = 20
APPROVED_BY_DEPARTMENT_MANAGER = 30

#: Task status values (Reporting "Task Status" enum, ProjectTaskFlat.TaskStatus names).
TASK_STATUS_NAMES = {0: "NotStarted", 1: "InProgress", 2: "OnHold", 3: "Completed", 4: "Cancelled"}
TASK_STATUS_CLOSED = frozenset({3, 4})
TASK_STATUS_IN_PROGRESS, TASK_STATUS_COMPLETED = 1, 3

#: Project status values (GetProjects statusID).
PROJECT_STATUS_NAMES = {0: "Quote", 1: "Approved", 2: "In progress", 3: "On hold", 4: "Completed", 5: "Archived",
                        6: "Cancelled"}
PROJECT_STATUS_IN_PROGRESS = 2


@dataclass
class ExternalKey:
    """An ExternalSystemContext: the id of this object in another system (e.g. a Forecast task id)."""

    system_name: str
    external_id: str


@dataclass
class Department:
    department_id: int
    guid: str
    name: str
    no: str
    modified_at: datetime


@dataclass
class Customer:
    customer_id: int
    guid: str
    name: str
    no: str
    created_at: datetime
    modified_at: datetime


@dataclass
class Employee:
    """A TimeLog employee (user). `employee_id` and `user_id` are distinct ids, as in TimeLog."""

    employee_id: int
    user_id: int
    guid: str
    user_guid: str
    username: str
    initials: str
    first_name: str
    last_name: str
    email: str
    department_id: int
    hired_date: date
    modified_at: datetime
    is_active: bool = True
    title: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Project:
    project_id: int
    guid: str
    name: str
    no: str
    customer_id: int
    project_manager_id: int
    start_date: date
    end_date: date
    created_at: datetime
    modified_at: datetime
    status: int = PROJECT_STATUS_IN_PROGRESS
    is_active: bool = True
    description: str = ""
    external_keys: list[ExternalKey] = field(default_factory=list)


@dataclass
class Task:
    task_id: int
    guid: str
    project_id: int
    name: str
    no: str
    start_date: date
    end_date: date
    created_at: datetime
    modified_at: datetime
    parent_task_id: int = 0
    description: str = ""
    budget_hours: float = 0.0
    status: int = TASK_STATUS_IN_PROGRESS
    sort_order: int = 0
    external_keys: list[ExternalKey] = field(default_factory=list)
    #: Task.AdditionalTextIsRequired: with AdditionalTextFieldValidation 1, work on this task needs the text.
    additional_text_required: bool = False

    @property
    def is_active(self) -> bool:
        return self.status not in TASK_STATUS_CLOSED


@dataclass
class Allocation:
    """An employee allocated to a task: required before the employee can register time on it."""

    allocation_id: int
    guid: str
    task_id: int
    employee_id: int
    hours_allocated: float
    start_date: date
    end_date: date


#: Namespace of the derived second GUID of work units that were stored without one.
_OTHER_GUID_NAMESPACE = uuid.UUID("5f1d3c8e-2b7a-4c1e-9a6d-0e4b8f2c7a11")


def derived_other_guid(guid: str) -> str:
    """A second GUID for a work unit, always different from `guid` and the same for the same `guid`."""
    return str(uuid.uuid5(_OTHER_GUID_NAMESPACE, guid.lower()))


@dataclass
class WorkUnit:
    """One time registration. `minutes` is the registered duration; `start_at.date()` is its date.

    Reporting lists two GUIDs per unit (TimeRegistrationGuid and WorkUnitGuid, different in TimeLog's sample
    GetWorkUnitsRaw.xml): `guid` is the one the Transactional API carries, `other_guid` the other one; the
    `guid_model` site option says which Reporting element gets which.
    """

    work_id: int
    guid: str
    task_id: int
    employee_id: int
    start_at: datetime
    minutes: int
    description: str
    created_at: datetime
    modified_at: datetime
    approved_status: int = APPROVED_OPEN
    additional_text: str = ""
    #: Bumped on every change; served as WorkUnit.TimeStamp (a row version, like TimeLog's).
    row_version: int = 1
    other_guid: str = ""
    #: WorkUnit.BillableDuration in minutes; None when the registration does not set one.
    billable_minutes: int | None = None
    is_meeting: bool = False

    def __post_init__(self) -> None:
        if not self.other_guid:  # snapshots from before there were two GUIDs
            self.other_guid = derived_other_guid(self.guid)
        if self.other_guid.lower() == self.guid.lower():
            raise ValueError(f"other_guid must differ from guid ({self.guid})")

    @property
    def date(self) -> date:
        return self.start_at.date()


@dataclass
class ChangeEntry:
    """One line of the work change log. Employee and date are kept so filters still work after a delete."""

    action: str  # DataAction name: Created, Updated or Deleted
    work_guid: str
    at: datetime
    employee_id: int
    work_date: date


@dataclass
class ClosedPeriod:
    """A closed time sheet period (both ends inclusive), for one employee or (employee_id None) everyone."""

    start: date
    end: date
    employee_id: int | None = None


@dataclass
class ApiUser:
    """Credentials accepted by SecurityService.GetToken; the user acts as its employee."""

    username: str
    password: str
    employee_id: int


@dataclass
class ReportingCredentials:
    site_code: str
    api_id: str
    api_password: str


# -- JSON ----------------------------------------------------------------------------------------------

T = TypeVar("T")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def to_json(value: Any) -> Any:
    """Entity (or list/dict of entities) → JSON-able data; dates and datetimes become ISO strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    return value


def _convert(hint: Any, raw: Any, where: str) -> Any:
    if raw is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _convert(inner[0], raw, where)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, entry, where) for entry in raw]
    if hint is datetime:
        return datetime.fromisoformat(raw)
    if hint is date:
        return date.fromisoformat(raw[:10])
    if dataclasses.is_dataclass(hint):
        return from_json(hint, raw, where)
    if hint is float and isinstance(raw, int):
        return float(raw)
    return raw


def from_json(cls: type[T], data: dict, where: str = "") -> T:
    """JSON data → entity; unknown or missing required keys raise ValueError naming them."""
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}")
    kwargs = {}
    for name, raw in data.items():
        try:
            kwargs[name] = _convert(hints[name], raw, where)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}.{name}: {exc}") from exc
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc
