"""Optional fields: a record may lack any field its stream's schema does not require, and is emitted without it.

A record that lacks a required one (an id, the bookmark, or a field the sync needs) fails the run with one line
naming the endpoint, the stream, the record and the field. The records come from the Forecast simulator with
every documented field (`fields="tables"`), so each optional field is tried as the API would send it.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from sandbox.common.app import Request
from sandbox.credentials import FORECAST_API_KEY
from sandbox.forecast.app import ForecastApp
from sandbox.forecast.demo import build_demo
from sandbox.testing import SandboxProcess
from tap_forecast.errors import MalformedResponseError
from tap_forecast.tap import TapForecast

from .conftest import run_tap

PROJECT = 101
#: Stream -> (the simulator path its records come from, the stream context the tap reads it with).
SOURCES: dict[str, tuple[str, dict | None]] = {
    "projects": ("/api/v1/projects", None),
    "phases": (f"/api/v1/projects/{PROJECT}/phases", {"project_id": PROJECT}),
    "workflow_columns": (f"/api/v1/projects/{PROJECT}/workflow_columns", {"project_id": PROJECT}),
    "project_team": (f"/api/v1/projects/{PROJECT}/team", {"project_id": PROJECT}),
    "persons": ("/api/v2/persons", None),
    "clients": ("/api/v1/clients", None),
    "roles": ("/api/v1/roles", None),
    "non_project_time": ("/api/v1/non_project_time", None),
    "allocations": ("/api/v1/allocations", None),
    "tasks": ("/api/v4/tasks", None),
    "time_registrations": ("/api/v4/time_registrations", None),
    "deleted_tasks": ("/api/v4/tasks/deleted", None),
    "deleted_time_registrations": ("/api/v4/time_registrations/deleted", None),
}
#: What the sync needs (docs/streams.md) besides the keys and bookmarks: these stay required.
NEEDED = {
    "tasks": {"title", "project_id", "parent_task_id", "assigned_persons"},
    "time_registrations": {"person", "project", "task", "task_project", "non_project_time", "time_registered",
                           "date", "notes", "approval_status"},
    "projects": {"company_project_id", "name", "status"},
    "persons": {"first_name", "last_name", "email", "active"},
}
#: What the docs' samples leave out or the sync can do without: never required.
OPTIONAL = {
    "tasks": {"estimate", "start_date", "end_date", "role", "milestone", "created_at"},
    "time_registrations": {"phase", "invoice", "invoice_entry", "billable_minutes_registered", "created_at"},
    "projects": {"client", "connected_project", "card_levels", "budget_type"},
    "phases": {"name", "start_date", "end_date"},
}


def _stream(name: str) -> object:
    return TapForecast(config={"api_key": "test-key"}, parse_env_config=False).streams[name]


@cache
def _raw_records() -> dict[str, dict]:
    """One raw API record per stream with every documented field; the deleted feeds get one entry each."""
    app = ForecastApp(build_demo(), fields="tables")

    def call(method: str, path: str, body: dict | None = None) -> object:
        headers = {"x-forecast-api-key": FORECAST_API_KEY, "content-type": "application/json"}
        response = app.handle(Request(method, path, headers, json.dumps(body).encode() if body else b""))
        assert response.status in (200, 201), (path, response.body)
        return json.loads(response.body) if response.body else None

    task = call("POST", "/api/v3/tasks", {"project_id": PROJECT, "title": "Short-lived", "assigned_persons": [12]})
    registration = call("POST", "/api/v1/time_registrations", {
        "person": 12, "task": task["id"], "time_registered": 30, "date": "2026-11-24", "notes": "gone soon"})
    call("DELETE", f"/api/v1/time_registrations/{registration['id']}")
    call("DELETE", f"/api/v2/tasks/{task['id']}")
    records = {}
    for stream, (path, _) in SOURCES.items():
        payload = call("GET", path)
        contents = payload["pageContents"] if isinstance(payload, dict) else payload
        assert contents, f"no {stream} record to test with"
        records[stream] = contents[0]
    return records


def _emitted(stream_name: str, raw: dict) -> dict | None:
    stream = _stream(stream_name)
    return stream.post_process(json.loads(json.dumps(raw)), SOURCES[stream_name][1])


#: Required, but never missing from an emitted record: the tap derives it (per-project streams from the request).
DERIVED = {name: {"project_id"} for name in ("phases", "workflow_columns", "project_team", "time_registrations",
                                            "deleted_tasks", "deleted_time_registrations")}


def _cases(required: bool) -> list[tuple[str, str]]:
    cases = []
    for name in SOURCES:
        schema = _stream(name).schema
        fields = set(schema["required"]) if required else set(schema["properties"]) - set(schema["required"])
        cases += [(name, field) for field in sorted(fields - DERIVED.get(name, set()))]
    return cases


def _case_id(value: object) -> str:
    return str(value)


def _raw_key(stream_name: str, field: str) -> tuple[str, ...]:
    """Where an emitted field sits in the API record (the deleted feeds are camelCase and nested)."""
    if stream_name == "deleted_tasks":
        return {"id": ("task", "id"), "name": ("task", "name"), "deleted_at": ("task", "deleted_at"),
                "deleted_by": ("task", "deleted_by"), "assigned_persons": ("assignedPersons",)}.get(field, (field,))
    if stream_name == "deleted_time_registrations":
        return {"deleted_at": ("deletedAt",), "minutes_registered": ("minutesRegistered",),
                "registered_on": ("registeredOn",), "deleted_by": ("deletedBy",)}.get(field, (field,))
    return (field,)


def _without(raw: dict, path: tuple[str, ...]) -> dict:
    copy = json.loads(json.dumps(raw))
    holder = copy
    for key in path[:-1]:
        holder = holder[key]
    holder.pop(path[-1], None)
    return copy


def test_the_schemas_require_what_the_sync_needs_and_nothing_the_samples_leave_out() -> None:
    for name, needed in NEEDED.items():
        assert needed <= set(_stream(name).schema["required"]), name
    for name, optional in OPTIONAL.items():
        assert not optional & set(_stream(name).schema["required"]), name


@pytest.mark.parametrize(("stream_name", "field"), _cases(required=False), ids=_case_id)
def test_a_record_without_an_optional_field_is_emitted_without_it(stream_name: str, field: str) -> None:
    raw = _raw_records()[stream_name]
    emitted = _emitted(stream_name, _without(raw, _raw_key(stream_name, field)))
    assert emitted is not None
    assert field not in emitted
    assert emitted.keys() | {field} >= set(_emitted(stream_name, raw))


@pytest.mark.parametrize(("stream_name", "field"), _cases(required=True), ids=_case_id)
def test_a_record_without_a_required_field_fails_naming_stream_record_and_field(stream_name: str,
                                                                               field: str) -> None:
    raw = _raw_records()[stream_name]
    with pytest.raises(MalformedResponseError) as caught:
        _emitted(stream_name, _without(raw, _raw_key(stream_name, field)))
    message = str(caught.value)
    assert f"stream {stream_name}, record " in message
    assert f"'{field}'" in message
    assert "\n" not in message
    emitted = _emitted(stream_name, raw)
    for key in _stream(stream_name).primary_keys:
        if key != field:
            assert str(emitted[key]) in message, message


def test_a_task_without_estimate_or_dates_is_emitted_as_is() -> None:
    """The docs' task samples show no `estimate`; a task may have no dates. The sync copes with both."""
    raw = _raw_records()["tasks"]
    sparse = {key: value for key, value in raw.items() if key not in {"estimate", "start_date", "end_date"}}
    emitted = _emitted("tasks", sparse)
    assert emitted["id"] == raw["id"]
    assert not {"estimate", "start_date", "end_date"} & emitted.keys()


def test_a_task_without_title_names_the_stream_the_task_and_the_field() -> None:
    raw = _raw_records()["tasks"]
    with pytest.raises(MalformedResponseError) as caught:
        _emitted("tasks", _without(raw, ("title",)))
    assert str(caught.value) == ("Malformed response from Forecast GET /api/v4/tasks: "
                                 f"stream tasks, record {raw['id']}: required field 'title' is missing")


def test_a_deleted_task_without_its_task_object_is_a_clear_error() -> None:
    raw = _raw_records()["deleted_tasks"]
    with pytest.raises(MalformedResponseError, match=r"stream deleted_tasks, .*required field 'task'"):
        _emitted("deleted_tasks", _without(raw, ("task",)))


def test_the_tap_reads_the_strict_simulator(sandbox: SandboxProcess, config: dict) -> None:
    """Against the default (strict) simulator, tasks come without `estimate`, registrations without `phase`."""
    result = run_tap(config, streams={"tasks", "time_registrations", "projects", "phases"})
    assert result.records["tasks"]
    assert all("estimate" not in record for record in result.records["tasks"])
    assert all("phase" not in record for record in result.records["time_registrations"])
    assert all("connected_project" not in record for record in result.records["projects"])
    assert all(record["project_id"] for record in result.records["phases"]), "taken from the request"
