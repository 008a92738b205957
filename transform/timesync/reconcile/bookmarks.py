"""The ledger must not be behind Meltano's state: a tap resumed from a bookmark the ledger never passed on means
the ledger is lost or stale, and planning against it would write every hour again.

Meltano saves, per pipeline, the last STATE message the target passed on; the mapper passes on the tap's STATE
messages only after its commands. So each run records the digests of the STATE messages it passes on, and the
next run checks the bookmark the tap resumed from against them. A singer-sdk tap that starts from a bookmark
writes that state before its first SCHEMA message (``Tap.sync_all``): that message is the one checked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from timesync.ledger import Ledger
from timesync.model import Direction

#: Keys of a stream's state that are the tap's progress within one run, not where the next run resumes.
TRANSIENT_STATE_KEYS = frozenset({"progress_markers"})


class StaleLedgerError(Exception):
    """The tap resumed from a bookmark this ledger never passed on; the message names the fixes."""


def bookmark_digest(state: Mapping[str, Any]) -> str | None:
    """A digest of where a tap resumes (its bookmarks, progress markers left out); None when there is none."""
    bookmarks = _without_transient(state.get("bookmarks") or {})
    if not bookmarks:
        return None
    return hashlib.sha256(json.dumps(bookmarks, sort_keys=True, default=str).encode()).hexdigest()


def _without_transient(value: Any) -> Any:
    """The state without progress markers and without empty entries: a stream with no bookmark is `{}` in the
    STATE a tap writes, and absent from the state Meltano hands back."""
    if isinstance(value, Mapping):
        kept = {key: _without_transient(item) for key, item in value.items() if key not in TRANSIENT_STATE_KEYS}
        return {key: item for key, item in kept.items() if item not in ({}, None)}
    if isinstance(value, list):
        return [_without_transient(item) for item in value]
    return value


class BookmarkGuard:
    """Checks the tap's starting bookmark against the ledger, and records the bookmarks a run passes on."""

    def __init__(self, ledger: Ledger, direction: Direction) -> None:
        self.ledger, self.direction = ledger, direction

    def check(self, starting_state: Mapping[str, Any] | None) -> str | None:
        """Raise `StaleLedgerError` if the tap resumed from a bookmark this ledger does not know. Returns a warning
        for a ledger that predates bookmark records (its first run after the upgrade trusts Meltano's state)."""
        digest = bookmark_digest(starting_state or {})
        if digest is None:
            return None  # a first read or a full refresh: nothing to be behind
        standing = self.ledger.bookmark_standing(str(self.direction), digest)
        if standing == "untracked":
            return (f"{self.direction}: this ledger predates bookmark records; trusting Meltano's state this once "
                    "and recording it from now on")
        if standing == "known":
            return None
        raise StaleLedgerError(
            f"{self.direction}: Meltano resumed the tap from a bookmark this ledger ({self.ledger.url}) never passed "
            "on, so the ledger is lost or older than the last run (a new server, a restored backup, another "
            "ledger_url). Planning against it could write every hour again on both sides, so nothing was written. "
            "Fix: point ledger_url at the ledger the last runs used, or restore the newest copy "
            "(`timesync ledger backup PATH` makes one), then run again. If no current ledger exists, see "
            "README 'A lost ledger'.")

    def record(self, states: Iterable[Mapping[str, Any]], run_id: int) -> None:
        """Record the bookmarks of the STATE messages this run passes on to the target (and so to Meltano)."""
        digests = [digest for state in states if (digest := bookmark_digest(state)) is not None]
        if digests:
            self.ledger.record_bookmarks(str(self.direction), digests, run_id)
