"""The sync taps' pinned catalogs (meltano.yml `catalog:`) are what discovery plus their `select` would give.

Meltano applies no select rules to a custom catalog, so a stale pin would silently read other streams or miss
a new field. `make catalogs` rewrites them; this test fails until it has been run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sandbox.pipeline import REPO_ROOT, IsolatedMeltano

pytestmark = [pytest.mark.e2e, pytest.mark.guid_model_neutral]

SYNC_TAPS = ("tap-forecast--sync", "tap-timelog--sync")


def _extractor(name: str) -> dict:
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text(encoding="utf-8"))
    return next(p for p in project["plugins"]["extractors"] if p["name"] == name)


@pytest.mark.parametrize("tap", SYNC_TAPS)
def test_pinned_catalog_equals_discovery_with_the_selection(tap: str, tmp_path: Path) -> None:
    pinned_path = REPO_ROOT / _extractor(tap)["catalog"]
    pinned = json.loads(pinned_path.read_text(encoding="utf-8"))
    unpinned = f"{tap.upper().replace('-', '_')}__CATALOG"  # the `catalog` extra, emptied: discovery runs
    project = IsolatedMeltano(tmp_path, plugin_env={unpinned: ""})
    dumped = project.meltano("invoke", "--dump=catalog", tap, timeout=300)
    assert dumped.returncode == 0, dumped.stderr[-3000:]
    assert json.loads(dumped.stdout) == pinned, f"{pinned_path.name} is stale: run `make catalogs`"


@pytest.mark.parametrize("tap", SYNC_TAPS)
def test_pinned_catalog_selects_only_the_reconciled_streams(tap: str) -> None:
    """The pin carries the selection itself: exactly the streams of the plugin's `select` list."""
    extractor = _extractor(tap)
    pinned = json.loads((REPO_ROOT / extractor["catalog"]).read_text(encoding="utf-8"))
    selected = {stream["tap_stream_id"] for stream in pinned["streams"]
                if any(m["breadcrumb"] == [] and m["metadata"].get("selected") for m in stream["metadata"])}
    assert selected == {rule.split(".")[0] for rule in extractor["select"]}
