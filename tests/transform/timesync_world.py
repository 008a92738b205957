"""A small two-system world wired through the real rules, adapters and ledger, with fake taps and targets."""

from __future__ import annotations

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

from timesync.ledger import Ledger
from timesync.links import Links, parse_links
from timesync.model import Direction
from timesync.reconcile.engine import Reconciler

# Forecast 101 <-> TimeLog 2001 and 102 <-> 2002 are linked; Forecast 103 / TimeLog 2003 are not.
# Persons 11 <-> 7 and 12 <-> 8 are linked; Forecast 13 / TimeLog 9 are not.
LINKS_YAML = """\
projects:
  - forecast: 101
    timelog: 2001
  - forecast: 102
    timelog: 2002
    start_date: 2026-02-01
persons:
  - forecast: 11
    timelog: 7
  - forecast: 12
    timelog: 8
options:
  conflict_policy: {conflict_policy}
  max_changes_per_run: {max_changes}
"""
FORECAST_TASKS = {  # id: (project, title, parent)
    301: (101, "Design", None),
    302: (101, "Design review", 301),
    303: (102, "Build", None),
    304: (103, "Unlinked project task", None),
}
TIMELOG_ONLY_TASKS = {2001: "Support (TimeLog only)", 2003: "Internal (unlinked)"}


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
        self.links: Links = parse_links(LINKS_YAML.format(conflict_policy=conflict_policy, max_changes=max_changes),
                                        source="links.yml")
        self.ledger = Ledger.open(f"sqlite:///{tmp / 'ledger.db'}")
        self.bookmarks = {Direction.FORECAST_TO_TIMELOG: 0, Direction.TIMELOG_TO_FORECAST: 0}
        for task_id, (project, title, parent) in FORECAST_TASKS.items():
            self.forecast.add_task(task_id, project, title, parent, assigned=(11,) if task_id == 301 else ())
        self.timelog_only_tasks = {self.timelog.add_task(project, name): project
                                   for project, name in TIMELOG_ONLY_TASKS.items()}

    def close(self) -> None:
        self.ledger.close()

    def sync(self, crash_after: int | None = None, crash_only: str | None = None, *,
             only_projects: dict[Direction, set[int]] | None = None) -> SyncResult:
        """Both directions; a Crash propagates (the pipeline died, its bookmark did not move).

        ``only_projects``: a backfill, as `timesync finish` runs it: each tap reads from the beginning, keeps the
        records of these projects (its `project_ids` filter), and no bookmark moves (`--no-state-update`).
        """
        switch = CrashSwitch(crash_after, crash_only)
        result = SyncResult()
        targets: dict[Direction, Any] = {
            Direction.FORECAST_TO_TIMELOG: FakeTimeLogTarget(self.timelog, self.ledger, switch, self.forecast.content),
            Direction.TIMELOG_TO_FORECAST: FakeForecastTarget(self.forecast, self.ledger, switch, self.timelog.content),
        }
        for direction, system in ((Direction.FORECAST_TO_TIMELOG, self.forecast),
                                  (Direction.TIMELOG_TO_FORECAST, self.timelog)):
            read_until = self.clock.now
            reconciler = Reconciler(self.ledger, self.links, direction)
            records = list(system.read(0 if only_projects else self.bookmarks[direction]))
            if only_projects:
                records = [(stream, record) for stream, record in records
                           if record.get("project_id") in only_projects[direction]]
            result.read[str(direction)] = records
            for stream, record in records:
                reconciler.add(stream, record)
            commands = reconciler.run()
            result.run_ids[str(direction)] = reconciler.run_id or 0
            result.commands += len(commands)
            before = switch.count
            targets[direction].apply(commands)
            result.writes += switch.count - before
            result.counts[str(direction)] = self.ledger.runs(limit=1)[0].counts
            if not only_projects:
                self.bookmarks[direction] = read_until  # the target finished: Meltano saves the tap's state
        return result
