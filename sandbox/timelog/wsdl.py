"""Our WSDLs for a service version, generated from `contracts` (the same source the codec uses).

Served as a real WCF site serves them: `?wsdl` in the multi-part form (types as `?xsd=xsdN` imports, the binding
in `?wsdl=wsdl0`) for ProjectManagement and Organisation, one file for Security (as the archived WSDLs in
`reference/timelog/transactional-wsdl/` are); `?singleWsdl` is everything in one document.
"""

from __future__ import annotations

import copy
import functools
from collections import defaultdict
from dataclasses import dataclass

from lxml import etree

from sandbox.timelog.contracts import (
    NS_ARRAYS,
    NS_SERIALIZATION,
    NS_XSD,
    PRIMITIVES,
    VALUE_TYPES,
    XML_ELEMENT,
    DataContract,
    Enumeration,
    ServiceVersion,
)

NS_WSDL = "http://schemas.xmlsoap.org/wsdl/"
NS_WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP_HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
#: Patterns WCF publishes for its serialization helper types.
_GUID_PATTERN = "[\\da-fA-F]{8}-[\\da-fA-F]{4}-[\\da-fA-F]{4}-[\\da-fA-F]{4}-[\\da-fA-F]{12}"
_DURATION_PATTERN = "\\-?P(\\d*D)?(T(\\d*H)?(\\d*M)?(\\d*(\\.\\d*)?S)?)?"


def _xs(tag: str) -> str:
    return f"{{{NS_XSD}}}{tag}"


class _WsdlBuilder:
    """Collects every type reachable from the operations, then writes one schema per namespace."""

    def __init__(self, version: ServiceVersion, address: str, omit: frozenset[str] = frozenset()) -> None:
        self.version = version
        self.address = address
        #: The operations served (`wsdl_omit_operations` leaves some out, as on a site that lacks them).
        self.operations = [op for op in version.operations.values() if op.name not in omit]
        self.prefixes: dict[str, str] = {version.namespace: "tns", NS_XSD: "xs", NS_SERIALIZATION: "ser"}
        # namespace → (type name → xs element); insertion order keeps the output stable.
        self.types: dict[str, dict[str, etree._Element]] = defaultdict(dict)
        self.imports: dict[str, set[str]] = defaultdict(set)

    def prefix(self, namespace: str) -> str:
        if namespace not in self.prefixes:
            self.prefixes[namespace] = f"q{len(self.prefixes)}"
        return self.prefixes[namespace]

    def ref(self, from_ns: str, type_name: str) -> str:
        """The QName text of `type_name` as referenced from a schema in `from_ns` (declaring it on the way)."""
        namespace, local = self.declare(type_name)
        if namespace != from_ns and namespace != NS_XSD:
            self.imports[from_ns].add(namespace)
        return f"{self.prefix(namespace)}:{local}"

    def declare(self, type_name: str) -> tuple[str, str]:
        """Make sure `type_name` has a definition; return its (namespace, XML name)."""
        if type_name.endswith("[]"):
            return self._declare_array(type_name[:-2])
        if type_name in PRIMITIVES:
            namespace, local = PRIMITIVES[type_name]
            if namespace == NS_SERIALIZATION:
                self._declare_serialization_type(local)
            return namespace, local
        resolved = self.version.lookup(type_name)
        if resolved.name in self.types[resolved.namespace]:
            return resolved.namespace, resolved.name
        if isinstance(resolved, Enumeration):
            node = etree.Element(_xs("simpleType"), name=resolved.name)
            restriction = etree.SubElement(node, _xs("restriction"), base="xs:string")
            for value in resolved.values:
                etree.SubElement(restriction, _xs("enumeration"), value=value)
            self.types[resolved.namespace][resolved.name] = node
            return resolved.namespace, resolved.name
        node = etree.Element(_xs("complexType"), name=resolved.name)
        self.types[resolved.namespace][resolved.name] = node  # before members: contracts may recurse
        self._fill_contract(node, resolved)
        return resolved.namespace, resolved.name

    def _fill_contract(self, node: etree._Element, contract: DataContract) -> None:
        ns = contract.namespace
        if contract.base:
            content = etree.SubElement(node, _xs("complexContent"), mixed="false")
            holder = etree.SubElement(content, _xs("extension"), base=self.ref(ns, contract.base))
        else:
            holder = node
        sequence = etree.SubElement(holder, _xs("sequence"))
        for member in contract.members:
            attrs: dict[str, str] = {} if member.required else {"minOccurs": "0"}
            attrs["name"] = member.name
            if member.type == XML_ELEMENT:
                element = etree.SubElement(sequence, _xs("element"), **attrs, nillable="true")
                inline = etree.SubElement(etree.SubElement(element, _xs("complexType")), _xs("sequence"))
                etree.SubElement(inline, _xs("any"), minOccurs="0", processContents="lax")
                continue
            if member.nillable and not self._is_enum(member.type):
                attrs["nillable"] = "true"
            attrs["type"] = self.ref(ns, member.type)
            etree.SubElement(sequence, _xs("element"), **attrs)

    def _is_enum(self, type_name: str) -> bool:
        if type_name.endswith("[]") or type_name in PRIMITIVES or type_name == XML_ELEMENT:
            return False
        return isinstance(self.version.lookup(type_name), Enumeration)

    def _declare_array(self, item_type: str) -> tuple[str, str]:
        if item_type in PRIMITIVES:
            item_ns, item_name = NS_ARRAYS, PRIMITIVES[item_type][1]
        else:
            resolved = self.version.lookup(item_type)
            item_ns, item_name = resolved.namespace, resolved.name
        name = f"ArrayOf{item_name}"
        if name not in self.types[item_ns]:
            node = etree.Element(_xs("complexType"), name=name)
            self.types[item_ns][name] = node
            sequence = etree.SubElement(node, _xs("sequence"))
            attrs = {"minOccurs": "0", "maxOccurs": "unbounded", "name": item_name}
            if item_type not in VALUE_TYPES and not self._is_enum(item_type):
                attrs["nillable"] = "true"
            attrs["type"] = self.ref(item_ns, item_type)
            etree.SubElement(sequence, _xs("element"), **attrs)
        return item_ns, name

    def _declare_serialization_type(self, local: str) -> None:
        if local in self.types[NS_SERIALIZATION]:
            return
        node = etree.Element(_xs("simpleType"), name=local)
        base, pattern = {"guid": ("xs:string", _GUID_PATTERN), "duration": ("xs:duration", _DURATION_PATTERN)}[local]
        restriction = etree.SubElement(node, _xs("restriction"), base=base)
        etree.SubElement(restriction, _xs("pattern"), value=pattern)
        self.types[NS_SERIALIZATION][local] = node

    def wrapper_elements(self) -> list[etree._Element]:
        """`<xs:element name="Op">` and `<xs:element name="OpResponse">` for every operation."""
        ns = self.version.namespace
        result = []
        for operation in self.operations:
            for name, fields in (
                (operation.name, operation.params),
                (f"{operation.name}Response", ((f"{operation.name}Result", operation.returns),)),
            ):
                element = etree.Element(_xs("element"), name=name)
                sequence = etree.SubElement(etree.SubElement(element, _xs("complexType")), _xs("sequence"))
                for field_name, field_type in fields:
                    attrs = {"minOccurs": "0", "name": field_name}
                    if field_type.endswith("[]") or (field_type not in VALUE_TYPES and not self._is_enum(field_type)):
                        attrs["nillable"] = "true"
                    attrs["type"] = self.ref(ns, field_type)
                    etree.SubElement(sequence, _xs("element"), **attrs)
                result.append(element)
        return result

    # -- documents -------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Declare every type the served operations reach (prefixes and imports are known afterwards)."""
        self.wrappers = self.wrapper_elements()
        ns = self.version.namespace
        self.namespaces = [ns, *[n for n in self.types if n != ns]]

    def _nsmap(self, **extra: str) -> dict[str, str]:
        return {"wsdl": NS_WSDL, "soap": NS_WSDL_SOAP, **{p: n for n, p in self.prefixes.items()}, **extra}

    def schema(self, schema_ns: str, locations: dict[str, str] | None = None) -> etree._Element:
        """One `xs:schema`; with `locations` it stands alone (a `?xsd=xsdN` document) and says where its
        imports are, as TimeLog's TimeTrackingServiceSecure*.xsd do."""
        schema = etree.Element(_xs("schema"), nsmap=self._nsmap() if locations else None,
                               elementFormDefault="qualified", targetNamespace=schema_ns)
        for imported in sorted(self.imports.get(schema_ns, ())):
            attrs = {"schemaLocation": locations[imported]} if locations else {}
            etree.SubElement(schema, _xs("import"), **attrs, namespace=imported)
        for node in self.types.get(schema_ns, {}).values():
            schema.append(copy.deepcopy(node))
        if schema_ns == self.version.namespace:
            for wrapper in self.wrappers:
                schema.append(copy.deepcopy(wrapper))
        return schema

    def _messages_and_port_type(self, root: etree._Element) -> None:
        service_name = self.version.name
        port_type = etree.Element(f"{{{NS_WSDL}}}portType", name=service_name)
        for operation in self.operations:
            for direction, element in (("Input", operation.name), ("Output", f"{operation.name}Response")):
                message = etree.SubElement(root, f"{{{NS_WSDL}}}message",
                                           name=f"{service_name}_{operation.name}_{direction}Message")
                etree.SubElement(message, f"{{{NS_WSDL}}}part", name="parameters", element=f"tns:{element}")
            port_op = etree.SubElement(port_type, f"{{{NS_WSDL}}}operation", name=operation.name)
            for direction in ("Input", "Output"):
                etree.SubElement(port_op, f"{{{NS_WSDL}}}{direction.lower()}",
                                 message=f"tns:{service_name}_{operation.name}_{direction}Message")
        root.append(port_type)

    def _binding(self, root: etree._Element, port_type_prefix: str) -> None:
        service_name = self.version.name
        binding = etree.SubElement(root, f"{{{NS_WSDL}}}binding", name=f"BasicHttpBinding_{service_name}",
                                   type=f"{port_type_prefix}:{service_name}")
        etree.SubElement(binding, f"{{{NS_WSDL_SOAP}}}binding", transport=SOAP_HTTP_TRANSPORT)
        for operation in self.operations:
            bind_op = etree.SubElement(binding, f"{{{NS_WSDL}}}operation", name=operation.name)
            etree.SubElement(bind_op, f"{{{NS_WSDL_SOAP}}}operation",
                             soapAction=self.version.soap_action(operation), style="document")
            for direction in ("input", "output"):
                etree.SubElement(etree.SubElement(bind_op, f"{{{NS_WSDL}}}{direction}"), f"{{{NS_WSDL_SOAP}}}body",
                                 use="literal")

    def _service(self, root: etree._Element, binding_prefix: str) -> None:
        service_name = self.version.name
        service = etree.SubElement(root, f"{{{NS_WSDL}}}service", name=f"{service_name}Secure")
        port = etree.SubElement(service, f"{{{NS_WSDL}}}port", name=f"BasicHttpBinding_{service_name}",
                                binding=f"{binding_prefix}:BasicHttpBinding_{service_name}")
        etree.SubElement(port, f"{{{NS_WSDL_SOAP}}}address", location=self.address)

    def single(self) -> bytes:
        """Everything in one document (WCF's `?singleWsdl`; Security's `?wsdl`, like its archived WSDL)."""
        root = etree.Element(f"{{{NS_WSDL}}}definitions", nsmap=self._nsmap(), name=f"{self.version.name}Secure",
                             targetNamespace=self.version.namespace)
        types = etree.SubElement(root, f"{{{NS_WSDL}}}types")
        for schema_ns in self.namespaces:
            types.append(self.schema(schema_ns))
        self._messages_and_port_type(root)
        self._binding(root, "tns")
        self._service(root, "tns")
        return _serialize(root)

    def main(self, schema_locations: dict[str, str]) -> bytes:
        """`?wsdl` of a multi-part service, as ProjectManagementServiceSecure22.wsdl: imports the binding
        (`?wsdl=wsdl0`), then types (here `?xsd=xsdN` imports, as TimeTrackingServiceSecure1.wsdl), messages,
        portType and service."""
        binding_ns = self.version.binding_namespace
        root = etree.Element(f"{{{NS_WSDL}}}definitions", nsmap=self._nsmap(i0=binding_ns),
                             name=f"{self.version.name}Secure", targetNamespace=self.version.namespace)
        etree.SubElement(root, f"{{{NS_WSDL}}}import", namespace=binding_ns, location=f"{self.address}?wsdl=wsdl0")
        types = etree.SubElement(root, f"{{{NS_WSDL}}}types")
        imports = etree.SubElement(types, _xs("schema"), targetNamespace=f"{self.version.namespace}/Imports")
        for schema_ns in self.namespaces:
            etree.SubElement(imports, _xs("import"), schemaLocation=schema_locations[schema_ns], namespace=schema_ns)
        self._messages_and_port_type(root)
        self._service(root, "i0")
        return _serialize(root)

    def binding_document(self) -> bytes:
        """`?wsdl=wsdl0`, as ProjectManagementServiceSecure23.wsdl: the binding, in its own namespace, importing
        `?wsdl` back."""
        root = etree.Element(f"{{{NS_WSDL}}}definitions", targetNamespace=self.version.binding_namespace,
                             nsmap={"wsdl": NS_WSDL, "soap": NS_WSDL_SOAP, "i0": self.version.namespace})
        etree.SubElement(root, f"{{{NS_WSDL}}}import", namespace=self.version.namespace,
                         location=f"{self.address}?wsdl")
        etree.SubElement(root, f"{{{NS_WSDL}}}types")
        self._binding(root, "i0")
        return _serialize(root)


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


@dataclass(frozen=True)
class WsdlDocuments:
    """The metadata documents of one service version at one address.

    `documents` maps the query that fetches each one to its bytes: `wsdl` (what `?wsdl` returns),
    `wsdl=wsdl0` and `xsd=xsdN` (multi-part services only) and `singleWsdl`.
    """

    documents: dict[str, bytes]


@functools.lru_cache(maxsize=64)
def wsdl_documents(version: ServiceVersion, address: str, omit: tuple[str, ...] = ()) -> WsdlDocuments:
    """Every metadata document of `version`, its port at `address` (the URL the client used, without the query);
    the operations named in `omit` are left out of all of them."""
    builder = _WsdlBuilder(version, address, frozenset(omit))
    builder.prepare()
    single = builder.single()
    if not version.service.multipart_wsdl:
        return WsdlDocuments({"wsdl": single, "singleWsdl": single})
    locations = {ns: f"{address}?xsd=xsd{index}" for index, ns in enumerate(builder.namespaces)}
    documents = {"wsdl": builder.main(locations), "wsdl=wsdl0": builder.binding_document(), "singleWsdl": single}
    for index, schema_ns in enumerate(builder.namespaces):
        documents[f"xsd=xsd{index}"] = _serialize(builder.schema(schema_ns, locations))
    return WsdlDocuments(documents)


def build_wsdl(version: ServiceVersion, address: str) -> bytes:
    """The single-file WSDL of `version` with its port at `address`."""
    return wsdl_documents(version, address).documents["singleWsdl"]
