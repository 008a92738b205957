"""A tenant registry as Dagster definitions: per tenant a job that runs its `meltano run sync`, a schedule, and a
run slot (the tag the run queue limits to one run per tenant); one sensor that alerts on a failed run.

The registry comes from `timesync tenants list --json` and a tenant runs as `timesync tenants run NAME`: the
sync's own CLI is the one place that reads tenants.yml and builds a tenant's environment.

No `from __future__ import annotations` here: Dagster reads the op's and the sensor's `context` annotations, and
must find the classes there, not their names as text.
"""

import json
import os
import shutil
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster import OpExecutionContext, RunFailureSensorContext

from timesync_dagster.alerts import Alert, AlertHook, hook_from_config

#: The run tag dagster.yaml's tag_concurrency_limits keys on: one run at a time per value.
TENANT_TAG = "timesync/tenant"
#: Lines of a failed run's output the failure (and so the alert) quotes.
OUTPUT_TAIL_LINES = 40
#: How often the daemon looks for failed runs to alert on.
ALERT_SENSOR_INTERVAL_SECONDS = 10
#: `timesync tenants run`'s exit code for a wrong registry or a missing variable: no retry can fix it.
EXIT_CONFIG = 78
TENANTS_FILE_ENV = "TIMESYNC_TENANTS_FILE"
TIMESYNC_COMMAND_ENV = "TIMESYNC_COMMAND"


class RegistryError(RuntimeError):
    """`timesync tenants list` could not read the registry."""


@dataclass(frozen=True)
class Registry:
    """What `timesync tenants list --json` says: the file, the orchestrator settings and the tenants."""

    file: str
    orchestrator: dict[str, Any]
    tenants: list[dict[str, Any]]


def timesync_command() -> str:
    """The sync's CLI: $TIMESYNC_COMMAND, else `timesync` on PATH."""
    command = os.environ.get(TIMESYNC_COMMAND_ENV) or shutil.which("timesync")
    if not command:
        raise RegistryError(f"no `timesync` on PATH; set {TIMESYNC_COMMAND_ENV} to the sync's "
                            "`.venv/bin/timesync`")
    return command


def read_registry(tenants_file: str, command: str) -> Registry:
    """The registry, as the sync's CLI reads it."""
    done = subprocess.run([command, "--json", "tenants", "list", "--file", tenants_file], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RegistryError(f"`timesync tenants list --file {tenants_file}` failed: {done.stderr.strip()}")
    data = json.loads(done.stdout)
    return Registry(file=data["file"], orchestrator=data["orchestrator"], tenants=data["tenants"])


def job_name(tenant: str) -> str:
    """The tenant's Dagster job."""
    return f"sync_{tenant}"


def run_tenant_sync(registry: Registry, tenant: str, command: str, log: dg.DagsterLogManager) -> None:
    """`timesync tenants run TENANT`: its output to the step's captured stdout, a Failure if it fails."""
    argv = [command, "tenants", "run", "--file", registry.file, tenant]
    log.info(f"tenant {tenant}: {' '.join(argv[1:])}")
    tail: deque[str] = deque(maxlen=OUTPUT_TAIL_LINES)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None  # stdout=PIPE above
        for line in process.stdout:
            sys.stdout.write(line)  # Dagster keeps the step's stdout as its compute log
            tail.append(line.rstrip("\n"))
    if process.returncode != 0:
        raise dg.Failure(
            description=f"the sync of tenant {tenant} exited with {process.returncode}: {tail[-1] if tail else ''}",
            metadata={"exit_code": process.returncode, "output_tail": dg.MetadataValue.text("\n".join(tail))},
            allow_retries=process.returncode != EXIT_CONFIG,
        )


def tenant_job(registry: Registry, tenant: dict[str, Any], command: str) -> dg.JobDefinition:
    """One tenant's job: a single op around its sync, retried with exponential backoff."""
    name = tenant["name"]
    settings = registry.orchestrator

    @dg.op(name=f"meltano_run_sync_{name}",
           retry_policy=dg.RetryPolicy(max_retries=settings["retries"], delay=settings["retry_delay_seconds"],
                                       backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS))
    def meltano_run_sync(context: OpExecutionContext) -> None:
        run_tenant_sync(registry, name, command, context.log)

    @dg.job(name=job_name(name), tags={TENANT_TAG: name},
            description=f"`meltano run sync` for tenant {name} (state id suffix {tenant['state_id_suffix']}).")
    def sync_tenant() -> None:
        meltano_run_sync()

    return sync_tenant


def failure_sensor(hook: AlertHook) -> dg.SensorDefinition:
    """Calls ``hook`` once for every failed tenant run (after its retries)."""

    @dg.run_failure_sensor(name="alert_on_failed_sync", default_status=dg.DefaultSensorStatus.RUNNING,
                           minimum_interval_seconds=ALERT_SENSOR_INTERVAL_SECONDS)
    def alert_on_failed_sync(context: RunFailureSensorContext) -> None:
        run = context.dagster_run
        message = context.failure_event.message or "the run failed"
        hook(Alert(tenant=run.tags.get(TENANT_TAG, "?"), job=run.job_name, run_id=run.run_id, message=message))

    return alert_on_failed_sync


def build_definitions(registry: Registry, command: str) -> dg.Definitions:
    """Every tenant's job and schedule, and the failure sensor."""
    status = (dg.DefaultScheduleStatus.RUNNING if registry.orchestrator["schedule_running"]
              else dg.DefaultScheduleStatus.STOPPED)
    jobs = [tenant_job(registry, tenant, command) for tenant in registry.tenants]
    schedules = [
        dg.ScheduleDefinition(name=f"{job.name}_schedule", job=job, cron_schedule=tenant["schedule"],
                              execution_timezone="UTC", default_status=status)
        for tenant, job in zip(registry.tenants, jobs, strict=True)
    ]
    return dg.Definitions(jobs=jobs, schedules=schedules,
                          sensors=[failure_sensor(hook_from_config(registry.orchestrator["alert"]))])
