"""Every cell of the classification table: source change x twin change x pair state, plus policies and locks."""

from __future__ import annotations

import pytest

from timesync.ledger import PairState
from timesync.links import ConflictPolicy, DeletePolicy
from timesync.model import Side
from timesync.reconcile.rules import Action, Change, compare, decide

N, C, U, D = Change.NEW, Change.CHANGED, Change.UNCHANGED, Change.DELETED
TWIN_COLUMNS = (N, C, U, D)

# The specification, written out by hand. Rows: the source side's change. Columns: the twin's change
# (new, changed, unchanged, deleted). A cell is "action/resulting state" ("-" = no pair).
# Default policies: conflict_policy park, delete_policy propagate.
TABLE: dict[PairState | None, dict[Change, tuple[str, str, str, str]]] = {
    None: {
        N: ("create/creating", "create/creating", "create/creating", "create/creating"),
        C: ("create/creating", "create/creating", "create/creating", "create/creating"),
        U: ("create/creating", "create/creating", "create/creating", "create/creating"),
        D: ("none/-", "none/-", "none/-", "none/-"),
    },
    PairState.CREATING: {
        N: ("create/creating", "create/creating", "create/creating", "create/creating"),
        C: ("create/creating", "create/creating", "create/creating", "create/creating"),
        U: ("create/creating", "create/creating", "create/creating", "create/creating"),
        D: ("delete/deleted", "delete/deleted", "delete/deleted", "delete/deleted"),
    },
    PairState.LINKED: {
        N: ("orphan/orphaned", "park/conflict", "update/linked", "orphan/orphaned"),
        C: ("orphan/orphaned", "park/conflict", "update/linked", "orphan/orphaned"),
        U: ("none/linked", "none/linked", "none/linked", "none/linked"),
        D: ("tombstone/deleted", "orphan/orphaned", "delete/deleted", "tombstone/deleted"),
    },
    PairState.CONFLICT: {
        N: ("park/conflict", "park/conflict", "park/conflict", "park/conflict"),
        C: ("park/conflict", "park/conflict", "park/conflict", "park/conflict"),
        U: ("park/conflict", "park/conflict", "none/conflict", "park/conflict"),
        D: ("tombstone/deleted", "park/conflict", "park/conflict", "tombstone/deleted"),
    },
    PairState.LOCKED: {
        N: ("lock/locked", "lock/locked", "lock/locked", "lock/locked"),
        C: ("lock/locked", "lock/locked", "lock/locked", "lock/locked"),
        U: ("lock/locked", "lock/locked", "none/locked", "lock/locked"),
        D: ("tombstone/deleted", "lock/locked", "lock/locked", "tombstone/deleted"),
    },
    PairState.ORPHANED: {
        N: ("orphan/orphaned", "orphan/orphaned", "orphan/orphaned", "orphan/orphaned"),
        C: ("orphan/orphaned", "orphan/orphaned", "orphan/orphaned", "orphan/orphaned"),
        U: ("orphan/orphaned", "orphan/orphaned", "none/orphaned", "orphan/orphaned"),
        D: ("tombstone/deleted", "orphan/orphaned", "orphan/orphaned", "tombstone/deleted"),
    },
    PairState.LEFT_BEHIND: {
        N: ("leave/left_behind", "leave/left_behind", "leave/left_behind", "leave/left_behind"),
        C: ("leave/left_behind", "leave/left_behind", "leave/left_behind", "leave/left_behind"),
        U: ("leave/left_behind", "leave/left_behind", "none/left_behind", "leave/left_behind"),
        D: ("tombstone/deleted", "leave/left_behind", "leave/left_behind", "tombstone/deleted"),
    },
    PairState.DELETED: {
        N: ("none/deleted", "none/deleted", "none/deleted", "none/deleted"),
        C: ("none/deleted", "none/deleted", "none/deleted", "none/deleted"),
        U: ("none/deleted", "none/deleted", "none/deleted", "none/deleted"),
        D: ("none/deleted", "none/deleted", "none/deleted", "none/deleted"),
    },
}

CELLS = [
    pytest.param(state, source, twin, expected, id=f"{state or 'no-pair'}-{source}-x-{twin}")
    for state, rows in TABLE.items()
    for source, row in rows.items()
    for twin, expected in zip(TWIN_COLUMNS, row, strict=True)
]


def _cell(state: PairState | None, source: Change, twin: Change, **kwargs: object) -> str:
    decision = decide(source, twin, state, source_side=kwargs.pop("source_side", Side.FORECAST), **kwargs)
    assert decision.reason, "every decision explains itself in the run report"
    return f"{decision.action}/{decision.state or '-'}"


def test_the_table_covers_every_cell() -> None:
    """4 source changes x 4 twin changes x (no pair + 7 states)."""
    assert len(CELLS) == 4 * 4 * (1 + len(PairState))


@pytest.mark.parametrize(("state", "source", "twin", "expected"), CELLS)
def test_classification_cell(state: PairState | None, source: Change, twin: Change, expected: str) -> None:
    """Each cell decides as the table says, from either side."""
    assert _cell(state, source, twin) == expected
    assert _cell(state, source, twin, source_side=Side.TIMELOG) == expected


@pytest.mark.parametrize(
    ("policy", "source_side", "source_is_newer", "expected"),
    [
        (ConflictPolicy.FORECAST_WINS, Side.FORECAST, None, "update/linked"),
        (ConflictPolicy.FORECAST_WINS, Side.TIMELOG, None, "yield/linked"),
        (ConflictPolicy.TIMELOG_WINS, Side.TIMELOG, None, "update/linked"),
        (ConflictPolicy.TIMELOG_WINS, Side.FORECAST, None, "yield/linked"),
        (ConflictPolicy.NEWEST_WINS, Side.FORECAST, True, "update/linked"),
        (ConflictPolicy.NEWEST_WINS, Side.FORECAST, False, "yield/linked"),
        (ConflictPolicy.NEWEST_WINS, Side.TIMELOG, None, "park/conflict"),
        (ConflictPolicy.PARK, Side.FORECAST, True, "park/conflict"),
    ],
)
def test_conflict_policy_picks_a_side_instead_of_parking(policy: ConflictPolicy, source_side: Side,
                                                         source_is_newer: bool | None, expected: str) -> None:
    """Changed on both sides of a linked pair: the policy decides; newest_wins without timestamps parks."""
    assert _cell(PairState.LINKED, C, C, conflict_policy=policy, source_side=source_side,
                 source_is_newer=source_is_newer) == expected


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(DeletePolicy.PROPAGATE, "delete/deleted"), (DeletePolicy.PARK, "orphan/orphaned"),
     (DeletePolicy.IGNORE, "tombstone/deleted")],
)
def test_delete_policy_applies_only_to_clean_twins(policy: DeletePolicy, expected: str) -> None:
    """A delete with an unchanged twin follows delete_policy; a changed twin is orphaned whatever the policy."""
    assert _cell(PairState.LINKED, D, U, delete_policy=policy) == expected
    assert _cell(PairState.LINKED, D, C, delete_policy=policy) == "orphan/orphaned"


@pytest.mark.parametrize(
    ("source", "twin", "needs_move", "expected"),
    [
        (C, U, False, "lock/locked"),
        (C, U, True, "lock/locked"),
        (D, U, False, "lock/locked"),
        (U, U, False, "none/linked"),
        (C, C, False, "park/conflict"),
    ],
)
def test_a_locked_twin_is_never_written(source: Change, twin: Change, needs_move: bool, expected: str) -> None:
    """Update, move and delete onto an approved twin become `locked`; nothing is recreated around it."""
    assert _cell(PairState.LINKED, source, twin, twin_locked=True, needs_move=needs_move) == expected


def test_a_locked_source_still_creates_its_twin() -> None:
    """Creating the twin of an approved entry edits nothing approved."""
    assert _cell(None, N, N, twin_locked=True) == "create/creating"


def test_a_change_the_twin_cannot_take_in_place_is_a_move() -> None:
    """Forecast cannot change a registration's task or person: the write becomes a move (delete + create)."""
    assert _cell(PairState.LINKED, C, U, needs_move=True) == "move/linked"
    assert decide(C, U, PairState.LINKED, source_side=Side.TIMELOG, needs_move=True).action is Action.MOVE


@pytest.mark.parametrize(
    ("current", "base", "expected"),
    [(None, {"a": 1}, D), ({"a": 1}, None, N), ({"a": 1}, {"a": 1}, U), ({"a": 2}, {"a": 1}, C)],
)
def test_compare_against_the_base(current: dict | None, base: dict | None, expected: Change) -> None:
    """Missing now is deleted; no base is new; equal is unchanged (an echo); different is changed."""
    assert compare(current, base) is expected
