"""A real Dagster deployment of orchestrate/ for the tests and the bench: the daemon and the webserver as their own
processes, storage in PostgreSQL, runs launched and read through the webserver's GraphQL API.

Also throwaway PostgreSQL databases on the server the tests use (TIMESYNC_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

from sandbox import credentials

REPO_ROOT = Path(__file__).resolve().parent.parent
ORCHESTRATE = REPO_ROOT / "orchestrate"
#: Dagster's own virtualenv (`make install`), and the sync's CLI in this one.
DAGSTER_BIN = REPO_ROOT / ".venv-dagster" / "bin"
TIMESYNC = Path(sys.executable).with_name("timesync")
LOCATION = "timesync"
REPOSITORY = "__repository__"
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})

_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
_RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId jobName status startTime endTime tags { key value } } }
  }
}"""
_SCHEDULES = """
query {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes { name location { name } schedules { name cronSchedule executionTimezone pipelineName
                                                scheduleState { status } } }
    }
  }
}"""


def sandbox_tenant(name: str) -> dict[str, Any]:
    """tenants.yml's entry for a tenant on a sandbox pair: its URLs, secrets and ledger in <NAME>_* variables."""
    upper = name.upper()
    return {
        "name": name, "environment": "isolated", "ledger_url": f"${{{upper}_LEDGER_URL}}",
        "links_path": f"links-{name}.yml",
        "forecast": {"base_url_env": f"{upper}_FORECAST_URL", "api_key_env": f"{upper}_FORECAST_KEY"},
        "timelog": {"domain_env": f"{upper}_TIMELOG_URL", "account": credentials.TIMELOG_ACCOUNT,
                    "username": credentials.TIMELOG_USERNAME, "password_env": f"{upper}_TIMELOG_PASSWORD",
                    "site_code_env": f"{upper}_TIMELOG_SITE_CODE",
                    "reporting_username": credentials.TIMELOG_REPORTING_USERNAME,
                    "reporting_password_env": f"{upper}_TIMELOG_REPORTING_PASSWORD"},
    }


def sandbox_tenant_env(name: str, forecast_url: str, timelog_url: str, ledger_url: str) -> dict[str, str]:
    """The variables sandbox_tenant names, for a sandbox pair at these URLs."""
    upper = name.upper()
    return {
        f"{upper}_LEDGER_URL": ledger_url, f"{upper}_FORECAST_URL": forecast_url,
        f"{upper}_FORECAST_KEY": credentials.FORECAST_API_KEY, f"{upper}_TIMELOG_URL": timelog_url,
        f"{upper}_TIMELOG_PASSWORD": credentials.TIMELOG_PASSWORD,
        f"{upper}_TIMELOG_SITE_CODE": credentials.TIMELOG_SITE_CODE,
        f"{upper}_TIMELOG_REPORTING_PASSWORD": credentials.TIMELOG_REPORTING_PASSWORD,
    }


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresDatabases:
    """Throwaway databases on the server of ``admin_url`` (an SQLAlchemy URL), dropped on close."""

    admin_url: str
    prefix: str = field(default_factory=lambda: f"ts_{uuid.uuid4().hex[:8]}")
    created: list[str] = field(default_factory=list)

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url("postgres", driver=""), autocommit=True)

    def url(self, database: str, *, driver: str = "psycopg") -> str:
        """A URL of ``database`` on the server, for SQLAlchemy with ``driver`` (Dagster's is psycopg2), or for
        libpq with none."""
        parts = urlsplit(self.admin_url)
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return urlunsplit((scheme, parts.netloc, f"/{database}", "", ""))

    def create(self, name: str) -> str:
        """Create database <prefix>_<name>; return its name."""
        database = f"{self.prefix}_{name}"
        with self._connect() as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        self.created.append(database)
        return database

    def close(self) -> None:
        """Drop every database this created."""
        with self._connect() as connection:
            for database in self.created:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.created.clear()


@dataclass
class DagsterDeployment:
    """`dagster-daemon run` and `dagster-webserver` on the orchestrate/ code location, DAGSTER_HOME in ``home``."""

    home: Path
    tenants_file: Path
    postgres_url: str
    env: dict[str, str] = field(default_factory=dict)
    max_concurrent_runs: int = 2
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        """The daemon's and the webserver's environment."""
        return dict(os.environ) | self.env | {
            "DAGSTER_HOME": str(self.home),
            "TIMESYNC_TENANTS_FILE": str(self.tenants_file),
            "TIMESYNC_DAGSTER_POSTGRES_URL": self.postgres_url,
            "TIMESYNC_DAGSTER_MAX_CONCURRENT_RUNS": str(self.max_concurrent_runs),
            "TIMESYNC_COMMAND": str(TIMESYNC),
        }

    @property
    def url(self) -> str:
        """The webserver."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, daemon: bool = True, timeout: float = 120) -> DagsterDeployment:
        """Start the webserver (and the daemon), and wait until the webserver has loaded the code location."""
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(ORCHESTRATE / "dagster.yaml", self.home / "dagster.yaml")
        workspace = str(ORCHESTRATE / "workspace.yaml")
        logs = self.home / "logs"
        logs.mkdir(exist_ok=True)
        commands = [("webserver", [str(DAGSTER_BIN / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1",
                                   "-p", str(self.port)])]
        if daemon:
            commands.append(("daemon", [str(DAGSTER_BIN / "dagster-daemon"), "run", "-w", workspace]))
        for name, argv in commands:
            with (logs / f"{name}.log").open("wb") as log:
                self.processes.append(subprocess.Popen(argv, cwd=self.home, env=self.environment(), stdout=log,
                                                       stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.schedules():
                    return self
            except (requests.RequestException, KeyError, TypeError):
                pass
            if any(process.poll() is not None for process in self.processes):
                break
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"Dagster did not come up; see {logs}: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the daemon's and the webserver's logs."""
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}"
                         for path in sorted((self.home / "logs").glob("*.log")))

    def stop(self) -> None:
        """Stop both processes (and the runs they started)."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> DagsterDeployment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """One GraphQL request to the webserver."""
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def schedules(self) -> list[dict[str, Any]]:
        """Every schedule the webserver lists for the code location."""
        nodes = self.graphql(_SCHEDULES)["repositoriesOrError"]["nodes"]
        return [schedule for node in nodes if node["location"]["name"] == LOCATION for schedule in node["schedules"]]

    def launch(self, job: str) -> str:
        """Submit a run of ``job`` (it queues; the daemon starts it when the run queue allows); return its id."""
        result = self.graphql(_LAUNCH, params={
            "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job},
            "runConfigData": {},
        })["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launching {job} failed: {result}")
        run_id: str = result["run"]["runId"]
        return run_id

    def runs(self, run_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Runs (all, or these), newest first, with status, start and end times and tags."""
        run_filter = {"runIds": run_ids} if run_ids else {}
        results: list[dict[str, Any]] = self.graphql(_RUNS, filter=run_filter)["runsOrError"]["results"]
        return results

    def wait(self, run_ids: list[str], timeout: float = 900) -> list[dict[str, Any]]:
        """Wait until every run has finished; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs(run_ids)
            if len(runs) == len(run_ids) and all(run["status"] in FINISHED for run in runs):
                return runs
            time.sleep(2)
        raise TimeoutError(f"runs not finished after {timeout} s: {self.runs(run_ids)}\n{self.log_tail()}")

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = 120) -> None:
        """Wait until ``condition()`` is true (e.g. the failure sensor's alert has arrived)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen within {timeout} s\n{self.log_tail()}")
            time.sleep(1)
