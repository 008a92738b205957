"""A small Forecast read client for the admin CLI: persons, projects and time (X-FORECAST-API-KEY auth)."""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any

import requests

API_KEY_HEADER = "X-FORECAST-API-KEY"
DEFAULT_BASE_URL = "https://api.forecast.it"
TIMEOUT_SECONDS = (10, 60)  # connect, read
HTTP_UNAUTHORIZED = 401


class ForecastReadError(RuntimeError):
    """A Forecast read that failed; the message names the endpoint and never the key."""


class ForecastReader:
    """GETs the full-table lists the CLI needs (both endpoints return plain arrays, not pages)."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, verify_tls: bool = True) -> None:
        if not api_key:
            raise ForecastReadError("Forecast API key missing: set TAP_FORECAST_API_KEY (Forecast: Admin > API)")
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers[API_KEY_HEADER] = api_key
        self.session.verify = verify_tls
        #: Forecast's clock minus ours at the last answer with a `Date` header (None before one).
        self.clock_offset: dt.timedelta | None = None

    def _get(self, path: str) -> list[dict[str, Any]]:
        url = f"{self.base_url}/api/{path}"
        try:
            response = self.session.get(url, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise ForecastReadError(f"GET {url}: {type(exc).__name__}") from None
        self._note_clock(response)
        if response.status_code == HTTP_UNAUTHORIZED:
            raise ForecastReadError(f"GET {url}: 401, the Forecast API key was refused (TAP_FORECAST_API_KEY)")
        if not response.ok:
            raise ForecastReadError(f"GET {url}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ForecastReadError(f"GET {url}: the response is not JSON") from None
        if not isinstance(body, list):
            raise ForecastReadError(f"GET {url}: expected a JSON array, got {type(body).__name__}")
        return body

    def _note_clock(self, response: requests.Response) -> None:
        try:
            stamped = email.utils.parsedate_to_datetime(response.headers["Date"])
        except (KeyError, TypeError, ValueError):
            return
        if stamped.tzinfo is not None:
            self.clock_offset = stamped - dt.datetime.now(dt.UTC)

    def persons(self) -> list[dict[str, Any]]:
        """Every person, with the `persons` stream fields (id, first_name, last_name, email, active)."""
        return self._get("v2/persons")

    def projects(self) -> list[dict[str, Any]]:
        """Every project, with the `projects` stream fields (id, company_project_id, name, status)."""
        return self._get("v1/projects")

    def project_time_registrations(self, project_id: str | int, date_after: str | None = None) -> list[dict[str, Any]]:
        """A project's registrations, on the project and on its tasks (v3, one unpaged list; `timesync report`).

        ``date_after`` (YYYYMMDD) keeps those dated after it (strictly), so a report reads only its weeks.
        """
        query = f"?date_after={date_after}" if date_after else ""
        return self._get(f"v3/projects/{int(project_id)}/time_registrations{query}")

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
