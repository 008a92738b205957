"""What TimeLog's Transactional answers hold: `ResponseOf<T>` items and messages, and batch writes' per-item results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUCCESS = "Success"
FAILED_STATES = frozenset({"Invalid", "Error"})
#: `APIMessage` Severity of a message that is information, not an error.
INFO_SEVERITY = "Message"


@dataclass(frozen=True)
class BatchItemResult:
    """One `BatchContainerOf<T>` of a batch write: the item as TimeLog returned it, its status and message."""

    item: dict[str, Any] | None
    status: str
    message: str | None

    @property
    def ok(self) -> bool:
        """Whether TimeLog accepted this item."""
        return self.status == SUCCESS


def messages(response: Any) -> list[dict[str, Any]]:
    """The `APIMessage` entries of a response as dicts (Message, Severity, ErrorCode)."""
    from zeep.helpers import serialize_object  # only a process that got a response needs zeep

    wrapper = getattr(response, "Messages", None)
    return [serialize_object(m, dict) for m in (getattr(wrapper, "APIMessage", None) or [])]


def items(response: Any) -> list[dict[str, Any]]:
    """The items of `Return` (always an array in TimeLog) as plain dicts."""
    array = getattr(response, "Return", None)
    if array is None:
        return []
    from zeep.helpers import serialize_object  # only a process that got a response needs zeep

    values = serialize_object(array, dict)
    if isinstance(values, list):
        return values
    return next((v for v in values.values() if isinstance(v, list)), [])


def batch_results(response: Any) -> list[BatchItemResult]:
    """The per-item `BatchContainerOf<T>` results of a batch write (InsertWork, CreateTask, ...)."""
    return [
        BatchItemResult(item=c.get("Item"), status=str(c.get("Status")), message=c.get("Message"))
        for c in items(response)
    ]
