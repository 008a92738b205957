"""target-forecast: the Target class and its settings."""

from __future__ import annotations

from functools import cached_property

from singer_sdk import typing as th

from forecast_api import CONNECTION_SETTINGS, ForecastError, ForecastRegistrations
from target_forecast.sinks import DEFAULT_MAX_CONCURRENCY, ForecastSink
from timesync.reconcile.apply import CommandTarget
from timesync.settings import LEDGER_SETTINGS, client_settings


class TargetForecast(CommandTarget):
    """Applies time-registration commands to Forecast."""

    name = "target-forecast"
    default_sink_class = ForecastSink
    #: Per-registration refusals are recorded by the sink; what escapes it (key refused, Forecast unreachable or
    #: answering nonsense) ends the run.
    fatal_errors = (*CommandTarget.fatal_errors, ForecastError)

    config_jsonschema = th.PropertiesList(
        *client_settings(CONNECTION_SETTINGS),
        *LEDGER_SETTINGS,
        th.Property("max_concurrency", th.IntegerType(minimum=1), default=DEFAULT_MAX_CONCURRENCY,
                    description="Concurrent write requests (Forecast fair use: stay low)."),
    ).to_dict()

    @cached_property
    def forecast(self) -> ForecastRegistrations:
        """The Forecast write client."""
        return ForecastRegistrations(self.config["base_url"], self.config["api_key"])


if __name__ == "__main__":
    TargetForecast.cli()
