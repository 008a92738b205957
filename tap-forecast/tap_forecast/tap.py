"""tap-forecast: the Tap class, its settings, and the command line."""

from __future__ import annotations

import sys
from typing import Any

from singer_sdk import Tap
from singer_sdk import typing as th

from forecast_api.settings import CONNECTION_SETTINGS
from tap_forecast.client import ForecastStream
from tap_forecast.errors import ONE_LINE_ERRORS
from tap_forecast.streams import STREAM_TYPES

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

DEFAULT_PAGE_SIZE = 500
#: Forecast documents no maximum page size; production clients use 1000 successfully.
MAX_PAGE_SIZE = 1000
#: Each incremental read re-reads this much before where the previous one began (see client.py).
DEFAULT_OVERLAP_SECONDS = 5


class TapForecast(Tap):
    """Singer tap for the Forecast (Forecast A/S, api.forecast.it) REST API."""

    name = "tap-forecast"
    package_name = "tap-forecast"

    config_jsonschema = th.PropertiesList(
        *(th.Property(name, th.CustomType(spec), required=name in CONNECTION_SETTINGS["required"])
          for name, spec in CONNECTION_SETTINGS["properties"].items()),
        th.Property(
            "start_date", th.DateTimeType,
            title="Start date",
            description="First run only: read tasks, time registrations and deletions changed at or after this "
                        "UTC time. Without it the first run reads everything. Later runs start where the previous "
                        "one began.",
        ),
        th.Property(
            "page_size", th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE), default=DEFAULT_PAGE_SIZE,
            title="Page size",
            description=f"Records per request on the paginated v4 endpoints (1 to {MAX_PAGE_SIZE}).",
        ),
        th.Property(
            "overlap_seconds", th.IntegerType(minimum=0), default=DEFAULT_OVERLAP_SECONDS,
            title="Overlap seconds",
            description="Each incremental run starts where the previous one began, on the earlier of this "
                        "machine's and Forecast's clock, minus this many seconds, so a change committed a moment "
                        "late is still read. Records in the overlap are emitted again.",
        ),
        th.Property(
            "project_ids", th.ArrayType(th.IntegerType),
            title="Project ids",
            description="Only emit records of these Forecast project ids: projects and their phases, workflow "
                        "columns and teams, tasks, time registrations, allocations and deletions. Persons, "
                        "clients, roles and non-project time are not project data and are always emitted. "
                        "Without a bookmark (a first run or a full refresh), time registrations are read per "
                        "project (/v3/projects/{id}/time_registrations), not from the whole account's feed.",
        ),
        th.Property(
            "person_ids", th.ArrayType(th.IntegerType),
            title="Person ids",
            description="Only emit time registrations of these Forecast person ids (with project_ids too, a "
                        "registration must match both). Without a bookmark (a first run or a full refresh), they "
                        "are read per person (/v3/persons/{id}/time_registrations) unless project_ids is set. "
                        "Every other stream is unaffected.",
        ),
    ).to_dict()

    @override
    def discover_streams(self) -> list[ForecastStream]:
        """Every stream; Meltano's `select` picks which run."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @override
    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the tap; an API failure ends it with exit code 1 and one clear line, not a traceback."""
        try:
            super().invoke(*args, **kwargs)
        except ONE_LINE_ERRORS as exc:
            cls.logger.error("%s", exc)  # the traceback is noise: the message names the fix
            sys.exit(1)


if __name__ == "__main__":
    TapForecast.cli()
