"""The simulator's SOAP edge: SOAPAction handling, faults, hardened parsing, endpoints and malformed answers."""

from __future__ import annotations

import pytest
from lxml import etree

from sandbox.common.app import Request, Response
from sandbox.timelog import demo
from sandbox.timelog.app import TimeLogApp

PM_PATH = "/sandbox/WebServices/ProjectManagement/V1_8/ProjectManagementServiceSecure.svc"
SECURITY_PATH = "/sandbox/WebServices/Security/V1_2/SecurityServiceSecure.svc"
NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_SECURITY = "http://www.timelog.com/api/tlp/v1_2"
GET_TOKEN = (f'<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><GetToken xmlns="{NS_SECURITY}">'
             "<user>tl-sync</user><password>tl-sync-password</password></GetToken></s:Body></s:Envelope>")


@pytest.fixture(scope="module")
def app() -> TimeLogApp:
    return TimeLogApp(demo.build_demo())


def _post(app: TimeLogApp, path: str, body: str | bytes, action: str | None) -> Response:
    headers = {"content-type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["soapaction"] = action
    data = body.encode("utf-8") if isinstance(body, str) else body
    return app.handle(Request("POST", path, headers, data))


def _fault_text(response: Response) -> str:
    root = etree.fromstring(response.body)
    return root.findtext(f"{{{NS_SOAP}}}Body/{{{NS_SOAP}}}Fault/faultstring")


def _state(response: Response) -> str:
    return etree.fromstring(response.body).findtext(".//{*}ResponseState")


@pytest.mark.parametrize("action", ['"GetTokenRequest"', "GetTokenRequest"])
def test_soap_action_is_accepted_with_or_without_quotes(app: TimeLogApp, action: str) -> None:
    response = _post(app, SECURITY_PATH, GET_TOKEN, action)
    assert response.status == 200
    assert _state(response) == "Success"


@pytest.mark.parametrize("action", ['"InsertWorkRequest"', "", None])
def test_a_wrong_soap_action_gets_a_wcf_contract_filter_fault(app: TimeLogApp, action: str | None) -> None:
    response = _post(app, SECURITY_PATH, GET_TOKEN, action)
    assert response.status == 500
    assert "ContractFilter mismatch" in _fault_text(response)
    code = etree.fromstring(response.body).findtext(f".//{{{NS_SOAP}}}Fault/faultcode")
    assert code.endswith("ActionNotSupported")


def test_a_body_that_does_not_match_the_action_is_a_fault(app: TimeLogApp) -> None:
    response = _post(app, SECURITY_PATH, GET_TOKEN, "GetUserRequest")
    assert response.status == 500
    assert "Expected to find node type 'Element' with name 'GetUser'" in _fault_text(response)


def test_the_non_secure_service_name_is_served_too(app: TimeLogApp) -> None:
    response = _post(app, SECURITY_PATH.replace("ServiceSecure.svc", "Service.svc"), GET_TOKEN, "GetTokenRequest")
    assert _state(response) == "Success"


@pytest.mark.parametrize("path", [
    "/other-account/WebServices/Security/V1_2/SecurityServiceSecure.svc",
    "/sandbox/WebServices/Security/V1_3/SecurityServiceSecure.svc",
    "/sandbox/WebServices/ProjectManagement/V1_6/ProjectManagementServiceSecure.svc",
    "/sandbox/WebServices/ProjectManagement/V1_8/OrganisationServiceSecure.svc",
])
def test_unknown_endpoints_are_404(app: TimeLogApp, path: str) -> None:
    assert _post(app, path, GET_TOKEN, "GetTokenRequest").status == 404


def test_an_xxe_payload_gets_a_fault_never_the_file(app: TimeLogApp) -> None:
    payload = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
               f'<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><GetToken xmlns="{NS_SECURITY}">'
               "<user>&xxe;</user><password>x</password></GetToken></s:Body></s:Envelope>")
    response = _post(app, SECURITY_PATH, payload, "GetTokenRequest")
    assert response.status == 500
    assert "DOCTYPE" in _fault_text(response)
    assert b"root:" not in response.body


def test_an_entity_bomb_is_refused(app: TimeLogApp) -> None:
    entities = "".join(f"<!ENTITY e{i} \"{(f'&e{i - 1};' * 10) if i else 'boom'}\">" for i in range(10))
    payload = f'<!DOCTYPE r [{entities}]><s:Envelope xmlns:s="{NS_SOAP}"><s:Body/></s:Envelope>'
    response = _post(app, SECURITY_PATH, payload, "GetTokenRequest")
    assert response.status == 500
    assert "DOCTYPE" in _fault_text(response)


def test_not_xml_is_a_fault(app: TimeLogApp) -> None:
    response = _post(app, SECURITY_PATH, "<s:Envelope", "GetTokenRequest")
    assert response.status == 500
    assert "not well-formed" in _fault_text(response)


def test_a_non_numeric_parameter_is_a_deserialization_fault(app: TimeLogApp) -> None:
    body = (f'<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><GetTaskByID xmlns="http://www.timelog.com/api/tlp/v1_8">'
            "<taskID>abc</taskID><loadExternalKeys>false</loadExternalKeys></GetTaskByID></s:Body></s:Envelope>")
    action = "http://www.timelog.com/api/tlp/v1_8/ProjectManagementService/GetTaskByID"
    response = _post(app, PM_PATH, body, action)
    assert response.status == 500
    assert "taskID" in _fault_text(response)


def test_a_token_in_the_security_namespace_is_not_a_token_elsewhere(app: TimeLogApp) -> None:
    token = etree.fromstring(_post(app, SECURITY_PATH, GET_TOKEN, "GetTokenRequest").body).find(
        f".//{{{NS_SECURITY}}}SecurityToken")
    fields = "".join(f"<t:{name}>{token.findtext(f'{{{NS_SECURITY}}}{name}')}</t:{name}>"
                     for name in ("Initials", "Expires", "Hash"))

    def call(token_ns: str) -> str:
        body = (f'<s:Envelope xmlns:s="{NS_SOAP}"><s:Body>'
                f'<GetTaskByID xmlns="http://www.timelog.com/api/tlp/v1_8" xmlns:t="{token_ns}">'
                f"<taskID>1001</taskID><loadExternalKeys>false</loadExternalKeys><token>{fields}</token>"
                "</GetTaskByID></s:Body></s:Envelope>")
        return _state(_post(app, PM_PATH, body, "http://www.timelog.com/api/tlp/v1_8/ProjectManagementService/"
                                                "GetTaskByID"))

    # WCF ignores members in the wrong namespace: a v1_2 token arrives empty at ProjectManagement.
    assert call("http://www.timelog.com/api/tlp/v1_3") == "Success"
    assert call(NS_SECURITY) != "Success"


def test_wsdl_is_served_for_every_service_version(app: TimeLogApp) -> None:
    for path in (SECURITY_PATH, PM_PATH, PM_PATH.replace("V1_8", "V1_7"),
                 "/sandbox/WebServices/Organisation/V1_9/OrganisationServiceSecure.svc",
                 "/sandbox/WebServices/Organisation/V1_7/OrganisationServiceSecure.svc", "/sandbox/service.asmx"):
        for query in ("?wsdl", "?WSDL"):
            response = app.handle(Request("GET", path + query, {"host": "example:1"}))
            assert response.status == 200, path + query
            root = etree.fromstring(response.body)
            address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address").get("location")
            assert address == f"http://example:1{path}"


def _good_response(app: TimeLogApp) -> Response:
    return _post(app, SECURITY_PATH, GET_TOKEN, "GetTokenRequest")


def test_malformed_truncated_is_not_xml(app: TimeLogApp) -> None:
    broken = app.malformed(_good_response(app), "truncated")
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(broken.body)


def test_malformed_wrong_types_puts_text_in_a_number(app: TimeLogApp) -> None:
    broken = app.malformed(_good_response(app), "wrong_types")
    assert etree.fromstring(broken.body).findtext(".//{*}ErrorCode") == "not-a-number"


def test_malformed_missing_fields_drops_a_required_element(app: TimeLogApp) -> None:
    broken = app.malformed(_good_response(app), "missing_fields")
    root = etree.fromstring(broken.body)
    assert root.find(".//{*}ResponseState") is None
    assert root.find(".//{*}ReturnTypeDescription") is not None
