"""What a target calls right before writing: the lease check and the crash-recovery lookup. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from timesync.links import ConflictPolicy, DeletePolicy
from timesync.model import Direction, TimeEntry, parse_timestamp
from timesync.reconcile.rules import Action, Change, compare, decide
from timesync.states import Outcome, PairState

if TYPE_CHECKING:
    from timesync.ledger import Pair

# What to record when the rules, seeing the twin as it is now, say "do not write".
_REFUSAL_OUTCOME: dict[Action, Outcome] = {
    Action.PARK: Outcome.CONFLICT,
    Action.LOCK: Outcome.LOCKED,
    Action.ORPHAN: Outcome.ORPHANED,
    Action.LEAVE: Outcome.SKIPPED,
    Action.YIELD: Outcome.SKIPPED,
    Action.TOMBSTONE: Outcome.DELETED,
    Action.NONE: Outcome.SKIPPED,
}


@dataclass(frozen=True)
class LeaseVerdict:
    """``write``: go ahead. Otherwise record ``outcome`` (with ``current``, the twin's snapshot now)."""

    write: bool
    outcome: Outcome | None
    reason: str
    current: dict[str, Any] | None


def check_lease(command: Mapping[str, Any], current: TimeEntry | None) -> LeaseVerdict:
    """Compare the twin as re-read now (``None``: not found) with the command's expected base, and re-decide.

    Call it with the command returned by ``Ledger.resolve_dependencies``. Creates pass (they have no lease:
    use ``find_created`` first when ``lookup_first`` is set).
    """
    snapshot = current.snapshot() if current is not None else None
    action = Action(command["action"])
    is_delete = command["kind"].endswith("_delete")
    if not is_delete and command.get("expected_base") is None:
        return LeaseVerdict(True, None, "create: no lease", snapshot)
    if is_delete and snapshot is None:
        outcome = Outcome.MOVE_DELETED if action is Action.MOVE else Outcome.DELETED
        return LeaseVerdict(False, outcome, "the twin is already gone", None)
    if not is_delete and snapshot is not None and snapshot == command.get("twin_snapshot"):
        return LeaseVerdict(False, Outcome.ALREADY_APPLIED, "the twin already holds this value", snapshot)
    direction = Direction(command["direction"])
    source_updated = parse_timestamp(command.get("source_updated_at"))
    twin_updated = current.updated_at if current is not None else None
    newer = source_updated > twin_updated if source_updated and twin_updated else None
    decision = decide(
        Change(command.get("source_change") or Change.CHANGED), compare(snapshot, command.get("expected_base")),
        PairState.LINKED, source_side=direction.source,
        conflict_policy=ConflictPolicy(command.get("conflict_policy") or ConflictPolicy.PARK),
        delete_policy=DeletePolicy(command.get("delete_policy") or DeletePolicy.PROPAGATE),
        twin_locked=bool(current and current.locked), needs_move=action is Action.MOVE, source_is_newer=newer,
    )
    if decision.action is action:
        return LeaseVerdict(True, None, decision.reason, snapshot)
    return LeaseVerdict(False, _REFUSAL_OUTCOME.get(decision.action, Outcome.SKIPPED), decision.reason, snapshot)


def move_create_allowed(command: Mapping[str, Any], pair: Pair | None) -> bool:
    """The create half of a move runs only once its delete half succeeded (the pair is back in `creating`)."""
    return command["action"] != Action.MOVE or (pair is not None and pair.state is PairState.CREATING)


def find_created(command: Mapping[str, Any], candidates: Iterable[TimeEntry]) -> TimeEntry | None:
    """The twin an earlier, unconfirmed attempt created: the candidate matching the command's fingerprint.

    Candidates are the target side's entries of that person and date, converted by the side's adapter.
    """
    fingerprint = command.get("fingerprint") or {}
    for candidate in candidates:
        if fingerprint_matches(fingerprint, candidate.snapshot()):
            return candidate
    return None


def fingerprint_matches(fingerprint: Mapping[str, Any], snapshot: Mapping[str, Any]) -> bool:
    """Person, date, minutes, note and task equal (task ignored while the fingerprint's task is unresolved)."""
    fields = ("person", "date", "minutes", "note") + (("task",) if fingerprint.get("task") is not None else ())
    return bool(fingerprint) and all(fingerprint.get(name) == snapshot.get(name) for name in fields)
