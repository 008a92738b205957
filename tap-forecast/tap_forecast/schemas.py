"""JSON schemas of the streams, from the field tables of Forecast's API docs.

Rule for `required`: a field is required (must be present) when it is a key, a bookmark, or a field the sync
needs (docs/streams.md): one the reconcile step or target-forecast's lease check reads and cannot do without.
A required field may be null only where `nullable=True`. Every other documented field is optional and nullable,
so a field Forecast leaves out or nulls never fails a run, while a record that lacks what the sync depends on,
or carries a wrong type, does (`client.ForecastStream.post_process` names the stream, the record and the field).

Optional although the sync reads them, because the docs leave them out and the sync has a meaning for "absent":
a task's `estimate` (v3/v4 only, and in none of the docs' task samples: no budget), `start_date` and
`end_date` (no dates).
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

#: A property's type: a singer-sdk type helper class or instance.
Kind = type[th.JSONTypeHelper[Any]] | th.JSONTypeHelper[Any]


def _required(name: str, kind: Kind, description: str, *,
              nullable: bool = False) -> th.Property[Any]:
    return th.Property(name, kind, required=True, nullable=nullable or None, description=description)


def _optional(name: str, kind: Kind, description: str) -> th.Property[Any]:
    return th.Property(name, kind, description=description)


ID = _required("id", th.IntegerType, "Forecast id")
AUDIT = (
    _optional("created_by", th.IntegerType, "Person id of the creator"),
    _optional("updated_by", th.IntegerType, "Person id of the last editor"),
    _optional("created_at", th.DateTimeType, "Creation time (UTC)"),
    _optional("updated_at", th.DateTimeType, "Last change (UTC)"),
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ID_AND_NAME = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
)
PERSON_REF = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("email", th.StringType),
)
#: Parent keys of per-project streams.
PROJECT_KEY = _required("project_id", th.IntegerType, "Id of the project the record belongs to (from the request)")


PROJECTS = th.PropertiesList(
    ID,
    _required("company_project_id", th.IntegerType, "Company-scoped project number, shown as P-n"),
    _optional("custom_project_id", th.StringType, "User-defined project code (max 20 characters)"),
    _required("name", th.StringType, "Project name"),
    _optional("connected_project", th.IntegerType, "Id of the connected project"),
    _optional("stage", th.StringType, "PLANNING, RUNNING, HALTED, DONE (OPPORTUNITY seen in the wild)"),
    _required("status", th.StringType, "Health colour: GREEN, YELLOW, RED"),
    _optional("status_description", th.StringType, "Status text (may be HTML)"),
    _optional("description", th.StringType, "Description"),
    _optional("priority_level_id", th.IntegerType, "Priority level id"),
    _optional("color", th.StringType, "Colour, e.g. #FF7C75"),
    _optional("estimation_units", th.StringType, "HOURS or POINTS"),
    _optional("minutes_per_estimation_point", th.IntegerType, "Minutes per estimation point"),
    _optional("budget", th.NumberType, "Budget"),
    _optional("billable", th.BooleanType, "Deprecated billable flag"),
    _optional("budget_type", th.StringType, "FIXED_PRICE, NON_BILLABLE, TIME_AND_MATERIALS, RETAINER"),
    _optional("use_sprints", th.BooleanType, "Whether the project uses sprints"),
    _optional("sprint_length", th.IntegerType, "Sprint length in days"),
    _optional("start_date", th.DateType, "Start date"),
    _optional("end_date", th.DateType, "End date"),
    _optional("card_levels", th.IntegerType, "Deprecated; see task_levels"),
    _optional("task_levels", th.IntegerType, "1 or 2"),
    _optional("client", th.IntegerType, "Client id"),
    _optional("rate_card", th.IntegerType, "Rate card id"),
    _optional("remaining_auto_calculated", th.BooleanType, "Whether remaining work is calculated"),
    _optional("use_project_allocations", th.BooleanType, "Whether the project uses allocations"),
    _optional("use_baseline", th.BooleanType, "Whether the project uses a baseline"),
    _optional("baseline_win_chance", th.NumberType, "Baseline win chance, 0.0 to 1.0"),
    _optional("baseline_target", th.NumberType, "Baseline target"),
    _optional("labels", th.ArrayType(th.IntegerType), "Label ids"),
    _optional("external_refs", th.ArrayType(th.AnyType), "References to other systems (shape undocumented)"),
    _optional("default_period_periodicity", th.StringType, "Retainer period: DAILY, WEEKLY, MONTHLY"),
    _optional("default_period_length", th.IntegerType, "Retainer period length"),
    _optional("default_period_budget_type", th.StringType, "FIXED_HOURS, FIXED_PRICE, TIME_AND_MATERIALS"),
    _optional("default_period_hours_amount", th.NumberType, "Retainer hours per period"),
    _optional("default_period_price_amount", th.NumberType, "Retainer price per period"),
    *AUDIT,
).to_dict()

PERSONS = th.PropertiesList(
    ID,
    _required("first_name", th.StringType, "First name", nullable=True),
    _required("last_name", th.StringType, "Last name", nullable=True),
    _required("email", th.StringType, "Email (empty or null for virtual and system users)", nullable=True),
    _optional("job_title", th.StringType, "Job title"),
    _optional("client_id", th.IntegerType, "Client id, for client (guest) users"),
    _optional("holiday_calendar_id", th.IntegerType, "Holiday calendar id"),
    *(_optional(day, th.IntegerType, f"Working minutes on {day.title()}") for day in WEEKDAYS),
    _required("active", th.BooleanType, "Whether the person is active"),
    _optional("default_role", th.IntegerType, "Default role id"),
    _optional("department_id", th.IntegerType, "Department id"),
    _optional("cost", th.NumberType, "Cost from the current cost period"),
    _optional("language", th.StringType, "UI language, e.g. ENGLISH_UK"),
    _optional("start_date", th.DateType, "Employment start date"),
    _optional("end_date", th.DateType, "Employment end date"),
    _optional("permissions", th.ArrayType(th.StringType), "Permissions, e.g. PROJECTS_CREATE"),
    _optional("is_system_user", th.BooleanType, "Integration (SYSTEM) user"),
    *AUDIT,
).to_dict()

CLIENTS = th.PropertiesList(
    ID,
    _optional("name", th.StringType, "Client name"),
    _optional("street", th.StringType, "Street"),
    _optional("zip", th.StringType, "Postal code"),
    _optional("city", th.StringType, "City"),
    _optional("country", th.StringType, "ISO 3166-1 alpha-2 country code"),
    _optional("vat_number", th.StringType, "VAT number"),
    _optional("notes", th.StringType, "Notes"),
    *AUDIT,
).to_dict()

PHASES = th.PropertiesList(
    ID,
    PROJECT_KEY,
    _optional("name", th.StringType, "Phase name"),
    _optional("start_date", th.DateType, "Start date"),
    _optional("end_date", th.DateType, "End date"),
    _optional("baseline_start_date", th.DateType, "Baseline start date"),
    _optional("baseline_end_date", th.DateType, "Baseline end date"),
    *AUDIT,
).to_dict()

WORKFLOW_COLUMNS = th.PropertiesList(
    ID,
    PROJECT_KEY,
    _optional("connected_project_workflow_column", th.IntegerType, "Id of the connected project's column"),
    _optional("name", th.StringType, "Column name"),
    _optional("category", th.StringType, "TODO, INPROGRESS or DONE"),
    _optional("sort_order", th.IntegerType, "Position on the board"),
    *AUDIT,
).to_dict()

PROJECT_TEAM = th.PropertiesList(
    PROJECT_KEY,
    _required("person_id", th.IntegerType, "Person id of the team member"),
    _optional("project_role", th.IntegerType, "Role id on the project"),
    _optional("project_contact", th.BooleanType, "Whether the person is the project contact"),
    *AUDIT,
).to_dict()

ROLES = th.PropertiesList(
    ID,
    _optional("name", th.StringType, "Role name"),
    *AUDIT,
).to_dict()

NON_PROJECT_TIME = th.PropertiesList(
    ID,
    _optional("name", th.StringType, "Name of the internal-time or leave type"),
    _optional("is_internal_time", th.BooleanType, "Internal time (true) or time off (false)"),
    *AUDIT,
).to_dict()

ALLOCATIONS = th.PropertiesList(
    ID,
    _optional("project", th.IntegerType, "Project id"),
    _optional("non_project_time", th.IntegerType, "Non-project time id"),
    _optional("connected_project", th.IntegerType, "Connected project id"),
    _optional("person", th.IntegerType, "Person id"),
    _optional("start_date", th.DateType, "First day"),
    _optional("end_date", th.DateType, "Last day"),
    *(_optional(day, th.IntegerType, f"Allocated minutes on {day.title()}") for day in WEEKDAYS),
    _optional("notes", th.StringType, "Notes"),
    _optional("is_soft", th.BooleanType, "Soft (tentative) allocation"),
    *AUDIT,
).to_dict()

TASKS = th.PropertiesList(
    ID,
    _optional("company_task_id", th.IntegerType, "Company-scoped task number, shown as T-n"),
    _required("title", th.StringType, "Title"),
    _optional("description", th.StringType, "Description (may be HTML)"),
    _required("project_id", th.IntegerType, "Project id"),
    _required("parent_task_id", th.IntegerType, "Parent task id (null for a top-level task)", nullable=True),
    _optional("role", th.IntegerType, "Role id"),
    _optional("estimate", th.NumberType, "Estimate (v3/v4 only; unit undocumented, minutes for HOURS projects). "
              "The docs' samples leave it out; absent means no estimate"),
    _optional("remaining", th.NumberType, "Remaining work, same unit as estimate"),
    _optional("approved", th.BooleanType, "Approved"),
    _optional("start_date", th.DateType, "Start date"),
    _optional("end_date", th.DateType, "End date"),
    _optional("bug", th.BooleanType, "Marked as a bug"),
    _optional("high_priority", th.BooleanType, "High priority"),
    _optional("un_billable", th.BooleanType, "Not billable"),
    _optional("blocked", th.BooleanType, "Blocked"),
    _optional("sprint", th.IntegerType, "Sprint id"),
    _optional("workflow_column", th.IntegerType, "Workflow column id (the task's status)"),
    _optional("milestone", th.IntegerType, "Phase id (named milestone before phases were renamed)"),
    _required("assigned_persons", th.ArrayType(th.IntegerType), "Ids of the assigned persons"),
    _optional("labels", th.ArrayType(th.IntegerType), "Label ids"),
    _optional("owner_id", th.IntegerType, "Person id of the owner"),
    *AUDIT[:3],
    _required("updated_at", th.DateTimeType, "Last change (UTC); the bookmark"),
).to_dict()

TIME_REGISTRATIONS = th.PropertiesList(
    ID,
    _required("person", th.IntegerType, "Person id"),
    _required("project", th.IntegerType, "Project id, set only for time registered directly on a project",
              nullable=True),
    _optional("role", th.IntegerType, "Role id"),
    _optional("phase", th.IntegerType, "Phase id"),
    _required("task", th.IntegerType, "Task id", nullable=True),
    _required("task_project", th.IntegerType, "Project id of the task", nullable=True),
    _required("project_id", th.IntegerType, "Derived: project, else task_project (null for non-project time)",
              nullable=True),
    _required("non_project_time", th.IntegerType, "Non-project time id", nullable=True),
    _required("time_registered", th.IntegerType, "Minutes registered"),
    _optional("billable_minutes_registered", th.IntegerType, "Billable minutes"),
    _required("date", th.DateType, "Work date"),
    _required("notes", th.StringType, "Notes", nullable=True),
    _required("approval_status", th.StringType, "NOT_SUBMITTED, SUBMITTED or APPROVED"),
    _optional("invoice_entry", th.IntegerType, "Invoice entry id"),
    _optional("invoice", th.IntegerType, "Invoice id"),
    *AUDIT[:3],
    _required("updated_at", th.DateTimeType, "Last change (UTC); the bookmark"),
).to_dict()

DELETED_TIME_REGISTRATIONS = th.PropertiesList(
    _required("id", th.IntegerType, "Id of the deleted time registration"),
    _required("deleted_at", th.DateTimeType, "Deletion time (UTC); the bookmark"),
    _required("project_id", th.IntegerType, "Derived: the project the time was on (null for non-project time)",
              nullable=True),
    _optional("minutes_registered", th.IntegerType, "Minutes the registration had"),
    _optional("person", PERSON_REF, "The person it belonged to"),
    _optional("registered_on", th.ObjectType(
        th.Property("type", th.StringType), th.Property("id", th.IntegerType), th.Property("name", th.StringType),
        th.Property("project", ID_AND_NAME),
    ), "What the time was on: type (TASK, PROJECT, NON_PROJECT_TIME), id, name, and the task's project"),
    _optional("datetime", th.DateTimeType, "When the time was registered"),
    _optional("deleted_by", th.ObjectType(
        # Documented as a String id, unlike every other person id: accept either.
        th.Property("id", th.CustomType({"type": ["string", "integer", "null"]})),
        th.Property("name", th.StringType), th.Property("email", th.StringType),
    ), "Who deleted it"),
).to_dict()

DELETED_TASKS = th.PropertiesList(
    _required("id", th.IntegerType, "Id of the deleted task"),
    _required("deleted_at", th.DateTimeType, "Deletion time (UTC); the bookmark"),
    _required("project_id", th.IntegerType, "Derived: id of the task's project", nullable=True),
    _optional("name", th.StringType, "Task title"),
    _optional("deleted_by", th.IntegerType, "Person id of who deleted it"),
    _optional("project", ID_AND_NAME, "The task's project"),
    _optional("phase", ID_AND_NAME, "The task's phase"),
    _optional("sprint", ID_AND_NAME, "The task's sprint"),
    _optional("assigned_persons", th.ArrayType(ID_AND_NAME), "Persons who were assigned"),
    _optional("labels", th.ArrayType(ID_AND_NAME), "Labels it had"),
    _optional("comments", th.ArrayType(th.StringType), "Its comments"),
).to_dict()
