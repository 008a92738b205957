"""Fixtures of the simulators' in-process tests (TimeLog rules, Harvest API)."""

from __future__ import annotations

import pytest

from sandbox.timelog import demo
from sandbox.timelog.testing import SITE_START, InProcessSite
from tests.sandbox.harvest_helpers import HarvestClient, make_app


@pytest.fixture(scope="session")
def demo_data() -> dict:
    """The TimeLog demo data set (never changed by a test: the app parses it into entities of its own)."""
    return demo.build_demo()


@pytest.fixture
def site(demo_data: dict) -> InProcessSite:
    """A fresh demo site in-process, its clock at SITE_START, with the default site options."""
    return InProcessSite.start(demo_data, SITE_START)


@pytest.fixture(scope="session")
def harvest_demo() -> dict:
    """The Harvest demo data set (never changed by a test: the app copies what it loads)."""
    from sandbox.harvest import demo as harvest_demo_data

    return harvest_demo_data.build_demo()


@pytest.fixture
def harvest_client(harvest_demo: dict) -> HarvestClient:
    """A fresh in-process Harvest demo account, default options but no rate limit, and a client for it."""
    return HarvestClient(make_app(harvest_demo))
