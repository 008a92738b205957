"""The report's data: plain dataclasses that the HTML page renders and ``--json`` dumps as they are."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from timesync.model import to_json_ready

DAYS_PER_WEEK = 7
MINUTES_PER_HOUR = 60


class FigureSource(StrEnum):
    """Where a figure comes from; every figure on the page names one."""

    API = "api"  # read from that system's API when the report was written
    LEDGER = "ledger"  # the pairs' snapshots as last synced (what the sync last saw)


class Why(StrEnum):
    """Why a project-week differs, as far as the ledger knows (the kinds the page explains)."""

    CONFLICT = "conflict"
    LOCKED = "locked"
    ORPHANED = "orphaned"
    FAILED = "failed"
    OUT_OF_SCOPE = "out_of_scope"
    NOT_SYNCED = "not_synced"


class Attention(StrEnum):
    """What needs a person."""

    CONFLICT = "conflict"
    LOCKED = "locked"
    ORPHANED = "orphaned"
    FAILING = "failing"


def monday_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week (weeks run Monday to Sunday, as timesheets do)."""
    return day - dt.timedelta(days=day.weekday())


def week_label(day: dt.date) -> str:
    """'2026-W47': the ISO week of ``day``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def hours(minutes: int) -> str:
    """Minutes as hours for people: '7.5', '0.25', '-1.75' (integer minutes inside, hours on the page)."""
    text = f"{minutes / MINUTES_PER_HOUR:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Window:
    """The whole weeks the agreement covers, Monday ``first`` to Sunday ``last``."""

    first: dt.date
    last: dt.date

    @classmethod
    def of(cls, since: dt.date, until: dt.date) -> Window:
        """The whole weeks from ``since``'s to ``until``'s (a window is never cut inside a week)."""
        if until < since:
            raise ValueError(f"the report window ends ({until}) before it starts ({since})")
        return cls(monday_of(since), monday_of(until) + dt.timedelta(days=DAYS_PER_WEEK - 1))

    @classmethod
    def last_weeks(cls, weeks: int, until: dt.date) -> Window:
        """The ``weeks`` whole weeks ending with ``until``'s week."""
        if weeks < 1:
            raise ValueError("--weeks must be at least 1")
        return cls.of(monday_of(until) - dt.timedelta(days=DAYS_PER_WEEK * (weeks - 1)), until)

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` falls in the window."""
        return self.first <= day <= self.last

    def weeks(self) -> list[str]:
        """Every week label of the window, in order."""
        count = (self.last - self.first).days // DAYS_PER_WEEK + 1
        return [week_label(self.first + dt.timedelta(days=DAYS_PER_WEEK * i)) for i in range(count)]


@dataclass(frozen=True)
class SideSource:
    """Where one side's figures come from, and why not the API when it was not used."""

    side: str
    source: FigureSource
    detail: str
    error: str | None = None


@dataclass
class Explanation:
    """One reason a project-week differs: a pair (or a new entry) and the minutes it puts on each side."""

    why: Why
    text: str
    forecast_minutes: int = 0
    timelog_minutes: int = 0
    pair_id: int | None = None
    commands: list[str] = field(default_factory=list)
    #: The pair's own reason as the ledger recorded it (the API's message for a lock or a failed write).
    detail: str | None = None

    @property
    def difference(self) -> int:
        """Forecast minus TimeLog, for this explanation alone."""
        return self.forecast_minutes - self.timelog_minutes


@dataclass
class WeekRow:
    """One linked project in one week: in-scope minutes on each side and, where they differ, why."""

    project: str
    forecast_project: str
    timelog_project: str
    week: str
    week_start: dt.date
    forecast_minutes: int = 0
    timelog_minutes: int = 0
    forecast_source: FigureSource = FigureSource.API
    timelog_source: FigureSource = FigureSource.API
    #: Time in this project and week that is not compared (unlinked persons, before start_date), per side.
    out_of_scope_minutes: dict[str, int] = field(default_factory=dict)
    explanations: list[Explanation] = field(default_factory=list)

    @property
    def difference(self) -> int:
        """Forecast minus TimeLog."""
        return self.forecast_minutes - self.timelog_minutes

    @property
    def agrees(self) -> bool:
        """Equal hours and nothing parked in this week."""
        return self.difference == 0 and not self.explanations


@dataclass(frozen=True)
class RunPoint:
    """One run of one direction, as the runs chart draws it."""

    id: int
    direction: str
    status: str
    started_at: dt.datetime
    seconds: float | None
    created: int
    updated: int
    deleted: int
    conflicts: int
    locked: int
    failed: int
    out_of_scope: int
    message: str | None = None


@dataclass
class AttentionItem:
    """A pair that needs a person: what it is, why, and what resolves it."""

    kind: Attention
    pair_id: int
    project: str
    forecast_id: str | None
    timelog_id: str | None
    reason: str
    since: dt.datetime
    forecast_value: dict[str, Any] | None
    timelog_value: dict[str, Any] | None
    commands: list[str]
    action: str
    attempts: int = 0
    #: Where each value comes from: the API (the entry as it is now) or the ledger (as last synced or parked).
    forecast_source: FigureSource = FigureSource.LEDGER
    timelog_source: FigureSource = FigureSource.LEDGER


@dataclass(frozen=True)
class LinkedProject:
    """A line of links.yml's projects, with both sides' names as the taps last read them."""

    forecast_id: str
    forecast_name: str | None
    timelog_id: str
    timelog_name: str | None
    start_date: dt.date | None


@dataclass(frozen=True)
class LinkedPerson:
    """A line of links.yml's persons, with both sides' names."""

    forecast_id: str
    forecast_name: str | None
    timelog_id: str
    timelog_name: str | None


@dataclass(frozen=True)
class UnlinkedWithTime:
    """A person or project without a link that has time: how many entries the runs left out, and how much."""

    side: str
    kind: str
    native_id: str
    name: str | None
    entries: int
    minutes: int | None
    source: FigureSource


@dataclass
class Report:
    """Everything on the page, in the page's order."""

    generated_at: dt.datetime
    window: Window
    sources: list[SideSource]
    agreement: list[WeekRow]
    runs: list[RunPoint]
    attention: list[AttentionItem]
    projects: list[LinkedProject]
    persons: list[LinkedPerson]
    unlinked: list[UnlinkedWithTime]
    notes: list[str] = field(default_factory=list)

    @property
    def ledger_only(self) -> bool:
        """True when no figure came from an API."""
        return all(source.source is FigureSource.LEDGER for source in self.sources)

    def to_json(self) -> dict[str, Any]:
        """The same data as the page, JSON-ready (``--json``); derived values are spelled out for scripts."""
        data: dict[str, Any] = to_json_ready(asdict(self))
        data["ledger_only"] = self.ledger_only
        data["window"]["weeks"] = self.window.weeks()
        for row, dumped in zip(self.agreement, data["agreement"], strict=True):
            dumped["difference_minutes"] = row.difference
            dumped["agrees"] = row.agrees
        return data
