"""Backfills (timesync.backfill): a link added later gets its history synced by the same job, with no manual step."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from timesync_world import LINKS_YAML, World

from timesync.backfill import (
    FORECAST_TAP_ENV,
    MAPPER_BACKFILL_ENV,
    TIMELOG_TAP_ENV,
    backfill_argv,
    backfill_env,
    run_backfills,
)
from timesync.cli import Services, cli
from timesync.ledger import BackfillState, Ledger, PairKind, PairState, run_lock
from timesync.links import BackfillRequest, LinkChanges, PersonLink, ProjectLink, parse_links
from timesync.model import Direction
from timesync.reconcile.engine import Reconciler

#: The world's links without Forecast project 102 <-> TimeLog 2002: the link the user adds later.
WITHOUT_102 = LINKS_YAML.replace("  - forecast: 102\n    timelog: 2002\n    start_date: 2026-02-01\n", "")


def _links(text: str) -> object:
    return parse_links(text.format(conflict_policy="park", max_changes=500), source="links.yml")


@pytest.fixture
def world(tmp_path: Path) -> World:
    created = World(tmp_path)
    created.links = _links(WITHOUT_102)  # type: ignore[assignment]
    yield created
    created.close()


def _backfill_runner(world: World, calls: list[tuple[list[str], dict[str, str]]]):
    """What `meltano run --full-refresh --no-state-update` of both pipelines does, with the taps' filters."""
    def run(argv: list[str], env: dict[str, str]) -> int:
        calls.append((argv, env))
        only = {Direction.FORECAST_TO_TIMELOG: set(json.loads(env[f"{FORECAST_TAP_ENV}PROJECT_IDS"])),
                Direction.TIMELOG_TO_FORECAST: set(json.loads(env[f"{TIMELOG_TAP_ENV}PROJECT_IDS"]))}
        world.sync(only_projects=only)
        return 0
    return run


def test_a_project_linked_later_is_backfilled_on_both_sides_and_only_once(world: World) -> None:
    """Entries nobody touched since the link appeared are never in an incremental read: the backfill brings them."""
    forecast_entry = world.forecast.create(person=11, project=None, task=303, date="2026-02-10", minutes=90,
                                           note="built it")
    before_start = world.forecast.create(person=11, project=None, task=303, date="2026-01-20", minutes=30,
                                         note="before the link's start date")
    world.sync()
    assert world.timelog.work == {}, "project 102 is not linked yet"

    world.links = _links(LINKS_YAML)  # type: ignore[assignment]
    world.sync()  # incremental: nothing changed, so nothing of project 102 is read
    assert world.timelog.work == {}
    [queued] = world.ledger.backfills()
    assert queued.request == BackfillRequest("project", "102", "2002", dt.date(2026, 2, 1))
    assert queued.state is BackfillState.PENDING

    calls: list[tuple[list[str], dict[str, str]]] = []
    assert run_backfills(world.ledger, _backfill_runner(world, calls), "meltano") == []
    [(argv, env)] = calls
    assert argv[:4] == ["meltano", "run", "--full-refresh", "--no-state-update"]
    assert env[MAPPER_BACKFILL_ENV] == "true"
    synced = {pair.forecast_id for pair in world.ledger.pairs(kind=PairKind.TIME_ENTRY)}
    assert str(forecast_entry) in synced
    assert str(before_start) not in synced, "the link's start_date still holds"
    assert [w["minutes"] for w in world.timelog.work.values()] == [90]
    [done] = world.ledger.backfills()
    assert done.state is BackfillState.DONE
    assert (done.attempts, done.finished_at is not None) == (1, True)

    assert run_backfills(world.ledger, _backfill_runner(world, calls), "meltano") == []
    assert len(calls) == 1, "a finished backfill is not run again"
    world.ledger.request_backfills([queued.request])
    writes = len(world.log.writes)
    run_backfills(world.ledger, _backfill_runner(world, calls), "meltano")
    assert len(calls) == 2
    assert len(world.log.writes) == writes, "a repeated backfill writes nothing twice"
    assert [w["minutes"] for w in world.timelog.work.values()] == [90]


def test_a_failed_backfill_stays_queued_with_its_reason(world: World) -> None:
    world.ledger.request_backfills([BackfillRequest("project", "102", "2002")])
    failed = run_backfills(world.ledger, lambda argv, env: 2, "meltano")
    assert [b.request.forecast for b in failed] == ["102"]
    [kept] = world.ledger.backfills()
    assert (kept.state, kept.attempts) == (BackfillState.PENDING, 1)
    assert "exited 2" in (kept.message or "")
    assert run_backfills(world.ledger, lambda argv, env: 0, "meltano") == []
    [done] = world.ledger.backfills()
    assert (done.state, done.attempts, done.message) == (BackfillState.DONE, 2, None)


def test_a_backfill_killed_while_running_is_taken_up_again(world: World) -> None:
    world.ledger.request_backfills([BackfillRequest("person", "12", "8")])
    [queued] = world.ledger.backfills()
    world.ledger.start_backfill(queued.id)  # and then the process died
    calls: list[dict[str, str]] = []
    run_backfills(world.ledger, lambda argv, env: calls.append(env) or 0, "meltano")
    assert len(calls) == 1
    assert world.ledger.backfills()[0].state is BackfillState.DONE


def test_requests_are_deduplicated_while_waiting(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        request = BackfillRequest("project", "102", "2002", dt.date(2026, 2, 1))
        assert ledger.request_backfills([request, request]) == 1
        assert ledger.request_backfills([request]) == 0
        assert ledger.request_backfills([BackfillRequest("project", "102", "2002")]) == 1, "another start date"


@pytest.mark.parametrize(("request_", "expected"), [
    (BackfillRequest("project", "102", "2002", dt.date(2026, 2, 1)),
     {f"{FORECAST_TAP_ENV}PROJECT_IDS": "[102]", f"{TIMELOG_TAP_ENV}PROJECT_IDS": "[2002]",
      f"{TIMELOG_TAP_ENV}START_DATE": "2026-02-01T00:00:00Z"}),
    (BackfillRequest("project", "102", "2002"),
     {f"{FORECAST_TAP_ENV}PROJECT_IDS": "[102]", f"{TIMELOG_TAP_ENV}PROJECT_IDS": "[2002]"}),
    (BackfillRequest("person", "12", "8"),
     {f"{FORECAST_TAP_ENV}PERSON_IDS": "[12]", f"{TIMELOG_TAP_ENV}EMPLOYEE_IDS": "[8]"}),
])
def test_each_backfill_narrows_both_taps_to_its_link(request_: BackfillRequest, expected: dict[str, str]) -> None:
    assert backfill_env(request_) == {MAPPER_BACKFILL_ENV: "true", **expected}


def test_the_backfill_runs_both_pipelines_of_job_sync_in_order() -> None:
    argv = backfill_argv("/opt/meltano")
    assert argv == ["/opt/meltano", "run", "--full-refresh", "--no-state-update",
                    "tap-forecast--sync", "reconcile", "target-timelog",
                    "tap-timelog--sync", "reconcile", "target-forecast"]


def test_new_links_and_earlier_starts_ask_for_backfills_removed_ones_do_not() -> None:
    changes = LinkChanges(
        new_projects=(ProjectLink("102", "2002", dt.date(2026, 2, 1)),),
        new_persons=(PersonLink("12", "8"),),
        earlier_starts=((ProjectLink("101", "2001", dt.date(2025, 6, 1)), dt.date(2026, 1, 1)),),
        removed_projects=(ProjectLink("103", "2003"),),
    )
    assert changes.backfills() == [BackfillRequest("project", "102", "2002", dt.date(2026, 2, 1)),
                                   BackfillRequest("project", "101", "2001", dt.date(2025, 6, 1)),
                                   BackfillRequest("person", "12", "8")]


def test_a_first_sync_and_a_dry_run_queue_nothing(world: World) -> None:
    world.links = _links(LINKS_YAML)  # type: ignore[assignment]
    world.sync()
    assert world.ledger.backfills() == [], "a first sync reads all history anyway"
    widened = _links(LINKS_YAML.replace("start_date: 2026-02-01", "start_date: 2025-02-01"))
    Reconciler(world.ledger, widened, Direction.FORECAST_TO_TIMELOG, dry_run=True).run()
    assert world.ledger.backfills() == [], "a dry run (`timesync plan`) changes nothing"
    Reconciler(world.ledger, widened, Direction.FORECAST_TO_TIMELOG).run()
    assert [b.request.since for b in world.ledger.backfills()] == [dt.date(2025, 2, 1)], "an earlier start date"


def _finish(tmp_path: Path, ledger: Ledger, run) -> object:
    services = Services(forecast=lambda: None, timelog=lambda: None, run=run)
    return CliRunner().invoke(cli, ["--ledger-url", ledger.url, "--links-path", str(tmp_path / "links.yml"),
                                    "finish"], obj=services, catch_exceptions=False)


def test_finish_runs_the_backfills_then_releases_the_lock(world: World, tmp_path: Path) -> None:
    """`timesync:finish` is the last task of job `sync`: the lock the mapper took ends with it."""
    ledger = world.ledger
    ledger.request_backfills([BackfillRequest("project", "102", "2002")])
    ledger.acquire_run_lock(run_lock.Holder.meltano_parent())  # as the job's mapper did
    seen: list[dict[str, str]] = []
    result = _finish(tmp_path, ledger, lambda argv, env: seen.append(env) or 0)
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    assert ledger.run_lock_holder() is None
    assert ledger.backfills()[0].state is BackfillState.DONE


def test_finish_fails_naming_the_link_and_still_releases_the_lock(world: World, tmp_path: Path) -> None:
    ledger = world.ledger
    ledger.request_backfills([BackfillRequest("person", "12", "8")])
    result = _finish(tmp_path, ledger, lambda argv, env: 1)
    assert result.exit_code == 1
    assert "Forecast person 12 <-> TimeLog employee 8" in result.output
    assert ledger.run_lock_holder() is None
    assert ledger.backfills()[0].state is BackfillState.PENDING


def test_finish_refuses_while_another_run_holds_the_lock(world: World, tmp_path: Path) -> None:
    """Invoked by hand while a sync runs: no backfill starts beside it."""
    other = run_lock.Holder.of(1) if os.path.exists("/proc/1") else None
    if other is None:
        pytest.skip("needs /proc to name a live process that is not this one's ancestor")
    world.ledger.acquire_run_lock(other)
    world.ledger.request_backfills([BackfillRequest("person", "12", "8")])
    ran: list[object] = []
    result = _finish(tmp_path, world.ledger, lambda argv, env: ran.append(argv) or 0)
    assert result.exit_code == 1
    assert "already running" in result.output
    assert ran == []


def test_a_link_taken_out_and_put_back_resumes_its_pairs_with_what_changed_meanwhile(tmp_path: Path) -> None:
    """Removing a link stops the sync there and leaves both sides alone: an edit made meanwhile is neither written
    nor taken for a move (the pair stays linked, not left behind). With the link back, the backfill syncs it."""
    world = World(tmp_path)
    registration = world.forecast.create(person=12, project=None, task=303, date="2026-02-10", minutes=60, note="a")
    world.sync()
    pair = world.ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration))
    assert pair is not None
    twin = pair.timelog_id

    world.edit_links(without_persons=[12])
    world.forecast.edit(registration, time_registered=75)
    world.sync()
    assert world.timelog.work[twin]["minutes"] == 60, "a link taken out: nothing is written there"
    assert world.ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration)).state is PairState.LINKED

    for _ in range(5):  # the edit falls out of the taps' overlap window: only the backfill reads it again
        world.clock.tick()
    world.sync()
    world.edit_links()
    assert world.sync().writes == 0, "the incremental read does not see the edit made while unlinked"
    [backfilled] = world.run_backfills()
    assert backfilled.writes == 1
    assert world.timelog.work[twin]["minutes"] == 75, "the edit made while unlinked arrives with the link"
    assert world.sync().writes == 0
    world.close()
