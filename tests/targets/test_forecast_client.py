"""target-forecast's worker pool with the Forecast write client: unknown outcomes, bounds."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from target_forecast.target import TargetForecast
from tests.targets.helpers import forecast_config, listen, plan, run_target, timelog_work
from timesync.ledger import PairKind, PairState
from timesync.model import Direction

T2F = Direction.TIMELOG_TO_FORECAST
POST = "POST /api/v1/time_registrations"


def test_a_create_that_failed_server_side_is_looked_up_before_it_is_posted_again(sandbox, ledger, ledger_url):
    """A 500 on POST may hide a create that happened: the target looks it up before posting again. A create
    still uncertain after a few tries is left pending; the next run finishes it. One registration each."""
    sandbox.forecast.faults(error_rate=0.5, statuses=[500], only_operations=[POST], seed=3)
    records = [timelog_work(f"2f0e0d0c-0b0a-4909-8807-0605040302{i:02d}", task_id=1001, minutes=5 + i,
                            note=f"uncertain {i}") for i in range(8)]
    run_target(TargetForecast, forecast_config(sandbox, ledger_url), plan(ledger, T2F, records))
    assert sandbox.forecast.stats()["faults"].get("500")
    sandbox.forecast.faults()
    run_target(TargetForecast, forecast_config(sandbox, ledger_url), plan(ledger, T2F, records))
    notes = sorted(r["notes"] for r in sandbox.forecast.state()["time_registrations"] if "uncertain" in r["notes"])
    assert notes == sorted(f"[Analyse] uncertain {i}" for i in range(8))
    assert {p.state for p in ledger.pairs(kind=PairKind.TIME_ENTRY)} == {PairState.LINKED}


class _SlowForecast:
    """A stand-in for the Forecast client that counts how many creates run at the same time."""

    def __init__(self) -> None:
        self.lock, self.running, self.most, self.ids = threading.Lock(), 0, 0, iter(range(500_000, 600_000))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
            return {"id": next(self.ids), **body}


@pytest.mark.parametrize("max_concurrency", [1, 3])
def test_writes_never_exceed_max_concurrency(ledger, ledger_url, max_concurrency):
    """Forecast's fair-use rule: at most `max_concurrency` writes in flight (one day each, so all may overlap)."""
    commands = plan(ledger, T2F, [timelog_work(f"3f0e0d0c-0b0a-4909-8807-0605040302{i:02d}", task_id=1001,
                                               minutes=1 + i, day=f"2026-11-{10 + i}") for i in range(12)])
    config = {"api_key": "unused", "base_url": "https://forecast.invalid", "ledger_url": ledger_url,
              "max_concurrency": max_concurrency}
    fake = _SlowForecast()
    target = TargetForecast(config=config)
    target.__dict__["forecast"] = fake  # the cached_property's slot: no HTTP in this test
    listen(target, commands)
    assert fake.most == max_concurrency
    assert len(ledger.pairs(states=[PairState.LINKED], kind=PairKind.TIME_ENTRY)) == 12
