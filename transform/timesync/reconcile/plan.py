"""What one direction of a run will do: pair writes with (what builds) their commands, the audit, and counts."""

from __future__ import annotations

import pickle
import sys
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from timesync.ledger import Pair, PairKind, PairState, PlannedPair, RunItem
from timesync.links import BackfillRequest
from timesync.model import Side, TimeEntry, json_text
from timesync.reconcile.landing import OutOfScope, TaskRef
from timesync.reconcile.rules import Action, Change, Decision
from timesync.reconcile.spill import Spill, SpilledList, entry_fields, entry_from_fields

if TYPE_CHECKING:
    from timesync.reconcile.build import CommandBuilder

# How each rule action reads in the run report and counts.
CLASSIFICATION: dict[Action, str] = {
    Action.CREATE: "new", Action.UPDATE: "changed", Action.MOVE: "moved", Action.DELETE: "deleted",
    Action.NONE: "unchanged", Action.PARK: "conflict", Action.LOCK: "locked", Action.ORPHAN: "orphaned",
    Action.TOMBSTONE: "deleted", Action.YIELD: "conflict_yielded", Action.LEAVE: "left_behind",
}
# Commands per planned time entry, by the rule's action (a stale create intent adds a delete: see EntryWrite.count).
ENTRY_COMMAND_COUNT: dict[Action, int] = {Action.CREATE: 1, Action.UPDATE: 1, Action.MOVE: 2}


@dataclass(frozen=True, slots=True, eq=False)
class EntryWrite:
    """What builds a planned time entry's commands: kept instead of them (about 100 bytes, not 5 KB)."""

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

    def fingerprint(self) -> str | None:
        """What the pair stores to find the twin after a crash (creates and moves)."""
        return json_text(self.image.snapshot()) if self.action in (Action.CREATE, Action.MOVE) else None


# Spilled values as plain tuples (marshalled a row of 2,000 at a time): a pickled dataclass costs several times more.

def _planned_plain(planned: PlannedPair) -> tuple[Any, ...]:
    return (planned.kind.value, planned.pair_id, planned.forecast_id, planned.timelog_id, planned.project,
            planned.origin.value, planned.state.value if planned.state is not None else None, planned.reason,
            planned.base, planned.fingerprint, planned.commands, planned.conflict)


def _planned_from_plain(values: tuple[Any, ...]) -> PlannedPair:
    kind, pair_id, forecast_id, timelog_id, project, origin, state, reason, base, fingerprint, commands, conflict = \
        values
    return PlannedPair(PairKind(kind), pair_id, forecast_id, timelog_id, project, Side(origin),
                       PairState(state) if state is not None else None, reason, base, fingerprint, commands, conflict)


def _entry_write_plain(write: EntryWrite | None) -> tuple[Any, ...] | None:
    if write is None:
        return None
    ref = (write.task_ref.pair_kind.value, write.task_ref.forecast_id) if write.task_ref is not None else None
    pair = pickle.dumps(write.pair, pickle.HIGHEST_PROTOCOL) if write.pair is not None else None
    return (entry_fields(write.entry), entry_fields(write.image), ref, pair, write.action.value,
            write.source_change.value, write.stale_intent)


def _entry_write_from_plain(values: tuple[Any, ...] | None) -> EntryWrite | None:
    if values is None:
        return None
    entry, image, ref, pair, action, source_change, stale_intent = values
    return EntryWrite(entry_from_fields(entry), entry_from_fields(image),
                      TaskRef(PairKind(ref[0]), ref[1]) if ref is not None else None,
                      pickle.loads(pair) if pair is not None else None,  # noqa: S301  # this process's own bytes
                      Action(action), Change(source_change), stale_intent)


def _item_plain(item: RunItem) -> tuple[Any, ...]:
    return (item.kind, item.action, item.outcome, item.source_id, item.pair_id, item.message)


def _item_from_plain(values: tuple[Any, ...]) -> RunItem:
    return RunItem(*values)


@dataclass
class Plan:
    """What one direction of a run will do: pair writes with their commands, the audit, and counts.

    Tasks and allocations hold their commands (``PlannedPair.commands``). Time entries hold an ``EntryWrite``
    instead, and ``builder`` builds their commands when the plan is recorded and again when emitted, so a 50k
    backfill never holds 50k command dicts at once. The pair writes and run items, one or more per record, are
    ``SpilledList``s: past a few thousand they wait in ``spill``'s temporary file, not in memory.
    """

    builder: CommandBuilder | None = None  # builds the time entries' commands
    spill: Spill = field(default_factory=Spill, repr=False)
    planned: SpilledList[PlannedPair] = field(init=False)
    entry_writes: SpilledList[EntryWrite | None] = field(init=False)  # one per planned pair write
    items: SpilledList[RunItem] = field(init=False)
    command_counts: array[int] = field(default_factory=lambda: array("l"))  # per pair write, kept in memory
    counts: Counter[str] = field(default_factory=Counter)
    replays: list[Pair] = field(default_factory=list)
    existing_pair_ids: set[int] = field(default_factory=set)  # planned writes to pairs already in the ledger
    # New pairs other records may depend on (tasks, project-time tasks, allocations): (kind, source id) -> index.
    new_pairs: dict[tuple[PairKind, str], int] = field(default_factory=dict)
    # Links whose history must be read again (`timesync finish`): time held back while a task was away.
    backfills: list[BackfillRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.planned = SpilledList(self.spill, dumps=_planned_plain, loads=_planned_from_plain)
        self.entry_writes = SpilledList(self.spill, dumps=_entry_write_plain, loads=_entry_write_from_plain)
        self.items = SpilledList(self.spill, dumps=_item_plain, loads=_item_from_plain)

    def add(self, planned: PlannedPair, entry_write: EntryWrite | None = None) -> int:
        """Append a pair write (a time entry's with what builds its commands); returns its index."""
        self.planned.append(planned)
        self.entry_writes.append(entry_write)
        self.command_counts.append(entry_write.count if entry_write else len(planned.commands))
        if planned.pair_id is not None:
            self.existing_pair_ids.add(planned.pair_id)
        return len(self.planned) - 1

    def add_pair_write(self, planned: PlannedPair, source_id: str, entry_write: EntryWrite | None = None) -> int:
        """Add a pair write; returns the pair id its run items carry (a placeholder for a new pair)."""
        index = self.add(planned, entry_write)
        if planned.pair_id is None:
            if planned.kind is not PairKind.TIME_ENTRY:  # only tasks are asked for (a 50k backfill needs no index)
                self.new_pairs[(planned.kind, source_id)] = index
            return -1 - index
        return planned.pair_id

    def note(self, kind: PairKind, source_id: str, decision: Decision, pair_id: int | None) -> None:
        """Count a decision and add its run item."""
        label = CLASSIFICATION[decision.action]
        self.counts[f"{kind}.{label}"] += 1
        # Enum values, not str(enum): one shared string instead of two new ones per item.
        self.items.append(RunItem(kind=kind.value, action=decision.action.value, outcome=label, source_id=source_id,
                                  pair_id=pair_id, message=decision.reason))

    def out_of_scope(self, kind: PairKind, source_id: str, reason: OutOfScope | str, what: str = "") -> None:
        """Count and record it; ``what`` names the unlinked person or project (for `timesync links check`)."""
        self.counts[f"out_of_scope.{reason}"] += 1
        self.items.append(RunItem(kind=kind.value, action="none", outcome="out_of_scope", source_id=source_id,
                                  message=sys.intern(f"{reason}: {what}" if what else str(reason))))

    def pair_writes(self) -> Iterator[tuple[PlannedPair, EntryWrite | None]]:
        """Each pair write with what builds its time entry's commands (None: it holds them), in order."""
        return zip(self.planned, self.entry_writes, strict=True)

    def command_count(self, index: int) -> int:
        """How many commands the pair write at ``index`` emits (without building them)."""
        return self.command_counts[index]

    def first_seqs(self) -> array[int]:
        """Where each pair write's commands start in the run (0-based), and after the last, how many there are."""
        return array("q", accumulate(self.command_counts, initial=0))

    def numbered_commands(self, index: int, run_id: int, first_seq: int,
                          pair_id: int | None = None) -> list[dict[str, Any]]:
        """The commands of the pair write at ``index`` (held, or built now), numbered from ``first_seq``.

        Their place in the run is ``r<run>-<seq>``; ``pair_id`` is given once the plan is recorded.
        """
        return self.commands_of(self.planned[index], self.entry_writes[index], run_id, first_seq, pair_id)

    def commands_of(self, planned: PlannedPair, entry_write: EntryWrite | None, run_id: int, first_seq: int,
                    pair_id: int | None = None) -> list[dict[str, Any]]:
        """``numbered_commands`` of a pair write as ``pair_writes`` reads it."""
        if entry_write is None:
            commands = planned.commands
        else:
            assert self.builder is not None, "a plan with time-entry writes is made with its builder"
            commands = self.builder.entry_commands(entry_write)
        for seq, command in enumerate(commands, start=first_seq):
            command["run_id"], command["seq"], command["command_id"] = run_id, seq, f"r{run_id}-{seq}"
            if pair_id is not None:
                command["pair_id"] = pair_id
        return commands

    @property
    def write_count(self) -> int:
        """Commands this run would emit, replays included (what the flood guard counts)."""
        return sum(self.command_counts) + sum(len(p.pending) for p in self.replays)
