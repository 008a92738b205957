"""Errors of tap-forecast: each one a single line that names the endpoint and never carries the API key.

What a status means, and the words that say so, come from `forecast_api`; here they become the SDK's exception
types, so the SDK retries what is retriable and stops on the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from forecast_api import errors as api_errors
from forecast_api.errors import Verdict, classify, describe, endpoint_of

__all__ = ["ONE_LINE_ERRORS", "ForecastAuthError", "ForecastError", "ForecastNotFoundError", "ForecastUnreachableError",
           "MalformedResponseError", "endpoint_of", "error_for", "malformed", "translated", "unreachable"]

#: Where the tap's API key is set, for the message when Forecast refuses it.
KEY_SETTING = "TAP_FORECAST_API_KEY"


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

_FATAL = {Verdict.AUTH: ForecastAuthError, Verdict.NOT_FOUND: ForecastNotFoundError, Verdict.REFUSED: ForecastError}


def error_for(response: requests.Response) -> Exception | None:
    """The exception a non-2xx response stands for (None for success), by `forecast_api`'s classification."""
    verdict = classify(response.status_code)
    if verdict is Verdict.OK:
        return None
    message = describe(response, key_setting=KEY_SETTING)
    if verdict is Verdict.RETRY:
        return RetriableAPIError(message, response)
    return _FATAL[verdict](message)


def unreachable(base_url: str, error: Exception, attempts: int) -> ForecastUnreachableError:
    """The error for a request that never got an answer: where we tried, what the setting is, and why."""
    return ForecastUnreachableError(api_errors.unreachable(base_url, error, attempts))


def malformed(endpoint: str, problem: str) -> MalformedResponseError:
    """The error for a body that does not match what `endpoint` documents."""
    return MalformedResponseError(str(api_errors.malformed(endpoint, problem)))


@contextmanager
def translated() -> Iterator[None]:
    """`forecast_api`'s malformed-body error as the tap's (an SDK fatal error)."""
    try:
        yield
    except api_errors.MalformedResponseError as exc:
        raise MalformedResponseError(str(exc)) from None
