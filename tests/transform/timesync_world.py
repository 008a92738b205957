"""A small two-system world wired through the real rules, adapters and ledger, with fake taps and targets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from timesync_fakes import (
    Clock,
    CrashSwitch,
    FakeForecast,
    FakeForecastTarget,
    FakeTimeLog,
    FakeTimeLogTarget,
    WriteLog,
)

from timesync.adapters import ForecastAdapter, TimeLogAdapter
from timesync.ledger import BackfillState, Ledger
from timesync.links import Links, parse_links
from timesync.model import Direction, Task, TimeEntry
from timesync.rebuild.repair import RebuildPlan, apply_rebuild, plan_rebuild
from timesync.rebuild.sides import Holdings
from timesync.reconcile.bookmarks import BookmarkGuard
from timesync.reconcile.build import PROJECT_TIME_EXTERNAL_KEY
from timesync.reconcile.engine import Reconciler
from timesync.report.model import Window

# Forecast 101 <-> TimeLog 2001 and 102 <-> 2002 are linked; Forecast 103 / TimeLog 2003 are not.
# Persons 11 <-> 7 and 12 <-> 8 are linked; Forecast 13 / TimeLog 9 are not.
PROJECT_LINKS_YAML = {101: "  - forecast: 101\n    timelog: 2001\n",
                      102: "  - forecast: 102\n    timelog: 2002\n    start_date: 2026-02-01\n"}
PERSON_LINKS_YAML = {11: "  - forecast: 11\n    timelog: 7\n", 12: "  - forecast: 12\n    timelog: 8\n"}
LINKS_TEMPLATE = """\
projects:
{projects}persons:
{persons}options:
  conflict_policy: {conflict_policy}
  max_changes_per_run: {max_changes}
"""
#: The whole links.yml, with the options to fill in.
LINKS_YAML = LINKS_TEMPLATE.replace("{projects}", "".join(PROJECT_LINKS_YAML.values())).replace(
    "{persons}", "".join(PERSON_LINKS_YAML.values()))
FORECAST_TASKS = {  # id: (project, title, parent)
    301: (101, "Design", None),
    302: (101, "Design review", 301),
    303: (102, "Build", None),
    304: (103, "Unlinked project task", None),
}
TIMELOG_ONLY_TASKS = {2001: "Support (TimeLog only)", 2003: "Internal (unlinked)"}
#: The fake taps' time streams, and the field a `person_ids` / `employee_ids` filter reads.
ENTRY_STREAMS = {"time_registrations": "person", "work": "employee_id"}


@dataclass
class SyncResult:
    """What one sync wrote and planned."""

    commands: int = 0
    writes: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    run_ids: dict[str, int] = field(default_factory=dict)
    read: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)


class World:
    """Fake Forecast + fake TimeLog + a real ledger; ``sync`` runs both pipelines of job `sync`."""

    def __init__(self, tmp: Path, *, conflict_policy: str = "park", max_changes: int = 500) -> None:
        self.clock = Clock()
        self.log = WriteLog()
        self.forecast, self.timelog = FakeForecast(self.clock, self.log), FakeTimeLog(self.clock, self.log)
        self.options = {"conflict_policy": conflict_policy, "max_changes": max_changes}
        self.links: Links = self._links()
        self.ledger_url = f"sqlite:///{tmp / 'ledger.db'}"
        self.ledger = Ledger.open(self.ledger_url)
        self.tmp = tmp
        self.bookmarks = {Direction.FORECAST_TO_TIMELOG: 0, Direction.TIMELOG_TO_FORECAST: 0}
        for task_id, (project, title, parent) in FORECAST_TASKS.items():
            self.forecast.add_task(task_id, project, title, parent, assigned=(11,) if task_id == 301 else ())
        self.timelog_only_tasks = {self.timelog.add_task(project, name): project
                                   for project, name in TIMELOG_ONLY_TASKS.items()}

    def close(self) -> None:
        self.ledger.close()

    def _links(self, *, without_projects: Collection[int] = (), without_persons: Collection[int] = ()) -> Links:
        projects = "".join(text for project, text in PROJECT_LINKS_YAML.items() if project not in without_projects)
        persons = "".join(text for person, text in PERSON_LINKS_YAML.items() if person not in without_persons)
        text = LINKS_TEMPLATE.format(projects=projects, persons=persons, **self.options)
        return parse_links(text, source="links.yml")

    def edit_links(self, *, without_projects: Collection[int] = (), without_persons: Collection[int] = ()) -> None:
        """A person edits links.yml: every link of the world except these (Forecast ids)."""
        self.links = self._links(without_projects=without_projects, without_persons=without_persons)

    def meltano_state(self, direction: Direction) -> dict[str, Any] | None:
        """The STATE Meltano hands the tap at the start of a run (None before the first)."""
        mark = self.bookmarks[direction]
        return {"bookmarks": {"changes": {"replication_key_value": mark}}} if mark else None

    def lose_ledger(self) -> None:
        """The ledger is gone (a new server, a wrong ledger_url); Meltano's state, kept apart, is not."""
        self.ledger.close()
        lost = self.tmp / "ledger.db"
        for path in (lost, lost.with_name("ledger.db-wal"), lost.with_name("ledger.db-shm")):
            path.unlink(missing_ok=True)
        self.ledger = Ledger.open(self.ledger_url)

    def rebuild(self) -> RebuildPlan:
        """`timesync ledger rebuild --apply`: both sides read whole, the way the command reads the APIs (linked
        projects' tasks and time, TimeLog tasks by their external keys), then re-paired."""
        forecast_ids = {link.forecast for link in self.links.projects}
        timelog_ids = {link.timelog for link in self.links.projects}
        forecast = [c for s, r in self.forecast.read(0) for c in ForecastAdapter().to_canonical(s, r)]
        timelog = [c for s, r in self.timelog.read(0) for c in TimeLogAdapter().to_canonical(s, r)]
        holdings = Holdings(
            forecast_tasks=[t for t in forecast if isinstance(t, Task) and t.project_id in forecast_ids],
            forecast_entries=[e for e in forecast if isinstance(e, TimeEntry) and e.project_id in forecast_ids],
            timelog_entries=[e for e in timelog if isinstance(e, TimeEntry) and e.project_id in timelog_ids])
        project_keys = {PROJECT_TIME_EXTERNAL_KEY.format(project=project): project for project in forecast_ids}
        for task in (t for t in timelog if isinstance(t, Task)):
            for key in task.external_ids:
                if key in project_keys:
                    holdings.project_time_tasks[project_keys[key]] = task
                elif any(key == forecast_task.id for forecast_task in holdings.forecast_tasks):
                    holdings.timelog_tasks[key] = task
        plan = plan_rebuild(self.ledger, self.links, holdings, Window.of(dt.date(2026, 1, 1), dt.date(2026, 4, 1)),
                            examples=0)
        apply_rebuild(self.ledger, self.links, plan, {d: self.meltano_state(d) for d in Direction})
        return plan

    def run_backfills(self, crash_after: int | None = None, crash_only: str | None = None) -> list[SyncResult]:
        """What `timesync finish` does after both pipelines: each queued backfill (or one a crash left running) as
        a filtered full read of both sides, then marked done. A Crash propagates and leaves it running."""
        results = []
        for backfill in self.ledger.backfills(states=(BackfillState.PENDING, BackfillState.RUNNING)):
            self.ledger.start_backfill(backfill.id)
            request = backfill.request
            only = {Direction.FORECAST_TO_TIMELOG: {int(request.forecast)},
                    Direction.TIMELOG_TO_FORECAST: {int(request.timelog)}}
            scope = {"only_projects" if request.kind == "project" else "only_persons": only}
            results.append(self.sync(crash_after, crash_only, **scope))
            self.ledger.finish_backfill(backfill.id, ok=True)
        return results

    def sync(self, crash_after: int | None = None, crash_only: str | None = None, *,
             only_projects: dict[Direction, set[int]] | None = None,
             only_persons: dict[Direction, set[int]] | None = None) -> SyncResult:
        """Both directions; a Crash propagates (the pipeline died, its bookmark did not move).

        ``only_projects`` / ``only_persons``: a backfill, as `timesync finish` runs it: each tap reads from the
        beginning, keeps the time of these projects or persons (its `project_ids` / `person_ids` filter; tasks
        and the deletion feeds are read whole), and no bookmark moves (`--no-state-update`).
        """
        backfill = only_projects is not None or only_persons is not None
        switch = CrashSwitch(crash_after, crash_only)
        result = SyncResult()
        targets: dict[Direction, Any] = {
            Direction.FORECAST_TO_TIMELOG: FakeTimeLogTarget(self.timelog, self.ledger, switch, self.forecast.content),
            Direction.TIMELOG_TO_FORECAST: FakeForecastTarget(self.forecast, self.ledger, switch, self.timelog.content),
        }
        for direction, system in ((Direction.FORECAST_TO_TIMELOG, self.forecast),
                                  (Direction.TIMELOG_TO_FORECAST, self.timelog)):
            read_until = self.clock.now
            guard = BookmarkGuard(self.ledger, direction)
            if not backfill:  # the mapper's check: StaleLedgerError propagates, before anything is planned
                guard.check(self.meltano_state(direction))
            reconciler = Reconciler(self.ledger, self.links, direction)
            records = list(system.read(0 if backfill else self.bookmarks[direction]))
            if only_projects is not None:
                records = [(stream, record) for stream, record in records if stream not in ENTRY_STREAMS
                           or record.get("project_id") in only_projects[direction]]
            if only_persons is not None:
                records = [(stream, record) for stream, record in records if stream not in ENTRY_STREAMS
                           or record.get(ENTRY_STREAMS[stream]) in only_persons[direction]]
            result.read[str(direction)] = records
            for stream, record in records:
                reconciler.add(stream, record)
            commands = reconciler.run()
            if not backfill:
                guard.record([{"bookmarks": {"changes": {"replication_key_value": read_until}}}],
                             reconciler.run_id or 0)
            result.run_ids[str(direction)] = reconciler.run_id or 0
            result.commands += len(commands)
            before = switch.count
            targets[direction].apply(commands)
            result.writes += switch.count - before
            result.counts[str(direction)] = self.ledger.runs(limit=1)[0].counts
            if not backfill:
                self.bookmarks[direction] = read_until  # the target finished: Meltano saves the tap's state
        return result
