"""Invariants 1-8 of the design brief, checked on the two sandbox states, the links and the ledger.

The checks read the simulators' own state (`/_sandbox/state`), not the sync's view of it, and derive what
"the twin" of an entry is from the links and from TimeLog's external keys:

* a Forecast registration on task T lands on the TimeLog task whose external key is T;
* a Forecast registration on the project itself lands on the TimeLog task keyed `project-<id>`;
* TimeLog work on a task Forecast does not know becomes Forecast project time, its note prefixed with
  `[<task name>] ` (the documented landing rule).

Every entry becomes a `Twin` in Forecast ids (project, person, task or None, date, minutes, note); two
entries are twins when their `Twin`s are equal. Pairs the ledger parks (conflict, orphaned, locked) are left
out of the equality check and checked by the scenario that parked them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from tests.e2e.suites.world import LedgerView

TIMELOG_APPROVED = 10
FORECAST_APPROVED = "APPROVED"
PARKED_STATES = frozenset({"conflict", "orphaned", "locked"})
PROJECT_TIME_KEY = re.compile(r"^project-(\d+)$")
WRITE_OUTCOMES = frozenset({"created", "updated", "deleted", "move_deleted"})


@dataclass(frozen=True)
class Twin:
    """What must be equal between an entry and its twin, in Forecast ids."""

    project: int
    person: int
    task: int | None
    date: str
    minutes: int
    note: str


@dataclass
class Entry:
    """One registration (Forecast) or work unit (TimeLog) as the simulator holds it."""

    side: str
    id: str
    raw: dict
    twin: Twin | None  # None: out of scope
    locked: bool
    why_out: str | None = None


@dataclass
class Scope:
    """The links, both ways."""

    projects_f2t: dict[int, int]
    persons_f2t: dict[int, int]
    projects_t2f: dict[int, int] = field(init=False)
    persons_t2f: dict[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.projects_t2f = {t: f for f, t in self.projects_f2t.items()}
        self.persons_t2f = {t: f for f, t in self.persons_f2t.items()}

    @classmethod
    def of(cls, links: dict) -> Scope:
        """From a links.yml dict."""
        return cls({p["forecast"]: p["timelog"] for p in links["projects"]},
                   {p["forecast"]: p["timelog"] for p in links["persons"]})


def forecast_entries(state: dict, scope: Scope) -> dict[str, Entry]:
    """Every Forecast registration, keyed by id, with its twin image (None when out of scope)."""
    tasks = {task["id"]: task for task in state["tasks"]}
    entries = {}
    for reg in state["time_registrations"]:
        project = reg.get("project") or (tasks[reg["task"]]["project_id"] if reg.get("task") in tasks else None)
        why = None
        if reg.get("non_project_time") is not None:
            why = "non_project_time"
        elif project not in scope.projects_f2t:
            why = "unlinked_project"
        elif reg["person"] not in scope.persons_f2t:
            why = "unlinked_person"
        twin = None if why else Twin(project, reg["person"], reg.get("task"), reg["date"], reg["time_registered"],
                                     reg.get("notes") or "")
        entries[str(reg["id"])] = Entry("forecast", str(reg["id"]), reg, twin,
                                        reg.get("approval_status") == FORECAST_APPROVED, why)
    return entries


def _forecast_view_of_task(task: dict) -> tuple[str, int | None]:
    """('forecast_task', id) | ('project_time', None) | ('timelog_only', None) from its external keys."""
    for key in task.get("external_keys") or []:
        if str(key.get("system_name", "")).lower() != "forecast":
            continue
        value = str(key.get("external_id", ""))
        if value.isdigit():
            return "forecast_task", int(value)
        if PROJECT_TIME_KEY.match(value):
            return "project_time", None
    return "timelog_only", None


def timelog_entries(state: dict, scope: Scope) -> dict[str, Entry]:
    """Every TimeLog work unit, keyed by GUID, with its twin image in Forecast ids."""
    tasks = {task["task_id"]: task for task in state["tasks"]}
    entries = {}
    for unit in state["work_units"]:
        task = tasks[unit["task_id"]]
        why = None
        if task["project_id"] not in scope.projects_t2f:
            why = "unlinked_project"
        elif unit["employee_id"] not in scope.persons_t2f:
            why = "unlinked_person"
        twin = None
        if why is None:
            kind, forecast_task = _forecast_view_of_task(task)
            note = unit.get("description") or ""
            if kind == "timelog_only":
                note = f"[{task['name']}] {note}"
            twin = Twin(scope.projects_t2f[task["project_id"]], scope.persons_t2f[unit["employee_id"]],
                        forecast_task, unit["start_at"][:10], unit["minutes"], note)
        entries[unit["guid"]] = Entry("timelog", unit["guid"], unit, twin,
                                      (unit.get("approved_status") or 0) >= TIMELOG_APPROVED, why)
    return entries


@dataclass
class World:
    """Both sides' entries and the ledger's time-entry pairs at one moment."""

    forecast: dict[str, Entry]
    timelog: dict[str, Entry]
    pairs: list[dict]

    @classmethod
    def read(cls, forecast_state: dict, timelog_state: dict, links: dict, ledger: LedgerView) -> World:
        """Read everything."""
        scope = Scope.of(links)
        return cls(forecast_entries(forecast_state, scope), timelog_entries(timelog_state, scope),
                   ledger.pairs("time_entry"))

    def side(self, name: str) -> dict[str, Entry]:
        """The entries of `forecast` or `timelog`."""
        return self.forecast if name == "forecast" else self.timelog

    def parked_ids(self) -> dict[str, set[str]]:
        """Ids per side in pairs the sync parked (conflict, orphaned, locked)."""
        parked: dict[str, set[str]] = {"forecast": set(), "timelog": set()}
        for pair in self.pairs:
            if pair["state"] in PARKED_STATES:
                if pair["forecast_id"]:
                    parked["forecast"].add(pair["forecast_id"])
                if pair["timelog_id"]:
                    parked["timelog"].add(pair["timelog_id"])
        return parked

    def pair_of(self, side: str, entry_id: str) -> dict | None:
        """The ledger pair holding this entry."""
        column = f"{side}_id"
        return next((p for p in self.pairs if p[column] == entry_id and p["state"] != "deleted"), None)


def _describe(entry: Entry) -> str:
    return f"{entry.side} {entry.id}: {entry.twin}"


def convergence_problems(world: World) -> list[str]:
    """Invariant 1 (and 7: minutes and dates are part of the comparison): every in-scope entry outside parked
    pairs has exactly one twin, no side has a duplicate, and the ledger pairs exactly those twins."""
    problems: list[str] = []
    parked = world.parked_ids()
    live = {side: {i: e for i, e in world.side(side).items() if e.twin is not None and i not in parked[side]}
            for side in ("forecast", "timelog")}
    counts = {side: Counter(e.twin for e in entries.values()) for side, entries in live.items()}
    for twin in sorted(set(counts["forecast"]) | set(counts["timelog"]), key=repr):
        f, t = counts["forecast"][twin], counts["timelog"][twin]
        if f != t:
            ids = {side: sorted(i for i, e in live[side].items() if e.twin == twin) for side in live}
            problems.append(f"{f} Forecast vs {t} TimeLog entries of {twin} (ids {ids})")
    seen: dict[str, Counter[str]] = {"forecast": Counter(), "timelog": Counter()}
    for pair in world.pairs:
        if pair["state"] == "creating":
            problems.append(f"pair {pair['id']} still 'creating' after a quiet run: {pair['forecast_id']} ⇄ "
                            f"{pair['timelog_id']}")
        if pair["state"] != "linked":
            continue
        f = live["forecast"].get(pair["forecast_id"] or "")
        t = live["timelog"].get(pair["timelog_id"] or "")
        seen["forecast"][pair["forecast_id"]] += 1
        seen["timelog"][pair["timelog_id"]] += 1
        if f is None or t is None:
            problems.append(f"linked pair {pair['id']} names a missing entry: forecast {pair['forecast_id']} "
                            f"({'present' if f else 'missing'}) ⇄ timelog {pair['timelog_id']} "
                            f"({'present' if t else 'missing'})")
        elif f.twin != t.twin:
            problems.append(f"linked pair {pair['id']} differs: {_describe(f)} ≠ {_describe(t)}")
    for side, entries in live.items():
        for entry_id, entry in entries.items():
            if seen[side][entry_id] != 1:
                problems.append(f"{_describe(entry)} is in {seen[side][entry_id]} linked pairs (expected 1)")
    return problems


def changed_entries(before: dict[str, Entry], after: dict[str, Entry], ids: set[str]) -> list[str]:
    """Entries among `ids` that were deleted or whose raw record changed (timestamps included)."""
    problems = []
    for entry_id in sorted(ids):
        old, new = before.get(entry_id), after.get(entry_id)
        if new is None:
            problems.append(f"{old.side if old else '?'} {entry_id} was deleted")
        elif old is not None and old.raw != new.raw:
            diff = {k: (old.raw.get(k), new.raw.get(k)) for k in set(old.raw) | set(new.raw)
                    if old.raw.get(k) != new.raw.get(k)}
            problems.append(f"{new.side} {entry_id} changed: {diff}")
    return problems


def untouched_problems(before: World, after: World, *, touched_by_test: set[str]) -> list[str]:
    """Invariants 6 and 8: out-of-scope and locked entries are byte-for-byte as they were before the run."""
    problems = []
    for side in ("forecast", "timelog"):
        old, new = before.side(side), after.side(side)
        out = {i for i, e in old.items() if e.twin is None} - touched_by_test
        locked = {i for i, e in old.items() if e.locked} - touched_by_test
        problems += [f"out of scope, yet written: {p}" for p in changed_entries(old, new, out)]
        problems += [f"locked, yet written: {p}" for p in changed_entries(old, new, locked - out)]
    return problems


def run_items_since(ledger: LedgerView, after_run_id: int) -> list[dict]:
    """Run items recorded by runs newer than `after_run_id`."""
    run_ids = [run["id"] for run in ledger.runs() if run["id"] > after_run_id]
    return ledger.run_items(run_ids)


def counted_out_of_scope(items: list[dict]) -> set[str]:
    """Source ids the runs counted as out of scope."""
    return {item["source_id"] for item in items if item["outcome"] == "out_of_scope" and item["source_id"]}


def written_items(items: list[dict]) -> list[dict]:
    """Target outcomes that wrote to an API."""
    return [item for item in items if item["actor"] == "target" and item["outcome"] in WRITE_OUTCOMES]


def pair_summary(world: World) -> str:
    """Pair states, for failure messages."""
    return json.dumps(Counter(p["state"] for p in world.pairs))
