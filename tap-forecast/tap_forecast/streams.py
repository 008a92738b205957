"""The Forecast streams: endpoint, keys, schema and record shaping of each; HTTP behaviour lives in client.py."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

from tap_forecast import schemas
from tap_forecast.client import (
    ClientFilteredForecastStream,
    ForecastStream,
    IncrementalForecastStream,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


# -- account-wide reference data (bare arrays, full table) ------------------------------------------


class ProjectsStream(ForecastStream):
    """Projects. The parent of the per-project streams; `project_ids` limits it and, through it, them."""

    name = "projects"
    path = "/v1/projects"
    primary_keys = ("id",)
    schema = schemas.PROJECTS
    project_field = "id"

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """The project each per-project stream reads."""
        return {"project_id": record["id"]}


class PersonsStream(ForecastStream):
    """Persons (v2, which adds `is_system_user`)."""

    name = "persons"
    path = "/v2/persons"
    primary_keys = ("id",)
    schema = schemas.PERSONS


class ClientsStream(ForecastStream):
    """Clients."""

    name = "clients"
    path = "/v1/clients"
    primary_keys = ("id",)
    schema = schemas.CLIENTS


class RolesStream(ForecastStream):
    """Roles."""

    name = "roles"
    path = "/v1/roles"
    primary_keys = ("id",)
    schema = schemas.ROLES


class NonProjectTimeStream(ForecastStream):
    """Internal-time and time-off types that time can be registered on."""

    name = "non_project_time"
    path = "/v1/non_project_time"
    primary_keys = ("id",)
    schema = schemas.NON_PROJECT_TIME


class AllocationsStream(ForecastStream):
    """Allocations of persons to projects or non-project time."""

    name = "allocations"
    path = "/v1/allocations"
    primary_keys = ("id",)
    schema = schemas.ALLOCATIONS
    project_field = "project"


# -- per-project streams (children of projects, full table) ------------------------------------------


class ProjectChildStream(ForecastStream):
    """A list under `/v1/projects/{project_id}/…`, read once per project."""

    parent_stream_type = ProjectsStream
    #: Full table: no bookmark per project.
    state_partitioning_keys = ()

    @override
    def transform(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """Every record names its project, even where the endpoint leaves it out."""
        return {"project_id": context["project_id"], **record} if context else record


class PhasesStream(ProjectChildStream):
    """Phases (formerly milestones) of each project."""

    name = "phases"
    path = "/v1/projects/{project_id}/phases"
    primary_keys = ("id",)
    schema = schemas.PHASES


class WorkflowColumnsStream(ProjectChildStream):
    """Workflow columns (task statuses) of each project."""

    name = "workflow_columns"
    path = "/v1/projects/{project_id}/workflow_columns"
    primary_keys = ("id",)
    schema = schemas.WORKFLOW_COLUMNS


class ProjectTeamStream(ProjectChildStream):
    """Team members of each project. The endpoint has no id: a member is a (project, person) pair."""

    name = "project_team"
    path = "/v1/projects/{project_id}/team"
    primary_keys = ("project_id", "person_id")
    schema = schemas.PROJECT_TEAM


# -- incremental v4 feeds ----------------------------------------------------------------------------


class TasksStream(IncrementalForecastStream):
    """Tasks, read through `/v4/tasks/updated_after/{ts}`."""

    name = "tasks"
    path = "/v4/tasks"
    primary_keys = ("id",)
    schema = schemas.TASKS
    project_field = "project_id"


class TimeRegistrationsStream(IncrementalForecastStream):
    """Time registrations, read through `/v4/time_registrations/updated_after/{ts}`."""

    name = "time_registrations"
    path = "/v4/time_registrations"
    primary_keys = ("id",)
    schema = schemas.TIME_REGISTRATIONS
    project_field = "project_id"

    @override
    def transform(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """Add `project_id`: `project` for time on a project, else the task's project (`task_project`)."""
        project = record.get("project")
        return {**record, "project_id": project if project is not None else record.get("task_project")}


class DeletedTimeRegistrationsStream(ClientFilteredForecastStream):
    """Deleted time registrations (`/v4/time_registrations/deleted`, camelCase keys written as snake_case)."""

    name = "deleted_time_registrations"
    path = "/v4/time_registrations/deleted"
    primary_keys = ("id",)
    replication_key = "deleted_at"
    schema = schemas.DELETED_TIME_REGISTRATIONS
    project_field = "project_id"

    @override
    def transform(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """Snake-case the keys and derive `project_id` from what the time was registered on."""
        record = snake_case_keys(record)
        on = record.get("registered_on") or {}
        project = (on.get("project") or {}).get("id")
        if project is None and on.get("type") == "PROJECT":
            project = on.get("id")
        return {**record, "project_id": project}


class DeletedTasksStream(ClientFilteredForecastStream):
    """Deleted tasks (`/v4/tasks/deleted`), with the nested `task` object lifted to the top level."""

    name = "deleted_tasks"
    path = "/v4/tasks/deleted"
    primary_keys = ("id",)
    replication_key = "deleted_at"
    schema = schemas.DELETED_TASKS
    project_field = "project_id"

    @override
    def transform(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """`{task: {id, name, deleted_at, deleted_by}, project, …}` -> `{id, name, deleted_at, …, project_id}`."""
        record = snake_case_keys(record)
        task = record.pop("task", None)
        if not isinstance(task, dict):
            raise ValueError("required field 'task' (an object with id, name, deleted_at, deleted_by) is missing")
        return {**task, **record, "project_id": (record.get("project") or {}).get("id")}


STREAM_TYPES: tuple[type[ForecastStream], ...] = (
    ProjectsStream,
    PhasesStream,
    WorkflowColumnsStream,
    ProjectTeamStream,
    PersonsStream,
    ClientsStream,
    RolesStream,
    NonProjectTimeStream,
    AllocationsStream,
    TasksStream,
    TimeRegistrationsStream,
    DeletedTasksStream,
    DeletedTimeRegistrationsStream,
)

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case_keys(value: Any) -> Any:  # any JSON value
    """Turn camelCase keys (`deletedAt`, `registeredOn`) into snake_case ones, at every depth."""
    if isinstance(value, dict):
        return {_CAMEL_HUMP.sub(r"_\1", key).lower(): snake_case_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake_case_keys(item) for item in value]
    return value
