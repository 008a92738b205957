"""Deterministic Forecast data for the agency in `sandbox.roster`: the `demo` set and large generated sets.

Everything derives from the seed and the fixed reference date, never from the wall clock, so two runs give
identical data. All demo timestamps fall on or before `DEMO_TODAY`; writes made through the API later carry the
real time and therefore sort after them.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from sandbox import roster
from sandbox.common.clock import format_timestamp
from sandbox.credentials import FORECAST_API_KEY
from sandbox.forecast.resources import APPROVED, NOT_SUBMITTED

#: "Today" for the demo, so that the data is reproducible.
DEMO_TODAY = date(2026, 11, 20)
DEMO_SEED = 2026
DEMO_REGISTRATIONS = 3000
#: About three months of weekdays for the demo; larger sets reach further back at the same daily rate.
REGISTRATIONS_PER_PERSON_PER_WORKDAY = 2
MIN_WORKDAYS = 60

TASKS_PER_PROJECT = 25
SUB_TASKS_PER_PROJECT = 5
TEAM_SIZE = 8
DELETED_REGISTRATIONS = 5
#: The first persons have their first two weeks approved (and locked); one more has submitted the last week.
APPROVED_PERSONS = 4
APPROVED_WORKDAYS = 10
SUBMITTED_WORKDAYS = 5
EDITED_SHARE = 0.2

# Id ranges per resource, so an id in a log says what it is.
CLIENT_IDS = 51
ROLE_IDS = 61
NON_PROJECT_TIME_IDS = 71
PHASE_IDS = 1101
WORKFLOW_COLUMN_IDS = 1201
TASK_IDS = 5001
ALLOCATION_IDS = 9001
REGISTRATION_IDS = 100_001

ROLES = ("Project manager", "Developer", "Designer", "Copywriter", "Consultant")
#: (name, is_internal_time): internal time versus leave.
NON_PROJECT_TIME = (("Internal meeting", True), ("Vacation", False), ("Sick leave", False), ("Training", True))
PHASES = ("Discovery", "Delivery")
WORKFLOW_COLUMNS = (("To do", "TODO"), ("In progress", "INPROGRESS"), ("Review", "INPROGRESS"), ("Done", "DONE"))
TASK_TITLES = (
    "Wireframes", "Backend API", "Login & sign-up", "Checkout flow", "Copy for landing page", "Payment gateway",
    "Data migration", "Performance review", "Bug bash", "Accessibility audit", "Design system", "Søgefunktion",
    "Kunde-onboarding", "Øl-katalog", "Rapporter <beta>", "Newsletter \"Nyt fra os\"", "Image pipeline",
    "Analytics setup", "Release 1.0", "Content import",
)
SUB_TASK_TITLES = ("Review", "Tests", "Docs", "QA round", "Fixes")
NOTES = (
    "Workshop with client", "Fixed layout bug in header", "Møde med kunden om næste fase", "Code review",
    "Sprint planning 🚀", "Refactored <Checkout> component", "Prices & VAT rules", "Said \"yes\" to scope change",
    "Deployment to staging", "Åbningstider på forsiden ✅", "Email with O'Brien about the 'beta'", "Bugfix: a < b && c",
    "Testing on iPhone 📱", "Ærø logo in SVG", "Support call", "",
)
MINUTES = (15, 30, 45, 60, 60, 90, 120, 120, 180, 240, 300, 450)
ODD_MINUTES = (7, 50, 61, 95)
ODD_MINUTES_SHARE = 0.03
#: Shares of registrations on a task, on a project directly, and on non-project time (the rest).
TASK_SHARE = 0.78
PROJECT_SHARE = 0.12

WORKDAY_START_HOUR = 15  # entries are typed in at the end of the (UTC) working day
WORKDAY_HOURS = 4


def build_demo() -> dict:
    """The `demo` data set: about 3,000 registrations over the three months before `DEMO_TODAY`."""
    return generate(DEMO_REGISTRATIONS, DEMO_SEED)


def generate(registrations: int, seed: int) -> dict:
    """The agency with `registrations` time registrations (the `snapshot()` shape), identical for equal args."""
    return _Generator(random.Random(seed)).build(registrations)


def _stamp(day: date, rng: random.Random) -> str:
    moment = datetime(day.year, day.month, day.day, WORKDAY_START_HOUR, tzinfo=UTC)
    return format_timestamp(moment + timedelta(seconds=rng.randrange(WORKDAY_HOURS * 3600)))


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people = [p for p in roster.PEOPLE if p.forecast_id is not None]
        self.projects = [p for p in roster.PROJECTS if p.forecast_id is not None]
        self.client_ids = {name: CLIENT_IDS + i for i, name in enumerate(roster.CLIENTS)}
        self.admin = self.people[0].forecast_id
        self.audit = {"created_by": self.admin, "updated_by": self.admin}

    def _audited(self, record: dict, stamp: str) -> dict:
        return {**record, **self.audit, "created_at": stamp, "updated_at": stamp}

    def build(self, registrations: int) -> dict:
        workdays = roster.workdays_until(DEMO_TODAY, max(MIN_WORKDAYS, math.ceil(
            registrations / (len(self.people) * REGISTRATIONS_PER_PERSON_PER_WORKDAY))))
        setup = format_timestamp(datetime(workdays[0].year, workdays[0].month, workdays[0].day, 8, tzinfo=UTC)
                                 - timedelta(days=30))
        data: dict = {"api_keys": [FORECAST_API_KEY], "api_person": self.admin, "company": _company()}
        data["clients"] = [self._audited({"id": cid, "name": name, "country": "DK", "city": "Aarhus",
                                          "notes": "Demo client"}, setup)
                           for name, cid in self.client_ids.items()]
        data["roles"] = [self._audited({"id": ROLE_IDS + i, "name": name}, setup) for i, name in enumerate(ROLES)]
        data["non_project_time"] = [
            self._audited({"id": NON_PROJECT_TIME_IDS + i, "name": name, "is_internal_time": internal}, setup)
            for i, (name, internal) in enumerate(NON_PROJECT_TIME)]
        data["persons"] = [self._person(i, person, setup) for i, person in enumerate(self.people)]
        data["projects"] = [self._project(project, workdays, setup) for project in self.projects]
        data["phases"], data["workflow_columns"] = self._phases_and_columns(workdays, setup)
        data["project_team"] = self._teams(setup)
        data["tasks"] = self._tasks(data, workdays, setup)
        data["allocations"] = self._allocations(data["project_team"], workdays, setup)
        live, deleted = self._registrations(data, workdays, registrations)
        data["time_registrations"] = live
        data["deleted_tasks"] = [self._deleted_task(data)]
        data["deleted_time_registrations"] = deleted
        approved_until = workdays[min(APPROVED_WORKDAYS, len(workdays)) - 1].isoformat()
        data["locked_periods"] = [{"person": p.forecast_id, "from": workdays[0].isoformat(), "to": approved_until}
                                  for p in self.people[:APPROVED_PERSONS]]
        data["webhook_subscriptions"] = []  # the demo account has none until `timesync webhooks subscribe`
        return data

    def _person(self, index: int, person: roster.Person, stamp: str) -> dict:
        role = ROLE_IDS + index % len(ROLES)
        return self._audited({
            "id": person.forecast_id, "first_name": person.first_name, "last_name": person.last_name,
            "email": person.email.lower(), "job_title": ROLES[index % len(ROLES)],
            "user_type": "ADMIN" if index == 0 else "MANAGER" if index < 3 else "COLLABORATOR",
            "default_role": role, "cost": 450.0 + 25 * (index % 6), "language": "DANISH" if index % 3 else
            "ENGLISH_UK", "start_date": "2020-01-01", "permissions": [],
        }, stamp)

    def _project(self, project: roster.Project, workdays: list[date], stamp: str) -> dict:
        internal = project.number == "P-1006"
        return self._audited({
            "id": project.forecast_id, "company_project_id": int(project.number.split("-")[1]),
            "custom_project_id": project.number, "name": project.name, "stage": "RUNNING",
            "status": "GREEN", "client": self.client_ids[project.client],
            "budget_type": "NON_BILLABLE" if internal else "TIME_AND_MATERIALS", "billable": not internal,
            "start_date": (workdays[0] - timedelta(days=30)).isoformat(),
            "end_date": (DEMO_TODAY + timedelta(days=180)).isoformat(), "progress": 0.0,
        }, stamp)

    def _phases_and_columns(self, workdays: list[date], stamp: str) -> tuple[list[dict], list[dict]]:
        phases, columns = [], []
        middle = workdays[len(workdays) // 2]
        for p_index, project in enumerate(self.projects):
            spans = ((workdays[0], middle), (middle + timedelta(days=1), DEMO_TODAY + timedelta(days=180)))
            for i, (name, (start, end)) in enumerate(zip(PHASES, spans, strict=True)):
                phases.append(self._audited({
                    "id": PHASE_IDS + p_index * len(PHASES) + i, "name": name, "project_id": project.forecast_id,
                    "start_date": start.isoformat(), "end_date": end.isoformat()}, stamp))
            for i, (name, category) in enumerate(WORKFLOW_COLUMNS):
                columns.append(self._audited({
                    "id": WORKFLOW_COLUMN_IDS + p_index * len(WORKFLOW_COLUMNS) + i,
                    "project_id": project.forecast_id, "name": name, "category": category, "sort_order": i}, stamp))
        return phases, columns

    def _teams(self, stamp: str) -> list[dict]:
        team = []
        for p_index, project in enumerate(self.projects):
            # Overlapping windows over the roster: everyone is on at least one project.
            for offset in range(TEAM_SIZE):
                person = self.people[(p_index * 4 + offset) % len(self.people)]
                team.append(self._audited({
                    "project_id": project.forecast_id, "person_id": person.forecast_id,
                    "project_role": ROLE_IDS + offset % len(ROLES), "project_contact": offset == 0}, stamp))
        return team

    def _tasks(self, data: dict, workdays: list[date], stamp: str) -> list[dict]:
        rng, tasks = self.rng, []
        phases = {p["id"]: [x["id"] for x in data["phases"] if x["project_id"] == p["id"]]
                  for p in data["projects"]}
        columns = {p["id"]: [x["id"] for x in data["workflow_columns"] if x["project_id"] == p["id"]]
                   for p in data["projects"]}
        for p_index, project in enumerate(self.projects):
            pid = project.forecast_id
            team = [m["person_id"] for m in data["project_team"] if m["project_id"] == pid]
            top_level = TASKS_PER_PROJECT - SUB_TASKS_PER_PROJECT
            first_id = TASK_IDS + p_index * TASKS_PER_PROJECT
            for i in range(TASKS_PER_PROJECT):
                parent = first_id + (i - top_level) if i >= top_level else None
                title = (f"{SUB_TASK_TITLES[i - top_level]}: {TASK_TITLES[(i - top_level) % len(TASK_TITLES)]}"
                         if parent else TASK_TITLES[i % len(TASK_TITLES)])
                created = _stamp(workdays[rng.randrange(min(10, len(workdays)))], rng)
                estimate = rng.choice((240, 480, 960, 1920))
                tasks.append({
                    "id": first_id + i, "company_task_id": first_id + i - TASK_IDS + 1, "title": title,
                    "description": f"<p>{title} for {project.name}</p>", "project_id": pid,
                    "parent_task_id": parent, "role": ROLE_IDS + rng.randrange(len(ROLES)), "estimate": estimate,
                    "remaining": estimate // 2, "approved": True,
                    "start_date": workdays[0].isoformat(), "end_date": (DEMO_TODAY + timedelta(days=60)).isoformat(),
                    "bug": i % 7 == 3, "high_priority": i % 9 == 0, "un_billable": i % 11 == 5, "blocked": False,
                    "workflow_column": rng.choice(columns[pid]), "milestone": phases[pid][i % len(PHASES)],
                    "assigned_persons": sorted(rng.sample(team, rng.randint(1, 3))), "labels": [],
                    "owner_id": team[0], **self.audit, "created_at": created, "updated_at": created,
                })
        # Tasks change over time too: a few were edited recently, so `updated_after` has something to find.
        for record in rng.sample(tasks, len(tasks) // 10):
            record["updated_at"] = _stamp(workdays[-1 - rng.randrange(5)], rng)
            record["updated_at"] = max(record["updated_at"], record["created_at"])
        return tasks

    def _allocations(self, team: list[dict], workdays: list[date], stamp: str) -> list[dict]:
        allocations = []
        for i, member in enumerate(team):
            minutes = 120 if i % 2 else 240
            allocations.append(self._audited({
                "id": ALLOCATION_IDS + i, "project": member["project_id"], "person": member["person_id"],
                "start_date": workdays[0].isoformat(), "end_date": (DEMO_TODAY + timedelta(days=30)).isoformat(),
                "monday": minutes, "tuesday": minutes, "wednesday": minutes, "thursday": minutes, "friday": minutes,
                "notes": "Planned capacity", "is_soft": i % 5 == 0}, stamp))
        return allocations

    def _registrations(self, data: dict, workdays: list[date], count: int) -> tuple[list[dict], list[dict]]:
        rng = self.rng
        projects_of: dict[int, list[int]] = {}
        for member in data["project_team"]:
            projects_of.setdefault(member["person_id"], []).append(member["project_id"])
        tasks_of: dict[int, list[dict]] = {}
        for task in data["tasks"]:
            tasks_of.setdefault(task["project_id"], []).append(task)
        budget = {p["id"]: p["budget_type"] for p in data["projects"]}
        roles = {p["id"]: p["default_role"] for p in data["persons"]}
        approved = {p.forecast_id for p in self.people[:APPROVED_PERSONS]}
        submitter = self.people[APPROVED_PERSONS].forecast_id
        approved_until = workdays[min(APPROVED_WORKDAYS, len(workdays)) - 1]
        submitted_from = workdays[-SUBMITTED_WORKDAYS]
        entries = []
        for _ in range(count + DELETED_REGISTRATIONS):
            person = rng.choice(self.people).forecast_id
            day = rng.choice(workdays)
            record = {"person": person, "project": None, "task": None, "non_project_time": None,
                      "role": roles[person]}
            draw = rng.random()
            if draw < TASK_SHARE:
                task = rng.choice(tasks_of[rng.choice(projects_of[person])])
                record["task"] = task["id"]
                billable = not task["un_billable"] and budget[task["project_id"]] != "NON_BILLABLE"
            elif draw < TASK_SHARE + PROJECT_SHARE:
                record["project"] = rng.choice(projects_of[person])
                billable = budget[record["project"]] != "NON_BILLABLE"
            else:
                record["non_project_time"] = NON_PROJECT_TIME_IDS + rng.randrange(len(NON_PROJECT_TIME))
                billable = False
            minutes = rng.choice(ODD_MINUTES) if rng.random() < ODD_MINUTES_SHARE else rng.choice(MINUTES)
            created = _stamp(day, rng)
            updated = created
            if rng.random() < EDITED_SHARE:
                later = min(day + timedelta(days=rng.randrange(4)), DEMO_TODAY)
                updated = max(created, _stamp(later, rng))
            status = NOT_SUBMITTED
            if person in approved and day <= approved_until:
                status = APPROVED
            elif person == submitter and day >= submitted_from:
                status = "SUBMITTED"
            record.update({
                "time_registered": minutes, "billable_minutes_registered": minutes if billable else 0,
                "date": day.isoformat(), "notes": rng.choice(NOTES), "approval_status": status,
                "invoice_entry": None, "invoice": None, "created_by": person, "updated_by": person,
                "created_at": created, "updated_at": updated,
            })
            entries.append(record)
        # Ids grow with creation time, as in the real account.
        entries.sort(key=lambda r: (r["created_at"], r["person"]))
        for offset, record in enumerate(entries):
            record["id"] = REGISTRATION_IDS + offset
        # A few recent entries were deleted again (never approved ones: approval forbids deleting).
        doomed_records = rng.sample(entries[-10 * DELETED_REGISTRATIONS:], DELETED_REGISTRATIONS)
        for record in doomed_records:
            record["approval_status"] = NOT_SUBMITTED
        doomed = {r["id"] for r in doomed_records}
        deleted = [{"id": r["id"], "deleted_by": r["person"],
                    "deleted_at": max(r["updated_at"], _stamp(DEMO_TODAY, rng)), "record": r}
                   for r in entries if r["id"] in doomed]
        return [r for r in entries if r["id"] not in doomed], deleted

    def _deleted_task(self, data: dict) -> dict:
        """A task someone removed last week (its id follows the live ones)."""
        project = data["projects"][0]
        task_id = TASK_IDS + len(self.projects) * TASKS_PER_PROJECT
        created = _stamp(DEMO_TODAY - timedelta(days=20), self.rng)
        record = {"id": task_id, "company_task_id": task_id - TASK_IDS + 1, "title": "Cancelled: print flyer",
                  "project_id": project["id"], "assigned_persons": [self.people[1].forecast_id],
                  **self.audit, "created_at": created, "updated_at": created}
        return {"id": task_id, "deleted_by": self.admin, "deleted_at": _stamp(DEMO_TODAY - timedelta(days=6),
                                                                              self.rng), "record": record}


def _company() -> dict:
    return {
        "company_name": "Sandbox Agency ApS", "street": "Åboulevarden 1", "zip": "8000", "city": "Aarhus",
        "country": "DK", "currency": "DKK", "vat_id": "DK12345678", "seats": 30, "virtual_seats": 2,
        "contact_name": "Anna Østergaard", "contact_email": "anna.oestergaard@agency.example",
        "contact_phone": "+45 12 34 56 78", "company_target": 0.8,
    }
