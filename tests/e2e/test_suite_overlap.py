"""Suite: overlapping runs (issue 8). A second `meltano run sync` started while one runs is refused cleanly.

"Cleanly" means: a non-zero exit, a message that says another run is in progress, no request that writes to
either API, and no reconcile run recorded in the ledger by the second run. Its taps may read: the mapper, which
holds the lock, starts together with them. The first run is held mid-way so the overlap is certain: by the
crash hook, or by latency on every request (`latency_ms`), then it finishes and the result still converges.

Meltano's own guard (singer-meltano.md §9) refuses an EL block whose state id has a running job; job `sync`
has two blocks, so the second run is started both while the first is in its first block and in its second.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from sandbox.testing import SandboxProcess
from tests.e2e.suites.checks import convergence_problems, run_items_since, untouched_problems
from tests.e2e.suites.edits import EditScript
from tests.e2e.suites.verify import expectation_problems, read_world, report, synced_world
from tests.e2e.suites.world import LONG, SuiteWorld

pytestmark = [pytest.mark.e2e, pytest.mark.suite, pytest.mark.guid_model_neutral]

REFUSAL = re.compile(r"already running|another .* (run|pipeline|sync)", re.IGNORECASE)
SECOND_RUN_TIMEOUT_SECONDS = 120
#: What holds the first run, and where: pipeline 1 writes TimeLog, pipeline 2 writes Forecast.
HOLDS = {
    # The first TimeLog request of target-timelog (pipeline 1) waits until faults change.
    "held in pipeline 1 (tap-forecast reconcile target-timelog)": ("timelog", {"block_after_writes": 0}),
    # Only Forecast creates wait: pipeline 2's target-forecast; reads (the second run's tap-forecast) pass.
    "held in pipeline 2 (tap-timelog reconcile target-forecast)": (
        "forecast", {"block_after_writes": 0, "only_operations": ["POST /api/v1/time_registrations"]}),
}
#: Cases that fail on a known product bug: strict xfail, so a fix turns them into failures until removed.
KNOWN_BUGS: dict[str, str] = {}
if LONG:
    # Every TimeLog request is slow (latency_ms): the first run is slowed, not stopped.
    HOLDS["slowed by latency in pipeline 1"] = ("timelog", {"latency_ms": 1500})


@pytest.fixture
def world(sandbox: SandboxProcess, _sandbox_session: tuple, tmp_path: Path) -> SuiteWorld:
    """The trimmed demo, synced once, in a fresh isolated project."""
    _, forecast_demo, timelog_demo = _sandbox_session
    return synced_world(sandbox, (forecast_demo, timelog_demo), tmp_path)


def _writes(world: SuiteWorld) -> dict[str, int]:
    """Write requests per simulator."""
    return {side: control.stats()["writes_total"]
            for side, control in (("forecast", world.sandbox.forecast), ("timelog", world.sandbox.timelog))}


@pytest.mark.parametrize("hold", [
    pytest.param(hold, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[hold])] if hold in KNOWN_BUGS else [])
    for hold in HOLDS])
def test_second_run_during_a_run_is_refused_and_writes_nothing(world: SuiteWorld, hold: str) -> None:
    """Overlap: the second run exits non-zero with a clear message, writes nothing, records nothing."""
    side, faults = HOLDS[hold]
    script = EditScript(world, random.Random(5))
    expect = script.round(4, two_sided=())
    script._timelog_insert()  # pipeline 2 has a Forecast create to make (held in the second case)
    script._forecast_create()  # pipeline 1 has a TimeLog insert to make
    before = read_world(world)
    first_run_id = world.ledger.max_run_id()
    control = world.sandbox.forecast if side == "forecast" else world.sandbox.timelog
    world.clear_stats()
    control.faults(**faults)
    first = world.start_sync("first")
    try:
        if "block_after_writes" in faults:
            first.wait_until(lambda: control.stats()["faults"].get("blocked", 0) > 0)
        else:
            first.wait_until(lambda: "target-timelog" in first.output())
        assert first.process.poll() is None, f"the first run ended before the overlap:\n{first.output()[-3000:]}"
        runs_before = world.ledger.max_run_id()
        writes_before = _writes(world)
        second = world.project.run("sync", timeout=SECOND_RUN_TIMEOUT_SECONDS)
        world.outputs.append(second.output)
        world.assert_no_secrets(second.output)
        writes_after = _writes(world)
        runs_after = world.ledger.max_run_id()
        first_still_running = first.process.poll() is None
    finally:
        world.faults_off()
    finished = first.finish()
    problems = []
    if second.returncode == 0:
        problems.append("the second run exited 0: it was not refused")
    if not REFUSAL.search(second.output):
        problems.append("the second run's output has no clear 'already running' message")
    if "latency" not in hold and writes_after != writes_before:  # with latency the first run's writes go on
        problems.append(f"the refused run wrote: writes {writes_before} -> {writes_after}")
    if runs_after != runs_before:
        problems.append(f"the refused run reconciled anyway: ledger runs {runs_before} -> {runs_after}")
    if not first_still_running:
        problems.append("the first run ended while the second was refused")
    if finished.returncode != 0:
        problems.append(f"the first run failed after the overlap (exit {finished.returncode})")
    assert not problems, report(f"{hold}: overlap not refused cleanly", problems) + (
        f"\nsecond run (exit {second.returncode}):\n{second.output[-5000:]}"
        f"\nfirst run (exit {finished.returncode}):\n{finished.output[-5000:]}")
    after = read_world(world)
    problems = (convergence_problems(after) + untouched_problems(before, after, touched_by_test=set())
                + expectation_problems(after, expect, run_items_since(world.ledger, first_run_id)))
    assert not problems, report(f"{hold}: the first run did not converge after the overlap", problems, expect, after)
