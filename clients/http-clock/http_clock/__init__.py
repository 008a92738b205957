"""A server's clock against ours, from the `Date` header of its HTTP answers."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping

__all__ = ["clock_offset", "server_lag"]


def clock_offset(headers: Mapping[str, str]) -> dt.timedelta | None:
    """The server's clock minus ours at this answer (None without a usable `Date` header)."""
    try:
        stamped = email.utils.parsedate_to_datetime(headers["Date"])
    except (KeyError, TypeError, ValueError):
        return None
    if stamped.tzinfo is None:
        return None
    return stamped - dt.datetime.now(dt.UTC)


def server_lag(offset: dt.timedelta | None) -> dt.timedelta:
    """An upper bound of how far the server's clock is behind ours, from `clock_offset` (0 without one).

    `Date` is truncated to the second and stamped before the answer arrived, so a server behind us looks up to a
    second further behind: the bound errs on the safe side.
    """
    return dt.timedelta(0) if offset is None else max(-offset, dt.timedelta(0))
