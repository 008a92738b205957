"""Forecast's one retry policy and its answers' facts, as a specification: Retry-After, backoff, locks, the clock."""

from __future__ import annotations

import datetime as dt
import email.utils
import json

import pytest
import requests

from forecast_api.errors import ForecastRefusedError, Verdict, classify
from forecast_api.retry import MAX_RETRY_AFTER_SECONDS, RetryAfter, RetryPolicy, retry_after_seconds


def _response(status: int = 200, *, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps({}).encode()
    response.headers.update(headers or {})
    return response


class _AttemptError(Exception):
    """A failed attempt, carrying its answer as the SDK's RetriableAPIError does."""

    def __init__(self, response: requests.Response | None) -> None:
        super().__init__("failed")
        self.response = response


@pytest.mark.parametrize(("message", "locked"), [
    ("Time registration 5 is approved and cannot be changed.", True),
    ("Time Registration Date is invalid: 2026-11-24 is in an approved period", True),
    ("person: Person 99 does not exist", False),
])
def test_forecast_approval_refusals_are_locks(message, locked):
    """Forecast answers 400 for approved registrations and periods."""
    assert ForecastRefusedError("POST /api/v1/time_registrations", 400, message).locked is locked


@pytest.mark.parametrize(("status", "verdict"), [
    (200, Verdict.OK), (204, Verdict.OK), (401, Verdict.AUTH), (403, Verdict.AUTH), (404, Verdict.NOT_FOUND),
    (400, Verdict.REFUSED), (415, Verdict.REFUSED), (408, Verdict.RETRY), (429, Verdict.RETRY),
    (500, Verdict.RETRY), (502, Verdict.RETRY), (503, Verdict.RETRY), (504, Verdict.RETRY),
])
def test_every_caller_reads_a_status_the_same_way(status, verdict):
    """The tap, the target and the CLI share this one reading: 429, 408 and 5xx are retried, the rest is not."""
    assert classify(status) is verdict


def test_retry_after_reads_seconds_dates_and_caps_both():
    """Seconds or an HTTP date; a huge value is capped so one header cannot stall the schedule."""
    def after(value: str | None) -> float | None:
        return retry_after_seconds(_response(headers={"Retry-After": value} if value is not None else None))

    assert after("7") == 7
    assert after("0") == 0
    assert after(None) is None
    assert after("soon") is None
    assert after("999999") == MAX_RETRY_AFTER_SECONDS
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    assert 25 <= after(later) <= 30


@pytest.mark.parametrize("seconds", [0, 1, 7, 120])
def test_retry_after_in_seconds_is_honoured(seconds: int) -> None:
    """A 429's Retry-After sets the wait."""
    assert retry_after_seconds(_response(429, headers={"Retry-After": str(seconds)})) == seconds


def test_retry_after_as_http_date_is_honoured() -> None:
    """Retry-After may also be an HTTP date."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    answer = _response(429, headers={"Retry-After": email.utils.format_datetime(later, usegmt=True)})
    assert 25 <= retry_after_seconds(answer) <= 30


def test_a_huge_retry_after_is_capped_and_a_missing_one_is_none() -> None:
    """A bad header must not stall a scheduled run for hours; without one, exponential backoff applies."""
    assert retry_after_seconds(_response(429, headers={"Retry-After": "86400"})) == MAX_RETRY_AFTER_SECONDS
    assert retry_after_seconds(_response(503)) is None
    assert retry_after_seconds(None) is None


def test_the_waits_honour_retry_after_else_double_up_to_a_cap_and_only_backoff_is_jittered() -> None:
    """Retry-After wins and is waited exactly; otherwise 1, 2, 4 … seconds, capped, plus up to a second."""
    policy = RetryPolicy()
    waits = policy.waits()
    next(waits)  # the backoff library primes the generator
    asked = waits.send(_AttemptError(_response(429, headers={"Retry-After": "3"})))
    assert asked == 3
    assert isinstance(asked, RetryAfter)
    assert policy.jitter(asked) == 3
    backoff = [waits.send(_AttemptError(_response(503))) for _ in range(7)]
    assert backoff == [2, 4, 8, 16, 32, 60, 60]
    assert waits.send(TimeoutError()) == 60
    assert all(wait <= policy.jitter(wait) <= wait + 1 for wait in backoff)
