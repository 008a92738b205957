"""Where time lands: the image of a time entry on the other side, or why it is out of scope. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from typing import Any

from timesync.links import Links
from timesync.model import Side, TimeEntry
from timesync.states import PairKind

# TimeLog work on a TimeLog-only task becomes Forecast project time; the task name survives in the note.
NOTE_TASK_PREFIX = "[{name}] "


class OutOfScope(StrEnum):
    """Why an entry is not synced (each is counted in the run)."""

    NON_PROJECT_TIME = "non_project_time"
    UNLINKED_PROJECT = "unlinked_project"
    UNLINKED_PERSON = "unlinked_person"
    BEFORE_START_DATE = "before_start_date"


@dataclass(frozen=True, slots=True)
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
    if entry.side is Side.FORECAST:
        task_id, note, ref = _land_in_timelog(entry, twin_of, base)
    else:
        (task_id, note), ref = _land_in_forecast(entry, twin_of), None
    other = entry.side.other
    image = replace(entry, side=other, id="", project_id=getattr(project, str(other)),
                    person_id=getattr(person, str(other)), task_id=task_id, note=note, locked=False,
                    non_project=False, task_name=None, updated_at=None)
    return Landing(image, ref)


def _land_in_timelog(entry: TimeEntry, twin_of: TwinLookup,
                     base: dict[str, Any] | None) -> tuple[str | None, str, TaskRef | None]:
    """The TimeLog task and note of a Forecast entry's twin, and the task to resolve at write time."""
    if entry.task_id is not None:
        return twin_of(PairKind.TASK, Side.FORECAST, entry.task_id), entry.note, _task_ref(PairKind.TASK, entry.task_id)
    base_f, base_t = (base or {}).get("forecast"), (base or {}).get("timelog")
    if base is not None and base_f and base_t and base_f.get("task") is None and base_t.get("task") is not None:
        # Project time that came from (or went to) a TimeLog task: it stays on that task, prefix removed.
        prefix = synced_note_prefix(base)
        note = entry.note[len(prefix):] if prefix and entry.note.startswith(prefix) else entry.note
        return base_t["task"], note, None
    assert entry.project_id is not None
    return (twin_of(PairKind.PROJECT_TIME_TASK, Side.FORECAST, entry.project_id), entry.note,
            _task_ref(PairKind.PROJECT_TIME_TASK, entry.project_id))


def _land_in_forecast(entry: TimeEntry, twin_of: TwinLookup) -> tuple[str | None, str]:
    """The Forecast task (None: project time) and note of a TimeLog entry's twin."""
    if entry.task_id is not None:
        forecast_task = twin_of(PairKind.TASK, Side.TIMELOG, entry.task_id)
        if forecast_task is not None:
            return forecast_task, entry.note
        if twin_of(PairKind.PROJECT_TIME_TASK, Side.TIMELOG, entry.task_id) is not None:
            return None, entry.note
    name = entry.task_name or f"TimeLog task {entry.task_id}"
    return None, NOTE_TASK_PREFIX.format(name=name) + entry.note


@lru_cache(maxsize=4096)
def _task_ref(pair_kind: PairKind, forecast_id: str) -> TaskRef:
    """One TaskRef per task: the plan keeps one with every entry it writes."""
    return TaskRef(pair_kind, forecast_id)


def synced_note_prefix(base: dict[str, Any]) -> str:
    """The task-name prefix the synced Forecast note carried over the synced TimeLog note ('' when none)."""
    base_f, base_t = base.get("forecast") or {}, base.get("timelog") or {}
    return _note_prefix(base_f.get("note") or "", base_t.get("note") or "")


def task_name_from_base(base: dict[str, Any], timelog_task: str | None) -> str | None:
    """The TimeLog task's name as the synced Forecast twin's note prefix shows it (None when it shows none).

    A parked value has no task name (only tap records carry it); the last synced pair does, in its note.
    """
    base_f, base_t = base.get("forecast"), base.get("timelog")
    if not base_f or not base_t or timelog_task is None or base_t.get("task") != timelog_task:
        return None
    prefix = synced_note_prefix(base)
    head, _, tail = NOTE_TASK_PREFIX.partition("{name}")
    return prefix[len(head):-len(tail)] if prefix.startswith(head) and prefix.endswith(tail) else None


def _note_prefix(forecast_note: str, timelog_note: str) -> str:
    """The task-name prefix the Forecast note carries over the TimeLog note ('' when none)."""
    if forecast_note != timelog_note and forecast_note.endswith(timelog_note):
        return forecast_note[: len(forecast_note) - len(timelog_note)]
    return ""
