"""The Harvest v2 endpoints served: the route table, list filters and the read handlers.

Each list takes the filters its doc page lists (others are ignored, as Rails apps do) and pages as `paging` says.
Boolean filters take `true`/`false`; dates `YYYY-MM-DD`; `updated_since` an ISO 8601 date and time ("Use the ISO
8601 Format", time-entries), read as UTC when it names no offset. Anything else is a 422 (the strict reading).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sandbox.common.clock import parse_date, parse_timestamp
from sandbox.common.routes import Route
from sandbox.harvest.errors import not_found, unprocessable
from sandbox.harvest.options import HarvestOptions
from sandbox.harvest.paging import Listing, Order, PageRequest, paginate
from sandbox.harvest.store import HarvestStore
from sandbox.harvest.views import Views

V2 = "/v2"
ID_HOST = "/api/v2"  # id.getharvest.com/api/v2, served on the same port
BY_ID = Order(("id",))
#: "The time entries are returned sorted by spent_date date" (time-entries), newest first as in the sample.
BY_SPENT_DATE = Order(("spent_date", "id"))

ROUTES = [
    Route("POST", f"{ID_HOST}/oauth2/token", "token"),
    Route("GET", f"{ID_HOST}/accounts", "accounts"),
    Route("GET", f"{V2}/clients", "clients"),
    Route("GET", f"{V2}/clients/{{id}}", "client"),
    Route("GET", f"{V2}/users", "users"),
    Route("GET", f"{V2}/users/me", "me"),
    Route("GET", f"{V2}/users/{{id}}", "user"),
    Route("GET", f"{V2}/users/me/project_assignments", "my_project_assignments"),
    Route("GET", f"{V2}/users/{{user_id}}/project_assignments", "project_assignments"),
    Route("GET", f"{V2}/projects", "projects"),
    Route("GET", f"{V2}/projects/{{id}}", "project"),
    Route("GET", f"{V2}/projects/{{project_id}}/task_assignments", "task_assignments"),
    Route("GET", f"{V2}/projects/{{project_id}}/task_assignments/{{id}}", "task_assignment"),
    Route("GET", f"{V2}/projects/{{project_id}}/user_assignments", "user_assignments"),
    Route("GET", f"{V2}/projects/{{project_id}}/user_assignments/{{id}}", "user_assignment"),
    Route("GET", f"{V2}/tasks", "tasks"),
    Route("GET", f"{V2}/tasks/{{id}}", "task"),
    Route("GET", f"{V2}/task_assignments", "task_assignments"),
    Route("GET", f"{V2}/user_assignments", "user_assignments"),
    Route("GET", f"{V2}/time_entries", "time_entries"),
    Route("GET", f"{V2}/time_entries/{{id}}", "time_entry"),
    Route("POST", f"{V2}/time_entries", "create_time_entry"),
    Route("PATCH", f"{V2}/time_entries/{{id}}", "update_time_entry"),
    Route("DELETE", f"{V2}/time_entries/{{id}}", "delete_time_entry"),
]


@dataclass(frozen=True)
class Call:
    """One routed API call: path parameters, query, parsed body, the token's user, its list URL and stamp."""

    params: dict
    query: dict[str, str]
    body: dict
    user_id: int | None
    url: str
    stamp: str


#: (HTTP status, JSON payload); a None payload is an empty body.
Reply = tuple[int, object]


class HarvestApi:
    """The read endpoints (writes are in `writes.TimeEntryWrites`)."""

    def __init__(self, store: HarvestStore, options: HarvestOptions) -> None:
        self.store = store
        self.options = options

    def views(self) -> Views:
        """Views over the current data (built per request: it indexes the assignments)."""
        return Views(self.store, self.options.rounding_minutes)

    def _list(self, call: Call, resource: str, records: Iterable[dict], view: Callable[[dict], dict],
              order: Order = BY_ID) -> Reply:
        request = PageRequest.from_query(call.query, self.options.default_per_page, order)
        listing = Listing(call.url, call.query, self.options.cursor_links)
        return 200, paginate(resource, list(records), order, request, listing, view)

    def _filter(self, call: Call, table: str, *, ints: tuple[str, ...] = ()) -> list[dict]:
        """`is_active`, `updated_since` and the integer filters named in `ints` (same-named fields)."""
        records = list(self.store.tables[table].values())
        records = _by_bool(records, call.query, "is_active")
        records = _updated_since(records, call.query, self.options.updated_since == "inclusive")
        for name in ints:
            records = _by_int(records, call.query, name, lambda r, n=name: r[n])
        return records

    # -- handlers (named in ROUTES) ------------------------------------------------------------------

    def clients(self, call: Call) -> Reply:
        """clients-api/clients/clients, "List all clients": is_active, updated_since."""
        return self._list(call, "clients", self._filter(call, "clients"), self.views().client)

    def client(self, call: Call) -> Reply:
        return 200, self.views().client(self.store.require("clients", call.params["id"]))

    def users(self, call: Call) -> Reply:
        """users-api/users/users, "List all users": is_active, updated_since."""
        return self._list(call, "users", self._filter(call, "users"), self.views().user)

    def me(self, call: Call) -> Reply:
        """users-api/users/users, "Retrieve the currently authenticated user"."""
        return 200, self.views().user(self.store.require("users", call.user_id or -1))

    def user(self, call: Call) -> Reply:
        return 200, self.views().user(self.store.require("users", call.params["id"]))

    def project_assignments(self, call: Call, user_id: int | None = None) -> Reply:
        """users-api/users/project-assignments, "List active project assignments": updated_since."""
        user_id = call.params["user_id"] if user_id is None else user_id
        self.store.require("users", user_id)
        records = [a for a in self._filter(call, "user_assignments") if a["user_id"] == user_id and a["is_active"]]
        return self._list(call, "project_assignments", records, self.views().project_assignment)

    def my_project_assignments(self, call: Call) -> Reply:
        return self.project_assignments(call, call.user_id or -1)

    def projects(self, call: Call) -> Reply:
        """projects-api/projects/projects, "List all projects": is_active, client_id, updated_since."""
        return self._list(call, "projects", self._filter(call, "projects", ints=("client_id",)),
                          self.views().project)

    def project(self, call: Call) -> Reply:
        return 200, self.views().project(self.store.require("projects", call.params["id"]))

    def task_assignments(self, call: Call) -> Reply:
        """projects-api/projects/task-assignments, "List all task assignments" (is_active, updated_since) and
        "List all task assignments for a specific project" (`/v2/projects/{id}/task_assignments`)."""
        records = self._filter(call, "task_assignments")
        if "project_id" in call.params:
            self.store.require("projects", call.params["project_id"])
            records = [a for a in records if a["project_id"] == call.params["project_id"]]
        return self._list(call, "task_assignments", records, self.views().task_assignment)

    def task_assignment(self, call: Call) -> Reply:
        return 200, self.views().task_assignment(self._child("task_assignments", call))

    def user_assignments(self, call: Call) -> Reply:
        """projects-api/projects/user-assignments, "List all user assignments" (user_id, is_active,
        updated_since; "active and archived") and the per-project list."""
        records = self._filter(call, "user_assignments", ints=("user_id",))
        if "project_id" in call.params:
            self.store.require("projects", call.params["project_id"])
            records = [a for a in records if a["project_id"] == call.params["project_id"]]
        return self._list(call, "user_assignments", records, self.views().user_assignment)

    def user_assignment(self, call: Call) -> Reply:
        return 200, self.views().user_assignment(self._child("user_assignments", call))

    def _child(self, table: str, call: Call) -> dict:
        record = self.store.require(table, call.params["id"])
        if record["project_id"] != call.params["project_id"]:
            raise not_found()
        return record

    def tasks(self, call: Call) -> Reply:
        """tasks-api/tasks/tasks, "List all tasks": is_active, updated_since."""
        return self._list(call, "tasks", self._filter(call, "tasks"), self.views().task)

    def task(self, call: Call) -> Reply:
        return 200, self.views().task(self.store.require("tasks", call.params["id"]))

    def time_entries(self, call: Call) -> Reply:
        """timesheets-api/timesheets/time-entries, "List all time entries": user_id, client_id, project_id,
        task_id, external_reference_id, is_billed, is_running, updated_since, from, to."""
        records = list(self.store.tables["time_entries"].values())
        projects = self.store.tables["projects"]
        for name, value_of in (("user_id", lambda r: r["user_id"]), ("project_id", lambda r: r["project_id"]),
                               ("task_id", lambda r: r["task_id"]),
                               ("client_id", lambda r: projects[r["project_id"]]["client_id"])):
            records = _by_int(records, call.query, name, value_of)
        if "external_reference_id" in call.query:
            wanted = call.query["external_reference_id"]
            records = [r for r in records if str((r["external_reference"] or {}).get("id")) == wanted]
        records = _by_bool(_by_bool(records, call.query, "is_billed"), call.query, "is_running")
        records = _updated_since(records, call.query, self.options.updated_since == "inclusive")
        # "from: Only return time entries with a spent_date on or after the given date"; "to": on or before.
        if "from" in call.query:
            start = _date(call.query, "from")
            records = [r for r in records if r["spent_date"] >= start]
        if "to" in call.query:
            end = _date(call.query, "to")
            records = [r for r in records if r["spent_date"] <= end]
        return self._list(call, "time_entries", records, self.views().time_entry, BY_SPENT_DATE)

    def time_entry(self, call: Call) -> Reply:
        return 200, self.views().time_entry(self.store.require("time_entries", call.params["id"]))


def _by_int(records: list[dict], query: dict[str, str], name: str, value_of: Callable[[dict], int]) -> list[dict]:
    if name not in query:
        return records
    try:
        wanted = int(query[name])
    except ValueError:
        raise unprocessable(f"{name} must be an integer id, got {query[name]!r}") from None
    return [r for r in records if value_of(r) == wanted]


def _by_bool(records: list[dict], query: dict[str, str], name: str) -> list[dict]:
    if name not in query:
        return records
    text = query[name].lower()
    if text not in ("true", "false"):
        raise unprocessable(f"{name} must be true or false, got {query[name]!r}")
    return [r for r in records if r[name] is (text == "true")]


def _updated_since(records: list[dict], query: dict[str, str], inclusive: bool) -> list[dict]:
    if "updated_since" not in query:
        return records
    since = parse_since(query["updated_since"])
    if inclusive:
        return [r for r in records if parse_timestamp(r["updated_at"]) >= since]
    return [r for r in records if parse_timestamp(r["updated_at"]) > since]


def parse_since(text: str) -> datetime:
    """`updated_since` as an aware UTC datetime: `2026-11-20T15:00:00Z`, with fractions or an offset, or a date."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise unprocessable(f"updated_since must be an ISO 8601 date and time, got {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _date(query: dict[str, str], name: str) -> str:
    try:
        return parse_date(query[name])
    except ValueError:
        raise unprocessable(f"{name} must be a date (YYYY-MM-DD), got {query[name]!r}") from None
