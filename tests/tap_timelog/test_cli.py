"""The command line: `--about` documents every setting, `--discover` needs no credentials, errors are one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sandbox.testing import SandboxProcess
from tap_timelog.tap import TapTimeLog

from .conftest import sandbox_config

TAP = str(Path(sys.executable).parent / "tap-timelog")


def test_about_markdown_documents_every_setting() -> None:
    """The README's settings table is generated from config_jsonschema; nothing may be missing from it."""
    about = subprocess.run([TAP, "--about", "--format=markdown"], capture_output=True, text=True, check=True).stdout
    for name, spec in TapTimeLog.config_jsonschema["properties"].items():
        assert f"| {name} |" in about
        assert spec.get("description"), f"setting {name} has no description"


def test_discover_needs_no_credentials() -> None:
    """Catalog discovery is static: it works before any TimeLog login is configured."""
    out = subprocess.run([TAP, "--discover"], capture_output=True, text=True, check=True).stdout
    streams = {s["tap_stream_id"] for s in json.loads(out)["streams"]}
    assert {"work", "work_deletions", "tasks", "employees", "projects"} <= streams


def test_a_wrong_password_exits_non_zero_with_one_line_naming_the_transactional_login(
    timelog_sandbox: SandboxProcess, tmp_path: Path,
) -> None:
    """What an operator sees in `meltano run` output: the last stderr line says what failed and what to check."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(sandbox_config(timelog_sandbox.timelog_url, password="not-the-password")))
    run = subprocess.run([TAP, "--config", str(config)], capture_output=True, text=True, check=False)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-timelog: Transactional login failed for user 'tl-sync'")
    assert "not-the-password" not in run.stderr
