"""TimeLogClient result handling without a server: response states, batch items, redaction, settings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from timelog_api.client import TimeLogClient
from timelog_api.errors import MalformedResponseError, TimeLogApiError, TimeLogConfigError, TokenExpiredError
from timelog_api.settings import TimeLogSettings

PASSWORD = "unit-test-password"
SITE_CODE = "UNIT-SITE-CODE"


@pytest.fixture
def client(tmp_path: Path) -> TimeLogClient:
    settings = TimeLogSettings(
        domain="https://app1.timelog.example", account="acme", username="sync", password=PASSWORD,
        site_code=SITE_CODE, reporting_username="rep", reporting_password="rep-secret",
        wsdl_cache_path=tmp_path / "wsdl.sqlite",
    )
    return TimeLogClient(settings)


def message(text: str, severity: str, code: int = 0) -> dict:
    return {"Message": text, "Severity": severity, "ErrorCode": code}


def response(state: str, *messages: dict, returned: object = None, error_code: int = 0) -> SimpleNamespace:
    return SimpleNamespace(
        ResponseState=state, Return=returned, ErrorCode=error_code,
        Messages=SimpleNamespace(APIMessage=list(messages)) if messages else None,
    )


def test_success_with_informational_messages_is_not_an_error(client: TimeLogClient) -> None:
    """TimeLog adds "Duration of call was …" (Severity Message) to successful answers."""
    ok = response("Success", message("Duration of call was 0,1 sec.", "Message"))
    assert client.check("GetTasksRaw", ok) is ok


@pytest.mark.parametrize("state", ["Invalid", "Error"])
def test_invalid_and_error_carry_timelog_message_and_code(client: TimeLogClient, state: str) -> None:
    """The captured InsertWork refusal: ErrorCode 10002 and the message, without the informational lines."""
    refused = response(state, message("Initials, was null or empty", "Invalid", 10002),
                       message("Duration of call was 0,1 sec.", "Message"), error_code=10002)
    with pytest.raises(TimeLogApiError) as caught:
        client.check("InsertWork", refused)
    assert caught.value.error_code == 10002
    assert caught.value.api_message == "Initials, was null or empty"
    assert caught.value.state == state
    assert "InsertWork" in str(caught.value)
    assert "Duration" not in str(caught.value)


def test_an_expired_token_answer_is_its_own_error(client: TimeLogClient) -> None:
    """The client refreshes the token once on this error, and only on this one."""
    with pytest.raises(TokenExpiredError):
        client.check("GetWorkPaged", response("Invalid", message("The token has expired", "Error")))


def test_secrets_are_redacted_from_api_messages(client: TimeLogClient) -> None:
    """TimeLog may echo request parameters in messages; configured secrets never reach an error text."""
    with pytest.raises(TimeLogApiError) as caught:
        client.check("GetToken", response("Error", message(f"bad password {PASSWORD} for {SITE_CODE}", "Error")))
    assert PASSWORD not in str(caught.value)
    assert SITE_CODE not in str(caught.value)


def test_batch_items_expose_each_status_and_message(client: TimeLogClient) -> None:
    """A batch write succeeds or fails per item: the target records each one."""
    containers = {"BatchContainerOfWorkUnit": [
        {"Item": {"GUID": "a"}, "Status": "Success", "Message": None},
        {"Item": None, "Status": "Invalid", "Message": "Week is closed"},
    ]}
    results = client.batch_results(response("Success", returned=containers))
    assert [(r.ok, r.message) for r in results] == [(True, None), (False, "Week is closed")]
    assert results[0].item == {"GUID": "a"}


def test_an_empty_return_is_no_items(client: TimeLogClient) -> None:
    """`Return` is absent when nothing matched."""
    assert client.items(response("Success")) == []


def test_missing_settings_are_named() -> None:
    """A config error names the settings to fill in, and nothing else."""
    with pytest.raises(TimeLogConfigError, match="username, password"):
        TimeLogSettings.from_config({"domain": "https://x", "account": "a"})


def test_a_domain_without_scheme_is_refused() -> None:
    """`app1.timelog.com` alone would build a relative URL; say what is expected."""
    with pytest.raises(TimeLogConfigError, match="https://"):
        TimeLogSettings.from_config({"domain": "app1.timelog.com", "account": "a", "username": "u", "password": "p"})


def test_an_unknown_time_zone_is_refused() -> None:
    """A typo in site_timezone would shift every timestamp."""
    with pytest.raises(TimeLogConfigError, match="site_timezone"):
        TimeLogSettings.from_config({"domain": "https://x", "account": "a", "username": "u", "password": "p",
                                     "site_timezone": "Europe/Kopenhagen"})


def test_settings_repr_hides_secrets() -> None:
    """A settings object in a log line or traceback must not show a password or site code."""
    settings = TimeLogSettings(domain="https://x", account="a", username="u", password=PASSWORD, site_code=SITE_CODE)
    assert PASSWORD not in repr(settings)
    assert SITE_CODE not in repr(settings)


def test_xml_parsing_is_hardened(client: TimeLogClient) -> None:
    """DTDs and entities are refused, huge trees are not allowed."""
    settings = client._zeep_settings
    assert (settings.forbid_dtd, settings.forbid_entities) == (True, True)
    assert settings.xml_huge_tree is False


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "/etc/passwd",
    "https://evil.example.com/other-account/WebServices/x.svc?xsd=xsd0",
    "https://app8.timelog.com/other-account/WebServices/x.svc?xsd=xsd0",
])
def test_a_wsdl_cannot_make_the_client_read_outside_the_account(client: TimeLogClient, url: str) -> None:
    """WSDL imports are followed only under the configured account; a local file or another account is refused."""
    with pytest.raises(MalformedResponseError, match="outside the TimeLog account"):
        client._transport.on_site(url)


def test_wsdl_imports_are_read_from_the_configured_site(client: TimeLogClient) -> None:
    """WCF names its parts with the host it believes it has (an internal name behind a proxy): the configured one is
    used, with the part's path and query."""
    base = client.settings.base_url
    account_path = base.split("://", 1)[1].split("/", 1)[1]
    url = f"http://internal-node-7/{account_path}/WebServices/ProjectManagement/V1_8/X.svc?xsd=xsd3"
    assert client._transport.on_site(url) == f"{base}/WebServices/ProjectManagement/V1_8/X.svc?xsd=xsd3"


def test_an_entity_expansion_answer_is_malformed_not_parsed(client: TimeLogClient) -> None:
    """A billion-laughs style GetToken answer is refused before anything is expanded."""
    laughs = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;">]>'
              b"<r><ResponseState>&b;</ResponseState></r>")
    with pytest.raises(MalformedResponseError, match="GetToken"):
        client._read_token(SimpleNamespace(content=laughs))
