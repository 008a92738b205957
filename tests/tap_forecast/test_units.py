"""Pure-function tests of tap-forecast: timestamps, key casing, the error policy, backoff and pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from singer_sdk.exceptions import RetriableAPIError
from urllib3.exceptions import MaxRetryError

from tap_forecast import timestamps
from tap_forecast.errors import (
    ForecastAuthError,
    ForecastError,
    ForecastNotFoundError,
    MalformedResponseError,
    error_for,
    unreachable,
)
from tap_forecast.pagination import decode_page
from tap_forecast.streams import snake_case_keys
from tap_forecast.tap import TapForecast

SECRET = "0f8fad5b-d9cb-469f-a165-70867728950e"


def _response(status: int, body: object = None, *, raw: bytes | None = None, headers: dict | None = None,
              url: str = "https://api.forecast.it/api/v4/tasks?pageNumber=2&pageSize=500") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response._content = raw if raw is not None else json.dumps(body).encode()
    response.headers.update(headers or {})
    response.url = url
    response.request = requests.Request("GET", url, headers={"X-FORECAST-API-KEY": SECRET}).prepare()
    return response


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)))
def test_compact_form_round_trips_to_the_same_second(moment: datetime) -> None:
    """`updated_after` takes whole UTC seconds; formatting must neither shift nor round them."""
    compact = timestamps.to_compact(moment)
    assert datetime.strptime(compact, timestamps.COMPACT_FORMAT).replace(tzinfo=UTC) == moment.replace(microsecond=0)


def test_offset_timestamps_of_the_deleted_feeds_become_utc() -> None:
    """The v4 deleted feeds write `+01:00` offsets; the tap emits UTC so bookmarks compare as text."""
    assert timestamps.to_utc("2021-11-02T13:42:40+01:00") == "2021-11-02T12:42:40Z"
    assert timestamps.to_utc("2021-11-02T12:42:40Z") == "2021-11-02T12:42:40Z"


@pytest.mark.parametrize("bad", ["2022-2-06T10:14:20+01:00", "yesterday", 20211102, None])
def test_a_timestamp_that_is_not_rfc3339_is_refused(bad: object) -> None:
    """One docs sample is malformed (`2022-2-06`); such a value must fail loudly, not pass as text."""
    with pytest.raises(ValueError):  # noqa: PT011  # the message is the parser's own
        timestamps.to_utc(bad)


def test_camel_case_keys_become_snake_case_at_every_depth() -> None:
    """The v4 deleted feeds are camelCase, every other endpoint snake_case; the tap emits one style."""
    assert snake_case_keys({"deletedAt": 1, "registeredOn": {"projectId": 2, "id": 3}, "list": [{"aB": 4}]}) == {
        "deleted_at": 1, "registered_on": {"project_id": 2, "id": 3}, "list": [{"a_b": 4}],
    }


@pytest.mark.parametrize(("status", "kind"), [
    (401, ForecastAuthError), (403, ForecastAuthError), (404, ForecastNotFoundError),
    (400, ForecastError), (429, RetriableAPIError), (500, RetriableAPIError), (503, RetriableAPIError),
])
def test_each_status_maps_to_one_error_kind(status: int, kind: type[Exception]) -> None:
    """Auth and 404 are fatal with their own message; 429 and 5xx are retried."""
    error = error_for(_response(status, {"status": status, "message": "Server says no"}))
    assert type(error) is kind
    message = str(error)
    assert "GET /api/v4/tasks?pageNumber=2&pageSize=500" in message
    assert SECRET not in message
    assert "\n" not in message


def test_success_is_no_error() -> None:
    """2xx passes."""
    assert error_for(_response(200, [])) is None


def test_the_401_message_says_what_to_fix() -> None:
    """The one line a user sees on a bad key names the cause and the setting."""
    message = str(error_for(_response(401, {"status": 401, "message": "Server failed to authenticate the request."})))
    assert "wrong or disabled" in message
    assert "api_key" in message


@pytest.mark.parametrize(("number", "size", "total", "count", "last"), [
    (1, 500, 0, 0, True), (1, 500, 500, 500, True), (1, 500, 501, 500, False), (2, 500, 501, 1, True),
    (1, 200, 450, 200, False),  # the server clamped our page size: trust the echoed one
])
def test_the_last_page_is_known_without_an_extra_request(number: int, size: int, total: int, count: int,
                                                         last: bool) -> None:
    """ceil(N / page_size) calls, no empty trailing page."""
    body = {"pageNumber": number, "pageSize": size, "totalObjectCount": total, "pageContents": [{}] * count}
    assert decode_page(_response(200, body)).is_last is last


@pytest.mark.parametrize(("raw", "problem"), [
    (b'{"pageNumber": 1, "pageSize": 5', "not valid JSON"),
    (json.dumps({"pageNumber": 1, "pageSize": 5, "totalObjectCount": 9}).encode(), "lacks pageContents"),
    (json.dumps({"pageNumber": "1", "pageSize": 5, "totalObjectCount": 9, "pageContents": []}).encode(),
     "pageNumber must be a non-negative integer"),
    (json.dumps([{"id": 1}]).encode(), "expected the v4 page envelope"),
])
def test_a_malformed_envelope_names_the_endpoint(raw: bytes, problem: str) -> None:
    """A broken page is an error that says where and what, never an empty page."""
    with pytest.raises(MalformedResponseError, match=problem) as caught:
        decode_page(_response(200, raw=raw))
    assert "GET /api/v4/tasks?pageNumber=2&pageSize=500" in str(caught.value)


def _stream(name: str, **config: object) -> object:
    tap = TapForecast(config={"api_key": SECRET, **config}, parse_env_config=False)
    return tap.streams[name]


def test_backoff_waits_for_retry_after_else_doubles_up_to_a_cap() -> None:
    """The SDK's wait-generator hook: Retry-After wins; otherwise 1, 2, 4 … seconds, capped."""
    waits = _stream("tasks").backoff_wait_generator()
    next(waits)  # the backoff library primes the generator
    too_many = RetriableAPIError("429", _response(429, {}, headers={"Retry-After": "3"}))
    unavailable = RetriableAPIError("503", _response(503, {}))
    assert waits.send(too_many) == 3
    assert [waits.send(unavailable) for _ in range(8)] == [2, 4, 8, 16, 32, 60, 60, 60]
    assert waits.send(TimeoutError()) == 60


def test_deleted_registration_from_the_docs_sample_becomes_a_flat_utc_record() -> None:
    """The v4 deleted feed's documented shape: camelCase, offset times, project only inside `registeredOn`."""
    stream = _stream("deleted_time_registrations")
    record = stream.post_process({
        "id": 7, "minutesRegistered": 90, "person": {"id": 11, "name": "Anna", "email": "a@x.example"},
        "registeredOn": {"type": "PROJECT", "id": 101, "name": "Website relaunch"},
        "datetime": "2021-11-02T09:00:00+01:00", "deletedBy": {"id": "12", "name": "Bo", "email": "b@x.example"},
        "deletedAt": "2021-11-02T13:42:40+01:00",
    })
    assert record["deleted_at"] == "2021-11-02T12:42:40Z"
    assert record["project_id"] == 101
    assert record["minutes_registered"] == 90
    assert record["deleted_by"]["id"] == "12"


def test_deleted_task_is_lifted_out_of_its_task_object() -> None:
    stream = _stream("deleted_tasks")
    record = stream.post_process({
        "task": {"id": 5, "name": "Flyer", "deleted_at": "2022-02-06T10:14:20+01:00", "deleted_by": 11},
        "project": {"id": 101, "name": "Website"}, "phase": {}, "sprint": {}, "assignedPersons": [{"id": 11,
        "name": "Anna"}], "labels": [], "comments": ["done"],
    })
    assert (record["id"], record["name"], record["deleted_by"], record["project_id"]) == (5, "Flyer", 11, 101)
    assert record["deleted_at"] == "2022-02-06T09:14:20Z"
    assert record["assigned_persons"] == [{"id": 11, "name": "Anna"}]


@pytest.mark.parametrize(("project", "task_project", "expected"),
                         [(101, None, 101), (None, 102, 102), (None, None, None)])
def test_project_id_is_project_else_task_project(project: int | None, task_project: int | None,
                                                 expected: int | None) -> None:
    stream = _stream("time_registrations", project_ids=[101, 102])
    record = {"id": 1, "person": 11, "project": project, "task": 5 if task_project else None,
              "task_project": task_project, "non_project_time": None if project or task_project else 71,
              "time_registered": 60, "date": "2026-11-20", "notes": None, "approval_status": "NOT_SUBMITTED",
              "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"}
    emitted = stream.post_process(record)
    if expected is None:
        assert emitted is None, "non-project time is outside any project_ids filter"
    else:
        assert emitted["project_id"] == expected


def test_a_record_of_wrong_types_names_every_wrong_field() -> None:
    """The schema check stops at the first bad field; the error lists them all, so the user sees the real one."""
    stream = _stream("time_registrations")
    with pytest.raises(MalformedResponseError) as caught:
        stream.post_process({
            "id": "100001", "person": 11, "project": 101, "task": None, "non_project_time": None,
            "time_registered": "abc", "date": "2026-11-20", "notes": "", "approval_status": "NOT_SUBMITTED",
            "updated_at": "2026-11-20T10:00:00Z",
        })
    message = str(caught.value)
    assert "GET /api/v4/time_registrations" in message
    assert "record 100001" in message
    assert "id must be integer" in message
    assert "time_registered must be integer" in message
    assert "\n" not in message


def test_an_unreachable_base_url_names_forecast_and_the_setting() -> None:
    """Connection refused: the one line says where, which setting, and why, without urllib3's object reprs."""
    cause = OSError("<urllib3.connection.HTTPConnection object at 0x7f3a2c>: Failed to establish a new "
                    "connection: [Errno 111] Connection refused")
    error = unreachable("http://127.0.0.1:9", requests.ConnectionError(MaxRetryError(None, "/api/v1/projects", cause)),
                        6)
    message = str(error)
    assert message.startswith("cannot reach Forecast at http://127.0.0.1:9 (base_url) after 6 attempts: ")
    assert "Connection refused" in message
    assert "object at 0x" not in message
