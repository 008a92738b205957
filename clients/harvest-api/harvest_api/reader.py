"""HarvestReader: the refresh-token grant and account lookup tap-harvest performs, then whole paged lists."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import requests

#: Harvest's hosts, as tap-harvest 3.1.1 calls them (`tap_harvest/client.py`).
DEFAULT_ID_URL = "https://id.getharvest.com/api/v2"
DEFAULT_API_URL = "https://api.harvestapp.com/v2"
#: tap-harvest's own variables (Meltano's names for its settings) and the launcher's two URLs.
ENV_PREFIX = "TAP_HARVEST_"
REQUEST_TIMEOUT_SECONDS = 60
#: A safety stop for a server that keeps answering with a next page.
MAX_PAGES = 10_000


class HarvestApiError(RuntimeError):
    """A Harvest request failed; the message names the request and the status, never a secret."""


class HarvestReader:
    """Reads whole lists from one Harvest account."""

    def __init__(self, *, client_id: str, client_secret: str, refresh_token: str, user_agent: str,
                 id_url: str = DEFAULT_ID_URL, api_url: str = DEFAULT_API_URL) -> None:
        missing = [name for name, value in (("client_id", client_id), ("client_secret", client_secret),
                                            ("refresh_token", refresh_token), ("user_agent", user_agent)) if not value]
        if missing:
            raise HarvestApiError("Harvest settings missing: " + ", ".join(
                f"{name} ({ENV_PREFIX}{name.upper()})" for name in missing))
        self._credentials = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
        self.id_url, self.api_url = id_url.rstrip("/"), api_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent
        self._token: str | None = None
        self._account: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HarvestReader:
        """From tap-harvest's variables (and the launcher's URLs) in ``env`` (default: the process environment)."""
        env = os.environ if env is None else env

        def value(name: str) -> str:
            return env.get(ENV_PREFIX + name, "")

        return cls(client_id=value("CLIENT_ID"), client_secret=value("CLIENT_SECRET"),
                   refresh_token=value("REFRESH_TOKEN"), user_agent=value("USER_AGENT"),
                   id_url=value("ID_URL") or DEFAULT_ID_URL, api_url=value("API_URL") or DEFAULT_API_URL)

    def users(self) -> list[dict[str, Any]]:
        """Every user (id, first_name, last_name, email, is_active, ...)."""
        return self._list("users")

    def projects(self) -> list[dict[str, Any]]:
        """Every project (id, name, code, is_active, ...)."""
        return self._list("projects")

    def _list(self, name: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        page: int | None = 1
        for _ in range(MAX_PAGES):
            if page is None:
                return records
            body = self._get(f"{self.api_url}/{name}", {"page": page}, self._api_headers())
            records += body.get(name) or []
            page = body.get("next_page")
        raise HarvestApiError(f"GET {self.api_url}/{name}: more than {MAX_PAGES} pages")

    def _api_headers(self) -> dict[str, str]:
        if self._token is None or self._account is None:
            self._token = str(self._post_token()["access_token"])
            accounts = self._get(f"{self.id_url}/accounts", {}, {"Authorization": f"Bearer {self._token}"})
            harvest = [a for a in accounts.get("accounts") or [] if a.get("product") == "harvest"]
            if not harvest:
                raise HarvestApiError(f"GET {self.id_url}/accounts: this token reaches no Harvest account")
            self._account = str(harvest[0]["id"])
        return {"Authorization": f"Bearer {self._token}", "Harvest-Account-Id": self._account}

    def _post_token(self) -> dict[str, Any]:
        url = f"{self.id_url}/oauth2/token"
        try:
            response = self.http.post(url, data={**self._credentials, "grant_type": "refresh_token"},
                                      timeout=REQUEST_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise HarvestApiError(f"POST {url}: {type(exc).__name__}") from None
        return _json(response, f"POST {url}")

    def _get(self, url: str, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        try:
            response = self.http.get(url, params=params, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise HarvestApiError(f"GET {url}: {type(exc).__name__}") from None
        return _json(response, f"GET {url}")


def _json(response: requests.Response, request: str) -> dict[str, Any]:
    """The JSON object of a successful answer, or an error naming the request, the status and Harvest's message."""
    if not response.ok:
        try:
            detail = response.json()
        except ValueError:
            detail = {}
        message = detail.get("error_description") or detail.get("message") or detail.get("error") or response.reason
        raise HarvestApiError(f"{request}: {response.status_code} {message}")
    try:
        body = response.json()
    except ValueError:
        raise HarvestApiError(f"{request}: the answer is not JSON") from None
    if not isinstance(body, dict):
        raise HarvestApiError(f"{request}: the answer is not a JSON object")
    return body
