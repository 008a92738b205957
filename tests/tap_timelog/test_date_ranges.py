"""tap-timelog's work stream reads Reporting by date ranges: changed dates merge into few, short ranges."""

from __future__ import annotations

import datetime as dt

from tap_timelog.client import MAX_RANGE_DAYS, date_ranges


def test_changed_dates_merge_into_few_ranges() -> None:
    """One Reporting read per cluster of dates; a 2-month-old edit gets its own small range."""
    day = dt.date(2026, 11, 25)
    days = [day, day - dt.timedelta(days=1), day - dt.timedelta(days=5), day - dt.timedelta(days=60)]
    assert date_ranges(days) == [(day - dt.timedelta(days=60), day - dt.timedelta(days=60)),
                                 (day - dt.timedelta(days=5), day)]
    assert date_ranges([]) == []


def test_a_date_range_never_spans_more_than_a_week() -> None:
    """Edits every few days chain into week-long ranges, not into one range over all of history."""
    day = dt.date(2026, 1, 1)
    every_third_day = [day + dt.timedelta(days=3 * i) for i in range(10)]
    ranges = date_ranges(every_third_day)
    assert all((last - first).days < MAX_RANGE_DAYS for first, last in ranges)
    assert len(ranges) == 4
    assert sorted(every_third_day) == sorted(d for d in every_third_day if any(f <= d <= t for f, t in ranges))
