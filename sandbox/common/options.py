"""Simulator options: settings where real accounts differ or the vendor's docs allow more than one reading."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

Check = Callable[[Any], Any]


class Options:
    """Base of a simulator's options dataclass; subclasses set `FLAG` and list one check per field in `checks`.

    Set three ways: the `serve` flag (`--<name>-option KEY=VALUE`), `POST /_sandbox/options` and
    `SandboxProcess`. `POST /_sandbox/reset` leaves them alone.
    """

    #: The `python -m sandbox serve` flag that sets these options, for error messages.
    FLAG: ClassVar[str] = "--option"

    def checks(self) -> dict[str, Check]:
        """One validator per option: returns the value to store or raises ValueError/TypeError."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        """Every option, JSON-able (lists copied)."""
        return {f.name: _copy(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply `changes` (a partial object); all are checked first, so a bad one changes nothing."""
        if not isinstance(changes, dict):
            raise ValueError(f"options: expected a JSON object, got {type(changes).__name__}")
        known = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"options: unknown option(s) {unknown}; known: {sorted(known)}")
        checks, checked, errors = self.checks(), {}, []
        for name, value in changes.items():
            try:
                checked[name] = checks[name](value)
            except (TypeError, ValueError) as exc:
                errors.append(f"{name}: {exc}")
        if errors:
            raise ValueError("options: bad value(s): " + "; ".join(errors))
        for name, value in checked.items():
            setattr(self, name, value)
        return self.as_dict()

    def update_from_pairs(self, pairs: Iterable[str]) -> None:
        """`KEY=VALUE` strings (the `serve` flag): VALUE is JSON when it parses, else a string."""
        changes = {}
        for pair in pairs:
            name, sep, text = pair.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"{self.FLAG} {pair!r}: expected KEY=VALUE")
            changes[name.strip()] = parse_value(text)
        self.update(changes)


def parse_value(text: str) -> Any:
    """JSON when `text` parses as JSON (`true`, `2`, `["a"]`, `"x"`), otherwise the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


# -- checks shared by the simulators ---------------------------------------------------------------------


def choice(*allowed: Any) -> Check:
    """One of `allowed` (booleans never match 0 or 1)."""
    def check(value: Any) -> Any:
        if isinstance(value, bool) or value not in allowed:
            raise ValueError(f"{value!r} is not one of {list(allowed)}")
        return value
    return check


def boolean(value: Any) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


def positive_int(value: Any) -> int:
    """A whole number of 1 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{value!r} is not a whole number of 1 or more")
    return value


def non_negative_int(value: Any) -> int:
    """A whole number of 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a whole number of 0 or more")
    return value


def number(value: Any) -> float:
    """Any number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return value


def strings(value: Any) -> list[str]:
    """A list of non-empty strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"{value!r} is not a list of non-empty strings")
    return list(value)
