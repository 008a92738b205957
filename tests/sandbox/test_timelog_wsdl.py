"""The WSDLs as a real WCF site serves them: `?wsdl` in parts (`?wsdl=wsdl0`, `?xsd=xsdN`), `?singleWsdl` only
where the site has it, and operations left out where a site lacks them."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import zeep
from lxml import etree
from zeep.exceptions import ExternalReferenceForbidden

from sandbox.common.app import Request
from sandbox.testing import SandboxProcess
from sandbox.timelog import demo
from sandbox.timelog.app import TimeLogApp
from sandbox.timelog.testing import get_token, reporting_url, retype_token, service_url

NS_WSDL = "http://schemas.xmlsoap.org/wsdl/"
NS_XSD = "http://www.w3.org/2001/XMLSchema"
PM_PATH = "/sandbox/WebServices/ProjectManagement/V1_8/ProjectManagementServiceSecure.svc"
#: The product's zeep settings (timelog_api.client).
PRODUCT_SETTINGS = zeep.Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)


@pytest.fixture(scope="module")
def app() -> TimeLogApp:
    return TimeLogApp(demo.build_demo())


@pytest.fixture
def demo_data_app() -> TimeLogApp:
    """An app of its own, for tests that change options."""
    return TimeLogApp(demo.build_demo())


def _get(app: TimeLogApp, path: str, host: str = "site.example:8443") -> tuple[int, str, bytes]:
    response = app.handle(Request("GET", path, {"host": host}))
    return response.status, response.headers.get("Content-Type", ""), response.body


def _document(app: TimeLogApp, path: str) -> etree._Element:
    status, content_type, body = _get(app, path)
    assert (status, content_type.startswith("text/xml")) == (200, True), path
    return etree.fromstring(body)


# -- the documents -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("area", ["ProjectManagement/V1_8/ProjectManagement",
                                  "ProjectManagement/V1_7/ProjectManagement", "Organisation/V1_9/Organisation",
                                  "Organisation/V1_7/Organisation"])
def test_wsdl_is_served_in_parts_like_wcf(app: TimeLogApp, area: str) -> None:
    path = f"/sandbox/WebServices/{area}ServiceSecure.svc"
    address = f"http://site.example:8443{path}"
    main = _document(app, f"{path}?wsdl")
    # ProjectManagementServiceSecure22.wsdl: imports the binding document, has types, portType and service.
    [wsdl_import] = main.findall(f"{{{NS_WSDL}}}import")
    assert wsdl_import.get("location") == f"{address}?wsdl=wsdl0"
    assert main.find(f"{{{NS_WSDL}}}binding") is None
    assert main.find(f"{{{NS_WSDL}}}portType") is not None
    port = main.find(f"{{{NS_WSDL}}}service/{{{NS_WSDL}}}port")
    assert port.get("binding") == "i0:BasicHttpBinding_" + area.rsplit("/", 1)[1] + "Service"
    # The types are schemas imported by absolute ?xsd=xsdN URLs (TimeTrackingServiceSecure1.wsdl).
    [imports] = main.findall(f"{{{NS_WSDL}}}types/{{{NS_XSD}}}schema")
    locations = {i.get("namespace"): i.get("schemaLocation") for i in imports.findall(f"{{{NS_XSD}}}import")}
    assert all(re.fullmatch(rf"{re.escape(address)}\?xsd=xsd\d+", url) for url in locations.values())
    for namespace, url in locations.items():
        schema = _document(app, url.removeprefix("http://site.example:8443"))
        assert (etree.QName(schema).localname, schema.get("targetNamespace")) == ("schema", namespace)
        for nested in schema.findall(f"{{{NS_XSD}}}import"):
            assert nested.get("schemaLocation") == locations[nested.get("namespace")]
    # ProjectManagementServiceSecure23.wsdl: ?wsdl=wsdl0 holds the binding in the `V1_x` namespace and imports
    # ?wsdl back.
    binding_document = _document(app, f"{path}?wsdl=wsdl0")
    version = area.split("/")[1]
    assert binding_document.get("targetNamespace") == f"http://www.timelog.com/api/tlp/{version}"
    assert binding_document.find(f"{{{NS_WSDL}}}import").get("location") == f"{address}?wsdl"
    assert binding_document.find(f"{{{NS_WSDL}}}binding") is not None


def test_security_is_one_document_like_its_archived_wsdl(app: TimeLogApp) -> None:
    root = _document(app, "/sandbox/WebServices/Security/V1_2/SecurityServiceSecure.svc?wsdl")
    assert root.find(f"{{{NS_WSDL}}}import") is None
    assert root.find(f"{{{NS_WSDL}}}binding") is not None


@pytest.mark.parametrize("query", ["?singleWsdl", "?wsdl=wsdl7", "?xsd=xsd99", "?disco", ""])
def test_what_the_site_does_not_serve_gets_the_html_help_page(app: TimeLogApp, query: str) -> None:
    status, content_type, body = _get(app, PM_PATH + query)
    assert (status, content_type) == (200, "text/html; charset=UTF-8")
    assert b"You have created a service." in body
    assert b"svcutil.exe" in body


def test_single_wsdl_is_served_when_the_site_has_it(demo_data_app: TimeLogApp) -> None:
    demo_data_app.set_options({"single_wsdl": True})
    root = _document(demo_data_app, f"{PM_PATH}?singleWsdl")
    assert root.find(f"{{{NS_WSDL}}}import") is None
    assert root.find(f"{{{NS_WSDL}}}binding") is not None
    assert len(root.findall(f"{{{NS_WSDL}}}types/{{{NS_XSD}}}schema")) > 1


def test_omitted_operations_are_missing_from_every_document(demo_data_app: TimeLogApp) -> None:
    demo_data_app.set_options({"single_wsdl": True, "wsdl_omit_operations": [
        "ProjectManagementService.GetWorkChangeLogPaged", "Reporting.GetWorkUnitsRawPaged"]})
    texts = [_get(demo_data_app, f"{PM_PATH}{query}")[2] for query in ("?wsdl", "?wsdl=wsdl0", "?singleWsdl")]
    texts += [_get(demo_data_app, f"{PM_PATH}?xsd=xsd{n}")[2] for n in range(3)]
    assert all(b"GetWorkChangeLogPaged" not in text for text in texts)
    assert any(b"GetWorkChangesPaged" in text for text in texts)
    reporting = _get(demo_data_app, "/sandbox/service.asmx?wsdl")[2]
    assert b"GetWorkUnitsRawPaged" not in reporting
    assert b"GetWorkUnitsRaw" in reporting
    # The other services keep theirs.
    organisation = _get(demo_data_app, "/sandbox/WebServices/Organisation/V1_9/OrganisationServiceSecure.svc"
                                       "?wsdl=wsdl0")[2]
    assert b"GetEmployeesPaged" in organisation


# -- zeep, live ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live() -> SandboxProcess:
    with SandboxProcess(data="demo") as process:
        yield process


def test_zeep_loads_the_parts_and_calls_operations(live: SandboxProcess) -> None:
    security = zeep.Client(service_url(live.timelog_url, "Security") + "?wsdl")
    pm = zeep.Client(service_url(live.timelog_url, "ProjectManagement") + "?wsdl")
    token = retype_token(pm, get_token(security))
    answer = pm.service.GetTaskByID(taskID=1001, loadExternalKeys=False, token=token)
    assert (answer.ResponseState, answer.Return.Task[0].TaskID) == ("Success", 1001)
    stats = live.timelog.stats()["requests"]
    assert stats["ProjectManagementService.wsdl"] >= 2  # ?wsdl and ?wsdl=wsdl0
    assert stats["ProjectManagementService.xsd"] >= 3


def test_with_the_products_settings_zeep_refuses_to_follow_the_parts(live: SandboxProcess) -> None:
    """forbid_external stops zeep at the first `wsdl:import`: a client on those settings must fetch the parts
    itself (next test) or use `?singleWsdl` where the site has it."""
    with pytest.raises(ExternalReferenceForbidden):
        zeep.Client(service_url(live.timelog_url, "ProjectManagement") + "?wsdl", settings=PRODUCT_SETTINGS)


def _mirror(url: str, folder: Path, seen: dict[str, Path]) -> Path:
    """Fetch `url` and every document it imports into `folder`, with imports pointing at the local copies."""
    if url in seen:
        return seen[url]
    query = urlsplit(url).query or "service"
    seen[url] = path = folder / (re.sub(r"\W", "_", query) + ".xml")
    root = etree.fromstring(requests.get(url, timeout=30).content)
    for node in root.iter(f"{{{NS_WSDL}}}import", f"{{{NS_XSD}}}import"):
        attribute = "location" if node.tag == f"{{{NS_WSDL}}}import" else "schemaLocation"
        if node.get(attribute):
            node.set(attribute, str(_mirror(node.get(attribute), folder, seen)))
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
    return path


def test_the_parts_are_complete_enough_for_the_products_settings(live: SandboxProcess, tmp_path: Path) -> None:
    """Every document `?wsdl` imports, fetched once and loaded from disk with forbid_external=True."""
    address = service_url(live.timelog_url, "ProjectManagement")
    local = _mirror(f"{address}?wsdl", tmp_path, {})
    pm = zeep.Client(str(local), settings=PRODUCT_SETTINGS)
    proxy = pm.service  # the port address in the local copy is still the site's
    security = zeep.Client(service_url(live.timelog_url, "Security") + "?wsdl", settings=PRODUCT_SETTINGS)
    token = retype_token(pm, get_token(security))
    work = proxy.GetWorkPaged(initials="", startDate=datetime(2026, 11, 1), endDate=datetime(2026, 11, 19), page=1,
                              pageSize=10, token=token)
    assert work.ResponseState == "Success"
    assert len(work.Return.WorkUnitFlat) == 10


def test_single_wsdl_loads_with_the_products_settings(live: SandboxProcess) -> None:
    url = service_url(live.timelog_url, "ProjectManagement") + "?singleWsdl"
    assert requests.get(url, timeout=30).headers["Content-Type"].startswith("text/html")
    live.timelog.options(single_wsdl=True)
    try:
        pm = zeep.Client(url, settings=PRODUCT_SETTINGS)
        security = zeep.Client(service_url(live.timelog_url, "Security") + "?wsdl", settings=PRODUCT_SETTINGS)
        token = retype_token(pm, get_token(security))
        guid = str(uuid.uuid4())
        found = pm.service.GetTaskById(taskGuid=guid, token=token)
        assert found.ResponseState == "Invalid"
    finally:
        live.timelog.options(single_wsdl=False)


def test_an_omitted_operation_is_not_in_the_client(live: SandboxProcess) -> None:
    live.timelog.options(wsdl_omit_operations=["ProjectManagementService.GetWorkChangeLogPaged",
                                               "Reporting.GetWorkUnitsRawPaged"])
    try:
        pm = zeep.Client(service_url(live.timelog_url, "ProjectManagement") + "?wsdl")
        with pytest.raises(AttributeError):
            pm.service.GetWorkChangeLogPaged  # noqa: B018
        assert pm.service.GetWorkChangesPaged
        reporting = zeep.Client(reporting_url(live.timelog_url) + "?wsdl")
        with pytest.raises(AttributeError):
            reporting.service.GetWorkUnitsRawPaged  # noqa: B018
    finally:
        live.timelog.options(wsdl_omit_operations=[])
