"""The TimeLog SOAP client: one zeep Client per service, token reuse, bounded retries and typed errors."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import backoff
import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.cache import SqliteCache
from zeep.helpers import serialize_object
from zeep.loader import parse_xml
from zeep.proxy import ServiceProxy
from zeep.transports import Transport
from zeep.wsdl.bindings import Soap11Binding

from timesync.timelog import convert, records
from timesync.timelog.errors import (
    MalformedResponseError,
    ReportingLoginError,
    RetriableTransportError,
    TimeLogApiError,
    TimeLogConfigError,
    TimeLogError,
    TokenExpiredError,
    TransactionalLoginError,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Turns an answer (or one item of it) into what the caller wants; raising ValueError/KeyError marks it malformed.
Reader = Callable[[Any], T]

CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 120
WSDL_LOAD_TIMEOUT_SECONDS = 60
#: WSDLs change only when TimeLog releases a service version; a day keeps runs offline-safe and fresh enough.
WSDL_CACHE_SECONDS = 24 * 3600
WSDL_CACHE_FILE = "timelog-wsdl.sqlite"
MAX_TRIES = 5
BACKOFF_FACTOR_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30
#: A Retry-After above this is capped, so a bad header cannot stall a 15-minute schedule.
MAX_RETRY_AFTER_SECONDS = 120
#: Refresh a token this long before it expires (TimeLog's SDK uses one minute) ...
TOKEN_REFRESH_MARGIN = dt.timedelta(minutes=1)
#: ... but never more than this share of its lifetime, so short-lived tokens are still reused.
TOKEN_REFRESH_MARGIN_SHARE = 0.1
#: The token type lives in this namespace in every service except SecurityService (which uses v1_2).
TOKEN_NAMESPACE = "http://www.timelog.com/api/tlp/v1_3"
SECURITY_TOKEN_NAMESPACE = "http://www.timelog.com/api/tlp/v1_2"
EXPIRED_MARKER = "expired"
TOKEN_FIELDS = ("Initials", "Expires", "Hash")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LOGIN_STATUSES = frozenset({401, 403})
SUCCESS = "Success"
FAILED_STATES = frozenset({"Invalid", "Error"})
INFO_SEVERITY = "Message"
NO_TOKEN_OPERATIONS = frozenset({"GetToken", "IsAlive"})
REPORTING_ERRORS_ROOT = "Errors"
REDACTED = "***"
#: What a `Reader` raises for an answer it cannot make sense of: the answer is malformed.
UNREADABLE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError)
#: OrganisationService.GetEmployeesPaged allows at most 100 per page.
EMPLOYEES_PAGE_SIZE = 100
#: Reporting status filters: -1 is "all" for employees, tasks and customers, but -2 for projects.
ALL_STATUS = -1
ALL_PROJECT_STATUS = -2
ALL_IDS = 0


class Service(StrEnum):
    """The TimeLog services this client talks to, and their path under `<domain>/<account>/`."""

    SECURITY = "WebServices/Security/V1_2/SecurityServiceSecure.svc"
    PROJECT_MANAGEMENT = "WebServices/ProjectManagement/V1_8/ProjectManagementServiceSecure.svc"
    ORGANISATION = "WebServices/Organisation/V1_9/OrganisationServiceSecure.svc"
    REPORTING = "service.asmx"

    @property
    def label(self) -> str:
        """The name TimeLog gives the service (`ProjectManagementService`, `Reporting`)."""
        return "Reporting" if self is Service.REPORTING else self.value.rsplit("/", 1)[-1].removesuffix("Secure.svc")

    @property
    def token_namespace(self) -> str:
        """Where this service's `SecurityToken` type lives (TimeLog's docs: v1_2 in SecurityService, else v1_3)."""
        return SECURITY_TOKEN_NAMESPACE if self is Service.SECURITY else TOKEN_NAMESPACE


def default_wsdl_cache_path() -> Path:
    """`$TIMESYNC_CACHE_DIR`, else `$XDG_CACHE_HOME/timesync`, else `~/.cache/timesync`, plus the cache file."""
    base = os.environ.get("TIMESYNC_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "timesync"
    )
    return Path(base) / WSDL_CACHE_FILE


@dataclass(frozen=True)
class TimeLogSettings:
    """Connection settings; built from a plugin config with `from_config`."""

    domain: str
    account: str
    username: str
    password: str = field(repr=False)
    site_code: str | None = field(default=None, repr=False)
    reporting_username: str | None = None
    reporting_password: str | None = field(default=None, repr=False)
    external_system_name: str = "Forecast"
    verify_tls: bool = True
    site_timezone: str = "UTC"
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    read_timeout: float = READ_TIMEOUT_SECONDS
    max_tries: int = MAX_TRIES
    wsdl_cache_path: Path | None = None

    REQUIRED = ("domain", "account", "username", "password")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TimeLogSettings:
        """Validate a plugin config; a missing setting is an error naming it."""
        missing = [name for name in cls.REQUIRED if not config.get(name)]
        if missing:
            raise TimeLogConfigError(f"TimeLog settings missing: {', '.join(missing)}")
        domain = str(config["domain"]).rstrip("/")
        if not domain.startswith(("https://", "http://")):
            raise TimeLogConfigError(f"domain must start with https:// (got {domain!r}), e.g. https://app1.timelog.com")
        known = {name: config[name] for name in cls.__dataclass_fields__ if config.get(name) is not None}
        try:
            convert.site_zone(known.get("site_timezone", "UTC"))
        except (KeyError, ValueError) as exc:
            raise TimeLogConfigError(f"site_timezone {known['site_timezone']!r} is not an IANA zone name") from exc
        if "wsdl_cache_path" in known:
            known["wsdl_cache_path"] = Path(known["wsdl_cache_path"])
        return cls(**{**known, "domain": domain, "account": str(config["account"]).strip("/")})

    @property
    def base_url(self) -> str:
        """`<domain>/<account>`."""
        return f"{self.domain}/{self.account}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line or an error message."""
        return tuple(s for s in (self.password, self.site_code, self.reporting_password) if s)

    @property
    def has_reporting(self) -> bool:
        """Whether the Reporting API credentials are all set."""
        return bool(self.site_code and self.reporting_username and self.reporting_password)


@dataclass(frozen=True)
class BatchItemResult:
    """One `BatchContainerOf<T>` of a batch write: the item as TimeLog returned it, its status and message."""

    item: dict[str, Any] | None
    status: str
    message: str | None

    @property
    def ok(self) -> bool:
        """Whether TimeLog accepted this item."""
        return self.status == SUCCESS


class _HTTPStatusError(Exception):
    """Raised by the transport for statuses zeep would misreport; the client adds the operation."""

    def __init__(self, status_code: int, retry_after: str | None = None) -> None:
        self.status_code = status_code
        self.retry_after = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
        super().__init__(f"HTTP {status_code}")


class _WrongValueTypes(logging.Filter):
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
        self._local.problems = problems = []
        try:
            yield problems
        finally:
            self._local.problems = None


_wrong_value_types = _WrongValueTypes()
logging.getLogger("zeep.xsd.types.simple").addFilter(_wrong_value_types)


class SafeTransport(Transport):
    """A zeep Transport that never logs a message body (GetToken echoes the password) and classifies statuses.

    It also notes how far the server's clock is behind ours (`server_lag`), from each answer's `Date` header,
    and loads WSDL parts only from the configured site (`on_site`).
    """

    def __init__(self, *, session: requests.Session, cache: SqliteCache | None, timeout: tuple[float, float],
                 site_url: str) -> None:
        super().__init__(cache=cache, timeout=WSDL_LOAD_TIMEOUT_SECONDS, operation_timeout=timeout, session=session)
        self.logger = logger
        self.server_lag = dt.timedelta(0)
        #: The server's clock minus ours at the last answer with a `Date` header (None before one).
        self.clock_offset: dt.timedelta | None = None
        self._site = urlsplit(site_url)

    def load(self, url: str) -> bytes:
        """A WSDL document or one of its imported parts, always from the configured site."""
        return super().load(self.on_site(url))

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
        """POST without logging the body; 429/5xx without a SOAP Fault and 401/403 become `_HTTPStatusError`."""
        response = self.session.post(address, data=message, headers=headers, timeout=self.operation_timeout)
        logger.debug("POST %s -> HTTP %d, %d bytes", address, response.status_code, len(response.content))
        offset = clock_offset(response)
        if offset is not None:
            self.clock_offset = offset
            self.server_lag = max(self.server_lag, -offset)
        status = response.status_code
        if status in LOGIN_STATUSES or (status in RETRY_STATUSES and b"Fault" not in response.content[:4096]):
            raise _HTTPStatusError(status, response.headers.get("Retry-After"))
        return response


def clock_offset(response: requests.Response) -> dt.timedelta | None:
    """The server's clock minus ours, from the answer's `Date` header (None without a usable one).

    `Date` is truncated to the second and stamped before the answer arrived, so a server behind us looks up to a
    second further behind: `server_lag` (its negation, floored at 0) errs on the safe side.
    """
    try:
        stamped = email.utils.parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        return None
    if stamped.tzinfo is None:
        return None
    return stamped - dt.datetime.now(dt.UTC)


class TimeLogClient:
    """TimeLog's Transactional (SOAP/WCF) and Reporting (ASMX) APIs behind one object, built once per run.

    `call(service, operation, **params)` adds the token, retries transport errors and 5xx with backoff,
    refreshes an expired token once, and raises a typed error for `ResponseState` Invalid/Error.
    """

    def __init__(
        self,
        settings: TimeLogSettings,
        *,
        session: requests.Session | None = None,
        plugins: Iterable[zeep.Plugin] = (),
    ) -> None:
        self.settings = settings
        self.site_tz = convert.site_zone(settings.site_timezone)
        self.session = session or requests.Session()
        self.session.verify = settings.verify_tls
        self.plugins = list(plugins)
        self._cache = self._open_cache()
        self._transport = SafeTransport(
            session=self.session, cache=self._cache, timeout=(settings.connect_timeout, settings.read_timeout),
            site_url=settings.base_url,
        )
        # No DTDs and no entities, ever. WSDL imports are followed (WCF's `?wsdl` is several documents), but only
        # on the configured site: `SafeTransport.on_site` checks every URL zeep loads.
        self._zeep_settings = zeep.Settings(
            strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=False
        )
        self._clients: dict[Service, zeep.Client] = {}
        self._proxies: dict[Service, ServiceProxy] = {}
        self._token: dict[str, Any] | None = None
        self._token_refresh_at: dt.datetime | None = None
        self._task_items: list[dict[str, Any]] | None = None
        # One attempt = send + read the answer; both transport failures and unreadable answers are retried.
        self._attempt = backoff.on_exception(
            backoff.expo,
            (RetriableTransportError, MalformedResponseError),
            max_tries=settings.max_tries,
            factor=BACKOFF_FACTOR_SECONDS,
            max_value=BACKOFF_MAX_SECONDS,
            on_backoff=self._log_retry,
            logger=None,  # `_log_retry` says it once, without the secrets; the final error is the caller's to report
        )(self._attempt_once)

    # -- construction ----------------------------------------------------------------------------------------

    def _open_cache(self) -> SqliteCache | None:
        path = self.settings.wsdl_cache_path or default_wsdl_cache_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return SqliteCache(path=str(path), timeout=WSDL_CACHE_SECONDS)
        except OSError as exc:
            logger.warning("WSDL cache %s unusable (%s); loading WSDLs from the server each run", path, exc)
            return None

    def url(self, service: Service) -> str:
        """The endpoint URL of a service."""
        return f"{self.settings.base_url}/{service.value}"

    def zeep_client(self, service: Service) -> zeep.Client:
        """The zeep Client of a service, loading its WSDL from the server itself (cached) on first use.

        `?wsdl` is what TimeLog documents and every WCF version serves (with its parts imported); `?singleWsdl`
        exists only from .NET 4.5 on, so it is not relied upon.
        """
        if service not in self._clients:
            client = self._load_wsdl(f"{self.url(service)}?wsdl")
            ports = [port for svc in client.wsdl.services.values() for port in svc.ports.values()]
            binding = next((p.binding for p in ports if isinstance(p.binding, Soap11Binding)), None)
            if binding is None:
                raise MalformedResponseError(f"{service.name} WSDL", "no SOAP 1.1 binding")
            # Bind to the configured URL, whatever address the WSDL advertises (proxies, http vs https).
            self._proxies[service] = ServiceProxy(client, binding, address=self.url(service))
            self._clients[service] = client
        return self._clients[service]

    def _load_wsdl(self, wsdl: str) -> zeep.Client:
        """Build a zeep Client, retrying transport failures; a 4xx means the domain or account is wrong."""
        def attempt() -> zeep.Client:
            try:
                return zeep.Client(wsdl, transport=self._transport, settings=self._zeep_settings, plugins=self.plugins)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise RetriableTransportError("WSDL", f"{type(exc).__name__} loading {wsdl}") from None
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status in RETRY_STATUSES:
                    raise RetriableTransportError("WSDL", f"HTTP {status} loading {wsdl}", status) from None
                raise TimeLogConfigError(
                    f"could not load the TimeLog WSDL {wsdl} (HTTP {status}); check the domain and account settings"
                ) from None
            except (zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
                raise MalformedResponseError("WSDL", f"{type(exc).__name__} in {wsdl}") from None

        return backoff.on_exception(
            backoff.expo, (RetriableTransportError, MalformedResponseError), max_tries=self.settings.max_tries,
            factor=BACKOFF_FACTOR_SECONDS, max_value=BACKOFF_MAX_SECONDS, on_backoff=self._log_retry, logger=None,
        )(attempt)()

    def binding(self, service: Service) -> Soap11Binding:
        """The SOAP 1.1 binding of a service's WSDL (its operations and their parameters)."""
        return self._proxy(service)._binding

    def _proxy(self, service: Service) -> ServiceProxy:
        self.zeep_client(service)
        return self._proxies[service]

    # -- the generic call ------------------------------------------------------------------------------------

    def call(self, service: Service, operation: str, /, **params: Any) -> Any:
        """Call a Transactional operation with the token added; return the checked `ResponseOf<T>` object.

        An "expired" answer refreshes the token once and retries. `ResponseState` Invalid/Error raises
        `TimeLogApiError` with TimeLog's message and ErrorCode.
        """
        return self._call(service, operation, params, lambda response: response)

    def batch(self, service: Service, operation: str, /, **params: Any) -> list[BatchItemResult]:
        """Call a batch write (InsertWork, UpdateWork, DeleteWork, CreateTask, AddEmployeeToTask, ...).

        Returns one `BatchItemResult` per item, also when some items were refused (TimeLog then answers
        `ResponseState` Invalid for the whole call). A refusal without per-item results (e.g. ErrorCode
        10002, empty initials) raises `TimeLogApiError` like `call`.
        """
        return self._call(service, operation, params, self.batch_results, check=self._check_batch)

    def _check_batch(self, operation: str, response: Any) -> Any:
        if getattr(response, "ResponseState", None) in FAILED_STATES and self.batch_results(response):
            return response
        return self.check(operation, response)

    def fetch(self, service: Service, operation: str, /, *, parse: Reader[T] = dict, **params: Any) -> list[T]:
        """`call`, returning the `Return` items, each `parse`d (inside the retry, so bad items are malformed)."""
        return self._call(service, operation, params, lambda response: [parse(i) for i in self.items(response)])

    def _call(
        self, service: Service, operation: str, params: dict[str, Any], read: Reader[T],
        check: Callable[[str, Any], Any] | None = None,
    ) -> T:
        """`call`, with `read` applied to the checked answer inside the retried attempt."""
        check = check or self.check
        if service is Service.REPORTING:
            raise TimeLogConfigError("use reporting() or reporting_paged() for the Reporting API")
        needs_token = operation not in NO_TOKEN_OPERATIONS
        for attempt in (1, 2):
            if needs_token:
                params["token"] = self._token_for(service)
            try:
                return self._attempt(service, operation, params, lambda r: read(check(operation, r)))
            except TokenExpiredError:
                if attempt == 2 or not needs_token:
                    raise
                logger.info("TimeLog token expired during %s; getting a new one", operation)
                self._token = None
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt_once(self, service: Service, operation: str, params: dict[str, Any], read: Reader[T]) -> T:
        """Send once and read the answer; an answer `read` cannot make sense of is malformed."""
        answer = self._send_once(service, operation, params)
        try:
            return read(answer)
        except UNREADABLE_ERRORS as exc:
            raise MalformedResponseError(operation, f"{type(exc).__name__}: {self.redact(str(exc))}") from None

    def _send_once(self, service: Service, operation: str, params: dict[str, Any]) -> Any:
        proxy = self._proxy(service)
        try:
            method = getattr(proxy, operation)
        except AttributeError:
            raise TimeLogConfigError(f"TimeLog {service.name} has no operation {operation!r}") from None
        try:
            with _wrong_value_types.collecting() as wrong_values:
                answer = method(**params)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableTransportError(operation, type(exc).__name__) from None
        except _HTTPStatusError as exc:
            if exc.status_code in LOGIN_STATUSES:
                raise self._login_error(service, f"HTTP {exc.status_code}") from None
            if exc.retry_after:  # honour the server's Retry-After (429/503) before the backoff's own wait
                time.sleep(min(exc.retry_after, MAX_RETRY_AFTER_SECONDS))
            raise RetriableTransportError(operation, f"HTTP {exc.status_code}", exc.status_code) from None
        except zeep.exceptions.Fault as exc:
            message = self.redact(str(exc.message))
            error = TokenExpiredError if EXPIRED_MARKER in message.lower() else TimeLogApiError
            raise error(operation, "Fault", message) from None
        except zeep.exceptions.TransportError as exc:
            # zeep's message embeds the raw body (which may echo a password): report only its kind.
            if exc.status_code in RETRY_STATUSES:
                raise RetriableTransportError(operation, f"HTTP {exc.status_code}", exc.status_code) from None
            raise MalformedResponseError(operation, f"HTTP {exc.status_code}, not a SOAP envelope") from None
        except (zeep.exceptions.Error, etree.XMLSyntaxError) as exc:  # bad XML, a DTD or entities, wrong types
            raise MalformedResponseError(operation, type(exc).__name__) from None
        except (ValueError, TypeError, AttributeError) as exc:
            raise MalformedResponseError(operation, f"{type(exc).__name__} while reading the answer") from None
        if wrong_values:
            detail = f"a value of the wrong type: {'; '.join(wrong_values)}"
            raise MalformedResponseError(operation, self.redact(detail))
        return answer

    def _log_retry(self, details: dict[str, Any]) -> None:
        logger.warning(
            "%s; retry %d of %d in %.1fs",
            self.redact(str(details.get("exception"))), details["tries"], self.settings.max_tries - 1, details["wait"],
        )

    def check(self, operation: str, response: Any) -> Any:
        """Raise for `ResponseState` Invalid/Error; informational (Severity=Message) messages are not errors."""
        if response is None:
            raise MalformedResponseError(operation, "empty answer")
        if not hasattr(response, "ResponseState"):
            return response  # not a ResponseOf<T> (e.g. IsAlive)
        state = response.ResponseState
        if state is None:
            raise MalformedResponseError(operation, "no ResponseState")
        if state == SUCCESS:
            return response
        messages = self.messages(response)
        problems = [m for m in messages if m.get("Severity") != INFO_SEVERITY] or messages
        text = "; ".join(self.redact(str(m.get("Message") or "")) for m in problems) or "no message"
        code = getattr(response, "ErrorCode", None) or next(
            (m.get("ErrorCode") for m in problems if m.get("ErrorCode")), None
        )
        if EXPIRED_MARKER in text.lower():
            raise TokenExpiredError(operation, str(state), text, code)
        raise TimeLogApiError(operation, str(state), text, code)

    def redact(self, text: str) -> str:
        """Replace every configured secret, and the token's hash (a bearer credential), in a text."""
        token_hash = (self._token or {}).get("Hash")
        for secret in (*self.settings.secrets, *([token_hash] if token_hash else [])):
            text = text.replace(secret, REDACTED)
        return text

    def _login_error(self, service: Service, detail: str) -> Exception:
        s = self.settings
        if service is Service.REPORTING:
            return ReportingLoginError(
                f"Reporting login failed at {self.url(service)} ({detail}): check site_code, "
                f"reporting_username ({s.reporting_username!r}) and reporting_password"
            )
        return TransactionalLoginError(
            f"Transactional login failed for user {s.username!r} at {self.url(Service.SECURITY)} ({detail}): "
            "check username and password"
        )

    # -- results ---------------------------------------------------------------------------------------------

    @staticmethod
    def messages(response: Any) -> list[dict[str, Any]]:
        """The `APIMessage` entries of a response as dicts (Message, Severity, ErrorCode)."""
        wrapper = getattr(response, "Messages", None)
        return [serialize_object(m, dict) for m in (getattr(wrapper, "APIMessage", None) or [])]

    @staticmethod
    def items(response: Any) -> list[dict[str, Any]]:
        """The items of `Return` (always an array in TimeLog) as plain dicts."""
        array = getattr(response, "Return", None)
        if array is None:
            return []
        values = serialize_object(array, dict)
        if isinstance(values, list):
            return values
        return next((v for v in values.values() if isinstance(v, list)), [])

    @classmethod
    def batch_results(cls, response: Any) -> list[BatchItemResult]:
        """The per-item `BatchContainerOf<T>` results of a batch write (InsertWork, CreateTask, ...)."""
        return [
            BatchItemResult(item=c.get("Item"), status=str(c.get("Status")), message=c.get("Message"))
            for c in cls.items(response)
        ]

    def paged(
        self, service: Service, operation: str, /, *, page_size: int, parse: Reader[T] = dict, first_page: int = 1,
        **params: Any,
    ) -> Iterator[T]:
        """Every item of a Transactional `*Paged` operation, `parse`d, one page in memory at a time.

        Pages count from 1; `first_page` skips the pages before it. Paging stops at `TotalPageCount`, or at a
        short page, so no empty page is fetched.
        """
        page = first_page
        while True:
            def read(response: Any) -> tuple[list[T], int | None]:
                total = response.TotalPageCount if getattr(response, "IsReturnPaged", False) else None
                return [parse(item) for item in self.items(response)], total

            items, total = self._call(service, operation, {**params, "page": page, "pageSize": page_size}, read)
            yield from items
            if len(items) < page_size or (total and page >= total):
                return
            page += 1

    def count(self, service: Service, operation: str, /, **params: Any) -> int | None:
        """How many items a Transactional `*Paged` operation holds, in one call (pages of one item); None if the
        answer does not say (no `IsReturnPaged`)."""
        def read(response: Any) -> int | None:
            if not getattr(response, "IsReturnPaged", False) or response.TotalPageCount is None:
                return None
            return int(response.TotalPageCount) if self.items(response) else 0

        return self._call(service, operation, {**params, "page": 1, "pageSize": 1}, read)

    @property
    def server_lag(self) -> dt.timedelta:
        """How far the TimeLog server's clock may be behind ours, at most (from the answers so far)."""
        return self._transport.server_lag

    # -- token -----------------------------------------------------------------------------------------------

    def _token_for(self, service: Service) -> Any:
        now = dt.datetime.now(dt.UTC)
        if self._token is None or (self._token_refresh_at is not None and now >= self._token_refresh_at):
            self._refresh_token(now)
        token_type = self.zeep_client(service).get_type(f"{{{service.token_namespace}}}SecurityToken")
        return token_type(**self._token)

    def _refresh_token(self, now: dt.datetime) -> None:
        """GetToken, read raw: the token's `Expires` text must go back to TimeLog exactly as it came.

        (zeep would parse it into a datetime and drop the 7th fraction digit .NET writes.) The answer
        echoes the password, so nothing of it is logged or put into an error but its messages.
        """
        client = self.zeep_client(Service.SECURITY)
        credentials = {"user": self.settings.username, "password": self.settings.password}
        with client.settings(raw_response=True):
            values = self._attempt(Service.SECURITY, "GetToken", credentials, self._read_token)
        self._token = values
        expires = convert.parse_datetime(values["Expires"], self.site_tz)
        lifetime = max(expires - now, dt.timedelta(0))
        self._token_refresh_at = expires - min(TOKEN_REFRESH_MARGIN, lifetime * TOKEN_REFRESH_MARGIN_SHARE)
        logger.debug("TimeLog token for %s valid until %s", values["Initials"], expires.isoformat())

    def _read_token(self, reply: requests.Response) -> dict[str, str]:
        try:
            doc = parse_xml(reply.content, self._transport, settings=self._zeep_settings)
        except (zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
            raise MalformedResponseError("GetToken", type(exc).__name__) from None
        fault = doc.find(".//{*}Fault/faultstring")
        state = doc.findtext(".//{*}ResponseState")
        if fault is not None or state in FAILED_STATES:
            messages = [
                (m.findtext("{*}Message") or "") for m in doc.iterfind(".//{*}APIMessage")
                if m.findtext("{*}Severity") != INFO_SEVERITY
            ]
            detail = self.redact("; ".join(messages) or (fault.text if fault is not None else f"state {state}"))
            raise self._login_error(Service.SECURITY, detail)
        token = doc.find(".//{*}SecurityToken")
        values = {name: token.findtext(f"{{*}}{name}") if token is not None else None for name in TOKEN_FIELDS}
        if state != SUCCESS or not all(values.values()):
            raise MalformedResponseError("GetToken", "no ResponseState Success with a SecurityToken")
        return values

    @property
    def clock_offset(self) -> dt.timedelta | None:
        """The TimeLog server's clock minus ours, as of the last answer (None before one)."""
        return self._transport.clock_offset

    @property
    def token_expires(self) -> str:
        """The token's `Expires` exactly as TimeLog wrote it (with the site's UTC offset), getting a token if needed."""
        if self._token is None:
            self._refresh_token(dt.datetime.now(dt.UTC))
        return self._token["Expires"]

    @property
    def initials(self) -> str:
        """Initials of the logged-in Transactional user."""
        if self._token is None:
            self._refresh_token(dt.datetime.now(dt.UTC))
        return self._token["Initials"]

    # -- Reporting API ---------------------------------------------------------------------------------------

    def _reporting_credentials(self) -> dict[str, str]:
        s = self.settings
        if not s.has_reporting:
            raise TimeLogConfigError(
                "the Reporting API needs site_code, reporting_username and reporting_password (TimeLog: System "
                "administration > Integrations and API > Reporting API)"
            )
        return {"siteCode": s.site_code, "apiID": s.reporting_username, "apiPassword": s.reporting_password}

    def _reporting_root(self, operation: str, result: Any) -> etree._Element:
        """The `tlp:` result document of a Reporting answer; a `tlp:Errors` document raises."""
        root = result
        if not isinstance(root, etree._Element):
            value = getattr(result, "_value_1", None)
            candidates = value if isinstance(value, list) else [value]
            root = next((v for v in candidates if isinstance(v, etree._Element)), None)
        if root is None:
            raise MalformedResponseError(operation, "no XML document in the result")
        if etree.QName(root).localname == REPORTING_ERRORS_ROOT:
            text = self.redact(" ".join(t.strip() for t in root.itertext() if t.strip()))
            if "access denied" in text.lower() or "credential" in text.lower():
                raise self._login_error(Service.REPORTING, text)
            raise TimeLogApiError(operation, "Error", text)
        return root

    def _reporting(self, operation: str, params: dict[str, Any], read: Reader[T]) -> T:
        params = {**self._reporting_credentials(), **params}
        return self._attempt(Service.REPORTING, operation, params,
                             lambda result: read(self._reporting_root(operation, result)))

    def reporting(self, operation: str, /, *, parse: Reader[T] = dict, **params: Any) -> list[T]:
        """The items of an unpaged Reporting operation; `parse` gets each as a flat dict (see `element_to_dict`)."""
        return self._reporting(operation, params, lambda root: [parse(element_to_dict(i)) for i in _items(root)])

    def reporting_paged(
        self, operation: str, /, *, page_size: int, parse: Reader[T] = dict, **params: Any
    ) -> Iterator[T]:
        """Every item of a paged Reporting operation (`page`/`pageSize`, root `TotalPages`), page by page."""
        page = 1
        while True:
            def read(root: etree._Element) -> tuple[list[T], int | None]:
                return [parse(element_to_dict(i)) for i in _items(root)], convert.to_int(root.get("TotalPages"))

            items, total = self._reporting(operation, {**params, "page": str(page), "pageSize": str(page_size)}, read)
            yield from items
            if len(items) < page_size or (total is not None and page >= total):
                return
            page += 1

    # -- conveniences used by the timesync CLI and the tap ----------------------------------------------------

    def employee_guids(self) -> dict[int, str | None]:
        """EmployeeID -> employee GUID, from OrganisationService (the Reporting API has no employee GUID)."""
        pairs = self.paged(Service.ORGANISATION, "GetEmployeesPaged", page_size=EMPLOYEES_PAGE_SIZE,
                           parse=lambda e: (int(e["EmployeeID"]), convert.to_guid(e.get("ID"))))
        return dict(pairs)

    def employees(self) -> list[dict[str, Any]]:
        """Every employee as an `employees` record (docs/streams.md)."""
        guids = self.employee_guids()
        return self.reporting(
            "GetEmployeesRaw", employeeID=ALL_IDS, initials="", departmentID=ALL_IDS, status=ALL_STATUS,
            parse=lambda item: records.employee_record(item, guids.get(int(item["ID"]))),
        )

    def projects(self) -> list[dict[str, Any]]:
        """Every project as a `projects` record (docs/streams.md)."""
        return self.reporting(
            "GetProjectsRaw", projectID=ALL_IDS, status=ALL_PROJECT_STATUS, customerID=ALL_IDS,
            projectManagerID=ALL_IDS, parse=lambda item: records.project_record(item, self.site_tz),
        )

    def tasks(self, parse: Reader[T] = dict) -> list[T]:
        """Every task (all levels, every status) from Reporting GetTasksRaw, each `parse`d.

        Read once per client: the tap's `tasks` stream and `task_guids` share one call (tasks this client
        creates later are not in it).
        """
        if self._task_items is not None:
            try:
                return [parse(item) for item in self._task_items]
            except UNREADABLE_ERRORS as exc:
                raise MalformedResponseError("GetTasksRaw", f"{type(exc).__name__}: {self.redact(str(exc))}") from None
        pairs = self.reporting("GetTasksRaw", taskID=ALL_IDS, projectID=ALL_IDS, status=ALL_STATUS, taskTypeID=ALL_IDS,
                               parse=lambda item: (item, parse(item)))
        self._task_items = [item for item, _ in pairs]
        return [parsed for _, parsed in pairs]

    def task_guids(self) -> dict[int, str | None]:
        """TaskID -> task GUID (the Reporting work rows carry only TaskID)."""
        return dict(self.tasks(parse=lambda item: (int(item["ID"]), convert.to_guid(item["GUID"]))))

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> TimeLogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _items(root: etree._Element) -> list[etree._Element]:
    return [item for item in root if isinstance(item.tag, str)]


def element_to_dict(element: etree._Element) -> dict[str, str | None]:
    """A flat Reporting item: its attributes, then each child element's text, keyed by local name."""
    record: dict[str, str | None] = dict(element.attrib)
    for child in element:
        if isinstance(child.tag, str):
            record[etree.QName(child).localname] = child.text
    return record


def client_from_config(config: Mapping[str, Any], **kwargs: Any) -> TimeLogClient:
    """A client for a plugin config (the settings in `timesync.settings.TIMELOG_CONNECTION_SETTINGS`)."""
    try:
        return TimeLogClient(TimeLogSettings.from_config(config), **kwargs)
    except TimeLogError:
        raise
    except TypeError as exc:  # an unexpected setting type
        raise TimeLogConfigError(f"invalid TimeLog settings: {exc}") from None
