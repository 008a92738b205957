"""`project_ids` and `person_ids` on time registrations: without a bookmark (a first run, a full refresh: the
backfill of a newly linked project or person) the tap reads only those projects' or persons' registrations through
the v3 per-project or per-person endpoints, never a page of the v4 feed; with a bookmark it reads the v4 feed as
before. The request counts come from the simulator's `/_sandbox/stats`."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import pytest
import requests

from sandbox import credentials
from sandbox.testing import SandboxProcess
from tap_forecast import timestamps
from tap_forecast.client import READ_STARTED_AT
from tap_forecast.errors import ForecastNotFoundError
from tap_forecast.streams import TimeRegistrationsStream

from .conftest import SyncResult, run_tap
from .test_incremental import _editable_registration

STREAM = {"time_registrations"}
V4_FEED = "GET /api/v4/time_registrations"
V4_UPDATED_AFTER = "GET /api/v4/time_registrations/updated_after/{ts}"
PER_PROJECT = "GET /api/v3/projects/{id}/time_registrations"
PER_PERSON = "GET /api/v3/persons/{id}/time_registrations"
TASK = "GET /api/v3/tasks/{id}"
V4_TASKS = "GET /api/v4/tasks"
#: Optional fields only the v4 feed has (forecast-endpoints.json: "**Only v4**", and v4's invoice links).
V4_ONLY = ("phase", "invoice_entry", "invoice")


def _without_v4_only(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{name: value for name, value in record.items() if name not in V4_ONLY} for record in records]


def _registration_requests(sandbox: SandboxProcess) -> dict[str, int]:
    """This run's requests for time registrations and task look-ups, by endpoint."""
    return {operation: count for operation, count in sandbox.forecast.stats()["requests"].items()
            if operation.startswith("GET ") and ("time_registrations" in operation or operation in (TASK, V4_TASKS))}


def _full_read(sandbox: SandboxProcess, config: dict) -> SyncResult:
    """An unfiltered first run (the reference output), with the stats zeroed after it."""
    result = run_tap(config, streams=STREAM)
    sandbox.forecast.clear_stats()
    return result


def _busiest(records: list[dict[str, Any]], field: str) -> int:
    """The value of `field` with the most registrations (so a filter has something to keep and to drop)."""
    counts: dict[int, int] = {}
    for record in records:
        if record[field] is not None:
            counts[record[field]] = counts.get(record[field], 0) + 1
    return max(counts, key=lambda value: counts[value])


def test_project_ids_without_a_bookmark_reads_only_that_project(sandbox: SandboxProcess, config: dict) -> None:
    everything = _full_read(sandbox, config)
    project = _busiest(everything.records["time_registrations"], "project_id")

    limited = run_tap({**config, "project_ids": [project, project]}, streams=STREAM)  # listed twice, read once

    expected = [r for r in everything.records["time_registrations"] if r["project_id"] == project]
    assert len(expected) < len(everything.records["time_registrations"]), "the filter should drop something"
    assert any(r["task"] is not None for r in expected), "the demo project should have time on tasks"
    assert any(r["project"] is not None for r in expected), "and time on the project itself"
    # The same records in the same shape, less the optional fields v3 does not have.
    assert limited.records["time_registrations"] == _without_v4_only(expected)
    assert _registration_requests(sandbox) == {PER_PROJECT: 1}
    # A stream-level bookmark, so the next run reads the v4 feed incrementally.
    bookmark = limited.state["bookmarks"]["time_registrations"]
    assert READ_STARTED_AT in bookmark
    assert "partitions" not in bookmark


@pytest.mark.parametrize("page_size", [500, 1])
def test_person_ids_without_a_bookmark_reads_only_that_person(sandbox: SandboxProcess, config: dict,
                                                              page_size: int) -> None:
    """v3 per person lacks `task_project`: the tasks' projects come from the cheaper of one `/v3/tasks/{id}` per
    task and every page of `/v4/tasks` (the demo's tasks fit one page of 500; at 1 per page, look-ups win)."""
    everything = _full_read(sandbox, config)
    person = _busiest(everything.records["time_registrations"], "person")

    limited = run_tap({**config, "page_size": page_size, "person_ids": [person]}, streams=STREAM)

    expected = [r for r in everything.records["time_registrations"] if r["person"] == person]
    assert len(expected) < len(everything.records["time_registrations"]), "the filter should drop something"
    # task_project and project_id are the v4 feed's.
    assert limited.records["time_registrations"] == _without_v4_only(expected)
    tasks = {r["task"] for r in expected if r["task"] is not None}
    assert len(tasks) > 1, "the demo person should have time on several tasks"
    requests_made = _registration_requests(sandbox)
    task_pages = math.ceil(len(sandbox.forecast.state()["tasks"]) / page_size)
    assert requests_made.pop(PER_PERSON) == 1
    # One task page to learn how many there are, then the cheaper way; never a request per registration.
    more_pages = requests_made.pop(V4_TASKS) - 1
    assert more_pages >= 0
    assert more_pages + requests_made.get(TASK, 0) <= min(len(tasks), task_pages - 1)
    if page_size == 1:
        assert requests_made[TASK] > 0, "one page per task: the look-ups are cheaper"
    else:
        assert requests_made == {}, "one page holds every task"


def test_project_and_person_ids_read_per_project_and_keep_both(sandbox: SandboxProcess, config: dict) -> None:
    everything = _full_read(sandbox, config)
    project = _busiest(everything.records["time_registrations"], "project_id")
    on_project = [r for r in everything.records["time_registrations"] if r["project_id"] == project]
    person = _busiest(on_project, "person")

    limited = run_tap({**config, "project_ids": [project], "person_ids": [person]}, streams=STREAM)

    expected = [r for r in on_project if r["person"] == person]
    assert 0 < len(expected) < len(on_project)
    assert limited.records["time_registrations"] == _without_v4_only(expected)
    assert _registration_requests(sandbox) == {PER_PROJECT: 1}


@pytest.mark.parametrize(("setting", "field", "endpoint"), [("project_ids", "project_id", PER_PROJECT),
                                                             ("person_ids", "person", PER_PERSON)])
def test_start_date_limits_a_read_per_id(sandbox: SandboxProcess, config: dict, setting: str, field: str,
                                         endpoint: str) -> None:
    """The per-id endpoints take `?updated_after=`: a first run from `start_date` reads only what changed since."""
    everything = _full_read(sandbox, config)
    chosen = _busiest(everything.records["time_registrations"], field)
    mine = [r for r in everything.records["time_registrations"] if r[field] == chosen]
    median = sorted(r["updated_at"] for r in mine)[len(mine) // 2]

    limited = run_tap({**config, setting: [chosen], "start_date": median}, streams=STREAM)

    expected = {r["id"] for r in mine if r["updated_at"] >= median}
    assert 0 < len(expected) < len(mine)
    assert limited.ids("time_registrations") == expected
    assert _registration_requests(sandbox).get(endpoint) == 1


def test_with_a_bookmark_the_filters_read_the_v4_feed_as_before(sandbox: SandboxProcess, config: dict) -> None:
    everything = _full_read(sandbox, config)
    editable = _editable_registration(sandbox.forecast.state())["id"]
    registration = next(r for r in everything.records["time_registrations"] if r["id"] == editable)
    filters = {"project_ids": [registration["project_id"]], "person_ids": [registration["person"]]}
    _put_notes(sandbox, registration["id"], "edited after the first run")

    second = run_tap({**config, **filters}, state=everything.state, streams=STREAM)

    assert second.ids("time_registrations") == {registration["id"]}
    assert second.records["time_registrations"][0]["invoice"] is None, "a v4 record (v3 has no invoice)"
    assert _registration_requests(sandbox) == {V4_UPDATED_AFTER: 1}


def test_without_filters_the_first_run_reads_the_v4_feed(sandbox: SandboxProcess, config: dict) -> None:
    """The control for the tests above: the same first run without a filter reads no per-id endpoint."""
    sandbox.forecast.clear_stats()
    run_tap(config, streams=STREAM)
    assert set(_registration_requests(sandbox)) == {V4_FEED}


def test_an_edit_to_a_project_read_earlier_in_the_run_reaches_the_next_run(
        sandbox: SandboxProcess, config: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read per project, the run's start is the first project's: a registration of project A edited while
    project B is read is stamped after it, so the next (incremental) run reads it, even without any overlap."""
    config = {**config, "overlap_seconds": 0}
    state = sandbox.forecast.state()
    first_project, second_project = state["projects"][0]["id"], state["projects"][1]["id"]
    locked_until = max((period["to"] for period in state["locked_periods"]), default="")
    everything = _full_read(sandbox, config).records["time_registrations"]
    of_first = next(r for r in everything if r["project_id"] == first_project
                    and r["approval_status"] == "NOT_SUBMITTED" and r["date"] > locked_until)
    read = TimeRegistrationsStream.get_records

    def edit_before_the_second_project(self: TimeRegistrationsStream, context: Any) -> Iterable[dict[str, Any]]:
        if context == {"project_id": second_project}:
            _put_notes(sandbox, of_first["id"], "edited while the next project was read")
            time.sleep(2.1)  # the second project's read starts whole seconds after the edit
        return read(self, context)

    monkeypatch.setattr(TimeRegistrationsStream, "get_records", edit_before_the_second_project)
    backfill = run_tap({**config, "project_ids": [first_project, second_project]}, streams=STREAM)
    monkeypatch.undo()

    # Each project is read whole: the second one's read does not start at the first one's saved start.
    assert backfill.ids("time_registrations") == {r["id"] for r in everything
                                                   if r["project_id"] in (first_project, second_project)}

    edited_at = max(timestamps.parse(r["updated_at"]) for r in sandbox.forecast.state()["time_registrations"]
                    if r["id"] == of_first["id"])
    assert timestamps.parse(backfill.state["bookmarks"]["time_registrations"][READ_STARTED_AT]) < edited_at
    following = run_tap({**config, "project_ids": [first_project, second_project]}, state=backfill.state,
                        streams=STREAM)
    assert of_first["id"] in following.ids("time_registrations")


@pytest.mark.parametrize(("setting", "kind"), [("project_ids", "project"), ("person_ids", "person")])
def test_an_unknown_id_names_the_setting_to_fix(config: dict, setting: str, kind: str) -> None:
    with pytest.raises(ForecastNotFoundError, match=f"Forecast has no {kind} 999999: remove it from the {setting} "):
        run_tap({**config, setting: [999999]}, streams=STREAM)


def _put_notes(sandbox: SandboxProcess, registration_id: int, notes: str) -> None:
    response = requests.put(f"{sandbox.forecast_url}/api/v1/time_registrations/{registration_id}",
                            json={"notes": notes}, timeout=30,
                            headers={"X-FORECAST-API-KEY": credentials.FORECAST_API_KEY})
    response.raise_for_status()
