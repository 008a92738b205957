"""Forecast time-registration writes (v1) and the reads a writer needs: v3 by id, v3 per person, a task's project."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import requests

from forecast_api.errors import ForecastFatalError
from forecast_api.retry import MAX_ATTEMPTS, RetryPolicy
from forecast_api.session import ForecastSession

#: Forecast's PUT /v1/time_registrations/{id} changes only these (forecast-api.md §5); others are never sent.
UPDATABLE_FIELDS = ("time_registered", "billable_minutes_registered", "role", "date", "notes")


class ForecastRegistrations:
    """The writes a time-registration writer makes; thread-safe enough for a small worker pool.

    Errors: `ForecastFatalError` (the run cannot go on), `ForecastRefusedError` (this registration was refused),
    `ForecastOutcomeUnknownError` (a create may have happened: look it up before trying again).
    """

    def __init__(self, base_url: str, api_key: str, *, session: requests.Session | None = None,
                 max_attempts: int = MAX_ATTEMPTS, key_setting: str = "TARGET_FORECAST_API_KEY") -> None:
        self.api = ForecastSession(base_url, api_key, key_setting=key_setting, session=session,
                                   retry=RetryPolicy(max_attempts=max_attempts))
        self._task_projects: dict[int, int | None] = {}

    # -- writes -----------------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/time_registrations; the created registration. May raise ForecastOutcomeUnknownError."""
        created: dict[str, Any] = self.api.json("POST", "/v1/time_registrations", body=dict(body), idempotent=False)
        return created

    def update(self, registration_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /v1/time_registrations/{id} with only the documented updatable fields."""
        fields = {name: body[name] for name in UPDATABLE_FIELDS if name in body}
        updated: dict[str, Any] = self.api.json("PUT", f"/v1/time_registrations/{registration_id}", body=fields)
        return updated

    def delete(self, registration_id: int) -> bool:
        """DELETE /v1/time_registrations/{id}; False when it was already gone."""
        response = self.api.request("DELETE", f"/v1/time_registrations/{registration_id}", missing_ok=True)
        return response.status_code != HTTPStatus.NOT_FOUND

    # -- reads ------------------------------------------------------------------------------------------

    def get(self, registration_id: int) -> dict[str, Any] | None:
        """GET /v3/time_registrations/{id} (the lease check); None when it does not exist."""
        path = f"/v3/time_registrations/{registration_id}"
        found: dict[str, Any] | None = self.api.json("GET", path, missing_ok=True)
        return found

    def of_person_on(self, person_id: int, day: str) -> list[dict[str, Any]]:
        """The person's registrations on one date."""
        return [record for record in self.of_person_from(person_id, day) if str(record.get("date"))[:10] == day]

    def of_person_from(self, person_id: int, first_day: str) -> list[dict[str, Any]]:
        """The person's registrations dated ``first_day`` or later, in one v3 read (the same record as `get`).

        `date_after` is given the day before: the docs do not say whether "after" includes the day itself.
        """
        before = (dt.date.fromisoformat(first_day[:10]) - dt.timedelta(days=1)).strftime("%Y%m%d")
        records = self.api.json("GET", f"/v3/persons/{person_id}/time_registrations", params={"date_after": before})
        if not isinstance(records, list):
            raise ForecastFatalError(f"Forecast GET /api/v3/persons/{person_id}/time_registrations: expected a list")
        return records

    def task_project(self, task_id: int) -> int | None:
        """The project of a task (v3 registrations on a task carry no project), read once per task."""
        if task_id not in self._task_projects:
            task = self.api.json("GET", f"/v3/tasks/{task_id}", missing_ok=True)
            self._task_projects[task_id] = task.get("project_id") if task else None
        return self._task_projects[task_id]

    def close(self) -> None:
        """Close the HTTP session."""
        self.api.close()
