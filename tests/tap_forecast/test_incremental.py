"""Incremental reads: a second run emits what changed since the first began, the overlap included, nothing at
the boundary second is lost, and a burst written before the first read is not read again. Also the deleted
feeds, the derived `project_id` and the `project_ids` filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox import credentials
from sandbox.testing import SandboxProcess
from tap_forecast import timestamps
from tap_forecast.client import READ_STARTED_AT
from tap_forecast.tap import DEFAULT_OVERLAP_SECONDS

from .conftest import SyncResult, run_tap

INCREMENTAL = {"tasks", "time_registrations"}
DELETED = {"deleted_tasks", "deleted_time_registrations"}


def _api(sandbox: SandboxProcess, method: str, path: str, body: dict | None = None) -> requests.Response:
    """Call the sandbox's Forecast API as a user would, and insist it worked."""
    response = requests.request(method, f"{sandbox.forecast_url}/api{path}", json=body, timeout=30,
                                headers={"X-FORECAST-API-KEY": credentials.FORECAST_API_KEY})
    response.raise_for_status()
    return response


def _editable_registration(state: dict) -> dict:
    """The latest registration that no approval or period lock protects."""
    locked_until = max((period["to"] for period in state["locked_periods"]), default="")
    open_ones = [r for r in state["time_registrations"]
                 if r["approval_status"] == "NOT_SUBMITTED" and r["date"] > locked_until]
    return max(open_ones, key=lambda r: (r["date"], r["id"]))


def _changed_since(records: list[dict], field: str, since: datetime) -> set[int]:
    """Ids whose `field` is at or after `since`: what an incremental run must emit."""
    return {r["id"] for r in records if timestamps.parse(r[field]) >= since}


def _next_since(result: SyncResult, stream: str, overlap_seconds: int = DEFAULT_OVERLAP_SECONDS) -> datetime:
    """Where the run after `result` reads `stream` from: where `result` began, minus the overlap."""
    began = timestamps.parse(result.state["bookmarks"][stream][READ_STARTED_AT])
    return began - timedelta(seconds=overlap_seconds)


def test_second_run_emits_only_changes_and_the_overlap(sandbox: SandboxProcess, config: dict) -> None:
    first = run_tap(config, streams=INCREMENTAL)
    start = sandbox.forecast.state()
    assert first.ids("time_registrations") == {r["id"] for r in start["time_registrations"]}
    assert first.ids("tasks") == {r["id"] for r in start["tasks"]}

    registration = _editable_registration(start)
    task = start["tasks"][0]
    _api(sandbox, "PUT", f"/v1/time_registrations/{registration['id']}", {"notes": "edited after run one"})
    _api(sandbox, "PUT", f"/v3/tasks/{task['id']}", {"title": "Edited after run one"})
    second = run_tap(config, state=first.state, streams=INCREMENTAL)

    after = sandbox.forecast.state()
    for stream in INCREMENTAL:
        assert second.ids(stream) == _changed_since(after[stream], "updated_at", _next_since(first, stream)), stream
        assert len(second.records[stream]) < len(first.records[stream]), f"{stream}: a full re-read, not a delta"
    assert registration["id"] in second.ids("time_registrations")
    assert task["id"] in second.ids("tasks")
    edited = next(r for r in second.records["time_registrations"] if r["id"] == registration["id"])
    assert edited["notes"] == "edited after run one"
    assert second.bookmark("time_registrations") == edited["updated_at"]


@pytest.mark.parametrize("overlap_seconds", [0, DEFAULT_OVERLAP_SECONDS])
def test_an_edit_in_the_second_the_last_read_began_is_not_missed(sandbox: SandboxProcess, config: dict,
                                                                   overlap_seconds: int) -> None:
    """`updated_after` is strictly after and has whole seconds: a change stamped in the second the first run
    began (after it read that second) must still reach the second run, even without any overlap."""
    config = {**config, "overlap_seconds": overlap_seconds}
    first = run_tap(config, streams={"time_registrations"})
    window_start = _next_since(first, "time_registrations", overlap_seconds)

    state = sandbox.forecast.state()
    ordered = sorted(state["time_registrations"], key=lambda r: r["updated_at"])
    same_second, edge, outside = ordered[0], ordered[1], ordered[2]
    began = first.state["bookmarks"]["time_registrations"][READ_STARTED_AT]
    same_second |= {"updated_at": began, "notes": "edited in the second the first run began"}
    edge["updated_at"] = timestamps.to_utc(window_start.isoformat())
    outside["updated_at"] = timestamps.to_utc((window_start - timedelta(seconds=1)).isoformat())
    sandbox.forecast.reset(state)

    second = run_tap(config, state=first.state, streams={"time_registrations"})
    emitted = second.ids("time_registrations")
    assert emitted == _changed_since(state["time_registrations"], "updated_at", window_start)
    assert same_second["id"] in emitted
    assert edge["id"] in emitted
    assert outside["id"] not in emitted


def test_a_burst_written_before_the_last_read_is_not_read_again(sandbox: SandboxProcess, config: dict) -> None:
    """The next read starts where the last one began, not at the newest change minus a long lookback: a burst
    of writes just before a run is read by that run only, and a quiet run after it reads one empty page."""
    state = sandbox.forecast.state()
    burst = timestamps.to_utc((datetime.now(UTC) - timedelta(minutes=1)).isoformat())
    for registration in state["time_registrations"]:
        registration["updated_at"] = burst
    sandbox.forecast.reset(state)
    first = run_tap(config, streams={"time_registrations"})
    assert first.ids("time_registrations") == {r["id"] for r in state["time_registrations"]}

    sandbox.forecast.clear_stats()
    second = run_tap(config, state=first.state, streams={"time_registrations"})
    assert second.ids("time_registrations") == set()
    requests_made = sandbox.forecast.stats()["requests"]
    assert requests_made == {"GET /api/v4/time_registrations/updated_after/{ts}": 1}, requests_made
    assert second.state["bookmarks"]["time_registrations"][READ_STARTED_AT] >= \
        first.state["bookmarks"]["time_registrations"][READ_STARTED_AT]


def test_start_date_limits_the_first_run(sandbox: SandboxProcess, config: dict) -> None:
    state = sandbox.forecast.state()
    median = sorted(r["updated_at"] for r in state["time_registrations"])[len(state["time_registrations"]) // 2]
    result = run_tap({**config, "start_date": median}, streams={"time_registrations"})
    assert result.ids("time_registrations") == _changed_since(
        state["time_registrations"], "updated_at", timestamps.parse(median))


def test_deleted_feeds_emit_deletions_with_utc_times_and_their_project(sandbox: SandboxProcess,
                                                                       config: dict) -> None:
    start = sandbox.forecast.state()
    first = run_tap(config, streams=DELETED)
    assert first.ids("deleted_time_registrations") == {d["id"] for d in start["deleted_time_registrations"]}
    assert first.ids("deleted_tasks") == {d["id"] for d in start["deleted_tasks"]}

    registration = _editable_registration(start)
    task_of = {t["id"]: t for t in start["tasks"]}
    project = registration["project"] or task_of[registration["task"]]["project_id"]
    _api(sandbox, "DELETE", f"/v1/time_registrations/{registration['id']}")
    second = run_tap(config, state=first.state, streams=DELETED)

    after = sandbox.forecast.state()
    for stream in DELETED:
        assert second.ids(stream) == _changed_since(after[stream], "deleted_at", _next_since(first, stream)), stream
    deleted = next(r for r in second.records["deleted_time_registrations"] if r["id"] == registration["id"])
    assert deleted["project_id"] == project
    assert deleted["minutes_registered"] == registration["time_registered"]
    assert deleted["deleted_at"].endswith("Z")
    for record in first.records["deleted_tasks"]:
        assert record["project_id"] == record["project"]["id"]
        assert record["deleted_at"] == timestamps.to_utc(record["deleted_at"])


def test_time_registrations_carry_their_project(sandbox: SandboxProcess, config: dict) -> None:
    """`project_id` is `project` for time on a project, else the task's project, so reports need no join."""
    state = sandbox.forecast.state()
    task_project = {t["id"]: t["project_id"] for t in state["tasks"]}
    result = run_tap(config, streams={"time_registrations"})
    kinds = set()
    for record in result.records["time_registrations"]:
        expected = record["project"] if record["project"] is not None else task_project.get(record["task"])
        assert record["project_id"] == expected
        kinds.add("project" if record["project"] else "task" if record["task"] else "non_project_time")
    assert kinds == {"project", "task", "non_project_time"}, "the demo data should cover every kind"


def test_project_ids_limits_project_data_only(sandbox: SandboxProcess, config: dict) -> None:
    state = sandbox.forecast.state()
    chosen = state["projects"][0]["id"]
    everything = run_tap(config)
    limited = run_tap({**config, "project_ids": [chosen]})

    assert limited.ids("projects") == {chosen}
    for stream, field in (("phases", "project_id"), ("workflow_columns", "project_id"),
                          ("project_team", "project_id"), ("tasks", "project_id"),
                          ("time_registrations", "project_id"), ("allocations", "project")):
        expected = [r for r in everything.records[stream] if r[field] == chosen]
        if stream == "time_registrations":
            # A first run with project_ids reads registrations per project (v3), which lacks these optional fields.
            expected_shape = [{k: v for k, v in r.items() if k not in ("phase", "invoice_entry", "invoice")}
                              for r in expected]
            assert limited.records[stream] == expected_shape, stream
        else:
            assert limited.records[stream] == expected, stream
        assert expected, f"{stream}: the demo project should have some"
    for stream in ("persons", "clients", "roles", "non_project_time"):
        assert limited.records[stream] == everything.records[stream], stream
