"""The lease check targets run right before a write, and the crash-recovery lookup."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from timesync.ledger import Outcome, PairState
from timesync.model import Side, TimeEntry
from timesync.reconcile.lease import check_lease, find_created, move_create_allowed

BASE = TimeEntry(Side.TIMELOG, "g1", "2001", "7", "902", dt.date(2026, 3, 2), 60, "n",
                 updated_at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC))
WANTED = replace(BASE, minutes=90)


def _update(**overrides: Any) -> dict[str, Any]:
    command = {"kind": "work_update", "action": "update", "direction": "forecast_to_timelog",
               "expected_base": BASE.snapshot(), "twin_snapshot": WANTED.snapshot(), "source_change": "changed",
               "conflict_policy": "park", "delete_policy": "propagate",
               "source_updated_at": "2026-03-02T10:00:00+00:00"}
    return command | overrides


@pytest.mark.parametrize(
    ("current", "overrides", "write", "outcome"),
    [
        (BASE, {}, True, None),
        (replace(BASE, note="edited"), {}, False, Outcome.CONFLICT),
        (replace(BASE, locked=True), {}, False, Outcome.LOCKED),
        (WANTED, {}, False, Outcome.ALREADY_APPLIED),
        (None, {}, False, Outcome.ORPHANED),
        (replace(BASE, note="edited"), {"conflict_policy": "forecast_wins"}, True, None),
        (replace(BASE, note="edited"), {"conflict_policy": "timelog_wins"}, False, Outcome.SKIPPED),
        (replace(BASE, note="edited"), {"conflict_policy": "newest_wins"}, True, None),
        (replace(BASE, note="edited", updated_at=dt.datetime(2026, 3, 2, 11, tzinfo=dt.UTC)),
         {"conflict_policy": "newest_wins"}, False, Outcome.SKIPPED),
    ],
    ids=["clean", "changed-twin", "locked-twin", "already-applied", "twin-gone", "forecast-wins", "timelog-wins",
         "newest-is-source", "newest-is-twin"],
)
def test_update_lease(current: TimeEntry | None, overrides: dict[str, Any], write: bool,
                      outcome: Outcome | None) -> None:
    """Write only over the expected base; otherwise the recorded outcome says why."""
    verdict = check_lease(_update(**overrides), current)
    assert (verdict.write, verdict.outcome) == (write, outcome)
    assert verdict.reason
    assert verdict.current == (current.snapshot() if current else None)


@pytest.mark.parametrize(
    ("current", "action", "write", "outcome"),
    [
        (BASE, "delete", True, None),
        (replace(BASE, minutes=5), "delete", False, Outcome.ORPHANED),
        (replace(BASE, locked=True), "delete", False, Outcome.LOCKED),
        (None, "delete", False, Outcome.DELETED),
        (BASE, "move", True, None),
        (None, "move", False, Outcome.MOVE_DELETED),
    ],
)
def test_delete_lease(current: TimeEntry | None, action: str, write: bool, outcome: Outcome | None) -> None:
    """A delete propagates only over an unchanged, open twin; a vanished twin needs no write."""
    command = _update(kind="registration_delete", action=action, direction="timelog_to_forecast",
                      source_change="deleted" if action == "delete" else "changed", twin_snapshot=None)
    verdict = check_lease(command, current)
    assert (verdict.write, verdict.outcome) == (write, outcome)


def test_creates_have_no_lease() -> None:
    assert check_lease(_update(kind="work_create", action="create", expected_base=None), None).write


def test_find_created_matches_the_fingerprint_even_before_the_task_id_is_known() -> None:
    """Person, date, minutes and note must match; the task only once it is resolved."""
    candidates = [replace(BASE, id="other", note="x"), BASE]
    unresolved = {"fingerprint": BASE.snapshot() | {"task": None}}
    assert find_created(unresolved, candidates) == BASE
    assert find_created({"fingerprint": BASE.snapshot() | {"task": "999"}}, candidates) is None
    assert find_created({"fingerprint": {}}, candidates) is None


def test_the_create_half_of_a_move_waits_for_its_delete_half() -> None:
    from timesync.ledger import PairState

    class PairStub:
        def __init__(self, state: PairState) -> None:
            self.state = state

    move = {"action": "move"}
    assert move_create_allowed(move, PairStub(PairState.CREATING))  # type: ignore[arg-type]
    assert not move_create_allowed(move, PairStub(PairState.CONFLICT))  # type: ignore[arg-type]
    assert not move_create_allowed(move, None)
    assert move_create_allowed({"action": "create"}, None)
