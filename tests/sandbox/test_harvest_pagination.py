"""Harvest simulator pagination (api-v2/introduction/overview/pagination): page, per_page, next_page, links."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox import credentials
from tests.sandbox.harvest_helpers import HarvestClient, make_app, status_and_body

ENVELOPE = {"time_entries", "per_page", "total_pages", "total_entries", "next_page", "previous_page", "page", "links"}


def _query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def test_default_per_page_is_2000_and_one_page_holds_all(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    body = harvest_client.get("/v2/time_entries")
    assert set(body) == ENVELOPE
    assert (body["per_page"], body["page"], body["total_pages"], body["total_entries"]) == (2000, 1, 1, 400)
    assert (body["next_page"], body["previous_page"], body["links"]["next"], body["links"]["previous"]) == (
        None, None, None, None)
    assert _query(body["links"]["first"]) == {"page": "1", "per_page": "2000", "ref": "first"}
    assert len(body["time_entries"]) == len(harvest_demo["time_entries"])


def test_page_numbers_walk_every_record_once_via_next_page(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    seen, page = [], 1
    while page:  # what tap-harvest does: page=1, then the response's next_page until it is null
        body = harvest_client.get("/v2/time_entries", {"page": page, "per_page": 150})
        assert body["page"] == page
        assert body["previous_page"] == (page - 1 or None)
        seen += [e["id"] for e in body["time_entries"]]
        page = body["next_page"]
    assert sorted(seen) == sorted(e["id"] for e in harvest_demo["time_entries"])
    assert len(seen) == len(set(seen))


def test_links_next_walks_by_cursor_and_keeps_filters(harvest_client: HarvestClient, harvest_demo: dict) -> None:
    user_id = harvest_demo["users"][1]["id"]
    body = harvest_client.get("/v2/time_entries", {"per_page": 10, "user_id": user_id})
    seen, pages = [], 0
    while True:
        seen += [e["id"] for e in body["time_entries"]]
        pages += 1
        if pages > 1 and body["links"]["next"]:  # "null for all but the first and last pages"
            assert (body["page"], body["next_page"], body["previous_page"]) == (None, None, None)
        if not body["links"]["next"]:
            break
        query = _query(body["links"]["next"])
        assert query["ref"] == "next_cursor"
        assert query["user_id"] == str(user_id)
        assert json.loads(base64.urlsafe_b64decode(query["cursor"] + "==")).keys() == {"after"}
        body = harvest_client.follow(body["links"]["next"])
    assert body["page"] == body["total_pages"]
    expected = [e["id"] for e in harvest_demo["time_entries"] if e["user_id"] == user_id]
    assert sorted(seen) == sorted(expected)
    assert pages == body["total_pages"] == -(-len(expected) // 10)


def test_links_previous_goes_back_by_cursor(harvest_client: HarvestClient) -> None:
    first = harvest_client.get("/v2/users", {"per_page": 3})
    second = harvest_client.follow(first["links"]["next"])
    back = harvest_client.follow(second["links"]["previous"])
    assert [u["id"] for u in back["users"]] == [u["id"] for u in first["users"]]
    assert _query(second["links"]["previous"])["ref"] == "previous_cursor"


def test_a_cursor_does_not_skip_when_records_are_deleted(harvest_client: HarvestClient) -> None:
    first = harvest_client.get("/v2/time_entries", {"per_page": 100})
    shown = [e["id"] for e in first["time_entries"]]
    for entry_id in shown[:5]:
        assert harvest_client.call("DELETE", f"/v2/time_entries/{entry_id}").status == 200
    by_cursor = harvest_client.follow(first["links"]["next"])
    by_page = harvest_client.get("/v2/time_entries", {"per_page": 100, "page": 2})
    # The cursor continues after the last record shown; page 2 moved up by five and skips those five records.
    assert by_cursor["time_entries"][0]["id"] not in shown
    skipped = [e["id"] for e in by_cursor["time_entries"][:5]]
    assert not set(skipped) & {e["id"] for e in by_page["time_entries"]}


def test_page_links_without_cursors_as_an_option(harvest_demo: dict) -> None:
    body = HarvestClient(make_app(harvest_demo, cursor_links=False, default_per_page=100)).get("/v2/time_entries")
    assert body["per_page"] == 100
    assert _query(body["links"]["next"]) == {"page": "2", "per_page": "100"}
    assert _query(body["links"]["last"]) == {"page": "4", "per_page": "100"}


def test_links_never_echo_a_query_string_token(harvest_client: HarvestClient) -> None:
    token, account = credentials.HARVEST_PERSONAL_ACCESS_TOKEN, credentials.HARVEST_ACCOUNT_ID
    body = harvest_client.get("/v2/users", {"per_page": 2, "access_token": token, "account_id": account},
                      headers={"authorization": None, "harvest-account-id": None})
    assert token not in json.dumps(body["links"])
    assert "account_id" not in json.dumps(body["links"])


@pytest.mark.parametrize("params", [{"per_page": 2001}, {"per_page": 0}, {"per_page": "ten"}, {"page": 0},
                                    {"cursor": "not-a-cursor"}])
def test_bad_paging_parameters_are_422(harvest_client: HarvestClient, params: dict) -> None:
    status, body = status_and_body(harvest_client.call("GET", "/v2/time_entries", params))
    assert status == 422
    assert body["message"]


def test_a_page_past_the_end_is_empty(harvest_client: HarvestClient) -> None:
    body = harvest_client.get("/v2/tasks", {"page": 9})
    assert (body["tasks"], body["next_page"], body["previous_page"], body["total_pages"]) == ([], None, 8, 1)


def test_lists_are_newest_first(harvest_client: HarvestClient) -> None:
    entries = harvest_client.get("/v2/time_entries")["time_entries"]
    keys = [(e["spent_date"], e["id"]) for e in entries]
    assert keys == sorted(keys, reverse=True)
    users = [u["id"] for u in harvest_client.get("/v2/users")["users"]]
    assert users == sorted(users, reverse=True)
