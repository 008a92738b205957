"""An entry moved out of scope leaves its twin behind: reported once, never written, settled by a person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from timesync_world import World

from timesync.cli import Services, cli
from timesync.ledger import PairKind, PairState
from timesync.model import Side
from timesync.reconcile.rules import Action, Change, decide


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    created = World(tmp_path)
    yield created
    created.close()


def _synced_entry(world: World) -> tuple[int, str]:
    registration = world.forecast.create(person=11, project=None, task=301, date="2026-03-02", minutes=60,
                                         note="design")
    world.sync()
    pair = world.ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration))
    assert pair is not None
    assert pair.timelog_id is not None
    return registration, pair.timelog_id


def _move_out_of_scope(world: World, registration: int) -> None:
    """Onto task 304 of Forecast project 103, which no link names."""
    world.forecast.edit(registration, task=304, task_project=103, project_id=103)


def test_a_registration_moved_to_an_unlinked_project_leaves_its_twin_behind(world: World) -> None:
    registration, guid = _synced_entry(world)
    twin_before = world.timelog.content(guid)
    _move_out_of_scope(world, registration)
    result = world.sync()
    assert result.writes == 0, "nothing is deleted, moved or created: the twin stays as it was"
    assert world.timelog.content(guid) == twin_before
    pair = world.ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration))
    assert pair is not None
    assert pair.state is PairState.LEFT_BEHIND
    assert f"timesync pairs relink {pair.id}" in (pair.reason or "")
    assert f"timesync pairs release {pair.id}" in (pair.reason or "")
    assert result.counts["forecast_to_timelog"].get("time_entry.left_behind") == 1

    world.forecast.edit(registration, time_registered=75)
    world.timelog.edit(guid, minutes=90)
    again = world.sync()
    assert again.writes == 0, "left behind: changes on either side are reported, never written"
    assert world.ledger.pair(pair.id).state is PairState.LEFT_BEHIND


def _cli(world: World, tmp_path: Path, *args: str):
    services = Services(forecast=lambda: None, timelog=lambda: None, run=lambda argv, env: 0)
    return CliRunner().invoke(cli, ["--ledger-url", world.ledger.url, "--links-path", str(tmp_path / "links.yml"),
                                    *args], obj=services, catch_exceptions=False)


def test_relink_syncs_the_entry_again_once_it_is_back(world: World, tmp_path: Path) -> None:
    registration, guid = _synced_entry(world)
    _move_out_of_scope(world, registration)
    world.sync()
    pair = world.ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration))
    world.forecast.edit(registration, task=301, task_project=101, project_id=101, time_registered=45)
    world.sync()
    assert world.timelog.content(guid)[3] == 60, "still parked until a person relinks it"
    assert _cli(world, tmp_path, "pairs", "relink", str(pair.id)).exit_code == 0
    assert world.ledger.pair(pair.id).state is PairState.LINKED
    world.forecast.edit(registration, notes="design, back on the linked project")
    world.sync()
    assert world.timelog.content(guid)[3:] == (45, "design, back on the linked project")


def test_release_lets_the_pair_go_and_keeps_both_entries(world: World, tmp_path: Path) -> None:
    registration, guid = _synced_entry(world)
    _move_out_of_scope(world, registration)
    world.sync()
    pair = world.ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration))
    released = _cli(world, tmp_path, "pairs", "release", str(pair.id))
    assert released.exit_code == 0, released.output
    assert world.ledger.pair(pair.id).state is PairState.DELETED
    assert world.timelog.content(guid) is not None
    assert registration in world.forecast.registrations
    refused = _cli(world, tmp_path, "pairs", "release", str(pair.id))
    assert refused.exit_code == 1
    assert "is not left behind" in refused.output


def test_a_left_behind_pair_is_parked_by_the_rules() -> None:
    def rule(source: Change, twin: Change = Change.UNCHANGED):
        return decide(source, twin, PairState.LEFT_BEHIND, source_side=Side.TIMELOG)

    assert rule(Change.UNCHANGED).action is Action.NONE
    assert rule(Change.CHANGED).action is Action.LEAVE
    assert rule(Change.DELETED).action is Action.LEAVE, "a twin deleted while left behind is reported, not mirrored"
    assert rule(Change.DELETED, Change.DELETED).action is Action.TOMBSTONE
