"""Webhook delivery: POST each event to each matching subscription from a background thread, with DOCS-WH's retries.

DOCS-WH: "if the receiver answers with a non-2xx status, Forecast retries up to 5 times, after 1, 2, 3, 5 and 10
minutes". A connection error or timeout counts as a non-2xx answer here (the docs do not say; retrying is the
reading that loses nothing). The request is never signed: DOCS-WH documents no signature or HMAC header, so none is
sent (docs/assumptions.md). Delivery runs on its own thread so that an API answer never waits for a receiver.

The `webhook_minute_seconds` option (`ForecastOptions`) sets how long one minute of the retry schedule lasts, so
tests can run the schedule in seconds. Every attempt is recorded in `log` for tests to inspect.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

#: DOCS-WH: minutes before each of the (up to 5) retries after a non-2xx answer.
RETRY_MINUTES = (1, 2, 3, 5, 10)
SECONDS_PER_MINUTE = 60.0
#: How long one delivery attempt may take before it counts as failed (not documented).
ATTEMPT_TIMEOUT_SECONDS = 10
#: Attempts kept in `log`: enough for any test, bounded for a long-running demo.
LOG_LIMIT = 1000


@dataclass(order=True)
class _Due:
    at: float
    sequence: int
    url: str = field(compare=False)
    payload: dict = field(compare=False)
    attempt: int = field(compare=False, default=1)


@dataclass(frozen=True)
class Attempt:
    """One POST of one event to one URL: `status` is None when no answer came."""

    url: str
    payload: dict
    attempt: int
    status: int | None
    at: float


class WebhookDelivery:
    """A queue of due deliveries and one daemon thread that sends them, in due order."""

    def __init__(self, minute_seconds: float = SECONDS_PER_MINUTE) -> None:
        self.minute_seconds = minute_seconds
        self.log: list[Attempt] = []
        self._due: list[_Due] = []
        self._sequence = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def send(self, url: str, payload: dict) -> None:
        """Deliver `payload` to `url` as soon as the thread gets to it (never blocks on the receiver)."""
        self._schedule(_Due(time.monotonic(), next(self._sequence), url, payload))

    def pending(self) -> int:
        """Deliveries not yet made or still to be retried."""
        with self._wake:
            return len(self._due)

    def _schedule(self, due: _Due) -> None:
        with self._wake:
            heapq.heappush(self._due, due)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="forecast-webhooks", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0].at > time.monotonic():
                    self._wake.wait(timeout=self._due[0].at - time.monotonic() if self._due else None)
                due = heapq.heappop(self._due)
            status = _post(due.url, due.payload)
            self._record(Attempt(due.url, due.payload, due.attempt, status, time.time()))
            if status is not None and 200 <= status < 300:
                continue
            if due.attempt > len(RETRY_MINUTES):
                logger.warning("webhook %s: gave up after %d attempts", due.payload.get("event"), due.attempt)
                continue
            delay = RETRY_MINUTES[due.attempt - 1] * self.minute_seconds
            self._schedule(_Due(time.monotonic() + delay, next(self._sequence), due.url, due.payload,
                                due.attempt + 1))

    def _record(self, attempt: Attempt) -> None:
        with self._wake:
            self.log.append(attempt)
            del self.log[:-LOG_LIMIT]


def _post(url: str, payload: dict) -> int | None:
    """POST the JSON payload; the status, or None when the receiver could not be reached in time."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=ATTEMPT_TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError):
        return None
