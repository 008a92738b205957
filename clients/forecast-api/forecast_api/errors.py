"""Forecast's answers classified, and the errors of this client: each one line that names the request and the
setting to fix, and never carries the API key."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from http import HTTPStatus
from urllib.parse import urlsplit

import requests

#: How much of the server's own error message goes into ours.
MAX_SERVER_MESSAGE_CHARS = 300
#: Statuses that mean "try again later" besides 5xx. Forecast documents none; 429 is the convention.
RETRIABLE_CLIENT_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.REQUEST_TIMEOUT})
AUTH_STATUSES = frozenset({HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN})
#: Statuses a POST may have been applied behind (the create may exist): look it up before trying again.
UNCERTAIN_STATUSES = frozenset({HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.GATEWAY_TIMEOUT})
#: Words in Forecast's 400 message when a registration or its period is approved (the real API's validation).
LOCK_MARKERS = ("approved",)
#: `<urllib3.connection.HTTPConnection object at 0x7f…>: ` in urllib3's messages: noise to the user.
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")


class Verdict(StrEnum):
    """What an answer's status means for the request that got it."""

    OK = "ok"
    AUTH = "auth"  # the key is refused: nothing will work until it is fixed
    NOT_FOUND = "not_found"  # no such endpoint (a wrong base_url) or no such item
    RETRY = "retry"  # not done, try again later (429, 408, 5xx)
    REFUSED = "refused"  # Forecast refused this request (4xx): trying again changes nothing


def classify(status: int) -> Verdict:
    """The whole error policy of every Forecast caller, by status."""
    if status < HTTPStatus.BAD_REQUEST:
        return Verdict.OK
    if status in AUTH_STATUSES:
        return Verdict.AUTH
    if status == HTTPStatus.NOT_FOUND:
        return Verdict.NOT_FOUND
    if status in RETRIABLE_CLIENT_STATUSES or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return Verdict.RETRY
    return Verdict.REFUSED


class ForecastError(Exception):
    """Base of every error this client raises; `str()` is the one line to show the user."""


class ForecastFatalError(ForecastError):
    """The run cannot go on: the key is refused, the URL is wrong, or Forecast stayed unavailable or unreadable."""


class MalformedResponseError(ForecastFatalError):
    """A 2xx answer whose body is not what the endpoint documents."""


class ForecastRefusedError(ForecastError):
    """Forecast refused one request (4xx), e.g. one registration: the caller records it and goes on."""

    def __init__(self, endpoint: str, status: int, message: str) -> None:
        self.endpoint, self.status, self.api_message = endpoint, status, message
        super().__init__(f"Forecast refused {endpoint} (HTTP {status}): {message}")

    @property
    def locked(self) -> bool:
        """Whether the refusal is an approved registration or period (pair state `locked`)."""
        return any(marker in self.api_message.lower() for marker in LOCK_MARKERS)


class ForecastOutcomeUnknownError(ForecastError):
    """A create timed out or failed server-side after it was sent: it may exist; look it up before retrying."""


def endpoint_of(response: requests.Response) -> str:
    """`GET /api/v4/tasks?pageNumber=2&pageSize=500`: the request as a user can look it up."""
    url = response.request.url if response.request is not None else response.url
    parts = urlsplit(url or "")
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
    return " ".join(str(text).split())[:MAX_SERVER_MESSAGE_CHARS]


def describe(response: requests.Response, *, key_setting: str, verdict: Verdict | None = None) -> str:
    """The one line that tells a user what a non-2xx answer means (its `classify` verdict, unless the caller knows
    better) and what to fix; `key_setting` names where the API key is set, e.g. `TAP_FORECAST_API_KEY`."""
    endpoint = endpoint_of(response)
    reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
    detail = server_message(response)
    suffix = f" ({detail})" if detail else ""
    verdict = verdict or classify(response.status_code)
    if verdict is Verdict.AUTH:
        return (f"Forecast rejected the API key ({reason} on {endpoint}): the key is wrong or disabled. "
                f"Set a valid key in the api_key setting ({key_setting}).")
    if verdict is Verdict.NOT_FOUND:
        return (f"Forecast endpoint not found ({reason} on {endpoint}){suffix}. Check base_url; "
                "it must be the API root without /api/vN, e.g. https://api.forecast.it.")
    if verdict is Verdict.RETRY:
        return f"Forecast is unavailable ({reason} on {endpoint}){suffix}"
    return f"Forecast refused the request ({reason} on {endpoint}){suffix}"


def unreachable(base_url: str, error: Exception, attempts: int) -> str:
    """The line for a request that never got an answer: where we tried, what the setting is, and why."""
    cause = getattr(error.args[0], "reason", None) if error.args else None  # urllib3's MaxRetryError.reason
    reason = " ".join(_OBJECT_REPR.sub("", str(cause or error)).split())[:MAX_SERVER_MESSAGE_CHARS]
    return (f"cannot reach Forecast at {base_url} (base_url) after {attempts} attempts: {type(error).__name__}: "
            f"{reason}. Check base_url and the network.")


def malformed(endpoint: str, problem: str) -> MalformedResponseError:
    """The error for a body that does not match what `endpoint` documents."""
    return MalformedResponseError(f"Malformed response from Forecast {endpoint}: {problem}")
