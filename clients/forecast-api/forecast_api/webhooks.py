"""Forecast webhook subscriptions (v1): list, create and delete, through one `ForecastSession`.

Forecast's docs (`sections/webhook_subscriptions.md`) give a subscription as `{id, name, type, event, url, active}`:
one `type` (TASK, TIME_REG, PROJECT, PHASE) and one `event` (CREATE, UPDATE, DELETE) each. The list is a bare array.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from forecast_api.errors import malformed
from forecast_api.session import ForecastSession
from forecast_api.settings import API_PATH, DEFAULT_BASE_URL

SUBSCRIPTIONS_PATH = "/v1/webhook_subscriptions"
TYPES = ("TASK", "TIME_REG", "PROJECT", "PHASE")
EVENTS = ("CREATE", "UPDATE", "DELETE")


class ForecastWebhooks:
    """The subscription calls an admin tool makes. Errors are the session's (`ForecastFatalError`, ...)."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, verify_tls: bool = True,
                 key_setting: str = "TAP_FORECAST_API_KEY") -> None:
        self.session = ForecastSession(base_url, api_key, key_setting=key_setting, verify_tls=verify_tls)

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription of the account."""
        body = self.session.json("GET", SUBSCRIPTIONS_PATH)
        if not isinstance(body, list):
            raise malformed(f"GET {API_PATH}{SUBSCRIPTIONS_PATH}", f"expected a JSON array, got {type(body).__name__}")
        return body

    def create(self, *, name: str, type_: str, event: str, url: str, active: bool = True) -> dict[str, Any]:
        """POST one subscription (`type_` is Forecast's `type`); the created one. Not retried after a timeout: it
        may exist, so list before trying again."""
        if type_ not in TYPES or event not in EVENTS:
            raise ValueError(f"type must be one of {TYPES} and event one of {EVENTS}, got {type_!r} and {event!r}")
        body = {"name": name, "type": type_, "event": event, "url": url, "active": active}
        created: dict[str, Any] = self.session.json("POST", SUBSCRIPTIONS_PATH, body=body, idempotent=False)
        return created

    def delete(self, subscription_id: int) -> bool:
        """DELETE one subscription; False when it was already gone."""
        response = self.session.request("DELETE", f"{SUBSCRIPTIONS_PATH}/{int(subscription_id)}", missing_ok=True)
        return response.status_code != HTTPStatus.NOT_FOUND

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
