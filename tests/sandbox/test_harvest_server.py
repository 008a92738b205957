"""The Harvest simulator over HTTP in a real `python -m sandbox serve`: control API, faults, stats, options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from sandbox import credentials
from sandbox.data import load_data
from sandbox.testing import SandboxProcess

HEADERS = {"Authorization": f"Bearer {credentials.HARVEST_PERSONAL_ACCESS_TOKEN}",
           "Harvest-Account-Id": str(credentials.HARVEST_ACCOUNT_ID), "User-Agent": "tests (tests@agency.example)"}
TIMEOUT = 10


def get(sandbox: SandboxProcess, path: str) -> requests.Response:
    return requests.get(f"{sandbox.harvest_url}{path}", headers=HEADERS, timeout=TIMEOUT)


def test_serve_prints_the_harvest_url_and_serves_the_demo(sandbox: SandboxProcess) -> None:
    assert sandbox.harvest_url
    assert sandbox.harvest_url.startswith("http://127.0.0.1:")
    page = get(sandbox, "/v2/time_entries?per_page=5").json()
    assert page["total_entries"] == len(sandbox.harvest.state()["time_entries"]) == 400
    # links point back at this server, so a client can follow them as it would api.harvestapp.com's
    assert page["links"]["next"].startswith(f"{sandbox.harvest_url}/v2/time_entries?")
    assert requests.get(page["links"]["next"], headers=HEADERS, timeout=TIMEOUT).status_code == 200


def test_state_and_reset_round_trip_with_a_write(sandbox: SandboxProcess) -> None:
    start = sandbox.harvest.state()
    entry = start["time_entries"][-1]
    patched = requests.patch(f"{sandbox.harvest_url}/v2/time_entries/{entry['id']}", json={"notes": "Æbler 🍎"},
                             headers=HEADERS, timeout=TIMEOUT)
    assert patched.status_code == 200
    state = sandbox.harvest.state()
    assert next(e for e in state["time_entries"] if e["id"] == entry["id"])["notes"] == "Æbler 🍎"
    sandbox.harvest.reset(state)
    assert sandbox.harvest.state() == state
    sandbox.harvest.reset({})
    empty = get(sandbox, "/v2/time_entries").json()
    assert empty["total_entries"] == 0
    assert sandbox.harvest.stats()["requests"] == {"GET /v2/time_entries": 1}


def test_injected_faults_and_retry_after(sandbox: SandboxProcess) -> None:
    sandbox.harvest.faults(error_rate=1.0, statuses=[429], retry_after_seconds=3,
                           only_operations=["GET /v2/time_entries"])
    response = get(sandbox, "/v2/time_entries")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    assert get(sandbox, "/v2/users").status_code == 200
    sandbox.harvest.faults(malformed_rate=1.0, malformed_kinds=["wrong_types"], seed=1)
    first = get(sandbox, "/v2/time_entries").json()["time_entries"][0]
    assert isinstance(first["id"], str)
    assert first["hours"] == "abc"
    sandbox.harvest.faults(malformed_rate=1.0, malformed_kinds=["missing_fields"], seed=1)
    assert "time_entries" not in get(sandbox, "/v2/time_entries").json()
    sandbox.harvest.faults()
    assert sandbox.harvest.stats()["faults"] == {"429": 1, "malformed:missing_fields": 1, "malformed:wrong_types": 1}


def test_options_over_the_control_api(sandbox: SandboxProcess) -> None:
    assert sandbox.harvest.get_options()["default_per_page"] == 2000
    assert sandbox.harvest.options(default_per_page=100)["default_per_page"] == 100
    assert get(sandbox, "/v2/time_entries").json()["total_pages"] == 4
    response = requests.post(f"{sandbox.harvest_url}/_sandbox/options", json={"default_per_page": 5000},
                             timeout=TIMEOUT)
    assert response.status_code == 400
    assert "2000" in response.json()["message"]


def test_lock_over_the_control_api(sandbox: SandboxProcess) -> None:
    entry = next(e for e in reversed(sandbox.harvest.state()["time_entries"]) if not e["is_closed"])
    assert sandbox.harvest.lock(time_entry_ids=[entry["id"]])["time_entry_ids"] == [entry["id"]]
    assert get(sandbox, f"/v2/time_entries/{entry['id']}").json()["locked_reason"]


def test_the_stats_name_each_endpoint(sandbox: SandboxProcess) -> None:
    entry_id = sandbox.harvest.state()["time_entries"][0]["id"]
    get(sandbox, f"/v2/time_entries/{entry_id}")
    get(sandbox, "/v2/users/me")
    stats = sandbox.harvest.stats()["requests"]
    assert stats == {"GET /v2/time_entries/{id}": 1, "GET /v2/users/me": 1}


def test_a_data_file_may_hold_the_harvest_side(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"harvest": {"clients": [{"id": 1, "name": "Kunde"}]}}), encoding="utf-8")
    data = load_data(str(path))
    assert (data.forecast, data.timelog) == ({}, {})
    assert data.harvest["clients"][0]["name"] == "Kunde"
    assert len(load_data("generate:registrations=50,seed=3").harvest["time_entries"]) == 50


@pytest.mark.parametrize("bad", [{"time_entries": [{"id": 1}]}, {"projects": [{"id": 1, "name": "x", "client_id": 9}]},
                                 {"invoices": []}])
def test_reset_refuses_bad_state_naming_it(sandbox: SandboxProcess, bad: dict) -> None:
    response = requests.post(f"{sandbox.harvest_url}/_sandbox/reset", json=bad, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["message"].startswith("sandbox control:")
