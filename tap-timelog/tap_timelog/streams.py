"""tap-timelog streams: which TimeLog API each one reads, and how it stays incremental."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream

from tap_timelog import schemas
from timesync.timelog import Service
from timesync.timelog.client import ALL_IDS, ALL_STATUS
from timesync.timelog.convert import parse_datetime, to_date, to_guid, to_site_local, to_utc_rfc3339
from timesync.timelog.records import (
    allocation_record,
    customer_record,
    department_record,
    external_keys,
    require,
    task_record,
    work_deletion_record,
    work_record,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from timesync.timelog import TimeLogClient

#: TimeLog keeps the work change log for 3 months; a few days less leaves room for clock and month lengths.
CHANGE_LOG_RETENTION = dt.timedelta(days=88)
#: When a bookmark is older than the change log, registrations dated this long before it are re-read too.
FALLBACK_WINDOW = dt.timedelta(days=92)
#: With no start_date, the first run reads registrations from this day on.
EARLIEST_WORK_DATE = dt.date(2000, 1, 1)
#: Registrations may be dated ahead (planned absence, pre-registered work): read up to this far ahead.
FUTURE_WORK_DAYS = 366
#: GetWorkChangeLogPaged and GetTasksModifiedInPeriodPaged take at most 500 per page.
CHANGE_LOG_PAGE_SIZE = 500
#: GetWorkUnitsRawPaged: TimeLog documents no maximum; 500 is what production clients use.
WORK_PAGE_SIZE = 500
#: Changed registrations dated at most this many days apart are read with one date range.
DATE_RANGE_GAP_DAYS = 7
#: Change-log windows end this far past "now", so a server clock slightly ahead of ours loses nothing.
CLOCK_SKEW_ALLOWANCE = dt.timedelta(days=1)
DELETED_ACTION = "Deleted"


def date_ranges(days: Iterable[dt.date], gap_days: int = DATE_RANGE_GAP_DAYS) -> list[tuple[dt.date, dt.date]]:
    """Merge dates into inclusive (first, last) ranges, joining dates at most `gap_days` apart."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and (day - ranges[-1][1]).days <= gap_days:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


class TimeLogStream(Stream):
    """A tap-timelog stream: reads through the shared `TimeLogClient` built once per run by the tap."""

    @property
    def client(self) -> TimeLogClient:
        """The run's TimeLog client."""
        return self._tap.timelog  # type: ignore[attr-defined]  # TapTimeLog.timelog

    @property
    def tz(self) -> dt.tzinfo:
        """The site's time zone (for TimeLog's offset-less timestamps)."""
        return self.client.site_tz

    def bookmark(self, context: Context | None) -> dt.datetime | None:
        """This stream's saved bookmark as an aware datetime, or None on a first run."""
        value = self.get_context_state(context).get("replication_key_value")
        return parse_datetime(value, dt.UTC) if value else None

    @property
    def lookback(self) -> dt.timedelta:
        """The overlap re-read before every bookmark."""
        return dt.timedelta(minutes=self.config.get("lookback_minutes", 30))

    @property
    def start_date(self) -> dt.datetime | None:
        """The start_date setting as an aware datetime."""
        value = self.config.get("start_date")
        return parse_datetime(value, dt.UTC) if value else None

    def site_local(self, moment: dt.datetime) -> dt.datetime:
        """A moment in the site's naive local time, as TimeLog's DateTime parameters expect."""
        return to_site_local(moment, self.tz)


class ReportingStream(TimeLogStream):
    """A whole table from one unpaged Reporting API call (flat and bulk)."""

    operation: ClassVar[str]
    params: ClassVar[dict[str, Any]] = {}

    def to_record(self, item: dict[str, Any]) -> dict[str, Any]:
        """A Reporting item as this stream's record."""
        raise NotImplementedError

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.client.reporting(self.operation, parse=self.to_record, **self.params)


class EmployeesStream(TimeLogStream):
    """Employees: Reporting GetEmployeesRaw (ids, user id, e-mail) joined with OrganisationService GUIDs."""

    name = "employees"
    primary_keys = ("employee_id",)
    schema = schemas.EMPLOYEES.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.client.employees()


class ProjectsStream(TimeLogStream):
    """Projects: Reporting GetProjectsRaw, every status."""

    name = "projects"
    primary_keys = ("project_id",)
    schema = schemas.PROJECTS.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.client.projects()


class CustomersStream(ReportingStream):
    """Customers: Reporting GetCustomersRaw, every status."""

    name = "customers"
    primary_keys = ("customer_id",)
    schema = schemas.CUSTOMERS.to_dict()
    operation = "GetCustomersRaw"
    params: ClassVar[dict[str, Any]] = {"customerID": ALL_IDS, "customerStatusID": ALL_STATUS,
                                        "accountManagerID": ALL_IDS}

    @override
    def to_record(self, item: dict[str, Any]) -> dict[str, Any]:
        return customer_record(item, self.tz)


class AllocationsStream(ReportingStream):
    """Allocations (employee on task): Reporting GetAllocationsRaw."""

    name = "allocations"
    primary_keys = ("allocation_id",)
    schema = schemas.ALLOCATIONS.to_dict()
    operation = "GetAllocationsRaw"
    params: ClassVar[dict[str, Any]] = {"allocationID": ALL_IDS, "taskID": ALL_IDS, "employeeID": ALL_IDS,
                                        "projectID": ALL_IDS}

    @override
    def to_record(self, item: dict[str, Any]) -> dict[str, Any]:
        return allocation_record(item)


class DepartmentsStream(TimeLogStream):
    """Departments: OrganisationService GetDepartments (one call; unlike Reporting it carries the GUIDs)."""

    name = "departments"
    primary_keys = ("department_id",)
    schema = schemas.DEPARTMENTS.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.client.fetch(Service.ORGANISATION, "GetDepartments", parse=department_record)


class TasksStream(TimeLogStream):
    """Tasks: Reporting GetTasksRaw (all levels, LastModifiedAt) plus external keys from the Transactional
    change feed GetTasksModifiedInPeriodPaged over the same window. Incremental on `modified_at`."""

    name = "tasks"
    primary_keys = ("task_id",)
    replication_key = "modified_at"
    is_sorted = False
    schema = schemas.TASKS.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        bookmark = self.bookmark(context)
        since = bookmark - self.lookback if bookmark else None
        now = dt.datetime.now(dt.UTC)
        keys = dict(self.client.paged(
            Service.PROJECT_MANAGEMENT, "GetTasksModifiedInPeriodPaged", page_size=CHANGE_LOG_PAGE_SIZE,
            startDate=self.site_local(since) if since else dt.datetime.combine(EARLIEST_WORK_DATE, dt.time()),
            endDate=self.site_local(now + CLOCK_SKEW_ALLOWANCE),
            parse=lambda task: (int(task["TaskID"]), external_keys(task)),
        ))
        for record in self.client.tasks(parse=lambda item: task_record(item, self.tz, keys.get(int(item["ID"]), []))):
            if since is None or parse_datetime(record["modified_at"], dt.UTC) >= since:
                yield record


class WorkStream(TimeLogStream):
    """Time registrations, incremental by modification time.

    Which registrations changed comes from the Transactional change log (GetWorkChangeLogPaged, 3 months
    deep); their full rows (note, billable, EmployeeID, TaskID, timestamps) come from the Reporting API
    (GetWorkUnitsRawPaged) for just the registration dates involved. The first run, and a bookmark older
    than the change log, read the Reporting API by registration date instead.
    """

    name = "work"
    primary_keys = ("work_unit_guid",)
    replication_key = "modified_at"
    is_sorted = False
    schema = schemas.WORK.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        now = dt.datetime.now(dt.UTC)
        last_day = now.date() + dt.timedelta(days=FUTURE_WORK_DAYS)
        bookmark = self.bookmark(context)
        if bookmark is None:
            first_day = self.start_date.date() if self.start_date else EARLIEST_WORK_DATE
            self.logger.info("work: first run, reading registrations dated %s to %s", first_day, last_day)
            yield from self._read([(first_day, last_day)], lambda _record: True)
            return
        since = bookmark - self.lookback
        if since < now - CHANGE_LOG_RETENTION:
            first_day = (since - FALLBACK_WINDOW).date()
            self.logger.warning(
                "work: bookmark %s is older than TimeLog's 3-month change log; re-reading registrations dated "
                "%s to %s and emitting those modified since %s. Edits to registrations dated earlier, and "
                "deletions before %s, cannot be seen.",
                bookmark.isoformat(), first_day, last_day, since.isoformat(), (now - CHANGE_LOG_RETENTION).date(),
            )
            yield from self._read([(first_day, last_day)], lambda record: self._modified_since(record, since))
            return
        changed = self._changed_since(since, now)
        self.logger.info("work: %d registrations changed since %s", len(changed), since.isoformat())
        if changed:  # the change log filters by day: keep only what really changed since `since`
            yield from self._read(date_ranges(changed.values()), lambda record: self._modified_since(record, since))

    def _changed_since(self, since: dt.datetime, now: dt.datetime) -> dict[str, dt.date]:
        """GUID -> registration date of every registration created or updated since `since`.

        TimeLog's change log ignores the time of day, so this may include changes earlier that day.
        """
        changed: dict[str, dt.date] = {}
        for guid, day in self.client.paged(
            Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", page_size=CHANGE_LOG_PAGE_SIZE,
            startDate=self.site_local(since), endDate=self.site_local(now + CLOCK_SKEW_ALLOWANCE),
            includeCreates=True, includeUpdates=True, includeDeletes=False,
            parse=lambda entry: (to_guid(require("WorkUnitGuid")(entry)["WorkUnitGuid"]), to_date(entry.get("Date"))),
        ):
            if day:  # entries of since-deleted registrations carry only the GUID
                changed[guid] = dt.date.fromisoformat(day)
        return changed

    @staticmethod
    def _modified_since(record: dict[str, Any], since: dt.datetime) -> bool:
        modified = parse_datetime(record["modified_at"], dt.UTC)
        return modified is not None and modified >= since

    def _read(
        self, ranges: list[tuple[dt.date, dt.date]], keep: Callable[[dict[str, Any]], bool]
    ) -> Iterator[dict[str, Any]]:
        """Reporting rows of registrations dated within `ranges`, as records, those `keep` accepts."""
        task_guids = self.client.task_guids()
        for first, last in ranges:
            for record in self.client.reporting_paged(
                "GetWorkUnitsRawPaged", page_size=WORK_PAGE_SIZE,
                workUnitID=ALL_IDS, employeeID=ALL_IDS, allocationID=ALL_IDS, taskID=ALL_IDS, projectID=ALL_IDS,
                departmentID=ALL_IDS, startDate=first.isoformat(), endDate=last.isoformat(),
                parse=lambda item: work_record(item, self.tz, task_guids),
            ):
                if keep(record):
                    yield record


class WorkDeletionsStream(TimeLogStream):
    """Deleted registrations, from the Transactional work change log (the only place deletions show)."""

    name = "work_deletions"
    primary_keys = ("work_unit_guid",)
    replication_key = "deleted_at"
    is_sorted = False
    schema = schemas.WORK_DELETIONS.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        now = dt.datetime.now(dt.UTC)
        oldest = now - CHANGE_LOG_RETENTION
        bookmark = self.bookmark(context)
        since = bookmark - self.lookback if bookmark else (self.start_date or oldest)
        if since < oldest:
            if bookmark:
                self.logger.warning(
                    "work_deletions: bookmark %s is older than TimeLog's 3-month change log; deletions before "
                    "%s cannot be seen", bookmark.isoformat(), oldest.date(),
                )
            since = oldest
        seen_at = to_utc_rfc3339(now, dt.UTC)
        for action, record in self.client.paged(
            Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", page_size=CHANGE_LOG_PAGE_SIZE,
            startDate=self.site_local(since), endDate=self.site_local(now + CLOCK_SKEW_ALLOWANCE),
            includeCreates=False, includeUpdates=False, includeDeletes=True,
            parse=lambda entry: (entry.get("Action"), work_deletion_record(entry, self.tz, seen_at)),
        ):
            if action in (DELETED_ACTION, None):
                yield record


STREAM_TYPES: tuple[type[TimeLogStream], ...] = (
    WorkStream,
    WorkDeletionsStream,
    TasksStream,
    EmployeesStream,
    ProjectsStream,
    CustomersStream,
    AllocationsStream,
    DepartmentsStream,
)
