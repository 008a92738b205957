"""SQLAlchemy models of the sync ledger (the schema itself is created by the Alembic migrations)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Re-exported: the enums moved to the model layer (timesync.states); code still imports them from here.
from timesync.states import PairKind as PairKind
from timesync.states import PairState as PairState
from timesync.states import RunStatus as RunStatus


class Base(DeclarativeBase):
    """Declarative base of the ledger models."""


class LinkRow(Base):
    """A project or person link, copied from links.yml at every run (for status and audit)."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("kind", "forecast_id", name="uq_links_forecast"),
        UniqueConstraint("kind", "timelog_id", name="uq_links_timelog"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    forecast_id: Mapped[str] = mapped_column(String(64))
    timelog_id: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class PairRow(Base):
    """Forecast id <-> TimeLog id, the base last synced (JSON per side), and the pair's state."""

    __tablename__ = "pairs"
    __table_args__ = (
        UniqueConstraint("kind", "forecast_id", name="uq_pairs_forecast"),
        UniqueConstraint("kind", "timelog_id", name="uq_pairs_timelog"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    forecast_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    timelog_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    project: Mapped[str | None] = mapped_column(String(64), nullable=True)
    origin: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    base: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(Text, nullable=True)
    pending: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    conflict: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RunRow(Base):
    """One run of one direction."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(32))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    counts: Mapped[str] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)


class RunItemRow(Base):
    """What a run did (or planned) for one item, and why."""

    __tablename__ = "run_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True, index=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id"), nullable=True)
    direction: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(16))  # "mapper" (the plan) or "target" (the outcome)
    kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RunLockRow(Base):
    """Who runs the sync right now: one row per lock name, held by one `meltano run` process."""

    __tablename__ = "run_lock"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    # The process's start time as the OS reports it: a reused pid is not mistaken for the holder.
    process_started: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DirectoryRow(Base):
    """A project or person that one side's tap emitted in the last run: what links.yml is checked against."""

    __tablename__ = "directory"
    side: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "project" or "person"
    native_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BookmarkRow(Base):
    """A digest of a STATE message a run passed on: Meltano hands the tap one of these on the next run."""

    __tablename__ = "bookmarks"
    direction: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class FactRow(Base):
    """Something the sync found out about the accounts and relies on from then on (e.g. the site's GUID model)."""

    __tablename__ = "facts"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)  # who found it out: "timesync doctor --write-probe", "sync run 12"
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BackfillRow(Base):
    """A link's history to read and sync once: asked for when a link appears or its start date moves earlier."""

    __tablename__ = "backfills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "project" or "person"
    forecast_id: Mapped[str] = mapped_column(String(64))
    timelog_id: Mapped[str] = mapped_column(String(64))
    since: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # the link's start date; None: all history
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending, running, done
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
