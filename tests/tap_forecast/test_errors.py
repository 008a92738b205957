"""Faults and failures: retried faults change nothing; a bad key, a bad URL or a bad body stop the run clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.testing import SandboxProcess
from tap_forecast.errors import ForecastAuthError, ForecastNotFoundError, MalformedResponseError

from .conftest import SyncResult, run_tap

TAP = str(Path(sys.executable).parent / "tap-forecast")
#: Seeds the sandbox's fault dice, so a failure can be replayed; the tests check that faults were really hit.
FAULT_SEED = 7


def _canonical(result: SyncResult) -> dict[str, list[str]]:
    """Records per stream, order-independent and comparable."""
    return {stream: sorted(json.dumps(r, sort_keys=True) for r in records)
            for stream, records in result.records.items()}


def test_injected_503s_and_429s_change_no_record(sandbox: SandboxProcess, config: dict) -> None:
    clean = run_tap(config)
    sandbox.forecast.faults(error_rate=0.1, statuses=[503, 429], seed=FAULT_SEED)
    faulty = run_tap(config)
    stats = sandbox.forecast.stats()
    assert stats["faults"].get("503", 0) > 0, stats["faults"]
    assert stats["faults"].get("429", 0) > 0, stats["faults"]
    assert _canonical(faulty) == _canonical(clean)


def test_timeouts_and_dropped_connections_are_retried(sandbox: SandboxProcess, config: dict) -> None:
    clean = run_tap(config, streams={"projects", "time_registrations"})
    sandbox.forecast.faults(timeout_rate=0.15, timeout_hold_ms=200, seed=FAULT_SEED)
    faulty = run_tap(config, streams={"projects", "time_registrations"})
    assert sandbox.forecast.stats()["faults"].get("timeout", 0) > 0
    assert _canonical(faulty) == _canonical(clean)


@pytest.mark.parametrize("kind", ["truncated", "wrong_types", "missing_fields"])
@pytest.mark.parametrize("stream", ["time_registrations", "projects", "deleted_tasks"])
def test_a_malformed_body_fails_naming_the_endpoint(sandbox: SandboxProcess, config: dict, kind: str,
                                                   stream: str) -> None:
    """Never a silently skipped record: each corruption the sandbox can make is an error."""
    sandbox.forecast.faults(malformed_rate=1.0, malformed_kinds=[kind], seed=FAULT_SEED)
    with pytest.raises(MalformedResponseError, match=r"Malformed response from Forecast GET /api/v\d/") as caught:
        run_tap(config, streams={stream})
    assert "\n" not in str(caught.value)


def test_a_wrong_key_raises_an_auth_error(sandbox: SandboxProcess, config: dict) -> None:
    with pytest.raises(ForecastAuthError, match="wrong or disabled"):
        run_tap({**config, "api_key": "not-the-key"})


def test_a_wrong_base_url_names_the_missing_endpoint(sandbox: SandboxProcess, config: dict) -> None:
    with pytest.raises(ForecastNotFoundError, match=r"on GET /forecast/api/v\d/\w+\)"):
        run_tap({**config, "base_url": f"{sandbox.forecast_url}/forecast"})


def _cli(config: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    return subprocess.run([TAP, "--config", str(config_file)], capture_output=True, text=True, timeout=120,
                          check=False)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR " in line or "Traceback" in line]


def test_cli_401_is_one_clear_line_without_the_key(sandbox: SandboxProcess, config: dict, tmp_path: Path) -> None:
    wrong_key = "0f8fad5b-d9cb-469f-a165-70867728950e"
    run = _cli({**config, "api_key": wrong_key}, tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert wrong_key not in run.stderr + run.stdout
    errors = _error_lines(run.stderr)
    assert len(errors) == 1, run.stderr
    assert "HTTP 401" in errors[0]
    assert "wrong or disabled" in errors[0]
    assert '"type":"RECORD"' not in run.stdout, "the first request fails the run (no separate key check)"


def test_cli_wrong_base_url_is_one_clear_line(sandbox: SandboxProcess, config: dict, tmp_path: Path) -> None:
    run = _cli({**config, "base_url": f"{sandbox.forecast_url}/forecast"}, tmp_path)
    assert run.returncode == 1
    errors = _error_lines(run.stderr)
    assert len(errors) == 1, run.stderr
    assert "HTTP 404" in errors[0]
    assert "base_url" in errors[0]


def test_cli_malformed_body_is_one_clear_line(sandbox: SandboxProcess, config: dict, tmp_path: Path) -> None:
    sandbox.forecast.faults(malformed_rate=1.0, malformed_kinds=["truncated"], seed=FAULT_SEED)
    run = _cli(config, tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert any("Malformed response from Forecast GET /api/" in line for line in _error_lines(run.stderr))


def test_the_key_is_never_written_out(sandbox: SandboxProcess, config: dict, tmp_path: Path) -> None:
    """A full run with retries (which are logged) neither prints nor logs the key."""
    secret = "5a4f1c2e-9b7d-4e3a-8c6f-0d1e2f3a4b5c"
    state = sandbox.forecast.state()
    sandbox.forecast.reset({**state, "api_keys": [*state["api_keys"], secret]})
    sandbox.forecast.faults(error_rate=0.1, statuses=[429], seed=FAULT_SEED)  # 429s wait just Retry-After: 1 s
    run = _cli({**config, "api_key": secret}, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Retrying GET /api/" in run.stderr
    assert secret not in run.stdout + run.stderr
