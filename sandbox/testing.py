"""Start `python -m sandbox serve` as a real process and talk to its control API.

Shared by the pytest fixtures in `tests/conftest.py`, the demo and the benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from sandbox.timelog.options import GUID_MODEL_ENV

START_TIMEOUT_SECONDS = 60


class FakeClock:
    """A UTC clock a test moves by hand, for the simulators' `clock` argument."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> None:
        self.now += timedelta(seconds=seconds)


class SandboxControl:
    """The `/_sandbox/*` control API of one simulator."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def _call(self, method: str, route: str, payload: object = None) -> dict:
        response = self.http.request(method, f"{self.base_url}/_sandbox/{route}", json=payload, timeout=60)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict:
        """Every entity."""
        return self._call("GET", "state")

    def reset(self, data: dict) -> dict:
        """Replace all data (and clear stats)."""
        return self._call("POST", "reset", data)

    def faults(self, **config: object) -> dict:
        """Configure fault injection; no arguments turns faults off."""
        return self._call("POST", "faults", config)

    def stats(self) -> dict:
        """Request counts per operation."""
        return self._call("GET", "stats")

    def clear_stats(self) -> dict:
        """Zero the counters."""
        return self._call("POST", "stats/clear")

    def lock(self, **spec: object) -> dict:
        """Close a period or approve entries."""
        return self._call("POST", "lock", spec)

    def options(self, **changes: object) -> dict:
        """Change some options (TimeLog, Harvest, Forecast); returns all of them. `reset` does not undo this."""
        return self._call("POST", "options", changes)

    def get_options(self) -> dict:
        """The options (TimeLog, Harvest, Forecast)."""
        return self._call("GET", "options")


@dataclass
class SandboxProcess:
    """A running `python -m sandbox serve` on free ports."""

    data: str = "demo"
    extra_args: list[str] = field(default_factory=list)
    #: TimeLog site options (sandbox/timelog/options.py), passed as `--timelog-option KEY=VALUE`. `guid_model`
    #: defaults to $TIMESYNC_SANDBOX_GUID_MODEL when that is set, so CI can run whole suites under either model.
    timelog_options: dict[str, object] = field(default_factory=dict)
    #: Harvest options (sandbox/harvest/options.py), passed as `--harvest-option KEY=VALUE`.
    harvest_options: dict[str, object] = field(default_factory=dict)
    #: Forecast options (sandbox/forecast/options.py), passed as `--forecast-option KEY=VALUE`.
    forecast_options: dict[str, object] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    forecast_url: str = ""
    timelog_url: str | None = None
    harvest_url: str | None = None

    def start(self) -> SandboxProcess:
        """Start the server and wait for its JSON line."""
        options = dict(self.timelog_options)
        if "guid_model" not in options and os.environ.get(GUID_MODEL_ENV):
            options["guid_model"] = os.environ[GUID_MODEL_ENV]
        option_args = [arg for flag, chosen in (("--timelog-option", options),
                                                ("--harvest-option", self.harvest_options),
                                                ("--forecast-option", self.forecast_options))
                       for name, value in chosen.items() for arg in (flag, f"{name}={json.dumps(value)}")]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--forecast-port", "0", "--timelog-port", "0",
             "--harvest-port", "0", "--data", self.data, *option_args, *self.extra_args],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"sandbox did not start (exit code {self.process.returncode})")
        urls = json.loads(line)
        self.forecast_url, self.timelog_url = urls["forecast_url"], urls["timelog_url"]
        self.harvest_url = urls.get("harvest_url")
        return self

    def stop(self) -> None:
        """Terminate the server."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdout:
            self.process.stdout.close()

    @property
    def forecast(self) -> SandboxControl:
        """Control API of the Forecast simulator."""
        return SandboxControl(self.forecast_url)

    @property
    def timelog(self) -> SandboxControl:
        """Control API of the TimeLog simulator."""
        if not self.timelog_url:
            raise RuntimeError("this sandbox has no TimeLog simulator")
        return SandboxControl(self.timelog_url)

    @property
    def harvest(self) -> SandboxControl:
        """Control API of the Harvest simulator."""
        if not self.harvest_url:
            raise RuntimeError("this sandbox has no Harvest simulator")
        return SandboxControl(self.harvest_url)

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
