"""Helpers for the tap-forecast tests: run the tap in-process against the sandbox and collect its messages."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field

import pytest

from sandbox import credentials
from sandbox.testing import SandboxProcess
from tap_forecast.tap import TapForecast


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

    def ids(self, stream: str) -> set[int]:
        """The `id`s a stream emitted."""
        return {record["id"] for record in self.records[stream]}

    def bookmark(self, stream: str) -> str | None:
        """The final bookmark of a stream."""
        return self.state.get("bookmarks", {}).get(stream, {}).get("replication_key_value")


def run_tap(config: dict, state: dict | None = None, streams: set[str] | None = None) -> SyncResult:
    """Run TapForecast.sync_all in-process (optionally only `streams`) and parse its Singer output."""
    tap = TapForecast(config=config, state=state, parse_env_config=False)
    if streams is not None:
        for stream in tap.streams.values():
            stream.selected = stream.name in streams
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    return SyncResult([json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()])


def sandbox_config(sandbox: SandboxProcess, **overrides: object) -> dict:
    """A tap config pointing at the sandbox, with fast-failing defaults for tests."""
    return {"api_key": credentials.FORECAST_API_KEY, "base_url": sandbox.forecast_url, **overrides}


@pytest.fixture
def config(sandbox: SandboxProcess) -> dict:
    """Tap config for the per-test sandbox."""
    return sandbox_config(sandbox)
