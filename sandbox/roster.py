"""The small agency both demo data sets describe, so that Forecast and TimeLog demo data agree.

Forecast persons and TimeLog employees share most emails (with different letter case on purpose, since
`timesync links suggest` matches case-insensitively). A few people and projects exist on one side only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Person:
    """Someone at the agency. `forecast_id` or `timelog_employee_id` is None where they lack an account."""

    first_name: str
    last_name: str
    email: str
    forecast_id: int | None
    timelog_employee_id: int | None
    initials: str


@dataclass(frozen=True)
class Project:
    """A project. `forecast_id` or `timelog_project_id` is None where it exists on one side only."""

    name: str
    number: str
    client: str
    forecast_id: int | None
    timelog_project_id: int | None


CLIENTS = ("Nordlys Fjernvarme A/S", "Ærø Bryghus & Co.", "Café <Kaffe & Kage>")

_NAMES = [
    ("Anna", "Østergaard"), ("Bjørn", "Hansen"), ("Camilla", "Jensen"), ("David", "Nielsen"),
    ("Emma", "Pedersen"), ("Frederik", "Andersen"), ("Gitte", "Christensen"), ("Henrik", "Larsen"),
    ("Ida", "Sørensen"), ("Jonas", "Rasmussen"), ("Karen", "Jørgensen"), ("Lars", "Petersen"),
    ("Maja", "Madsen"), ("Niels", "Kristensen"), ("Olivia", "Olsen"), ("Peter", "Thomsen"),
    ("Rikke", "Christiansen"), ("Søren", "Poulsen"), ("Tine", "Johansen"), ("Ulrik", "Møller"),
    ("Vibeke", "Mortensen"), ("William", "Knudsen"), ("Xenia", "Jakobsen"), ("Yrsa", "Lund"),
    ("Zaid", "Holm"), ("Åse", "Dahl"), ("Mikkel", "Berg"), ("Signe", "Vestergaard"),
]


def _ascii(text: str) -> str:
    return (text.lower().replace("ø", "oe").replace("æ", "ae").replace("å", "aa"))


def _people() -> tuple[Person, ...]:
    people = []
    for index, (first, last) in enumerate(_NAMES):
        email = f"{_ascii(first)}.{_ascii(last)}@agency.example"
        # 0-24 have Forecast accounts; 3 of those (22-24) have no TimeLog employee; 25-27 are TimeLog-only.
        forecast_id = 11 + index if index < 25 else None
        timelog_id = 1 + index if index < 22 or index >= 25 else None
        # TimeLog stores some emails upper-cased: linking must not depend on case.
        people.append(Person(first, last, email.upper() if index % 5 == 0 and timelog_id else email,
                             forecast_id, timelog_id, (first[:2] + last[:1]).upper()))
    return tuple(people)


PEOPLE = _people()

PROJECTS = (
    Project("Website relaunch", "P-1001", CLIENTS[0], 101, 2001),
    Project("Customer portal", "P-1002", CLIENTS[0], 102, 2002),
    Project("Brewery webshop", "P-1003", CLIENTS[1], 103, 2003),
    Project("Brand campaign 2026", "P-1004", CLIENTS[1], 104, 2004),
    Project("Menu app", "P-1005", CLIENTS[2], 105, None),       # Forecast only
    Project("Internal R&D", "P-1006", CLIENTS[2], 106, 2006),  # exists on both, deliberately unlinked
    Project("Support agreement", "P-2007", CLIENTS[0], None, 2007),  # TimeLog only
)

#: The demo `links.yml` links these; the others stay unlinked on purpose.
LINKED_PROJECT_NUMBERS = ("P-1001", "P-1002", "P-1003", "P-1004")
#: Persons the demo links: everyone with both accounts except the last two, left for `links suggest`.
LINKED_PERSON_EMAILS = tuple(
    p.email.lower() for p in PEOPLE if p.forecast_id and p.timelog_employee_id
)[:-2]


def demo_links() -> dict:
    """The demo `links.yml` content: the linked projects and persons above, default options."""
    projects = [p for p in PROJECTS if p.number in LINKED_PROJECT_NUMBERS]
    persons = [p for p in PEOPLE if p.email.lower() in LINKED_PERSON_EMAILS]
    return {
        "projects": [{"forecast": p.forecast_id, "timelog": p.timelog_project_id} for p in projects],
        "persons": [{"forecast": p.forecast_id, "timelog": p.timelog_employee_id} for p in persons],
    }


def workdays_until(last: date, count: int) -> list[date]:
    """The `count` weekdays up to and including `last`, oldest first: the days the demos put time on."""
    days, day = [], last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]
