"""The report's API reads: every registration of each linked project in the window, from both systems.

The report reads what is there now, not what changed since a bookmark, so it uses each API's plain listing for
one project and a date range (the taps read change feeds instead). Records go through the same adapters as the
sync's, so an entry counts in the report exactly where the sync would put it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any, Protocol

from timelog_api.convert import month_windows
from timelog_api.guids import GuidModel
from timelog_api.items import ALL_IDS, require_work_item
from timesync.adapters import ForecastAdapter, TimeLogAdapter
from timesync.links import Links
from timesync.model import TimeEntry
from timesync.report.model import Window

#: GetWorkUnitsRawPaged page size (the tap's).
WORK_PAGE_SIZE = 500
FORECAST_SOURCE = "Forecast API: GET /api/v3/projects/{id}/time_registrations?date_after=… per linked project"
TIMELOG_SOURCE = "TimeLog Reporting API: GetWorkUnitsRawPaged per linked project and the report's dates"


class ForecastTime(Protocol):
    """What the report needs from the Forecast read client (``forecast_api.ForecastReader``)."""

    def project_time_registrations(self, project_id: str | int, date_after: str | None = None) -> list[dict[str, Any]]:
        """A project's registrations dated after ``date_after`` (YYYYMMDD)."""
        ...


class TimeLogTime(Protocol):
    """What the report needs from the TimeLog client (``timelog_api.client.TimeLogClient``)."""

    site_tz: dt.tzinfo

    def reporting_paged(self, operation: str, /, *, page_size: int, parse: Any = ..., **params: Any) -> Iterator[Any]:
        """Every item of a paged Reporting operation, each ``parse``d."""
        ...


def forecast_entries(reader: ForecastTime, links: Links, window: Window) -> list[TimeEntry]:
    """Every Forecast registration of the linked projects dated in ``window``, as canonical entries."""
    adapter = ForecastAdapter()
    date_after = (window.first - dt.timedelta(days=1)).strftime("%Y%m%d")  # Forecast's filter is strict
    entries: list[TimeEntry] = []
    for link in links.projects:
        for record in reader.project_time_registrations(link.forecast, date_after):
            # v3 rows name the project only for time on the project itself; the task's project is this one.
            with_project = {**record, "project_id": int(link.forecast)}
            entries += [entry for entry in adapter.to_canonical("time_registrations", with_project)
                        if isinstance(entry, TimeEntry) and window.contains(entry.date)]
    return entries


def timelog_entries(client: TimeLogTime, links: Links, window: Window, *, paired: Collection[str] = (),
                    guid_model: str | None = None) -> list[TimeEntry]:
    """Every TimeLog work unit of the linked projects dated in ``window``, as canonical entries.

    Reporting is read a month at a time, as the tap reads it. A unit is keyed by the Reporting GUID the sync
    pairs by: the one among ``paired`` (the ledger's TimeLog ids), else the ledger's recorded ``guid_model``.
    """
    adapter = TimeLogAdapter()
    fallback = GuidModel(guid_model) if guid_model else GuidModel.TIME_REGISTRATION

    def entry(item: dict[str, Any]) -> TimeEntry:
        require_work_item(item)
        return adapter.entry_from_reporting(item, GuidModel.matching(item, paired) or fallback, client.site_tz)

    entries: list[TimeEntry] = []
    for link in links.projects:
        for first, last in month_windows(window.first, window.last):
            read = client.reporting_paged(
                "GetWorkUnitsRawPaged", page_size=WORK_PAGE_SIZE, workUnitID=ALL_IDS, employeeID=ALL_IDS,
                allocationID=ALL_IDS, taskID=ALL_IDS, projectID=int(link.timelog), departmentID=ALL_IDS,
                startDate=first.isoformat(), endDate=last.isoformat(), parse=entry,
            )
            entries += [unit for unit in read if window.contains(unit.date)]
    return entries
