"""The simulators' clock and the wire formats they share: UTC `2026-11-20T16:05:09Z` and `YYYY-MM-DD` dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

#: `created_at`/`updated_at` as Forecast (v1-v3) and Harvest (v2) write them: UTC, `Z` suffix, whole seconds.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock. Writes stamp `updated_at` with it, truncated to the second like the real APIs."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """`2026-11-20T16:05:09Z` (sub-seconds dropped, not rounded)."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse `YYYY-MM-DDTHH:MM:SSZ` (raises ValueError)."""
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def parse_date(text: object) -> str:
    """A `YYYY-MM-DD` calendar date, validated and returned unchanged (raises ValueError)."""
    if not isinstance(text, str) or len(text) != len("2020-02-16"):
        raise ValueError(text)
    return date.fromisoformat(text).isoformat()
