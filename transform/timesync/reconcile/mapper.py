"""The reconcile mapper plugin (a singer-sdk InlineMapper): tap records in, target commands out."""

from __future__ import annotations

import typing as t

from singer_sdk import singerlib as singer
from singer_sdk import typing as th
from singer_sdk.mapper_base import InlineMapper

from timesync.adapters import ADAPTER_TYPES, ADAPTERS, Adapter, source_adapter
from timesync.ledger import Ledger, run_lock
from timesync.ledger.store import EmptyLedgerUrlError
from timesync.links import TOOLS, LinksError, load_links, unknown_ids
from timesync.model import Direction, Side
from timesync.progress import Progress
from timesync.reconcile.bookmarks import BookmarkGuard, StaleLedgerError
from timesync.reconcile.commands import COMMAND_KEY, COMMAND_SCHEMA, COMMAND_STREAM
from timesync.reconcile.engine import FloodGuardError, Reconciler
from timesync.reconcile.facts import LEDGER_TOOL_FACT, FactGuard, FactMismatchError, another_account
from timesync.reconcile.report import plan_lines, plan_summary
from timesync.settings import LEDGER_SETTINGS

if t.TYPE_CHECKING:
    from pathlib import PurePath

# Streams only one tap has; `tasks` and `projects` exist on both and are told apart by their key.
_STREAM_SIDES: dict[tuple[str, tuple[str, ...]], Side] = {
    (stream, tuple(key)): adapter.side for adapter in ADAPTERS.values() for stream, key in adapter.stream_keys.items()
}


class DirectionError(ValueError):
    """The input mixes both taps' streams, or has none the sync reads."""


def side_of_stream(stream: str, key_properties: t.Sequence[str], adapter: Adapter | None = None) -> Side | None:
    """Which tap a stream comes from: by name and primary key (None: a stream the sync does not read).

    With ``adapter`` (setting ``source_adapter``) only that tool's streams are read, all as its side's.
    """
    if adapter is not None:
        return adapter.side if stream in adapter.stream_keys else None
    side = _STREAM_SIDES.get((stream, tuple(key_properties)))
    if side is not None:
        return side
    named = {s for (name, _key), s in _STREAM_SIDES.items() if name == stream}
    return named.pop() if len(named) == 1 else None


class ReconcileMapper(InlineMapper):
    """Classifies tap records against the ledger and emits the opposite target's commands at end of input."""

    name = "timesync-reconcile"
    package_name = "timesync"

    config_jsonschema = th.PropertiesList(
        *LEDGER_SETTINGS,
        th.Property("links_path", th.StringType, default="links.yml",
                    description="Path of the links file (projects and persons)."),
        th.Property("dry_run", th.BooleanType, default=False,
                    description="Plan only: record and print the plan, emit no commands (and no STATE)."),
        th.Property("backfill", th.BooleanType, default=False,
                    description="Set by `timesync finish` for a backfill: the taps read one link's history, so "
                                "their projects and persons are not the whole directory and their state is not "
                                "kept."),
        th.Property("source_adapter", th.StringType, allowed_values=["", *sorted(ADAPTER_TYPES)], default="",
                    description="The tool whose tap feeds this mapper, e.g. `harvest` (job harvest-to-timelog): its "
                                "adapter reads the tap and its links.yml section applies. Empty: job `sync`'s Forecast "
                                "or TimeLog, told apart by the streams."),
        th.Property("deletions_by_absence", th.BooleanType, default=False,
                    description="The tap re-reads every entry (no bookmark is passed on): a synced entry it does not "
                                "list was deleted at the source. For tools whose tap shows no deletions (Harvest)."),
    ).to_dict()

    def __init__(
        self,
        *,
        config: dict[str, t.Any] | PurePath | str | list[PurePath | str] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
    ) -> None:
        """Load the links file, open the ledger and hold the run lock; records are collected until the end of input."""
        super().__init__(config=config, parse_env_config=parse_env_config, validate_config=validate_config)
        tool = self.config.get("source_adapter") or ""
        self.adapter: Adapter | None = source_adapter(tool) if tool else None
        self.by_absence = bool(self.config.get("deletions_by_absence"))
        if self.by_absence and self.adapter is None:
            self._fail("deletions_by_absence needs source_adapter: the tool whose tap re-reads every entry")
        # The tool whose links.yml section and ledger this run uses: job sync's Forecast for its own two taps.
        job_tool = self.adapter.tool if self.adapter is not None and self.adapter.tool in TOOLS else "forecast"
        try:
            self.links = load_links(self.config.get("links_path") or "links.yml").for_tool(job_tool)
        except LinksError as exc:
            self._fail(str(exc))
        try:
            self.ledger = Ledger.open(self.config.get("ledger_url"))
        except EmptyLedgerUrlError as exc:
            self._fail(str(exc))
        self.facts = FactGuard(self.ledger)
        try:  # a job's ledger is its own: job sync's pairs Forecast, harvest-to-timelog's Harvest (facts.py)
            self.facts.observe({LEDGER_TOOL_FACT: job_tool})
        except FactMismatchError as exc:
            self.ledger.close()
            self._fail(str(exc))
        try:
            # The first pipeline of job `sync` takes the lock for its `meltano run`; the second renews it.
            taken_over = self.ledger.acquire_run_lock(run_lock.Holder.meltano_parent())
        except run_lock.RunLockHeldError as exc:
            self.ledger.close()
            self._fail(str(exc))
        if taken_over:
            self.logger.warning("%s", taken_over)
        self.dry_run = bool(self.config.get("dry_run"))
        self.backfill = bool(self.config.get("backfill"))
        self.reconciler: Reconciler | None = None
        self.stream_sides: dict[str, Side | None] = {}
        self.held_states: list[dict[str, t.Any]] = []
        # The STATE a singer-sdk tap writes before its first SCHEMA (tap-harvest: before its first RECORD): the
        # bookmark Meltano resumed it from.
        self.starting_state: dict[str, t.Any] | None = None
        self.schema_seen = False
        self.record_seen = False
        # deletions_by_absence: every entry id the re-read listed.
        self.listed: set[str] = set()
        self.reading = Progress(self.logger, "reading", "records").__enter__()

    def _fail(self, message: str) -> t.NoReturn:
        """One clear error line and a non-zero exit: nothing is emitted, so the tap's bookmark is not saved."""
        self.logger.error("%s", message)
        raise SystemExit(1)

    def _reconciler_for(self, side: Side) -> Reconciler:
        direction = Direction.from_source(side)
        if self.reconciler is None:
            self.logger.info("reconcile direction: %s", direction)
            self.reconciler = Reconciler(self.ledger, self.links, direction, dry_run=self.dry_run,
                                         adapter=self.adapter)
        elif self.reconciler.direction is not direction:
            raise DirectionError(f"input mixes both taps' streams: {sorted(self.stream_sides)}; run one tap per "
                                 "pipeline (tap-forecast reconcile target-timelog, tap-timelog reconcile "
                                 "target-forecast)")
        return self.reconciler

    def map_schema_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[singer.Message]:
        """Learn the stream's side; tap schemas are not forwarded (the target receives commands only)."""
        self._assert_line_requires(message_dict, requires={"stream", "schema"})
        stream = message_dict["stream"]
        self.schema_seen = True
        side = side_of_stream(stream, message_dict.get("key_properties") or [], self.adapter)
        self.stream_sides[stream] = side
        if side is not None:
            self._reconciler_for(side)
        yield from ()

    def map_record_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[singer.Message]:
        """Collect the record; the plan needs the whole input (moves, the flood guard)."""
        self._assert_line_requires(message_dict, requires={"stream", "record"})
        stream, side = message_dict["stream"], self.stream_sides.get(message_dict["stream"])
        self.record_seen = True
        if side is not None:
            try:
                self.facts.observe((self.adapter or ADAPTERS[side]).observed_facts(stream, message_dict["record"]))
            except FactMismatchError as exc:
                self.ledger.close()
                self._fail(str(exc))
            self._reconciler_for(side).add(stream, message_dict["record"])
            if self.by_absence and self.adapter is not None and stream == self.adapter.entry_stream:
                key = self.adapter.stream_keys[stream][0]
                self.listed.add(str(message_dict["record"].get(key)))
            self.reading.advance()
        yield from ()

    def map_state_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[singer.Message]:
        """Hold STATE and emit it after the commands, so a bookmark never passes unsent commands (unchanged, but for
        the bookmarks of streams the tap must read whole: ``_passed_on``)."""
        self._assert_line_requires(message_dict, requires={"value"})
        resumed_before_records = self.adapter is not None and self.adapter.resumed_state == "before_records"
        if self.starting_state is None and not self.record_seen and (not self.schema_seen or resumed_before_records):
            self.starting_state = message_dict["value"]
        self.held_states.append(self._passed_on(message_dict))
        yield from ()

    def _passed_on(self, message_dict: dict[str, t.Any]) -> dict[str, t.Any]:
        """The STATE to pass on: without the bookmarks of the streams the tap must read whole next time (all of
        them for a re-read that finds deletions by absence)."""
        whole = self.adapter.whole_streams if self.adapter else frozenset()
        value = message_dict["value"]
        bookmarks = value.get("bookmarks") if isinstance(value, dict) else None
        if not isinstance(bookmarks, dict) or not (whole or self.by_absence):
            return message_dict
        kept = {} if self.by_absence else {name: mark for name, mark in bookmarks.items() if name not in whole}
        return {**message_dict, "value": {**value, "bookmarks": kept}}

    def _check_read_whole(self, reconciler: Reconciler) -> None:
        """Deletions by absence trust only a re-read the tap finished: its last STATE names no stream still syncing.
        Then each synced entry it did not list becomes a deletion."""
        assert self.adapter is not None, "__init__ refuses deletions_by_absence without source_adapter"
        last = self.held_states[-1]["value"] if self.held_states else None
        stream = self.adapter.entry_stream
        if not isinstance(last, dict) or last.get("currently_syncing") or stream not in self.stream_sides:
            self._fail(f"deletions_by_absence: the tap did not finish reading `{stream}` (its last STATE names a "
                       "stream still syncing, or it sent none); nothing is taken as deleted and nothing was "
                       "written. Run it again.")
        absent = reconciler.add_absences(self.listed)
        self.logger.info("deletions by absence: %d entries listed, %d synced entries absent", len(self.listed), absent)

    def map_activate_version_message(self, message_dict: dict[str, t.Any]) -> t.Iterable[singer.Message]:
        """Tap table versions mean nothing to command streams: dropped."""
        self._assert_line_requires(message_dict, requires={"stream", "version"})
        yield from ()

    def process_endofpipe(self) -> None:
        """Plan, guard, record, then emit the commands and the held STATE messages."""
        self.reading.stop()
        try:
            self._write_messages(self.finish())
        finally:  # the commands were read from the spill file while they were written
            if self.reconciler is not None:
                self.reconciler.close()

    def finish(self) -> t.Iterator[singer.Message]:
        """The messages for the target: the commands schema, the commands, then STATE (nothing in a dry run)."""
        if self.reconciler is None:
            self.logger.warning("no stream the sync reads arrived; nothing to reconcile")
            yield from (singer.StateMessage.from_dict(state) for state in self.held_states)
            return
        bookmarks = BookmarkGuard(self.ledger, self.reconciler.direction)
        try:
            if not self.backfill:  # a backfill's read is filtered, and Meltano keeps none of its state
                self._check_ledger_current(bookmarks)
                self._check_links(self.reconciler)
            if self.by_absence:
                self._check_read_whole(self.reconciler)
            with Progress(self.logger, "planning", "records", total=self.reading.done):
                commands = self.reconciler.run()
            run_id = self.reconciler.run_id or 0
            if not self.dry_run:
                self.facts.record(f"sync run {run_id}")
                if not self.backfill:
                    bookmarks.record((state["value"] for state in self.held_states), run_id)
            for line in self.reconciler.link_changes.messages():
                self.logger.warning("%s", line)
            # A dry run prints the whole plan; a real run its summary (the items stay in the ledger).
            for line in plan_lines(self.ledger, run_id) if self.dry_run else [plan_summary(self.ledger, run_id)]:
                self.logger.info("%s", line)
            if self.dry_run:
                return  # no STATE either: the next real run must see the same changes
        except FloodGuardError as exc:
            self._fail(str(exc))
        finally:
            self.ledger.close()
        yield singer.SchemaMessage(stream=COMMAND_STREAM, schema=COMMAND_SCHEMA, key_properties=list(COMMAND_KEY))
        total = len(commands) if isinstance(commands, t.Sized) else None
        with Progress(self.logger, "emitting", "commands", total=total) as emitting:
            for command in commands:
                yield singer.RecordMessage(stream=COMMAND_STREAM, record=command)
                emitting.advance()
        yield from (singer.StateMessage.from_dict(state) for state in self.held_states)

    def _check_ledger_current(self, bookmarks: BookmarkGuard) -> None:
        """Refuse to plan against a ledger that is behind Meltano's state (lost, restored from a backup)."""
        try:
            warning = bookmarks.check(self.starting_state)
        except StaleLedgerError as exc:
            self._fail(str(exc))
        if warning:
            self.logger.warning("%s", warning)

    def _check_links(self, reconciler: Reconciler) -> None:
        """The tap reads the account the ledger knows, and every id of links.yml exists there: this side's as its tap
        just read them, the other's as last read.

        The projects and persons this tap emitted are stored for the other direction's check and the next run's.
        """
        source, target = reconciler.source, reconciler.target
        mismatch = another_account(self.ledger, source, reconciler.directory, self.links.tool_label(str(source)))
        if mismatch:
            self._fail(mismatch)
        for kind, entries in reconciler.directory.items():
            self.ledger.replace_directory(source, kind, entries)
        problems = unknown_ids(self.links, str(source), {
            kind: set(entries) for kind, entries in reconciler.directory.items()})
        problems += unknown_ids(self.links, str(target), {
            kind: self.ledger.directory_ids(target, kind) for kind in ("project", "person")})
        if problems:
            for problem in problems[1:]:
                self.logger.error("%s", problem)
            self._fail(problems[0] + (f" (and {len(problems) - 1} more above)" if len(problems) > 1 else ""))
