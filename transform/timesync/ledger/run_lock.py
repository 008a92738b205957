"""The job-level run lock: one `meltano run sync` at a time per ledger.

Meltano refuses an EL block whose state id has a running job, but job `sync` has two blocks, so a second run
started while the first is in its second block would run the whole first block. The mapper therefore takes the
lock as it starts, before it plans, and refuses while another live run holds it; `timesync:finish`, the last task
of job `sync`, releases it. (A lock task before the taps would also spare a refused run's reads, at the cost of
one more process start-up, about 0.8 s, on every run.)

The holder is the `meltano` process: the parent of both blocks' mappers and of the finishing utility, so one run
holds the lock across its blocks, and the lock ends with that process. A `meltano run` that one of its tasks
starts (the backfills of `timesync finish`) runs under the same lock: a holder that is an ancestor counts as this
run. A run killed with -9 leaves a row whose holder is gone: the next run takes it over. A holder on another host
(a shared Postgres ledger) cannot be looked up, so it is judged by its heartbeat, which every acquire by the same
holder renews.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from timesync.ledger.base import LedgerBase, utc_now
from timesync.ledger.tables import RunLockRow

LOCK_NAME = "sync"
#: A holder on another host that has not renewed the lock for this long is taken to be gone.
REMOTE_HOLDER_STALE_AFTER = dt.timedelta(hours=2)
RELEASE_HINT = "meltano invoke timesync run-lock release --force"


class RunLockHeldError(RuntimeError):
    """Another live `meltano run` holds the lock; the message says who and how to clear a stale lock."""


@dataclass(frozen=True)
class Holder:
    """A process on a host; ``process_started`` tells a reused pid from the original holder."""

    host: str
    pid: int
    process_started: str | None

    @classmethod
    def of(cls, pid: int) -> Holder:
        """The process ``pid`` on this host."""
        return cls(socket.gethostname(), pid, process_start(pid))

    @classmethod
    def meltano_parent(cls) -> Holder:
        """The `meltano` process that started this plugin (the same for every block of one `meltano run`)."""
        return cls.of(os.getppid())

    def is_alive(self, heartbeat_at: dt.datetime, now: dt.datetime) -> bool:
        """Whether this holder still runs (on another host: whether it renewed the lock recently)."""
        if self.host != socket.gethostname():
            return now - heartbeat_at < REMOTE_HOLDER_STALE_AFTER
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, under another user
        return self.process_started is None or process_start(self.pid) in (None, self.process_started)


def _stat_after_name(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat from field 3 on, or None where the OS does not tell. The command name (field 2)
    may hold spaces and parentheses, so the fields are counted after its last ")"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def ancestors(pid: int) -> Iterator[Holder]:
    """The processes above ``pid`` on this host, nearest first (Linux /proc; none where the OS does not tell)."""
    seen = {pid}
    while (fields := _stat_after_name(pid)) is not None:
        pid = int(fields[1])  # field 4, the parent's pid
        if pid <= 1 or pid in seen:
            return
        seen.add(pid)
        yield Holder.of(pid)


def process_start(pid: int) -> str | None:
    """The boot id and start tick of ``pid`` (Linux /proc), or None where the OS does not tell."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = _stat_after_name(pid)
    return None if fields is None else f"{boot_id}:{fields[19]}"  # field 22, the start time


def _holder(row: Any) -> Holder:
    """The holder of a run_lock row."""
    return Holder(row.host, row.pid, row.process_started)


def _as_utc(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes


class RunLockRecords(LedgerBase):
    """The Ledger's run lock."""

    def acquire_run_lock(self, holder: Holder, *, name: str = LOCK_NAME) -> str | None:
        """Take or renew the lock for ``holder``; returns a note when a gone holder's lock was taken over.

        Raises RunLockHeldError while another live holder has it.
        """
        for attempt in range(2):
            try:
                with self._writing() as connection:
                    return _acquire_once(connection, holder, name)
            except IntegrityError:  # two first-ever acquires raced on Postgres: the loser looks again
                if attempt:
                    raise
        return None

    def release_run_lock(self, holder: Holder | None, *, name: str = LOCK_NAME) -> bool:
        """Release the lock if ``holder`` has it (None: whoever has it). Returns whether a lock was released."""
        with self._writing() as connection:
            row = connection.execute(select(RunLockRow).where(RunLockRow.name == name)).first()
            if row is None or (holder is not None and _holder(row) != holder):
                return False
            connection.execute(delete(RunLockRow).where(RunLockRow.name == name))
            return True

    def run_lock_holder(self, *, name: str = LOCK_NAME) -> tuple[Holder, dt.datetime, bool] | None:
        """(holder, acquired at, alive) of the lock, or None when nobody holds it."""
        with self._read_connection() as connection:
            row = connection.execute(select(RunLockRow).where(RunLockRow.name == name)).first()
        if row is None:
            return None
        holder = _holder(row)
        return holder, _as_utc(row.acquired_at), holder.is_alive(_as_utc(row.heartbeat_at), utc_now())


def _acquire_once(connection: Connection, holder: Holder, name: str) -> str | None:
    stamp = utc_now()
    values = {"host": holder.host, "pid": holder.pid, "process_started": holder.process_started,
              "heartbeat_at": stamp}
    # The writer engine begins SQLite transactions IMMEDIATE, and FOR UPDATE locks the row on Postgres.
    row = connection.execute(select(RunLockRow).where(RunLockRow.name == name).with_for_update()).first()
    if row is None:
        connection.execute(insert(RunLockRow).values(name=name, acquired_at=stamp, **values))
        return None
    current = _holder(row)
    # A `meltano run` started by a task of the holding run (a backfill, see timesync.backfill) runs inside it.
    if current == holder or current in ancestors(holder.pid):
        connection.execute(update(RunLockRow).where(RunLockRow.name == name).values(heartbeat_at=stamp))
        return None
    if current.is_alive(_as_utc(row.heartbeat_at), stamp):
        raise RunLockHeldError(
            f"another sync is already running: `meltano` pid {current.pid} on {current.host}, since "
            f"{_as_utc(row.acquired_at):%Y-%m-%d %H:%M:%S} UTC. This run was refused and wrote nothing. If no "
            f"sync runs there, clear the lock with `{RELEASE_HINT}`.")
    connection.execute(update(RunLockRow).where(RunLockRow.name == name).values(acquired_at=stamp, **values))
    return (f"took over the run lock of `meltano` pid {current.pid} on {current.host}, which ended without "
            "releasing it (killed or crashed)")


# The same methods called with the ledger first, as `run_lock.acquire(ledger, holder)` (the spelling scripts use).
acquire = RunLockRecords.acquire_run_lock
release = RunLockRecords.release_run_lock
current = RunLockRecords.run_lock_holder
