"""Time entry writes (POST, PATCH, DELETE /v2/time_entries) and the control API's approvals and invoicing.

Doc page: https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/ . The account tracks time
by duration (`wants_timestamp_timers` false), so entries are created "via duration"; `started_time` and
`ended_time` are refused (the docs: use that method only on accounts that track start and end times).
Refusals are 422 `{"message": ...}` naming the problem; the docs give no texts, so ours are our own.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sandbox.common.clock import parse_date
from sandbox.harvest.api import Call, Reply
from sandbox.harvest.errors import unprocessable
from sandbox.harvest.options import HarvestOptions
from sandbox.harvest.store import HarvestStore
from sandbox.harvest.views import Views

#: What PATCH may change ("Update a time entry"); started_time/ended_time are refused in a duration account.
UPDATABLE = ("project_id", "task_id", "spent_date", "hours", "notes", "external_reference")
TIMESTAMP_FIELDS = ("started_time", "ended_time")
#: "An object containing the id, group_id, account_id, and permalink of the external reference."
EXTERNAL_REFERENCE_FIELDS = ("id", "group_id", "account_id", "permalink")
LOCK_STATES = ("approved", "invoiced", "open")


class TimeEntryWrites:
    """Create, update and delete time entries as the token's user would, and lock them for the control API."""

    def __init__(self, store: HarvestStore, options: HarvestOptions) -> None:
        self.store = store
        self.options = options

    def create_time_entry(self, call: Call) -> Reply:
        """"Create a time entry via duration": project_id, task_id, spent_date required; user_id defaults to the
        token's user; without `hours` the entry is a running timer at 0.0 hours."""
        body = call.body
        _refuse_timestamps(body)
        missing = [name for name in ("project_id", "task_id", "spent_date") if body.get(name) in (None, "")]
        if missing:
            raise unprocessable(f"Missing required parameter(s): {', '.join(missing)}")
        entry = {
            "id": self.store.next_id("time_entries"),
            "user_id": _int(body.get("user_id", call.user_id), "user_id"),
            "project_id": _int(body["project_id"], "project_id"), "task_id": _int(body["task_id"], "task_id"),
            "spent_date": _spent_date(body["spent_date"]), "notes": _notes(body.get("notes")),
            "external_reference": _external_reference(body.get("external_reference")),
            "is_closed": False, "is_billed": False, "invoice": None, "started_time": None, "ended_time": None,
            "created_at": call.stamp, "updated_at": call.stamp,
        }
        running = body.get("hours") in (None, "")
        entry |= {"hours": 0.0 if running else _hours(body["hours"]), "is_running": running,
                  "timer_started_at": call.stamp if running else None}
        self._check_assignable(entry)
        self._price(entry)
        self.store.tables["time_entries"][entry["id"]] = entry
        return 201, Views(self.store, self.options.rounding_minutes).time_entry(entry)

    def update_time_entry(self, call: Call) -> Reply:
        """"Update a time entry": "Any parameters not provided will be left unchanged". `updated_at` moves only
        when a value really changes (a PATCH that changes nothing is no update)."""
        entry = self.store.require("time_entries", call.params["id"])
        _refuse_timestamps(call.body)
        self._check_editable(entry)
        changed = dict(entry)
        parse = {"project_id": lambda v: _int(v, "project_id"), "task_id": lambda v: _int(v, "task_id"),
                 "spent_date": _spent_date, "hours": _hours, "notes": _notes,
                 "external_reference": _external_reference}
        for name in UPDATABLE:
            if name in call.body:
                changed[name] = parse[name](call.body[name])
        if changed["hours"] != entry["hours"] and entry["is_running"]:
            raise unprocessable("Stop the running timer before setting hours")
        if any(changed[f] != entry[f] for f in ("project_id", "task_id", "spent_date")):
            self._check_assignable(changed)
            self._price(changed)
        if changed != entry:
            changed["updated_at"] = call.stamp
            self.store.tables["time_entries"][entry["id"]] = changed
        return 200, Views(self.store, self.options.rounding_minutes).time_entry(changed)

    def delete_time_entry(self, call: Call) -> Reply:
        """"Deleting a time entry is only possible if it's not closed and the associated project and task haven't
        been archived." Returns 200 OK (the docs show no body). Nothing of it remains: Harvest has no deleted feed."""
        entry = self.store.require("time_entries", call.params["id"])
        self._check_editable(entry)
        project = self.store.tables["projects"][entry["project_id"]]
        task = self.store.tables["tasks"][entry["task_id"]]
        if not (project["is_active"] and task["is_active"]):
            raise unprocessable("Time entries of archived projects or tasks cannot be deleted")
        del self.store.tables["time_entries"][entry["id"]]
        return 200, None

    # -- rules ---------------------------------------------------------------------------------------

    def _check_editable(self, entry: dict) -> None:
        """Invoiced entries stay locked; approved ones too unless `admin_edits_approved` (options.py)."""
        if entry["is_billed"]:
            raise unprocessable("This time entry has been invoiced and is locked")
        if entry["is_closed"] and not self.options.admin_edits_approved:
            raise unprocessable("This time entry has been approved and is locked")

    def _check_assignable(self, entry: dict) -> None:
        """The user, project and task exist and are active, the user and the task are assigned to the project,
        and no approved period covers the date ("approving a week locks the entire week", support article
        "How to unlock a timesheet")."""
        tables = self.store.tables
        for table, name in (("users", "user_id"), ("projects", "project_id"), ("tasks", "task_id")):
            record = tables[table].get(entry[name])
            if record is None:
                raise unprocessable(f"{name} {entry[name]} does not exist")
            if not record["is_active"]:
                raise unprocessable(f"{name} {entry[name]} is archived")
        for table, name in (("user_assignments", "user_id"), ("task_assignments", "task_id")):
            assignment = self.store.assignment(table, entry["project_id"], name, entry[name])
            if assignment is None or not assignment["is_active"]:
                raise unprocessable(f"{name} {entry[name]} is not assigned to project {entry['project_id']}")
        if self.store.in_locked_period(entry["user_id"], entry["spent_date"]):
            raise unprocessable(f"{entry['spent_date']} is in an approved period and is locked")

    def _price(self, entry: dict) -> None:
        """billable, billable_rate, cost_rate and budgeted from the project, its assignments and the user."""
        project = self.store.tables["projects"][entry["project_id"]]
        user = self.store.tables["users"][entry["user_id"]]
        task_assignment = self.store.assignment("task_assignments", entry["project_id"], "task_id", entry["task_id"])
        user_assignment = self.store.assignment("user_assignments", entry["project_id"], "user_id",
                                                entry["user_id"])
        billable = bool(project["is_billable"] and task_assignment and task_assignment["billable"])
        rate = {"Project": project["hourly_rate"], "Tasks": (task_assignment or {}).get("hourly_rate"),
                "People": (user["default_hourly_rate"] if not user_assignment or user_assignment["use_default_rates"]
                           else user_assignment["hourly_rate"])}.get(project["bill_by"])
        entry |= {"billable": billable, "billable_rate": rate if billable else None, "cost_rate": user["cost_rate"],
                  "budgeted": project["budget_by"] != "none"}

    # -- control API ---------------------------------------------------------------------------------

    def lock(self, spec: dict, stamp: str) -> dict:
        """`POST /_sandbox/lock` (README "Control API"): approve, invoice or reopen entries or a period."""
        if not isinstance(spec, dict):
            raise TypeError("lock: expected a JSON object")
        state = spec.get("state", "approved")
        if state not in LOCK_STATES:
            raise ValueError(f"lock: state must be one of {list(LOCK_STATES)}, got {state!r}")
        period = None
        if "time_entry_ids" in spec:
            ids = spec["time_entry_ids"]
            if not isinstance(ids, list) or any(i not in self.store.tables["time_entries"] for i in ids):
                raise ValueError("lock: time_entry_ids must list existing time entry ids")
        elif {"from", "to"} <= set(spec) and state != "invoiced":
            period = {"user_id": spec.get("user_id"), "from": parse_date(spec["from"]), "to": parse_date(spec["to"])}
            ids = [e["id"] for e in self.store.tables["time_entries"].values()
                   if period["user_id"] in (None, e["user_id"]) and period["from"] <= e["spent_date"] <= period["to"]]
            if state == "approved":
                self.store.locked_periods.append(period)
            elif period in self.store.locked_periods:
                self.store.locked_periods.remove(period)
        else:
            raise ValueError('lock: give {"time_entry_ids": [...]} or {"user_id"?: id, "from": "YYYY-MM-DD", '
                             '"to": "YYYY-MM-DD"} (periods are approved or reopened, not invoiced)')
        invoice = spec.get("invoice", {"id": 1, "number": "1"}) if state == "invoiced" else None
        changed = []
        for entry_id in sorted(ids):
            entry = self.store.tables["time_entries"][entry_id]
            new = {"is_closed": state == "approved" or (entry["is_closed"] and state == "invoiced"),
                   "is_billed": state == "invoiced", "invoice": invoice}
            if any(entry[k] != v for k, v in new.items()):
                entry |= new | {"updated_at": stamp}
                changed.append(entry_id)
        return {"state": state, "time_entry_ids": changed, "period": period}


def _refuse_timestamps(body: dict) -> None:
    given = [name for name in TIMESTAMP_FIELDS if name in body]
    if given:
        raise unprocessable(f"This account tracks time via duration; {', '.join(given)} cannot be set")


def _int(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise unprocessable(f"{name} must be an integer id, got {value!r}")
    try:
        return int(str(value))
    except ValueError:
        raise unprocessable(f"{name} must be an integer id, got {value!r}") from None


def _spent_date(value: object) -> str:
    try:
        return parse_date(value)
    except (ValueError, TypeError):
        raise unprocessable(f"spent_date must be an ISO 8601 date (YYYY-MM-DD), got {value!r}") from None


def _hours(value: object) -> float:
    """A decimal number of hours, 0 or more, kept to two decimals as the API shows them (README "Hours")."""
    if isinstance(value, bool):
        raise unprocessable(f"hours must be a decimal number, got {value!r}")
    try:
        hours = Decimal(str(value))
    except InvalidOperation:
        raise unprocessable(f"hours must be a decimal number, got {value!r}") from None
    if not hours.is_finite() or hours < 0:
        raise unprocessable(f"hours must be 0 or more, got {value!r}")
    return float(hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _notes(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise unprocessable(f"notes must be text, got {value!r}")
    return value


def _external_reference(value: object) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get("id"):
        raise unprocessable("external_reference must be an object with an id (and group_id, account_id, permalink)")
    reference = {name: value.get(name) for name in EXTERNAL_REFERENCE_FIELDS}
    reference["id"] = str(reference["id"])
    # The time entry object adds "service, and service_icon_url"; Harvest derives them from the permalink's host.
    host = str(reference.get("permalink") or "").split("/")[2:3]
    reference["service"] = host[0] if host else None
    reference["service_icon_url"] = None
    return reference
