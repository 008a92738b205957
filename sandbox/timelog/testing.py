"""Helpers for tests that talk SOAP to the TimeLog simulator: service URLs, an in-process zeep transport, tokens.

`InProcessTransport` sends zeep's requests straight to a `TimeLogApp` (no server, no sockets), so rule tests
can drive the simulator through real zeep clients with a controllable clock.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from zeep import Client
from zeep.transports import Transport

from sandbox.common.app import Request
from sandbox.credentials import TIMELOG_ACCOUNT, TIMELOG_PASSWORD, TIMELOG_USERNAME
from sandbox.timelog.app import TimeLogApp

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
