"""Site options: the option set itself, the rules each option drives, and the three ways to set them
(`--timelog-option`, `/_sandbox/options`, `SandboxProcess(timelog_options=...)`)."""

from __future__ import annotations

import email.utils
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests
from lxml import etree

from sandbox.common.app import Request
from sandbox.credentials import TIMELOG_REPORTING_PASSWORD, TIMELOG_REPORTING_USERNAME, TIMELOG_SITE_CODE
from sandbox.testing import SandboxProcess
from sandbox.timelog.model import WorkUnit, from_json
from sandbox.timelog.options import DEFAULT_API_USER_ROLES, GUID_MODEL_ENV, SiteOptions
from sandbox.timelog.testing import SITE_START as START
from sandbox.timelog.testing import InProcessSite as Site
from sandbox.timelog.testing import get_token

NS_RESULT = "http://www.timelog.com/XML/Schema/tlp/v4_4"
NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WORK_FILTERS = {"workUnitID": 0, "employeeID": 0, "allocationID": 0, "taskID": 0, "projectID": 0,
                "departmentID": 0}


# -- the option set --------------------------------------------------------------------------------------


def test_defaults() -> None:
    assert SiteOptions().as_dict() == {
        "guid_model": "time_registration", "single_wsdl": False, "additional_text_validation": 0,
        "additional_text_type": 0, "max_reporting_range_days": 31, "site_timezone": "UTC",
        "clock_offset_seconds": 0, "api_user_roles": list(DEFAULT_API_USER_ROLES),
        "external_systems": ["Forecast", "Harvest"], "wsdl_omit_operations": [], "task_feed_external_keys": True}


@pytest.mark.parametrize(("changes", "named"), [
    ({"guid_modle": "work_unit"}, "guid_modle"),
    ({"guid_model": "both"}, "guid_model"),
    ({"single_wsdl": "yes"}, "single_wsdl"),
    ({"additional_text_validation": 3}, "additional_text_validation"),
    ({"additional_text_type": True}, "additional_text_type"),
    ({"max_reporting_range_days": 0}, "max_reporting_range_days"),
    ({"site_timezone": "Mars/Olympus"}, "site_timezone"),
    ({"clock_offset_seconds": "ten"}, "clock_offset_seconds"),
    ({"api_user_roles": ["Emperor"]}, "Emperor"),
    ({"external_systems": "Forecast"}, "external_systems"),
    ({"wsdl_omit_operations": ["ProjectManagementService.Teleport"]}, "Teleport"),
])
def test_bad_options_are_refused_by_name_and_change_nothing(changes: dict, named: str) -> None:
    options = SiteOptions()
    with pytest.raises(ValueError, match=named):
        options.update({"single_wsdl": True, **changes})
    assert options.single_wsdl is False


def test_option_pairs_are_json_when_they_parse() -> None:
    options = SiteOptions()
    options.update_from_pairs(["guid_model=work_unit", "single_wsdl=true", "max_reporting_range_days=7",
                               'external_systems=["Forecast", "Jira"]', "site_timezone=Europe/Copenhagen"])
    assert (options.guid_model, options.single_wsdl, options.max_reporting_range_days, options.external_systems,
            options.site_timezone) == ("work_unit", True, 7, ["Forecast", "Jira"], "Europe/Copenhagen")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        options.update_from_pairs(["guid_model"])


# -- roles, time zone ------------------------------------------------------------------------------------


def test_get_user_returns_the_configured_roles(site: Site) -> None:
    token = get_token(site.security)
    assert list(site.security.service.GetUser(token=token).Return.User[0].Roles.RoleTypes) == list(
        DEFAULT_API_USER_ROLES)
    site.app.set_options({"api_user_roles": ["ProjectManager"]})
    assert list(site.security.service.GetUser(token=token).Return.User[0].Roles.RoleTypes) == ["ProjectManager"]


def test_work_feeds_need_the_system_administrator_role(site: Site) -> None:
    window = {"page": 1, "pageSize": 10, "token": site.token}
    calls = {
        "GetWorkPaged": lambda: site.pm.service.GetWorkPaged(initials="", startDate=START, endDate=START, **window),
        "GetWorkChangesPaged": lambda: site.pm.service.GetWorkChangesPaged(
            initials="", registrationStartDate=START, registrationEndDate=START, changeStartDate=START,
            changeEndDate=START, **window),
        "GetWorkChangeLogPaged": lambda: site.pm.service.GetWorkChangeLogPaged(
            startDate=START, endDate=START, includeCreates=True, includeUpdates=True, includeDeletes=True, **window),
    }
    assert {name: call().ResponseState for name, call in calls.items()} == dict.fromkeys(calls, "Success")
    site.app.set_options({"api_user_roles": ["ProjectManager", "CanBeAllocated"]})
    for name, call in calls.items():
        response = call()
        assert response.ResponseState == "Invalid", name
        assert "system administrator" in response.Messages.APIMessage[0].Message, name
    # Other reads still work.
    assert site.pm.service.GetTaskByID(taskID=1001, loadExternalKeys=False, token=site.token).ResponseState == \
        "Success"


def test_token_expires_carries_the_site_time_zone(site: Site) -> None:
    assert get_token(site.security).Expires.utcoffset() == timedelta(0)
    site.app.set_options({"site_timezone": "Europe/Copenhagen"})
    token = get_token(site.security)
    # The same instant (an hour after START, UTC), written in CET: 14:00+01:00.
    assert (token.Expires.utcoffset(), token.Expires.hour) == (timedelta(hours=1), 14)
    assert token.Expires == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


# -- GetTimeRegistrationSettings -----------------------------------------------------------------------------


def test_time_registration_settings_follow_the_options(site: Site) -> None:
    token = get_token(site.security)
    settings = site.security.service.GetTimeRegistrationSettings(token=token)
    assert settings.ResponseState == "Success"
    [values] = settings.Return.TimeRegistrationSettings
    assert (values.AdditionalTextFieldValidation, values.AdditionalTextFieldType,
            values.ShowTimesheetAdditionalTextField) == (0, 0, False)
    assert values.MaxReceivedMessageSize == 4_096_000
    site.app.set_options({"additional_text_validation": 2, "additional_text_type": 2})
    [values] = site.security.service.GetTimeRegistrationSettings(token=token).Return.TimeRegistrationSettings
    assert (values.AdditionalTextFieldValidation, values.AdditionalTextFieldType,
            values.ShowTimesheetAdditionalTextField) == (2, 2, True)
    token.Hash = "forged"
    assert site.security.service.GetTimeRegistrationSettings(token=token).ResponseState == "Error"


# -- two GUIDs per work unit, bounded Reporting ranges -----------------------------------------------------


def _reporting(site: Site, operation: str, **filters: object) -> tuple[int, bytes]:
    form = {"siteCode": TIMELOG_SITE_CODE, "apiID": TIMELOG_REPORTING_USERNAME,
            "apiPassword": TIMELOG_REPORTING_PASSWORD, **WORK_FILTERS, **filters}
    response = site.app.handle(Request("POST", f"/sandbox/service.asmx/{operation}",
                                       {"content-type": "application/x-www-form-urlencoded"},
                                       urlencode(form).encode()))
    return response.status, response.body


def _reported_guids(site: Site, day: str) -> dict[str, tuple[str, str]]:
    status, body = _reporting(site, "GetWorkUnitsRaw", startDate=day, endDate=day)
    assert status == 200, body
    return {unit.get("ID"): (unit.findtext(f"{{{NS_RESULT}}}TimeRegistrationGuid"),
                             unit.findtext(f"{{{NS_RESULT}}}WorkUnitGuid")) for unit in etree.fromstring(body)}


def test_reporting_lists_two_different_guids_and_the_model_says_which_is_transactional(site: Site) -> None:
    unit = site.new_unit()
    site.insert(unit)
    stored = site.app.store.work[unit.GUID]
    assert stored.other_guid != stored.guid
    by_id = _reported_guids(site, "2026-11-19")
    assert by_id[str(stored.work_id)] == (stored.guid, stored.other_guid)
    site.app.set_options({"guid_model": "work_unit"})
    assert _reported_guids(site, "2026-11-19")[str(stored.work_id)] == (stored.other_guid, stored.guid)
    # The Transactional API carries `guid` under either model.
    day = datetime(2026, 11, 19)
    flat = site.pm.service.GetWorkPaged(initials=unit.EmployeeInitials, startDate=day, endDate=day, page=1,
                                        pageSize=500, token=site.token).Return.WorkUnitFlat
    assert unit.GUID in {w.WorkUnitGuid for w in flat}
    log = site.pm.service.GetWorkChangeLogPaged(startDate=START, endDate=START, includeCreates=True,
                                                includeUpdates=True, includeDeletes=True, page=1, pageSize=500,
                                                token=site.token).Return.WorkUnitFlat
    assert [w.WorkUnitGuid for w in log] == [unit.GUID]


def test_every_demo_unit_has_a_different_second_guid(demo_data: dict) -> None:
    units = demo_data["work_units"]
    assert all(u["other_guid"] and u["other_guid"] != u["guid"] for u in units)
    assert len({u["other_guid"] for u in units}) == len(units)


def test_units_stored_without_a_second_guid_get_one_and_an_equal_one_is_refused(demo_data: dict) -> None:
    row = {k: v for k, v in demo_data["work_units"][0].items() if k != "other_guid"}
    loaded = from_json(WorkUnit, row)
    assert loaded.other_guid
    assert loaded.other_guid != loaded.guid
    assert from_json(WorkUnit, row).other_guid == loaded.other_guid  # the same every time
    with pytest.raises(ValueError, match="other_guid must differ"):
        from_json(WorkUnit, {**row, "other_guid": row["guid"].upper()})


@pytest.mark.parametrize("operation", ["GetWorkUnitsRaw", "GetWorkUnitsRawPaged"])
def test_reporting_work_ranges_are_bounded(site: Site, operation: str) -> None:
    paging = {"page": "", "pageSize": ""} if operation.endswith("Paged") else {}
    assert _reporting(site, operation, startDate="2026-10-01", endDate="2026-10-31", **paging)[0] == 200
    status, body = _reporting(site, operation, startDate="2026-10-01", endDate="2026-11-01", **paging)
    assert status == 500
    assert b"32 days" in body
    assert b"at most 31 days" in body
    for open_range in ({"startDate": "", "endDate": "2026-10-31"}, {"startDate": "2026-10-01", "endDate": ""}):
        status, body = _reporting(site, operation, **open_range, **paging)
        assert (status, b"startDate and endDate are required" in body) == (500, True)
    site.app.set_options({"max_reporting_range_days": 7})
    assert _reporting(site, operation, startDate="2026-10-01", endDate="2026-10-07", **paging)[0] == 200
    status, body = _reporting(site, operation, startDate="2026-10-01", endDate="2026-10-08", **paging)
    assert (status, b"at most 7 days" in body) == (500, True)


def test_a_too_long_range_over_soap_is_a_fault(site: Site) -> None:
    envelope = (f'<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><GetWorkUnitsRaw xmlns="http://www.timelog.com/ws/tlp/v4_4">'
                f"<siteCode>{TIMELOG_SITE_CODE}</siteCode><apiID>{TIMELOG_REPORTING_USERNAME}</apiID>"
                f"<apiPassword>{TIMELOG_REPORTING_PASSWORD}</apiPassword>"
                + "".join(f"<{k}>0</{k}>" for k in WORK_FILTERS)
                + "<startDate>2026-01-01</startDate><endDate>2026-12-31</endDate></GetWorkUnitsRaw></s:Body>"
                  "</s:Envelope>")
    response = site.app.handle(Request("POST", "/sandbox/service.asmx", {
        "content-type": "text/xml; charset=utf-8", "soapaction": '"http://www.timelog.com/ws/tlp/v4_4/GetWorkUnitsRaw"'},
        envelope.encode()))
    assert response.status == 500
    assert "at most 31 days" in etree.fromstring(response.body).findtext(f".//{{{NS_SOAP}}}Fault/faultstring")


# -- the three ways in: control API, command line, SandboxProcess --------------------------------------------


@pytest.fixture(scope="module")
def live() -> SandboxProcess:
    with SandboxProcess(data="empty", timelog_options={"max_reporting_range_days": 14,
                                                       "external_systems": ["Forecast", "Jira"]}) as process:
        yield process


def test_sandbox_process_passes_options_and_reset_keeps_them(live: SandboxProcess) -> None:
    options = live.timelog.get_options()
    assert (options["max_reporting_range_days"], options["external_systems"]) == (14, ["Forecast", "Jira"])
    try:
        changed = live.timelog.options(guid_model="work_unit", single_wsdl=True)
        assert (changed["guid_model"], changed["single_wsdl"], changed["max_reporting_range_days"]) == (
            "work_unit", True, 14)
        live.timelog.reset({})
        assert live.timelog.get_options() == changed
    finally:
        live.timelog.options(guid_model="time_registration", single_wsdl=False)


def test_bad_options_through_the_control_api_are_400_naming_them(live: SandboxProcess) -> None:
    url = f"{live.timelog_url}/_sandbox/options"
    unknown = requests.post(url, json={"guid_model": "work_unit", "colour": "blue"}, timeout=10)
    assert unknown.status_code == 400
    assert "colour" in unknown.json()["message"]
    bad = requests.post(url, json={"site_timezone": "Nowhere/Land"}, timeout=10)
    assert (bad.status_code, "site_timezone" in bad.json()["message"]) == (400, True)
    assert requests.post(url, json=["guid_model"], timeout=10).status_code == 400
    assert live.timelog.get_options()["guid_model"] == "time_registration"


def test_the_forecast_simulator_has_its_own_options_only(live: SandboxProcess) -> None:
    """Its one option is the webhook retry schedule's pace; a TimeLog option is refused, naming what it knows."""
    options = requests.get(f"{live.forecast_url}/_sandbox/options", timeout=10)
    assert options.status_code == 200
    assert set(options.json()) == {"webhook_minute_seconds"}
    refused = requests.post(f"{live.forecast_url}/_sandbox/options", json={"guid_model": "work_unit"}, timeout=10)
    assert refused.status_code == 400
    assert "webhook_minute_seconds" in refused.text


def test_clock_offset_skews_the_date_header(live: SandboxProcess) -> None:
    def skew() -> float:
        response = requests.get(f"{live.timelog_url}/_sandbox/options", timeout=10)
        return email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp() - time.time()

    assert abs(skew()) < 5
    live.timelog.options(clock_offset_seconds=-600)
    try:
        assert abs(skew() + 600) < 5
    finally:
        live.timelog.options(clock_offset_seconds=0)


def test_guid_model_comes_from_the_environment_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GUID_MODEL_ENV, "work_unit")
    with SandboxProcess(data="empty") as process:
        assert process.timelog.get_options()["guid_model"] == "work_unit"
    with SandboxProcess(data="empty", timelog_options={"guid_model": "time_registration"}) as process:
        assert process.timelog.get_options()["guid_model"] == "time_registration"


def test_a_bad_command_line_option_stops_serve_with_a_message() -> None:
    result = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--forecast-port", "0", "--timelog-port", "0",
                             "--data", "empty", "--timelog-option", "guid_model=both"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "guid_model" in result.stderr
    assert json.dumps("both") in result.stderr or "'both'" in result.stderr
