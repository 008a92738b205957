"""Forecast's timestamp formats: RFC 3339 in bodies, compact `YYYYMMDDTHHmmss` in `updated_after` paths."""

from __future__ import annotations

from datetime import UTC, datetime

#: How the tap writes every timestamp: UTC, `Z` suffix, whole seconds (the form Forecast's v1-v4 bodies use).
RFC3339_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: The `updated_after` path segment, e.g. `20200216T210047`. Its time zone is undocumented; UTC matches
#: the `Z` timestamps the API returns.
COMPACT_FORMAT = "%Y%m%dT%H%M%S"


def parse(value: str) -> datetime:
    """An ISO 8601 / RFC 3339 timestamp as an aware UTC datetime; naive input is taken as UTC.

    Raises:
        ValueError: `value` is not such a timestamp.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an RFC 3339 timestamp string, got {value!r}")
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_utc(value: str) -> str:
    """`2021-11-02T13:42:40+01:00` -> `2021-11-02T12:42:40Z`, so that every timestamp the tap emits sorts as text.

    Raises:
        ValueError: `value` is not an RFC 3339 timestamp.
    """
    return parse(value).strftime(RFC3339_UTC_FORMAT)


def to_compact(moment: datetime) -> str:
    """The `updated_after` path form of `moment`, in UTC: `20200216T210047`."""
    return moment.astimezone(UTC).strftime(COMPACT_FORMAT)
