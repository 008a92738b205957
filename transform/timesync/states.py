"""What the ledger records about pairs and runs, as plain enums: the rules and the model use them without the
database (`timesync.ledger` re-exports them)."""

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
    DELETED = "deleted"  # tombstone: absorbs late echoes


class RunStatus(StrEnum):
    """How a run ended."""

    RUNNING = "running"
    OK = "ok"
    DRY_RUN = "dry_run"
    REFUSED = "refused"  # flood guard
    FAILED = "failed"
