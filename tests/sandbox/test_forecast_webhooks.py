"""The Forecast simulator's webhook subscriptions and deliveries (DOCS-WH), in-process over HTTP."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from sandbox.common.server import SimulatorServer
from sandbox.credentials import FORECAST_API_KEY
from sandbox.forecast import demo
from sandbox.forecast.app import ForecastApp
from sandbox.forecast.delivery import RETRY_MINUTES
from sandbox.forecast.options import ForecastOptions

HEADERS = {"X-FORECAST-API-KEY": FORECAST_API_KEY}
TIMEOUT = 10
SUBSCRIPTIONS = "/api/v1/webhook_subscriptions"
#: One minute of the retry schedule, in the tests: 1+2+3+5+10 "minutes" take 0.42 seconds.
MINUTE_SECONDS = 0.02
WAIT_SECONDS = 10


class Receiver(ThreadingHTTPServer):
    """Records each POST body; answers the next statuses in `statuses`, then 200."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        self.delay_seconds = 0.0
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(receiver.delay_seconds)
                with receiver.arrived:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.bodies.append({"body": body, "headers": dict(self.headers), "status": status,
                                            "at": time.monotonic()})
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def wait_for(self, count: int) -> list[dict]:
        """The first `count` deliveries, waiting for them to arrive."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.bodies) >= count, timeout=WAIT_SECONDS), \
                f"expected {count} deliveries, got {self.bodies}"
            return list(self.bodies)


@pytest.fixture
def forecast() -> Iterator[str]:
    server = SimulatorServer(ForecastApp(demo.build_demo(), options=ForecastOptions(MINUTE_SECONDS)))
    server.start_in_thread()
    yield server.url
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def call(method: str, url: str, body: dict | None = None) -> requests.Response:
    return requests.request(method, url, json=body, headers=HEADERS, timeout=TIMEOUT)


def subscribe(forecast: str, url: str, type_: str, event: str, **extra: object) -> dict:
    response = call("POST", forecast + SUBSCRIPTIONS, {"name": f"{type_} {event}", "type": type_, "event": event,
                                                       "url": url, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_subscriptions_are_created_listed_read_updated_and_deleted_with_the_documented_fields(forecast) -> None:
    created = subscribe(forecast, "https://example.com/hook", "TASK", "UPDATE")
    assert created == {"id": created["id"], "name": "TASK UPDATE", "type": "TASK", "event": "UPDATE",
                       "url": "https://example.com/hook", "active": True}, "active defaults to true"
    assert call("GET", forecast + SUBSCRIPTIONS).json() == [created], "a bare array"
    single = f"{forecast}{SUBSCRIPTIONS}/{created['id']}"
    assert call("GET", single).json() == created
    updated = call("PUT", single, {"active": False, "event": "DELETE"}).json()
    assert (updated["active"], updated["event"], updated["type"]) == (False, "DELETE", "TASK")
    assert call("DELETE", single).status_code == 200
    missing = call("GET", single)
    assert (missing.status_code, missing.json()["status"]) == (404, 404)


@pytest.mark.parametrize(("body", "named"), [
    ({"type": "TASK", "event": "UPDATE", "url": "https://example.com"}, "name"),
    ({"name": "n", "event": "UPDATE", "url": "https://example.com"}, "type"),
    ({"name": "n", "type": "TASK", "url": "https://example.com"}, "event"),
    ({"name": "n", "type": "TASK", "event": "UPDATE"}, "url"),
    ({"name": "n", "type": "CLIENT", "event": "UPDATE", "url": "https://example.com"}, "type"),
    ({"name": "n", "type": "TASK", "event": "MOVE", "url": "https://example.com"}, "event"),
    ({"name": "n", "type": "TASK", "event": "UPDATE", "url": "https://example.com", "active": "yes"}, "active"),
])
def test_a_bad_subscription_gets_a_400_in_the_documented_error_shape_naming_the_field(forecast, body, named) -> None:
    response = call("POST", forecast + SUBSCRIPTIONS, body)
    assert response.status_code == 400
    assert set(response.json()) == {"status", "message"}
    assert response.json()["status"] == 400
    assert named in response.json()["message"]


def test_a_registration_update_is_posted_to_the_matching_subscription_only(forecast, receiver) -> None:
    subscribe(forecast, receiver.url, "TIME_REG", "UPDATE")
    subscribe(forecast, receiver.url, "TASK", "UPDATE")
    subscribe(forecast, receiver.url, "TIME_REG", "UPDATE", active=False)
    registration = call("GET", forecast + "/api/v4/time_registrations?pageSize=1").json()["pageContents"][0]
    started = time.monotonic()
    response = call("PUT", f"{forecast}/api/v1/time_registrations/{registration['id']}",
                    {"notes": "changed by a webhook test", "time_registered": registration["time_registered"]})
    assert response.status_code == 200
    [delivery] = receiver.wait_for(1)
    body = delivery["body"]
    assert body["event"] == "time_reg_updated"
    assert body["object"] == {"id": registration["id"]}
    assert set(body["person"]) == {"id"}
    assert body["fields_changed"] == ["notes"], "only what changed, audit fields left out"
    assert body["timestamp"].endswith("Z")
    assert len(body["timestamp"]) == len("2026-11-25T12:00:00Z")
    assert not any(name.lower().startswith("x-forecast") or "signature" in name.lower()
                   for name in delivery["headers"]), "no signature is documented, so none is sent"
    assert delivery["at"] >= started
    time.sleep(MINUTE_SECONDS * 5)
    assert len(receiver.bodies) == 1, "the inactive subscription and the TASK one got nothing"


def test_creates_and_deletes_carry_no_fields_changed(forecast, receiver) -> None:
    subscribe(forecast, receiver.url, "TIME_REG", "CREATE")
    subscribe(forecast, receiver.url, "TIME_REG", "DELETE")
    created = call("POST", forecast + "/api/v1/time_registrations",
                   {"person": 12, "task": 5001, "time_registered": 30, "date": "2026-11-24"}).json()
    call("DELETE", f"{forecast}/api/v1/time_registrations/{created['id']}")
    bodies = [d["body"] for d in receiver.wait_for(2)]
    assert [(b["event"], b["object"]["id"]) for b in bodies] == [("time_reg_created", created["id"]),
                                                                 ("time_reg_deleted", created["id"])]
    assert all("fields_changed" not in b for b in bodies)


def test_a_failing_receiver_gets_the_documented_five_retries_then_nothing(forecast, receiver) -> None:
    receiver.statuses = [500] * 10
    subscribe(forecast, receiver.url, "TASK", "CREATE")
    call("POST", forecast + "/api/v3/tasks", {"project_id": demo.build_demo()["projects"][0]["id"], "title": "x"})
    deliveries = receiver.wait_for(1 + len(RETRY_MINUTES))
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(deliveries)]
    for gap, minutes in zip(gaps, RETRY_MINUTES, strict=True):
        assert gap >= minutes * MINUTE_SECONDS * 0.9, f"retries wait 1, 2, 3, 5, 10 minutes (scaled): {gaps}"
    time.sleep(RETRY_MINUTES[-1] * MINUTE_SECONDS * 3)
    assert len(receiver.bodies) == 1 + len(RETRY_MINUTES), "up to 5 retries, no more"


def test_a_retry_stops_once_the_receiver_answers_2xx(forecast, receiver) -> None:
    receiver.statuses = [503, 404]
    subscribe(forecast, receiver.url, "TASK", "CREATE")
    call("POST", forecast + "/api/v3/tasks", {"project_id": demo.build_demo()["projects"][0]["id"], "title": "y"})
    deliveries = receiver.wait_for(3)
    assert [d["status"] for d in deliveries] == [503, 404, 200]
    time.sleep(RETRY_MINUTES[3] * MINUTE_SECONDS * 3)
    assert len(receiver.bodies) == 3


def test_subscriptions_round_trip_through_state_and_reset(forecast) -> None:
    created = subscribe(forecast, "https://example.com/hook", "TIME_REG", "CREATE")
    state = requests.get(f"{forecast}/_sandbox/state", timeout=TIMEOUT).json()
    assert state["webhook_subscriptions"] == [created]
    requests.post(f"{forecast}/_sandbox/reset", json={**state, "webhook_subscriptions": []}, timeout=TIMEOUT)
    assert call("GET", forecast + SUBSCRIPTIONS).json() == []


def test_a_slow_receiver_does_not_delay_the_api_answer(forecast, receiver) -> None:
    receiver.delay_seconds = 2.0
    subscribe(forecast, receiver.url, "TIME_REG", "CREATE")
    started = time.monotonic()
    response = call("POST", forecast + "/api/v1/time_registrations",
                    {"person": 12, "task": 5001, "time_registered": 30, "date": "2026-11-24"})
    assert response.status_code == 201
    assert time.monotonic() - started < receiver.delay_seconds / 2, "delivery runs on its own thread"
    assert receiver.wait_for(1)[0]["body"]["object"] == {"id": response.json()["id"]}


def test_deleting_a_task_tells_of_the_registrations_deleted_with_it(forecast, receiver) -> None:
    subscribe(forecast, receiver.url, "TASK", "DELETE")
    subscribe(forecast, receiver.url, "TIME_REG", "DELETE")
    project = demo.build_demo()["projects"][0]["id"]
    task = call("POST", forecast + "/api/v3/tasks", {"project_id": project, "title": "doomed"}).json()
    registration = call("POST", forecast + "/api/v1/time_registrations",
                        {"person": 12, "task": task["id"], "time_registered": 30, "date": "2026-11-24"}).json()
    assert call("DELETE", f"{forecast}/api/v2/tasks/{task['id']}").status_code == 200
    events = {(d["body"]["event"], d["body"]["object"]["id"]) for d in receiver.wait_for(2)}
    assert events == {("time_reg_deleted", registration["id"]), ("task_deleted", task["id"])}
