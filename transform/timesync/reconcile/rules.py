"""The classification rules: what to do with one item, given how each side changed since the base. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from timesync.links import ConflictPolicy, DeletePolicy
from timesync.model import Side
from timesync.states import PairState


class Change(StrEnum):
    """How one side's copy compares with the pair's base snapshot of that side."""

    NEW = "new"  # no base on this side (no pair yet, or a twin that does not exist)
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # equal to the base: an echo or a re-read in the overlap window
    DELETED = "deleted"


class Action(StrEnum):
    """What the sync does about one item."""

    CREATE = "create"
    UPDATE = "update"
    MOVE = "move"  # time: the twin cannot change task/person in place, delete + create; a task: a new parent
    DELETE = "delete"
    NONE = "none"  # nothing to write
    PARK = "park"  # conflict: reported, nothing written
    LOCK = "lock"  # a write would touch an approved/closed entry: reported, nothing written
    ORPHAN = "orphan"  # deleted on one side, changed on the other: reported, nothing written
    LEAVE = "leave"  # moved out of scope: the twin is left behind, reported, nothing written until settled
    TOMBSTONE = "tombstone"  # gone (or let go): mark the pair deleted, nothing written
    YIELD = "yield"  # the conflict policy chose the twin's value; the other direction carries it


WRITES = frozenset({Action.CREATE, Action.UPDATE, Action.MOVE, Action.DELETE})


@dataclass(frozen=True)
class Decision:
    """The action, the pair state it leads to (None: no pair), and why, in words for the run report."""

    action: Action
    state: PairState | None
    reason: str


def _winner_is_source(policy: ConflictPolicy, source_side: Side, source_is_newer: bool | None) -> bool | None:
    """True: write the source's value; False: keep the twin's; None: park."""
    if policy is ConflictPolicy.FORECAST_WINS:
        return source_side is Side.FORECAST
    if policy is ConflictPolicy.TIMELOG_WINS:
        return source_side is Side.TIMELOG
    if policy is ConflictPolicy.NEWEST_WINS and source_is_newer is not None:
        return source_is_newer
    return None


# The parked states: nothing is written either way until a person settles the pair, or both sides delete it.
# State -> (the action a change gets, why a quiet pair stays, why a change is only reported, why it ends).
_PARKED: dict[PairState, tuple[Action, str, str, str]] = {
    PairState.CONFLICT: (Action.PARK, "conflict still open", "changed while in conflict: parked until resolved",
                         "conflict ended: deleted on both sides"),
    PairState.LOCKED: (Action.LOCK, "locked, no new difference", "locked: not written, the difference is reported",
                       "deleted on both sides"),
    PairState.ORPHANED: (Action.ORPHAN, "orphaned, no new change", "orphaned: change reported, nothing written",
                         "orphan resolved: deleted on both sides"),
    # `timesync pairs relink|release` settle it: writing either way could pull the moved entry back into a linked
    # project, or count its hours twice.
    PairState.LEFT_BEHIND: (Action.LEAVE, "left behind, no new change", "left behind: change reported, nothing "
                            "written", "left behind, then deleted on both sides"),
}


def decide(
    source: Change,
    twin: Change,
    state: PairState | None,
    *,
    source_side: Side,
    conflict_policy: ConflictPolicy = ConflictPolicy.PARK,
    delete_policy: DeletePolicy = DeletePolicy.PROPAGATE,
    twin_locked: bool = False,
    needs_move: bool = False,
    source_is_newer: bool | None = None,
) -> Decision:
    """Classify one item of the direction ``source_side`` -> twin.

    The mapper calls this with ``twin`` = UNCHANGED (it cannot read the other system); the target calls it
    again right before writing with the twin it re-read (the lease check), so both use these same rules.
    """
    decision = _decide(source, twin, state, source_side, conflict_policy, delete_policy, needs_move,
                       source_is_newer)
    if twin_locked and decision.action in (Action.UPDATE, Action.MOVE, Action.DELETE):
        return Decision(Action.LOCK, PairState.LOCKED, "the twin is approved/locked: not edited, the difference "
                                                       "is reported")
    return decision


def _decide(source: Change, twin: Change, state: PairState | None, source_side: Side,
            conflict_policy: ConflictPolicy, delete_policy: DeletePolicy, needs_move: bool,
            source_is_newer: bool | None) -> Decision:
    if state is None:
        if source is Change.DELETED:
            return Decision(Action.NONE, None, "deleted before it was ever synced")
        return Decision(Action.CREATE, PairState.CREATING, "new: create the twin (intent recorded first)")
    if state is PairState.DELETED:
        return Decision(Action.NONE, PairState.DELETED, "pair already deleted: late echo absorbed")
    if state is PairState.CREATING:
        if source is Change.DELETED:
            return Decision(Action.DELETE, PairState.DELETED,
                            "deleted while its create was unconfirmed: delete the twin if it was created")
        return Decision(Action.CREATE, PairState.CREATING, "create unconfirmed: look the twin up, then create")
    both_deleted = source is Change.DELETED and twin in (Change.DELETED, Change.NEW)
    quiet = source is Change.UNCHANGED and twin is Change.UNCHANGED
    if state in _PARKED:
        action, quiet_reason, changed_reason, gone_reason = _PARKED[state]
        if both_deleted:
            return Decision(Action.TOMBSTONE, PairState.DELETED, gone_reason)
        if quiet:
            return Decision(Action.NONE, state, quiet_reason)
        return Decision(action, state, changed_reason)
    return _decide_linked(source, twin, source_side, conflict_policy, delete_policy, needs_move, source_is_newer)


def _decide_linked(source: Change, twin: Change, source_side: Side, conflict_policy: ConflictPolicy,
                   delete_policy: DeletePolicy, needs_move: bool, source_is_newer: bool | None) -> Decision:
    source = Change.CHANGED if source is Change.NEW else source
    twin = Change.DELETED if twin is Change.NEW else twin  # a linked twin that is not there is a deleted twin
    write = Action.MOVE if needs_move else Action.UPDATE
    if source is Change.UNCHANGED:
        return Decision(Action.NONE, PairState.LINKED, "unchanged since the last sync (echo or overlap re-read)")
    if source is Change.CHANGED:
        if twin is Change.UNCHANGED:
            return Decision(write, PairState.LINKED, "changed on this side only")
        if twin is Change.DELETED:
            return Decision(Action.ORPHAN, PairState.ORPHANED, "changed here, deleted on the other side")
        winner = _winner_is_source(conflict_policy, source_side, source_is_newer)
        if winner is None:
            return Decision(Action.PARK, PairState.CONFLICT, "changed on both sides: parked as a conflict")
        if winner:
            return Decision(write, PairState.LINKED, f"changed on both sides: {conflict_policy} keeps this side")
        return Decision(Action.YIELD, PairState.LINKED, f"changed on both sides: {conflict_policy} keeps the twin")
    if twin is Change.DELETED:
        return Decision(Action.TOMBSTONE, PairState.DELETED, "deleted on both sides")
    if twin is Change.CHANGED:
        return Decision(Action.ORPHAN, PairState.ORPHANED, "deleted here, changed on the other side: not deleted")
    if delete_policy is DeletePolicy.PARK:
        return Decision(Action.ORPHAN, PairState.ORPHANED, "deleted here; delete_policy park keeps the twin")
    if delete_policy is DeletePolicy.IGNORE:
        return Decision(Action.TOMBSTONE, PairState.DELETED, "deleted here; delete_policy ignore keeps the twin")
    return Decision(Action.DELETE, PairState.DELETED, "deleted here, twin unchanged: delete propagates")


def compare(current: dict[str, Any] | None, base: dict[str, Any] | None) -> Change:
    """How a side's current snapshot compares with its base snapshot."""
    if current is None:
        return Change.DELETED
    if base is None:
        return Change.NEW
    return Change.UNCHANGED if current == base else Change.CHANGED
