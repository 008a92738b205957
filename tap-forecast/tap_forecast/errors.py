"""Errors of tap-forecast: each one a single line that names the endpoint and never carries the API key."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

#: How much of the server's own error message goes into ours.
MAX_SERVER_MESSAGE_CHARS = 200
#: Statuses that mean "try again later" besides 5xx. Forecast documents none; 429 is the convention.
RETRIABLE_CLIENT_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.REQUEST_TIMEOUT})
AUTH_STATUSES = frozenset({HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN})
#: `<urllib3.connection.HTTPConnection object at 0x7f…>: ` in urllib3's messages: noise to the user.
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")


class ForecastError(FatalAPIError):
    """A failure the run cannot recover from. `str()` is the one line to show the user."""


class ForecastAuthError(ForecastError):
    """Forecast refused the API key (401/403)."""


class ForecastNotFoundError(ForecastError):
    """An endpoint does not exist (404): a wrong `base_url`, or an endpoint the account lacks."""


class MalformedResponseError(ForecastError):
    """A 2xx response whose body is not what the endpoint documents."""


class ForecastUnreachableError(ForecastError):
    """No answer from `base_url` (connection refused, DNS, TLS, timeouts) after every retry."""


#: Errors that end a run with one line on stderr instead of a traceback: each message names the fix.
ONE_LINE_ERRORS = (ForecastError, RetriableAPIError, requests.RequestException)


def endpoint_of(response: requests.Response) -> str:
    """`GET /api/v4/tasks?pageNumber=2&pageSize=500`: the request as a user can look it up."""
    parts = urlsplit(response.request.url if response.request is not None else response.url)
    method = response.request.method if response.request is not None else "GET"
    return f"{method} {parts.path}" + (f"?{parts.query}" if parts.query else "")


def server_message(response: requests.Response) -> str:
    """The `message` of Forecast's `{status, message}` error body, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        text = body.get("message", "") if isinstance(body, dict) else json.dumps(body)
    text = " ".join(str(text).split())
    return text[:MAX_SERVER_MESSAGE_CHARS]


def error_for(response: requests.Response) -> Exception | None:
    """The exception a non-2xx response stands for (None for success). The whole error policy is here."""
    status = response.status_code
    if status < HTTPStatus.BAD_REQUEST:
        return None
    endpoint = endpoint_of(response)
    reason = f"HTTP {status} {response.reason or ''}".strip()
    detail = server_message(response)
    suffix = f" ({detail})" if detail else ""
    if status in AUTH_STATUSES:
        return ForecastAuthError(
            f"Forecast rejected the API key ({reason} on {endpoint}): the key is wrong or disabled. "
            "Set a valid key in the api_key setting (TAP_FORECAST_API_KEY)."
        )
    if status == HTTPStatus.NOT_FOUND:
        return ForecastNotFoundError(
            f"Forecast endpoint not found ({reason} on {endpoint}){suffix}. Check base_url; "
            "it must be the API root without /api/vN, e.g. https://api.forecast.it."
        )
    if status in RETRIABLE_CLIENT_STATUSES or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return RetriableAPIError(f"Forecast is unavailable ({reason} on {endpoint}){suffix}", response)
    return ForecastError(f"Forecast refused the request ({reason} on {endpoint}){suffix}")


def unreachable(base_url: str, error: Exception, attempts: int) -> ForecastUnreachableError:
    """The error for a request that never got an answer: where we tried, what the setting is, and why."""
    cause = getattr(error.args[0], "reason", None) if error.args else None  # urllib3's MaxRetryError.reason
    reason = " ".join(_OBJECT_REPR.sub("", str(cause or error)).split())[:MAX_SERVER_MESSAGE_CHARS]
    return ForecastUnreachableError(
        f"cannot reach Forecast at {base_url} (base_url) after {attempts} attempts: {type(error).__name__}: "
        f"{reason}. Check base_url and the network."
    )


def malformed(endpoint: str, problem: str) -> MalformedResponseError:
    """The error for a body that does not match what `endpoint` documents."""
    return MalformedResponseError(f"Malformed response from Forecast {endpoint}: {problem}")
