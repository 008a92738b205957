"""What every part of the Ledger stands on: its two engines, one short transaction per method, bulk chunks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from itertools import islice
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

#: Ids per `IN (...)` of a bulk lookup, and rows per executemany of a bulk write: one statement for many records,
#: well under SQLite's and Postgres' limits on bound parameters.
BULK_CHUNK = 500

_T = TypeVar("_T")


def batched(values: Iterable[_T], size: int = BULK_CHUNK) -> Iterator[list[_T]]:
    """Lists of up to ``size`` values, in order (``values`` may be a generator: it is read once)."""
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def utc_now() -> dt.datetime:
    """The time stamps the ledger records (UTC)."""
    return dt.datetime.now(dt.UTC)


class LedgerBase:
    """The engines and transactions the Ledger's parts share; only the ledger package reaches them.

    SQLite gets a second engine for reads: reads take no write lock, so lookups never queue behind a target's
    writes. Elsewhere both are the same engine.
    """

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self._engine = engine
        self._read_engine = read_engine or engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL, password masked (for messages and for opening the same ledger again in tests)."""
        return str(self._engine.url)

    def close(self) -> None:
        """Release the connection pools."""
        self._engine.dispose()
        self._read_engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """An ORM write transaction."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """An ORM read-only transaction."""
        with self._read_sessions.begin() as session:
            yield session

    def _writing(self) -> AbstractContextManager[Connection]:
        """A Core write transaction (bulk statements; SQLite begins it IMMEDIATE)."""
        return self._engine.begin()

    def _read_connection(self) -> AbstractContextManager[Connection]:
        """A Core connection for reads (bulk lookups: plain rows, no ORM objects)."""
        return self._read_engine.connect()
