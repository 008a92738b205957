"""The `--data` argument: which data both simulators start with."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.forecast import demo as forecast_demo
from sandbox.timelog import demo as timelog_demo


class DataSpecError(ValueError):
    """A `--data` value the sandbox cannot load; the message says what to fix."""


def _generated(options: str) -> tuple[dict, dict]:
    settings = {"registrations": 10_000, "seed": 1}
    for part in filter(None, options.split(",")):
        key, _, value = part.partition("=")
        if key not in settings or not value.isdigit():
            raise DataSpecError(f"--data generate: expected registrations=N[,seed=S], got {part!r}")
        settings[key] = int(value)
    return (
        forecast_demo.generate(settings["registrations"], settings["seed"]),
        timelog_demo.generate(settings["registrations"], settings["seed"]),
    )


def load_data(spec: str) -> tuple[dict, dict]:
    """Return (forecast_data, timelog_data) for `demo`, `empty`, a JSON file or `generate:…`."""
    if spec == "demo":
        return forecast_demo.build_demo(), timelog_demo.build_demo()
    if spec == "empty":
        return {}, {}
    if spec.startswith("generate:"):
        return _generated(spec.removeprefix("generate:"))
    path = Path(spec)
    if not path.is_file():
        raise DataSpecError(f"--data {spec!r}: not demo, empty, generate:… or an existing JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataSpecError(f"--data {spec}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not set(data) <= {"forecast", "timelog"}:
        raise DataSpecError(f'--data {spec}: expected {{"forecast": {{…}}, "timelog": {{…}}}}')
    return data.get("forecast", {}), data.get("timelog", {})
