"""`timesync links suggest`: propose person and project links from both systems' lists. Never auto-links; only
`read_directory` reads the systems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from timesync.adapters import TimeLogAdapter, source_adapter
from timesync.links import DEFAULT_MAX_CHANGES_PER_RUN, DEFAULT_PROJECT_TIME_TASK
from timesync.model import Person, Project


@dataclass(frozen=True)
class Match:
    """A proposed link and why it was proposed."""

    forecast: Any
    timelog: Any
    label: str
    reason: str


@dataclass
class Suggestion:
    """Proposed links, and everything left unmatched on each side."""

    persons: list[Match] = field(default_factory=list)
    projects: list[Match] = field(default_factory=list)
    unmatched: dict[str, list[str]] = field(default_factory=dict)


#: The streams whose records give a tool's people and projects (its tap's names, read through its adapter).
PEOPLE_AND_PROJECTS = {"forecast": ("persons", "projects"), "harvest": ("users", "projects")}


@dataclass(frozen=True)
class Directory:
    """Both systems' people and projects, as canonical records (``forecast_*``: the tool linked to TimeLog)."""

    forecast_people: list[Person]
    timelog_people: list[Person]
    forecast_projects: list[Project]
    timelog_projects: list[Project]


def read_directory(forecast: Any, timelog: Any, *, tool: str = "forecast") -> Directory:
    """Both systems' people and projects: the tool's lists (Forecast's, or Harvest's with ``tool``) through its
    adapter, like its tap's records, and TimeLog's Reporting tables read raw and converted inside the client's
    retried read. ``forecast`` is the tool's reader: ``persons()`` or ``users()``, and ``projects()``."""
    f_adapter, t_adapter = source_adapter(tool), TimeLogAdapter()
    people_stream, projects_stream = PEOPLE_AND_PROJECTS[tool]
    return Directory(
        forecast_people=_canonical(getattr(forecast, people_stream)(), people_stream, f_adapter, Person),
        timelog_people=timelog.employees(parse=t_adapter.person_from_reporting),
        forecast_projects=_canonical(forecast.projects(), projects_stream, f_adapter, Project),
        timelog_projects=timelog.projects(parse=t_adapter.project_from_reporting),
    )


def _canonical(records: Iterable[dict[str, Any]], stream: str, adapter: Any, kind: type) -> list[Any]:
    return [item for record in records for item in adapter.to_canonical(stream, record) if isinstance(item, kind)]


def _key(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _unique_index(items: Iterable[Any], key: Any) -> dict[str, Any]:
    """Index by key; a key shared by two items is ambiguous and left out (a person must choose)."""
    index: dict[str, Any] = {}
    ambiguous: set[str] = set()
    for item in items:
        value = key(item)
        if not value:
            continue
        if value in index:
            ambiguous.add(value)
        index[value] = item
    return {k: v for k, v in index.items() if k not in ambiguous}


def suggest_links(directory: Directory, *, tool: str = "forecast") -> Suggestion:
    """Persons by email (case-insensitive); projects by number, then by name. Ambiguous matches are not made."""
    people = {"forecast": "forecast persons", "harvest": "harvest users"}[tool]
    suggestion = Suggestion()
    f_people, t_people = directory.forecast_people, directory.timelog_people
    by_email = _unique_index(t_people, lambda p: _key(p.email))
    forecast_by_email = _unique_index(f_people, lambda p: _key(p.email))
    matched_t: set[str] = set()
    for person in f_people:
        unique_here = forecast_by_email.get(_key(person.email)) is person
        twin = by_email.get(_key(person.email)) if unique_here else None
        if twin is not None and person.active:
            suggestion.persons.append(Match(int(person.id), int(twin.id), person.name or person.email or person.id,
                                            f"same email {person.email}"))
            matched_t.add(twin.id)
    f_projects, t_projects = directory.forecast_projects, directory.timelog_projects
    by_number = _unique_index(t_projects, lambda p: _key(p.number))
    by_name = _unique_index(t_projects, lambda p: _key(p.name))
    matched_tp: set[str] = set()
    for project in f_projects:
        twin, reason = by_number.get(_key(project.number)), f"same number {project.number}"
        if twin is None or twin.id in matched_tp:
            twin, reason = by_name.get(_key(project.name)), f"same name {project.name!r}"
        if twin is not None and twin.id not in matched_tp:
            suggestion.projects.append(Match(int(project.id), int(twin.id), project.name, reason))
            matched_tp.add(twin.id)
    linked_fp = {m.forecast for m in suggestion.persons}
    linked_fpr = {m.forecast for m in suggestion.projects}
    suggestion.unmatched = {
        people: [f"{p.id} {p.name} <{p.email or 'no email'}>" for p in f_people if int(p.id) not in linked_fp],
        "timelog employees": [f"{p.id} {p.name} <{p.email or 'no email'}>" for p in t_people if p.id not in matched_t],
        f"{tool} projects": [f"{p.id} {p.name}" for p in f_projects if int(p.id) not in linked_fpr],
        "timelog projects": [f"{p.id} {p.name}" for p in t_projects if p.id not in matched_tp],
    }
    return suggestion


def render_links_yaml(suggestion: Suggestion, *, tool: str = "forecast") -> str:
    """The proposed links.yml, with each match's reason as a comment, in the exact links-file format.

    For Harvest, the proposal is the `harvest` section, with empty Forecast lists (job sync links nothing).
    """
    lines = ["# Proposed by `timesync links suggest`. Review every line before using it."]
    indent = ""
    if tool != "forecast":
        lines += ["projects: []", "persons: []", f"{tool}:"]
        indent = "  "
    for section, matches in (("projects", suggestion.projects), ("persons", suggestion.persons)):
        lines.append(f"{indent}{section}:" if matches else f"{indent}{section}: []")
        lines += [f"{indent}  - {tool}: {m.forecast}\n{indent}    timelog: {m.timelog}  # {m.label}: {m.reason}"
                  for m in matches]
    lines += ["options:", "  conflict_policy: park", "  delete_policy: propagate",
              f"  max_changes_per_run: {DEFAULT_MAX_CHANGES_PER_RUN}",
              f"  project_time_task: {DEFAULT_PROJECT_TIME_TASK}"]
    return "\n".join(lines) + "\n"
