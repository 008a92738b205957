"""The Forecast simulator over HTTP in a real `python -m sandbox serve`: control API, faults, stats, CLI."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.credentials import FORECAST_API_KEY
from sandbox.testing import SandboxProcess

HEADERS = {"X-FORECAST-API-KEY": FORECAST_API_KEY}
TIMEOUT = 10
REGISTRATIONS = "/api/v4/time_registrations"


def get(sandbox: SandboxProcess, path: str, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).get(f"{sandbox.forecast_url}{path}", headers=HEADERS, timeout=TIMEOUT)


def post_registration(sandbox: SandboxProcess, **fields: object) -> requests.Response:
    body = {"person": 12, "task": 5001, "time_registered": 30, "date": "2026-11-24", **fields}
    return requests.post(f"{sandbox.forecast_url}/api/v1/time_registrations", json=body, headers=HEADERS,
                         timeout=TIMEOUT)


def test_the_issue_curl_check_returns_the_real_envelope_with_two_registrations(sandbox: SandboxProcess) -> None:
    response = get(sandbox, f"{REGISTRATIONS}?pageSize=2")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    page = response.json()
    assert set(page) == {"pageNumber", "pageSize", "totalObjectCount", "pageContents"}
    assert (page["pageNumber"], page["pageSize"]) == (1, 2)
    assert len(page["pageContents"]) == 2
    assert page["totalObjectCount"] == len(sandbox.forecast.state()["time_registrations"])


def test_a_wrong_key_gets_the_real_401_body(sandbox: SandboxProcess) -> None:
    response = requests.get(f"{sandbox.forecast_url}{REGISTRATIONS}", headers={"X-FORECAST-API-KEY": "nope"},
                            timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json() == {"status": 401, "message": "Server failed to authenticate the request."}


def test_writes_over_http_and_the_state_reset_round_trip(sandbox: SandboxProcess) -> None:
    start = sandbox.forecast.state()
    created = post_registration(sandbox, notes="Æblegrød & <kage> 🍰")
    assert created.status_code == 201
    registration = created.json()
    state = sandbox.forecast.state()
    assert registration["id"] in {r["id"] for r in state["time_registrations"]}
    sandbox.forecast.reset(state)
    assert sandbox.forecast.state() == state
    sandbox.forecast.reset(start)
    assert get(sandbox, f"/api/v3/time_registrations/{registration['id']}").status_code == 404


def test_lock_over_the_control_api(sandbox: SandboxProcess) -> None:
    registration = post_registration(sandbox).json()
    locked = sandbox.forecast.lock(registration_ids=[registration["id"]])
    assert locked["registration_ids"] == [registration["id"]]
    response = requests.delete(f"{sandbox.forecast_url}/api/v1/time_registrations/{registration['id']}",
                               headers=HEADERS, timeout=TIMEOUT)
    assert response.status_code == 400
    assert "approved" in response.json()["message"]
    bad = requests.post(f"{sandbox.forecast_url}/_sandbox/lock", json={"person": 12}, timeout=TIMEOUT)
    assert bad.status_code == 400
    assert "registration_ids" in bad.json()["message"]


def test_stats_count_requests_and_writes_per_operation(sandbox: SandboxProcess) -> None:
    for _ in range(3):
        get(sandbox, f"{REGISTRATIONS}?pageSize=1")
    get(sandbox, f"{REGISTRATIONS}/updated_after/20261101T000000")
    registration = post_registration(sandbox).json()
    requests.put(f"{sandbox.forecast_url}/api/v1/time_registrations/{registration['id']}", json={"notes": "x"},
                 headers=HEADERS, timeout=TIMEOUT)
    stats = sandbox.forecast.stats()
    assert stats["requests"][f"GET {REGISTRATIONS}"] == 3
    assert stats["requests"][f"GET {REGISTRATIONS}/updated_after/{{ts}}"] == 1
    assert stats["writes"] == {"POST /api/v1/time_registrations": 1, "PUT /api/v1/time_registrations/{id}": 1}
    assert (stats["total"], stats["writes_total"]) == (6, 2)


# -- faults --------------------------------------------------------------------------------------------


def test_429_carries_retry_after(sandbox: SandboxProcess) -> None:
    sandbox.forecast.faults(error_rate=1.0, statuses=[429], retry_after_seconds=7)
    response = get(sandbox, REGISTRATIONS)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["status"] == 429


def test_a_seeded_error_rate_is_reproducible(sandbox: SandboxProcess) -> None:
    def statuses() -> list[int]:
        sandbox.forecast.faults(error_rate=0.5, statuses=[500, 503], seed=42)
        with requests.Session() as session:
            return [get(sandbox, f"{REGISTRATIONS}?pageSize=1", session).status_code for _ in range(30)]

    first = statuses()
    assert first == statuses()
    assert 200 in first, "some requests must pass"
    assert set(first) & {500, 503}, "some requests must fail"
    assert set(first) <= {200, 500, 503}


def test_latency_delays_each_request(sandbox: SandboxProcess) -> None:
    latency_ms = 300
    sandbox.forecast.faults(latency_ms=latency_ms)
    started = time.perf_counter()
    assert get(sandbox, f"{REGISTRATIONS}?pageSize=1").status_code == 200
    assert time.perf_counter() - started >= latency_ms / 1000


def test_a_timeout_drops_the_connection(sandbox: SandboxProcess) -> None:
    sandbox.forecast.faults(timeout_rate=1.0, timeout_hold_ms=100)
    with pytest.raises(requests.ConnectionError):
        get(sandbox, REGISTRATIONS)
    assert sandbox.forecast.stats()["faults"]["timeout"] == 1


def test_malformed_truncated_is_not_json(sandbox: SandboxProcess) -> None:
    sandbox.forecast.faults(malformed_rate=1.0, malformed_kinds=["truncated"])
    response = get(sandbox, f"{REGISTRATIONS}?pageSize=3")
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_malformed_wrong_types_breaks_the_first_record(sandbox: SandboxProcess) -> None:
    sandbox.forecast.faults(malformed_rate=1.0, malformed_kinds=["wrong_types"])
    record = get(sandbox, f"{REGISTRATIONS}?pageSize=3").json()["pageContents"][0]
    assert record["time_registered"] == "abc"
    assert isinstance(record["id"], str)


def test_malformed_missing_fields_drops_page_contents_or_ids(sandbox: SandboxProcess) -> None:
    sandbox.forecast.faults(malformed_rate=1.0, malformed_kinds=["missing_fields"])
    assert "pageContents" not in get(sandbox, f"{REGISTRATIONS}?pageSize=3").json()
    assert "id" not in get(sandbox, "/api/v1/projects").json()[0]
    assert sandbox.forecast.stats()["faults"]["malformed:missing_fields"] == 2


def test_faults_limited_to_one_operation_leave_others_alone(sandbox: SandboxProcess) -> None:
    sandbox.forecast.faults(error_rate=1.0, statuses=[503], only_operations=[f"GET {REGISTRATIONS}"])
    assert get(sandbox, REGISTRATIONS).status_code == 503
    assert get(sandbox, "/api/v4/tasks").status_code == 200


# -- the CLI -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "expected_total"), [("generate:registrations=500,seed=3", 500), ("empty", 0)])
def test_serve_prints_one_json_line_and_serves_the_chosen_data(data: str, expected_total: int) -> None:
    with SandboxProcess(data=data) as process:
        assert process.forecast_url.startswith("http://127.0.0.1:")
        page = get(process, f"{REGISTRATIONS}?pageSize=1").json()
        assert page["totalObjectCount"] == expected_total
