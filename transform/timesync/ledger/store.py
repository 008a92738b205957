"""The Ledger: the one API the mapper, the targets and the CLI use to read and write sync bookkeeping."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from timesync.ledger.tables import FactRow, LinkRow, PairKind, PairRow, PairState, RunItemRow, RunRow, RunStatus
from timesync.links import Links
from timesync.model import Direction, Side, json_text
from timesync.states import Outcome

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The newest migration. A ledger already there opens without importing Alembic (about half a second of start-up
#: for every tap, mapper and target process); tests/transform check this matches Alembic's head.
SCHEMA_HEAD_REVISION = "0003"
# The tap, mapper and target of a pipeline open the ledger at once; writers wait for each other this long.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Any constant works; it only has to be the same in every process that migrates a Postgres ledger.
POSTGRES_MIGRATION_LOCK_KEY = 7_202_611
# A pending command that failed this often is no longer replayed; it stays visible in `timesync status`.
MAX_REPLAY_ATTEMPTS = 5
#: Ids per `IN (...)` of a bulk lookup, and rows per executemany of a bulk write: one statement for many records,
#: well under SQLite's and Postgres' limits on bound parameters.
BULK_CHUNK = 500
DEFAULT_LEDGER_RELATIVE_PATH = Path(".meltano") / "timesync" / "ledger.db"
#: Lookups select the table, not the ORM class: plain rows cost a fraction of mapped objects per pair.
PAIRS = PairRow.__table__
#: A pair's columns in the order ``_to_pair`` unpacks them.
SELECT_PAIRS = select(PAIRS.c.id, PAIRS.c.kind, PAIRS.c.forecast_id, PAIRS.c.timelog_id, PAIRS.c.project,
                      PAIRS.c.origin, PAIRS.c.state, PAIRS.c.reason, PAIRS.c.base, PAIRS.c.fingerprint,
                      PAIRS.c.pending, PAIRS.c.attempts, PAIRS.c.conflict, PAIRS.c.updated_at)
# Bulk lookups by native id, compiled once: an expanding parameter instead of one bound literal per id.
_NATIVE_ID = {Side.FORECAST: PAIRS.c.forecast_id, Side.TIMELOG: PAIRS.c.timelog_id}
_PAIRS_BY_ID = {side: SELECT_PAIRS.where(PAIRS.c.kind == bindparam("kind"),
                                         column.in_(bindparam("ids", expanding=True)))
                for side, column in _NATIVE_ID.items()}
_PAIR_IDS_BY_ID = {side: select(PAIRS.c.id, column).where(PAIRS.c.kind == bindparam("kind"),
                                                          column.in_(bindparam("ids", expanding=True)))
                   for side, column in _NATIVE_ID.items()}
# Stored text to enum members, by lookup (an Enum call per column costs more than the lookup).
_PAIR_KINDS = {str(kind): kind for kind in PairKind}
_PAIR_STATES = {str(state): state for state in PairState}
_SIDES = {str(side): side for side in Side}


class UnresolvedDependencyError(LookupError):
    """A command needs a TimeLog id the ledger does not hold yet (its task was not created)."""


@dataclass(frozen=True, slots=True)
class Pair:
    """A read-only view of one pair."""

    id: int
    kind: PairKind
    forecast_id: str | None
    timelog_id: str | None
    project: str | None
    origin: Side
    state: PairState
    reason: str | None
    base: dict[str, Any]
    fingerprint: str | None
    pending: list[dict[str, Any]]
    attempts: int
    conflict: dict[str, Any] | None
    updated_at: dt.datetime

    def id_on(self, side: Side) -> str | None:
        """The native id on one side."""
        return self.forecast_id if side is Side.FORECAST else self.timelog_id

    def base_on(self, side: Side) -> dict[str, Any] | None:
        """The snapshot of one side as last synced."""
        return self.base.get(str(side))


@dataclass(frozen=True)
class Run:
    """A read-only view of one run."""

    id: int
    direction: str
    dry_run: bool
    status: RunStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, int]
    message: str | None


@dataclass(slots=True)
class PlannedPair:
    """A pair write the mapper plans: a new pair (``pair_id`` None) or a change to an existing one."""

    kind: PairKind
    pair_id: int | None = None
    forecast_id: str | None = None
    timelog_id: str | None = None
    project: str | None = None
    origin: Side = Side.FORECAST
    state: PairState | None = None
    reason: str | None = None
    base: dict[str, Any] | None = None
    fingerprint: str | None = None
    commands: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunItem:
    """One line of a run's audit."""

    kind: str
    action: str
    outcome: str
    source_id: str | None = None
    pair_id: int | None = None
    message: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_ledger_url() -> str:
    """SQLite under <meltano project>/.meltano/timesync/ledger.db (or the working directory)."""
    root = Path(os.environ.get("MELTANO_PROJECT_ROOT", "."))
    return f"sqlite:///{(root / DEFAULT_LEDGER_RELATIVE_PATH).resolve()}"


_T = TypeVar("_T")


def batched(values: Iterable[_T], size: int = BULK_CHUNK) -> Iterator[list[_T]]:
    """Lists of up to ``size`` values, in order (``values`` may be a generator: it is read once)."""
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _to_pair(row: Any) -> Pair:
    """A Pair from a row of ``SELECT_PAIRS`` (unpacked by position: by-name access costs more than the rest)."""
    (pair_id, kind, forecast_id, timelog_id, project, origin, state, reason, base, fingerprint, pending, attempts,
     conflict, updated_at) = row
    return Pair(
        id=pair_id,
        kind=_PAIR_KINDS[kind],
        forecast_id=forecast_id,
        timelog_id=timelog_id,
        project=project,
        origin=_SIDES[origin],
        state=_PAIR_STATES[state],
        reason=reason,
        base=json.loads(base),
        fingerprint=fingerprint,
        pending=json.loads(pending) if pending else [],
        attempts=attempts,
        conflict=json.loads(conflict) if conflict else None,
        updated_at=updated_at,
    )


def _to_run(row: RunRow) -> Run:
    return Run(
        id=row.id,
        direction=row.direction,
        dry_run=row.dry_run,
        status=RunStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        counts=json.loads(row.counts),
        message=row.message,
    )


def _conflict_snapshot(command: Mapping[str, Any]) -> dict[str, Any] | None:
    """The source's value as parked, with the TimeLog task name when known: resolving the conflict in favour of
    TimeLog later writes the Forecast note prefix `[task name]`, and no tap re-sends the unchanged work unit."""
    snapshot = command["source_snapshot"]
    task_name = (command.get("canonical") or {}).get("task_name")
    return {**snapshot, "task_name": task_name} if snapshot and task_name else snapshot


def _sqlite_pragmas(engine: Engine, *, writer: bool) -> None:
    """WAL and a busy timeout; writers BEGIN IMMEDIATE so concurrent writers queue instead of failing mid-way.

    synchronous=NORMAL: in WAL mode a kill -9 loses nothing committed; a power cut may lose the last commits,
    which is the same case as a crash before the ledger write, and fingerprint recovery handles it.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue the BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


class Ledger:
    """Pairs, runs and run items in any SQLAlchemy database. Every method is one short transaction."""

    def __init__(self, engine: Engine, read_engine: Engine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    # -- opening -------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None) -> Ledger:
        """Connect and bring the schema up to date (migrations run under a lock, so concurrent opens are safe)."""
        url = url or default_ledger_url()
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        read_engine = None
        if parsed.get_backend_name() == "sqlite":
            # Reads take no write lock, so lookups never queue behind the target's writes.
            read_engine = create_engine(url)
            _sqlite_pragmas(engine, writer=True)
            _sqlite_pragmas(read_engine, writer=False)
        ledger = cls(engine, read_engine)
        ledger._migrate()
        return ledger

    def _migrate(self) -> None:
        if self._revision_or_none() == SCHEMA_HEAD_REVISION:
            return
        # Imported here: only a new or older ledger needs Alembic, and it costs every process start-up.
        from alembic import command as alembic_command
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            alembic_command.upgrade(config, "head")

    def close(self) -> None:
        """Release the connection pools."""
        self.engine.dispose()
        self.read_engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A write transaction."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """A read-only transaction."""
        with self._read_sessions.begin() as session:
            yield session

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at."""
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def _revision_or_none(self) -> str | None:
        """The revision, or None for a database the ledger has never been created in."""
        try:
            return self.schema_revision()
        except DBAPIError:
            return None

    # -- links ---------------------------------------------------------------------------------------------

    def sync_links(self, links: Links) -> None:
        """Replace the stored links with those of the links file (the file is the source of truth)."""
        with self._session() as session:
            session.query(LinkRow).delete()
            session.add_all(
                [LinkRow(kind="project", forecast_id=p.forecast, timelog_id=p.timelog, start_date=p.start_date)
                 for p in links.projects]
                + [LinkRow(kind="person", forecast_id=p.forecast, timelog_id=p.timelog) for p in links.persons]
            )

    def links(self) -> list[tuple[str, str, str]]:
        """The stored links as (kind, forecast id, timelog id)."""
        with self._reading() as session:
            rows = session.scalars(select(LinkRow).order_by(LinkRow.kind, LinkRow.id))
            return [(row.kind, row.forecast_id, row.timelog_id) for row in rows]

    # -- facts ---------------------------------------------------------------------------------------------

    def facts(self) -> dict[str, tuple[str, str]]:
        """Every recorded fact: name -> (value, who found it out)."""
        with self._reading() as session:
            return {row.name: (row.value, row.source) for row in session.scalars(select(FactRow))}

    def record_fact(self, name: str, value: str, source: str) -> None:
        """Record (or replace) a fact about the accounts."""
        with self._session() as session:
            session.merge(FactRow(name=name, value=value, source=source, recorded_at=_now()))

    # -- runs ----------------------------------------------------------------------------------------------

    def begin_run(self, direction: Direction, *, dry_run: bool = False) -> int:
        """Start a run; runs of this direction left `running` by a killed process are marked failed."""
        with self._session() as session:
            session.execute(
                update(RunRow)
                .where(RunRow.direction == str(direction), RunRow.status == RunStatus.RUNNING)
                .values(status=RunStatus.FAILED, message="interrupted (the process stopped before finishing)")
            )
            row = RunRow(direction=str(direction), dry_run=dry_run, status=RunStatus.RUNNING, started_at=_now(),
                         counts="{}")
            session.add(row)
            session.flush()
            return row.id

    def finish_run(self, run_id: int, status: RunStatus, *, counts: Mapping[str, int] | None = None,
                   message: str | None = None) -> None:
        """Close a run with its status and counts (counts merge into those already recorded)."""
        with self._session() as session:
            row = session.get_one(RunRow, run_id)
            merged = json.loads(row.counts) | dict(counts or {})
            row.counts, row.status, row.finished_at, row.message = json_text(merged), str(status), _now(), message

    def runs(self, limit: int = 10) -> list[Run]:
        """The latest runs, newest first."""
        with self._reading() as session:
            rows = session.scalars(select(RunRow).order_by(RunRow.id.desc()).limit(limit))
            return [_to_run(row) for row in rows]

    def run(self, run_id: int) -> Run | None:
        """One run by id."""
        with self._reading() as session:
            row = session.get(RunRow, run_id)
            return _to_run(row) if row is not None else None

    def run_items(self, run_id: int) -> list[Any]:
        """All items of one run, in order: read-only rows with RunItemRow's attributes (plain rows, not ORM
        objects: a 50k-record run's items load in a fraction of the time)."""
        items = RunItemRow.__table__
        with self._reading() as session:
            return list(session.execute(select(items).where(items.c.run_id == run_id).order_by(items.c.id)))

    def outcome_counts(self, run_id: int) -> dict[str, int]:
        """How many target outcomes of each kind a run recorded."""
        return self.item_outcomes(run_id, actor="target")

    def item_outcomes(self, run_id: int, *, actor: str) -> dict[str, int]:
        """How many items of each outcome one actor (``mapper``: the plan, ``target``) recorded for a run, counted
        by the database (a 50k backfill's items are not loaded to count them)."""
        query = (select(RunItemRow.outcome, func.count())
                 .where(RunItemRow.run_id == run_id, RunItemRow.actor == actor).group_by(RunItemRow.outcome))
        with self._reading() as session:
            return dict(session.execute(query).tuples().all())

    # -- pairs: lookups ------------------------------------------------------------------------------------

    def pair(self, pair_id: int) -> Pair | None:
        """One pair by id."""
        with self._reading() as session:
            row = session.execute(SELECT_PAIRS.where(PAIRS.c.id == pair_id)).first()
            return _to_pair(row) if row else None

    def find_pair(self, kind: PairKind, *, forecast_id: str | None = None,
                  timelog_id: str | None = None) -> Pair | None:
        """The pair of one kind holding a Forecast id or a TimeLog id."""
        column, value = (PAIRS.c.forecast_id, forecast_id) if forecast_id is not None else (PAIRS.c.timelog_id,
                                                                                            timelog_id)
        if value is None:
            raise ValueError("find_pair needs forecast_id or timelog_id")
        with self._reading() as session:
            row = session.execute(SELECT_PAIRS.where(PAIRS.c.kind == str(kind), column == str(value))).first()
            return _to_pair(row) if row else None

    def find_pairs(self, kind: PairKind, side: Side, native_ids: Iterable[str]) -> dict[str, Pair]:
        """The pairs of one kind holding any of ``native_ids`` on ``side``, by that id (no entry: no pair).

        What ``find_by_side`` gives for each id, in one query per BULK_CHUNK ids inside one read transaction:
        the mapper looks up a whole run's records at once instead of one transaction per record.
        """
        found: dict[str, Pair] = {}
        with self.read_engine.connect() as connection:
            for chunk in batched(dict.fromkeys(str(native_id) for native_id in native_ids)):
                rows = connection.execute(_PAIRS_BY_ID[side], {"kind": str(kind), "ids": chunk}).all()
                for pair in map(_to_pair, rows):
                    found[pair.id_on(side) or ""] = pair
        return found

    def find_by_side(self, kind: PairKind, side: Side, native_id: str) -> Pair | None:
        """The pair of one kind holding ``native_id`` on ``side``."""
        if side is Side.FORECAST:
            return self.find_pair(kind, forecast_id=native_id)
        return self.find_pair(kind, timelog_id=native_id)

    def pairs(self, *, states: Iterable[PairState] | None = None, kind: PairKind | None = None) -> list[Pair]:
        """Pairs filtered by state and kind, oldest first."""
        query = SELECT_PAIRS.order_by(PAIRS.c.id)
        if states is not None:
            query = query.where(PAIRS.c.state.in_([str(state) for state in states]))
        if kind is not None:
            query = query.where(PAIRS.c.kind == str(kind))
        with self._reading() as session:
            return [_to_pair(row) for row in session.execute(query)]

    def pending_pairs(self, direction: Direction) -> list[Pair]:
        """Pairs holding commands of ``direction`` that were emitted but never confirmed (to replay)."""
        query = SELECT_PAIRS.where(PAIRS.c.pending.is_not(None), PAIRS.c.attempts < MAX_REPLAY_ATTEMPTS)
        with self._reading() as session:
            pairs = [_to_pair(row) for row in session.execute(query.order_by(PAIRS.c.id))]
        return [pair for pair in pairs if any(command["direction"] == str(direction) for command in pair.pending)]

    def creating_pairs(self, kind: PairKind) -> list[Pair]:
        """Pairs whose create is unconfirmed (their fingerprint finds an echo of a create a crash cut short)."""
        return self.pairs(states=[PairState.CREATING], kind=kind)

    def resolve(self, kind: PairKind, forecast_id: str) -> str | None:
        """The TimeLog id paired with a Forecast id (tasks created earlier in the same run included)."""
        pair = self.find_pair(kind, forecast_id=forecast_id)
        return pair.timelog_id if pair else None

    def resolve_dependencies(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """The command with every ``depends_on`` TimeLog id filled in from the ledger, at write time.

        Fills ``native[field]`` and, when the ref names one, ``twin_snapshot``/``fingerprint[snapshot_field]``,
        so the lease check, the fingerprint lookup and the stored base all see the real id.
        """
        resolved = json.loads(json.dumps(dict(command)))
        for ref in command.get("depends_on") or []:
            twin_id = self.resolve(PairKind(ref["pair_kind"]), ref["forecast_id"])
            if twin_id is None:
                raise UnresolvedDependencyError(
                    f"command {command['command_id']}: no TimeLog id yet for {ref['pair_kind']} "
                    f"with Forecast id {ref['forecast_id']} (its create has not succeeded)"
                )
            resolved["native"][ref["field"]] = int(twin_id) if twin_id.isdigit() else twin_id
            snapshot_field = ref.get("snapshot_field")
            for part in ("twin_snapshot", "fingerprint"):
                if snapshot_field and resolved.get(part) is not None:
                    resolved[part][snapshot_field] = twin_id
        return resolved

    # -- pairs: the mapper's plan --------------------------------------------------------------------------

    def record_plan(self, run_id: int, direction: Direction, planned: Iterable[PlannedPair],
                    items: Iterable[RunItem], counts: Mapping[str, int], *, dry_run: bool) -> list[int]:
        """Write the whole plan of a run in one transaction: intents, state changes, run items and counts.

        Each planned pair's commands get its ``pair_id`` and become its ``pending`` list (the intent) before any
        is emitted. In a dry run only the run items and counts are written. Returns the planned pairs' ids.
        ``planned`` is read once, BULK_CHUNK pairs at a time, and not kept: a generator may build each pair's
        commands just for this. Rows go in with one executemany per chunk, not one statement per pair.
        """
        pair_ids: list[int] = []
        now = _now()
        with self.engine.begin() as connection:
            for chunk in batched(planned):
                pair_ids += [plan.pair_id or 0 for plan in chunk] if dry_run else _write_planned(connection, chunk,
                                                                                                 now)
            for rows in batched(_item_values(run_id, direction, "mapper", item, pair_id, now)
                                for item, pair_id in _items_with_pair_ids(items, pair_ids)):
                connection.execute(insert(RunItemRow), rows)
            recorded = connection.execute(select(RunRow.counts).where(RunRow.id == run_id)).scalar_one()
            connection.execute(update(RunRow).where(RunRow.id == run_id)
                               .values(counts=json_text(json.loads(recorded) | dict(counts))))
        return pair_ids

    def note_replay(self, pair_id: int) -> None:
        """Count one more emission of a pair's pending commands (replays stop after MAX_REPLAY_ATTEMPTS)."""
        self.note_replays([pair_id])

    def note_replays(self, pair_ids: Iterable[int]) -> None:
        """``note_replay`` for many pairs, in one transaction."""
        with self.engine.begin() as connection:
            for chunk in batched(pair_ids):
                connection.execute(update(PairRow).where(PairRow.id.in_(chunk))
                                   .values(attempts=PairRow.attempts + 1))

    # -- pairs: the targets' outcomes ----------------------------------------------------------------------

    def complete_create(self, command: Mapping[str, Any], remote_id: str | int, *,
                        written: Mapping[str, Any] | None = None, message: str | None = None) -> None:
        """A create succeeded: store the twin id and the new base, mark linked, and log it, in one transaction.

        ``written`` is the twin's snapshot as the API stored it, when that differs from the command's
        ``twin_snapshot`` (rounding); it becomes the base, so reading it back is no change (no echo).
        """
        self._finish(command, Outcome.CREATED, remote_id=str(remote_id), written=written, message=message)

    def record_outcome(self, command: Mapping[str, Any], outcome: Outcome, *,
                       written: Mapping[str, Any] | None = None, current: Mapping[str, Any] | None = None,
                       message: str | None = None) -> None:
        """Record what a target did with a command: the run item and the pair update in one transaction.

        ``current`` is the twin's snapshot as re-read by the lease check (kept with a conflict, so the
        CLI can show and resolve both values).
        """
        if outcome is Outcome.CREATED:
            raise ValueError("use complete_create for a create: it needs the remote id")
        self._finish(command, outcome, written=written, current=current, message=message)

    def _finish(self, command: Mapping[str, Any], outcome: Outcome, *, remote_id: str | None = None,
                written: Mapping[str, Any] | None = None, current: Mapping[str, Any] | None = None,
                message: str | None = None) -> None:
        direction = Direction(command["direction"])
        source, target = str(direction.source), str(direction.target)
        with self._session() as session:
            row = session.get_one(PairRow, command["pair_id"])
            base = json.loads(row.base)
            pending = [c for c in json.loads(row.pending or "[]") if c["command_id"] != command["command_id"]]
            keep_pending = outcome is Outcome.FAILED
            # A detected Forecast move re-keys the pair to the new registration, whatever the outcome.
            setattr(row, f"{source}_id", command["source_id"])
            if outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.ALREADY_APPLIED):
                base[source] = command["source_snapshot"]
                base[target] = dict(written) if written is not None else command["twin_snapshot"]
                row.state, row.reason, row.conflict, row.attempts = PairState.LINKED, None, None, 0
                if remote_id is not None:
                    setattr(row, f"{target}_id", remote_id)
            elif outcome is Outcome.DELETED:
                row.state, row.reason = PairState.DELETED, message
                pending = []
            elif outcome is Outcome.MOVE_DELETED:
                # The old registration is gone; the pair waits for the create half of the move.
                setattr(row, f"{target}_id", None)
                base[target] = None
                row.state = PairState.CREATING
            elif outcome is Outcome.CONFLICT:
                row.state, row.reason = PairState.CONFLICT, message
                row.conflict = json_text({source: _conflict_snapshot(command), target: dict(current or {}) or None})
                pending = []
            elif outcome in (Outcome.LOCKED, Outcome.ORPHANED):
                row.state, row.reason = (PairState.LOCKED if outcome is Outcome.LOCKED else PairState.ORPHANED,
                                         message)
                pending = []
            elif outcome is Outcome.FAILED:
                row.reason, row.attempts = message, row.attempts + 1
            if not keep_pending:
                row.pending = json_text(pending) if pending else None
            row.base = json_text(base)
            row.updated_at = _now()
            session.add(RunItemRow(
                run_id=command.get("run_id"), pair_id=row.id, direction=str(direction), actor="target",
                kind=command["kind"], source_id=command.get("source_id"), action=command["kind"],
                outcome=str(outcome), message=message, created_at=_now(),
            ))


def _write_planned(connection: Connection, chunk: list[PlannedPair], now: dt.datetime) -> list[int]:
    """Insert the chunk's new pairs and update its existing ones (a few executemany); their ids, in order."""
    new = [plan for plan in chunk if not plan.pair_id]
    if new:
        connection.execute(insert(PairRow), [
            {"kind": str(plan.kind), "forecast_id": plan.forecast_id, "timelog_id": plan.timelog_id,
             "project": plan.project, "origin": str(plan.origin), "base": json_text(plan.base or {}),
             "state": str(plan.state or PairState.CREATING), "reason": plan.reason, "fingerprint": plan.fingerprint,
             "attempts": 0, "updated_at": now} for plan in new])
    new_ids = _new_pair_ids(connection, new)
    pair_ids = [plan.pair_id or new_ids[_natural_key(plan)] for plan in chunk]
    # One executemany per set of columns changed (an UPDATE sets the same columns for every row).
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for plan, pair_id in zip(chunk, pair_ids, strict=True):
        values: dict[str, Any] = {}
        if plan.pair_id:
            values |= {"reason": plan.reason, "updated_at": now}
            if plan.state is not None:
                values["state"] = str(plan.state)
            if plan.base is not None:
                values["base"] = json_text(plan.base)
            if plan.fingerprint is not None:
                values["fingerprint"] = plan.fingerprint
        if plan.commands:
            for command in plan.commands:
                command["pair_id"] = pair_id
            values |= {"pending": json_text(plan.commands), "attempts": 0}
        if values:
            updates.setdefault(tuple(sorted(values)), []).append({"pair_key": pair_id, **values})
    for rows in updates.values():
        connection.execute(update(PairRow).where(PairRow.id == bindparam("pair_key")), rows)
    return pair_ids


def _natural_key(plan: PlannedPair) -> tuple[str, Side, str]:
    """What makes a new pair unique: its kind and its native id on one side (uq_pairs_forecast/timelog)."""
    if plan.forecast_id is not None:
        return str(plan.kind), Side.FORECAST, plan.forecast_id
    if plan.timelog_id is not None:
        return str(plan.kind), Side.TIMELOG, plan.timelog_id
    raise ValueError(f"a new {plan.kind} pair needs its Forecast or TimeLog id")


def _new_pair_ids(connection: Connection, new: list[PlannedPair]) -> dict[tuple[str, Side, str], int]:
    """The ids the database gave the pairs just inserted, read back by natural key.

    Not INSERT ... RETURNING: SQLite cannot promise the order of RETURNING rows, so SQLAlchemy would insert one row
    per statement to match ids to parameters.
    """
    wanted: dict[tuple[str, Side], list[str]] = {}
    for kind, side, native_id in map(_natural_key, new):
        wanted.setdefault((kind, side), []).append(native_id)
    ids: dict[tuple[str, Side, str], int] = {}
    for (kind, side), native_ids in wanted.items():
        for pair_id, native_id in connection.execute(_PAIR_IDS_BY_ID[side], {"kind": kind, "ids": native_ids}):
            ids[(kind, side, native_id)] = pair_id
    return ids


def _items_with_pair_ids(items: Iterable[RunItem], pair_ids: list[int]) -> Iterator[tuple[RunItem, int | None]]:
    """Run items planned for a new pair carry a negative placeholder (-1 - index into the planned pairs)."""
    for item in items:
        if item.pair_id is not None and item.pair_id < 0:
            yield item, pair_ids[-1 - item.pair_id] or None
        else:
            yield item, item.pair_id


def _item_values(run_id: int, direction: Direction, actor: str, item: RunItem, pair_id: int | None,
                 now: dt.datetime) -> dict[str, Any]:
    return {"run_id": run_id, "pair_id": pair_id, "direction": str(direction), "actor": actor, "kind": item.kind,
            "source_id": item.source_id, "action": item.action, "outcome": item.outcome, "message": item.message,
            "created_at": now}
