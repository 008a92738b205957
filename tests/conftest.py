"""Shared fixtures: a real sandbox process on free ports, reset to its start data for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.testing import SandboxProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """../shared/reference, or skip with the reason."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference material not found at {REFERENCE_DIR} (needs ../shared beside the repo)")
    return REFERENCE_DIR


@pytest.fixture(autouse=True, scope="session")
def _wsdl_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the tests' TimeLog WSDL cache out of the user's ~/.cache."""
    path = tmp_path_factory.mktemp("timesync-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIMESYNC_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def _sandbox_session() -> Iterator[tuple[SandboxProcess, dict, dict]]:
    with SandboxProcess(data="demo") as sandbox:
        forecast_start = sandbox.forecast.state()
        timelog_start = sandbox.timelog.state() if sandbox.timelog_url else {}
        start_options = sandbox.timelog.get_options() if sandbox.timelog_url else {}
        sandbox.restore_options = lambda: sandbox.timelog.options(**start_options)  # type: ignore[attr-defined]
        harvest_start = sandbox.harvest.state()
        harvest_options = sandbox.harvest.get_options()

        def restore_harvest() -> None:
            sandbox.harvest.faults()
            sandbox.harvest.options(**harvest_options)
            sandbox.harvest.reset(harvest_start)

        sandbox.restore_harvest = restore_harvest  # type: ignore[attr-defined]
        yield sandbox, forecast_start, timelog_start


@pytest.fixture
def sandbox(_sandbox_session: tuple[SandboxProcess, dict, dict]) -> SandboxProcess:
    """The demo sandbox, with its start data and options restored, faults off and stats zeroed (all three)."""
    process, forecast_start, timelog_start = _sandbox_session
    process.forecast.faults()
    process.forecast.reset(forecast_start)
    if process.timelog_url:
        process.timelog.faults()
        process.restore_options()  # type: ignore[attr-defined]
        process.timelog.reset(timelog_start)
    process.restore_harvest()  # type: ignore[attr-defined]
    return process


@pytest.fixture
def timelog_sandbox(sandbox: SandboxProcess) -> SandboxProcess:
    """The demo sandbox, or a skip when its TimeLog simulator is not there."""
    if not sandbox.timelog_url:
        pytest.skip("the sandbox has no TimeLog simulator (sandbox/timelog/app.py)")
    return sandbox
