"""target-forecast: the Target class and its settings."""

from __future__ import annotations

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.sinks import RecordSink
from timesync.settings import FORECAST_CONNECTION_SETTINGS, LEDGER_SETTINGS


class ForecastCommandSink(RecordSink):
    """Placeholder sink until the command writer lands (issue: targets)."""

    def process_record(self, record: dict, context: dict) -> None:
        """Refuse to silently drop commands."""
        msg = "target-forecast cannot apply commands yet"
        raise NotImplementedError(msg)


class TargetForecast(Target):
    """Applies time-registration commands to Forecast."""

    name = "target-forecast"
    default_sink_class = ForecastCommandSink

    config_jsonschema = th.PropertiesList(
        *FORECAST_CONNECTION_SETTINGS,
        *LEDGER_SETTINGS,
        th.Property("max_concurrency", th.IntegerType, default=4,
                    description="Concurrent write requests (Forecast fair use: stay low)."),
    ).to_dict()


if __name__ == "__main__":
    TargetForecast.cli()
