"""target-forecast: the Target class and its settings."""

from __future__ import annotations

from functools import cached_property

from singer_sdk import Target
from singer_sdk import typing as th

from target_forecast.sinks import DEFAULT_MAX_CONCURRENCY, ForecastSink
from timesync.forecast.registrations import ForecastRegistrations
from timesync.ledger import Ledger
from timesync.settings import FORECAST_CONNECTION_SETTINGS, LEDGER_SETTINGS


class TargetForecast(Target):
    """Applies time-registration commands to Forecast."""

    name = "target-forecast"
    default_sink_class = ForecastSink

    config_jsonschema = th.PropertiesList(
        *FORECAST_CONNECTION_SETTINGS,
        *LEDGER_SETTINGS,
        th.Property("max_concurrency", th.IntegerType(minimum=1), default=DEFAULT_MAX_CONCURRENCY,
                    description="Concurrent write requests (Forecast fair use: stay low)."),
    ).to_dict()

    @cached_property
    def ledger(self) -> Ledger:
        """The sync ledger, opened on the first batch."""
        return Ledger.open(self.config.get("ledger_url"))

    @cached_property
    def forecast(self) -> ForecastRegistrations:
        """The Forecast write client, built on the first batch."""
        return ForecastRegistrations(self.config["base_url"], self.config["api_key"])


if __name__ == "__main__":
    TargetForecast.cli()
