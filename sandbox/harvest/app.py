"""`HarvestApp`: the Harvest ID and API v2 simulator behind `SimulatorServer` (routing, auth, bodies, faults).

Both hosts share one port: `/api/v2/oauth2/token` and `/api/v2/accounts` stand for https://id.getharvest.com,
`/v2/...` for https://api.harvestapp.com. API calls are checked in this order: User-Agent (400), token and
account (401), rate limit (429), route (404, or 405 for a known path with another method), body (400), then the
endpoint's own rules (404/422). README.md says which doc page each behaviour follows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from sandbox.common.app import Request, Response, SimulatorApp
from sandbox.common.clock import Clock, format_timestamp, utc_now
from sandbox.common.routes import Router, unrouted_operation
from sandbox.harvest.api import ID_HOST, ROUTES, Call, HarvestApi, Reply
from sandbox.harvest.auth import RateLimiter, authenticate, issue_token, list_accounts
from sandbox.harvest.errors import HarvestError, bad_request, http_error, not_found
from sandbox.harvest.options import HarvestOptions
from sandbox.harvest.store import HarvestStore
from sandbox.harvest.writes import TimeEntryWrites

WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
#: Handlers of `api.ROUTES` that `writes.TimeEntryWrites` serves; the rest are `api.HarvestApi`'s.
WRITE_HANDLERS = frozenset({"create_time_entry", "update_time_entry", "delete_time_entry"})
JSON_CONTENT_TYPE = "application/json"
#: `wrong_types` faults put this where a decimal number of hours belongs.
NOT_A_NUMBER = "abc"


class HarvestApp(SimulatorApp):
    """The Harvest account in memory. `clock` stamps writes (UTC); tests may pass a fake one."""

    name = "harvest"

    def __init__(self, data: dict, clock: Clock = utc_now, options: HarvestOptions | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.options = options or HarvestOptions()
        self.store = HarvestStore()
        self.api = HarvestApi(self.store, self.options)
        self.writes = TimeEntryWrites(self.store, self.options)
        self.router = Router(ROUTES)
        self.rate_limiter = RateLimiter()
        self.reset(data)

    # -- SimulatorApp --------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Serve one request of either host."""
        try:
            status, payload = self._serve(request)
        except HarvestError as error:
            return Response.json(error.status, error.body, error.headers)
        if payload is None:
            return Response(status, b"", {"Content-Type": "application/json; charset=utf-8"})
        return Response.json(status, payload)

    def _serve(self, request: Request) -> Reply:
        now = self.clock().timestamp()
        match, path_known = self.router.match(request.method, request.path)
        with self.lock:
            if request.path.startswith(ID_HOST + "/"):
                if match is None:
                    raise http_error(405) if path_known else not_found()
                if match.route.handler == "token":
                    return 200, issue_token(request, self.store, self.options, now)
                return 200, list_accounts(request, self.store, now)
            token, user_id = authenticate(request, self.store, now)
        self.rate_limiter.check(token, self.options.rate_limit_requests, time.monotonic())
        if match is None:
            raise http_error(405) if path_known else not_found()
        body = _body(request) if request.method in ("POST", "PATCH") else {}
        host = request.headers.get("host", "127.0.0.1")
        with self.lock:
            call = Call(match.params, request.query, body, user_id, f"http://{host}{request.path}",
                        format_timestamp(self.clock()))
            # Views are fresh dicts, so the server may encode them after the lock is released.
            return self._handler(match.route.handler)(call)

    def _handler(self, name: str) -> Callable[[Call], Reply]:
        return getattr(self.writes if name in WRITE_HANDLERS else self.api, name)

    def operation_of(self, request: Request) -> str:
        """`GET /v2/time_entries`, `PATCH /v2/time_entries/{id}`, `POST /api/v2/oauth2/token`, ..."""
        match, _ = self.router.match(request.method, request.path)
        return match.route.operation if match else unrouted_operation(request.method, request.path)

    def is_write(self, request: Request) -> bool:
        """POST, PATCH and DELETE on the API change data (a token request does not)."""
        return request.method in WRITE_METHODS and request.path.startswith("/v2/")

    def snapshot(self) -> dict:
        """Every entity (see `store.HarvestStore`)."""
        with self.lock:
            return self.store.snapshot()

    def reset(self, data: dict) -> None:
        """Replace all data; `{}` is an empty account with the sandbox's credentials."""
        with self.lock:
            self.store.load(data, format_timestamp(self.clock()))
        self.rate_limiter.clear()

    def lock_period(self, spec: dict) -> dict:
        """Approve, invoice or reopen entries or a period (`writes.TimeEntryWrites.lock`)."""
        with self.lock:
            return self.writes.lock(spec, format_timestamp(self.clock()))

    def get_options(self) -> dict:
        """The options (options.py)."""
        return self.options.as_dict()

    def set_options(self, changes: dict) -> dict:
        """Change some options; raises ValueError naming a bad one."""
        return self.options.update(changes)

    # -- faults --------------------------------------------------------------------------------------

    def malformed(self, response: Response, kind: str) -> Response:
        """Corrupt a successful JSON list or record: `truncated`, `wrong_types` (the first record's `id` becomes a
        string and its `hours` text) or `missing_fields` (a list loses its records key, a record its `id`)."""
        if kind != "truncated":
            try:
                payload = json.loads(response.body)
            except ValueError:
                payload = None
            if isinstance(payload, dict) and _corrupt(payload, kind):
                return Response.json(response.status, payload, response.headers)
        return super().malformed(response, "truncated")


def _corrupt(payload: dict, kind: str) -> bool:
    lists = [key for key, value in payload.items() if isinstance(value, list)]
    records = payload[lists[0]] if lists else [payload]
    if kind == "missing_fields" and lists:
        del payload[lists[0]]
        return True
    if not records or not isinstance(records[0], dict) or "id" not in records[0]:
        return False
    if kind == "missing_fields":
        del records[0]["id"]
    else:
        records[0]["id"] = str(records[0]["id"])
        if "hours" in records[0]:
            records[0]["hours"] = NOT_A_NUMBER
    return True


def _body(request: Request) -> dict:
    """POST/PATCH parameters "can either be formatted in JSON or submitted as form data. When submitting request
    parameters as JSON, you must pass application/json in the Content-Type header" (overview/general)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", "replace")
    if content_type != JSON_CONTENT_TYPE:
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise bad_request(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body
