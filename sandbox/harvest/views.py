"""How stored records look on the wire: nested objects, derived fields (locks, rounding) and decimals."""

from __future__ import annotations

import math

from sandbox.harvest.resources import (
    DEFAULTS,
    LOCKED_APPROVED,
    LOCKED_INVOICED,
    LOCKED_INVOICED_AND_APPROVED,
)
from sandbox.harvest.store import HarvestStore

_STORED_ONLY = {"client_id", "project_id", "task_id", "user_id"}


def _plain(table: str, record: dict, *, drop: tuple[str, ...] = ()) -> dict:
    """The record's own documented attributes, in the docs' order, ids replaced later by nested objects."""
    return {"id": record["id"], **{name: record[name] for name in DEFAULTS[table]
                                   if name not in _STORED_ONLY and name not in drop}}


def user_name(user: dict) -> str:
    """`{first_name} {last_name}`: the `name` of nested user objects ("Kim Allen" in the docs' samples)."""
    return f"{user['first_name']} {user['last_name']}"


class Views:
    """Record views over one store. Assignment look-ups are indexed once per request, not per record."""

    def __init__(self, store: HarvestStore, rounding_minutes: int = 0) -> None:
        self.store = store
        self.rounding_minutes = rounding_minutes
        tables = store.tables
        self._user_assignments = {(a["project_id"], a["user_id"]): a for a in tables["user_assignments"].values()}
        self._task_assignments = {(a["project_id"], a["task_id"]): a for a in tables["task_assignments"].values()}

    def _ref(self, table: str, record_id: int, *fields: str) -> dict:
        record = self.store.tables[table][record_id]
        if table == "users":
            return {"id": record_id, "name": user_name(record)}
        return {"id": record_id, **{name: record[name] for name in fields}}

    def _project_ref(self, project_id: int) -> dict:
        return self._ref("projects", project_id, "name", "code")

    # -- one view per resource -----------------------------------------------------------------------

    def client(self, record: dict) -> dict:
        """clients-api/clients/clients, "The client object"."""
        return _plain("clients", record)

    def user(self, record: dict) -> dict:
        """users-api/users/users, "The user object"."""
        return _plain("users", record)

    def task(self, record: dict) -> dict:
        """tasks-api/tasks/tasks, "The task object"."""
        return _plain("tasks", record)

    def project(self, record: dict) -> dict:
        """projects-api/projects/projects: `client` is `{id, name, currency}`."""
        return {**_plain("projects", record), "client": self._ref("clients", record["client_id"], "name", "currency")}

    def task_assignment(self, record: dict, *, with_project: bool = True) -> dict:
        """projects-api/projects/task-assignments: `project` `{id, name, code}`, `task` `{id, name}`. Inside a
        project assignment (users-api/users/project-assignments) the project is the parent's, so it is left out."""
        view = _plain("task_assignments", record)
        if with_project:
            view["project"] = self._project_ref(record["project_id"])
        view["task"] = self._ref("tasks", record["task_id"], "name")
        return view

    def user_assignment(self, record: dict) -> dict:
        """projects-api/projects/user-assignments: `project` `{id, name, code}`, `user` `{id, name}`."""
        return {**_plain("user_assignments", record), "project": self._project_ref(record["project_id"]),
                "user": self._ref("users", record["user_id"])}

    def project_assignment(self, record: dict) -> dict:
        """users-api/users/project-assignments: a user assignment seen from the user, with the project's client
        and the project's task assignments (the docs' sample nests every one, each with its `task`)."""
        project = self.store.tables["projects"][record["project_id"]]
        tasks = sorted((a for a in self.store.tables["task_assignments"].values()
                        if a["project_id"] == record["project_id"]), key=lambda a: a["id"])
        return {**_plain("user_assignments", record), "project": self._project_ref(record["project_id"]),
                "client": self._ref("clients", project["client_id"], "name"),
                "task_assignments": [self.task_assignment(a, with_project=False) for a in tasks]}

    def time_entry(self, record: dict) -> dict:
        """timesheets-api/timesheets/time-entries, "The time entry object" (field order of the docs' sample)."""
        project = self.store.tables["projects"][record["project_id"]]
        user_assignment = self._user_assignments.get((record["project_id"], record["user_id"]))
        task_assignment = self._task_assignments.get((record["project_id"], record["task_id"]))
        hours = record["hours"]
        return {
            "id": record["id"], "spent_date": record["spent_date"],
            "user": self._ref("users", record["user_id"]),
            "client": self._ref("clients", project["client_id"], "name", "currency"),
            "project": self._project_ref(record["project_id"]),
            "task": self._ref("tasks", record["task_id"], "name"),
            # The sample's nested assignments show these fields only (no project, user or task inside).
            "user_assignment": _nested(user_assignment, ("is_project_manager", "is_active", "budget", "created_at",
                                                         "updated_at", "hourly_rate")),
            "task_assignment": _nested(task_assignment, ("billable", "is_active", "created_at", "updated_at",
                                                         "hourly_rate", "budget")),
            "hours": hours,
            # "hours already tracked ... before the timer was last started": all of them for a stopped entry.
            "hours_without_timer": hours,
            "rounded_hours": self.rounded(hours),
            "notes": record["notes"], "created_at": record["created_at"], "updated_at": record["updated_at"],
            "is_locked": locked_reason(record) is not None, "locked_reason": locked_reason(record),
            "is_closed": record["is_closed"], "is_billed": record["is_billed"],
            "timer_started_at": record["timer_started_at"], "started_time": record["started_time"],
            "ended_time": record["ended_time"], "is_running": record["is_running"], "invoice": record["invoice"],
            "external_reference": record["external_reference"], "billable": record["billable"],
            "budgeted": record["budgeted"], "billable_rate": record["billable_rate"], "cost_rate": record["cost_rate"],
        }

    def rounded(self, hours: float) -> float:
        """`rounded_hours`: "rounded according to the Time Rounding setting" (up, as the docs' 2.11 -> 2.25)."""
        if not self.rounding_minutes:
            return hours
        return math.ceil(round(hours * 60, 6) / self.rounding_minutes) * self.rounding_minutes / 60


def _nested(assignment: dict | None, fields: tuple[str, ...]) -> dict | None:
    return None if assignment is None else {"id": assignment["id"], **{f: assignment[f] for f in fields}}


def locked_reason(record: dict) -> str | None:
    """Why an entry is locked: approved (`is_closed`), invoiced (`is_billed`), both, or None (open)."""
    if record["is_closed"] and record["is_billed"]:
        return LOCKED_INVOICED_AND_APPROVED
    if record["is_closed"]:
        return LOCKED_APPROVED
    return LOCKED_INVOICED if record["is_billed"] else None
