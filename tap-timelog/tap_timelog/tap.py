"""tap-timelog: the Tap class and its settings."""

from __future__ import annotations

from singer_sdk import Tap
from singer_sdk import typing as th
from timesync.settings import TIMELOG_CONNECTION_SETTINGS


class TapTimeLog(Tap):
    """Singer tap for TimeLog PSA (Transactional SOAP and Reporting APIs)."""

    name = "tap-timelog"

    config_jsonschema = th.PropertiesList(
        *TIMELOG_CONNECTION_SETTINGS,
        th.Property("start_date", th.DateTimeType,
                    description="Earliest modification time to read on the first run (UTC)."),
        th.Property("lookback_minutes", th.IntegerType, default=30,
                    description="Overlap subtracted from the bookmark on each incremental run."),
    ).to_dict()

    def discover_streams(self) -> list:
        """Return the streams this tap offers."""
        return []


if __name__ == "__main__":
    TapTimeLog.cli()
