"""How stored records look on the wire: version-specific shapes, derived fields and the page envelope."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.forecast.resources import (
    DELETED_TASK_EXTRA_FIELDS,
    DELETED_V3_FIELDS,
    PERSON_V1_FIELDS,
    PERSON_V2_FIELDS,
    PROJECT_PROGRESS_FIELD,
    TIME_REGISTRATION_V3_FIELDS,
    pick,
)
from sandbox.forecast.store import ForecastStore
from sandbox.forecast.timeformat import offset_timestamp

PAGE_NUMBER_DEFAULT = 1
PAGE_SIZE_DEFAULT = 100
#: The docs give no maximum ("subject to change"); production clients use 500 and 1000 successfully, so
#: larger sizes are clamped to 1000 and the envelope echoes the size actually used.
PAGE_SIZE_MAX = 1000

#: `registeredOn.type` in the v4 deleted feed. "TASK" is documented; the other two are inferred from
#: "id of task, project or idle time" (idle time is Forecast's internal name for non-project time).
REGISTERED_ON_TYPES = {"task": "TASK", "project": "PROJECT", "non_project_time": "IDLE_TIME"}


@dataclass(frozen=True)
class Page:
    """`pageNumber` and `pageSize` after the documented fallbacks (invalid -> default) and our clamp."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        """Index of the first item on this page."""
        return (self.number - 1) * self.size

    @classmethod
    def from_query(cls, query: dict[str, str]) -> Page:
        """Read `pageNumber`/`pageSize`; missing, non-integer or < 1 fall back to the defaults."""
        return cls(
            _positive_int(query.get("pageNumber"), PAGE_NUMBER_DEFAULT),
            min(_positive_int(query.get("pageSize"), PAGE_SIZE_DEFAULT), PAGE_SIZE_MAX),
        )

    def envelope(self, total: int, contents: list[dict]) -> dict:
        """The real envelope: `{pageNumber, pageSize, totalObjectCount, pageContents}`."""
        return {"pageNumber": self.number, "pageSize": self.size, "totalObjectCount": total,
                "pageContents": contents}


def _positive_int(text: str | None, default: int) -> int:
    if text is None or not text.strip().isdigit():
        return default
    value = int(text)
    return value if value >= 1 else default


# -- live records -----------------------------------------------------------------------------------


def time_registration_v3(record: dict) -> dict:
    """v3 and the v1 write responses: `card` repeats `task` (its deprecated alias)."""
    return pick({**record, "card": record["task"]}, TIME_REGISTRATION_V3_FIELDS)


def time_registration_v4(record: dict, store: ForecastStore, fields: tuple[str, ...]) -> dict:
    """v4 (`fields`: `Shapes.time_registration_v4`): `task_project` and `phase` come from the task; `project`
    stays null on task entries."""
    task = store.tables["tasks"].get(record["task"]) if record["task"] is not None else None
    derived = {
        "task_project": task["project_id"] if task else None,
        "phase": task["milestone"] if task else None,
    }
    return pick({**record, **derived}, fields)


def task(record: dict, fields: tuple[str, ...]) -> dict:
    """v3 and v4 tasks (`fields`: `Shapes.task`)."""
    return pick(record, fields)


def project(record: dict, fields: tuple[str, ...], *, include_progress: bool) -> dict:
    """v1 projects (`fields`: `Shapes.projects` or `Shapes.project`); `progress` only with `?includeProgress=true`."""
    return pick(record, (*fields, PROJECT_PROGRESS_FIELD) if include_progress else fields)


def person(record: dict, *, version: int) -> dict:
    """v2 persons, or the deprecated v1 shape that still has `user_type`."""
    return pick(record, PERSON_V1_FIELDS if version == 1 else PERSON_V2_FIELDS)


# -- deleted feeds ----------------------------------------------------------------------------------


def deleted_v3(entry: dict) -> dict:
    """`v3/time_registrations/deleted` and `v2/tasks/deleted`: `{id, deleted_by, deleted_at}`."""
    return pick(entry, DELETED_V3_FIELDS)


def deleted_task_v2(entry: dict, *, include_all_fields: bool) -> dict:
    """`v2/tasks/deleted`; `includeAllFields=true` adds the task's v2-era fields (company_task_id as "T<n>")."""
    view = deleted_v3(entry)
    if include_all_fields:
        record = entry["record"]
        estimate = record.get("estimate")
        extra = {
            **record,
            "company_task_id": f"T{record['company_task_id']}" if record.get("company_task_id") else None,
            "low_estimate": estimate, "high_estimate": estimate, "forecast": estimate,
            "billable": not record.get("un_billable", False),
        }
        view.update(pick(extra, DELETED_TASK_EXTRA_FIELDS))
    return view


def deleted_time_registration_v4(entry: dict, store: ForecastStore) -> dict:
    """`v4/time_registrations/deleted`: camelCase, nested names, offset timestamps."""
    record = entry["record"]
    return {
        "id": entry["id"],
        "minutesRegistered": record.get("time_registered"),
        "person": _person_ref(store, record.get("person"), with_email=True),
        "registeredOn": _registered_on(record, store),
        # "date and time of registration": when it was registered, as the sample's clock time suggests.
        "datetime": offset_timestamp(record["created_at"]) if record.get("created_at") else None,
        "deletedBy": {**_person_ref(store, entry["deleted_by"], with_email=True), "id": str(entry["deleted_by"])},
        "deletedAt": offset_timestamp(entry["deleted_at"]),
    }


def deleted_task_v4(entry: dict, store: ForecastStore) -> dict:
    """`v4/tasks/deleted`: the task plus named references to its project, phase and assignees."""
    record = entry["record"]
    phase = store.tables["phases"].get(record.get("milestone"))
    return {
        "task": {"id": entry["id"], "name": record.get("title"), "deleted_at": offset_timestamp(entry["deleted_at"]),
                 "deleted_by": entry["deleted_by"]},
        "project": _named(store.tables["projects"].get(record.get("project_id")), "name", record.get("project_id")),
        "phase": {"id": phase["id"], "name": phase["name"]} if phase else {},
        "sprint": {},  # sprints are not simulated
        "assignedPersons": [_person_ref(store, pid, with_email=False) for pid in record.get("assigned_persons", [])],
        "labels": [{"id": label, "name": f"Label {label}"} for label in record.get("labels", [])],
        "comments": [],
    }


def _person_ref(store: ForecastStore, person_id: int | None, *, with_email: bool) -> dict:
    found = store.tables["persons"].get(person_id)
    ref: dict = {"id": person_id, "name": f"{found['first_name']} {found['last_name']}".strip() if found else ""}
    if with_email:
        ref["email"] = found["email"] if found else ""
    return ref


def _named(record: dict | None, name_field: str, fallback_id: int | None) -> dict:
    return {"id": record["id"], "name": record[name_field]} if record else {"id": fallback_id, "name": ""}


def _task_record(store: ForecastStore, task_id: int) -> dict | None:
    live = store.tables["tasks"].get(task_id)
    if live is not None:
        return live
    deleted = store.deleted["deleted_tasks"].get(task_id)
    return deleted["record"] if deleted else None


def _registered_on(record: dict, store: ForecastStore) -> dict:
    if record.get("task") is not None:
        found = _task_record(store, record["task"])
        project_id = found.get("project_id") if found else None
        return {
            "type": REGISTERED_ON_TYPES["task"], "id": record["task"],
            "name": found.get("title", "") if found else "",
            "project": _named(store.tables["projects"].get(project_id), "name", project_id),
        }
    if record.get("project") is not None:
        found = store.tables["projects"].get(record["project"])
        return {"type": REGISTERED_ON_TYPES["project"], **_named(found, "name", record["project"])}
    found = store.tables["non_project_time"].get(record.get("non_project_time"))
    return {"type": REGISTERED_ON_TYPES["non_project_time"], **_named(found, "name", record.get("non_project_time"))}
