"""The Forecast endpoints the sync uses: the route table and one handler per endpoint.

Lists that the docs call paginated return the `{pageNumber, pageSize, totalObjectCount, pageContents}` envelope
(v4 tasks and time registrations, their `updated_after`/`date_after` variants and the v4 deleted feeds);
every other list is a bare array. Ordering, which the docs leave open: plain lists go by ascending id,
`updated_after` by (`updated_at`, id), `date_after` by (`date`, id), deleted feeds by (`deleted_at`, id).
Which documented fields a record shows depends on the field set (`resources.Shapes`): by default, only those
the docs' sample responses show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.common.routes import Route
from sandbox.forecast import views, writes
from sandbox.forecast.errors import bad_request, not_found
from sandbox.forecast.resources import (
    ALLOCATION_FIELDS,
    CLIENT_FIELDS,
    NON_PROJECT_TIME_FIELDS,
    ROLE_FIELDS,
    TEAM_MEMBER_FIELDS,
    WORKFLOW_COLUMN_FIELDS,
    Shapes,
    pick,
)
from sandbox.forecast.store import ForecastStore, Table
from sandbox.forecast.timeformat import (
    COMPACT_DATE_EXAMPLE,
    COMPACT_TIMESTAMP_EXAMPLE,
    parse_compact_date,
    parse_compact_timestamp,
)
from sandbox.forecast.views import Page


@dataclass(frozen=True)
class Simple:
    """A small resource served as a bare list plus a single GET: table, fields, label for 404s."""

    table: str
    fields: tuple[str, ...]
    label: str


SIMPLE_RESOURCES = {
    "/api/v1/clients": Simple("clients", CLIENT_FIELDS, "Client"),
    "/api/v1/roles": Simple("roles", ROLE_FIELDS, "Role"),
    "/api/v1/non_project_time": Simple("non_project_time", NON_PROJECT_TIME_FIELDS, "Non project time"),
    "/api/v1/allocations": Simple("allocations", ALLOCATION_FIELDS, "Allocation"),
}

ROUTES = [
    Route("GET", "/api/v1/company", "company"),
    *[route for base in SIMPLE_RESOURCES for route in (
        Route("GET", base, "simple_list"), Route("GET", base + "/{id}", "simple_get"))],
    Route("GET", "/api/v2/persons", "persons_v2"),
    Route("GET", "/api/v2/persons/{id}", "person_v2"),
    Route("GET", "/api/v1/persons", "persons_v1"),
    Route("GET", "/api/v1/persons/{id}", "person_v1"),
    Route("GET", "/api/v1/projects", "projects"),
    Route("GET", "/api/v1/projects/{id}", "project"),
    Route("GET", "/api/v1/projects/company_project_id/{id}", "project_by_company_id"),
    Route("GET", "/api/v1/projects/custom_project_id/{custom_id}", "project_by_custom_id"),
    Route("GET", "/api/v1/projects/{id}/team", "project_team"),
    Route("GET", "/api/v1/projects/{id}/team/{person_id}", "project_team_member"),
    Route("GET", "/api/v1/projects/{id}/phases", "project_phases"),
    Route("GET", "/api/v1/projects/{id}/phases/{phase_id}", "project_phase"),
    Route("GET", "/api/v1/phases/{id}", "phase"),
    Route("GET", "/api/v4/phases", "phases"),  # the docs' heading says /phases, their sample v4/phases
    Route("GET", "/api/v1/projects/{id}/workflow_columns", "workflow_columns"),
    Route("GET", "/api/v1/projects/{id}/workflow_columns/{workflow_column_id}", "workflow_column"),
    # tasks
    Route("GET", "/api/v4/tasks", "tasks_v4"),
    Route("GET", "/api/v4/tasks/updated_after/{ts}", "tasks_v4_updated_after"),
    Route("GET", "/api/v4/tasks/deleted", "deleted_tasks_v4"),
    Route("GET", "/api/v3/tasks", "tasks_v3"),
    Route("GET", "/api/v3/tasks/updated_after/{ts}", "tasks_v3"),
    Route("GET", "/api/v3/projects/{id}/tasks", "project_tasks_v3"),
    Route("GET", "/api/v3/projects/{id}/tasks/updated_after/{ts}", "project_tasks_v3"),
    Route("GET", "/api/v3/tasks/{id}", "task"),
    Route("GET", "/api/v3/tasks/company_task_id/{id}", "task_by_company_id"),
    Route("GET", "/api/v3/tasks/{id}/children", "task_children"),
    Route("POST", "/api/v3/tasks", "create_task"),
    Route("PUT", "/api/v3/tasks/{id}", "update_task"),
    Route("DELETE", "/api/v2/tasks/{id}", "delete_task"),
    Route("GET", "/api/v2/tasks/deleted", "deleted_tasks_v2"),
    # time registrations
    Route("GET", "/api/v4/time_registrations", "registrations_v4"),
    Route("GET", "/api/v4/time_registrations/updated_after/{ts}", "registrations_v4_updated_after"),
    Route("GET", "/api/v4/time_registrations/date_after/{date}", "registrations_v4_date_after"),
    Route("GET", "/api/v4/time_registrations/deleted", "deleted_registrations_v4"),
    Route("GET", "/api/v3/time_registrations", "registrations_v3"),
    Route("GET", "/api/v3/time_registrations/deleted", "deleted_registrations_v3"),
    Route("GET", "/api/v3/time_registrations/{id}", "registration"),
    Route("GET", "/api/v3/projects/{id}/time_registrations", "project_registrations_v3"),
    Route("GET", "/api/v3/persons/{id}/time_registrations", "person_registrations_v3"),
    Route("POST", "/api/v1/time_registrations", "create_registration"),
    Route("PUT", "/api/v1/time_registrations/{id}", "update_registration"),
    Route("DELETE", "/api/v1/time_registrations/{id}", "delete_registration"),
]


@dataclass(frozen=True)
class Call:
    """One routed API request: path parameters, query, JSON body (POST/PUT), the route, and the write stamp."""

    route: Route
    params: dict
    query: dict[str, str]
    body: dict
    stamp: str


#: (HTTP status, JSON payload); a None payload is an empty body.
Reply = tuple[int, object]


def _ok(payload: object) -> Reply:
    return 200, payload


def _updated_after(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return parse_compact_timestamp(text)
    except ValueError:
        raise bad_request(f"updated_after must be YYYYMMDDTHHmmss (UTC), e.g. {COMPACT_TIMESTAMP_EXAMPLE}; "
                          f"got {text!r}") from None


def _date_after(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return parse_compact_date(text)
    except ValueError:
        raise bad_request(f"date_after must be YYYYMMDD, e.g. {COMPACT_DATE_EXAMPLE}; got {text!r}") from None


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() == "true"


class ForecastApi:
    """Endpoint handlers over one `ForecastStore`. Each takes a `Call` and returns a `Reply`.

    `shapes` says which documented fields the responses show (`resources.Shapes`: the docs' samples or tables).
    """

    def __init__(self, store: ForecastStore, shapes: Shapes) -> None:
        self.store = store
        self.shapes = shapes

    def handler(self, route: Route) -> Callable[[Call], Reply]:
        """The bound handler a route names."""
        return getattr(self, route.handler)

    def _table(self, name: str) -> Table:
        return self.store.tables[name]

    def _records(self, table: str, ids: list[int]) -> list[dict]:
        records = self._table(table).records
        return [records[record_id] for record_id in ids]

    # -- small resources ---------------------------------------------------------------------------

    def company(self, call: Call) -> Reply:
        return _ok(pick(self.store.company, self.shapes.company))

    def simple_list(self, call: Call) -> Reply:
        resource = SIMPLE_RESOURCES[call.route.template]
        return _ok([pick(r, resource.fields) for r in self._table(resource.table).in_id_order()])

    def simple_get(self, call: Call) -> Reply:
        resource = SIMPLE_RESOURCES[call.route.template.removesuffix("/{id}")]
        return _ok(pick(self._table(resource.table).require(call.params["id"], resource.label), resource.fields))

    def persons_v2(self, call: Call) -> Reply:
        return _ok([views.person(r, version=2) for r in self._table("persons").in_id_order()])

    def person_v2(self, call: Call) -> Reply:
        return _ok(views.person(self._table("persons").require(call.params["id"], "Person"), version=2))

    def persons_v1(self, call: Call) -> Reply:
        return _ok([views.person(r, version=1) for r in self._table("persons").in_id_order()])

    def person_v1(self, call: Call) -> Reply:
        return _ok(views.person(self._table("persons").require(call.params["id"], "Person"), version=1))

    # -- projects and what hangs off them ----------------------------------------------------------

    def _project(self, project_id: int) -> dict:
        return self._table("projects").require(project_id, "Project")

    def projects(self, call: Call) -> Reply:
        progress = _flag(call.query, "includeProgress")
        records = self._table("projects").in_id_order()
        return _ok([views.project(r, self.shapes.projects, include_progress=progress) for r in records])

    def project(self, call: Call) -> Reply:
        record = self._project(call.params["id"])
        return _ok(views.project(record, self.shapes.project, include_progress=_flag(call.query, "includeProgress")))

    def _project_where(self, field: str, value: object, call: Call) -> Reply:
        for record in self._table("projects").in_id_order():
            if record[field] == value:
                progress = _flag(call.query, "includeProgress")
                return _ok(views.project(record, self.shapes.project, include_progress=progress))
        raise not_found(f"Project with {field} {value} not found")

    def project_by_company_id(self, call: Call) -> Reply:
        return self._project_where("company_project_id", call.params["id"], call)

    def project_by_custom_id(self, call: Call) -> Reply:
        return self._project_where("custom_project_id", call.params["custom_id"], call)

    def _team(self, project_id: int) -> list[dict]:
        self._project(project_id)
        return [m for m in self.store.project_team if m["project_id"] == project_id]

    def project_team(self, call: Call) -> Reply:
        return _ok([pick(m, TEAM_MEMBER_FIELDS) for m in self._team(call.params["id"])])

    def project_team_member(self, call: Call) -> Reply:
        for member in self._team(call.params["id"]):
            if member["person_id"] == call.params["person_id"]:
                return _ok(pick(member, TEAM_MEMBER_FIELDS))
        raise not_found(f"Person {call.params['person_id']} is not on project {call.params['id']}'s team")

    def _of_project(self, table: str, project_id: int) -> list[dict]:
        self._project(project_id)
        return [r for r in self._table(table).in_id_order() if r["project_id"] == project_id]

    def project_phases(self, call: Call) -> Reply:
        return _ok([pick(r, self.shapes.phase) for r in self._of_project("phases", call.params["id"])])

    def project_phase(self, call: Call) -> Reply:
        phase = self._table("phases").require(call.params["phase_id"], "Phase")
        if phase["project_id"] != self._project(call.params["id"])["id"]:
            raise not_found(f"Phase {phase['id']} not found in project {call.params['id']}")
        return _ok(pick(phase, self.shapes.phase))

    def phase(self, call: Call) -> Reply:
        return _ok(pick(self._table("phases").require(call.params["id"], "Phase"), self.shapes.phase))

    def phases(self, call: Call) -> Reply:
        return _ok([pick(r, self.shapes.phase) for r in self._table("phases").in_id_order()])

    def workflow_columns(self, call: Call) -> Reply:
        columns = self._of_project("workflow_columns", call.params["id"])
        return _ok([pick(r, WORKFLOW_COLUMN_FIELDS) for r in columns])

    def workflow_column(self, call: Call) -> Reply:
        column = self._table("workflow_columns").require(call.params["workflow_column_id"], "Workflow column")
        if column["project_id"] != self._project(call.params["id"])["id"]:
            raise not_found(f"Workflow column {column['id']} not found in project {call.params['id']}")
        return _ok(pick(column, WORKFLOW_COLUMN_FIELDS))

    # -- tasks -------------------------------------------------------------------------------------

    def _task(self, record: dict) -> dict:
        return views.task(record, self.shapes.task)

    def _task_page(self, index: str, bound: str | None, call: Call) -> Reply:
        page = Page.from_query(call.query)
        total, ids = self._table("tasks").sorted[index].slice_after(bound, page.offset, page.size)
        return _ok(page.envelope(total, [self._task(r) for r in self._records("tasks", ids)]))

    def tasks_v4(self, call: Call) -> Reply:
        return self._task_page("id", None, call)

    def tasks_v4_updated_after(self, call: Call) -> Reply:
        return self._task_page("updated", _updated_after(call.params["ts"]), call)

    def _tasks_v3(self, call: Call) -> list[dict]:
        after = _updated_after(call.params.get("ts"))
        _, ids = self._table("tasks").sorted["updated"].slice_after(after)
        return self._records("tasks", sorted(ids))

    def tasks_v3(self, call: Call) -> Reply:
        return _ok([self._task(r) for r in self._tasks_v3(call)])

    def project_tasks_v3(self, call: Call) -> Reply:
        project_id = self._project(call.params["id"])["id"]
        return _ok([self._task(r) for r in self._tasks_v3(call) if r["project_id"] == project_id])

    def task(self, call: Call) -> Reply:
        return _ok(self._task(self._table("tasks").require(call.params["id"], "Task")))

    def task_by_company_id(self, call: Call) -> Reply:
        for record in self._table("tasks").in_id_order():
            if record["company_task_id"] == call.params["id"]:
                return _ok(self._task(record))
        raise not_found(f"Task with company_task_id {call.params['id']} not found")

    def task_children(self, call: Call) -> Reply:
        parent = self._table("tasks").require(call.params["id"], "Task")["id"]
        return _ok([self._task(r) for r in self._table("tasks").in_id_order() if r["parent_task_id"] == parent])

    def create_task(self, call: Call) -> Reply:
        return 201, self._task(self.store.insert("tasks", writes.new_task(self.store, call.body), call.stamp))

    def update_task(self, call: Call) -> Reply:
        """Moving a task to another project is not modelled: `project_id` is ignored like unknown keys."""
        record = self._table("tasks").require(call.params["id"], "Task")
        changes = writes.task_fields(self.store, call.body)
        return _ok(self._task(self.store.update("tasks", record, changes, call.stamp)))

    def delete_task(self, call: Call) -> Reply:
        """Deletes the task, its sub-tasks and the time registered on them (refused if any is approved)."""
        tasks = self._table("tasks")
        doomed = [tasks.require(call.params["id"], "Task")["id"]]
        for task_id in doomed:  # grows while iterating: breadth-first over sub-tasks
            doomed.extend(r["id"] for r in tasks.records.values() if r["parent_task_id"] == task_id)
        registrations = [r for r in self._table("time_registrations").records.values() if r["task"] in doomed]
        for registration in registrations:
            self.store.refuse_if_approved(registration, "deleted together with its task")
        for registration in registrations:
            self.store.delete("time_registrations", registration["id"], call.stamp)
        for task_id in reversed(doomed):
            self.store.delete("tasks", task_id, call.stamp)
        return 200, None

    def deleted_tasks_v2(self, call: Call) -> Reply:
        feed = self.store.deleted["deleted_tasks"]
        _, ids = feed.sorted["deleted"].slice_after(_updated_after(call.query.get("updated_after")))
        include_all = _flag(call.query, "includeAllFields")
        return _ok([views.deleted_task_v2(feed.records[i], include_all_fields=include_all) for i in ids])

    def deleted_tasks_v4(self, call: Call) -> Reply:
        page = Page.from_query(call.query)
        feed = self.store.deleted["deleted_tasks"]
        total, ids = feed.sorted["deleted"].slice_after(None, page.offset, page.size)
        return _ok(page.envelope(total, [views.deleted_task_v4(feed.records[i], self.store) for i in ids]))

    # -- time registrations: reads -----------------------------------------------------------------

    def _registration_page(self, index: str, bound: str | None, call: Call) -> Reply:
        page = Page.from_query(call.query)
        total, ids = self._table("time_registrations").sorted[index].slice_after(bound, page.offset, page.size)
        records = self._records("time_registrations", ids)
        shape = self.shapes.time_registration_v4
        return _ok(page.envelope(total, [views.time_registration_v4(r, self.store, shape) for r in records]))

    def registrations_v4(self, call: Call) -> Reply:
        return self._registration_page("id", None, call)

    def registrations_v4_updated_after(self, call: Call) -> Reply:
        return self._registration_page("updated", _updated_after(call.params["ts"]), call)

    def registrations_v4_date_after(self, call: Call) -> Reply:
        return self._registration_page("date", _date_after(call.params["date"]), call)

    def _filtered_v3(self, ids: list[int], call: Call) -> Reply:
        """v3 lists: optional `updated_after` and `date_after` query filters, both strict; ascending id."""
        updated_after = _updated_after(call.query.get("updated_after"))
        date_after = _date_after(call.query.get("date_after"))
        records = self._records("time_registrations", sorted(ids))
        return _ok([views.time_registration_v3(r) for r in records
                    if (updated_after is None or r["updated_at"] > updated_after)
                    and (date_after is None or r["date"] > date_after)])

    def registrations_v3(self, call: Call) -> Reply:
        """Deprecated in the docs, still served."""
        table = self._table("time_registrations")
        after = _updated_after(call.query.get("updated_after"))
        _, ids = table.sorted["updated"].slice_after(after)
        return self._filtered_v3(ids, call)

    def person_registrations_v3(self, call: Call) -> Reply:
        person_id = self._table("persons").require(call.params["id"], "Person")["id"]
        return self._filtered_v3(self._table("time_registrations").groups["person"].ids(person_id), call)

    def project_registrations_v3(self, call: Call) -> Reply:
        """Registrations on the project itself and on its tasks."""
        project_id = self._project(call.params["id"])["id"]
        task_ids = {t["id"] for t in self._table("tasks").records.values() if t["project_id"] == project_id}
        ids = [r["id"] for r in self._table("time_registrations").records.values()
               if r["project"] == project_id or r["task"] in task_ids]
        return self._filtered_v3(ids, call)

    def registration(self, call: Call) -> Reply:
        record = self._table("time_registrations").require(call.params["id"], "Time registration")
        return _ok(views.time_registration_v3(record))

    def deleted_registrations_v3(self, call: Call) -> Reply:
        feed = self.store.deleted["deleted_time_registrations"]
        _, ids = feed.sorted["deleted"].slice_after(_updated_after(call.query.get("updated_after")))
        return _ok([views.deleted_v3(feed.records[i]) for i in ids])

    def deleted_registrations_v4(self, call: Call) -> Reply:
        page = Page.from_query(call.query)
        feed = self.store.deleted["deleted_time_registrations"]
        total, ids = feed.sorted["deleted"].slice_after(None, page.offset, page.size)
        return _ok(page.envelope(total, [views.deleted_time_registration_v4(feed.records[i], self.store)
                                         for i in ids]))

    # -- time registrations: writes ----------------------------------------------------------------

    def create_registration(self, call: Call) -> Reply:
        fields = writes.new_time_registration(self.store, call.body)
        self.store.refuse_if_period_locked(fields["person"], fields["date"])
        return 201, views.time_registration_v3(self.store.insert("time_registrations", fields, call.stamp))

    def update_registration(self, call: Call) -> Reply:
        """Only the documented fields change; others (person, task, project, ...) are ignored."""
        record = self._table("time_registrations").require(call.params["id"], "Time registration")
        self.store.refuse_if_approved(record, "changed")
        changes = writes.time_registration_changes(self.store, call.body)
        if changes.get("date", record["date"]) != record["date"]:
            self.store.refuse_if_period_locked(record["person"], changes["date"])
        return _ok(views.time_registration_v3(self.store.update("time_registrations", record, changes, call.stamp)))

    def delete_registration(self, call: Call) -> Reply:
        record = self._table("time_registrations").require(call.params["id"], "Time registration")
        self.store.refuse_if_approved(record, "deleted")
        self.store.delete("time_registrations", record["id"], call.stamp)
        return 200, None
