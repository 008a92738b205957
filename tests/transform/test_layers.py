"""The layering the design brief asks for: the model and the pure rules import no database code."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE_MODULES = ("timesync.model", "timesync.states", "timesync.reconcile.rules", "timesync.reconcile.landing")


@pytest.mark.parametrize("module", PURE_MODULES)
def test_a_pure_module_imports_no_sqlalchemy_even_transitively(module: str) -> None:
    """Checked in a fresh interpreter: this test process has imported SQLAlchemy long ago."""
    probe = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {{'sqlalchemy'}}))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"{module} pulls in SQLAlchemy"
