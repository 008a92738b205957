"""The Forecast streams: endpoint, keys, schema and record shaping of each; HTTP behaviour lives in client.py."""

from __future__ import annotations

import math
import re
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from forecast_api.pagination import FIRST_PAGE, Page, page_params
from tap_forecast import schemas, timestamps
from tap_forecast.client import (
    BOUNDARY_STEP,
    READ_STARTED_AT,
    ClientFilteredForecastStream,
    ForecastStream,
    IncrementalForecastStream,
)
from tap_forecast.errors import ForecastNotFoundError, endpoint_of, malformed
from tap_forecast.pagination import decode_json, decode_page

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    import requests
    from singer_sdk.helpers.types import Context
    from singer_sdk.pagination import BaseAPIPaginator

#: Partition keys of a time-registration read per project or per person (no bookmark, a filter set).
PROJECT_KEY = "project_id"
PERSON_KEY = "person_id"


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
    """Time registrations, read through `/v4/time_registrations/updated_after/{ts}`.

    A read without a bookmark (a first run, a full refresh) with `project_ids` or `person_ids` set reads only
    those projects' or persons' registrations, one partition each, through `/v3/projects/{id}/time_registrations`
    or `/v3/persons/{id}/time_registrations`: a backfill of a newly linked project or person then costs its own
    requests, not every page of the account. With both set it reads per project (the project endpoint names each
    task's project, so no task look-ups) and keeps the persons on the client. A run with a bookmark reads the v4
    feed as always and filters on the client: one request covers every project after a quiet 15 minutes.
    """

    name = "time_registrations"
    path = "/v4/time_registrations"
    primary_keys = ("id",)
    schema = schemas.TIME_REGISTRATIONS
    project_field = "project_id"
    person_field = "person"
    #: One bookmark for the stream, not one per partition: the next run reads the v4 feed for every project.
    state_partitioning_keys = ()

    #: The partitions this run reads; decided once, before the first partition writes its `read_started_at`.
    _partitions: list[dict[str, int]] | None = None
    _partitions_decided = False
    #: The partition being read, (`project_id` or `person_id`, id), or None for the v4 feed (the paginator, the
    #: parser and the response check have no context).
    _reading: tuple[str, int] | None = None

    @cached_property
    def task_projects(self) -> dict[int, int | None]:
        """The project of each task a per-person read met (`/v3/persons/…` leaves out `task_project`)."""
        return {}

    @override
    @property
    def partitions(self) -> list[dict[str, int]] | None:
        """One per id of `project_ids` (else `person_ids`) on a read without a bookmark; None otherwise."""
        if not self._partitions_decided:
            self._partitions_decided = True
            state = self.stream_state
            bookmarked = READ_STARTED_AT in state or state.get("replication_key_value") is not None
            for setting, key in (("project_ids", PROJECT_KEY), ("person_ids", PERSON_KEY)):
                if (ids := self.config.get(setting)) and not bookmarked:
                    self._partitions = [{key: id_} for id_ in dict.fromkeys(ids)]  # an id listed twice: once
                    break
        return self._partitions

    @override
    def since(self, context: Context | None) -> datetime | None:
        """A partition is read only without a bookmark: from `start_date`, else everything. (The shared state
        gets `read_started_at` after the first partition; it must not move the later ones' start.)"""
        if _by_id(context) is None:
            return super().since(context)
        start_date = self.config.get("start_date")
        return timestamps.parse(start_date) if start_date else None

    @override
    def get_url(self, context: Context | None) -> str:
        """`/v3/projects/{id}/time_registrations` or `/v3/persons/{id}/time_registrations` for a partition."""
        if (by := _by_id(context)) is None:
            return super().get_url(context)
        key, id_ = by
        return f"{self.url_base}/v3/{'projects' if key == PROJECT_KEY else 'persons'}/{id_}/time_registrations"

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        """No pages on v3; `?updated_after=` (strictly after, whole seconds) when `start_date` is set."""
        if _by_id(context) is None:
            return super().get_url_params(context, next_page_token)
        since = self.since(context)
        return {} if since is None else {"updated_after": timestamps.to_compact(since - BOUNDARY_STEP)}

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The records; the paginator and the parser follow which endpoint this partition reads."""
        self._reading = _by_id(context)
        yield from super().get_records(context)

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[int] | None:
        """v3 lists are not paginated: the whole list in one answer."""
        return None if self._reading else super().get_new_paginator()

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """A bare array on v3, the page envelope on v4. A person's list first has its tasks' projects found."""
        if self._reading is None:
            return super().parse_response(response)
        records = list(ForecastStream.parse_response(self, response))
        if self._reading[0] == PERSON_KEY:
            self.find_task_projects({record["task"] for record in records
                                     if isinstance(record, dict) and isinstance(record.get("task"), int)})
        return records

    @override
    def validate_response(self, response: requests.Response) -> None:
        """A 404 on a partition's list names the setting holding the unknown id (not only base_url)."""
        try:
            super().validate_response(response)
        except ForecastNotFoundError as exc:
            if self._reading is None or not urlsplit(response.url).path.endswith("/time_registrations"):
                raise
            key, id_ = self._reading
            setting, kind = ("project_ids", "project") if key == PROJECT_KEY else ("person_ids", "person")
            raise ForecastNotFoundError(f"Forecast has no {kind} {id_}: remove it from the {setting} setting. "
                                        f"({exc})") from None

    @override
    def transform(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """Add `project_id`: `project` for time on a project, else the task's project (`task_project`).

        A v3 record is given the v4 shape: `task_project` (which v3 lacks) is the partition's project, or the
        task's looked-up project on a per-person read; `card` (v3's old name for `task`) is dropped. v3 has no
        `phase`, `invoice_entry` or `invoice`; they are optional, and such a record is emitted without them.
        """
        if (by := _by_id(context)) is not None:
            record = {name: value for name, value in record.items() if name != "card"}
            task = record.get("task")
            if task is None:
                record["task_project"] = None
            else:
                key, id_ = by
                record["task_project"] = id_ if key == PROJECT_KEY else self.task_project(task)
        project = record.get("project")
        return {**record, "project_id": project if project is not None else record.get("task_project")}

    def find_task_projects(self, task_ids: set[int]) -> None:
        """Learn the projects of `task_ids` the cheaper way: one `GET /v3/tasks/{id}` each, or every page of
        `/v4/tasks` when that is fewer requests (its first page tells how many there are). `task_project` looks
        up, one by one, whatever this leaves unknown."""
        known = self.task_projects
        if len(task_ids - known.keys()) <= 1:
            return
        page = self._tasks_page(FIRST_PAGE)
        if page.size > 0 and math.ceil(page.total / page.size) - page.number < len(task_ids - known.keys()):
            while not page.is_last:
                page = self._tasks_page(page.number + 1)

    def _tasks_page(self, number: int) -> Page:
        """One page of `/v4/tasks`; its tasks' projects are noted."""
        response = self._get(f"{self.url_base}/v4/tasks", page_params(number, self.config["page_size"]))
        page = decode_page(response)
        for task in page.records:
            self._note_task_project(task, response)
        return page

    def task_project(self, task_id: int) -> int | None:
        """The project of a task, from `GET /v3/tasks/{id}` unless already known (once per task per run)."""
        known = self.task_projects
        if task_id not in known:
            response = self._get(f"{self.url_base}/v3/tasks/{task_id}")
            self._note_task_project(decode_json(response), response)
        return known[task_id]

    def _note_task_project(self, task: object, response: requests.Response) -> None:
        if not isinstance(task, dict) or not isinstance(task.get("id"), int) \
                or not isinstance(task.get("project_id"), int | None):
            raise malformed(endpoint_of(response), "expected task objects with an integer id and project_id")
        self.task_projects[task["id"]] = task.get("project_id")

    def _get(self, url: str, params: dict[str, Any] | None = None) -> requests.Response:
        """A GET outside the stream's own pages, with the stream's auth, checks and retries."""
        request = self.build_prepared_request(method="GET", url=url, params=params, headers=self.http_headers)
        response: requests.Response = self.request_decorator(self._request)(request, None)
        return response


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


def _by_id(context: Context | None) -> tuple[str, int] | None:
    """(`project_id` or `person_id`, the id) when `context` is a per-project or per-person partition."""
    for key in (PROJECT_KEY, PERSON_KEY):
        if context and key in context:
            return key, int(context[key])
    return None


_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case_keys(value: Any) -> Any:  # any JSON value
    """Turn camelCase keys (`deletedAt`, `registeredOn`) into snake_case ones, at every depth."""
    if isinstance(value, dict):
        return {_CAMEL_HUMP.sub(r"_\1", key).lower(): snake_case_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake_case_keys(item) for item in value]
    return value
