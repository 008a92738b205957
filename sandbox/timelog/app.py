"""`TimeLogApp`: routes HTTP requests to the Transactional services and the Reporting API, and owns tokens.

URL layout (as on a real site, `<account>` = sandbox.credentials.TIMELOG_ACCOUNT):
  /<account>/WebServices/<Area>/V<x_y>/<Name>ServiceSecure.svc  (also <Name>Service.svc; ?wsdl, ?wsdl=wsdl0,
                                                                 ?xsd=xsdN, ?singleWsdl when the site has it)
  /<account>/service.asmx                                       (Reporting: SOAP 1.1, ?wsdl)
  /<account>/service.asmx/<Operation>                           (Reporting: HTTP POST, form-encoded)

Time: the simulated site's clock is UTC and its DateTimes carry no offset (WCF "unspecified" kind), except
the token's `Expires`, which carries the offset of the `site_timezone` option as on a real site.
"""

from __future__ import annotations

import base64
import html
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree

from sandbox.common.app import Request, Response, SimulatorApp
from sandbox.credentials import TIMELOG_ACCOUNT
from sandbox.timelog import reporting
from sandbox.timelog.contracts import SERVICES_BY_AREA, Operation, ServiceVersion
from sandbox.timelog.options import ADDITIONAL_TEXT_NOT_VALIDATED, ADDITIONAL_TEXT_TYPE_NONE, SiteOptions
from sandbox.timelog.reporting_wsdl import build_reporting_wsdl
from sandbox.timelog.soap import (
    NS_WCF_ADDRESSING_NONE,
    SOAP_CONTENT_TYPE,
    Codec,
    SoapFaultError,
    fault_envelope,
    parse_xml,
    soap_body_child,
    to_site_time,
)
from sandbox.timelog.store import Store, utc_now
from sandbox.timelog.transactional import ERROR, HANDLERS, INVALID, SUCCESS, Caller, Outcome
from sandbox.timelog.wsdl import wsdl_documents

DEFAULT_TOKEN_TTL_SECONDS = 12 * 3600
#: TimeLog's hashes are 88 base64 characters (64 random bytes).
TOKEN_HASH_BYTES = 64
TOKEN_ECHO = "Initials=[{0}], Expires=[{1}], Hash=[{2}]"
#: The SDK's ServiceHandler.cs default for MaxReceivedMessageSize, served in GetTimeRegistrationSettings.
MAX_RECEIVED_MESSAGE_SIZE = 4_096_000

_SERVICE_PATH = re.compile(
    r"^/(?P<account>[^/]+)/WebServices/(?P<area>\w+)/(?P<version>V\d+_\d+)/(?P<name>\w+?)Service(?:Secure)?\.svc$")
_REPORTING_PATH = re.compile(r"^/(?P<account>[^/]+)/service\.asmx(?:/(?P<operation>\w+))?$")
#: Query keys of WCF's metadata documents (`?wsdl`, `?wsdl=wsdl0`, `?xsd=xsd3`, `?singleWsdl`), any letter case.
_METADATA_QUERIES = ("wsdl", "xsd", "singlewsdl")
_NUMBER_ELEMENT = re.compile(rb"<((?:\w+:)?(?:TaskID|EmployeeID|ErrorCode|TotalPageCount|UserId|AllocationID))>"
                             rb"(-?\d+)<")
_NUMBER_ATTRIBUTE = re.compile(rb' ID="(\d+)"')
#: Elements the `missing_fields` fault removes (the first one found).
_REQUIRED_ELEMENTS = ("ResponseState", "WorkUnitGuid", "TaskGuid", "EmployeeID", "TaskID", "Return")


@dataclass
class IssuedToken:
    """A token handed out by GetToken (the Hash is its key)."""

    employee_id: int
    initials: str
    expires: datetime  # aware, UTC


@dataclass
class _Route:
    """What a request addresses: a service version (Transactional) or the Reporting API.

    `document` is the metadata document asked for by the query: `wsdl`, `wsdl=wsdl0`, `xsd=xsdN` or
    `singleWsdl` (None for an operation call).
    """

    version: ServiceVersion | None = None
    reporting_operation: str | None = None
    is_reporting: bool = False
    document: str | None = None

    @property
    def wsdl(self) -> bool:
        return self.document is not None


class TimeLogApp(SimulatorApp):
    """The TimeLog simulator."""

    name = "timelog"

    def __init__(self, data: dict, token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
                 clock: Callable[[], datetime] = utc_now, options: SiteOptions | None = None) -> None:
        super().__init__()
        self.token_ttl = timedelta(seconds=token_ttl_seconds)
        self.clock = clock
        #: The site's settings (`sandbox/timelog/options.py`), shared with the store; reset leaves them alone.
        self.options = options or SiteOptions()
        self.store = Store(data, clock, self.options)
        self.tokens: dict[str, IssuedToken] = {}
        self._codecs: dict[tuple[str, str], Codec] = {}

    # -- SimulatorApp ----------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        return self.store.snapshot()

    def reset(self, data: dict) -> None:
        self.store.load(data)

    def lock_period(self, spec: dict) -> dict:
        return self.store.lock(spec)

    def get_options(self) -> dict:
        return self.options.as_dict()

    def set_options(self, changes: dict) -> dict:
        return self.options.update(changes)

    def http_date_offset_seconds(self) -> float:
        return self.options.clock_offset_seconds

    def operation_of(self, request: Request) -> str:
        route = self._route(request)
        if route is None:
            return f"{request.method} {request.path}"
        if route.is_reporting:
            operation = route.reporting_operation or reporting.operation_from_action(request.headers.get("soapaction"))
            return f"Reporting.{'wsdl' if route.document == 'wsdl' else operation or 'unknown'}"
        assert route.version is not None
        if route.wsdl:
            return f"{route.version.name}.{'xsd' if route.document.startswith('xsd=') else 'wsdl'}"
        if request.method != "POST":
            return f"{route.version.name}.help"
        operation = route.version.operations_by_action.get(_action(request))
        return f"{route.version.name}.{operation.name if operation else 'unknown'}"

    def is_write(self, request: Request) -> bool:
        route = self._route(request)
        if route is None or route.version is None or route.wsdl:
            return False
        operation = route.version.operations_by_action.get(_action(request))
        return bool(operation and operation.writes)

    def handle(self, request: Request) -> Response:
        route = self._route(request)
        if route is None:
            return Response(404, f"No TimeLog service at {request.path}".encode(), {"Content-Type": "text/plain"})
        if route.is_reporting:
            if route.document == "wsdl":  # ASMX has `?wsdl` only
                return Response.xml(200, build_reporting_wsdl(_address(request), self._omitted("Reporting")))
            return reporting.handle(self, request, route.reporting_operation)
        assert route.version is not None
        if route.wsdl:
            document = self._metadata(route.version, route.document, _address(request))
            if document is not None:
                return Response.xml(200, document)
        if route.wsdl or request.method != "POST":
            # WCF answers a browser, and (before .NET 4.5's ?singleWsdl) any query it does not know, with its
            # HTML service help page, HTTP 200 (strict reading).
            return Response(200, _help_page(route.version, _address(request)),
                            {"Content-Type": "text/html; charset=UTF-8"})
        try:
            with self.lock:
                return self._call(route.version, request)
        except SoapFaultError as fault:
            return Response.xml(500, fault_envelope(fault))

    def malformed(self, response: Response, kind: str) -> Response:
        """Corrupt a good answer: cut it (truncated), put text in a number (wrong_types), drop a required element."""
        body = response.body
        if kind == "wrong_types":
            changed, count = _NUMBER_ELEMENT.subn(rb"<\1>not-a-number<", body, count=1)
            if not count:
                changed, count = _NUMBER_ATTRIBUTE.subn(b' ID="not-a-number"', body, count=1)
            return Response(response.status, changed, response.headers)
        if kind == "missing_fields":
            try:
                root = etree.fromstring(body)
            except etree.XMLSyntaxError:
                return super().malformed(response, kind)
            for local_name in _REQUIRED_ELEMENTS:
                found = root.xpath(f"//*[local-name()='{local_name}']")
                if found:
                    found[0].getparent().remove(found[0])
                    return Response(response.status, etree.tostring(root, encoding="utf-8"), response.headers)
            return super().malformed(response, kind)
        return super().malformed(response, kind)

    # -- routing ---------------------------------------------------------------------------------------

    def _route(self, request: Request) -> _Route | None:
        document = _metadata_query(request)
        match = _SERVICE_PATH.match(request.path)
        if match and match["account"] == TIMELOG_ACCOUNT:
            service = SERVICES_BY_AREA.get(match["area"])
            if service is None or f"{match['name']}Service" != service.name or match["version"] not in service.versions:
                return None
            return _Route(version=service.at(match["version"]), document=document)
        match = _REPORTING_PATH.match(request.path)
        if match and match["account"] == TIMELOG_ACCOUNT:
            return _Route(reporting_operation=match["operation"], is_reporting=True, document=document)
        return None

    def _omitted(self, service_name: str) -> tuple[str, ...]:
        """The operations of `service_name` the `wsdl_omit_operations` option leaves out of its WSDLs."""
        with self.lock:
            names = list(self.options.wsdl_omit_operations)
        return tuple(sorted(name.partition(".")[2] for name in names if name.partition(".")[0] == service_name))

    def _metadata(self, version: ServiceVersion, document: str, address: str) -> bytes | None:
        """The metadata document a query asks for, or None when the site does not serve it."""
        if document == "singleWsdl" and not self.options.single_wsdl:
            return None  # ?singleWsdl came with .NET 4.5; the `single_wsdl` option says whether the site has it
        return wsdl_documents(version, address, self._omitted(version.name)).documents.get(document)

    def codec(self, version: ServiceVersion) -> Codec:
        key = (version.name, version.version)
        if key not in self._codecs:
            self._codecs[key] = Codec(version)
        return self._codecs[key]

    # -- Transactional calls ---------------------------------------------------------------------------

    def _call(self, version: ServiceVersion, request: Request) -> Response:
        action = _action(request)
        operation = version.operations_by_action.get(action)
        if operation is None:
            raise SoapFaultError(
                f"The message with Action '{action}' cannot be processed at the receiver, due to a ContractFilter "
                "mismatch at the EndpointDispatcher. This may be because of either a contract mismatch (mismatched "
                "Actions between sender and receiver) or a binding/security mismatch between the sender and the "
                "receiver. Check that sender and receiver have the same contract and the same binding.",
                "a:ActionNotSupported", NS_WCF_ADDRESSING_NONE)
        codec = self.codec(version)
        params = codec.read_request(operation, soap_body_child(parse_xml(request.body)))
        started = self.clock()
        if operation.returns == "bool":  # IsAlive
            return Response(200, codec.response(operation, True), {"Content-Type": SOAP_CONTENT_TYPE})
        if version.name == "SecurityService":
            outcome = self._security(operation, params)
        else:
            caller = self._authenticate(params.get("token"))
            outcome = caller if isinstance(caller, Outcome) else HANDLERS[(version.name, operation.name)](
                self.store, caller, params)
        result = self._envelope(version, operation, params, outcome, started)
        return Response(200, codec.response(operation, result), {"Content-Type": SOAP_CONTENT_TYPE})

    def _envelope(self, version: ServiceVersion, operation: Operation, params: dict, outcome: Outcome,
                  started: datetime) -> dict:
        """ResponseOf<T>: Return, ReturnTypeDescription, Request echo, state, messages, paging.

        Members a service's contract lacks (SecurityService has no paging members) are simply not written.
        """
        item_type = operation.returns.removeprefix("BatchResponseOf").removeprefix("ResponseOf")
        description = (f"BatchContainer<{version.xml_name(item_type)}>" if operation.returns.startswith("Batch")
                       else version.xml_name(item_type))
        messages = [{"Message": text, "Severity": severity, "ErrorCode": code}
                    for text, severity, code in outcome.messages]
        if outcome.state == SUCCESS and version.service.paged_responses:
            messages.append({"Message": f"Successfully called TimeLog.API, {version.name} :: {description} "
                                        f"{operation.name}", "Severity": "Message", "ErrorCode": 0})
        seconds = (self.clock() - started).total_seconds()
        messages.append({"Message": f"Duration of call was {seconds:.7f} sec.".replace(".", ",", 1),
                         "Severity": "Message", "ErrorCode": 0})
        return {
            "Return": outcome.items, "ReturnTypeDescription": description,
            # Like the real API, every parameter is echoed, GetToken's password included: never log responses.
            "Request": {"Parameters": _echo(operation, params), "ServiceClass": version.name,
                        "MethodName": operation.name},
            "ResponseState": outcome.state, "Messages": messages, "ErrorCode": outcome.error_code,
            "IsReturnPaged": outcome.paged, "TotalPageCount": outcome.total_pages,
        }

    # -- SecurityService -------------------------------------------------------------------------------

    def _security(self, operation: Operation, params: dict) -> Outcome:
        if operation.name == "GetToken":
            return self._get_token(params.get("user") or "", params.get("password") or "")
        caller = self._authenticate(params.get("token"))
        if isinstance(caller, Outcome):
            return caller
        if operation.name == "GetTimeRegistrationSettings":
            return Outcome(items=[self._time_registration_settings()])
        employee = caller.employee
        return Outcome(items=[{"ID": employee.user_id, "Initials": employee.initials,
                               "FirstName": employee.first_name, "LastName": employee.last_name, "LanguageID": 1,
                               "Roles": list(self.options.api_user_roles)}])

    def _time_registration_settings(self) -> dict:
        """TimeRegistrationSettings: the additional text field from the site options (TimeLog.TLP.API.XML,
        GetTimeRegistrationSettings remarks), the rest plausible values for this simulated site."""
        options = self.options
        shown = (options.additional_text_validation != ADDITIONAL_TEXT_NOT_VALIDATED
                 or options.additional_text_type != ADDITIONAL_TEXT_TYPE_NONE)
        return {
            "UseCaseSensetiveLogin": False, "UseWBS": True, "UseTaskUniqueID": False, "CustomerSortByNo": False,
            "ProjectSortByNo": False, "FormatingLCID": 1030, "UseStartEndTime": False,
            "TimeTrackingShowCustomerNo": False, "TimeTrackingShowCustomerName": True,
            "TimeTrackingShowProjectNo": True, "TimeTrackingShowWBS": True, "TimeTrackingShowTaskID": False,
            # Time needs an allocation here (AddEmployeeToTask: "This enables the employee to track time").
            "AllowTimetrackingOnAllActiveProjects": False, "TimeTrackingAllowRegistrationOverlap": True,
            "ShowTimesheetAdditionalTextField": shown, "AdditionalTextFieldLabel": "Additional text" if shown else None,
            "AdditionalTextFieldValidation": options.additional_text_validation,
            "AdditionalTextFieldType": options.additional_text_type, "NumberOfTasksReturnedInTrackerSearch": 50,
            "LimitTrackerSearchToProjects": False, "MaxReceivedMessageSize": MAX_RECEIVED_MESSAGE_SIZE,
            "TrackerRequiredSpaceBeforeIncreaseStorage": 0, "TrackerIncreaseStorageQuota": 0,
        }

    def _get_token(self, login: str, password: str) -> Outcome:
        user = self.store.api_user(login) if login.strip() else None
        if user is None or not secrets.compare_digest(user.password.encode(), password.encode()):
            return Outcome.refused("Login failed: the user name or password is wrong")
        employee = self.store.employees.get(user.employee_id)
        if employee is None or not employee.is_active:
            return Outcome.refused(f"Login failed: user {login} has no active employee")
        now = self.clock().replace(tzinfo=UTC)
        self.tokens = {key: issued for key, issued in self.tokens.items() if issued.expires > now}
        token_hash = base64.b64encode(secrets.token_bytes(TOKEN_HASH_BYTES)).decode("ascii")
        issued = IssuedToken(employee.employee_id, employee.initials, now + self.token_ttl)
        self.tokens[token_hash] = issued
        # CAP-2015 (TryAuthenticate.txt): Expires carries the site's offset, e.g. +02:00.
        expires = issued.expires.astimezone(self.options.zone)
        return Outcome(items=[{"Initials": issued.initials, "Expires": expires, "Hash": token_hash}])

    def _authenticate(self, token: dict | None) -> Caller | Outcome:
        """The caller behind a token, or the non-Success answer TimeLog gives (its text says "expired")."""
        issued = self.tokens.get((token or {}).get("Hash") or "")
        if issued is None or (token or {}).get("Initials") != issued.initials:
            return Outcome.refused("The security token is invalid or has expired; request a new one with "
                                   "SecurityService.GetToken", state=ERROR)
        if self.clock().replace(tzinfo=UTC) >= issued.expires:
            return Outcome.refused(f"The security token expired at {issued.expires.isoformat()}; request a new "
                                   "one with SecurityService.GetToken", state=ERROR)
        employee = self.store.employees.get(issued.employee_id)
        if employee is None:
            return Outcome.refused("The token's employee no longer exists (the sandbox was reset); the token has "
                                   "expired", state=INVALID)
        return Caller(employee)


def _metadata_query(request: Request) -> str | None:
    """The metadata document a query asks for (`wsdl`, `wsdl=wsdl0`, `xsd=xsd3`, `singleWsdl`), or None."""
    for key, value in request.query.items():
        if key.lower() in _METADATA_QUERIES:
            if key.lower() == "singlewsdl":
                return "singleWsdl"
            return key.lower() + (f"={value}" if value else "")
    return None


def _help_page(version: ServiceVersion, address: str) -> bytes:
    """WCF's service help page (ServiceDebugBehavior.HttpHelpPageEnabled), in its shape: HTML, not XML."""
    name = html.escape(f"{version.name}Secure")
    url = html.escape(address)
    return (f'<HTML><HEAD><link rel="alternate" type="text/xml" href="{url}?disco"/><TITLE>{name} Service</TITLE>'
            f'</HEAD><BODY><DIV id="content"><P class="heading1">{name} Service</P><BR/><P class="intro">You have '
            "created a service.<P class='intro'>To test this service, you will need to create a client and use it "
            "to call the service. You can do this using the svcutil.exe tool from the command line with the "
            f'following syntax:</P> <BR/><PRE>svcutil.exe <A HREF="{url}?wsdl">{url}?wsdl</A></PRE></P></DIV>'
            "</BODY></HTML>").encode()


def _address(request: Request) -> str:
    """The endpoint URL the client used (the WSDL's port address), without the query."""
    return f"http://{request.headers.get('host', '127.0.0.1')}{request.path}"


def _action(request: Request) -> str:
    """The SOAPAction header, with or without its quotes."""
    return (request.headers.get("soapaction") or "").strip().strip('"')


def _echo_value(value: Any) -> str:
    if isinstance(value, datetime):
        return to_site_time(value).strftime("%d-%m-%Y %H:%M:%S")
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return " | ".join(f"{k}={_echo_value(v)}" for k, v in value.items()
                          if not isinstance(v, dict | list)) + " | "
    return "" if value is None else str(value)


def _echo(operation: Operation, params: dict) -> list[dict]:
    """`Request/Parameters` as TimeLog echoes them (objects flattened, token as a template)."""
    echoed = []
    for name, type_name in operation.params:
        value = params.get(name)
        if type_name == "SecurityToken":
            echoed.append({"Name": "SecurityToken", "Value": TOKEN_ECHO})
        elif isinstance(value, list):
            item_name = type_name.removesuffix("[]")
            echoed.extend({"Name": item_name if item_name != "Guid" else name, "Value": _echo_value(v)}
                          for v in value)
        else:
            echoed.append({"Name": name, "Value": _echo_value(value)})
    return echoed
