"""tap-timelog streams: which TimeLog API each one reads, and how it stays incremental."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tap_timelog import schemas
from tap_timelog.client import (
    CHANGE_LOG_PAGE_SIZE,
    CLOCK_SKEW_ALLOWANCE,
    ChangeLogStream,
    IncrementalTimeLogStream,
    Record,
    TimeLogStream,
    date_ranges,
)
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
from timelog_api.convert import month_windows, parse_datetime, to_utc_rfc3339
from timelog_api.errors import TimeLogConfigError
from timelog_api.guids import GuidModel, employee_work_guids
from timelog_api.items import ALL_IDS, ALL_STATUS
from timelog_api.services import Service

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

#: TimeLog keeps the work change log for 3 months; a few days less leaves room for clock and month lengths.
CHANGE_LOG_RETENTION = dt.timedelta(days=88)
#: When a bookmark is older than the change log, registrations dated this long before it are re-read too.
FALLBACK_WINDOW = dt.timedelta(days=92)
#: With no start_date, the first run reads registrations from this day on.
EARLIEST_WORK_DATE = dt.date(2000, 1, 1)
#: Registrations may be dated ahead (planned absence, pre-registered work): read up to this far ahead.
FUTURE_WORK_DAYS = 366
#: GetWorkUnitsRawPaged: TimeLog documents no maximum; 500 is what production clients use.
WORK_PAGE_SIZE = 500
#: tap-timelog's `guid_model` setting: find out which Reporting GUID is the Transactional one (see `GuidModel`).
AUTO_GUID_MODEL = "auto"
#: State key next to the work bookmark: the GUID model found on this site, so it is found once.
GUID_MODEL_STATE = "guid_model"
#: A work change-log entry's Action for a deleted registration.
DELETED_ACTION = "Deleted"


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
            if model is not None and self._in_scope(record):
                yield keyed(self._learned(context, model), record)
        self.save_cursor(context, cursor)

    def _read_history(
        self, context: Context | None, first: dt.date, last: dt.date, keep: Callable[[dict[str, Any]], bool]
    ) -> Iterator[dict[str, Any]]:
        """Every registration dated first..last, a month per Reporting read, keyed by its Transactional GUID;
        with `project_ids`/`employee_ids` set, only theirs, read by id (see `_id_filters`)."""
        model = self._known_model(context)
        for record in self._read(month_windows(first, last), self._id_filters()):
            model = model or self._learned(context, self._find_model(record))
            record = keyed(model, record)
            if keep(record) and self._in_scope(record):
                yield record

    def _id_filters(self) -> list[dict[str, int]]:
        """The GetWorkUnitsRawPaged id filters of a history read, one read per entry (ALL_IDS for the rest).

        One read per id of the shorter of `project_ids` and `employee_ids`: that is the fewest reads, and the
        other list is kept on the client (`_in_scope`). When the other list has a single id it is passed too
        (both filters combined), so the answers hold only matching rows.
        """
        # dict.fromkeys: an id listed twice is read once.
        projects = [("projectID", id_) for id_ in dict.fromkeys(self.config.get("project_ids") or ())]
        employees = [("employeeID", id_) for id_ in dict.fromkeys(self.config.get("employee_ids") or ())]
        if not projects and not employees:
            return [{}]
        if not employees or (projects and len(projects) <= len(employees)):
            per, other = projects, employees
        else:
            per, other = employees, projects
        combined = dict(other) if len(other) == 1 else {}
        return [{name: id_, **combined} for name, id_ in per]

    def _in_scope(self, record: dict[str, Any]) -> bool:
        """Whether the `project_ids` and `employee_ids` settings keep this work record (it must match both)."""
        for setting, field in (("project_ids", "project_id"), ("employee_ids", "employee_id")):
            wanted = self.config.get(setting)
            if wanted and record.get(field) not in wanted:
                return False
        return True

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

    def _read(self, ranges: list[tuple[dt.date, dt.date]],
              id_filters: Sequence[dict[str, int]] = ({},)) -> Iterator[dict[str, Any]]:
        """Reporting rows of registrations dated within `ranges`, as (not yet keyed) records; one read per
        range and entry of `id_filters` (`projectID`/`employeeID` values; ALL_IDS where absent)."""
        if not ranges:
            return
        task_guids = self.client.task_guids()
        for number, (first, last) in enumerate(ranges, start=1):
            def page_read(page: int, pages: int | None, first: dt.date = first, last: dt.date = last,
                          number: int = number) -> None:
                # A first sync reads years a month at a time: one line per page shows it is moving.
                self.logger.info("progress: work: dates %s..%s (range %d of %d), page %d of %s",
                                 first, last, number, len(ranges), page, pages if pages is not None else "?")

            for ids in id_filters:
                yield from self.client.reporting_paged(
                    "GetWorkUnitsRawPaged", page_size=WORK_PAGE_SIZE, on_page=page_read,
                    workUnitID=ALL_IDS, employeeID=ids.get("employeeID", ALL_IDS), allocationID=ALL_IDS,
                    taskID=ALL_IDS, projectID=ids.get("projectID", ALL_IDS), departmentID=ALL_IDS,
                    startDate=first.isoformat(), endDate=last.isoformat(),
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
