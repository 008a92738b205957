"""A fresh clone bootstraps itself: the README's commands need nothing but Python and the registries."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
README_COMMANDS = ("make demo", "make test")


def _opening_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:bash)?\n(.*?)```", readme, re.S)
    assert first_block, "README.md must open with a code block holding the two commands"
    return [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_the_two_commands() -> None:
    assert tuple(_opening_commands()) == README_COMMANDS


def test_ci_runs_the_readme_test_command_and_every_other_tier() -> None:
    """CI drops nothing: `make test` leaves the `suite` tests to `make test-suites`, and runs the other GUID model."""
    commands = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert [c for c in commands if c.startswith("make ")] == ["make test", "make test-suites",
                                                              "make test-other-guid-model"]
    recipes = dict(re.findall(r"^([\w-]+):.*\n((?:\t.*\n)+)", (REPO_ROOT / "Makefile").read_text(encoding="utf-8"),
                              re.M))
    assert '-m "not suite"' in recipes["test"]
    assert "-m suite\n" in recipes["test-suites"]
    assert '-m "e2e and not guid_model_neutral"\n' in recipes["test-other-guid-model"]


@pytest.mark.e2e
@pytest.mark.suite
@pytest.mark.guid_model_neutral
@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to clone the repository")
def test_make_demo_on_a_fresh_clone(tmp_path: Path) -> None:
    """Clone HEAD into an empty folder and run `make demo` there, bootstrapping a brand-new .venv."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
    shared = REPO_ROOT.parent / "shared"
    if shared.is_dir():  # the layout CI gives: ../shared beside the checkout
        (tmp_path / "shared").symlink_to(shared)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "MELTANO_", "PYTEST"))}
    demo = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=1500, check=False)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert (clone / ".venv" / "bin" / "meltano").exists()
    assert "Demo finished" in demo.stdout
    assert (clone / "output" / "report.html").exists(), "the demo ends by writing `timesync report`"
    dry_test = subprocess.run(["make", "-n", "test"], cwd=clone, env=env, capture_output=True, text=True,
                              check=True)
    assert "pytest" in dry_test.stdout
