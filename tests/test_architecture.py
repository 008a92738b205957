"""The layers of README.md's "Architecture": the import contract holds, and each package installs only its layer.

The taps depend on their API client only, so `meltano install` gives tap-timelog no ledger, migrations or CLI
(SQLAlchemy and click still come with singer-sdk itself, which needs them; nothing of ours adds them).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
#: What only the reconcile library needs: a tap must not install it.
SYNC_LIBRARIES = {"timesync", "sqlalchemy", "alembic", "rich", "click"}
SINGER_SDK = "singer-sdk"


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _declared(package_dir: str) -> set[str]:
    """The distributions a package's pyproject.toml depends on (normalised names)."""
    project = tomllib.loads((REPO_ROOT / package_dir / "pyproject.toml").read_text())["project"]
    return {_name(requirement) for requirement in project["dependencies"]}


def _closure(site_packages: Path, root: str, *, skip: frozenset[str] = frozenset()) -> set[str]:
    """Every distribution installed in `site_packages` that `root` needs, not looking past those in `skip`."""
    installed = {_name(dist.metadata["Name"]): dist for dist in metadata.distributions(path=[str(site_packages)])}
    needed, todo = set(), [_name(root)]
    while todo:
        name = todo.pop()
        if name in needed or name not in installed:
            continue
        needed.add(name)
        if name in skip:
            continue
        for text in installed[name].requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_name(text))
    return needed


def _plugin_site_packages(kind: str, plugin: str) -> Path:
    found = sorted((REPO_ROOT / ".meltano" / kind / plugin / "venv" / "lib").glob("python3*/site-packages"))
    if not found:
        pytest.skip(f"{plugin} is not installed under .meltano/ (run `make install`)")
    return found[0]


def test_the_import_contracts_hold() -> None:
    """`lint-imports` (also run by `make test`): the layers, the taps' clients, pure clients, a pure model and
    rules, and a sandbox that imports no product package."""
    result = subprocess.run([str(LINT_IMPORTS)], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("tap", "client", "other_client"), [
    ("tap-timelog", "timelog-api", "forecast-api"), ("tap-forecast", "forecast-api", "timelog-api"),
])
def test_a_tap_declares_its_client_and_no_sync_library(tap: str, client: str, other_client: str) -> None:
    declared = _declared(tap)
    assert client in declared
    assert not declared & (SYNC_LIBRARIES | {other_client})


@pytest.mark.parametrize("client", ["clients/forecast-api", "clients/timelog-api", "clients/http-clock"])
def test_a_client_declares_neither_singer_nor_a_database_nor_the_sync(client: str) -> None:
    assert not _declared(client) & (SYNC_LIBRARIES | {SINGER_SDK, "forecast-api", "timelog-api"})


def test_the_shared_clock_needs_only_the_standard_library() -> None:
    """Both clients use it, so it must bring neither requests nor zeep into the other's venv."""
    assert _declared("clients/http-clock") == set()
    assert "timesync-http-clock" in _declared("clients/forecast-api") & _declared("clients/timelog-api")


@pytest.mark.parametrize("tap", ["tap-timelog", "tap-forecast"])
def test_meltano_installs_a_tap_without_the_sync_library(tap: str) -> None:
    """In the tap's own venv: no timesync, Alembic or rich at all; SQLAlchemy and click only through singer-sdk."""
    site_packages = _plugin_site_packages("extractors", tap)
    everything = _closure(site_packages, tap)
    assert SINGER_SDK in everything
    assert not everything & {"timesync", "alembic", "rich"}
    assert not _closure(site_packages, tap, skip=frozenset({SINGER_SDK})) & SYNC_LIBRARIES
    installed = {_name(dist.metadata["Name"]) for dist in metadata.distributions(path=[str(site_packages)])}
    assert not installed & {"timesync", "alembic", "rich"}
