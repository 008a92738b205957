"""Job harvest-to-timelog through the real `meltano run`: singer-io's tap-harvest (unmodified) against the Harvest
simulator, the reconcile mapper with the Harvest adapter, target-timelog against the TimeLog simulator (issue 17).

Creates, edits and (with job harvest-to-timelog-recheck) deletions in Harvest arrive in TimeLog; a second run writes
nothing; Harvest's decimal hours become whole minutes as stated (README); nothing is ever written to Harvest. Every
expectation is computed here from what the Harvest API lists, with this file's own rounding, never the product's.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from sandbox import roster
from sandbox.editors import HarvestEditor
from sandbox.harvest import demo
from sandbox.pipeline import MELTANO, REPO_ROOT, IsolatedMeltano, MeltanoRun, sandbox_plugin_env
from sandbox.testing import SandboxProcess
from timesync.ledger import Ledger

pytestmark = [pytest.mark.e2e]

#: A small Harvest account: enough entries on linked and unlinked projects and users, quick to sync.
HARVEST_ENTRIES, HARVEST_SEED = 60, 7
#: TimeLog's stand-in for an empty note (target-timelog: a work unit needs a Description).
EMPTY_NOTE = "-"
JOB, RECHECK = "harvest-to-timelog", "harvest-to-timelog-recheck"

Work = tuple[int, str, int, str, str]  # employee, date, minutes, note, Harvest task assignment id (external key)


def minutes_of(hours: float) -> int:
    """This test's reading of the stated rule: hours x 60 to the nearest minute, half a minute up."""
    return int(Decimal(str(hours)) * 60 + Decimal("0.5"))


@dataclass
class HarvestWorld:
    """The sandbox with a small Harvest account, the demo links' `harvest` section, a project that never synced."""

    sandbox: SandboxProcess
    project: IsolatedMeltano
    harvest: HarvestEditor
    links: dict

    def run(self, job: str = JOB, *, force: bool = False) -> MeltanoRun:
        """`meltano run JOB`; `force` after a kill -9, whose run Meltano counts as running for 5 minutes."""
        run = self.project.run(*(["--force"] if force else []), job)
        if run.returncode != 0:
            pytest.fail(f"meltano run {job} failed ({run.returncode}):\n{run.output[-6000:]}")
        return run

    def entries(self) -> list[dict]:
        """Every time entry as the Harvest API lists it (what the tap reads)."""
        return self.harvest.list_all("time_entries", "time_entries")

    def expected(self, entries: Iterable[dict] | None = None) -> Counter[Work]:
        """The TimeLog work the links put in scope: linked project and user, stopped timers only."""
        projects = {p["harvest"] for p in self.links["projects"]}
        users = {p["harvest"]: p["timelog"] for p in self.links["persons"]}
        return Counter(
            (users[e["user"]["id"]], e["spent_date"], minutes_of(e["hours"]), e["notes"] or EMPTY_NOTE,
             str(e["task_assignment"]["id"]))
            for e in (self.entries() if entries is None else entries)
            if e["project"]["id"] in projects and e["user"]["id"] in users and not e["is_running"])

    def timelog_work(self) -> Counter[Work]:
        """The TimeLog work on tasks keyed to Harvest, with the task's Harvest key."""
        state = self.sandbox.timelog.state()
        keys = {t["task_id"]: k["external_id"] for t in state["tasks"] for k in t.get("external_keys") or []
                if k["system_name"] == "Harvest"}
        return Counter((u["employee_id"], u["start_at"][:10], u["minutes"], u["description"], keys[u["task_id"]])
                       for u in state["work_units"] if u["task_id"] in keys)


@pytest.fixture
def world(sandbox: SandboxProcess, small_world: tuple[dict, dict], tmp_path: Path) -> HarvestWorld:
    sandbox.timelog.reset(small_world[1])
    sandbox.harvest.reset(demo.generate(HARVEST_ENTRIES, HARVEST_SEED))
    links = {"projects": [], "persons": [], "harvest": demo.demo_links()}
    links_path = tmp_path / "links.yml"
    links_path.write_text(yaml.safe_dump(links, sort_keys=False), encoding="utf-8")
    env = sandbox_plugin_env(sandbox.forecast_url, sandbox.timelog_url, sandbox.harvest_url)
    project = IsolatedMeltano(tmp_path / "project", env, links_path=links_path)
    return HarvestWorld(sandbox, project, HarvestEditor(sandbox.harvest_url or ""), links["harvest"])


def _timelog_writes(sandbox: SandboxProcess) -> dict:
    return sandbox.timelog.stats()["writes"]


def test_harvest_time_arrives_edits_follow_deletions_with_the_recheck_and_a_second_run_writes_nothing(
        world: HarvestWorld) -> None:
    sandbox = world.sandbox
    before = world.sandbox.timelog.state()
    first = world.expected()
    assert sum(first.values()) >= 10, "the small account must have in-scope time"
    assert world.timelog_work() == Counter()

    world.run()
    assert world.timelog_work() == first
    # The other work in TimeLog is untouched.
    assert len(sandbox.timelog.state()["work_units"]) == len(before["work_units"]) + sum(first.values())

    # A person edits in Harvest: hours and notes of one entry, new entries (one out of scope), a deletion.
    in_scope = [e for e in world.entries() if world.expected([e]) and not e["is_locked"]]
    edited, deleted, slot = in_scope[0], in_scope[1], in_scope[2]
    world.harvest.update_time_entry(edited["id"], hours=0.333, notes="Edited in Harvest ✏️ & <b>")
    world.harvest.delete_time_entry(deleted["id"])
    tenth = world.harvest.create_time_entry(user_id=slot["user"]["id"], project_id=slot["project"]["id"],
                                            task_id=slot["task"]["id"], spent_date=slot["spent_date"], hours=0.1,
                                            notes="a tenth")
    odd = world.harvest.create_time_entry(user_id=slot["user"]["id"], project_id=slot["project"]["id"],
                                          task_id=slot["task"]["id"], spent_date=slot["spent_date"], hours=1.005)
    linked_projects = {p["harvest"] for p in world.links["projects"]}
    unlinked = next(e for e in world.entries() if e["project"]["id"] in linked_projects and not world.expected([e]))
    world.harvest.create_time_entry(user_id=unlinked["user"]["id"], project_id=unlinked["project"]["id"],
                                    task_id=unlinked["task"]["id"], spent_date=unlinked["spent_date"], hours=2)

    world.run()
    live = world.expected()
    deleted_work = world.expected([deleted])
    assert sum(deleted_work.values()) == 1
    # The incremental run brings the edit and the creates; the deletion is invisible to tap-harvest.
    assert world.timelog_work() == live + deleted_work
    by_id = {e["id"]: e for e in world.entries()}
    # The stated rounding, as Harvest holds the values (two decimals: 0.333 h is kept as 0.33, 1.005 h as 1.01).
    assert [(by_id[i]["hours"], minutes_of(by_id[i]["hours"])) for i in (edited["id"], tenth["id"], odd["id"])] == [
        (0.33, 20), (0.1, 6), (1.01, 61)]
    minutes = {note: m for (_e, _d, m, note, _t) in world.timelog_work()}
    assert (minutes["Edited in Harvest ✏️ & <b>"], minutes["a tenth"]) == (20, 6)

    # The recheck re-reads every entry: the deleted one is missing, so its twin goes.
    world.run(RECHECK)
    assert world.timelog_work() == live

    # Quiet: neither job writes anything more, and Harvest was only ever read.
    sandbox.timelog.clear_stats()
    world.run()
    world.run(RECHECK)
    assert _timelog_writes(sandbox) == {}
    assert world.timelog_work() == live
    harvest = sandbox.harvest.stats()
    assert harvest["requests"], "the runs read Harvest"
    # Only this test's own edits wrote to Harvest (the token refresh is not a write).
    assert harvest["writes"] == {"POST /v2/time_entries": 3, "PATCH /v2/time_entries/{id}": 1,
                                 "DELETE /v2/time_entries/{id}": 1}


def test_the_harvest_job_refuses_a_lost_ledger_job_syncs_ledger_and_none(world: HarvestWorld) -> None:
    """A lost Harvest ledger (Meltano's bookmark is one it never passed on), job sync's ledger (the two never share
    pairs) and an unset ledger variable each stop the job before it writes anything."""
    world.run()
    synced = world.timelog_work()
    ledger_file = Path(world.project.harvest_ledger_url.removeprefix("sqlite:///"))
    for path in ledger_file.parent.glob(ledger_file.name + "*"):
        path.rename(path.with_name("lost-" + path.name))
    world.harvest.update_time_entry(world.entries()[0]["id"], notes="edited after the ledger was lost")
    run = world.project.run(JOB)
    assert run.returncode != 0
    assert "never passed on" in run.output
    assert world.timelog_work() == synced

    sync_ledger = world.project.ledger_url
    world.project.plugin_env["TIMESYNC_HARVEST_LEDGER_URL"] = sync_ledger
    ledger = Ledger.open(sync_ledger)
    try:
        ledger.record_fact("ledger.tool", "forecast", "job sync")
    finally:
        ledger.close()
    run = world.project.run(JOB)
    assert run.returncode != 0
    assert "ledger.tool is 'harvest' in this run's records, but the ledger recorded 'forecast'" in run.output
    assert world.timelog_work() == synced

    world.project.plugin_env["TIMESYNC_HARVEST_LEDGER_URL"] = ""
    run = world.project.run(JOB)
    assert run.returncode != 0
    assert "ledger_url is empty" in run.output
    assert "TIMESYNC_HARVEST_LEDGER_URL" in run.output


#: (seed, writes before the hold) per crash: the first run writes about 56 times (20 tasks, 35 allocations, one
#: InsertWork batch); the points fall among the tasks, the allocations and on the work batch.
CRASH_SEED = 1717
CRASHES = 3


@pytest.mark.suite
def test_a_kill_9_mid_run_then_a_rerun_leaves_no_duplicate_and_loses_nothing(world: HarvestWorld) -> None:
    """Invariant 3 for the Harvest job: TimeLog holds every request after the k-th write, the whole `meltano run`
    process group is killed with SIGKILL (the held request is then served to nobody), and the next run recovers."""
    rng = random.Random(CRASH_SEED)
    expected = world.expected()
    reached = 0
    for crash in range(CRASHES):
        k = rng.randrange(0, 56)
        world.sandbox.timelog.clear_stats()
        world.sandbox.timelog.faults(block_after_writes=k)
        log = world.project.workdir / f"crash-{crash}.log"
        with log.open("w", encoding="utf-8") as handle:
            process = subprocess.Popen(
                [MELTANO, "run", "--state-id-suffix", world.project.workdir.name, "--force", JOB], cwd=REPO_ROOT,
                env=world.project.env(), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 600
        while process.poll() is None and time.monotonic() < deadline:
            if world.sandbox.timelog.stats()["faults"].get("blocked", 0) > 0:
                os.killpg(process.pid, signal.SIGKILL)
                reached += 1
                break
            time.sleep(0.2)
        process.wait(timeout=60)
        world.sandbox.timelog.faults()  # releases the held request: served to a client that is gone
        assert process.returncode != 0 or world.timelog_work() == expected, log.read_text(encoding="utf-8")[-4000:]
    assert reached >= 1, "no crash point was reached"

    world.run(force=True)
    work = world.timelog_work()
    assert [w for w, n in work.items() if n > 1] == [], "duplicates after the crashes"
    assert work == expected
    # Each Harvest task assignment has one TimeLog task, each employee one allocation per task.
    state = world.sandbox.timelog.state()
    keys = Counter(k["external_id"] for t in state["tasks"] for k in t.get("external_keys") or []
                   if k["system_name"] == "Harvest")
    assert [key for key, n in keys.items() if n > 1] == []
    allocations = Counter((a["employee_id"], a["task_id"]) for a in state["allocations"])
    assert [pair for pair, n in allocations.items() if n > 1] == []

    world.sandbox.timelog.clear_stats()
    world.run(force=True)
    assert _timelog_writes(world.sandbox) == {}


@pytest.mark.suite
def test_job_sync_leaves_the_harvest_time_in_timelog_alone(world: HarvestWorld, small_world: tuple[dict, dict],
                                                          tmp_path: Path) -> None:
    """Both jobs on one TimeLog: the Harvest job writes work on a TimeLog project linked to Harvest only, and job
    sync, which reads all of TimeLog's work changes, counts that work out of scope and writes nothing to Forecast."""
    world.sandbox.forecast.reset(small_world[0])
    forecast_links = roster.demo_links()
    used = {link["timelog"] for link in forecast_links["projects"]}
    spare = next(p.timelog_project_id for p in roster.PROJECTS if p.timelog_project_id and
                 p.timelog_project_id not in used)
    harvest_project = world.links["projects"][0]["harvest"]
    world.links = {"projects": [{"harvest": harvest_project, "timelog": spare}], "persons": world.links["persons"]}
    links_path = tmp_path / "links.yml"
    links_path.write_text(yaml.safe_dump(forecast_links | {"harvest": world.links}, sort_keys=False),
                          encoding="utf-8")

    first = world.project.run("sync")
    assert first.returncode == 0, first.output[-6000:]
    registrations = world.sandbox.forecast.state()["time_registrations"]
    world.run()
    harvest_work = world.timelog_work()
    assert sum(harvest_work.values()) > 0
    assert harvest_work == world.expected()
    harvest_tasks = {t["task_id"]: t["project_id"] for t in world.sandbox.timelog.state()["tasks"]
                     if any(k["system_name"] == "Harvest" for k in t.get("external_keys") or [])}
    assert set(harvest_tasks.values()) == {spare}

    world.sandbox.forecast.clear_stats()
    again = world.project.run("sync")
    assert again.returncode == 0, again.output[-6000:]
    assert world.sandbox.forecast.stats()["writes"] == {}
    assert world.sandbox.forecast.state()["time_registrations"] == registrations
    assert world.timelog_work() == harvest_work
