"""`project_ids` and `employee_ids` on the `work` stream: a first run (or a full refresh: the backfill of a newly
linked project or person) reads Reporting GetWorkUnitsRawPaged with the ids as its projectID/employeeID filters
instead of ALL_IDS, and incremental runs filter the change log's work on the client. The other streams are read
whole. Which filters each Reporting call carried is recorded by wrapping the client's `reporting_paged`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.testing import SandboxProcess
from sandbox.timelog.demo import DEMO_TODAY
from timelog_api.client import TimeLogClient, client_from_config
from timelog_api.items import ALL_IDS
from timelog_api.services import Service

from .conftest import SyncResult, run_tap
from .test_sandbox import open_units, work_unit_payload

WORK = {"work"}
WORK_UNITS = "GetWorkUnitsRawPaged"


@pytest.fixture
def work_reads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The id filters (projectID, employeeID) of every GetWorkUnitsRawPaged read the tap makes."""
    reads: list[dict[str, Any]] = []
    paged = TimeLogClient.reporting_paged

    def recording(self: TimeLogClient, operation: str, /, **kwargs: Any) -> Iterator[Any]:
        if operation == WORK_UNITS:
            reads.append({name: kwargs[name] for name in ("projectID", "employeeID")})
        return paged(self, operation, **kwargs)

    monkeypatch.setattr(TimeLogClient, "reporting_paged", recording)
    return reads


def _busiest(records: list[dict[str, Any]], field: str) -> int:
    """The value of `field` with the most work (so a filter has something to keep and to drop)."""
    value: int = Counter(record[field] for record in records).most_common(1)[0][0]
    return value


def _full_read(config: dict, reads: list[dict[str, Any]]) -> tuple[SyncResult, int]:
    """An unfiltered first run (the reference output) and its number of Reporting work reads; `reads` is
    emptied after it."""
    result = run_tap(config, streams=WORK)
    assert reads, "the first run reads Reporting work"
    assert all(read == {"projectID": ALL_IDS, "employeeID": ALL_IDS} for read in reads), "unfiltered: all ids"
    count = len(reads)
    reads.clear()
    return result, count


def _by_guid(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda record: record["work_unit_guid"])


@pytest.mark.parametrize(("setting", "field", "parameter"), [
    ("project_ids", "project_id", "projectID"),
    ("employee_ids", "employee_id", "employeeID"),
])
def test_a_first_run_reads_and_emits_only_the_ids_work(timelog_sandbox: SandboxProcess, config: dict,
                                                        work_reads: list[dict[str, Any]], setting: str,
                                                        field: str, parameter: str) -> None:
    everything, unfiltered_reads = _full_read(config, work_reads)
    chosen = _busiest(everything.records["work"], field)

    limited = run_tap({**config, setting: [chosen, chosen]}, streams=WORK)  # listed twice, read once

    expected = [r for r in everything.records["work"] if r[field] == chosen]
    assert 0 < len(expected) < len(everything.records["work"])
    assert _by_guid(limited.records["work"]) == _by_guid(expected)
    other = "employeeID" if parameter == "projectID" else "projectID"
    assert work_reads, "the history is read from Reporting"
    assert all(read == {parameter: chosen, other: ALL_IDS} for read in work_reads), work_reads
    assert len(work_reads) == unfiltered_reads, "one read per month window, as unfiltered"
    assert "change_log" in limited.state["bookmarks"]["work"], "the next run reads the change log"


def test_both_filters_are_combined_in_one_read(timelog_sandbox: SandboxProcess, config: dict,
                                               work_reads: list[dict[str, Any]]) -> None:
    everything, _ = _full_read(config, work_reads)
    project = _busiest(everything.records["work"], "project_id")
    on_project = [r for r in everything.records["work"] if r["project_id"] == project]
    employee = _busiest(on_project, "employee_id")

    limited = run_tap({**config, "project_ids": [project], "employee_ids": [employee]}, streams=WORK)

    expected = [r for r in on_project if r["employee_id"] == employee]
    assert 0 < len(expected) < len(on_project)
    assert _by_guid(limited.records["work"]) == _by_guid(expected)
    assert work_reads
    assert all(read == {"projectID": project, "employeeID": employee} for read in work_reads), work_reads


def test_several_ids_read_once_per_id_of_the_shorter_list(timelog_sandbox: SandboxProcess, config: dict,
                                                          work_reads: list[dict[str, Any]]) -> None:
    everything, unfiltered_reads = _full_read(config, work_reads)
    projects = sorted({r["project_id"] for r in everything.records["work"]})[:2]
    employees = sorted({r["employee_id"] for r in everything.records["work"] if r["project_id"] in projects})[:3]

    limited = run_tap({**config, "project_ids": projects, "employee_ids": employees}, streams=WORK)

    expected = [r for r in everything.records["work"]
                if r["project_id"] in projects and r["employee_id"] in employees]
    assert expected
    assert _by_guid(limited.records["work"]) == _by_guid(expected)
    # Per project (the shorter list), employees kept on the client: one read per project and month window.
    assert {read["projectID"] for read in work_reads} == set(projects)
    assert all(read["employeeID"] == ALL_IDS for read in work_reads), work_reads
    assert len(work_reads) == len(projects) * unfiltered_reads


def test_incremental_runs_filter_the_change_log_work_on_the_client(timelog_sandbox: SandboxProcess, config: dict,
                                                                   work_reads: list[dict[str, Any]]) -> None:
    config = {**config, "overlap_seconds": 0}
    state = timelog_sandbox.timelog.state()
    initials = {e["employee_id"]: e["initials"] for e in state["employees"]}
    units = open_units(state, 20, DEMO_TODAY)
    inside = units[0]
    outside = next(u for u in units if u["employee_id"] != inside["employee_id"])
    filtered = {**config, "employee_ids": [inside["employee_id"]]}
    first = run_tap(filtered, streams=WORK)
    work_reads.clear()

    with client_from_config(config) as client:
        results = client.batch(Service.PROJECT_MANAGEMENT, "UpdateWork", source=0, work={"WorkUnit": [
            work_unit_payload(unit, initials[unit["employee_id"]], "edited after the backfill")
            for unit in (inside, outside)]})
        assert all(result.ok for result in results), results

    second = run_tap(filtered, state=first.state, streams=WORK)
    unfiltered = run_tap(config, state=first.state, streams=WORK)

    assert unfiltered.keys("work", "work_unit_guid") == {inside["guid"], outside["guid"]}, "the control"
    assert second.keys("work", "work_unit_guid") == {inside["guid"]}
    assert second.records["work"][0]["note"] == "edited after the backfill"


def test_the_other_streams_are_not_filtered(timelog_sandbox: SandboxProcess, config: dict) -> None:
    streams = {"tasks", "projects", "employees", "work_deletions"}
    everything = run_tap(config, streams=streams)
    work = run_tap(config, streams=WORK).records["work"]
    limited = run_tap({**config, "project_ids": [work[0]["project_id"]],
                       "employee_ids": [work[0]["employee_id"]]}, streams=streams)
    for stream in streams - {"work_deletions"}:
        assert limited.records[stream] == everything.records[stream], stream
        assert everything.records[stream], stream
