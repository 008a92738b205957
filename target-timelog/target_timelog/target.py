"""target-timelog: the Target class and its settings."""

from __future__ import annotations

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.sinks import RecordSink
from timesync.settings import LEDGER_SETTINGS, TIMELOG_CONNECTION_SETTINGS


class TimeLogCommandSink(RecordSink):
    """Placeholder sink until the command writer lands (issue: targets)."""

    def process_record(self, record: dict, context: dict) -> None:
        """Refuse to silently drop commands."""
        msg = "target-timelog cannot apply commands yet"
        raise NotImplementedError(msg)


class TargetTimeLog(Target):
    """Applies task, allocation and work commands to TimeLog."""

    name = "target-timelog"
    default_sink_class = TimeLogCommandSink

    config_jsonschema = th.PropertiesList(
        *TIMELOG_CONNECTION_SETTINGS,
        *LEDGER_SETTINGS,
    ).to_dict()


if __name__ == "__main__":
    TargetTimeLog.cli()
