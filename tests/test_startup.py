"""What a scheduled run pays before it reads anything: bytecode compiled at install, and imports kept lazy.

Issue 19: a no-change `meltano run sync` starts six plugin processes. Compiling their modules on every start
(`meltano install` writes no bytecode for our editable packages, and PYTHONDONTWRITEBYTECODE=1 keeps Python from
writing it) or importing what the run never uses costs more than the run's own work.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Our packages, installed editable into the plugin venvs: no installer compiles them (Makefile `bytecode`).
SOURCES = ("clients", "transform", "tap-forecast", "tap-timelog", "target-timelog", "target-forecast")


def _without_bytecode(root: Path) -> list[Path]:
    """The modules under ``root`` with no .pyc in their __pycache__ for this Python (the plugin venvs' own)."""
    return [path for path in root.rglob("*.py")
            if path.name != "activate_this.py"  # a script virtualenv puts in bin/, never imported
            and not Path(importlib.util.cache_from_source(str(path))).exists()]


def test_make_install_leaves_bytecode_in_every_plugin_venv_and_for_our_packages() -> None:
    """`make install` runs `make bytecode`: nothing is compiled again when a run starts, whatever
    PYTHONDONTWRITEBYTECODE says (Python still reads a fresh .pyc)."""
    venvs = sorted((REPO_ROOT / ".meltano").glob("*/*/venv"))
    if not venvs:
        pytest.skip("no plugin is installed under .meltano/ (run `make install`)")
    missing = [path for root in [*venvs, *(REPO_ROOT / source for source in SOURCES)]
               for path in _without_bytecode(root)]
    assert not missing, f"{len(missing)} modules without bytecode (run `make bytecode`), e.g. {missing[:3]}"


def test_the_targets_start_without_the_ledger_or_zeep() -> None:
    """A target opens the ledger (SQLAlchemy) and builds its SOAP client (zeep) on its first batch; a run with
    nothing to write imports neither."""
    probe = ("import sys, target_forecast.target, target_timelog.target; "
             "print(' '.join(sorted(m for m in ('sqlalchemy', 'zeep', 'alembic') if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
