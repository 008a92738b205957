"""The stored fields of each Harvest resource, their defaults, and the doc page that defines them."""

from __future__ import annotations

import copy

DOCS = "https://help.getharvest.com/api-v2"
#: The doc page each table follows (field lists below copy its "The ... object" table).
DOC_PAGES = {
    "clients": f"{DOCS}/clients-api/clients/clients/",
    "users": f"{DOCS}/users-api/users/users/",
    "projects": f"{DOCS}/projects-api/projects/projects/",
    "tasks": f"{DOCS}/tasks-api/tasks/tasks/",
    "task_assignments": f"{DOCS}/projects-api/projects/task-assignments/",
    "user_assignments": f"{DOCS}/projects-api/projects/user-assignments/",
    "time_entries": f"{DOCS}/timesheets-api/timesheets/time-entries/",
}
TABLES = tuple(DOC_PAGES)

_STAMPS = {"created_at": None, "updated_at": None}

#: Stored records: the documented attributes, nested objects replaced by their ids (`client_id`, ...). Values are
#: the defaults `reset` fills in; a None in `REQUIRED` must be given.
DEFAULTS: dict[str, dict] = {
    "clients": {"name": None, "is_active": True, "address": None, "statement_key": None, "currency": "DKK",
                **_STAMPS},
    "users": {"first_name": None, "last_name": None, "email": None, "telephone": "", "timezone": "Copenhagen",
              "has_access_to_all_future_projects": False, "is_contractor": False, "is_active": True,
              "weekly_capacity": 126000, "default_hourly_rate": None, "cost_rate": None, "roles": [],
              "access_roles": ["member"], "avatar_url": None, **_STAMPS},
    "projects": {"client_id": None, "name": None, "code": None, "is_active": True, "is_billable": True,
                 "is_fixed_fee": False, "bill_by": "Project", "hourly_rate": None, "budget": None,
                 "budget_by": "none", "budget_is_monthly": False, "notify_when_over_budget": False,
                 "over_budget_notification_percentage": 80.0, "over_budget_notification_date": None,
                 "show_budget_to_all": False, "cost_budget": None, "cost_budget_include_expenses": False,
                 "fee": None, "notes": "", "starts_on": None, "ends_on": None, **_STAMPS},
    "tasks": {"name": None, "billable_by_default": True, "default_hourly_rate": None, "is_default": False,
              "is_active": True, **_STAMPS},
    "task_assignments": {"project_id": None, "task_id": None, "is_active": True, "billable": True,
                         "hourly_rate": None, "budget": None, **_STAMPS},
    "user_assignments": {"project_id": None, "user_id": None, "is_active": True, "is_project_manager": False,
                         "use_default_rates": True, "hourly_rate": None, "budget": None, **_STAMPS},
    # client, user_assignment, task_assignment, is_locked, locked_reason, rounded_hours and hours_without_timer
    # are derived when a time entry is shown (views.time_entry).
    "time_entries": {"spent_date": None, "user_id": None, "project_id": None, "task_id": None, "hours": 0.0,
                     "notes": None, "is_closed": False, "is_billed": False, "invoice": None,
                     "external_reference": None, "timer_started_at": None, "started_time": None,
                     "ended_time": None, "is_running": False, "billable": True, "budgeted": False,
                     "billable_rate": None, "cost_rate": None, **_STAMPS},
}
REQUIRED = {
    "clients": ("name",),
    "users": ("first_name", "last_name", "email"),
    "projects": ("client_id", "name"),
    "tasks": ("name",),
    "task_assignments": ("project_id", "task_id"),
    "user_assignments": ("project_id", "user_id"),
    "time_entries": ("spent_date", "user_id", "project_id", "task_id"),
}
#: Which table each foreign key points into, checked on `reset`.
REFERENCES = {
    "projects": {"client_id": "clients"},
    "task_assignments": {"project_id": "projects", "task_id": "tasks"},
    "user_assignments": {"project_id": "projects", "user_id": "users"},
    "time_entries": {"user_id": "users", "project_id": "projects", "task_id": "tasks"},
}

#: `locked_reason` values. The two with "Approved" are the docs' samples (time-entries); the invoiced-only one
#: follows their pattern and the "Entry Invoiced" lock of support.getharvest.com "Unlocking time and expenses".
LOCKED_APPROVED = "Item Approved and Locked for this Time Period"
LOCKED_INVOICED = "Item Invoiced and Locked for this Time Period"
LOCKED_INVOICED_AND_APPROVED = "Item Invoiced and Approved and Locked for this Time Period"


def with_defaults(table: str, record: dict) -> dict:
    """A deep copy of `record` with every stored field present (raises ValueError naming a missing one)."""
    missing = [name for name in REQUIRED[table] if record.get(name) is None]
    if missing:
        raise ValueError(f"{table} {record.get('id')}: missing {missing}")
    unknown = sorted(set(record) - set(DEFAULTS[table]) - {"id"})
    if unknown:
        raise ValueError(f"{table} {record.get('id')}: unknown field(s) {unknown}; known: {sorted(DEFAULTS[table])}")
    return {"id": record["id"], **copy.deepcopy(DEFAULTS[table]), **copy.deepcopy(record)}
