"""Seeded fault injection: error statuses, 429 with Retry-After, latency, timeouts, malformed bodies.

Configured through `POST /_sandbox/faults`; an empty body `{}` turns every fault off.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

MALFORMED_KINDS = ("truncated", "wrong_types", "missing_fields")


class FaultConfigError(ValueError):
    """A fault configuration the sandbox cannot apply; the message names the field."""


@dataclass
class FaultConfig:
    """What to inject. Rates are probabilities per API request, drawn from one seeded generator."""

    error_rate: float = 0.0
    statuses: list[int] = field(default_factory=lambda: [503])
    retry_after_seconds: int = 1
    latency_ms: int = 0
    timeout_rate: float = 0.0
    timeout_hold_ms: int = 1000
    malformed_rate: float = 0.0
    malformed_kinds: list[str] = field(default_factory=lambda: list(MALFORMED_KINDS))
    only_operations: list[str] | None = None
    #: Crash hook: once this many writes succeeded, every later API request blocks until faults change.
    block_after_writes: int | None = None
    seed: int | None = None

    @classmethod
    def from_json(cls, data: dict) -> FaultConfig:
        """Validate and build; unknown keys are an error so typos do not pass silently."""
        if not isinstance(data, dict):
            raise FaultConfigError("faults: expected a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultConfigError(f"faults: unknown field(s) {unknown}; known: {sorted(known)}")
        config = cls(**data)
        for name in ("error_rate", "timeout_rate", "malformed_rate"):
            value = getattr(config, name)
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise FaultConfigError(f"faults: {name} must be a number from 0 to 1, got {value!r}")
        if not config.statuses or not all(isinstance(s, int) and 400 <= s <= 599 for s in config.statuses):
            raise FaultConfigError(f"faults: statuses must be HTTP error codes, got {config.statuses!r}")
        bad_kinds = sorted(set(config.malformed_kinds) - set(MALFORMED_KINDS))
        if bad_kinds:
            raise FaultConfigError(f"faults: malformed_kinds {bad_kinds} unknown; use {list(MALFORMED_KINDS)}")
        return config


@dataclass
class Decision:
    """What to do with one request."""

    latency_ms: int = 0
    error_status: int | None = None
    timeout: bool = False
    malformed_kind: str | None = None
    block: bool = False


class FaultInjector:
    """Draws a `Decision` per request from the current configuration."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._random = random.Random()
        self.changed = threading.Condition(self._lock)

    def configure(self, data: dict) -> FaultConfig:
        """Replace the configuration (validated first) and wake any blocked requests."""
        config = FaultConfig.from_json(data)
        with self._lock:
            self.config = config
            self._random = random.Random(config.seed)
            self.changed.notify_all()
        return config

    def decide(self, operation: str, writes_so_far: int) -> Decision:
        """Roll the dice for one API request."""
        with self._lock:
            c = self.config
            if c.only_operations is not None and operation not in c.only_operations:
                return Decision(latency_ms=c.latency_ms)
            decision = Decision(latency_ms=c.latency_ms)
            if c.block_after_writes is not None and writes_so_far >= c.block_after_writes:
                decision.block = True
                return decision
            if c.timeout_rate and self._random.random() < c.timeout_rate:
                decision.timeout = True
            elif c.error_rate and self._random.random() < c.error_rate:
                decision.error_status = self._random.choice(c.statuses)
            elif c.malformed_rate and self._random.random() < c.malformed_rate:
                decision.malformed_kind = self._random.choice(c.malformed_kinds)
            return decision

    def wait_while_blocked(self, operation: str, writes_so_far: int, limit_seconds: float = 600) -> None:
        """Hold a request while the crash hook blocks (the test kills the client meanwhile)."""
        with self._lock:
            self.changed.wait_for(
                lambda: self.config.block_after_writes is None
                or writes_so_far < self.config.block_after_writes,
                timeout=limit_seconds,
            )
