"""ForecastSink: applies registration commands to Forecast, per pair in order, pairs in parallel (bounded)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from forecast_api import ForecastFatalError, ForecastOutcomeUnknownError, ForecastRefusedError, ForecastRegistrations
from timesync.adapters import ForecastAdapter
from timesync.model import TimeEntry
from timesync.reconcile.apply import CommandSink, OutcomeRecorder
from timesync.reconcile.commands import CommandKind
from timesync.reconcile.lease import check_lease, find_created, move_create_allowed
from timesync.states import Outcome, UnresolvedDependencyError

if TYPE_CHECKING:
    from target_forecast.target import TargetForecast

#: Forecast's fair-use policy asks for "a reasonable number of concurrent API calls".
DEFAULT_MAX_CONCURRENCY = 4
#: How often a create whose outcome was unknown (timeout, 500) is looked up and tried again.
MAX_UNCERTAIN_CREATES = 3
MOVE_REFUSED = "move: the delete half did not happen (conflict, lock or failure), so the create half waits"
REGISTRATIONS_STREAM = "time_registrations"
#: Reads Forecast registrations the way the mapper reads the tap's, so a re-read twin compares equal to its base.
ADAPTER = ForecastAdapter()


def _person_days(command: dict[str, Any]) -> set[tuple[Any, Any]]:
    """The (person, date) a command writes or looks up registrations in."""
    snapshots = (command.get("fingerprint"), command.get("twin_snapshot"), command.get("expected_base"))
    return {(s.get("person"), s.get("date")) for s in snapshots if s}


def independent_groups(commands: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Commands split into groups that may run in parallel, each group in the mapper's order.

    A pair's commands stay together (a move's delete before its create), and so do all commands touching the same
    person and date: a fingerprint lookup there must not race another command's create or adoption.
    """
    parent: dict[Any, Any] = {}

    def root(key: Any) -> Any:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for command in commands:
        for key in _person_days(command):
            parent[root(("pair", command["pair_id"]))] = root(("day", key))
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for command in commands:
        groups[root(("pair", command["pair_id"]))].append(command)
    return list(groups.values())


class LeaseReads:
    """The twins a batch's updates and deletes hold a lease on, read up front: one v3 read per person, from the
    earliest date the ledger saw among them, instead of one GET per registration.

    The lease compares the same v3 record either way. A twin the per-person read did not return (deleted, or its
    date edited to before that range) is read by id, as before. Each record serves one lease check: a later
    command on the same twin in this batch (a move's halves) reads it again by id.
    """

    def __init__(self, api: ForecastRegistrations, records: dict[str, dict[str, Any]]) -> None:
        self.api = api
        self._records = records

    @classmethod
    def read(cls, api: ForecastRegistrations, commands: Iterable[dict[str, Any]],
             map_parallel: Callable[..., Iterator[list[dict[str, Any]]]] = map) -> LeaseReads:
        """Read the twins of ``commands`` (as the mapper sent them), ``map_parallel`` running the per-person reads."""
        first_day: dict[int, str] = {}
        for command in commands:
            base = command.get("expected_base") or {}
            if command.get("twin_id") and base.get("person") and base.get("date") and command["kind"] in (
                    CommandKind.REGISTRATION_UPDATE, CommandKind.REGISTRATION_DELETE):
                person = int(base["person"])
                first_day[person] = min(first_day.get(person, base["date"]), base["date"])

        def registrations_of(person_and_day: tuple[int, str]) -> list[dict[str, Any]]:
            try:
                return api.of_person_from(*person_and_day)
            except ForecastRefusedError:  # e.g. the person is gone: their twins are read by id
                return []

        records: dict[str, dict[str, Any]] = {}
        for person_records in map_parallel(registrations_of, first_day.items()):
            records.update((str(record["id"]), record) for record in person_records)
        return cls(api, records)

    def current(self, registration_id: str | None) -> dict[str, Any] | None:
        """The twin as it is now; None when it does not exist."""
        if not registration_id:
            return None
        record = self._records.pop(str(registration_id), None)
        return record if record is not None else self.api.get(int(registration_id))


class ForecastSink(CommandSink):
    """registration_create / registration_update / registration_delete against Forecast's v1 API."""

    target: TargetForecast  # the target that made this sink

    @property
    def api(self) -> ForecastRegistrations:
        """The target's Forecast client."""
        return self.target.forecast

    def apply(self, commands: list[dict[str, Any]], recorder: OutcomeRecorder) -> None:
        """Groups of commands in order, up to max_concurrency groups at once (see ``independent_groups``)."""
        groups = independent_groups(commands)
        workers = max(1, int(self.config.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY))
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="forecast-write") as pool:
            leases = LeaseReads.read(self.api, commands, pool.map)
            # list() re-raises the first fatal error (key refused, Forecast down); the other workers stop early.
            list(pool.map(lambda group: self._apply_pair(group, recorder, leases, stop), groups))

    def _apply_pair(self, commands: list[dict[str, Any]], recorder: OutcomeRecorder, leases: LeaseReads,
                    stop: threading.Event) -> None:
        try:
            self._apply_in_order(commands, recorder, leases, stop)
        except ForecastFatalError:
            stop.set()
            raise

    def _apply_in_order(self, commands: list[dict[str, Any]], recorder: OutcomeRecorder, leases: LeaseReads,
                        stop: threading.Event) -> None:
        for command in commands:
            if stop.is_set():
                return
            try:
                resolved = recorder.resolve(command)
            except UnresolvedDependencyError as exc:
                recorder.outcome(command, Outcome.FAILED, message=str(exc))
                continue
            kind = CommandKind(resolved["kind"])
            if kind not in (CommandKind.REGISTRATION_CREATE, CommandKind.REGISTRATION_UPDATE,
                            CommandKind.REGISTRATION_DELETE):
                recorder.outcome(command, Outcome.FAILED,
                                 message=f"target-forecast cannot apply a {resolved['kind']!r} command")
                continue
            try:
                if kind is CommandKind.REGISTRATION_CREATE:
                    self._create(resolved, recorder)
                elif kind is CommandKind.REGISTRATION_UPDATE:
                    self._update(resolved, recorder, leases)
                else:
                    self._delete(resolved, recorder, leases)
            except ForecastRefusedError as exc:
                recorder.outcome(resolved, Outcome.LOCKED if exc.locked else Outcome.FAILED, message=str(exc))

    # -- commands -------------------------------------------------------------------------------------------

    def _create(self, command: dict[str, Any], recorder: OutcomeRecorder) -> None:
        if not move_create_allowed(command, recorder.pair(command["pair_id"])):
            recorder.outcome(command, Outcome.SKIPPED, message=MOVE_REFUSED)
            return
        if command.get("lookup_first") and self._adopt(command, recorder):
            return
        for _ in range(MAX_UNCERTAIN_CREATES):
            try:
                created = self.api.create(command["native"])
            except ForecastOutcomeUnknownError as exc:
                self.logger.warning("%s; looking the registration up before trying again", exc)
                if self._adopt(command, recorder):
                    return
                continue
            recorder.created(command, created["id"])
            return
        recorder.outcome(command, Outcome.FAILED,
                         message=f"create still uncertain after {MAX_UNCERTAIN_CREATES} tries; retried next run")

    def _adopt(self, command: dict[str, Any], recorder: OutcomeRecorder) -> bool:
        """Find the registration an earlier, unconfirmed attempt created (by fingerprint) and link it."""
        found = self._find_created(command, recorder)
        if found is None:
            return False
        recorder.created(command, found.id, message="found by fingerprint after an unconfirmed create")
        return True

    def _find_created(self, command: dict[str, Any], recorder: OutcomeRecorder) -> TimeEntry | None:
        fingerprint = command.get("fingerprint") or command.get("twin_snapshot") or {}
        if not fingerprint.get("person") or not fingerprint.get("date"):
            return None
        records = self.api.of_person_on(int(fingerprint["person"]), fingerprint["date"])
        candidates = [self._entry(record) for record in records
                      if not recorder.paired_elsewhere(command, str(record["id"]))]
        return find_created({**command, "fingerprint": fingerprint}, candidates)

    def _current(self, leases: LeaseReads, registration_id: str | None) -> TimeEntry | None:
        record = leases.current(registration_id)
        return self._entry(record) if record else None

    def _entry(self, record: dict[str, Any]) -> TimeEntry:
        """A v1/v3 registration as a canonical time entry (through the Forecast adapter, like the tap's)."""
        project = record.get("project")
        if project is None and record.get("task") is not None:
            project = self.api.task_project(int(record["task"]))
        entry = ADAPTER.to_canonical(REGISTRATIONS_STREAM, {**record, "project_id": project})[0]
        assert isinstance(entry, TimeEntry)
        return entry

    def _update(self, command: dict[str, Any], recorder: OutcomeRecorder, leases: LeaseReads) -> None:
        verdict = check_lease(command, self._current(leases, command.get("twin_id")))
        if verdict.outcome is not None:  # check_lease refuses the write exactly when it gives an outcome
            recorder.outcome(command, verdict.outcome, current=verdict.current, message=verdict.reason)
            return
        self.api.update(int(command["twin_id"]), command["native"])
        recorder.outcome(command, Outcome.UPDATED)

    def _delete(self, command: dict[str, Any], recorder: OutcomeRecorder, leases: LeaseReads) -> None:
        current = self._current(leases, command.get("twin_id"))
        if current is None and not command.get("twin_id") and command.get("lookup_first"):
            current = self._find_created(command, recorder)
        verdict = check_lease(command, current)
        if verdict.outcome is not None:  # check_lease refuses the write exactly when it gives an outcome
            recorder.outcome(command, verdict.outcome, current=verdict.current, message=verdict.reason)
            return
        assert current is not None, "the lease lets a delete through only when the twin exists"
        self.api.delete(int(current.id))
        recorder.outcome(command, Outcome.MOVE_DELETED if command["action"] == "move" else Outcome.DELETED)
