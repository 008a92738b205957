"""The singer-sdk standard target tests that apply to API targets fed by the reconcile mapper, and the rest.

The standard suite's other tests write streams such as `test_array_data` or `TestCamelcase`. Our targets accept
only the reconcile mapper's `commands` stream (anything else would be silently dropped otherwise), so those tests
cannot pass against any real account, as in MeltanoLabs/target-salesforce. Instead, a test below checks that
such a stream is refused with a message naming it. `record_missing_key_property` is covered the same way: its
stream is refused before the key check it expects.
"""

from __future__ import annotations

import io
import json

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.suites import SingerTestSuite, target_tests

from target_forecast.target import TargetForecast
from target_timelog.target import TargetTimeLog
from timesync.reconcile.apply import UnknownStreamError

STREAMLESS_TESTS = frozenset({"cli_prints", "invalid_schema", "record_before_schema"})
STREAMLESS_SUITE = SingerTestSuite(kind="target", tests=[t for t in target_tests.tests if t.name in STREAMLESS_TESTS])
# Never contacted: these tests fail before any API call (and the ledger is opened lazily, on the first batch).
TIMELOG_CONFIG = {"domain": "https://timelog.invalid", "account": "acme", "username": "u", "password": "p",
                  "ledger_url": "sqlite://"}
FORECAST_CONFIG = {"api_key": "k", "base_url": "https://forecast.invalid", "ledger_url": "sqlite://"}

TestTargetTimeLog = get_target_test_class(target_class=TargetTimeLog, config=TIMELOG_CONFIG,
                                          custom_suites=[STREAMLESS_SUITE], include_target_tests=False)
TestTargetForecast = get_target_test_class(target_class=TargetForecast, config=FORECAST_CONFIG,
                                           custom_suites=[STREAMLESS_SUITE], include_target_tests=False)


@pytest.mark.parametrize(("target_class", "config"), [(TargetTimeLog, TIMELOG_CONFIG),
                                                      (TargetForecast, FORECAST_CONFIG)])
def test_a_stream_other_than_commands_is_refused_by_name(target_class, config):
    """A tap piped straight into a target (no reconcile step) must fail loudly, not drop its records."""
    schema = {"type": "SCHEMA", "stream": "test_array_data", "key_properties": ["id"],
              "schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}
    with pytest.raises(UnknownStreamError, match=r"test_array_data.*reconcile"):
        target_class(config=config).listen(io.StringIO(json.dumps(schema) + "\n"))


@pytest.mark.parametrize(("target_class", "secret"), [(TargetTimeLog, "password"), (TargetForecast, "api_key")])
def test_credentials_are_declared_secret(target_class, secret):
    """Meltano and --about must treat the credential as a secret (never shown, never logged)."""
    assert target_class.config_jsonschema["properties"][secret].get("secret") is True
