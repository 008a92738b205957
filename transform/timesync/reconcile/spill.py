"""Spilling: what one run collects per record, kept in a temporary SQLite file instead of in memory.

The reconcile mapper needs the whole input before it plans (moves pair a deletion with a creation anywhere in the
stream; the flood guard counts the whole run), and the whole plan before it records it. Held in memory, both grow
with the input (about 1.2 KB per record). Here each collection keeps at most ``SPILL_BUFFER`` values in memory and
writes the rest to one temporary SQLite file per run, in its own temporary directory, removed by ``Spill.close`` or,
failing that, when the Spill is collected or the interpreter exits. A small run never creates the file.

Values are copied when they are spilled: a value appended to a ``SpilledList`` must not be changed afterwards
(below ``SPILL_BUFFER`` values it still could be, which no caller relies on but conflicts.py's one-entry plan).
"""

from __future__ import annotations

import datetime as dt
import marshal
import pickle
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence, ValuesView
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from timesync.model import Side, TimeEntry

#: Values each collection holds in memory before it writes them to the spill file (and rows read back per query).
SPILL_BUFFER = 2_000

_T = TypeVar("_T")
_SIDES = {side.value: side for side in Side}
_MARSHAL, _PICKLE = b"m", b"p"


def pack(value: Any) -> bytes:
    """``value`` as bytes: marshal for plain values (fast), pickle for anything else."""
    try:
        return _MARSHAL + marshal.dumps(value)
    except ValueError:  # an object marshal does not know (an enum, a dataclass, a date)
        return _PICKLE + pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> Any:
    """The value ``pack`` made ``data`` from (the spill file is this process's own: pickle is safe here)."""
    body = memoryview(data)[1:]
    return marshal.loads(body) if data[:1] == _MARSHAL else pickle.loads(body)  # noqa: S301, S302


def entry_fields(entry: TimeEntry) -> tuple[Any, ...]:
    """A time entry as plain values (what ``entry_from_fields`` reads back)."""
    updated = entry.updated_at
    return (entry.side.value, entry.id, entry.project_id, entry.person_id, entry.task_id, entry.date.toordinal(),
            entry.minutes, entry.note, entry.locked, entry.non_project, entry.task_name,
            updated.isoformat() if isinstance(updated, dt.datetime) else updated)


def entry_from_fields(values: Sequence[Any]) -> TimeEntry:
    """The time entry ``entry_fields`` made ``values`` from."""
    (side, entry_id, project, person, task, date, minutes, note, locked, non_project, task_name,
     updated) = values
    return TimeEntry(_SIDES[side], entry_id, project, person, task, dt.date.fromordinal(date), minutes, note, locked,
                     non_project, task_name, dt.datetime.fromisoformat(updated) if isinstance(updated, str)
                     else updated)


def _entry_bytes(entry: TimeEntry) -> bytes:
    return pack(entry_fields(entry))


def _entry_from_bytes(data: bytes) -> TimeEntry:
    return entry_from_fields(unpack(data))


def _remove(connection: sqlite3.Connection, directory: str) -> None:
    connection.close()
    shutil.rmtree(directory, ignore_errors=True)


class Spill:
    """One temporary SQLite file, created when a collection first overflows its buffer; ``close`` removes it."""

    def __init__(self) -> None:
        self._connection: sqlite3.Connection | None = None
        self._directory: str | None = None
        self._tables = 0
        self._finalizer: weakref.finalize[[sqlite3.Connection, str], Spill] | None = None

    @property
    def path(self) -> Path | None:
        """The spill file (None until something was spilled, and after ``close``)."""
        alive = self._finalizer is not None and self._finalizer.alive
        return Path(self._directory) / "spill.db" if self._directory and alive else None

    def connection(self) -> sqlite3.Connection:
        """The spill file's connection, opened (and the file created) on first use."""
        if self._connection is None:
            self._directory = tempfile.mkdtemp(prefix="timesync-spill-")
            # Autocommit; no journal and no fsync: the file lives only as long as this run and is never reopened.
            connection = sqlite3.connect(Path(self._directory) / "spill.db", isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode=OFF")
            connection.execute("PRAGMA synchronous=OFF")
            self._connection = connection
            self._finalizer = weakref.finalize(self, _remove, connection, self._directory)
        return self._connection

    def write(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        """Run ``statement`` for each of ``rows`` in one transaction (row by row, each insert would be its own)."""
        connection = self.connection()
        connection.execute("BEGIN")
        try:
            connection.executemany(statement, rows)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def new_table(self, columns: str) -> str:
        """Create a table with ``columns`` (SQL) and return its name."""
        self._tables += 1
        name = f"spilled_{self._tables}"
        self.connection().execute(f"CREATE TABLE {name} ({columns})")
        return name

    def close(self) -> None:
        """Remove the spill file (the collections using it must not be read afterwards)."""
        if self._finalizer is not None:
            self._finalizer()
        self._connection = None


def _same(value: Any) -> Any:
    return value


class SpilledList(Sequence[_T], Generic[_T]):
    """An append-only list whose values past the last ``buffer`` go to the spill file; read in order, or by index.

    Each full buffer is written as one row (its values as plain tuples, ``dumps``, packed together): one SQLite
    insert and one ``marshal`` call per 2,000 values, not per value.
    """

    def __init__(self, spill: Spill | None = None, *, buffer: int | None = None,
                 dumps: Callable[[_T], Any] = _same, loads: Callable[[Any], _T] = _same) -> None:
        """``dumps`` turns a value into plain values (marshal's types; anything else is pickled), ``loads`` back."""
        self._spill = spill if spill is not None else Spill()
        self._limit, self._dumps, self._loads = max(1, buffer or SPILL_BUFFER), dumps, loads
        self._buffer: list[_T] = []
        self._spilled = 0  # values in the spill file: indexes 0 .. _spilled - 1, ``_limit`` a row
        self._table: str | None = None
        self._read: tuple[int, list[Any]] = (-1, [])  # the row last read by index, unpacked

    def append(self, value: _T) -> None:
        """Add ``value`` at the end."""
        self._buffer.append(value)
        if len(self._buffer) >= self._limit:
            self._flush()

    def extend(self, values: Iterator[_T] | Sequence[_T]) -> None:
        """Add each of ``values`` at the end."""
        for value in values:
            self.append(value)

    def _flush(self) -> None:
        if self._table is None:
            self._table = self._spill.new_table("n INTEGER PRIMARY KEY, data BLOB NOT NULL")
        self._spill.write(f"INSERT INTO {self._table} (n, data) VALUES (?, ?)",  # noqa: S608
                          [(self._spilled // self._limit, pack(list(map(self._dumps, self._buffer))))])
        self._spilled += len(self._buffer)
        self._buffer.clear()

    def _row(self, number: int) -> list[Any]:
        if self._read[0] != number:
            data = self._spill.connection().execute(f"SELECT data FROM {self._table} WHERE n = ?",  # noqa: S608
                                                    (number,)).fetchone()[0]
            self._read = (number, unpack(data))
        return self._read[1]

    def __len__(self) -> int:
        return self._spilled + len(self._buffer)

    def __iter__(self) -> Iterator[_T]:
        spilled, loads = self._spilled, self._loads
        for number in range(spilled // self._limit):
            data = self._spill.connection().execute(f"SELECT data FROM {self._table} WHERE n = ?",  # noqa: S608
                                                    (number,)).fetchone()[0]
            yield from map(loads, unpack(data))
        yield from self._buffer[:len(self) - spilled]

    @overload
    def __getitem__(self, index: int) -> _T: ...

    @overload
    def __getitem__(self, index: slice) -> list[_T]: ...

    def __getitem__(self, index: int | slice) -> _T | list[_T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("SpilledList index out of range")
        if index >= self._spilled:
            return self._buffer[index - self._spilled]
        return self._loads(self._row(index // self._limit)[index % self._limit])

    def __repr__(self) -> str:
        return f"SpilledList({len(self)} values, {self._spilled} spilled)"


class _StreamedValues(ValuesView[TimeEntry]):
    """``SpilledEntries.values()``: read in chunks, in order, without looking each id up."""

    _mapping: SpilledEntries

    def __iter__(self) -> Iterator[TimeEntry]:
        return self._mapping.stream()


class SpilledEntries(Mapping[str, TimeEntry]):
    """Time entries by id, in the order of a dict (first added first; a replaced id keeps its place, a removed and
    re-added one goes last), past the last ``buffer`` ones in the spill file.

    The task and project of each entry are columns too, so the planner's bulk lookups read no entry whole.
    """

    def __init__(self, spill: Spill | None = None, *, buffer: int | None = None) -> None:
        self._spill = spill if spill is not None else Spill()
        self._limit = max(1, buffer or SPILL_BUFFER)
        self._pending: dict[str, tuple[int, TimeEntry]] = {}  # not spilled yet: id -> (place, entry)
        self._places = 0
        self._table: str | None = None

    def put(self, entry: TimeEntry) -> None:
        """Add ``entry``, or replace the one with its id (which keeps its place)."""
        held = self._pending.get(entry.id)
        if held is None:
            self._places += 1
        self._pending[entry.id] = (held[0] if held else self._places, entry)
        if len(self._pending) >= self._limit:
            self._flush()

    def discard(self, entry_id: str) -> None:
        """Remove the entry with ``entry_id``, if any."""
        self._pending.pop(entry_id, None)
        if self._table is not None:
            self._spill.connection().execute(f"DELETE FROM {self._table} WHERE id = ?", (entry_id,))  # noqa: S608

    def _flush(self) -> None:
        if self._table is None:
            self._table = self._spill.new_table(
                "place INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, task TEXT, project TEXT, data BLOB NOT NULL")
        # An id already spilled keeps its place (the row is updated); a new one takes its own.
        self._spill.write(
            f"INSERT INTO {self._table} (place, id, task, project, data) VALUES (?, ?, ?, ?, ?) "  # noqa: S608
            "ON CONFLICT (id) DO UPDATE SET task = excluded.task, project = excluded.project, data = excluded.data",
            [(place, entry.id, entry.task_id, entry.project_id, _entry_bytes(entry))
             for place, entry in self._pending.values()])
        self._pending.clear()

    def _settled(self) -> str | None:
        """The table with every entry in it (None: nothing was spilled, all are pending)."""
        if self._table is not None and self._pending:
            self._flush()
        return self._table

    def __getitem__(self, entry_id: str) -> TimeEntry:
        table = self._settled()
        if table is None:
            return self._pending[entry_id][1]
        row = self._spill.connection().execute(f"SELECT data FROM {table} WHERE id = ?",  # noqa: S608
                                               (entry_id,)).fetchone()
        if row is None:
            raise KeyError(entry_id)
        return _entry_from_bytes(row[0])

    def __contains__(self, entry_id: object) -> bool:
        table = self._settled()
        if table is None:
            return entry_id in self._pending
        return self._spill.connection().execute(f"SELECT 1 FROM {table} WHERE id = ?",  # noqa: S608
                                                (entry_id,)).fetchone() is not None

    def __len__(self) -> int:
        table = self._settled()
        if table is None:
            return len(self._pending)
        count: int = self._spill.connection().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
        return count

    def __iter__(self) -> Iterator[str]:
        for chunk in self._chunks("id"):
            yield from (entry_id for _place, entry_id in chunk)

    def values(self) -> ValuesView[TimeEntry]:
        """The entries in order, read a chunk at a time."""
        return _StreamedValues(self)

    def stream(self) -> Iterator[TimeEntry]:
        """The entries in order, read a chunk at a time."""
        table = self._settled()
        if table is None:
            yield from [entry for _place, entry in self._pending.values()]
            return
        for chunk in self._chunks("data"):
            yield from (_entry_from_bytes(data) for _place, data in chunk)

    def _chunks(self, column: str) -> Iterator[list[tuple[int, Any]]]:
        table = self._settled()
        if table is None:
            yield [(place, entry_id) for entry_id, (place, _entry) in self._pending.items()]
            return
        after = 0
        while rows := self._spill.connection().execute(
                f"SELECT place, {column} FROM {table} WHERE place > ? ORDER BY place LIMIT ?",  # noqa: S608
                (after, self._limit)).fetchall():
            yield rows
            after = rows[-1][0]

    def task_ids(self) -> set[str]:
        """The tasks the entries are on."""
        table = self._settled()
        if table is None:
            return {entry.task_id for _place, entry in self._pending.values() if entry.task_id}
        return {task for (task,) in self._spill.connection().execute(
            f"SELECT DISTINCT task FROM {table} WHERE task IS NOT NULL AND task != ''")}  # noqa: S608

    def taskless_projects(self) -> set[str]:
        """The projects of the entries without a task (Forecast time on the project itself)."""
        table = self._settled()
        if table is None:
            return {entry.project_id for _place, entry in self._pending.values()
                    if entry.task_id is None and entry.project_id}
        return {project for (project,) in self._spill.connection().execute(
            f"SELECT DISTINCT project FROM {table} WHERE task IS NULL AND project IS NOT NULL "  # noqa: S608
            "AND project != ''")}
