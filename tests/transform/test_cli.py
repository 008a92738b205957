"""The timesync CLI against fake API readers and a real ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from timesync_world import LINKS_YAML, World

from timesync.cli import MAPPER_DRY_RUN_ENV, Services, cli
from timesync.ledger import Ledger, PairKind, PairState
from timesync.linking import read_directory, suggest_links
from timesync.links import load_links
from timesync.model import Direction
from timesync.reconcile.engine import Reconciler

FORECAST_PERSONS = [
    {"id": 11, "first_name": "Ada", "last_name": "L", "email": "Ada@Example.com", "active": True},
    {"id": 12, "first_name": "Bo", "last_name": "M", "email": "bo@example.com", "active": True},
    {"id": 13, "first_name": "Cy", "last_name": "N", "email": None, "active": True},
    {"id": 14, "first_name": "Di", "last_name": "O", "email": "shared@example.com", "active": True},
]
# TimeLog's Reporting items (GetEmployeesRaw, GetProjectsRaw), as the client reads them.
TIMELOG_EMPLOYEES = [
    {"ID": "7", "FirstName": "Ada", "LastName": "L", "Email": "ada@example.COM", "Status": "1"},
    {"ID": "8", "FirstName": "Eve", "LastName": "P", "Email": "eve@example.com", "Status": "1"},
    {"ID": "9", "FirstName": "S1", "LastName": "", "Email": "shared@example.com", "Status": "1"},
    {"ID": "10", "FirstName": "S2", "LastName": "", "Email": "shared@example.com", "Status": "1"},
]
FORECAST_PROJECTS = [
    {"id": 101, "company_project_id": "P-1", "name": "Website", "status": "RUNNING"},
    {"id": 102, "company_project_id": None, "name": "Portal", "status": "RUNNING"},
    {"id": 103, "company_project_id": None, "name": "Menu app", "status": "RUNNING"},
]
TIMELOG_PROJECTS = [
    {"ID": "2001", "No": "P-1", "Name": "Website relaunch", "Status": "1"},
    {"ID": "2002", "No": "X-9", "Name": "portal", "Status": "1"},
]


class FakeReader:
    """Both API readers in one: the CLI only lists persons, employees and projects (TimeLog's each `parse`d)."""

    def __init__(self, projects: list[dict[str, Any]], people: list[dict[str, Any]]) -> None:
        self._projects, self._people = projects, people

    def persons(self) -> list[dict[str, Any]]:
        return self._people

    def employees(self, parse: Callable[[dict[str, Any]], Any] = dict) -> list[Any]:
        return [parse(item) for item in self._people]

    def projects(self, parse: Callable[[dict[str, Any]], Any] = dict) -> list[Any]:
        return [parse(item) for item in self._projects]


def _services(run: Any = None) -> Services:
    return Services(forecast=lambda: FakeReader(FORECAST_PROJECTS, FORECAST_PERSONS),
                    timelog=lambda: FakeReader(TIMELOG_PROJECTS, TIMELOG_EMPLOYEES),
                    run=run or (lambda argv, env: 0))


def _invoke(tmp_path: Path, *args: str, services: Services | None = None, ledger: str | None = None) -> Any:
    base = ["--ledger-url", ledger or f"sqlite:///{tmp_path / 'ledger.db'}", "--links-path",
            str(tmp_path / "links.yml")]
    return CliRunner().invoke(cli, [*base, *args], obj=services or _services(), catch_exceptions=False)


def test_suggest_matches_email_case_insensitively_and_never_guesses() -> None:
    """Same email (any case) links; a shared email on either side is ambiguous and left for a person."""
    suggestion = suggest_links(read_directory(FakeReader(FORECAST_PROJECTS, FORECAST_PERSONS),
                                              FakeReader(TIMELOG_PROJECTS, TIMELOG_EMPLOYEES)))
    assert [(m.forecast, m.timelog) for m in suggestion.persons] == [(11, 7)]
    assert [(m.forecast, m.timelog, m.reason) for m in suggestion.projects] == [
        (101, 2001, "same number P-1"), (102, 2002, "same name 'Portal'")]
    assert [u.split()[0] for u in suggestion.unmatched["forecast persons"]] == ["12", "13", "14"]
    assert [u.split()[0] for u in suggestion.unmatched["timelog employees"]] == ["8", "9", "10"]
    assert suggestion.unmatched["forecast projects"] == ["103 Menu app"]


def test_suggest_prints_a_valid_links_file_and_writes_only_when_asked(tmp_path: Path) -> None:
    """Printed by default; --write writes it; an existing file needs --force."""
    result = _invoke(tmp_path, "links", "suggest")
    assert result.exit_code == 0
    assert "forecast: 11\n    timelog: 7" in result.output
    assert "Unmatched forecast projects" in result.output
    assert not (tmp_path / "links.yml").exists()
    assert _invoke(tmp_path, "links", "suggest", "--write").exit_code == 0
    links = load_links(tmp_path / "links.yml")
    assert [(p.forecast, p.timelog) for p in links.persons] == [("11", "7")]
    again = CliRunner().invoke(cli, ["--links-path", str(tmp_path / "links.yml"), "links", "suggest", "--write"],
                               obj=_services())
    assert again.exit_code == 1
    assert "exists" in again.output


def test_links_check_names_ids_that_do_not_exist(tmp_path: Path) -> None:
    """A linked id missing on its side is listed with the links-file line, and the exit code is 1."""
    (tmp_path / "links.yml").write_text("projects:\n  - forecast: 101\n    timelog: 2999\npersons: []\n")
    result = _invoke(tmp_path, "--json", "links", "check")
    assert result.exit_code == 1
    assert json.loads(result.output)["missing"] == [[f"{tmp_path / 'links.yml'}:2", "project", "timelog", "2999"]]


def test_status_and_conflicts_show_a_parked_conflict_and_resolve_it(tmp_path: Path) -> None:
    """A conflict appears in status and conflicts list; resolve --keep timelog writes TimeLog's value next sync."""
    world = World(tmp_path)
    (tmp_path / "links.yml").write_text(LINKS_YAML.format(conflict_policy="park", max_changes=500))
    reg = world.forecast.create(person=11, project=101, task=301, date="2026-03-02", minutes=60, note="n")
    world.sync()
    (guid,) = world.timelog.work
    world.forecast.edit(reg, time_registered=90)
    world.timelog.edit(guid, minutes=30)
    world.sync()
    ledger_url = str(world.ledger.url)
    status = json.loads(_invoke(tmp_path, "--json", "status", ledger=ledger_url).output)
    (parked,) = status["parked"]
    assert parked["state"] == "conflict"
    listed = json.loads(_invoke(tmp_path, "--json", "conflicts", "list", ledger=ledger_url).output)
    assert [p["id"] for p in listed] == [parked["id"]]

    result = _invoke(tmp_path, "conflicts", "resolve", str(parked["id"]), "--keep", "timelog", ledger=ledger_url)
    assert result.exit_code == 0, result.output
    world.sync()
    assert world.forecast.registrations[reg]["time_registered"] == 30
    assert world.ledger.pair(parked["id"]).state is PairState.LINKED
    assert world.sync().writes == 0
    world.close()


def test_pairs_lists_the_ledger_filtered_by_kind_and_state(tmp_path: Path) -> None:
    """`timesync --json pairs` is how a script (the demo) reads twins without opening the ledger itself."""
    world = World(tmp_path)
    (tmp_path / "links.yml").write_text(LINKS_YAML.format(conflict_policy="park", max_changes=500))
    kept = world.forecast.create(person=11, project=101, task=301, date="2026-03-02", minutes=60, note="n")
    parked = world.forecast.create(person=11, project=101, task=301, date="2026-03-03", minutes=45, note="m")
    world.sync()
    twin = {int(p.forecast_id): p.timelog_id for p in world.ledger.pairs(kind=PairKind.TIME_ENTRY)}
    world.forecast.edit(parked, time_registered=90)
    world.timelog.edit(twin[parked], minutes=30)
    world.sync()
    ledger_url = world.ledger.url

    def pairs(*args: str) -> list[dict]:
        result = _invoke(tmp_path, "--json", "pairs", *args, ledger=ledger_url)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    entries = pairs("--kind", "time_entry")
    assert {(p["forecast_id"], p["timelog_id"]) for p in entries} == {(str(k), v) for k, v in twin.items()}
    assert [p["forecast_id"] for p in pairs("--kind", "time_entry", "--state", "linked")] == [str(kept)]
    assert [p["forecast_id"] for p in pairs("--state", "conflict")] == [str(parked)]
    assert {p["kind"] for p in pairs("--kind", "task")} == {"task"}
    assert "Pairs" in _invoke(tmp_path, "pairs", ledger=ledger_url).output
    world.close()


def test_resolving_something_that_is_no_conflict_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "links.yml").write_text(LINKS_YAML.format(conflict_policy="park", max_changes=500))
    result = _invoke(tmp_path, "conflicts", "resolve", "42", "--keep", "forecast")
    assert result.exit_code == 1
    assert "no time-entry pair 42" in result.output


def test_plan_runs_both_pipelines_dry_and_prints_the_plan(tmp_path: Path) -> None:
    """`plan` runs each pipeline with the mapper's dry_run on and no state update, then prints what it would do."""
    world = World(tmp_path)
    world.forecast.create(person=11, project=101, task=301, date="2026-03-02", minutes=60, note="n")
    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_meltano(argv: list[str], env: dict[str, str]) -> int:
        calls.append((argv, env))
        direction = Direction.FORECAST_TO_TIMELOG if "tap-forecast--sync" in argv else Direction.TIMELOG_TO_FORECAST
        system = world.forecast if direction is Direction.FORECAST_TO_TIMELOG else world.timelog
        reconciler = Reconciler(world.ledger, world.links, direction, dry_run=True)
        for stream, record in system.read(0):
            reconciler.add(stream, record)
        reconciler.run()
        return 0

    result = _invoke(tmp_path, "plan", services=_services(fake_meltano), ledger=str(world.ledger.url))
    assert result.exit_code == 0, result.output
    assert [argv[1:4] for argv, _ in calls] == [["run", "--no-state-update", "tap-forecast--sync"],
                                                ["run", "--no-state-update", "tap-timelog--sync"]]
    assert all(env == {MAPPER_DRY_RUN_ENV: "true"} for _, env in calls)
    # three tasks, the allocation of person 11 to task 301, and the registration; task 304 is unlinked
    assert "forecast_to_timelog (dry_run): 5 new, 1 out_of_scope" in result.output
    assert world.timelog.work == {}
    assert world.ledger.pairs(kind=PairKind.TIME_ENTRY) == []
    world.close()


def test_ledger_backup_copies_the_pairs_and_never_overwrites(tmp_path: Path) -> None:
    """The copy opens as a ledger with the same pairs; a second backup to the same path is refused."""
    world = World(tmp_path)
    (tmp_path / "links.yml").write_text(LINKS_YAML.format(conflict_policy="park", max_changes=500))
    world.forecast.create(person=11, project=101, task=301, date="2026-03-02", minutes=60, note="n")
    world.sync()
    copy = tmp_path / "backups" / "ledger.db"
    result = _invoke(tmp_path, "ledger", "backup", str(copy), ledger=world.ledger.url)
    assert result.exit_code == 0, result.output
    copied = Ledger.open(f"sqlite:///{copy}")
    try:
        assert {(p.kind, p.forecast_id, p.timelog_id) for p in copied.pairs()} == {
            (p.kind, p.forecast_id, p.timelog_id) for p in world.ledger.pairs()}
        assert copied.pairs(), "the world synced at least one pair"
    finally:
        copied.close()
    again = _invoke(tmp_path, "ledger", "backup", str(copy), ledger=world.ledger.url)
    assert again.exit_code != 0
    assert "exists" in again.output
