"""What the ledger keeps about the two accounts: the links as last copied from links.yml, facts found out, and the
bookmarks each run passed on to Meltano."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, select

from timesync.ledger.base import LedgerBase, utc_now
from timesync.ledger.tables import BookmarkRow, FactRow, LinkRow, RunRow
from timesync.links import Links, PersonLink, ProjectLink
from timesync.states import RunStatus


class AccountRecords(LedgerBase):
    """The Ledger's links, facts and bookmarks."""

    def sync_links(self, links: Links) -> None:
        """Replace the stored links with those of the links file (the file is the source of truth)."""
        with self._session() as session:
            session.query(LinkRow).delete()
            session.add_all(
                [LinkRow(kind="project", forecast_id=p.forecast, timelog_id=p.timelog, start_date=p.start_date)
                 for p in links.projects]
                + [LinkRow(kind="person", forecast_id=p.forecast, timelog_id=p.timelog) for p in links.persons]
            )

    def links(self) -> list[tuple[str, str, str]]:
        """The stored links as (kind, forecast id, timelog id)."""
        with self._reading() as session:
            rows = session.scalars(select(LinkRow).order_by(LinkRow.kind, LinkRow.id))
            return [(row.kind, row.forecast_id, row.timelog_id) for row in rows]

    def stored_links(self) -> Links:
        """The links the last run copied into the ledger, start dates included (when links.yml cannot be read)."""
        query = select(LinkRow.kind, LinkRow.forecast_id, LinkRow.timelog_id, LinkRow.start_date).order_by(LinkRow.id)
        with self._read_connection() as connection:
            rows = connection.execute(query).all()
        return Links(projects=tuple(ProjectLink(f, t, start) for kind, f, t, start in rows if kind == "project"),
                     persons=tuple(PersonLink(f, t) for kind, f, t, _ in rows if kind == "person"),
                     source="the ledger")

    def facts(self) -> dict[str, tuple[str, str]]:
        """Every recorded fact: name -> (value, who found it out)."""
        with self._reading() as session:
            return {row.name: (row.value, row.source) for row in session.scalars(select(FactRow))}

    def record_fact(self, name: str, value: str, source: str) -> None:
        """Record (or replace) a fact about the accounts."""
        with self._session() as session:
            session.merge(FactRow(name=name, value=value, source=source, recorded_at=utc_now()))

    def record_bookmarks(self, direction: str, digests: Iterable[str], run_id: int) -> None:
        """Note the STATE messages (by digest) a run passes on: Meltano gives the tap one of them next time."""
        with self._session() as session:
            for digest in set(digests):
                session.merge(BookmarkRow(direction=direction, digest=digest, run_id=run_id, recorded_at=utc_now()))

    def bookmark_standing(self, direction: str, digest: str) -> str:
        """What this ledger knows of a bookmark Meltano handed the tap: "known" (a run of this ledger passed it
        on), "unknown" (this ledger has recorded others, or never ran this direction), or "untracked" (the
        direction ran, but before this ledger recorded bookmarks: a ledger upgraded from schema 0003)."""
        with self._reading() as session:
            if session.get(BookmarkRow, (direction, digest)) is not None:
                return "known"
            recorded = session.scalar(select(exists().where(BookmarkRow.direction == direction)))
            ran = session.scalar(select(exists().where(RunRow.direction == direction,
                                                       RunRow.status == RunStatus.OK.value)))
            return "untracked" if ran and not recorded else "unknown"
