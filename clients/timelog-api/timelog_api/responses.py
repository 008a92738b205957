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


def _plain(value: Any) -> Any:
    """A zeep object as dicts and lists. zeep is imported here, so only a process that got a response needs it."""
    from zeep.helpers import serialize_object

    return serialize_object(value, dict)


def messages(response: Any) -> list[dict[str, Any]]:
    """The `APIMessage` entries of a response as dicts (Message, Severity, ErrorCode)."""
    wrapper = getattr(response, "Messages", None)
    return [_plain(m) for m in (getattr(wrapper, "APIMessage", None) or [])]


def items(response: Any) -> list[dict[str, Any]]:
    """The items of `Return` (always an array in TimeLog) as plain dicts."""
    array = getattr(response, "Return", None)
    if array is None:
        return []
    values = _plain(array)
    if isinstance(values, list):
        return values
    return next((v for v in values.values() if isinstance(v, list)), [])


def batch_results(response: Any) -> list[BatchItemResult]:
    """The per-item `BatchContainerOf<T>` results of a batch write (InsertWork, CreateTask, ...)."""
    return [
        BatchItemResult(item=c.get("Item"), status=str(c.get("Status")), message=c.get("Message"))
        for c in items(response)
    ]
