"""Harvest simulator writes: time entries created, edited and deleted as a person would, locks and approvals."""

from __future__ import annotations

import pytest

from sandbox.harvest.app import HarvestApp
from sandbox.testing import FakeClock
from tests.sandbox.harvest_helpers import HarvestClient, make_app, status_and_body


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(harvest_demo: dict, clock: FakeClock) -> HarvestApp:
    return make_app(harvest_demo, clock)


@pytest.fixture
def harvest_client(app: HarvestApp) -> HarvestClient:
    """A client of this module's `app`, whose clock the tests move."""
    return HarvestClient(app)


def _open_slot(data: dict) -> dict:
    """A user, project and task that may take new time: both assigned, the user in no approved period."""
    locked_users = {p["user_id"] for p in data["locked_periods"]}
    assignment = next(a for a in data["user_assignments"] if a["user_id"] not in locked_users)
    task = next(a for a in data["task_assignments"] if a["project_id"] == assignment["project_id"])
    return {"user_id": assignment["user_id"], "project_id": assignment["project_id"], "task_id": task["task_id"],
            "spent_date": "2026-11-24"}


def _open_entry(data: dict) -> dict:
    return next(e for e in reversed(data["time_entries"]) if not e.get("is_closed") and not e.get("is_billed"))


def test_create_via_duration(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    body = _open_slot(harvest_demo) | {"hours": 1.5, "notes": "Møde 🚀"}
    status, entry = status_and_body(harvest_client.call("POST", "/v2/time_entries", json_body=body))
    assert status == 201
    assert (entry["hours"], entry["notes"], entry["is_running"], entry["timer_started_at"]) == (1.5, "Møde 🚀", False,
                                                                                                None)
    assert entry["created_at"] == entry["updated_at"] == "2026-11-25T12:00:00Z"
    assert entry["user_assignment"]
    assert entry["task_assignment"]
    assert harvest_client.get(f"/v2/time_entries/{entry['id']}") == entry
    assert entry["id"] > max(e["id"] for e in harvest_demo["time_entries"])


def test_create_without_hours_starts_a_timer(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    status, entry = status_and_body(harvest_client.call("POST", "/v2/time_entries", json_body=_open_slot(harvest_demo)))
    assert status == 201
    assert (entry["hours"], entry["is_running"], entry["timer_started_at"]) == (0.0, True, "2026-11-25T12:00:00Z")
    running = harvest_client.get("/v2/time_entries", {"is_running": "true"})["time_entries"]
    assert [e["id"] for e in running] == [entry["id"]]


def test_form_data_works_like_json(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    response = harvest_client.call("POST", "/v2/time_entries", form=_open_slot(harvest_demo) | {"hours": "0.75"})
    assert status_and_body(response)[1]["hours"] == 0.75


def test_create_defaults_to_the_tokens_user(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    admin = harvest_demo["users"][0]["id"]
    assignment = next(a for a in harvest_demo["user_assignments"] if a["user_id"] == admin)
    task = next(a for a in harvest_demo["task_assignments"] if a["project_id"] == assignment["project_id"])
    body = {"project_id": assignment["project_id"], "task_id": task["task_id"], "spent_date": "2026-11-24",
            "hours": 1}
    assert status_and_body(harvest_client.call("POST", "/v2/time_entries", json_body=body))[1]["user"]["id"] == admin


@pytest.mark.parametrize(("change", "words"), [
    ({"project_id": None}, "project_id"), ({"spent_date": "24-11-2026"}, "spent_date"), ({"hours": -1}, "hours"),
    ({"hours": "lots"}, "hours"), ({"task_id": 1}, "does not exist"), ({"started_time": "8:00am"}, "duration"),
])
def test_create_refusals_are_422(harvest_client: HarvestClient, harvest_demo: dict, change: dict, words: str) -> None:
    body = {k: v for k, v in (_open_slot(harvest_demo) | {"hours": 1} | change).items() if v is not None}
    status, answer = status_and_body(harvest_client.call("POST", "/v2/time_entries", json_body=body))
    assert status == 422
    assert words in answer["message"]


def test_unassigned_tasks_and_approved_periods_are_refused(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    slot = _open_slot(harvest_demo) | {"hours": 1}
    assigned = {a["task_id"] for a in harvest_demo["task_assignments"] if a["project_id"] == slot["project_id"]}
    other_task = next(t["id"] for t in harvest_demo["tasks"] if t["id"] not in assigned)
    assert "not assigned" in status_and_body(harvest_client.call("POST", "/v2/time_entries",
                                                         json_body=slot | {"task_id": other_task}))[1]["message"]
    period = harvest_demo["locked_periods"][0]
    assignment = next(a for a in harvest_demo["user_assignments"] if a["user_id"] == period["user_id"])
    task = next(a for a in harvest_demo["task_assignments"] if a["project_id"] == assignment["project_id"])
    locked = {"user_id": period["user_id"], "project_id": assignment["project_id"], "task_id": task["task_id"],
              "spent_date": period["from"], "hours": 1}
    answer = status_and_body(harvest_client.call("POST", "/v2/time_entries", json_body=locked))[1]
    assert "approved period" in answer["message"]


def test_patch_changes_only_what_it_names_and_stamps_a_real_change(harvest_client: HarvestClient, harvest_demo: dict,
                                                                   clock: FakeClock) -> None:
    entry = _open_entry(harvest_demo)
    clock.tick(60)
    same = harvest_client.call("PATCH", f"/v2/time_entries/{entry['id']}", json_body={"notes": entry["notes"]})
    assert status_and_body(same)[1]["updated_at"] == entry["updated_at"]
    changed = status_and_body(harvest_client.call("PATCH", f"/v2/time_entries/{entry['id']}",
                                          json_body={"hours": 2.345, "notes": "new"}))[1]
    assert (changed["hours"], changed["notes"], changed["spent_date"]) == (2.35, "new", entry["spent_date"])
    assert changed["updated_at"] == "2026-11-25T12:01:00Z"
    later = harvest_client.get("/v2/time_entries", {"updated_since": entry["updated_at"]})["time_entries"]
    assert entry["id"] in [e["id"] for e in later]


def test_locked_entries_refuse_edits_and_deletes(harvest_demo: dict) -> None:
    approved = next(e for e in harvest_demo["time_entries"] if e.get("is_closed") and not e.get("is_billed"))
    invoiced = next(e for e in harvest_demo["time_entries"] if e.get("is_billed"))
    strict = HarvestClient(make_app(harvest_demo))
    for entry in (approved, invoiced):
        assert strict.call("PATCH", f"/v2/time_entries/{entry['id']}", json_body={"notes": "x"}).status == 422
        assert strict.call("DELETE", f"/v2/time_entries/{entry['id']}").status == 422
    admin = HarvestClient(make_app(harvest_demo, admin_edits_approved=True))
    assert admin.call("PATCH", f"/v2/time_entries/{approved['id']}", json_body={"notes": "x"}).status == 200
    assert admin.call("DELETE", f"/v2/time_entries/{invoiced['id']}").status == 422


def test_a_deleted_entry_is_gone_without_a_trace(harvest_client: HarvestClient, app: HarvestApp,
                                                 harvest_demo: dict) -> None:
    entry = _open_entry(harvest_demo)
    response = harvest_client.call("DELETE", f"/v2/time_entries/{entry['id']}")
    assert (response.status, response.body) == (200, b"")
    assert harvest_client.call("GET", f"/v2/time_entries/{entry['id']}").status == 404
    since = harvest_client.get("/v2/time_entries", {"updated_since": "2000-01-01T00:00:00Z"})["time_entries"]
    assert entry["id"] not in {e["id"] for e in since}
    assert str(entry["id"]) not in str(app.snapshot())


def test_the_control_api_approves_invoices_and_reopens(app: HarvestApp, harvest_client: HarvestClient,
                                                       harvest_demo: dict, clock: FakeClock) -> None:
    entry = _open_entry(harvest_demo)
    clock.tick(5)
    assert app.lock_period({"time_entry_ids": [entry["id"]]})["time_entry_ids"] == [entry["id"]]
    shown = harvest_client.get(f"/v2/time_entries/{entry['id']}")
    assert (shown["is_closed"], shown["is_locked"], shown["updated_at"]) == (True, True, "2026-11-25T12:00:05Z")
    app.lock_period({"time_entry_ids": [entry["id"]], "state": "invoiced", "invoice": {"id": 9, "number": "9"}})
    assert harvest_client.get(f"/v2/time_entries/{entry['id']}")["invoice"] == {"id": 9, "number": "9"}
    app.lock_period({"time_entry_ids": [entry["id"]], "state": "open"})
    assert harvest_client.get(f"/v2/time_entries/{entry['id']}")["is_locked"] is False
    slot = _open_slot(harvest_demo)
    result = app.lock_period({"user_id": slot["user_id"], "from": "2026-11-23", "to": "2026-11-29"})
    assert result["period"] == {"user_id": slot["user_id"], "from": "2026-11-23", "to": "2026-11-29"}
    assert harvest_client.call("POST", "/v2/time_entries", json_body=slot | {"hours": 1}).status == 422
    app.lock_period({"user_id": slot["user_id"], "from": "2026-11-23", "to": "2026-11-29", "state": "open"})
    assert harvest_client.call("POST", "/v2/time_entries", json_body=slot | {"hours": 1}).status == 201
    with pytest.raises(ValueError, match="state"):
        app.lock_period({"time_entry_ids": [], "state": "frozen"})


def test_a_deleted_id_is_never_given_again(harvest_client: HarvestClient, app: HarvestApp, harvest_demo: dict) -> None:
    newest = max(e["id"] for e in harvest_demo["time_entries"])
    assert harvest_client.call("DELETE", f"/v2/time_entries/{newest}").status == 200
    created = status_and_body(harvest_client.call("POST", "/v2/time_entries",
                                                  json_body=_open_slot(harvest_demo) | {"hours": 1}))[1]
    assert created["id"] == newest + 1
    app.reset(app.snapshot())  # the counter is part of the state
    again = status_and_body(harvest_client.call("POST", "/v2/time_entries",
                                                json_body=_open_slot(harvest_demo) | {"hours": 1}))[1]
    assert again["id"] == newest + 2
