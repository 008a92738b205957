"""A ledger behind Meltano's state (lost, restored from a backup, another ledger_url) makes the run refuse."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from timesync.ledger import BackfillState, Ledger
from timesync.reconcile.bookmarks import bookmark_digest
from timesync.reconcile.mapper import ReconcileMapper

LINKS = "projects:\n  - forecast: 101\n    timelog: 2001\npersons:\n  - forecast: 11\n    timelog: 7\n"


def _state(at: str) -> dict[str, Any]:
    return {"bookmarks": {"time_registrations": {"replication_key": "updated_at", "replication_key_value": at}}}


def _input(entry_id: int, *, resumed_from: dict[str, Any] | None, ends_at: str) -> list[dict[str, Any]]:
    """What a singer-sdk tap writes: its starting state (when resumed) before the first SCHEMA, STATE at the end."""
    record = {"id": entry_id, "person": 11, "project": 101, "task": None, "task_project": None, "project_id": 101,
              "non_project_time": None, "time_registered": 30, "date": "2026-03-02", "notes": "n",
              "approval_status": "NOT_SUBMITTED", "updated_at": ends_at}
    starting = [{"type": "STATE", "value": resumed_from}] if resumed_from else []
    return [*starting,
            {"type": "SCHEMA", "stream": "time_registrations", "schema": {"type": "object", "properties": {}},
             "key_properties": ["id"]},
            {"type": "RECORD", "stream": "time_registrations", "record": record},
            {"type": "STATE", "value": _state(ends_at)}]


def _run(tmp_path: Path, ledger: Path, messages: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], *,
         links_text: str = LINKS) -> list[dict[str, Any]]:
    links = tmp_path / "links.yml"
    links.write_text(links_text)
    mapper = ReconcileMapper(config={"ledger_url": f"sqlite:///{ledger}", "links_path": str(links)})
    capsys.readouterr()
    mapper.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def _refusal(tmp_path: Path, ledger: Path, messages: list[dict[str, Any]], capsys: pytest.CaptureFixture[str],
             caplog: pytest.LogCaptureFixture) -> str:
    with pytest.raises(SystemExit) as caught:
        _run(tmp_path, ledger, messages, capsys)
    assert caught.value.code == 1
    assert capsys.readouterr().out == "", "a refused run emits no command and no STATE"
    (error,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    return error


def test_the_digest_is_where_the_tap_resumes_not_its_progress_within_a_run() -> None:
    plain = _state("2026-03-02T10:00:00Z")
    marked = {"bookmarks": {"time_registrations": {**plain["bookmarks"]["time_registrations"],
                                                   "progress_markers": {"Note": "unsorted"}}}}
    assert bookmark_digest(plain) == bookmark_digest(marked)
    assert bookmark_digest(plain) != bookmark_digest(_state("2026-03-02T10:00:01Z"))
    assert bookmark_digest({}) is None
    assert bookmark_digest({"bookmarks": {}}) is None
    assert bookmark_digest({"bookmarks": {"persons": {}, "projects": {}}}) is None
    # Meltano hands back a stream without a bookmark as absent, not as `{}`.
    assert bookmark_digest({"bookmarks": {**plain["bookmarks"], "persons": {}}}) == bookmark_digest(plain)


def test_a_run_resumed_from_the_bookmark_the_last_run_passed_on_proceeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.db"
    first = _run(tmp_path, ledger, _input(5000, resumed_from=None, ends_at="2026-03-02T10:00:00Z"), capsys)
    passed_on = first[-1]["value"]
    second = _run(tmp_path, ledger, _input(5001, resumed_from=passed_on, ends_at="2026-03-02T11:00:00Z"), capsys)
    assert [m["type"] for m in second][-1] == "STATE"
    assert any(m["type"] == "RECORD" and m["record"]["source_id"] == "5001" for m in second)


def test_a_lost_ledger_refuses_before_planning_and_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A new, empty ledger while Meltano still resumes the tap: every entry would look new and be written again."""
    ledger = tmp_path / "ledger.db"
    first = _run(tmp_path, ledger, _input(5000, resumed_from=None, ends_at="2026-03-02T10:00:00Z"), capsys)
    ledger.unlink()
    error = _refusal(tmp_path, ledger, _input(5001, resumed_from=first[-1]["value"], ends_at="2026-03-02T11:00:00Z"),
                     capsys, caplog)
    assert "lost or older than the last run" in error
    assert "ledger_url" in error
    assert "timesync ledger backup" in error
    assert str(ledger) in error


def test_a_ledger_restored_from_an_older_copy_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Yesterday's copy does not know the pairs the runs since then made, nor the bookmark they passed on."""
    ledger, copy = tmp_path / "ledger.db", tmp_path / "yesterday.db"
    first = _run(tmp_path, ledger, _input(5000, resumed_from=None, ends_at="2026-03-02T10:00:00Z"), capsys)
    shutil.copy(ledger, copy)
    second = _run(tmp_path, ledger, _input(5001, resumed_from=first[-1]["value"], ends_at="2026-03-02T11:00:00Z"),
                  capsys)
    shutil.copy(copy, ledger)
    error = _refusal(tmp_path, ledger, _input(5002, resumed_from=second[-1]["value"],
                                              ends_at="2026-03-02T12:00:00Z"), capsys, caplog)
    assert "never passed on" in error


def test_a_full_refresh_is_not_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a starting bookmark the tap reads from its start date: nothing to be behind."""
    out = _run(tmp_path, tmp_path / "ledger.db", _input(5000, resumed_from=None, ends_at="2026-03-02T10:00:00Z"),
               capsys)
    assert out[-1]["type"] == "STATE"


def test_a_ledger_from_before_bookmark_records_trusts_meltano_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """An upgraded ledger has runs but no bookmarks: its first run warns and starts recording them."""
    ledger = tmp_path / "ledger.db"
    first = _run(tmp_path, ledger, _input(5000, resumed_from=None, ends_at="2026-03-02T10:00:00Z"), capsys)
    with sqlite3.connect(ledger) as connection:
        connection.execute("DELETE FROM bookmarks")
    second = _run(tmp_path, ledger, _input(5001, resumed_from=first[-1]["value"], ends_at="2026-03-02T11:00:00Z"),
                  capsys)
    assert second[-1]["type"] == "STATE"
    assert any("predates bookmark records" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    with sqlite3.connect(ledger) as connection:
        assert connection.execute("SELECT count(*) FROM bookmarks").fetchone()[0] >= 1


def test_link_changes_are_reported_once_and_say_what_the_sync_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A link removed: nothing more synced for it, both sides kept. A link added: its history is queued for a
    backfill, once."""
    ledger = tmp_path / "ledger.db"
    first = _run(tmp_path, ledger, _input(5000, resumed_from=None, ends_at="2026-03-02T10:00:00Z"), capsys)
    assert not [r for r in caplog.records if r.getMessage().startswith("link ")], "a first sync has no link change"
    changed = "projects:\n  - forecast: 102\n    timelog: 2002\npersons:\n  - forecast: 11\n    timelog: 7\n"
    second = _run(tmp_path, ledger, _input(5001, resumed_from=first[-1]["value"], ends_at="2026-03-02T11:00:00Z"),
                  capsys, links_text=changed)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("link ")]
    assert any(line.startswith("link removed: Forecast project 101 <-> TimeLog project 2001") and
               "both sides keep what they have" in line for line in lines)
    assert any(line.startswith("link added: Forecast project 102") and "backfill" in line for line in lines)
    with Ledger.open(f"sqlite:///{ledger}") as opened:
        queued = opened.backfills()
    assert [(b.request.kind, b.request.forecast, b.request.timelog, b.state) for b in queued] == [
        ("project", "102", "2002", BackfillState.PENDING)], "the new link's history is queued, the removed one not"
    caplog.clear()
    _run(tmp_path, ledger, _input(5002, resumed_from=second[-1]["value"], ends_at="2026-03-02T12:00:00Z"), capsys,
         links_text=changed)
    assert not [r for r in caplog.records if r.getMessage().startswith("link ")], "reported once"
    with Ledger.open(f"sqlite:///{ledger}") as opened:
        assert len(opened.backfills()) == 1, "queued once"

