"""The links file: the exact format of issue 6, and errors that name the file, the line and the field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from timesync.links import (
    ConflictPolicy,
    DeletePolicy,
    Links,
    LinksError,
    PersonLink,
    ProjectLink,
    link_changes,
    load_links,
    parse_links,
)

GOOD = """\
projects:
  - forecast: 101          # Forecast project id
    timelog: 2001          # TimeLog project id (the integer ProjectID)
    start_date: 2026-01-01 # optional: time before this date is out of scope
persons:
  - forecast: 11           # Forecast person id
    timelog: 7             # TimeLog EmployeeID (integer)
options:                   # optional
  conflict_policy: park    # park | forecast_wins | timelog_wins | newest_wins
  delete_policy: propagate # propagate | park | ignore
  max_changes_per_run: 500 # flood guard
  project_time_task: Forecast project time  # the TimeLog task for Forecast time without a task
"""


def test_the_documented_example_loads(tmp_path: Path) -> None:
    """The issue's example, comments included."""
    path = tmp_path / "links.yml"
    path.write_text(GOOD)
    links = load_links(path)
    assert links.project("forecast", "101").timelog == "2001"
    assert links.project("timelog", "2001").start_date == dt.date(2026, 1, 1)
    assert links.person("timelog", "7").forecast == "11"
    assert links.person("forecast", "12") is None
    assert links.options.conflict_policy is ConflictPolicy.PARK
    assert links.options.delete_policy is DeletePolicy.PROPAGATE


def test_options_are_optional_with_defaults() -> None:
    """Without options: park, propagate, 500, 'Forecast project time'."""
    links = parse_links("projects: []\npersons: []\n")
    assert (links.options.max_changes_per_run, links.options.project_time_task) == (500, "Forecast project time")


@pytest.mark.parametrize(
    ("text", "line", "field", "says"),
    [
        ("projects:\n  - forecast: 101\n    timelog: abc\npersons: []\n", 3, "projects.[0].timelog", "integer"),
        ("projects:\n  - forecast: 101\npersons: []\n", 2, "projects.[0]", "'timelog' is a required property"),
        ("projects: []\npersons:\n  - forecast: 11\n    timelog: 7\n    email: a@b\n", 5, "persons.[0].email",
         "Additional properties"),
        ("projects: []\npersons: []\noptions:\n  conflict_policy: last_wins\n", 4, "options.conflict_policy",
         "is not one of"),
        ("projects: []\npersons: []\noptions:\n  max_changes_per_run: 0\n", 4, "options.max_changes_per_run",
         "minimum"),
        ("projects:\n  - forecast: 101\n    timelog: 2001\n    start_date: 2026-13-01\npersons: []\n", 4,
         "projects.[0].start_date", "date"),
        ("persons: []\n", 1, "(top level)", "'projects' is a required property"),
    ],
)
def test_errors_name_file_line_and_field(text: str, line: int, field: str, says: str) -> None:
    """Each schema error points at the line and the field to fix."""
    with pytest.raises(LinksError) as caught:
        parse_links(text, source="links.yml")
    message = str(caught.value)
    assert message.startswith(f"links.yml, line {line}, field {field}: ")
    assert says in message


@pytest.mark.parametrize("side", ["forecast", "timelog"])
def test_a_person_linked_twice_names_both_lines(side: str) -> None:
    """Either side linked twice is rejected, naming both entries."""
    other = "timelog" if side == "forecast" else "forecast"
    text = f"projects: []\npersons:\n  - {side}: 11\n    {other}: 7\n  - {side}: 11\n    {other}: 8\n"
    with pytest.raises(LinksError, match=rf"links.yml, lines 3 and 5, field persons.{side}: {side} id 11 is linked"):
        parse_links(text, source="links.yml")


def test_a_project_linked_twice_is_rejected() -> None:
    """Two Forecast projects cannot share one TimeLog project."""
    text = "projects:\n  - forecast: 1\n    timelog: 9\n  - forecast: 2\n    timelog: 9\npersons: []\n"
    with pytest.raises(LinksError, match=r"lines 2 and 4, field projects.timelog"):
        parse_links(text, source="links.yml")


def test_yaml_syntax_errors_and_missing_files_are_named(tmp_path: Path) -> None:
    """Broken YAML gives its line; a missing file says how to make one."""
    with pytest.raises(LinksError, match=r"links.yml, line 2: not valid YAML"):
        parse_links("projects: [\n  - : :\n", source="links.yml")
    with pytest.raises(LinksError, match="links file not found"):
        load_links(tmp_path / "missing.yml")
    with pytest.raises(LinksError, match="empty"):
        parse_links("", source="links.yml")


def test_link_changes_name_added_removed_and_earlier_starts() -> None:
    before = Links(projects=(ProjectLink("101", "2001", dt.date(2026, 3, 1)), ProjectLink("102", "2002")),
                   persons=(PersonLink("11", "7"),))
    after = Links(projects=(ProjectLink("101", "2001", dt.date(2026, 1, 1)), ProjectLink("103", "2003")),
                  persons=(PersonLink("11", "7"), PersonLink("12", "8")))
    changes = link_changes(before, after)
    assert [link.forecast for link in changes.new_projects] == ["103"]
    assert [link.forecast for link in changes.removed_projects] == ["102"]
    assert [link.forecast for link in changes.new_persons] == ["12"]
    assert changes.removed_persons == ()
    assert [(link.forecast, was) for link, was in changes.earlier_starts] == [("101", dt.date(2026, 3, 1))]
    assert len(changes.messages()) == 4
    assert link_changes(after, after).messages() == []
