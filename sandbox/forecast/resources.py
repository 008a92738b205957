"""Each resource's wire fields (per API version) and the defaults a stored record is completed with.

Field lists follow the response tables in the vendor docs (`reference/forecast-endpoints.json`), minus the
fields those tables mark for another version ("**Only v3**", "***only v2***", "**Only v1**").
Stored records may carry more keys than a view shows (e.g. a workflow column's `project_id`).

Which of them a response shows is a simulator option (`ForecastApp(fields=...)`, `--forecast-fields`):

* `samples` (the strict default): a field the table lists but the docs' sample response for that endpoint
  leaves out is left out (`SAMPLE_OMISSIONS`, each with the docs section it follows). Nullable fields the
  samples show (`project`, `task`, `parent_task_id`, `invoice`, ...) stay in the record, as `null` when unset.
* `tables`: every field of the response table.

The product must work under both.
"""

from __future__ import annotations

from dataclasses import dataclass

_AUDIT = ("created_by", "updated_by", "created_at", "updated_at")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: Before any write: the default audit stamp of records loaded without one.
EPOCH_TIMESTAMP = "2026-01-01T00:00:00Z"

APPROVAL_STATUSES = ("NOT_SUBMITTED", "SUBMITTED", "APPROVED")
APPROVED = "APPROVED"
NOT_SUBMITTED = "NOT_SUBMITTED"

PROJECT_FIELDS = (
    "id", "company_project_id", "custom_project_id", "name", "connected_project", "stage", "status",
    "status_description", "description", "priority_level_id", "color", "estimation_units",
    "minutes_per_estimation_point", "budget", "billable", "budget_type", "use_sprints", "sprint_length",
    "start_date", "end_date", "card_levels", "task_levels", "client", "rate_card", "remaining_auto_calculated",
    "use_project_allocations", "use_baseline", "baseline_win_chance", "baseline_target", "labels",
    "external_refs", "default_period_periodicity", "default_period_length", "default_period_budget_type",
    "default_period_hours_amount", "default_period_price_amount", *_AUDIT,
)
#: Only with `?includeProgress=true`.
PROJECT_PROGRESS_FIELD = "progress"

PERSON_V2_FIELDS = (
    "id", "first_name", "last_name", "email", "job_title", "client_id", "holiday_calendar_id", *_WEEKDAYS,
    "active", "default_role", "department_id", "cost", "language", "start_date", "end_date", "permissions",
    "is_system_user", *_AUDIT,
)
#: The deprecated v1 persons are the only ones that still show `user_type`.
PERSON_V1_FIELDS = (*PERSON_V2_FIELDS[:5], "user_type", *PERSON_V2_FIELDS[5:])

CLIENT_FIELDS = ("id", "name", "street", "zip", "city", "country", "vat_number", "notes", *_AUDIT)
PHASE_FIELDS = (
    "id", "name", "project_id", "start_date", "end_date", "baseline_start_date", "baseline_end_date", *_AUDIT,
)
WORKFLOW_COLUMN_FIELDS = ("id", "connected_project_workflow_column", "name", "category", "sort_order", *_AUDIT)
ROLE_FIELDS = ("id", "name", *_AUDIT)
NON_PROJECT_TIME_FIELDS = ("id", "name", "is_internal_time", *_AUDIT)
ALLOCATION_FIELDS = (
    "id", "project", "non_project_time", "connected_project", "person", "start_date", "end_date", *_WEEKDAYS,
    "notes", "is_soft", *_AUDIT,
)
TEAM_MEMBER_FIELDS = ("person_id", "project_role", "project_contact", *_AUDIT)
COMPANY_FIELDS = (
    "city", "contact_email", "contact_name", "contact_phone", "country", "currency", "company_name", "street",
    "seats", "vat_id", "virtual_seats", "zip", "company_target",
)

#: v3 and v4 tasks share one shape (v2's low/high_estimate, forecast and company_card_id are gone).
TASK_FIELDS = (
    "id", "company_task_id", "title", "description", "project_id", "parent_task_id", "role", "estimate",
    "remaining", "approved", "start_date", "end_date", "bug", "high_priority", "un_billable", "blocked", "sprint",
    "workflow_column", "milestone", "assigned_persons", "labels", "owner_id", *_AUDIT,
)
#: What `v2/tasks/deleted?includeAllFields=true` adds (the `*_points` fields are undocumented, so left out).
DELETED_TASK_EXTRA_FIELDS = (
    "company_task_id", "title", "description", "low_estimate", "high_estimate", "forecast", "start_date",
    "end_date", "blocked", "bug", "billable", "high_priority",
)

#: v3 (single, per person, per project, the deprecated list) and the v1 write responses.
TIME_REGISTRATION_V3_FIELDS = (
    "id", "person", "project", "role", "card", "task", "non_project_time", "time_registered",
    "billable_minutes_registered", "date", "notes", "approval_status", *_AUDIT,
)
#: v4: `phase` and `task_project` are derived from the task; `card` is gone; invoice links appear.
TIME_REGISTRATION_V4_FIELDS = (
    "id", "person", "project", "role", "phase", "task", "task_project", "non_project_time", "time_registered",
    "billable_minutes_registered", "date", "notes", "approval_status", "invoice_entry", "invoice", *_AUDIT,
)
DELETED_V3_FIELDS = ("id", "deleted_by", "deleted_at")

#: PUT /v1/time_registrations/{id}: the only fields the docs list as writable. Others are ignored.
TIME_REGISTRATION_UPDATABLE = ("time_registered", "billable_minutes_registered", "role", "date", "notes")
#: What a time registration is registered on: exactly one of these (`card` is the deprecated alias of task).
TIME_REGISTRATION_TARGETS = ("task", "project", "non_project_time")

#: PUT /v3/tasks/{id}: the create fields except `project_id` (moving tasks between projects is not modelled).
TASK_UPDATABLE = (
    "title", "description", "role", "parent_task_id", "estimate", "remaining", "approved", "start_date",
    "end_date", "bug", "high_priority", "un_billable", "blocked", "sprint", "workflow_column", "milestone",
    "assigned_persons", "labels", "owner_id",
)

_AUDIT_DEFAULTS = {
    "created_by": None, "updated_by": None, "created_at": EPOCH_TIMESTAMP, "updated_at": EPOCH_TIMESTAMP,
}

#: Stored-record defaults per table: `reset` completes partial records with these, so tests stay short.
DEFAULTS: dict[str, dict] = {
    "clients": {
        "name": "", "street": None, "zip": None, "city": None, "country": None, "vat_number": None, "notes": None,
    },
    "persons": {
        "first_name": "", "last_name": "", "email": "", "job_title": None, "user_type": "COLLABORATOR",
        "client_id": None, "holiday_calendar_id": None, "monday": 450, "tuesday": 450, "wednesday": 450,
        "thursday": 450, "friday": 420, "saturday": 0, "sunday": 0, "active": True, "default_role": None,
        "department_id": None, "cost": 0.0, "language": "ENGLISH_UK", "start_date": None, "end_date": None,
        "permissions": [], "is_system_user": False,
    },
    "roles": {"name": ""},
    "non_project_time": {"name": "", "is_internal_time": True},
    "projects": {
        "company_project_id": None, "custom_project_id": None, "name": "New Project", "connected_project": None,
        "stage": "PLANNING", "status": "GREEN", "status_description": None, "description": None,
        "priority_level_id": None, "color": "#FF7C75", "estimation_units": "HOURS",
        "minutes_per_estimation_point": 60, "budget": 0.0, "billable": True, "budget_type": "TIME_AND_MATERIALS",
        "use_sprints": False, "sprint_length": 14, "start_date": None, "end_date": None, "card_levels": 2,
        "task_levels": 2, "client": None, "rate_card": None, "remaining_auto_calculated": True,
        "use_project_allocations": False, "use_baseline": False, "baseline_win_chance": 1.0,
        "baseline_target": 0.0, "labels": [], "external_refs": [], "progress": 0.0,
        "default_period_periodicity": None, "default_period_length": None, "default_period_budget_type": None,
        "default_period_hours_amount": None, "default_period_price_amount": None,
    },
    "phases": {
        "name": "", "project_id": None, "start_date": None, "end_date": None, "baseline_start_date": None,
        "baseline_end_date": None,
    },
    "workflow_columns": {
        "project_id": None, "connected_project_workflow_column": None, "name": "", "category": "TODO",
        "sort_order": 0,
    },
    "allocations": {
        "project": None, "non_project_time": None, "connected_project": None, "person": None, "start_date": None,
        "end_date": None, "monday": 0, "tuesday": 0, "wednesday": 0, "thursday": 0, "friday": 0, "saturday": 0,
        "sunday": 0, "notes": "", "is_soft": False,
    },
    "tasks": {
        "company_task_id": None, "title": "", "description": "", "project_id": None, "parent_task_id": None,
        "role": None, "estimate": 0, "remaining": 0, "approved": True, "start_date": None, "end_date": None,
        "bug": False, "high_priority": False, "un_billable": False, "blocked": False, "sprint": None,
        "workflow_column": None, "milestone": None, "assigned_persons": [], "labels": [], "owner_id": None,
    },
    "time_registrations": {
        "project": None, "task": None, "non_project_time": None, "role": None, "time_registered": 0,
        "billable_minutes_registered": None, "date": None, "notes": "", "approval_status": NOT_SUBMITTED,
        "invoice_entry": None, "invoice": None,
    },
}
for _defaults in DEFAULTS.values():
    _defaults.update(_AUDIT_DEFAULTS)


#: `ForecastApp(fields=...)`: the strict default shows what the docs' samples show; `tables` every table field.
SAMPLES = "samples"
TABLES = "tables"
FIELD_SETS = (SAMPLES, TABLES)

#: Fields a response table documents but the docs' own sample responses leave out (Forecast-it/API @ 4dcb10b,
#: `reference/forecast-api.md` §0 "DOCS"). Under `fields="samples"` the simulator leaves them out too, so that
#: no client comes to depend on them. Keys are the views in `Shapes`.
SAMPLE_OMISSIONS: dict[str, tuple[str, ...]] = {
    # sections/tasks.md, the samples of "Get all tasks" (v4 and v3), "Get tasks in project", "Get task",
    # "Get task by company task id" and "Get children tasks" all show the v2 estimate fields and no `estimate`,
    # which the tables mark "only v3 & v4" (forecast-api.md §4.2, "Doc inconsistency"). POST and PUT /v3/tasks
    # return "the same object as getting a single task", so they leave it out too.
    "task": ("estimate",),
    # sections/time_registrations.md, "Get time registrations": the table has `phase` ("**Only v4**"); the
    # sample, which is the v4 one (it shows the v4-only `task_project`, `invoice_entry` and `invoice`), has no
    # `phase`.
    "time_registration_v4": ("phase",),
    # sections/projects.md, the samples of "Get projects", "Get project", "Get project by company project id"
    # and "Get project by custom project id": no `connected_project`, no deprecated `card_levels`.
    "projects": ("connected_project", "card_levels"),
    # The same three single-project samples also leave out `budget_type`, which the list sample shows.
    "project": ("connected_project", "card_levels", "budget_type"),
    # sections/phases.md, the samples of "Get phases", "Get phase" and "Get all phases": no `project_id`.
    "phase": ("project_id",),
    # sections/company.md, "Get company": no `street`.
    "company": ("street",),
}


@dataclass(frozen=True)
class Shapes:
    """The fields each view shows under one field set (see the module docstring)."""

    task: tuple[str, ...]
    time_registration_v4: tuple[str, ...]
    projects: tuple[str, ...]
    project: tuple[str, ...]
    phase: tuple[str, ...]
    company: tuple[str, ...]

    @classmethod
    def of(cls, fields: str) -> Shapes:
        """The shapes of `samples` (strict: `SAMPLE_OMISSIONS` left out) or `tables`."""
        if fields not in FIELD_SETS:
            raise ValueError(f"forecast fields: expected one of {list(FIELD_SETS)}, got {fields!r}")
        omitted = SAMPLE_OMISSIONS if fields == SAMPLES else {}

        def shown(view: str, table: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(name for name in table if name not in omitted.get(view, ()))

        return cls(
            task=shown("task", TASK_FIELDS),
            time_registration_v4=shown("time_registration_v4", TIME_REGISTRATION_V4_FIELDS),
            projects=shown("projects", PROJECT_FIELDS),
            project=shown("project", PROJECT_FIELDS),
            phase=shown("phase", PHASE_FIELDS),
            company=shown("company", COMPANY_FIELDS),
        )


def with_defaults(table: str, record: dict) -> dict:
    """A new record: `record` over the table's defaults, lists copied so no two records share one."""
    merged = {**DEFAULTS[table], **record}
    for name, value in merged.items():
        if isinstance(value, list):
            merged[name] = list(value)
    return merged


def pick(record: dict, fields: tuple[str, ...]) -> dict:
    """The view of `record` with exactly `fields`, in that order (missing ones as null)."""
    return {name: record.get(name) for name in fields}
