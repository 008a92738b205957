"""`meltano run sync` against the sandbox: one test per behaviour a user relies on.

Each test starts from the small world (a few entries per project, the demo links), edits the two systems
through their real APIs, runs the real `meltano run sync`, and checks both systems and the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cached_property

import pytest

from sandbox.roster import demo_links
from timesync.ledger.store import Ledger
from timesync.ledger.tables import PairKind, PairState

pytestmark = pytest.mark.e2e
#: `make test` keeps a sample that proves the product end to end (a first sync, a round trip both ways with its
#: echo run, unlinked data, the flood guard); `make test-suites` runs the rest (README "Tests").
SUITE = pytest.mark.suite

LINKS = demo_links()
LINKED_PROJECTS = {p["forecast"]: p["timelog"] for p in LINKS["projects"]}
LINKED_PERSONS = {p["forecast"]: p["timelog"] for p in LINKS["persons"]}
FORECAST_SYSTEM = "forecast"
SOME_DAY = "2026-11-16"  # a Monday inside the demo's three months, before the demo's "today"


@dataclass
class World:
    """Both systems and the ledger as they are now, with the lookups the tests need."""

    forecast: dict
    timelog: dict
    ledger_url: str

    @cached_property
    def registrations(self) -> dict[int, dict]:
        return {r["id"]: r for r in self.forecast["time_registrations"]}

    @cached_property
    def work(self) -> dict[str, dict]:
        return {u["guid"]: u for u in self.timelog["work_units"]}

    @cached_property
    def forecast_tasks(self) -> dict[int, dict]:
        return {t["id"]: t for t in self.forecast["tasks"]}

    @cached_property
    def timelog_tasks(self) -> dict[int, dict]:
        return {t["task_id"]: t for t in self.timelog["tasks"]}

    @cached_property
    def initials(self) -> dict[int, str]:
        return {e["employee_id"]: e["initials"] for e in self.timelog["employees"]}

    def task_twin(self, forecast_task_id: int) -> dict | None:
        """The TimeLog task carrying this Forecast task id as its external key."""
        matches = [
            t for t in self.timelog["tasks"]
            if any(k["system_name"].lower() == FORECAST_SYSTEM and k["external_id"] == str(forecast_task_id)
                   for k in t.get("external_keys", []))
        ]
        assert len(matches) <= 1, f"Forecast task {forecast_task_id} has {len(matches)} TimeLog twins"
        return matches[0] if matches else None

    def pair(self, *, forecast_id: object = None, timelog_id: object = None):
        with Ledger.open(self.ledger_url) as ledger:
            return ledger.find_pair(PairKind.TIME_ENTRY,
                                    forecast_id=None if forecast_id is None else str(forecast_id),
                                    timelog_id=None if timelog_id is None else str(timelog_id))

    def work_twin(self, registration_id: int) -> dict | None:
        pair = self.pair(forecast_id=registration_id)
        return self.work.get(pair.timelog_id) if pair and pair.timelog_id else None

    def registration_twin(self, guid: str) -> dict | None:
        pair = self.pair(timelog_id=guid)
        return self.registrations.get(int(pair.forecast_id)) if pair and pair.forecast_id else None

    def allocated(self, task_id: int, employee_id: int) -> bool:
        return any(a["task_id"] == task_id and a["employee_id"] == employee_id for a in self.timelog["allocations"])

    def last_runs(self) -> list:
        with Ledger.open(self.ledger_url) as ledger:
            return ledger.runs(limit=2)


def world(harness) -> World:
    return World(harness.forecast_state(), harness.timelog_state(), harness.project.ledger_url)


def linked_task(w: World, *, subtask: bool = False) -> dict:
    """A Forecast task of a linked project (a top-level one unless `subtask`)."""
    return next(t for t in sorted(w.forecast_tasks.values(), key=lambda t: t["id"])
                if t["project_id"] in LINKED_PROJECTS and bool(t["parent_task_id"]) == subtask)


def allocated_work_target(w: World) -> tuple[dict, int, int]:
    """(Forecast task, Forecast person, TimeLog employee): a synced task with a linked person allocated to it."""
    for task in sorted(w.forecast_tasks.values(), key=lambda t: t["id"]):
        twin = w.task_twin(task["id"])
        for person in task["assigned_persons"]:
            if twin and person in LINKED_PERSONS and w.allocated(twin["task_id"], LINKED_PERSONS[person]):
                return task, person, LINKED_PERSONS[person]
    pytest.fail("no synced task with an allocated linked person")


def assert_same_entry(registration: dict, unit: dict, w: World) -> None:
    """Person, date, minutes, note and task agree between twins."""
    assert LINKED_PERSONS[registration["person"]] == unit["employee_id"]
    assert registration["date"] == unit["start_at"][:10]
    assert registration["time_registered"] == unit["minutes"]
    assert registration["notes"] == unit["description"]
    if registration["task"]:
        assert w.task_twin(registration["task"])["task_id"] == unit["task_id"]


def test_forecast_tasks_and_subtasks_reach_timelog(harness) -> None:
    harness.sync()
    w = world(harness)
    linked = [t for t in w.forecast_tasks.values() if t["project_id"] in LINKED_PROJECTS]
    assert any(t["parent_task_id"] for t in linked), "the small world must hold a sub-task"
    for task in linked:
        twin = w.task_twin(task["id"])
        assert twin is not None, f"Forecast task {task['id']} has no TimeLog twin"
        assert twin["name"] == task["title"]
        assert twin["project_id"] == LINKED_PROJECTS[task["project_id"]]
        if task["parent_task_id"]:
            assert twin["parent_task_id"] == w.task_twin(task["parent_task_id"])["task_id"]
    for task in w.forecast_tasks.values():
        if task["project_id"] not in LINKED_PROJECTS:
            assert w.task_twin(task["id"]) is None, "a task of an unlinked project was copied"


@SUITE
def test_task_rename_and_date_change_follow(harness) -> None:
    harness.sync()
    task = linked_task(world(harness))
    harness.forecast.update_task(task["id"], title="Renamed: design review ✓", end_date="2027-03-31")
    harness.sync()
    twin = world(harness).task_twin(task["id"])
    assert twin["name"] == "Renamed: design review ✓"
    assert twin["end_date"] == "2027-03-31"


@SUITE
def test_task_moved_to_another_parent_follows_with_its_work(harness) -> None:
    """A synced sub-task re-parented in Forecast: the same TimeLog task moves under the new parent's twin
    (MoveTaskUnderParentTask), and the work unit already on it stays on it."""
    harness.sync()
    w = world(harness)
    sub = linked_task(w, subtask=True)
    new_parent = next(t for t in sorted(w.forecast_tasks.values(), key=lambda t: t["id"])
                      if t["project_id"] == sub["project_id"] and not t["parent_task_id"]
                      and t["id"] not in (sub["id"], sub["parent_task_id"]))
    person = next(iter(LINKED_PERSONS))
    if person not in sub["assigned_persons"]:
        harness.forecast.update_task(sub["id"], assigned_persons=[*sub["assigned_persons"], person])
    created = harness.forecast.create_registration(person=person, date=SOME_DAY, minutes=50, task=sub["id"],
                                                   notes="Before the move")
    harness.sync()
    w = world(harness)
    twin, unit = w.task_twin(sub["id"]), w.work_twin(created["id"])
    assert unit["task_id"] == twin["task_id"]
    assert twin["parent_task_id"] == w.task_twin(sub["parent_task_id"])["task_id"]

    harness.forecast.update_task(sub["id"], parent_task_id=new_parent["id"])
    harness.sync()
    w = world(harness)
    moved = w.task_twin(sub["id"])
    assert moved["task_id"] == twin["task_id"], "the same TimeLog task, not a new one"
    assert moved["parent_task_id"] == w.task_twin(new_parent["id"])["task_id"]
    assert moved["project_id"] == twin["project_id"]
    kept = w.work[unit["guid"]]
    assert (kept["task_id"], kept["minutes"], kept["description"]) == (twin["task_id"], 50, "Before the move")
    assert_same_entry(w.registrations[created["id"]], kept, w)


@SUITE
def test_assignment_allocates_the_employee(harness) -> None:
    harness.sync()
    w = world(harness)
    task = linked_task(w)
    person = next(p for p in LINKED_PERSONS if p not in task["assigned_persons"])
    twin = w.task_twin(task["id"])
    assert not w.allocated(twin["task_id"], LINKED_PERSONS[person])
    harness.forecast.update_task(task["id"], assigned_persons=[*task["assigned_persons"], person])
    harness.sync()
    assert world(harness).allocated(twin["task_id"], LINKED_PERSONS[person])


@SUITE
def test_forecast_registration_created_edited_deleted_follows(harness) -> None:
    harness.sync()
    task, person, _ = allocated_work_target(world(harness))
    created = harness.forecast.create_registration(person=person, date=SOME_DAY, minutes=95, task=task["id"],
                                                   notes="Workshop")
    harness.sync()
    w = world(harness)
    assert_same_entry(w.registrations[created["id"]], w.work_twin(created["id"]), w)

    harness.forecast.update_registration(created["id"], time_registered=125, notes="Workshop, part 2")
    harness.sync()
    w = world(harness)
    twin = w.work_twin(created["id"])
    assert (twin["minutes"], twin["description"]) == (125, "Workshop, part 2")

    guid = twin["guid"]
    harness.forecast.delete_registration(created["id"])
    harness.sync()
    assert guid not in world(harness).work


@SUITE
def test_timelog_work_created_edited_deleted_follows(harness) -> None:
    harness.sync()
    w = world(harness)
    task, person, employee = allocated_work_target(w)
    twin_task = w.task_twin(task["id"])["task_id"]
    entry = {"initials": w.initials[employee], "task_id": twin_task, "date": SOME_DAY}
    guid = harness.timelog.insert_work(**entry, minutes=45, note="Call with client")
    harness.sync()
    w = world(harness)
    registration = w.registration_twin(guid)
    assert registration is not None, "new TimeLog work did not reach Forecast"
    assert (registration["person"], registration["task"]) == (person, task["id"])
    assert_same_entry(registration, w.work[guid], w)

    harness.timelog.update_work(guid, **entry, minutes=50, note="Call with client (follow-up)")
    harness.sync()
    registration = world(harness).registrations[registration["id"]]
    assert (registration["time_registered"], registration["notes"]) == (50, "Call with client (follow-up)")

    harness.timelog.delete_work(guid)
    harness.sync()
    assert registration["id"] not in world(harness).registrations


@SUITE
def test_move_to_another_task_follows(harness) -> None:
    harness.sync()
    w = world(harness)
    task, person, employee = allocated_work_target(w)
    other = next(t for t in w.forecast_tasks.values()
                 if t["id"] != task["id"] and t["project_id"] == task["project_id"] and w.task_twin(t["id"]))
    other_twin = w.task_twin(other["id"])["task_id"]
    if not w.allocated(other_twin, employee):
        harness.forecast.update_task(other["id"], assigned_persons=[*other["assigned_persons"], person])
    entry = {"initials": w.initials[employee], "date": SOME_DAY, "minutes": 30, "note": "Moved later"}
    guid = harness.timelog.insert_work(**entry, task_id=w.task_twin(task["id"])["task_id"])
    harness.sync()
    before = world(harness).registration_twin(guid)
    assert before["task"] == task["id"]

    harness.timelog.update_work(guid, **entry, task_id=other_twin)
    harness.sync()
    w = world(harness)
    after = w.registration_twin(guid)
    assert after is not None
    assert after["task"] == other["id"]
    on_old_task = [r for r in w.registrations.values() if r["task"] == task["id"] and r["notes"] == "Moved later"]
    assert on_old_task == [], "the registration on the old task must be gone"


@SUITE
def test_change_on_both_sides_is_parked_as_a_conflict(harness) -> None:
    harness.sync()
    w = world(harness)
    registration = next(r for r in w.registrations.values() if w.work_twin(r["id"]))
    twin = w.work_twin(registration["id"])
    harness.forecast.update_registration(registration["id"], time_registered=111)
    harness.timelog.update_work(twin["guid"], initials=w.initials[twin["employee_id"]], task_id=twin["task_id"],
                                date=twin["start_at"][:10], minutes=222, note=twin["description"])
    harness.sync()
    w = world(harness)
    assert w.registrations[registration["id"]]["time_registered"] == 111, "Forecast's edit was overwritten"
    assert w.work[twin["guid"]]["minutes"] == 222, "TimeLog's edit was overwritten"
    assert w.pair(forecast_id=registration["id"]).state is PairState.CONFLICT


@SUITE
def test_locked_periods_are_respected_on_both_sides(harness) -> None:
    harness.sync()
    w = world(harness)
    twins = [(r, w.work_twin(r["id"])) for r in w.registrations.values() if w.work_twin(r["id"])]
    (approved_in_forecast, its_work), (open_registration, locked_work) = twins[:2]
    harness.sandbox.forecast.lock(registration_ids=[approved_in_forecast["id"]])
    harness.sandbox.timelog.lock(work_guids=[locked_work["guid"]], approved_status=10)
    harness.timelog.update_work(its_work["guid"], initials=w.initials[its_work["employee_id"]],
                                task_id=its_work["task_id"], date=its_work["start_at"][:10], minutes=333,
                                note=its_work["description"])
    harness.forecast.update_registration(open_registration["id"], time_registered=444)
    harness.sync()
    w = world(harness)
    assert w.registrations[approved_in_forecast["id"]]["time_registered"] == approved_in_forecast["time_registered"]
    assert w.work[locked_work["guid"]]["minutes"] == locked_work["minutes"]
    assert w.pair(forecast_id=approved_in_forecast["id"]).state is PairState.LOCKED
    assert w.pair(forecast_id=open_registration["id"]).state is PairState.LOCKED


def test_unlinked_projects_and_persons_are_untouched_and_counted(harness) -> None:
    before = world(harness)
    harness.sync()
    after = world(harness)
    tasks = before.forecast_tasks
    unlinked = [
        r for r in before.registrations.values()
        if r["person"] not in LINKED_PERSONS
        or (r["project"] or (tasks[r["task"]]["project_id"] if r["task"] else None)) not in LINKED_PROJECTS
    ]
    assert unlinked, "the small world must hold unlinked entries"
    for registration in unlinked:
        assert after.registrations[registration["id"]] == registration
        assert after.pair(forecast_id=registration["id"]) is None
    linked_projects = set(LINKED_PROJECTS.values())
    unlinked_work = [u for u in before.work.values()
                     if before.timelog_tasks[u["task_id"]]["project_id"] not in linked_projects]
    assert unlinked_work
    for unit in unlinked_work:
        assert after.work[unit["guid"]] == unit
    counts = [run.counts for run in after.last_runs()]
    out_of_scope = sum(n for c in counts for key, n in c.items() if key.startswith("out_of_scope."))
    assert out_of_scope >= len(unlinked) + len(unlinked_work)


@pytest.mark.parametrize("minutes", [pytest.param(1, marks=SUITE), pytest.param(7, marks=SUITE),
                                     pytest.param(59, marks=SUITE), 61, pytest.param(600, marks=SUITE)])
def test_durations_survive_a_round_trip(harness, minutes: int) -> None:
    harness.sync()
    w = world(harness)
    task, person, employee = allocated_work_target(w)
    registration = harness.forecast.create_registration(person=person, date=SOME_DAY, minutes=minutes,
                                                        task=task["id"], notes=f"{minutes} min from Forecast")
    guid = harness.timelog.insert_work(initials=w.initials[employee], task_id=w.task_twin(task["id"])["task_id"],
                                       date=SOME_DAY, minutes=minutes, note=f"{minutes} min from TimeLog")
    harness.sync()
    harness.sync()  # the echo run: nothing may drift on the way back
    w = world(harness)
    assert w.registrations[registration["id"]]["time_registered"] == minutes
    assert w.work_twin(registration["id"])["minutes"] == minutes
    assert w.work[guid]["minutes"] == minutes
    assert w.registration_twin(guid)["time_registered"] == minutes


@SUITE
def test_work_date_near_midnight_keeps_its_date(harness) -> None:
    harness.project.plugin_env["TZ"] = "Pacific/Kiritimati"  # UTC+14: any local-time shift would show
    harness.sync()
    w = world(harness)
    task, person, employee = allocated_work_target(w)
    late = harness.timelog.insert_work(initials=w.initials[employee], task_id=w.task_twin(task["id"])["task_id"],
                                       date=SOME_DAY, minutes=20, note="late", start_time=dt.time(23, 50))
    registration = harness.forecast.create_registration(person=person, date=SOME_DAY, minutes=20,
                                                        task=task["id"], notes="Forecast day")
    harness.sync()
    w = world(harness)
    assert w.registration_twin(late)["date"] == SOME_DAY
    assert w.work_twin(registration["id"])["start_at"][:10] == SOME_DAY


@SUITE
def test_notes_with_markup_quotes_emoji_and_4000_characters_survive(harness) -> None:
    note = ('<b>Tom & Jerry</b> said "hi" & \'bye\' 🎉 ' + "æøå " * 1000)[:4000]
    harness.sync()
    w = world(harness)
    task, person, employee = allocated_work_target(w)
    registration = harness.forecast.create_registration(person=person, date=SOME_DAY, minutes=30,
                                                        task=task["id"], notes=note)
    guid = harness.timelog.insert_work(initials=w.initials[employee], task_id=w.task_twin(task["id"])["task_id"],
                                       date=SOME_DAY, minutes=40, note=note)
    harness.sync()
    w = world(harness)
    assert w.work_twin(registration["id"])["description"] == note
    assert w.registration_twin(guid)["notes"] == note


@SUITE
def test_link_start_date_is_honoured(harness) -> None:
    links = demo_links()
    links["projects"][0]["start_date"] = dt.date(2026, 11, 10)
    harness.write_links(links)
    project = links["projects"][0]["forecast"]
    w = world(harness)
    task = next(t for t in w.forecast_tasks.values() if t["project_id"] == project and not t["parent_task_id"])
    person = next(iter(LINKED_PERSONS))
    early = harness.forecast.create_registration(person=person, date="2026-11-09", minutes=30, task=task["id"],
                                                 notes="before the link starts")
    late = harness.forecast.create_registration(person=person, date="2026-11-10", minutes=30, task=task["id"],
                                                notes="on the link's first day")
    harness.sync()
    w = world(harness)
    assert w.work_twin(early["id"]) is None, "time before the link's start_date was synced"
    assert w.work_twin(late["id"]) is not None
    counts = w.last_runs()[-1].counts  # the forecast_to_timelog run (newest first)
    assert counts.get("out_of_scope.before_start_date", 0) >= 1, "time before start_date must be counted"


def test_flood_guard_stops_a_run_that_would_write_too_much(harness) -> None:
    links = demo_links() | {"options": {"max_changes_per_run": 5}}
    harness.write_links(links)
    run = harness.sync(expect_ok=False)
    assert run.returncode != 0
    assert "max_changes_per_run" in run.output
    assert harness.sandbox.forecast.stats()["writes_total"] == 0
    assert harness.sandbox.timelog.stats()["writes_total"] == 0


@SUITE
def test_a_second_run_without_edits_writes_nothing(harness) -> None:
    harness.sync()
    harness.sandbox.forecast.clear_stats()
    harness.sandbox.timelog.clear_stats()
    harness.sync()
    assert harness.sandbox.forecast.stats()["writes"] == {}
    assert harness.sandbox.timelog.stats()["writes"] == {}


@SUITE
def test_an_entry_moved_to_an_unlinked_project_is_left_behind(harness) -> None:
    """Its twin is never deleted or moved; the pair is reported with the commands that settle it (issue 15)."""
    harness.sync()
    w = world(harness)
    registration = next(r for r in sorted(w.registrations.values(), key=lambda r: r["id"])
                        if r["task"] and w.work_twin(r["id"]) is not None)
    twin = w.work_twin(registration["id"])
    unlinked_task = next(t for t in sorted(w.forecast_tasks.values(), key=lambda t: t["id"])
                         if t["project_id"] not in LINKED_PROJECTS)
    # Forecast cannot change a registration's task in place: a move is a delete and a create (its UI does that).
    harness.forecast.delete_registration(registration["id"])
    moved = harness.forecast.create_registration(person=registration["person"], date=registration["date"],
                                                 minutes=registration["time_registered"], task=unlinked_task["id"],
                                                 notes=registration["notes"])
    harness.sync()
    after = world(harness)
    assert after.work[twin["guid"]] == twin, "the twin stays exactly as it was: not deleted, not moved"
    pair = after.pair(timelog_id=twin["guid"])
    assert pair.state is PairState.LEFT_BEHIND
    assert f"entry {moved['id']} moved out of scope" in pair.reason
    listed = harness.project.meltano("invoke", "timesync", "--json", "pairs", "--state", "left_behind")
    assert listed.returncode == 0, listed.output[-3000:]
    [shown] = json.loads(listed.stdout[listed.stdout.index("["):])
    assert shown["id"] == pair.id
    assert f"timesync pairs release {pair.id}" in shown["reason"]
    released = harness.project.meltano("invoke", "timesync", "pairs", "release", str(pair.id))
    assert released.returncode == 0, released.output[-3000:]
    assert world(harness).pair(timelog_id=twin["guid"]).state is PairState.DELETED
