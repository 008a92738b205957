"""tap-timelog: the Tap class and its settings."""

from __future__ import annotations

import sys
from functools import cached_property

from singer_sdk import Tap
from singer_sdk import typing as th

from tap_timelog.streams import STREAM_TYPES, TimeLogStream
from timesync.settings import TIMELOG_CONNECTION_SETTINGS
from timesync.timelog import TimeLogClient, TimeLogError, client_from_config

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

DEFAULT_LOOKBACK_MINUTES = 30
DEFAULT_SITE_TIMEZONE = "UTC"


class TapTimeLog(Tap):
    """Singer tap for TimeLog PSA (Transactional SOAP and Reporting APIs)."""

    name = "tap-timelog"
    package_name = "tap-timelog"

    config_jsonschema = th.PropertiesList(
        *TIMELOG_CONNECTION_SETTINGS,
        th.Property(
            "start_date", th.DateTimeType,
            description="First run only: `work` reads registrations dated on or after this day (default: "
                        "all), `work_deletions` deletions after this time (TimeLog keeps 3 months). Later "
                        "runs start from the bookmark. Other streams are read whole.",
        ),
        th.Property(
            "lookback_minutes", th.IntegerType, default=DEFAULT_LOOKBACK_MINUTES,
            description="Overlap subtracted from the bookmark on each incremental run (work, work_deletions, "
                        "tasks); records in the overlap are emitted again.",
        ),
        th.Property(
            "site_timezone", th.StringType, default=DEFAULT_SITE_TIMEZONE,
            description="IANA time zone in which the TimeLog site writes timestamps without an offset "
                        "(e.g. Europe/Copenhagen for Danish sites). Used to convert them to UTC.",
        ),
    ).to_dict()

    @cached_property
    def timelog(self) -> TimeLogClient:
        """The TimeLog client of this run: one zeep Client per service, one token."""
        return client_from_config(self.config)

    @override
    def discover_streams(self) -> list[TimeLogStream]:
        """Every stream; Meltano's `select` picks which run."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @override
    def sync_all(self) -> None:
        """Sync the selected streams; a TimeLog error ends the run with one line naming what to fix."""
        try:
            super().sync_all()
        except TimeLogError as exc:
            self.logger.error("%s", exc)  # the message is the diagnosis; no traceback
            raise SystemExit(f"tap-timelog: {exc}") from None
        finally:
            if "timelog" in self.__dict__:
                self.timelog.close()


if __name__ == "__main__":
    TapTimeLog.cli()
