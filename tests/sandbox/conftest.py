"""Fixtures of the TimeLog simulator's in-process rule tests."""

from __future__ import annotations

import pytest

from sandbox.timelog import demo
from sandbox.timelog.testing import SITE_START, InProcessSite


@pytest.fixture(scope="session")
def demo_data() -> dict:
    """The TimeLog demo data set (never changed by a test: the app parses it into entities of its own)."""
    return demo.build_demo()


@pytest.fixture
def site(demo_data: dict) -> InProcessSite:
    """A fresh demo site in-process, its clock at SITE_START, with the default site options."""
    return InProcessSite.start(demo_data, SITE_START)
