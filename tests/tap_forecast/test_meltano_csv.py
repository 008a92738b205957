"""The reporting use: `meltano run tap-forecast target-csv` writes one CSV per stream with every record."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sandbox.pipeline import IsolatedMeltano, sandbox_plugin_env
from sandbox.testing import SandboxProcess

#: Every stream; each has a sandbox table of the same name.
STREAMS = (
    "projects", "phases", "workflow_columns", "project_team", "persons", "clients", "roles", "non_project_time",
    "allocations", "tasks", "time_registrations", "deleted_tasks", "deleted_time_registrations",
)


def _rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


@pytest.mark.e2e
def test_meltano_run_writes_one_csv_per_stream_with_every_record(sandbox: SandboxProcess, tmp_path: Path) -> None:
    project = IsolatedMeltano(tmp_path / "tap-forecast-csv", sandbox_plugin_env(sandbox.forecast_url, None))
    run = project.run("tap-forecast", "target-csv", timeout=600)
    assert run.returncode == 0, run.output[-4000:]

    state = sandbox.forecast.state()
    written = {path.stem: _rows(path) for path in project.output_dir.glob("*.csv")}
    expected = {stream: len(state[stream]) for stream in STREAMS}
    assert written == expected
