"""Forecast's webhook subscriptions (DOCS-WH, `sections/webhook_subscriptions.md`): the five routes, and the events
that API writes to tasks and time registrations raise.

DOCS-WH: a subscription is `{id, name, type, event, url, active}`; `type` is TASK, TIME_REG, PROJECT or PHASE,
`event` is CREATE, UPDATE or DELETE, and one subscription covers one type and one event. POST requires name, type,
event and url; `active` defaults to true. PUT changes any of them. The lists are bare arrays, like every unpaged
list of the API. Statuses are DOCS-README's: POST 201 with the created object, PUT 200 with the updated one, DELETE
200; errors are 400/404 with the API's `{status, message}` body.

Only tasks and time registrations raise events here: the simulator has no project or phase writes. The payload
(DOCS-WH) is `{timestamp, event, object: {id}, person: {id}, fields_changed}` with `fields_changed` on updates
only. DOCS-WH names one event, `task_updated`; the others (`task_created`, `time_reg_deleted`, ...) follow its
pattern `<type>_<created|updated|deleted>` by inference (docs/assumptions.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.common.routes import Route
from sandbox.forecast.errors import bad_request

if TYPE_CHECKING:  # the store imports this module for `Change`
    from sandbox.forecast.store import ForecastStore, Table

#: DOCS-WH: the subscription types and events.
TYPES = ("TASK", "TIME_REG", "PROJECT", "PHASE")
EVENTS = ("CREATE", "UPDATE", "DELETE")
#: DOCS-WH: the fields of a subscription, and those POST requires.
FIELDS = ("id", "name", "type", "event", "url", "active")
REQUIRED = ("name", "type", "event", "url")
#: The store's tables that raise events, and the subscription type each belongs to.
TYPE_OF_TABLE = {"tasks": "TASK", "time_registrations": "TIME_REG"}
#: `task_updated` is DOCS-WH's own example; the other prefixes and past tenses are inferred from it.
EVENT_PREFIX = {"TASK": "task", "TIME_REG": "time_reg", "PROJECT": "project", "PHASE": "phase"}
PAST_TENSE = {"CREATE": "created", "UPDATE": "updated", "DELETE": "deleted"}
#: Audit fields every write bumps: not what a user changed, so not in `fields_changed`.
AUDIT_FIELDS = frozenset({"updated_at", "updated_by"})
URL_SCHEMES = ("http://", "https://")

#: DOCS-WH: "GET/POST /v1/webhook_subscriptions, GET/PUT/DELETE /v1/webhook_subscriptions/{id}".
ROUTES = [
    Route("GET", "/api/v1/webhook_subscriptions", "list_subscriptions"),
    Route("POST", "/api/v1/webhook_subscriptions", "create_subscription"),
    Route("GET", "/api/v1/webhook_subscriptions/{id}", "get_subscription"),
    Route("PUT", "/api/v1/webhook_subscriptions/{id}", "update_subscription"),
    Route("DELETE", "/api/v1/webhook_subscriptions/{id}", "delete_subscription"),
]


@dataclass(frozen=True)
class Change:
    """One write to a task or time registration, as a webhook will tell it."""

    type: str  # TASK | TIME_REG
    event: str  # CREATE | UPDATE | DELETE
    object_id: int
    person_id: int
    fields_changed: tuple[str, ...] = ()

    def payload(self, timestamp: str) -> dict:
        """DOCS-WH's delivered body; `fields_changed` on UPDATE only."""
        body: dict = {
            "timestamp": timestamp,
            "event": f"{EVENT_PREFIX[self.type]}_{PAST_TENSE[self.event]}",
            "object": {"id": self.object_id},
            "person": {"id": self.person_id},
        }
        if self.event == "UPDATE":
            body["fields_changed"] = list(self.fields_changed)
        return body


def change_of(table: str, event: str, before: dict | None, after: dict, person_id: int) -> Change | None:
    """The change a store write makes, or None for tables without webhooks."""
    if table not in TYPE_OF_TABLE:
        return None
    changed: tuple[str, ...] = ()
    if event == "UPDATE" and before is not None:
        changed = tuple(sorted(name for name in after
                               if name not in AUDIT_FIELDS and before.get(name) != after.get(name)))
    return Change(TYPE_OF_TABLE[table], event, after["id"], person_id, changed)


def _choice(body: dict, name: str, allowed: tuple[str, ...]) -> str:
    value = body[name]
    if value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _subscription_fields(body: dict) -> dict:
    """The writable fields of a POST or PUT body, checked; unknown keys are ignored like elsewhere in the API."""
    fields: dict = {}
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise bad_request(f"name must be a non-empty string, got {body['name']!r}")
        fields["name"] = body["name"]
    if "type" in body:
        fields["type"] = _choice(body, "type", TYPES)
    if "event" in body:
        fields["event"] = _choice(body, "event", EVENTS)
    if "url" in body:
        url = body["url"]
        if not isinstance(url, str) or not url.startswith(URL_SCHEMES):
            raise bad_request(f"url must be an http:// or https:// URL, got {url!r}")
        fields["url"] = url
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise bad_request(f"active must be true or false, got {body['active']!r}")
        fields["active"] = body["active"]
    return fields


def _view(record: dict) -> dict:
    return {name: record[name] for name in FIELDS}


Reply = tuple[int, object]


class WebhookSubscriptionApi:
    """The five subscription routes over the store's `webhook_subscriptions` table (callers hold the app lock)."""

    def __init__(self, store: ForecastStore) -> None:
        self.store = store

    @property
    def _table(self) -> Table:
        return self.store.webhook_subscriptions

    def handler(self, route: Route) -> Callable[..., Reply]:
        """The bound handler a route names."""
        handler: Callable[..., Reply] = getattr(self, route.handler)
        return handler

    def list_subscriptions(self, params: dict, body: dict) -> Reply:
        return 200, [_view(record) for record in self._table.in_id_order()]

    def get_subscription(self, params: dict, body: dict) -> Reply:
        return 200, _view(self._table.require(params["id"], "Webhook subscription"))

    def create_subscription(self, params: dict, body: dict) -> Reply:
        missing = [name for name in REQUIRED if body.get(name) is None]
        if missing:
            raise bad_request(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
        record = {"active": True, **_subscription_fields(body), "id": self.store.new_webhook_id()}
        self._table.insert(record)
        return 201, _view(record)

    def update_subscription(self, params: dict, body: dict) -> Reply:
        record = self._table.require(params["id"], "Webhook subscription")
        updated = {**record, **_subscription_fields(body)}
        self._table.replace(updated)
        return 200, _view(updated)

    def delete_subscription(self, params: dict, body: dict) -> Reply:
        self._table.remove(self._table.require(params["id"], "Webhook subscription")["id"])
        return 200, None

    def targets(self, change: Change) -> list[str]:
        """URLs of the active subscriptions for this change's type and event, one per subscription (DOCS-WH)."""
        return [record["url"] for record in self._table.in_id_order()
                if record["active"] and record["type"] == change.type and record["event"] == change.event]
