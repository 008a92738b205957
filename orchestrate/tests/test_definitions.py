"""The Dagster definitions of a tenant registry, run in-process against a stand-in `timesync` command.

The stand-in answers `--json tenants list` from a JSON file and, for `tenants run`, exits with the next code of
a script the test writes; it records every call. The real CLI and a real deployment are tested end to end in
tests/e2e/test_dagster_tenants.py.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import dagster as dg
import pytest

from timesync_dagster.definitions import (
    EXIT_CONFIG,
    TENANT_TAG,
    RegistryError,
    build_definitions,
    read_registry,
)

FAKE_TIMESYNC = """#!{python}
import json, pathlib, sys
here = pathlib.Path({here!r})
args = sys.argv[1:]
with (here / "calls.log").open("a") as log:
    log.write(" ".join(args) + "\\n")
if args[:3] == ["--json", "tenants", "list"]:
    print((here / "registry.json").read_text())
    sys.exit(0)
codes = json.loads((here / "exit-codes.json").read_text())
code = codes.pop(0) if codes else 0
(here / "exit-codes.json").write_text(json.dumps(codes))
print("meltano says hello from tenant", args[-1])
print("last line before exit", code)
sys.exit(code)
"""


def registry_json(retries: int = 2, schedule_running: bool = True) -> dict:
    return {
        "file": "/srv/tenants.yml", "project_root": "/srv",
        "orchestrator": {"schedule": "*/15 * * * *", "schedule_running": schedule_running, "retries": retries,
                         "retry_delay_seconds": 0, "alert": {"kind": "log"}},
        "tenants": [{"name": "acme", "environment": "prod", "state_id_suffix": "acme", "schedule": "*/15 * * * *"},
                    {"name": "globex", "environment": "prod", "state_id_suffix": "gx", "schedule": "5 * * * *"}],
    }


@pytest.fixture
def fake_timesync(tmp_path: Path) -> Path:
    command = tmp_path / "timesync"
    command.write_text(FAKE_TIMESYNC.format(python=sys.executable, here=str(tmp_path)), encoding="utf-8")
    command.chmod(command.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "registry.json").write_text(json.dumps(registry_json()), encoding="utf-8")
    (tmp_path / "exit-codes.json").write_text("[]", encoding="utf-8")
    return command


def calls(fake: Path) -> list[str]:
    log = fake.parent / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def definitions(fake: Path) -> dg.Definitions:
    return build_definitions(read_registry("/srv/tenants.yml", str(fake)), str(fake))


def test_every_tenant_gets_a_job_with_its_tag_and_a_schedule(fake_timesync: Path) -> None:
    defs = definitions(fake_timesync)
    repository = defs.get_repository_def()
    assert sorted(job.name for job in repository.get_all_jobs()) == ["sync_acme", "sync_globex"]
    assert repository.get_job("sync_globex").tags[TENANT_TAG] == "globex"
    schedules = {s.name: s for s in repository.schedule_defs}
    assert schedules["sync_acme_schedule"].cron_schedule == "*/15 * * * *"
    assert schedules["sync_globex_schedule"].cron_schedule == "5 * * * *"
    assert schedules["sync_acme_schedule"].job_name == "sync_acme"
    assert schedules["sync_acme_schedule"].default_status == dg.DefaultScheduleStatus.RUNNING
    assert [s.name for s in repository.sensor_defs] == ["alert_on_failed_sync"]
    assert calls(fake_timesync) == ["--json tenants list --file /srv/tenants.yml"]


def test_stopped_schedules_when_the_registry_says_so(fake_timesync: Path) -> None:
    (fake_timesync.parent / "registry.json").write_text(json.dumps(registry_json(schedule_running=False)))
    schedule = definitions(fake_timesync).get_repository_def().schedule_defs[0]
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_the_op_retries_with_exponential_backoff(fake_timesync: Path) -> None:
    [op] = definitions(fake_timesync).get_job_def("sync_acme").all_node_defs
    assert op.name == "meltano_run_sync_acme"
    policy = op.retry_policy
    assert policy.max_retries == 2
    assert policy.backoff == dg.Backoff.EXPONENTIAL


def test_a_failed_sync_is_retried_and_then_succeeds(fake_timesync: Path) -> None:
    (fake_timesync.parent / "exit-codes.json").write_text("[1, 0]")
    result = definitions(fake_timesync).get_job_def("sync_acme").execute_in_process()
    assert result.success
    runs = [c for c in calls(fake_timesync) if c.startswith("tenants run")]
    assert runs == ["tenants run --file /srv/tenants.yml acme"] * 2


def test_a_sync_that_keeps_failing_fails_the_run_with_its_output(fake_timesync: Path) -> None:
    (fake_timesync.parent / "exit-codes.json").write_text("[1, 1, 1, 1]")
    result = definitions(fake_timesync).get_job_def("sync_globex").execute_in_process(raise_on_error=False)
    assert not result.success
    assert len([c for c in calls(fake_timesync) if c.startswith("tenants run")]) == 3  # the first and 2 retries
    failure = result.failure_data_for_node("meltano_run_sync_globex")
    assert failure is not None
    assert "the sync of tenant globex exited with 1: last line before exit 1" in failure.user_failure_data.description
    assert "meltano says hello from tenant globex" in failure.user_failure_data.metadata["output_tail"].text


def test_a_configuration_error_is_not_retried(fake_timesync: Path) -> None:
    (fake_timesync.parent / "exit-codes.json").write_text(f"[{EXIT_CONFIG}, 0]")
    result = definitions(fake_timesync).get_job_def("sync_acme").execute_in_process(raise_on_error=False)
    assert not result.success
    assert len([c for c in calls(fake_timesync) if c.startswith("tenants run")]) == 1


def test_a_registry_the_cli_refuses_stops_the_location_with_its_message(tmp_path: Path) -> None:
    refusing = tmp_path / "timesync"
    refusing.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('Error: tenants.yml, line 3: bad')\n"
                        "sys.exit(1)\n")
    refusing.chmod(0o755)
    with pytest.raises(RegistryError, match=r"tenants\.yml, line 3: bad"):
        read_registry("tenants.yml", str(refusing))
