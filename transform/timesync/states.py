"""The ledger's vocabulary without the database: what a pair links, where it stands, how a run ended, what a target did.

The rules and landing decide in these terms and must stay pure (no SQLAlchemy), so the enums live here, in the model
layer; `timesync.ledger` re-exports them for the code that meets them through the ledger. The targets import them
from here, so a run with nothing to write never imports SQLAlchemy.
"""

from __future__ import annotations

from enum import StrEnum


class PairKind(StrEnum):
    """What a pair links."""

    TASK = "task"
    PROJECT_TIME_TASK = "project_time_task"  # Forecast project id <-> the TimeLog task that holds project time
    ALLOCATION = "allocation"  # "<forecast task>:<person>" <-> "<timelog task>:<employee>"
    TIME_ENTRY = "time_entry"  # Forecast registration id <-> TimeLog work unit GUID


class PairState(StrEnum):
    """Where a pair stands."""

    CREATING = "creating"  # intent recorded; the twin may or may not exist yet
    LINKED = "linked"
    CONFLICT = "conflict"  # changed on both sides; parked until resolved
    LOCKED = "locked"  # a needed write hit an approved/closed entry; difference reported
    ORPHANED = "orphaned"  # deleted on one side while the other side changed
    LEFT_BEHIND = "left_behind"  # one side moved out of scope (unlinked project or person); the twin stays
    DELETED = "deleted"  # tombstone: absorbs late echoes


class RunStatus(StrEnum):
    """How a run ended."""

    RUNNING = "running"
    OK = "ok"
    DRY_RUN = "dry_run"
    REFUSED = "refused"  # flood guard
    FAILED = "failed"


class UnresolvedDependencyError(LookupError):
    """A command needs a TimeLog id the ledger does not hold yet (its task was not created)."""


class Outcome(StrEnum):
    """What a target did with one command (the target records one of these per command)."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    ALREADY_APPLIED = "already_applied"  # the twin already held the intended value (a replay after a crash)
    MOVE_DELETED = "move_deleted"  # first half of a move: the old registration is gone, the create follows
    CONFLICT = "conflict"
    LOCKED = "locked"
    ORPHANED = "orphaned"
    SKIPPED = "skipped"  # a conflict policy chose the twin's value: nothing written here
    FAILED = "failed"  # a per-item error (e.g. TimeLog "Invalid"); retried on the next runs
