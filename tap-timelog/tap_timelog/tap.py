"""tap-timelog: the Tap class and its settings."""

from __future__ import annotations

import sys
from functools import cached_property

from singer_sdk import Tap
from singer_sdk import typing as th

from tap_timelog.client import DEFAULT_OVERLAP_SECONDS, TimeLogStream
from tap_timelog.streams import AUTO_GUID_MODEL, STREAM_TYPES
from timelog_api.client import TimeLogClient, client_from_config
from timelog_api.guids import GuidModel
from timelog_api.settings import CONNECTION_SETTINGS

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

DEFAULT_SITE_TIMEZONE = "UTC"


class TapTimeLog(Tap):
    """Singer tap for TimeLog PSA (Transactional SOAP and Reporting APIs)."""

    name = "tap-timelog"
    package_name = "tap-timelog"

    config_jsonschema = th.PropertiesList(
        *(th.Property(name, th.CustomType(spec), required=name in CONNECTION_SETTINGS["required"])
          for name, spec in CONNECTION_SETTINGS["properties"].items()),
        th.Property(
            "start_date", th.DateTimeType,
            description="First run only: `work` reads registrations dated on or after this day (default: "
                        "all), `work_deletions` deletions after this time (TimeLog keeps 3 months). Later "
                        "runs start where the previous one began. Other streams are read whole.",
        ),
        th.Property(
            "overlap_seconds", th.IntegerType(minimum=0), default=DEFAULT_OVERLAP_SECONDS,
            description="Each incremental run (work, work_deletions, tasks) starts where the previous one began, "
                        "on the earlier of this machine's and TimeLog's clock, minus this many seconds, so a change "
                        "committed a moment late is still read. Records in the overlap are emitted again.",
        ),
        th.Property(
            "guid_model", th.StringType, default=AUTO_GUID_MODEL,
            allowed_values=[AUTO_GUID_MODEL, *(model.value for model in GuidModel)],
            description="Which of the two GUIDs TimeLog's Reporting API lists for a work unit the Transactional API "
                        "uses: time_registration, work_unit, or auto (find out from the site's own data, read-only, "
                        "once). `timesync doctor --write-probe TASK_ID` tells for sure.",
        ),
        th.Property(
            "project_ids", th.ArrayType(th.IntegerType),
            description="Only emit work of these TimeLog project ids (ProjectID; with employee_ids too, work must "
                        "match both). A first run or full refresh reads GetWorkUnitsRawPaged per project instead of "
                        "for all; incremental runs filter the change log's work on the client. tasks, projects, "
                        "employees, work_deletions and the other streams are not filtered: the sync's reconcile "
                        "step needs the full directory.",
        ),
        th.Property(
            "employee_ids", th.ArrayType(th.IntegerType),
            description="Only emit work of these TimeLog employee ids (EmployeeID; with project_ids too, work must "
                        "match both). A first run or full refresh reads GetWorkUnitsRawPaged per employee instead "
                        "of for all; incremental runs filter the change log's work on the client. tasks, projects, "
                        "employees, work_deletions and the other streams are not filtered: the sync's reconcile "
                        "step needs the full directory.",
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

    def close_client(self) -> None:
        """Close the TimeLog client, if this run made one. The streams call it when the sync ends (see
        `TimeLogStream`): the SDK's sync_all is final, so the tap cannot wrap it."""
        if "timelog" in self.__dict__:
            self.timelog.close()


if __name__ == "__main__":
    TapTimeLog.cli()
