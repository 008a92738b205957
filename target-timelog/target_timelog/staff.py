"""TimeLog's employees and their task allocations, as the writers need them: read once per run."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from target_timelog.common import ItemRefusedError
from timelog_api.services import EMPLOYEES_PAGE_SIZE, Service

if TYPE_CHECKING:  # the zeep client is built on the first batch: a run with nothing to write imports no zeep
    from timelog_api.client import TimeLogClient

#: AddEmployeeToTask budget when the sync allocates someone: unknown, and TimeLog documents 0 for that.
ALLOCATION_BUDGET_HOURS = 0.0


class Staff:
    """Initials by EmployeeID (InsertWork and the work reads name employees by initials) and who is allocated
    to which task, each read once per run and kept up to date by the allocations this run makes."""

    def __init__(self, client: TimeLogClient) -> None:
        self.client = client
        self._initials: dict[int, str] | None = None
        self._allocated: dict[str, set[int]] = {}
        # Allocations run side by side: each list is read once, and an allocation added is never lost to a re-read.
        self._lock = threading.Lock()

    def _employees(self) -> dict[int, str]:
        with self._lock:
            if self._initials is None:
                self._initials = dict(self.client.paged(
                    Service.ORGANISATION, "GetEmployeesPaged", page_size=EMPLOYEES_PAGE_SIZE,
                    parse=lambda e: (int(e["EmployeeID"]), str(e["Initials"]))))
            return self._initials

    def initials_of(self, employee_id: int) -> str:
        """The initials of an EmployeeID."""
        initials = self._employees().get(employee_id)
        if initials is None:
            raise ItemRefusedError(f"TimeLog has no employee with EmployeeID {employee_id}; check the persons in "
                                   "links.yml")
        return initials

    def employee_of(self, initials: str) -> int | None:
        """The EmployeeID of some initials."""
        wanted = initials.lower()
        return next((eid for eid, known in self._employees().items() if known.lower() == wanted), None)

    def _allocations(self, initials: str, *, refresh: bool = False) -> set[int]:
        with self._lock:
            if refresh or initials not in self._allocated:
                items = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetAllocationsToEmployee", initials=initials)
                self._allocated.setdefault(initials, set()).update(int(item["TaskID"]) for item in items)
            return self._allocated[initials]

    def ensure_allocated(self, employee_id: int, task_id: int) -> bool:
        """Allocate the employee to the task unless already allocated; True when this call allocated them."""
        initials = self.initials_of(employee_id)
        if task_id in self._allocations(initials):
            return False
        [result] = self.client.batch(Service.PROJECT_MANAGEMENT, "AddEmployeeToTask", employeeID=employee_id,
                                     taskID=task_id, BudgetHours=ALLOCATION_BUDGET_HOURS)
        if not result.ok and task_id not in self._allocations(initials, refresh=True):
            raise ItemRefusedError(f"AddEmployeeToTask employee {employee_id} task {task_id}: {result.message}")
        self._allocated[initials].add(task_id)
        return result.ok
