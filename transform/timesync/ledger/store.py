"""The Ledger: the one API the mapper, the targets and the CLI use to read and write sync bookkeeping.

One class, assembled from one part per concern: pairs (lookups), plans (the mapper's writes), outcomes (the
targets' writes), runs and their items, the accounts (links, facts), the directory and the run lock. Only this
package touches the database: everything else goes through ``Ledger``.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from timesync.ledger.accounts import AccountRecords
from timesync.ledger.backfills import Backfill, BackfillRecords, BackfillState
from timesync.ledger.base import BULK_CHUNK, batched
from timesync.ledger.directory import DirectoryRecords
from timesync.ledger.outcomes import OutcomeRecords
from timesync.ledger.pairs import MAX_REPLAY_ATTEMPTS, PairLookups
from timesync.ledger.plans import PlanRecords
from timesync.ledger.run_lock import RunLockRecords
from timesync.ledger.runs import RunRecords
from timesync.ledger.views import Pair, PlannedPair, Run, RunItem
from timesync.states import Outcome, UnresolvedDependencyError

__all__ = [
    "BULK_CHUNK",
    "MAX_REPLAY_ATTEMPTS",
    "MIGRATIONS_DIR",
    "SCHEMA_HEAD_REVISION",
    "Backfill",
    "BackfillState",
    "Ledger",
    "LedgerBackupError",
    "Outcome",
    "Pair",
    "PlannedPair",
    "Run",
    "RunItem",
    "UnresolvedDependencyError",
    "batched",
    "default_ledger_url",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The newest migration. A ledger already there opens without importing Alembic (about half a second of start-up
#: for every tap, mapper and target process); tests/transform check this matches Alembic's head.
SCHEMA_HEAD_REVISION = "0005"
# The tap, mapper and target of a pipeline open the ledger at once; writers wait for each other this long.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant works; it only has to be the same in every process that migrates a Postgres ledger.
POSTGRES_MIGRATION_LOCK_KEY = 7_202_611
DEFAULT_LEDGER_RELATIVE_PATH = Path(".meltano") / "timesync" / "ledger.db"


class EmptyLedgerUrlError(ValueError):
    """A ledger URL that is set but empty; the message names the variable to set."""


def default_ledger_url() -> str:
    """SQLite under <meltano project>/.meltano/timesync/ledger.db (or the working directory)."""
    root = Path(os.environ.get("MELTANO_PROJECT_ROOT", "."))
    return f"sqlite:///{(root / DEFAULT_LEDGER_RELATIVE_PATH).resolve()}"


def _sqlite_pragmas(engine: Engine, *, writer: bool) -> None:
    """WAL and a busy timeout; writers BEGIN IMMEDIATE so concurrent writers queue instead of failing mid-way.

    synchronous=NORMAL: in WAL mode a kill -9 loses nothing committed; a power cut may lose the last commits,
    which is the same case as a crash before the ledger write, and fingerprint recovery handles it.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue the BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


class LedgerBackupError(Exception):
    """The ledger cannot be copied this way; the message says how."""


class Ledger(PairLookups, PlanRecords, OutcomeRecords, RunRecords, AccountRecords, DirectoryRecords, RunLockRecords,
             BackfillRecords):
    """Pairs, runs and run items in any SQLAlchemy database. Every method is one short transaction."""

    @classmethod
    def open(cls, url: str | None = None) -> Ledger:
        """Connect and bring the schema up to date (migrations run under a lock, so concurrent opens are safe).

        ``None`` means the default SQLite ledger; an empty URL is refused: it is a variable that was meant to name a
        ledger and is unset (e.g. TIMESYNC_HARVEST_LEDGER_URL), and the default would be another job's ledger.
        """
        if url is not None and not url.strip():
            raise EmptyLedgerUrlError(
                "ledger_url is empty: the variable meltano.yml takes it from is unset (job harvest-to-timelog: "
                "TIMESYNC_HARVEST_LEDGER_URL). Set it to this job's own ledger, e.g. "
                "sqlite:///.meltano/timesync/harvest-ledger.db; nothing was written")
        url = url or default_ledger_url()
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        read_engine = None
        if parsed.get_backend_name() == "sqlite":
            # Reads take no write lock, so lookups never queue behind the target's writes.
            read_engine = create_engine(url)
            _sqlite_pragmas(engine, writer=True)
            _sqlite_pragmas(read_engine, writer=False)
        ledger = cls(engine, read_engine)
        ledger._migrate()
        return ledger

    def _migrate(self) -> None:
        if self._revision_or_none() == SCHEMA_HEAD_REVISION:
            return
        # Imported here: only a new or older ledger needs Alembic, and it costs every process start-up.
        from alembic import command as alembic_command
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._writing() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            alembic_command.upgrade(config, "head")

    def backup(self, path: Path) -> None:
        """A consistent copy of a SQLite ledger at ``path``, taken while syncs may run (SQLite's online backup,
        which copies a snapshot page by page). For Postgres, `pg_dump` is the tool: README "Back up the ledger"."""
        if self._engine.dialect.name != "sqlite":
            raise LedgerBackupError(
                f"this ledger is in {self._engine.dialect.name}; back it up with the database's own tool (for "
                "Postgres: pg_dump --format=custom), see README 'Back up the ledger'")
        if path.exists():
            raise LedgerBackupError(f"{path} exists; give a new path, so no backup is overwritten")
        path.parent.mkdir(parents=True, exist_ok=True)
        # sqlite3's own context manager commits but does not close: closing() does, on error too.
        with closing(self._engine.raw_connection()) as source, closing(sqlite3.connect(path)) as copy:
            cast(sqlite3.Connection, source.driver_connection).backup(copy)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at."""
        with self._engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def _revision_or_none(self) -> str | None:
        """The revision, or None for a database the ledger has never been created in."""
        try:
            return self.schema_revision()
        except DBAPIError:
            return None
