"""The full-table reads an admin tool needs: persons, projects, a project's tasks and time (plain JSON arrays)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from forecast_api.errors import malformed
from forecast_api.session import ForecastSession
from forecast_api.settings import API_PATH, DEFAULT_BASE_URL


class ForecastReader:
    """GETs whole lists (these endpoints return plain arrays, not pages) through one `ForecastSession`."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, verify_tls: bool = True,
                 key_setting: str = "TAP_FORECAST_API_KEY") -> None:
        self.session = ForecastSession(base_url, api_key, key_setting=key_setting, verify_tls=verify_tls)

    @property
    def clock_offset(self) -> dt.timedelta | None:
        """Forecast's clock minus ours at the last answer with a `Date` header (None before one)."""
        return self.session.clock_offset

    def _list(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        body = self.session.json("GET", path, params=params)
        if not isinstance(body, list):
            raise malformed(f"GET {API_PATH}{path}", f"expected a JSON array, got {type(body).__name__}")
        return body

    def persons(self) -> list[dict[str, Any]]:
        """Every person (id, first_name, last_name, email, active, ...)."""
        return self._list("/v2/persons")

    def projects(self) -> list[dict[str, Any]]:
        """Every project (id, company_project_id, name, status, ...)."""
        return self._list("/v1/projects")

    def project_time_registrations(self, project_id: str | int, date_after: str | None = None) -> list[dict[str, Any]]:
        """A project's registrations, on the project and on its tasks (v3, one unpaged list).

        ``date_after`` (YYYYMMDD) keeps those dated after it (strictly), so a caller reads only the dates it needs.
        """
        params = {"date_after": date_after} if date_after else None
        return self._list(f"/v3/projects/{int(project_id)}/time_registrations", params)

    def project_tasks(self, project_id: str | int) -> list[dict[str, Any]]:
        """A project's tasks, every level (v3, one unpaged list; the same fields as the tap's v4 `tasks`)."""
        return self._list(f"/v3/projects/{int(project_id)}/tasks")

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
