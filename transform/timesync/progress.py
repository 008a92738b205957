"""Progress lines for long phases, so an operator watching `meltano run` sees a backfill move."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

#: Seconds between two progress lines of one phase.
PROGRESS_INTERVAL_SECONDS = 4.0


class Progress:
    """Logs "progress: <phase>: n/N <unit>" every few seconds from a background thread while the phase runs.

    A thread rather than a check per item: a phase may wait on its input (a tap paging an API) or sit in one
    long call, and it must still show that it is alive. Short phases log only their final line.
    """

    def __init__(self, logger: logging.Logger, phase: str, unit: str, *, total: int | None = None,
                 interval: float = PROGRESS_INTERVAL_SECONDS) -> None:
        self.logger, self.phase, self.unit, self.total, self.interval = logger, phase, unit, total, interval
        self.done = 0
        self.detail = ""
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name=f"progress-{phase}", daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop(log_final=exc_type is None)

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more items done."""
        self.done += count

    def line(self) -> str:
        """The current progress line."""
        of_total = f"/{self.total:,}" if self.total is not None else ""
        elapsed = time.monotonic() - self.started
        detail = f" ({self.detail})" if self.detail else ""
        return f"progress: {self.phase}: {self.done:,}{of_total} {self.unit}{detail}, {elapsed:.0f} s"

    def stop(self, *, log_final: bool = True) -> None:
        """End the phase; the final line says how far it got."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if log_final:
            self.logger.info("%s", self.line())

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.logger.info("%s", self.line())
