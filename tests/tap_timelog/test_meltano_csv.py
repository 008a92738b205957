"""The reporting use: `meltano run tap-timelog target-csv` writes one CSV per stream with every record."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sandbox.pipeline import IsolatedMeltano, sandbox_plugin_env
from sandbox.testing import SandboxProcess

from .conftest import run_tap


def _rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


@pytest.mark.e2e
def test_meltano_run_writes_one_csv_per_stream_with_every_record(
    timelog_sandbox: SandboxProcess, config: dict, tmp_path: Path,
) -> None:
    expected = {stream: len(records) for stream, records in run_tap(config).records.items()}
    project = IsolatedMeltano(tmp_path / "tap-timelog-csv",
                              sandbox_plugin_env(timelog_sandbox.forecast_url, timelog_sandbox.timelog_url))
    run = project.run("tap-timelog", "target-csv", timeout=600)
    assert run.returncode == 0, run.output[-4000:]
    written = {path.stem: _rows(path) for path in project.output_dir.glob("*.csv")}
    assert written == expected
    assert set(expected) == {"work", "work_deletions", "tasks", "employees", "projects", "customers",
                             "allocations", "departments"}
