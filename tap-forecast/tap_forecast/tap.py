"""tap-forecast: the Tap class and its settings."""

from __future__ import annotations

from singer_sdk import Tap
from singer_sdk import typing as th


class TapForecast(Tap):
    """Singer tap for the Forecast REST API."""

    name = "tap-forecast"

    config_jsonschema = th.PropertiesList(
        th.Property("api_key", th.StringType, required=True, secret=True,
                    description="Forecast API key (Admin > API). Sent as X-FORECAST-API-KEY."),
        th.Property("base_url", th.StringType, default="https://api.forecast.it",
                    description="Forecast API root, without /api/vN."),
        th.Property("start_date", th.DateTimeType,
                    description="Earliest updated_at to read on the first run (UTC)."),
        th.Property("page_size", th.IntegerType, default=500,
                    description="Page size for paginated v4 endpoints."),
        th.Property("lookback_minutes", th.IntegerType, default=30,
                    description="Overlap subtracted from the bookmark on each incremental run."),
        th.Property("project_ids", th.ArrayType(th.IntegerType),
                    description="Only read these Forecast projects (optional)."),
    ).to_dict()

    def discover_streams(self) -> list:
        """Return the streams this tap offers."""
        return []


if __name__ == "__main__":
    TapForecast.cli()
