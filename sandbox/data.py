"""The `--data` argument: which data the simulators start with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from sandbox.forecast import demo as forecast_demo
from sandbox.harvest import demo as harvest_demo
from sandbox.timelog import demo as timelog_demo

SIDES = ("forecast", "timelog", "harvest")


class DataSpecError(ValueError):
    """A `--data` value the sandbox cannot load; the message says what to fix."""


class SandboxData(NamedTuple):
    """Start data per simulator, each in the shape of its `/_sandbox/state`."""

    forecast: dict
    timelog: dict
    harvest: dict


def _generated(options: str) -> SandboxData:
    settings = {"registrations": 10_000, "seed": 1}
    for part in filter(None, options.split(",")):
        key, _, value = part.partition("=")
        if key not in settings or not value.isdigit():
            raise DataSpecError(f"--data generate: expected registrations=N[,seed=S], got {part!r}")
        settings[key] = int(value)
    return SandboxData(
        forecast_demo.generate(settings["registrations"], settings["seed"]),
        timelog_demo.generate(settings["registrations"], settings["seed"]),
        harvest_demo.generate(settings["registrations"], settings["seed"]),
    )


def load_data(spec: str) -> SandboxData:
    """(forecast, timelog, harvest) data for `demo`, `empty`, a JSON file or `generate:…`.

    A JSON file holds `{"forecast": {…}, "timelog": {…}, "harvest": {…}}`; a side it leaves out starts empty.
    """
    if spec == "demo":
        return SandboxData(forecast_demo.build_demo(), timelog_demo.build_demo(), harvest_demo.build_demo())
    if spec == "empty":
        return SandboxData({}, {}, {})
    if spec.startswith("generate:"):
        return _generated(spec.removeprefix("generate:"))
    path = Path(spec)
    if not path.is_file():
        raise DataSpecError(f"--data {spec!r}: not demo, empty, generate:… or an existing JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataSpecError(f"--data {spec}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not set(data) <= set(SIDES):
        raise DataSpecError(f'--data {spec}: expected {{"forecast": {{…}}, "timelog": {{…}}, "harvest": {{…}}}}')
    return SandboxData(*(data.get(side, {}) for side in SIDES))
