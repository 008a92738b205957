"""The Forecast client against the sandbox: Retry-After, bounded retries, what is retried and what is not, the key,
and the reads the CLI makes."""

from __future__ import annotations

import types

import backoff
import pytest

from forecast_api import (
    ForecastFatalError,
    ForecastOutcomeUnknownError,
    ForecastReader,
    ForecastRefusedError,
    ForecastRegistrations,
)
from sandbox import credentials

POST = "POST /api/v1/time_registrations"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts, recorded instead of slept (the backoff library sleeps with `time.sleep`)."""
    recorded: list[float] = []
    monkeypatch.setattr(backoff._sync, "time", types.SimpleNamespace(sleep=recorded.append))
    return recorded


def test_retry_after_is_honoured_and_a_lasting_429_fails_the_run(sandbox, waits):
    """Every wait is the server's Retry-After; when the attempts are used up the error is fatal (no bookmark)."""
    sandbox.forecast.faults(error_rate=1.0, statuses=[429], retry_after_seconds=3)
    client = ForecastRegistrations(sandbox.forecast_url, credentials.FORECAST_API_KEY, max_attempts=4)
    with pytest.raises(ForecastFatalError, match="after 4 attempts"):
        client.get(1)
    assert waits == [3.0, 3.0, 3.0]


def test_a_post_that_failed_server_side_is_not_retried_blindly(sandbox, waits):
    """A 500 on POST may hide a create that happened: it is reported as uncertain at once, for a lookup first."""
    sandbox.forecast.faults(error_rate=1.0, statuses=[500], only_operations=[POST])
    client = ForecastRegistrations(sandbox.forecast_url, credentials.FORECAST_API_KEY)
    with pytest.raises(ForecastOutcomeUnknownError, match="HTTP 500"):
        client.create({"person": 11, "task": 5001, "time_registered": 30, "date": "2026-11-18"})
    assert waits == []
    assert sandbox.forecast.stats()["faults"]["500"] == 1


def test_a_refused_registration_is_one_item_not_the_run(sandbox):
    """A 400 names the endpoint and Forecast's message; nothing is retried."""
    client = ForecastRegistrations(sandbox.forecast_url, credentials.FORECAST_API_KEY)
    with pytest.raises(ForecastRefusedError, match="Time Registration Date is invalid") as refused:
        client.create({"person": 12, "task": 5001, "time_registered": 60, "date": "24-11-2026"})
    assert refused.value.status == 400
    assert refused.value.endpoint == POST


def test_a_missing_registration_is_none_and_a_deleted_one_false(sandbox):
    """The lease check reads a registration that may be gone; a delete of a gone one is not an error."""
    client = ForecastRegistrations(sandbox.forecast_url, credentials.FORECAST_API_KEY)
    assert client.get(999_999_999) is None
    assert client.delete(999_999_999) is False


def test_the_reader_retries_server_errors(sandbox, waits):
    """The CLI's reads go through the same session: a 503 is retried, then the list comes back."""
    sandbox.forecast.faults(error_rate=0.5, statuses=[503], seed=4)
    reader = ForecastReader(credentials.FORECAST_API_KEY, sandbox.forecast_url)
    persons = [reader.persons() for _ in range(4)]
    assert sandbox.forecast.stats()["faults"].get("503", 0) > 0
    assert all(listed == persons[0] for listed in persons)
    assert persons[0]
    assert reader.clock_offset is not None


@pytest.mark.parametrize(("key_setting", "build"), [
    ("TAP_FORECAST_API_KEY", lambda url: ForecastReader("not-the-key", url).persons()),
    ("TARGET_FORECAST_API_KEY", lambda url: ForecastRegistrations(url, "not-the-key").get(1)),
])
def test_a_refused_key_names_the_setting_and_never_the_key(sandbox, key_setting, build):
    """401 is fatal at once, names where the key is set, and keeps the key out of the message."""
    with pytest.raises(ForecastFatalError, match=key_setting) as refused:
        build(sandbox.forecast_url)
    assert "not-the-key" not in str(refused.value)
    assert "wrong or disabled" in str(refused.value)


def test_a_missing_key_is_named_before_any_request() -> None:
    with pytest.raises(ForecastFatalError, match="TAP_FORECAST_API_KEY"):
        ForecastReader("", "http://127.0.0.1:9")
