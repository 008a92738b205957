"""TimeLog work writes: a lease re-read before each update or delete, then batched InsertWork, UpdateWork and
DeleteWork calls, each item's result recorded."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from target_timelog.common import (
    DEFAULT_MAX_CONCURRENCY,
    ItemRefusedError,
    chunks,
    is_lock_message,
    midnight,
    record_refusal,
    run_concurrently,
)
from target_timelog.staff import Staff
from target_timelog.tasks import TaskWriter
from timelog_api.convert import duration_to_minutes, minutes_to_duration, to_date, to_guid
from timelog_api.errors import TimeLogApiError
from timelog_api.registration import additional_text_required, registration_settings
from timelog_api.services import Service
from timesync.adapters import TimeLogAdapter
from timesync.adapters.timelog import APPROVED_STATUS_MIN, work_description
from timesync.model import TimeEntry, parse_date
from timesync.reconcile.apply import OutcomeRecorder
from timesync.reconcile.commands import CommandKind
from timesync.reconcile.lease import check_lease, find_created, move_create_allowed
from timesync.states import Outcome

if TYPE_CHECKING:  # the zeep client is built on the first batch: a run with nothing to write imports no zeep
    from timelog_api.client import TimeLogClient
    from timelog_api.responses import BatchItemResult

#: InsertWork `source`: "Externals should use 0" (TimeLog's docs).
WORK_SOURCE = 0
#: Work units per InsertWork/UpdateWork/DeleteWork call. TimeLog documents no limit; this keeps a call small.
DEFAULT_WORK_BATCH_SIZE = 100
#: A lease re-read that misses a unit on its base date (its date was edited) searches this far either side.
LEASE_SEARCH_DAYS = 400
#: Work units carry a GUID the sync chooses, derived from the source entry and its content, so a retried
#: InsertWork cannot create a second unit and a crash-recovery lookup recognises the unit it made.
WORK_GUID_NAMESPACE = uuid.UUID("5b0f3c1e-8a57-4c1e-9a0d-3f4e2b7d9c61")
MOVE_REFUSED = "move: the delete half did not happen, so the create half waits"


@dataclass
class WorkWrite:
    """One work command on its way to a batch call: the resolved command and what the call needs."""

    command: dict[str, Any]
    initials: str
    guid: str | None = None
    current: TimeEntry | None = None
    #: The WorkUnit as the lease re-read it: what an UpdateWork sends back, changed only where the sync owns it.
    current_item: Mapping[str, Any] | None = None
    additional_text: str | None = None


class WorkWriter:
    """Work commands of one batch: deletes, then updates, then creates, each step's calls (the lease re-reads per
    employee, the batch calls) up to ``max_concurrency`` at once. The site's time registration settings and the
    tasks' additional-text rule are read once per run."""

    def __init__(self, client: TimeLogClient, recorder: OutcomeRecorder, staff: Staff, tasks: TaskWriter, *,
                 system_name: str, work_batch_size: int = DEFAULT_WORK_BATCH_SIZE,
                 additional_text: str | None = None, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        self.client, self.recorder, self.staff, self.tasks = client, recorder, staff, tasks
        self.system_name, self.work_batch_size, self.max_concurrency = system_name, work_batch_size, max_concurrency
        self.additional_text = additional_text
        self.adapter = TimeLogAdapter()
        self._registration_settings: Mapping[str, Any] | None = None
        self._text_required_on: dict[int, bool] = {}
        self._unit_items: dict[str, Mapping[str, Any]] = {}

    def apply(self, commands: list[dict[str, Any]]) -> None:
        writes: dict[str, list[WorkWrite]] = defaultdict(list)
        for command in commands:
            try:
                writes[command["kind"]].append(self._prepare(command))
            except (ItemRefusedError, TimeLogApiError) as exc:
                record_refusal(self.recorder, command, exc)
        self._lease_check(writes[CommandKind.WORK_DELETE] + writes[CommandKind.WORK_UPDATE])
        self._run_batches("DeleteWork", [w for w in writes[CommandKind.WORK_DELETE] if w.guid])
        updates = self._with_additional_text([w for w in writes[CommandKind.WORK_UPDATE] if w.guid])
        self._run_batches("UpdateWork", self._allocated_for(updates))
        self._insert(writes[CommandKind.WORK_CREATE])

    def _prepare(self, command: dict[str, Any]) -> WorkWrite:
        """The employee's initials (a delete names its employee only in the base) and the twin's GUID."""
        person = command["native"].get("employee_id") or _base(command).get("person")
        if person is None:
            raise ItemRefusedError(f"command {command['command_id']} names no employee")
        return WorkWrite(command, self.staff.initials_of(int(person)), guid=command.get("twin_id"))

    def _lease_check(self, writes: list[WorkWrite]) -> None:
        """Re-read each twin right before writing; only those equal to the expected base keep their GUID."""
        by_employee: dict[str, list[WorkWrite]] = defaultdict(list)
        for write in writes:
            by_employee[write.initials].append(write)
        run_concurrently(self._lease_check_of, by_employee.values(), self.max_concurrency)

    def _lease_check_of(self, group: list[WorkWrite]) -> None:
        """The lease check of one employee's writes: one re-read (two when a twin's date was edited)."""
        initials = group[0].initials
        dates = [parse_date(_base(w.command)["date"]) for w in group if _base(w.command).get("date")]
        try:
            units = self._units(initials, min(dates, default=None), max(dates, default=None))
            missing = [w for w in group if w.guid and to_guid(w.guid) not in units]
            if missing and dates:  # a twin whose date was edited: look further
                span = dt.timedelta(days=LEASE_SEARCH_DAYS)
                units = self._units(initials, min(dates) - span, max(dates) + span)
        except TimeLogApiError as exc:
            self._refuse_all(group, exc)
            return
        for write in group:
            self._check(write, units)

    def _refuse_all(self, writes: list[WorkWrite], exc: Exception) -> None:
        for write in writes:
            write.guid = None
            record_refusal(self.recorder, write.command, exc)

    def _check(self, write: WorkWrite, units: Mapping[str, TimeEntry]) -> None:
        command = write.command
        current = units.get(to_guid(write.guid) or "") if write.guid else None
        if current is None and not write.guid and command.get("lookup_first"):
            current = find_created({**command, "fingerprint": _base(command)},
                                   self._unclaimed(command, units.values()))
        verdict = check_lease(command, current)
        if verdict.outcome is None:  # check_lease lets the write through exactly when it gives no outcome
            write.guid, write.current = (current.id if current else write.guid), current
            write.current_item = self._unit_items.get(current.id) if current else None
            return
        write.guid = None
        self.recorder.outcome(command, verdict.outcome, current=verdict.current, message=verdict.reason)

    def _allocated_for(self, writes: list[WorkWrite]) -> list[WorkWrite]:
        """The writes whose employee is (now) allocated to the task; the others are recorded as failed/locked.
        Each employee and task missing an allocation is allocated once, side by side with the others."""
        def needs(write: WorkWrite) -> tuple[int, int] | None:
            native = write.command["native"]
            return None if _same_task_and_employee(write) else (int(native["employee_id"]), int(native["task_id"]))

        refused: dict[tuple[int, int], Exception] = {}

        def allocate(employee_and_task: tuple[int, int]) -> None:
            try:
                self.staff.ensure_allocated(*employee_and_task)
            except (ItemRefusedError, TimeLogApiError) as exc:
                refused[employee_and_task] = exc

        run_concurrently(allocate, sorted({pair for pair in map(needs, writes) if pair}), self.max_concurrency)
        ready = []
        for write in writes:
            pair = needs(write)
            exc = refused.get(pair) if pair else None
            if exc is not None:
                record_refusal(self.recorder, write.command, exc)
                continue
            ready.append(write)
        return ready

    def _insert(self, writes: list[WorkWrite]) -> None:
        pending = []
        for write in writes:
            if not move_create_allowed(write.command, self.recorder.pair(write.command["pair_id"])):
                self.recorder.outcome(write.command, Outcome.SKIPPED, message=MOVE_REFUSED)
                continue
            write.guid = self.work_guid(write.command)
            pending.append(write)
        self._adopt([w for w in pending if w.command.get("lookup_first")])
        inserts = self._with_additional_text([w for w in pending if w.guid])
        self._run_batches("InsertWork", self._allocated_for(inserts))

    def work_guid(self, command: Mapping[str, Any]) -> str:
        """The GUID of the unit a create makes: the same for a retry of the same create, new for new content."""
        content = json.dumps(command.get("twin_snapshot") or command["native"], sort_keys=True)
        return str(uuid.uuid5(WORK_GUID_NAMESPACE, f"{self.system_name}/{command['source_id']}/{content}"))

    def _adopt(self, writes: list[WorkWrite]) -> None:
        """Creates that may have happened before a crash: the unit with our GUID, else one matching the
        fingerprint (person, date, task, minutes, note) that no other pair holds, is linked instead."""
        by_employee: dict[str, list[WorkWrite]] = defaultdict(list)
        for write in writes:
            by_employee[write.initials].append(write)
        run_concurrently(self._adopt_of, by_employee.values(), self.max_concurrency)

    def _adopt_of(self, group: list[WorkWrite]) -> None:
        """Adoption for one employee's creates: one read of their units over the creates' dates."""
        dates = [parse_date(w.command["native"]["date"]) for w in group]
        try:
            units = self._units(group[0].initials, min(dates), max(dates))
        except TimeLogApiError as exc:
            self._refuse_all(group, exc)
            return
        claimed: set[str] = set()
        for write in group:
            found = units.get(write.guid or "") or find_created(
                {**write.command, "fingerprint": _base(write.command)},
                [u for u in self._unclaimed(write.command, units.values()) if u.id not in claimed])
            if found is not None:
                claimed.add(found.id)
                write.guid = None
                self.recorder.created(write.command, found.id, message="found after an unconfirmed create")

    def _unclaimed(self, command: Mapping[str, Any], units: Iterable[TimeEntry]) -> list[TimeEntry]:
        return [u for u in units if not self.recorder.paired_elsewhere(command, u.id)]

    def _units(self, initials: str, first: dt.date | None, last: dt.date | None) -> dict[str, TimeEntry]:
        """The employee's work units between two dates, by GUID, as canonical entries."""
        if first is None or last is None:
            return {}
        items = self.client.fetch(Service.PROJECT_MANAGEMENT, "GetEmployeeWork", initials=initials,
                                  startDate=midnight(first), endDate=midnight(last))
        units = {}
        for item in items:
            entry = self.unit_entry(item)
            if entry is not None:
                units[entry.id] = entry
                self._unit_items[entry.id] = item
        return units

    def unit_entry(self, unit: Mapping[str, Any]) -> TimeEntry | None:
        """A WorkUnit as a canonical entry, through the TimeLog adapter (as the tap's `work` record would be)."""
        employee = self.staff.employee_of(str(unit.get("EmployeeInitials") or ""))
        project = ((unit.get("Details") or {}).get("ProjectHeader") or {}).get("ID")
        if employee is None or unit.get("GUID") is None:
            return None
        record = {
            "work_unit_guid": to_guid(unit["GUID"]), "employee_id": employee, "task_id": unit.get("TaskID"),
            "project_id": project, "date": to_date(unit.get("StartDateTime")),
            "minutes": duration_to_minutes(unit.get("Duration")), "note": unit.get("Description") or "",
            "approval_status": 0 if unit.get("IsEditable", True) else APPROVED_STATUS_MIN,
        }
        [entry] = self.adapter.to_canonical("work", record)
        assert isinstance(entry, TimeEntry)
        return entry

    def _work_unit(self, write: WorkWrite) -> dict[str, Any]:
        """The WorkUnit to send: for an update, the unit as TimeLog holds it with the sync's fields changed.

        WCF gives every member a request leaves out its default, so UpdateWork with only the sync's fields would
        clear the additional text, the billable duration and the meeting flag: the re-read unit goes back whole.
        A billable duration that equalled the duration follows it (the unit stays fully billable); one that a
        person set apart is kept.
        """
        native = write.command["native"]
        start = midnight(native["date"])
        duration = minutes_to_duration(int(native["minutes"]))
        unit: dict[str, Any] = dict(write.current_item or {})
        if unit.get("BillableDuration") is not None and unit.get("BillableDuration") == unit.get("Duration"):
            unit["BillableDuration"] = duration
        unit.update({"GUID": write.guid, "TaskID": int(native["task_id"]), "EmployeeInitials": write.initials,
                     "Duration": duration, "StartDateTime": start, "EndDateTime": start + duration,
                     "Description": work_description(native.get("note"))})
        if write.additional_text:
            unit["AdditionalText"] = write.additional_text
        return unit

    def _with_additional_text(self, writes: list[WorkWrite]) -> list[WorkWrite]:
        """The writes that can carry the additional text the site requires; the others are recorded as failed.

        TimeLog's GetTimeRegistrationSettings says whether a registration needs one: AdditionalTextFieldValidation
        0 never, 1 where the task's AdditionalTextIsRequired, 2 always. Forecast has no such field, so the
        `additional_text` setting supplies it; a unit that already has one keeps its own.
        """
        ready = []
        for write in writes:
            current = (write.current_item or {}).get("AdditionalText")
            try:
                if not current and self._text_required(int(write.command["native"]["task_id"])):
                    if not self.additional_text:
                        raise ItemRefusedError(
                            f"TimeLog requires an additional text on task {write.command['native']['task_id']} "
                            "(its time registration settings); set target-timelog's additional_text "
                            "(TARGET_TIMELOG_ADDITIONAL_TEXT) to the text the sync should enter")
                    write.additional_text = self.additional_text
            except (ItemRefusedError, TimeLogApiError) as exc:
                record_refusal(self.recorder, write.command, exc)
                continue
            ready.append(write)
        return ready

    def _text_required(self, task_id: int) -> bool:
        if self._registration_settings is None:
            self._registration_settings = registration_settings(self.client)
        return additional_text_required(self._registration_settings, lambda: self._task_requires_text(task_id))

    def _task_requires_text(self, task_id: int) -> bool:
        if task_id not in self._text_required_on:
            self._text_required_on[task_id] = bool(self.tasks.task_by_id(task_id).get("AdditionalTextIsRequired"))
        return self._text_required_on[task_id]

    def _run_batches(self, operation: str, writes: list[WorkWrite]) -> None:
        """InsertWork/UpdateWork/DeleteWork in calls of ``work_batch_size`` units, side by side; each item's
        result recorded as its call returns."""
        run_concurrently(partial(self._run_batch, operation), chunks(writes, self.work_batch_size),
                         self.max_concurrency)

    def _run_batch(self, operation: str, chunk: list[WorkWrite]) -> None:
        work = ({"guid": [w.guid for w in chunk]} if operation == "DeleteWork"
                else {"WorkUnit": [self._work_unit(w) for w in chunk]})
        try:
            results = self.client.batch(Service.PROJECT_MANAGEMENT, operation, work=work, source=WORK_SOURCE)
        except TimeLogApiError as exc:  # the whole call refused (no per-item results): each item fails
            self._refuse_all(chunk, exc)
            return
        if len(results) != len(chunk):
            raise TimeLogApiError(operation, "Malformed", f"{len(results)} results for {len(chunk)} items")
        for write, result in zip(chunk, results, strict=True):
            self._record(operation, write, result)

    def _record(self, operation: str, write: WorkWrite, result: BatchItemResult) -> None:
        command = write.command
        if result.ok:
            if operation == "InsertWork":
                guid = to_guid((result.item or {}).get("GUID")) or write.guid
                assert guid is not None  # _insert sends only writes with a GUID
                self.recorder.created(command, guid)
            elif operation == "DeleteWork":
                outcome = Outcome.MOVE_DELETED if command["action"] == "move" else Outcome.DELETED
                self.recorder.outcome(command, outcome)
            else:
                self.recorder.outcome(command, Outcome.UPDATED)
            return
        if operation == "InsertWork" and self._exists(write):  # a retried call whose first attempt had succeeded
            self.recorder.created(command, write.guid or "")
            return
        outcome = Outcome.LOCKED if is_lock_message(result.message) else Outcome.FAILED
        self.recorder.outcome(command, outcome, current=write.current.snapshot() if write.current else None,
                              message=f"{operation}: {result.message}")

    def _exists(self, write: WorkWrite) -> bool:
        day = parse_date(write.command["native"]["date"])
        return to_guid(write.guid) in self._units(write.initials, day, day)



def _same_task_and_employee(write: WorkWrite) -> bool:
    """Whether an update keeps the unit (as re-read for the lease) on its task and employee: the employee is
    allocated then (TimeLog accepted the unit there), so no allocation check is needed."""
    native, current = write.command["native"], write.current
    return current is not None and current.task_id == str(native.get("task_id")) \
        and current.person_id == str(native.get("employee_id"))



def _base(command: Mapping[str, Any]) -> dict[str, Any]:
    """What the twin looked like (or should look like): expected base, else fingerprint, else intended image."""
    return command.get("expected_base") or command.get("fingerprint") or command.get("twin_snapshot") or {}
