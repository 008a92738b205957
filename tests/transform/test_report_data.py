"""`timesync report`'s data layer: the agreement figures, their explanations and sources, runs, attention, links.

Each test builds a state through the real engine, ledger and fake systems (`timesync_world`), then reads the
report through fake API readers shaped like the real ones (`report_fakes`).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from report_fakes import MONDAY, WINDOW, FakeForecastTime, park_a_conflict, report_of, twin_of
from timesync_world import World

from timesync.ledger import Outcome, PairState
from timesync.model import Direction
from timesync.reconcile.engine import Reconciler
from timesync.reconcile.report import direction_summary
from timesync.report.model import Attention, FigureSource, Why, Window, hours

NEXT_WEEK = "2026-03-10"  # 2026-W11


def _rows(report) -> dict[tuple[str, str], tuple[int, int]]:
    return {(row.forecast_project, row.week): (row.forecast_minutes, row.timelog_minutes) for row in report.agreement}


def _row(report, project: str = "101", week: str = "2026-W10"):
    return next(row for row in report.agreement if (row.forecast_project, row.week) == (project, week))


def test_after_a_sync_both_apis_agree_per_project_and_week(world: World) -> None:
    """Task time, project time and TimeLog-only-task time all count in their project's week on both sides."""
    world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="task time")
    world.forecast.create(person=12, project=101, task=None, date="2026-03-04", minutes=90, note="project time")
    world.forecast.create(person=11, project=102, task=303, date=NEXT_WEEK, minutes=30, note="other project")
    support = next(t for t, task in world.timelog.tasks.items() if task["project_id"] == 2001)
    world.timelog.create(employee=7, task=support, date="2026-03-03", minutes=45, note="hotline")
    world.sync()
    report = report_of(world)
    assert _rows(report) == {("101", "2026-W10"): (195, 195), ("102", "2026-W11"): (30, 30)}
    assert all(row.agrees for row in report.agreement)
    assert [(s.side, s.source, s.error) for s in report.sources] == [
        ("forecast", FigureSource.API, None), ("timelog", FigureSource.API, None)]
    assert {row.forecast_source for row in report.agreement} == {FigureSource.API}
    assert report.attention == []


def test_a_conflict_is_the_difference_and_names_its_resolve_commands(world: World) -> None:
    """Both sides edited since the last sync: the week differs by exactly that entry, explained as the conflict."""
    park_a_conflict(world)
    report = report_of(world)
    row = _row(report)
    assert (row.forecast_minutes, row.timelog_minutes, row.difference) == (90, 30, 60)
    (why,) = row.explanations
    assert (why.why, why.forecast_minutes, why.timelog_minutes) == (Why.CONFLICT, 90, 30)
    assert why.commands == [f"timesync conflicts resolve {why.pair_id} --keep forecast",
                            f"timesync conflicts resolve {why.pair_id} --keep timelog"]
    (item,) = report.attention
    assert (item.kind, item.pair_id, item.commands) == (Attention.CONFLICT, why.pair_id, why.commands)
    assert (item.forecast_value["minutes"], item.timelog_value["minutes"]) == (90, 30)


def test_an_edit_inside_a_locked_period_is_the_difference_and_explained_as_locked(world: World) -> None:
    """Forecast approved the entry; TimeLog's later edit is not written, and the report shows why."""
    reg = world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="n")
    world.sync()
    world.forecast.approve(reg)
    world.timelog.edit(twin_of(world, reg), minutes=120)
    world.sync()
    report = report_of(world)
    (why,) = _row(report).explanations
    assert (why.why, why.forecast_minutes, why.timelog_minutes) == (Why.LOCKED, 60, 120)
    (item,) = report.attention
    assert item.kind is Attention.LOCKED
    assert item.commands == []
    assert "No command overrides" in item.action


def test_changes_not_synced_yet_are_explained_per_entry(world: World) -> None:
    """An edit, a new entry and a deletion made since the last run: each is its own 'not yet synced' line."""
    edited = world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="e")
    deleted = world.forecast.create(person=12, project=101, task=301, date=MONDAY, minutes=15, note="d")
    world.sync()
    world.forecast.edit(edited, time_registered=75)
    world.timelog.delete(twin_of(world, deleted))
    new = world.forecast.create(person=12, project=101, task=301, date=MONDAY, minutes=30, note="new")
    row = _row(report_of(world))
    assert (row.forecast_minutes, row.timelog_minutes) == (120, 60)
    texts = sorted((why.why, why.difference, why.text.split(" since")[0]) for why in row.explanations)
    assert texts == [(Why.NOT_SYNCED, 15, "Changed in Forecast"),
                     (Why.NOT_SYNCED, 15, f"Its twin in TimeLog ({twin_of(world, deleted)}) is gone"),
                     (Why.NOT_SYNCED, 30, f"New in Forecast (entry {new})")]
    assert sum(why.difference for why in row.explanations) == row.difference


def test_time_out_of_scope_is_shown_apart_and_unlinked_persons_are_listed(world: World) -> None:
    """An unlinked person's time in a linked project is not compared; the Links part lists the person."""
    world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="in scope")
    world.forecast.create(person=13, project=101, task=301, date=MONDAY, minutes=120, note="unlinked person")
    world.forecast.create(person=11, project=102, task=303, date="2026-01-30", minutes=45, note="before start")
    world.sync()
    report = report_of(world, window=Window.of(dt.date(2026, 1, 26), dt.date(2026, 3, 8)))
    assert (_row(report).forecast_minutes, _row(report).out_of_scope_minutes) == (60, {"forecast": 120})
    before = _row(report, "102", "2026-W05")
    assert (before.forecast_minutes, before.timelog_minutes, before.out_of_scope_minutes) == (0, 0, {"forecast": 45})
    (unlinked,) = report.unlinked
    assert (unlinked.side, unlinked.kind, unlinked.native_id) == ("forecast", "person", "13")
    assert (unlinked.entries, unlinked.minutes, unlinked.source) == (1, 120, FigureSource.API)


def _fail_a_create(world: World) -> int:
    """A Forecast registration whose TimeLog create was refused (recorded as target-timelog records it)."""
    world.sync()  # the tasks exist in TimeLog first
    reg = world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=50, note="refused")
    _refuse_next_creates(world)
    return reg


def _refuse_next_creates(world: World) -> None:
    """Plan the Forecast-to-TimeLog direction and record every command as refused by TimeLog."""
    reconciler = Reconciler(world.ledger, world.links, Direction.FORECAST_TO_TIMELOG)
    for stream, record in world.forecast.read(0):
        reconciler.add(stream, record)
    for command in reconciler.run():
        world.ledger.record_outcome(command, Outcome.FAILED, message="TimeLog refused: the task is closed")


def test_a_create_that_keeps_failing_is_explained_and_needs_a_person(world: World) -> None:
    """The week is short on TimeLog by that entry; 'What needs a person' names the API's reason and the retry."""
    _fail_a_create(world)
    report = report_of(world)
    (why,) = _row(report).explanations
    assert (why.why, why.forecast_minutes, why.timelog_minutes) == (Why.FAILED, 50, 0)
    assert why.detail == "TimeLog refused: the task is closed"
    (item,) = report.attention
    assert (item.kind, item.attempts, item.commands) == (Attention.FAILING, 1, ["meltano run sync"])
    assert "retried 4 more time(s)" in item.action


def test_ledger_only_uses_the_pairs_values_and_says_so(world: World) -> None:
    """Without the APIs: conflicts at their parked values, a failed create at its intended value, sources 'ledger'."""
    park_a_conflict(world)
    world.forecast.create(person=12, project=101, task=301, date=NEXT_WEEK, minutes=10, note="x")
    _refuse_next_creates(world)
    report = report_of(world, ledger_only=True)
    assert report.ledger_only
    assert {(s.source, s.error) for s in report.sources} == {(FigureSource.LEDGER, "--ledger-only was given")}
    assert _rows(report) == {("101", "2026-W10"): (90, 30), ("101", "2026-W11"): (10, 0)}
    assert [why.why for why in _row(report).explanations] == [Why.CONFLICT]
    assert [why.why for why in _row(report, week="2026-W11").explanations] == [Why.FAILED]


def test_an_api_that_cannot_be_read_falls_back_to_the_ledger_without_its_secret(world: World) -> None:
    """One side failing puts both on the ledger (no mixed ages); the error is on the page, the password is not."""
    world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="n")
    world.sync()
    forecast = FakeForecastTime(world)

    def broken() -> object:
        raise RuntimeError("login refused for tl-user / hunter22-secret")

    report = report_of(world, forecast=lambda: forecast, timelog=broken, secrets=["hunter22-secret", ""])
    sources = {source.side: source for source in report.sources}
    assert {source.source for source in sources.values()} == {FigureSource.LEDGER}
    assert "hunter22" not in sources["timelog"].error
    assert "[redacted]" in sources["timelog"].error
    assert "the timelog API could not be read" in sources["forecast"].error
    assert forecast.closed, "a client opened for the report is closed again"
    assert _rows(report) == {("101", "2026-W10"): (60, 60)}
    assert "hunter22" not in json.dumps(report.to_json())


def test_runs_over_time_are_oldest_first_with_the_status_columns(world: World) -> None:
    """One point per run and direction; its numbers are the `timesync status` columns."""
    world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="n")
    world.sync()
    world.sync()
    report = report_of(world)
    assert [run.direction for run in report.runs] == [str(d) for d in Direction] * 2
    first = report.runs[0]
    expected = direction_summary(world.ledger, world.ledger.run(first.id))
    assert (first.created, first.updated, first.failed) == (expected["created"], expected["updated"], 0)
    assert first.created >= 1
    assert all(run.seconds is not None and run.seconds >= 0 for run in report.runs)
    assert len(report_of(world, runs_limit=3).runs) == 3


def test_links_list_both_sides_and_the_json_is_the_same_data(world: World) -> None:
    """The links come from links.yml with the start date; --json dumps every figure the page shows."""
    world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="n")
    world.sync()
    report = report_of(world)
    assert [(p.forecast_id, p.timelog_id, p.start_date) for p in report.projects] == [
        ("101", "2001", None), ("102", "2002", dt.date(2026, 2, 1))]
    assert [(p.forecast_id, p.timelog_id) for p in report.persons] == [("11", "7"), ("12", "8")]
    data = json.loads(json.dumps(report.to_json()))
    assert data["window"] == {"first": "2026-03-02", "last": "2026-03-15", "weeks": ["2026-W10", "2026-W11"]}
    (row,) = data["agreement"]
    assert (row["forecast_minutes"], row["timelog_minutes"], row["difference_minutes"], row["agrees"]) == (
        60, 60, 0, True)
    assert data["sources"][0]["source"] == "api"
    assert data["ledger_only"] is False


@pytest.mark.parametrize(("since", "until", "first", "last"), [
    ("2026-03-04", "2026-03-04", "2026-03-02", "2026-03-08"),  # a Wednesday: its whole week
    ("2026-03-01", "2026-03-09", "2026-02-23", "2026-03-15"),  # Sunday to Monday: both weeks whole
])
def test_a_window_is_whole_weeks(since: str, until: str, first: str, last: str) -> None:
    """Timesheets are weeks: the report never compares part of one."""
    window = Window.of(dt.date.fromisoformat(since), dt.date.fromisoformat(until))
    assert (window.first.isoformat(), window.last.isoformat()) == (first, last)


def test_last_weeks_ends_with_the_given_week_and_a_window_cannot_run_backwards() -> None:
    window = Window.last_weeks(2, dt.date(2026, 3, 11))
    assert window.weeks() == ["2026-W10", "2026-W11"]
    assert window == WINDOW
    with pytest.raises(ValueError, match="ends"):
        Window.of(dt.date(2026, 3, 11), dt.date(2026, 3, 1))


@pytest.mark.parametrize(("minutes", "text"), [(90, "1.5"), (61, "1.02"), (0, "0"), (-45, "-0.75"), (600, "10")])
def test_hours_for_people(minutes: int, text: str) -> None:
    assert hours(minutes) == text


def test_a_parked_pair_stays_explained_even_when_the_hours_agree(world: World) -> None:
    """A conflict on the note alone: equal hours, so the week agrees in hours, but it is not silently 'fine'."""
    reg = world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="n")
    world.sync()
    world.forecast.edit(reg, notes="forecast note")
    world.timelog.edit(twin_of(world, reg), note="timelog note")
    world.sync()
    assert world.ledger.pairs(states=[PairState.CONFLICT])
    for ledger_only in (False, True):
        row = _row(report_of(world, ledger_only=ledger_only))
        assert row.difference == 0
        assert not row.agrees
        assert [why.why for why in row.explanations] == [Why.CONFLICT]


def test_timelog_is_read_a_month_at_a_time_and_keyed_like_the_ledger(world: World) -> None:
    """Reporting refuses wide ranges (TimeLog advises month batches); units are keyed by the GUID the ledger pairs,
    whichever of their two Reporting GUIDs that is."""
    from report_fakes import FakeTimeLogTime

    world.forecast.create(person=11, project=101, task=301, date=MONDAY, minutes=60, note="task time")
    world.sync()
    reader = FakeTimeLogTime(world)
    wide = Window(dt.date(2026, 1, 5), dt.date(2026, 4, 26))
    report = report_of(world, timelog=lambda: reader, window=wide)
    spans = {(call["startDate"], call["endDate"]) for call in reader.calls}
    assert ("2026-02-01", "2026-02-28") in spans
    assert all((dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days < 31 for first, last in spans)
    assert all(row.agrees for row in report.agreement), "every unit matched its pair"
