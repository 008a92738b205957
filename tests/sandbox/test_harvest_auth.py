"""Harvest simulator: the OAuth2 refresh grant and account list tap-harvest uses, API authentication, rate limit."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from sandbox import credentials
from sandbox.common.app import Request
from sandbox.harvest.errors import INVALID_TOKEN_DESCRIPTION
from sandbox.testing import FakeClock
from tests.sandbox.harvest_helpers import HarvestClient, make_app, status_and_body

INVALID_TOKEN = {"error": "invalid_token", "error_description": INVALID_TOKEN_DESCRIPTION}
REFRESH_FORM = {"refresh_token": credentials.HARVEST_REFRESH_TOKEN, "client_id": credentials.HARVEST_CLIENT_ID,
                "client_secret": credentials.HARVEST_CLIENT_SECRET, "grant_type": "refresh_token"}


def _token_request(form: dict, content_type: str = "application/x-www-form-urlencoded") -> Request:
    # What tap_harvest.client.Client._refresh_access_token sends: requests' `data=` form body, a User-Agent.
    return Request("POST", "/api/v2/oauth2/token", {"content-type": content_type, "user-agent": "tap"},
                   urlencode(form).encode())


def test_the_refresh_grant_returns_a_bearer_token_that_reads_the_api(harvest_demo: dict) -> None:
    app = make_app(harvest_demo)
    status, body = status_and_body(app.handle(_token_request(REFRESH_FORM)))
    assert status == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["refresh_token"] == credentials.HARVEST_REFRESH_TOKEN
    assert HarvestClient(app, body["access_token"]).get("/v2/users/me")["id"] == harvest_demo["users"][0]["id"]


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "unknown"}, 401, "invalid_client"),
    ({"refresh_token": "revoked"}, 400, "invalid_grant"),
    ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
])
def test_token_errors_are_rfc_6749_bodies(harvest_demo: dict, change: dict, status: int, error: str) -> None:
    got_status, body = status_and_body(make_app(harvest_demo).handle(_token_request(REFRESH_FORM | change)))
    assert (got_status, body["error"]) == (status, error)
    assert body["error_description"]


def test_the_token_endpoint_takes_form_data_only(harvest_demo: dict) -> None:
    status, body = status_and_body(make_app(harvest_demo).handle(_token_request(REFRESH_FORM, "application/json")))
    assert (status, body["error"]) == (400, "invalid_request")


def test_accounts_lists_the_harvest_account_and_the_user(harvest_demo: dict) -> None:
    app = make_app(harvest_demo)
    body = HarvestClient(app).get("/api/v2/accounts")
    assert body["accounts"] == [{"id": credentials.HARVEST_ACCOUNT_ID, "name": credentials.HARVEST_ACCOUNT_NAME,
                                 "product": "harvest"}]
    assert set(body["user"]) == {"id", "first_name", "last_name", "email"}
    status, error = status_and_body(HarvestClient(app, "nope").call("GET", "/api/v2/accounts"))
    assert (status, error) == (401, INVALID_TOKEN)


@pytest.mark.parametrize("headers", [
    {"authorization": None}, {"authorization": "Bearer nope"}, {"authorization": "Basic abc"},
    {"harvest-account-id": None}, {"harvest-account-id": "999"},
])
def test_api_calls_need_a_token_and_the_account_id(harvest_demo: dict, headers: dict) -> None:
    response = HarvestClient(make_app(harvest_demo)).call("GET", "/v2/time_entries", headers=headers)
    assert status_and_body(response) == (401, INVALID_TOKEN)


def test_a_forecast_account_in_the_list_is_no_harvest_account(harvest_demo: dict) -> None:
    forecast = {"id": 7654321, "name": "Agency", "product": "forecast"}
    app = make_app(harvest_demo | {"accounts": [forecast, *harvest_demo["accounts"]]})
    assert HarvestClient(app).get("/api/v2/accounts")["accounts"][0] == forecast
    response = HarvestClient(app).call("GET", "/v2/users", headers={"harvest-account-id": "7654321"})
    assert status_and_body(response) == (401, INVALID_TOKEN)


def test_query_string_authentication_works(harvest_demo: dict) -> None:
    client = HarvestClient(make_app(harvest_demo))
    params = {"access_token": credentials.HARVEST_PERSONAL_ACCESS_TOKEN, "account_id": credentials.HARVEST_ACCOUNT_ID}
    body = client.get("/v2/users/me", params, headers={"authorization": None, "harvest-account-id": None})
    assert body["id"] == harvest_demo["users"][0]["id"]


def test_no_user_agent_is_a_400(harvest_demo: dict) -> None:
    response = HarvestClient(make_app(harvest_demo)).call("GET", "/v2/users", headers={"user-agent": None})
    status, body = status_and_body(response)
    assert status == 400
    assert "User-Agent" in body["message"]


def test_issued_tokens_expire(harvest_demo: dict) -> None:
    clock = FakeClock()
    app = make_app(harvest_demo, clock, access_token_ttl_seconds=60)
    token = status_and_body(app.handle(_token_request(REFRESH_FORM)))[1]
    assert token["expires_in"] == 60
    client = HarvestClient(app, token["access_token"])
    client.get("/v2/users")
    clock.tick(61)
    assert status_and_body(client.call("GET", "/v2/users")) == (401, INVALID_TOKEN)


def test_the_rate_limit_answers_429_with_retry_after(harvest_demo: dict) -> None:
    client = HarvestClient(make_app(harvest_demo, rate_limit_requests=3))
    for _ in range(3):
        client.get("/v2/tasks")
    response = client.call("GET", "/v2/tasks")
    assert response.status == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15
    assert status_and_body(response)[1] == {"status": 429, "error": "Too Many Requests"}
