"""Request counts per operation, for `/_sandbox/stats` and the benchmarks."""

from __future__ import annotations

import threading
from collections import Counter


class RequestStats:
    """Thread-safe counters: requests per operation, writes per operation, injected faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._writes: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    def count(self, operation: str, *, write: bool) -> None:
        """Count one request."""
        with self._lock:
            self._requests[operation] += 1
            if write:
                self._writes[operation] += 1

    def count_fault(self, kind: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self._faults[kind] += 1

    @property
    def write_count(self) -> int:
        """Writes so far (used by the crash hook)."""
        with self._lock:
            return sum(self._writes.values())

    def as_dict(self) -> dict:
        """Everything, JSON-able."""
        with self._lock:
            return {
                "total": sum(self._requests.values()),
                "writes_total": sum(self._writes.values()),
                "requests": dict(sorted(self._requests.items())),
                "writes": dict(sorted(self._writes.items())),
                "faults": dict(sorted(self._faults.items())),
            }

    def clear(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._requests.clear()
            self._writes.clear()
            self._faults.clear()
