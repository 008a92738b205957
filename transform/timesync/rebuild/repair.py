"""`timesync ledger rebuild`: re-pair a lost or stale ledger from what both sides hold, then let the sync go on.

Tasks pair by external key (the TimeLog task carrying the Forecast id), time by fingerprint (``matching``). A pair is
written as the sync would have left it after the create: state ``linked``, the base of each side its current value,
so the next run reads neither side as a change (no echo). What could be a guess is parked for a person: a single
candidate on each side as a ``conflict`` (both values kept, `timesync conflicts resolve` settles it), a group as one
``orphaned`` pair per entry naming the others. Entries already in the ledger keep their pairs (an older ledger's
linked pair gets a new base where both sides agree now); entries with no twin are left for the next sync to create.

Applying records the rebuild as a run of each direction that passed on the bookmarks Meltano holds now: the rebuild
read both sides in full after them, so the next run may resume there (``BookmarkGuard``). Its linked task pairs
are what the target's lost-ledger check looks for (``has_settled_pairs``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from timesync.adapters.timelog import GUID_MODEL_FACT
from timesync.ledger import Ledger, Pair, PairKind, PairState, PlannedPair, RunItem, RunStatus
from timesync.links import Links
from timesync.model import Direction, Side, TimeEntry
from timesync.rebuild.matching import Fingerprint, Keyed, Matching, Parked, ParkReason, combine, match, only
from timesync.rebuild.sides import Holdings
from timesync.reconcile.bookmarks import BookmarkGuard
from timesync.reconcile.landing import land, scope_of
from timesync.report.model import Window

RUN_MESSAGE = "timesync ledger rebuild: pairs re-made from what both sides hold"
FACT_SOURCE = "timesync ledger rebuild"
PARK_REASONS = {
    ParkReason.DUPLICATES: "rebuild: several entries share this fingerprint (person, date, task, minutes, note)",
    ParkReason.NEAR_MATCH: "rebuild: same person, date and task on both sides, but the minutes or the note differ",
    ParkReason.SAME_DAY: ("rebuild: project time of the same person and day on both sides (a TimeLog task Forecast "
                          "does not have), but the minutes or the note differ: twins or not, a person decides"),
}


@dataclass
class RebuildPlan:
    """What a rebuild would write, its counts and a few examples of each outcome."""

    window: Window
    planned: list[PlannedPair] = field(default_factory=list)
    items: list[RunItem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    guid_model: str | None = None
    guid_model_source: str = ""

    def example(self, category: str, limit: int, **what: Any) -> None:
        """Keep up to ``limit`` examples of one category."""
        kept = self.examples.setdefault(category, [])
        if len(kept) < limit:
            kept.append(what)

    def to_json(self) -> dict[str, Any]:
        """The report: counts, the window read, the GUID model and the examples."""
        return {"window": {"first": self.window.first.isoformat(), "last": self.window.last.isoformat()},
                "guid_model": self.guid_model, "guid_model_source": self.guid_model_source,
                "counts": dict(sorted(self.counts.items())), "examples": self.examples}


def _fingerprint(entry: TimeEntry) -> Fingerprint:
    return entry.person_id, entry.date.isoformat(), entry.task_id or "-", entry.minutes, entry.note


def _fingerprint_text(entry: TimeEntry) -> str:
    return entry.fingerprint()


class _Twins:
    """Task twins: the ledger's task pairs plus those this rebuild makes (what landing translates task ids by)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ids: dict[tuple[PairKind, Side, str], str] = {}
        for kind in (PairKind.TASK, PairKind.PROJECT_TIME_TASK):
            for pair in ledger.pairs(kind=kind):
                if pair.state is not PairState.DELETED and pair.forecast_id and pair.timelog_id:
                    self.add(kind, pair.forecast_id, pair.timelog_id)

    def add(self, kind: PairKind, forecast_id: str, timelog_id: str) -> None:
        self.ids[(kind, Side.FORECAST, forecast_id)] = timelog_id
        self.ids[(kind, Side.TIMELOG, timelog_id)] = forecast_id

    def __call__(self, kind: PairKind, side: Side, native_id: str) -> str | None:
        return self.ids.get((kind, side, native_id))


def plan_rebuild(ledger: Ledger, links: Links, holdings: Holdings, window: Window, *, examples: int) -> RebuildPlan:
    """What to write: task pairs by external key, then time pairs by fingerprint. Reads the ledger, writes nothing."""
    plan = RebuildPlan(window, guid_model=holdings.guid_model.value if holdings.guid_model else None,
                       guid_model_source=holdings.guid_model_source)
    twins = _Twins(ledger)
    _plan_tasks(ledger, holdings, plan, twins, examples)
    _plan_entries(ledger, links, holdings, plan, twins, examples)
    return plan


def _add(plan: RebuildPlan, pair: PlannedPair, outcome: str, source_id: str) -> None:
    plan.planned.append(pair)
    plan.items.append(RunItem(kind=str(pair.kind), action="rebuild", outcome=outcome, source_id=source_id,
                              pair_id=-len(plan.planned), message=pair.reason))


def _plan_tasks(ledger: Ledger, holdings: Holdings, plan: RebuildPlan, twins: _Twins, examples: int) -> None:
    tasks = holdings.forecast_tasks
    known = ledger.find_pairs(PairKind.TASK, Side.FORECAST, [task.id for task in tasks])
    taken = set(ledger.find_pairs(PairKind.TASK, Side.TIMELOG, [t.id for t in holdings.timelog_tasks.values()]))
    for task in tasks:
        twin = holdings.timelog_tasks.get(task.id)
        if task.id in known:
            plan.counts["task.already_in_ledger"] += 1
        elif twin is None:
            plan.counts["task.new"] += 1  # not in TimeLog: the next sync creates it
        elif twin.id in taken:
            plan.counts["task.twin_already_paired"] += 1
            plan.example("task_twin_already_paired", examples, forecast=task.id, timelog=twin.id)
        else:
            taken.add(twin.id)
            twins.add(PairKind.TASK, task.id, twin.id)
            _add(plan, PlannedPair(PairKind.TASK, forecast_id=task.id, timelog_id=twin.id, project=task.project_id,
                                   origin=Side.FORECAST, state=PairState.LINKED, reason="rebuild: by external key",
                                   base={"forecast": task.snapshot(), "timelog": twin.snapshot()}), "paired", task.id)
            plan.counts["task.paired"] += 1
            plan.example("task_paired", examples, forecast=task.id, timelog=twin.id, name=task.name)
    projects = holdings.project_time_tasks
    known = ledger.find_pairs(PairKind.PROJECT_TIME_TASK, Side.FORECAST, list(projects))
    for project, twin in projects.items():
        if project in known:
            plan.counts["project_time_task.already_in_ledger"] += 1
            continue
        twins.add(PairKind.PROJECT_TIME_TASK, project, twin.id)
        _add(plan, PlannedPair(PairKind.PROJECT_TIME_TASK, forecast_id=project, timelog_id=twin.id, project=project,
                               origin=Side.FORECAST, state=PairState.LINKED, reason="rebuild: by external key",
                               base={"forecast": {"project": project}, "timelog": twin.snapshot()}), "paired", project)
        plan.counts["project_time_task.paired"] += 1


def _in_scope(ledger: Ledger, links: Links, entries: Sequence[TimeEntry], side: Side,
              plan: RebuildPlan) -> tuple[dict[str, TimeEntry], dict[str, Pair]]:
    """The entries the sync would sync that no pair holds yet, and the pairs of those it holds (both by entry id;
    counted: out of scope, already in the ledger)."""
    scoped = [entry for entry in entries if scope_of(entry, links) is None]
    plan.counts[f"time_entry.out_of_scope.{side}"] += len(entries) - len(scoped)
    known = ledger.find_pairs(PairKind.TIME_ENTRY, side, [entry.id for entry in scoped])
    plan.counts[f"time_entry.already_in_ledger.{side}"] += len(known)
    return {entry.id: entry for entry in scoped if entry.id not in known}, known


def _refresh_bases(plan: RebuildPlan, links: Links, twins: _Twins, known: Mapping[str, Pair],
                   forecast: Mapping[str, TimeEntry], timelog: Mapping[str, TimeEntry]) -> None:
    """An older ledger's linked pairs whose two sides agree now, but not with the base: edited and synced while
    this ledger was not in use. Their base becomes what both hold, so their next edit is not taken for a conflict."""
    for forecast_id, pair in known.items():
        entry, twin = forecast.get(forecast_id), timelog.get(pair.timelog_id or "")
        if pair.state is not PairState.LINKED or entry is None or twin is None:
            continue
        image = land(entry, links, twins, pair.base).image
        base = {"forecast": entry.snapshot(), "timelog": twin.snapshot()}
        if image is not None and _fingerprint(image) == _fingerprint(twin) and pair.base != base:
            _add(plan, PlannedPair(PairKind.TIME_ENTRY, pair_id=pair.id, base=base,
                                   reason="rebuild: base refreshed (both sides agree)"), "rebased", forecast_id)
            plan.counts["time_entry.base_refreshed"] += 1


def _images(entries: Iterable[TimeEntry], links: Links, twins: _Twins) -> list[Keyed]:
    """Each entry keyed by its twin image: the fingerprint it has in the other side's terms, as the sync lands it."""
    keyed = []
    for entry in entries:
        image = land(entry, links, twins).image
        if image is not None:
            keyed.append(Keyed(entry.id, _fingerprint(image)))
    return keyed


def _plan_entries(ledger: Ledger, links: Links, holdings: Holdings, plan: RebuildPlan, twins: _Twins,
                  examples: int) -> None:
    forecast, known = _in_scope(ledger, links, holdings.forecast_entries, Side.FORECAST, plan)
    timelog, _ = _in_scope(ledger, links, holdings.timelog_entries, Side.TIMELOG, plan)
    _refresh_bases(plan, links, twins, known, {e.id: e for e in holdings.forecast_entries},
                   {e.id: e for e in holdings.timelog_entries})
    # In TimeLog's terms first; then what is left in Forecast's, which finds TimeLog work on a task Forecast does
    # not have (its Forecast twin is project time whose note starts with the task's name). Exact twins only pair
    # there: all of a person's project time of a day shares person, date and task, so a near match is a guess,
    # parked one pair per entry (never a conflict, whose resolving would copy one entry over another).
    first = match(_images(forecast.values(), links, twins), [Keyed(e.id, _fingerprint(e)) for e in timelog.values()])
    own = [Keyed(e.id, _fingerprint(e)) for e in forecast.values()]
    second = match(only(own, first.unmatched_left),
                   _images((timelog[i] for i in first.unmatched_right), links, twins), near=ParkReason.SAME_DAY)
    result: Matching = combine(first, second)
    for forecast_id, timelog_id in result.paired:
        entry, twin = forecast[forecast_id], timelog[timelog_id]
        _add(plan, PlannedPair(PairKind.TIME_ENTRY, forecast_id=forecast_id, timelog_id=timelog_id,
                               project=entry.project_id, origin=Side.FORECAST, state=PairState.LINKED,
                               reason="rebuild: by fingerprint",
                               base={"forecast": entry.snapshot(), "timelog": twin.snapshot()}), "paired", forecast_id)
        plan.counts["time_entry.paired"] += 1
        plan.example("time_entry_paired", examples, forecast=forecast_id, timelog=timelog_id,
                     fingerprint=_fingerprint_text(entry))
    for group in result.parked:
        _park(plan, links, group, forecast, timelog, examples)
    for side, ids, entries in ((Side.FORECAST, result.unmatched_left, forecast),
                               (Side.TIMELOG, result.unmatched_right, timelog)):
        plan.counts[f"time_entry.unmatched.{side}"] += len(ids)
        for entry_id in ids[:examples]:
            plan.example(f"time_entry_unmatched_{side}", examples, id=entry_id,
                         fingerprint=_fingerprint_text(entries[entry_id]))


def _park(plan: RebuildPlan, links: Links, group: Parked, forecast: Mapping[str, TimeEntry],
          timelog: Mapping[str, TimeEntry], examples: int) -> None:
    """One candidate on each side: a conflict pair with both values. A group: an orphaned pair per entry."""
    reason = PARK_REASONS[group.reason]
    plan.counts["time_entry.parked"] += len(group.left) + len(group.right)
    plan.example("time_entry_parked", examples, reason=str(group.reason), forecast=list(group.left),
                 timelog=list(group.right))
    if len(group.left) == 1 and len(group.right) == 1 and group.reason is ParkReason.NEAR_MATCH:
        entry, twin = forecast[group.left[0]], timelog[group.right[0]]
        values = {"forecast": entry.snapshot(), "timelog": twin.snapshot()}
        _add(plan, PlannedPair(PairKind.TIME_ENTRY, forecast_id=entry.id, timelog_id=twin.id, project=entry.project_id,
                               origin=Side.FORECAST, state=PairState.CONFLICT, reason=reason, base=values,
                               conflict=values), "parked", entry.id)
        return
    others = f"{reason}: Forecast {', '.join(group.left)}; TimeLog {', '.join(group.right)}"
    for side, ids, entries in ((Side.FORECAST, group.left, forecast), (Side.TIMELOG, group.right, timelog)):
        for entry_id in ids:
            entry = entries[entry_id]
            link = links.project(str(side), entry.project_id)
            _add(plan, PlannedPair(PairKind.TIME_ENTRY, origin=side, state=PairState.ORPHANED, reason=others,
                                   forecast_id=entry_id if side is Side.FORECAST else None,
                                   timelog_id=entry_id if side is Side.TIMELOG else None,
                                   project=link.forecast if link else None, base={str(side): entry.snapshot()}),
                 "parked", entry_id)


def apply_rebuild(ledger: Ledger, links: Links, plan: RebuildPlan,
                  meltano_states: Mapping[Direction, Mapping[str, Any] | None]) -> list[int]:
    """Write the plan as a run of each direction that passed on Meltano's current bookmarks; the run ids.

    The caller holds the run lock, so no sync plans between the reads the plan came from and these writes.
    """
    ledger.sync_links(links)  # these links' history was just re-paired: the next run sees no new link
    run_ids = []
    for direction in Direction:
        run_id = ledger.begin_run(direction)
        if direction is Direction.FORECAST_TO_TIMELOG:
            ledger.record_plan(run_id, direction, plan.planned, plan.items,
                               {f"rebuild.{key}": value for key, value in plan.counts.items()}, dry_run=False)
        ledger.finish_run(run_id, RunStatus.OK, message=RUN_MESSAGE)
        state = meltano_states.get(direction)
        BookmarkGuard(ledger, direction).record([state] if state else [], run_id)
        run_ids.append(run_id)
    if plan.guid_model and GUID_MODEL_FACT not in ledger.facts():
        ledger.record_fact(GUID_MODEL_FACT, plan.guid_model, FACT_SOURCE)
    return run_ids
