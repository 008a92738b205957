"""Which documented fields the Forecast simulator shows: by default (strict) only what the docs' samples show.

`fields="samples"` (the default) leaves out what the docs' sample responses leave out (`SAMPLE_OMISSIONS`,
e.g. a task's `estimate`) and keeps nullable fields as `null`; `fields="tables"` shows every table field.
"""

from __future__ import annotations

import json

import pytest
import requests

from sandbox.__main__ import main
from sandbox.common.app import Request
from sandbox.credentials import FORECAST_API_KEY
from sandbox.forecast.app import ForecastApp
from sandbox.forecast.demo import build_demo
from sandbox.forecast.resources import (
    COMPANY_FIELDS,
    PHASE_FIELDS,
    PROJECT_FIELDS,
    SAMPLE_OMISSIONS,
    TASK_FIELDS,
    TIME_REGISTRATION_V3_FIELDS,
    TIME_REGISTRATION_V4_FIELDS,
    Shapes,
)
from sandbox.testing import SandboxProcess

TASK_READS = ["/api/v4/tasks", "/api/v4/tasks/updated_after/20200101T000000", "/api/v3/tasks",
              "/api/v3/tasks/updated_after/20200101T000000", "/api/v3/projects/101/tasks", "/api/v3/tasks/5001",
              "/api/v3/tasks/company_task_id/1", "/api/v3/tasks/5001/children"]
REGISTRATION_V4_READS = ["/api/v4/time_registrations", "/api/v4/time_registrations/updated_after/20200101T000000",
                         "/api/v4/time_registrations/date_after/20200101"]
REGISTRATION_V3_READS = ["/api/v3/time_registrations", "/api/v3/time_registrations/100001",
                         "/api/v3/persons/12/time_registrations", "/api/v3/projects/101/time_registrations"]


class Client:
    """`ForecastApp.handle` without sockets."""

    def __init__(self, app: ForecastApp) -> None:
        self.app = app

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        headers = {"x-forecast-api-key": FORECAST_API_KEY, "content-type": "application/json; charset=utf-8"}
        response = self.app.handle(Request(method, path, headers, json.dumps(body).encode() if body else b""))
        return response.status, json.loads(response.body) if response.body else None

    def records(self, path: str) -> list[dict]:
        status, payload = self.call("GET", path)
        assert status == 200, (path, payload)
        if isinstance(payload, dict) and "pageContents" in payload:
            payload = payload["pageContents"]
        records = payload if isinstance(payload, list) else [payload]
        assert records, f"{path}: no record to check"
        return records


@pytest.fixture(scope="module")
def demo() -> dict:
    return build_demo()


@pytest.fixture
def strict(demo: dict) -> Client:
    return Client(ForecastApp(demo))


@pytest.fixture
def tables(demo: dict) -> Client:
    return Client(ForecastApp(demo, fields="tables"))


@pytest.mark.parametrize("path", TASK_READS)
def test_by_default_tasks_have_no_estimate(strict: Client, tables: Client, path: str) -> None:
    """sections/tasks.md: no task sample shows `estimate` (documented "only v3 & v4")."""
    assert all("estimate" not in record for record in strict.records(path))
    assert all("estimate" in record for record in tables.records(path))


def test_task_writes_answer_without_estimate_but_keep_it(strict: Client) -> None:
    """POST and PUT /v3/tasks return "the same object as getting a single task"; the estimate is still stored."""
    status, created = strict.call("POST", "/api/v3/tasks", {"project_id": 101, "title": "Sized", "estimate": 90})
    assert status == 201
    assert "estimate" not in created
    status, updated = strict.call("PUT", f"/api/v3/tasks/{created['id']}", {"estimate": 120})
    assert (status, "estimate" in updated) == (200, False)
    stored = next(t for t in strict.app.snapshot()["tasks"] if t["id"] == created["id"])
    assert stored["estimate"] == 120


@pytest.mark.parametrize("path", REGISTRATION_V4_READS)
def test_by_default_v4_registrations_have_no_phase(strict: Client, tables: Client, path: str) -> None:
    """sections/time_registrations.md: the v4 sample has `task_project` and the invoice fields, but no `phase`."""
    records = strict.records(path)
    assert all("phase" not in record for record in records)
    assert all(set(record) == set(TIME_REGISTRATION_V4_FIELDS) - {"phase"} for record in records)
    assert all("phase" in record for record in tables.records(path))


@pytest.mark.parametrize("path", REGISTRATION_V3_READS)
def test_v3_registrations_keep_their_sampled_shape(strict: Client, path: str) -> None:
    """The v3 samples show every v3 table field, so nothing is left out (the lease check reads these)."""
    assert all(set(record) == set(TIME_REGISTRATION_V3_FIELDS) for record in strict.records(path))


@pytest.mark.parametrize(("path", "left_out"), [
    ("/api/v1/projects", {"connected_project", "card_levels"}),
    ("/api/v1/projects/101", {"connected_project", "card_levels", "budget_type"}),
    ("/api/v1/projects/company_project_id/1001", {"connected_project", "card_levels", "budget_type"}),
    ("/api/v1/projects/101/phases", {"project_id"}),
    ("/api/v1/projects/101/phases/1101", {"project_id"}),
    ("/api/v1/phases/1101", {"project_id"}),
    ("/api/v4/phases", {"project_id"}),
    ("/api/v1/company", {"street"}),
])
def test_by_default_other_fields_the_samples_leave_out_are_left_out(strict: Client, tables: Client, path: str,
                                                                     left_out: set[str]) -> None:
    assert not left_out & set(strict.records(path)[0])
    assert left_out <= set(tables.records(path)[0])


def test_nullable_fields_stay_as_null(strict: Client) -> None:
    """Unset nullable references are `null`, not missing, as in the docs' samples (`"project": null`)."""
    registrations = strict.records("/api/v4/time_registrations?pageSize=1000")
    on_task = next(r for r in registrations if r["task"] is not None)
    on_project = next(r for r in registrations if r["project"] is not None)
    assert "project" in on_task
    assert on_task["project"] is None
    assert (on_project["task"], on_project["task_project"]) == (None, None)
    assert {"non_project_time", "invoice", "invoice_entry"} <= set(on_task)
    status, task = strict.call("POST", "/api/v3/tasks", {"project_id": 101, "title": "Bare"})
    assert status == 201
    assert {name: task[name] for name in ("parent_task_id", "start_date", "end_date", "sprint")} == dict.fromkeys(
        ("parent_task_id", "start_date", "end_date", "sprint"))


def test_the_omissions_are_table_fields_and_tables_shows_them_all() -> None:
    tables = Shapes.of("tables")
    assert (tables.task, tables.time_registration_v4, tables.projects, tables.project, tables.phase,
            tables.company) == (TASK_FIELDS, TIME_REGISTRATION_V4_FIELDS, PROJECT_FIELDS, PROJECT_FIELDS,
                                PHASE_FIELDS, COMPANY_FIELDS)
    strict = Shapes.of("samples")
    for view, omitted in SAMPLE_OMISSIONS.items():
        assert set(omitted) <= set(getattr(tables, view)), view
        assert not set(omitted) & set(getattr(strict, view)), view


def test_an_unknown_field_set_is_refused_naming_the_choices(demo: dict) -> None:
    with pytest.raises(ValueError, match=r"expected one of \['samples', 'tables'\], got 'all'"):
        ForecastApp(demo, fields="all")
    with pytest.raises(SystemExit):
        main(["serve", "--forecast-fields", "all"])


def test_serve_takes_the_field_set() -> None:
    with SandboxProcess(data="demo", extra_args=["--forecast-fields", "tables"]) as sandbox:
        response = requests.get(f"{sandbox.forecast_url}/api/v3/tasks/5001", timeout=30,
                                headers={"X-FORECAST-API-KEY": FORECAST_API_KEY})
        assert response.status_code == 200
        assert "estimate" in response.json()
