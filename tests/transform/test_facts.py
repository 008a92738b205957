"""Facts about the accounts: recorded once, then every run's records must agree with them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from timesync.adapters.timelog import GUID_MODEL_FACT, TimeLogAdapter
from timesync.ledger import Ledger
from timesync.reconcile.facts import FactGuard, FactMismatchError
from timesync.reconcile.mapper import ReconcileMapper

TR_GUID, WU_GUID = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def _work(key: str, *, tr: str = TR_GUID, wu: str = WU_GUID) -> dict:
    return {"work_unit_guid": key, "time_registration_guid": tr, "reporting_work_unit_guid": wu,
            "employee_id": 7, "task_id": 1001, "project_id": 2001, "date": "2026-11-02", "minutes": 30,
            "note": "x", "approval_status": 0, "modified_at": "2026-11-02T10:00:00Z"}


@pytest.mark.parametrize(("key", "model"), [(TR_GUID, "time_registration"), (WU_GUID, "work_unit")])
def test_a_work_record_shows_which_reporting_guid_is_its_key(key: str, model: str) -> None:
    assert TimeLogAdapter().observed_facts("work", _work(key)) == {GUID_MODEL_FACT: model}


def test_equal_reporting_guids_or_other_streams_show_nothing() -> None:
    adapter = TimeLogAdapter()
    assert adapter.observed_facts("work", _work(TR_GUID, wu=TR_GUID)) == {}
    assert adapter.observed_facts("work_deletions", {"work_unit_guid": TR_GUID}) == {}


def test_a_new_fact_is_recorded_and_a_contradiction_refused(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        guard = FactGuard(ledger)
        guard.observe({GUID_MODEL_FACT: "work_unit"})
        guard.record("sync run 1")
        assert ledger.facts() == {GUID_MODEL_FACT: ("work_unit", "sync run 1")}
        later = FactGuard(ledger)
        later.observe({GUID_MODEL_FACT: "work_unit"})
        with pytest.raises(FactMismatchError, match=r"recorded 'work_unit' \(sync run 1\).*guid_model"):
            later.observe({GUID_MODEL_FACT: "time_registration"})


def test_records_of_one_run_that_disagree_are_refused(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        guard = FactGuard(ledger)
        guard.observe({GUID_MODEL_FACT: "work_unit"})
        with pytest.raises(FactMismatchError, match="both"):
            guard.observe({GUID_MODEL_FACT: "time_registration"})


def test_the_mapper_stops_before_planning_when_work_is_keyed_against_the_recorded_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    """Keying work by the other Reporting GUID would pair every unit anew and create it twice in Forecast."""
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(ledger_url) as ledger:
        ledger.record_fact(GUID_MODEL_FACT, "work_unit", "timesync doctor --write-probe")
    links = tmp_path / "links.yml"
    links.write_text("projects:\n  - forecast: 101\n    timelog: 2001\npersons:\n  - forecast: 11\n    timelog: 7\n")
    mapper = ReconcileMapper(config={"ledger_url": ledger_url, "links_path": str(links)})
    messages = [{"type": "SCHEMA", "stream": "work", "schema": {"type": "object", "properties": {}},
                 "key_properties": ["work_unit_guid"]},
                {"type": "RECORD", "stream": "work", "record": _work(TR_GUID)}]
    with pytest.raises(SystemExit) as exit_info:
        mapper.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    assert exit_info.value.code == 1
    assert "doctor --write-probe" in caplog.text
    assert "guid_model" in caplog.text
    assert capsys.readouterr().out == "", "nothing is emitted"
    with Ledger.open(ledger_url) as ledger:
        assert ledger.runs() == [], "nothing was planned"
