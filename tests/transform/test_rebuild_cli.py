"""`timesync ledger rebuild` against the simulators: both sides hold what an earlier sync left (a task carrying the
Forecast id as external key, and time on it), the ledger is empty, and the rebuild pairs what is certain, parks
what is not, and counts the rest; a dry run writes nothing, --apply satisfies the lost-ledger guards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from forecast_api import ForecastReader
from sandbox import credentials
from sandbox.roster import demo_links
from sandbox.testing import SandboxProcess
from sandbox.timelog.model import APPROVED_OPEN
from timelog_api.client import client_from_config
from timesync.adapters.timelog import GUID_MODEL_FACT
from timesync.cli import Services, cli
from timesync.ledger import Ledger, PairKind, PairState
from timesync.model import Direction
from timesync.reconcile.bookmarks import BookmarkGuard

GUID_MODELS = ("time_registration", "work_unit")
FORECAST_PROJECT, TIMELOG_PROJECT = 101, 2001
FORECAST_PERSON, TIMELOG_EMPLOYEE = 11, 1
SINCE = "2026-10-01"
#: What Meltano would hand each tap next (any bookmark works: the rebuild records the ones it is given).
STATES = {Direction.FORECAST_TO_TIMELOG: {"bookmarks": {"time_registrations": {"replication_key_value": "x1"}}},
          Direction.TIMELOG_TO_FORECAST: {"bookmarks": {"work": {"replication_key_value": "y1"}}}}


def _timelog_config(sandbox: SandboxProcess, cache: Path) -> dict[str, Any]:
    return {"domain": sandbox.timelog_url, "account": credentials.TIMELOG_ACCOUNT,
            "username": credentials.TIMELOG_USERNAME, "password": credentials.TIMELOG_PASSWORD,
            "site_code": credentials.TIMELOG_SITE_CODE, "reporting_username": credentials.TIMELOG_REPORTING_USERNAME,
            "reporting_password": credentials.TIMELOG_REPORTING_PASSWORD, "wsdl_cache_path": str(cache)}


class Synced:
    """Both simulators as an earlier sync left them: one keyed task, time on it on both sides (ids by label)."""

    def __init__(self, sandbox: SandboxProcess) -> None:
        self.sandbox = sandbox
        forecast, timelog = sandbox.forecast.state(), sandbox.timelog.state()
        self.task = next(t for t in forecast["tasks"] if t["project_id"] == FORECAST_PROJECT
                         and not t["parent_task_id"])
        self.tl_task = next(t for t in timelog["tasks"] if t["project_id"] == TIMELOG_PROJECT
                            and not t["parent_task_id"])
        self.tl_task["external_keys"] = [{"system_name": "Forecast", "external_id": str(self.task["id"])}]
        self.registration_template = forecast["time_registrations"][0]
        self.unit_template = timelog["work_units"][0]
        self.forecast_state, self.timelog_state = forecast, timelog
        forecast["time_registrations"], timelog["work_units"], timelog["change_log"] = [], [], []
        self.registrations: dict[str, int] = {}
        self.units: dict[str, str] = {}

    def registration(self, label: str, day: str, minutes: int, note: str) -> None:
        record_id = 900_000 + len(self.registrations)
        self.forecast_state["time_registrations"].append({
            **self.registration_template, "id": record_id, "person": FORECAST_PERSON, "task": self.task["id"],
            "project": None, "non_project_time": None, "date": day, "time_registered": minutes, "notes": note,
            "approval_status": "NOT_SUBMITTED", "created_by": FORECAST_PERSON, "updated_by": FORECAST_PERSON})
        self.registrations[label] = record_id

    def unit(self, label: str, day: str, minutes: int, note: str) -> None:
        guid = str(uuid.uuid4())
        self.timelog_state["work_units"].append({
            **self.unit_template, "work_id": 800_000 + len(self.units), "guid": guid,
            "other_guid": str(uuid.uuid4()), "task_id": self.tl_task["task_id"], "employee_id": TIMELOG_EMPLOYEE,
            "start_at": f"{day}T09:00:00", "minutes": minutes, "description": note, "approved_status": APPROVED_OPEN,
            "billable_minutes": None})
        self.units[label] = guid

    def load(self) -> None:
        self.sandbox.forecast.reset(self.forecast_state)
        self.sandbox.timelog.reset(self.timelog_state)


@pytest.fixture
def synced(sandbox: SandboxProcess) -> Synced:
    """A certain pair, a near match, three entries sharing one fingerprint, and one new entry on each side."""
    world = Synced(sandbox)
    world.registration("same", "2026-11-02", 60, "design")
    world.unit("same", "2026-11-02", 60, "design")
    world.registration("near", "2026-11-03", 45, "review")
    world.unit("near", "2026-11-03", 30, "review")
    world.registration("dup1", "2026-11-04", 30, "standup")
    world.registration("dup2", "2026-11-04", 30, "standup")
    world.unit("dup", "2026-11-04", 30, "standup")
    world.registration("new", "2026-11-05", 15, "only in Forecast")
    world.unit("new", "2026-11-06", 20, "only in TimeLog")
    world.load()
    return world


@pytest.fixture
def rebuild(sandbox: SandboxProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `timesync --json ledger rebuild ARGS` against the simulators and an empty ledger in tmp_path."""
    links = tmp_path / "links.yml"
    links.write_text(yaml.safe_dump(demo_links()))
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.delenv("TAP_TIMELOG_GUID_MODEL", raising=False)
    monkeypatch.delenv("TAP_TIMELOG_EXTERNAL_SYSTEM_NAME", raising=False)

    def run(*args: str) -> Result:
        services = Services(forecast=lambda: ForecastReader(credentials.FORECAST_API_KEY, sandbox.forecast_url),
                            timelog=lambda: client_from_config(_timelog_config(sandbox, tmp_path / "wsdl.sqlite")),
                            run=lambda argv, env: 0, meltano_state=lambda suffix: STATES)
        return CliRunner().invoke(cli, ["--ledger-url", ledger_url, "--links-path", str(links), "--json", "ledger",
                                        "rebuild", "--since", SINCE, *args], obj=services)

    run.ledger_url = ledger_url  # type: ignore[attr-defined]
    run.links = links  # type: ignore[attr-defined]
    return run


def _report(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_dry_run_reports_the_pairs_and_writes_nothing(synced: Synced, rebuild) -> None:
    report = _report(rebuild())
    counts = report["counts"]
    assert report["applied"] is False
    assert counts["task.paired"] == 1
    assert counts["time_entry.paired"] == 1
    assert counts["time_entry.parked"] == 5, "the near match (2) and the three sharing a fingerprint"
    assert counts["time_entry.unmatched.forecast"] == 1
    assert counts["time_entry.unmatched.timelog"] == 1
    assert report["examples"]["time_entry_paired"] == [{
        "forecast": str(synced.registrations["same"]), "timelog": synced.units["same"],
        "fingerprint": f"{FORECAST_PERSON}|2026-11-02|{synced.task['id']}|60|design"}]
    with Ledger.open(rebuild.ledger_url) as ledger:
        assert ledger.pairs() == []
        assert ledger.runs() == []


@pytest.mark.parametrize("model", GUID_MODELS)
def test_apply_pairs_by_the_transactional_guid_parks_the_ambiguous_and_satisfies_the_guards(
        sandbox: SandboxProcess, synced: Synced, rebuild, model: str) -> None:
    """Under either GUID model the pair holds the GUID the sync's tap and target use, and it is recorded."""
    sandbox.timelog.options(guid_model=model)
    report = _report(rebuild("--apply"))
    assert report["applied"] is True
    assert report["guid_model"] == model
    with Ledger.open(rebuild.ledger_url) as ledger:
        task = ledger.find_pair(PairKind.TASK, forecast_id=str(synced.task["id"]))
        assert task is not None
        assert (task.timelog_id, task.state) == (str(synced.tl_task["task_id"]), PairState.LINKED)
        same = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(synced.registrations["same"]))
        assert same is not None
        assert (same.timelog_id, same.state) == (synced.units["same"], PairState.LINKED)
        assert same.base["forecast"]["minutes"] == same.base["timelog"]["minutes"] == 60
        near = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(synced.registrations["near"]))
        assert near is not None
        assert (near.timelog_id, near.state) == (synced.units["near"], PairState.CONFLICT)
        assert near.conflict is not None
        assert (near.conflict["forecast"]["minutes"], near.conflict["timelog"]["minutes"]) == (45, 30)
        for label in ("dup1", "dup2"):
            parked = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(synced.registrations[label]))
            assert parked is not None
            assert (parked.state, parked.timelog_id) == (PairState.ORPHANED, None)
        dup = ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=synced.units["dup"])
        assert dup is not None
        assert (dup.state, dup.forecast_id) == (PairState.ORPHANED, None)
        for side_id in (str(synced.registrations["new"]),):
            assert ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=side_id) is None, "left for the next sync"
        assert ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=synced.units["new"]) is None
        # The guards the next `meltano run sync` passes: Meltano's bookmarks are known, the ledger is settled.
        for direction, state in STATES.items():
            assert BookmarkGuard(ledger, direction).check(state) is None
        assert ledger.has_settled_pairs()
        assert ledger.facts()[GUID_MODEL_FACT][0] == model
    again = _report(rebuild())
    assert again["counts"]["time_entry.already_in_ledger.forecast"] == 4
    assert "time_entry.paired" not in again["counts"], "a second rebuild re-pairs nothing already paired"


def test_apply_outside_a_meltano_project_is_refused_before_anything_is_written(synced: Synced, rebuild,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """--apply needs Meltano's state (to record the bookmarks); without a Meltano environment it says how."""
    monkeypatch.delenv("MELTANO_ENVIRONMENT", raising=False)
    result = CliRunner().invoke(cli, ["--ledger-url", rebuild.ledger_url, "--links-path", str(rebuild.links), "ledger",
                                      "rebuild", "--apply"])
    assert result.exit_code != 0
    assert "meltano invoke timesync ledger rebuild --apply" in result.output
    with Ledger.open(rebuild.ledger_url) as ledger:
        assert ledger.pairs() == []


def test_an_older_ledgers_pair_edited_on_both_sides_since_gets_what_both_hold_as_its_base(synced: Synced,
                                                                                         rebuild) -> None:
    """A restored older ledger: a pair edited and synced meanwhile keeps its pair, with the base both sides agree
    on now (else its next edit would be taken for a conflict). A pair whose sides differ keeps its old base."""
    _report(rebuild("--apply"))
    for record in synced.forecast_state["time_registrations"]:
        if record["id"] == synced.registrations["same"]:
            record["time_registered"] = 75
    for unit in synced.timelog_state["work_units"]:
        if unit["guid"] == synced.units["same"]:
            unit["minutes"] = 75
    synced.load()
    report = _report(rebuild("--apply"))
    assert report["counts"]["time_entry.base_refreshed"] == 1
    with Ledger.open(rebuild.ledger_url) as ledger:
        same = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(synced.registrations["same"]))
        assert same is not None
        assert (same.state, same.base["forecast"]["minutes"], same.base["timelog"]["minutes"]) == \
            (PairState.LINKED, 75, 75)
        near = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(synced.registrations["near"]))
        assert near is not None
        assert near.state is PairState.CONFLICT, "a parked pair is left for a person"
