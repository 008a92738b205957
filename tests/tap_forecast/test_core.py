"""The singer-sdk standard tap tests, run against the demo sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.runners import TapTestRunner

from sandbox import credentials
from sandbox.forecast.resources import TABLES
from sandbox.testing import SandboxProcess
from tap_forecast.tap import TapForecast

#: Collection needs a config before any sandbox runs (it only discovers streams); `runner` points it at one.
CONFIG = {"api_key": credentials.FORECAST_API_KEY, "base_url": "http://127.0.0.1:9"}
SUITE_CONFIG = SuiteConfig()

_StandardTests = get_tap_test_class(tap_class=TapForecast, config=CONFIG, suite_config=SUITE_CONFIG)


# The SDK warns when an attribute test finds no non-null value. Seen once (1 run in 3) for
# allocations.non_project_time: the demo's allocations do not always include non-project time. To investigate
# (make the demo always hold one); until then this warning, and only it, stays a warning in this class.
@pytest.mark.filterwarnings("default:No records were available to test.:UserWarning")
class TestTapForecast(_StandardTests):
    """Every standard tap, stream and attribute test, against the demo data with every documented field.

    The shared sandbox is strict (`fields="samples"`): it leaves out what the docs' sample responses leave out
    (a task's `estimate`, a time registration's `phase`, a project's `connected_project` and `card_levels`), so
    the SDK's schema-versus-records test would find those schema fields in no record and warn. Here the tap reads
    a sandbox of its own that shows every field the docs' tables document (`--forecast-fields tables`); that the
    tap copes without them is tests/tap_forecast/test_optional_fields.py's business.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls) -> Iterator[TapTestRunner]:
        """Sync a demo sandbox with every documented field once for the whole class."""
        with SandboxProcess(data="demo", extra_args=["--forecast-fields", TABLES]) as sandbox:
            runner = TapTestRunner(
                tap_class=TapForecast,
                config={**CONFIG, "base_url": sandbox.forecast_url},
                suite_config=SUITE_CONFIG,
                parse_env_config=False,
            )
            runner.sync_all()
            yield runner
