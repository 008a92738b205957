"""What both sides hold now, for the linked projects, read through the client packages the way the sync keys it.

Time is read as `timesync report` reads it (`report.sources`: Forecast's per-project registrations, TimeLog's
Reporting work units a month at a time), through the same adapters as the sync. Tasks are found the way the target
finds them again: a TimeLog task carries the Forecast task id (or `project-<id>` for a project's time) as its
external key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from timelog_api.convert import month_windows
from timelog_api.guids import GuidModel, transactional_model
from timelog_api.items import ALL_IDS, require_work_item
from timelog_api.tasks import task_by_external_key
from timesync.adapters import ForecastAdapter, TimeLogAdapter
from timesync.links import Links
from timesync.model import Task, TimeEntry
from timesync.reconcile.build import PROJECT_TIME_EXTERNAL_KEY
from timesync.report.model import Window
from timesync.report.sources import ForecastTime, TimeLogTime, forecast_entries, timelog_entries

#: The setting value under which the tap finds the GUID model out from the site itself.
AUTO_GUID_MODEL = "auto"


class RebuildReadError(Exception):
    """One side could not be read the way the sync keys it; the message names what to fix."""


class ForecastReads(ForecastTime, Protocol):
    """What the rebuild needs from ``forecast_api.ForecastReader``."""

    def project_tasks(self, project_id: str | int) -> list[dict[str, Any]]:
        """A project's tasks, every level."""
        ...


@dataclass
class Holdings:
    """Both sides' linked tasks and time, as canonical records keyed as the sync keys them."""

    forecast_tasks: list[Task] = field(default_factory=list)
    #: Forecast task id -> the TimeLog task carrying it as external key (canonical, TimeLog ids).
    timelog_tasks: dict[str, Task] = field(default_factory=dict)
    #: Forecast project id -> the TimeLog task holding that project's time.
    project_time_tasks: dict[str, Task] = field(default_factory=dict)
    forecast_entries: list[TimeEntry] = field(default_factory=list)
    timelog_entries: list[TimeEntry] = field(default_factory=list)
    #: The GUID model TimeLog's units are keyed by, and how it was settled (None: TimeLog holds no work).
    guid_model: GuidModel | None = None
    guid_model_source: str = ""


def read_holdings(forecast: ForecastReads, timelog: Any, links: Links, window: Window, *, system_name: str,
                  guid_model: GuidModel | None, guid_model_source: str, paired: Collection[str] = ()) -> Holdings:
    """Read both sides. ``guid_model`` None: find it out from the site's own work, read-only (as the tap does)."""
    holdings = Holdings()
    forecast_adapter, timelog_adapter = ForecastAdapter(), TimeLogAdapter()
    for link in links.projects:
        for record in forecast.project_tasks(link.forecast):
            holdings.forecast_tasks += [task for task in forecast_adapter.to_canonical("tasks", record)
                                        if isinstance(task, Task)]
        key = PROJECT_TIME_EXTERNAL_KEY.format(project=link.forecast)
        if (item := task_by_external_key(timelog, key, system_name)) is not None:
            holdings.project_time_tasks[link.forecast] = timelog_adapter.task_from_transactional(item)
    for task in holdings.forecast_tasks:
        if (item := task_by_external_key(timelog, task.id, system_name)) is not None:
            holdings.timelog_tasks[task.id] = timelog_adapter.task_from_transactional(item)
    holdings.forecast_entries = forecast_entries(forecast, links, window)
    if guid_model is None:
        guid_model, guid_model_source = _found_guid_model(timelog, window), "found from the site's own work"
    holdings.guid_model, holdings.guid_model_source = guid_model, guid_model_source
    holdings.timelog_entries = timelog_entries(timelog, links, window, paired=paired,
                                               guid_model=guid_model.value if guid_model else None)
    return holdings


def _found_guid_model(timelog: Any, window: Window) -> GuidModel | None:
    """Which Reporting GUID the Transactional API uses, from the newest work unit in the window (None: no work)."""
    for item in _newest_work(timelog, window):
        model = transactional_model(timelog, item)
        if model is None:
            raise RebuildReadError(
                f"neither Reporting GUID of TimeLog work unit {item.get('ID')} is in GetEmployeeWork of its day, so "
                "the units cannot be keyed as the sync keys them; set tap-timelog's guid_model "
                "(TAP_TIMELOG_GUID_MODEL) to what `timesync doctor --write-probe TASK_ID` reports")
        return model
    return None


def _newest_work(timelog: TimeLogTime, window: Window) -> Iterator[dict[str, Any]]:
    """Reporting work items of any project, newest month first, one row per month read."""
    for first, last in reversed(month_windows(window.first, window.last)):
        pages: Iterator[dict[str, Any]] = timelog.reporting_paged(
            "GetWorkUnitsRawPaged", page_size=1, workUnitID=ALL_IDS, employeeID=ALL_IDS, allocationID=ALL_IDS,
            taskID=ALL_IDS, projectID=ALL_IDS, departmentID=ALL_IDS, startDate=first.isoformat(),
            endDate=last.isoformat(), parse=require_work_item)
        yield from (item for _, item in zip(range(1), pages, strict=False))


def guid_model_setting(setting: str | None, recorded: tuple[str, str] | None) -> tuple[GuidModel | None, str]:
    """The GUID model to key TimeLog work by: tap-timelog's setting, else the ledger's fact, else None (find out)."""
    if setting and setting != AUTO_GUID_MODEL:
        try:
            return GuidModel(setting), "tap-timelog's guid_model setting"
        except ValueError:
            raise RebuildReadError(f"tap-timelog's guid_model is {setting!r}; set TAP_TIMELOG_GUID_MODEL to auto, "
                                   "time_registration or work_unit") from None
    if recorded is not None:
        return GuidModel(recorded[0]), f"recorded in the ledger by {recorded[1]}"
    return None, ""


def history_window(links: Links, since: dt.date | None, today: dt.date, *, default_years: int,
                   future_days: int) -> Window:
    """The dates re-paired: from ``since``, else the earliest link start date (when every project link has one),
    else ``default_years`` back; up to ``future_days`` ahead (time is registered ahead, e.g. holidays)."""
    starts = [link.start_date for link in links.projects if link.start_date is not None]
    if since is None and starts and len(starts) == len(links.projects):
        since = min(starts)
    first = since or dt.date(today.year - default_years, today.month, 1)
    return Window.of(first, today + dt.timedelta(days=future_days))
