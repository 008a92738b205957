"""Units and dates: minutes are exact through TimeLog hours, dates are never shifted."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from timesync.adapters import ForecastAdapter, TimeLogAdapter
from timesync.adapters.base import BadRecordError
from timesync.model import (
    Assignment,
    Side,
    Task,
    TimeEntry,
    hours_from_minutes,
    minutes_from_hours,
    parse_date,
    to_json_ready,
)

MINUTES_IN_A_DAY = 1440


def test_every_minute_of_a_day_round_trips_through_hours() -> None:
    """minutes -> hours -> minutes is the identity for 1..1440 (invariant 7)."""
    drifted = [m for m in range(1, MINUTES_IN_A_DAY + 1) if minutes_from_hours(hours_from_minutes(m)) != m]
    assert drifted == []


@pytest.mark.parametrize("minutes", [1, 7, 59, 61, 600])
def test_named_durations_round_trip(minutes: int) -> None:
    """The durations the end-to-end suite also checks."""
    hours = hours_from_minutes(minutes)
    assert isinstance(hours, Decimal)
    assert minutes_from_hours(hours) == minutes
    assert minutes_from_hours(str(hours)) == minutes


@pytest.mark.parametrize(
    ("hours", "minutes"),
    [("1.5", 90), ("0.016666", 1), ("0.0166666666", 1), ("0.02", 1), ("0.12", 7), (0.1, 6), ("0.991666", 59),
     ("0.0083", 0), ("0.00834", 1), (2, 120)],
)
def test_decimal_hours_round_to_the_nearest_minute(hours: object, minutes: int) -> None:
    """TimeLog sends hours like 1.5 or 0.016666...; half a minute rounds up."""
    assert minutes_from_hours(hours) == minutes


def test_dates_stay_calendar_dates() -> None:
    """A timestamp just before midnight UTC keeps its date; no zone conversion happens."""
    assert parse_date("2026-03-01T23:59:59+14:00") == dt.date(2026, 3, 1)
    assert parse_date("2026-03-01T00:00:00-12:00") == dt.date(2026, 3, 1)
    assert parse_date("2026-03-01") == dt.date(2026, 3, 1)


def test_forecast_registration_to_canonical() -> None:
    """Task time, project time (project_id derived), approval and notes map as docs/streams.md says."""
    record = {"id": 9, "person": 11, "project": None, "task": 301, "task_project": 101, "project_id": 101,
              "non_project_time": None, "time_registered": 61, "date": "2026-03-01", "notes": None,
              "approval_status": "APPROVED", "updated_at": "2026-03-01T10:00:00Z"}
    (entry,) = ForecastAdapter().to_canonical("time_registrations", record)
    assert entry == TimeEntry(Side.FORECAST, "9", "101", "11", "301", dt.date(2026, 3, 1), 61, "", locked=True)
    payload = ForecastAdapter().entry_payload(entry, update=False)
    assert payload == {"person": 11, "task": 301, "time_registered": 61, "date": "2026-03-01", "notes": ""}
    assert ForecastAdapter().entry_payload(entry, update=True) == {"time_registered": 61, "date": "2026-03-01",
                                                                  "notes": ""}


def test_a_forecast_task_without_estimate_or_dates_becomes_a_timelog_task_without_budget_or_dates() -> None:
    """The docs' task samples show no `estimate` and a task may have no dates: the tap then emits neither, the
    canonical task has none, and the TimeLog task payload carries no budget (target-timelog leaves it alone)."""
    record = {"id": 5001, "title": "Design", "project_id": 101, "parent_task_id": None, "assigned_persons": [11],
              "updated_at": "2026-03-01T10:00:00Z"}
    task, assignment = ForecastAdapter().to_canonical("tasks", record)
    assert isinstance(task, Task)
    assert (task.estimate_minutes, task.start_date, task.end_date) == (None, None, None)
    assert assignment == Assignment(Side.FORECAST, "5001", "101", "11")
    payload = TimeLogAdapter().task_payload(replace(task, side=Side.TIMELOG, project_id="2001"))
    assert payload["budget_hours"] is None
    assert (payload["start_date"], payload["end_date"]) == (None, None)
    with_estimate = ForecastAdapter().to_canonical("tasks", {**record, "estimate": 90.0})[0]
    assert TimeLogAdapter().task_payload(replace(with_estimate, side=Side.TIMELOG))["budget_hours"] == "1.500000"


def test_forecast_records_with_only_the_required_fields_become_canonical() -> None:
    """What the tap requires is enough: every optional field may be missing (tap_forecast/schemas.py)."""
    adapter = ForecastAdapter()
    (entry,) = adapter.to_canonical("time_registrations", {
        "id": 9, "person": 11, "project": 101, "task": None, "task_project": None, "project_id": 101,
        "non_project_time": None, "time_registered": 30, "date": "2026-03-01", "notes": "x",
        "approval_status": "NOT_SUBMITTED", "updated_at": "2026-03-01T10:00:00Z"})
    assert (entry.project_id, entry.task_id, entry.minutes, entry.note) == ("101", None, 30, "x")
    (project,) = adapter.to_canonical("projects", {"id": 101, "company_project_id": 1, "name": "Web",
                                                   "status": "GREEN"})
    assert (project.id, project.name, project.number) == ("101", "Web", "1")
    (person,) = adapter.to_canonical("persons", {"id": 11, "first_name": "Anna", "last_name": None, "email": None,
                                                 "active": True})
    assert (person.id, person.name, person.email) == ("11", "Anna", None)


def test_a_forecast_task_without_its_project_names_stream_key_and_field() -> None:
    with pytest.raises(BadRecordError, match=r"stream tasks, record id=5001: field 'project_id' is missing"):
        ForecastAdapter().to_canonical("tasks", {"id": 5001, "title": "Design", "assigned_persons": []})


def test_timelog_work_to_canonical_prefers_minutes_and_falls_back_to_hours() -> None:
    """`minutes` is authoritative; without it, hours convert exactly; approval >= 10 locks."""
    record = {"work_unit_guid": "g1", "employee_id": 7, "task_id": 900, "task_name": "Support", "project_id": 2001,
              "date": "2026-03-01", "hours": "0.116667", "note": "x & <y>", "approval_status": 10}
    (entry,) = TimeLogAdapter().to_canonical("work", record)
    assert (entry.minutes, entry.locked, entry.task_name, entry.note) == (7, True, "Support", "x & <y>")
    assert TimeLogAdapter().entry_payload(entry, update=False)["hours"] == "0.116667"


def test_a_record_missing_a_field_names_stream_key_and_field() -> None:
    """Bad input gives an error that says what to fix (invariant 10)."""
    with pytest.raises(BadRecordError, match=r"stream work, record work_unit_guid='g2': field 'employee_id'"):
        TimeLogAdapter().to_canonical("work", {"work_unit_guid": "g2", "task_id": 1, "project_id": 1,
                                               "date": "2026-01-01", "minutes": 5})


def test_to_json_ready_converts_nested_values_and_keeps_scalars() -> None:
    entry = TimeEntry(side=Side.FORECAST, id="1", project_id="2", person_id="3", task_id=None,
                      date=dt.date(2026, 3, 1), minutes=5, updated_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    ready = to_json_ready({"entry": entry, "dates": (dt.date(2026, 3, 2),), "n": 1, "side": Side.TIMELOG})
    assert ready == {"entry": {"side": "forecast", "id": "1", "project_id": "2", "person_id": "3", "task_id": None,
                               "date": "2026-03-01", "minutes": 5, "note": "", "locked": False,
                               "non_project": False, "task_name": None,
                               "updated_at": "2026-03-01T00:00:00+00:00"},
                     "dates": ["2026-03-02"], "n": 1, "side": "timelog"}
    assert type(ready["side"]) is str
    assert type(ready["entry"]["side"]) is str
