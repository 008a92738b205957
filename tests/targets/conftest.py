"""Fixtures of the target tests: a fresh ledger per test (the sandbox fixture comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from timesync.ledger import Ledger


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    """A SQLite ledger of this test only."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """The test's ledger, opened (and migrated)."""
    with Ledger.open(ledger_url) as opened:
        yield opened
