"""The sync ledger: links, pairs (id maps with base snapshots and states), runs and run items."""

from timesync.ledger import directory, run_lock
from timesync.ledger.store import (
    MAX_REPLAY_ATTEMPTS,
    Backfill,
    BackfillState,
    Ledger,
    LedgerBackupError,
    Pair,
    PlannedPair,
    Run,
    RunItem,
    UnresolvedDependencyError,
    default_ledger_url,
)
from timesync.states import Outcome, PairKind, PairState, RunStatus

__all__ = [
    "MAX_REPLAY_ATTEMPTS",
    "Backfill",
    "BackfillState",
    "Ledger",
    "LedgerBackupError",
    "Outcome",
    "Pair",
    "PairKind",
    "PairState",
    "PlannedPair",
    "Run",
    "RunItem",
    "RunStatus",
    "UnresolvedDependencyError",
    "default_ledger_url",
    "directory",
    "run_lock",
]
