"""singer-io's tap-harvest, as published on PyPI, through the real `meltano` against the Harvest simulator.

Proves issue 17's first step: the unmodified tap reads users, projects, tasks, assignments and time entries that
equal the simulator's state; a second run with its bookmark reads only what changed; a deleted time entry leaves
no trace in its output (what that means for the sync: README "Harvest").
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from sandbox import credentials
from sandbox.common.app import Request, Response
from sandbox.common.server import SimulatorServer
from sandbox.editors import HarvestEditor
from sandbox.harvest import demo
from sandbox.harvest.app import HarvestApp
from sandbox.harvest.options import HarvestOptions
from sandbox.pipeline import REPO_ROOT, IsolatedMeltano, harvest_plugin_env
from sandbox.testing import SandboxProcess

pytestmark = [pytest.mark.e2e, pytest.mark.guid_model_neutral]

PLUGIN_PYTHON = REPO_ROOT / ".meltano" / "extractors" / "tap-harvest" / "venv" / "bin" / "python"
START_DATE = "2026-01-01T00:00:00Z"
#: The streams meltano.yml selects, and the simulator list each one reads (user_project_tasks comes from the
#: task assignments nested in each project assignment).
LISTS = {"clients": "clients", "users": "users", "projects": "projects", "tasks": "tasks",
         "project_tasks": "task_assignments", "project_users": "user_assignments", "time_entries": "time_entries"}
#: All the query parameters tap-harvest 3.1.1 sends: it never sends per_page or a cursor, and never follows links.
TAP_PARAMETERS = {"updated_since", "page"}


class RecordingHarvest(HarvestApp):
    """The simulator, keeping every request it is sent (in process, so the test can read them)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.requests: list[Request] = []

    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        return super().handle(request)


@pytest.fixture
def recording() -> Iterator[tuple[RecordingHarvest, str]]:
    """The demo account on a free port, 100 records per page so the tap has to page through time entries."""
    app = RecordingHarvest(demo.build_demo(), options=HarvestOptions(default_per_page=100))
    server = SimulatorServer(app, 0)
    server.start_in_thread()
    try:
        yield app, server.url
    finally:
        server.shutdown()
        server.server_close()


def singer_records(stdout: str) -> dict[str, list[dict]]:
    """RECORD messages per stream."""
    records: dict[str, list[dict]] = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            message = json.loads(line)
            if message["type"] == "RECORD":
                records.setdefault(message["stream"], []).append(message["record"])
    return records


def _normal(value: object) -> object:
    """Dates and times as datetimes: the tap writes `2026-08-24T00:00:00.000000Z` for the API's `2026-08-24`."""
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit():
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


def assert_same(stream: str, tap_records: list[dict], api_records: list[dict]) -> None:
    """Every tap record is an API record: each field equal, `<object>_id` equal to the nested object's id."""
    by_id = {record["id"]: record for record in api_records}
    assert sorted(r["id"] for r in tap_records) == sorted(by_id), stream
    for record in tap_records:
        api = by_id[record["id"]]
        for name, value in record.items():
            nested = api.get(name.removesuffix("_id")) if name.endswith("_id") else None
            expected = (nested or {}).get("id") if name not in api and name.endswith("_id") else api[name]
            assert _normal(value) == _normal(expected), (stream, record["id"], name, value, expected)


def test_the_published_tap_reads_what_the_simulator_holds(recording: tuple[RecordingHarvest, str],
                                                          tmp_path: Path) -> None:
    app, url = recording
    project = IsolatedMeltano(tmp_path / "project", harvest_plugin_env(url, START_DATE))
    run = project.meltano("invoke", "tap-harvest", timeout=600)
    assert run.returncode == 0, run.output[-4000:]
    records = singer_records(run.stdout)
    tap_requests = list(app.requests)  # before the test's own reads below

    editor = HarvestEditor(url)
    for stream, path in LISTS.items():
        assert_same(stream, records.get(stream, []), editor.list_all(path, path))
    users = editor.list_all("users", "users")
    assignments = [a | {"user": {"id": u["id"]}} for u in users
                   for a in editor.list_all(f"users/{u['id']}/project_assignments", "project_assignments")]
    assert_same("user_projects", records["user_projects"], assignments)
    pairs = {(a["user"]["id"], t["id"]) for a in assignments for t in a["task_assignments"]}
    assert {(r["user_id"], r["project_task_id"]) for r in records["user_project_tasks"]} == pairs
    assert len(records["time_entries"]) == 400

    # What the tap asks for: a refresh-token grant, the account list, then plain GETs with `page` and
    # `updated_since` only, following the responses' `next_page` (never `links.next`, never `per_page`).
    token_calls = [r for r in tap_requests if r.path == "/api/v2/oauth2/token"]
    assert token_calls
    assert _form(token_calls[0]) == {"refresh_token": credentials.HARVEST_REFRESH_TOKEN,
                                     "client_id": credentials.HARVEST_CLIENT_ID,
                                     "client_secret": credentials.HARVEST_CLIENT_SECRET,
                                     "grant_type": "refresh_token"}
    api_calls = [r for r in tap_requests if r.path.startswith("/v2/")]
    assert {r.method for r in api_calls} == {"GET"}
    for call in api_calls:
        assert set(call.query) <= TAP_PARAMETERS, call.raw_path
        assert call.headers["harvest-account-id"] == str(credentials.HARVEST_ACCOUNT_ID)
        assert call.headers["user-agent"] == credentials.HARVEST_USER_AGENT
        assert call.headers["authorization"].startswith("Bearer ")
    entry_pages = [call.query for call in api_calls if call.path == "/v2/time_entries"]
    assert entry_pages == [{"updated_since": START_DATE, "page": str(page)} for page in (1, 2, 3, 4)]
    assignment_calls = [call.query for call in api_calls if call.path.endswith("/project_assignments")]
    assert assignment_calls == [{"page": "1"}] * len(users)  # no updated_since: the tap filters these itself


def _form(request: Request) -> dict[str, str]:
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}


def _csv_ids(folder: Path, stream: str) -> set[int]:
    path = folder / f"{stream}.csv"
    if not path.exists():
        return set()
    with path.open(encoding="utf-8", newline="") as handle:
        return {int(row["id"]) for row in csv.DictReader(handle)}


def _mentions(folder: Path, text: str) -> list[str]:
    return [p.name for p in folder.glob("*.csv") if text in p.read_text(encoding="utf-8")]


def test_bookmarks_bring_edits_but_a_deletion_leaves_no_trace(sandbox: SandboxProcess, tmp_path: Path) -> None:
    def run(name: str, *extra: str) -> Path:
        output = tmp_path / name
        env = harvest_plugin_env(sandbox.harvest_url or "", START_DATE) | {"TARGET_CSV_OUTPUT_PATH": str(output)}
        result = IsolatedMeltano(tmp_path / "project", env).run(*extra, "tap-harvest", "target-csv", timeout=600)
        assert result.returncode == 0, result.output[-4000:]
        return output

    first = run("first")
    assert len(_csv_ids(first, "time_entries")) == 400

    editor = HarvestEditor(sandbox.harvest_url or "")
    state = sandbox.harvest.state()
    open_entries = [e for e in state["time_entries"] if not e["is_closed"] and not e["is_billed"]]
    edited, deleted = open_entries[-3:-1], open_entries[-1]
    for entry in edited:
        editor.update_time_entry(entry["id"], notes="Edited in Harvest ✏️")
    editor.delete_time_entry(deleted["id"])
    slot = edited[0]
    created = editor.create_time_entry(user_id=slot["user_id"], project_id=slot["project_id"],
                                       task_id=slot["task_id"], spent_date=slot["spent_date"], hours=1.25)

    # The second run starts at the bookmark Meltano kept: only the edited and the new entry come back.
    second = run("second")
    assert _csv_ids(second, "time_entries") == {e["id"] for e in edited} | {created["id"]}
    # The deletion: no record, no tombstone, no mention in any stream. The tap cannot tell it happened.
    assert _mentions(second, str(deleted["id"])) == []

    # A full re-read (state ignored, from start_date) lists every live entry, the deleted one missing: the only
    # way the unmodified tap lets a sync notice a Harvest deletion is that absence, by comparing id sets.
    full = run("full", "--full-refresh")
    live = {e["id"] for e in sandbox.harvest.state()["time_entries"]}
    assert _csv_ids(full, "time_entries") == live
    assert deleted["id"] in _csv_ids(first, "time_entries") - live


def test_the_launcher_changes_only_the_two_harvest_urls() -> None:
    """Without the variables the launcher runs the published tap untouched; with them, only two URLs move."""
    script = """
import json, tap_harvest, tap_harvest.client as c, tap_harvest_launcher as l
config = {"user_agent": "x", "refresh_token": "r", "client_id": "i", "client_secret": "s", "start_date": "s"}
before = (c.REFRESH_URL, c.Client(config).base_url, c.Client.__init__)
l.point_at(c, None, None)
unchanged = (c.REFRESH_URL, c.Client(config).base_url, c.Client.__init__) == before
l.point_at(c, "http://sim/api/v2/", "http://sim/v2/")
client = c.Client(config)
print(json.dumps({"before": before[:2], "unchanged": unchanged, "after": [c.REFRESH_URL, client.base_url],
                  "timeout": client.request_timeout, "main": tap_harvest.main.__module__}))
"""
    assert PLUGIN_PYTHON.exists(), "run `make install` (meltano install builds tap-harvest's venv)"
    out = json.loads(subprocess.run([str(PLUGIN_PYTHON), "-c", script], capture_output=True, text=True,
                                    check=True, timeout=60).stdout)
    assert out == {"before": ["https://id.getharvest.com/api/v2", "https://api.harvestapp.com/v2"],
                   "unchanged": True, "after": ["http://sim/api/v2", "http://sim/v2"], "timeout": 300.0,
                   "main": "tap_harvest"}
    installed = subprocess.run([str(PLUGIN_PYTHON), "-c", "from importlib.metadata import version as v; "
                                "print(v('tap-harvest'))"], capture_output=True, text=True, check=True, timeout=60)
    assert installed.stdout.strip() == "3.1.1"
    assert version("requests")  # the dev venv never gets tap-harvest's pins
