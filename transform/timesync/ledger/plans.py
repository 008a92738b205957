"""The mapper's writes: a run's whole plan (intents, state changes, run items, counts) in one transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from timesync.ledger.base import LedgerBase, batched, utc_now
from timesync.ledger.pairs import NATIVE_ID
from timesync.ledger.tables import PairRow, RunItemRow, RunRow
from timesync.ledger.views import PAIRS, PlannedPair, RunItem
from timesync.model import Direction, Side, json_text
from timesync.states import PairState

# New pairs' ids read back by natural key, compiled once (see _new_pair_ids).
_PAIR_IDS_BY_ID = {side: select(PAIRS.c.id, column).where(PAIRS.c.kind == bindparam("kind"),
                                                          column.in_(bindparam("ids", expanding=True)))
                   for side, column in NATIVE_ID.items()}


class PlanRecords(LedgerBase):
    """The Ledger's writes of a mapper's plan and of its replays."""

    def record_plan(self, run_id: int, direction: Direction, planned: Iterable[PlannedPair],
                    items: Iterable[RunItem], counts: Mapping[str, int], *, dry_run: bool) -> list[int]:
        """Write the whole plan of a run in one transaction: intents, state changes, run items and counts.

        Each planned pair's commands get its ``pair_id`` and become its ``pending`` list (the intent) before any
        is emitted. In a dry run only the run items and counts are written. Returns the planned pairs' ids.
        ``planned`` is read once, BULK_CHUNK pairs at a time, and not kept: a generator may build each pair's
        commands just for this. Rows go in with one executemany per chunk, not one statement per pair.
        """
        pair_ids: list[int] = []
        stamp = utc_now()
        with self._writing() as connection:
            for chunk in batched(planned):
                pair_ids += [plan.pair_id or 0 for plan in chunk] if dry_run else _write_planned(connection, chunk,
                                                                                                 stamp)
            for rows in batched(_item_values(run_id, direction, "mapper", item, pair_id, stamp)
                                for item, pair_id in _items_with_pair_ids(items, pair_ids)):
                connection.execute(insert(RunItemRow), rows)
            recorded = connection.execute(select(RunRow.counts).where(RunRow.id == run_id)).scalar_one()
            connection.execute(update(RunRow).where(RunRow.id == run_id)
                               .values(counts=json_text(json.loads(recorded) | dict(counts))))
        return pair_ids

    def note_replay(self, pair_id: int) -> None:
        """Count one more emission of a pair's pending commands (replays stop after MAX_REPLAY_ATTEMPTS)."""
        self.note_replays([pair_id])

    def note_replays(self, pair_ids: Iterable[int]) -> None:
        """``note_replay`` for many pairs, in one transaction."""
        with self._writing() as connection:
            for chunk in batched(pair_ids):
                connection.execute(update(PairRow).where(PairRow.id.in_(chunk))
                                   .values(attempts=PairRow.attempts + 1))


def _write_planned(connection: Connection, chunk: list[PlannedPair], stamp: dt.datetime) -> list[int]:
    """Insert the chunk's new pairs and update its existing ones (a few executemany); their ids, in order."""
    new = [plan for plan in chunk if not plan.pair_id]
    if new:
        connection.execute(insert(PairRow), [
            {"kind": str(plan.kind), "forecast_id": plan.forecast_id, "timelog_id": plan.timelog_id,
             "project": plan.project, "origin": str(plan.origin), "base": json_text(plan.base or {}),
             "state": str(plan.state or PairState.CREATING), "reason": plan.reason, "fingerprint": plan.fingerprint,
             "conflict": json_text(plan.conflict) if plan.conflict is not None else None,
             "attempts": 0, "updated_at": stamp} for plan in new])
    new_ids = _new_pair_ids(connection, new)
    pair_ids = [plan.pair_id or new_ids[_natural_key(plan)] for plan in chunk]
    # One executemany per set of columns changed (an UPDATE sets the same columns for every row).
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for plan, pair_id in zip(chunk, pair_ids, strict=True):
        values: dict[str, Any] = {}
        if plan.pair_id:
            values |= {"reason": plan.reason, "updated_at": stamp}
            if plan.state is not None:
                values["state"] = str(plan.state)
            if plan.base is not None:
                values["base"] = json_text(plan.base)
            if plan.fingerprint is not None:
                values["fingerprint"] = plan.fingerprint
        if plan.commands:
            for command in plan.commands:
                command["pair_id"] = pair_id
            values |= {"pending": json_text(plan.commands), "attempts": 0}
        if values:
            updates.setdefault(tuple(sorted(values)), []).append({"pair_key": pair_id, **values})
    for rows in updates.values():
        connection.execute(update(PairRow).where(PairRow.id == bindparam("pair_key")), rows)
    return pair_ids


def _natural_key(plan: PlannedPair) -> tuple[str, Side, str]:
    """What makes a new pair unique: its kind and its native id on one side (uq_pairs_forecast/timelog)."""
    if plan.forecast_id is not None:
        return str(plan.kind), Side.FORECAST, plan.forecast_id
    if plan.timelog_id is not None:
        return str(plan.kind), Side.TIMELOG, plan.timelog_id
    raise ValueError(f"a new {plan.kind} pair needs its Forecast or TimeLog id")


def _new_pair_ids(connection: Connection, new: list[PlannedPair]) -> dict[tuple[str, Side, str], int]:
    """The ids the database gave the pairs just inserted, read back by natural key.

    Not INSERT ... RETURNING: SQLite cannot promise the order of RETURNING rows, so SQLAlchemy would insert one row
    per statement to match ids to parameters.
    """
    wanted: dict[tuple[str, Side], list[str]] = {}
    for kind, side, native_id in map(_natural_key, new):
        wanted.setdefault((kind, side), []).append(native_id)
    ids: dict[tuple[str, Side, str], int] = {}
    for (kind, side), native_ids in wanted.items():
        for pair_id, native_id in connection.execute(_PAIR_IDS_BY_ID[side], {"kind": kind, "ids": native_ids}):
            ids[(kind, side, native_id)] = pair_id
    return ids


def _items_with_pair_ids(items: Iterable[RunItem], pair_ids: list[int]) -> Iterator[tuple[RunItem, int | None]]:
    """Run items planned for a new pair carry a negative placeholder (-1 - index into the planned pairs)."""
    for item in items:
        if item.pair_id is not None and item.pair_id < 0:
            yield item, pair_ids[-1 - item.pair_id] or None
        else:
            yield item, item.pair_id


def _item_values(run_id: int, direction: Direction, actor: str, item: RunItem, pair_id: int | None,
                 stamp: dt.datetime) -> dict[str, Any]:
    return {"run_id": run_id, "pair_id": pair_id, "direction": str(direction), "actor": actor, "kind": item.kind,
            "source_id": item.source_id, "action": item.action, "outcome": item.outcome, "message": item.message,
            "created_at": stamp}
