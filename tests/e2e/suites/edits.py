"""Seeded edit scripts: what people do in Forecast and TimeLog between two sync runs, through the real APIs.

One round picks edits with a seeded `random.Random`: creates, edits of minutes, note and date, deletes and
moves on both sides, entries for unlinked projects and persons, and two-sided scenarios (a conflict, a delete
against an edit, an edit against a locked twin; each on its own pair). It returns `Expectations`: what the next
quiet run must do, derived from the edits themselves, never from the sync's code.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field

from tests.e2e.suites.checks import World
from tests.e2e.suites.world import SuiteWorld

#: Work dates the scripts use: November 2026 (the demo's recent weeks and a few days ahead), no locked period.
FIRST_DAY, LAST_DAY = dt.date(2026, 11, 2), dt.date(2026, 11, 27)
#: Durations that catch hour/minute conversion slips: odd minutes, an hour ± 1, long days.
MINUTES = (1, 7, 15, 29, 59, 60, 61, 90, 119, 125, 240, 301, 479, 600)
NOTES = (
    "", "Review & fix", 'Said "yes" to it', "<b>not html</b> & <i>", "Møde med Ærø Bryghus", "Deploy 🚀 ✅",
    "It's 50% done; 'quoted'", "Line one\nline two", "x" * 400,
)
PREFIX = re.compile(r"^\[[^\]]*\] ")
#: Weights of the one-sided edits.
ONE_SIDED = {
    "forecast_create": 3, "forecast_update": 3, "forecast_delete": 1, "forecast_move": 1, "forecast_clone": 1,
    "timelog_insert": 3, "timelog_update": 3, "timelog_delete": 1, "out_of_scope": 2,
}
TWO_SIDED = ("conflict", "orphan_forecast_deleted", "orphan_timelog_deleted", "lock_forecast", "lock_timelog")


@dataclass
class Expectations:
    """What the next quiet run must show, from what the script did."""

    touched: set[str] = field(default_factory=set)
    #: (forecast id, timelog guid, Forecast raw fields we wrote, TimeLog fields we wrote)
    conflicts: list[tuple[str, str, dict, dict]] = field(default_factory=list)
    #: (deleted side, deleted id, survivor side, survivor id, survivor fields we wrote)
    orphans: list[tuple[str, str, str, str, dict]] = field(default_factory=list)
    #: (locked side, locked id, edited side, edited id)
    locks: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: (deleted side, deleted id, twin side, twin id): the twin must be gone
    deletes: list[tuple[str, str, str, str]] = field(default_factory=list)
    out_of_scope_created: set[str] = field(default_factory=set)
    log: list[str] = field(default_factory=list)

    def merge(self, other: Expectations) -> None:
        """Add another round's expectations (several rounds before one run)."""
        self.touched |= other.touched
        self.conflicts += other.conflicts
        self.orphans += other.orphans
        self.locks += other.locks
        self.deletes += other.deletes
        self.out_of_scope_created |= other.out_of_scope_created
        self.log += other.log


class EditScript:
    """Makes seeded edits through `ForecastEditor` (REST) and `TimeLogEditor` (SOAP)."""

    def __init__(self, world: SuiteWorld, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.counter = 0

    # -- random values ---------------------------------------------------------------------------------------

    def _date(self) -> str:
        return (FIRST_DAY + dt.timedelta(days=self.rng.randrange((LAST_DAY - FIRST_DAY).days + 1))).isoformat()

    def _minutes(self, not_equal: int | None = None) -> int:
        value = self.rng.choice(MINUTES)
        return value if value != not_equal else value + 1

    def _note(self, keep_prefix_of: str = "") -> str:
        self.counter += 1
        prefix = PREFIX.match(keep_prefix_of)
        return f"{prefix.group(0) if prefix else ''}{self.rng.choice(NOTES)} #{self.counter}"

    # -- one round -------------------------------------------------------------------------------------------

    def round(self, edits: int, *, two_sided: tuple[str, ...] = TWO_SIDED) -> Expectations:
        """Make the `two_sided` scenarios (each on its own pair), then `edits` seeded one-sided edits."""
        forecast_state, timelog_state = self.world.states()
        view = World.read(forecast_state, timelog_state, self.world.links, self.world.ledger)
        self.f_state, self.t_state, self.view = forecast_state, timelog_state, view
        expect = Expectations()
        self.expect = expect
        self._resolve_conflicts()
        for scenario in two_sided:
            self._two_sided(scenario)
        names, weights = zip(*ONE_SIDED.items(), strict=True)
        for _ in range(edits):
            getattr(self, f"_{self.rng.choices(names, weights)[0]}")()
        return expect

    def _note_edit(self, text: str) -> None:
        self.expect.log.append(text)

    # -- pools -----------------------------------------------------------------------------------------------

    def _free(self, side: str) -> list:
        """In-scope, unlocked entries outside parked pairs that this round has not touched yet."""
        parked = self.view.parked_ids()[side]
        return sorted((e for e in self.view.side(side).values()
                       if e.twin is not None and not e.locked and e.id not in parked
                       and e.id not in self.expect.touched), key=lambda e: e.id)

    def _linked_pairs(self) -> list[tuple]:
        """(pair, forecast entry, timelog entry) of linked pairs whose both sides are free."""
        free_f = {e.id: e for e in self._free("forecast")}
        free_t = {e.id: e for e in self._free("timelog")}
        return [(p, free_f[p["forecast_id"]], free_t[p["timelog_id"]]) for p in self.view.pairs
                if p["state"] == "linked" and p["forecast_id"] in free_f and p["timelog_id"] in free_t]

    def _touch(self, *ids: str) -> None:
        self.expect.touched.update(ids)

    # -- Forecast (REST) -------------------------------------------------------------------------------------

    def _forecast_tasks(self, project: int) -> list[int]:
        return sorted(t["id"] for t in self.f_state["tasks"] if t["project_id"] == project)

    def _forecast_create(self, *, person: int | None = None, project: int | None = None,
                         content: dict | None = None) -> str:
        links = self.world.links
        person = person or self.rng.choice([p["forecast"] for p in links["persons"]])
        project = project or self.rng.choice([p["forecast"] for p in links["projects"]])
        tasks = self._forecast_tasks(project)
        fields = content or {"date": self._date(), "minutes": self._minutes(), "notes": self._note()}
        if "task" in fields or "project" in fields:
            where = {k: fields[k] for k in ("task", "project") if fields.get(k)}
        elif tasks and self.rng.random() < 0.75:
            where = {"task": self.rng.choice(tasks)}
        else:
            where = {"project": project}
        created = self.world.forecast.create_registration(
            person=person, date=fields["date"], minutes=fields["minutes"], notes=fields["notes"], **where)
        new_id = str(created["id"])
        self._touch(new_id)
        self._note_edit(f"forecast create {new_id}: person {person} {where} {fields}")
        return new_id

    def _forecast_update(self, entry=None, **changes: object) -> dict:
        entries = self._free("forecast")
        if entry is None:
            if not entries:
                return {}
            entry = self.rng.choice(entries)
            field_names = self.rng.sample(["time_registered", "notes", "date"], self.rng.randint(1, 3))
            changes = {}
            for name in field_names:
                if name == "time_registered":
                    changes[name] = self._minutes(not_equal=entry.raw["time_registered"])
                elif name == "notes":
                    changes[name] = self._note(keep_prefix_of=entry.raw.get("notes") or "")
                else:
                    changes[name] = self._date()
        self.world.forecast.update_registration(int(entry.id), **changes)
        self._touch(entry.id)
        self._note_edit(f"forecast update {entry.id}: {changes}")
        return changes

    def _forecast_delete(self, entry=None) -> None:
        if entry is None:
            pairs = self._linked_pairs()
            if not pairs:
                return
            _, entry, twin = self.rng.choice(pairs)
            self.expect.deletes.append(("forecast", entry.id, "timelog", twin.id))
            self._touch(twin.id)
        self.world.forecast.delete_registration(int(entry.id))
        self._touch(entry.id)
        self._note_edit(f"forecast delete {entry.id}")

    def _forecast_move(self) -> None:
        """Forecast cannot change a registration's task: a person deletes it and registers it on another task."""
        entries = [e for e in self._free("forecast") if e.raw.get("task")]
        if not entries:
            return
        entry = self.rng.choice(entries)
        others = [t for t in self._forecast_tasks(entry.twin.project) if t != entry.raw["task"]]
        if not others:
            return
        self._forecast_delete(entry)
        self._forecast_create(person=entry.raw["person"], project=entry.twin.project, content={
            "task": self.rng.choice(others), "date": entry.raw["date"], "minutes": entry.raw["time_registered"],
            "notes": entry.raw.get("notes") or ""})

    def _forecast_clone(self) -> None:
        """A second registration with exactly the content of another: twins must not be mixed up."""
        entries = [e for e in self._free("forecast") if not PREFIX.match(e.raw.get("notes") or "")]
        if not entries:
            return
        entry = self.rng.choice(entries)
        where = {"task": entry.raw["task"]} if entry.raw.get("task") else {"project": entry.raw["project"]}
        self._forecast_create(person=entry.raw["person"], project=entry.twin.project, content={
            **where, "date": entry.raw["date"], "minutes": entry.raw["time_registered"],
            "notes": entry.raw.get("notes") or ""})

    # -- TimeLog (SOAP) --------------------------------------------------------------------------------------

    def _initials(self, employee_id: int) -> str:
        return next(e["initials"] for e in self.t_state["employees"] if e["employee_id"] == employee_id)

    def _allocated_tasks(self, employee_id: int, projects: set[int]) -> list[int]:
        tasks = {t["task_id"]: t for t in self.t_state["tasks"]}
        return sorted({a["task_id"] for a in self.t_state["allocations"]
                       if a["employee_id"] == employee_id and a["task_id"] in tasks
                       and tasks[a["task_id"]]["project_id"] in projects
                       and tasks[a["task_id"]].get("status", 1) not in (3, 4)})

    def _timelog_insert(self, *, employees: list[int] | None = None, projects: set[int] | None = None) -> str | None:
        links = self.world.links
        employees = employees or sorted(p["timelog"] for p in links["persons"])
        projects = projects or {p["timelog"] for p in links["projects"]}
        candidates = [(e, t) for e in employees for t in self._allocated_tasks(e, projects)]
        if not candidates:
            return None
        employee, task = self.rng.choice(candidates)
        fields = {"date": self._date(), "minutes": self._minutes(), "note": self._note()}
        guid = self.world.timelog.insert_work(initials=self._initials(employee), task_id=task, **fields)
        self._touch(guid)
        self._note_edit(f"timelog insert {guid}: employee {employee} task {task} {fields}")
        return guid

    def _timelog_update(self, entry=None, **changes: object) -> dict:
        if entry is None:
            entries = self._free("timelog")
            if not entries:
                return {}
            entry = self.rng.choice(entries)
            changes = {}
            for name in self.rng.sample(["minutes", "note", "date", "task"], self.rng.randint(1, 3)):
                if name == "minutes":
                    changes[name] = self._minutes(not_equal=entry.raw["minutes"])
                elif name == "note":
                    changes[name] = self._note()
                elif name == "date":
                    changes[name] = self._date()
                else:
                    project = next(t["project_id"] for t in self.t_state["tasks"]
                                   if t["task_id"] == entry.raw["task_id"])
                    others = [t for t in self._allocated_tasks(entry.raw["employee_id"], {project})
                              if t != entry.raw["task_id"]]
                    if others:
                        changes["task_id"] = self.rng.choice(others)
        unit = entry.raw
        fields = {"task_id": unit["task_id"], "date": unit["start_at"][:10], "minutes": unit["minutes"],
                  "note": unit.get("description") or ""} | changes
        self.world.timelog.update_work(entry.id, initials=self._initials(unit["employee_id"]), **fields)
        self._touch(entry.id)
        self._note_edit(f"timelog update {entry.id}: {changes}")
        return changes

    def _timelog_delete(self, entry=None) -> None:
        if entry is None:
            pairs = self._linked_pairs()
            if not pairs:
                return
            _, twin, entry = self.rng.choice(pairs)
            self.expect.deletes.append(("timelog", entry.id, "forecast", twin.id))
            self._touch(twin.id)
        self.world.timelog.delete_work(entry.id)
        self._touch(entry.id)
        self._note_edit(f"timelog delete {entry.id}")

    # -- out of scope ----------------------------------------------------------------------------------------

    def _out_of_scope(self) -> None:
        """An entry the sync must leave alone (and count): an unlinked person or an unlinked project."""
        links = self.world.links
        linked_f_persons = {p["forecast"] for p in links["persons"]}
        linked_f_projects = {p["forecast"] for p in links["projects"]}
        linked_t_persons = {p["timelog"] for p in links["persons"]}
        linked_t_projects = {p["timelog"] for p in links["projects"]}
        choice = self.rng.randrange(4)
        new_id: str | None
        if choice == 0:  # a Forecast person nobody linked, on a linked project
            person = self.rng.choice(sorted({p["id"] for p in self.f_state["persons"]} - linked_f_persons))
            new_id = self._forecast_create(person=person)
        elif choice == 1:  # a linked person on a Forecast project nobody linked
            project = self.rng.choice(sorted({p["id"] for p in self.f_state["projects"]} - linked_f_projects))
            new_id = self._forecast_create(project=project)
        elif choice == 2:  # a TimeLog employee nobody linked, on a linked project
            employees = sorted({e["employee_id"] for e in self.t_state["employees"]} - linked_t_persons - {90})
            new_id = self._timelog_insert(employees=employees)
        else:  # a linked employee on a TimeLog project nobody linked
            projects = {p["project_id"] for p in self.t_state["projects"]} - linked_t_projects
            new_id = self._timelog_insert(projects=projects)
        if new_id:
            self.expect.out_of_scope_created.add(new_id)

    # -- two-sided scenarios ---------------------------------------------------------------------------------

    def _resolve_conflicts(self) -> None:
        """An operator resolves the conflicts earlier rounds parked (`timesync conflicts resolve`), seeded side.

        The next run must write the kept value to the other side: the pair is linked again and both sides are
        equal, which the convergence check then requires.
        """
        for pair in self.view.pairs:
            if pair["state"] != "conflict":
                continue
            keep = self.rng.choice(("forecast", "timelog"))
            done = self.world.timesync("conflicts", "resolve", str(pair["id"]), "--keep", keep)
            assert done.returncode == 0, f"timesync conflicts resolve {pair['id']} --keep {keep}: {done.stderr}"
            self._touch(pair["forecast_id"], pair["timelog_id"])
            self._note_edit(f"timesync conflicts resolve {pair['id']} --keep {keep} "
                            f"({pair['forecast_id']} ⇄ {pair['timelog_id']})")

    def _two_sided(self, scenario: str) -> None:
        pairs = self._linked_pairs()
        if not pairs:
            self._note_edit(f"{scenario}: no free linked pair")
            return
        _, f_entry, t_entry = self.rng.choice(pairs)
        if scenario == "conflict":
            # The same field, two different values: only a person may choose.
            f_minutes = self._minutes(not_equal=f_entry.raw["time_registered"])
            t_minutes = self._minutes(not_equal=f_minutes)
            if t_minutes == t_entry.raw["minutes"]:
                t_minutes += 2
            self._forecast_update(f_entry, time_registered=f_minutes)
            self._timelog_update(t_entry, minutes=t_minutes)
            self.expect.conflicts.append((f_entry.id, t_entry.id, {"time_registered": f_minutes},
                                          {"minutes": t_minutes}))
        elif scenario == "orphan_forecast_deleted":
            self._forecast_delete(f_entry)
            changes = self._timelog_update(t_entry, minutes=self._minutes(not_equal=t_entry.raw["minutes"]))
            self.expect.orphans.append(("forecast", f_entry.id, "timelog", t_entry.id, changes))
        elif scenario == "orphan_timelog_deleted":
            self._timelog_delete(t_entry)
            changes = self._forecast_update(
                f_entry, time_registered=self._minutes(not_equal=f_entry.raw["time_registered"]))
            self.expect.orphans.append(("timelog", t_entry.id, "forecast", f_entry.id, changes))
        elif scenario == "lock_forecast":
            self.world.sandbox.forecast.lock(registration_ids=[int(f_entry.id)])
            self._timelog_update(t_entry, minutes=self._minutes(not_equal=t_entry.raw["minutes"]))
            self._touch(f_entry.id)
            self.expect.locks.append(("forecast", f_entry.id, "timelog", t_entry.id))
            self._note_edit(f"forecast approve {f_entry.id}")
        elif scenario == "lock_timelog":
            self.world.sandbox.timelog.lock(work_guids=[t_entry.id], approved_status=10)
            self._forecast_update(f_entry, time_registered=self._minutes(not_equal=f_entry.raw["time_registered"]))
            self._touch(t_entry.id)
            self.expect.locks.append(("timelog", t_entry.id, "forecast", f_entry.id))
            self._note_edit(f"timelog approve {t_entry.id}")
        else:
            raise ValueError(scenario)
