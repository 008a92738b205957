"""target-forecast against the Forecast sandbox: create, update, delete, move, leases, locks, retries."""

from __future__ import annotations

import pytest
import requests

from forecast_api import ForecastFatalError
from sandbox import credentials
from target_forecast.target import TargetForecast
from tests.targets.helpers import (
    FORECAST_PERSON,
    STATE_VALUE,
    forecast_config,
    plan,
    run_target,
    timelog_deletion,
    timelog_work,
)
from timesync.ledger import Ledger, PairKind, PairState
from timesync.model import Direction

T2F = Direction.TIMELOG_TO_FORECAST
GUID = "0f0e0d0c-0b0a-4909-8807-060504030201"


def _registrations(sandbox, **match) -> list[dict]:
    return [r for r in sandbox.forecast.state()["time_registrations"]
            if all(r.get(key) == value for key, value in match.items())]


def _apply(sandbox, ledger: Ledger, ledger_url: str, records: list, **config) -> list[dict]:
    commands = plan(ledger, T2F, records)
    run_target(TargetForecast, forecast_config(sandbox, ledger_url, **config), commands)
    return commands


def _forecast(sandbox, method: str, path: str, body: dict | None = None) -> requests.Response:
    """A user's own request to the Forecast sandbox."""
    response = requests.request(method, f"{sandbox.forecast_url}/api{path}", json=body, timeout=30,
                                headers={"X-FORECAST-API-KEY": credentials.FORECAST_API_KEY})
    response.raise_for_status()
    return response


def _linked(sandbox, ledger, ledger_url, *, minutes=45, note="first") -> int:
    _apply(sandbox, ledger, ledger_url, [timelog_work(GUID, task_id=1001, minutes=minutes, note=note)])
    return int(ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID).forecast_id)


def test_work_on_a_timelog_only_task_becomes_project_time_with_the_task_name(sandbox, ledger, ledger_url):
    """POST v1: person and project linked; the TimeLog task name is kept in the note."""
    registration_id = _linked(sandbox, ledger, ledger_url, minutes=61, note="café <&> ✅")
    [created] = _registrations(sandbox, id=registration_id)
    assert created["person"] == FORECAST_PERSON
    assert created["project"] == 101
    assert created["task"] is None
    assert created["time_registered"] == 61
    assert created["notes"] == "[Analyse] café <&> ✅"
    assert ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID).state is PairState.LINKED


def test_update_is_a_put_of_the_documented_fields_after_the_lease_check(sandbox, ledger, ledger_url):
    """Minutes and note follow; the registration keeps its id."""
    registration_id = _linked(sandbox, ledger, ledger_url)
    _apply(sandbox, ledger, ledger_url, [timelog_work(GUID, task_id=1001, minutes=90, note="second")])
    [updated] = _registrations(sandbox, id=registration_id)
    assert (updated["time_registered"], updated["notes"]) == (90, "[Analyse] second")


def test_edit_in_forecast_between_plan_and_write_parks_a_conflict(sandbox, ledger, ledger_url):
    """The lease re-reads the registration before the PUT; a Forecast edit since the plan is never overwritten."""
    registration_id = _linked(sandbox, ledger, ledger_url)
    commands = plan(ledger, T2F, [timelog_work(GUID, task_id=1001, minutes=90, note="timelog edit")])
    _forecast(sandbox, "PUT", f"/v1/time_registrations/{registration_id}", {"time_registered": 5})
    sandbox.forecast.clear_stats()
    run_target(TargetForecast, forecast_config(sandbox, ledger_url), commands)
    assert _registrations(sandbox, id=registration_id)[0]["time_registered"] == 5
    assert not sandbox.forecast.stats()["writes"]
    assert ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID).state is PairState.CONFLICT


def _person_reads(sandbox) -> tuple[int, int]:
    """(per-person v3 reads, v3 reads by id) since the stats were cleared."""
    requests_made = sandbox.forecast.stats()["requests"]
    return (requests_made.get("GET /api/v3/persons/{id}/time_registrations", 0),
            requests_made.get("GET /api/v3/time_registrations/{id}", 0))


def test_updates_of_one_persons_registrations_over_weeks_cost_one_lease_read(sandbox, ledger, ledger_url):
    """The lease re-reads a person's registrations in one v3 read from the batch's first date, not one per id."""
    guids = [f"{GUID[:-1]}{n}" for n in range(3)]
    days = ("2026-11-02", "2026-11-13", "2026-11-23")
    _apply(sandbox, ledger, ledger_url, [timelog_work(guid, task_id=1001, minutes=45, day=day)
                                         for guid, day in zip(guids, days, strict=True)])
    sandbox.forecast.clear_stats()
    _apply(sandbox, ledger, ledger_url, [timelog_work(guid, task_id=1001, minutes=90, day=day)
                                         for guid, day in zip(guids, days, strict=True)])
    assert _person_reads(sandbox) == (1, 0)
    ids = {int(ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=guid).forecast_id) for guid in guids}
    assert [r["time_registered"] for r in sandbox.forecast.state()["time_registrations"] if r["id"] in ids] \
        == [90, 90, 90]


def test_a_registration_whose_date_was_edited_is_still_found_by_the_lease(sandbox, ledger, ledger_url):
    """A Forecast user moved the registration a month back, before the range the batch reads: it is read by id,
    and the edit is parked as a conflict instead of the registration being taken for deleted."""
    registration_id = _linked(sandbox, ledger, ledger_url)
    commands = plan(ledger, T2F, [timelog_work(GUID, task_id=1001, minutes=90, note="timelog edit")])
    _forecast(sandbox, "PUT", f"/v1/time_registrations/{registration_id}", {"date": "2026-10-26"})
    sandbox.forecast.clear_stats()
    run_target(TargetForecast, forecast_config(sandbox, ledger_url), commands)
    assert _person_reads(sandbox) == (1, 1)
    [after] = _registrations(sandbox, id=registration_id)
    assert (after["date"], after["time_registered"]) == ("2026-10-26", 45)
    pair = ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID)
    assert pair.state is PairState.CONFLICT
    assert pair.conflict["forecast"]["date"] == "2026-10-26"


def test_delete_propagates_and_a_second_delete_finds_it_gone(sandbox, ledger, ledger_url):
    """DELETE v1 after the lease check; the pair becomes a tombstone."""
    registration_id = _linked(sandbox, ledger, ledger_url)
    _apply(sandbox, ledger, ledger_url, [timelog_deletion(GUID)])
    assert not _registrations(sandbox, id=registration_id)
    assert ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID).state is PairState.DELETED


def test_a_move_to_another_project_is_delete_plus_create_on_one_pair(sandbox, ledger, ledger_url):
    """Forecast cannot change a registration's project: the old one goes, a new one comes, one pair."""
    old_id = _linked(sandbox, ledger, ledger_url)
    _apply(sandbox, ledger, ledger_url, [timelog_work(GUID, task_id=1006, minutes=45, note="first",
                                                      project=2002, task_name="Analyse")])
    pair = ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID)
    assert pair.state is PairState.LINKED
    assert not _registrations(sandbox, id=old_id)
    [moved] = _registrations(sandbox, id=int(pair.forecast_id))
    assert moved["project"] == 102
    assert len(ledger.pairs(kind=PairKind.TIME_ENTRY)) == 1


def test_an_approved_registration_is_locked_with_the_reason_and_not_written(sandbox, ledger, ledger_url):
    """Approved in Forecast: no PUT at all; the pair is `locked` and says why."""
    registration_id = _linked(sandbox, ledger, ledger_url)
    sandbox.forecast.lock(registration_ids=[registration_id])
    sandbox.forecast.clear_stats()
    _apply(sandbox, ledger, ledger_url, [timelog_work(GUID, task_id=1001, minutes=90, note="late")])
    assert not sandbox.forecast.stats()["writes"]
    pair = ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID)
    assert pair.state is PairState.LOCKED
    assert "approved" in pair.reason


def test_a_create_into_an_approved_period_is_locked(sandbox, ledger, ledger_url):
    """Forecast refuses new time in an approved period (400): recorded as `locked`, not as a failure."""
    sandbox.forecast.lock(person=FORECAST_PERSON, **{"from": "2026-11-23", "to": "2026-11-29"})
    _apply(sandbox, ledger, ledger_url, [timelog_work(GUID, task_id=1001, minutes=30)])
    pair = ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID)
    assert pair.state is PairState.LOCKED
    assert "approved period" in pair.reason


def test_429_and_503_are_retried_honouring_retry_after_without_duplicates(sandbox, ledger, ledger_url):
    """A third of the requests fail with 429 (Retry-After: 0) or 503; every create still lands exactly once.

    One worker keeps the seeded fault sequence the same on every run of the test.
    """
    sandbox.forecast.faults(error_rate=0.3, statuses=[429, 429, 429, 503], retry_after_seconds=0, seed=7)
    records = [timelog_work(f"0f0e0d0c-0b0a-4909-8807-0605040302{i:02d}", task_id=1001, minutes=10 + i,
                            note=f"retry {i}") for i in range(12)]
    _apply(sandbox, ledger, ledger_url, records, max_concurrency=1)
    injected = sandbox.forecast.stats()["faults"]
    sandbox.forecast.faults()
    notes = [r["notes"] for r in _registrations(sandbox, person=FORECAST_PERSON) if "retry" in r["notes"]]
    assert sorted(notes) == sorted(f"[Analyse] retry {i}" for i in range(12))
    assert injected, "the test must have met some 429/503 answers"
    assert len(ledger.pairs(states=[PairState.LINKED], kind=PairKind.TIME_ENTRY)) == 12


def test_the_taps_state_is_forwarded_unchanged_and_only_after_the_writes(sandbox, ledger, ledger_url):
    """The target keeps no state of its own: it echoes the tap's bookmark once its batch is written."""
    _apply(sandbox, ledger, ledger_url, [timelog_work(GUID, task_id=1001, minutes=30)])
    commands = plan(ledger, T2F, [timelog_work(GUID, task_id=1001, minutes=31)])
    messages = run_target(TargetForecast, forecast_config(sandbox, ledger_url), commands)
    assert [m["bookmarks"] for m in messages] == [STATE_VALUE["bookmarks"]]
    assert _registrations(sandbox, id=int(ledger.find_pair(PairKind.TIME_ENTRY, timelog_id=GUID).forecast_id))


def test_a_refused_api_key_fails_the_run_and_the_key_never_reaches_the_log(sandbox, ledger, ledger_url, caplog):
    """401: a fatal error naming the setting to fix; neither it nor the log contains the key."""
    secret = "a-wrong-but-secret-key-123"
    commands = plan(ledger, T2F, [timelog_work(GUID, task_id=1001, minutes=30)])
    with pytest.raises(ForecastFatalError, match="api_key") as failure:
        run_target(TargetForecast, forecast_config(sandbox, ledger_url, api_key=secret), commands)
    assert secret not in str(failure.value)
    assert secret not in caplog.text
