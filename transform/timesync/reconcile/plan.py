"""What one direction of a run will do: pair writes with (what builds) their commands, the audit, and counts."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from timesync.ledger import Pair, PairKind, PlannedPair, RunItem
from timesync.links import BackfillRequest
from timesync.model import TimeEntry, json_text
from timesync.reconcile.landing import OutOfScope, TaskRef
from timesync.reconcile.rules import Action, Change, Decision

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


@dataclass
class Plan:
    """What one direction of a run will do: pair writes with their commands, the audit, and counts.

    Tasks and allocations hold their commands (``PlannedPair.commands``). Time entries hold an ``EntryWrite``
    instead, and ``builder`` builds their commands when the plan is recorded and again when emitted, so a 50k
    backfill never holds 50k command dicts at once.
    """

    planned: list[PlannedPair] = field(default_factory=list)
    entry_writes: list[EntryWrite | None] = field(default_factory=list)  # one per planned pair write
    items: list[RunItem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    replays: list[Pair] = field(default_factory=list)
    existing_pair_ids: set[int] = field(default_factory=set)  # planned writes to pairs already in the ledger
    # New pairs other records may depend on (tasks, project-time tasks, allocations): (kind, source id) -> index.
    new_pairs: dict[tuple[PairKind, str], int] = field(default_factory=dict)
    builder: CommandBuilder | None = None  # builds the time entries' commands
    # Links whose history must be read again (`timesync finish`): time held back while a task was away.
    backfills: list[BackfillRequest] = field(default_factory=list)

    def add(self, planned: PlannedPair, entry_write: EntryWrite | None = None) -> int:
        """Append a pair write (a time entry's with what builds its commands); returns its index."""
        self.planned.append(planned)
        self.entry_writes.append(entry_write)
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

    def command_count(self, index: int) -> int:
        """How many commands the pair write at ``index`` emits (without building them)."""
        entry_write = self.entry_writes[index]
        return entry_write.count if entry_write else len(self.planned[index].commands)

    def first_seqs(self) -> list[int]:
        """Where each pair write's commands start in the run (0-based), and after the last, how many there are."""
        starts = [0]
        for index in range(len(self.planned)):
            starts.append(starts[-1] + self.command_count(index))
        return starts

    def numbered_commands(self, index: int, run_id: int, first_seq: int,
                          pair_id: int | None = None) -> list[dict[str, Any]]:
        """The commands of the pair write at ``index`` (held, or built now), numbered from ``first_seq``.

        Their place in the run is ``r<run>-<seq>``; ``pair_id`` is given once the plan is recorded.
        """
        entry_write = self.entry_writes[index]
        if entry_write is None:
            commands = self.planned[index].commands
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
        return sum(map(self.command_count, range(len(self.planned)))) + sum(len(p.pending) for p in self.replays)
