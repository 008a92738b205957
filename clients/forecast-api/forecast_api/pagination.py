"""The v4 page envelope `{pageNumber, pageSize, totalObjectCount, pageContents}`: page parameters and decoding."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from forecast_api.errors import endpoint_of, malformed

if TYPE_CHECKING:
    import requests

FIRST_PAGE = 1
ENVELOPE_COUNTERS = ("pageNumber", "pageSize", "totalObjectCount")
ENVELOPE_RECORDS = "pageContents"


def page_params(page: int | None, page_size: int) -> dict[str, Any]:
    """The query of one page of a paginated v4 endpoint (pages count from `FIRST_PAGE`)."""
    return {"pageNumber": page, "pageSize": page_size}


@dataclass(frozen=True)
class Page:
    """One decoded page of a paginated v4 endpoint."""

    number: int
    size: int
    total: int
    records: list[Any]  # the decoded JSON records, checked by the stream that reads them

    @property
    def is_last(self) -> bool:
        """Whether no later page holds records. Uses the page size the server echoes, in case it clamped ours."""
        return not self.records or self.number * self.size >= self.total


#: Decoded pages by response, so a paginator and a parser decode each body once.
_decoded: WeakKeyDictionary[requests.Response, object] = WeakKeyDictionary()


def decode_json(response: requests.Response) -> object:
    """The JSON body of `response` (decimals kept exact), or a `MalformedResponseError` naming the endpoint."""
    if response not in _decoded:
        try:
            _decoded[response] = response.json(parse_float=Decimal)
        except ValueError as exc:
            raise malformed(endpoint_of(response), f"the body is not valid JSON ({exc})") from None
    return _decoded[response]


def decode_page(response: requests.Response) -> Page:
    """The v4 envelope of `response`, checked field by field."""
    body = decode_json(response)
    endpoint = endpoint_of(response)
    if not isinstance(body, dict):
        raise malformed(endpoint, f"expected the v4 page envelope object, got {type(body).__name__}")
    missing = [key for key in (*ENVELOPE_COUNTERS, ENVELOPE_RECORDS) if key not in body]
    if missing:
        raise malformed(endpoint, f"the page envelope lacks {', '.join(missing)}")
    for key in ENVELOPE_COUNTERS:
        if not isinstance(body[key], int) or isinstance(body[key], bool) or body[key] < 0:
            raise malformed(endpoint, f"envelope field {key} must be a non-negative integer, got {body[key]!r}")
    if not isinstance(body[ENVELOPE_RECORDS], list):
        raise malformed(endpoint, f"envelope field {ENVELOPE_RECORDS} must be a list")
    return Page(body["pageNumber"], body["pageSize"], body["totalObjectCount"], body[ENVELOPE_RECORDS])
