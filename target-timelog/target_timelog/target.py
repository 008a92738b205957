"""target-timelog: the Target class and its settings."""

from __future__ import annotations

from functools import cached_property

from singer_sdk import Target
from singer_sdk import typing as th

from target_timelog.sinks import TimeLogSink
from target_timelog.writer import DEFAULT_WORK_BATCH_SIZE
from timesync.ledger import Ledger
from timesync.settings import LEDGER_SETTINGS, TIMELOG_CONNECTION_SETTINGS
from timesync.timelog import TimeLogClient, TimeLogSettings


class TargetTimeLog(Target):
    """Applies task, allocation and work commands to TimeLog."""

    name = "target-timelog"
    default_sink_class = TimeLogSink

    config_jsonschema = th.PropertiesList(
        *TIMELOG_CONNECTION_SETTINGS,
        *LEDGER_SETTINGS,
        th.Property("work_batch_size", th.IntegerType, default=DEFAULT_WORK_BATCH_SIZE,
                    description="Work units per InsertWork/UpdateWork/DeleteWork call."),
    ).to_dict()

    @cached_property
    def ledger(self) -> Ledger:
        """The sync ledger, opened on the first batch."""
        return Ledger.open(self.config.get("ledger_url"))

    @cached_property
    def timelog(self) -> TimeLogClient:
        """The shared TimeLog SOAP client (with per-item batch results), built on the first batch."""
        return TimeLogClient(TimeLogSettings.from_config(self.config))


if __name__ == "__main__":
    TargetTimeLog.cli()
