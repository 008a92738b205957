"""The bulk paths of the reconcile step: Ledger.find_pairs, record_plan's executemany, and the lazily built commands.

Each must give what the per-record path gives: find_pairs what find_by_side gives id by id, record_plan the same
rows as one statement per pair did, and a run of more entries than one lookup chunk the same plan as a small one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from timesync_world import World

from timesync.ledger import Ledger, Outcome, PairKind, PairState, PlannedPair, RunItem
from timesync.ledger.store import BULK_CHUNK
from timesync.model import Direction, Side
from timesync.reconcile.engine import Commands
from timesync.reconcile.plan import Plan
from timesync.reconcile.planning import ENTRIES_PER_LOOKUP

F2T, T2F = Direction.FORECAST_TO_TIMELOG, Direction.TIMELOG_TO_FORECAST
PAIRS = 3 * BULK_CHUNK + 7  # more than one IN (...) list, not a multiple of it


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


def _command(run_id: int, seq: int, source_id: str) -> dict:
    return {"command_id": f"r{run_id}-{seq}", "run_id": run_id, "seq": seq, "direction": str(F2T),
            "kind": "work_create", "action": "create", "pair_id": 0, "pair_kind": "time_entry", "source_id": source_id,
            "twin_id": None, "native": {}, "source_snapshot": {"minutes": seq}, "twin_snapshot": {"minutes": seq}}


def _fill(ledger: Ledger) -> dict[str, int]:
    """PAIRS time-entry pairs: completed ones (TimeLog id known), some deleted, some still creating; and a task pair
    holding the same Forecast id as an entry, which a time-entry lookup must not find. Forecast id -> pair id."""
    run_id = ledger.begin_run(F2T)
    planned = [PlannedPair(PairKind.TIME_ENTRY, forecast_id=str(1000 + n), origin=Side.FORECAST,
                           state=PairState.CREATING, commands=[_command(run_id, n + 1, str(1000 + n))])
               for n in range(PAIRS)]
    planned.append(PlannedPair(PairKind.TASK, forecast_id="1000", origin=Side.FORECAST, state=PairState.CREATING))
    ids = ledger.record_plan(run_id, F2T, planned, [], {}, dry_run=False)
    for n, plan in enumerate(planned[:PAIRS]):
        command = plan.commands[0]
        if n % 3:  # every third stays `creating` (no TimeLog id yet)
            ledger.complete_create(command, f"guid-{n}")
        if n % 7 == 1:
            ledger.record_outcome(command | {"kind": "work_delete", "action": "delete"}, Outcome.DELETED)
    return {plan.forecast_id or "": pair_id for plan, pair_id in zip(planned[:PAIRS], ids[:PAIRS], strict=True)}


def test_find_pairs_gives_what_find_by_side_gives_for_every_id_on_both_sides(ledger: Ledger) -> None:
    """More ids than one IN list, ids without a pair, deleted pairs, creating pairs, and another kind's pair."""
    _fill(ledger)
    wanted = {Side.FORECAST: [str(1000 + n) for n in range(-5, PAIRS + 5)],
              Side.TIMELOG: [f"guid-{n}" for n in range(PAIRS + 5)] + ["nope"]}
    for side, native_ids in wanted.items():
        random.Random(7).shuffle(native_ids)
        found = ledger.find_pairs(PairKind.TIME_ENTRY, side, native_ids + native_ids[:10])  # duplicates are fine
        expected = {i: pair for i in native_ids if (pair := ledger.find_by_side(PairKind.TIME_ENTRY, side, i))}
        assert found == expected
        assert len(found) > BULK_CHUNK
        assert any(pair.state is PairState.DELETED for pair in found.values())
    forecast = ledger.find_pairs(PairKind.TIME_ENTRY, Side.FORECAST, ["1000"])["1000"]
    assert forecast.kind is PairKind.TIME_ENTRY, "the task pair with the same Forecast id is another kind"
    assert ledger.find_pairs(PairKind.TASK, Side.FORECAST, ["1000", "1001"]).keys() == {"1000"}
    assert ledger.find_pairs(PairKind.TIME_ENTRY, Side.TIMELOG, []) == {}


def test_record_plan_in_bulk_writes_what_it_wrote_pair_by_pair(ledger: Ledger) -> None:
    """New and existing pairs mixed over several chunks: ids in order, intents with their pair id, run items mapped,
    and an update touching only what the planned pair sets."""
    ids = _fill(ledger)
    before = {pair.id: pair for pair in ledger.pairs()}
    run_id = ledger.begin_run(F2T)
    planned, items = [], []
    for n in range(PAIRS):
        if n % 2:  # an existing pair: new reason, state only when given, a fresh intent on every fourth
            commands = [_command(run_id, n, str(1000 + n))] if n % 4 == 1 else []
            planned.append(PlannedPair(PairKind.TIME_ENTRY, pair_id=ids[str(1000 + n)], reason=f"changed {n}",
                                       state=PairState.CONFLICT if n % 5 == 0 else None, commands=commands))
            items.append(RunItem("time_entry", "update", "changed", str(1000 + n), ids[str(1000 + n)]))
        else:  # a new TimeLog-origin pair
            planned.append(PlannedPair(PairKind.TIME_ENTRY, timelog_id=f"new-{n}", origin=Side.TIMELOG,
                                       state=PairState.CREATING, fingerprint=f'{{"n": {n}}}',
                                       commands=[_command(run_id, n, f"new-{n}")]))
            items.append(RunItem("time_entry", "create", "new", f"new-{n}", -1 - (len(planned) - 1)))
    items.append(RunItem("time_entry", "none", "out_of_scope", "x", None, "unlinked_person: forecast person 9"))
    pair_ids = ledger.record_plan(run_id, F2T, iter(planned), iter(items), {"time_entry.new": 1}, dry_run=False)

    assert len(pair_ids) == len(planned)
    for plan, pair_id in zip(planned, pair_ids, strict=True):
        pair = ledger.pair(pair_id)
        assert pair is not None
        assert [c["pair_id"] for c in plan.commands] == [pair_id] * len(plan.commands)
        if plan.pair_id is None:
            assert (pair.timelog_id, pair.state, pair.fingerprint) == (plan.timelog_id, PairState.CREATING,
                                                                         plan.fingerprint)
            assert pair.pending == plan.commands
        else:
            old = before[pair_id]
            assert pair.reason == plan.reason
            assert pair.state == (plan.state or old.state)
            assert (pair.base, pair.fingerprint) == (old.base, old.fingerprint)
            assert pair.pending == (plan.commands or old.pending)
    recorded = [(i.source_id, i.pair_id, i.outcome) for i in ledger.run_items(run_id)]
    assert recorded == [(item.source_id, pair_ids[-1 - item.pair_id] if item.pair_id is not None and item.pair_id < 0
                         else item.pair_id, item.outcome) for item in items]
    assert ledger.item_outcomes(run_id, actor="mapper") == {"new": (PAIRS + 1) // 2, "changed": PAIRS // 2,
                                                            "out_of_scope": 1}


def test_commands_build_on_demand_and_keep_what_indexing_handed_out(ledger: Ledger) -> None:
    """`Reconciler.run` returns a Sequence: length without building, edits through indexing visible when iterating."""
    plan = Plan()
    for n in range(3):
        held = [{"source_id": str(n)} for _ in range(n % 2 + 1)]
        plan.add(PlannedPair(PairKind.TASK, forecast_id=str(n), commands=held))
    commands = Commands(9, plan, [70, 71, 72], [{"command_id": "r1-1", "seq": 1, "lookup_first": True}])
    assert len(commands) == 1 + 2 + 1 + 1
    assert [c["command_id"] for c in commands] == ["r9-1", "r9-2", "r9-3", "r9-4", "r1-1"]
    assert [c["pair_id"] for c in commands[:4]] == [70, 71, 71, 72]
    commands[-2]["seq"] = "edited"
    assert [c["seq"] for c in commands][-2] == "edited"
    with pytest.raises(IndexError):
        commands[5]


def test_more_entries_than_one_lookup_chunk_sync_and_then_stay_quiet(tmp_path: Path) -> None:
    """Entries are classified ENTRIES_PER_LOOKUP at a time; across chunk edges every entry gets exactly one twin, and
    the next sync finds every one unchanged (no echo)."""
    world = World(tmp_path, max_changes=10 * ENTRIES_PER_LOOKUP)
    try:
        count = ENTRIES_PER_LOOKUP + 13
        for n in range(count):
            world.forecast.create(person=11, project=101, task=301 if n % 2 else None,
                                  date=f"2026-03-{n % 28 + 1:02d}", minutes=15 + n % 400, note=f"forecast {n}")
        timelog_task = next(iter(world.timelog_only_tasks))
        for n in range(count // 2):
            world.timelog.create(employee=8, task=timelog_task, date=f"2026-03-{n % 28 + 1:02d}", minutes=30 + n,
                                 note=f"timelog {n}")
        first = world.sync()
        assert first.counts[str(F2T)]["time_entry.new"] == count
        assert first.counts[str(T2F)]["time_entry.new"] == count // 2
        assert len(world.timelog.work) == len(world.forecast.registrations) == count + count // 2
        world.bookmarks = dict.fromkeys(world.bookmarks, 0)  # a full refresh: every entry is read again
        second = world.sync()
        assert second.commands == 0
        assert sum(c.get("time_entry.unchanged", 0) for c in second.counts.values()) == 2 * (count + count // 2)
    finally:
        world.close()


@pytest.mark.suite  # minutes on 2 cores; test_scenarios.py tests the move itself in the fast tier
def test_a_move_is_found_among_many_entries(tmp_path: Path) -> None:
    """A Forecast move (delete X, create Y with the same person, date, minutes, note) past the first lookup chunk
    updates X's twin (re-keyed to Y) instead of deleting it and creating another."""
    world = World(tmp_path, max_changes=10 * ENTRIES_PER_LOOKUP)
    try:
        ids = [world.forecast.create(person=11, project=101, task=301, date="2026-03-02", minutes=15 + n,
                                     note=f"n{n}") for n in range(ENTRIES_PER_LOOKUP + 5)]
        world.sync()
        twins = set(world.timelog.work)
        world.forecast.delete(ids[-1])
        world.forecast.create(person=11, project=101, task=302, date="2026-03-02", minutes=15 + len(ids) - 1,
                              note=f"n{len(ids) - 1}")
        counts = world.sync().counts[str(F2T)]
        assert counts.get("time_entry.changed") == 1
        assert "time_entry.new" not in counts
        assert "time_entry.deleted" not in counts
        assert set(world.timelog.work) == twins, "the same work unit, updated"
    finally:
        world.close()
