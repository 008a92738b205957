"""The read-only views the Ledger hands out (pairs, runs) and what the mapper hands it (planned pairs, run items)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from timesync.ledger.tables import PairRow, RunRow
from timesync.model import Side
from timesync.states import PairKind, PairState, RunStatus

#: Lookups select the table, not the ORM class: plain rows cost a fraction of mapped objects per pair.
PAIRS = PairRow.__table__
#: A pair's columns in the order ``to_pair`` unpacks them.
SELECT_PAIRS = select(PAIRS.c.id, PAIRS.c.kind, PAIRS.c.forecast_id, PAIRS.c.timelog_id, PAIRS.c.project,
                      PAIRS.c.origin, PAIRS.c.state, PAIRS.c.reason, PAIRS.c.base, PAIRS.c.fingerprint,
                      PAIRS.c.pending, PAIRS.c.attempts, PAIRS.c.conflict, PAIRS.c.updated_at)
# Stored text to enum members, by lookup (an Enum call per column costs more than the lookup).
_PAIR_KINDS = {str(kind): kind for kind in PairKind}
_PAIR_STATES = {str(state): state for state in PairState}
_SIDES = {str(side): side for side in Side}


@dataclass(frozen=True, slots=True)
class Pair:
    """A read-only view of one pair."""

    id: int
    kind: PairKind
    forecast_id: str | None
    timelog_id: str | None
    project: str | None
    origin: Side
    state: PairState
    reason: str | None
    base: dict[str, Any]
    fingerprint: str | None
    pending: list[dict[str, Any]]
    attempts: int
    conflict: dict[str, Any] | None
    updated_at: dt.datetime

    def id_on(self, side: Side) -> str | None:
        """The native id on one side."""
        return self.forecast_id if side is Side.FORECAST else self.timelog_id

    def base_on(self, side: Side) -> dict[str, Any] | None:
        """The snapshot of one side as last synced."""
        return self.base.get(str(side))


@dataclass(frozen=True)
class Run:
    """A read-only view of one run."""

    id: int
    direction: str
    dry_run: bool
    status: RunStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, int]
    message: str | None


@dataclass(slots=True)
class PlannedPair:
    """A pair write the mapper plans: a new pair (``pair_id`` None) or a change to an existing one."""

    kind: PairKind
    pair_id: int | None = None
    forecast_id: str | None = None
    timelog_id: str | None = None
    project: str | None = None
    origin: Side = Side.FORECAST
    state: PairState | None = None
    reason: str | None = None
    base: dict[str, Any] | None = None
    fingerprint: str | None = None
    commands: list[dict[str, Any]] = field(default_factory=list)
    #: Both sides' values of a pair parked as a conflict (what `timesync conflicts` shows and resolves); new pairs.
    conflict: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RunItem:
    """One line of a run's audit."""

    kind: str
    action: str
    outcome: str
    source_id: str | None = None
    pair_id: int | None = None
    message: str | None = None


def to_pair(row: Any) -> Pair:
    """A Pair from a row of ``SELECT_PAIRS`` (unpacked by position: by-name access costs more than the rest)."""
    (pair_id, kind, forecast_id, timelog_id, project, origin, state, reason, base, fingerprint, pending, attempts,
     conflict, updated_at) = row
    return Pair(
        id=pair_id,
        kind=_PAIR_KINDS[kind],
        forecast_id=forecast_id,
        timelog_id=timelog_id,
        project=project,
        origin=_SIDES[origin],
        state=_PAIR_STATES[state],
        reason=reason,
        base=json.loads(base),
        fingerprint=fingerprint,
        pending=json.loads(pending) if pending else [],
        attempts=attempts,
        conflict=json.loads(conflict) if conflict else None,
        updated_at=updated_at,
    )


def to_run(row: RunRow) -> Run:
    """A Run from its row."""
    return Run(
        id=row.id,
        direction=row.direction,
        dry_run=row.dry_run,
        status=RunStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        counts=json.loads(row.counts),
        message=row.message,
    )
