"""The directory: the projects and persons each side's tap emitted in its last run.

Each pipeline sees only its own side's tap. Keeping what the other direction's tap read lets the mapper check
both sides' ids of links.yml before anything is planned, so a typo in a TimeLog id is caught in the Forecast to
TimeLog pipeline too, before tasks are written to a project that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from timesync.ledger.tables import DirectoryRow

if TYPE_CHECKING:
    from timesync.ledger.store import Ledger
    from timesync.model import Side


def replace(ledger: Ledger, side: Side, kind: str, entries: Mapping[str, str | None]) -> None:
    """Store ``entries`` (id -> name) as everything of ``kind`` that ``side`` has now."""
    now = dt.datetime.now(dt.UTC)
    with ledger.engine.begin() as connection:
        connection.execute(delete(DirectoryRow).where(DirectoryRow.side == str(side), DirectoryRow.kind == kind))
        if entries:
            connection.execute(insert(DirectoryRow), [
                {"side": str(side), "kind": kind, "native_id": native_id, "name": name, "seen_at": now}
                for native_id, name in entries.items()])


def known_ids(ledger: Ledger, side: Side, kind: str) -> set[str] | None:
    """The ids of ``kind`` on ``side`` as last read, or None when that side's tap has not run yet."""
    with ledger.read_engine.connect() as connection:
        ids = set(connection.scalars(
            select(DirectoryRow.native_id).where(DirectoryRow.side == str(side), DirectoryRow.kind == kind)))
    return ids or None
