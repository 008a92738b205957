"""`ForecastApp`: the Forecast REST simulator behind `SimulatorServer` (auth, routing, status codes, locks, faults).

Request checks run in the real API's order: API key (401), route (404, or 405 for a known path with another
method), JSON content type on POST/PUT (415), JSON body (400), then the endpoint's own validation (400/404).

`POST /_sandbox/lock` (`lock_period`) takes one of:

* `{"registration_ids": [1, 2]}`: approve these registrations.
* `{"person": 11, "from": "2026-10-01", "to": "2026-10-31"}`: approve that person's registrations dated in the
  period (both ends inclusive) and refuse new ones there, like an approved timesheet.
* `{"from": "...", "to": "..."}`: the same for every person.

Each may add `"approval_status": "SUBMITTED" | "NOT_SUBMITTED"` to set that status instead (with
`NOT_SUBMITTED`, a period lock is lifted again). The answer names what changed:
`{"approval_status": "APPROVED", "registration_ids": [...], "period": {...} | null}`.
Approving bumps `updated_at`, as any change to a registration does (it raises no webhook: it is not an API write).

Webhooks (DOCS-WH, `webhooks.py`, `delivery.py`): after every API request, the task and time-registration writes it
made are posted to each active matching subscription from a background thread, so the answer never waits for them.
"""

from __future__ import annotations

import json

from sandbox.common.app import Request, Response, SimulatorApp
from sandbox.common.clock import Clock, format_timestamp, parse_date, utc_now
from sandbox.common.routes import Router, unrouted_operation
from sandbox.forecast import webhooks
from sandbox.forecast.api import ROUTES, Call, ForecastApi
from sandbox.forecast.delivery import WebhookDelivery
from sandbox.forecast.errors import UNAUTHORIZED_MESSAGE, ForecastError, bad_request, not_found
from sandbox.forecast.options import ForecastOptions
from sandbox.forecast.resources import APPROVED, NOT_SUBMITTED, SAMPLES, Shapes
from sandbox.forecast.store import ForecastStore

API_KEY_HEADER = "x-forecast-api-key"
JSON_CONTENT_TYPE = "application/json"
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
METHODS_WITH_BODY = frozenset({"POST", "PUT"})
#: `wrong_types` faults put this where an integer number of minutes belongs.
NOT_A_NUMBER = "abc"
MINUTE_FIELDS = ("time_registered", "billable_minutes_registered", "minutesRegistered", "estimate")
#: `wrong_types` turns these integer ids into strings.
ID_FIELDS = ("id", "person", "project", "task", "project_id")


class ForecastApp(SimulatorApp):
    """The Forecast REST API in memory. `clock` stamps writes (UTC); tests may pass a fake one.

    `fields` picks which documented fields responses show: `"samples"` (the strict default) leaves out what the
    docs' sample responses leave out, such as a task's `estimate`; `"tables"` shows every field of the docs'
    response tables (`resources.SAMPLE_OMISSIONS` lists the difference, with the docs sections).
    """

    name = "forecast"

    def __init__(self, data: dict, clock: Clock = utc_now, fields: str = SAMPLES,
                 options: ForecastOptions | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.fields = fields
        self.options = options or ForecastOptions()
        self.store = ForecastStore()
        self.api = ForecastApi(self.store, Shapes.of(fields))
        self.subscriptions = webhooks.WebhookSubscriptionApi(self.store)
        self.delivery = WebhookDelivery(self.options.webhook_minute_seconds)
        self.router = Router([*ROUTES, *webhooks.ROUTES])
        self.reset(data)

    # -- SimulatorApp --------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Serve one API request."""
        try:
            status, payload = self._serve(request)
        except ForecastError as error:
            return Response.json(error.status, error.body())
        if payload is None:
            return Response(status, b"", {"Content-Type": "application/json; charset=utf-8"})
        return Response.json(status, payload)

    def _serve(self, request: Request) -> tuple[int, object]:
        if request.headers.get(API_KEY_HEADER) not in self.store.api_keys:
            raise ForecastError(401, UNAUTHORIZED_MESSAGE)
        match, path_known = self.router.match(request.method, request.path)
        if match is None:
            if path_known:
                raise ForecastError(405, f"Method {request.method} is not supported on {request.path}")
            raise not_found(f"No endpoint {request.method} {request.path}")
        body = self._json_body(request) if request.method in METHODS_WITH_BODY else {}
        with self.lock:
            stamp = format_timestamp(self.clock())
            if match.route in webhooks.ROUTES:
                return self.subscriptions.handler(match.route)(match.params, body)
            call = Call(match.route, match.params, request.query, body, stamp)
            try:
                # Views are fresh dicts, so the server may encode them after the lock is released.
                return self.api.handler(match.route)(call)
            finally:
                # Even a request refused halfway (a task delete meeting an approved registration) keeps the
                # writes it made before, so their webhooks go out too.
                self._publish(self.store.take_changes(), stamp)

    def _publish(self, changes: list[webhooks.Change], stamp: str) -> None:
        """Queue one delivery per change and matching active subscription (DOCS-WH)."""
        for change in changes:
            for url in self.subscriptions.targets(change):
                self.delivery.send(url, change.payload(stamp))

    @staticmethod
    def _json_body(request: Request) -> dict:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != JSON_CONTENT_TYPE:
            raise ForecastError(415, f"Unsupported Media Type: send Content-Type: {JSON_CONTENT_TYPE}; charset=utf-8"
                                     f" (got {content_type or 'none'})")
        try:
            body = request.json()
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad_request(f"Request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise bad_request("Request body must be a JSON object")
        return body

    def operation_of(self, request: Request) -> str:
        """`GET /api/v4/time_registrations/updated_after/{ts}`, `PUT /api/v1/time_registrations/{id}`, ..."""
        match, _ = self.router.match(request.method, request.path)
        return match.route.operation if match else unrouted_operation(request.method, request.path)

    def is_write(self, request: Request) -> bool:
        """POST, PUT and DELETE change data."""
        return request.method in WRITE_METHODS

    def snapshot(self) -> dict:
        """Every entity (see `store.ForecastStore.snapshot`)."""
        with self.lock:
            return self.store.snapshot()

    def get_options(self) -> dict:
        """The options (options.py)."""
        return self.options.as_dict()

    def set_options(self, changes: dict) -> dict:
        """Change some options; the delivery thread reads the retry scale on each retry it schedules."""
        options = self.options.update(changes)
        self.delivery.minute_seconds = self.options.webhook_minute_seconds
        return options

    def reset(self, data: dict) -> None:
        """Replace all data; `{}` is an empty account with the default API key."""
        with self.lock:
            self.store.load(data)

    def lock_period(self, spec: dict) -> dict:
        """Approve registrations or a period (shapes in the module docstring)."""
        if not isinstance(spec, dict):
            raise TypeError("lock: expected a JSON object")
        status = spec.get("approval_status", APPROVED)
        with self.lock:
            stamp = format_timestamp(self.clock())
            if "registration_ids" in spec:
                ids = spec["registration_ids"]
                if not isinstance(ids, list):
                    raise TypeError("lock: registration_ids must be a list of ids")
                return {"approval_status": status, "period": None,
                        "registration_ids": self.store.set_approval(ids, status, stamp)}
            if not {"from", "to"} <= set(spec):
                raise ValueError('lock: give {"registration_ids": [...]} or {"person"?: id, "from": "YYYY-MM-DD", '
                                 '"to": "YYYY-MM-DD"}')
            period = {"person": spec.get("person"), "from": parse_date(spec["from"]), "to": parse_date(spec["to"])}
            persons = [period["person"]] if period["person"] is not None else list(self.store.tables["persons"].records)
            ids = [rid for person in persons for rid in self.store.registrations_of(person, period["from"],
                                                                                     period["to"])]
            changed = self.store.set_approval(sorted(ids), status, stamp)
            if status == APPROVED:
                self.store.locked_periods.append(period)
            elif status == NOT_SUBMITTED and period in self.store.locked_periods:
                self.store.locked_periods.remove(period)
            return {"approval_status": status, "period": period, "registration_ids": changed}

    # -- faults --------------------------------------------------------------------------------------

    def malformed(self, response: Response, kind: str) -> Response:
        """Corrupt a successful JSON body: `truncated`, `wrong_types` or `missing_fields`.

        `wrong_types` and `missing_fields` touch the first record only, so a client must check every record,
        not just the first page's shape. Bodies with nothing to corrupt that way are truncated instead.
        """
        if kind != "truncated":
            try:
                payload = json.loads(response.body)
            except ValueError:
                payload = None
            corrupted = _corrupt(payload, kind) if payload is not None else None
            if corrupted is not None:
                return Response.json(response.status, corrupted, response.headers)
        return super().malformed(response, "truncated")


def _first_record(payload: object) -> dict | None:
    if isinstance(payload, dict):
        contents = payload.get("pageContents")
        if isinstance(contents, list):
            return contents[0] if contents else None
        return payload
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        return payload[0]
    return None


def _corrupt(payload: object, kind: str) -> object | None:
    """The payload with one record broken, or None when there is no record to break."""
    if kind == "missing_fields" and isinstance(payload, dict) and "pageContents" in payload:
        return {key: value for key, value in payload.items() if key != "pageContents"}
    record = _first_record(payload)
    if record is None:
        return None
    if kind == "missing_fields":
        if "id" not in record:
            return None
        record.pop("id")
        return payload
    broken = False
    for name in MINUTE_FIELDS:
        if name in record:
            record[name] = NOT_A_NUMBER
            broken = True
    for name in ID_FIELDS:
        if isinstance(record.get(name), int):
            record[name] = str(record[name])
            broken = True
    return payload if broken else None
