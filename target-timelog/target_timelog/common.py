"""What the task, allocation and work writers share: how a refused item is recorded, TimeLog's dates, and how
independent calls run side by side."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from timesync.model import parse_date
from timesync.reconcile.apply import OutcomeRecorder
from timesync.states import Outcome

#: TimeLog calls in flight at once (tasks of one level, allocations, work batches, lease re-reads).
DEFAULT_MAX_CONCURRENCY = 4
#: Words in TimeLog's per-item message when a week is closed or an entry approved (pair state `locked`).
LOCK_MARKERS = ("closed", "approved", "locked")


T = TypeVar("T")


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


def run_concurrently(call: Callable[[T], object], items: Iterable[T], max_concurrency: int) -> None:
    """``call`` on each of ``items``, up to ``max_concurrency`` at once, in no particular order.

    Each call records its own outcomes as soon as TimeLog answers (OutcomeRecorder serialises the ledger writes)
    and records a per-item refusal itself, so what a call raises is fatal: the calls not started yet are not
    made, those already running finish and record theirs, then the first error is raised.
    """
    with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="timelog-write") as pool:
        futures = [pool.submit(call, item) for item in items]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)  # waits for the running calls
            raise
