"""Harvest simulator reads: documented fields and types, list filters, updated_since and error bodies."""

from __future__ import annotations

import re

import pytest

from sandbox.harvest import demo
from sandbox.harvest.resources import LOCKED_APPROVED, LOCKED_INVOICED_AND_APPROVED
from sandbox.testing import FakeClock
from tests.sandbox.harvest_helpers import HarvestClient, make_app, status_and_body

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
#: "The time entry object" (timesheets-api/timesheets/time-entries), every attribute.
TIME_ENTRY_FIELDS = {
    "id", "spent_date", "user", "user_assignment", "client", "project", "task", "task_assignment",
    "external_reference", "invoice", "hours", "hours_without_timer", "rounded_hours", "notes", "is_locked",
    "locked_reason", "is_closed", "is_billed", "timer_started_at", "started_time", "ended_time", "is_running",
    "billable", "budgeted", "billable_rate", "cost_rate", "created_at", "updated_at",
}
#: The other objects' attribute tables (users, projects, tasks, task and user assignments, project assignments).
FIELDS = {
    "users": {"id", "first_name", "last_name", "email", "telephone", "timezone", "has_access_to_all_future_projects",
              "is_contractor", "is_active", "weekly_capacity", "default_hourly_rate", "cost_rate", "roles",
              "access_roles", "avatar_url", "created_at", "updated_at"},
    "projects": {"id", "client", "name", "code", "is_active", "is_billable", "is_fixed_fee", "bill_by", "hourly_rate",
                 "budget", "budget_by", "budget_is_monthly", "notify_when_over_budget",
                 "over_budget_notification_percentage", "over_budget_notification_date", "show_budget_to_all",
                 "cost_budget", "cost_budget_include_expenses", "fee", "notes", "starts_on", "ends_on", "created_at",
                 "updated_at"},
    "tasks": {"id", "name", "billable_by_default", "default_hourly_rate", "is_default", "is_active", "created_at",
              "updated_at"},
    "task_assignments": {"id", "project", "task", "is_active", "billable", "hourly_rate", "budget", "created_at",
                         "updated_at"},
    "user_assignments": {"id", "project", "user", "is_active", "is_project_manager", "use_default_rates",
                         "hourly_rate", "budget", "created_at", "updated_at"},
}


def test_a_time_entry_has_every_documented_field_with_its_type(harvest_client: HarvestClient) -> None:
    entries = harvest_client.get("/v2/time_entries")["time_entries"]
    for entry in entries:
        assert set(entry) == TIME_ENTRY_FIELDS
        assert isinstance(entry["id"], int)
        assert not isinstance(entry["hours"], bool)
        assert isinstance(entry["hours"], float)
        assert round(entry["hours"], 2) == entry["hours"]
        assert TIMESTAMP.match(entry["created_at"])
        assert TIMESTAMP.match(entry["updated_at"])
        assert set(entry["user"]) == {"id", "name"}
        assert set(entry["task"]) == {"id", "name"}
        assert set(entry["client"]) == {"id", "name", "currency"}
        assert set(entry["project"]) == {"id", "name", "code"}
        assert set(entry["user_assignment"]) == {"id", "is_project_manager", "is_active", "budget", "created_at",
                                                 "updated_at", "hourly_rate"}
        assert entry["is_locked"] == (entry["locked_reason"] is not None) == (entry["is_closed"] or entry["is_billed"])
    reasons = {e["locked_reason"] for e in entries}
    assert {LOCKED_APPROVED, None} <= reasons
    billed = [e for e in entries if e["is_billed"]]
    assert billed
    assert all(e["invoice"] == {"id": demo.INVOICE_ID, "number": "1001"} for e in billed)
    assert any(e["locked_reason"] == LOCKED_INVOICED_AND_APPROVED for e in billed)


@pytest.mark.parametrize(("path", "key"), [("/v2/users", "users"), ("/v2/projects", "projects"),
                                           ("/v2/tasks", "tasks"), ("/v2/task_assignments", "task_assignments"),
                                           ("/v2/user_assignments", "user_assignments")])
def test_other_objects_have_their_documented_fields(harvest_client: HarvestClient, path: str, key: str) -> None:
    records = harvest_client.get(path)[key]
    assert records
    assert all(set(record) == FIELDS[key] for record in records)


def test_project_assignments_nest_client_and_tasks(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    user = harvest_demo["users"][0]
    body = harvest_client.get(f"/v2/users/{user['id']}/project_assignments")
    mine = [a for a in harvest_demo["user_assignments"] if a["user_id"] == user["id"]]
    assert sorted(a["id"] for a in body["project_assignments"]) == sorted(a["id"] for a in mine)
    for assignment in body["project_assignments"]:
        assert set(assignment["client"]) == {"id", "name"}
        expected = {a["id"] for a in harvest_demo["task_assignments"] if a["project_id"] == assignment["project"]["id"]}
        assert {t["id"] for t in assignment["task_assignments"]} == expected
        assert all(set(t) == FIELDS["task_assignments"] - {"project"} for t in assignment["task_assignments"])
    mine_again = harvest_client.get("/v2/users/me/project_assignments")
    assert mine_again["project_assignments"] == body["project_assignments"]


def test_time_entry_filters(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    entries = harvest_demo["time_entries"]
    sample = entries[len(entries) // 2]
    project_client = {p["id"]: p["client_id"] for p in harvest_demo["projects"]}
    cases = {
        "user_id": lambda e: e["user_id"] == sample["user_id"],
        "project_id": lambda e: e["project_id"] == sample["project_id"],
        "task_id": lambda e: e["task_id"] == sample["task_id"],
        "client_id": lambda e: project_client[e["project_id"]] == project_client[sample["project_id"]],
    }
    for name, keep in cases.items():
        value = project_client[sample["project_id"]] if name == "client_id" else sample[name]
        got = {e["id"] for e in harvest_client.get("/v2/time_entries", {name: value})["time_entries"]}
        assert got == {e["id"] for e in entries if keep(e)}, name
    window = harvest_client.get("/v2/time_entries", {"from": "2026-10-01", "to": "2026-10-31"})["time_entries"]
    assert {e["id"] for e in window} == {e["id"] for e in entries if "2026-10-01" <= e["spent_date"] <= "2026-10-31"}
    billed = harvest_client.get("/v2/time_entries", {"is_billed": "true"})["time_entries"]
    assert billed
    assert all(e["is_billed"] for e in billed)
    assert harvest_client.get("/v2/time_entries", {"is_running": "true"})["total_entries"] == 0
    reference = next(e for e in entries if e.get("external_reference"))
    wanted = {"external_reference_id": reference["external_reference"]["id"]}
    by_reference = harvest_client.get("/v2/time_entries", wanted)
    assert [e["id"] for e in by_reference["time_entries"]] == [reference["id"]]


@pytest.mark.parametrize(("reading", "at_bookmark"), [("exclusive", False), ("inclusive", True)])
def test_updated_since_either_reading(harvest_demo: dict, reading: str, at_bookmark: bool) -> None:
    client = HarvestClient(make_app(harvest_demo, updated_since=reading))
    newest = max(e["updated_at"] for e in harvest_demo["time_entries"])
    later = client.get("/v2/time_entries", {"updated_since": newest})["time_entries"]
    assert [e["updated_at"] for e in later] == ([newest] if at_bookmark else [])
    # tap-harvest's bookmarks carry microseconds; offsets and bare dates parse too.
    micro = newest.replace("Z", ".000000Z")
    assert client.get("/v2/time_entries", {"updated_since": micro})["total_entries"] == len(later)
    offset = newest.replace("Z", "+00:00")
    assert client.get("/v2/time_entries", {"updated_since": offset})["total_entries"] == len(later)
    assert client.get("/v2/users", {"updated_since": "2026-01-01"})["total_entries"] == len(harvest_demo["users"])


@pytest.mark.parametrize("params", [{"updated_since": "yesterday"}, {"from": "2026-13-01"}, {"user_id": "me"},
                                    {"is_running": "yes"}])
def test_bad_filters_are_422_with_a_message(harvest_client: HarvestClient, params: dict) -> None:
    status, body = status_and_body(harvest_client.call("GET", "/v2/time_entries", params))
    assert status == 422
    assert set(body) == {"message"}


def test_not_found_and_wrong_method_bodies(harvest_client: HarvestClient) -> None:
    not_found = (404, {"status": 404, "error": "Not Found"})
    assert status_and_body(harvest_client.call("GET", "/v2/time_entries/1")) == not_found
    assert status_and_body(harvest_client.call("GET", "/v2/invoices")) == not_found
    assert status_and_body(harvest_client.call("PUT", "/v2/time_entries/1"))[0] == 405


def test_single_records(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    entry, project = harvest_demo["time_entries"][0], harvest_demo["projects"][0]
    assert harvest_client.get(f"/v2/time_entries/{entry['id']}")["id"] == entry["id"]
    assert harvest_client.get(f"/v2/projects/{project['id']}")["client"]["id"] == project["client_id"]
    assignment = next(a for a in harvest_demo["task_assignments"] if a["project_id"] == project["id"])
    path = f"/v2/projects/{project['id']}/task_assignments/{assignment['id']}"
    assert harvest_client.get(path)["id"] == assignment["id"]
    other = harvest_demo["projects"][1]["id"]
    assert harvest_client.call("GET", f"/v2/projects/{other}/task_assignments/{assignment['id']}").status == 404
    scoped = harvest_client.get(f"/v2/projects/{project['id']}/user_assignments")["user_assignments"]
    expected = {a["id"] for a in harvest_demo["user_assignments"] if a["project_id"] == project["id"]}
    assert {a["id"] for a in scoped} == expected


def test_rounded_hours_follow_the_rounding_option(harvest_demo: dict) -> None:
    client = HarvestClient(make_app(harvest_demo, FakeClock(), rounding_minutes=15))
    entry = next(e for e in client.get("/v2/time_entries")["time_entries"] if e["hours"] == 0.33)
    assert entry["rounded_hours"] == 0.5
