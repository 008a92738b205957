"""Suite: secrets (design brief invariant 9, issue 8).

Every `meltano run` of every suite is already checked by `SuiteWorld`: its output, the isolated Meltano
system database (where Meltano keeps state) and the ledger, byte for byte (WAL files included), must hold
none of the configured secrets (Forecast API key, TimeLog password, site code, reporting password). This
suite adds the worst case, a run at debug log level (Meltano passes its level to every plugin, and zeep logs
raw SOAP at debug; TimeLog's GetToken echoes the password), and what `meltano state get` prints.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sandbox import credentials
from sandbox.testing import SandboxProcess
from tests.e2e.suites.edits import EditScript
from tests.e2e.suites.verify import read_world, synced_world
from tests.e2e.suites.world import SECRETS, SuiteWorld, secrets_in

pytestmark = pytest.mark.suite

STATE_IDS = ("isolated:tap-forecast--sync-to-target-timelog", "isolated:tap-timelog--sync-to-target-forecast")


@pytest.fixture
def world(sandbox: SandboxProcess, _sandbox_session: tuple, tmp_path: Path) -> SuiteWorld:
    """The trimmed demo, synced once, in a fresh isolated project."""
    _, forecast_demo, timelog_demo = _sandbox_session
    return synced_world(sandbox, (forecast_demo, timelog_demo), tmp_path)


def test_the_scan_finds_a_planted_secret(tmp_path: Path) -> None:
    """The check can fail: each secret is found in text, in any letter case, and in a database file's bytes."""
    for name, value in SECRETS.items():
        assert secrets_in(f"… password={value.upper()} …") == [name]
        assert secrets_in(b"\x00\x01" + value.encode() + b"\x00") == [name]
    assert secrets_in(f"user {credentials.TIMELOG_USERNAME} at {credentials.TIMELOG_ACCOUNT}") == []


@pytest.mark.e2e
def test_debug_log_level_run_and_meltano_state_hold_no_secret(world: SuiteWorld) -> None:
    """Invariant 9 at `meltano --log-level=debug`: output, `meltano state get`, system DB and ledger are clean."""
    EditScript(world, random.Random(3)).round(4, two_sided=())
    run = world.project.meltano("--log-level=debug", "run", "--state-id-suffix", world.project.workdir.name, "sync",
                                timeout=300)
    world.outputs.append(run.output)
    assert run.returncode == 0, run.output[-4000:]
    assert "DEBUG" in run.output.upper(), "the run logged at debug level"
    found = [f"{name} in the debug run's output" for name in secrets_in(run.output)]
    states = []
    for state_id in STATE_IDS:
        got = world.project.meltano("state", "get", f"{state_id}:{world.project.workdir.name}")
        assert got.returncode == 0, got.output[-2000:]
        states.append(got.stdout)
        found += [f"{name} in `meltano state get {state_id}`" for name in secrets_in(got.output)]
    assert all("bookmarks" in state or "singer_state" in state for state in states), states
    assert not found, f"secrets leaked: {found}"
    world.assert_no_secrets()
    assert read_world(world).pairs, "the run synced (the ledger has pairs to scan)"
