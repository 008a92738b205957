"""In-process access to the Harvest simulator for its tests: a client with the sandbox's personal access token."""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from sandbox import credentials
from sandbox.common.app import Request, Response
from sandbox.harvest.app import HarvestApp
from sandbox.harvest.options import HarvestOptions
from sandbox.testing import FakeClock

HOST = "harvest.test"
USER_AGENT = "harvest-tests (tests@agency.example)"


class HarvestClient:
    """Calls `HarvestApp.handle` like an HTTP client with the sandbox's personal access token would."""

    def __init__(self, app: HarvestApp, token: str = credentials.HARVEST_PERSONAL_ACCESS_TOKEN) -> None:
        self.app = app
        self.headers = {"user-agent": USER_AGENT, "authorization": f"Bearer {token}",
                        "harvest-account-id": str(credentials.HARVEST_ACCOUNT_ID), "host": HOST}

    def call(self, method: str, path: str, params: dict | None = None, *, json_body: object = None,
             form: dict | None = None, headers: dict | None = None) -> Response:
        """One request; `headers` values of None drop a default header."""
        merged = {**self.headers, **(headers or {})}
        body = b""
        if json_body is not None:
            merged["content-type"] = "application/json"
            body = json.dumps(json_body).encode()
        elif form is not None:
            merged["content-type"] = "application/x-www-form-urlencoded"
            body = urlencode(form).encode()
        raw_path = f"{path}?{urlencode(params)}" if params else path
        return self.app.handle(Request(method, raw_path, {k: v for k, v in merged.items() if v is not None}, body))

    def get(self, path: str, params: dict | None = None, **kwargs: object) -> dict:
        """GET and the JSON body of a 200 (fails the test otherwise)."""
        response = self.call("GET", path, params, **kwargs)  # type: ignore[arg-type]
        assert response.status == 200, (response.status, response.body)
        return json.loads(response.body)

    def follow(self, url: str) -> dict:
        """GET an absolute `links` URL."""
        parts = urlsplit(url)
        assert parts.netloc == HOST
        return self.get(f"{parts.path}?{parts.query}")


def status_and_body(response: Response) -> tuple[int, object]:
    """(status, parsed JSON body or None)."""
    return response.status, json.loads(response.body) if response.body else None


def make_app(data: dict, clock: FakeClock | None = None, **options: object) -> HarvestApp:
    """A fresh app on `data` with `options` (options.py) and the rate limit off unless given."""
    chosen = HarvestOptions()
    chosen.update({"rate_limit_requests": 0, **options})
    return HarvestApp(data, clock=clock or FakeClock(), options=chosen)
