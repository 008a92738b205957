"""Deterministic TimeLog data for the agency in `sandbox.roster`: the `demo` set and large generated sets.

Everything derives from the seed and the fixed `DEMO_TODAY`, never from the wall clock. Employees, projects
and customers come from the roster (so they line up with the Forecast demo: most emails match, some people
and projects exist on one side only); tasks, allocations and three months of work are generated here.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import date, datetime, timedelta

from sandbox import roster
from sandbox.credentials import (
    TIMELOG_PASSWORD,
    TIMELOG_REPORTING_PASSWORD,
    TIMELOG_REPORTING_USERNAME,
    TIMELOG_SITE_CODE,
    TIMELOG_USERNAME,
)
from sandbox.timelog.model import APPROVED_BY_PROJECT_MANAGER, derived_other_guid

DEMO_TODAY = date(2026, 11, 20)
DEMO_SEED = 2026
DEMO_REGISTRATIONS = 2500
REGISTRATIONS_PER_EMPLOYEE_PER_WORKDAY = 2
MIN_WORKDAYS = 65  # about three months of weekdays

# Id ranges per entity, so an id in a log says what it is.
DEPARTMENT_IDS = 11
CUSTOMER_IDS = 301
USER_IDS = 501
TASK_IDS = 1001
ALLOCATION_IDS = 5001
WORK_IDS = 100_001
#: The integration user `tl-sync` logs in as this employee (TimeLog API users are ordinary employees).
API_EMPLOYEE_ID = 90

DEPARTMENTS = (("Udvikling", "D-10"), ("Design & Indhold", "D-20"))
TASK_NAMES = ("Analyse", "Udvikling", "Test & QA", "Projektledelse", "Design <UI>")
SUB_TASK_NAME = "Møder \"intern\""
ALLOCATED_PROJECTS_PER_EMPLOYEE = 3
NOTES = (
    "Møde med kunden om næste fase", "Rettelse af \"login\"-fejl", "Prices & VAT <excl.>", "Kodegennemgang",
    "Café-menu: æøå ÆØÅ", "Deploy to staging ✅", "O'Brien's review", "Support: a < b && c > d", "Sprint planning",
    "Dokumentation", "Diverse",
)
MINUTES = (15, 30, 45, 60, 60, 90, 120, 120, 180, 240, 300, 420)
#: The first employees have their first two weeks approved by the project manager (locked for edits).
APPROVED_EMPLOYEES = 3
APPROVED_WORKDAYS = 10
UPDATED_SHARE = 0.1
DELETED_REGISTRATIONS = 4
WORKDAY_START_HOUR = 8
ENTRY_HOUR = 16  # registrations are typed in late in the working day


def build_demo() -> dict:
    """The `demo` data set: about 2,500 registrations over the three months before `DEMO_TODAY`."""
    return generate(DEMO_REGISTRATIONS, DEMO_SEED)


def generate(registrations: int, seed: int) -> dict:
    """The agency with exactly `registrations` work units (the `snapshot()` shape), identical for equal args."""
    return _Generator(random.Random(seed)).build(registrations)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _at(day: date, hour: int, rng: random.Random) -> str:
    return (datetime(day.year, day.month, day.day, hour) + timedelta(seconds=rng.randrange(3600))).isoformat()


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people = [p for p in roster.PEOPLE if p.timelog_employee_id is not None]
        self.projects = [p for p in roster.PROJECTS if p.timelog_project_id is not None]

    def build(self, registrations: int) -> dict:
        rng = self.rng
        workdays = roster.workdays_until(DEMO_TODAY - timedelta(days=1), max(MIN_WORKDAYS, math.ceil(
            registrations / (len(self.people) * REGISTRATIONS_PER_EMPLOYEE_PER_WORKDAY))))
        setup_day = workdays[0] - timedelta(days=30)
        setup = datetime(setup_day.year, setup_day.month, setup_day.day, 9).isoformat()
        data: dict = {
            "reporting": {"site_code": TIMELOG_SITE_CODE, "api_id": TIMELOG_REPORTING_USERNAME,
                          "api_password": TIMELOG_REPORTING_PASSWORD},
            "api_users": [{"username": TIMELOG_USERNAME, "password": TIMELOG_PASSWORD,
                           "employee_id": API_EMPLOYEE_ID}],
            "departments": [{"department_id": DEPARTMENT_IDS + i, "guid": _guid(rng), "name": name, "no": no,
                             "modified_at": setup} for i, (name, no) in enumerate(DEPARTMENTS)],
            "customers": [{"customer_id": CUSTOMER_IDS + i, "guid": _guid(rng), "name": name, "no": f"C-{i + 1:03d}",
                           "created_at": setup, "modified_at": setup} for i, name in enumerate(roster.CLIENTS)],
        }
        data["employees"] = self._employees(setup, workdays[0])
        data["projects"] = self._projects(setup, workdays[0])
        data["tasks"] = self._tasks(setup, workdays[0])
        data["allocations"] = self._allocations(data["tasks"])
        data["work_units"], data["change_log"] = self._work(registrations, workdays, data["allocations"])
        data["closed_periods"] = []
        return data

    def _employees(self, setup: str, first_day: date) -> list[dict]:
        employees = []
        for index, person in enumerate(self.people):
            employees.append({
                "employee_id": person.timelog_employee_id, "user_id": USER_IDS + index, "guid": _guid(self.rng),
                "user_guid": _guid(self.rng), "username": person.email.split("@")[0].lower(),
                "initials": person.initials, "first_name": person.first_name, "last_name": person.last_name,
                "email": person.email, "department_id": DEPARTMENT_IDS + index % len(DEPARTMENTS),
                "hired_date": (first_day - timedelta(days=365)).isoformat(), "modified_at": setup,
            })
        employees.append({
            "employee_id": API_EMPLOYEE_ID, "user_id": USER_IDS + 90, "guid": _guid(self.rng),
            "user_guid": _guid(self.rng), "username": TIMELOG_USERNAME, "initials": "SYNC", "first_name": "TimeLog",
            "last_name": "Integration", "email": "tl-sync@agency.example", "department_id": DEPARTMENT_IDS,
            "hired_date": (first_day - timedelta(days=365)).isoformat(), "modified_at": setup,
            "title": "API user",
        })
        return employees

    def _projects(self, setup: str, first_day: date) -> list[dict]:
        customers = {name: CUSTOMER_IDS + i for i, name in enumerate(roster.CLIENTS)}
        return [{
            "project_id": project.timelog_project_id, "guid": _guid(self.rng), "name": project.name,
            "no": project.number, "customer_id": customers[project.client],
            "project_manager_id": self.people[index % len(self.people)].timelog_employee_id,
            "start_date": first_day.isoformat(), "end_date": (DEMO_TODAY + timedelta(days=180)).isoformat(),
            "created_at": setup, "modified_at": setup, "description": f"{project.name} for {project.client}",
        } for index, project in enumerate(self.projects)]

    def _tasks(self, setup: str, first_day: date) -> list[dict]:
        tasks: list[dict] = []
        end = (DEMO_TODAY + timedelta(days=90)).isoformat()
        for project in self.projects:
            for order, name in enumerate(TASK_NAMES, start=1):
                tasks.append({
                    "task_id": TASK_IDS + len(tasks), "guid": _guid(self.rng),
                    "project_id": project.timelog_project_id, "name": name, "no": f"{project.number}-{order}",
                    "start_date": first_day.isoformat(), "end_date": end, "created_at": setup, "modified_at": setup,
                    "sort_order": order, "budget_hours": 40.0 * order,
                })
            parent = tasks[-len(TASK_NAMES)]
            tasks.append({
                "task_id": TASK_IDS + len(tasks), "guid": _guid(self.rng), "project_id": project.timelog_project_id,
                "name": SUB_TASK_NAME, "no": f"{parent['no']}.1", "start_date": first_day.isoformat(),
                "end_date": end, "created_at": setup, "modified_at": setup, "sort_order": 1,
                "parent_task_id": parent["task_id"],
            })
        return tasks

    def _allocations(self, tasks: list[dict]) -> list[dict]:
        by_project: dict[int, list[dict]] = {}
        for task in tasks:
            by_project.setdefault(task["project_id"], []).append(task)
        project_ids = sorted(by_project)
        allocations = []
        for index, person in enumerate(self.people):
            for offset in range(ALLOCATED_PROJECTS_PER_EMPLOYEE):
                for task in by_project[project_ids[(index + offset) % len(project_ids)]]:
                    allocations.append({
                        "allocation_id": ALLOCATION_IDS + len(allocations), "guid": _guid(self.rng),
                        "task_id": task["task_id"], "employee_id": person.timelog_employee_id,
                        "hours_allocated": 20.0, "start_date": task["start_date"], "end_date": task["end_date"],
                    })
        return allocations

    def _work(self, count: int, workdays: list[date], allocations: list[dict]) -> tuple[list[dict], list[dict]]:
        rng = self.rng
        tasks_of: dict[int, list[int]] = {}
        for allocation in allocations:
            tasks_of.setdefault(allocation["employee_id"], []).append(allocation["task_id"])
        employees = [p.timelog_employee_id for p in self.people]
        approved = set(employees[:APPROVED_EMPLOYEES])
        units, log = [], []
        # Some registrations are deleted again (they live on in the change log); `count` remain.
        deleted = min(DELETED_REGISTRATIONS, count)
        count += deleted
        for index in range(count):
            employee_id = employees[index % len(employees)]
            day = workdays[(index // len(employees)) * len(workdays) // max(1, -(-count // len(employees)))]
            start = datetime(day.year, day.month, day.day, WORKDAY_START_HOUR) + timedelta(
                minutes=15 * rng.randrange(32))
            created = _at(day, ENTRY_HOUR, rng)
            guid = _guid(rng)
            unit = {
                # `other_guid`: Reporting's second GUID of the unit, always different from `guid`.
                "work_id": WORK_IDS + index, "guid": guid, "other_guid": derived_other_guid(guid),
                "task_id": rng.choice(tasks_of[employee_id]),
                "employee_id": employee_id, "start_at": start.isoformat(), "minutes": rng.choice(MINUTES),
                "description": rng.choice(NOTES), "created_at": created, "modified_at": created,
                "approved_status": APPROVED_BY_PROJECT_MANAGER
                if employee_id in approved and day < workdays[APPROVED_WORKDAYS] else 0,
            }
            log.append({"action": "Created", "work_guid": unit["guid"], "at": created, "employee_id": employee_id,
                        "work_date": day.isoformat()})
            if not unit["approved_status"] and rng.random() < UPDATED_SHARE:
                edited_day = min(day + timedelta(days=1 + rng.randrange(3)), DEMO_TODAY - timedelta(days=1))
                unit["modified_at"] = max(created, _at(edited_day, ENTRY_HOUR + 1, rng))
                unit["row_version"] = 2
                log.append({"action": "Updated", "work_guid": unit["guid"], "at": unit["modified_at"],
                            "employee_id": employee_id, "work_date": day.isoformat()})
            units.append(unit)
        for unit in rng.sample([u for u in units if not u["approved_status"]], deleted):
            units.remove(unit)
            deleted_at = max(unit["modified_at"], _at(DEMO_TODAY - timedelta(days=1), ENTRY_HOUR + 2, rng))
            log.append({"action": "Deleted", "work_guid": unit["guid"], "at": deleted_at,
                        "employee_id": unit["employee_id"], "work_date": unit["start_at"][:10]})
        log.sort(key=lambda entry: entry["at"])
        return units, log
