"""Helpers for the tap-timelog tests: run the tap in-process against the sandbox and collect its messages."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field

import pytest

from sandbox import credentials
from sandbox.testing import SandboxProcess
from tap_timelog.tap import TapTimeLog


@dataclass
class SyncResult:
    """What one tap run wrote to stdout."""

    messages: list[dict]
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    state: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records[message["stream"]].append(message["record"])
            elif message["type"] == "STATE":
                self.state = message["value"]

    def keys(self, stream: str, key: str) -> set:
        """The values of `key` a stream emitted."""
        return {record[key] for record in self.records[stream]}

    def bookmark(self, stream: str) -> str | None:
        """The final bookmark of a stream."""
        return self.state.get("bookmarks", {}).get(stream, {}).get("replication_key_value")


def run_tap(config: dict, state: dict | None = None, streams: set[str] | None = None,
            tap_class: type[TapTimeLog] = TapTimeLog) -> SyncResult:
    """Run the tap's sync_all in-process (optionally only `streams`) and parse its Singer output."""
    tap = tap_class(config=config, state=state, parse_env_config=False)
    if streams is not None:
        for stream in tap.streams.values():
            stream.selected = stream.name in streams
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    return SyncResult([json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()])


def sandbox_config(timelog_url: str, **overrides: object) -> dict:
    """A tap config pointing at a TimeLog sandbox (its simulated site clock is UTC)."""
    return {**credentials.timelog_settings(timelog_url), "site_timezone": "UTC", **overrides}


@pytest.fixture
def config(timelog_sandbox: SandboxProcess) -> dict:
    """Tap config for the per-test sandbox."""
    return sandbox_config(timelog_sandbox.timelog_url)
