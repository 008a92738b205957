"""`timesync listen`: receive Forecast's webhooks and start a sync run soon after a burst of changes ends.

Forecast signs nothing (its webhook docs document no signature or HMAC), so the one thing a receiver can check is
a secret token in the URL it gave Forecast: `POST /webhooks/<token>`. A wrong token gets a 404, as if the path did
not exist; the token is compared in constant time and never logged. A payload must be JSON with a known event and
an integer object id, or it gets a 400. The answer is 202 at once; the run happens later, on another thread.

A webhook carries only an id, and Forecast gives up after five retries, so a webhook is a hint to run now, never
data: the run reads Forecast's change feeds as the scheduled runs do. A lost webhook costs latency, not data.

With `poll_seconds` the listener also runs the sync when no run has started for that long (the one-minute poll
for TimeLog, which has no push): the schedule lives in the same process as the webhook runs, so the two never
start `meltano run` side by side in one project (they would share its `.meltano/run/` files).

`SyncTrigger` debounces: it waits until no event has come for `quiet_seconds` (but no longer than
`max_wait_seconds` after the first), then runs the command once. While a run is going, new events only mark
another run due, which starts after it ends: never two at once (the run lock refuses overlaps too). A run that
fails (most often refused because a scheduled run holds the run lock) is tried again once the quiet time has
passed, up to `MAX_RETRIES` times in a row, so a change announced during a scheduled run is not left to the next
scheduled one.
"""

from __future__ import annotations

import hmac
import json
import logging
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

WEBHOOK_PATH_PREFIX = "/webhooks/"
HEALTH_PATH = "/healthz"
#: Forecast's subscription types, as its one documented event name (`task_updated`) spells them in events; the
#: others follow the same `<type>_<past tense>` pattern by inference (docs/assumptions.md).
EVENT_TYPES = ("task", "time_reg", "project", "phase")
EVENT_ACTIONS = ("created", "updated", "deleted")
KNOWN_EVENTS = frozenset(f"{kind}_{action}" for kind in EVENT_TYPES for action in EVENT_ACTIONS)
#: A Forecast payload is a few hundred bytes; anything far larger is not one.
MAX_BODY_BYTES = 64 * 1024
#: waitress's request threads: answers are tiny and quick, the runs happen on the trigger's own thread.
WORKER_THREADS = 4
#: Too short a token can be guessed; `timesync webhooks subscribe` suggests `secrets.token_urlsafe(32)`.
MIN_TOKEN_LENGTH = 16
#: Runs tried again after a failure, in a row; then the scheduled runs catch up (a broken setup must not loop).
MAX_RETRIES = 3
RETRY_EVENT = "retry after a failed run"
POLL_EVENT = "poll"


def check_token(token: str) -> str:
    """The token, if it is long enough not to be guessed; ValueError otherwise (the token is not in the message)."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"the webhook token must be at least {MIN_TOKEN_LENGTH} characters")
    return token


class BadWebhookError(ValueError):
    """A body that is not a Forecast webhook; the message says what is wrong (no secrets in it)."""


def parse_event(body: bytes) -> str:
    """The event name of a webhook body; `BadWebhookError` unless it has a known event and an integer object id."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadWebhookError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise BadWebhookError("the body is not a JSON object")
    event = payload.get("event")
    if event not in KNOWN_EVENTS:
        raise BadWebhookError(f"unknown event {str(event)[:40]!r}; known: {', '.join(sorted(KNOWN_EVENTS))}")
    subject = payload.get("object")
    object_id = subject.get("id") if isinstance(subject, dict) else None
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        raise BadWebhookError("object.id must be an integer")
    return str(event)


@dataclass(frozen=True)
class DebounceWindow:
    """How long to wait for a burst to end: `quiet_seconds` without events, at most `max_wait_seconds` in all."""

    quiet_seconds: float = 5.0
    max_wait_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.quiet_seconds < 0 or self.max_wait_seconds < self.quiet_seconds:
            raise ValueError("the debounce window needs 0 <= quiet seconds <= max wait seconds")


class SyncTrigger:
    """Counts events, and runs `run` (the sync command; returns its exit code) once per burst on its own thread."""

    def __init__(self, run: Callable[[], int], window: DebounceWindow,
                 clock: Callable[[], float] = time.monotonic, *, poll_seconds: float = 0) -> None:
        self._run = run
        self.window = window
        self._clock = clock
        #: > 0: also run when no run has started for this long (the schedule, kept in this one process).
        self.poll_seconds = poll_seconds
        self._last_started: float | None = None
        self._changed = threading.Condition()
        self._events: Counter[str] = Counter()
        self._first_at = self._last_at = 0.0
        self._stopping = False
        self.running = False
        self.runs = 0
        self._failures_in_a_row = 0
        self._thread = threading.Thread(target=self._loop, name="timesync-listen-trigger", daemon=True)

    def start(self) -> SyncTrigger:
        """Start the thread that runs the command."""
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the current run, if any; events still waiting are left to the next scheduled run."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join(timeout)

    def notify(self, event: str) -> None:
        """Note one event: a run will follow once the burst it belongs to is over."""
        with self._changed:
            self._note(event)

    def _note(self, event: str) -> None:
        now = self._clock()
        if not self._events:
            self._first_at = now
        self._events[event] += 1
        self._last_at = now
        self._changed.notify_all()

    def _due_in(self) -> float:
        """Seconds until the waiting events are due to run (<= 0: now)."""
        quiet_until = self._last_at + self.window.quiet_seconds
        return min(quiet_until, self._first_at + self.window.max_wait_seconds) - self._clock()

    def _poll_in(self) -> float | None:
        """Seconds until the poll is due (<= 0: now; None: no poll). The first is due at once."""
        if self.poll_seconds <= 0:
            return None
        if self._last_started is None:
            return 0.0
        return self._last_started + self.poll_seconds - self._clock()

    def _wait_until_due(self) -> None:
        """Wait (holding the condition) until events are due, the poll is due, or stop() was called."""
        while not self._stopping:
            if self._events and self._due_in() <= 0:
                return
            poll_in = self._poll_in()
            if poll_in is not None and poll_in <= 0:  # a burst still going waits no longer than the poll
                self._events[POLL_EVENT] += 1
                return
            waits = [w for w in (self._due_in() if self._events else None, poll_in) if w is not None]
            self._changed.wait(timeout=max(min(waits), 0.01) if waits else None)

    def _loop(self) -> None:
        while True:
            with self._changed:
                self._wait_until_due()
                if self._stopping:
                    return
                events, self._events = self._events, Counter()
                if set(events) != {RETRY_EVENT}:  # a new burst gets its own retries
                    self._failures_in_a_row = 0
                self.running = True
                self._last_started = self._clock()
            failed = self._run_once(events)
            with self._changed:
                self.running = False
                self.runs += 1
                self._failures_in_a_row = self._failures_in_a_row + 1 if failed else 0
                if failed and self._failures_in_a_row <= MAX_RETRIES:
                    logger.info("webhooks: trying again in %.0fs (%d of %d)", self.window.quiet_seconds,
                                self._failures_in_a_row, MAX_RETRIES)
                    self._note(RETRY_EVENT)
                self._changed.notify_all()

    def _run_once(self, events: Counter[str]) -> bool:
        """Run the command once; True if it started and failed (worth trying again)."""
        counted = ", ".join(f"{name} {count}" for name, count in sorted(events.items()))
        if set(events) == {POLL_EVENT}:
            logger.info("webhooks: starting the scheduled sync run (no run for %.0fs)", self.poll_seconds)
        else:
            logger.info("webhooks: starting a sync run for %d event(s) (%s)", events.total(), counted)
        started = self._clock()
        try:
            code = self._run()
        except OSError as exc:  # the command is missing or not executable: say so, keep listening
            logger.error("webhooks: the sync command could not start: %s", exc)
            return False
        except Exception:  # whatever else goes wrong, this thread must live on to serve the next burst
            logger.exception("webhooks: the sync run failed")
            return True
        outcome = "done" if code == 0 else f"failed with exit code {code}"
        logger.info("webhooks: sync run %s in %.0fs", outcome, self._clock() - started)
        return code != 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no event waits and no run is going (tests)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._events and not self.running, timeout=timeout)


def command_runner(argv: list[str]) -> Callable[[], int]:
    """A `run` for `SyncTrigger`: the command as a subprocess, its output passed through, its exit code."""
    def run() -> int:
        return subprocess.run(argv, check=False).returncode
    return run


def serve(app: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]], host: str, port: int,
          on_ready: Callable[[str], None]) -> None:
    """Serve `app` with waitress until interrupted (SIGINT or SIGTERM); `on_ready` gets the base URL it listens on
    (port 0 picks a free port)."""
    from waitress.server import BaseWSGIServer, create_server  # imported here: only `timesync listen` needs it

    server = create_server(app, host=host, port=port, threads=WORKER_THREADS, ident="timesync")
    if not isinstance(server, BaseWSGIServer):  # several sockets: only when asked to listen on several addresses
        server.close()
        raise ValueError(f"listen on one address, got {host!r}")
    # SIGTERM stops it like Ctrl-C, so the caller can wait for a run in progress (signals reach the main thread only).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        on_ready(f"http://{host}:{server.getsockname()[1]}")
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        server.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def webhook_app(token: str, trigger: SyncTrigger) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The WSGI app: `POST /webhooks/<token>` and `GET /healthz`."""
    expected = (WEBHOOK_PATH_PREFIX + check_token(token)).encode("utf-8")

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, payload = _answer(environ, expected, trigger)
        except Exception:  # never let the server log a request: its path holds the token
            logger.exception("webhooks: internal error")
            status, payload = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"}
        body = json.dumps(payload).encode("utf-8")
        start_response(f"{status.value} {status.phrase}", [("Content-Type", "application/json"),
                                                            ("Content-Length", str(len(body)))])
        return [body]

    return app


def _answer(environ: WSGIEnvironment, expected: bytes, trigger: SyncTrigger) -> tuple[HTTPStatus, dict[str, Any]]:
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if path == HEALTH_PATH and method == "GET":
        return HTTPStatus.OK, {"status": "ok", "runs": trigger.runs, "running": trigger.running}
    # WSGI gives the path as latin-1 text; compare its bytes with the expected ones in constant time.
    if not hmac.compare_digest(path.encode("latin-1", "replace"), expected):
        return HTTPStatus.NOT_FOUND, {"error": "not found"}
    if method != "POST":
        return HTTPStatus.METHOD_NOT_ALLOWED, {"error": "POST only"}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 < length <= MAX_BODY_BYTES:
        return HTTPStatus.BAD_REQUEST, {"error": f"a webhook body of 1 to {MAX_BODY_BYTES} bytes is expected"}
    try:
        event = parse_event(environ["wsgi.input"].read(length))
    except BadWebhookError as exc:
        logger.warning("webhooks: refused a request: %s", exc)
        return HTTPStatus.BAD_REQUEST, {"error": str(exc)}
    trigger.notify(event)
    return HTTPStatus.ACCEPTED, {"status": "accepted"}
