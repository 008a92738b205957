"""tap-timelog streams: which TimeLog API each one reads, and how it stays incremental."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, final

from singer_sdk import Stream

from tap_timelog import schemas
from tap_timelog.records import (
    GUID_RECORD_FIELDS,
    allocation_record,
    customer_record,
    department_record,
    employee_record,
    external_keys,
    keyed,
    matching_model,
    project_record,
    task_record,
    work_deletion_record,
    work_record,
)
from timelog_api.convert import (
    month_windows,
    parse_datetime,
    require,
    to_date,
    to_guid,
    to_site_local,
    to_utc_rfc3339,
)
from timelog_api.errors import TimeLogConfigError, TimeLogError
from timelog_api.guids import GuidModel, employee_work_guids
from timelog_api.items import ALL_IDS, ALL_STATUS
from timelog_api.services import Service

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_timelog.tap import TapTimeLog
    from timelog_api.client import TimeLogClient

#: A stream's record, as the SDK takes it.
Record = dict[str, Any]
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
#: Changed registrations dated within one week are read with one date range (one call for a few days' rows);
#: a range never spans more, so scattered edits do not pull in unrelated history.
MAX_RANGE_DAYS = 7
#: tap-timelog's `guid_model` setting: find out which Reporting GUID is the Transactional one (see `GuidModel`).
AUTO_GUID_MODEL = "auto"
#: State key next to the work bookmark: the GUID model found on this site, so it is found once.
GUID_MODEL_STATE = "guid_model"
#: Change-log windows end this far past "now", so a server clock slightly ahead of ours loses nothing.
CLOCK_SKEW_ALLOWANCE = dt.timedelta(days=1)
DELETED_ACTION = "Deleted"
#: The SDK's own line for a stream that failed; for a TimeLogError it only repeats the tap's one line.
SDK_STREAM_FAILED = "An unhandled error occurred while syncing"
#: Each read re-reads this much before where the previous one began (see `IncrementalTimeLogStream`).
DEFAULT_OVERLAP_SECONDS = 5
#: State keys tap-timelog keeps next to the SDK's bookmark: where the last complete read began (UTC) ...
READ_STARTED_AT = "read_started_at"
#: ... and how far into the change log of one window it got: `{"from": "YYYY-MM-DD", "resume": n, "seen": [...]}`.
CHANGE_LOG_CURSOR = "change_log"
#: The most change-log entries a cursor remembers as read inside the overlap (about 70 bytes of state each).
MAX_SEEN_ENTRIES = 5000


def date_ranges(days: Iterable[dt.date], max_days: int = MAX_RANGE_DAYS) -> list[tuple[dt.date, dt.date]]:
    """Merge dates into inclusive (first, last) ranges of at most `max_days` days each."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and (day - ranges[-1][0]).days < max_days:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


@dataclass(frozen=True)
class ChangeLogEntry:
    """One line of the work change log (`WorkUnitFlat`), at its position in the day-filtered log."""

    index: int
    item: dict[str, Any]
    action: str | None
    guid: str | None  # None for the empty GUID
    #: The registration's date; None for lines of registrations deleted since (TimeLog then fills only the GUID).
    date: dt.date | None
    #: When the change was logged (ActionDate); None where TimeLog leaves it empty.
    logged_at: dt.datetime | None

    @property
    def key(self) -> str:
        """What tells this entry from the others in a cursor's `seen` list."""
        return f"{self.guid} {self.action} {self.logged_at.isoformat() if self.logged_at else ''}"


class TimeLogStream(Stream):
    """A tap-timelog stream: reads through the shared `TimeLogClient` built once per run by the tap.

    Each stream reads in `records`; `get_records` ends the run on a TimeLogError with one line naming what to
    fix, and the last stream's `log_sync_costs` closes the client: the SDK's `sync_all` (final) ends with it.
    """

    _tap: TapTimeLog  # the tap whose discover_streams made this stream

    @property
    def client(self) -> TimeLogClient:
        """The run's TimeLog client."""
        return self._tap.timelog

    def records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """This stream's records."""
        raise NotImplementedError

    @final
    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """`records`; a TimeLogError closes the client and ends the run with its message, without a traceback."""
        try:
            yield from self.records(context)
        except TimeLogError as exc:
            self._tap.close_client()
            raise SystemExit(f"tap-timelog: {exc}") from None  # the message is the diagnosis; no traceback

    @override
    def log_sync_costs(self) -> None:
        """Log the stream's costs; the SDK's sync_all ends by doing so for every stream, in order, so after
        the last one the run is over and the client is closed."""
        super().log_sync_costs()
        if self is list(self._tap.streams.values())[-1]:
            self._tap.close_client()

    @property
    def tz(self) -> dt.tzinfo:
        """The site's time zone (for TimeLog's offset-less timestamps)."""
        return self.client.site_tz

    @property
    def start_date(self) -> dt.datetime | None:
        """The start_date setting as an aware datetime."""
        value = self.config.get("start_date")
        return parse_datetime(value, dt.UTC) if value else None

    def site_local(self, moment: dt.datetime) -> dt.datetime:
        """A moment in the site's naive local time, as TimeLog's DateTime parameters expect."""
        return to_site_local(moment, self.tz)

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """Log a message; the SDK's generic "stream failed" line is left out for a TimeLogError, which the tap
        reports itself in one line."""
        if message.startswith(SDK_STREAM_FAILED) and isinstance(sys.exc_info()[1], TimeLogError):
            return
        super().log(message, *args, level=level, **kwargs)


class IncrementalTimeLogStream(TimeLogStream):
    """A stream that reads only what changed since its previous complete read.

    The next read starts where this one began, minus `overlap_seconds`, not at the newest change seen: a
    burst of writes is read once, not again on every run until something newer changes. The start is taken
    on the earlier of our clock and TimeLog's (from its answers' `Date`), so a server clock running behind
    ours loses nothing.
    """

    replication_key = "modified_at"
    is_sorted = False

    @property
    def overlap(self) -> dt.timedelta:
        """Re-read before the previous read's start: changes committed late, or stamped a moment early."""
        return dt.timedelta(seconds=self.config.get("overlap_seconds", DEFAULT_OVERLAP_SECONDS))

    def since(self, context: Context | None) -> dt.datetime | None:
        """Where this run reads from; None on a first run.

        A state written before tap-timelog kept the read's start falls back to the bookmark.
        """
        state = self.get_context_state(context)
        anchor = state.get(READ_STARTED_AT) or state.get("replication_key_value")
        began = parse_datetime(anchor, dt.UTC) if anchor else None
        return began - self.overlap if began is not None else None

    def read(self, context: Context | None, since: dt.datetime | None, started: dt.datetime) -> Iterator[Record]:
        """The records changed since `since` (everything when None); `started` is when this read began."""
        raise NotImplementedError

    @override
    def records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        started = dt.datetime.now(dt.UTC)
        yield from self.read(context, self.since(context), started)
        # Saved only after the last record: a run that fails part-way leaves the next one where this one began.
        self.get_context_state(context)[READ_STARTED_AT] = to_utc_rfc3339(self.began(started), dt.UTC)

    def began(self, started: dt.datetime) -> dt.datetime:
        """When a read begun at `started` (our clock) began on the earlier of our and TimeLog's clock."""
        return started - self.client.server_lag

    def next_since(self, started: dt.datetime) -> dt.datetime:
        """What `since` will be on the next run, if this read (begun at `started`) completes."""
        return self.began(started) - self.overlap


class ChangeLogStream(IncrementalTimeLogStream):
    """A stream fed by the Transactional work change log (GetWorkChangeLogPaged)."""

    #: Which actions this stream asks the change log for.
    includes: ClassVar[dict[str, bool]]

    def cursor_past_everything(self, since: dt.datetime, started: dt.datetime) -> dict[str, Any] | None:
        """For a read that does not use the change log: a cursor past every entry logged so far in the window
        starting at `since` (None if TimeLog does not say how many). One call for the count, one for the last
        page, whose entries inside the next run's overlap the cursor remembers."""
        first_day = self.site_local(since).date()
        count = self.client.count(
            Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", startDate=self.site_local(since),
            endDate=self.site_local(started + CLOCK_SKEW_ALLOWANCE), **self.includes,
        )
        if count is None:
            return None
        last_page = self._read_change_log(first_day, (count - 1) // CHANGE_LOG_PAGE_SIZE) if count else []
        return self._cursor_after(first_day, last_page, started, resume=count)

    def changes_since(
        self, context: Context | None, since: dt.datetime, started: dt.datetime,
    ) -> tuple[list[ChangeLogEntry], dict[str, Any]]:
        """Change-log entries logged since `since` that an earlier run did not read, and the cursor to save.

        The change log filters by whole days (a TimeLog limit) and lists entries oldest first. The cursor says
        where the previous run's overlap began in the log of the same window (`resume`), and which entries from
        there on it already read (`seen`): this read starts at that page, and keeps only the entries it did not.
        A change committed late, stamped inside the overlap, is filed after `resume` and is not `seen`.
        """
        first_day = self.site_local(since).date()
        cursor = self.get_context_state(context).get(CHANGE_LOG_CURSOR) or {}
        same_window = cursor.get("from") == first_day.isoformat()
        resume = cursor.get("resume", 0) if same_window else 0
        seen = set(cursor.get("seen", ())) if same_window else set()
        entries = self._read_change_log(first_day, resume // CHANGE_LOG_PAGE_SIZE)
        fresh = [e for e in entries if e.index >= resume and e.key not in seen]
        return fresh, self._cursor_after(first_day, entries, started, resume=resume)

    def _read_change_log(self, first_day: dt.date, skip_pages: int) -> list[ChangeLogEntry]:
        """The change log of the window from `first_day` on, from page `skip_pages + 1` to the end."""
        positions = itertools.count(skip_pages * CHANGE_LOG_PAGE_SIZE)
        return list(self.client.paged(
            Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", page_size=CHANGE_LOG_PAGE_SIZE,
            first_page=skip_pages + 1, startDate=dt.datetime.combine(first_day, dt.time()),
            endDate=self.site_local(dt.datetime.now(dt.UTC) + CLOCK_SKEW_ALLOWANCE), **self.includes,
            parse=lambda item: self._entry(next(positions), item),
        ))

    def _cursor_after(
        self, first_day: dt.date, entries: list[ChangeLogEntry], started: dt.datetime, *, resume: int,
    ) -> dict[str, Any]:
        """The cursor once `entries` (the log's tail) are read: the next run resumes at the first one inside its
        overlap and skips those seen here. Past `MAX_SEEN_ENTRIES` it re-reads them instead (state stays small)."""
        next_since = self.next_since(started)
        overlap_from = next((e.index for e in entries if e.logged_at is not None and e.logged_at >= next_since), None)
        if overlap_from is None:
            return {"from": first_day.isoformat(), "resume": max([resume, *(e.index + 1 for e in entries)])}
        seen = [e.key for e in entries if e.index >= overlap_from]
        return {"from": first_day.isoformat(), "resume": overlap_from,
                "seen": seen if len(seen) <= MAX_SEEN_ENTRIES else []}

    def _entry(self, index: int, item: dict[str, Any]) -> ChangeLogEntry:
        return ChangeLogEntry(
            index=index, item=item, action=item.get("Action"),
            guid=to_guid(require("WorkUnitGuid")(item)["WorkUnitGuid"]),
            date=dt.date.fromisoformat(day) if (day := to_date(item.get("Date"))) else None,
            logged_at=parse_datetime(item.get("ActionDate"), self.tz),
        )

    def save_cursor(self, context: Context | None, cursor: dict[str, Any] | None) -> None:
        """Keep the change-log cursor for the next run (called once every record is out)."""
        state = self.get_context_state(context)
        if cursor is None:
            state.pop(CHANGE_LOG_CURSOR, None)
        else:
            state[CHANGE_LOG_CURSOR] = cursor


class ReportingStream(TimeLogStream):
    """A whole table from one unpaged Reporting API call (flat and bulk)."""

    operation: ClassVar[str]
    params: ClassVar[dict[str, Any]] = {}

    def to_record(self, item: dict[str, Any]) -> dict[str, Any]:
        """A Reporting item as this stream's record."""
        raise NotImplementedError

    @override
    def records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.client.reporting(self.operation, parse=self.to_record, **self.params)


class EmployeesStream(TimeLogStream):
    """Employees: Reporting GetEmployeesRaw (ids, user id, e-mail) joined with OrganisationService GUIDs."""

    name = "employees"
    primary_keys = ("employee_id",)
    schema = schemas.EMPLOYEES.to_dict()

    @override
    def records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        guids = self.client.employee_guids()
        yield from self.client.employees(parse=lambda item: employee_record(item, guids.get(int(item["ID"]))))


class ProjectsStream(TimeLogStream):
    """Projects: Reporting GetProjectsRaw, every status."""

    name = "projects"
    primary_keys = ("project_id",)
    schema = schemas.PROJECTS.to_dict()

    @override
    def records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.client.projects(parse=lambda item: project_record(item, self.tz))


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
    def records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.client.fetch(Service.ORGANISATION, "GetDepartments", parse=department_record)


class TasksStream(IncrementalTimeLogStream):
    """Tasks: Reporting GetTasksRaw (all levels, LastModifiedAt) plus external keys from the Transactional
    change feed GetTasksModifiedInPeriodPaged over the same window. Incremental on `modified_at`."""

    name = "tasks"
    primary_keys = ("task_id",)
    schema = schemas.TASKS.to_dict()

    @override
    def read(self, context: Context | None, since: dt.datetime | None, started: dt.datetime) -> Iterator[Record]:
        keys = dict(self.client.paged(
            Service.PROJECT_MANAGEMENT, "GetTasksModifiedInPeriodPaged", page_size=CHANGE_LOG_PAGE_SIZE,
            startDate=self.site_local(since) if since else dt.datetime.combine(EARLIEST_WORK_DATE, dt.time()),
            endDate=self.site_local(started + CLOCK_SKEW_ALLOWANCE),
            parse=lambda task: (int(task["TaskID"]), external_keys(task)),
        ))
        for record in self.client.tasks(parse=lambda item: task_record(item, self.tz, keys.get(int(item["ID"]), []))):
            modified = parse_datetime(record["modified_at"], dt.UTC)
            if since is None or modified is None or modified >= since:
                yield record


class WorkStream(ChangeLogStream):
    """Time registrations, incremental by modification time.

    Which registrations changed comes from the Transactional change log (GetWorkChangeLogPaged, 3 months
    deep); their full rows (note, billable, EmployeeID, TaskID, timestamps) come from the Reporting API
    (GetWorkUnitsRawPaged) for just the registration dates involved. The first run, and a bookmark older
    than the change log, read the Reporting API by registration date instead.
    """

    name = "work"
    primary_keys = ("work_unit_guid",)
    schema = schemas.WORK.to_dict()
    includes: ClassVar[dict[str, bool]] = {"includeCreates": True, "includeUpdates": True, "includeDeletes": False}

    @override
    def read(self, context: Context | None, since: dt.datetime | None, started: dt.datetime) -> Iterator[Record]:
        last_day = started.date() + dt.timedelta(days=FUTURE_WORK_DAYS)
        if since is None or since < started - CHANGE_LOG_RETENTION:
            # Read by registration date; first note how long today's change log is, so the next run skips it.
            cursor = self.cursor_past_everything(self.next_since(started), started)
            if since is None:
                first_day = self.start_date.date() if self.start_date else EARLIEST_WORK_DATE
                self.logger.info("work: first run, reading registrations dated %s to %s", first_day, last_day)
                yield from self._read_history(context, first_day, last_day, lambda _record: True)
            else:
                first_day = (since - FALLBACK_WINDOW).date()
                self.logger.warning(
                    "work: the last read (%s) is older than TimeLog's 3-month change log; re-reading registrations "
                    "dated %s to %s and emitting those modified since then. Edits to registrations dated earlier, "
                    "and deletions before %s, cannot be seen.",
                    since.isoformat(), first_day, last_day, (started - CHANGE_LOG_RETENTION).date(),
                )
                yield from self._read_history(context, first_day, last_day,
                                              lambda record: self._modified_since(record, since))
            self.save_cursor(context, cursor)
            return
        entries, cursor = self.changes_since(context, since, started)
        # Lines of registrations deleted since carry no date: work_deletions reports those.
        changed = {entry.guid: entry.date for entry in entries if entry.date is not None}
        self.logger.info("work: %d registrations changed since %s", len(changed), since.isoformat())
        for record in self._read(date_ranges(changed.values())):
            # Reporting filters by registration date: keep only the units the change log named, by whichever of
            # their two Reporting GUIDs is the change log's.
            model = matching_model(record, changed)
            if model is not None:
                yield keyed(self._learned(context, model), record)
        self.save_cursor(context, cursor)

    def _read_history(
        self, context: Context | None, first: dt.date, last: dt.date, keep: Callable[[dict[str, Any]], bool]
    ) -> Iterator[dict[str, Any]]:
        """Every registration dated first..last, a month per Reporting read, keyed by its Transactional GUID."""
        model = self._known_model(context)
        for record in self._read(month_windows(first, last)):
            model = model or self._learned(context, self._find_model(record))
            record = keyed(model, record)
            if keep(record):
                yield record

    def _known_model(self, context: Context | None) -> GuidModel | None:
        """The GUID model the `guid_model` setting names, else the one found on an earlier run."""
        setting = self.config.get("guid_model") or AUTO_GUID_MODEL
        if setting != AUTO_GUID_MODEL:
            return GuidModel(setting)
        found = self.get_context_state(context).get(GUID_MODEL_STATE)
        return GuidModel(found) if found else None

    def _learned(self, context: Context | None, model: GuidModel) -> GuidModel:
        """Note the model the site was seen to use; a site that contradicts the earlier finding stops the run,
        since keying its units the other way would sync every one of them twice."""
        known = self._known_model(context)
        if known is not None and known is not model:
            raise TimeLogConfigError(
                f"TimeLog's change log names work units by their Reporting {GUID_RECORD_FIELDS[model]}, but guid_model "
                f"is {known.value!r} (set, or found on an earlier run). Check with `timesync doctor --write-probe "
                "TASK_ID` and set tap-timelog's guid_model to what it reports.")
        self.get_context_state(context)[GUID_MODEL_STATE] = model.value
        return model

    def _find_model(self, record: dict[str, Any]) -> GuidModel:
        """Which Reporting GUID of this unit the Transactional API uses: one GetEmployeeWork of its day, read-only."""
        guids = employee_work_guids(self.client, record.get("employee_initials") or "",
                                    dt.date.fromisoformat(record["date"]))
        model = matching_model(record, guids)
        if model is None:
            raise TimeLogConfigError(
                f"could not tell which Reporting GUID of work unit {record.get('work_unit_id')} the Transactional "
                "API uses (GetEmployeeWork of its day has neither); run `timesync doctor --write-probe TASK_ID` "
                "and set tap-timelog's guid_model (time_registration or work_unit) to what it reports")
        self.logger.info("work: this TimeLog site's Transactional GUID is Reporting's %s", GUID_RECORD_FIELDS[model])
        return model

    @staticmethod
    def _modified_since(record: dict[str, Any], since: dt.datetime) -> bool:
        modified = parse_datetime(record["modified_at"], dt.UTC)
        return modified is not None and modified >= since

    def _read(self, ranges: list[tuple[dt.date, dt.date]]) -> Iterator[dict[str, Any]]:
        """Reporting rows of registrations dated within `ranges`, as (not yet keyed) records."""
        if not ranges:
            return
        task_guids = self.client.task_guids()
        for number, (first, last) in enumerate(ranges, start=1):
            def page_read(page: int, pages: int | None, first: dt.date = first, last: dt.date = last,
                          number: int = number) -> None:
                # A first sync reads years a month at a time: one line per page shows it is moving.
                self.logger.info("progress: work: dates %s..%s (range %d of %d), page %d of %s",
                                 first, last, number, len(ranges), page, pages if pages is not None else "?")

            yield from self.client.reporting_paged(
                "GetWorkUnitsRawPaged", page_size=WORK_PAGE_SIZE, on_page=page_read,
                workUnitID=ALL_IDS, employeeID=ALL_IDS, allocationID=ALL_IDS, taskID=ALL_IDS, projectID=ALL_IDS,
                departmentID=ALL_IDS, startDate=first.isoformat(), endDate=last.isoformat(),
                parse=lambda item: work_record(item, self.tz, task_guids),
            )


class WorkDeletionsStream(ChangeLogStream):
    """Deleted registrations, from the Transactional work change log (the only place deletions show)."""

    name = "work_deletions"
    primary_keys = ("work_unit_guid",)
    replication_key = "deleted_at"
    schema = schemas.WORK_DELETIONS.to_dict()
    includes: ClassVar[dict[str, bool]] = {"includeCreates": False, "includeUpdates": False, "includeDeletes": True}

    @override
    def read(self, context: Context | None, since: dt.datetime | None, started: dt.datetime) -> Iterator[Record]:
        oldest = started - CHANGE_LOG_RETENTION
        if since is not None and since < oldest:
            self.logger.warning(
                "work_deletions: the last read (%s) is older than TimeLog's 3-month change log; deletions before "
                "%s cannot be seen", since.isoformat(), oldest.date(),
            )
        since = max(since or self.start_date or oldest, oldest)
        entries, cursor = self.changes_since(context, since, started)
        seen_at = to_utc_rfc3339(started, dt.UTC)
        for entry in entries:
            if entry.action in (DELETED_ACTION, None):
                yield work_deletion_record(entry.item, self.tz, seen_at)
        self.save_cursor(context, cursor)


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
