"""Planning: classify one direction's collected records against the ledger, without writing to it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from timesync.adapters import ADAPTERS
from timesync.ledger import Ledger, Pair, PairKind, PairState, PlannedPair, RunItem
from timesync.ledger.base import batched
from timesync.links import BackfillRequest, Links
from timesync.model import Assignment, Deletion, Direction, Side, Task, TimeEntry
from timesync.reconcile.build import CommandBuilder
from timesync.reconcile.intake import Intake
from timesync.reconcile.landing import OutOfScope, TaskRef, land
from timesync.reconcile.lease import fingerprint_matches
from timesync.reconcile.plan import EntryWrite, Plan
from timesync.reconcile.rules import Action, Change, Decision, compare, decide
from timesync.reconcile.spill import Spill

# Time entries classified per bulk pair lookup: their pairs are held only while their chunk is planned.
ENTRIES_PER_LOOKUP = 1_000


class PairIndex:
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


class Planner:
    """Builds one Plan: what each record means for its pair, and the commands that carry it (via the builder)."""

    def __init__(self, ledger: Ledger, links: Links, direction: Direction, *, spill: Spill | None = None) -> None:
        """``spill``: where the plan's pair writes and run items go past a few thousand (default: a file of its own)."""
        self.ledger, self.links, self.direction = ledger, links, direction
        self.source, self.target = direction.source, direction.target
        self.target_adapter = ADAPTERS[self.target]
        self.builder = CommandBuilder(direction, links.options)
        self.plan = Plan(builder=self.builder, spill=spill or Spill())
        self._pairs = PairIndex(ledger)
        # Fingerprints of the other side's unconfirmed creates, by (person, date, minutes, note).
        self._unconfirmed: dict[tuple[Any, ...], list[dict[str, Any]]] | None = None
        # Forecast tasks this plan found moved to another project, and why their time waits.
        self._moved_out: dict[str, str] = {}

    def plan_all(self, intake: Intake) -> Plan:
        """Classify everything collected, without writing to the ledger.

        Pairs are looked up in bulk: the tasks' and allocations' once, the time entries' a chunk at a time.
        """
        plan = self.plan
        self._load_task_pairs(intake)
        if self.source is Side.FORECAST:
            for task in _parents_first(intake.tasks):
                self._plan_task(task)
            for assignment in intake.assignments.values():
                self._plan_allocation(assignment)
            for deletion in intake.task_deletions():
                self._plan_task_deletion(deletion)
        elif intake.tasks:
            plan.counts["task.one_way_ignored"] += len(intake.tasks)
        entry_deletions = intake.entry_deletions()
        deleted_pairs = self.ledger.find_pairs(PairKind.TIME_ENTRY, self.source,
                                               [d.id for d in entry_deletions]) if entry_deletions else {}
        moved = self._detect_moves(intake.entries, entry_deletions, deleted_pairs)
        for deletion in entry_deletions:
            if deletion.id not in moved:
                self._plan_entry_deletion(deletion, deleted_pairs.get(deletion.id))
        moved_to = set(moved.values())
        for chunk in batched((e for e in intake.entries.values() if e.id not in moved_to), ENTRIES_PER_LOOKUP):
            pairs = self.ledger.find_pairs(PairKind.TIME_ENTRY, self.source, [entry.id for entry in chunk])
            for entry in chunk:
                self.plan_entry(entry, pairs.get(entry.id))
        plan.replays = [pair for pair in self.ledger.pending_pairs(self.direction)
                        if pair.id not in plan.existing_pair_ids]
        for stream, count in intake.ignored.items():
            plan.counts[f"read.{stream}"] += count
        return plan

    # -- lookups ---------------------------------------------------------------------------------------

    def _load_task_pairs(self, intake: Intake) -> None:
        """Look up at once the pairs the rules ask for per record: tasks, project-time tasks, allocations."""
        entry_tasks = intake.entries.task_ids()  # read from the spilled columns, not entry by entry
        if self.source is Side.TIMELOG:
            # Where TimeLog work lands in Forecast: its task's twin, or project time (landing._land_in_forecast).
            self._pairs.load(PairKind.TASK, Side.TIMELOG, entry_tasks)
            self._pairs.load(PairKind.PROJECT_TIME_TASK, Side.TIMELOG, entry_tasks)
            return
        tasks = entry_tasks | set(intake.tasks) | {a.task_id for a in intake.assignments.values()}
        tasks |= {t.parent_id for t in intake.tasks.values() if t.parent_id}
        tasks |= {d.id for d in intake.task_deletions()}
        self._pairs.load(PairKind.TASK, Side.FORECAST, tasks)
        self._pairs.load(PairKind.PROJECT_TIME_TASK, Side.FORECAST,
                         intake.entries.taskless_projects())
        self._pairs.load(PairKind.ALLOCATION, Side.FORECAST, intake.assignments)

    def _twin_of(self, kind: PairKind, side: Side, native_id: str) -> str | None:
        pair = self._pairs.get(kind, side, native_id)
        if pair is None or pair.state is PairState.DELETED:
            return None
        return pair.id_on(side.other)

    # -- tasks (Forecast to TimeLog only) ----------------------------------------------------------------

    def _plan_task(self, task: Task) -> None:
        pair = self._pairs.get(PairKind.TASK, Side.FORECAST, task.id)
        base = pair.base_on(Side.FORECAST) if pair is not None else None
        synced = pair is not None and pair.state not in (PairState.CREATING, PairState.DELETED)
        if pair is not None and synced and base is not None and task.project_id != base.get("project"):
            self._report_project_move(task, pair, base)  # whether the new project is linked or not
            return
        link = self.links.project("forecast", task.project_id)
        if link is None:
            self.plan.out_of_scope(PairKind.TASK, task.id, OutOfScope.UNLINKED_PROJECT)
            return
        parent_twin = self._twin_of(PairKind.TASK, Side.FORECAST, task.parent_id) if task.parent_id else None
        if pair is None:
            decision = Decision(Action.CREATE, PairState.CREATING, "new Forecast task")
        elif pair.state is PairState.CREATING:
            decision = Decision(Action.CREATE, PairState.CREATING, "task create unconfirmed: look up, then create")
        elif pair.state is PairState.DELETED or compare(task.snapshot(), base) is Change.UNCHANGED:
            # Back in its project after a move out of it (the base was kept): linked again.
            state = PairState.LINKED if pair.state is PairState.ORPHANED else pair.state
            decision = Decision(Action.NONE, state, "task unchanged" if state is pair.state else
                                f"Forecast task back in project {task.project_id}: synced again")
            if state is not pair.state:
                self.plan.add_pair_write(PlannedPair(PairKind.TASK, pair_id=pair.id, state=state,
                                                     reason=None), task.id)
                # Its time was held back while it was away, and an incremental read will not see it again.
                self.plan.backfills.append(BackfillRequest("project", link.forecast, link.timelog, link.start_date))
        elif base is None or task.parent_id == base.get("parent"):
            decision = Decision(Action.UPDATE, PairState.LINKED,
                                "Forecast task changed: name, dates and estimate follow")
        elif task.parent_id is None:
            # No source says MoveTaskUnderParentTask can move a task to the top level (it takes a parent task).
            parent_twin = (pair.base_on(Side.TIMELOG) or {}).get("parent")
            decision = Decision(Action.UPDATE, PairState.LINKED, (
                f"Forecast task moved to the top level of its project (was under Forecast task {base.get('parent')})"
                f": TimeLog cannot move a task to the top level, so TimeLog task {pair.timelog_id} stays under task "
                f"{parent_twin}; move it in TimeLog by hand if wanted. Name, dates and estimate follow"))
        else:
            decision = Decision(Action.MOVE, PairState.LINKED, (
                f"Forecast task moved under Forecast task {task.parent_id} (was "
                f"{base.get('parent') or 'the top level'}): its TimeLog task moves under that task's twin, with its "
                "work"))
        if decision.action is Action.NONE:
            self.plan.note(PairKind.TASK, task.id, decision, pair.id if pair else None)
            return
        command = self.builder.task_upsert(task, decision.action, pair, link.timelog, parent_twin)
        self._plan_forecast_write(PairKind.TASK, task.id, task.project_id, pair, decision, command)

    def _report_project_move(self, task: Task, pair: Pair, base: dict[str, Any]) -> None:
        """A task moved to another Forecast project. TimeLog cannot move a task between projects (UpdateTask takes
        the task's own project only; MoveTaskUnderParentTask a parent in the same project), so nothing is written:
        the TimeLog task keeps its place and its work, the pair is parked as `orphaned` with the base unchanged,
        and time on the task is held back (deferred) rather than landed in the old project."""
        if pair.state is PairState.ORPHANED:  # reported when it moved; the base still holds the old project
            self._moved_out[task.id] = pair.reason or ""
            self.plan.note(PairKind.TASK, task.id, Decision(Action.NONE, pair.state, pair.reason or ""), pair.id)
            return
        reason = (f"Forecast task {task.id} moved from project {base.get('project')} to project {task.project_id}; "
                  f"TimeLog cannot move a task between projects, so TimeLog task {pair.timelog_id} stays where it is, "
                  "with all its work. New time on this task is not synced: move the task back in Forecast (then "
                  "the next run backfills the time held back meanwhile), or log new time on a new task "
                  "in the new project")
        self._moved_out[task.id] = reason
        decision = Decision(Action.ORPHAN, PairState.ORPHANED, reason)
        self.plan.add_pair_write(PlannedPair(PairKind.TASK, pair_id=pair.id, state=PairState.ORPHANED, reason=reason),
                                 task.id)
        self.plan.note(PairKind.TASK, task.id, decision, pair.id)

    def _plan_task_deletion(self, deletion: Deletion) -> None:
        pair = self._pairs.get(PairKind.TASK, Side.FORECAST, deletion.id)
        if pair is None:
            self.plan.counts["task.deleted_unsynced"] += 1
            return
        # The TimeLog task may carry approved or invoiced work: it is kept, the pair becomes a tombstone.
        decision = Decision(Action.TOMBSTONE, PairState.DELETED, "Forecast task deleted: TimeLog task kept")
        self.plan.add_pair_write(PlannedPair(PairKind.TASK, pair_id=pair.id, state=PairState.DELETED,
                                             reason=decision.reason), deletion.id)
        self.plan.note(PairKind.TASK, deletion.id, decision, pair.id)

    def _plan_allocation(self, assignment: Assignment) -> None:
        person = self.links.person("forecast", assignment.person_id)
        project = self.links.project("forecast", assignment.project_id)
        if project is None or person is None:
            reason = OutOfScope.UNLINKED_PROJECT if project is None else OutOfScope.UNLINKED_PERSON
            self.plan.out_of_scope(PairKind.ALLOCATION, assignment.id, reason)
            return
        pair = self._pairs.get(PairKind.ALLOCATION, Side.FORECAST, assignment.id)
        if pair is not None and pair.state is not PairState.CREATING:
            self.plan.note(PairKind.ALLOCATION, assignment.id,
                           Decision(Action.NONE, pair.state, "already allocated"), pair.id)
            return
        task_twin = self._twin_of(PairKind.TASK, Side.FORECAST, assignment.task_id)
        command = self.builder.allocation(assignment, task_twin, person.timelog, pair)
        decision = Decision(Action.CREATE, PairState.CREATING, "linked person assigned: allocate the employee")
        self._plan_forecast_write(PairKind.ALLOCATION, assignment.id, assignment.project_id, pair, decision,
                                    command)

    def _ensure_project_time_task(self, forecast_project: str) -> None:
        """The one TimeLog task per linked project that holds Forecast time without a task (created once)."""
        pair = self._pairs.get(PairKind.PROJECT_TIME_TASK, Side.FORECAST, forecast_project)
        if (pair is not None and pair.state is not PairState.CREATING) or \
                (PairKind.PROJECT_TIME_TASK, forecast_project) in self.plan.new_pairs:
            return
        if pair is not None and pair.id in self.plan.existing_pair_ids:
            return
        link = self.links.project("forecast", forecast_project)
        assert link is not None
        command = self.builder.project_time_task(forecast_project, link.timelog, pair)
        decision = Decision(Action.CREATE, PairState.CREATING, "Forecast project time needs its TimeLog task")
        self._plan_forecast_write(PairKind.PROJECT_TIME_TASK, forecast_project, forecast_project, pair, decision,
                                    command)

    def _plan_forecast_write(self, kind: PairKind, forecast_id: str, project: str, pair: Pair | None,
                               decision: Decision, command: dict[str, Any]) -> None:
        """A Forecast-origin pair write holding its one command: a new pair starts as `creating`."""
        planned = PlannedPair(kind, pair_id=pair.id if pair else None, forecast_id=forecast_id, project=project,
                              origin=Side.FORECAST, state=None if pair else PairState.CREATING,
                              reason=decision.reason, commands=[command])
        self.plan.note(kind, forecast_id, decision, self.plan.add_pair_write(planned, forecast_id))

    # -- time entries ----------------------------------------------------------------------------------

    def _detect_moves(self, entries: Mapping[str, TimeEntry], deletions: list[Deletion],
                      deleted_pairs: Mapping[str, Pair]) -> dict[str, str]:
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
        candidates = [e for e in entries.values() if _move_key(e.snapshot()) in looks_moved]
        paired = self.ledger.find_pairs(PairKind.TIME_ENTRY, self.source, [e.id for e in candidates])
        fresh = [e for e in candidates if e.id not in paired]
        moves: dict[str, str] = {}
        for deletion_id, base in bases.items():
            for entry in fresh:
                if _move_key(entry.snapshot()) == _move_key(base) and entry.id not in moves.values():
                    moves[deletion_id] = entry.id
                    break
        for old_id, new_id in moves.items():
            self.plan_entry(entries[new_id], deleted_pairs[old_id], moved_from=old_id)
        return moves

    def plan_entry(self, entry: TimeEntry, pair: Pair | None, *, moved_from: str | None = None) -> None:
        """Classify one entry against its pair (None: the ledger has none)."""
        plan = self.plan
        if pair is None and self._echo_of_unconfirmed_create(entry):
            plan.note(PairKind.TIME_ENTRY, entry.id,
                      Decision(Action.NONE, None, "echo of a create the sync made; its confirmation is pending"), None)
            return
        landing = land(entry, self.links, self._twin_of, pair.base if pair else None)
        if landing.out_of_scope is not None or landing.image is None:
            reason = landing.out_of_scope or "unknown"
            unlinked: dict[str, str] = {OutOfScope.UNLINKED_PERSON: f"{self.source} person {entry.person_id}",
                                        OutOfScope.UNLINKED_PROJECT: f"{self.source} project {entry.project_id}"}
            what = unlinked.get(reason, "")
            plan.out_of_scope(PairKind.TIME_ENTRY, entry.id, reason, what)
            if (pair is not None and pair.state is PairState.LINKED and reason != OutOfScope.NON_PROJECT_TIME
                    and _moved_since_synced(entry, pair.base_on(self.source))):
                self._leave_behind(entry, pair, what or reason)
            return
        ref = landing.task_ref
        if ref is not None and landing.image.task_id is None and not self._task_will_exist(ref):
            self._defer(entry, pair, f"Forecast task {ref.forecast_id} is not synced yet; a full refresh of "
                                     "tap-forecast (meltano run --full-refresh) brings it")
            return
        held = self._held_back(ref) if ref is not None and ref.pair_kind is PairKind.TASK else None
        if held is not None and ref is not None:
            # Its task moved to another project (Planner._report_project_move): the old TimeLog task is in the
            # wrong project for new time, so the entry waits, and the task's run item says what to do.
            self._defer(entry, pair, f"Forecast task {ref.forecast_id} is held back: {held}")
            return
        image = landing.image
        base_source = pair.base_on(self.source) if pair else None
        base_twin = pair.base_on(self.target) if pair else None
        source_change = Change.CHANGED if moved_from else (compare(entry.snapshot(), base_source) if pair
                                                           else Change.NEW)
        twin_fields = base_twin or {}
        needs_move = bool(twin_fields) and any(image.snapshot()[f] != twin_fields[f]
                                               for f in self.target_adapter.immutable_entry_fields)
        decision = decide(source_change, Change.UNCHANGED, pair.state if pair else None, source_side=self.source,
                          conflict_policy=self.links.options.conflict_policy,
                          delete_policy=self.links.options.delete_policy, needs_move=needs_move)
        if moved_from and decision.action is Action.UPDATE:
            decision = Decision(Action.UPDATE, PairState.LINKED, f"moved in Forecast (was registration {moved_from})")
        self._plan_entry_write(entry, image, landing.task_ref, pair, decision, source_change)

    def _leave_behind(self, entry: TimeEntry, pair: Pair, where: str) -> None:
        """A synced entry moved out of scope: its twin stays where it was, no longer synced, until a person settles
        it. Reported once (the pair's state says it from then on), never written: deleting the twin could lose
        hours someone still bills, and keeping both synced would count them twice."""
        twin = pair.id_on(self.target)
        reason = (f"{self.source} entry {entry.id} moved out of scope ({where}); its {self.target} twin {twin} is "
                  f"left behind and no longer synced. Settle it: move the entry back, then `timesync pairs relink "
                  f"{pair.id}`; or `timesync pairs release {pair.id}` to keep both as they are, unsynced")
        decision = Decision(Action.LEAVE, PairState.LEFT_BEHIND, reason)
        planned = PlannedPair(PairKind.TIME_ENTRY, pair_id=pair.id, state=PairState.LEFT_BEHIND, reason=reason)
        self.plan.note(PairKind.TIME_ENTRY, entry.id, decision, self.plan.add_pair_write(planned, entry.id))

    def _held_back(self, ref: TaskRef) -> str | None:
        """Why time on this task waits: it moved to another project, in this run or before (None: it does not)."""
        if ref.forecast_id in self._moved_out:
            return self._moved_out[ref.forecast_id]
        task_pair = self._pairs.get(PairKind.TASK, Side.FORECAST, ref.forecast_id)
        return task_pair.reason or "" if task_pair is not None and task_pair.state is PairState.ORPHANED else None

    def _defer(self, entry: TimeEntry, pair: Pair | None, message: str) -> None:
        self.plan.counts["time_entry.deferred"] += 1
        self.plan.items.append(RunItem(kind=str(PairKind.TIME_ENTRY), action="none", outcome="deferred",
                                       source_id=entry.id, pair_id=pair.id if pair else None, message=message))

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

    def _task_will_exist(self, ref: TaskRef) -> bool:
        if ref.pair_kind is PairKind.PROJECT_TIME_TASK:
            self._ensure_project_time_task(ref.forecast_id)
            return True
        pair = self._pairs.get(PairKind.TASK, Side.FORECAST, ref.forecast_id)
        return (pair is not None and pair.state is not PairState.DELETED) or \
            (PairKind.TASK, ref.forecast_id) in self.plan.new_pairs

    def _plan_entry_write(self, entry: TimeEntry, image: TimeEntry, task_ref: TaskRef | None, pair: Pair | None,
                          decision: Decision, source_change: Change) -> None:
        # An unconfirmed create whose source changed since: its old twin may exist (CommandBuilder.entry_commands).
        intended = json.loads(pair.fingerprint) if decision.action is Action.CREATE and pair and pair.fingerprint \
            else None
        stale_intent = intended if intended and not fingerprint_matches(intended, image.snapshot()) else None
        write = EntryWrite(entry, image, task_ref, pair, decision.action, source_change, stale_intent)
        if not write.count and decision.state == (pair.state if pair else None) and decision.action is Action.NONE:
            self.plan.note(PairKind.TIME_ENTRY, entry.id, decision, pair.id if pair else None)
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
        self.plan.note(PairKind.TIME_ENTRY, entry.id, decision,
                       self.plan.add_pair_write(planned, entry.id, write if write.count else None))

    def _plan_entry_deletion(self, deletion: Deletion, pair: Pair | None) -> None:
        if pair is None:
            self.plan.counts["time_entry.deleted_unsynced"] += 1
            return
        decision = decide(Change.DELETED, Change.UNCHANGED, pair.state, source_side=self.source,
                          conflict_policy=self.links.options.conflict_policy,
                          delete_policy=self.links.options.delete_policy)
        commands = [self.builder.entry_deletion(deletion, pair)] if decision.action is Action.DELETE else []
        if not commands and decision.action is Action.NONE:
            self.plan.note(PairKind.TIME_ENTRY, deletion.id, decision, pair.id)
            return
        planned = PlannedPair(PairKind.TIME_ENTRY, pair_id=pair.id, state=None if commands else decision.state,
                              reason=decision.reason, commands=commands)
        self.plan.note(PairKind.TIME_ENTRY, deletion.id, decision, self.plan.add_pair_write(planned, deletion.id))


def _move_key(snapshot: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a moved entry keeps (person, date, minutes, note): a snapshot's, a base's or a fingerprint's."""
    return snapshot.get("person"), snapshot.get("date"), snapshot.get("minutes"), snapshot.get("note")


def _parents_first(tasks: Mapping[str, Task]) -> list[Task]:
    """Tasks ordered so a parent in the same batch comes before its sub-tasks."""
    ordered: list[Task] = []
    placed: set[str] = set()

    def place(task: Task, depth: int = 0) -> None:
        if task.id in placed or depth > len(tasks):
            return
        if task.parent_id is not None and task.parent_id in tasks:
            place(tasks[task.parent_id], depth + 1)
        placed.add(task.id)
        ordered.append(task)

    for task in tasks.values():
        place(task)
    return ordered


def _moved_since_synced(entry: TimeEntry, base: Mapping[str, Any] | None) -> bool:
    """Whether an entry now out of scope got there by moving (another person or project than when it was synced),
    rather than by its link being taken out of links.yml. A removed link only stops the sync there: the pair stays
    as it was, and when the link comes back, what changed meanwhile syncs as any change does."""
    if base is None:
        return True
    return (base.get("person"), base.get("project")) != (entry.person_id, entry.project_id)
