"""Unit conversions: minutes exact through hours and xs:duration, dates never shifted, timestamps in UTC."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from timelog_api import convert

ROUND_TRIP_MINUTES = [0, 1, 7, 59, 60, 61, 90, 600, 1439]
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@pytest.mark.parametrize("minutes", ROUND_TRIP_MINUTES)
def test_minutes_survive_a_round_trip_through_decimal_hours(minutes: int) -> None:
    """The sync stores minutes; TimeLog stores hours. Converting back and forth must never drift."""
    assert convert.hours_to_minutes(convert.minutes_to_hours(minutes)) == minutes


@pytest.mark.parametrize("minutes", ROUND_TRIP_MINUTES)
def test_minutes_survive_reporting_four_decimal_hours(minutes: int) -> None:
    """The Reporting API writes hours with 4 decimals (`0.0167` for one minute); that must still round back."""
    reported = f"{Decimal(minutes) / 60:.4f}"
    assert convert.hours_to_minutes(reported) == minutes


@pytest.mark.parametrize("minutes", ROUND_TRIP_MINUTES)
def test_minutes_survive_a_round_trip_through_xs_duration(minutes: int) -> None:
    """Transactional WorkUnit.Duration is an xs:duration; zeep gives a timedelta or a string."""
    duration = convert.minutes_to_duration(minutes)
    assert convert.duration_to_minutes(duration) == minutes
    hours, rest = divmod(minutes, 60)
    assert convert.duration_to_minutes(f"PT{hours}H{rest}M") == minutes


def test_hours_from_a_double_round_to_the_nearest_minute() -> None:
    """WorkUnitFlat.Hours is a double: 1/60 h is not exact in binary, and must still be one minute."""
    assert convert.hours_to_minutes(1 / 60) == 1
    assert convert.hours_to_minutes(7 / 60) == 7
    assert convert.hours_to_minutes(0.2583) == 15  # 15.498 minutes
    assert convert.hours_to_minutes(None) is None


def test_a_duration_in_months_is_refused() -> None:
    """Months have no fixed length in minutes: that is malformed input, not something to guess."""
    with pytest.raises(ValueError, match="months"):
        convert.duration_to_minutes("P1M")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-29T00:00:00", "2026-03-29"),  # DST change day in Copenhagen
        ("2026-03-29T23:30:00+02:00", "2026-03-29"),  # late in the day with an offset: same calendar date
        (dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2026-01-01"),
        (dt.date(2026, 12, 31), "2026-12-31"),
    ],
)
def test_dates_are_calendar_dates_never_shifted(value: object, expected: str) -> None:
    """A registration date is the date the person wrote, whatever the zone of the timestamp carrying it."""
    assert convert.to_date(value) == expected


def test_offsetless_timestamps_are_read_in_the_site_zone_and_written_in_utc() -> None:
    """TimeLog writes `2020-04-17T17:50:57.9000000` without an offset; the site's zone decides what it means."""
    assert convert.to_utc_rfc3339("2026-07-01T12:00:00", COPENHAGEN) == "2026-07-01T10:00:00Z"
    assert convert.to_utc_rfc3339("2026-01-01T12:00:00", COPENHAGEN) == "2026-01-01T11:00:00Z"
    assert convert.to_utc_rfc3339("2020-04-17T17:50:57.9000000", dt.UTC) == "2020-04-17T17:50:57.900000Z"
    assert convert.to_utc_rfc3339("2015-05-19T23:04:27+02:00", dt.UTC) == "2015-05-19T21:04:27Z"


def test_site_local_parameters_round_trip_with_utc() -> None:
    """Filter parameters go out in site-local time and must mean the same moment."""
    moment = dt.datetime(2026, 11, 25, 16, 30, tzinfo=dt.UTC)
    local = convert.to_site_local(moment, COPENHAGEN)
    assert local == dt.datetime(2026, 11, 25, 17, 30)
    assert convert.parse_datetime(local, COPENHAGEN) == moment


@pytest.mark.parametrize(("text", "expected"), [("1", True), ("0", False), ("true", True), ("False", False),
                                                ("", None), (None, None)])
def test_booleans_are_read_in_both_spellings(text: str | None, expected: bool | None) -> None:
    """Reporting samples write booleans as 1/0, the XSD type allows true/false."""
    assert convert.to_bool(text) is expected


def test_a_non_boolean_is_an_error_not_a_guess() -> None:
    """Malformed values must surface, never turn silently into False."""
    with pytest.raises(ValueError, match="boolean"):
        convert.to_bool("yes please")


def test_guids_are_lower_case_and_the_empty_guid_is_null() -> None:
    """The Reporting and Transactional APIs must agree on GUID text so change-log GUIDs match report rows."""
    assert convert.to_guid("ABCDEF01-2345-6789-ABCD-EF0123456789") == "abcdef01-2345-6789-abcd-ef0123456789"
    assert convert.to_guid("00000000-0000-0000-0000-000000000000") is None
