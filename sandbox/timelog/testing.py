"""Helpers for tests that talk SOAP to the TimeLog simulator: service URLs, an in-process zeep transport, tokens.

`InProcessTransport` sends zeep's requests straight to a `TimeLogApp` (no server, no sockets), so rule tests
can drive the simulator through real zeep clients with a controllable clock (`InProcessSite`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from zeep import Client
from zeep.transports import Transport

from sandbox.common.app import Request
from sandbox.credentials import TIMELOG_ACCOUNT, TIMELOG_PASSWORD, TIMELOG_USERNAME
from sandbox.timelog.app import TimeLogApp
from sandbox.timelog.options import SiteOptions

IN_PROCESS_BASE_URL = "http://timelog.in-process"
#: Current versions, as the tap and target use them.
CURRENT_VERSIONS = {"Security": "V1_2", "ProjectManagement": "V1_8", "Organisation": "V1_9"}
NS_TOKEN_ELSEWHERE = "http://www.timelog.com/api/tlp/v1_3"


def service_url(base_url: str, area: str, version: str | None = None, secure: bool = True) -> str:
    """E.g. `<base>/sandbox/WebServices/ProjectManagement/V1_8/ProjectManagementServiceSecure.svc`."""
    version = version or CURRENT_VERSIONS[area]
    name = {"Security": "SecurityService", "ProjectManagement": "ProjectManagementService",
            "Organisation": "OrganisationService"}[area]
    return f"{base_url}/{TIMELOG_ACCOUNT}/WebServices/{area}/{version}/{name}{'Secure' if secure else ''}.svc"


def reporting_url(base_url: str) -> str:
    return f"{base_url}/{TIMELOG_ACCOUNT}/service.asmx"


class InProcessTransport(Transport):
    """A zeep transport that calls `app.handle` directly."""

    def __init__(self, app: TimeLogApp) -> None:
        super().__init__()
        self.app = app

    def _serve(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        parts = urlsplit(url)
        raw_path = parts.path + (f"?{parts.query}" if parts.query else "")
        lowered = {k.lower(): v for k, v in headers.items()}
        lowered.setdefault("host", parts.netloc)
        answer = self.app.handle(Request(method, raw_path, lowered, body))
        response = requests.Response()
        response.status_code = answer.status
        response._content = answer.body
        response.headers.update(answer.headers)
        response.encoding = "utf-8"
        response.url = url
        return response

    def load(self, url: str) -> bytes:
        if url.startswith(IN_PROCESS_BASE_URL):
            return self._serve("GET", url, b"", {}).content
        return super().load(url)

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> requests.Response:
        body = message.encode("utf-8") if isinstance(message, str) else message
        return self._serve("POST", address, body, headers)


def in_process_client(app: TimeLogApp, area: str, version: str | None = None) -> Client:
    """A zeep client built from the simulator's own `?wsdl`, calling `app` in-process."""
    return Client(service_url(IN_PROCESS_BASE_URL, area, version) + "?wsdl", transport=InProcessTransport(app))


def get_token(security: Any, username: str = TIMELOG_USERNAME, password: str = TIMELOG_PASSWORD) -> Any:
    """SecurityService.GetToken through a zeep Client or service proxy; raises unless it is Success."""
    service = getattr(security, "service", security)
    response = service.GetToken(user=username, password=password)
    if response.ResponseState != "Success":
        texts = [m.Message for m in (response.Messages.APIMessage if response.Messages else [])]
        raise RuntimeError(f"GetToken failed: {response.ResponseState} {texts}")
    return response.Return.SecurityToken[0]


def retype_token(client: Client, token: Any) -> Any:
    """The v1_2 token from SecurityService as the v1_3 SecurityToken every other service expects."""
    token_type = client.get_type(f"{{{NS_TOKEN_ELSEWHERE}}}SecurityToken")
    return token_type(Initials=token.Initials, Expires=token.Expires, Hash=token.Hash)


# -- an in-process site with a settable clock, for rule tests ----------------------------------------------

NS_V1_7 = "http://www.timelog.com/api/tlp/v1_7"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"


#: Where an `InProcessSite` clock starts by default: noon of the demo's today (`demo.DEMO_TODAY`).
SITE_START = datetime(2026, 11, 20, 12, 0)


class Clock:
    """A settable site clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class InProcessSite:
    """A `TimeLogApp` on a `Clock`, with zeep clients from its own WSDL and a token for each service."""

    app: TimeLogApp
    clock: Clock
    pm: Client
    org: Client
    security: Client
    token: Any
    org_token: Any

    @classmethod
    def start(cls, data: dict, now: datetime, options: SiteOptions | None = None,
              token_ttl_seconds: float = 3600) -> InProcessSite:
        clock = Clock(now)
        app = TimeLogApp(data, token_ttl_seconds=token_ttl_seconds, clock=clock, options=options)
        security = in_process_client(app, "Security")
        pm = in_process_client(app, "ProjectManagement")
        org = in_process_client(app, "Organisation")
        token = get_token(security)
        return cls(app, clock, pm, org, security, retype_token(pm, token), retype_token(org, token))

    # work

    def work_unit(self, **fields: Any) -> Any:
        return self.pm.get_type(f"{{{NS_V1_7}}}WorkUnit")(**fields)

    def insert(self, *units: Any) -> Any:
        return self.pm.service.InsertWork(work={"WorkUnit": list(units)}, source=0, token=self.token)

    def update(self, *units: Any) -> Any:
        return self.pm.service.UpdateWork(work={"WorkUnit": list(units)}, source=0, token=self.token)

    def delete(self, *guids: str) -> Any:
        array = self.pm.get_type(f"{{{NS_ARRAYS}}}ArrayOfguid")
        return self.pm.service.DeleteWork(work=array(guid=list(guids)), source=0, token=self.token)

    def first_allocation(self) -> tuple[str, int, int]:
        """(initials, employee id, task id) of the first allocation."""
        store = self.app.store
        allocation = min(store.allocations.values(), key=lambda a: a.allocation_id)
        employee = store.employees[allocation.employee_id]
        return employee.initials, employee.employee_id, allocation.task_id

    def new_unit(self, minutes: int = 90, day: date = date(2026, 11, 19), **overrides: Any) -> Any:
        """A WorkUnit with every member InsertWork.cs marks required, on the first allocation."""
        initials, _, task_id = self.first_allocation()
        start = datetime.combine(day, datetime.min.time()).replace(hour=9)
        fields = {"GUID": str(uuid.uuid4()), "TaskID": task_id, "EmployeeInitials": initials,
                  "Duration": timedelta(minutes=minutes), "StartDateTime": start, "Description": "Møde <x> & \"y\""}
        return self.work_unit(**{**fields, **overrides})

    # tasks

    def task(self, **fields: Any) -> Any:
        """A Task with what CreateTask needs (as ExternalKeysOnProjectAndTasks.cs sets it), overridden by `fields`."""
        state = self.pm.get_type(f"{{{NS_V1_7}}}TaskState")(IsActive=True)
        valid = {"StartDate": datetime(2026, 11, 1), "EndDate": datetime(2027, 3, 31), "State": state}
        return self.pm.get_type(f"{{{NS_V1_7}}}Task")(**{**valid, **fields})

    def keys(self, *pairs: tuple[str, str]) -> dict:
        """An ArrayOfExternalSystemContext of (system name, external id) pairs."""
        context = self.pm.get_type("{http://api.timelog.com}ExternalSystemContext")
        return {"ExternalSystemContext": [context(SystemName=name, ExternalID=key) for name, key in pairs]}


def item_results(response: Any, kind: str = "WorkUnit") -> list[tuple[str, str | None]]:
    """(Status, Message) of every BatchContainerOf<kind> in a batch answer."""
    return [(c.Status, c.Message) for c in getattr(response.Return, f"BatchContainerOf{kind}")]
