"""A client for Forecast's REST API (api.forecast.it), for any Python program.

One session (`ForecastSession`: the API key, timeouts, one retry policy, error classification, the server's
clock), the v4 page envelope, the full-table reads (`ForecastReader`), the time-registration writes
(`ForecastRegistrations`) and the webhook subscriptions (`ForecastWebhooks`). It knows Forecast, not its callers:
no Singer, no database, no sync model.
"""

from forecast_api.auth import API_KEY_HEADER, ApiKeyAuth
from forecast_api.errors import (
    ForecastError,
    ForecastFatalError,
    ForecastOutcomeUnknownError,
    ForecastRefusedError,
    MalformedResponseError,
)
from forecast_api.reader import ForecastReader
from forecast_api.registrations import ForecastRegistrations
from forecast_api.retry import RetryPolicy
from forecast_api.session import ForecastSession
from forecast_api.settings import CONNECTION_SETTINGS, DEFAULT_BASE_URL
from forecast_api.webhooks import ForecastWebhooks

__all__ = [
    "API_KEY_HEADER",
    "CONNECTION_SETTINGS",
    "DEFAULT_BASE_URL",
    "ApiKeyAuth",
    "ForecastError",
    "ForecastFatalError",
    "ForecastOutcomeUnknownError",
    "ForecastReader",
    "ForecastRefusedError",
    "ForecastRegistrations",
    "ForecastSession",
    "ForecastWebhooks",
    "MalformedResponseError",
    "RetryPolicy",
]
