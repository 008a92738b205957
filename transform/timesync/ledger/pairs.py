"""Pair lookups: by id, by native id (one or in bulk), by state, the replays due, and a command's TimeLog ids."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, select

from timesync.ledger.base import LedgerBase, batched
from timesync.ledger.views import PAIRS, SELECT_PAIRS, Pair, to_pair
from timesync.model import Direction, Side
from timesync.states import PairKind, PairState, UnresolvedDependencyError

# A pending command that failed this often is no longer replayed; it stays visible in `timesync status`.
MAX_REPLAY_ATTEMPTS = 5
# Bulk lookups by native id, compiled once: an expanding parameter instead of one bound literal per id.
NATIVE_ID = {Side.FORECAST: PAIRS.c.forecast_id, Side.TIMELOG: PAIRS.c.timelog_id}
_PAIRS_BY_ID = {side: SELECT_PAIRS.where(PAIRS.c.kind == bindparam("kind"),
                                         column.in_(bindparam("ids", expanding=True)))
                for side, column in NATIVE_ID.items()}


class PairLookups(LedgerBase):
    """The Ledger's reads of pairs."""

    def pair(self, pair_id: int) -> Pair | None:
        """One pair by id."""
        with self._reading() as session:
            row = session.execute(SELECT_PAIRS.where(PAIRS.c.id == pair_id)).first()
            return to_pair(row) if row else None

    def find_pair(self, kind: PairKind, *, forecast_id: str | None = None,
                  timelog_id: str | None = None) -> Pair | None:
        """The pair of one kind holding a Forecast id or a TimeLog id."""
        column, value = (PAIRS.c.forecast_id, forecast_id) if forecast_id is not None else (PAIRS.c.timelog_id,
                                                                                            timelog_id)
        if value is None:
            raise ValueError("find_pair needs forecast_id or timelog_id")
        with self._reading() as session:
            row = session.execute(SELECT_PAIRS.where(PAIRS.c.kind == str(kind), column == str(value))).first()
            return to_pair(row) if row else None

    def find_pairs(self, kind: PairKind, side: Side, native_ids: Iterable[str]) -> dict[str, Pair]:
        """The pairs of one kind holding any of ``native_ids`` on ``side``, by that id (no entry: no pair).

        What ``find_by_side`` gives for each id, in one query per BULK_CHUNK ids inside one read transaction:
        the mapper looks up a whole run's records at once instead of one transaction per record.
        """
        found: dict[str, Pair] = {}
        with self._read_connection() as connection:
            for chunk in batched(dict.fromkeys(str(native_id) for native_id in native_ids)):
                rows = connection.execute(_PAIRS_BY_ID[side], {"kind": str(kind), "ids": chunk}).all()
                for pair in map(to_pair, rows):
                    found[pair.id_on(side) or ""] = pair
        return found

    def find_by_side(self, kind: PairKind, side: Side, native_id: str) -> Pair | None:
        """The pair of one kind holding ``native_id`` on ``side``."""
        if side is Side.FORECAST:
            return self.find_pair(kind, forecast_id=native_id)
        return self.find_pair(kind, timelog_id=native_id)

    def pairs(self, *, states: Iterable[PairState] | None = None, kind: PairKind | None = None) -> list[Pair]:
        """Pairs filtered by state and kind, oldest first."""
        query = SELECT_PAIRS.order_by(PAIRS.c.id)
        if states is not None:
            query = query.where(PAIRS.c.state.in_([str(state) for state in states]))
        if kind is not None:
            query = query.where(PAIRS.c.kind == str(kind))
        with self._reading() as session:
            return [to_pair(row) for row in session.execute(query)]

    def has_settled_pairs(self) -> bool:
        """Whether any pair got past its first create: false on a first sync, and on a lost ledger."""
        query = select(PAIRS.c.id).where(PAIRS.c.state != str(PairState.CREATING)).limit(1)
        with self._reading() as session:
            return session.execute(query).first() is not None

    def pending_pairs(self, direction: Direction) -> list[Pair]:
        """Pairs holding commands of ``direction`` that were emitted but never confirmed (to replay)."""
        query = SELECT_PAIRS.where(PAIRS.c.pending.is_not(None), PAIRS.c.attempts < MAX_REPLAY_ATTEMPTS)
        with self._reading() as session:
            pairs = [to_pair(row) for row in session.execute(query.order_by(PAIRS.c.id))]
        return [pair for pair in pairs if any(command["direction"] == str(direction) for command in pair.pending)]

    def creating_pairs(self, kind: PairKind) -> list[Pair]:
        """Pairs whose create is unconfirmed (their fingerprint finds an echo of a create a crash cut short)."""
        return self.pairs(states=[PairState.CREATING], kind=kind)

    def resolve(self, kind: PairKind, forecast_id: str) -> str | None:
        """The TimeLog id paired with a Forecast id (tasks created earlier in the same run included)."""
        pair = self.find_pair(kind, forecast_id=forecast_id)
        return pair.timelog_id if pair else None

    def resolve_dependencies(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """The command with every ``depends_on`` TimeLog id filled in from the ledger, at write time.

        Fills ``native[field]`` and, when the ref names one, ``twin_snapshot``/``fingerprint[snapshot_field]``,
        so the lease check, the fingerprint lookup and the stored base all see the real id.
        """
        # A deep copy: the caller's command stays as it was.
        resolved: dict[str, Any] = json.loads(json.dumps(dict(command)))
        for ref in command.get("depends_on") or []:
            twin_id = self.resolve(PairKind(ref["pair_kind"]), ref["forecast_id"])
            if twin_id is None:
                raise UnresolvedDependencyError(
                    f"command {command['command_id']}: no TimeLog id yet for {ref['pair_kind']} "
                    f"with Forecast id {ref['forecast_id']} (its create has not succeeded)"
                )
            resolved["native"][ref["field"]] = int(twin_id) if twin_id.isdigit() else twin_id
            snapshot_field = ref.get("snapshot_field")
            for part in ("twin_snapshot", "fingerprint"):
                if snapshot_field and resolved.get(part) is not None:
                    resolved[part][snapshot_field] = twin_id
        return resolved
