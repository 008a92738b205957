"""TimeLogSink: applies task, allocation and work commands to TimeLog, one drained batch at a time."""

from __future__ import annotations

from typing import Any

from target_timelog.writer import DEFAULT_WORK_BATCH_SIZE, TimeLogWriter
from timesync.reconcile.apply import CommandSink, OutcomeRecorder


class TimeLogSink(CommandSink):
    """Hands each batch to a TimeLogWriter; transport failures propagate and fail the run (no STATE is emitted)."""

    def apply(self, commands: list[dict[str, Any]], recorder: OutcomeRecorder) -> None:
        """Apply commands in dependency order, recording every outcome."""
        writer = TimeLogWriter(self.target.timelog, recorder,  # type: ignore[attr-defined]
                               system_name=self.config.get("external_system_name") or "Forecast",
                               work_batch_size=int(self.config.get("work_batch_size") or DEFAULT_WORK_BATCH_SIZE))
        writer.apply(commands)
