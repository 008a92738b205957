"""The target and sink bases both targets share: the one `commands` stream, validated record by record, applied
per batch, with progress lines while applying and one error line (no traceback) when the run cannot go on."""

from __future__ import annotations

import sys
import threading
from abc import abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, ClassVar

from singer_sdk import Target
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import JSONSchemaValidator

from timesync.model import to_json_ready
from timesync.progress import Progress
from timesync.reconcile.commands import COMMAND_STREAM
from timesync.states import Outcome, PairKind

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported on the first batch: a run with nothing to write needs none
    from timesync.ledger import Ledger

#: Outcomes that mean "written or already in place"; the others are logged one by one with their reason.
QUIET_OUTCOMES = frozenset({Outcome.CREATED, Outcome.UPDATED, Outcome.DELETED, Outcome.ALREADY_APPLIED,
                            Outcome.MOVE_DELETED})
#: Commands per drained batch (the SDK's `batch_size_rows` setting overrides it). The writers batch their calls
#: themselves (work_batch_size units per TimeLog call, max_concurrency Forecast requests), so a batch only needs to
#: hold a few of those: the SDK's 10,000 bought no fewer calls, only memory (target-timelog 152 -> 104 MB at 5k).
COMMANDS_PER_BATCH = 1_000


def json_ready(record: Any) -> Any:
    """A record as the mapper wrote it: the SDK's datetimes back to RFC 3339 UTC text, its Decimals exact.

    The SDK reader turns JSON numbers with a fraction into Decimal and parses `date-time` fields; the ledger
    stores commands as JSON, so both are converted here, explicitly, rather than by a `default=str` surprise.
    """
    return to_json_ready(record, utc=True)


class UnknownStreamError(ValueError):
    """A stream other than the reconcile mapper's `commands` reached a target."""


class CommandRecordValidator(JSONSchemaValidator):
    """JSON Schema validation whose error names the stream and the record's key (the SDK's names neither)."""

    def __init__(self, schema: dict[str, Any], stream_name: str, key_properties: Sequence[str]) -> None:
        super().__init__(schema)
        self.stream_name, self.key_properties = stream_name, tuple(key_properties)

    def validate(self, record: dict[str, Any]) -> None:
        """Raise InvalidRecord naming stream, key and the failing field; nothing of the batch is written then."""
        try:
            super().validate(record)
        except InvalidRecord as exc:
            key = ", ".join(f"{name}={record.get(name)!r}" for name in self.key_properties) or "(no key)"
            path = ".".join(str(part) for part in getattr(exc.__cause__, "absolute_path", ())) or "(the record)"
            message = (f"stream {self.stream_name!r}, record {key}, field {path!r}: {exc.error_message}. The run "
                       "stops before writing this batch; check the reconcile mapper's output")
            raise InvalidRecord(message, record) from None


class ApplyProgress(Progress):
    """The target's progress: commands applied so far (of those received), by outcome, every few seconds."""

    def __init__(self, logger: Any) -> None:
        super().__init__(logger, "applying commands", "commands applied")
        self.received = 0
        self.outcomes: Counter[str] = Counter()  # "<kind>.<outcome>"
        self._counts_lock = threading.Lock()

    def count(self, kind: str, outcome: str) -> None:
        """One command's outcome is recorded."""
        with self._counts_lock:
            self.outcomes[f"{kind}.{outcome}"] += 1
            self.done += 1

    def summary(self, *, by_kind: bool = False) -> str:
        """The outcomes so far, e.g. "created 800, updated 300" (or per kind: "work_create.created 800")."""
        totals: Counter[str] = Counter()
        with self._counts_lock:
            for key, count in self.outcomes.items():
                totals[key if by_kind else key.split(".", 1)[1]] += count
        return ", ".join(f"{key} {count:,}" for key, count in sorted(totals.items()))

    def line(self) -> str:
        """The current line, e.g. "progress: applying commands: 1,200 commands applied (received 3,000; created 1,150,
        conflict 2), 9 s"."""
        self.detail = f"received {self.received:,}; {self.summary() or 'none yet'}" if self.received \
            else "waiting for commands"
        return super().line()


class OutcomeRecorder:
    """Records outcomes in the ledger (run item and pair update in one transaction each) and counts them.

    Ledger calls are serialised with a lock, so writer threads may record as soon as their remote write returns.
    """

    def __init__(self, ledger: Ledger, logger: Any, progress: ApplyProgress) -> None:
        self.ledger, self.logger, self.progress = ledger, logger, progress
        self._lock = threading.Lock()

    def created(self, command: Mapping[str, Any], remote_id: str | int, *,
                written: Mapping[str, Any] | None = None, message: str | None = None) -> None:
        """The twin exists now (created, or found after an unconfirmed create): store its id, mark linked."""
        with self._lock:
            self.ledger.complete_create(command, remote_id, written=written, message=message)
            self._count(command, Outcome.CREATED, message)

    def outcome(self, command: Mapping[str, Any], outcome: Outcome, *, current: Mapping[str, Any] | None = None,
                message: str | None = None) -> None:
        """Any other outcome (updated, deleted, conflict, locked, failed ...)."""
        with self._lock:
            self.ledger.record_outcome(command, outcome, current=current, message=message)
            self._count(command, outcome, message)

    def pair(self, pair_id: int) -> Any:
        """The pair as the ledger holds it now."""
        with self._lock:
            return self.ledger.pair(pair_id)

    def resolve(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """The command with its TimeLog ids filled in from the ledger (raises UnresolvedDependencyError)."""
        with self._lock:
            return self.ledger.resolve_dependencies(command)

    def paired_elsewhere(self, command: Mapping[str, Any], twin_id: str) -> bool:
        """Whether ``twin_id`` already belongs to another pair (a fingerprint must not adopt it)."""
        with self._lock:
            pair = self.ledger.find_pair(PairKind(command["pair_kind"]), **{_twin_side(command): twin_id})
        return pair is not None and pair.id != command["pair_id"]

    def _count(self, command: Mapping[str, Any], outcome: Outcome, message: str | None) -> None:
        self.progress.count(command["kind"], str(outcome))
        if outcome not in QUIET_OUTCOMES:
            self.logger.warning("%s %s (pair %s, source %s): %s", command["kind"], outcome, command["pair_id"],
                                command["source_id"], message or "")


def _twin_side(command: Mapping[str, Any]) -> str:
    """The ledger column holding the target side's id."""
    return "forecast_id" if command["direction"] == "timelog_to_forecast" else "timelog_id"


class CommandSink(BatchSink):
    """Collects the reconcile mapper's commands and applies each drained batch through ``apply``.

    The SDK validates every record as it arrives, so a bad record fails the run before its batch is written,
    and it forwards the tap's STATE only after ``process_batch`` returned: the writes are durable by then.
    """

    include_sdc_metadata_properties = False
    MAX_SIZE_DEFAULT = COMMANDS_PER_BATCH
    target: CommandTarget  # the target that made this sink (a CommandSink belongs to a CommandTarget)

    def __init__(self, target: CommandTarget, stream_name: str, schema: dict[str, Any],
                 key_properties: Sequence[str] | None) -> None:
        """Refuse any stream but `commands`: a target fed a tap directly would otherwise drop its records."""
        if stream_name != COMMAND_STREAM:
            raise UnknownStreamError(
                f"{target.name} accepts only the {COMMAND_STREAM!r} stream of the reconcile mapper, got stream "
                f"{stream_name!r}; run it as `<tap> reconcile {target.name}`"
            )
        self.target = target
        super().__init__(target, stream_name, schema, key_properties)

    def get_validator(self) -> CommandRecordValidator:
        """Validation that names the stream and the command id on failure."""
        return CommandRecordValidator(self.schema, self.stream_name, self.key_properties)

    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """Undo the SDK's parsing of datetimes and decimals (see ``json_ready``)."""
        command: dict[str, Any] = json_ready(record)
        return command

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Buffer the command for its batch, and count it for the progress line."""
        super().process_record(record, context)
        self.target.progress.received += 1

    def process_batch(self, context: dict[str, Any]) -> None:
        """Apply the batch in the mapper's order (the mapper emits what a command depends on first, so batches
        applied one after another keep that order; ids from earlier batches are resolved through the ledger)."""
        commands = sorted(context.get("records", []), key=lambda c: (c["run_id"], c["seq"]))
        if commands:
            self.apply(commands, self.target.recorder)

    @abstractmethod
    def apply(self, commands: list[dict[str, Any]], recorder: OutcomeRecorder) -> None:
        """Apply commands (ordered by the mapper) and record every outcome through ``recorder``."""


class CommandTarget(Target):
    """The Target base both targets share: one ledger, recorder and progress line per process; settings checked
    before any input is read; and a fatal error ends the run as one line naming what to fix, never a traceback.

    Credentials, account and reachability are checked by the first request, which always comes before the first
    write (TimeLog: GetToken; Forecast: a 401 refuses the request). Checking them before reading input would cost
    a request on every run, also the many runs with nothing to write.
    """

    #: Errors after which the run cannot go on; their messages name what to fix and carry no secret.
    fatal_errors: ClassVar[tuple[type[Exception], ...]] = (UnknownStreamError, InvalidRecord)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress = ApplyProgress(self.logger)

    @cached_property
    def ledger(self) -> Ledger:
        """The sync ledger, opened on the first batch."""
        from timesync.ledger import Ledger

        return Ledger.open(self.config.get("ledger_url"))

    @cached_property
    def recorder(self) -> OutcomeRecorder:
        """Where every outcome goes (ledger, progress, warnings), one for the whole run."""
        return OutcomeRecorder(self.ledger, self.logger, self.progress)

    def check_settings(self) -> None:
        """Raise for a setting that is wrong without asking the API (called before any input is read)."""

    def listen(  # type: ignore[misc]  # the SDK's final listen: see the docstring
        self, file_input: IO[str] | None = None,
    ) -> None:
        """Check the settings, then read and apply the commands, with a progress line every few seconds.

        (The SDK marks ``listen`` final for typing only; wrapping it is the one hook around the whole run.)
        """
        self.check_settings()
        with self.progress:  # from the start: the target waits for the reconcile step, and must look alive
            super().listen(file_input)
        summary = self.progress.summary(by_kind=True)
        self.logger.info("applied %s commands%s", f"{self.progress.done:,}", f": {summary}" if summary else "")

    @classmethod
    def invoke(cls, **kwargs: Any) -> None:
        """The command line: a fatal error is logged as one line and the process exits 1 (no traceback)."""
        try:
            super().invoke(**kwargs)
        except cls.fatal_errors as exc:
            cls.logger.error("%s: %s", cls.name, exc)  # the message is the diagnosis: no traceback
            sys.exit(1)
