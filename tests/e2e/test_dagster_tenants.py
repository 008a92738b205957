"""Many company pairs on Dagster (issue 20): three tenants against three sandbox pairs, and one that cannot reach
its services, run by a real Dagster daemon and webserver with PostgreSQL storage, each tenant's ledger and
Meltano's state in PostgreSQL too.

Every run goes through the whole deployment: the webserver's GraphQL launches it, the run queue holds it until
its tenant's slot is free, the daemon starts it, the op runs the tenant's `meltano run sync`.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg.rows import dict_row

from sandbox import credentials
from sandbox.editors import ForecastEditor
from sandbox.orchestrator import DagsterDeployment, PostgresDatabases, sandbox_tenant, sandbox_tenant_env
from sandbox.roster import demo_links
from sandbox.testing import SandboxProcess
from tests.e2e.suites.checks import World, convergence_problems

# guid_model_neutral: what is tested here is around the sync (the orchestrator, the tenants' isolation); the
# sync under TimeLog's other GUID model is tested by every other end-to-end test.
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.suite, pytest.mark.guid_model_neutral,
              pytest.mark.xdist_group("dagster")]

POSTGRES_URL = os.environ.get("TIMESYNC_TEST_POSTGRES_URL")
TENANTS = ("alpha", "bravo", "charlie")
BROKEN = "delta"
SOME_DAY = "2026-11-25"
TIMESYNC = Path(os.sys.executable).with_name("timesync")


@dataclass
class PostgresLedger:
    """The read the convergence check needs, on a tenant's Postgres ledger."""

    url: str

    def pairs(self, kind: str = "time_entry") -> list[dict]:
        with psycopg.connect(self.url.replace("+psycopg", ""), row_factory=dict_row) as connection:
            return list(connection.execute("SELECT * FROM pairs WHERE kind = %s ORDER BY id", (kind,)))


class _AlertReceiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _marker_registration(sandbox: SandboxProcess, tenant: str) -> str:
    """A registration only this tenant's Forecast has; its note names the tenant."""
    state = sandbox.forecast.state()
    linked = {int(link["forecast"]) for link in demo_links()["projects"]}
    persons = {int(link["forecast"]) for link in demo_links()["persons"]}
    task = next(t for t in state["tasks"] if t["project_id"] in linked and not t["parent_task_id"])
    note = f"only in tenant {tenant}"
    ForecastEditor(sandbox.forecast_url).create_registration(person=min(persons), date=SOME_DAY, minutes=45,
                                                              task=task["id"], notes=note)
    return note


@dataclass
class Deployment:
    """Everything the tests read: the sandboxes, the deployment, the finished runs, the alerts received."""

    sandboxes: dict[str, SandboxProcess]
    markers: dict[str, str]
    ledgers: dict[str, str]
    dagster: DagsterDeployment
    runs: list[dict]
    alerts: list[dict]


@pytest.fixture(scope="module")
def deployment(small_world: tuple[dict, dict], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Three tenants (a sandbox pair each) and a broken one; every tenant triggered twice at once."""
    if not POSTGRES_URL:
        pytest.skip("set TIMESYNC_TEST_POSTGRES_URL to a throwaway Postgres server (.ci/run starts one) to run "
                    "the Dagster tests")
    workdir = tmp_path_factory.mktemp("dagster")
    databases = PostgresDatabases(POSTGRES_URL)
    sandboxes = {name: SandboxProcess(data="demo").start() for name in TENANTS}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AlertReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _AlertReceiver.received = []
    try:
        forecast_state, timelog_state = small_world
        markers = {}
        for name, sandbox in sandboxes.items():
            sandbox.forecast.reset(forecast_state)
            sandbox.timelog.reset(timelog_state)
            markers[name] = _marker_registration(sandbox, name)
        for name in (*TENANTS, BROKEN):
            (workdir / f"links-{name}.yml").write_text(yaml.safe_dump(demo_links(), sort_keys=False),
                                                       encoding="utf-8")
        registry = {
            "project_root": str(Path(__file__).resolve().parents[2]),
            "sys_root": "sys",
            "meltano_database_uri": databases.url(databases.create("meltano")),
            "orchestrator": {"schedule_status": "stopped", "retries": 1, "retry_delay_seconds": 1,
                             "alert": {"kind": "webhook", "url_env": "TEST_ALERT_URL"}},
            "tenants": [sandbox_tenant(name) for name in (*TENANTS, BROKEN)],
        }
        tenants_file = workdir / "tenants.yml"
        tenants_file.write_text(yaml.safe_dump(registry, sort_keys=False), encoding="utf-8")
        ledgers = {name: databases.url(databases.create(name)) for name in (*TENANTS, BROKEN)}
        env = {"TEST_ALERT_URL": f"http://127.0.0.1:{server.server_port}/alert"}
        for name, sandbox in sandboxes.items():
            env |= sandbox_tenant_env(name, sandbox.forecast_url, sandbox.timelog_url, ledgers[name])
        # Nothing listens on port 9: the broken tenant's runs fail at their first request.
        env |= sandbox_tenant_env(BROKEN, "http://127.0.0.1:9", "http://127.0.0.1:9", ledgers[BROKEN])
        for command in ("check", "prepare"):
            done = subprocess.run([str(TIMESYNC), "tenants", command, "--file", str(tenants_file)],
                                  env=os.environ | env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"timesync tenants {command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
        dagster = DagsterDeployment(workdir / "dagster-home", tenants_file,
                                    databases.url(databases.create("dagster"), driver="psycopg2"), env=env,
                                    max_concurrent_runs=3)
        with dagster:
            run_ids = [dagster.launch(f"sync_{name}") for _ in range(2) for name in (*TENANTS, BROKEN)]
            runs = dagster.wait(run_ids)
            dagster.wait_for(lambda: _AlertReceiver.received, what="the failure alert")
            yield Deployment(sandboxes, markers, ledgers, dagster, runs, _AlertReceiver.received)
    finally:
        server.shutdown()
        server.server_close()
        for sandbox in sandboxes.values():
            sandbox.stop()
        databases.close()


def _tenant(run: dict) -> str:
    return next(tag["value"] for tag in run["tags"] if tag["key"] == "timesync/tenant")


def test_webserver_lists_a_15_minute_schedule_per_tenant(deployment: Deployment) -> None:
    schedules = {s["name"]: s for s in deployment.dagster.schedules()}
    assert set(schedules) == {f"sync_{name}_schedule" for name in (*TENANTS, BROKEN)}
    for name, schedule in schedules.items():
        assert schedule["cronSchedule"] == "*/15 * * * *", name
        assert schedule["executionTimezone"] == "UTC"
        assert schedule["pipelineName"] == name.removesuffix("_schedule")
        assert schedule["scheduleState"]["status"] == "STOPPED"  # tenants.yml: schedule_status stopped


def test_each_tenant_converges_and_no_data_crosses(deployment: Deployment) -> None:
    by_tenant: dict[str, list[str]] = {}
    for run in deployment.runs:
        by_tenant.setdefault(_tenant(run), []).append(run["status"])
    for name in TENANTS:
        assert by_tenant[name] == ["SUCCESS", "SUCCESS"], (name, deployment.dagster.log_tail())
    for name, sandbox in deployment.sandboxes.items():
        forecast, timelog = sandbox.forecast.state(), sandbox.timelog.state()
        world = World.read(forecast, timelog, demo_links(), PostgresLedger(deployment.ledgers[name]))
        assert convergence_problems(world) == [], name
        assert world.pairs, f"tenant {name}'s ledger holds no pairs"
        notes = [unit.get("description") for unit in timelog["work_units"]]
        assert notes.count(deployment.markers[name]) == 1, f"{name}'s own entry is not in its TimeLog once"
        others = [deployment.markers[other] for other in TENANTS if other != name]
        assert not [note for note in notes if note in others], f"another tenant's entry reached {name}'s TimeLog"


def test_two_triggers_of_one_tenant_never_overlap(deployment: Deployment) -> None:
    for name in (*TENANTS, BROKEN):
        runs = sorted((r for r in deployment.runs if _tenant(r) == name), key=lambda r: r["startTime"])
        assert len(runs) == 2
        first, second = runs
        assert first["endTime"] <= second["startTime"], (
            f"tenant {name}: run {second['runId']} started at {datetime.fromtimestamp(second['startTime'])}, "
            f"before {first['runId']} ended at {datetime.fromtimestamp(first['endTime'])}")


def test_runs_of_different_tenants_do_overlap(deployment: Deployment) -> None:
    """The slot is per tenant, not global: with three run slots, some two tenants ran at the same time."""
    spans = [(r["startTime"], r["endTime"], _tenant(r)) for r in deployment.runs]
    assert any(a[0] < b[1] and b[0] < a[1] and a[2] != b[2] for a in spans for b in spans)


def test_a_failing_tenant_fails_alone_and_alerts(deployment: Deployment) -> None:
    broken = [r for r in deployment.runs if _tenant(r) == BROKEN]
    assert [r["status"] for r in broken] == ["FAILURE", "FAILURE"]
    assert all(r["status"] == "SUCCESS" for r in deployment.runs if _tenant(r) != BROKEN)
    alert = deployment.alerts[0]
    assert alert["tenant"] == BROKEN
    assert alert["job"] == f"sync_{BROKEN}"
    assert alert["run_id"] in {r["runId"] for r in broken}
    assert BROKEN in alert["text"]
    assert credentials.TIMELOG_PASSWORD not in json.dumps(deployment.alerts)
