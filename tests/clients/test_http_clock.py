"""The server's clock from the `Date` header, as both API clients read it (clients/http-clock)."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest

from http_clock import clock_offset, server_lag


@pytest.mark.parametrize(("server_clock", "lag"), [
    (dt.timedelta(minutes=-10), dt.timedelta(minutes=10)), (dt.timedelta(minutes=10), dt.timedelta(0)),
    (None, dt.timedelta(0)),
])
def test_the_server_lag_comes_from_the_date_header(server_clock: dt.timedelta | None, lag: dt.timedelta) -> None:
    """A server clock behind ours moves the next read's start back by as much; one ahead changes nothing."""
    now = dt.datetime.now(dt.UTC)
    date = email.utils.format_datetime(now + server_clock, usegmt=True) if server_clock else "not a date"
    measured = server_lag(clock_offset({"Date": date}))
    assert lag <= measured <= lag + dt.timedelta(seconds=2)


@pytest.mark.parametrize("headers", [{}, {"Date": ""}, {"Date": "Thu, 03 Dec 2026 10:00:00"}])
def test_an_answer_without_a_usable_date_gives_no_offset(headers: dict[str, str]) -> None:
    """No header, an empty one, or one without a zone (RFC 9110 requires GMT): no offset, so no lag either."""
    assert clock_offset(headers) is None
    assert server_lag(clock_offset(headers)) == dt.timedelta(0)


def test_the_offset_has_the_servers_sign() -> None:
    """Positive when the server is ahead: what `timesync doctor` reports as the clock difference."""
    ahead = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5), usegmt=True)
    offset = clock_offset({"Date": ahead})
    assert offset is not None
    assert dt.timedelta(minutes=4) < offset <= dt.timedelta(minutes=5)
