"""Contract: every request the tap sends validates against TimeLog's official WSDL schemas (../shared/reference)."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from functools import cached_property
from pathlib import Path

import pytest
import xmlschema
import zeep
from lxml import etree

from sandbox.testing import SandboxProcess
from tap_timelog.tap import TapTimeLog
from timelog_api.client import TimeLogClient, client_from_config
from timelog_api.services import Service

from .conftest import run_tap

XS_SCHEMA = "{http://www.w3.org/2001/XMLSchema}schema"
XS_IMPORT = "{http://www.w3.org/2001/XMLSchema}import"
#: The official WSDL of each service we call, and the namespace of its archived version. The sandbox serves the
#: current versions (PM V1_8, Organisation V1_9), whose operation wrappers differ only in that namespace.
OFFICIAL_WSDLS = {
    "http://www.timelog.com/api/tlp/v1_2": ("transactional-wsdl/SecurityService/SecurityServiceSecure.wsdl", None),
    "http://www.timelog.com/api/tlp/v1_8": (
        "transactional-wsdl/ProjectManagementService/ProjectManagementServiceSecure22.wsdl",
        "http://www.timelog.com/api/tlp/v1_7",
    ),
    "http://www.timelog.com/api/tlp/v1_9": (
        "transactional-wsdl/OrganisationService/OrganisationServiceSecure1.wsdl",
        "http://www.timelog.com/api/tlp/v1_7",
    ),
    "http://www.timelog.com/ws/tlp/v4_4": ("reporting-wsdl/service.wsdl", None),
}
#: Added by TimeLog in 2024, after the archived Reporting WSDL: GetWorkUnitsRaw's parameters plus these two.
PAGED_WORK_UNITS = ("GetWorkUnitsRawPaged", "GetWorkUnitsRaw", ("page", "pageSize"))


class CaptureBodies(zeep.Plugin):
    """Keeps the SOAP Body child of every request zeep sends."""

    def __init__(self) -> None:
        self.bodies: list[etree._Element] = []

    def egress(self, envelope: etree._Element, http_headers: dict, operation: object, binding_options: dict):
        body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        self.bodies.append(copy.deepcopy(body[0]))
        return envelope, http_headers


def official_schema(wsdl: Path) -> xmlschema.XMLSchema:
    """The `wsdl:types` schemas of a WCF/ASMX WSDL as one schema set.

    WCF splits one namespace over several `xs:schema` blocks and refers across namespaces without `xs:import`;
    blocks of a namespace are merged (each child keeps its own prefix declarations) and each merged schema
    imports every other namespace, so nested types such as WorkUnit are checked, not skipped.
    """
    blocks: dict[str, list[etree._Element]] = {}
    form: dict[str, str] = {}
    prefixes: dict[str, dict] = {}
    for schema in etree.parse(str(wsdl)).getroot().iter(XS_SCHEMA):
        namespace = schema.get("targetNamespace") or ""
        form[namespace] = schema.get("elementFormDefault", "unqualified")
        prefixes.setdefault(namespace, dict(schema.nsmap))
        blocks.setdefault(namespace, []).extend(
            _with_prefixes(child, schema.nsmap) for child in schema
            if isinstance(child.tag, str) and child.tag != XS_IMPORT
        )
    sources = []
    for namespace, children in blocks.items():
        # The schema's own prefixes, so lxml keeps e.g. `s:` (Reporting) instead of renaming it to `xs:`.
        merged = etree.Element(XS_SCHEMA, targetNamespace=namespace, elementFormDefault=form[namespace],
                               nsmap=prefixes[namespace])
        for other in sorted(set(blocks) - {namespace}):
            merged.append(etree.Element(XS_IMPORT, namespace=other))
        merged.extend(children)
        sources.append(etree.tostring(merged).decode())
    return xmlschema.XMLSchema(sources, validation="lax")


def _with_prefixes(element: etree._Element, inherited: dict) -> etree._Element:
    """A copy of `element` that declares every prefix it inherited (QNames in attribute values use them)."""
    copy_ = etree.Element(element.tag, attrib=dict(element.attrib), nsmap={**inherited, **element.nsmap})
    copy_.text = element.text
    copy_.extend(copy.deepcopy(child) for child in element)
    return copy_


def as_archived(body: etree._Element, archived_namespace: str | None) -> etree._Element:
    """The request as the archived WSDL version names it (wrapper namespace; Reporting's paged variant)."""
    qname = etree.QName(body)
    text = etree.tostring(body)
    if archived_namespace:
        text = text.replace(qname.namespace.encode(), archived_namespace.encode())
    element = etree.fromstring(text)
    paged, unpaged, extra = PAGED_WORK_UNITS
    if qname.localname == paged:
        element.tag = f"{{{qname.namespace}}}{unpaged}"
        for child in list(element):
            if etree.QName(child).localname in extra:
                element.remove(child)
    return element


@pytest.mark.reference
def test_every_request_the_tap_sends_validates_against_the_official_wsdls(
    reference_dir: Path, config: dict,
) -> None:
    """Field names, order, namespaces and types of our requests are what TimeLog's own WSDLs declare."""
    capture = CaptureBodies()

    class CapturingTap(TapTimeLog):
        @cached_property
        def timelog(self) -> TimeLogClient:
            return client_from_config(self.config, plugins=[capture])

    run_tap(config, tap_class=CapturingTap)
    assert capture.bodies
    schemas = {ns: (official_schema(reference_dir / "timelog" / path), archived)
               for ns, (path, archived) in OFFICIAL_WSDLS.items()}
    checked = set()
    for body in capture.bodies:
        namespace = etree.QName(body).namespace
        assert namespace in schemas, f"request {body.tag} is in a namespace we have no official WSDL for"
        schema, archived = schemas[namespace]
        element = as_archived(body, archived)
        errors = [str(e).splitlines()[0] for e in schema.iter_errors(element)]
        assert not errors, f"{etree.QName(body).localname}: {errors[:3]}"
        checked.add(etree.QName(body).localname)
    assert {"GetToken", "GetWorkChangeLogPaged", "GetWorkUnitsRawPaged", "GetEmployeesPaged"} <= checked


@pytest.mark.reference
def test_batch_writes_through_the_client_validate_against_the_official_wsdls(
    reference_dir: Path, config: dict, timelog_sandbox: SandboxProcess,
) -> None:
    """What target-timelog will send (WorkUnit arrays, GUID arrays) matches the official data contracts."""
    state = timelog_sandbox.timelog.state()
    allocation = state["allocations"][0]
    initials = next(e["initials"] for e in state["employees"] if e["employee_id"] == allocation["employee_id"])
    start = dt.datetime.combine(dt.date.fromisoformat(allocation["start_date"]), dt.time(9))
    unit = {"GUID": str(uuid.uuid4()), "TaskID": allocation["task_id"], "EmployeeInitials": initials,
            "Duration": dt.timedelta(minutes=59), "StartDateTime": start,
            "EndDateTime": start + dt.timedelta(minutes=59), "Description": "contract"}
    capture = CaptureBodies()
    with client_from_config(config, plugins=[capture]) as client:
        assert client.batch(Service.PROJECT_MANAGEMENT, "InsertWork", work={"WorkUnit": [unit]}, source=0)[0].ok
        assert client.batch(Service.PROJECT_MANAGEMENT, "DeleteWork", work={"guid": [unit["GUID"]]}, source=0)[0].ok
    path, archived = OFFICIAL_WSDLS["http://www.timelog.com/api/tlp/v1_8"]
    schema = official_schema(reference_dir / "timelog" / path)
    writes = [b for b in capture.bodies if etree.QName(b).localname in ("InsertWork", "DeleteWork")]
    assert len(writes) == 2
    for body in writes:
        errors = [str(e).splitlines()[0] for e in schema.iter_errors(as_archived(body, archived))]
        assert not errors, f"{etree.QName(body).localname}: {errors[:3]}"


def test_the_contract_check_catches_a_wrong_type(reference_dir: Path) -> None:
    """The validation above can fail: a non-integer page number, or task id inside a WorkUnit, is refused."""
    schema = official_schema(reference_dir / "timelog" / OFFICIAL_WSDLS["http://www.timelog.com/api/tlp/v1_8"][0])
    ns = "http://www.timelog.com/api/tlp/v1_7"
    bad = etree.fromstring(
        f'<GetWorkChangeLogPaged xmlns="{ns}"><startDate>2026-01-01T00:00:00</startDate>'
        f"<endDate>2026-01-02T00:00:00</endDate><includeCreates>true</includeCreates>"
        f"<includeUpdates>true</includeUpdates><includeDeletes>false</includeDeletes>"
        f"<page>first</page><pageSize>500</pageSize></GetWorkChangeLogPaged>"
    )
    assert not schema.is_valid(bad)
    nested = etree.fromstring(
        f'<InsertWork xmlns="{ns}"><work><WorkUnit><TaskID>first</TaskID></WorkUnit></work></InsertWork>'
    )
    assert not schema.is_valid(nested), "nested data contracts are validated too"
