"""Harvest swapped in: the adapter (hours to minutes, task names, allocations), links.yml's `harvest` section, and
the reconcile mapper with `source_adapter: harvest` (whole streams, deletions by absence), in process."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from harvest_api import HarvestApiError, HarvestReader
from sandbox.harvest import demo
from timesync.adapters import HarvestAdapter, source_adapter
from timesync.adapters.base import BadRecordError
from timesync.cli import Services, cli
from timesync.ledger import Ledger, PairKind, PairState
from timesync.links import LinksError, link_changes, load_links, parse_links, unknown_ids
from timesync.model import Assignment, Side, Task, TimeEntry
from timesync.reconcile.commands import COMMAND_SCHEMA
from timesync.reconcile.mapper import ReconcileMapper

ENTRY = {"id": 636100001, "spent_date": "2026-08-24T00:00:00.000000Z", "user_id": 3100007, "project_id": 14100002,
         "task_id": 8100003, "task_assignment_id": 155100007, "hours": 2.5, "notes": "Fixed <b> & co",
         "is_locked": False, "is_running": False, "updated_at": "2026-08-24T16:37:23Z"}


# -- the adapter -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("hours", "minutes"),
    [(0.1, 6), (0.333, 20), (1.005, 60), (0.33, 20), (0.125, 8), (0.0083, 0), (0.01, 1), (2.5, 150), (7.99, 479),
     (0, 0), ("1.75", 105), (24, 1440)],
)
def test_harvest_hours_round_to_the_nearest_minute_halves_up(hours: object, minutes: int) -> None:
    """The stated rounding: decimal hours times 60, to the nearest whole minute, half a minute up (0.125 h = 7.5 min
    is 8). Floats are read by their text, so 1.005 h is 60.3 min, not 60.29999."""
    entry = HarvestAdapter().to_canonical("time_entries", ENTRY | {"hours": hours})[0]
    assert isinstance(entry, TimeEntry)
    assert entry.minutes == minutes


def test_a_time_entry_becomes_an_entry_on_its_task_assignment_and_that_allocation() -> None:
    """The task is the project's task assignment (one TimeLog task per project and Harvest task); the date is the
    calendar day however the tap writes it."""
    entry, assignment = HarvestAdapter().to_canonical("time_entries", ENTRY)
    assert entry == TimeEntry(side=Side.FORECAST, id="636100001", project_id="14100002", person_id="3100007",
                              task_id="155100007", date=dt.date(2026, 8, 24), minutes=150, note="Fixed <b> & co")
    assert entry.updated_at == dt.datetime(2026, 8, 24, 16, 37, 23, tzinfo=dt.UTC)
    assert assignment == Assignment(Side.FORECAST, "155100007", "14100002", "3100007")


def test_locked_entries_are_locked_sources_and_running_timers_wait() -> None:
    adapter = HarvestAdapter()
    locked = adapter.to_canonical("time_entries", ENTRY | {"is_locked": True, "notes": None})[0]
    assert isinstance(locked, TimeEntry)
    assert (locked.locked, locked.note) == (True, "")
    assert adapter.to_canonical("time_entries", ENTRY | {"is_running": True}) == []


def test_a_missing_field_names_the_stream_the_record_and_the_field() -> None:
    record = {k: v for k, v in ENTRY.items() if k != "task_assignment_id"}
    with pytest.raises(BadRecordError, match=r"stream time_entries, record id=636100001: field 'task_assignment_id'"):
        HarvestAdapter().to_canonical("time_entries", record)


@pytest.mark.parametrize("task_first", [True, False])
def test_task_assignments_get_their_tasks_name_in_either_order(task_first: bool) -> None:
    """`tasks` holds the names, `project_tasks` the per-project assignments; whichever arrives last completes it."""
    adapter = HarvestAdapter()
    task = {"id": 8100003, "name": "Møder & workshops"}
    assignment = {"id": 155100007, "project_id": 14100002, "task_id": 8100003, "budget": 10.0}
    order = [("tasks", task), ("project_tasks", assignment)]
    out = [item for stream, record in (order if task_first else order[::-1])
           for item in adapter.to_canonical(stream, record)]
    assert out[-1] == Task(Side.FORECAST, "155100007", "14100002", "Møder & workshops")
    if not task_first:
        assert out[0] == Task(Side.FORECAST, "155100007", "14100002", "Harvest task 8100003")


def test_each_run_gets_a_fresh_adapter_and_harvest_is_never_written() -> None:
    first = source_adapter("harvest")
    assert first is not source_adapter("harvest")
    with pytest.raises(ValueError, match="unknown source_adapter 'toggl'"):
        source_adapter("toggl")
    assert isinstance(first, HarvestAdapter)
    entry = first.to_canonical("time_entries", ENTRY)[0]
    assert isinstance(entry, TimeEntry)
    with pytest.raises(NotImplementedError, match="read only"):
        first.entry_payload(entry, update=False)


# -- links.yml ---------------------------------------------------------------------------------------------------

HARVEST_LINKS = """\
projects:
  - forecast: 101
    timelog: 2001
persons:
  - forecast: 11
    timelog: 1
harvest:
  projects:
    - harvest: 14100001
      timelog: 2002
      start_date: 2026-08-01
  persons:
    - harvest: 3100001
      timelog: 1
options:
  max_changes_per_run: 50
"""


def test_the_harvest_section_links_harvest_ids_and_keeps_the_forecast_links() -> None:
    links = parse_links(HARVEST_LINKS, "links.yml")
    assert links.project("forecast", "101").timelog == "2001"  # job `sync` reads the top level, unchanged
    assert links.project("forecast", "14100001") is None
    harvest = links.for_tool("harvest")
    assert harvest.project("forecast", "14100001").timelog == "2002"
    assert harvest.project("timelog", "2002").start_date == dt.date(2026, 8, 1)
    assert harvest.person("timelog", "1").forecast == "3100001"  # one employee may track in both tools
    assert harvest.options.max_changes_per_run == 50
    assert links.for_tool("forecast") is links


def test_a_links_file_without_a_harvest_section_says_what_to_add() -> None:
    with pytest.raises(LinksError, match=r"links\.yml: no `harvest` section; add one"):
        parse_links("projects: []\npersons: []\n", "links.yml").for_tool("harvest")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("projects: []\npersons: []\nharvest:\n  projects:\n    - harvest: 5\n      timelog: x\n",
         "links.yml, line 6, field harvest.projects.[0].timelog: 'x' is not of type 'integer'"),
        ("projects: []\npersons: []\nharvest:\n  persons:\n    - forecast: 5\n      timelog: 1\n",
         "links.yml, line 5, field harvest.persons.[0].forecast: Additional properties"),
        ("projects: []\npersons: []\nharvest:\n  persons:\n    - {harvest: 5, timelog: 1}\n"
         "    - {harvest: 5, timelog: 2}\n",
         "links.yml, lines 5 and 6, field harvest.persons.harvest: harvest id 5 is linked twice"),
        ("projects:\n  - {forecast: 101, timelog: 2001}\npersons: []\nharvest:\n  projects:\n"
         "    - {harvest: 7, timelog: 2001}\n",
         "links.yml, lines 2 and 6, field harvest.projects.timelog: TimeLog project 2001 is linked to Forecast "
         "project 101 and to Harvest project 7"),
    ],
)
def test_bad_harvest_links_name_the_line_and_the_field(text: str, says: str) -> None:
    with pytest.raises(LinksError) as error:
        parse_links(text, "links.yml")
    assert says in str(error.value)


def test_unknown_harvest_ids_and_link_changes_speak_of_harvest() -> None:
    harvest = parse_links(HARVEST_LINKS, "links.yml").for_tool("harvest")
    assert unknown_ids(harvest, "forecast", {"project": {"1"}, "person": {"3100001"}}) == [
        "links.yml, line 9, field harvest.projects.harvest: Harvest has no project 14100001 (1 projects read); "
        "fix the id or remove the link (`timesync links suggest` lists the candidates)"]
    changes = link_changes(parse_links("projects: []\npersons: []\nharvest: {}\n").for_tool("harvest"), harvest)
    assert changes.messages()[0].startswith("link added: Harvest project 14100001 <-> TimeLog project 2002; ")
    assert "meltano run --full-refresh harvest-to-timelog" in changes.messages()[0]
    assert "Harvest user 3100001 <-> TimeLog employee 1" in changes.messages()[1]


# -- the mapper with source_adapter: harvest ---------------------------------------------------------------------

MAPPER_LINKS = """\
projects: []
persons: []
harvest:
  projects:
    - {harvest: 14100002, timelog: 2001}
  persons:
    - {harvest: 3100007, timelog: 7}
"""


def _schema(stream: str) -> dict[str, Any]:
    return {"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": {}},
            "key_properties": ["id"]}


def _record(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


def _state(currently_syncing: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"bookmarks": {name: {"updated_at": "2026-08-25T00:00:00Z"} for name in
                                           ("users", "projects", "tasks", "project_tasks", "time_entries")}}
    if currently_syncing:
        value["currently_syncing"] = currently_syncing
    return {"type": "STATE", "value": value}


def _harvest_input(*entries: dict[str, Any], last_state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        _schema("users"), _record("users", {"id": 3100007, "first_name": "Gitte", "email": "g@agency.example"}),
        _schema("projects"), _record("projects", {"id": 14100002, "name": "Customer portal", "code": "P-1002"}),
        _schema("tasks"), _record("tasks", {"id": 8100003, "name": "Project Management"}),
        _schema("project_tasks"), _record("project_tasks", {"id": 155100007, "project_id": 14100002,
                                                            "task_id": 8100003}),
        _state("time_entries"),
        _schema("time_entries"), *(_record("time_entries", entry) for entry in entries),
        last_state or _state(),
    ]


def _run(tmp_path: Path, messages: list[dict[str, Any]], capsys: pytest.CaptureFixture[str],
         **settings: Any) -> list[dict[str, Any]]:
    links = tmp_path / "links.yml"
    links.write_text(MAPPER_LINKS)
    mapper = ReconcileMapper(config={"ledger_url": f"sqlite:///{tmp_path / 'ledger.db'}", "links_path": str(links),
                                     "source_adapter": "harvest", **settings})
    capsys.readouterr()
    mapper.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def _commands(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["record"] for m in out if m["type"] == "RECORD"]


def test_harvest_time_becomes_a_task_an_allocation_and_work_in_timelog(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Harvest's `tasks` and `projects` streams share name and key with Forecast's: `source_adapter` says whose.
    The whole streams' bookmarks are left out of the STATE passed on, so the next run reads them whole again."""
    out = _run(tmp_path, _harvest_input(ENTRY | {"hours": 0.333}), capsys)
    commands = _commands(out)
    for command in commands:
        jsonschema.validate(command, COMMAND_SCHEMA)
    assert [c["kind"] for c in commands] == ["task_upsert", "allocation", "work_create"]
    task, _allocation, work = commands
    assert task["native"]["name"] == "Project Management"
    assert (task["native"]["project_id"], task["external_key"]) == (2001, "155100007")
    assert work["native"]["minutes"] == 20
    assert (work["native"]["employee_id"], work["source_id"]) == (7, "636100001")
    assert [m["value"]["bookmarks"] for m in out if m["type"] == "STATE"][-1] == {
        "time_entries": {"updated_at": "2026-08-25T00:00:00Z"}}


def test_a_whole_reread_deletes_the_twins_of_entries_it_no_longer_lists(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    second = ENTRY | {"id": 636100002, "notes": "second"}
    _run(tmp_path, _harvest_input(ENTRY, second), capsys)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        for pair in ledger.pairs():  # as if target-timelog had written the task, the allocation and both entries
            ledger.complete_create(pair.pending[0], f"guid-{pair.forecast_id}")
        assert {p.state for p in ledger.pairs(kind=PairKind.TIME_ENTRY)} == {PairState.LINKED}
    finally:
        ledger.close()

    # An incremental run never lists unchanged entries: absence means nothing there.
    assert _commands(_run(tmp_path, _harvest_input(), capsys)) == []
    # An unfinished re-read (its last STATE still names a stream) takes nothing as deleted and fails.
    with pytest.raises(SystemExit):
        _run(tmp_path, _harvest_input(ENTRY, last_state=_state("time_entries")), capsys, deletions_by_absence=True)
    assert "did not finish reading `time_entries`" in caplog.text
    # A finished re-read that lists only the first entry: the second one's twin is deleted, and no bookmark at all
    # is passed on, so the next re-read starts from start_date again.
    out = _run(tmp_path, _harvest_input(ENTRY), capsys, deletions_by_absence=True)
    deletes = [c for c in _commands(out) if c["kind"] == "work_delete"]
    assert [(c["source_id"], c["twin_id"]) for c in deletes] == [("636100002", "guid-636100002")]
    assert {json.dumps(m["value"].get("bookmarks")) for m in out if m["type"] == "STATE"} == {"{}"}


def test_deletions_by_absence_need_a_source_adapter(tmp_path: Path) -> None:
    (tmp_path / "links.yml").write_text(MAPPER_LINKS)
    with pytest.raises(SystemExit):
        ReconcileMapper(config={"ledger_url": f"sqlite:///{tmp_path / 'ledger.db'}",
                                "links_path": str(tmp_path / "links.yml"), "deletions_by_absence": True})


def test_pair_states_stay_as_the_ledger_api_names_them() -> None:
    """The absence check reads creating, linked and locked pairs (engine.ABSENCE_STATES)."""
    from timesync.reconcile.engine import ABSENCE_STATES
    assert set(ABSENCE_STATES) == {PairState.CREATING, PairState.LINKED, PairState.LOCKED}


def test_a_ledger_that_never_passed_the_harvest_bookmark_on_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """tap-harvest writes the state it resumed from after its first SCHEMA, before any RECORD; that bookmark must be
    one this ledger passed on, else the ledger is lost or another one (reconcile/bookmarks.py)."""
    out = _run(tmp_path, _harvest_input(ENTRY), capsys)
    passed_on = [m for m in out if m["type"] == "STATE"][-1]
    resumed = {"type": "STATE", "value": passed_on["value"] | {"currently_syncing": "users"}}
    second = _harvest_input()
    second.insert(1, resumed)
    assert _run(tmp_path, second, capsys)[-1]["type"] == "STATE"  # the same ledger knows it: the run goes on

    other = tmp_path / "lost"
    other.mkdir()
    with pytest.raises(SystemExit):
        _run(other, second, capsys)
    assert "never passed on" in caplog.text


# -- timesync links suggest|check --tool harvest ---------------------------------------------------------------

HARVEST_USERS = [
    {"id": 3100001, "first_name": "Ada", "last_name": "L", "email": "ADA@example.com", "is_active": True},
    {"id": 3100002, "first_name": "Bo", "last_name": "M", "email": "bo@example.com", "is_active": True},
]
HARVEST_PROJECTS = [{"id": 14100001, "name": "Website relaunch", "code": "P-1", "is_active": True},
                    {"id": 14100002, "name": "Menu app", "code": None, "is_active": True}]
TIMELOG_EMPLOYEES = [{"ID": "7", "FirstName": "Ada", "LastName": "L", "Email": "ada@example.com", "Status": "1"}]
TIMELOG_PROJECTS = [{"ID": "2001", "No": "P-1", "Name": "Website", "Status": "1"},
                    {"ID": "2002", "No": "P-2", "Name": "Portal", "Status": "1"}]


class FakeHarvest:
    def users(self) -> list[dict[str, Any]]:
        return HARVEST_USERS

    def projects(self) -> list[dict[str, Any]]:
        return HARVEST_PROJECTS


class FakeTimeLog:
    def employees(self, parse: Any) -> list[Any]:
        return [parse(item) for item in TIMELOG_EMPLOYEES]

    def projects(self, parse: Any) -> list[Any]:
        return [parse(item) for item in TIMELOG_PROJECTS]


def _cli(tmp_path: Path, *args: str) -> Any:
    def no_forecast() -> Any:
        raise AssertionError("--tool harvest reads Harvest, not Forecast")

    services = Services(forecast=no_forecast, timelog=FakeTimeLog, run=lambda argv, env: 0, harvest=FakeHarvest)
    return CliRunner().invoke(cli, ["--ledger-url", f"sqlite:///{tmp_path / 'ledger.db'}", "--links-path",
                                    str(tmp_path / "links.yml"), *args], obj=services, catch_exceptions=False)


def test_links_suggest_for_harvest_proposes_the_harvest_section(tmp_path: Path) -> None:
    result = _cli(tmp_path, "links", "suggest", "--tool", "harvest", "--write")
    assert result.exit_code == 0, result.output
    assert "Unmatched harvest users" in result.output
    links = load_links(tmp_path / "links.yml")
    assert (links.projects, links.persons) == ((), ())
    harvest = links.for_tool("harvest")
    assert [(p.forecast, p.timelog) for p in harvest.persons] == [("3100001", "7")]  # email, any case
    assert [(p.forecast, p.timelog) for p in harvest.projects] == [("14100001", "2001")]  # same number


def test_links_check_for_harvest_names_the_missing_ids_and_the_field(tmp_path: Path) -> None:
    (tmp_path / "links.yml").write_text("projects: []\npersons: []\nharvest:\n  projects:\n"
                                        "    - {harvest: 14100009, timelog: 2002}\n  persons:\n"
                                        "    - {harvest: 3100001, timelog: 8}\n")
    result = _cli(tmp_path, "--json", "links", "check", "--tool", "harvest")
    assert result.exit_code == 1
    where = str(tmp_path / "links.yml")
    assert json.loads(result.output)["missing"] == [[f"{where}:5", "project", "harvest", "14100009"],
                                                    [f"{where}:7", "person", "timelog", "8"]]
    (tmp_path / "links.yml").write_text("projects: []\npersons: []\n")
    result = _cli(tmp_path, "links", "check", "--tool", "harvest")
    assert result.exit_code == 1
    assert "no `harvest` section" in result.output


def test_an_empty_ledger_url_is_refused_not_taken_for_the_default(tmp_path: Path) -> None:
    """`timesync--harvest` with TIMESYNC_HARVEST_LEDGER_URL unset must not open job sync's ledger."""
    result = CliRunner().invoke(cli, ["--ledger-url", "", "status"], obj=Services(
        forecast=FakeHarvest, timelog=FakeTimeLog, run=lambda argv, env: 0))
    assert result.exit_code == 1
    assert "ledger_url is empty" in result.output


def test_the_harvest_client_reads_users_and_projects_from_the_simulator_page_by_page() -> None:
    """harvest_api against the Harvest simulator in process: the refresh grant, the account, every page."""
    from sandbox import credentials
    from sandbox.common.server import SimulatorServer
    from sandbox.harvest.app import HarvestApp
    from sandbox.harvest.options import HarvestOptions

    app = HarvestApp(demo.build_demo(), options=HarvestOptions(default_per_page=3))
    server = SimulatorServer(app, 0)
    server.start_in_thread()
    try:
        reader = HarvestReader(client_id=credentials.HARVEST_CLIENT_ID,
                               client_secret=credentials.HARVEST_CLIENT_SECRET,
                               refresh_token=credentials.HARVEST_REFRESH_TOKEN,
                               user_agent=credentials.HARVEST_USER_AGENT, id_url=f"{server.url}/api/v2",
                               api_url=f"{server.url}/v2")
        users, projects = reader.users(), reader.projects()
        wrong = HarvestReader(client_id=credentials.HARVEST_CLIENT_ID, client_secret="not-the-secret",
                              refresh_token=credentials.HARVEST_REFRESH_TOKEN, user_agent="x",
                              id_url=f"{server.url}/api/v2", api_url=f"{server.url}/v2")
        with pytest.raises(HarvestApiError) as error:
            wrong.users()
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(u["id"] for u in users) == [demo.USER_IDS + i for i in range(demo.USERS)]
    assert len(projects) == len(demo.build_demo()["projects"])
    assert "oauth2/token: 4" in str(error.value)
    assert "not-the-secret" not in str(error.value)
    with pytest.raises(HarvestApiError, match=r"client_secret \(TAP_HARVEST_CLIENT_SECRET\)"):
        HarvestReader.from_env({"TAP_HARVEST_CLIENT_ID": "x", "TAP_HARVEST_REFRESH_TOKEN": "r",
                                "TAP_HARVEST_USER_AGENT": "u"})


def test_the_flood_guard_stops_a_harvest_run_that_would_write_too_much(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    """The same guard as job sync's, from the same links file's options: nothing is emitted, the run is refused."""
    links = tmp_path / "links.yml"
    links.write_text(MAPPER_LINKS + "options:\n  max_changes_per_run: 2\n")
    mapper = ReconcileMapper(config={"ledger_url": f"sqlite:///{tmp_path / 'ledger.db'}", "links_path": str(links),
                                     "source_adapter": "harvest"})
    capsys.readouterr()
    with pytest.raises(SystemExit):
        mapper.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in _harvest_input(ENTRY))))
    assert capsys.readouterr().out == ""
    assert "flood guard: this run would write 3 changes, more than max_changes_per_run=2" in caplog.text


@pytest.mark.parametrize("tool", ["forecast", "timelog"])
def test_naming_job_syncs_own_adapters_keeps_job_syncs_links_and_ledger(tmp_path: Path, tool: str) -> None:
    """`source_adapter: forecast|timelog` is job sync's pipeline spelled out: the top-level links, ledger tool
    `forecast`, so the same ledger serves both of its pipelines."""
    (tmp_path / "links.yml").write_text("projects: []\npersons: []\n")
    mapper = ReconcileMapper(config={"ledger_url": f"sqlite:///{tmp_path / 'ledger.db'}",
                                     "links_path": str(tmp_path / "links.yml"), "source_adapter": tool})
    try:
        assert mapper.links.tool == "forecast"
        assert mapper.facts.new == {"ledger.tool": "forecast"}
    finally:
        mapper.reading.stop()
        mapper.ledger.release_run_lock(None)
        mapper.ledger.close()
