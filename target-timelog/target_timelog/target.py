"""target-timelog: the Target class and its settings."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from singer_sdk import typing as th

from target_timelog.common import DEFAULT_MAX_CONCURRENCY
from target_timelog.sinks import TimeLogSink
from target_timelog.work import DEFAULT_WORK_BATCH_SIZE
from target_timelog.writer import TimeLogWriter
from timelog_api.errors import TimeLogError
from timelog_api.settings import CONNECTION_SETTINGS
from timesync.reconcile.apply import CommandTarget
from timesync.settings import LEDGER_SETTINGS, client_settings

if TYPE_CHECKING:  # the zeep client is built on the first batch: a run with nothing to write imports no zeep
    from timelog_api.client import TimeLogClient


class TargetTimeLog(CommandTarget):
    """Applies task, allocation and work commands to TimeLog."""

    name = "target-timelog"
    default_sink_class = TimeLogSink
    #: The same typed errors tap-timelog reports as one line (login, account, domain, transport, malformed).
    fatal_errors = (*CommandTarget.fatal_errors, TimeLogError)

    config_jsonschema = th.PropertiesList(
        *client_settings(CONNECTION_SETTINGS),
        *LEDGER_SETTINGS,
        th.Property("work_batch_size", th.IntegerType, default=DEFAULT_WORK_BATCH_SIZE,
                    description="Work units per InsertWork/UpdateWork/DeleteWork call."),
        th.Property("additional_text", th.StringType,
                    description="What the sync enters in TimeLog's additional text field where the site requires "
                                "one (its time registration settings); Forecast has no such field."),
        th.Property("max_concurrency", th.IntegerType(minimum=1), default=DEFAULT_MAX_CONCURRENCY,
                    description="Concurrent TimeLog calls: a level of task upserts, allocations, work batch calls, "
                                "lease re-reads."),
    ).to_dict()

    @cached_property
    def timelog(self) -> TimeLogClient:
        """The shared TimeLog SOAP client (with per-item batch results), one token for the run."""
        from timelog_api.client import client_from_config

        return client_from_config(self.config)

    @cached_property
    def writer(self) -> TimeLogWriter:
        """One writer per process, so employees, allocations and the external-key check are read once per run."""
        return TimeLogWriter(self.timelog, self.recorder,
                             system_name=self.config.get("external_system_name") or "Forecast",
                             work_batch_size=int(self.config.get("work_batch_size") or DEFAULT_WORK_BATCH_SIZE),
                             additional_text=self.config.get("additional_text"),
                             max_concurrency=int(self.config.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY))

    def check_settings(self) -> None:
        """Build the client: missing settings, a domain without https:// or a bad site_timezone fail here."""
        _ = self.timelog


if __name__ == "__main__":
    TargetTimeLog.cli()
