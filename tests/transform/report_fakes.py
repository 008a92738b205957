"""Fake API readers for `timesync report` over the fake systems of `timesync_world`, shaped like the real APIs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from timesync_world import World

from timesync.ledger import PairKind
from timesync.model import hours_from_minutes
from timesync.report.gather import build_report
from timesync.report.model import Report, Window

#: The world's entries fall in these weeks (2026-03-02 is a Monday).
WINDOW = Window.of(dt.date(2026, 3, 2), dt.date(2026, 3, 15))
MONDAY = "2026-03-02"  # ISO week 2026-W10


class FakeForecastTime:
    """`ForecastReader.project_time_registrations` over the fake Forecast: v3 rows (no `task_project`)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.closed = False

    def project_time_registrations(self, project_id: str | int, date_after: str | None = None) -> list[dict]:
        after = dt.datetime.strptime(date_after, "%Y%m%d").date() if date_after else dt.date.min
        rows = []
        for registration in self.world.forecast.registrations.values():
            in_project = registration["project"] == int(project_id) or registration["task_project"] == int(project_id)
            if in_project and dt.date.fromisoformat(registration["date"]) > after:
                rows.append({key: value for key, value in registration.items()
                             if key not in ("task_project", "project_id") and not key.startswith("_")})
        return rows

    def close(self) -> None:
        self.closed = True


class FakeTimeLogTime:
    """`TimeLogClient.reporting_paged("GetWorkUnitsRawPaged")` over the fake TimeLog: Reporting items, parsed by the
    caller's real parse (the TimeLog adapter's `entry_from_reporting`)."""

    site_tz = dt.UTC

    def __init__(self, world: World) -> None:
        self.world = world
        self.calls: list[dict[str, Any]] = []

    def reporting_paged(self, operation: str, /, *, page_size: int, parse: Callable[[dict], Any] = dict,
                        **params: Any) -> Iterator[Any]:
        assert operation == "GetWorkUnitsRawPaged"
        self.calls.append(params)
        first, last = dt.date.fromisoformat(params["startDate"]), dt.date.fromisoformat(params["endDate"])
        for work in self.world.timelog.work.values():
            day = dt.date.fromisoformat(work["date"])
            if work["project_id"] == params["projectID"] and first <= day <= last:
                yield parse({
                    # Reporting's two GUIDs differ; the Transactional one is TimeRegistrationGuid here.
                    "TimeRegistrationGuid": work["work_unit_guid"],
                    "WorkUnitGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, work["work_unit_guid"])),
                    "EmployeeID": str(work["employee_id"]),
                    "TaskID": str(work["task_id"]), "TaskName": work["task_name"], "ProjectID": str(work["project_id"]),
                    "Date": f"{work['date']}T00:00:00", "RegHours": str(hours_from_minutes(work["minutes"])),
                    "Note": work["note"], "ApprovedStatus": str(work["approval_status"]),
                    "LastModifiedAt": "2026-03-20T10:00:00",
                })


def report_of(world: World, *, ledger_only: bool = False, forecast: Callable[[], Any] | None = None,
              timelog: Callable[[], Any] | None = None, window: Window = WINDOW, **kwargs: Any) -> Report:
    """The report of the world now, read through the fakes (or only the ledger)."""
    if not ledger_only:
        forecast = forecast or (lambda: FakeForecastTime(world))
        timelog = timelog or (lambda: FakeTimeLogTime(world))
    return build_report(world.ledger, world.links, window, forecast=forecast, timelog=timelog, **kwargs)


def twin_of(world: World, registration_id: int) -> str:
    """The TimeLog GUID paired with a Forecast registration."""
    pair = world.ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration_id))
    assert pair is not None
    assert pair.timelog_id is not None
    return pair.timelog_id


def park_a_conflict(world: World, *, note: str = "n") -> int:
    """A registration synced once, then set to 90 minutes in Forecast and 30 in TimeLog, and synced again."""
    reg = world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note=note)
    world.sync()
    world.forecast.edit(reg, time_registered=90)
    world.timelog.edit(twin_of(world, reg), minutes=30)
    world.sync()
    return reg
