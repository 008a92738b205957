"""The timesync admin CLI."""

from __future__ import annotations


def main() -> None:
    """Entry point (skeleton)."""
    raise SystemExit("timesync: not implemented yet")
