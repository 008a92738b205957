"""The Ledger's backfills: a new link's history (or the part a start date moved earlier over) to read once.

The reconcile step asks for them when it sees the links change; `timesync run finish`, the last task of job
`sync`, runs each one as a filtered full read of both taps, and marks it done. A failed one stays pending, so
the next run tries again; until it succeeds, nothing of that link's history is lost, only late.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update

from timesync.ledger.base import LedgerBase, utc_now
from timesync.ledger.tables import BackfillRow
from timesync.links import BackfillRequest


class BackfillState(StrEnum):
    """Where a backfill stands."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True)
class Backfill:
    """One recorded backfill."""

    id: int
    request: BackfillRequest
    state: BackfillState
    requested_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int
    message: str | None


def _view(row: BackfillRow) -> Backfill:
    return Backfill(row.id, BackfillRequest(row.kind, row.forecast_id, row.timelog_id, row.since),
                    BackfillState(row.state), row.requested_at, row.started_at, row.finished_at, row.attempts,
                    row.message)


class BackfillRecords(LedgerBase):
    """Requests, the pending queue, and each backfill's outcome."""

    def request_backfills(self, requests: Iterable[BackfillRequest]) -> int:
        """Queue the backfills not already pending for the same link and start; returns how many were queued."""
        requests = list(dict.fromkeys(requests))
        if not requests:  # every run asks; most ask for nothing, and need no write transaction for it
            return 0
        queued = 0
        with self._session() as session:
            waiting = {_view(row).request for row in session.scalars(
                select(BackfillRow).where(BackfillRow.state != BackfillState.DONE.value))}
            for request in requests:
                if request in waiting:
                    continue
                session.add(BackfillRow(kind=request.kind, forecast_id=request.forecast, timelog_id=request.timelog,
                                        since=request.since, state=BackfillState.PENDING.value,
                                        requested_at=utc_now(), attempts=0))
                queued += 1
        return queued

    def backfills(self, *, states: Iterable[BackfillState] | None = None, limit: int | None = None) -> list[Backfill]:
        """Recorded backfills, oldest first (``limit``: the newest that many), optionally only in ``states``."""
        query = select(BackfillRow).order_by(BackfillRow.id.desc())
        if states is not None:
            query = query.where(BackfillRow.state.in_([state.value for state in states]))
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as session:
            return [_view(row) for row in reversed(list(session.scalars(query)))]

    def start_backfill(self, backfill_id: int) -> None:
        """Mark a backfill running (a run killed now leaves it running: the next run takes it up again)."""
        with self._session() as session:
            session.execute(update(BackfillRow).where(BackfillRow.id == backfill_id).values(
                state=BackfillState.RUNNING.value, started_at=utc_now(), attempts=BackfillRow.attempts + 1))

    def finish_backfill(self, backfill_id: int, *, ok: bool, message: str | None = None) -> None:
        """Mark a backfill done, or back to pending with the reason it failed."""
        with self._session() as session:
            session.execute(update(BackfillRow).where(BackfillRow.id == backfill_id).values(
                state=(BackfillState.DONE if ok else BackfillState.PENDING).value,
                finished_at=utc_now() if ok else None, message=message))
