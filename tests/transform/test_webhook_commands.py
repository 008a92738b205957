"""`timesync webhooks subscribe|list|remove` against the Forecast simulator, in-process over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from click.testing import CliRunner, Result

from forecast_api import ForecastWebhooks
from sandbox.common.server import SimulatorServer
from sandbox.credentials import FORECAST_API_KEY
from sandbox.forecast.app import ForecastApp
from timesync.cli import Services, cli

TOKEN = "a-secret-token-of-the-tests-42"
PUBLIC_URL = "https://sync.example.com"
OUR_URL = f"{PUBLIC_URL}/webhooks/{TOKEN}"
SUBSCRIPTIONS = "/api/v1/webhook_subscriptions"
HEADERS = {"X-FORECAST-API-KEY": FORECAST_API_KEY}


def _unused() -> None:
    raise AssertionError("the webhooks commands read no directory and run nothing")


@pytest.fixture
def forecast() -> Iterator[str]:
    server = SimulatorServer(ForecastApp({}))
    server.start_in_thread()
    yield server.url
    server.shutdown()
    server.server_close()


def _webhooks(forecast: str, *args: str, api_key: str = FORECAST_API_KEY) -> Result:
    services = Services(forecast=_unused, timelog=_unused, run=lambda argv, env: 0,
                        forecast_webhooks=lambda: ForecastWebhooks(api_key, forecast))
    return CliRunner().invoke(cli, ["--json", "webhooks", *args, "--public-url", PUBLIC_URL],
                              obj=services, env={"TIMESYNC_WEBHOOK_TOKEN": TOKEN}, catch_exceptions=False)


def _all(forecast: str) -> list[dict]:
    return requests.get(forecast + SUBSCRIPTIONS, headers=HEADERS, timeout=10).json()


def test_subscribe_creates_the_six_task_and_time_registration_subscriptions_once(forecast) -> None:
    first = _webhooks(forecast, "subscribe")
    assert first.exit_code == 0, first.output
    assert {(s["type"], s["event"], s["url"], s["active"]) for s in _all(forecast)} == {
        (type_, event, OUR_URL, True) for type_ in ("TASK", "TIME_REG") for event in ("CREATE", "UPDATE", "DELETE")}
    again = _webhooks(forecast, "subscribe")
    assert again.exit_code == 0, again.output
    assert len(_all(forecast)) == 6, "subscribing again duplicates nothing"
    assert "created 0, 6 already there" in again.stderr


def test_subscribe_adds_only_what_is_missing(forecast) -> None:
    requests.post(forecast + SUBSCRIPTIONS, headers=HEADERS, timeout=10,
                  json={"name": "by hand", "type": "TASK", "event": "UPDATE", "url": OUR_URL})
    result = _webhooks(forecast, "subscribe")
    assert "created 5, 1 already there" in result.stderr
    assert len(_all(forecast)) == 6


def test_list_shows_ours_only_with_the_token_masked(forecast) -> None:
    requests.post(forecast + SUBSCRIPTIONS, headers=HEADERS, timeout=10,
                  json={"name": "someone else's", "type": "TASK", "event": "UPDATE", "url": "https://other.example"})
    _webhooks(forecast, "subscribe")
    result = _webhooks(forecast, "list")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert len(listed) == 6
    assert {s["url"] for s in listed} == {f"{PUBLIC_URL}/webhooks/***"}
    assert TOKEN not in result.output


def test_remove_deletes_ours_and_leaves_the_others(forecast) -> None:
    requests.post(forecast + SUBSCRIPTIONS, headers=HEADERS, timeout=10,
                  json={"name": "someone else's", "type": "TASK", "event": "UPDATE", "url": "https://other.example"})
    _webhooks(forecast, "subscribe")
    result = _webhooks(forecast, "remove")
    assert result.exit_code == 0, result.output
    assert "removed 6" in result.stderr
    assert [s["url"] for s in _all(forecast)] == ["https://other.example"]
    assert TOKEN not in result.output


def test_a_refused_api_key_is_a_one_line_error_naming_the_setting(forecast) -> None:
    result = _webhooks(forecast, "list", api_key="not-the-key")
    assert result.exit_code == 1
    assert "TAP_FORECAST_API_KEY" in result.output
    assert "not-the-key" not in result.output


def test_a_short_token_is_refused_before_forecast_is_called(forecast) -> None:
    services = Services(forecast=_unused, timelog=_unused, run=lambda argv, env: 0, forecast_webhooks=_unused)
    result = CliRunner().invoke(cli, ["webhooks", "subscribe", "--public-url", PUBLIC_URL, "--token", "short"],
                                obj=services)
    assert result.exit_code == 1
    assert "at least 16 characters" in result.output
