"""The request/response types and the interface each simulator implements."""

from __future__ import annotations

import abc
import json
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    """One HTTP request as a simulator sees it."""

    method: str
    raw_path: str
    headers: dict[str, str]  # header names lower-cased
    body: bytes = b""

    @property
    def path(self) -> str:
        """The path without the query string."""
        return urlsplit(self.raw_path).path

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; the last value wins. Keys keep their case."""
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.raw_path).query, keep_blank_values=True).items()}

    @property
    def raw_query(self) -> str:
        """The query string as sent."""
        return urlsplit(self.raw_path).query

    def json(self) -> object:
        """The body parsed as JSON (raises ValueError when it is not JSON)."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    """One HTTP response."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
        """A JSON response."""
        return cls(
            status,
            json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def xml(cls, status: int, body: bytes | str, content_type: str = "text/xml; charset=utf-8") -> Response:
        """An XML response."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return cls(status, data, {"Content-Type": content_type})


class SimulatorApp(abc.ABC):
    """What a simulator (Forecast or TimeLog) implements; the server adds control, faults and stats.

    Implementations keep all data in memory and guard it with `self.lock`.
    """

    #: Shown in logs and in `/_sandbox/stats`.
    name: str = "simulator"

    def __init__(self) -> None:
        self.lock = threading.RLock()

    @abc.abstractmethod
    def handle(self, request: Request) -> Response:
        """Serve one API request (control routes never reach this)."""

    @abc.abstractmethod
    def operation_of(self, request: Request) -> str:
        """The stats key of a request: `GET /api/v4/time_registrations` or a SOAP operation name."""

    @abc.abstractmethod
    def is_write(self, request: Request) -> bool:
        """Whether the request changes data (counted separately in stats)."""

    @abc.abstractmethod
    def snapshot(self) -> dict:
        """Every entity as JSON-able data (the shape `reset` accepts)."""

    @abc.abstractmethod
    def reset(self, data: dict) -> None:
        """Replace all data with `data`, in the shape `snapshot` returns."""

    @abc.abstractmethod
    def lock_period(self, spec: dict) -> dict:
        """Close a period or approve entries so that later writes to them fail like the real API."""

    def get_options(self) -> dict | None:
        """The simulator's options (`GET /_sandbox/options`); None when it has none (the route answers 404)."""
        return None

    def set_options(self, changes: dict) -> dict | None:
        """Change some options (`POST /_sandbox/options`) and return all of them; None when there are none.
        Raise ValueError naming unknown options or bad values."""
        return None

    def http_date_offset_seconds(self) -> float:
        """Seconds added to the HTTP `Date` header of every answer, to simulate a server clock that is off."""
        return 0.0

    def malformed(self, response: Response, kind: str) -> Response:
        """Corrupt a successful body for a `malformed` fault. The default truncates it."""
        return Response(response.status, response.body[: max(1, len(response.body) // 2)], response.headers)
