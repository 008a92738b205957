"""The directory: the projects and persons each side's tap emitted in its last run.

Each pipeline sees only its own side's tap. Keeping what the other direction's tap read lets the mapper check
both sides' ids of links.yml before anything is planned, so a typo in a TimeLog id is caught in the Forecast to
TimeLog pipeline too, before tasks are written to a project that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, insert, select

from timesync.ledger.base import LedgerBase, utc_now
from timesync.ledger.tables import DirectoryRow
from timesync.model import Side


class DirectoryRecords(LedgerBase):
    """The Ledger's directory of each side's projects and persons."""

    def replace_directory(self, side: Side, kind: str, entries: Mapping[str, str | None]) -> None:
        """Store ``entries`` (id -> name) as everything of ``kind`` (project, person) that ``side`` has now."""
        stamp = utc_now()
        with self._writing() as connection:
            connection.execute(delete(DirectoryRow).where(DirectoryRow.side == str(side), DirectoryRow.kind == kind))
            if entries:
                connection.execute(insert(DirectoryRow), [
                    {"side": str(side), "kind": kind, "native_id": native_id, "name": name, "seen_at": stamp}
                    for native_id, name in entries.items()])

    def directory_ids(self, side: Side, kind: str) -> set[str] | None:
        """The ids of ``kind`` on ``side`` as last read, or None when that side's tap has not run yet."""
        return set(self.directory_names(side, kind)) or None

    def directory_names(self, side: Side, kind: str) -> dict[str, str | None]:
        """Id -> name of ``kind`` on ``side`` as last read (empty when that side's tap has not run yet)."""
        query = select(DirectoryRow.native_id, DirectoryRow.name).where(DirectoryRow.side == str(side),
                                                                        DirectoryRow.kind == kind)
        with self._read_connection() as connection:
            return dict(connection.execute(query).tuples().all())


# The same methods called with the ledger first, as `directory.replace(ledger, ...)` (the spelling scripts use).
replace = DirectoryRecords.replace_directory
known_ids = DirectoryRecords.directory_ids
