"""The adapter contract: what one time tool must provide to take part in the sync."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

from timesync.model import Assignment, Deletion, Person, Project, Side, Task, TimeEntry

CanonicalRecord = TimeEntry | Task | Assignment | Deletion | Person | Project


class BadRecordError(ValueError):
    """A tap record the adapter cannot read; the message names the stream, the key and the field."""


class Adapter(Protocol):
    """Converts one tool's tap records to canonical records, and canonical values to its target's payloads."""

    side: ClassVar[Side]
    # The tool's name: `source_adapter` in the reconcile mapper's settings, the links.yml section it reads.
    tool: ClassVar[str]
    # Stream name -> primary key: how the mapper recognises this tool's tap (``tasks`` exists on both sides).
    stream_keys: ClassVar[Mapping[str, Sequence[str]]]
    # Time-entry fields the target API cannot change in place; a change to one of them is a move.
    immutable_entry_fields: ClassVar[frozenset[str]]
    # The stream of its time entries: a whole re-read finds deletions by their absence from it.
    entry_stream: ClassVar[str]
    # Streams the tap must read whole on every run (the mapper drops their bookmarks from the STATE it passes on).
    whole_streams: ClassVar[frozenset[str]]
    # Where the tap says which bookmark it resumed from: "before_schema" (singer-sdk taps write it before their first
    # SCHEMA) or "before_records" (singer-python taps like tap-harvest write it after the first SCHEMA, before any
    # RECORD). The mapper checks that bookmark against the ledger (reconcile/bookmarks.py).
    resumed_state: ClassVar[str]

    def to_canonical(self, stream: str, record: Mapping[str, Any]) -> list[CanonicalRecord]:
        """Canonical records for one tap record (empty for streams the sync does not read)."""
        ...

    def entry_payload(self, entry: TimeEntry, *, update: bool) -> dict[str, Any]:
        """The target-native payload that writes ``entry`` (ids are this side's ids)."""
        ...

    def task_payload(self, task: Task) -> dict[str, Any]:
        """The target-native payload that creates or updates ``task`` (only TimeLog receives tasks)."""
        ...

    def observed_facts(self, stream: str, record: Mapping[str, Any]) -> Mapping[str, str]:
        """Facts about the tool's account that this record shows (name -> value); the mapper checks them against
        what the ledger recorded, so a run that reads the account differently than before stops."""
        ...


def require(stream: str, record: Mapping[str, Any], field: str, key: str) -> Any:
    """A required field of a tap record, or a BadRecordError naming the stream, the record key and the field."""
    value = record.get(field)
    if value is None:
        raise BadRecordError(f"stream {stream}, record {key}={record.get(key)!r}: field {field!r} is missing")
    return value


def id_text(value: Any) -> str | None:
    """Ids are compared as text everywhere (Forecast and TimeLog ints, TimeLog GUIDs)."""
    return None if value is None or value == "" else str(value)


def shared_id(value: Any) -> str | None:
    """``id_text`` for ids that many records repeat (person, project, task): one string for all of them, not one per
    record, since the reconcile step holds every record of a run."""
    text = id_text(value)
    return None if text is None else sys.intern(text)
