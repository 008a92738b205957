"""Conversions between TimeLog's wire values and plain ones: minutes, hours, durations, dates, UTC timestamps; and
the check that an item carries the fields it must."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import isodate

MINUTES_PER_HOUR = 60
SECONDS_PER_MINUTE = 60
#: TimeLog's Reporting API writes decimals with 4 places (e.g. `2.0000`); 6 keeps a minute exact to the second.
HOURS_DECIMAL_PLACES = Decimal("0.000001")
WHOLE = Decimal(1)
TRUE_STRINGS = frozenset({"1", "true"})
FALSE_STRINGS = frozenset({"0", "false"})
NET_MIN_YEAR = 1

Item = Mapping[str, Any]


def require(*names: str) -> Callable[[Item], Item]:
    """A reader that passes an item through, or raises ValueError naming the first of `names` it lacks."""
    def check(item: Item) -> Item:
        for name in names:
            if item.get(name) in (None, ""):
                raise ValueError(f"item without {name}")
        return item
    return check


def _round_minutes(value: Decimal) -> int:
    return int(value.quantize(WHOLE, rounding=ROUND_HALF_UP))


def hours_to_minutes(hours: Decimal | float | str | None) -> int | None:
    """Decimal hours (`1.5`, `"0.0167"`, a double) to whole minutes, rounded to the nearest minute."""
    if hours is None or hours == "":
        return None
    return _round_minutes(Decimal(str(hours)) * MINUTES_PER_HOUR)


def minutes_to_hours(minutes: int) -> Decimal:
    """Whole minutes to decimal hours, precise enough that `hours_to_minutes` gives the minutes back."""
    return (Decimal(minutes) / MINUTES_PER_HOUR).quantize(HOURS_DECIMAL_PLACES, rounding=ROUND_HALF_UP)


def duration_to_minutes(duration: dt.timedelta | isodate.Duration | str | None) -> int | None:
    """xs:duration (`PT1H30M`, a timedelta or an isodate Duration) to whole minutes, rounded to the nearest."""
    if duration is None or duration == "":
        return None
    value: dt.timedelta | isodate.Duration = (
        isodate.parse_duration(duration) if isinstance(duration, str) else duration
    )
    if isinstance(value, isodate.Duration):
        if value.years or value.months:
            raise ValueError(f"duration {isodate.duration_isoformat(value)} has years or months; expected hours")
        value = value.tdelta
    seconds = Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds) / 1_000_000
    return _round_minutes(seconds / SECONDS_PER_MINUTE)


def minutes_to_duration(minutes: int) -> dt.timedelta:
    """Whole minutes to a timedelta; zeep renders it as xs:duration (`PT1H30M`)."""
    return dt.timedelta(minutes=minutes)


def to_date(value: dt.datetime | dt.date | str | None) -> str | None:
    """The calendar date (`YYYY-MM-DD`) of a TimeLog date or dateTime, as written: never shifted by a time zone."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(value.strip()[:10]).isoformat()


def parse_datetime(value: dt.datetime | str | None, site_tz: dt.tzinfo) -> dt.datetime | None:
    """A TimeLog dateTime as an aware datetime; values without an offset are in the site's time zone."""
    if value is None or value == "":
        return None
    parsed: dt.datetime = isodate.parse_datetime(value.strip()) if isinstance(value, str) else value
    if parsed.year == NET_MIN_YEAR:  # .NET's DateTime.MinValue: WCF's way of writing "no value"
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=site_tz)
    return parsed


def to_utc_rfc3339(value: dt.datetime | str | None, site_tz: dt.tzinfo) -> str | None:
    """A TimeLog dateTime as RFC 3339 in UTC (`2026-11-25T10:15:00Z`)."""
    parsed = parse_datetime(value, site_tz)
    if parsed is None:
        return None
    utc = parsed.astimezone(dt.UTC)
    timespec = "microseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def to_site_local(value: dt.datetime, site_tz: dt.tzinfo) -> dt.datetime:
    """An aware datetime as the site's naive local time, the form TimeLog's filter parameters expect."""
    if value.tzinfo is None:
        raise ValueError("to_site_local needs an aware datetime")
    return value.astimezone(site_tz).replace(tzinfo=None)


def to_int(value: int | str | None) -> int | None:
    """An integer field; empty means null."""
    if value is None or value == "":
        return None
    return int(value)


def to_decimal(value: Decimal | float | str | None) -> Decimal | None:
    """A decimal field (Reporting writes invariant culture, `2.0000`); empty means null."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def to_bool(value: bool | str | None) -> bool | None:
    """A boolean written as `1`/`0` or `true`/`false`; empty means null."""
    if value is None or isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    if text == "":
        return None
    raise ValueError(f"expected a boolean (1/0/true/false), got {value!r}")


def to_guid(value: object) -> str | None:
    """A GUID as lower-case text; the empty GUID and empty text are null."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text or text == "00000000-0000-0000-0000-000000000000":
        return None
    return text


def site_zone(name: str) -> dt.tzinfo:
    """The IANA zone (`Europe/Copenhagen`) TimeLog writes its offset-less timestamps in."""
    return dt.UTC if name.upper() == "UTC" else ZoneInfo(name)


def month_windows(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Inclusive (first, last) ranges, one per calendar month, covering first..last.

    A whole history is read a month at a time, as TimeLog advises for large syncs (its "Synchronizing data" guide:
    full syncs in month batches), so no Reporting answer grows with the account's age.
    """
    windows = []
    start = first
    while start <= last:
        next_month = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        end = min(next_month - dt.timedelta(days=1), last)
        windows.append((start, end))
        start = next_month
    return windows
