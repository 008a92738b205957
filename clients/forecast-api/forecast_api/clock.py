"""Forecast's clock against ours, from the `Date` header of its answers."""

from __future__ import annotations

import datetime as dt
import email.utils

import requests


def clock_offset(response: requests.Response) -> dt.timedelta | None:
    """Forecast's clock minus ours at this answer (None without a usable `Date` header)."""
    try:
        stamped = email.utils.parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        return None
    if stamped.tzinfo is None:
        return None
    return stamped - dt.datetime.now(dt.UTC)


def server_lag(response: requests.Response) -> dt.timedelta:
    """An upper bound of how far the server's clock is behind ours, from the answer's `Date` header (0 without one).

    `Date` is truncated to the second and stamped before the answer arrived, so the bound errs on the safe side.
    """
    offset = clock_offset(response)
    return dt.timedelta(0) if offset is None else max(-offset, dt.timedelta(0))
