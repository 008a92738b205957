"""In-memory Forecast and TimeLog, their incremental taps, and fake targets that apply commands like the real ones."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from timesync.adapters import ForecastAdapter, TimeLogAdapter
from timesync.ledger import Ledger, Outcome, PairKind, UnresolvedDependencyError
from timesync.model import Direction, hours_from_minutes
from timesync.reconcile.lease import check_lease, find_created, move_create_allowed

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# How many versions back a tap re-reads (the overlap window): unchanged records arrive again.
OVERLAP_VERSIONS = 3
APPROVED_STATUS = 10


class Crash(Exception):  # noqa: N818 -- it is a simulated kill, not an error to handle
    """A simulated kill -9 between a remote write and the ledger update."""


class LockedWriteError(Exception):
    """The fake API refuses a write to an approved entry, as the real ones do."""


@dataclass
class Clock:
    """One version counter for both systems; updated_at is derived from it."""

    now: int = 0

    def tick(self) -> int:
        self.now += 1
        return self.now

    def stamp(self, version: int) -> str:
        return (EPOCH + dt.timedelta(seconds=version)).isoformat().replace("+00:00", "Z")


Content = tuple[Any, ...] | None


@dataclass(frozen=True)
class Write:
    """One thing the sync did to a system: create, update, delete, or adopt (found an earlier create).

    ``before``/``after`` are the target entry's content around the write; ``source`` is the source entry's.
    """

    system: str
    operation: str
    entity_id: str
    source_id: str | None
    before: Content
    after: Content
    source: Content


@dataclass
class WriteLog:
    """What the sync did to both systems, in order (the invariants inspect it)."""

    writes: list[Write] = field(default_factory=list)


class FakeForecast:
    """Time registrations and tasks with versions, and a deletion feed."""

    def __init__(self, clock: Clock, log: WriteLog) -> None:
        self.clock, self.log = clock, log
        self.registrations: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.deleted: list[tuple[int, int]] = []  # (id, version)
        self.deleted_tasks: list[tuple[int, int]] = []
        self.ids = itertools.count(5000)

    def add_task(self, task_id: int, project: int, title: str, parent: int | None = None,
                 assigned: tuple[int, ...] = ()) -> None:
        version = self.clock.tick()
        self.tasks[task_id] = {"id": task_id, "title": title, "project_id": project, "parent_task_id": parent,
                               "start_date": "2026-01-01", "end_date": "2026-12-31", "estimate": 600,
                               "assigned_persons": list(assigned), "updated_at": self.clock.stamp(version),
                               "_version": version}

    def edit_task(self, task_id: int, **changes: Any) -> None:
        """Change a task (``project_id``, ``parent_task_id``, ``title``...); its registrations' project follows it,
        as Forecast derives it from the task, without a new version of theirs."""
        task = self.tasks[task_id]
        task.update(changes)
        version = self.clock.tick()
        task["updated_at"], task["_version"] = self.clock.stamp(version), version
        for registration in self.registrations.values():
            if registration["task"] == task_id:
                registration["task_project"] = registration["project_id"] = task["project_id"]

    def create(self, *, person: int, project: int | None, task: int | None, date: str, minutes: int, note: str,
               non_project: int | None = None) -> int:
        reg_id = next(self.ids)
        version = self.clock.tick()
        task_project = self.tasks[task]["project_id"] if task else None
        self.registrations[reg_id] = {
            "id": reg_id, "person": person, "project": None if task else project, "task": task,
            "task_project": task_project, "project_id": task_project if task else project,
            "non_project_time": non_project, "time_registered": minutes, "date": date, "notes": note,
            "approval_status": "NOT_SUBMITTED", "updated_at": self.clock.stamp(version), "_version": version,
        }
        return reg_id

    def edit(self, reg_id: int, **changes: Any) -> None:
        registration = self.registrations[reg_id]
        if registration["approval_status"] == "APPROVED":
            raise LockedWriteError(f"registration {reg_id} is approved")
        registration.update(changes)
        version = self.clock.tick()
        registration["updated_at"], registration["_version"] = self.clock.stamp(version), version

    def delete(self, reg_id: int) -> None:
        if self.registrations[reg_id]["approval_status"] == "APPROVED":
            raise LockedWriteError(f"registration {reg_id} is approved")
        del self.registrations[reg_id]
        self.deleted.append((reg_id, self.clock.tick()))

    def approve(self, reg_id: int) -> None:
        self.registrations[reg_id]["approval_status"] = "APPROVED"
        version = self.clock.tick()
        self.registrations[reg_id]["updated_at"], self.registrations[reg_id]["_version"] = (
            self.clock.stamp(version), version)

    def read(self, since: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """What tap-forecast emits for changes after version ``since`` (minus the overlap window)."""
        start = since - OVERLAP_VERSIONS
        for task in self.tasks.values():
            if task["_version"] > start:
                yield "tasks", _public(task)
        for registration in self.registrations.values():
            if registration["_version"] > start:
                yield "time_registrations", _public(registration)
        for reg_id, version in self.deleted:
            if version > start:
                yield "deleted_time_registrations", {"id": reg_id, "deleted_at": self.clock.stamp(version)}

    def content(self, reg_id: object) -> Content:
        """What a person sees of a registration (None: it does not exist)."""
        r = self.registrations.get(int(str(reg_id)))
        return (r["person"], r["project_id"], r["task"], r["date"], r["time_registered"], r["notes"]) if r else None

    def entry(self, reg_id: int) -> Any:
        registration = self.registrations.get(reg_id)
        return ForecastAdapter().to_canonical("time_registrations", _public(registration))[0] if registration \
            else None


class FakeTimeLog:
    """Work units, tasks with external keys, allocations, and a deletion feed."""

    def __init__(self, clock: Clock, log: WriteLog) -> None:
        self.clock, self.log = clock, log
        self.work: dict[str, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.allocations: set[tuple[int, int]] = set()
        self.deleted: list[tuple[str, int]] = []
        self.task_ids = itertools.count(900)

    def add_task(self, project: int, name: str, parent: int | None = None, external_key: str | None = None) -> int:
        task_id = next(self.task_ids)
        self.tasks[task_id] = {"task_id": task_id, "project_id": project, "parent_task_id": parent, "name": name,
                               "start_date": None, "end_date": None, "budget_hours": None,
                               "external_keys": [{"system_name": "Forecast", "external_id": external_key}]
                               if external_key else [], "_version": self.clock.tick()}
        return task_id

    def task_by_external_key(self, key: str) -> dict[str, Any] | None:
        return next((t for t in self.tasks.values()
                     if any(k["external_id"] == key for k in t["external_keys"])), None)

    def create(self, *, employee: int, task: int, date: str, minutes: int, note: str) -> str:
        _require_description(note)
        guid = str(uuid.UUID(int=len(self.work) + len(self.deleted) + 1 + 10**6))
        version = self.clock.tick()
        self.work[guid] = {
            "work_unit_guid": guid, "employee_id": employee, "task_id": task, "task_name": self.tasks[task]["name"],
            "project_id": self.tasks[task]["project_id"], "date": date, "minutes": minutes,
            "hours": str(hours_from_minutes(minutes)), "note": note, "approval_status": 0,
            "modified_at": self.clock.stamp(version), "_version": version,
        }
        return guid

    def edit(self, guid: str, **changes: Any) -> None:
        work = self.work[guid]
        if work["approval_status"] >= APPROVED_STATUS:
            raise LockedWriteError(f"work {guid} is approved")
        if "note" in changes:
            _require_description(changes["note"])
        work.update(changes)
        if "task_id" in changes:
            work["task_name"] = self.tasks[work["task_id"]]["name"]
            work["project_id"] = self.tasks[work["task_id"]]["project_id"]
        work["hours"] = str(hours_from_minutes(work["minutes"]))
        version = self.clock.tick()
        work["modified_at"], work["_version"] = self.clock.stamp(version), version

    def delete(self, guid: str) -> None:
        if self.work[guid]["approval_status"] >= APPROVED_STATUS:
            raise LockedWriteError(f"work {guid} is approved")
        del self.work[guid]
        self.deleted.append((guid, self.clock.tick()))

    def approve(self, guid: str) -> None:
        self.work[guid]["approval_status"] = APPROVED_STATUS
        version = self.clock.tick()
        self.work[guid]["modified_at"], self.work[guid]["_version"] = self.clock.stamp(version), version

    def read(self, since: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """What tap-timelog emits for changes after version ``since`` (minus the overlap window)."""
        start = since - OVERLAP_VERSIONS
        for task in self.tasks.values():
            if task["_version"] > start:
                yield "tasks", _public(task)
        for work in self.work.values():
            if work["_version"] > start:
                yield "work", _public(work)
        for guid, version in self.deleted:
            if version > start:
                yield "work_deletions", {"work_unit_guid": guid, "deleted_at": self.clock.stamp(version)}

    def content(self, guid: object) -> Content:
        """What a person sees of a work unit (None: it does not exist)."""
        w = self.work.get(str(guid))
        return (w["employee_id"], w["task_id"], w["date"], w["minutes"], w["note"]) if w else None

    def entry(self, guid: str) -> Any:
        work = self.work.get(guid)
        return TimeLogAdapter().to_canonical("work", _public(work))[0] if work else None


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_")}


class CrashSwitch:
    """Counts remote writes and raises Crash right after the n-th one (before its ledger update).

    ``only`` restricts the count to one operation ("create", "update", "delete", "upsert_task").
    """

    def __init__(self, crash_after: int | None = None, only: str | None = None) -> None:
        self.crash_after, self.only, self.count, self.matching = crash_after, only, 0, 0

    def wrote(self, operation: str) -> None:
        self.count += 1
        if self.only is None or operation == self.only:
            self.matching += 1
            if self.crash_after is not None and self.matching == self.crash_after:
                raise Crash(f"killed after remote write {self.count} ({operation})")


class _FakeTarget:
    """What both fake targets share: the ledger, the crash switch, and logging what they did."""

    system_name = ""

    def __init__(self, system: Any, ledger: Ledger, switch: CrashSwitch,
                 peek_source: Callable[[object], Content]) -> None:
        self.system, self.ledger, self.switch, self.peek_source = system, ledger, switch, peek_source

    def _log(self, operation: str, entity_id: object, command: dict[str, Any], before: Content = None) -> None:
        source = self.peek_source(command["source_id"]) if command["pair_kind"] == "time_entry" else None
        self.system.log.writes.append(Write(self.system_name, operation, str(entity_id), command["source_id"],
                                            before, self.system.content(entity_id), source))

    def _refuse(self, command: dict[str, Any], verdict: Any, entity_id: object) -> None:
        if verdict.outcome is Outcome.ALREADY_APPLIED:
            self._log("adopt", entity_id, command, self.system.content(entity_id))
        self.ledger.record_outcome(command, verdict.outcome, current=verdict.current, message=verdict.reason)

    def _adopt_earlier_create(self, command: dict[str, Any], candidates: list[Any]) -> bool:
        """After a crash: the twin an unconfirmed create made is found by fingerprint, not created again.

        As in the real targets (CommandSink.paired_elsewhere), a twin another pair holds is never adopted: two
        equal entries created on the other side each get their own twin.
        """
        twin_field = f"{Direction(command['direction']).target}_id"
        free = [candidate for candidate in candidates
                if (pair := self.ledger.find_pair(PairKind(command["pair_kind"]), **{twin_field: candidate.id})) is None
                or pair.id == command["pair_id"]]
        found = find_created(command, free) if command.get("lookup_first") else None
        if found is not None:
            self._log("adopt", found.id, command, self.system.content(found.id))
            self.ledger.complete_create(command, found.id)
        return found is not None


class FakeTimeLogTarget(_FakeTarget):
    """Applies commands to FakeTimeLog the way target-timelog must: resolve, look up, lease-check, record."""

    system_name = "timelog"

    def apply(self, commands: list[dict[str, Any]]) -> None:
        for command in commands:
            try:
                resolved = self.ledger.resolve_dependencies(command)
            except UnresolvedDependencyError as exc:
                self.ledger.record_outcome(command, Outcome.FAILED, message=str(exc))
                continue
            getattr(self, f"_{resolved['kind']}")(resolved)

    def _task_upsert(self, command: dict[str, Any]) -> None:
        native, timelog = command["native"], self.system
        existing = timelog.task_by_external_key(command["external_key"])
        if existing is None:
            task_id = timelog.add_task(native["project_id"], native["name"], native["parent_task_id"],
                                       command["external_key"])
        else:
            task_id = existing["task_id"]
            existing.update(name=native["name"], parent_task_id=native["parent_task_id"])
            existing["_version"] = timelog.clock.tick()
        self._log("upsert_task", task_id, command)
        self.switch.wrote("upsert_task")
        if command["action"] == "create":
            self.ledger.complete_create(command, task_id)
        else:
            self.ledger.record_outcome(command, Outcome.UPDATED)

    def _allocation(self, command: dict[str, Any]) -> None:
        native = command["native"]
        self.system.allocations.add((native["task_id"], native["employee_id"]))
        self.ledger.complete_create(command, f"{native['task_id']}:{native['employee_id']}")

    def _work_create(self, command: dict[str, Any]) -> None:
        native, timelog = command["native"], self.system
        same_day = [timelog.entry(g) for g, w in timelog.work.items()
                    if w["employee_id"] == native["employee_id"] and w["date"] == native["date"]]
        if self._adopt_earlier_create(command, same_day):
            return
        guid = timelog.create(employee=native["employee_id"], task=native["task_id"], date=native["date"],
                              minutes=native["minutes"], note=native["note"])
        self._log("create", guid, command)
        self.switch.wrote("create")
        self.ledger.complete_create(command, guid)

    def _work_update(self, command: dict[str, Any]) -> None:
        guid = command["twin_id"]
        verdict = check_lease(command, self.system.entry(guid))
        if not verdict.write:
            self._refuse(command, verdict, guid)
            return
        native, before = command["native"], self.system.content(guid)
        self.system.edit(guid, task_id=native["task_id"], date=native["date"], minutes=native["minutes"],
                         note=native["note"])
        self._log("update", guid, command, before)
        self.switch.wrote("update")
        self.ledger.record_outcome(command, Outcome.UPDATED)

    def _work_delete(self, command: dict[str, Any]) -> None:
        guid = command["twin_id"]
        current = self.system.entry(guid) if guid else None
        if guid is None and command.get("lookup_first"):
            current = find_created(command, [self.system.entry(g) for g in self.system.work])
            guid = current.id if current else None
        verdict = check_lease(command, current)
        if not verdict.write:
            self._refuse(command, verdict, guid)
            return
        before = self.system.content(guid)
        self.system.delete(guid)
        self._log("delete", guid, command, before)
        self.switch.wrote("delete")
        self.ledger.record_outcome(command, Outcome.DELETED)


class FakeForecastTarget(_FakeTarget):
    """Applies commands to FakeForecast the way target-forecast must (a move is delete + create, one pair)."""

    system_name = "forecast"

    def apply(self, commands: list[dict[str, Any]]) -> None:
        for command in commands:
            getattr(self, f"_{command['kind']}")(command)

    def _registration_create(self, command: dict[str, Any]) -> None:
        if not move_create_allowed(command, self.ledger.pair(command["pair_id"])):
            self.ledger.record_outcome(command, Outcome.SKIPPED, message="move: the delete half was refused")
            return
        native, forecast = command["native"], self.system
        same_day = [forecast.entry(i) for i, r in forecast.registrations.items()
                    if r["person"] == native["person"] and r["date"] == native["date"]]
        if self._adopt_earlier_create(command, same_day):
            return
        reg_id = forecast.create(person=native["person"], project=native.get("project"), task=native.get("task"),
                                 date=native["date"], minutes=native["time_registered"], note=native["notes"])
        self._log("create", reg_id, command)
        self.switch.wrote("create")
        self.ledger.complete_create(command, reg_id)

    def _registration_update(self, command: dict[str, Any]) -> None:
        reg_id = int(command["twin_id"])
        verdict = check_lease(command, self.system.entry(reg_id))
        if not verdict.write:
            self._refuse(command, verdict, reg_id)
            return
        native, before = command["native"], self.system.content(reg_id)
        self.system.edit(reg_id, time_registered=native["time_registered"], date=native["date"],
                         notes=native["notes"])
        self._log("update", reg_id, command, before)
        self.switch.wrote("update")
        self.ledger.record_outcome(command, Outcome.UPDATED)

    def _registration_delete(self, command: dict[str, Any]) -> None:
        reg_id = int(command["twin_id"]) if command.get("twin_id") else None
        current = self.system.entry(reg_id) if reg_id else None
        if reg_id is None and command.get("lookup_first"):
            current = find_created(command, [self.system.entry(i) for i in self.system.registrations])
            reg_id = int(current.id) if current else None
        verdict = check_lease(command, current)
        if not verdict.write:
            self._refuse(command, verdict, reg_id)
            return
        assert reg_id is not None
        before = self.system.content(reg_id)
        self.system.delete(reg_id)
        self._log("delete", reg_id, command, before)
        self.switch.wrote("delete")
        outcome = Outcome.MOVE_DELETED if command["action"] == "move" else Outcome.DELETED
        self.ledger.record_outcome(command, outcome)


def _require_description(note: str) -> None:
    """TimeLog refuses a work unit without a Description (its InsertWork docs), as the simulator does."""
    if not note.strip():
        raise ValueError("a TimeLog work unit needs a Description")
