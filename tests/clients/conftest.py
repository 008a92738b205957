"""Fixtures of the API clients' tests: the sandbox's TimeLog settings."""

from __future__ import annotations

import pytest

from sandbox import credentials
from sandbox.testing import SandboxProcess


@pytest.fixture
def config(timelog_sandbox: SandboxProcess) -> dict:
    """TimeLog client settings for the per-test sandbox (its simulated site clock is UTC)."""
    return {**credentials.timelog_settings(timelog_sandbox.timelog_url), "site_timezone": "UTC"}
