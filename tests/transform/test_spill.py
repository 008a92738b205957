"""The spilled intake and plan (timesync.reconcile.spill): past their buffer, values wait in a temporary SQLite file,
and read back exactly as a dict or a list would hold them."""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import tracemalloc
from itertools import islice
from typing import Any

import pytest

from timesync.adapters import ADAPTERS
from timesync.ledger import Pair, PairKind, PairState, PlannedPair, RunItem
from timesync.model import Side, TimeEntry
from timesync.reconcile import spill
from timesync.reconcile.intake import Intake
from timesync.reconcile.landing import TaskRef
from timesync.reconcile.plan import EntryWrite, Plan
from timesync.reconcile.rules import Action, Change
from timesync.reconcile.spill import Spill, SpilledEntries, SpilledList, entry_fields, entry_from_fields, pack, unpack


def entry(entry_id: str, minutes: int = 60, task: str | None = "t1", project: str | None = "p1",
          **fields: Any) -> TimeEntry:
    return TimeEntry(Side.FORECAST, entry_id, project, "person1", task, dt.date(2026, 3, 2), minutes, **fields)


def test_an_entry_reads_back_equal_field_for_field() -> None:
    """Dates, time stamps (with or without a zone), flags and None survive the plain-values form."""
    for updated in (None, dt.datetime(2026, 3, 2, 9, 30, 1, 12, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, 9, 30)):
        original = entry("7", note="æøå ✓", locked=True, non_project=True, task_name="Design", updated_at=updated)
        back = entry_from_fields(unpack(pack(entry_fields(original))))
        assert back == original
        assert back.updated_at == updated
        assert back.side is Side.FORECAST


def test_pack_keeps_what_marshal_cannot_hold() -> None:
    """Enums, dates and dataclasses go through pickle, so they come back with their type."""
    for value in ({"kind": PairKind.TASK}, [dt.date(2026, 1, 1)], RunItem("time_entry", "none", "unchanged"),
                  {"plain": [1, "a", None, 2.5]}):
        back = unpack(pack(value))
        assert back == value
        assert type(back) is type(value)
    assert type(unpack(pack({"kind": PairKind.TASK}))["kind"]) is PairKind


@pytest.mark.parametrize("buffer", [1, 2, 3, 1000])
def test_entries_latest_wins_and_order_is_a_dicts(buffer: int) -> None:
    """Whether spilled or not: a replaced id keeps its place, a removed and re-added one goes last, as in a dict."""
    spilled, expected = SpilledEntries(buffer=buffer), {}
    steps: list[tuple[str, str, int]] = [("put", "a", 1), ("put", "b", 1), ("put", "c", 1), ("put", "a", 2),
                                         ("del", "b", 0), ("put", "d", 1), ("put", "b", 3), ("del", "zz", 0),
                                         ("put", "c", 4), ("del", "d", 0), ("put", "e", 1)]
    for step, entry_id, minutes in steps:
        if step == "put":
            spilled.put(entry(entry_id, minutes))
            expected[entry_id] = entry(entry_id, minutes)
        else:
            spilled.discard(entry_id)
            expected.pop(entry_id, None)
        assert list(spilled) == list(expected)
    assert list(spilled.values()) == list(expected.values())
    assert len(spilled) == len(expected)
    assert dict(spilled.items()) == expected
    assert spilled["a"].minutes == 2
    assert "d" not in spilled
    assert "c" in spilled
    with pytest.raises(KeyError):
        spilled["d"]


@pytest.mark.parametrize("buffer", [2, 1000])
def test_entries_task_and_project_indexes(buffer: int) -> None:
    """The planner's bulk lookups: the tasks entries are on, and the projects of entries without a task."""
    spilled = SpilledEntries(buffer=buffer)
    for entry_id, task, project in [("1", "t1", "p1"), ("2", None, "p2"), ("3", "", "p3"), ("4", None, None),
                                    ("5", "t2", "p1"), ("6", None, "p4")]:
        spilled.put(entry(entry_id, task=task, project=project))
    spilled.put(entry("5", task="t3"))  # the latest version counts
    spilled.discard("6")
    assert spilled.task_ids() == {"t1", "t3"}
    assert spilled.taskless_projects() == {"p2"}


def test_intake_deletions_and_entries_cancel_each_other_when_spilled() -> None:
    """Intake.add's rules hold past the buffer: an entry's deletion removes it, a later entry cancels the deletion."""
    store = Spill()
    intake = Intake(ADAPTERS[Side.FORECAST], store)
    intake.entries = SpilledEntries(store, buffer=2)
    records = [{"id": n, "project": 1, "person": 1, "task": 5, "date": "2026-03-02", "time_registered": 30 + n,
                "notes": "", "updated_at": "2026-03-02T10:00:00Z"} for n in range(1, 6)]
    for record in records:
        intake.add("time_registrations", record)
    intake.add("deleted_time_registrations", {"id": 2, "deleted_at": "2026-03-02T11:00:00Z"})
    intake.add("time_registrations", {**records[0], "time_registered": 99})
    intake.add("deleted_time_registrations", {"id": 4, "deleted_at": "2026-03-02T11:00:00Z"})
    intake.add("time_registrations", records[3])
    assert list(intake.entries) == ["1", "3", "5", "4"]
    assert intake.entries["1"].minutes == 99
    assert [d.id for d in intake.entry_deletions()] == ["2"]
    assert store.path is not None
    assert store.path.exists()
    store.close()
    assert store.path is None


def test_the_spill_file_is_made_only_when_needed_and_removed() -> None:
    """Below the buffer nothing touches the disk; past it one file, gone after close, or when collected."""
    store = Spill()
    values = SpilledList[int](store, buffer=10)
    values.extend(range(9))
    assert store.path is None
    values.append(9)
    path = store.path
    assert path is not None
    assert path.exists()
    store.close()
    assert not path.exists()
    assert not path.parent.exists()
    store.close()  # twice is harmless

    forgotten = SpilledList[int](buffer=1)
    forgotten.append(1)
    path = forgotten._spill.path
    assert path is not None
    assert path.exists()
    del forgotten
    gc.collect()
    assert not path.exists()


@pytest.mark.parametrize("buffer", [1, 3, 1000])
def test_a_spilled_list_reads_as_a_list(buffer: int) -> None:
    values = SpilledList[dict[str, Any]](buffer=buffer)
    expected = [{"n": n, "name": f"v{n}"} for n in range(10)]
    values.extend(expected)
    assert len(values) == 10
    assert list(values) == expected
    assert [values[i] for i in range(-10, 10)] == expected + expected
    assert values[2:5] == expected[2:5]
    assert values[::-3] == expected[::-3]
    with pytest.raises(IndexError):
        values[10]


def test_a_plan_reads_back_its_pair_writes_and_items_when_spilled() -> None:
    """Pair writes (with enums, bases, commands), entry writes (with a pair) and run items keep their values."""
    plan = Plan()
    for spilled in (plan.planned, plan.entry_writes, plan.items):
        spilled._limit = 2  # spill past two values
    source, image = entry("1", note="n"), entry("1", task=None, project="900")
    stored = {"command_id": "", "seq": 0, "depends_on": [], "canonical": {"date": "2026-03-02"}}
    pair = Pair(id=5, kind=PairKind.TIME_ENTRY, forecast_id="1", timelog_id="77", project="p1", origin=Side.FORECAST,
                state=PairState.LINKED, reason=None, base={"forecast": {"minutes": 1}}, fingerprint=None,
                pending=[stored], attempts=0, conflict=None, updated_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    writes = [
        (PlannedPair(PairKind.TASK, forecast_id="t1", project="p1", state=PairState.CREATING, reason="new",
                     commands=[stored]), None),
        (PlannedPair(PairKind.TIME_ENTRY, pair_id=5, origin=Side.TIMELOG, base={"forecast": {"minutes": 1}},
                     fingerprint="{}"),
         EntryWrite(source, image, TaskRef(PairKind.PROJECT_TIME_TASK, "p1"), pair, Action.UPDATE, Change.CHANGED,
                    {"minutes": 1})),
        (PlannedPair(PairKind.TIME_ENTRY, forecast_id="2"),
         EntryWrite(entry("2"), entry("2"), None, None, Action.CREATE, Change.NEW, None)),
    ]
    for planned, write in writes:
        plan.add(planned, write)
        plan.items.append(RunItem("time_entry", "create", "new", planned.forecast_id, -1, "why"))
    def fields(write: EntryWrite | None) -> tuple[Any, ...] | None:  # EntryWrite compares by identity
        return None if write is None else (write.entry, write.image, write.task_ref, write.pair, write.action,
                                           write.source_change, write.stale_intent)

    assert [(p, fields(w)) for p, w in plan.pair_writes()] == [(p, fields(w)) for p, w in writes]
    assert [type(p.kind) for p in plan.planned] == [PairKind] * 3
    assert plan.entry_writes[1].pair == pair
    assert plan.entry_writes[1].action is Action.UPDATE
    assert list(plan.items) == [RunItem("time_entry", "create", "new", p.forecast_id, -1, "why") for p, _ in writes]
    assert plan.first_seqs().tolist() == [0, 1, 3, 4]
    assert plan.write_count == 4


def _world_scenarios() -> list[Any]:
    """test_scenarios' tests that take only the `world` fixture."""
    import test_scenarios  # a sibling test module (tests/transform is on the path)

    return [test for name, test in sorted(vars(test_scenarios).items()) if name.startswith("test_")
            and callable(test) and list(inspect.signature(test).parameters) == ["world"]]


@pytest.mark.parametrize("scenario", _world_scenarios(), ids=lambda test: test.__name__)
def test_the_scenarios_hold_when_every_collection_is_spilled(scenario: Any, world: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The named scenarios again, with the intake's entries and the plan's pair writes and items spilled past two."""
    monkeypatch.setattr(spill, "SPILL_BUFFER", 2)
    scenario(world)


def test_a_large_intake_holds_a_bounded_heap() -> None:
    """30,000 entries and as many run items hold about one buffer each in memory (held whole: about 15 MB)."""


    store = Spill()
    tracemalloc.start()
    try:
        entries, items = SpilledEntries(store), SpilledList[tuple[str, int]](store)
        for n in range(30_000):
            entries.put(entry(f"{n:09d}", minutes=n % 600, note=f"note {n}"))
            items.append((f"{n:09d}", n))
        entries.put(entry("000000007", minutes=7))  # a late version of an early id
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 4_000_000
    assert len(entries) == 30_000
    assert len(items) == 30_000
    assert entries["000000007"].minutes == 7
    assert entries["000029999"].note == "note 29999"
    assert [e.id for e in islice(entries.values(), 3)] == ["000000000", "000000001", "000000002"]
    assert items[12_345] == ("000012345", 12_345)
    assert sum(1 for _ in items) == 30_000
    store.close()
