"""`timesync listen`: the token check, the payload check, the debounce and one run at a time (fake commands)."""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from timesync.listen import MAX_RETRIES, BadWebhookError, DebounceWindow, SyncTrigger, parse_event, webhook_app

TOKEN = "t0ken-for-the-tests-0123456789"
GOOD = {"timestamp": "2026-11-25T12:00:00Z", "event": "time_reg_updated", "object": {"id": 7}, "person": {"id": 11},
        "fields_changed": ["notes"]}
#: Short windows so a burst ends in a fraction of a second.
QUIET, MAX_WAIT = 0.3, 1.5
WAIT = 10


class FakeSync:
    """The sync command: records each run's start, optionally held until released; counts overlapping runs."""

    def __init__(self, hold: bool = False) -> None:
        self.starts: list[float] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.started = threading.Event()
        self.active = self.most_active = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.starts.append(time.monotonic())
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        self.started.set()
        self.release.wait(WAIT)
        with self._lock:
            self.active -= 1
        return 0


def _call(app, method: str, path: str, body: bytes = b"") -> tuple[str, dict]:
    answer: dict = {}
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    chunks = app(environ, lambda status, headers: answer.update(status=status))
    return answer["status"], json.loads(b"".join(chunks))


@pytest.fixture
def trigger():
    sync = FakeSync()
    started = SyncTrigger(sync, DebounceWindow(QUIET, MAX_WAIT)).start()
    started.sync = sync
    yield started
    started.stop(WAIT)


@pytest.mark.parametrize(("body", "problem"), [
    (b"not json", "not JSON"),
    (b"[1]", "not a JSON object"),
    (json.dumps({**GOOD, "event": "invoice_paid"}).encode(), "unknown event"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "event"}).encode(), "unknown event"),
    (json.dumps({**GOOD, "object": {"id": "7"}}).encode(), "integer"),
    (json.dumps({**GOOD, "object": {"id": True}}).encode(), "integer"),
    (json.dumps({**GOOD, "object": 7}).encode(), "integer"),
])
def test_a_body_that_is_not_a_forecast_webhook_is_refused_with_the_reason(body: bytes, problem: str) -> None:
    with pytest.raises(BadWebhookError, match=problem):
        parse_event(body)


def test_the_documented_payload_and_the_inferred_event_names_are_accepted() -> None:
    assert parse_event(json.dumps(GOOD).encode()) == "time_reg_updated"
    assert parse_event(json.dumps({**GOOD, "event": "task_deleted"}).encode()) == "task_deleted"


def test_a_wrong_token_is_a_404_and_starts_nothing(trigger) -> None:
    app = webhook_app(TOKEN, trigger)
    status, body = _call(app, "POST", "/webhooks/" + TOKEN[:-1] + "x", json.dumps(GOOD).encode())
    assert status.startswith("404")
    assert TOKEN not in json.dumps(body)
    assert _call(app, "POST", "/webhooks/", json.dumps(GOOD).encode())[0].startswith("404")
    time.sleep(QUIET * 2)
    assert trigger.sync.starts == []


def test_a_bad_payload_with_the_right_token_is_a_400_and_starts_nothing(trigger) -> None:
    app = webhook_app(TOKEN, trigger)
    status, body = _call(app, "POST", "/webhooks/" + TOKEN, b'{"event": "task_updated", "object": {}}')
    assert status.startswith("400")
    assert "object.id" in body["error"]
    assert _call(app, "POST", "/webhooks/" + TOKEN, b"")[0].startswith("400"), "an empty body"
    assert _call(app, "GET", "/webhooks/" + TOKEN)[0].startswith("405")
    time.sleep(QUIET * 2)
    assert trigger.sync.starts == []


def test_a_short_token_is_refused_when_the_app_is_built(trigger) -> None:
    with pytest.raises(ValueError, match="at least"):
        webhook_app("short", trigger)


def test_a_burst_is_answered_at_once_and_coalesced_into_one_run_after_it_goes_quiet(trigger) -> None:
    app = webhook_app(TOKEN, trigger)
    for number in range(5):
        status, _ = _call(app, "POST", "/webhooks/" + TOKEN, json.dumps({**GOOD, "object": {"id": number}}).encode())
        assert status.startswith("202")
        last_event = time.monotonic()
        time.sleep(QUIET / 5)
    assert trigger.wait_idle(WAIT)
    assert len(trigger.sync.starts) == 1
    assert trigger.sync.starts[0] >= last_event + QUIET * 0.9, "the run waits for the burst to go quiet"
    status, health = _call(app, "GET", "/healthz")
    assert status.startswith("200")
    assert health == {"status": "ok", "runs": 1, "running": False}


def test_a_burst_that_never_goes_quiet_still_runs_after_the_maximum_wait(trigger) -> None:
    first = time.monotonic()
    while not trigger.sync.starts and time.monotonic() - first < MAX_WAIT * 3:
        trigger.notify("task_updated")
        time.sleep(QUIET / 3)
    assert trigger.sync.starts, "a run started while the events kept coming"
    assert MAX_WAIT * 0.9 <= trigger.sync.starts[0] - first <= MAX_WAIT + 1.0, "capped at the maximum wait"


def test_events_during_a_run_give_exactly_one_more_run_after_it_never_two_at_once() -> None:
    sync = FakeSync(hold=True)
    trigger = SyncTrigger(sync, DebounceWindow(QUIET, MAX_WAIT)).start()
    try:
        trigger.notify("time_reg_created")
        assert sync.started.wait(WAIT)
        for _ in range(4):  # a second burst while the first run is going
            trigger.notify("time_reg_updated")
        time.sleep(QUIET * 2)
        assert len(sync.starts) == 1, "no second run while one is going"
        sync.release.set()
        assert trigger.wait_idle(WAIT)
        time.sleep(QUIET * 2)
        assert len(sync.starts) == 2, "one more run for the whole second burst"
        assert sync.most_active == 1
        assert trigger.runs == 2
    finally:
        trigger.stop(WAIT)


def test_the_window_refuses_a_quiet_time_longer_than_the_maximum_wait() -> None:
    with pytest.raises(ValueError, match="max wait"):
        DebounceWindow(quiet_seconds=10, max_wait_seconds=5)


def test_timesync_listen_serves_over_http_runs_the_command_once_per_burst_and_never_logs_the_token(
        tmp_path: Path) -> None:
    """The real server (waitress) in a real `timesync listen` process, with a command that notes each run."""
    runs = tmp_path / "runs.txt"
    command = f"{sys.executable} -c \"open('{runs}', 'a').write('run\\n')\""
    log = tmp_path / "listen.log"
    env = {**os.environ, "TIMESYNC_WEBHOOK_TOKEN": TOKEN}
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "timesync"), "listen", "--port", "0", "--quiet-seconds", str(QUIET),
             "--max-wait-seconds", str(MAX_WAIT), "--command", command], env=env, stderr=stderr)
    try:
        base = _listening_url(log, process)
        assert requests.get(f"{base}/healthz", timeout=WAIT).json()["runs"] == 0
        for number in range(3):
            answer = requests.post(f"{base}/webhooks/{TOKEN}", json={**GOOD, "object": {"id": number}},
                                   timeout=WAIT)
            assert answer.status_code == 202
        assert requests.post(f"{base}/webhooks/wrong-token-0123456789", json=GOOD, timeout=WAIT).status_code == 404
        deadline = time.monotonic() + WAIT
        while requests.get(f"{base}/healthz", timeout=WAIT).json()["runs"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runs.read_text() == "run\n"
    finally:
        process.terminate()
        process.wait(WAIT)
    output = log.read_text()
    assert "3 event(s) (time_reg_updated 3)" in output
    assert TOKEN not in output


def test_timesync_listen_with_poll_seconds_runs_the_command_without_any_webhook(tmp_path: Path) -> None:
    """`--poll-seconds`: the one-minute poll (here half a second) in the listener's own process."""
    runs = tmp_path / "runs.txt"
    command = f"{sys.executable} -c \"open('{runs}', 'a').write('run\\n')\""
    log = tmp_path / "listen.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "timesync"), "listen", "--port", "0", "--poll-seconds", "0.5",
             "--command", command], env={**os.environ, "TIMESYNC_WEBHOOK_TOKEN": TOKEN}, stderr=stderr)
    try:
        base = _listening_url(log, process)
        deadline = time.monotonic() + WAIT * 3
        while requests.get(f"{base}/healthz", timeout=WAIT).json()["runs"] < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(WAIT)
    assert runs.read_text().count("run") >= 3
    output = log.read_text()
    assert "and every 0.5s without webhooks" in output
    assert "starting the scheduled sync run" in output


def _listening_url(log: Path, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + WAIT * 3
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("timesync listen: on "):
                return line.split()[3]
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"timesync listen did not start: {log.read_text()}")


def test_a_failing_or_missing_command_is_logged_and_the_next_burst_still_runs(caplog) -> None:
    caplog.set_level(logging.INFO, logger="timesync.listen")
    outcomes = iter([FileNotFoundError("no such command"), RuntimeError("boom"), 3, 0])

    def run() -> int:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    trigger = SyncTrigger(run, DebounceWindow(0.05, 0.2)).start()
    try:
        for _ in range(2):
            trigger.notify("task_created")
            time.sleep(0.1)
            assert trigger.wait_idle(WAIT)
        # The missing command is not tried again; the run that raised and the one that exited 3 are.
        assert trigger.runs == 4
    finally:
        trigger.stop(WAIT)
    logged = caplog.text
    assert "could not start: no such command" in logged
    assert "the sync run failed" in logged
    assert "failed with exit code 3" in logged
    assert "trying again in 0s (2 of 3)" in logged
    assert "for 1 event(s) (retry after a failed run 1)" in logged
    assert "sync run done" in logged


def test_a_run_that_keeps_failing_is_tried_again_a_bounded_number_of_times(caplog) -> None:
    """A run refused by the run lock (a scheduled run holds it) is retried, but a broken setup must not loop."""
    caplog.set_level(logging.INFO, logger="timesync.listen")
    codes: list[float] = []

    def refused() -> int:
        codes.append(time.monotonic())
        return 1

    trigger = SyncTrigger(refused, DebounceWindow(0.1, 0.5)).start()
    try:
        trigger.notify("time_reg_updated")
        assert trigger.wait_idle(WAIT)
        time.sleep(0.3)
        assert len(codes) == 1 + MAX_RETRIES
        assert all(later - earlier >= 0.09 for earlier, later in itertools.pairwise(codes)), \
            "each retry waits the quiet time"
        trigger.notify("time_reg_updated")  # a new burst after giving up gets its own run and retries
        assert trigger.wait_idle(WAIT)
        assert len(codes) == 2 * (1 + MAX_RETRIES)
    finally:
        trigger.stop(WAIT)
    assert f"trying again in 0s ({MAX_RETRIES} of {MAX_RETRIES})" in caplog.text


def test_the_poll_runs_at_start_and_whenever_no_run_has_started_for_that_long(caplog) -> None:
    caplog.set_level(logging.INFO, logger="timesync.listen")
    sync = FakeSync()
    poll = 0.4
    trigger = SyncTrigger(sync, DebounceWindow(QUIET, MAX_WAIT), poll_seconds=poll).start()
    try:
        deadline = time.monotonic() + WAIT
        while len(sync.starts) < 3 and time.monotonic() < deadline:  # runs at about 0, 0.4 and 0.8 s
            time.sleep(0.05)
        gaps = [later - earlier for earlier, later in itertools.pairwise(sync.starts[:3])]
        assert len(gaps) == 2
        assert all(poll * 0.9 <= gap <= poll + 0.3 for gap in gaps), gaps
        # A burst that never goes quiet (an event every 0.1 s; the maximum wait is 1.5 s) waits no longer than the
        # poll: the webhook events ride along with it.
        before = len(sync.starts)
        burst_started = time.monotonic()
        while time.monotonic() - burst_started < poll * 2.6:
            trigger.notify("time_reg_updated")
            time.sleep(0.1)
        assert len(sync.starts) - before >= 2
        assert trigger.wait_idle(WAIT)
    finally:
        trigger.stop(WAIT)
    assert "starting the scheduled sync run (no run for 0s)" in caplog.text
    assert "event(s) (poll 1, time_reg_updated" in caplog.text
    assert sync.most_active == 1


def test_no_poll_runs_while_a_run_is_going() -> None:
    sync = FakeSync(hold=True)
    trigger = SyncTrigger(sync, DebounceWindow(QUIET, MAX_WAIT), poll_seconds=0.2).start()
    try:
        assert sync.started.wait(WAIT)
        time.sleep(0.8)  # four poll periods while the first run is held
        assert len(sync.starts) == 1
        sync.release.set()
        time.sleep(0.5)
        assert sync.most_active == 1
        assert len(sync.starts) >= 2, "polling resumes after the run"
    finally:
        sync.release.set()
        trigger.stop(WAIT)
