"""One direction of a sync run: canonical records in, a recorded plan and the command records out.

The parts: ``intake`` collects the tap's records, ``planning`` classifies them against the ledger into a ``plan``
whose commands ``build`` makes, and this module keeps the run's books: the flood guard, recording the plan
(intents first) and handing out the numbered commands. ``conflicts`` resolves a parked conflict the same way.
"""

from __future__ import annotations

import bisect
import gc
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, overload

from timesync.adapters import ADAPTERS, Adapter
from timesync.ledger import Ledger, PairKind, PairState, PlannedPair, RunStatus
from timesync.links import LinkChanges, Links, link_changes, runs_backfills
from timesync.model import Deletion, Direction
from timesync.reconcile.build import replayed
from timesync.reconcile.intake import Intake
from timesync.reconcile.plan import Plan
from timesync.reconcile.planning import Planner
from timesync.reconcile.spill import Spill

#: Pairs whose source entry must still be listed by a whole re-read; an absent one was deleted at the source.
ABSENCE_STATES = (PairState.CREATING, PairState.LINKED, PairState.LOCKED)


class FloodGuardError(RuntimeError):
    """The run would write more than max_changes_per_run; nothing was emitted."""


class Commands(Sequence[dict[str, Any]]):
    """A recorded run's commands in apply order: the plan's (each pair's built when reached), then the replays.

    Iterating builds one pair's commands at a time, so emitting a large run keeps memory flat. Indexing keeps what
    it built: an edit to ``commands[i]`` shows when iterating again, as with a list.
    """

    def __init__(self, run_id: int, plan: Plan, pair_ids: Sequence[int], replayed: list[dict[str, Any]],
                 starts: Sequence[int] | None = None) -> None:
        self._run_id, self._plan, self._pair_ids, self._replayed = run_id, plan, pair_ids, replayed
        self._starts = starts or plan.first_seqs()  # position of each pair write's first command
        self._kept: dict[int, list[dict[str, Any]]] = {}  # pair-write index -> commands handed out by indexing

    def _commands_of(self, index: int) -> list[dict[str, Any]]:
        if index in self._kept:
            return self._kept[index]
        return self._plan.numbered_commands(index, self._run_id, self._starts[index] + 1, self._pair_ids[index])

    def __len__(self) -> int:
        return self._starts[-1] + len(self._replayed)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        # The pair writes are read in order (a spilled plan is read a chunk at a time, not looked up one by one).
        for index, (planned, entry_write) in enumerate(self._plan.pair_writes()):
            if index in self._kept:
                yield from self._kept[index]
            else:
                yield from self._plan.commands_of(planned, entry_write, self._run_id, self._starts[index] + 1,
                                                  self._pair_ids[index])
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


def record(ledger: Ledger, run_id: int, direction: Direction, plan: Plan) -> Commands:
    """Record the plan in one transaction (each pair's intent: its numbered commands), count the replays about to
    be emitted again, and return every command to emit, replays last."""
    starts = plan.first_seqs()
    pair_ids = array("q", ledger.record_plan(run_id, direction, _with_commands(plan, run_id, starts), plan.items,
                                             plan.counts, dry_run=False))  # 8 bytes a pair, not an int object
    again = replayed(plan.replays)
    if plan.replays:
        ledger.note_replays(pair.id for pair in plan.replays)
    return Commands(run_id, plan, pair_ids, again, starts)


def _with_commands(plan: Plan, run_id: int, starts: Sequence[int]) -> Iterator[PlannedPair]:
    """Each planned pair with its numbered commands, for record_plan (time entries' built now, not kept)."""
    for index, (planned, entry_write) in enumerate(plan.pair_writes()):
        commands = plan.commands_of(planned, entry_write, run_id, starts[index] + 1)
        yield replace(planned, commands=commands, fingerprint=entry_write.fingerprint()) if entry_write \
            else planned


class Reconciler:
    """Collects one tap's records, plans against the ledger, records the plan and returns the commands."""

    def __init__(self, ledger: Ledger, links: Links, direction: Direction, *, dry_run: bool = False,
                 adapter: Adapter | None = None) -> None:
        """``adapter`` reads the tap (default: the source side's adapter of job `sync`)."""
        self.ledger, self.links, self.direction, self.dry_run = ledger, links, direction, dry_run
        self.source, self.target = direction.source, direction.target
        # The run's temporary file for what grows with the input (the intake's entries, the plan's pair writes and
        # run items): created only past a few thousand records, removed by ``close``.
        self.spill = Spill()
        self.intake = Intake(adapter or ADAPTERS[self.source], self.spill)
        self.run_id: int | None = None
        self.link_changes = LinkChanges()

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        """Take one tap record; the latest version of an id wins (overlap windows re-send records)."""
        self.intake.add(stream, record)

    def add_absences(self, listed: set[str]) -> int:
        """Deletions for the source entries a whole re-read did not list (``listed``: every entry id it did).

        Only pairs whose source project is still linked: a removed link leaves both sides as they are. The rules then
        treat each as a deletion from a feed (the twin is deleted only if unchanged since the base).
        """
        absent = 0
        for pair in self.ledger.pairs(states=ABSENCE_STATES, kind=PairKind.TIME_ENTRY):
            native = pair.id_on(self.source)
            base = pair.base_on(self.source) or {}
            if native is None or native in listed or self.links.project(str(self.source), base.get("project")) is None:
                continue
            self.intake.deletions[("time_entry", native)] = Deletion(self.source, "time_entry", native)
            absent += 1
        return absent

    @property
    def directory(self) -> dict[str, dict[str, str]]:
        """The source side's projects and persons the tap sent (id -> name), by kind."""
        return self.intake.directory

    def plan(self) -> Plan:
        """Classify everything collected, without writing to the ledger."""
        return Planner(self.ledger, self.links, self.direction, spill=self.spill).plan_all(self.intake)

    def run(self) -> Sequence[dict[str, Any]]:
        """Plan, apply the flood guard, record the plan (intents first) and return the commands to emit.

        Everything that can refuse or fail (the flood guard, the ledger writes) is done before this returns; the
        returned ``Commands`` only builds each command again, from memory, when it is reached.
        """
        with _cyclic_gc_paused():
            return self._run()

    def close(self) -> None:
        """Remove the run's spill file: after the commands ``run`` returned were emitted (they read it)."""
        self.spill.close()

    def _run(self) -> Sequence[dict[str, Any]]:
        # Reported once: the first pipeline of a job stores the new links, so the second sees no change.
        stored = self.ledger.stored_links()
        if stored.projects or stored.persons:  # a first sync reads all history anyway: nothing to backfill
            self.link_changes = link_changes(stored, self.links)
            if not self.dry_run:  # queued before the links are stored, so a crash now cannot lose a backfill
                self.ledger.request_backfills(self.link_changes.backfills())
        if not self.dry_run:  # a dry run (`timesync plan`) must leave the change for the real run to see
            self.ledger.sync_links(self.links)
        self.run_id = run_id = self.ledger.begin_run(self.direction, dry_run=self.dry_run)
        plan = self.plan()
        limit = self.links.options.max_changes_per_run
        write_count = plan.counts["commands"] = plan.write_count
        if write_count > limit:
            message = (f"flood guard: this run would write {write_count} changes, more than "
                       f"max_changes_per_run={limit} (options in {self.links.source}). Nothing was written; the "
                       f"plan is recorded as run {run_id}. Raise the option or check the links, then re-run.")
            refused = (replace(item, outcome=f"refused:{item.outcome}") for item in plan.items)
            self.ledger.record_plan(run_id, self.direction, plan.planned, refused, plan.counts, dry_run=True)
            self.ledger.finish_run(run_id, RunStatus.REFUSED, message=message)
            raise FloodGuardError(message)
        if self.dry_run:
            self.ledger.record_plan(run_id, self.direction, plan.planned, plan.items, plan.counts, dry_run=True)
            self.ledger.finish_run(run_id, RunStatus.DRY_RUN)
            return []
        if runs_backfills(self.links.tool):
            self.ledger.request_backfills(plan.backfills)
        commands = record(self.ledger, run_id, self.direction, plan)
        self.ledger.finish_run(run_id, RunStatus.OK)
        return commands
