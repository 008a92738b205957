"""The TimeLog demo data: reproducible, consistent with the roster and the Forecast demo, and fast to generate."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest

from sandbox import roster
from sandbox.timelog import demo
from sandbox.timelog.app import TimeLogApp

LARGE = 50_000
#: generate(50_000) must stay well within the benchmark's start-up budget.
LARGE_SECONDS_LIMIT = 10


@pytest.fixture(scope="module")
def data() -> dict:
    return demo.build_demo()


def test_the_demo_is_reproducible(data: dict) -> None:
    assert demo.build_demo() == data
    assert demo.generate(300, 7) == demo.generate(300, 7)
    assert demo.generate(300, 7) != demo.generate(300, 8)


@pytest.mark.parametrize("count", [0, 3, 300, 2000])
def test_generate_gives_exactly_the_registrations_asked_for(count: int) -> None:
    assert len(demo.generate(count, 1)["work_units"]) == count


def test_nothing_comes_from_the_wall_clock(data: dict) -> None:
    stamps = [w[key] for w in data["work_units"] for key in ("created_at", "modified_at", "start_at")]
    stamps += [e["at"] for e in data["change_log"]]
    assert max(datetime.fromisoformat(s) for s in stamps) < datetime.combine(demo.DEMO_TODAY, datetime.min.time())


def test_three_months_of_work_before_today(data: dict) -> None:
    days = sorted({date.fromisoformat(w["start_at"][:10]) for w in data["work_units"]})
    assert days[-1] < demo.DEMO_TODAY
    assert timedelta(days=85) <= demo.DEMO_TODAY - days[0] <= timedelta(days=100)
    assert all(day.weekday() < 5 for day in days)


def test_employees_match_forecast_people_by_email_mostly(data: dict) -> None:
    forecast_emails = {p.email.lower() for p in roster.PEOPLE if p.forecast_id is not None}
    emails = [e["email"] for e in data["employees"]]
    matching = [e for e in emails if e.lower() in forecast_emails]
    assert len(matching) >= len(emails) * 0.7
    assert len(matching) < len(emails)  # TimeLog-only people and the API user
    assert any(e != e.lower() for e in matching)  # case differs on purpose


def test_projects_come_from_the_roster_linked_and_unlinked(data: dict) -> None:
    numbers = {p["no"] for p in data["projects"]}
    assert set(roster.LINKED_PROJECT_NUMBERS) < numbers
    assert numbers - set(roster.LINKED_PROJECT_NUMBERS)
    assert {p["project_id"] for p in data["projects"]} == {
        p.timelog_project_id for p in roster.PROJECTS if p.timelog_project_id}


def test_work_is_consistent_with_allocations_and_tasks(data: dict) -> None:
    allocated = {(a["employee_id"], a["task_id"]) for a in data["allocations"]}
    tasks = {t["task_id"] for t in data["tasks"]}
    assert all((w["employee_id"], w["task_id"]) in allocated for w in data["work_units"])
    assert all(w["task_id"] in tasks for w in data["work_units"])
    assert len({w["guid"] for w in data["work_units"]}) == len(data["work_units"])


def test_the_demo_passes_the_strict_write_rules(data: dict) -> None:
    """Every unit has a description (InsertWork.cs: required) and a second GUID; every task is active, with
    dates in order (ExternalKeysOnProjectAndTasks.cs sets them)."""
    assert all(w["description"].strip() for w in data["work_units"])
    assert all(w["other_guid"] != w["guid"] for w in data["work_units"])
    assert all(t.get("status", 1) in (0, 1, 2) for t in data["tasks"])
    assert all(t["start_date"] <= t["end_date"] for t in data["tasks"])
    generated = demo.generate(300, 7)["work_units"]
    assert all(w["description"].strip() and w["other_guid"] != w["guid"] for w in generated)


def test_descriptions_exercise_xml_and_unicode(data: dict) -> None:
    notes = {w["description"] for w in data["work_units"]}
    assert any("<" in n and "&" in n for n in notes)
    assert any(any(ch in n for ch in "æøåÆØÅ") for n in notes)
    assert any(">" in t["name"] for t in data["tasks"])


def test_some_entries_are_approved_and_the_change_log_has_every_action(data: dict) -> None:
    assert 0 < sum(w["approved_status"] >= 10 for w in data["work_units"]) < len(data["work_units"]) / 10
    actions = {e["action"] for e in data["change_log"]}
    assert actions == {"Created", "Updated", "Deleted"}
    live = {w["guid"] for w in data["work_units"]}
    deleted = {e["work_guid"] for e in data["change_log"] if e["action"] == "Deleted"}
    assert deleted
    assert not deleted & live


def test_snapshot_round_trips(data: dict) -> None:
    app = TimeLogApp(data)
    snapshot = app.snapshot()
    app.reset(snapshot)
    assert app.snapshot() == snapshot


def test_reset_names_bad_fields() -> None:
    app = TimeLogApp({})
    with pytest.raises(ValueError, match=r"work_units\[0\]"):
        app.reset({"work_units": [{"guid": "x", "bogus": 1}]})
    with pytest.raises(ValueError, match="unknown section"):
        app.reset({"time_entries": []})


def test_a_large_set_generates_and_loads_quickly() -> None:
    started = time.perf_counter()
    data = demo.generate(LARGE, 3)
    TimeLogApp(data)
    assert time.perf_counter() - started < LARGE_SECONDS_LIMIT
    assert len(data["work_units"]) == LARGE
