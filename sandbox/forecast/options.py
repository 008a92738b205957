"""Forecast simulator options (`--forecast-option KEY=VALUE`, `POST /_sandbox/options`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sandbox.common.options import Check, Options
from sandbox.forecast.delivery import SECONDS_PER_MINUTE


@dataclass
class ForecastOptions(Options):
    """The simulated account's settings. Defaults are the documented behaviour."""

    FLAG: ClassVar[str] = "--forecast-option"

    #: Seconds one minute of DOCS-WH's webhook retry schedule (1, 2, 3, 5, 10 minutes) lasts: 60 is the real
    #: schedule; tests set a fraction of a second.
    webhook_minute_seconds: float = SECONDS_PER_MINUTE

    def checks(self) -> dict[str, Check]:
        """One validator per option."""
        return {"webhook_minute_seconds": _non_negative_number}


def _non_negative_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{value!r} is not a number of 0 or more")
    return float(value)
