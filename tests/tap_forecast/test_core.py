"""The singer-sdk standard tap tests, run against the demo sandbox."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.runners import TapTestRunner

from sandbox import credentials
from sandbox.testing import SandboxProcess
from tap_forecast.tap import TapForecast

#: Collection needs a config before any sandbox runs (it only discovers streams); `runner` points it at one.
CONFIG = {"api_key": credentials.FORECAST_API_KEY, "base_url": "http://127.0.0.1:9"}
SUITE_CONFIG = SuiteConfig()

_StandardTests = get_tap_test_class(tap_class=TapForecast, config=CONFIG, suite_config=SUITE_CONFIG)


class TestTapForecast(_StandardTests):
    """Every standard tap, stream and attribute test, against the demo data."""

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, _sandbox_session: tuple[SandboxProcess, dict, dict]) -> TapTestRunner:
        """Sync the demo sandbox once for the whole class, with faults off and its start data restored."""
        sandbox, forecast_start, _ = _sandbox_session
        sandbox.forecast.faults()
        sandbox.forecast.reset(forecast_start)
        runner = TapTestRunner(
            tap_class=TapForecast,
            config={**CONFIG, "base_url": sandbox.forecast_url},
            suite_config=SUITE_CONFIG,
            parse_env_config=False,
        )
        runner.sync_all()
        return runner
