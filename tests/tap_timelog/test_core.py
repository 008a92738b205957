"""The singer-sdk standard tap tests, run against the demo sandbox."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.runners import TapTestRunner

from sandbox.testing import SandboxProcess
from tap_timelog.tap import TapTimeLog

from .conftest import sandbox_config

#: Collection needs a config before any sandbox runs (it only discovers streams); `runner` points it at one.
CONFIG = sandbox_config("http://127.0.0.1:9")
SUITE_CONFIG = SuiteConfig()

_StandardTests = get_tap_test_class(tap_class=TapTimeLog, config=CONFIG, suite_config=SUITE_CONFIG)


class TestTapTimeLog(_StandardTests):
    """Every standard tap, stream and attribute test, against the demo data."""

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, _sandbox_session: tuple[SandboxProcess, dict, dict]) -> TapTestRunner:
        """Sync the demo sandbox once for the whole class, with faults off and its start data restored."""
        sandbox, _, timelog_start = _sandbox_session
        if not sandbox.timelog_url:
            pytest.skip("the sandbox has no TimeLog simulator (sandbox/timelog/app.py)")
        sandbox.timelog.faults()
        sandbox.timelog.reset(timelog_start)
        runner = TapTestRunner(
            tap_class=TapTimeLog,
            config=sandbox_config(sandbox.timelog_url),
            suite_config=SUITE_CONFIG,
            parse_env_config=False,
        )
        runner.sync_all()
        return runner
