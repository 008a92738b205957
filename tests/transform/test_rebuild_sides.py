"""Which GUID model and which dates `timesync ledger rebuild` reads TimeLog with: settled before any API read."""

from __future__ import annotations

import datetime as dt

import pytest

from timelog_api.guids import GuidModel
from timesync.links import Links, ProjectLink
from timesync.rebuild.sides import RebuildReadError, guid_model_setting, history_window

TODAY = dt.date(2026, 12, 3)
RECORDED = ("work_unit", "sync run 12")


def test_the_taps_setting_wins_over_what_the_ledger_recorded() -> None:
    """The sync keys work units as tap-timelog's setting says; the rebuild must key them the same way."""
    assert guid_model_setting("time_registration", RECORDED) == (GuidModel.TIME_REGISTRATION,
                                                                 "tap-timelog's guid_model setting")


def test_auto_uses_the_ledgers_fact_and_without_one_leaves_it_to_be_found_out() -> None:
    assert guid_model_setting("auto", RECORDED) == (GuidModel.WORK_UNIT, "recorded in the ledger by sync run 12")
    assert guid_model_setting(None, None) == (None, "")


def test_a_misspelt_setting_is_an_error_naming_the_variable_and_the_values() -> None:
    with pytest.raises(RebuildReadError, match=r"TAP_TIMELOG_GUID_MODEL to auto, time_registration or work_unit"):
        guid_model_setting("work-unit", None)


def _links(*starts: dt.date | None) -> Links:
    return Links(projects=tuple(ProjectLink(str(i), str(100 + i), start) for i, start in enumerate(starts)))


def test_the_window_starts_at_since_else_the_earliest_link_start_else_years_back() -> None:
    """A link without a start date syncs its whole history, so only dates on every link bound the window."""
    early, late = dt.date(2026, 3, 4), dt.date(2026, 6, 1)
    window = history_window(_links(late, early), None, TODAY, default_years=3, future_days=366)
    assert window.first == dt.date(2026, 3, 2)  # the Monday of `early`'s week
    assert window.last >= TODAY + dt.timedelta(days=366)
    assert history_window(_links(late, None), None, TODAY, default_years=3, future_days=0).first <= \
        dt.date(2023, 12, 1)
    assert history_window(_links(early), dt.date(2026, 11, 2), TODAY, default_years=3, future_days=0).first == \
        dt.date(2026, 11, 2)
