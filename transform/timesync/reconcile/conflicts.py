"""Resolving a parked conflict (`timesync conflicts resolve`): queue the kept side's value for the other side."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from timesync.ledger import Ledger, Pair, PairState, RunStatus
from timesync.links import Links
from timesync.model import Direction, Side, entry_from_snapshot
from timesync.reconcile.engine import record
from timesync.reconcile.landing import synced_note_prefix, task_name_from_base
from timesync.reconcile.planning import Planner


def resolve_conflict(ledger: Ledger, links: Links, pair: Pair, keep: Side) -> list[dict[str, Any]]:
    """Park no more: queue the kept side's value for the other side (replayed by the next run of that direction).

    The pair's conflict snapshots say what each side held when it was parked; the other side's becomes the
    lease, so a change made there since is caught again instead of overwritten. The resolution is a run of its
    own: planned and recorded as a sync run plans and records, its commands pending until a target confirms them.
    """
    if pair.state is not PairState.CONFLICT or not pair.conflict:
        raise ValueError(f"pair {pair.id} is {pair.state}, not an open conflict")
    kept, other = pair.conflict.get(str(keep)), pair.conflict.get(str(keep.other))
    if kept is None or other is None:
        raise ValueError(f"pair {pair.id}: the {keep if kept is None else keep.other} side no longer exists; "
                         "delete or re-create the entry by hand")
    direction = Direction.from_source(keep)
    run_id = ledger.begin_run(direction)
    entry = entry_from_snapshot(keep, pair.id_on(keep) or "", kept)
    if keep is Side.TIMELOG and entry.task_name is None:
        entry = replace(entry, task_name=task_name_from_base(pair.base, entry.task_id))
    # The other side's parked value becomes its lease base: compared field by field, so no extra keys.
    other = {name: value for name, value in other.items() if name != "task_name"}
    # The kept side's last synced value, marked so it compares as changed: the write happens, and landing still
    # sees the synced note (the TimeLog task-name prefix of project time).
    resolved = {**(pair.base_on(keep) or {}), "resolved_by": "timesync conflicts resolve"}
    if keep is Side.FORECAST and "note" in other:
        # Landing strips the synced prefix (Forecast note over TimeLog note); the TimeLog note is now ``other``'s.
        resolved["note"] = synced_note_prefix(pair.base) + other["note"]
    base = {str(keep): resolved, str(keep.other): other}
    planner = Planner(ledger, links, direction)
    planner.plan_entry(entry, replace(pair, state=PairState.LINKED, base=base))
    for planned in planner.plan.planned:
        planned.state, planned.base = PairState.LINKED, base
        planned.reason = f"conflict resolved: keep {keep}"
    commands = record(ledger, run_id, direction, planner.plan)
    ledger.finish_run(run_id, RunStatus.OK, message=f"conflict {pair.id} resolved: keep {keep}")
    return list(commands)
