"""The targets' writes: what happened to one command, as its run item and its pair's update, in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import update

from timesync.ledger.base import LedgerBase, utc_now
from timesync.ledger.tables import PairRow, RunItemRow
from timesync.model import Direction, json_text
from timesync.states import Outcome, PairState


class OutcomeRecords(LedgerBase):
    """The Ledger's writes of command outcomes."""

    def complete_create(self, command: Mapping[str, Any], remote_id: str | int, *,
                        written: Mapping[str, Any] | None = None, message: str | None = None) -> None:
        """A create succeeded: store the twin id and the new base, mark linked, and log it, in one transaction.

        ``written`` is the twin's snapshot as the API stored it, when that differs from the command's
        ``twin_snapshot`` (rounding); it becomes the base, so reading it back is no change (no echo).
        """
        self._finish(command, Outcome.CREATED, remote_id=str(remote_id), written=written, message=message)

    def settle_pair(self, pair_id: int, state: PairState, reason: str) -> None:
        """A person's decision about a parked pair (`timesync pairs relink|release`): its new state and why."""
        with self._session() as session:
            session.execute(update(PairRow).where(PairRow.id == pair_id).values(
                state=state.value, reason=reason, updated_at=utc_now()))

    def record_outcome(self, command: Mapping[str, Any], outcome: Outcome, *,
                       written: Mapping[str, Any] | None = None, current: Mapping[str, Any] | None = None,
                       message: str | None = None) -> None:
        """Record what a target did with a command: the run item and the pair update in one transaction.

        ``current`` is the twin's snapshot as re-read by the lease check (kept with a conflict, so the
        CLI can show and resolve both values).
        """
        if outcome is Outcome.CREATED:
            raise ValueError("use complete_create for a create: it needs the remote id")
        self._finish(command, outcome, written=written, current=current, message=message)

    def _finish(self, command: Mapping[str, Any], outcome: Outcome, *, remote_id: str | None = None,
                written: Mapping[str, Any] | None = None, current: Mapping[str, Any] | None = None,
                message: str | None = None) -> None:
        direction = Direction(command["direction"])
        source, target = str(direction.source), str(direction.target)
        with self._session() as session:
            row = session.get_one(PairRow, command["pair_id"])
            base = json.loads(row.base)
            pending = [c for c in json.loads(row.pending or "[]") if c["command_id"] != command["command_id"]]
            keep_pending = outcome is Outcome.FAILED
            # A detected Forecast move re-keys the pair to the new registration, whatever the outcome.
            setattr(row, f"{source}_id", command["source_id"])
            if outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.ALREADY_APPLIED):
                base[source] = command["source_snapshot"]
                base[target] = dict(written) if written is not None else command["twin_snapshot"]
                row.state, row.reason, row.conflict, row.attempts = PairState.LINKED, None, None, 0
                if remote_id is not None:
                    setattr(row, f"{target}_id", remote_id)
            elif outcome is Outcome.DELETED:
                row.state, row.reason = PairState.DELETED, message
                pending = []
            elif outcome is Outcome.MOVE_DELETED:
                # The old registration is gone; the pair waits for the create half of the move.
                setattr(row, f"{target}_id", None)
                base[target] = None
                row.state = PairState.CREATING
            elif outcome is Outcome.CONFLICT:
                row.state, row.reason = PairState.CONFLICT, message
                row.conflict = json_text({source: _conflict_snapshot(command), target: dict(current or {}) or None})
                pending = []
            elif outcome in (Outcome.LOCKED, Outcome.ORPHANED):
                row.state, row.reason = (PairState.LOCKED if outcome is Outcome.LOCKED else PairState.ORPHANED,
                                         message)
                pending = []
            elif outcome is Outcome.FAILED:
                row.reason, row.attempts = message, row.attempts + 1
            if not keep_pending:
                row.pending = json_text(pending) if pending else None
            row.base = json_text(base)
            row.updated_at = utc_now()
            session.add(RunItemRow(
                run_id=command.get("run_id"), pair_id=row.id, direction=str(direction), actor="target",
                kind=command["kind"], source_id=command.get("source_id"), action=command["kind"],
                outcome=str(outcome), message=message, created_at=utc_now(),
            ))


def _conflict_snapshot(command: Mapping[str, Any]) -> dict[str, Any] | None:
    """The source's value as parked, with the TimeLog task name when known: resolving the conflict in favour of
    TimeLog later writes the Forecast note prefix `[task name]`, and no tap re-sends the unchanged work unit."""
    snapshot = command["source_snapshot"]
    task_name = (command.get("canonical") or {}).get("task_name")
    return {**snapshot, "task_name": task_name} if snapshot and task_name else snapshot
