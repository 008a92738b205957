"""The Forecast demo data and the large-set generator: reproducible, consistent, agency-shaped, fast."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from sandbox import roster
from sandbox.common.app import Request
from sandbox.credentials import FORECAST_API_KEY
from sandbox.forecast import demo as forecast_demo
from sandbox.forecast.app import ForecastApp
from sandbox.forecast.store import DELETED_TABLES, OTHER_KEYS, TABLES

#: "A few seconds" on a shared 2-core machine, with room for noise.
GENERATE_100K_SECONDS = 10
#: One page read at 100k rows; a scan-and-copy implementation takes far longer.
PAGE_AT_100K_MS = 50


@pytest.fixture(scope="module")
def demo() -> dict:
    return forecast_demo.build_demo()


def test_demo_is_reproducible_and_seeds_differ(demo: dict) -> None:
    assert forecast_demo.build_demo() == demo
    assert forecast_demo.generate(200, 1) != forecast_demo.generate(200, 2)


def test_demo_has_the_state_shape(demo: dict) -> None:
    assert set(demo) == {*TABLES, *DELETED_TABLES, *OTHER_KEYS}
    app = ForecastApp(demo)
    assert set(app.snapshot()) == set(demo)


def test_demo_is_the_roster_agency(demo: dict) -> None:
    assert sorted(p["id"] for p in demo["projects"]) == sorted(
        p.forecast_id for p in roster.PROJECTS if p.forecast_id)
    assert sorted(p["id"] for p in demo["persons"]) == sorted(p.forecast_id for p in roster.PEOPLE if p.forecast_id)
    assert sorted(c["name"] for c in demo["clients"]) == sorted(roster.CLIENTS)
    assert len(demo["persons"]) == 25
    assert len(demo["projects"]) == 6


def test_demo_tasks_have_sub_tasks_and_assignees(demo: dict) -> None:
    tasks = {t["id"]: t for t in demo["tasks"]}
    assert 140 <= len(tasks) <= 160
    sub_tasks = [t for t in tasks.values() if t["parent_task_id"]]
    assert sub_tasks
    assert all(tasks[t["parent_task_id"]]["project_id"] == t["project_id"] for t in sub_tasks)
    assert all(t["assigned_persons"] for t in tasks.values())


def test_demo_registrations_cover_three_months_before_the_reference_date(demo: dict) -> None:
    entries = demo["time_registrations"]
    assert 2800 <= len(entries) <= 3200
    dates = sorted(date.fromisoformat(r["date"]) for r in entries)
    assert dates[-1] <= forecast_demo.DEMO_TODAY
    assert timedelta(days=75) <= forecast_demo.DEMO_TODAY - dates[0] <= timedelta(days=100)
    last_stamp = f"{forecast_demo.DEMO_TODAY.isoformat()}T23:59:59Z"
    assert all(r["created_at"] <= r["updated_at"] <= last_stamp for r in entries)


def test_demo_registrations_reference_existing_things(demo: dict) -> None:
    ids = {name: {r["id"] for r in demo[name]} for name in ("persons", "tasks", "projects", "non_project_time")}
    for entry in demo["time_registrations"]:
        assert entry["person"] in ids["persons"]
        targets = [(k, entry[k]) for k in ("task", "project", "non_project_time") if entry[k] is not None]
        assert len(targets) == 1
        kind, target = targets[0]
        assert target in ids["tasks" if kind == "task" else "projects" if kind == "project" else kind]


def test_demo_has_every_kind_of_entry_and_awkward_notes(demo: dict) -> None:
    entries = demo["time_registrations"]
    assert any(r["project"] for r in entries)
    assert any(r["non_project_time"] for r in entries)
    approved = [r for r in entries if r["approval_status"] == "APPROVED"]
    assert 0 < len(approved) < len(entries) // 10
    notes = "".join(r["notes"] for r in entries)
    for character in ("æ", "ø", "å", "<", "&", '"', "'", "🚀"):
        assert character in notes, character
    assert demo["deleted_time_registrations"]
    assert demo["deleted_tasks"]


def test_approved_entries_lie_in_locked_periods(demo: dict) -> None:
    periods = demo["locked_periods"]
    for entry in (r for r in demo["time_registrations"] if r["approval_status"] == "APPROVED"):
        assert any(p["person"] == entry["person"] and p["from"] <= entry["date"] <= p["to"] for p in periods)


def test_generating_100k_is_fast_and_pages_stay_cheap() -> None:
    started = time.perf_counter()
    data = forecast_demo.generate(100_000, 5)
    assert time.perf_counter() - started < GENERATE_100K_SECONDS
    assert len(data["time_registrations"]) == 100_000
    app = ForecastApp(data)
    headers = {"x-forecast-api-key": FORECAST_API_KEY}
    paths = ["/api/v4/time_registrations/updated_after/20261101T000000?pageSize=100&pageNumber=5",
             "/api/v4/time_registrations?pageSize=100&pageNumber=900",
             "/api/v4/time_registrations/date_after/20250101?pageSize=100&pageNumber=50"]
    for path in paths:
        started = time.perf_counter()
        response = app.handle(Request("GET", path, headers))
        assert response.status == 200
        assert (time.perf_counter() - started) * 1000 < PAGE_AT_100K_MS, path
