"""tap-timelog against the TimeLog sandbox: incremental work, deletions, tokens, faults, secrets, login errors."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

import pytest

from sandbox import credentials
from sandbox.testing import SandboxProcess
from sandbox.timelog.demo import DEMO_TODAY
from tap_timelog.records import keyed, work_record
from timelog_api.client import client_from_config
from timelog_api.guids import GuidModel
from timelog_api.items import require_work_item
from timelog_api.services import Service
from timesync.adapters import TimeLogAdapter

from .conftest import SyncResult, run_tap

WORK_STREAMS = {"work", "work_deletions"}
SECRETS = (credentials.TIMELOG_PASSWORD, credentials.TIMELOG_SITE_CODE, credentials.TIMELOG_REPORTING_PASSWORD)
#: Injected faults: 10% of requests fail one way or another, drawn from a fixed seed.
FAULTS = {"error_rate": 0.05, "statuses": [500, 502, 503, 429], "malformed_rate": 0.04, "timeout_rate": 0.01,
          "timeout_hold_ms": 200, "retry_after_seconds": 0, "seed": 20261125}
#: Seeds for which the demo run meets 429, 500, a timeout, and truncated, wrong-type and missing-field answers.
FAULT_SEEDS = (1, 9, 11, 12)


def open_units(state: dict, days_ago: int, today: dt.date) -> list[dict]:
    """Open (not approved) work units of the sandbox dated about `days_ago` days back, oldest first."""
    wanted = today - dt.timedelta(days=days_ago)
    units = [u for u in state["work_units"] if u["approved_status"] == 0
             and abs((dt.date.fromisoformat(u["start_at"][:10]) - wanted).days) <= 3]
    return sorted(units, key=lambda u: u["start_at"])


def work_unit_payload(unit: dict, initials: str, description: str) -> dict:
    start = dt.datetime.fromisoformat(unit["start_at"])
    duration = dt.timedelta(minutes=unit["minutes"])
    return {"GUID": unit["guid"], "TaskID": unit["task_id"], "EmployeeInitials": initials, "Duration": duration,
            "StartDateTime": start, "EndDateTime": start + duration, "Description": description}


def comparable(result: SyncResult) -> dict[str, list]:
    """Every stream's records in key order; deletions by GUID only (their time is when the tap saw them)."""
    keys = {"work": "work_unit_guid", "work_deletions": "work_unit_guid", "tasks": "task_id",
            "employees": "employee_id", "projects": "project_id", "customers": "customer_id",
            "allocations": "allocation_id", "departments": "department_id"}
    out = {name: sorted(result.records[name], key=lambda r, k=key: r[k]) for name, key in keys.items()}
    out["work_deletions"] = [r["work_unit_guid"] for r in out["work_deletions"]]
    return out


def test_a_second_run_emits_only_changed_work_including_an_edit_to_an_old_entry(
    timelog_sandbox: SandboxProcess, config: dict,
) -> None:
    """Work is incremental by modification time: a 2-month-old registration edited today is read again."""
    first = run_tap({**config, "overlap_seconds": 0}, streams=WORK_STREAMS)
    assert first.records["work"], "the demo data has work"
    state = timelog_sandbox.timelog.state()
    today = DEMO_TODAY  # the demo's registrations are dated relative to it, not to the wall clock
    initials = {e["employee_id"]: e["initials"] for e in state["employees"]}
    old, recent = open_units(state, 60, today)[0], open_units(state, 3, today)[-1]
    deleted = open_units(state, 10, today)[0]

    with client_from_config(config) as client:
        updated = client.batch(Service.PROJECT_MANAGEMENT, "UpdateWork", source=0, work={"WorkUnit": [
            work_unit_payload(old, initials[old["employee_id"]], "edited two months later"),
            work_unit_payload(recent, initials[recent["employee_id"]], "edited this week"),
        ]})
        assert [r.ok for r in updated] == [True, True], updated
        removed = client.batch(Service.PROJECT_MANAGEMENT, "DeleteWork", source=0,
                                    work={"guid": [deleted["guid"]]})
        assert removed[0].ok, removed

    second = run_tap({**config, "overlap_seconds": 0}, state=first.state, streams=WORK_STREAMS)

    emitted = second.keys("work", "work_unit_guid")
    assert emitted == {old["guid"], recent["guid"]}, "only what changed after the first read"
    by_guid = {r["work_unit_guid"]: r for r in second.records["work"]}
    assert by_guid[old["guid"]]["note"] == "edited two months later"
    assert by_guid[old["guid"]]["minutes"] == old["minutes"]
    assert by_guid[old["guid"]]["date"] == old["start_at"][:10]
    assert deleted["guid"] in second.keys("work_deletions", "work_unit_guid")
    assert deleted["guid"] not in emitted


def test_quiet_runs_read_one_change_log_page_and_no_work_rows(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """A burst written just before a run is read by that run only: later runs skip the change-log entries an
    earlier run read (the log filters by whole days, and the overlap would take in the burst's tail)."""
    state = timelog_sandbox.timelog.state()
    initials = {e["employee_id"]: e["initials"] for e in state["employees"]}
    burst = open_units(state, 5, DEMO_TODAY)[:40]
    with client_from_config(config) as client:
        assert all(r.ok for r in client.batch(Service.PROJECT_MANAGEMENT, "UpdateWork", source=0, work={
            "WorkUnit": [work_unit_payload(u, initials[u["employee_id"]], "burst") for u in burst]}))
    # The burst is inside the next run's overlap (it ends right before the first read): the cursor remembers
    # those entries as read, so the next run does not read them again.
    first = run_tap(config, streams=WORK_STREAMS)  # reads by date, and notes the change log's length and tail
    assert first.state["bookmarks"]["work"]["change_log"]["seen"], "the burst is inside the overlap"
    timelog_sandbox.timelog.clear_stats()
    second = run_tap(config, state=first.state, streams=WORK_STREAMS)
    assert second.records["work"] == []
    calls = timelog_sandbox.timelog.stats()["requests"]
    assert calls.get("ProjectManagementService.GetWorkChangeLogPaged") == 2, calls  # work, work_deletions
    assert "Reporting.GetWorkUnitsRawPaged" not in calls, calls

    edited = burst[0]
    with client_from_config(config) as client:
        assert client.batch(Service.PROJECT_MANAGEMENT, "UpdateWork", source=0, work={"WorkUnit": [
            work_unit_payload(edited, initials[edited["employee_id"]], "edited after the burst")]})[0].ok
    third = run_tap(config, state=second.state, streams=WORK_STREAMS)
    assert third.keys("work", "work_unit_guid") == {edited["guid"]}


def test_deletions_appear_in_work_deletions(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """TimeLog shows deletions only in its change log; every deleted GUID in it is emitted."""
    state = timelog_sandbox.timelog.state()
    expected = {e["work_guid"] for e in state["change_log"] if e["action"] == "Deleted"}
    result = run_tap(config, streams={"work_deletions"})
    assert expected, "the demo data has deletions in its change log"
    assert result.keys("work_deletions", "work_unit_guid") == expected
    assert all(r["deleted_at"].endswith("Z") for r in result.records["work_deletions"])


def test_a_bookmark_older_than_the_change_log_falls_back_to_a_rolling_window(
    config: dict, caplog: pytest.LogCaptureFixture,
) -> None:
    """The change log reaches 3 months back: an older bookmark re-reads by date, and says so."""
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = {"bookmarks": {"work": {"replication_key": "modified_at", "replication_key_value": old}}}
    with caplog.at_level(logging.WARNING):
        result = run_tap(config, state=state, streams={"work"})
    assert "older than TimeLog's 3-month change log" in caplog.text
    assert result.records["work"]
    assert all(r["modified_at"] >= old for r in result.records["work"])


@pytest.mark.parametrize("seed", FAULT_SEEDS)
def test_with_faults_injected_the_output_equals_a_clean_run(
    timelog_sandbox: SandboxProcess, config: dict, seed: int,
) -> None:
    """5xx, 429, timeouts and malformed answers are retried; nothing is skipped or doubled."""
    clean = run_tap(config)
    timelog_sandbox.timelog.clear_stats()
    timelog_sandbox.timelog.faults(**{**FAULTS, "seed": seed})
    faulty = run_tap(config)
    timelog_sandbox.timelog.faults()
    assert sum(timelog_sandbox.timelog.stats()["faults"].values()) > 0, "faults were injected"
    assert comparable(faulty) == comparable(clean)


def test_a_token_expiring_mid_run_is_refreshed_and_the_call_retried(config: dict) -> None:
    """With 1-second tokens, a run spans several tokens; a call with an expired one is retried once."""
    with SandboxProcess(data="demo", extra_args=["--token-ttl", "1"]) as short_lived:
        if not short_lived.timelog_url:
            pytest.skip("the sandbox has no TimeLog simulator")
        short_config = {**config, "domain": short_lived.timelog_url}
        with client_from_config(short_config) as client:
            client.fetch(Service.ORGANISATION, "GetDepartments")
            time.sleep(1.5)
            # Pretend the token is still good (a clock skew), so the server is the one to say it expired.
            client._token_refresh_at = dt.datetime.max.replace(tzinfo=dt.UTC)
            assert client.fetch(Service.ORGANISATION, "GetDepartments")
        assert short_lived.timelog.stats()["requests"]["SecurityService.GetToken"] == 2
        short_lived.timelog.faults(latency_ms=150)
        result = run_tap(short_config, streams={"work", "work_deletions", "tasks", "employees"})
        assert result.records["work"]
        assert short_lived.timelog.stats()["requests"]["SecurityService.GetToken"] > 3


def test_secrets_never_reach_the_logs(
    timelog_sandbox: SandboxProcess, config: dict, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture,
) -> None:
    """GetToken echoes the password and Reporting calls carry the site code: neither may be logged, even at DEBUG."""
    timelog_sandbox.timelog.faults(**FAULTS)
    with caplog.at_level(logging.DEBUG):
        result = run_tap(config)
    timelog_sandbox.timelog.faults()
    assert "HTTP" in caplog.text or "POST" in caplog.text, "DEBUG logging was captured"
    text = caplog.text + capsys.readouterr().err + str(result.messages)
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"password": "wrong-password"}, "Transactional login failed"),
        ({"site_code": "WRONG-SITE-CODE"}, "Reporting login failed"),
        ({"reporting_username": "nobody"}, "Reporting login failed"),
        ({"reporting_password": "wrong-reporting-password"}, "Reporting login failed"),
    ],
)
def test_a_wrong_login_ends_the_run_with_one_clear_line(config: dict, override: dict, expected: str) -> None:
    """The message says which login failed and what to check, on one line, without any secret."""
    with pytest.raises(SystemExit) as stopped:
        run_tap({**config, **override}, streams={"work", "employees"})
    message = str(stopped.value.code)
    assert expected in message
    assert "\n" not in message
    for secret in (*SECRETS, *override.values()):
        if secret not in ("nobody",):
            assert secret not in message


def test_a_wrong_account_names_the_settings_to_check(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """A 404 on the WSDL means the domain or account is wrong."""
    with pytest.raises(SystemExit) as stopped:
        run_tap({**config, "account": "no-such-account"}, streams={"employees"})
    assert "check the domain and account" in str(stopped.value.code)


def test_employees_and_projects_read_raw_match_the_streams(config: dict) -> None:
    """The timesync CLI reads employees and projects through the client, raw, and converts them with the adapter;
    they equal what the adapter makes of the tap's records."""
    result = run_tap(config, streams={"employees", "projects"})
    adapter = TimeLogAdapter()
    with client_from_config(config) as client:
        people = client.employees(parse=adapter.person_from_reporting)
        projects = client.projects(parse=adapter.project_from_reporting)
    assert people == [p for r in result.records["employees"] for p in adapter.to_canonical("employees", r)]
    assert projects == [p for r in result.records["projects"] for p in adapter.to_canonical("projects", r)]
    assert len(people) == len(result.records["employees"]) > 0
    assert all(e["employee_guid"] and e["user_id"] for e in result.records["employees"])


def test_a_task_created_with_an_external_key_is_emitted_with_it(timelog_sandbox: SandboxProcess, config: dict) -> None:
    """target-timelog stores Forecast task ids as external keys; the tasks stream must carry them back."""
    first = run_tap(config, streams={"tasks"})
    project_id = first.records["tasks"][0]["project_id"]
    today = dt.datetime.combine(dt.date.today(), dt.time())
    task = {"ID": str(uuid.uuid4()), "Name": "From Forecast", "No": "F-1", "StartDate": today,
            "EndDate": today + dt.timedelta(days=30), "State": {"IsActive": True}, "IsExternalKeysLoaded": True,
            "ExternalKeys": {"ExternalSystemContext": [{"SystemName": "Forecast", "ExternalID": "4711"}]}}
    with client_from_config(config) as client:
        created = client.batch(Service.PROJECT_MANAGEMENT, "CreateTask", task=task, projectID=project_id)
    assert created[0].ok, created
    second = run_tap({**config, "overlap_seconds": 0}, state=first.state, streams={"tasks"})
    by_guid = {r["task_guid"]: r for r in second.records["tasks"]}
    assert by_guid[task["ID"]]["external_keys"] == [{"system_name": "Forecast", "external_id": "4711"}]
    assert by_guid[task["ID"]]["parent_task_id"] is None
    assert by_guid[task["ID"]]["project_id"] == project_id


@pytest.mark.parametrize("model", list(GuidModel))
def test_work_items_read_raw_give_the_entries_of_the_work_records(config: dict, model: GuidModel) -> None:
    """`timesync report` and `doctor` read Reporting work items raw; the adapter makes of each the entry that the
    tap's `work` record of it, keyed the same way, gives."""
    adapter = TimeLogAdapter()
    with client_from_config(config) as client:
        first = DEMO_TODAY - dt.timedelta(days=25)  # the site allows at most 31 days per call
        items = list(client.reporting_paged(
            "GetWorkUnitsRawPaged", page_size=500, workUnitID=0, employeeID=0, allocationID=0, taskID=0, projectID=0,
            departmentID=0, startDate=first.isoformat(), endDate=DEMO_TODAY.isoformat(), parse=require_work_item))
        tz = client.site_tz
    assert len(items) > 10
    for item in items:
        [from_record] = adapter.to_canonical("work", keyed(model, work_record(item, tz, {})))
        assert adapter.entry_from_reporting(item, model, tz) == from_record
