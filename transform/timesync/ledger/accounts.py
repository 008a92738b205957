"""What the ledger keeps about the two accounts: the links as last copied from links.yml, and facts found out."""

from __future__ import annotations

from sqlalchemy import select

from timesync.ledger.base import LedgerBase, utc_now
from timesync.ledger.tables import FactRow, LinkRow
from timesync.links import Links, PersonLink, ProjectLink


class AccountRecords(LedgerBase):
    """The Ledger's links and facts."""

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
