"""Backfills: a link that appears (or whose start date moves earlier) gets its history synced with no manual step.

An incremental run reads only what changed since the last one, so the entries a new link brings into scope, which
nobody touched, would never arrive. The reconcile step queues a backfill in the ledger when it sees the change
(`Ledger.request_backfills`); `timesync finish`, the last task of job `sync`, runs each queued one as one more
`meltano run` of both pipelines:

- `--full-refresh --no-state-update`: the taps read from the beginning, and Meltano's bookmarks stay those of the
  incremental runs, so the next scheduled run carries on exactly where it would have;
- the taps' own filters (`project_ids`, `person_ids`, `employee_ids`; tap-timelog's `start_date` for a link with
  a start date) keep the read to that link's pages;
- the mapper's `backfill` setting tells it the input is partial: it neither replaces its directory of projects and
  persons with the filtered one nor checks the bookmarks of a read Meltano never resumes.

The backfill runs under the job's run lock (the inner `meltano` is a descendant of the holder). The pairs in the
ledger make it idempotent: an entry already synced is planned as unchanged, so a retried or repeated backfill
writes nothing twice.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from timesync.ledger import Backfill, BackfillState, Ledger
from timesync.links import BackfillRequest

logger = logging.getLogger(__name__)

#: Both pipelines of job `sync`, in its order: Forecast tasks reach TimeLog before TimeLog's time comes back.
SYNC_PIPELINES = (("tap-forecast--sync", "target-timelog"), ("tap-timelog--sync", "target-forecast"))
#: The mapper's `backfill` setting, as Meltano reads it from the environment.
MAPPER_BACKFILL_ENV = "TIMESYNC_RECONCILE_BACKFILL"
#: How each tap's filter settings are named in the environment (the sync taps inherit from tap-forecast and
#: tap-timelog; Meltano reads an inherited plugin's settings from `<NAME>_<SETTING>`).
FORECAST_TAP_ENV = "TAP_FORECAST__SYNC_"
TIMELOG_TAP_ENV = "TAP_TIMELOG__SYNC_"

Runner = Callable[[list[str], dict[str, str]], int]


def meltano_executable() -> str:
    """The `meltano` that started this process (the job's), else the one on PATH, else a sibling of Python."""
    try:
        parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")
    except OSError:
        parent = []
    for arg in (part.decode() for part in parent if part):
        if Path(arg).name == "meltano":
            return arg
    return shutil.which("meltano") or str(Path(sys.executable).with_name("meltano"))


def backfill_argv(meltano: str) -> list[str]:
    """The `meltano run` of one backfill: both pipelines, from the beginning, leaving Meltano's state alone."""
    blocks = [part for tap, target in SYNC_PIPELINES for part in (tap, "reconcile", target)]
    return [meltano, "run", "--full-refresh", "--no-state-update", *blocks]


def backfill_env(request: BackfillRequest) -> dict[str, str]:
    """The settings that narrow both taps to this link's history, and the mapper's partial-input switch."""
    env = {MAPPER_BACKFILL_ENV: "true"}
    if request.kind == "project":
        env[f"{FORECAST_TAP_ENV}PROJECT_IDS"] = json.dumps([int(request.forecast)])
        env[f"{TIMELOG_TAP_ENV}PROJECT_IDS"] = json.dumps([int(request.timelog)])
        if request.since is not None:  # tap-timelog's first read goes by registration date from start_date
            env[f"{TIMELOG_TAP_ENV}START_DATE"] = f"{request.since.isoformat()}T00:00:00Z"
    else:
        env[f"{FORECAST_TAP_ENV}PERSON_IDS"] = json.dumps([int(request.forecast)])
        env[f"{TIMELOG_TAP_ENV}EMPLOYEE_IDS"] = json.dumps([int(request.timelog)])
    return env


def describe(request: BackfillRequest) -> str:
    """A backfill as people read it."""
    if request.kind == "project":
        since = f" from {request.since}" if request.since else ""
        return f"Forecast project {request.forecast} <-> TimeLog project {request.timelog}{since}"
    return f"Forecast person {request.forecast} <-> TimeLog employee {request.timelog}"


def run_backfills(ledger: Ledger, run: Runner, meltano: str) -> list[Backfill]:
    """Run every queued backfill (a killed run's `running` ones too), oldest first; returns those that failed.

    Each is marked done only after both pipelines succeeded; a failure leaves it queued for the next run.
    """
    failed = []
    for backfill in ledger.backfills(states=[BackfillState.PENDING, BackfillState.RUNNING]):
        label = describe(backfill.request)
        logger.info("backfill %d: reading and syncing the history of %s", backfill.id, label)
        ledger.start_backfill(backfill.id)
        code = run(backfill_argv(meltano), backfill_env(backfill.request))
        if code == 0:
            ledger.finish_backfill(backfill.id, ok=True)
            logger.info("backfill %d done: %s", backfill.id, label)
            continue
        message = f"`meltano run` exited {code}; the next run tries again (its log above says why)"
        ledger.finish_backfill(backfill.id, ok=False, message=message)
        logger.error("backfill %d failed: %s: %s", backfill.id, label, message)
        failed.append(backfill)
    return failed
