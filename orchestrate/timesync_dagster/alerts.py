"""Where a failed tenant run is reported: a pluggable hook chosen by tenants.yml's `orchestrator.alert`.

Every hook takes one Alert. `log` writes it to the daemon's log; `webhook` POSTs it as JSON (a `text` field too,
so a Slack or Teams incoming webhook shows it); `email` sends it over SMTP; `python` calls a function of yours.
"""

from __future__ import annotations

import importlib
import logging
import os
import smtplib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any

import requests

LOGGER = logging.getLogger("timesync_dagster.alerts")
WEBHOOK_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Alert:
    """One failed run: which tenant, which job and run, and Dagster's reason."""

    tenant: str
    job: str
    run_id: str
    message: str

    @property
    def text(self) -> str:
        """One line a person reads."""
        return f"timesync: the sync of tenant {self.tenant} failed (job {self.job}, run {self.run_id}): {self.message}"


AlertHook = Callable[[Alert], None]


def log_alert(alert: Alert) -> None:
    """Write the alert to the log (the daemon's output)."""
    LOGGER.error(alert.text)


@dataclass(frozen=True)
class WebhookAlert:
    """POST the alert as JSON to the URL in an environment variable (read at send time: it is a secret)."""

    url_env: str

    def __call__(self, alert: Alert) -> None:
        url = os.environ.get(self.url_env)
        if not url:
            LOGGER.error("%s (and the webhook alert could not be sent: %s is not set)", alert.text, self.url_env)
            return
        response = requests.post(url, json={"text": alert.text, **asdict(alert)}, timeout=WEBHOOK_TIMEOUT_SECONDS)
        response.raise_for_status()


@dataclass(frozen=True)
class EmailAlert:
    """Send the alert by e-mail through an SMTP relay."""

    to: tuple[str, ...]
    smtp_host: str
    smtp_port: int = 25
    sender: str = "timesync@localhost"

    def __call__(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"timesync: tenant {alert.tenant} failed"
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message.set_content(alert.text)
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=WEBHOOK_TIMEOUT_SECONDS) as smtp:
            smtp.send_message(message)


def hook_from_config(config: dict[str, Any]) -> AlertHook:
    """The hook tenants.yml's `orchestrator.alert` names (already checked against the registry's schema)."""
    kind = config["kind"]
    if kind == "webhook":
        return WebhookAlert(config["url_env"])
    if kind == "email":
        return EmailAlert(tuple(config["to"]), config["smtp_host"], config.get("smtp_port", 25),
                          config.get("from", "timesync@localhost"))
    if kind == "python":
        module, _, name = config["callable"].partition(":")
        hook: AlertHook = getattr(importlib.import_module(module), name)
        return hook
    return log_alert
