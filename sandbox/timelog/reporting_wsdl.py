"""Our own WSDL for the Reporting operations we serve (SOAP 1.1 port only), from `reporting.OPERATIONS`."""

from __future__ import annotations

from lxml import etree

from sandbox.timelog.reporting import CREDENTIALS, NS_REPORTING_SERVICE, OPERATIONS
from sandbox.timelog.wsdl import NS_WSDL, NS_WSDL_SOAP, SOAP_HTTP_TRANSPORT

NS_XSD = "http://www.w3.org/2001/XMLSchema"
#: ASMX names: service "Service", SOAP 1.1 port and binding "ServiceSoap".
SERVICE_NAME, PORT_NAME = "Service", "ServiceSoap"


def _s(tag: str) -> str:
    return f"{{{NS_XSD}}}{tag}"


def _w(tag: str) -> str:
    return f"{{{NS_WSDL}}}{tag}"


def build_reporting_wsdl(address: str, omit: tuple[str, ...] = ()) -> bytes:
    """The WSDL with its SOAP port at `address`, without the operations named in `omit`."""
    operations = [operation for operation in OPERATIONS.values() if operation.name not in omit]
    root = etree.Element(_w("definitions"), targetNamespace=NS_REPORTING_SERVICE,
                         nsmap={"wsdl": NS_WSDL, "soap": NS_WSDL_SOAP, "s": NS_XSD, "tns": NS_REPORTING_SERVICE})
    schema = etree.SubElement(etree.SubElement(root, _w("types")), _s("schema"), elementFormDefault="qualified",
                              targetNamespace=NS_REPORTING_SERVICE)
    for operation in operations:
        request = etree.SubElement(schema, _s("element"), name=operation.name)
        sequence = etree.SubElement(etree.SubElement(request, _s("complexType")), _s("sequence"))
        for name, kind in ((c, "string") for c in CREDENTIALS):
            etree.SubElement(sequence, _s("element"), minOccurs="0", maxOccurs="1", name=name, type=f"s:{kind}")
        for name, kind in operation.params:
            optional = "0" if kind == "string" else "1"
            etree.SubElement(sequence, _s("element"), minOccurs=optional, maxOccurs="1", name=name, type=f"s:{kind}")
        response = etree.SubElement(schema, _s("element"), name=f"{operation.name}Response")
        sequence = etree.SubElement(etree.SubElement(response, _s("complexType")), _s("sequence"))
        if not operation.root:  # ValidateCredentials answers a boolean
            etree.SubElement(sequence, _s("element"), minOccurs="1", maxOccurs="1",
                             name=f"{operation.name}Result", type="s:boolean")
            continue
        result = etree.SubElement(sequence, _s("element"), minOccurs="0", maxOccurs="1",
                                  name=f"{operation.name}Result")
        mixed = etree.SubElement(result, _s("complexType"), mixed="true")
        etree.SubElement(etree.SubElement(mixed, _s("sequence")), _s("any"))
    port_type = etree.Element(_w("portType"), name=PORT_NAME)
    binding = etree.Element(_w("binding"), name=PORT_NAME, type=f"tns:{PORT_NAME}")
    etree.SubElement(binding, f"{{{NS_WSDL_SOAP}}}binding", transport=SOAP_HTTP_TRANSPORT)
    for operation in operations:
        for direction, element in (("SoapIn", operation.name), ("SoapOut", f"{operation.name}Response")):
            message = etree.SubElement(root, _w("message"), name=f"{operation.name}{direction}")
            etree.SubElement(message, _w("part"), name="parameters", element=f"tns:{element}")
        port_op = etree.SubElement(port_type, _w("operation"), name=operation.name)
        etree.SubElement(port_op, _w("input"), message=f"tns:{operation.name}SoapIn")
        etree.SubElement(port_op, _w("output"), message=f"tns:{operation.name}SoapOut")
        bind_op = etree.SubElement(binding, _w("operation"), name=operation.name)
        etree.SubElement(bind_op, f"{{{NS_WSDL_SOAP}}}operation", soapAction=operation.soap_action,
                         style="document")
        for direction in ("input", "output"):
            etree.SubElement(etree.SubElement(bind_op, _w(direction)), f"{{{NS_WSDL_SOAP}}}body", use="literal")
    root.append(port_type)
    root.append(binding)
    service = etree.SubElement(root, _w("service"), name=SERVICE_NAME)
    port = etree.SubElement(service, _w("port"), name=PORT_NAME, binding=f"tns:{PORT_NAME}")
    etree.SubElement(port, f"{{{NS_WSDL_SOAP}}}address", location=address)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
