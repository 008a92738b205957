"""A Forecast task moved to another parent or project, through the real planner, ledger and a fake TimeLog target."""

from __future__ import annotations

from timesync_world import World

from timesync.ledger import PairKind, PairState
from timesync.links import BackfillRequest

DAY = "2026-03-02"
F2T = "forecast_to_timelog"


def _twin(world: World, forecast_task: int) -> dict:
    pair = world.ledger.find_pair(PairKind.TASK, forecast_id=str(forecast_task))
    assert pair is not None
    return world.timelog.tasks[int(pair.timelog_id)]


def _items(world: World, result: object, source_id: str) -> list[object]:
    run_id = result.run_ids[F2T]  # type: ignore[attr-defined]
    return [item for item in world.ledger.run_items(run_id) if item.source_id == source_id]


def test_a_sub_task_moved_under_another_task_follows_with_its_work(world: World) -> None:
    reg = world.forecast.create(person=11, project=101, task=302, date=DAY, minutes=60, note="review")
    world.sync()
    child = _twin(world, 302)
    [guid] = list(world.timelog.work)
    # A new parent, created in the same run as the move: its TimeLog id is resolved at write time.
    world.forecast.add_task(305, 101, "Delivery")
    world.forecast.edit_task(302, parent_task_id=305)
    result = world.sync()
    assert _twin(world, 302) is child, "the same TimeLog task, not a new one"
    assert child["parent_task_id"] == _twin(world, 305)["task_id"]
    assert world.timelog.work[guid]["task_id"] == child["task_id"], "its work stays on it"
    assert result.counts[F2T]["task.moved"] == 1
    [planned] = [i for i in _items(world, result, "302") if i.actor == "mapper"]
    assert (planned.action, "moved under Forecast task 305 (was 301)" in planned.message) == ("move", True)
    pair = world.ledger.find_pair(PairKind.TASK, forecast_id="302")
    assert (pair.state, pair.base["forecast"]["parent"]) == (PairState.LINKED, "305")
    assert world.sync().writes == 0, "the move is not read back as a change"
    assert world.forecast.registrations[reg]["task"] == 302


def test_a_task_moved_to_the_top_level_is_reported_and_stays_under_its_parent(world: World) -> None:
    world.sync()
    parent_twin = _twin(world, 301)["task_id"]
    world.forecast.edit_task(302, parent_task_id=None, title="Review, renamed")
    result = world.sync()
    child = _twin(world, 302)
    assert (child["name"], child["parent_task_id"]) == ("Review, renamed", parent_twin)
    [planned] = [i for i in _items(world, result, "302") if i.actor == "mapper"]
    assert "TimeLog cannot move a task to the top level" in planned.message
    assert f"stays under task {parent_twin}" in planned.message
    pair = world.ledger.find_pair(PairKind.TASK, forecast_id="302")
    assert pair.base["timelog"]["parent"] == str(parent_twin), "the base says where the TimeLog task really is"
    assert world.sync().writes == 0, "reported once"


def test_a_task_moved_to_another_project_keeps_its_timelog_task_and_holds_new_time_back(world: World) -> None:
    world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=30, note="before the move")
    world.sync()
    old_twin = dict(_twin(world, 301))
    [old_unit] = list(world.timelog.work.values())
    world.forecast.edit_task(301, project_id=102)
    result = world.sync()
    assert result.writes == 0, "TimeLog cannot move a task between projects: nothing is written"
    pair = world.ledger.find_pair(PairKind.TASK, forecast_id="301")
    assert pair.state is PairState.ORPHANED
    assert "moved from project 101 to project 102" in pair.reason
    assert "with all its work" in pair.reason
    assert {k: v for k, v in _twin(world, 301).items() if k != "_version"} == \
        {k: v for k, v in old_twin.items() if k != "_version"}
    assert list(world.timelog.work.values()) == [old_unit], "the work on the old task is untouched"
    # New time on the moved task would land in the old TimeLog project: it waits, and says why.
    new = world.forecast.create(person=11, project=102, task=301, date=DAY, minutes=15, note="after the move")
    world.forecast.create(person=11, project=101, task=302, date=DAY, minutes=20, note="elsewhere")
    result = world.sync()
    assert result.counts[F2T]["time_entry.deferred"] == 1
    [deferred] = _items(world, result, str(new))
    assert deferred.outcome == "deferred"
    assert "held back: Forecast task 301 moved" in deferred.message
    assert sorted(w["minutes"] for w in world.timelog.work.values()) == [20, 30], "other time still syncs"
    # Moved back: synced again, the time held back meanwhile comes with the backfill it queued (an incremental
    # read would not see that entry again), and its next time lands on the old TimeLog task.
    for _ in range(5):  # the held-back entry falls out of the taps' overlap window
        world.clock.tick()
    world.forecast.edit_task(301, project_id=101)
    world.sync()
    assert world.ledger.find_pair(PairKind.TASK, forecast_id="301").state is PairState.LINKED
    assert 15 not in [w["minutes"] for w in world.timelog.work.values()]
    [backfill] = world.ledger.backfills()
    assert backfill.request == BackfillRequest("project", "101", "2001", None)
    world.run_backfills()
    assert [w["task_id"] for w in world.timelog.work.values() if w["minutes"] == 15] == [old_twin["task_id"]]
    assert world.ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(new)).state is PairState.LINKED
    world.forecast.create(person=11, project=101, task=301, date=DAY, minutes=45, note="back again")
    world.sync()
    assert [w["task_id"] for w in world.timelog.work.values() if w["minutes"] == 45] == [old_twin["task_id"]]


def test_a_task_moved_to_an_unlinked_project_is_reported_not_counted_silently(world: World) -> None:
    world.sync()
    world.forecast.edit_task(302, project_id=103)
    result = world.sync()
    pair = world.ledger.find_pair(PairKind.TASK, forecast_id="302")
    assert pair.state is PairState.ORPHANED
    assert "to project 103" in pair.reason
    assert [(i.actor, i.outcome) for i in _items(world, result, "302")] == [("mapper", "orphaned")]
