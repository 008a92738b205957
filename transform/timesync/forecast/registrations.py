"""Forecast time-registration writes (v1) and the reads a writer needs: v3 by id, v3 per person, a task's project."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import requests

from timesync.adapters import ForecastAdapter
from timesync.forecast.reader import API_KEY_HEADER
from timesync.model import TimeEntry, parse_date

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 60
#: Attempts per request, the first included, on 429, 5xx, timeouts and dropped connections.
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
#: A Retry-After above this is capped, so one bad header cannot stall a 15-minute schedule.
MAX_RETRY_AFTER_SECONDS = 300
#: Statuses that mean "not done, try again later".
RETRY_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.BAD_GATEWAY,
                            HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.GATEWAY_TIMEOUT})
#: Statuses a POST may have been applied behind (the create may exist): look it up before trying again.
UNCERTAIN_STATUSES = frozenset({HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.GATEWAY_TIMEOUT})
AUTH_STATUSES = frozenset({HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN})
#: Forecast's PUT /v1/time_registrations/{id} changes only these (forecast-api.md §5); others are never sent.
UPDATABLE_FIELDS = ("time_registered", "billable_minutes_registered", "role", "date", "notes")
#: Words in Forecast's 400 message when a registration or its period is approved (the real API's validation).
LOCK_MARKERS = ("approved",)
MAX_SERVER_MESSAGE_CHARS = 300
REGISTRATIONS_STREAM = "time_registrations"


class ForecastWriteError(Exception):
    """Base of every error this client raises; messages name the request and never carry the API key."""


class ForecastFatalError(ForecastWriteError):
    """The run cannot go on: the key is refused, the URL is wrong, or Forecast stayed unavailable."""


class ForecastRefusedError(ForecastWriteError):
    """Forecast refused one registration (4xx): recorded for that item, the run goes on."""

    def __init__(self, endpoint: str, status: int, message: str) -> None:
        self.endpoint, self.status, self.api_message = endpoint, status, message
        super().__init__(f"Forecast refused {endpoint} (HTTP {status}): {message}")

    @property
    def locked(self) -> bool:
        """Whether the refusal is an approved registration or period (pair state `locked`)."""
        return any(marker in self.api_message.lower() for marker in LOCK_MARKERS)


class ForecastOutcomeUnknownError(ForecastWriteError):
    """A create timed out or failed server-side after it was sent: it may exist; look it up before retrying."""


def _retry_after_seconds(response: requests.Response) -> float | None:
    """`Retry-After` in seconds (delta or HTTP date), capped; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0), MAX_RETRY_AFTER_SECONDS)


def _server_message(response: requests.Response) -> str:
    """Forecast's `{status, message}` error text, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        text = body.get("message", "") if isinstance(body, dict) else str(body)
    return " ".join(str(text).split())[:MAX_SERVER_MESSAGE_CHARS]


class ForecastRegistrations:
    """The writes target-forecast makes, with bounded retries; thread-safe enough for a small worker pool."""

    def __init__(self, base_url: str, api_key: str, *, session: requests.Session | None = None,
                 max_attempts: int = MAX_ATTEMPTS, sleep: Callable[[float], None] = time.sleep) -> None:
        self.api_root = base_url.rstrip("/") + "/api"
        self.session = session or requests.Session()
        self.session.headers.update({API_KEY_HEADER: api_key, "Accept": "application/json"})
        self.max_attempts = max_attempts
        self.sleep = sleep
        self._task_projects: dict[int, int | None] = {}
        self._adapter = ForecastAdapter()

    # -- writes -----------------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/time_registrations; the created registration. May raise ForecastOutcomeUnknownError."""
        return self._json("POST", "/v1/time_registrations", body=dict(body), idempotent=False)

    def update(self, registration_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /v1/time_registrations/{id} with only the documented updatable fields."""
        fields = {name: body[name] for name in UPDATABLE_FIELDS if name in body}
        return self._json("PUT", f"/v1/time_registrations/{registration_id}", body=fields)

    def delete(self, registration_id: int) -> bool:
        """DELETE /v1/time_registrations/{id}; False when it was already gone."""
        response = self._request("DELETE", f"/v1/time_registrations/{registration_id}", missing_ok=True)
        return response.status_code != HTTPStatus.NOT_FOUND

    # -- reads ------------------------------------------------------------------------------------------

    def get(self, registration_id: int) -> dict[str, Any] | None:
        """GET /v3/time_registrations/{id} (the lease check); None when it does not exist."""
        response = self._request("GET", f"/v3/time_registrations/{registration_id}", missing_ok=True)
        return None if response.status_code == HTTPStatus.NOT_FOUND else self._decode(response)

    def of_person_on(self, person_id: int, day: str) -> list[dict[str, Any]]:
        """The person's registrations on one date (v3 per person, `date_after` the day before, filtered)."""
        before = (parse_date(day) - dt.timedelta(days=1)).strftime("%Y%m%d")
        records = self._json("GET", f"/v3/persons/{person_id}/time_registrations", params={"date_after": before})
        if not isinstance(records, list):
            raise ForecastFatalError(f"Forecast GET /v3/persons/{person_id}/time_registrations: expected a list")
        return [record for record in records if str(record.get("date"))[:10] == day]

    def task_project(self, task_id: int) -> int | None:
        """The project of a task (v3 registrations on a task carry no project), read once per task."""
        if task_id not in self._task_projects:
            task = self._json("GET", f"/v3/tasks/{task_id}", missing_ok=True)
            self._task_projects[task_id] = task.get("project_id") if task else None
        return self._task_projects[task_id]

    def entry(self, record: Mapping[str, Any]) -> TimeEntry:
        """A v1/v3 registration as a canonical time entry (through the Forecast adapter, like the tap's)."""
        project = record.get("project")
        if project is None and record.get("task") is not None:
            project = self.task_project(int(record["task"]))
        canonical = self._adapter.to_canonical(REGISTRATIONS_STREAM, {**record, "project_id": project})
        entry = canonical[0]
        assert isinstance(entry, TimeEntry)
        return entry

    # -- plumbing ---------------------------------------------------------------------------------------

    def _json(self, method: str, path: str, *, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None, idempotent: bool = True, missing_ok: bool = False) -> Any:
        response = self._request(method, path, body=body, params=params, idempotent=idempotent,
                                 missing_ok=missing_ok)
        if missing_ok and response.status_code == HTTPStatus.NOT_FOUND:
            return None
        return self._decode(response)

    def _decode(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ForecastFatalError(f"Forecast {self._endpoint(response)}: the answer is not JSON") from None

    @staticmethod
    def _endpoint(response: requests.Response) -> str:
        request = response.request
        path = urlsplit(request.url if request is not None else response.url).path
        return f"{request.method if request is not None else '?'} {path}"

    def _request(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                 params: dict[str, str] | None = None, idempotent: bool = True,
                 missing_ok: bool = False) -> requests.Response:
        """One request with retries; the whole error policy of this client is here.

        A POST is not idempotent: after a timeout or a 500 it may have been applied, so it is not retried here;
        the caller looks the registration up by fingerprint first (ForecastOutcomeUnknownError).
        """
        url = self.api_root + path
        endpoint = f"{method} /api{path}"
        headers = {"Content-Type": JSON_CONTENT_TYPE} if body is not None else {}
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.session.request(method, url, json=body, params=params, headers=headers,
                                                timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS))
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not idempotent:
                    raise ForecastOutcomeUnknownError(f"Forecast {endpoint}: {type(exc).__name__}") from None
                wait, reason = self._backoff(attempt), type(exc).__name__
            else:
                status = response.status_code
                if status < HTTPStatus.BAD_REQUEST or (missing_ok and status == HTTPStatus.NOT_FOUND):
                    return response
                reason = f"HTTP {status}"
                if status in AUTH_STATUSES:
                    raise ForecastFatalError(f"Forecast rejected the API key ({reason} on {endpoint}): set a valid "
                                             "key in the api_key setting (TARGET_FORECAST_API_KEY)")
                if not idempotent and status in UNCERTAIN_STATUSES:
                    raise ForecastOutcomeUnknownError(f"Forecast {endpoint}: {reason}")
                if status not in RETRY_STATUSES and status < HTTPStatus.INTERNAL_SERVER_ERROR:
                    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNSUPPORTED_MEDIA_TYPE) and body is None:
                        raise ForecastFatalError(f"Forecast endpoint not found ({reason} on {endpoint}); check "
                                                 "base_url (the API root without /api/vN)")
                    raise ForecastRefusedError(endpoint, status, _server_message(response))
                retry_after = _retry_after_seconds(response)
                wait = self._backoff(attempt) if retry_after is None else retry_after
            if attempt == self.max_attempts:
                break
            logger.warning("Forecast %s failed (%s); retry %d of %d in %.1fs", endpoint, reason, attempt,
                           self.max_attempts - 1, wait)
            self.sleep(wait)
        unreachable = "" if reason.startswith("HTTP") else "; check base_url"
        raise ForecastFatalError(f"Forecast {method} {url} still failing after {self.max_attempts} attempts "
                                 f"({reason}){unreachable}. The run stops so the bookmark stays where it was")

    @staticmethod
    def _backoff(attempt: int) -> float:
        """Exponential backoff with jitter: about 1, 2, 4, 8 ... seconds, capped."""
        return min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS) + random.uniform(0, 1)

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
