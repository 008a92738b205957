"""Hypothesis state machine: random edits on both systems, syncs with crashes, invariants 1-8 after quiet syncs."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from timesync_fakes import Crash
from timesync_world import World

from timesync.ledger import PairKind, PairState
from timesync.model import hours_from_minutes
from timesync.reconcile.bookmarks import StaleLedgerError

LONG = os.environ.get("TIMESYNC_LONG_SUITES") == "1"
# `make test`: a quick fixed-seed sample (TestSyncMachineQuick). `make test-suites` (marker `suite`): 500 fixed-seed
# examples. `make test-long`: 5000 fresh ones. TIMESYNC_MACHINE_EXAMPLES overrides the last two.
QUICK_EXAMPLES = 40
EXAMPLES = int(os.environ.get("TIMESYNC_MACHINE_EXAMPLES", 5000 if LONG else 500))
settings.register_profile("timesync-quick", max_examples=QUICK_EXAMPLES, stateful_step_count=18, deadline=None,
                          derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("timesync-ci", max_examples=EXAMPLES, stateful_step_count=18, deadline=None,
                          derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("timesync-long", max_examples=EXAMPLES, stateful_step_count=40, deadline=None,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile("timesync-long" if LONG else "timesync-ci")
QUICK_PROFILE = settings.get_profile("timesync-quick")

PERSON_LINKS = {11: 7, 12: 8}  # Forecast person -> TimeLog employee; 13 and 9 are unlinked
PROJECT_LINKS = {101: 2001, 102: 2002}  # 103 and 2003 are unlinked
START_DATES = {101: None, 102: dt.date(2026, 2, 1)}
FORECAST_PLACES = [(301, 101), (302, 101), (303, 102), (304, 103), (None, 101), (None, 102), (None, 103)]
FIRST_DAY = dt.date(2026, 1, 20)
NOTES = st.sampled_from(["", "standup", "fix <b> & 'quotes'", "café ☕", "x" * 300, "review"])
#: TimeLog refuses an empty description: a person there writes "-" for "no note" (the sync's stand-in too).
TIMELOG_NOTES = NOTES.map(lambda note: note or "-")
MINUTES = st.one_of(st.sampled_from([1, 7, 59, 61, 600]), st.integers(1, 720))
DAYS = st.integers(0, 40)
PICK = st.integers(0, 10_000)
SETTLED = (PairState.LINKED, PairState.CONFLICT, PairState.LOCKED, PairState.ORPHANED)


def _day(offset: int) -> str:
    return (FIRST_DAY + dt.timedelta(days=offset)).isoformat()


class SyncMachine(RuleBasedStateMachine):
    """Two fake systems edited at random; every sync goes through the real rules, adapters and ledger."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="timesync-machine-"))
        self.world = World(self.tmp)
        # (system, id) -> the entry's content when the sync last wrote, read or verified it
        self.synced: dict[tuple[str, str], Any] = {}
        self.locked: dict[tuple[str, str], dict[str, Any]] = {}
        self.log_checked = 0
        # Forecast ids of the links a person took out of links.yml (the world starts with every link in).
        self.unlinked_projects: set[int] = set()
        self.unlinked_persons: set[int] = set()

    def teardown(self) -> None:
        self.world.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @initialize(minutes=st.lists(MINUTES, min_size=4, max_size=4))
    def some_synced_entries(self, minutes: list[int]) -> None:
        """Start each example with a few entries already synced, so edits on pairs happen from the first step."""
        forecast, timelog = self.world.forecast, self.world.timelog
        forecast.create(person=11, project=101, task=301, date=_day(20), minutes=minutes[0], note="seed a")
        forecast.create(person=12, project=101, task=None, date=_day(21), minutes=minutes[1], note="seed b")
        support = next(t for t, task in timelog.tasks.items() if not task["external_keys"])
        timelog.create(employee=7, task=support, date=_day(22), minutes=minutes[2], note="seed c")
        timelog.create(employee=8, task=support, date=_day(23), minutes=minutes[3], note="seed d")
        self.quiet_sync()

    # -- people editing Forecast ---------------------------------------------------------------------

    def _open_forecast(self) -> list[int]:
        return sorted(i for i, r in self.world.forecast.registrations.items() if r["approval_status"] != "APPROVED")

    def _open_timelog(self) -> list[str]:
        return sorted(g for g, w in self.world.timelog.work.items() if w["approval_status"] < 10)

    @rule(person=st.sampled_from([11, 12, 13]), place=st.sampled_from(FORECAST_PLACES), day=DAYS, minutes=MINUTES,
          note=NOTES, non_project=st.booleans())
    def create_forecast(self, person: int, place: tuple[int | None, int], day: int, minutes: int, note: str,
                        non_project: bool) -> None:
        task, project = place
        if non_project:
            self.world.forecast.create(person=person, project=None, task=None, date=_day(day),
                                             minutes=minutes, note=note, non_project=1)
        else:
            self.world.forecast.create(person=person, project=project, task=task, date=_day(day),
                                             minutes=minutes, note=note)

    @precondition(lambda self: self._open_forecast())
    @rule(pick=PICK, minutes=MINUTES, note=NOTES, day=DAYS, what=st.sampled_from(["minutes", "notes", "date"]))
    def edit_forecast(self, pick: int, minutes: int, note: str, day: int, what: str) -> None:
        reg = self._open_forecast()[pick % len(self._open_forecast())]
        value = {"minutes": minutes, "notes": note, "date": _day(day)}[what]
        self.world.forecast.edit(reg, **{"time_registered" if what == "minutes" else what: value})

    @precondition(lambda self: self._open_forecast())
    @rule(pick=PICK)
    def delete_forecast(self, pick: int) -> None:
        reg = self._open_forecast()[pick % len(self._open_forecast())]
        self.world.forecast.delete(reg)

    @precondition(lambda self: self._open_forecast())
    @rule(pick=PICK, choice=PICK)
    def move_forecast(self, pick: int, choice: int) -> None:
        """Forecast cannot change a registration's task: people delete and re-create it on another task."""
        reg = self._open_forecast()[pick % len(self._open_forecast())]
        old = self.world.forecast.registrations[reg]
        same_project = [p for p in FORECAST_PLACES if p[1] == old["project_id"] and p[0] != old["task"]]
        if old["non_project_time"] is not None or not same_project:
            return
        task, project = same_project[choice % len(same_project)]
        self.world.forecast.delete(reg)
        self.world.forecast.create(person=old["person"], project=project, task=task, date=old["date"],
                                         minutes=old["time_registered"], note=old["notes"])

    @precondition(lambda self: self._open_forecast())
    @rule(pick=PICK)
    def approve_forecast(self, pick: int) -> None:
        reg = self._open_forecast()[pick % len(self._open_forecast())]
        self.world.forecast.approve(reg)
        self.locked[("forecast", str(reg))] = dict(self.world.forecast.registrations[reg])

    # -- people editing TimeLog ----------------------------------------------------------------------

    @rule(employee=st.sampled_from([7, 8, 9]), pick=PICK, day=DAYS, minutes=MINUTES, note=TIMELOG_NOTES)
    def create_timelog(self, employee: int, pick: int, day: int, minutes: int, note: str) -> None:
        tasks = sorted(self.world.timelog.tasks)
        self.world.timelog.create(employee=employee, task=tasks[pick % len(tasks)], date=_day(day),
                                         minutes=minutes, note=note)

    @precondition(lambda self: self._open_timelog())
    @rule(pick=PICK, minutes=MINUTES, note=TIMELOG_NOTES, day=DAYS,
          what=st.sampled_from(["minutes", "note", "date"]))
    def edit_timelog(self, pick: int, minutes: int, note: str, day: int, what: str) -> None:
        guid = self._open_timelog()[pick % len(self._open_timelog())]
        self.world.timelog.edit(guid, **{what: {"minutes": minutes, "note": note, "date": _day(day)}[what]})

    @precondition(lambda self: self._open_timelog())
    @rule(pick=PICK, choice=PICK)
    def move_timelog(self, pick: int, choice: int) -> None:
        """TimeLog can move work to another task of the same project in place."""
        guid = self._open_timelog()[pick % len(self._open_timelog())]
        work = self.world.timelog.work[guid]
        others = sorted(t for t, task in self.world.timelog.tasks.items()
                        if task["project_id"] == work["project_id"] and t != work["task_id"])
        if others:
            self.world.timelog.edit(guid, task_id=others[choice % len(others)])

    @precondition(lambda self: self._open_timelog())
    @rule(pick=PICK)
    def delete_timelog(self, pick: int) -> None:
        guid = self._open_timelog()[pick % len(self._open_timelog())]
        self.world.timelog.delete(guid)

    @precondition(lambda self: self._open_timelog())
    @rule(pick=PICK)
    def approve_timelog(self, pick: int) -> None:
        guid = self._open_timelog()[pick % len(self._open_timelog())]
        self.world.timelog.approve(guid)
        self.locked[("timelog", guid)] = dict(self.world.timelog.work[guid])

    # -- people editing both sides of one synced entry ----------------------------------------------

    def _open_pairs(self) -> list[tuple[int, str]]:
        """Synced pairs whose two entries both exist and are open to edits."""
        open_forecast, open_timelog = set(self._open_forecast()), set(self._open_timelog())
        return [(int(p.forecast_id), p.timelog_id) for p in self.world.ledger.pairs(kind=PairKind.TIME_ENTRY)
                if p.forecast_id and p.timelog_id and int(p.forecast_id) in open_forecast
                and p.timelog_id in open_timelog]

    @precondition(lambda self: self._open_pairs())
    @rule(pick=PICK, side=st.sampled_from(["forecast", "timelog"]), minutes=MINUTES, note=NOTES)
    def edit_a_synced_entry(self, pick: int, side: str, minutes: int, note: str) -> None:
        reg, guid = self._open_pairs()[pick % len(self._open_pairs())]
        if side == "forecast":
            self.world.forecast.edit(reg, time_registered=minutes, notes=note)
        else:
            self.world.timelog.edit(guid, minutes=minutes, note=note or "-")

    @precondition(lambda self: self._open_pairs())
    @rule(pick=PICK, forecast_minutes=MINUTES, timelog_minutes=MINUTES)
    def edit_both_sides(self, pick: int, forecast_minutes: int, timelog_minutes: int) -> None:
        """The same entry changed on both sides between two syncs: a conflict to park, never to overwrite."""
        reg, guid = self._open_pairs()[pick % len(self._open_pairs())]
        self.world.forecast.edit(reg, time_registered=forecast_minutes)
        self.world.timelog.edit(guid, minutes=timelog_minutes)

    @precondition(lambda self: self._open_pairs())
    @rule(pick=PICK, deleted_side=st.sampled_from(["forecast", "timelog"]), note=NOTES)
    def delete_one_side_edit_the_other(self, pick: int, deleted_side: str, note: str) -> None:
        """Deleted here, edited there: the delete must not propagate (orphaned)."""
        reg, guid = self._open_pairs()[pick % len(self._open_pairs())]
        if deleted_side == "forecast":
            self.world.forecast.delete(reg)
            self.world.timelog.edit(guid, note=note + " (edited)")
        else:
            self.world.timelog.delete(guid)
            self.world.forecast.edit(reg, notes=note + " (edited)")

    # -- people editing links.yml ------------------------------------------------------------------

    @rule(project_102=st.booleans(), person_12=st.booleans())
    def edit_links(self, project_102: bool, person_12: bool) -> None:
        """Link removed (the sync stops there, both sides stay as they are) or added back (the next run backfills
        what happened there meanwhile): project 102 and person 12, each linked or not."""
        self.unlinked_projects = set() if project_102 else {102}
        self.unlinked_persons = set() if person_12 else {12}
        self.world.edit_links(without_projects=self.unlinked_projects, without_persons=self.unlinked_persons)
        event(f"links: project 102 {'in' if project_102 else 'out'}, person 12 {'in' if person_12 else 'out'}")

    # -- the ledger lost ------------------------------------------------------------------------------

    @precondition(lambda self: not self.unlinked_projects and not self.unlinked_persons)
    @rule()
    def ledger_lost(self) -> None:
        """The ledger is lost while Meltano's state is not: the next sync refuses before planning anything, then
        `timesync ledger rebuild --apply` re-pairs from what both sides hold. The quiet syncs after it must find
        every entry with exactly one twin: nothing created twice, nothing lost.

        (With every link in links.yml: a link out at the time is not re-paired, and putting it back later is
        refused by the target's lost-ledger check, README 'A lost ledger'.)"""
        resumes = any(self.world.bookmarks.values())  # not when a full refresh is due: target-timelog's check then
        self.world.lose_ledger()
        writes = len(self.world.log.writes)
        if resumes:
            with pytest.raises(StaleLedgerError):
                self.world.sync()
        assert len(self.world.log.writes) == writes, "a run against a lost ledger wrote"
        plan = self.world.rebuild()
        for outcome, count in plan.counts.items():
            if count:
                event(f"rebuild: {outcome}")
        # README "A lost ledger": entries the rebuild left unmatched and nobody touched since the bookmarks are
        # created by one `meltano run --full-refresh sync` (the rebuild read every date, so that is safe here).
        self.world.bookmarks = dict.fromkeys(self.world.bookmarks, 0)

    # -- syncing -------------------------------------------------------------------------------------

    @rule(crash_after=st.integers(1, 4), crash_only=st.sampled_from([None, "create"]))
    def sync_killed_after_a_write(self, crash_after: int, crash_only: str | None) -> None:
        """kill -9 right after the n-th remote write (of one kind), before the ledger hears of it: in a pipeline,
        or in the backfill `timesync finish` runs after them (it stays queued, and the next run takes it up)."""
        with contextlib.suppress(Crash):
            self.world.sync(crash_after=crash_after, crash_only=crash_only)
            self.world.run_backfills(crash_after=crash_after, crash_only=crash_only)
        self._check_write_log()

    @rule()
    def quiet_sync(self) -> None:
        """No concurrent edits: after the run and the backfills it queued, everything converges; a second run
        writes nothing."""
        result = self.world.sync()
        self._check_write_log()
        for backfilled in self.world.run_backfills():
            event("a link came back: backfilled")
            self._check_write_log()
            assert backfilled.counts, "a backfill is a run of each direction"
        for state in {pair.state for pair in self.world.ledger.pairs(kind=PairKind.TIME_ENTRY)}:
            event(f"pair state after a quiet sync: {state}")
        self._check_out_of_scope_counted(result)
        self._check_converged()
        again = self.world.sync()
        self._check_write_log()
        assert (again.commands, again.writes) == (0, 0), f"echo: a second quiet sync wrote {again}"
        assert self.world.run_backfills() == [], "a backfill is asked for once"
        self._check_converged()

    # -- the invariants --------------------------------------------------------------------------------

    def _check_write_log(self) -> None:
        """The sync overwrites or deletes only content it synced itself: never a person's unsynced edit.

        That is invariants 4 (no silent overwrite) and 5 (deletes only from unchanged twins); an entry the sync
        never paired (out of scope, unlinked) is never written at all (invariant 8).
        """
        for write in self.world.log.writes[self.log_checked:]:
            if write.operation in ("upsert_task",):
                continue
            target = (write.system, write.entity_id)
            if write.operation in ("update", "delete"):
                assert target in self.synced, f"wrote an entry the sync never paired: {write}"
                assert write.before == self.synced[target], (
                    f"silent overwrite: {write} replaced a person's edit (last synced {self.synced[target]})")
            if write.operation != "adopt":
                assert target not in self.locked, f"wrote a locked entry: {write}"
            event(f"sync did: {write.system} {write.operation}")
            self.synced[target] = write.after
            source_system = "timelog" if write.system == "forecast" else "forecast"
            self.synced[(source_system, str(write.source_id))] = write.source
        self.log_checked = len(self.world.log.writes)

    @invariant()
    def locked_entries_are_untouched(self) -> None:
        """Invariant 6: approved entries keep their content and stay (whatever the sync did)."""
        for (system, entity_id), snapshot in self.locked.items():
            store = self.world.forecast.registrations if system == "forecast" else self.world.timelog.work
            key: Any = int(entity_id) if system == "forecast" else entity_id
            assert store.get(key) == snapshot, f"locked {system} entry {entity_id} changed"

    @invariant()
    def timelog_hours_match_minutes(self) -> None:
        """Invariant 7: every work unit's hours are the exact decimal of its minutes."""
        for work in self.world.timelog.work.values():
            assert work["hours"] == str(hours_from_minutes(work["minutes"]))

    @property
    def _project_links(self) -> dict[int, int]:
        return {f: t for f, t in PROJECT_LINKS.items() if f not in self.unlinked_projects}

    @property
    def _person_links(self) -> dict[int, int]:
        return {f: t for f, t in PERSON_LINKS.items() if f not in self.unlinked_persons}

    def _forecast_in_scope(self, reg: dict[str, Any]) -> bool:
        project = reg["project_id"]
        start = START_DATES.get(project)
        return (reg["non_project_time"] is None and project in self._project_links
                and reg["person"] in self._person_links
                and (start is None or dt.date.fromisoformat(reg["date"]) >= start))

    def _timelog_in_scope(self, work: dict[str, Any]) -> bool:
        forecast_project = next((f for f, t in self._project_links.items() if t == work["project_id"]), None)
        start = START_DATES.get(forecast_project) if forecast_project else None
        return (forecast_project is not None and work["employee_id"] in self._person_links.values()
                and (start is None or dt.date.fromisoformat(work["date"]) >= start))

    def _pair_out_of_links(self, pair: Any) -> bool:
        """A pair of a link taken out: the sync leaves both its entries alone, whatever people do to them."""
        if pair.project and int(pair.project) in self.unlinked_projects:
            return True
        reg = self.world.forecast.registrations.get(int(pair.forecast_id or 0))
        work = self.world.timelog.work.get(pair.timelog_id or "")
        if reg is not None:
            return reg["person"] in self.unlinked_persons
        if work is not None:
            return work["employee_id"] in {PERSON_LINKS[p] for p in self.unlinked_persons}
        return bool(self.unlinked_persons)  # both entries gone while a person was unlinked: whose, no one can say

    def _twins_equal(self, reg: dict[str, Any], work: dict[str, Any]) -> bool:
        """Same person, date, minutes, task and note, by the rules of docs (not by the sync's own code)."""
        # README, tricky cases: TimeLog refuses an empty description, so an empty Forecast note is "-" there.
        work = {**work, "note": "" if work["note"] == "-" else work["note"]}
        task = self.world.timelog.tasks[work["task_id"]]
        keys = {k["external_id"] for k in task["external_keys"]}
        same = (PERSON_LINKS.get(reg["person"]) == work["employee_id"] and reg["date"] == work["date"]
                and reg["time_registered"] == work["minutes"] and PROJECT_LINKS[reg["project_id"]] ==
                work["project_id"])
        if reg["task"] is not None:
            return same and keys == {str(reg["task"])} and reg["notes"] == work["note"]
        if keys == {f"project-{reg['project_id']}"}:
            return same and reg["notes"] == work["note"]
        return same and not keys and reg["notes"] in (f"[{task['name']}] {work['note']}", work["note"])

    def _check_converged(self) -> None:
        """Invariants 1 and 2: one twin per in-scope entry, equal, no duplicates, nothing left half-created."""
        forecast, timelog = self.world.forecast.registrations, self.world.timelog.work
        pairs = [p for p in self.world.ledger.pairs(kind=PairKind.TIME_ENTRY) if p.state is not PairState.DELETED]
        assert not [p for p in pairs if p.state is PairState.CREATING], "a quiet sync left creates unconfirmed"
        by_forecast = {p.forecast_id: p for p in pairs if p.forecast_id}
        by_timelog = {p.timelog_id: p for p in pairs if p.timelog_id}
        for reg_id, reg in forecast.items():
            if self._forecast_in_scope(reg):
                pair = by_forecast.get(str(reg_id))
                assert pair is not None, f"registration {reg_id} has no twin"
                assert pair.state in SETTLED, f"registration {reg_id} is unsettled: {pair}"
                self._check_twin(pair, reg, timelog.get(pair.timelog_id or ""))
        for guid, work in timelog.items():
            if self._timelog_in_scope(work):
                pair = by_timelog.get(guid)
                assert pair is not None, f"work {guid} has no twin (a duplicate?)"
                assert pair.state in SETTLED, f"work {guid} is unsettled: {pair}"
                self._check_twin(pair, forecast.get(int(pair.forecast_id or 0)), work)
        for pair in pairs:
            if pair.state is PairState.LINKED and not self._pair_out_of_links(pair):
                assert pair.forecast_id, f"linked pair without a Forecast id: {pair}"
                assert int(pair.forecast_id) in forecast, f"dangling pair {pair}"
                assert pair.timelog_id in timelog, f"dangling pair {pair}"
        self._check_tasks()

    def _check_twin(self, pair: Any, reg: dict[str, Any] | None, work: dict[str, Any] | None) -> None:
        if pair.state is not PairState.LINKED:
            return  # parked: reported in the ledger with its reason, and nothing was written
        assert reg is not None, f"linked pair {pair.id} lost its Forecast side"
        assert work is not None, f"linked pair {pair.id} lost its TimeLog side"
        assert self._twins_equal(reg, work), f"pair {pair.id} differs:\n  {reg}\n  {work}"
        self.synced[("forecast", str(reg["id"]))] = self.world.forecast.content(reg["id"])
        self.synced[("timelog", work["work_unit_guid"])] = self.world.timelog.content(work["work_unit_guid"])

    def _check_tasks(self) -> None:
        """Tasks go one way: each linked Forecast task has exactly one TimeLog task, same name and parent."""
        for task_id, task in self.world.forecast.tasks.items():
            twins = [t for t in self.world.timelog.tasks.values()
                     if {k["external_id"] for k in t["external_keys"]} == {str(task_id)}]
            if task["project_id"] in self.unlinked_projects:
                assert len(twins) <= 1, f"task {task_id} of a project no longer linked has {len(twins)} twins"
                continue
            if task["project_id"] not in PROJECT_LINKS:
                assert twins == [], f"task {task_id} of an unlinked project reached TimeLog"
                continue
            assert len(twins) == 1, f"task {task_id} has {len(twins)} TimeLog twins"
            assert twins[0]["name"] == task["title"]
            if task["parent_task_id"]:
                parent = self.world.timelog.tasks[twins[0]["parent_task_id"]]
                assert parent["external_keys"][0]["external_id"] == str(task["parent_task_id"])

    def _check_out_of_scope_counted(self, result: Any) -> None:
        """Invariant 8: every out-of-scope entry the taps read is counted in its run, none silently dropped."""
        checks = (("forecast_to_timelog", "time_registrations", self._forecast_in_scope, "id"),
                  ("timelog_to_forecast", "work", self._timelog_in_scope, "work_unit_guid"))
        for direction, stream, in_scope, key in checks:
            read = {str(r[key]): r for s, r in result.read[direction] if s == stream}
            expected = sorted(k for k, r in read.items() if not in_scope(r))
            items = self.world.ledger.run_items(result.run_ids[direction])
            counted = sorted(i.source_id for i in items if i.outcome == "out_of_scope" and i.kind == "time_entry")
            assert counted == expected, f"{direction}: out of scope {expected}, counted {counted}"


class TestSyncMachineQuick(SyncMachine.TestCase):
    """The fast tier's sample of the machine: every rule and invariant, few examples."""

    settings = QUICK_PROFILE


@pytest.mark.suite
class TestSyncMachine(SyncMachine.TestCase):
    """The whole machine (`make test-suites`, `make test-long`)."""

    settings = PROFILE
