"""Where time lands: the image of a time entry on the other side, or why it is out of scope. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from timesync.ledger.tables import PairKind
from timesync.links import Links
from timesync.model import Side, TimeEntry

# TimeLog work on a TimeLog-only task becomes Forecast project time; the task name survives in the note.
NOTE_TASK_PREFIX = "[{name}] "


class OutOfScope(StrEnum):
    """Why an entry is not synced (each is counted in the run)."""

    NON_PROJECT_TIME = "non_project_time"
    UNLINKED_PROJECT = "unlinked_project"
    UNLINKED_PERSON = "unlinked_person"
    BEFORE_START_DATE = "before_start_date"


@dataclass(frozen=True)
class TaskRef:
    """A TimeLog task the target resolves from the ledger at write time (it may be created in the same run)."""

    pair_kind: PairKind
    forecast_id: str


@dataclass(frozen=True)
class Landing:
    """The twin image (ids of the twin's side; ``task_id`` None while ``task_ref`` is unresolved)."""

    image: TimeEntry | None = None
    task_ref: TaskRef | None = None
    out_of_scope: OutOfScope | None = None


# (pair kind, side of the id given, native id) -> the paired id on the other side, or None.
TwinLookup = Callable[[PairKind, Side, str], str | None]


def scope_of(entry: TimeEntry, links: Links) -> OutOfScope | None:
    """Why ``entry`` is out of scope, or None when it is synced."""
    side = str(entry.side)
    if entry.non_project:
        return OutOfScope.NON_PROJECT_TIME
    project = links.project(side, entry.project_id)
    if project is None:
        return OutOfScope.UNLINKED_PROJECT
    if links.person(side, entry.person_id) is None:
        return OutOfScope.UNLINKED_PERSON
    if project.start_date and entry.date < project.start_date:
        return OutOfScope.BEFORE_START_DATE
    return None


def land(entry: TimeEntry, links: Links, twin_of: TwinLookup, base: dict[str, Any] | None = None) -> Landing:
    """The twin image of ``entry``; ``base`` is the pair's base (both sides) when the pair exists."""
    reason = scope_of(entry, links)
    if reason is not None:
        return Landing(out_of_scope=reason)
    side = str(entry.side)
    project = links.project(side, entry.project_id)
    person = links.person(side, entry.person_id)
    assert project is not None, "scope_of checked the project link"
    assert person is not None, "scope_of checked the person link"
    other = entry.side.other
    image = replace(entry, side=other, id="", project_id=getattr(project, str(other)),
                    person_id=getattr(person, str(other)), locked=False, non_project=False, task_name=None,
                    updated_at=None)
    if entry.side is Side.FORECAST:
        return _land_in_timelog(entry, image, twin_of, base)
    return _land_in_forecast(entry, image, twin_of)


def _land_in_timelog(entry: TimeEntry, image: TimeEntry, twin_of: TwinLookup,
                     base: dict[str, Any] | None) -> Landing:
    if entry.task_id is not None:
        ref = TaskRef(PairKind.TASK, entry.task_id)
        return Landing(replace(image, task_id=twin_of(PairKind.TASK, Side.FORECAST, entry.task_id)), ref)
    base_f, base_t = (base or {}).get("forecast"), (base or {}).get("timelog")
    if base_f and base_t and base_f.get("task") is None and base_t.get("task") is not None:
        # Project time that came from (or went to) a TimeLog task: it stays on that task, prefix removed.
        prefix = _note_prefix(base_f["note"], base_t["note"])
        note = entry.note[len(prefix):] if prefix and entry.note.startswith(prefix) else entry.note
        return Landing(replace(image, task_id=base_t["task"], note=note))
    assert entry.project_id is not None
    ref = TaskRef(PairKind.PROJECT_TIME_TASK, entry.project_id)
    return Landing(replace(image, task_id=twin_of(PairKind.PROJECT_TIME_TASK, Side.FORECAST, entry.project_id)), ref)


def _land_in_forecast(entry: TimeEntry, image: TimeEntry, twin_of: TwinLookup) -> Landing:
    if entry.task_id is not None:
        forecast_task = twin_of(PairKind.TASK, Side.TIMELOG, entry.task_id)
        if forecast_task is not None:
            return Landing(replace(image, task_id=forecast_task))
        if twin_of(PairKind.PROJECT_TIME_TASK, Side.TIMELOG, entry.task_id) is not None:
            return Landing(replace(image, task_id=None))
    name = entry.task_name or f"TimeLog task {entry.task_id}"
    return Landing(replace(image, task_id=None, note=NOTE_TASK_PREFIX.format(name=name) + entry.note))


def _note_prefix(forecast_note: str, timelog_note: str) -> str:
    """The task-name prefix the Forecast note carries over the TimeLog note ('' when none)."""
    if forecast_note != timelog_note and forecast_note.endswith(timelog_note):
        return forecast_note[: len(forecast_note) - len(timelog_note)]
    return ""
