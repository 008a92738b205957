"""tap-timelog's base streams: the shared client and time zone, incremental bookmarks, and the work change log."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, final

from singer_sdk import Stream

from timelog_api.convert import (
    parse_datetime,
    require,
    to_date,
    to_guid,
    to_site_local,
    to_utc_rfc3339,
)
from timelog_api.errors import TimeLogError
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
#: GetWorkChangeLogPaged and GetTasksModifiedInPeriodPaged take at most 500 per page.
CHANGE_LOG_PAGE_SIZE = 500
#: Changed registrations dated within one week are read with one date range (one call for a few days' rows);
#: a range never spans more, so scattered edits do not pull in unrelated history.
MAX_RANGE_DAYS = 7
#: Change-log windows end this far past "now", so a server clock slightly ahead of ours loses nothing.
CLOCK_SKEW_ALLOWANCE = dt.timedelta(days=1)
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
