"""The job-level run lock (timesync.ledger.run_lock) and the mapper's checks before it plans anything."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update

from timesync.ledger import Ledger, directory, run_lock
from timesync.ledger.tables import RunLockRow
from timesync.model import Side
from timesync.progress import Progress
from timesync.reconcile.mapper import ReconcileMapper


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


@pytest.fixture
def other_live_process() -> Iterator[run_lock.Holder]:
    """A live process that is not this test's `meltano` parent: another run's holder."""
    process = subprocess.Popen(["sleep", "60"])
    yield run_lock.Holder.of(process.pid)
    process.kill()
    process.wait()


def _ended_process() -> run_lock.Holder:
    process = subprocess.Popen(["true"])
    holder = run_lock.Holder.of(process.pid)
    process.wait()
    return holder


def test_the_same_holder_renews_and_another_live_one_is_refused(ledger: Ledger,
                                                               other_live_process: run_lock.Holder) -> None:
    """Both blocks of one `meltano run` share the lock; a second run is told who runs and how to clear it.

    (The holder here is the test's child: this process, its parent, is not inside that run.)"""
    assert run_lock.acquire(ledger, other_live_process) is None
    assert run_lock.acquire(ledger, other_live_process) is None
    me = run_lock.Holder.of(os.getpid())
    with pytest.raises(run_lock.RunLockHeldError) as refused:
        run_lock.acquire(ledger, me)
    assert "already running" in str(refused.value)
    assert f"pid {other_live_process.pid}" in str(refused.value)
    assert run_lock.RELEASE_HINT in str(refused.value)
    holder, _since, alive = run_lock.current(ledger) or (None, None, False)
    assert (holder, alive) == (other_live_process, True)


def test_a_run_started_inside_the_holding_run_shares_its_lock(ledger: Ledger,
                                                             other_live_process: run_lock.Holder) -> None:
    """A backfill's `meltano run` is started by a task of the holding run: a descendant of the holder is let in,
    and the lock stays the holder's (its last task releases it)."""
    me = run_lock.Holder.of(os.getpid())
    assert run_lock.acquire(ledger, me) is None
    assert run_lock.acquire(ledger, other_live_process) is None, "the child of the holder is inside its run"
    holder, _since, alive = run_lock.current(ledger) or (None, None, False)
    assert (holder, alive) == (me, True)
    assert me in list(run_lock.ancestors(other_live_process.pid))
    assert other_live_process not in list(run_lock.ancestors(me.pid))


def test_a_killed_runs_lock_is_taken_over(ledger: Ledger) -> None:
    """kill -9 leaves the row; its process is gone, so the next run takes the lock and says so."""
    gone = _ended_process()
    run_lock.acquire(ledger, gone)
    note = run_lock.acquire(ledger, run_lock.Holder.of(os.getpid()))
    assert note is not None
    assert f"pid {gone.pid}" in note


def test_a_reused_pid_is_not_the_holder(ledger: Ledger) -> None:
    """Same pid, another process start: the holder has ended."""
    me = run_lock.Holder.of(os.getpid())
    run_lock.acquire(ledger, run_lock.Holder(me.host, me.pid, "another-boot:1"))
    assert run_lock.acquire(ledger, me) is not None


def test_a_holder_on_another_host_counts_until_its_heartbeat_is_stale(ledger: Ledger) -> None:
    """A shared Postgres ledger: a remote holder cannot be looked up, its heartbeat decides."""
    remote = run_lock.Holder("another-host", 4242, None)
    run_lock.acquire(ledger, remote)
    me = run_lock.Holder.of(os.getpid())
    with pytest.raises(run_lock.RunLockHeldError, match="another-host"):
        run_lock.acquire(ledger, me)
    stale = dt.datetime.now(dt.UTC) - run_lock.REMOTE_HOLDER_STALE_AFTER - dt.timedelta(minutes=1)
    aging = create_engine(ledger.url)  # the test backdates the heartbeat itself: the Ledger offers no way to
    with aging.begin() as connection:
        connection.execute(update(RunLockRow).values(heartbeat_at=stale))
    aging.dispose()
    assert "another-host" in (run_lock.acquire(ledger, me) or "")


def test_release_only_by_the_holder_unless_forced(ledger: Ledger, other_live_process: run_lock.Holder) -> None:
    """`timesync:unlock` of another run releases nothing; --force releases whoever holds it."""
    run_lock.acquire(ledger, other_live_process)
    assert run_lock.release(ledger, run_lock.Holder.of(os.getpid())) is False
    assert run_lock.current(ledger) is not None
    assert run_lock.release(ledger, None) is True
    assert run_lock.current(ledger) is None
    assert run_lock.release(ledger, None) is False


# -- the mapper ------------------------------------------------------------------------------------------

LINKS = "projects:\n  - forecast: 101\n    timelog: 2001\npersons:\n  - forecast: 11\n    timelog: 7\n"


def _mapper_run(tmp_path: Path, messages: list[dict], capsys: pytest.CaptureFixture[str],
                links: str = LINKS) -> list[str]:
    (tmp_path / "links.yml").write_text(links)
    mapper = ReconcileMapper(config={"ledger_url": f"sqlite:///{tmp_path / 'ledger.db'}",
                                     "links_path": str(tmp_path / "links.yml")})
    capsys.readouterr()
    mapper.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    return capsys.readouterr().out.splitlines()


def _stream(stream: str, key: str, *records: dict) -> list[dict]:
    return [{"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": {}},
             "key_properties": [key]}] + [{"type": "RECORD", "stream": stream, "record": r} for r in records]


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def test_the_mapper_refuses_while_another_run_holds_the_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            caplog: pytest.LogCaptureFixture,
                                                            other_live_process: run_lock.Holder) -> None:
    """A pipeline run on its own while job `sync` runs: one error, exit 1, nothing recorded."""
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        run_lock.acquire(ledger, other_live_process)
    with pytest.raises(SystemExit) as caught:
        _mapper_run(tmp_path, _stream("persons", "id", {"id": 11, "first_name": "Ada"}), capsys)
    assert caught.value.code == 1
    (error,) = _errors(caplog)
    assert "already running" in error
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert ledger.runs() == []


@pytest.mark.parametrize(("links", "fragments"), [
    ("projects: []\n", ["links.yml", "persons"]),
    ("projects: [\n", ["links.yml", "line", "YAML"]),
], ids=["missing-persons", "bad-yaml"])
def test_a_bad_links_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            caplog: pytest.LogCaptureFixture, links: str,
                                            fragments: list[str]) -> None:
    """LinksError becomes one logged error and exit 1, not a traceback."""
    with pytest.raises(SystemExit) as caught:
        _mapper_run(tmp_path, [], capsys, links=links)
    assert caught.value.code == 1
    (error,) = _errors(caplog)
    assert all(fragment in error for fragment in fragments), error


def test_links_naming_ids_the_tap_did_not_read_are_refused_before_planning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    """Forecast project 101 is not among the projects tap-forecast read: exit 1, the line named, no run."""
    messages = (_stream("projects", "id", {"id": 102, "name": "Other"})
                + _stream("persons", "id", {"id": 11, "first_name": "Ada"}))
    with pytest.raises(SystemExit):
        _mapper_run(tmp_path, messages, capsys)
    (error,) = _errors(caplog)
    assert all(fragment in error for fragment in ("line 2", "projects.forecast", "project 101")), error
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert ledger.runs() == []
        assert directory.known_ids(ledger, Side.FORECAST, "project") == {"102"}


def test_the_other_sides_ids_are_checked_against_what_its_tap_read_last(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    """TimeLog employee 7 is not among the employees tap-timelog read last time: refused in the Forecast pipeline."""
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        directory.replace(ledger, Side.TIMELOG, "person", {"8": "Someone"})
    messages = (_stream("projects", "id", {"id": 101, "name": "Web"})
                + _stream("persons", "id", {"id": 11, "first_name": "Ada"}))
    with pytest.raises(SystemExit):
        _mapper_run(tmp_path, messages, capsys)
    (error,) = _errors(caplog)
    assert all(fragment in error for fragment in ("employee 7", "persons.timelog")), error


def test_known_ids_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every linked id read: the run goes on (STATE passes through)."""
    state = {"type": "STATE", "value": {"bookmarks": {}}}
    out = _mapper_run(tmp_path, _stream("projects", "id", {"id": 101, "name": "Web"})
                      + _stream("persons", "id", {"id": 11, "first_name": "Ada"}) + [state], capsys)
    assert json.loads(out[-1]) == state


# -- progress --------------------------------------------------------------------------------------------


def test_a_long_phase_logs_counts_steadily_and_a_short_one_only_its_end(caplog: pytest.LogCaptureFixture) -> None:
    """Lines carry n/N while the phase runs; a phase shorter than the interval logs just its final line."""
    logger = logging.getLogger("progress-test")
    caplog.set_level(logging.INFO, logger="progress-test")
    with Progress(logger, "emitting", "commands", total=10, interval=0.05) as progress:
        for _ in range(10):
            progress.advance()
            time.sleep(0.03)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) >= 3
    assert lines[-1].startswith("progress: emitting: 10/10 commands")
    assert any("/10 commands" in line for line in lines[:-1])
    caplog.clear()
    with Progress(logger, "planning", "records", interval=60) as progress:
        progress.advance(5)
    assert [r.getMessage().split(",")[0] for r in caplog.records] == ["progress: planning: 5 records"]
