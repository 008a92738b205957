"""Fixtures of the transform tests; puts this folder on sys.path for the shared fakes (importlib mode)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from timesync_world import World  # noqa: E402 -- needs the path above


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Fake Forecast and TimeLog with the demo links, and a fresh SQLite ledger."""
    created = World(tmp_path)
    yield created
    created.close()
