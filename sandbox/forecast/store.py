"""The simulated Forecast account in memory: tables with sorted indexes, and the rules writes must obey.

Paging and `updated_after`/`date_after` are a bisect plus a slice over a sorted key list, so a request never
scans or copies every row, even at 100k time registrations. Callers hold `ForecastApp.lock`.

The state (`GET /_sandbox/state`, `POST /_sandbox/reset`, `demo.build_demo()`) is one JSON object:

* one list per table in `TABLES`, records as stored (complete field sets; `reset` fills missing optional
  fields with `resources.DEFAULTS`, so `{"id": 1, "person": 11, "task": 5001, "date": "2026-11-02"}` will do);
  workflow columns carry their `project_id`;
* `deleted_tasks`, `deleted_time_registrations`: `{id, deleted_by, deleted_at, record}` (oldest first);
* `project_team`: `{project_id, person_id, project_role, project_contact, created_*, updated_*}`;
* `api_keys` (accepted `X-FORECAST-API-KEY` values), `api_person` (who API writes are attributed to),
  `company`, and `locked_periods` (`{person | null, from, to}`: approved periods that refuse new entries);
* `webhook_subscriptions`: `{id, name, type, event, url, active}` (DOCS-WH; `webhooks.py`).

Every insert, update and delete of a task or time registration is also noted in `changes` (`webhooks.Change`),
which the app takes after each request and hands to the webhook delivery.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable

from sandbox.credentials import FORECAST_API_KEY
from sandbox.forecast.errors import bad_request, not_found
from sandbox.forecast.resources import APPROVAL_STATUSES, APPROVED, with_defaults
from sandbox.forecast.webhooks import Change, change_of

#: Tables of live records, each a list of objects with an integer `id` in `snapshot()`.
TABLES = (
    "clients", "persons", "roles", "non_project_time", "projects", "phases", "workflow_columns", "allocations",
    "tasks", "time_registrations",
)
#: Deleted-item feeds: `{id, deleted_by, deleted_at, record}` where `record` is the row as it was.
DELETED_TABLES = {"deleted_tasks": "tasks", "deleted_time_registrations": "time_registrations"}
#: Everything else `snapshot()` holds.
OTHER_KEYS = ("api_keys", "api_person", "company", "project_team", "locked_periods", "webhook_subscriptions")

#: The person that API-key writes are attributed to (`created_by`, `updated_by`, `deleted_by`) when the data
#: names none. In Forecast a key belongs to the account; the demo uses its first admin.
DEFAULT_API_PERSON = 11

Key = tuple
_AFTER_EVERY_ID = math.inf  # sorts after every integer id: (value, inf) bounds "strictly after value"


class SortedIndex:
    """Keys `(sort value..., id)` kept sorted, so a range read is a bisect and a slice."""

    def __init__(self, key: Callable[[dict], Key]) -> None:
        self._key = key
        self._keys: list[Key] = []

    def rebuild(self, records: Iterable[dict]) -> None:
        """Index `records` from scratch."""
        self._keys = sorted(map(self._key, records))

    def add(self, record: dict) -> None:
        """Index one record (an append when it sorts last, as new ids and fresh timestamps do)."""
        insort(self._keys, self._key(record))

    def remove(self, record: dict) -> None:
        """Forget one record, as indexed by its current values."""
        key = self._key(record)
        position = bisect_left(self._keys, key)
        if position < len(self._keys) and self._keys[position] == key:
            del self._keys[position]

    def slice_after(self, bound: object | None, offset: int = 0, limit: int | None = None) -> tuple[int, list[int]]:
        """(how many keys sort strictly after `bound`, the ids of `limit` of them from `offset`).

        `bound` compares with the first key component; None means from the start.
        """
        start = 0 if bound is None else bisect_right(self._keys, (bound, _AFTER_EVERY_ID))
        total = len(self._keys) - start
        first = start + offset
        last = len(self._keys) if limit is None else first + limit
        return total, [key[-1] for key in self._keys[first:last]]


class GroupIndex:
    """Sorted ids per value of one field (e.g. a person's time registrations)."""

    def __init__(self, field: str) -> None:
        self.field = field
        self._ids: dict[object, list[int]] = {}

    def rebuild(self, records: Iterable[dict]) -> None:
        """Index `records` from scratch."""
        self._ids = {}
        for record in records:
            self._ids.setdefault(record[self.field], []).append(record["id"])
        for ids in self._ids.values():
            ids.sort()

    def add(self, record: dict) -> None:
        """Index one record."""
        insort(self._ids.setdefault(record[self.field], []), record["id"])

    def remove(self, record: dict) -> None:
        """Forget one record."""
        ids = self._ids.get(record[self.field], [])
        position = bisect_left(ids, record["id"])
        if position < len(ids) and ids[position] == record["id"]:
            del ids[position]

    def ids(self, value: object) -> list[int]:
        """Ids with `field == value`, ascending."""
        return list(self._ids.get(value, ()))


def _by_id(record: dict) -> Key:
    return (record["id"],)


def _by_updated(record: dict) -> Key:
    return (record["updated_at"], record["id"])


def _by_date(record: dict) -> Key:
    return (record["date"], record["id"])


def _by_deleted(record: dict) -> Key:
    return (record["deleted_at"], record["id"])


class Table:
    """Records by id, with sorted indexes that every insert, replace and remove keeps up to date."""

    def __init__(self, name: str, sorted_indexes: dict[str, Callable[[dict], Key]],
                 groups: tuple[str, ...] = ()) -> None:
        self.name = name
        self.records: dict[int, dict] = {}
        self.sorted = {index: SortedIndex(key) for index, key in sorted_indexes.items()}
        self.groups = {field: GroupIndex(field) for field in groups}

    def _indexes(self) -> list[SortedIndex | GroupIndex]:
        return [*self.sorted.values(), *self.groups.values()]

    def load(self, records: list[dict]) -> None:
        """Replace every record (already validated and completed with defaults)."""
        self.records = {record["id"]: record for record in records}
        for index in self._indexes():
            index.rebuild(self.records.values())

    def get(self, record_id: int) -> dict | None:
        """The stored record, or None."""
        return self.records.get(record_id)

    def require(self, record_id: int, label: str) -> dict:
        """The stored record, or a 404 naming it."""
        record = self.records.get(record_id)
        if record is None:
            raise not_found(f"{label} {record_id} not found")
        return record

    def insert(self, record: dict) -> None:
        """Add a new record."""
        self.records[record["id"]] = record
        for index in self._indexes():
            index.add(record)

    def replace(self, record: dict) -> None:
        """Swap in a changed copy of a stored record (indexes move with its new values)."""
        self.remove(record["id"])
        self.insert(record)

    def remove(self, record_id: int) -> dict:
        """Take a record out and return it."""
        record = self.records.pop(record_id)
        for index in self._indexes():
            index.remove(record)
        return record

    def in_id_order(self) -> list[dict]:
        """Every record, ascending id."""
        _, ids = self.sorted["id"].slice_after(None)
        return [self.records[record_id] for record_id in ids]


def _check_id(table: str, position: int, record: object) -> int:
    if not isinstance(record, dict):
        raise ValueError(f"{table}[{position}]: expected an object, got {type(record).__name__}")
    record_id = record.get("id")
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        raise ValueError(f"{table}[{position}]: 'id' must be an integer, got {record_id!r}")
    return record_id


class ForecastStore:
    """One Forecast account: the tables, the deleted feeds, the API keys and the approved periods."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {
            name: Table(name, {"id": _by_id, "updated": _by_updated}) for name in TABLES
        }
        self.tables["time_registrations"] = Table(
            "time_registrations", {"id": _by_id, "updated": _by_updated, "date": _by_date}, groups=("person",),
        )
        self.deleted: dict[str, Table] = {name: Table(name, {"deleted": _by_deleted}) for name in DELETED_TABLES}
        self.api_keys: list[str] = [FORECAST_API_KEY]
        self.api_person = DEFAULT_API_PERSON
        self.company: dict = {}
        self.project_team: list[dict] = []
        self.locked_periods: list[dict] = []
        self.webhook_subscriptions = Table("webhook_subscriptions", {"id": _by_id})
        #: Writes to tasks and time registrations since the app last took them (for webhooks).
        self.changes: list[Change] = []
        self._next_ids: dict[str, int] = {}

    # -- whole state -------------------------------------------------------------------------------

    def load(self, data: dict) -> None:
        """Replace everything with `data` (the `snapshot()` shape; missing keys mean empty)."""
        if not isinstance(data, dict):
            raise TypeError("forecast data: expected a JSON object")
        unknown = sorted(set(data) - set(TABLES) - set(DELETED_TABLES) - set(OTHER_KEYS))
        if unknown:
            raise ValueError(f"forecast data: unknown key(s) {unknown}; known: "
                             f"{sorted([*TABLES, *DELETED_TABLES, *OTHER_KEYS])}")
        keys = data.get("api_keys", [FORECAST_API_KEY])
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise ValueError("forecast data: 'api_keys' must be a list of strings")
        for name in TABLES:
            self.tables[name].load(self._completed(name, data.get(name, [])))
        for name in DELETED_TABLES:
            self.deleted[name].load(self._deleted_entries(name, data.get(name, [])))
        self.api_keys = list(keys)
        self.api_person = int(data.get("api_person", DEFAULT_API_PERSON))
        self.company = dict(data.get("company", {}))
        self.project_team = [dict(member) for member in data.get("project_team", [])]
        self.locked_periods = [self._checked_period(period) for period in data.get("locked_periods", [])]
        subscriptions = data.get("webhook_subscriptions", [])
        if not isinstance(subscriptions, list):
            raise ValueError("forecast data: 'webhook_subscriptions' must be a list")
        for position, subscription in enumerate(subscriptions):
            _check_id("webhook_subscriptions", position, subscription)
        self.webhook_subscriptions.load([{"active": True, **record} for record in subscriptions])
        self.changes = []
        self._next_ids = {
            name: 1 + max([0, *self.tables[name].records, *self._deleted_ids(name)]) for name in TABLES
        }
        self._next_ids["webhook_subscriptions"] = 1 + max([0, *self.webhook_subscriptions.records])

    def _completed(self, table: str, records: list) -> list[dict]:
        if not isinstance(records, list):
            raise ValueError(f"forecast data: {table!r} must be a list")
        completed, seen = [], set()
        for position, record in enumerate(records):
            record_id = _check_id(table, position, record)
            if record_id in seen:
                raise ValueError(f"{table}: id {record_id} appears twice")
            seen.add(record_id)
            full = with_defaults(table, record)
            if table == "time_registrations":
                missing = [name for name in ("person", "date") if full.get(name) is None]
                if missing:
                    raise ValueError(f"time_registrations[{position}]: {missing} required")
                if full["billable_minutes_registered"] is None:
                    full["billable_minutes_registered"] = full["time_registered"]
                if full["approval_status"] not in APPROVAL_STATUSES:
                    raise ValueError(f"time_registrations[{position}]: approval_status must be one of "
                                     f"{list(APPROVAL_STATUSES)}")
            completed.append(full)
        return completed

    def _deleted_entries(self, name: str, entries: list) -> list[dict]:
        if not isinstance(entries, list):
            raise ValueError(f"forecast data: {name!r} must be a list")
        checked = []
        for position, entry in enumerate(entries):
            _check_id(name, position, entry)
            if not isinstance(entry.get("deleted_at"), str):
                raise ValueError(f"{name}[{position}]: 'deleted_at' (YYYY-MM-DDTHH:MM:SSZ) is required")
            record = entry.get("record") or {}
            if not isinstance(record, dict):
                raise ValueError(f"{name}[{position}]: 'record' must be an object (the row as it was)")
            full = with_defaults(DELETED_TABLES[name], {**record, "id": entry["id"]})
            checked.append({"deleted_by": None, **entry, "record": full})
        return checked

    def _deleted_ids(self, table: str) -> Iterable[int]:
        for name, source in DELETED_TABLES.items():
            if source == table:
                yield from self.deleted[name].records

    @staticmethod
    def _checked_period(period: dict) -> dict:
        if not isinstance(period, dict) or not {"from", "to"} <= set(period):
            raise ValueError("locked_periods: each needs 'from' and 'to' (YYYY-MM-DD) and optionally 'person'")
        return {"person": period.get("person"), "from": period["from"], "to": period["to"]}

    def snapshot(self) -> dict:
        """Everything, JSON-able, in the shape `load` takes (fresh copies, safe to encode outside the lock)."""
        data: dict = {
            "api_keys": list(self.api_keys),
            "api_person": self.api_person,
            "company": dict(self.company),
        }
        for name in TABLES:
            data[name] = [_copy(record) for record in self.tables[name].in_id_order()]
        data["project_team"] = [dict(member) for member in self.project_team]
        for name in DELETED_TABLES:
            entries = sorted(self.deleted[name].records.values(), key=_by_deleted)
            data[name] = [{**entry, "record": _copy(entry["record"])} for entry in entries]
        data["locked_periods"] = [dict(period) for period in self.locked_periods]
        data["webhook_subscriptions"] = [dict(record) for record in self.webhook_subscriptions.in_id_order()]
        return data

    # -- writes ------------------------------------------------------------------------------------

    def new_id(self, table: str) -> int:
        """The next id; ids are never reused, not even after a delete."""
        record_id = self._next_ids[table]
        self._next_ids[table] = record_id + 1
        return record_id

    def new_webhook_id(self) -> int:
        """The next webhook subscription id (never reused)."""
        return self.new_id("webhook_subscriptions")

    def _note(self, table: str, event: str, before: dict | None, after: dict) -> None:
        change = change_of(table, event, before, after, self.api_person)
        if change is not None:
            self.changes.append(change)

    def take_changes(self) -> list[Change]:
        """The writes noted since the last call, oldest first."""
        changes, self.changes = self.changes, []
        return changes

    def insert(self, table: str, record: dict, stamp: str) -> dict:
        """Store a new record with a fresh id and audit stamp; return it."""
        stored = with_defaults(table, {
            **record, "id": self.new_id(table),
            "created_by": self.api_person, "updated_by": self.api_person, "created_at": stamp, "updated_at": stamp,
        })
        self.tables[table].insert(stored)
        self._note(table, "CREATE", None, stored)
        return stored

    def update(self, table: str, record: dict, changes: dict, stamp: str) -> dict:
        """Apply `changes` to a stored record and bump `updated_at`, even when nothing else changed."""
        updated = {**record, **changes, "updated_by": self.api_person, "updated_at": stamp}
        self.tables[table].replace(updated)
        self._note(table, "UPDATE", record, updated)
        return updated

    def delete(self, table: str, record_id: int, stamp: str) -> dict:
        """Move a record into its deleted feed; return the feed entry."""
        record = self.tables[table].remove(record_id)
        feed = next(name for name, source in DELETED_TABLES.items() if source == table)
        entry = {"id": record_id, "deleted_by": self.api_person, "deleted_at": stamp, "record": record}
        self.deleted[feed].insert(entry)
        self._note(table, "DELETE", None, record)
        return entry

    # -- the rules on time registrations -----------------------------------------------------------

    @staticmethod
    def refuse_if_approved(registration: dict, action: str) -> None:
        """Approved registrations cannot be changed or deleted (400, like the real API's validation)."""
        if registration["approval_status"] == APPROVED:
            raise bad_request(f"Time registration {registration['id']} is approved and cannot be {action}. "
                              "Ask an approver to reopen the period in Forecast first.")

    def refuse_if_period_locked(self, person: int, work_date: str) -> None:
        """New or moved registrations may not land in an approved period."""
        for period in self.locked_periods:
            if period["person"] in (None, person) and period["from"] <= work_date <= period["to"]:
                raise bad_request(
                    f"Time Registration Date is invalid: {work_date} is in an approved period "
                    f"({period['from']} to {period['to']}) for person {person}",
                )

    def set_approval(self, registration_ids: Iterable[int], status: str, stamp: str) -> list[int]:
        """Give registrations an approval status (bumping `updated_at` like any change); return their ids."""
        if status not in APPROVAL_STATUSES:
            raise ValueError(f"approval_status must be one of {list(APPROVAL_STATUSES)}, got {status!r}")
        table = self.tables["time_registrations"]
        changed = []
        for registration_id in registration_ids:
            record = table.get(registration_id)
            if record is None:
                raise ValueError(f"time registration {registration_id} does not exist")
            if record["approval_status"] != status:
                table.replace({**record, "approval_status": status, "updated_at": stamp})
            changed.append(registration_id)
        return changed

    def registrations_of(self, person: int, first: str, last: str) -> list[int]:
        """Ids of a person's registrations dated from `first` to `last` inclusive."""
        table = self.tables["time_registrations"]
        return [rid for rid in table.groups["person"].ids(person) if first <= table.records[rid]["date"] <= last]


def _copy(record: dict) -> dict:
    return {name: list(value) if isinstance(value, list) else value for name, value in record.items()}
