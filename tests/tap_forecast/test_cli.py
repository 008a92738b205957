"""The command line without a sandbox: `--about` documents every setting, `--discover` needs no credentials."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tap_forecast.tap import TapForecast

TAP = str(Path(sys.executable).parent / "tap-forecast")
#: The replication contract of docs/streams.md and the README: these are incremental, the rest full table.
BOOKMARKS = {
    "tasks": "updated_at", "time_registrations": "updated_at",
    "deleted_tasks": "deleted_at", "deleted_time_registrations": "deleted_at",
}
KEYS = {"project_team": ["project_id", "person_id"]}
STREAMS = {
    "projects", "phases", "workflow_columns", "project_team", "persons", "clients", "roles", "non_project_time",
    "allocations", *BOOKMARKS,
}


def _tap(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TAP, *args], capture_output=True, text=True, timeout=120, check=True)


def test_about_markdown_documents_every_setting() -> None:
    about = _tap("--about", "--format=markdown").stdout
    for name, spec in TapForecast.config_jsonschema["properties"].items():
        row = next((line for line in about.splitlines() if line.startswith(f"| {name} |")), None)
        assert row is not None, f"{name} missing from --about"
        assert spec["description"] in row


def test_discover_needs_no_credentials_and_declares_the_contract() -> None:
    catalog = json.loads(_tap("--discover").stdout)
    entries = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert set(entries) == STREAMS
    for name, entry in entries.items():
        assert entry["key_properties"] == KEYS.get(name, ["id"]), name
        assert entry.get("replication_key") == BOOKMARKS.get(name), name
        assert entry["replication_method"] == ("INCREMENTAL" if name in BOOKMARKS else "FULL_TABLE"), name
