"""The links file (links.yml): which Forecast projects and persons pair with which TimeLog ones, and the options."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from timesync.yaml_files import load_checked

DEFAULT_MAX_CHANGES_PER_RUN = 500
DEFAULT_PROJECT_TIME_TASK = "Forecast project time"


class ConflictPolicy(StrEnum):
    """What to do when both sides changed an entry since the last sync."""

    PARK = "park"
    FORECAST_WINS = "forecast_wins"
    TIMELOG_WINS = "timelog_wins"
    NEWEST_WINS = "newest_wins"


class DeletePolicy(StrEnum):
    """What to do when one side deleted an entry whose twin is unchanged."""

    PROPAGATE = "propagate"
    PARK = "park"
    IGNORE = "ignore"


_ID = {"type": "integer", "minimum": 1}
#: The tools that can take the planning tool's role against TimeLog: job `sync`'s Forecast (the top-level
#: `projects` and `persons`) and job `harvest-to-timelog`'s Harvest (the `harvest` section).
TOOLS = ("forecast", "harvest")
#: The Meltano job that syncs each tool's time into TimeLog.
JOBS = {"forecast": "sync", "harvest": "harvest-to-timelog"}
#: How each tool (and TimeLog) names a person, for messages.
_PERSON_WORD = {"forecast": "person", "timelog": "employee", "harvest": "user"}


def runs_backfills(tool: str) -> bool:
    """Whether the job of ``tool`` runs backfills: only job `sync` ends with `timesync:finish`, which runs them;
    another tool's job names its full refresh instead."""
    return JOBS[tool] == "sync"


def _link_lists(tool: str) -> dict[str, Any]:
    """The `projects` and `persons` lists linking one tool's ids to TimeLog's."""
    return {
        "projects": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [tool, "timelog"],
                "properties": {
                    tool: _ID,
                    "timelog": _ID,
                    "start_date": {"type": "string", "format": "date"},
                    "name": {"type": "string"},
                },
            },
        },
        "persons": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [tool, "timelog"],
                "properties": {tool: _ID, "timelog": _ID, "name": {"type": "string"}},
            },
        },
    }


LINKS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["projects", "persons"],
    "properties": {
        **_link_lists("forecast"),
        # Job harvest-to-timelog: Harvest projects and users linked to TimeLog projects and employees.
        "harvest": {"type": "object", "additionalProperties": False, "properties": _link_lists("harvest")},
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "conflict_policy": {"enum": [policy.value for policy in ConflictPolicy]},
                "delete_policy": {"enum": [policy.value for policy in DeletePolicy]},
                "max_changes_per_run": {"type": "integer", "minimum": 1},
                "project_time_task": {"type": "string", "minLength": 1, "maxLength": 200},
            },
        },
    },
}


@dataclass(frozen=True)
class BackfillRequest:
    """A link's history to read once: a project's entries dated from ``since`` (None: all), or a person's entries in
    every linked project."""

    kind: str  # "project" or "person"
    forecast: str
    timelog: str
    since: dt.date | None = None


@dataclass(frozen=True)
class LinkChanges:
    """What changed between the links a run last used and links.yml now."""

    new_projects: tuple[ProjectLink, ...] = ()
    new_persons: tuple[PersonLink, ...] = ()
    #: Project links whose start_date moved earlier (or went away): (the link, the start date it had before).
    earlier_starts: tuple[tuple[ProjectLink, dt.date], ...] = ()
    removed_projects: tuple[ProjectLink, ...] = ()
    removed_persons: tuple[PersonLink, ...] = ()
    #: The tool in the planning role (its links' ``forecast`` ids) and the job that syncs it.
    tool: str = "forecast"

    def backfills(self) -> list[BackfillRequest]:
        """What the added and widened links need read once: an incremental run sees only what changed since.
        Only job `sync` runs backfills (timesync:finish); another tool's job names its full refresh instead."""
        if not runs_backfills(self.tool):
            return []
        return ([BackfillRequest("project", link.forecast, link.timelog, link.start_date)
                 for link in self.new_projects]
                + [BackfillRequest("project", link.forecast, link.timelog, link.start_date)
                   for link, _before in self.earlier_starts]
                + [BackfillRequest("person", link.forecast, link.timelog) for link in self.new_persons])

    def messages(self) -> list[str]:
        """One line per change, saying what the sync does about it."""
        job = JOBS[self.tool]
        # Job `sync` ends with timesync:finish, which backfills new links; other jobs need one full refresh.
        history = ("its history is read and synced by a backfill at the end of this job (timesync:finish; "
                   "`timesync status` shows it)") if runs_backfills(self.tool) else (
            f"its earlier history is not read by an incremental run: run `meltano run --full-refresh {job}` once "
            "to sync it")
        name, person = self.tool.capitalize(), _PERSON_WORD[self.tool]
        return (
            [f"link added: {name} project {link.forecast} <-> TimeLog project {link.timelog}; {history}"
             for link in self.new_projects]
            + [f"link added: {name} {person} {link.forecast} <-> TimeLog employee {link.timelog}; {history}"
               for link in self.new_persons]
            + [f"link start date moved earlier: {name} project {link.forecast} <-> TimeLog project "
               f"{link.timelog}, from {before} to {link.start_date or 'no start date'}; {history}"
               for link, before in self.earlier_starts]
            + [f"link removed: {name} project {link.forecast} <-> TimeLog project {link.timelog}; its entries are "
               "no longer synced and both sides keep what they have (the pairs stay in the ledger, should the "
               "link come back)" for link in self.removed_projects]
            + [f"link removed: {name} {person} {link.forecast} <-> TimeLog employee {link.timelog}; their entries "
               "are no longer synced and both sides keep what they have" for link in self.removed_persons]
        )


def link_changes(before: Links, after: Links) -> LinkChanges:
    """The links added, removed, and moved to an earlier start, from ``before`` to ``after``.

    A link is the pair of ids: a Forecast project linked to another TimeLog project is one removal and one new link.
    """
    old_projects = {(link.forecast, link.timelog): link for link in before.projects}
    new_projects = {(link.forecast, link.timelog): link for link in after.projects}
    old_persons = {(link.forecast, link.timelog): link for link in before.persons}
    new_persons = {(link.forecast, link.timelog): link for link in after.persons}
    earlier = tuple(
        (link, old.start_date) for key, link in new_projects.items()
        if (old := old_projects.get(key)) is not None and old.start_date is not None
        and (link.start_date is None or link.start_date < old.start_date))
    return LinkChanges(
        new_projects=tuple(link for key, link in new_projects.items() if key not in old_projects),
        new_persons=tuple(link for key, link in new_persons.items() if key not in old_persons),
        earlier_starts=earlier,
        removed_projects=tuple(link for key, link in old_projects.items() if key not in new_projects),
        removed_persons=tuple(link for key, link in old_persons.items() if key not in new_persons),
        tool=after.tool,
    )


class LinksError(ValueError):
    """A links file that cannot be used; the message names the file, the line and the field."""


@dataclass(frozen=True)
class ProjectLink:
    """A Forecast project paired with a TimeLog project; time before ``start_date`` is out of scope."""

    forecast: str
    timelog: str
    start_date: dt.date | None = None
    line: int = 0


@dataclass(frozen=True)
class PersonLink:
    """A Forecast person paired with a TimeLog employee."""

    forecast: str
    timelog: str
    line: int = 0


@dataclass(frozen=True)
class Options:
    """Sync options from the links file."""

    conflict_policy: ConflictPolicy = ConflictPolicy.PARK
    delete_policy: DeletePolicy = DeletePolicy.PROPAGATE
    max_changes_per_run: int = DEFAULT_MAX_CHANGES_PER_RUN
    project_time_task: str = DEFAULT_PROJECT_TIME_TASK


@dataclass(frozen=True)
class Links:
    """Validated links, with lookups in both directions. Ids are strings, as in the canonical model."""

    projects: tuple[ProjectLink, ...] = ()
    persons: tuple[PersonLink, ...] = ()
    options: Options = field(default_factory=Options)
    source: str = "<memory>"
    #: The tool whose ids the links' ``forecast`` field holds (the planning tool's role; see ``for_tool``).
    tool: str = "forecast"
    #: The `harvest` section's links, when links.yml has one.
    harvest: Links | None = None

    @property
    def section(self) -> str:
        """Where these links are in links.yml, as a field prefix for messages ('' or 'harvest.')."""
        return "" if self.tool == "forecast" else f"{self.tool}."

    def for_tool(self, tool: str) -> Links:
        """The links a job whose tap reads ``tool`` uses: the top level for Forecast, a section for another tool.

        A section's links hold that tool's ids in the ``forecast`` field (the planning tool's role in the engine).
        """
        if tool == self.tool:
            return self
        section: Links | None = getattr(self, tool, None) if tool in TOOLS else None
        if section is None:
            raise LinksError(f"{self.source}: no `{tool}` section; add one with the {tool} projects and persons "
                             "to link (format in links.example.yml)")
        return section

    def tool_label(self, side: str) -> str:
        """How messages name one side of these links: the tool in the planning role, or TimeLog."""
        name = self.tool if side == "forecast" else side
        return {"timelog": "TimeLog"}.get(name, name.capitalize())

    def field_name(self, side: str) -> str:
        """The links.yml key holding ``side``'s ids in these links."""
        return self.tool if side == "forecast" else side

    def project(self, side: str, project_id: str | None) -> ProjectLink | None:
        """The project link for a project id of one side, or None when unlinked."""
        return self._projects_by_id.get((side, project_id))

    def person(self, side: str, person_id: str | None) -> PersonLink | None:
        """The person link for a person id of one side, or None when unlinked."""
        return self._persons_by_id.get((side, person_id))

    # By (side, id), the first link of an id first: the reconcile step asks for every record's project and person.
    @cached_property
    def _projects_by_id(self) -> dict[tuple[str, str | None], ProjectLink]:
        return {(side, getattr(link, side)): link for link in reversed(self.projects) for side in _SIDES}

    @cached_property
    def _persons_by_id(self) -> dict[tuple[str, str | None], PersonLink]:
        return {(side, getattr(link, side)): link for link in reversed(self.persons) for side in _SIDES}


_SIDES = ("forecast", "timelog")


def unknown_ids(links: Links, side: str, known: Mapping[str, Collection[str] | None]) -> list[str]:
    """A message per link whose ``side`` id is not among ``known["project"]`` / ``known["person"]``.

    A kind whose known ids are None (its stream was not read) is not checked.
    """
    problems = []
    for kind, section, entries in (("project", "projects", links.projects), ("person", "persons", links.persons)):
        ids = known.get(kind)
        if ids is None:
            continue
        word = "project" if kind == "project" else _PERSON_WORD[links.field_name(side)]
        problems += [
            f"{links.source}, line {link.line}, field {links.section}{section}.{links.field_name(side)}: "
            f"{links.tool_label(side)} has no {word} "
            f"{getattr(link, side)} ({len(ids)} {word}s read); fix the id or remove the link "
            "(`timesync links suggest` lists the candidates)"
            for link in entries if getattr(link, side) not in ids]
    return problems


def parse_links(text: str, source: str = "<memory>") -> Links:
    """Validate links-file text and return Links, or raise LinksError naming the file, line and field."""
    checked, lines = load_checked(text, LINKS_SCHEMA, source, LinksError,
                                  "the file is empty; it needs 'projects' and 'persons' lists")
    return _build(checked, lines, source)


def _build(data: dict[str, Any], lines: dict[tuple[Any, ...], int], source: str) -> Links:
    raw_options = data.get("options") or {}
    options = Options(
        conflict_policy=ConflictPolicy(raw_options.get("conflict_policy", ConflictPolicy.PARK)),
        delete_policy=DeletePolicy(raw_options.get("delete_policy", DeletePolicy.PROPAGATE)),
        max_changes_per_run=raw_options.get("max_changes_per_run", DEFAULT_MAX_CHANGES_PER_RUN),
        project_time_task=raw_options.get("project_time_task", DEFAULT_PROJECT_TIME_TASK),
    )
    harvest = (_tool_links(data["harvest"], lines, source, options, "harvest", ("harvest",))
               if "harvest" in data else None)
    links = _tool_links(data, lines, source, options, "forecast", ())
    if harvest is not None:
        _reject_shared_timelog_projects(links, harvest)
    return replace(links, harvest=harvest)


def _tool_links(data: dict[str, Any], lines: dict[tuple[Any, ...], int], source: str, options: Options, tool: str,
                path: tuple[str, ...]) -> Links:
    """One tool's links (its ids in the ``forecast`` field: the planning tool's role)."""
    projects = tuple(
        ProjectLink(
            forecast=str(item[tool]),
            timelog=str(item["timelog"]),
            start_date=dt.date.fromisoformat(item["start_date"]) if item.get("start_date") else None,
            line=lines[(*path, "projects", index)],
        )
        for index, item in enumerate(data.get("projects") or [])
    )
    persons = tuple(
        PersonLink(forecast=str(item[tool]), timelog=str(item["timelog"]), line=lines[(*path, "persons", index)])
        for index, item in enumerate(data.get("persons") or [])
    )
    links = Links(projects=projects, persons=persons, options=options, source=source, tool=tool)
    _reject_linked_twice(links, "projects", projects)
    _reject_linked_twice(links, "persons", persons)
    return links


def _reject_linked_twice(links: Links, section: str,
                         entries: tuple[ProjectLink, ...] | tuple[PersonLink, ...]) -> None:
    """One tool id pairs with one TimeLog id and back; a second link for either side is an error."""
    for side in ("forecast", "timelog"):
        first_line: dict[str, int] = {}
        for link in entries:
            key = getattr(link, side)
            if key in first_line:
                raise LinksError(
                    f"{links.source}, lines {first_line[key]} and {link.line}, field "
                    f"{links.section}{section}.{links.field_name(side)}: {links.field_name(side)} id {key} is "
                    "linked twice; keep one of the two entries"
                )
            first_line[key] = link.line


def _reject_shared_timelog_projects(forecast: Links, harvest: Links) -> None:
    """A TimeLog project is linked to Forecast or to Harvest, never both: job `sync` would carry the time job
    `harvest-to-timelog` wrote into TimeLog on into Forecast, and Forecast's would be mixed with Harvest's."""
    by_timelog = {link.timelog: link for link in forecast.projects}
    for link in harvest.projects:
        if (other := by_timelog.get(link.timelog)) is not None:
            raise LinksError(
                f"{forecast.source}, lines {other.line} and {link.line}, field harvest.projects.timelog: TimeLog "
                f"project {link.timelog} is linked to Forecast project {other.forecast} and to Harvest project "
                f"{link.forecast}; link each TimeLog project to one tool")


def load_links(path: str | Path) -> Links:
    """Read and validate a links file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LinksError(f"{file}: links file not found (set links_path, or run `timesync links suggest`)") from exc
    return parse_links(text, source=str(file))
