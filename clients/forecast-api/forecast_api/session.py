"""`ForecastSession`: one `requests.Session` to Forecast with the API key, the timeouts, the retry policy, the error
classification and the server's clock. The reader and the write client send every request through it."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import requests
from backoff.types import Details

from forecast_api.auth import ApiKeyAuth
from forecast_api.errors import (
    UNCERTAIN_STATUSES,
    ForecastFatalError,
    ForecastOutcomeUnknownError,
    ForecastRefusedError,
    Verdict,
    classify,
    describe,
    endpoint_of,
    server_message,
    unreachable,
)
from forecast_api.retry import RetryPolicy
from forecast_api.settings import API_PATH, DEFAULT_BASE_URL, TIMEOUT_SECONDS, api_root
from http_clock import clock_offset, server_lag

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
#: Statuses of a request without a body that mean the endpoint itself does not exist (a wrong `base_url`).
MISSING_ENDPOINT_STATUSES = frozenset({404, 415})
NOT_FOUND = 404


class _Retry(Exception):  # noqa: N818 -- a signal to the retry policy, never seen outside this module
    """One attempt failed in a way worth another (429, 408, 5xx, no answer)."""

    def __init__(self, reason: str, endpoint: str, response: requests.Response | None = None,
                 error: requests.RequestException | None = None) -> None:
        super().__init__(reason)
        self.reason, self.endpoint, self.response, self.error = reason, endpoint, response, error


class ForecastSession:
    """Every request to Forecast: authenticated, timed out, retried, classified; the clock noted on each answer.

    A POST is not idempotent: after a timeout or a 500 it may have been applied, so it is not retried here; it
    raises `ForecastOutcomeUnknownError` and the caller looks the item up first. `key_setting` names where the
    user sets the API key (`TAP_FORECAST_API_KEY`), for the message when Forecast refuses it.
    """

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: str = "", *, key_setting: str,
                 verify_tls: bool = True, retry: RetryPolicy | None = None,
                 session: requests.Session | None = None) -> None:
        if not api_key:
            raise ForecastFatalError(f"Forecast API key missing: set {key_setting} (Forecast: Admin > API)")
        self.base_url = base_url.rstrip("/")
        self.api_root = api_root(base_url)
        self.key_setting = key_setting
        self.retry = retry or RetryPolicy()
        self.http = session or requests.Session()
        self.http.auth = ApiKeyAuth(api_key)
        self.http.headers["Accept"] = "application/json"
        self.http.verify = verify_tls
        #: Forecast's clock minus ours at the last answer with a `Date` header (None before one) ...
        self.clock_offset: dt.timedelta | None = None
        #: ... and how far its clock may be behind ours, at most, over every answer so far.
        self.server_lag = dt.timedelta(0)
        self._send = self.retry.retrying(self._send_once, (_Retry,), on_backoff=self._log_retry)

    def request(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                params: dict[str, str] | None = None, idempotent: bool = True,
                missing_ok: bool = False) -> requests.Response:
        """`method` on `/api{path}` (`/v1/time_registrations`); a 2xx answer, or a 404 when `missing_ok`."""
        try:
            return self._send(method, path, body, params, idempotent, missing_ok)
        except _Retry as exc:
            if exc.error is not None:
                raise ForecastFatalError(unreachable(self.base_url, exc.error, self.retry.max_attempts)) from None
            raise ForecastFatalError(f"Forecast {exc.endpoint} still failing after {self.retry.max_attempts} "
                                     f"attempts ({exc.reason})") from None

    def json(self, method: str, path: str, *, body: dict[str, Any] | None = None,
             params: dict[str, str] | None = None, idempotent: bool = True, missing_ok: bool = False) -> Any:
        """`request`, decoded; None for a missing item when `missing_ok`."""
        response = self.request(method, path, body=body, params=params, idempotent=idempotent,
                                missing_ok=missing_ok)
        if missing_ok and response.status_code == NOT_FOUND:
            return None
        return self.decode(response)

    @staticmethod
    def decode(response: requests.Response) -> Any:
        """The JSON body of an answer; a body that is not JSON is fatal."""
        try:
            return response.json()
        except ValueError:
            raise ForecastFatalError(f"Forecast {endpoint_of(response)}: the answer is not JSON") from None

    def _send_once(self, method: str, path: str, body: dict[str, Any] | None, params: dict[str, str] | None,
                   idempotent: bool, missing_ok: bool) -> requests.Response:
        headers = {"Content-Type": JSON_CONTENT_TYPE} if body is not None else {}
        try:
            response = self.http.request(method, self.api_root + path, json=body, params=params, headers=headers,
                                         timeout=TIMEOUT_SECONDS)
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not idempotent:
                raise ForecastOutcomeUnknownError(f"Forecast {method} {API_PATH}{path}: {type(exc).__name__}") from None
            raise _Retry(type(exc).__name__, f"{method} {API_PATH}{path}", error=exc) from None
        self._note_clock(response)
        status = response.status_code
        verdict = classify(status)
        if verdict is Verdict.OK or (missing_ok and status == NOT_FOUND):
            return response
        if verdict is Verdict.AUTH:
            raise ForecastFatalError(describe(response, key_setting=self.key_setting))
        if verdict is Verdict.RETRY:
            if not idempotent and status in UNCERTAIN_STATUSES:
                raise ForecastOutcomeUnknownError(f"Forecast {endpoint_of(response)}: HTTP {status}")
            raise _Retry(f"HTTP {status}", endpoint_of(response), response)
        if status in MISSING_ENDPOINT_STATUSES and body is None:
            raise ForecastFatalError(describe(response, key_setting=self.key_setting, verdict=Verdict.NOT_FOUND))
        raise ForecastRefusedError(endpoint_of(response), status, server_message(response))

    def _note_clock(self, response: requests.Response) -> None:
        offset = clock_offset(response.headers)
        if offset is not None:
            self.clock_offset = offset
            self.server_lag = max(self.server_lag, server_lag(offset))

    def _log_retry(self, details: Details) -> None:
        error = details["exception"]
        assert isinstance(error, _Retry)  # the only error `self._send` retries
        logger.warning("Forecast %s failed (%s); retry %d of %d in %.1fs", error.endpoint, error.reason,
                       details["tries"], self.retry.max_attempts - 1, details["wait"])

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()
