"""A threaded HTTP server on 127.0.0.1 that serves one simulator plus the `/_sandbox/*` control API."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sandbox.common.app import Request, Response, SimulatorApp
from sandbox.common.faults import FaultConfigError, FaultInjector
from sandbox.common.stats import RequestStats

log = logging.getLogger("sandbox")

CONTROL_PREFIX = "/_sandbox/"
LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024 * 1024


class SimulatorServer(ThreadingHTTPServer):
    """Serves `app` on a loopback port. Port 0 picks a free one (see `url`)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, app: SimulatorApp, port: int = 0) -> None:
        self.app = app
        self.stats = RequestStats()
        self.faults = FaultInjector()
        super().__init__((LOOPBACK, port), _handler_for(self))

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:18001."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread (tests and the CLI)."""
        thread = threading.Thread(target=self.serve_forever, name=f"sandbox-{self.app.name}", daemon=True)
        thread.start()
        return thread

    # -- control API ---------------------------------------------------------------------------

    def control(self, request: Request) -> Response:
        """Answer `/_sandbox/state|reset|faults|stats|lock|options`."""
        route = (request.method, request.path[len(CONTROL_PREFIX):].rstrip("/"))
        try:
            if route == ("GET", "state"):
                with self.app.lock:
                    return Response.json(200, self.app.snapshot())
            if route == ("POST", "reset"):
                data = request.json() if request.body else {}
                with self.app.lock:
                    self.app.reset(data)
                self.stats.clear()
                return Response.json(200, {"status": "reset"})
            if route == ("POST", "faults"):
                config = self.faults.configure(request.json() if request.body else {})
                return Response.json(200, {"status": "ok", "faults": config.__dict__})
            if route == ("GET", "stats"):
                return Response.json(200, self.stats.as_dict())
            if route == ("POST", "stats/clear"):
                self.stats.clear()
                return Response.json(200, {"status": "cleared"})
            if route == ("POST", "lock"):
                with self.app.lock:
                    return Response.json(200, self.app.lock_period(request.json()))
            if route in (("GET", "options"), ("POST", "options")):
                return self._options(request)
        except (ValueError, KeyError, TypeError, FaultConfigError) as exc:
            return Response.json(400, {"status": 400, "message": f"sandbox control: {exc}"})
        return Response.json(404, {"status": 404, "message": f"sandbox control: no route {route[0]} {route[1]}"})

    def _options(self, request: Request) -> Response:
        """`GET /_sandbox/options` and `POST /_sandbox/options` (a partial JSON object); `reset` keeps them."""
        with self.app.lock:
            if request.method == "GET":
                options = self.app.get_options()
            else:
                changes = request.json() if request.body else {}
                if not isinstance(changes, dict):
                    raise ValueError(f"options: expected a JSON object, got {type(changes).__name__}")
                options = self.app.set_options(changes)
        if options is None:
            return Response.json(404, {"status": 404, "message": f"sandbox control: the {self.app.name} simulator "
                                                                 "has no options"})
        return Response.json(200, options)

    # -- API requests --------------------------------------------------------------------------

    def serve_api(self, request: Request) -> Response | None:
        """Serve an API request through faults and stats. None means: drop the connection."""
        operation = self.app.operation_of(request)
        write = self.app.is_write(request)
        decision = self.faults.decide(operation, self.stats.write_count)
        if decision.block:
            self.stats.count_fault("blocked")
            self.faults.wait_while_blocked(operation, self.stats.write_count)
            decision = self.faults.decide(operation, self.stats.write_count)
        if decision.latency_ms:
            time.sleep(decision.latency_ms / 1000)
        if decision.timeout:
            self.stats.count_fault("timeout")
            time.sleep(self.faults.config.timeout_hold_ms / 1000)
            return None
        self.stats.count(operation, write=write and decision.error_status is None)
        if decision.error_status is not None:
            self.stats.count_fault(str(decision.error_status))
            headers = {}
            if decision.error_status == 429:
                headers["Retry-After"] = str(self.faults.config.retry_after_seconds)
            return Response.json(
                decision.error_status,
                {"status": decision.error_status, "message": "Injected fault (sandbox)"},
                headers,
            )
        response = self.app.handle(request)
        if decision.malformed_kind and 200 <= response.status < 300:
            self.stats.count_fault(f"malformed:{decision.malformed_kind}")
            response = self.app.malformed(response, decision.malformed_kind)
        return response


def _handler_for(server: SimulatorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections like they do in production
        # Headers and body go out in two writes; with Nagle on, the second waits ~40 ms for a delayed ACK.
        disable_nagle_algorithm = True
        server_version = f"sandbox-{server.app.name}"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(Response.json(413, {"status": 413, "message": "Request body too large"}))
                return
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                raw_path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            if request.path.startswith(CONTROL_PREFIX):
                response: Response | None = server.control(request)
            else:
                try:
                    response = server.serve_api(request)
                except Exception:  # a simulator bug must show as a 500, never hang the client
                    log.exception("sandbox %s failed on %s %s", server.app.name, self.command, request.path)
                    response = Response.json(500, {"status": 500, "message": "Internal sandbox error"})
            if response is None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(response)

        def date_time_string(self, timestamp: float | None = None) -> str:
            # The `Date` header, off by the simulator's clock offset (a server whose clock is skewed).
            if timestamp is None:
                timestamp = time.time() + server.app.http_date_offset_seconds()
            return super().date_time_string(timestamp)

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def json_line(**urls: str | None) -> str:
    """The one JSON line `serve` prints on start-up."""
    return json.dumps(urls)
