"""Forecast's wire formats for dates and timestamps, and the compact formats its filters take."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.common.clock import format_timestamp, parse_timestamp

#: The `v4/*/deleted` feeds write offset timestamps instead (`2021-11-02T13:42:40+01:00`); ours are UTC.
OFFSET_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"
#: `updated_after` in paths and query strings, e.g. `20200216T210047`.
COMPACT_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S"
COMPACT_TIMESTAMP_EXAMPLE = "20200216T210047"
#: `date_after`, e.g. `20200216`.
COMPACT_DATE_FORMAT = "%Y%m%d"
COMPACT_DATE_EXAMPLE = "20200216"

def offset_timestamp(timestamp: str) -> str:
    """`2026-11-20T16:05:09Z` as the v4 deleted feeds write it: `2026-11-20T16:05:09+00:00`."""
    return parse_timestamp(timestamp).strftime(OFFSET_TIMESTAMP_FORMAT)


def parse_compact_timestamp(text: str) -> str:
    """`20200216T210047` -> `2020-02-16T21:00:47Z`, comparable with stored `updated_at` strings.

    Raises ValueError for anything else, including ISO timestamps: the real filter takes only this format.
    """
    if len(text) != len(COMPACT_TIMESTAMP_EXAMPLE):
        raise ValueError(text)
    return format_timestamp(datetime.strptime(text, COMPACT_TIMESTAMP_FORMAT).replace(tzinfo=UTC))


def parse_compact_date(text: str) -> str:
    """`20200216` -> `2020-02-16` (raises ValueError)."""
    if len(text) != len(COMPACT_DATE_EXAMPLE):
        raise ValueError(text)
    return datetime.strptime(text, COMPACT_DATE_FORMAT).date().isoformat()
