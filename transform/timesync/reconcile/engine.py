"""One direction of a sync run: canonical records in, a recorded plan and the command records out."""

from __future__ import annotations

import bisect
import gc
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, overload

from timesync.adapters import ADAPTERS, Adapter
from timesync.ledger import Ledger, Pair, PairKind, PairState, PlannedPair, RunItem, RunStatus
from timesync.ledger.store import batched
from timesync.links import Links
from timesync.model import (
    Assignment,
    Deletion,
    Direction,
    Person,
    Project,
    Side,
    Task,
    TimeEntry,
    entry_from_snapshot,
    json_text,
    to_json_ready,
)
from timesync.reconcile.commands import CommandKind
from timesync.reconcile.landing import OutOfScope, TaskRef, land, synced_note_prefix, task_name_from_base
from timesync.reconcile.lease import fingerprint_matches
from timesync.reconcile.rules import Action, Change, Decision, compare, decide

ENTRY_COMMANDS: dict[Side, dict[str, CommandKind]] = {
    Side.TIMELOG: {"create": CommandKind.WORK_CREATE, "update": CommandKind.WORK_UPDATE,
                   "delete": CommandKind.WORK_DELETE},
    Side.FORECAST: {"create": CommandKind.REGISTRATION_CREATE, "update": CommandKind.REGISTRATION_UPDATE,
                    "delete": CommandKind.REGISTRATION_DELETE},
}
# How each rule action reads in the run report and counts.
CLASSIFICATION: dict[Action, str] = {
    Action.CREATE: "new", Action.UPDATE: "changed", Action.MOVE: "moved", Action.DELETE: "deleted",
    Action.NONE: "unchanged", Action.PARK: "conflict", Action.LOCK: "locked", Action.ORPHAN: "orphaned",
    Action.TOMBSTONE: "deleted", Action.YIELD: "conflict_yielded",
}
PROJECT_TIME_EXTERNAL_KEY = "project-{project}"
# Commands per planned time entry, by the rule's action (a stale create intent adds a delete: see entry_commands).
ENTRY_COMMAND_COUNT: dict[Action, int] = {Action.CREATE: 1, Action.UPDATE: 1, Action.MOVE: 2}
# Time entries classified per bulk pair lookup: their pairs are held only while their chunk is planned.
ENTRIES_PER_LOOKUP = 1_000


class FloodGuardError(RuntimeError):
    """The run would write more than max_changes_per_run; nothing was emitted."""


@dataclass(frozen=True, slots=True, eq=False)
class EntryWrite:
    """What builds a planned time entry's commands again: kept instead of them (about 100 bytes, not 5 KB)."""

    reconciler: Reconciler
    entry: TimeEntry
    image: TimeEntry  # the twin as it will read
    task_ref: TaskRef | None
    pair: Pair | None
    action: Action
    source_change: Change
    stale_intent: dict[str, Any] | None  # an unconfirmed create's fingerprint that the source no longer matches

    @property
    def count(self) -> int:
        """How many commands it builds."""
        return 2 if self.stale_intent else ENTRY_COMMAND_COUNT.get(self.action, 0)

    def commands(self) -> list[dict[str, Any]]:
        """Its commands, unnumbered."""
        return self.reconciler.entry_commands(self)

    def fingerprint(self) -> str | None:
        """What the pair stores to find the twin after a crash (creates and moves)."""
        return json_text(self.image.snapshot()) if self.action in (Action.CREATE, Action.MOVE) \
            else None


@dataclass
class Plan:
    """What one direction of a run will do: pair writes with their commands, the audit, and counts.

    Tasks and allocations hold their commands (``PlannedPair.commands``). Time entries hold an ``EntryWrite``
    instead: their commands are built when the plan is recorded and again when emitted, so a 50k backfill never
    holds 50k command dicts at once.
    """

    planned: list[PlannedPair] = field(default_factory=list)
    entry_writes: list[EntryWrite | None] = field(default_factory=list)  # one per planned pair write
    items: list[RunItem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    replays: list[Pair] = field(default_factory=list)
    existing_pair_ids: set[int] = field(default_factory=set)  # planned writes to pairs already in the ledger

    def add(self, planned: PlannedPair, entry_write: EntryWrite | None = None) -> int:
        """Append a pair write (a time entry's with what builds its commands); returns its index."""
        self.planned.append(planned)
        self.entry_writes.append(entry_write)
        if planned.pair_id is not None:
            self.existing_pair_ids.add(planned.pair_id)
        return len(self.planned) - 1

    def command_count(self, index: int) -> int:
        """How many commands the pair write at ``index`` emits (without building them)."""
        entry_write = self.entry_writes[index]
        return entry_write.count if entry_write else len(self.planned[index].commands)

    def commands_of(self, index: int) -> list[dict[str, Any]]:
        """The commands of the pair write at ``index``: held, or freshly built."""
        entry_write = self.entry_writes[index]
        return entry_write.commands() if entry_write else self.planned[index].commands

    @property
    def write_count(self) -> int:
        """Commands this run would emit, replays included (what the flood guard counts)."""
        return sum(map(self.command_count, range(len(self.planned)))) + sum(len(p.pending) for p in self.replays)


class Commands(Sequence[dict[str, Any]]):
    """A recorded run's commands in apply order: the plan's (each pair's built when reached), then the replays.

    Iterating builds one pair's commands at a time, so emitting a large run keeps memory flat. Indexing keeps what
    it built: an edit to ``commands[i]`` shows when iterating again, as with a list.
    """

    def __init__(self, run_id: int, plan: Plan, pair_ids: list[int], replayed: list[dict[str, Any]]) -> None:
        self._run_id, self._pair_ids, self._replayed = run_id, pair_ids, replayed
        self._planned_count, self._build = len(plan.planned), plan.commands_of
        self._starts = [0]  # position of each pair write's first command
        for index in range(self._planned_count):
            self._starts.append(self._starts[-1] + plan.command_count(index))
        self._kept: dict[int, list[dict[str, Any]]] = {}  # pair-write index -> commands handed out by indexing

    def _commands_of(self, index: int) -> list[dict[str, Any]]:
        if index in self._kept:
            return self._kept[index]
        commands = self._build(index)
        _number(commands, self._run_id, self._starts[index] + 1, self._pair_ids[index])
        return commands

    def __len__(self) -> int:
        return self._starts[-1] + len(self._replayed)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in range(self._planned_count):
            yield from self._commands_of(index)
        yield from self._replayed

    @overload
    def __getitem__(self, position: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, position: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, position: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError("command index out of range")
        if position >= self._starts[-1]:
            return self._replayed[position - self._starts[-1]]
        index = bisect.bisect_right(self._starts, position) - 1
        self._kept[index] = self._commands_of(index)
        return self._kept[index][position - self._starts[index]]


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Plan and record without the cyclic garbage collector (reference counting still frees everything).

    A plan allocates tens of thousands of objects that all stay alive; each full collection would walk all of
    them and the collected input again, about a sixth of the step's time on a 5k backfill.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _number(commands: list[dict[str, Any]], run_id: int, first_seq: int, pair_id: int | None = None) -> None:
    """Give commands their place in the run (``r<run>-<seq>``) and, once recorded, their pair."""
    for seq, command in enumerate(commands, start=first_seq):
        command["run_id"], command["seq"], command["command_id"] = run_id, seq, f"r{run_id}-{seq}"
        if pair_id is not None:
            command["pair_id"] = pair_id


class _PairIndex:
    """Pairs by (kind, side, native id) for one plan, looked up in bulk: tasks, project-time tasks, allocations.

    They are few (hundreds) and looked up again and again (every entry on a task asks for the task's twin).
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._known: dict[tuple[PairKind, Side, str], Pair | None] = {}

    def load(self, kind: PairKind, side: Side, native_ids: Iterable[str]) -> None:
        """Look up every id not known yet, in bulk (an id without a pair is remembered as None)."""
        missing = [i for i in dict.fromkeys(native_ids) if (kind, side, i) not in self._known]
        if missing:
            found = self.ledger.find_pairs(kind, side, missing)
            self._known.update({(kind, side, native_id): found.get(native_id) for native_id in missing})

    def get(self, kind: PairKind, side: Side, native_id: str) -> Pair | None:
        """The pair holding ``native_id`` on ``side``, or None."""
        key = (kind, side, native_id)
        if key not in self._known:
            self.load(kind, side, [native_id])
        return self._known[key]


class Reconciler:
    """Collects one tap's records, plans against the ledger, records the plan and returns the commands."""

    def __init__(self, ledger: Ledger, links: Links, direction: Direction, *, dry_run: bool = False) -> None:
        self.ledger, self.links, self.direction, self.dry_run = ledger, links, direction, dry_run
        self.source, self.target = direction.source, direction.target
        self.source_adapter: Adapter = ADAPTERS[self.source]
        self.target_adapter: Adapter = ADAPTERS[self.target]
        self.entries: dict[str, TimeEntry] = {}
        self.tasks: dict[str, Task] = {}
        self.assignments: dict[str, Assignment] = {}
        self.deletions: dict[tuple[str, str], Deletion] = {}
        self.ignored: Counter[str] = Counter()
        # The source side's projects and persons (id -> name), by kind: links.yml is checked against them.
        self.directory: dict[str, dict[str, str]] = {}
        self._new_pairs: dict[tuple[PairKind, str], int] = {}  # (kind, source id) -> index in plan.planned
        self._pairs = _PairIndex(ledger)  # fresh for every plan
        # Fingerprints of the other side's unconfirmed creates, by (person, date, minutes, note).
        self._unconfirmed: dict[tuple[Any, ...], list[dict[str, Any]]] | None = None
        self.run_id: int | None = None

    # -- input -------------------------------------------------------------------------------------------

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        """Take one tap record; the latest version of an id wins (overlap windows re-send records)."""
        for item in self.source_adapter.to_canonical(stream, record):
            if isinstance(item, TimeEntry):
                self.entries[item.id] = item
                self.deletions.pop(("time_entry", item.id), None)
            elif isinstance(item, Deletion):
                self.deletions[(item.kind, item.id)] = item
                if item.kind == "time_entry":
                    self.entries.pop(item.id, None)
            elif isinstance(item, Task):
                self.tasks[item.id] = item
            elif isinstance(item, Assignment):
                self.assignments[item.id] = item
            else:
                if isinstance(item, Project | Person):
                    self.directory.setdefault("project" if isinstance(item, Project) else "person", {})[
                        item.id] = item.name
                self.ignored[stream] += 1

    # -- the run ---------------------------------------------------------------------------------------

    def run(self) -> Sequence[dict[str, Any]]:
        """Plan, apply the flood guard, record the plan (intents first) and return the commands to emit.

        Everything that can refuse or fail (the flood guard, the ledger writes) is done before this returns; the
        returned ``Commands`` only builds each command again, from memory, when it is reached.
        """
        with _cyclic_gc_paused():
            return self._run()

    def _run(self) -> Sequence[dict[str, Any]]:
        self.ledger.sync_links(self.links)
        self.run_id = self.ledger.begin_run(self.direction, dry_run=self.dry_run)
        plan = self.plan()
        limit = self.links.options.max_changes_per_run
        write_count = plan.counts["commands"] = plan.write_count
        if write_count > limit:
            message = (f"flood guard: this run would write {write_count} changes, more than "
                       f"max_changes_per_run={limit} (options in {self.links.source}). Nothing was written; the "
                       f"plan is recorded as run {self.run_id}. Raise the option or check the links, then re-run.")
            refused = (replace(item, outcome=f"refused:{item.outcome}") for item in plan.items)
            self.ledger.record_plan(self.run_id, self.direction, plan.planned, refused, plan.counts, dry_run=True)
            self.ledger.finish_run(self.run_id, RunStatus.REFUSED, message=message)
            raise FloodGuardError(message)
        if self.dry_run:
            self.ledger.record_plan(self.run_id, self.direction, plan.planned, plan.items, plan.counts, dry_run=True)
            self.ledger.finish_run(self.run_id, RunStatus.DRY_RUN)
            return []
        pair_ids = self.ledger.record_plan(self.run_id, self.direction, self._with_commands(plan), plan.items,
                                           plan.counts, dry_run=False)
        replayed = [{**command, "lookup_first": True} for pair in plan.replays for command in pair.pending]
        self.ledger.note_replays(pair.id for pair in plan.replays)
        self.ledger.finish_run(self.run_id, RunStatus.OK)
        return Commands(self.run_id, plan, pair_ids, replayed)

    def resolve_conflict(self, pair: Pair, keep: Side) -> list[dict[str, Any]]:
        """Park no more: queue the kept side's value for the other side (replayed by the next run of this direction).

        The pair's conflict snapshots say what each side held when it was parked; the other side's becomes the
        lease, so a change made there since is caught again instead of overwritten.
        """
        if keep is not self.source:
            raise ValueError(f"resolve with the {keep}-to-{keep.other} reconciler")
        if pair.state is not PairState.CONFLICT or not pair.conflict:
            raise ValueError(f"pair {pair.id} is {pair.state}, not an open conflict")
        kept, other = pair.conflict.get(str(keep)), pair.conflict.get(str(keep.other))
        if kept is None or other is None:
            raise ValueError(f"pair {pair.id}: the {keep if kept is None else keep.other} side no longer exists; "
                             "delete or re-create the entry by hand")
        self.run_id = self.ledger.begin_run(self.direction)
        entry = entry_from_snapshot(keep, pair.id_on(keep) or "", kept)
        if keep is Side.TIMELOG and entry.task_name is None:
            entry = replace(entry, task_name=task_name_from_base(pair.base, entry.task_id))
        # The other side's parked value becomes its lease base: compared field by field, so no extra keys.
        other = {name: value for name, value in other.items() if name != "task_name"}
        # The kept side's last synced value, marked so it compares as changed: the write happens, and landing still
        # sees the synced note (the TimeLog task-name prefix of project time).
        resolved = {**(pair.base_on(keep) or {}), "resolved_by": "timesync conflicts resolve"}
        if keep is Side.FORECAST and "note" in other:
            # Landing strips the synced prefix (Forecast note over TimeLog note); the TimeLog note is now ``other``'s.
            resolved["note"] = synced_note_prefix(pair.base) + other["note"]
        base = {str(keep): resolved, str(keep.other): other}
        linked = replace(pair, state=PairState.LINKED, base=base)
        plan = Plan()
        self._pairs = _PairIndex(self.ledger)
        self._plan_entry(plan, entry, linked)
        for planned in plan.planned:
            planned.state, planned.base = PairState.LINKED, base
            planned.reason = f"conflict resolved: keep {keep}"
        pair_ids = self.ledger.record_plan(self.run_id, self.direction, self._with_commands(plan), plan.items,
                                           plan.counts, dry_run=False)
        self.ledger.finish_run(self.run_id, RunStatus.OK, message=f"conflict {pair.id} resolved: keep {keep}")
        return list(Commands(self.run_id, plan, pair_ids, []))

    def _with_commands(self, plan: Plan) -> Iterator[PlannedPair]:
        """Each planned pair with its numbered commands, for record_plan (time entries' built now, not kept)."""
        assert self.run_id is not None
        seq = 1
        for index, (planned, entry_write) in enumerate(zip(plan.planned, plan.entry_writes, strict=True)):
            commands = plan.commands_of(index)
            _number(commands, self.run_id, seq)
            seq += len(commands)
            yield replace(planned, commands=commands, fingerprint=entry_write.fingerprint()) if entry_write \
                else planned

    def plan(self) -> Plan:
        """Classify everything collected, without writing to the ledger.

        Pairs are looked up in bulk: the tasks' and allocations' once, the time entries' a chunk at a time.
        """
        plan = Plan()
        self._new_pairs.clear()
        self._unconfirmed = None
        self._pairs = _PairIndex(self.ledger)
        self._load_task_pairs()
        if self.source is Side.FORECAST:
            for task in _parents_first(self.tasks):
                self._plan_task(plan, task)
            for assignment in self.assignments.values():
                self._plan_allocation(plan, assignment)
            for deletion in (d for d in self.deletions.values() if d.kind == "task"):
                self._plan_task_deletion(plan, deletion)
        elif self.tasks:
            plan.counts["task.one_way_ignored"] += len(self.tasks)
        entry_deletions = [d for d in self.deletions.values() if d.kind == "time_entry"]
        deleted_pairs = self.ledger.find_pairs(PairKind.TIME_ENTRY, self.source,
                                               [d.id for d in entry_deletions]) if entry_deletions else {}
        moved = self._detect_moves(plan, entry_deletions, deleted_pairs)
        for deletion in entry_deletions:
            if deletion.id not in moved:
                self._plan_entry_deletion(plan, deletion, deleted_pairs.get(deletion.id))
        moved_to = set(moved.values())
        for chunk in batched((e for e in self.entries.values() if e.id not in moved_to), ENTRIES_PER_LOOKUP):
            pairs = self.ledger.find_pairs(PairKind.TIME_ENTRY, self.source, [entry.id for entry in chunk])
            for entry in chunk:
                self._plan_entry(plan, entry, pairs.get(entry.id))
        plan.replays = [pair for pair in self.ledger.pending_pairs(self.direction)
                        if pair.id not in plan.existing_pair_ids]
        for stream, count in self.ignored.items():
            plan.counts[f"read.{stream}"] += count
        return plan

    # -- lookups ---------------------------------------------------------------------------------------

    def _load_task_pairs(self) -> None:
        """Look up at once the pairs the rules ask for per record: tasks, project-time tasks, allocations."""
        entry_tasks = {entry.task_id for entry in self.entries.values() if entry.task_id}
        if self.source is Side.TIMELOG:
            # Where TimeLog work lands in Forecast: its task's twin, or project time (landing._land_in_forecast).
            self._pairs.load(PairKind.TASK, Side.TIMELOG, entry_tasks)
            self._pairs.load(PairKind.PROJECT_TIME_TASK, Side.TIMELOG, entry_tasks)
            return
        tasks = entry_tasks | set(self.tasks) | {a.task_id for a in self.assignments.values()}
        tasks |= {t.parent_id for t in self.tasks.values() if t.parent_id}
        tasks |= {d.id for d in self.deletions.values() if d.kind == "task"}
        self._pairs.load(PairKind.TASK, Side.FORECAST, tasks)
        self._pairs.load(PairKind.PROJECT_TIME_TASK, Side.FORECAST,
                         {e.project_id for e in self.entries.values() if e.task_id is None and e.project_id})
        self._pairs.load(PairKind.ALLOCATION, Side.FORECAST, self.assignments)

    def _twin_of(self, kind: PairKind, side: Side, native_id: str) -> str | None:
        pair = self._pairs.get(kind, side, native_id)
        if pair is None or pair.state is PairState.DELETED:
            return None
        return pair.id_on(side.other)

    def _note(self, plan: Plan, kind: PairKind, source_id: str, decision: Decision, pair_id: int | None) -> None:
        label = CLASSIFICATION[decision.action]
        plan.counts[f"{kind}.{label}"] += 1
        # Enum values, not str(enum): one shared string instead of two new ones per item.
        plan.items.append(RunItem(kind=kind.value, action=decision.action.value, outcome=label, source_id=source_id,
                                  pair_id=pair_id, message=decision.reason))

    def _out_of_scope(self, plan: Plan, kind: PairKind, source_id: str, reason: OutOfScope | str,
                      what: str = "") -> None:
        """Count and record it; ``what`` names the unlinked person or project (for `timesync links check`)."""
        plan.counts[f"out_of_scope.{reason}"] += 1
        plan.items.append(RunItem(kind=kind.value, action="none", outcome="out_of_scope", source_id=source_id,
                                  message=sys.intern(f"{reason}: {what}" if what else str(reason))))

    def _add(self, plan: Plan, planned: PlannedPair, source_id: str,
             entry_write: EntryWrite | None = None) -> int:
        """Add a pair write to the plan; returns the run-item pair id (a placeholder for a new pair)."""
        index = plan.add(planned, entry_write)
        if planned.pair_id is None:
            if planned.kind is not PairKind.TIME_ENTRY:  # only tasks are asked for (a 50k backfill needs no index)
                self._new_pairs[(planned.kind, source_id)] = index
            return -1 - index
        return planned.pair_id

    def _command(self, kind: CommandKind, action: Action, pair_kind: PairKind, source_id: str, *,
                 canonical: Any, native: dict[str, Any], twin_id: str | None = None,
                 source_snapshot: dict[str, Any] | None = None, twin_snapshot: dict[str, Any] | None = None,
                 expected_base: dict[str, Any] | None = None, source_change: Change | None = None,
                 depends_on: list[dict[str, str]] | None = None, lookup_first: bool = False,
                 external_key: str | None = None, fingerprint: dict[str, Any] | None = None,
                 source_updated_at: Any = None) -> dict[str, Any]:
        options = self.links.options
        return {
            "command_id": "", "run_id": 0, "seq": 0, "pair_id": 0,
            "direction": str(self.direction), "kind": str(kind), "action": str(action),
            "pair_kind": str(pair_kind), "source_id": source_id, "twin_id": twin_id,
            "canonical": to_json_ready(canonical), "native": to_json_ready(native),
            "source_snapshot": source_snapshot, "twin_snapshot": twin_snapshot, "expected_base": expected_base,
            "source_change": str(source_change or (Change.NEW if action is Action.CREATE else Change.CHANGED)),
            "depends_on": depends_on or [], "lookup_first": lookup_first, "external_key": external_key,
            "fingerprint": fingerprint, "conflict_policy": str(options.conflict_policy),
            "delete_policy": str(options.delete_policy),
            "source_updated_at": to_json_ready(source_updated_at),
        }

    # -- tasks (Forecast to TimeLog only) ----------------------------------------------------------------

    def _plan_task(self, plan: Plan, task: Task) -> None:
        link = self.links.project("forecast", task.project_id)
        if link is None:
            self._out_of_scope(plan, PairKind.TASK, task.id, OutOfScope.UNLINKED_PROJECT)
            return
        pair = self._pairs.get(PairKind.TASK, Side.FORECAST, task.id)
        snapshot = task.snapshot()
        if pair is None:
            decision = Decision(Action.CREATE, PairState.CREATING, "new Forecast task")
        elif pair.state is PairState.CREATING:
            decision = Decision(Action.CREATE, PairState.CREATING, "task create unconfirmed: look up, then create")
        elif pair.state is PairState.DELETED or compare(snapshot, pair.base_on(Side.FORECAST)) is Change.UNCHANGED:
            decision = Decision(Action.NONE, pair.state, "task unchanged")
        else:
            decision = Decision(Action.UPDATE, pair.state, "Forecast task changed: name, dates and estimate follow")
        if decision.action is Action.NONE:
            self._note(plan, PairKind.TASK, task.id, decision, pair.id if pair else None)
            return
        parent_twin = self._twin_of(PairKind.TASK, Side.FORECAST, task.parent_id) if task.parent_id else None
        depends = ([_dep(PairKind.TASK, task.parent_id, "parent_task_id", "parent")]
                   if task.parent_id and parent_twin is None else [])
        image = replace(task, side=Side.TIMELOG, id=pair.timelog_id or "" if pair else "", project_id=link.timelog,
                        parent_id=parent_twin, external_ids=(task.id,))
        command = self._command(
            CommandKind.TASK_UPSERT, decision.action, PairKind.TASK, task.id, canonical=task,
            native=self.target_adapter.task_payload(image), twin_id=pair.timelog_id if pair else None,
            source_snapshot=snapshot, twin_snapshot=image.snapshot(), depends_on=depends,
            lookup_first=pair is not None and pair.state is PairState.CREATING, external_key=task.id,
        )
        planned = PlannedPair(PairKind.TASK, pair_id=pair.id if pair else None, forecast_id=task.id,
                              project=task.project_id, origin=Side.FORECAST,
                              state=None if pair else PairState.CREATING, reason=decision.reason,
                              commands=[command])
        self._note(plan, PairKind.TASK, task.id, decision, self._add(plan, planned, task.id))

    def _plan_task_deletion(self, plan: Plan, deletion: Deletion) -> None:
        pair = self._pairs.get(PairKind.TASK, Side.FORECAST, deletion.id)
        if pair is None:
            plan.counts["task.deleted_unsynced"] += 1
            return
        # The TimeLog task may carry approved or invoiced work: it is kept, the pair becomes a tombstone.
        decision = Decision(Action.TOMBSTONE, PairState.DELETED, "Forecast task deleted: TimeLog task kept")
        self._add(plan, PlannedPair(PairKind.TASK, pair_id=pair.id, state=PairState.DELETED,
                                    reason=decision.reason), deletion.id)
        self._note(plan, PairKind.TASK, deletion.id, decision, pair.id)

    def _plan_allocation(self, plan: Plan, assignment: Assignment) -> None:
        person = self.links.person("forecast", assignment.person_id)
        project = self.links.project("forecast", assignment.project_id)
        if project is None or person is None:
            reason = OutOfScope.UNLINKED_PROJECT if project is None else OutOfScope.UNLINKED_PERSON
            self._out_of_scope(plan, PairKind.ALLOCATION, assignment.id, reason)
            return
        pair = self._pairs.get(PairKind.ALLOCATION, Side.FORECAST, assignment.id)
        if pair is not None and pair.state is not PairState.CREATING:
            self._note(plan, PairKind.ALLOCATION, assignment.id,
                       Decision(Action.NONE, pair.state, "already allocated"), pair.id)
            return
        task_twin = self._twin_of(PairKind.TASK, Side.FORECAST, assignment.task_id)
        native = {"task_id": int(task_twin) if task_twin else None, "employee_id": int(person.timelog)}
        command = self._command(
            CommandKind.ALLOCATION, Action.CREATE, PairKind.ALLOCATION, assignment.id, canonical=assignment,
            native=native, source_snapshot={"task": assignment.task_id, "person": assignment.person_id},
            twin_snapshot={"task": task_twin, "person": person.timelog},
            depends_on=[] if task_twin else [_dep(PairKind.TASK, assignment.task_id, "task_id", "task")],
            lookup_first=pair is not None,
        )
        decision = Decision(Action.CREATE, PairState.CREATING, "linked person assigned: allocate the employee")
        planned = PlannedPair(PairKind.ALLOCATION, pair_id=pair.id if pair else None, forecast_id=assignment.id,
                              project=assignment.project_id, origin=Side.FORECAST,
                              state=None if pair else PairState.CREATING, reason=decision.reason, commands=[command])
        self._note(plan, PairKind.ALLOCATION, assignment.id, decision, self._add(plan, planned, assignment.id))

    def _ensure_project_time_task(self, plan: Plan, forecast_project: str) -> None:
        """The one TimeLog task per linked project that holds Forecast time without a task (created once)."""
        pair = self._pairs.get(PairKind.PROJECT_TIME_TASK, Side.FORECAST, forecast_project)
        if (pair is not None and pair.state is not PairState.CREATING) or \
                (PairKind.PROJECT_TIME_TASK, forecast_project) in self._new_pairs:
            return
        if pair is not None and pair.id in plan.existing_pair_ids:
            return
        link = self.links.project("forecast", forecast_project)
        assert link is not None
        external_key = PROJECT_TIME_EXTERNAL_KEY.format(project=forecast_project)
        image = Task(side=Side.TIMELOG, id="", project_id=link.timelog, name=self.links.options.project_time_task,
                     external_ids=(external_key,))
        command = self._command(
            CommandKind.TASK_UPSERT, Action.CREATE, PairKind.PROJECT_TIME_TASK, forecast_project, canonical=image,
            native=self.target_adapter.task_payload(image), source_snapshot={"project": forecast_project},
            twin_snapshot=image.snapshot(), lookup_first=pair is not None, external_key=external_key,
        )
        decision = Decision(Action.CREATE, PairState.CREATING, "Forecast project time needs its TimeLog task")
        planned = PlannedPair(PairKind.PROJECT_TIME_TASK, pair_id=pair.id if pair else None,
                              forecast_id=forecast_project, project=forecast_project, origin=Side.FORECAST,
                              state=None if pair else PairState.CREATING, reason=decision.reason, commands=[command])
        self._note(plan, PairKind.PROJECT_TIME_TASK, forecast_project, decision,
                   self._add(plan, planned, forecast_project))

    # -- time entries ----------------------------------------------------------------------------------

    def _detect_moves(self, plan: Plan, deletions: list[Deletion], deleted_pairs: Mapping[str, Pair]) -> dict[str, str]:
        """Forecast moves arrive as delete X + create Y; pair them (deleted id -> new id) to update, not replace.

        ``deleted_pairs``: the pairs of the time-entry ``deletions``, by source id.
        """
        if self.source is not Side.FORECAST:
            return {}
        bases = {d.id: base for d in deletions if (pair := deleted_pairs.get(d.id)) and pair.state is PairState.LINKED
                 and (base := pair.base_on(self.source)) is not None}
        if not bases:
            return {}
        # Only an entry that looks like a deleted one can be its new half; only those need their pair looked up.
        looks_moved = {_move_key(base) for base in bases.values()}
        candidates = [e for e in self.entries.values() if _move_key(e.snapshot()) in looks_moved]
        paired = self.ledger.find_pairs(PairKind.TIME_ENTRY, self.source, [e.id for e in candidates])
        fresh = [e for e in candidates if e.id not in paired]
        moves: dict[str, str] = {}
        for deletion_id, base in bases.items():
            for entry in fresh:
                if _move_key(entry.snapshot()) == _move_key(base) and entry.id not in moves.values():
                    moves[deletion_id] = entry.id
                    break
        for old_id, new_id in moves.items():
            self._plan_entry(plan, self.entries[new_id], deleted_pairs[old_id], moved_from=old_id)
        return moves

    def _plan_entry(self, plan: Plan, entry: TimeEntry, pair: Pair | None, *, moved_from: str | None = None) -> None:
        """Classify one entry against its pair (None: the ledger has none)."""
        if pair is None and self._echo_of_unconfirmed_create(entry):
            self._note(plan, PairKind.TIME_ENTRY, entry.id,
                       Decision(Action.NONE, None, "echo of a create the sync made; its confirmation is pending"), None)
            return
        landing = land(entry, self.links, self._twin_of, pair.base if pair else None)
        if landing.out_of_scope is not None or landing.image is None:
            reason = landing.out_of_scope or "unknown"
            what = {OutOfScope.UNLINKED_PERSON: f"{self.source} person {entry.person_id}",
                    OutOfScope.UNLINKED_PROJECT: f"{self.source} project {entry.project_id}"}.get(reason, "")
            self._out_of_scope(plan, PairKind.TIME_ENTRY, entry.id, reason, what)
            return
        ref = landing.task_ref
        if ref is not None and landing.image.task_id is None and not self._task_will_exist(plan, ref):
            plan.counts["time_entry.deferred"] += 1
            plan.items.append(RunItem(
                kind=str(PairKind.TIME_ENTRY), action="none", outcome="deferred", source_id=entry.id,
                pair_id=pair.id if pair else None,
                message=f"Forecast task {ref.forecast_id} is not synced yet; a full refresh of tap-forecast "
                        "(meltano run --full-refresh) brings it"))
            return
        image = landing.image
        base_source = pair.base_on(self.source) if pair else None
        base_twin = pair.base_on(self.target) if pair else None
        source_change = Change.CHANGED if moved_from else (compare(entry.snapshot(), base_source) if pair
                                                           else Change.NEW)
        needs_move = bool(base_twin) and any(image.snapshot()[f] != base_twin[f]
                                             for f in self.target_adapter.immutable_entry_fields)
        decision = decide(source_change, Change.UNCHANGED, pair.state if pair else None, source_side=self.source,
                          conflict_policy=self.links.options.conflict_policy,
                          delete_policy=self.links.options.delete_policy, needs_move=needs_move)
        if moved_from and decision.action is Action.UPDATE:
            decision = Decision(Action.UPDATE, PairState.LINKED, f"moved in Forecast (was registration {moved_from})")
        self._apply_entry_decision(plan, entry, image, landing.task_ref, pair, decision, source_change)

    def _echo_of_unconfirmed_create(self, entry: TimeEntry) -> bool:
        """True when ``entry`` is what an unconfirmed create of the other direction wrote (a crash cut it short)."""
        if self._unconfirmed is None:
            self._unconfirmed = {}
            for pair in self.ledger.creating_pairs(PairKind.TIME_ENTRY):
                # Creates that write to this direction's source side: the pair has no id there yet.
                if pair.id_on(self.source) is None and pair.fingerprint:
                    fingerprint = json.loads(pair.fingerprint)
                    self._unconfirmed.setdefault(_move_key(fingerprint), []).append(fingerprint)
        snapshot = entry.snapshot()
        return any(fingerprint_matches(fingerprint, snapshot)
                   for fingerprint in self._unconfirmed.get(_move_key(snapshot), ()))

    def _task_will_exist(self, plan: Plan, ref: TaskRef) -> bool:
        if ref.pair_kind is PairKind.PROJECT_TIME_TASK:
            self._ensure_project_time_task(plan, ref.forecast_id)
            return True
        pair = self._pairs.get(PairKind.TASK, Side.FORECAST, ref.forecast_id)
        return (pair is not None and pair.state is not PairState.DELETED) or \
            (PairKind.TASK, ref.forecast_id) in self._new_pairs

    def _apply_entry_decision(self, plan: Plan, entry: TimeEntry, image: TimeEntry, task_ref: TaskRef | None,
                              pair: Pair | None, decision: Decision, source_change: Change) -> None:
        # An unconfirmed create whose source changed since: its old twin may exist (see entry_commands).
        intended = json.loads(pair.fingerprint) if decision.action is Action.CREATE and pair and pair.fingerprint \
            else None
        stale_intent = intended if intended and not fingerprint_matches(intended, image.snapshot()) else None
        write = EntryWrite(self, entry, image, task_ref, pair, decision.action, source_change, stale_intent)
        if not write.count and decision.state == (pair.state if pair else None) and decision.action is Action.NONE:
            self._note(plan, PairKind.TIME_ENTRY, entry.id, decision, pair.id if pair else None)
            return
        # The fingerprint is filled in when recorded (EntryWrite.fingerprint), not held by the plan.
        planned = PlannedPair(
            PairKind.TIME_ENTRY, pair_id=pair.id if pair else None, origin=self.source,
            forecast_id=entry.id if self.source is Side.FORECAST else None,
            timelog_id=entry.id if self.source is Side.TIMELOG else None,
            project=entry.project_id if self.source is Side.FORECAST else image.project_id,
            state=None if write.count else decision.state, reason=decision.reason,
        )
        if pair is None:
            planned.state = PairState.CREATING
        self._note(plan, PairKind.TIME_ENTRY, entry.id, decision,
                   self._add(plan, planned, entry.id, write if write.count else None))

    def entry_commands(self, write: EntryWrite) -> list[dict[str, Any]]:
        """The commands of one planned entry: as many as ENTRY_COMMAND_COUNT says, or 2 for a stale intent."""
        entry, image, task_ref, pair = write.entry, write.image, write.task_ref, write.pair
        action, source_change, stale_intent = write.action, write.source_change, write.stale_intent
        kinds = ENTRY_COMMANDS[self.target]
        twin_snapshot = image.snapshot()
        depends = ([_dep(task_ref.pair_kind, task_ref.forecast_id, "task_id", "task")]
                   if task_ref is not None and image.task_id is None else [])
        common = {"canonical": entry, "source_snapshot": entry.snapshot(), "twin_snapshot": twin_snapshot,
                  "source_change": source_change, "source_updated_at": entry.updated_at}
        twin_id = pair.id_on(self.target) if pair else None
        base_twin = pair.base_on(self.target) if pair else None
        commands: list[dict[str, Any]] = []
        if stale_intent:
            # The source changed after an unconfirmed create: a twin made from the old intent may exist. Remove
            # it (found by the old fingerprint, only if untouched) and create the new one, as the halves of a move.
            commands.append(self._command(
                kinds["delete"], Action.MOVE, PairKind.TIME_ENTRY, entry.id, native={}, expected_base=stale_intent,
                lookup_first=True, fingerprint=stale_intent, **(common | {"source_change": Change.CHANGED})))
            commands.append(self._command(
                kinds["create"], Action.MOVE, PairKind.TIME_ENTRY, entry.id,
                native=self.target_adapter.entry_payload(image, update=False), depends_on=depends,
                lookup_first=True, fingerprint=twin_snapshot, **(common | {"source_change": Change.CHANGED})))
        elif action is Action.CREATE:
            commands.append(self._command(
                kinds["create"], Action.CREATE, PairKind.TIME_ENTRY, entry.id,
                native=self.target_adapter.entry_payload(image, update=False), depends_on=depends,
                lookup_first=pair is not None, fingerprint=twin_snapshot, **common))
        elif action is Action.UPDATE:
            commands.append(self._command(
                kinds["update"], Action.UPDATE, PairKind.TIME_ENTRY, entry.id, twin_id=twin_id,
                native=self.target_adapter.entry_payload(image, update=True), expected_base=base_twin,
                depends_on=depends, **common))
        elif action is Action.MOVE:
            commands.append(self._command(
                kinds["delete"], Action.MOVE, PairKind.TIME_ENTRY, entry.id, twin_id=twin_id, native={},
                expected_base=base_twin, **common))
            commands.append(self._command(
                kinds["create"], Action.MOVE, PairKind.TIME_ENTRY, entry.id,
                native=self.target_adapter.entry_payload(image, update=False), depends_on=depends,
                lookup_first=True, fingerprint=twin_snapshot, **common))
        return commands

    def _plan_entry_deletion(self, plan: Plan, deletion: Deletion, pair: Pair | None) -> None:
        if pair is None:
            plan.counts["time_entry.deleted_unsynced"] += 1
            return
        decision = decide(Change.DELETED, Change.UNCHANGED, pair.state, source_side=self.source,
                          conflict_policy=self.links.options.conflict_policy,
                          delete_policy=self.links.options.delete_policy)
        commands: list[dict[str, Any]] = []
        if decision.action is Action.DELETE:
            creating = pair.state is PairState.CREATING
            expected = json.loads(pair.fingerprint) if creating and pair.fingerprint else pair.base_on(self.target)
            commands.append(self._command(
                ENTRY_COMMANDS[self.target]["delete"], Action.DELETE, PairKind.TIME_ENTRY, deletion.id,
                canonical=deletion, native={}, twin_id=pair.id_on(self.target), expected_base=expected,
                source_snapshot=pair.base_on(self.source), twin_snapshot=None, source_change=Change.DELETED,
                lookup_first=creating, fingerprint=expected if creating else None))
        if not commands and decision.action is Action.NONE:
            self._note(plan, PairKind.TIME_ENTRY, deletion.id, decision, pair.id)
            return
        planned = PlannedPair(PairKind.TIME_ENTRY, pair_id=pair.id, state=None if commands else decision.state,
                              reason=decision.reason, commands=commands)
        self._note(plan, PairKind.TIME_ENTRY, deletion.id, decision, self._add(plan, planned, deletion.id))


def _move_key(snapshot: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a moved entry keeps (person, date, minutes, note): a snapshot's, a base's or a fingerprint's."""
    return snapshot.get("person"), snapshot.get("date"), snapshot.get("minutes"), snapshot.get("note")


def _dep(kind: PairKind, forecast_id: str, native_field: str, snapshot_field: str) -> dict[str, str]:
    return {"pair_kind": str(kind), "forecast_id": forecast_id, "field": native_field,
            "snapshot_field": snapshot_field}


def _parents_first(tasks: Mapping[str, Task]) -> list[Task]:
    """Tasks ordered so a parent in the same batch comes before its sub-tasks."""
    ordered: list[Task] = []
    placed: set[str] = set()

    def place(task: Task, depth: int = 0) -> None:
        if task.id in placed or depth > len(tasks):
            return
        if task.parent_id in tasks:
            place(tasks[task.parent_id], depth + 1)
        placed.add(task.id)
        ordered.append(task)

    for task in tasks.values():
        place(task)
    return ordered
