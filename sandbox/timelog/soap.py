"""SOAP 1.1 plumbing driven by `contracts`: hardened parsing, request decoding, response encoding, faults.

Python values on our side of the codec: a data contract is a dict keyed by member name (missing members are
written as WCF writes unset members: the type's default for value types, `i:nil="true"` otherwise; members a
request leaves out are read as their type's default, as WCF reads them), arrays
are lists, Guid is a str, DateTime is a naive datetime (site-local time, see `app.py`), TimeSpan is a
timedelta, base64 is bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lxml import etree

from sandbox.timelog.contracts import (
    NS_ARRAYS,
    NS_XSI,
    PRIMITIVES,
    XML_ELEMENT,
    DataContract,
    Enumeration,
    Operation,
    ServiceVersion,
)

NS_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS_WCF_ADDRESSING_NONE = "http://schemas.microsoft.com/ws/2005/05/addressing/none"
XSI_NIL = f"{{{NS_XSI}}}nil"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
#: .NET's DateTime.MinValue, what WCF writes for an unset DateTime member.
MIN_DATETIME = datetime(1, 1, 1)
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"

_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_FRACTION = re.compile(r"(\.\d{6})\d+")

# Client XML is untrusted: no entity expansion, no DTD loading, no network access.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_blank_text=True)


class SoapFaultError(Exception):
    """A request the server answers with a SOAP fault (HTTP 500), like WCF does before calling the operation."""

    def __init__(self, message: str, code: str = "s:Client", code_namespace: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.code_namespace = code_namespace


def parse_xml(body: bytes) -> etree._Element:
    """Parse untrusted XML; any DOCTYPE (the door to XXE and entity bombs) is refused outright."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise SoapFaultError("DTDs are not allowed in SOAP messages; remove the DOCTYPE declaration.")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapFaultError(f"The request is not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise SoapFaultError("DTDs are not allowed in SOAP messages; remove the DOCTYPE declaration.")
    return root


def soap_body_child(root: etree._Element) -> etree._Element:
    """The one element inside `Envelope/Body` (headers, e.g. zeep's WS-Addressing ones, are ignored)."""
    if root.tag != f"{{{NS_SOAP_ENV}}}Envelope":
        raise SoapFaultError(f"Expected a SOAP 1.1 Envelope ({NS_SOAP_ENV}), got {root.tag}.", "s:VersionMismatch")
    body = root.find(f"{{{NS_SOAP_ENV}}}Body")
    children = list(body) if body is not None else []
    if len(children) != 1:
        raise SoapFaultError("The SOAP Body must contain exactly one element.")
    return children[0]


def envelope(content: etree._Element | None = None) -> bytes:
    """A SOAP 1.1 envelope around `content`."""
    env = etree.Element(f"{{{NS_SOAP_ENV}}}Envelope", nsmap={"s": NS_SOAP_ENV})
    etree.SubElement(env, f"{{{NS_SOAP_ENV}}}Header")
    body = etree.SubElement(env, f"{{{NS_SOAP_ENV}}}Body")
    if content is not None:
        body.append(content)
    return etree.tostring(env, xml_declaration=False, encoding="utf-8")


def fault_envelope(fault: SoapFaultError) -> bytes:
    """The envelope WCF sends for a fault."""
    env = etree.Element(f"{{{NS_SOAP_ENV}}}Envelope", nsmap={"s": NS_SOAP_ENV})
    body = etree.SubElement(env, f"{{{NS_SOAP_ENV}}}Body")
    node = etree.SubElement(body, f"{{{NS_SOAP_ENV}}}Fault")
    code = etree.SubElement(node, "faultcode", nsmap={"a": fault.code_namespace} if fault.code_namespace else None)
    code.text = fault.code
    text = etree.SubElement(node, "faultstring")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    text.text = fault.message
    return etree.tostring(env, encoding="utf-8")


# -- primitive values ----------------------------------------------------------------------------------


def format_duration(value: timedelta) -> str:
    """xs:duration as WCF writes a TimeSpan, e.g. PT1H30M, PT0S, P1DT2H."""
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P" + (f"{days}D" if days else "")
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    if time_part or not days:
        text += "T" + (time_part or "0S")
    return text


def parse_duration(text: str) -> timedelta:
    """xs:duration (days and time only, as TimeSpan allows) → timedelta."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT", "-P"):
        raise ValueError(f"{text!r} is not an xs:duration such as PT1H30M")
    negative, days, hours, minutes, seconds = match.groups()
    value = timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                      seconds=float(seconds or 0))
    return -value if negative else value


def format_datetime(value: datetime | date) -> str:
    """xs:dateTime without offset for naive values (WCF's unspecified kind), with offset for aware ones."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.isoformat()


def parse_datetime(text: str) -> datetime:
    """xs:dateTime (up to 7 fraction digits, optional Z/offset) → datetime; offsets are kept."""
    cleaned = _FRACTION.sub(r"\1", text.strip())
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    if "T" not in cleaned:
        cleaned += "T00:00:00"
    return datetime.fromisoformat(cleaned)


def to_site_time(value: datetime) -> datetime:
    """An aware datetime converted to the site's clock (UTC here), naive; naive values pass unchanged."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _format_double(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _format_primitive(type_name: str, value: Any) -> str:
    if type_name == "bool":
        return "true" if value else "false"
    if type_name in ("int", "long"):
        return str(int(value))
    if type_name == "double":
        return _format_double(value)
    if type_name == "DateTime":
        return format_datetime(value)
    if type_name in ("TimeSpan", "TimeSpan?"):
        return format_duration(value)
    if type_name == "Guid":
        return str(value)
    if type_name == "base64":
        return base64.b64encode(value).decode("ascii")
    return str(value)


_DEFAULTS: dict[str, Any] = {
    "int": 0, "long": 0, "bool": False, "double": 0.0, "DateTime": MIN_DATETIME, "Guid": EMPTY_GUID,
    "TimeSpan": timedelta(0),
}


def _parse_primitive(type_name: str, text: str) -> Any:
    text = text.strip() if type_name != "string" else text
    if type_name in ("int", "long"):
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"{text!r} is not an integer")
        return int(text)
    if type_name == "bool":
        if text not in ("true", "false", "1", "0"):
            raise ValueError(f"{text!r} is not a boolean (true/false)")
        return text in ("true", "1")
    if type_name == "double":
        return float(text)
    if type_name == "DateTime":
        return parse_datetime(text)
    if type_name in ("TimeSpan", "TimeSpan?"):
        return parse_duration(text)
    if type_name == "Guid":
        return str(uuid.UUID(text))
    if type_name == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64: {exc}") from exc
    return text


# -- the codec -----------------------------------------------------------------------------------------


def _array_item(version: ServiceVersion, item_type: str) -> tuple[str, str]:
    """(namespace, element name) of one array item, e.g. WorkUnit items or Arrays:guid."""
    if item_type in PRIMITIVES:
        return NS_ARRAYS, PRIMITIVES[item_type][1]
    resolved = version.lookup(item_type)
    return resolved.namespace, resolved.name


class Codec:
    """Reads requests and writes responses of one service version, member by member from the contracts."""

    def __init__(self, version: ServiceVersion) -> None:
        self.version = version

    # writing

    def write(self, parent: etree._Element, namespace: str, name: str, type_name: str, value: Any) -> None:
        """Append `<name>` (in `namespace`) holding `value` of `type_name` to `parent`."""
        node = etree.SubElement(parent, f"{{{namespace}}}{name}")
        if type_name.endswith("[]"):
            if value is None:
                node.set(XSI_NIL, "true")
                return
            item_type = type_name[:-2]
            item_ns, item_name = _array_item(self.version, item_type)
            for item in value:
                self.write(node, item_ns, item_name, item_type, item)
            return
        if type_name == XML_ELEMENT or type_name == "anyType":
            node.set(XSI_NIL, "true")
            return
        if type_name in PRIMITIVES:
            if value is None:
                value = _DEFAULTS.get(type_name)
            if value is None:
                node.set(XSI_NIL, "true")
            else:
                node.text = _format_primitive(type_name, value)
            return
        resolved = self.version.lookup(type_name)
        if isinstance(resolved, Enumeration):
            node.text = str(value) if value is not None else resolved.values[0]
            return
        if value is None:
            node.set(XSI_NIL, "true")
            return
        for member, member_ns in self.version.chain(resolved):
            self.write(node, member_ns, member.name, member.type, value.get(member.name))

    def response(self, operation: Operation, result: Any) -> bytes:
        """The full envelope `<OpResponse><OpResult>…` for `result`."""
        ns = self.version.namespace
        wrapper = etree.Element(f"{{{ns}}}{operation.name}Response", nsmap={None: ns, "i": NS_XSI})
        self.write(wrapper, ns, f"{operation.name}Result", operation.returns, result)
        return envelope(wrapper)

    # reading

    def read_request(self, operation: Operation, wrapper: etree._Element) -> dict[str, Any]:
        """Decode the operation's wrapper element into {param name: value}; absent params are None."""
        ns = self.version.namespace
        expected = f"{{{ns}}}{operation.name}"
        if wrapper.tag != expected:
            raise SoapFaultError(
                "OperationFormatter encountered an invalid Message body. Expected to find node type 'Element' "
                f"with name '{operation.name}' and namespace '{ns}'. Found node type 'Element' with name "
                f"'{etree.QName(wrapper).localname}' and namespace '{etree.QName(wrapper).namespace}'")
        children = {child.tag: child for child in wrapper if isinstance(child.tag, str)}
        values: dict[str, Any] = {}
        for name, type_name in operation.params:
            child = children.get(f"{{{ns}}}{name}")
            try:
                values[name] = None if child is None else self.read(child, type_name)
            except (ValueError, KeyError) as exc:
                raise SoapFaultError(
                    "The formatter threw an exception while trying to deserialize the message: There was an error "
                    f"while trying to deserialize parameter {ns}:{name}. {exc}") from exc
        return values

    def read(self, node: etree._Element, type_name: str) -> Any:
        """Decode one element; elements in the wrong namespace are ignored, as WCF ignores them."""
        if node.get(XSI_NIL) in ("true", "1"):
            return None
        if type_name.endswith("[]"):
            item_type = type_name[:-2]
            item_ns, item_name = _array_item(self.version, item_type)
            tag = f"{{{item_ns}}}{item_name}"
            return [self.read(child, item_type) for child in node if child.tag == tag]
        if type_name in (XML_ELEMENT, "anyType"):
            return None
        if type_name in PRIMITIVES:
            return _parse_primitive(type_name, node.text or "")
        resolved = self.version.lookup(type_name)
        if isinstance(resolved, Enumeration):
            text = (node.text or "").strip()
            if resolved.values and text not in resolved.values:
                raise ValueError(f"{text!r} is not a valid {resolved.name}")
            return text
        return self._read_contract(node, resolved)

    def default(self, type_name: str) -> Any:
        """The value WCF gives a member the message leaves out: the .NET default of its type (0, false,
        DateTime.MinValue, Guid.Empty, TimeSpan.Zero, an enum's first value; null for strings, arrays, nullables
        and data contracts)."""
        if type_name.endswith("[]") or type_name in (XML_ELEMENT, "anyType"):
            return None
        if type_name in PRIMITIVES:
            return _DEFAULTS.get(type_name)
        resolved = self.version.lookup(type_name)
        if isinstance(resolved, Enumeration):
            return resolved.values[0] if resolved.values else None
        return None

    def _read_contract(self, node: etree._Element, contract: DataContract) -> dict[str, Any]:
        """Every member of `contract`: absent ones get their type's default, as WCF's DataContractSerializer
        leaves them (it never calls a constructor), so an absent member means "default", never "unchanged"."""
        children = {child.tag: child for child in node if isinstance(child.tag, str)}
        result: dict[str, Any] = {}
        for member, member_ns in self.version.chain(contract):
            child = children.get(f"{{{member_ns}}}{member.name}")
            if child is None:
                result[member.name] = self.default(member.type)
                continue
            try:
                result[member.name] = self.read(child, member.type)
            except ValueError as exc:
                raise ValueError(f"{contract.name}.{member.name}: {exc}") from exc
        return result
