"""The shared sandbox plumbing: fault configuration, seeded decisions, stats and the control API."""

from __future__ import annotations

import pytest
import requests

from sandbox.common.app import Request, Response, SimulatorApp
from sandbox.common.faults import FaultConfigError, FaultInjector
from sandbox.common.server import SimulatorServer
from sandbox.common.stats import RequestStats


class EchoApp(SimulatorApp):
    """A tiny simulator: GET returns the stored value, POST replaces it."""

    name = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.value = {"greeting": "hello"}

    def handle(self, request: Request) -> Response:
        if request.method == "POST":
            self.value = request.json()
            return Response.json(201, self.value)
        return Response.json(200, self.value)

    def operation_of(self, request: Request) -> str:
        return f"{request.method} {request.path}"

    def is_write(self, request: Request) -> bool:
        return request.method != "GET"

    def snapshot(self) -> dict:
        return {"value": self.value}

    def reset(self, data: dict) -> None:
        self.value = data.get("value", {})

    def lock_period(self, spec: dict) -> dict:
        return {"locked": spec}


@pytest.fixture
def echo_server():
    server = SimulatorServer(EchoApp(), 0)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"error_rate": 2}, "error_rate"),
        ({"statuses": [200]}, "statuses"),
        ({"malformed_kinds": ["garbage"]}, "malformed_kinds"),
        ({"eror_rate": 0.1}, "eror_rate"),
    ],
)
def test_bad_fault_config_names_the_field(config: dict, field: str) -> None:
    with pytest.raises(FaultConfigError, match=field):
        FaultInjector().configure(config)


def test_seeded_faults_repeat_exactly() -> None:
    def draw() -> list:
        injector = FaultInjector()
        injector.configure({"error_rate": 0.3, "statuses": [503, 429], "seed": 7})
        return [injector.decide("GET /x", 0).error_status for _ in range(200)]

    first = draw()
    assert first == draw()
    assert {503, 429, None} == set(first)


def test_only_operations_limits_faults() -> None:
    injector = FaultInjector()
    injector.configure({"error_rate": 1, "only_operations": ["POST /x"], "seed": 1})
    assert injector.decide("GET /x", 0).error_status is None
    assert injector.decide("POST /x", 0).error_status == 503


def test_stats_count_requests_and_writes() -> None:
    stats = RequestStats()
    stats.count("GET /a", write=False)
    stats.count("POST /a", write=True)
    stats.count("POST /a", write=True)
    assert stats.as_dict()["requests"] == {"GET /a": 1, "POST /a": 2}
    assert stats.write_count == 2


def test_control_api_round_trip(echo_server: SimulatorServer) -> None:
    base = echo_server.url
    assert requests.get(f"{base}/_sandbox/state", timeout=5).json() == {"value": {"greeting": "hello"}}
    requests.post(f"{base}/thing", json={"a": 1}, timeout=5)
    stats = requests.get(f"{base}/_sandbox/stats", timeout=5).json()
    assert stats["writes"] == {"POST /thing": 1}
    requests.post(f"{base}/_sandbox/reset", json={"value": {"b": 2}}, timeout=5)
    assert requests.get(f"{base}/thing", timeout=5).json() == {"b": 2}
    assert requests.get(f"{base}/_sandbox/stats", timeout=5).json()["requests"] == {"GET /thing": 1}
    assert requests.post(f"{base}/_sandbox/lock", json={"week": "2026-W40"}, timeout=5).json() == {
        "locked": {"week": "2026-W40"}
    }


def test_injected_429_carries_retry_after(echo_server: SimulatorServer) -> None:
    requests.post(f"{echo_server.url}/_sandbox/faults",
                  json={"error_rate": 1, "statuses": [429], "retry_after_seconds": 3}, timeout=5)
    response = requests.get(f"{echo_server.url}/thing", timeout=5)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert requests.get(f"{echo_server.url}/_sandbox/stats", timeout=5).json()["faults"] == {"429": 1}


def test_timeout_fault_drops_the_connection(echo_server: SimulatorServer) -> None:
    requests.post(f"{echo_server.url}/_sandbox/faults",
                  json={"timeout_rate": 1, "timeout_hold_ms": 50}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{echo_server.url}/thing", timeout=5)


def test_malformed_fault_truncates_the_body(echo_server: SimulatorServer) -> None:
    requests.post(f"{echo_server.url}/_sandbox/faults",
                  json={"malformed_rate": 1, "malformed_kinds": ["truncated"]}, timeout=5)
    response = requests.get(f"{echo_server.url}/thing", timeout=5)
    with pytest.raises(ValueError, match=r"Expecting|Unterminated|Extra"):
        response.json()


def test_block_after_writes_holds_requests_until_released(echo_server: SimulatorServer) -> None:
    import threading

    requests.post(f"{echo_server.url}/_sandbox/faults", json={"block_after_writes": 1}, timeout=5)
    assert requests.post(f"{echo_server.url}/thing", json={"n": 1}, timeout=5).status_code == 201
    result: dict = {}
    blocked = threading.Thread(
        target=lambda: result.setdefault("status", requests.get(f"{echo_server.url}/thing", timeout=10).status_code)
    )
    blocked.start()
    blocked.join(0.5)
    assert blocked.is_alive(), "the request after the first write must be held"
    requests.post(f"{echo_server.url}/_sandbox/faults", json={}, timeout=5)
    blocked.join(5)
    assert result == {"status": 200}


def test_control_rejects_unknown_routes(echo_server: SimulatorServer) -> None:
    response = requests.get(f"{echo_server.url}/_sandbox/nope", timeout=5)
    assert response.status_code == 404
    assert "no route" in response.json()["message"]
