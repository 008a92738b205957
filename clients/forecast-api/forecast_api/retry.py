"""The one retry policy of every Forecast caller: which waits, how many attempts, and `Retry-After` honoured.

It is built on the `backoff` library, as singer-sdk's own retries are: `RetryPolicy.waits` is a backoff wait
generator (the tap hands it to the SDK), and `RetryPolicy.retrying` decorates this client's own requests.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff
import requests
from backoff.types import Details

F = TypeVar("F", bound=Callable[..., Any])

#: Attempts per request (the first try included) on 429, 5xx, timeouts and dropped connections.
MAX_ATTEMPTS = 6
#: Exponential backoff: 1, 2, 4, 8, 16 seconds (plus up to a second of jitter) when no Retry-After is given.
BACKOFF_BASE_SECONDS = 1
BACKOFF_MAX_SECONDS = 60
MAX_JITTER_SECONDS = 1.0
#: A Retry-After above this is capped, so a bad header cannot stall a 15-minute schedule for hours.
MAX_RETRY_AFTER_SECONDS = 300


class RetryAfter(float):
    """A wait the server asked for (its `Retry-After`): honoured as it is, never jittered."""

    __slots__ = ()


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """The wait a `Retry-After` header asks for (seconds or an HTTP date), capped; None without one."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (moment - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


@dataclass(frozen=True)
class RetryPolicy:
    """How often a request is tried, and how long to wait between tries."""

    max_attempts: int = MAX_ATTEMPTS

    @staticmethod
    def waits() -> Generator[float, BaseException | None, None]:
        """A `backoff` wait generator: a failed attempt's `Retry-After` (read from the exception's `response`)
        sets the wait; otherwise 1, 2, 4 ... seconds, capped."""
        attempt = 0
        exception = yield 0  # primed by the backoff library
        while True:
            attempt += 1
            exponential = min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)
            retry_after = retry_after_seconds(getattr(exception, "response", None))
            exception = yield exponential if retry_after is None else RetryAfter(retry_after)

    @staticmethod
    def jitter(wait: float) -> float:
        """Up to a second added to a backoff wait, so clients do not retry in step; a Retry-After is kept as is."""
        return wait if isinstance(wait, RetryAfter) else wait + random.uniform(0, MAX_JITTER_SECONDS)

    def retrying(self, attempt: F, retried: tuple[type[Exception], ...],
                 on_backoff: Callable[[Details], None]) -> F:
        """`attempt` tried up to `max_attempts` times while it raises one of `retried`; then that error escapes."""
        return backoff.on_exception(self.waits, retried, max_tries=self.max_attempts, jitter=self.jitter,
                                    on_backoff=on_backoff, logger=None)(attempt)
