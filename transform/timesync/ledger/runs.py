"""Runs and their items: opening and closing a run, and reading what runs planned and did."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import distinct, func, select, update

from timesync.ledger.base import LedgerBase, utc_now
from timesync.ledger.tables import RunItemRow, RunRow
from timesync.ledger.views import Run, to_run
from timesync.model import Direction, json_text
from timesync.states import RunStatus

#: Run items are read as plain rows of the table, not ORM objects: a 50k-record run's items load in a fraction of
#: the time.
RUN_ITEMS = RunItemRow.__table__


class RunRecords(LedgerBase):
    """The Ledger's runs and run items."""

    def begin_run(self, direction: Direction, *, dry_run: bool = False) -> int:
        """Start a run; runs of this direction left `running` by a killed process are marked failed."""
        with self._session() as session:
            session.execute(
                update(RunRow)
                .where(RunRow.direction == str(direction), RunRow.status == RunStatus.RUNNING)
                .values(status=RunStatus.FAILED, message="interrupted (the process stopped before finishing)")
            )
            row = RunRow(direction=str(direction), dry_run=dry_run, status=RunStatus.RUNNING, started_at=utc_now(),
                         counts="{}")
            session.add(row)
            session.flush()
            return row.id

    def finish_run(self, run_id: int, status: RunStatus, *, counts: Mapping[str, int] | None = None,
                   message: str | None = None) -> None:
        """Close a run with its status and counts (counts merge into those already recorded)."""
        with self._session() as session:
            row = session.get_one(RunRow, run_id)
            merged = json.loads(row.counts) | dict(counts or {})
            row.counts, row.status, row.finished_at, row.message = json_text(merged), str(status), utc_now(), message

    def runs(self, limit: int = 10) -> list[Run]:
        """The latest runs, newest first."""
        with self._reading() as session:
            rows = session.scalars(select(RunRow).order_by(RunRow.id.desc()).limit(limit))
            return [to_run(row) for row in rows]

    def run(self, run_id: int) -> Run | None:
        """One run by id."""
        with self._reading() as session:
            row = session.get(RunRow, run_id)
            return to_run(row) if row is not None else None

    def run_items(self, run_id: int) -> list[Any]:
        """All items of one run, in order: read-only rows with RunItemRow's attributes."""
        with self._reading() as session:
            return list(session.execute(select(RUN_ITEMS).where(RUN_ITEMS.c.run_id == run_id)
                                        .order_by(RUN_ITEMS.c.id)))

    def outcome_counts(self, run_id: int) -> dict[str, int]:
        """How many target outcomes of each kind a run recorded."""
        return self.item_outcomes(run_id, actor="target")

    def item_outcomes(self, run_id: int, *, actor: str) -> dict[str, int]:
        """How many items of each outcome one actor (``mapper``: the plan, ``target``) recorded for a run, counted
        by the database (a 50k backfill's items are not loaded to count them)."""
        query = (select(RunItemRow.outcome, func.count())
                 .where(RunItemRow.run_id == run_id, RunItemRow.actor == actor).group_by(RunItemRow.outcome))
        with self._reading() as session:
            return dict(session.execute(query).tuples().all())

    def last_item_times(self, run_ids: Iterable[int]) -> dict[int, dt.datetime]:
        """When each run recorded its last item (a run without items is left out): the target writes after the
        mapper closed the run, so this is when the run's work ended."""
        query = (select(RUN_ITEMS.c.run_id, func.max(RUN_ITEMS.c.created_at))
                 .where(RUN_ITEMS.c.run_id.in_(list(run_ids))).group_by(RUN_ITEMS.c.run_id))
        with self._read_connection() as connection:
            return dict(connection.execute(query).tuples().all())

    def out_of_scope_counts(self, reason_prefix: str) -> dict[str, int]:
        """Out-of-scope items whose message starts with ``reason_prefix``: message -> how many distinct source
        ids, over every run (``unlinked_``: the unlinked persons and projects entries were left out for)."""
        query = (select(RUN_ITEMS.c.message, func.count(distinct(RUN_ITEMS.c.source_id)))
                 .where(RUN_ITEMS.c.outcome == "out_of_scope", RUN_ITEMS.c.message.like(f"{reason_prefix}%"))
                 .group_by(RUN_ITEMS.c.message))
        with self._read_connection() as connection:
            return dict(connection.execute(query).tuples().all())
