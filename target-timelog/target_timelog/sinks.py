"""TimeLogSink: applies task, allocation and work commands to TimeLog, one drained batch at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from timesync.reconcile.apply import CommandSink, OutcomeRecorder

if TYPE_CHECKING:
    from target_timelog.target import TargetTimeLog


class TimeLogSink(CommandSink):
    """Hands each batch to the target's TimeLogWriter; transport failures propagate and fail the run (no STATE)."""

    target: TargetTimeLog  # the target that made this sink

    def apply(self, commands: list[dict[str, Any]], recorder: OutcomeRecorder) -> None:
        """Apply commands in dependency order, recording every outcome (the writer holds the run's recorder)."""
        self.target.writer.apply(commands)
