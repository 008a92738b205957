"""Record validation: a bad command stops the run before its batch is written, naming the stream and the key."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import pytest
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import JSONSchemaValidator

from target_timelog.target import TargetTimeLog
from tests.targets.helpers import forecast_registration, forecast_task, plan, singer_input, timelog_config
from timesync.ledger import PairKind, PairState
from timesync.model import Direction
from timesync.reconcile.commands import COMMAND_SCHEMA

F2T = Direction.FORECAST_TO_TIMELOG


def test_an_invalid_command_fails_the_run_naming_stream_and_key_before_any_write(sandbox, ledger, ledger_url):
    """The second command is broken: nothing of the batch reaches TimeLog, and no STATE is emitted."""
    commands = plan(ledger, F2T, [forecast_task(9001, "Parent"),
                                  forecast_registration(7001, task=9001, minutes=30)])
    broken = commands[-1]
    broken["seq"] = "not a number"
    sandbox.timelog.clear_stats()
    expected = (f"stream 'commands', record command_id='{broken['command_id']}', field 'seq': 'not a number' is not "
                "of type 'integer'")
    out = io.StringIO()
    with pytest.raises(InvalidRecord, match=re.escape(expected)), redirect_stdout(out):
        TargetTimeLog(config=timelog_config(sandbox, ledger_url)).listen(io.StringIO(singer_input(commands)))
    assert sandbox.timelog.stats()["writes_total"] == 0
    assert '"STATE"' not in out.getvalue()
    assert ledger.find_pair(PairKind.TASK, forecast_id="9001").state is PairState.CREATING


def test_the_mappers_own_commands_validate_against_its_schema(ledger):
    """Each command the real mapper emits must pass the schema it declares for them."""
    validator = JSONSchemaValidator(COMMAND_SCHEMA)
    for command in plan(ledger, F2T, [forecast_task(9001, "Parent", assigned=[11]),
                                      forecast_registration(7001, task=9001, minutes=30)]):
        validator.validate(command)
