"""What the task, allocation and work writers share: how a refused item is recorded, and TimeLog's dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from timesync.model import parse_date
from timesync.reconcile.apply import OutcomeRecorder
from timesync.states import Outcome

#: Words in TimeLog's per-item message when a week is closed or an entry approved (pair state `locked`).
LOCK_MARKERS = ("closed", "approved", "locked")


class ItemRefusedError(Exception):
    """TimeLog refused one item (per-item `Invalid`, or a lookup that cannot succeed): recorded, the run goes on."""


def is_lock_message(message: str | None) -> bool:
    """Whether TimeLog refused an item because its week is closed or it is approved."""
    return any(marker in (message or "").lower() for marker in LOCK_MARKERS)


def record_refusal(recorder: OutcomeRecorder, command: Mapping[str, Any], exc: Exception) -> None:
    """Record a refusal of one item: `locked` for a closed week or an approved entry, else `failed`."""
    recorder.outcome(command, Outcome.LOCKED if is_lock_message(str(exc)) else Outcome.FAILED,
                     message=str(exc))


def midnight(day: str | dt.date) -> dt.datetime:
    """A calendar date as TimeLog's naive dateTime at 00:00 (never shifted by a time zone)."""
    return dt.datetime.combine(parse_date(day), dt.time())


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
