"""Named sync scenarios through the real engine, ledger and lease check, with fake systems and targets."""

from __future__ import annotations

import pytest
from timesync_fakes import Crash
from timesync_world import World

from timesync.ledger import PairKind, PairState
from timesync.model import Side
from timesync.reconcile.conflicts import resolve_conflict
from timesync.reconcile.engine import FloodGuardError

DAY = "2026-03-02"


def _one_pair(world: World) -> object:
    (pair,) = [p for p in world.ledger.pairs(kind=PairKind.TIME_ENTRY) if p.state is not PairState.DELETED]
    return pair


def test_forecast_task_time_lands_on_the_task_twin_and_comes_back_unchanged(world: World) -> None:
    """Invariant 1 and 2: one twin on the TimeLog twin of the task; the read-back is no change."""
    reg = world.forecast.create(person=11, project=101, task=302, date=DAY, minutes=61, note="a")
    first = world.sync()
    (work,) = world.timelog.work.values()
    task = world.timelog.tasks[work["task_id"]]
    assert task["external_keys"][0]["external_id"] == "302"
    parent = world.timelog.tasks[task["parent_task_id"]]
    assert parent["external_keys"][0]["external_id"] == "301", "sub-tasks stay sub-tasks"
    assert (work["employee_id"], work["minutes"], work["note"], work["date"]) == (7, 61, "a", DAY)
    assert first.counts["timelog_to_forecast"]["time_entry.unchanged"] == 1
    assert world.sync().writes == 0
    assert _one_pair(world).forecast_id == str(reg)


def test_project_time_goes_to_one_project_time_task_created_once(world: World) -> None:
    """Forecast time without a task: one 'Forecast project time' task per linked project."""
    world.forecast.create(person=11, project=101, task=None, date=DAY, minutes=30, note="x")
    world.forecast.create(person=12, project=101, task=None, date=DAY, minutes=45, note="y")
    world.sync()
    world.forecast.create(person=11, project=101, task=None, date="2026-03-03", minutes=15, note="z")
    world.sync()
    holders = [t for t in world.timelog.tasks.values() if t["name"] == "Forecast project time"]
    assert len(holders) == 1
    assert {w["task_id"] for w in world.timelog.work.values()} == {holders[0]["task_id"]}


def test_timelog_work_on_a_timelog_only_task_becomes_project_time_with_the_task_name(world: World) -> None:
    """The task name survives in the Forecast note; a later TimeLog edit keeps it; Forecast edits strip it."""
    support = next(t for t, task in world.timelog.tasks.items() if task["project_id"] == 2001)
    guid = world.timelog.create(employee=7, task=support, date=DAY, minutes=59, note="hotline")
    world.sync()
    (reg,) = world.forecast.registrations.values()
    assert (reg["task"], reg["project"], reg["notes"]) == (None, 101, "[Support (TimeLog only)] hotline")
    world.timelog.edit(guid, note="hotline 2")
    world.sync()
    assert reg["notes"] == "[Support (TimeLog only)] hotline 2"
    world.forecast.edit(reg["id"], notes="[Support (TimeLog only)] hotline 3")
    world.sync()
    assert (world.timelog.work[guid]["note"], world.timelog.work[guid]["task_id"]) == ("hotline 3", support)
    assert world.sync().writes == 0


def test_a_crash_after_a_timelog_create_is_recovered_by_fingerprint(world: World) -> None:
    """Invariant 3: kill after InsertWork, before the ledger heard of it; the re-run finds it, creates nothing."""
    world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=7, note="once")
    with pytest.raises(Crash):
        world.sync(crash_after=1, crash_only="create")
    assert len(world.timelog.work) == 1
    assert _one_pair(world).state is PairState.CREATING
    world.sync()
    assert len(world.timelog.work) == 1
    assert len(world.forecast.registrations) == 1
    assert _one_pair(world).state is PairState.LINKED
    assert any(w.operation == "adopt" for w in world.log.writes)


def test_a_crash_after_a_forecast_create_is_recovered_without_an_echo(world: World) -> None:
    """The new registration is read by direction 1 before direction 2 confirms it: recognised as our own."""
    support = next(t for t, task in world.timelog.tasks.items() if task["project_id"] == 2001)
    world.timelog.create(employee=8, task=support, date=DAY, minutes=600, note="long day")
    with pytest.raises(Crash):
        world.sync(crash_after=1, crash_only="create")
    assert len(world.forecast.registrations) == 1
    world.sync()
    world.sync()
    assert (len(world.forecast.registrations), len(world.timelog.work)) == (1, 1)
    assert _one_pair(world).state is PairState.LINKED


def test_a_change_on_both_sides_is_parked_and_nothing_is_overwritten(world: World) -> None:
    """Invariant 4: both values stay; the pair is a conflict with both snapshots; later changes stay parked."""
    reg = world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=60, note="n")
    world.sync()
    (guid,) = world.timelog.work
    world.forecast.edit(reg, time_registered=90)
    world.timelog.edit(guid, minutes=30)
    world.sync()
    assert (world.forecast.registrations[reg]["time_registered"], world.timelog.work[guid]["minutes"]) == (90, 30)
    pair = _one_pair(world)
    assert pair.state is PairState.CONFLICT
    assert (pair.conflict["forecast"]["minutes"], pair.conflict["timelog"]["minutes"]) == (90, 30)
    world.timelog.edit(guid, minutes=31)
    world.sync()
    assert world.forecast.registrations[reg]["time_registered"] == 90


def test_forecast_wins_policy_overwrites_timelog(tmp_path: object) -> None:
    """conflict_policy forecast_wins: Forecast's value lands in TimeLog, and TimeLog's is not pushed back."""
    world = World(tmp_path, conflict_policy="forecast_wins")  # type: ignore[arg-type]
    reg = world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=60, note="n")
    world.sync()
    (guid,) = world.timelog.work
    world.forecast.edit(reg, time_registered=90)
    world.timelog.edit(guid, minutes=30)
    world.sync()
    world.sync()
    assert (world.forecast.registrations[reg]["time_registered"], world.timelog.work[guid]["minutes"]) == (90, 90)
    assert _one_pair(world).state is PairState.LINKED
    world.close()


def test_a_delete_propagates_only_from_an_unchanged_twin(world: World) -> None:
    """Invariant 5: a clean twin is deleted; an edited one is kept and the pair orphaned."""
    clean = world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=10, note="clean")
    edited = world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=20, note="edited")
    world.sync()
    twin_of_edited = next(g for g, w in world.timelog.work.items() if w["note"] == "edited")
    world.forecast.delete(clean)
    world.forecast.delete(edited)
    world.timelog.edit(twin_of_edited, note="edited in TimeLog")
    world.sync()
    assert list(world.timelog.work) == [twin_of_edited]
    states = {p.forecast_id: p.state for p in world.ledger.pairs(kind=PairKind.TIME_ENTRY)}
    assert states == {str(clean): PairState.DELETED, str(edited): PairState.ORPHANED}


def test_an_approved_twin_is_never_edited_and_the_difference_is_reported(world: World) -> None:
    """Invariant 6: TimeLog approved the work; a Forecast edit is not written, the pair is locked."""
    reg = world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=60, note="n")
    world.sync()
    (guid,) = world.timelog.work
    world.timelog.approve(guid)
    world.sync()
    world.forecast.edit(reg, time_registered=45)
    world.sync()
    assert world.timelog.work[guid]["minutes"] == 60
    pair = _one_pair(world)
    assert pair.state is PairState.LOCKED
    assert "locked" in (pair.reason or "")


def test_a_timelog_task_change_moves_the_forecast_registration(world: World) -> None:
    """Forecast cannot change a task in place: delete + create, recorded as one pair."""
    world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=60, note="m")
    world.sync()
    (guid,) = world.timelog.work
    review_task = next(t for t, task in world.timelog.tasks.items()
                       if task["external_keys"] and task["external_keys"][0]["external_id"] == "302")
    world.timelog.edit(guid, task_id=review_task)
    world.sync()
    (reg,) = world.forecast.registrations.values()
    assert (reg["task"], reg["time_registered"]) == (302, 60)
    pair = _one_pair(world)
    assert (pair.forecast_id, pair.timelog_id, pair.state) == (str(reg["id"]), guid, PairState.LINKED)
    assert world.sync().writes == 0


def test_a_forecast_move_updates_the_timelog_work_instead_of_replacing_it(world: World) -> None:
    """Forecast delete X + create Y with the same person, date, minutes and note is one move of one pair."""
    old = world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=60, note="m")
    world.sync()
    (guid,) = world.timelog.work
    world.forecast.delete(old)
    new = world.forecast.create(person=11, project=101, task=302, date=DAY, minutes=60, note="m")
    world.sync()
    assert list(world.timelog.work) == [guid], "same work unit, moved"
    assert world.timelog.tasks[world.timelog.work[guid]["task_id"]]["external_keys"][0]["external_id"] == "302"
    assert _one_pair(world).forecast_id == str(new)


def test_out_of_scope_time_is_counted_and_untouched(world: World) -> None:
    """Invariant 8: unlinked person, unlinked project, non-project time and time before start_date."""
    world.forecast.create(person=13, project=101, task=301, date=DAY, minutes=5, note="")
    world.forecast.create(person=11, project=103, task=304, date=DAY, minutes=5, note="")
    world.forecast.create(person=11, project=None, task=None, date=DAY, minutes=5, note="", non_project=1)
    world.forecast.create(person=11, project=102, task=303, date="2026-01-31", minutes=5, note="")
    result = world.sync()
    counts = result.counts["forecast_to_timelog"]
    assert {k: v for k, v in counts.items() if k.startswith("out_of_scope.")} == {
        "out_of_scope.unlinked_person": 1, "out_of_scope.unlinked_project": 2,
        "out_of_scope.non_project_time": 1, "out_of_scope.before_start_date": 1}
    assert world.timelog.work == {}


def test_the_flood_guard_stops_a_run_before_any_write(tmp_path: object) -> None:
    """More changes than max_changes_per_run: nothing is written, the error names the option."""
    world = World(tmp_path, max_changes=3)  # type: ignore[arg-type]
    for minutes in range(1, 6):
        world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=minutes, note="")
    with pytest.raises(FloodGuardError, match="max_changes_per_run=3"):
        world.sync()
    assert world.timelog.tasks.keys() == {900, 901}, "not even the tasks were created"
    assert world.ledger.pairs() == []
    world.close()


def test_a_crash_inside_a_move_leaves_no_duplicate(world: World) -> None:
    """Killed after the create half of a Forecast move: the new registration is recognised, not copied back."""
    world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=60, note="m")
    world.sync()
    (guid,) = world.timelog.work
    review_task = next(t for t, task in world.timelog.tasks.items()
                       if task["external_keys"] and task["external_keys"][0]["external_id"] == "302")
    world.timelog.edit(guid, task_id=review_task)
    with pytest.raises(Crash):
        world.sync(crash_after=1, crash_only="create")
    world.sync()
    world.sync()
    assert len(world.timelog.work) == 1
    (reg,) = world.forecast.registrations.values()
    assert reg["task"] == 302
    assert _one_pair(world).state is PairState.LINKED


def test_a_source_edited_between_a_crash_and_the_retry_leaves_no_duplicate(world: World) -> None:
    """Found by the state machine: the stale twin of the old intent is removed, the new value created once."""
    support = next(t for t, task in world.timelog.tasks.items() if task["project_id"] == 2001)
    guid = world.timelog.create(employee=7, task=support, date=DAY, minutes=15, note="first")
    with pytest.raises(Crash):
        world.sync(crash_after=1, crash_only="create")
    world.timelog.edit(guid, minutes=25, note="second")
    world.sync()
    (reg,) = world.forecast.registrations.values()
    assert (reg["time_registered"], reg["notes"]) == (25, "[Support (TimeLog only)] second")
    assert _one_pair(world).state is PairState.LINKED
    assert world.sync().writes == 0


def test_resolving_for_timelog_keeps_the_timelog_task_name_in_the_forecast_note(world: World) -> None:
    """`conflicts resolve --keep timelog` on work of a TimeLog-only task: the note prefix is the task's name.

    The resolution is written by a replay (no tap re-sends the unchanged work unit), so the name must come from
    the parked value, not from a tap record.
    """
    support = next(t for t, task in world.timelog.tasks.items() if task["project_id"] == 2001)
    guid = world.timelog.create(employee=7, task=support, date=DAY, minutes=59, note="hotline")
    world.sync()
    (reg,) = world.forecast.registrations.values()
    world.forecast.edit(reg["id"], time_registered=90)
    world.timelog.edit(guid, minutes=30)
    world.sync()
    pair = _one_pair(world)
    assert pair.state is PairState.CONFLICT
    (update,) = resolve_conflict(world.ledger, world.links, pair, Side.TIMELOG)
    assert update["native"]["notes"] == "[Support (TimeLog only)] hotline", "queued with the task name"
    world.sync()
    assert (reg["time_registered"], reg["notes"]) == (30, "[Support (TimeLog only)] hotline")
    assert _one_pair(world).base_on(Side.TIMELOG) == {
        "project": "2001", "person": "7", "task": str(support), "date": DAY, "minutes": 30, "note": "hotline"}
    assert world.sync().writes == 0
