"""Reporting API contract: results validate against TimeLog's official v4_4 XSDs, over SOAP and HTTP POST.

The SOAP calls go through a zeep client built from the OFFICIAL `service.asmx` WSDL (archived 2022, before
GetWorkUnitsRawPaged existed; that one is exercised over HTTP POST, as third-party clients call it).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import requests
from lxml import etree
from zeep import Client
from zeep.proxy import ServiceProxy

from sandbox.credentials import TIMELOG_REPORTING_PASSWORD, TIMELOG_REPORTING_USERNAME, TIMELOG_SITE_CODE
from sandbox.testing import SandboxProcess
from sandbox.timelog.testing import reporting_url

pytestmark = pytest.mark.reference

NS_RESULT = "http://www.timelog.com/XML/Schema/tlp/v4_4"
CREDENTIALS = {"siteCode": TIMELOG_SITE_CODE, "apiID": TIMELOG_REPORTING_USERNAME,
               "apiPassword": TIMELOG_REPORTING_PASSWORD}
#: Work unit filters are at most 31 days (the `max_reporting_range_days` default): one month, all else "all".
MONTH_OF_WORK = {"workUnitID": 0, "employeeID": 0, "allocationID": 0, "taskID": 0, "projectID": 0,
                 "departmentID": 0, "startDate": "2026-10-01", "endDate": "2026-10-31"}
#: operation → (filters, XSD file)
CALLS = {
    "GetProjectsRaw": ({"projectID": 0, "status": -2, "customerID": 0, "projectManagerID": 0}, "GetProjectsRaw.xsd"),
    "GetTasksRaw": ({"taskID": 0, "projectID": 0, "status": -1, "taskTypeID": 0}, "GetTasksRaw.xsd"),
    "GetEmployeesRaw": ({"employeeID": 0, "initials": "", "departmentID": 0, "status": -1}, "GetEmployeesRaw.xsd"),
    "GetCustomersRaw": ({"customerID": 0, "customerStatusID": -1, "accountManagerID": 0}, "GetCustomersRaw.xsd"),
    "GetAllocationsRaw": ({"allocationID": 0, "taskID": 0, "employeeID": 0, "projectID": 0},
                          "GetAllocationsRaw.xsd"),
    "GetWorkUnitsRaw": (MONTH_OF_WORK, "GetWorkUnitsRaw.xsd"),
}


@pytest.fixture(scope="module")
def schemas(reference_dir: Path) -> dict[str, etree.XMLSchema]:
    folder = reference_dir / "timelog" / "reporting-xsd"
    names = {xsd for _, xsd in CALLS.values()} | {"GetWorkUnitsRawPaged.xsd"}
    return {name: etree.XMLSchema(etree.parse(str(folder / name))) for name in names}


@pytest.fixture(scope="module")
def reporting(reference_dir: Path, sandbox_for_reporting: SandboxProcess) -> ServiceProxy:
    client = Client(str(reference_dir / "timelog" / "reporting-wsdl" / "service.wsdl"))
    soap_port = client.wsdl.services["Service"].ports["ServiceSoap"]
    return ServiceProxy(client, soap_port.binding, address=reporting_url(sandbox_for_reporting.timelog_url))


@pytest.fixture(scope="module")
def sandbox_for_reporting() -> SandboxProcess:
    with SandboxProcess(data="demo") as process:
        yield process


def _valid(schema: etree.XMLSchema, root: etree._Element) -> None:
    """Validate; `resultEmpty` is documented by TimeLog but absent from its XSDs, so it is checked apart."""
    checked = copy.deepcopy(root)
    checked.attrib.pop("resultEmpty", None)
    schema.assertValid(checked)


@pytest.mark.parametrize("operation", list(CALLS))
def test_soap_results_validate_against_the_official_xsd(operation: str, reporting: ServiceProxy,
                                                         schemas: dict) -> None:
    filters, xsd = CALLS[operation]
    result = getattr(reporting, operation)(**CREDENTIALS, **filters)
    # zeep 4.3.3 hands back the lone `<tlp:…>` element itself (older notes say `result._value_1`).
    root = getattr(result, "_value_1", result)
    assert etree.QName(root).namespace == NS_RESULT
    assert len(root) > 0
    assert root.get("resultEmpty") is None
    _valid(schemas[xsd], root)


def test_validate_credentials(reporting: ServiceProxy) -> None:
    assert reporting.ValidateCredentials(**CREDENTIALS) is True
    assert reporting.ValidateCredentials(**{**CREDENTIALS, "apiPassword": "wrong"}) is False


def _post(live: SandboxProcess, operation: str, **fields: object) -> requests.Response:
    return requests.post(f"{reporting_url(live.timelog_url)}/{operation}", data={**CREDENTIALS, **fields},
                         timeout=30)


def test_bad_credentials_are_401_over_soap_and_post(sandbox_for_reporting: SandboxProcess) -> None:
    filters, _ = CALLS["GetTasksRaw"]
    response = _post(sandbox_for_reporting, "GetTasksRaw", **{**filters, "siteCode": "WRONG"})
    assert response.status_code == 401
    assert "Access denied" in response.text
    envelope = ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                '<GetTasksRaw xmlns="http://www.timelog.com/ws/tlp/v4_4"><siteCode>x</siteCode><apiID>x</apiID>'
                "<apiPassword>x</apiPassword><taskID>0</taskID><projectID>0</projectID><status>-1</status>"
                "<taskTypeID>0</taskTypeID></GetTasksRaw></s:Body></s:Envelope>")
    soap = requests.post(reporting_url(sandbox_for_reporting.timelog_url), data=envelope.encode(), timeout=30,
                         headers={"Content-Type": "text/xml; charset=utf-8",
                                  "SOAPAction": '"http://www.timelog.com/ws/tlp/v4_4/GetTasksRaw"'})
    assert soap.status_code == 401


def test_paged_work_units_over_post(sandbox_for_reporting: SandboxProcess, schemas: dict) -> None:
    total = len([w for w in sandbox_for_reporting.timelog.state()["work_units"]
                 if "2026-10-01" <= w["start_at"][:10] <= "2026-10-31"])
    size = 500
    pages = math.ceil(total / size)
    seen = []
    for page in range(1, pages + 2):
        response = _post(sandbox_for_reporting, "GetWorkUnitsRawPaged", **MONTH_OF_WORK, page=str(page),
                         pageSize=str(size))
        assert response.status_code == 200
        root = etree.fromstring(response.content)
        _valid(schemas["GetWorkUnitsRawPaged.xsd"], root)
        assert (root.get("Page"), root.get("PageSize"), root.get("TotalPages"), root.get("TotalRecords")) == (
            str(page), str(size), str(pages), str(total))
        seen.extend(unit.findtext(f"{{{NS_RESULT}}}WorkUnitGuid") for unit in root)
        if page > pages:
            assert root.get("resultEmpty") == "true"
            assert len(root) == 0
    assert len(seen) == len(set(seen)) == total


def test_filters_follow_the_reporting_conventions(sandbox_for_reporting: SandboxProcess,
                                                  schemas: dict) -> None:
    state = sandbox_for_reporting.timelog.state()

    def count(operation: str, **filters: object) -> int:
        response = _post(sandbox_for_reporting, operation, **filters)
        assert response.status_code == 200
        root = etree.fromstring(response.content)
        _valid(schemas[CALLS[operation][1]], root)
        return len(root)

    project_filters = CALLS["GetProjectsRaw"][0]
    assert count("GetProjectsRaw", **project_filters) == len(state["projects"])  # -2 = all
    assert count("GetProjectsRaw", **{**project_filters, "projectID": 2001}) == 1
    employee = state["employees"][0]
    assert count("GetEmployeesRaw", **{**CALLS["GetEmployeesRaw"][0], "initials": employee["initials"]}) == 1
    assert count("GetWorkUnitsRaw", **{**MONTH_OF_WORK, "employeeID": employee["employee_id"]}) == len(
        [w for w in state["work_units"] if w["employee_id"] == employee["employee_id"]
         and "2026-10-01" <= w["start_at"][:10] <= "2026-10-31"])
    assert count("GetWorkUnitsRaw", **{**MONTH_OF_WORK, "startDate": "2030-01-01", "endDate": "2030-01-31"}) == 0


def test_employees_carry_their_emails(sandbox_for_reporting: SandboxProcess) -> None:
    response = _post(sandbox_for_reporting, "GetEmployeesRaw", **CALLS["GetEmployeesRaw"][0])
    root = etree.fromstring(response.content)
    emails = {int(e.get("ID")): e.findtext(f"{{{NS_RESULT}}}Email") for e in root}
    assert emails == {e["employee_id"]: e["email"] for e in sandbox_for_reporting.timelog.state()["employees"]}


def test_an_empty_result_says_so(sandbox_for_reporting: SandboxProcess) -> None:
    response = _post(sandbox_for_reporting, "GetTasksRaw", taskID=999_999, projectID=0, status=-1, taskTypeID=0)
    root = etree.fromstring(response.content)
    assert (etree.QName(root).localname, root.get("resultEmpty"), len(root)) == ("Tasks", "true", 0)


def test_bad_filter_values_are_500_with_the_reason(sandbox_for_reporting: SandboxProcess) -> None:
    response = _post(sandbox_for_reporting, "GetTasksRaw", taskID="abc", projectID=0, status=-1, taskTypeID=0)
    assert response.status_code == 500
    assert "taskID" in response.text


def test_our_reporting_wsdl_serves_the_paged_operation_over_soap(sandbox_for_reporting: SandboxProcess,
                                                                 schemas: dict) -> None:
    ours = Client(reporting_url(sandbox_for_reporting.timelog_url) + "?wsdl")
    result = ours.service.GetWorkUnitsRawPaged(**CREDENTIALS, **MONTH_OF_WORK, page="2", pageSize="100")
    root = getattr(result, "_value_1", result)
    _valid(schemas["GetWorkUnitsRawPaged.xsd"], root)
    assert (root.get("Page"), root.get("PageSize"), len(root)) == ("2", "100", 100)
    assert ours.service.ValidateCredentials(**CREDENTIALS) is True
