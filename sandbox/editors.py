"""Edit the sandbox through its real APIs, the way a person in Forecast, TimeLog or Harvest would.

The end-to-end tests, the demo and the suites change data through these (never through `/_sandbox/reset`),
so every edit bumps timestamps and lands in the change feeds exactly as a real edit does. They are the other
people's tools, not the product: plain `requests` for Forecast and a plain zeep client for TimeLog, no retries.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import requests
import zeep
from zeep.proxy import ServiceProxy
from zeep.transports import Transport
from zeep.wsdl.bindings import Soap11Binding

from sandbox import credentials
from sandbox.timelog.testing import get_token, retype_token, service_url

HTTP_TIMEOUT_SECONDS = 30
SUCCESS = "Success"
#: When a work unit inserted without a start time begins, in site time.
DEFAULT_START = dt.time(9, 0)


class ForecastEditor:
    """Time registrations (v1) and tasks (v3) through Forecast's REST API."""

    def __init__(self, base_url: str, api_key: str = credentials.FORECAST_API_KEY) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update({"X-FORECAST-API-KEY": api_key})

    def _send(self, method: str, path: str, payload: dict | None = None, version: str = "v1") -> Any:
        response = self.http.request(method, f"{self.base_url}/api/{version}/{path}", json=payload,
                                     timeout=HTTP_TIMEOUT_SECONDS)
        if not response.ok:
            raise RuntimeError(f"Forecast {method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def create_registration(self, *, person: int, date: str, minutes: int, task: int | None = None,
                            project: int | None = None, notes: str = "") -> dict:
        """POST a registration on a task or (with `project`) on the project itself."""
        payload = {"person": person, "date": date, "time_registered": minutes, "notes": notes}
        payload |= {"task": task} if task is not None else {"project": project}
        return self._send("POST", "time_registrations", payload)

    def update_registration(self, registration_id: int, **fields: Any) -> dict:
        """PUT the documented fields (time_registered, notes, date, …)."""
        return self._send("PUT", f"time_registrations/{registration_id}", fields)

    def delete_registration(self, registration_id: int) -> None:
        """DELETE a registration."""
        self._send("DELETE", f"time_registrations/{registration_id}")

    def create_task(self, *, project_id: int, title: str, **fields: Any) -> dict:
        """POST /v3/tasks (e.g. `parent_task_id`, `assigned_persons`, `start_date`, `end_date`)."""
        return self._send("POST", "tasks", {"project_id": project_id, "title": title, **fields}, version="v3")

    def update_task(self, task_id: int, **fields: Any) -> dict:
        """PUT /v3/tasks/{id} (title, dates, estimate, assigned_persons, …)."""
        return self._send("PUT", f"tasks/{task_id}", fields, version="v3")


class TimeLogEditor:
    """Work units through TimeLog's Transactional SOAP API, with a zeep client of its own."""

    def __init__(self, timelog_url: str) -> None:
        transport = Transport(timeout=HTTP_TIMEOUT_SECONDS, operation_timeout=HTTP_TIMEOUT_SECONDS)
        security_url, pm_url = service_url(timelog_url, "Security"), service_url(timelog_url, "ProjectManagement")
        self._pm_client = zeep.Client(f"{pm_url}?wsdl", transport=transport)
        self._security = _soap11(zeep.Client(f"{security_url}?wsdl", transport=transport), security_url)
        self._pm = _soap11(self._pm_client, pm_url)
        self._token: Any = None

    def _write(self, operation: str, **params: Any) -> None:
        """One batch write; a refused item raises. An expired token is replaced once."""
        for attempt in (1, 2):
            if self._token is None:
                self._token = retype_token(self._pm_client, get_token(self._security))
            response = getattr(self._pm, operation)(source=0, token=self._token, **params)
            if response.ResponseState == SUCCESS and not _refused(response):
                return
            messages = _refused(response) or [m.Message for m in (response.Messages.APIMessage
                                                                   if response.Messages else [])]
            if attempt == 1 and any("expired" in (m or "").lower() for m in messages):
                self._token = None
                continue
            raise RuntimeError(f"TimeLog {operation} refused: {messages}")

    @staticmethod
    def _unit(guid: str, *, initials: str, task_id: int, date: str, minutes: int, note: str,
              start_time: dt.time = DEFAULT_START) -> dict:
        start = dt.datetime.combine(dt.date.fromisoformat(date), start_time)
        return {
            "GUID": guid, "TaskID": task_id, "EmployeeInitials": initials,
            "Duration": dt.timedelta(minutes=minutes), "StartDateTime": start,
            "EndDateTime": start + dt.timedelta(minutes=minutes), "Description": note,
        }

    def insert_work(self, *, initials: str, task_id: int, date: str, minutes: int, note: str = "Work",
                    start_time: dt.time = DEFAULT_START) -> str:
        """InsertWork one unit starting at `start_time` on `date` (site time); returns its GUID."""
        guid = str(uuid.uuid4())
        unit = self._unit(guid, initials=initials, task_id=task_id, date=date, minutes=minutes, note=note,
                          start_time=start_time)
        self._write("InsertWork", work={"WorkUnit": [unit]})
        return guid

    def update_work(self, guid: str, *, initials: str, task_id: int, date: str, minutes: int, note: str) -> None:
        """UpdateWork one unit (TimeLog wants the full unit)."""
        unit = self._unit(guid, initials=initials, task_id=task_id, date=date, minutes=minutes, note=note)
        self._write("UpdateWork", work={"WorkUnit": [unit]})

    def delete_work(self, guid: str) -> None:
        """DeleteWork one unit."""
        self._write("DeleteWork", work={"guid": [guid]})


class HarvestEditor:
    """Time entries through Harvest's v2 API, with the sandbox's personal access token."""

    def __init__(self, base_url: str, token: str = credentials.HARVEST_PERSONAL_ACCESS_TOKEN) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", "User-Agent": credentials.HARVEST_USER_AGENT,
                                  "Harvest-Account-Id": str(credentials.HARVEST_ACCOUNT_ID)})

    def _send(self, method: str, path: str, payload: dict | None = None, params: dict | None = None) -> Any:
        response = self.http.request(method, f"{self.base_url}/v2/{path}", json=payload, params=params,
                                     timeout=HTTP_TIMEOUT_SECONDS)
        if not response.ok:
            raise RuntimeError(f"Harvest {method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def list_all(self, path: str, key: str, **params: Any) -> list[dict]:
        """Every record of a list, following `links.next` as the docs advise."""
        page = self._send("GET", path, params=params)
        records = list(page[key])
        while page["links"]["next"]:
            response = self.http.get(page["links"]["next"], timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            page = response.json()
            records += page[key]
        return records

    def create_time_entry(self, *, user_id: int, project_id: int, task_id: int, spent_date: str, hours: float,
                          notes: str = "") -> dict:
        """POST a time entry "via duration"."""
        return self._send("POST", "time_entries", {"user_id": user_id, "project_id": project_id, "task_id": task_id,
                                                   "spent_date": spent_date, "hours": hours, "notes": notes})

    def update_time_entry(self, entry_id: int, **fields: Any) -> dict:
        """PATCH the documented fields (hours, notes, spent_date, project_id, task_id, ...)."""
        return self._send("PATCH", f"time_entries/{entry_id}", fields)

    def delete_time_entry(self, entry_id: int) -> None:
        """DELETE a time entry."""
        self._send("DELETE", f"time_entries/{entry_id}")


def _soap11(client: zeep.Client, address: str) -> Any:
    """A service's SOAP 1.1 port (the one TimeLog's own samples call), at `address`."""
    binding = next(port.binding for service in client.wsdl.services.values() for port in service.ports.values()
                   if isinstance(port.binding, Soap11Binding))
    return ServiceProxy(client, binding, address=address)


def _refused(response: Any) -> list[str | None]:
    """The messages of the items a batch write refused."""
    containers = getattr(response.Return, "BatchContainerOfWorkUnit", None) if response.Return else None
    return [c.Message for c in containers or [] if c.Status != SUCCESS]
