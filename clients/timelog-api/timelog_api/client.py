"""The TimeLog SOAP client: one zeep Client per service, token reuse, bounded retries and typed errors.

The Transactional (WCF) calls and the token are here; the Reporting (ASMX) calls are in `reporting.py`, the HTTP
transport and the retry policy in `transport.py`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar, overload

import requests
import zeep
import zeep.exceptions
from backoff.types import Details
from lxml import etree
from zeep.loader import parse_xml
from zeep.proxy import ServiceProxy
from zeep.wsdl.bindings import Soap11Binding

from timelog_api import convert, responses, token
from timelog_api.errors import (
    MalformedResponseError,
    ReportingLoginError,
    RetriableTransportError,
    TimeLogApiError,
    TimeLogConfigError,
    TimeLogError,
    TokenExpiredError,
    TransactionalLoginError,
)
from timelog_api.reporting import UNREADABLE_ERRORS, Reader, ReportingCalls
from timelog_api.responses import FAILED_STATES, INFO_SEVERITY, SUCCESS, BatchItemResult
from timelog_api.services import EMPLOYEES_PAGE_SIZE, Service
from timelog_api.settings import TimeLogSettings, default_wsdl_cache_path
from timelog_api.transport import (
    LOGIN_STATUSES,
    RETRY_STATUSES,
    HTTPStatusError,
    SafeTransport,
    honour_retry_after,
    open_wsdl_cache,
    retrying,
    wrong_value_types,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

EXPIRED_MARKER = "expired"
NO_TOKEN_OPERATIONS = frozenset({"GetToken", "IsAlive"})
REDACTED = "***"


class TimeLogClient(ReportingCalls):
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
        self._cache = open_wsdl_cache(settings.wsdl_cache_path or default_wsdl_cache_path())
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
        self._token: dict[str, str] | None = None
        # Writer threads share one client: a WSDL is loaded and a token got once, whoever asks first.
        self._setup_lock = threading.RLock()
        self._token_refresh_at: dt.datetime | None = None
        self._task_items: list[dict[str, Any]] | None = None
        # One attempt = send + read the answer; both transport failures and unreadable answers are retried.
        self._attempt = retrying(self._attempt_once, max_tries=settings.max_tries, on_backoff=self._log_retry)

    # -- construction ----------------------------------------------------------------------------------------

    def url(self, service: Service) -> str:
        """The endpoint URL of a service."""
        return f"{self.settings.base_url}/{service.value}"

    def zeep_client(self, service: Service) -> zeep.Client:
        """The zeep Client of a service, loading its WSDL from the server itself (cached) on first use.

        `?wsdl` is what TimeLog documents and every WCF version serves (with its parts imported); `?singleWsdl`
        exists only from .NET 4.5 on, so it is not relied upon.
        """
        with self._setup_lock:
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

        return retrying(attempt, max_tries=self.settings.max_tries, on_backoff=self._log_retry)()

    def binding(self, service: Service) -> Soap11Binding:
        """The SOAP 1.1 binding of a service's WSDL (its operations and their parameters)."""
        binding: Soap11Binding = self._proxy(service)._binding
        return binding

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

    @overload
    def fetch(self, service: Service, operation: str, /, *, parse: Reader[T], **params: Any) -> list[T]: ...
    @overload
    def fetch(self, service: Service, operation: str, /, **params: Any) -> list[dict[str, Any]]: ...

    def fetch(self, service: Service, operation: str, /, *, parse: Reader[Any] = dict, **params: Any) -> list[Any]:
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
            with wrong_value_types.collecting() as wrong_values:
                answer = method(**params)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableTransportError(operation, type(exc).__name__) from None
        except HTTPStatusError as exc:
            if exc.status_code in LOGIN_STATUSES:
                raise self._login_error(service, f"HTTP {exc.status_code}") from None
            honour_retry_after(exc.retry_after)
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

    def _log_retry(self, details: Details) -> None:
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

    messages = staticmethod(responses.messages)
    items = staticmethod(responses.items)
    batch_results = staticmethod(responses.batch_results)

    @overload
    def paged(
        self, service: Service, operation: str, /, *, page_size: int, parse: Reader[T], first_page: int = 1,
        **params: Any,
    ) -> Iterator[T]: ...
    @overload
    def paged(
        self, service: Service, operation: str, /, *, page_size: int, first_page: int = 1, **params: Any,
    ) -> Iterator[dict[str, Any]]: ...

    def paged(
        self, service: Service, operation: str, /, *, page_size: int, parse: Reader[Any] = dict, first_page: int = 1,
        **params: Any,
    ) -> Iterator[Any]:
        """Every item of a Transactional `*Paged` operation, `parse`d, one page in memory at a time.

        Pages count from 1; `first_page` skips the pages before it. Paging stops at `TotalPageCount`, or at a
        short page, so no empty page is fetched.
        """
        page = first_page
        while True:
            def read(response: Any) -> tuple[list[Any], int | None]:
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
        with self._setup_lock:
            now = dt.datetime.now(dt.UTC)
            values = self._token
            if values is None or (self._token_refresh_at is not None and now >= self._token_refresh_at):
                values = self._refresh_token(now)
        token_type = self.zeep_client(service).get_type(f"{{{service.token_namespace}}}SecurityToken")
        return token_type(**values)

    def _refresh_token(self, now: dt.datetime) -> dict[str, str]:
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
        if expires is None:  # .NET's DateTime.MinValue
            raise MalformedResponseError("GetToken", "a SecurityToken without an expiry")
        self._token_refresh_at = token.refresh_at(expires, now)
        logger.debug("TimeLog token for %s valid until %s", values["Initials"], expires.isoformat())
        return values

    def _read_token(self, reply: requests.Response) -> dict[str, str]:
        try:
            # zeep annotates `content` as str, but parses bytes (what its own transport hands it)
            doc = parse_xml(reply.content, self._transport, settings=self._zeep_settings)  # type: ignore[arg-type]
        except (zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
            raise MalformedResponseError("GetToken", type(exc).__name__) from None
        try:
            return token.read_token(doc)
        except token.TokenRefusedError as exc:
            raise self._login_error(Service.SECURITY, self.redact(exc.detail)) from None

    @property
    def clock_offset(self) -> dt.timedelta | None:
        """The TimeLog server's clock minus ours, as of the last answer (None before one)."""
        return self._transport.clock_offset

    @property
    def token_expires(self) -> str:
        """The token's `Expires` exactly as TimeLog wrote it (with the site's UTC offset), getting a token if needed."""
        values = self._token if self._token is not None else self._refresh_token(dt.datetime.now(dt.UTC))
        return values["Expires"]

    @property
    def initials(self) -> str:
        """Initials of the logged-in Transactional user."""
        values = self._token if self._token is not None else self._refresh_token(dt.datetime.now(dt.UTC))
        return values["Initials"]

    def employee_guids(self) -> dict[int, str | None]:
        """EmployeeID -> employee GUID, from OrganisationService (the Reporting API has no employee GUID)."""
        pairs = self.paged(Service.ORGANISATION, "GetEmployeesPaged", page_size=EMPLOYEES_PAGE_SIZE,
                           parse=lambda e: (int(e["EmployeeID"]), convert.to_guid(e.get("ID"))))
        return dict(pairs)

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> TimeLogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def client_from_config(config: Mapping[str, Any], **kwargs: Any) -> TimeLogClient:
    """A client for a plugin config (the settings in `settings.CONNECTION_SETTINGS`)."""
    try:
        return TimeLogClient(TimeLogSettings.from_config(config), **kwargs)
    except TimeLogError:
        raise
    except TypeError as exc:  # an unexpected setting type
        raise TimeLogConfigError(f"invalid TimeLog settings: {exc}") from None
