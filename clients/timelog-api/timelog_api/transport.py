"""The HTTP side of the TimeLog client: a zeep Transport that keeps secrets out of logs, classifies statuses, loads
WSDLs only from the configured site and notes the server's clock; and the one retry policy of the client."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import backoff
import requests
from backoff.types import Details
from lxml import etree
from zeep.cache import SqliteCache
from zeep.transports import Transport

from http_clock import clock_offset, server_lag
from timelog_api.errors import MalformedResponseError, RetriableTransportError

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

WSDL_LOAD_TIMEOUT_SECONDS = 60
#: WSDLs change only when TimeLog releases a service version; a day keeps runs offline-safe and fresh enough.
WSDL_CACHE_SECONDS = 24 * 3600
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LOGIN_STATUSES = frozenset({401, 403})
#: Exponential backoff between attempts (full jitter): 0.5, 1, 2 ... seconds, capped.
BACKOFF_FACTOR_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30
#: A Retry-After above this is capped, so a bad header cannot stall a 15-minute schedule.
MAX_RETRY_AFTER_SECONDS = 120
#: What is retried: transport failures (connection, timeout, 429, 5xx) and answers that cannot be read.
RETRIED_ERRORS = (RetriableTransportError, MalformedResponseError)


def retrying(attempt: F, *, max_tries: int, on_backoff: Callable[[Details], None]) -> F:
    """`attempt` under the client's one retry policy: up to `max_tries` tries with exponential backoff.

    `on_backoff` says each retry once, without the secrets; the final error is the caller's to report.
    """
    return backoff.on_exception(
        backoff.expo, RETRIED_ERRORS, max_tries=max_tries, factor=BACKOFF_FACTOR_SECONDS,
        max_value=BACKOFF_MAX_SECONDS, on_backoff=on_backoff, logger=None,
    )(attempt)


def honour_retry_after(seconds: float | None) -> None:
    """Wait what a 429/503's Retry-After asks (capped), before the backoff's own wait."""
    if seconds:
        time.sleep(min(seconds, MAX_RETRY_AFTER_SECONDS))


def open_wsdl_cache(path: Path) -> SqliteCache | None:
    """The WSDL cache at `path`, or None (WSDLs then load from the server each run) where it cannot be used."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteCache(path=str(path), timeout=WSDL_CACHE_SECONDS)
    except OSError as exc:
        logger.warning("WSDL cache %s unusable (%s); loading WSDLs from the server each run", path, exc)
        return None


class HTTPStatusError(Exception):
    """Raised by the transport for statuses zeep would misreport; the client adds the operation."""

    def __init__(self, status_code: int, retry_after: str | None = None) -> None:
        self.status_code = status_code
        self.retry_after = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
        super().__init__(f"HTTP {status_code}")


class WrongValueTypes(logging.Filter):
    """zeep logs a value it cannot convert (text in an xs:int) with a traceback and goes on with None.

    Installed on zeep's logger, this swallows that log record and notes the problem for the running call,
    so `TimeLogClient` can fail the call as malformed instead of reading None (one list per thread).
    """

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        problems: list[str] | None = getattr(self._local, "problems", None)
        if problems is None or not record.exc_info:
            return True
        _, error, traceback = record.exc_info
        element = traceback.tb_frame.f_locals.get("xmlelement") if traceback is not None else None
        name = etree.QName(element).localname if isinstance(element, etree._Element) else "a value"
        problems.append(f"{name}: {error}")
        return False

    @contextmanager
    def collecting(self) -> Iterator[list[str]]:
        """The problems zeep logs while the block runs."""
        problems: list[str] = []
        self._local.problems = problems
        try:
            yield problems
        finally:
            self._local.problems = None


wrong_value_types = WrongValueTypes()
logging.getLogger("zeep.xsd.types.simple").addFilter(wrong_value_types)


class SafeTransport(Transport):
    """A zeep Transport that never logs a message body (GetToken echoes the password) and classifies statuses.

    It also notes how far the server's clock is behind ours (`server_lag`), from each answer's `Date` header,
    and loads WSDL parts only from the configured site (`on_site`).
    """

    def __init__(self, *, session: requests.Session, cache: SqliteCache | None, timeout: tuple[float, float],
                 site_url: str) -> None:
        # zeep's Transport is unannotated, and `untyped_calls_exclude` does not reach calls through super().
        super().__init__(  # type: ignore[no-untyped-call]
            cache=cache, timeout=WSDL_LOAD_TIMEOUT_SECONDS, operation_timeout=timeout, session=session
        )
        self.logger = logger
        self.server_lag = dt.timedelta(0)
        #: The server's clock minus ours at the last answer with a `Date` header (None before one).
        self.clock_offset: dt.timedelta | None = None
        self._site = urlsplit(site_url)

    def load(self, url: str) -> bytes:
        """A WSDL document or one of its imported parts, always from the configured site."""
        content: bytes = super().load(self.on_site(url))  # type: ignore[no-untyped-call]  # zeep: unannotated
        return content

    def on_site(self, url: str) -> str:
        """`url` moved onto the configured site, or an error when it points outside the account.

        WCF's `?wsdl` imports its parts (`?wsdl=wsdl0`, `?xsd=xsdN`) by absolute URL, written with the host the
        server believes it has (TimeLog's archived WSDLs name `app8.timelog.com/610patchreference`); behind a
        proxy that can be an internal name. Only the path and query are kept, and only under `/<account>/`: a
        WSDL can never make the client read another host or a local file.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.path.startswith(f"{self._site.path}/"):
            raise MalformedResponseError("WSDL", f"an import outside the TimeLog account: {url}")
        return urlunsplit((self._site.scheme, self._site.netloc, parts.path, parts.query, ""))

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> requests.Response:
        """POST without logging the body; 429/5xx without a SOAP Fault and 401/403 become `HTTPStatusError`."""
        response = self.session.post(address, data=message, headers=headers, timeout=self.operation_timeout)
        logger.debug("POST %s -> HTTP %d, %d bytes", address, response.status_code, len(response.content))
        offset = clock_offset(response.headers)
        if offset is not None:
            self.clock_offset = offset
            self.server_lag = max(self.server_lag, server_lag(offset))
        status = response.status_code
        if status in LOGIN_STATUSES or (status in RETRY_STATUSES and b"Fault" not in response.content[:4096]):
            raise HTTPStatusError(status, response.headers.get("Retry-After"))
        return response

