"""What POST and PUT bodies may contain: validation with 400 messages that name the field to fix.

Each function returns clean fields for the store; none of them writes.
"""

from __future__ import annotations

from sandbox.common.clock import parse_date
from sandbox.forecast.errors import bad_request
from sandbox.forecast.resources import (
    TASK_UPDATABLE,
    TIME_REGISTRATION_TARGETS,
    TIME_REGISTRATION_UPDATABLE,
)
from sandbox.forecast.store import ForecastStore

#: Project budget type whose time is not billable by default.
NON_BILLABLE_BUDGET = "NON_BILLABLE"
#: What each kind of reference points at: (table, label in messages).
REFERENCES = {
    "person": ("persons", "Person"),
    "task": ("tasks", "Task"),
    "project": ("projects", "Project"),
    "project_id": ("projects", "Project"),
    "non_project_time": ("non_project_time", "Non project time"),
    "role": ("roles", "Role"),
    "workflow_column": ("workflow_columns", "Workflow column"),
    "milestone": ("phases", "Phase"),
    "owner_id": ("persons", "Person"),
    "parent_task_id": ("tasks", "Task"),
    "assigned_persons": ("persons", "Person"),
}


def is_int(value: object) -> bool:
    """An integer that is not a bool (JSON true is not an id)."""
    return isinstance(value, int) and not isinstance(value, bool)


def existing(store: ForecastStore, field: str, value: object) -> dict:
    """The record a reference field points at, or a 400 naming the field."""
    table, label = REFERENCES[field]
    if not is_int(value):
        raise bad_request(f"{field} must be an integer id, got {value!r}")
    record = store.tables[table].get(value)
    if record is None:
        raise bad_request(f"{field}: {label} {value} does not exist")
    return record


def minutes(field: str, value: object) -> int:
    """A whole, non-negative number of minutes."""
    if not is_int(value) or value < 0:
        raise bad_request(f"{field} must be a whole number of minutes (>= 0), got {value!r}")
    return value


def work_date(value: object) -> str:
    """A `YYYY-MM-DD` work date; the message is the one the docs list for this case."""
    try:
        return parse_date(value)
    except (TypeError, ValueError):
        raise bad_request(f"Time Registration Date is invalid: expected YYYY-MM-DD, got {value!r}") from None


def notes(value: object) -> str:
    """A string; null means empty."""
    if value is not None and not isinstance(value, str):
        raise bad_request(f"notes must be a string, got {type(value).__name__}")
    return value or ""


# -- time registrations ----------------------------------------------------------------------------


def new_time_registration(store: ForecastStore, body: dict) -> dict:
    """POST /v1/time_registrations: person, time_registered, date and exactly one of task/project/non_project_time."""
    body = dict(body)
    if body.get("task") is None and body.get("card") is not None:
        body["task"] = body["card"]  # the deprecated alias
    for required in ("person", "time_registered", "date"):
        if body.get(required) is None:
            raise bad_request(f"{required} is required")
    person = existing(store, "person", body["person"])
    targets = [name for name in TIME_REGISTRATION_TARGETS if body.get(name) is not None]
    if len(targets) != 1:
        raise bad_request("Either a project, task or non_project_time must be supplied (exactly one), "
                          f"got {targets or 'none'}")
    target = targets[0]
    on = existing(store, target, body[target])
    time_registered = minutes("time_registered", body["time_registered"])
    role = body.get("role", person["default_role"])
    if role is not None:
        existing(store, "role", role)
    billable = body.get("billable_minutes_registered")
    return {
        "person": person["id"], target: on["id"], "role": role, "time_registered": time_registered,
        "billable_minutes_registered": (minutes("billable_minutes_registered", billable) if billable is not None
                                        else _default_billable(store, target, on, time_registered)),
        "date": work_date(body["date"]), "notes": notes(body.get("notes")),
    }


def _default_billable(store: ForecastStore, target: str, on: dict, time_registered: int) -> int:
    """Billable unless on internal time, an un-billable task or a non-billable project."""
    if target == "non_project_time" or (target == "task" and on["un_billable"]):
        return 0
    project = store.tables["projects"].get(on["project_id"] if target == "task" else on["id"])
    return 0 if project and project["budget_type"] == NON_BILLABLE_BUDGET else time_registered


def time_registration_changes(store: ForecastStore, body: dict) -> dict:
    """PUT /v1/time_registrations/{id}: only the documented fields; any other key is ignored."""
    changes = {name: body[name] for name in TIME_REGISTRATION_UPDATABLE if name in body}
    for field in ("time_registered", "billable_minutes_registered"):
        if field in changes:
            minutes(field, changes[field])
    if changes.get("role") is not None:
        existing(store, "role", changes["role"])
    if "notes" in changes:
        changes["notes"] = notes(changes["notes"])
    if "date" in changes:
        changes["date"] = work_date(changes["date"])
    return changes


# -- tasks -----------------------------------------------------------------------------------------------


def task_fields(store: ForecastStore, body: dict) -> dict:
    """The writable task fields of a POST or PUT /v3/tasks body, references checked."""
    fields = {name: body[name] for name in TASK_UPDATABLE if name in body}
    for name in ("title", "description"):
        if name in fields and not isinstance(fields[name], str):
            raise bad_request(f"{name} must be a string")
    for name in ("role", "workflow_column", "milestone", "owner_id", "parent_task_id"):
        if fields.get(name) is not None:
            existing(store, name, fields[name])
    persons = fields.get("assigned_persons")
    if persons is not None:
        if not isinstance(persons, list):
            raise bad_request("assigned_persons must be a list of person ids")
        for person_id in persons:
            existing(store, "assigned_persons", person_id)
    return fields


def new_task(store: ForecastStore, body: dict) -> dict:
    """POST /v3/tasks: `project_id` is required; the company task number ("T-n") is assigned here."""
    if body.get("project_id") is None:
        raise bad_request("project_id is required")
    project = existing(store, "project_id", body["project_id"])
    # Like ids, company task numbers are never reused, not even after a delete.
    known = [*store.tables["tasks"].records.values(),
             *(entry["record"] for entry in store.deleted["deleted_tasks"].records.values())]
    number = 1 + max((task.get("company_task_id") or 0 for task in known), default=0)
    return {**task_fields(store, body), "project_id": project["id"], "company_task_id": number}
