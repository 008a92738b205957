"""Issue 19: a Forecast edit reaches TimeLog through a webhook alone, with no scheduled run.

A real `timesync listen` process, subscribed through `timesync webhooks subscribe`; the Forecast simulator posts
its webhook when the registration is edited through the API, and the listener's `meltano run sync` carries it over.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox.pipeline import MELTANO, REPO_ROOT
from sandbox.roster import demo_links
from timesync.ledger import Ledger, PairKind

pytestmark = pytest.mark.e2e

TIMESYNC = str(Path(sys.executable).parent / "timesync")
TOKEN = "e2e-webhook-token-0123456789abcdef"
SOME_DAY = "2026-11-16"  # a Monday inside the demo's three months, before the demo's "today"
#: One `meltano run sync` of the small world, with room for a loaded machine.
RUN_TIMEOUT_SECONDS = 300
START_TIMEOUT_SECONDS = 60


def _listening_url(log: Path, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("timesync listen: on "):
                return line.split()[3]
        assert process.poll() is None, f"timesync listen exited:\n{log.read_text()}"
        time.sleep(0.2)
    pytest.fail(f"timesync listen did not start:\n{log.read_text()}")


def _work_twin(harness, registration_id: int) -> dict | None:
    with Ledger.open(harness.project.ledger_url) as ledger:
        pair = ledger.find_pair(PairKind.TIME_ENTRY, forecast_id=str(registration_id))
    if pair is None or not pair.timelog_id:
        return None
    return next((u for u in harness.timelog_state()["work_units"] if u["guid"] == pair.timelog_id), None)


def test_a_forecast_edit_reaches_timelog_through_the_webhook_alone(harness, tmp_path: Path) -> None:
    person, task = _linked_person_and_task(harness)
    created = harness.forecast.create_registration(person=person, date=SOME_DAY, minutes=95, task=task,
                                                   notes="Workshop")
    harness.sync()  # the starting point: the registration has its twin; nothing runs on a schedule after this
    assert _work_twin(harness, created["id"])["minutes"] == 95

    env = {**harness.project.env(), "TIMESYNC_WEBHOOK_TOKEN": TOKEN}
    sync = shlex.join([MELTANO, "run", "--state-id-suffix", harness.project.workdir.name, "sync"])
    log = tmp_path / "listen.log"
    with log.open("w") as output:
        listener = subprocess.Popen([TIMESYNC, "listen", "--port", "0", "--quiet-seconds", "1",
                                     "--max-wait-seconds", "5", "--command", sync],
                                    cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        base_url = _listening_url(log, listener)
        subscribed = subprocess.run([TIMESYNC, "--json", "webhooks", "subscribe", "--public-url", base_url],
                                    cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False,
                                    timeout=START_TIMEOUT_SECONDS)
        assert subscribed.returncode == 0, subscribed.stderr
        assert "created 6" in subscribed.stderr

        harness.forecast.update_registration(created["id"], time_registered=125, notes="Workshop, part 2")

        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        twin = _work_twin(harness, created["id"])
        while (twin["minutes"], twin["description"]) != (125, "Workshop, part 2") and time.monotonic() < deadline:
            time.sleep(2)
            twin = _work_twin(harness, created["id"])
        assert (twin["minutes"], twin["description"]) == (125, "Workshop, part 2"), log.read_text()[-6000:]
        health = requests.get(f"{base_url}/healthz", timeout=10).json()
        assert health["runs"] + health["running"] >= 1
    finally:
        listener.terminate()  # waits for a run still going (timesync:finish), then exits
        listener.wait(RUN_TIMEOUT_SECONDS)
    output = log.read_text()
    assert "for 1 event(s) (time_reg_updated 1)" in output, output[-6000:]
    assert TOKEN not in output


def _linked_person_and_task(harness) -> tuple[int, int]:
    """A linked person assigned to a task of a linked project (the demo links)."""
    links = demo_links()
    projects = {p["forecast"] for p in links["projects"]}
    persons = {p["forecast"] for p in links["persons"]}
    for task in sorted(harness.forecast_state()["tasks"], key=lambda t: t["id"]):
        assigned = [p for p in task["assigned_persons"] if p in persons]
        if task["project_id"] in projects and not task["parent_task_id"] and assigned:
            return assigned[0], task["id"]
    pytest.fail("the small world has no task of a linked project with a linked person")
