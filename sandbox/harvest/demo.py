"""Deterministic Harvest data for the agency in `sandbox.roster`: the `demo` set and larger generated sets.

Everything derives from the seed and a fixed "today", never from the wall clock. All demo timestamps fall on or
before `DEMO_TODAY`; writes through the API later carry the real time and so sort after them. Ids sit in ranges
like the docs' samples (users 3230547, projects 14308069, time entries 636709355), so an id says what it is.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from sandbox import roster
from sandbox.common.clock import format_timestamp
from sandbox.harvest.store import default_credentials

#: The same "today" as the Forecast and TimeLog demos.
DEMO_TODAY = date(2026, 11, 20)
DEMO_SEED = 2026
DEMO_TIME_ENTRIES = 400
MIN_WORKDAYS = 65  # about three months of weekdays
ENTRIES_PER_USER_PER_WORKDAY = 2

USERS = 8
USER_IDS, CLIENT_IDS, PROJECT_IDS, TASK_IDS = 3_100_001, 5_100_001, 14_100_001, 8_100_001
TASK_ASSIGNMENT_IDS, USER_ASSIGNMENT_IDS, TIME_ENTRY_IDS, INVOICE_ID = 155_100_001, 125_100_001, 636_100_001, 13_150_401
#: (name, billable by default, default hourly rate)
TASKS = (("Design", True, 950.0), ("Development", True, 1100.0), ("Project Management", True, 1000.0),
         ("Møder & workshops", True, 950.0), ("QA <test>", True, 850.0), ("Internal admin", False, None))
#: (bill_by, budget_by) per project, cycling: the three documented billing methods.
BILLING = (("Project", "project"), ("Tasks", "task"), ("People", "person"), ("Project", "none"))
HOURS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 4.0, 7.5, 0.33, 1.17)
NOTES = ("Workshop with client", "Fixed layout bug in header", "Møde med kunden om næste fase", "Code review",
         "Sprint planning 🚀", "Refactored <Checkout> component", "Prices & VAT rules", "Support call", "", None)
#: The first users have their first two weeks approved; one project's first month is invoiced.
APPROVED_USERS, APPROVED_WORKDAYS, INVOICED_WORKDAYS = 3, 10, 20
EDITED_SHARE = 0.2
EXTERNAL_REFERENCE_SHARE = 0.05


def build_demo() -> dict:
    """The `demo` data set: 400 time entries over the three months before `DEMO_TODAY`."""
    return generate(DEMO_TIME_ENTRIES, DEMO_SEED)


def generate(time_entries: int, seed: int) -> dict:
    """The agency with `time_entries` entries (the `snapshot()` shape), identical for equal arguments."""
    return _Generator(random.Random(seed)).build(time_entries)


def _at(day: date, hour: int, seconds: int = 0) -> str:
    return format_timestamp(datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(seconds=seconds))


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def build(self, count: int) -> dict:
        workdays = roster.workdays_until(DEMO_TODAY, max(MIN_WORKDAYS,
                                                         math.ceil(count / (USERS * ENTRIES_PER_USER_PER_WORKDAY))))
        setup = _at(workdays[0] - timedelta(days=30), 8)
        clients = [{"id": CLIENT_IDS + i, "name": name, "address": "Aarhus", "currency": "DKK",
                    "statement_key": f"{CLIENT_IDS + i:032x}", "created_at": setup}
                   for i, name in enumerate(roster.CLIENTS)]
        client_ids = {c["name"]: c["id"] for c in clients}
        users = [self._user(i, person, setup) for i, person in enumerate(roster.PEOPLE[:USERS])]
        tasks = [{"id": TASK_IDS + i, "name": name, "billable_by_default": billable, "default_hourly_rate": rate,
                  "is_default": i < 3, "created_at": setup} for i, (name, billable, rate) in enumerate(TASKS)]
        projects = [self._project(i, p, client_ids[p.client], workdays[0], setup)
                    for i, p in enumerate(roster.PROJECTS[:5])]
        task_assignments, user_assignments = self._assignments(projects, tasks, users, setup)
        entries = self._entries(count, workdays, task_assignments, user_assignments, projects, users)
        approved_to = workdays[min(APPROVED_WORKDAYS, len(workdays)) - 1].isoformat()
        periods = [{"user_id": u["id"], "from": workdays[0].isoformat(), "to": approved_to}
                   for u in users[:APPROVED_USERS]]
        for entry in entries:
            if any(p["user_id"] == entry["user_id"] and entry["spent_date"] <= p["to"] for p in periods):
                entry["is_closed"] = True
        invoiced_to = workdays[min(INVOICED_WORKDAYS, len(workdays)) - 1].isoformat()
        for entry in entries:
            if entry["project_id"] == PROJECT_IDS and entry["spent_date"] <= invoiced_to and entry["billable"]:
                entry |= {"is_billed": True, "invoice": {"id": INVOICE_ID, "number": "1001"}}
        return {**default_credentials(users[0]["id"]), "clients": clients, "users": users, "tasks": tasks,
                "projects": projects, "task_assignments": task_assignments, "user_assignments": user_assignments,
                "time_entries": entries, "locked_periods": periods}

    def _user(self, index: int, person: roster.Person, setup: str) -> dict:
        role = "administrator" if index == 0 else "manager" if index == 1 else "member"
        return {"id": USER_IDS + index, "first_name": person.first_name, "last_name": person.last_name,
                "email": person.email.lower(), "telephone": "", "timezone": "Copenhagen",
                "is_contractor": index == USERS - 1, "has_access_to_all_future_projects": index == 0,
                "default_hourly_rate": 1000.0, "cost_rate": 450.0 + 25 * index, "roles": ["Developer"],
                "access_roles": [role], "created_at": setup}

    def _project(self, index: int, project: roster.Project, client_id: int, start: date, setup: str) -> dict:
        bill_by, budget_by = BILLING[index % len(BILLING)]
        return {"id": PROJECT_IDS + index, "client_id": client_id, "name": project.name, "code": project.number,
                "bill_by": bill_by, "budget_by": budget_by, "hourly_rate": 1000.0 if bill_by == "Project" else None,
                "budget": 200.0 if budget_by == "project" else None, "starts_on": start.isoformat(),
                "is_billable": index != 4, "created_at": setup}

    def _assignments(self, projects: list[dict], tasks: list[dict], users: list[dict],
                     setup: str) -> tuple[list[dict], list[dict]]:
        task_assignments, user_assignments = [], []
        for project in projects:
            for task in tasks[:3] + self.rng.sample(tasks[3:], 2):
                task_assignments.append({"id": TASK_ASSIGNMENT_IDS + len(task_assignments),
                                         "project_id": project["id"], "task_id": task["id"],
                                         "billable": task["billable_by_default"],
                                         "hourly_rate": task["default_hourly_rate"], "created_at": setup})
            team = [users[0], *self.rng.sample(users[1:], 4)]
            for user in sorted(team, key=lambda u: u["id"]):
                user_assignments.append({"id": USER_ASSIGNMENT_IDS + len(user_assignments),
                                         "project_id": project["id"], "user_id": user["id"],
                                         "is_project_manager": user is users[0],
                                         "use_default_rates": user["id"] % 2 == 1, "hourly_rate": 1200.0,
                                         "created_at": setup})
        return task_assignments, user_assignments

    def _entries(self, count: int, workdays: list[date], task_assignments: list[dict],
                 user_assignments: list[dict], projects: list[dict], users: list[dict]) -> list[dict]:
        projects_by_id = {p["id"]: p for p in projects}
        users_by_id = {u["id"]: u for u in users}
        entries = []
        for index in range(count):
            day = workdays[index * len(workdays) // count]
            assignment = self.rng.choice(user_assignments)
            project = projects_by_id[assignment["project_id"]]
            task = self.rng.choice([a for a in task_assignments if a["project_id"] == project["id"]])
            user = users_by_id[assignment["user_id"]]
            created = _at(day, 15, self.rng.randrange(4 * 3600))
            edited = self.rng.random() < EDITED_SHARE
            updated = _at(min(day + timedelta(days=self.rng.randrange(1, 5)), DEMO_TODAY), 9,
                          self.rng.randrange(3600)) if edited else created
            billable = bool(project["is_billable"] and task["billable"])
            rate = {"Project": project["hourly_rate"], "Tasks": task["hourly_rate"],
                    "People": user["default_hourly_rate"] if assignment["use_default_rates"]
                    else assignment["hourly_rate"]}[project["bill_by"]]
            reference = None
            if self.rng.random() < EXTERNAL_REFERENCE_SHARE:
                issue = 100 + index
                reference = {"id": str(issue), "group_id": "agency/website", "account_id": None,
                             "permalink": f"https://github.com/agency/website/issues/{issue}",
                             "service": "github.com", "service_icon_url": None}
            entries.append({
                "id": TIME_ENTRY_IDS + index, "spent_date": day.isoformat(), "user_id": user["id"],
                "project_id": project["id"], "task_id": task["task_id"], "hours": self.rng.choice(HOURS),
                "notes": self.rng.choice(NOTES), "billable": billable, "billable_rate": rate if billable else None,
                "cost_rate": user["cost_rate"], "budgeted": project["budget_by"] != "none",
                "external_reference": reference, "created_at": created, "updated_at": max(created, updated),
            })
        return entries


#: The demo projects linked in links.yml's `harvest` section: the four that TimeLog also has ("Menu app" does not).
LINKED_PROJECTS = 4
#: Demo users linked there: the first six, the other two left for `timesync links suggest`.
LINKED_USERS = 6


def demo_links() -> dict:
    """links.yml's `harvest` section for the demo: Harvest projects and users to the TimeLog ones of the roster."""
    return {
        "projects": [{"harvest": PROJECT_IDS + index, "timelog": project.timelog_project_id}
                     for index, project in enumerate(roster.PROJECTS[:LINKED_PROJECTS])],
        "persons": [{"harvest": USER_IDS + index, "timelog": person.timelog_employee_id}
                    for index, person in enumerate(roster.PEOPLE[:LINKED_USERS])],
    }
