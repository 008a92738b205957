"""`timesync doctor` against the simulator: all checks pass on the demo site in both GUID models, and each check
fails once, the way a real site that is set up wrong would make it fail."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from forecast_api import ForecastReader
from sandbox import credentials
from sandbox.roster import demo_links
from sandbox.testing import SandboxProcess
from timelog_api.client import client_from_config
from timelog_api.services import Service
from timesync.adapters.timelog import GUID_MODEL_FACT
from timesync.cli import Services, cli
from timesync.ledger import Ledger, PairKind, PairState, PlannedPair
from timesync.model import Direction

GUID_MODELS = ("time_registration", "work_unit")
#: The sync's TimeLog user in the demo (employee 90, SYNC) and a demo task of a linked project.
API_EMPLOYEE = 90
PROBE_TASK = 1001


def _timelog_config(sandbox: SandboxProcess, cache: Path, **changes: Any) -> dict[str, Any]:
    return {"domain": sandbox.timelog_url, "account": credentials.TIMELOG_ACCOUNT,
            "username": credentials.TIMELOG_USERNAME, "password": credentials.TIMELOG_PASSWORD,
            "site_code": credentials.TIMELOG_SITE_CODE, "reporting_username": credentials.TIMELOG_REPORTING_USERNAME,
            "reporting_password": credentials.TIMELOG_REPORTING_PASSWORD, "wsdl_cache_path": str(cache), **changes}


@pytest.fixture
def doctor(sandbox: SandboxProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `timesync doctor` against the sandbox; keyword arguments change a TimeLog or Forecast setting."""
    links = tmp_path / "links.yml"
    links.write_text(yaml.safe_dump(demo_links()))
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"

    def run(*args: str, forecast_key: str = credentials.FORECAST_API_KEY, **timelog: Any) -> Result:
        cache = tmp_path / f"wsdl-{len(list(tmp_path.glob('wsdl-*')))}.sqlite"  # fresh WSDLs for every run
        services = Services(
            forecast=lambda: ForecastReader(forecast_key, sandbox.forecast_url),
            timelog=lambda: client_from_config({**_timelog_config(sandbox, cache), **timelog}),
            run=lambda argv, env: 0)
        return CliRunner().invoke(cli, ["--ledger-url", ledger_url, "--links-path", str(links), "--json", "doctor",
                                        *args], obj=services)

    run.ledger_url = ledger_url  # type: ignore[attr-defined]
    run.links = links  # type: ignore[attr-defined]
    monkeypatch.delenv("TARGET_TIMELOG_ADDITIONAL_TEXT", raising=False)
    return run


def _findings(result: Result) -> dict[str, dict[str, str]]:
    return {finding["check"]: finding for finding in json.loads(result.output)}


@pytest.mark.parametrize("model", GUID_MODELS)
def test_the_demo_site_passes_every_check_and_the_guid_model_is_found_read_only(sandbox, doctor, model):
    sandbox.timelog.options(guid_model=model)
    result = doctor()
    findings = _findings(result)
    assert result.exit_code == 0, result.output
    assert {f["status"] for f in findings.values()} == {"ok"}, findings
    assert f"({model})" in findings["guid model"]["detail"]


def test_a_wrong_forecast_key_fails_and_names_the_setting(doctor):
    findings = _findings(doctor(forecast_key="not-the-key"))
    assert findings["forecast api key"]["status"] == "fail"
    assert "TAP_FORECAST_API_KEY" in findings["forecast api key"]["fix"]
    assert findings["links"]["status"] == "fail", "links cannot be checked without Forecast"


def test_a_wrong_timelog_password_fails_and_the_checks_that_need_it_say_so(doctor):
    result = doctor(password="wrong")
    findings = _findings(result)
    assert result.exit_code == 1
    assert findings["timelog login"]["status"] == "fail"
    assert "_PASSWORD" in findings["timelog login"]["fix"]
    assert findings["timelog wsdl"]["detail"] == "not checked: timelog login failed"
    assert "wrong" not in result.output, "no secret in the output"


def test_a_wrong_site_code_fails_the_reporting_login(doctor):
    findings = _findings(doctor(site_code="WRONG-CODE"))
    assert findings["timelog reporting login"]["status"] == "fail"
    assert "SITE_CODE" in findings["timelog reporting login"]["fix"]
    assert "WRONG-CODE" not in json.dumps(findings)


def test_a_user_without_the_system_administrator_role_fails_the_rights_check(sandbox, doctor):
    sandbox.timelog.options(api_user_roles=["ProjectManager", "CanBeAllocated"])
    findings = _findings(doctor())
    assert findings["timelog rights"]["status"] == "fail"
    assert "System administrator" in findings["timelog rights"]["fix"]


def test_a_wsdl_without_an_operation_the_sync_calls_fails(sandbox, doctor):
    sandbox.timelog.options(wsdl_omit_operations=["ProjectManagementService.GetWorkChangeLogPaged"])
    findings = _findings(doctor())
    assert findings["timelog wsdl"]["status"] == "fail"
    assert "ProjectManagementService has no GetWorkChangeLogPaged" in findings["timelog wsdl"]["detail"]


def test_an_undefined_external_system_name_fails_once_the_sync_has_tasks(sandbox, doctor):
    """A task the sync made must be found by its key; under an undefined name TimeLog keeps none."""
    with Ledger.open(doctor.ledger_url) as ledger:
        _pair_task(ledger, "9001", str(sandbox.timelog.state()["tasks"][0]["task_id"]))
    sandbox.timelog.options(external_systems=["Jira"])
    finding = _findings(doctor())["external system name"]
    assert finding["status"] == "fail"
    assert "define the external system 'Forecast'" in finding["fix"]


def test_before_the_first_task_an_undefined_name_is_a_warning(sandbox, doctor):
    """Read-only, an undefined name answers like any undefined name: doctor cannot tell, and says so."""
    sandbox.timelog.options(external_systems=["Jira"])
    assert _findings(doctor())["external system name"]["status"] == "warn"


def test_a_task_feed_without_external_keys_is_reported_once_the_sync_has_tasks(sandbox, doctor):
    with Ledger.open(doctor.ledger_url) as ledger:
        task = sandbox.timelog.state()["tasks"][0]
        _pair_task(ledger, "9001", str(task["task_id"]))
    sandbox.timelog.options(task_feed_external_keys=False)
    findings = _findings(doctor())
    assert findings["task keys in the task feed"]["status"] == "warn"


def _pair_task(ledger: Ledger, forecast_id: str, timelog_id: str) -> None:
    """A task pair as a sync that created the task leaves it."""
    run = ledger.begin_run(Direction.FORECAST_TO_TIMELOG)
    ledger.record_plan(run, Direction.FORECAST_TO_TIMELOG, [PlannedPair(
        kind=PairKind.TASK, forecast_id=forecast_id, timelog_id=timelog_id, state=PairState.LINKED, base={})],
        [], {}, dry_run=False)


def test_a_guid_model_contradicting_the_ledger_fails(sandbox, doctor):
    sandbox.timelog.options(guid_model="work_unit")
    with Ledger.open(doctor.ledger_url) as ledger:
        ledger.record_fact(GUID_MODEL_FACT, "time_registration", "an earlier sync")
    findings = _findings(doctor())
    assert findings["guid model"]["status"] == "fail"
    assert "--write-probe" in findings["guid model"]["fix"]


def test_a_site_requiring_an_additional_text_fails_without_the_setting(sandbox, doctor, monkeypatch):
    sandbox.timelog.options(additional_text_validation=2)
    assert _findings(doctor())["additional text"]["status"] == "fail"
    monkeypatch.setenv("TARGET_TIMELOG_ADDITIONAL_TEXT", "From Forecast")
    assert _findings(doctor())["additional text"]["status"] == "ok"


def test_a_site_timezone_other_than_the_sites_fails(sandbox, doctor):
    sandbox.timelog.options(site_timezone="Europe/Copenhagen")
    finding = _findings(doctor())["site timezone"]
    assert finding["status"] == "fail"
    assert "UTC+01:00" in finding["detail"]


@pytest.mark.parametrize(("offset", "status"), [(120, "warn"), (2 * 24 * 3600, "fail")])
def test_a_skewed_timelog_clock_is_reported(sandbox, doctor, offset, status):
    sandbox.timelog.options(clock_offset_seconds=offset)
    assert _findings(doctor())["clock skew"]["status"] == status


def test_a_link_to_an_id_that_does_not_exist_fails(doctor):
    links = yaml.safe_load(doctor.links.read_text())
    links["projects"][0]["timelog"] = 999001
    doctor.links.write_text(yaml.safe_dump(links))
    finding = _findings(doctor())["links"]
    assert finding["status"] == "fail"
    assert "999001" in finding["detail"]


@pytest.mark.parametrize("model", GUID_MODELS)
def test_the_write_probe_finds_the_model_records_it_and_leaves_nothing(sandbox, doctor, tmp_path, model):
    sandbox.timelog.options(guid_model=model)
    with client_from_config(_timelog_config(sandbox, tmp_path / "setup.sqlite")) as client:
        [allocated] = client.batch(Service.PROJECT_MANAGEMENT, "AddEmployeeToTask", employeeID=API_EMPLOYEE,
                                   taskID=PROBE_TASK, BudgetHours=0.0)
        assert allocated.ok, allocated.message
    units_before = {u["guid"] for u in sandbox.timelog.state()["work_units"]}
    result = doctor("--write-probe", str(PROBE_TASK))
    findings = _findings(result)
    assert result.exit_code == 0, result.output
    assert findings["guid model"]["status"] == "ok"
    assert f"({model})" in findings["guid model"]["detail"]
    assert findings["change log shows the new unit"]["status"] == "ok"
    assert findings["change log shows the deletion"]["status"] == "ok"
    assert {u["guid"] for u in sandbox.timelog.state()["work_units"]} == units_before, "the probe unit is gone"
    with Ledger.open(doctor.ledger_url) as ledger:
        assert ledger.facts()[GUID_MODEL_FACT][0] == model


def test_the_write_probe_refuses_a_task_the_user_is_not_allocated_to(sandbox, doctor):
    result = doctor("--write-probe", str(PROBE_TASK))
    assert result.exit_code == 1
    assert "not allocated to task 1001" in _findings(result)["write probe"]["detail"]
    assert dt.date.today()  # the probe wrote nothing: see the unit count
    assert not [u for u in sandbox.timelog.state()["work_units"] if u["employee_id"] == API_EMPLOYEE]
