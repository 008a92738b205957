"""One direction of a sync run: canonical records in, a recorded plan and the command records out."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from timesync.adapters import ADAPTERS, Adapter
from timesync.ledger import Ledger, Pair, PairKind, PairState, PlannedPair, RunItem, RunStatus
from timesync.links import Links
from timesync.model import Assignment, Deletion, Direction, Side, Task, TimeEntry, entry_from_snapshot, to_json_ready
from timesync.reconcile.commands import CommandKind
from timesync.reconcile.landing import OutOfScope, TaskRef, land
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


class FloodGuardError(RuntimeError):
    """The run would write more than max_changes_per_run; nothing was emitted."""


@dataclass
class Plan:
    """What one direction of a run will do: pair writes with their commands, the audit, and counts."""

    planned: list[PlannedPair] = field(default_factory=list)
    items: list[RunItem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    replays: list[Pair] = field(default_factory=list)

    @property
    def commands(self) -> list[dict[str, Any]]:
        """All new commands in apply order."""
        return [command for plan in self.planned for command in plan.commands]

    @property
    def write_count(self) -> int:
        """Commands this run would emit, replays included (what the flood guard counts)."""
        return len(self.commands) + sum(len(pair.pending) for pair in self.replays)


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
        self._new_pairs: dict[tuple[PairKind, str], int] = {}  # (kind, source id) -> index in plan.planned
        self._unconfirmed: list[dict[str, Any]] | None = None  # fingerprints of the other side's unconfirmed creates
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
                self.ignored[stream] += 1

    # -- the run ---------------------------------------------------------------------------------------

    def run(self) -> list[dict[str, Any]]:
        """Plan, apply the flood guard, record the plan (intents first) and return the commands to emit."""
        self.ledger.sync_links(self.links)
        self.run_id = self.ledger.begin_run(self.direction, dry_run=self.dry_run)
        plan = self.plan()
        commands = self._number(plan)
        limit = self.links.options.max_changes_per_run
        plan.counts["commands"] = plan.write_count
        if plan.write_count > limit:
            message = (f"flood guard: this run would write {plan.write_count} changes, more than "
                       f"max_changes_per_run={limit} (options in {self.links.source}). Nothing was written; the "
                       f"plan is recorded as run {self.run_id}. Raise the option or check the links, then re-run.")
            refused = [replace(item, outcome=f"refused:{item.outcome}") for item in plan.items]
            self.ledger.record_plan(self.run_id, self.direction, plan.planned, refused, plan.counts, dry_run=True)
            self.ledger.finish_run(self.run_id, RunStatus.REFUSED, message=message)
            raise FloodGuardError(message)
        self.ledger.record_plan(self.run_id, self.direction, plan.planned, plan.items, plan.counts,
                                dry_run=self.dry_run)
        if self.dry_run:
            self.ledger.finish_run(self.run_id, RunStatus.DRY_RUN)
            return []
        for pair in plan.replays:
            self.ledger.note_replay(pair.id)
            commands.extend({**command, "lookup_first": True} for command in pair.pending)
        self.ledger.finish_run(self.run_id, RunStatus.OK)
        return commands

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
        base = {str(keep): {"resolved_by": "timesync conflicts resolve"}, str(keep.other): other}
        linked = replace(pair, state=PairState.LINKED, base=base)
        plan = Plan()
        self._plan_entry(plan, entry, pair=linked)
        commands = self._number(plan)
        for planned in plan.planned:
            planned.state, planned.base = PairState.LINKED, base
            planned.reason = f"conflict resolved: keep {keep}"
        self.ledger.record_plan(self.run_id, self.direction, plan.planned, plan.items, plan.counts, dry_run=False)
        self.ledger.finish_run(self.run_id, RunStatus.OK, message=f"conflict {pair.id} resolved: keep {keep}")
        return commands

    def _number(self, plan: Plan) -> list[dict[str, Any]]:
        commands = plan.commands
        for seq, command in enumerate(commands, start=1):
            command["run_id"], command["seq"] = self.run_id, seq
            command["command_id"] = f"r{self.run_id}-{seq}"
        return commands

    def plan(self) -> Plan:
        """Classify everything collected, without writing to the ledger."""
        plan = Plan()
        self._new_pairs.clear()
        self._unconfirmed = None
        if self.source is Side.FORECAST:
            for task in _parents_first(self.tasks):
                self._plan_task(plan, task)
            for assignment in self.assignments.values():
                self._plan_allocation(plan, assignment)
            for deletion in (d for d in self.deletions.values() if d.kind == "task"):
                self._plan_task_deletion(plan, deletion)
        elif self.tasks:
            plan.counts["task.one_way_ignored"] += len(self.tasks)
        moved = self._detect_moves(plan)
        for deletion in (d for d in self.deletions.values() if d.kind == "time_entry" and d.id not in moved):
            self._plan_entry_deletion(plan, deletion)
        for entry in self.entries.values():
            if entry.id not in moved.values():
                self._plan_entry(plan, entry)
        planned_ids = {p.pair_id for p in plan.planned if p.pair_id}
        plan.replays = [pair for pair in self.ledger.pending_pairs(self.direction) if pair.id not in planned_ids]
        for stream, count in self.ignored.items():
            plan.counts[f"read.{stream}"] += count
        return plan

    # -- lookups ---------------------------------------------------------------------------------------

    def _twin_of(self, kind: PairKind, side: Side, native_id: str) -> str | None:
        pair = self.ledger.find_by_side(kind, side, native_id)
        if pair is None or pair.state is PairState.DELETED:
            return None
        return pair.id_on(side.other)

    def _note(self, plan: Plan, kind: PairKind, source_id: str, decision: Decision, pair_id: int | None) -> None:
        label = CLASSIFICATION[decision.action]
        plan.counts[f"{kind}.{label}"] += 1
        plan.items.append(RunItem(kind=str(kind), action=str(decision.action), outcome=label, source_id=source_id,
                                  pair_id=pair_id, message=decision.reason))

    def _out_of_scope(self, plan: Plan, kind: PairKind, source_id: str, reason: OutOfScope | str,
                      what: str = "") -> None:
        """Count and record it; ``what`` names the unlinked person or project (for `timesync links check`)."""
        plan.counts[f"out_of_scope.{reason}"] += 1
        plan.items.append(RunItem(kind=str(kind), action="none", outcome="out_of_scope", source_id=source_id,
                                  message=f"{reason}: {what}" if what else str(reason)))

    def _add(self, plan: Plan, planned: PlannedPair, source_id: str) -> int:
        """Add a pair write to the plan; returns the run-item pair id (a placeholder for a new pair)."""
        plan.planned.append(planned)
        index = len(plan.planned) - 1
        if planned.pair_id is None:
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
            "source_updated_at": source_updated_at.isoformat() if source_updated_at else None,
        }

    # -- tasks (Forecast to TimeLog only) ----------------------------------------------------------------

    def _plan_task(self, plan: Plan, task: Task) -> None:
        link = self.links.project("forecast", task.project_id)
        if link is None:
            self._out_of_scope(plan, PairKind.TASK, task.id, OutOfScope.UNLINKED_PROJECT)
            return
        pair = self.ledger.find_pair(PairKind.TASK, forecast_id=task.id)
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
        pair = self.ledger.find_pair(PairKind.TASK, forecast_id=deletion.id)
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
        pair = self.ledger.find_pair(PairKind.ALLOCATION, forecast_id=assignment.id)
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
        pair = self.ledger.find_pair(PairKind.PROJECT_TIME_TASK, forecast_id=forecast_project)
        if (pair is not None and pair.state is not PairState.CREATING) or \
                (PairKind.PROJECT_TIME_TASK, forecast_project) in self._new_pairs:
            return
        if pair is not None and any(p.pair_id == pair.id for p in plan.planned):
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

    def _detect_moves(self, plan: Plan) -> dict[str, str]:
        """Forecast moves arrive as delete X + create Y; pair them (deleted id -> new id) to update, not replace."""
        if self.source is not Side.FORECAST:
            return {}
        moves: dict[str, str] = {}
        fresh = [e for e in self.entries.values()
                 if self.ledger.find_by_side(PairKind.TIME_ENTRY, self.source, e.id) is None]
        for deletion in (d for d in self.deletions.values() if d.kind == "time_entry"):
            pair = self.ledger.find_by_side(PairKind.TIME_ENTRY, self.source, deletion.id)
            base = pair.base_on(self.source) if pair and pair.state is PairState.LINKED else None
            if base is None:
                continue
            for entry in fresh:
                snapshot = entry.snapshot()
                same = all(snapshot[f] == base[f] for f in ("person", "date", "minutes", "note"))
                if same and entry.id not in moves.values():
                    moves[deletion.id] = entry.id
                    break
        for old_id, new_id in moves.items():
            pair = self.ledger.find_by_side(PairKind.TIME_ENTRY, self.source, old_id)
            assert pair is not None
            self._plan_entry(plan, self.entries[new_id], pair=pair, moved_from=old_id)
        return moves

    def _plan_entry(self, plan: Plan, entry: TimeEntry, *, pair: Pair | None = None,
                    moved_from: str | None = None) -> None:
        pair = pair or self.ledger.find_by_side(PairKind.TIME_ENTRY, self.source, entry.id)
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
            creating = self.ledger.creating_pairs(PairKind.TIME_ENTRY)
            # Creates that write to this direction's source side: the pair has no id there yet.
            self._unconfirmed = [json.loads(pair.fingerprint) for pair in creating
                                 if pair.id_on(self.source) is None and pair.fingerprint]
        snapshot = entry.snapshot()
        return any(fingerprint_matches(fingerprint, snapshot) for fingerprint in self._unconfirmed)

    def _task_will_exist(self, plan: Plan, ref: TaskRef) -> bool:
        if ref.pair_kind is PairKind.PROJECT_TIME_TASK:
            self._ensure_project_time_task(plan, ref.forecast_id)
            return True
        pair = self.ledger.find_pair(PairKind.TASK, forecast_id=ref.forecast_id)
        return (pair is not None and pair.state is not PairState.DELETED) or \
            (PairKind.TASK, ref.forecast_id) in self._new_pairs

    def _apply_entry_decision(self, plan: Plan, entry: TimeEntry, image: TimeEntry, task_ref: TaskRef | None,
                              pair: Pair | None, decision: Decision, source_change: Change) -> None:
        kinds = ENTRY_COMMANDS[self.target]
        twin_snapshot = image.snapshot()
        depends = ([_dep(task_ref.pair_kind, task_ref.forecast_id, "task_id", "task")]
                   if task_ref is not None and image.task_id is None else [])
        common = {"canonical": entry, "source_snapshot": entry.snapshot(), "twin_snapshot": twin_snapshot,
                  "source_change": source_change, "source_updated_at": entry.updated_at}
        twin_id = pair.id_on(self.target) if pair else None
        base_twin = pair.base_on(self.target) if pair else None
        commands: list[dict[str, Any]] = []
        intended = json.loads(pair.fingerprint) if pair and pair.fingerprint else None
        if decision.action is Action.CREATE and intended and not fingerprint_matches(intended, twin_snapshot):
            # The source changed after an unconfirmed create: a twin made from the old intent may exist. Remove
            # it (found by the old fingerprint, only if untouched) and create the new one, as the halves of a move.
            commands.append(self._command(
                kinds["delete"], Action.MOVE, PairKind.TIME_ENTRY, entry.id, native={}, expected_base=intended,
                lookup_first=True, fingerprint=intended, **(common | {"source_change": Change.CHANGED})))
            commands.append(self._command(
                kinds["create"], Action.MOVE, PairKind.TIME_ENTRY, entry.id,
                native=self.target_adapter.entry_payload(image, update=False), depends_on=depends,
                lookup_first=True, fingerprint=twin_snapshot, **(common | {"source_change": Change.CHANGED})))
        elif decision.action is Action.CREATE:
            commands.append(self._command(
                kinds["create"], Action.CREATE, PairKind.TIME_ENTRY, entry.id,
                native=self.target_adapter.entry_payload(image, update=False), depends_on=depends,
                lookup_first=pair is not None, fingerprint=twin_snapshot, **common))
        elif decision.action is Action.UPDATE:
            commands.append(self._command(
                kinds["update"], Action.UPDATE, PairKind.TIME_ENTRY, entry.id, twin_id=twin_id,
                native=self.target_adapter.entry_payload(image, update=True), expected_base=base_twin,
                depends_on=depends, **common))
        elif decision.action is Action.MOVE:
            commands.append(self._command(
                kinds["delete"], Action.MOVE, PairKind.TIME_ENTRY, entry.id, twin_id=twin_id, native={},
                expected_base=base_twin, **common))
            commands.append(self._command(
                kinds["create"], Action.MOVE, PairKind.TIME_ENTRY, entry.id,
                native=self.target_adapter.entry_payload(image, update=False), depends_on=depends,
                lookup_first=True, fingerprint=twin_snapshot, **common))
        if not commands and decision.state == (pair.state if pair else None) and decision.action is Action.NONE:
            self._note(plan, PairKind.TIME_ENTRY, entry.id, decision, pair.id if pair else None)
            return
        planned = PlannedPair(
            PairKind.TIME_ENTRY, pair_id=pair.id if pair else None, origin=self.source,
            forecast_id=entry.id if self.source is Side.FORECAST else None,
            timelog_id=entry.id if self.source is Side.TIMELOG else None,
            project=entry.project_id if self.source is Side.FORECAST else image.project_id,
            state=None if commands else decision.state, reason=decision.reason,
            fingerprint=(json.dumps(twin_snapshot, sort_keys=True)
                         if decision.action in (Action.CREATE, Action.MOVE) else None),
            commands=commands,
        )
        if pair is None:
            planned.state = PairState.CREATING
        self._note(plan, PairKind.TIME_ENTRY, entry.id, decision, self._add(plan, planned, entry.id))

    def _plan_entry_deletion(self, plan: Plan, deletion: Deletion) -> None:
        pair = self.ledger.find_by_side(PairKind.TIME_ENTRY, self.source, deletion.id)
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
