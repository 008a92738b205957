"""The alert hooks: log, webhook (a real HTTP server), e-mail (a real SMTP conversation) and python."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from timesync_dagster.alerts import Alert, EmailAlert, WebhookAlert, hook_from_config, log_alert

ALERT = Alert(tenant="acme", job="sync_acme", run_id="r-1", message="Steps failed: meltano_run_sync_acme")
received: list[object] = []


def custom_hook(alert: Alert) -> None:
    received.append(alert)


class _Webhook(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def do_POST(self) -> None:
        type(self).bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib to deliver one message."""

    messages: list[str] = []

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test")
        while line := self.rfile.readline().decode():
            verb = line[:4].upper()
            if verb == "DATA":
                self.reply("354 go on")
                body = []
                while (data := self.rfile.readline().decode()) != ".\r\n":
                    body.append(data)
                type(self).messages.append("".join(body))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Webhook.bodies = []
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_webhook_posts_the_alert_as_json_with_a_text_line(webhook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_HOOK", webhook)
    hook_from_config({"kind": "webhook", "url_env": "OPS_HOOK"})(ALERT)
    [body] = _Webhook.bodies
    assert body["tenant"] == "acme"
    assert body["run_id"] == "r-1"
    assert body["job"] == "sync_acme"
    assert body["text"].startswith("timesync: the sync of tenant acme failed")


def test_webhook_without_its_variable_still_logs_the_alert(caplog: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPS_HOOK", raising=False)
    with caplog.at_level(logging.ERROR):
        WebhookAlert("OPS_HOOK")(ALERT)
    assert "OPS_HOOK is not set" in caplog.text
    assert "tenant acme" in caplog.text


def test_email_is_delivered_over_smtp() -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Smtp.messages = []
    try:
        hook = hook_from_config({"kind": "email", "to": ["ops@agency.example"], "smtp_host": "127.0.0.1",
                                 "smtp_port": server.server_address[1], "from": "sync@agency.example"})
        assert isinstance(hook, EmailAlert)
        hook(ALERT)
    finally:
        server.shutdown()
        server.server_close()
    [raw] = _Smtp.messages
    message = email.message_from_string(raw, policy=email.policy.default)
    assert message["Subject"] == "timesync: tenant acme failed"
    assert message["To"] == "ops@agency.example"
    assert "Steps failed: meltano_run_sync_acme" in message.get_content()


def test_log_and_python_hooks(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        hook_from_config({"kind": "log"})(ALERT)
    assert "tenant acme failed" in caplog.text
    assert hook_from_config({"kind": "log"}) is log_alert
    received.clear()
    hook_from_config({"kind": "python", "callable": f"{__name__}:custom_hook"})(ALERT)
    assert received == [ALERT]
