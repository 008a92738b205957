"""Pagination (api-v2/introduction/overview/pagination): `page` or `cursor`, `per_page`, envelope and links.

Lists come newest first, as the docs say for each list ("sorted by creation date, with the most recently created
... first"; time entries "sorted by spent_date", newest first in the sample), ties broken by id, newest first.
A cursor is base64url JSON naming the record it follows or precedes, `{"after": {"id": 3007}}` like the docs'
sample `eyJhZnRlciI6eyJpZCI6MzAwN319`; time entries add `spent_date`. So a cursor, unlike a page number, does not
skip or repeat records when others are created or deleted between two requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from sandbox.harvest.errors import unprocessable
from sandbox.harvest.options import MAX_PER_PAGE

#: Query parameters that say which page to show, or authenticate; the others (filters) are kept in links.
#: Query-string credentials never go into links, so a token is not echoed back.
PAGING_PARAMS = frozenset({"page", "per_page", "cursor", "ref", "access_token", "account_id"})
DIRECTIONS = ("after", "before")


@dataclass(frozen=True)
class Order:
    """Newest first on each of `fields` (ints or ISO dates); cursors name a record by these fields."""

    fields: tuple[str, ...] = ("id",)

    def key(self, values: dict) -> tuple:
        """An ascending sort key for the descending order."""
        return tuple(-v if isinstance(v, int) else -date.fromisoformat(v).toordinal()
                     for v in (values[f] for f in self.fields))

    def position(self, record: dict) -> dict:
        """What a cursor stores to name `record`."""
        return {f: record[f] for f in self.fields}


@dataclass(frozen=True)
class PageRequest:
    """`per_page` and either a page number or a cursor `(direction, position)`."""

    per_page: int
    page: int | None
    cursor: tuple[str, dict] | None

    @classmethod
    def from_query(cls, query: dict[str, str], default_per_page: int, order: Order) -> PageRequest:
        """Read the query; bad values are a 422 (the docs: per_page above 2000 is "422 Unprocessable Entity";
        for others, the strict reading). "cursor takes precedence if both provided"."""
        per_page = _whole(query, "per_page", default_per_page)
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise unprocessable(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
        if "cursor" in query:
            return cls(per_page, None, decode_cursor(query["cursor"], order))
        page = _whole(query, "page", 1)
        if page < 1:
            raise unprocessable(f"page must be 1 or more, got {page}")
        return cls(per_page, page, None)


def _whole(query: dict[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise unprocessable(f"{name} must be a whole number, got {text!r}") from None


def encode_cursor(direction: str, position: dict) -> str:
    """`{"after": {...}}` as unpadded base64url, the docs' shape."""
    raw = json.dumps({direction: position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, order: Order) -> tuple[str, dict]:
    """(direction, position) from a cursor this list made; anything else is a 422."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        (direction, position), = data.items()
        if direction not in DIRECTIONS or set(position) != set(order.fields):
            raise ValueError(text)
        order.key(position)
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise unprocessable(f"cursor {text!r} is not valid for this list") from None
    return direction, position


@dataclass(frozen=True)
class Listing:
    """One list request: where its links point, the filters they keep, and the options that shape them."""

    url: str
    query: dict[str, str]
    cursor_links: bool

    def link(self, **params: object) -> str:
        """This list's URL with the request's filters plus `params`."""
        kept = {k: v for k, v in self.query.items() if k not in PAGING_PARAMS}
        return f"{self.url}?{urlencode({**kept, **params})}"


def paginate(resource: str, records: list[dict], order: Order, request: PageRequest, listing: Listing,
             view: Callable[[dict], dict]) -> dict:
    """The documented envelope around one page of `records` (filtered, in any order), each shown with `view`."""
    items = sorted(records, key=lambda r: order.key(r))
    total, per_page = len(items), request.per_page
    total_pages = math.ceil(total / per_page)
    if request.cursor is not None:
        direction, position = request.cursor
        keys = [order.key(r) for r in items]
        if direction == "after":
            start = bisect_right(keys, order.key(position))
            end = min(total, start + per_page)
        else:
            end = bisect_left(keys, order.key(position))
            start = max(0, end - per_page)
        # "page, next_page, and previous_page will always return null for all but the first and last pages."
        first, last = start == 0, end >= total
        page = 1 if first else (max(total_pages, 1) if last else None)
        next_page = 2 if first and total_pages > 1 else None
        previous_page = total_pages - 1 if last and not first and total_pages > 1 else None
    else:
        page = request.page or 1
        start, end = min(total, (page - 1) * per_page), min(total, page * per_page)
        next_page = page + 1 if page < total_pages else None
        previous_page = page - 1 if page > 1 else None
    shown = items[start:end]
    use_cursor = listing.cursor_links or request.cursor is not None
    ref = _refs(listing.cursor_links)
    next_link = previous_link = None
    if end < total and shown:
        next_link = (listing.link(cursor=encode_cursor("after", order.position(shown[-1])), per_page=per_page,
                                  **ref("next_cursor")) if use_cursor
                     else listing.link(page=(page or 1) + 1, per_page=per_page))
    if start > 0:
        if use_cursor and shown:
            previous_link = listing.link(cursor=encode_cursor("before", order.position(shown[0])),
                                         per_page=per_page, **ref("previous_cursor"))
        elif page:
            previous_link = listing.link(page=page - 1, per_page=per_page, **ref("previous"))
    return {
        resource: [view(record) for record in shown],
        "per_page": per_page, "total_pages": total_pages, "total_entries": total,
        "next_page": next_page, "previous_page": previous_page, "page": page,
        "links": {
            "first": listing.link(page=1, per_page=per_page, **ref("first")),
            "next": next_link,
            "previous": previous_link,
            "last": listing.link(page=max(total_pages, 1), per_page=per_page, **ref("last")),
        },
    }


def _refs(cursor_links: bool) -> Callable[[str], dict[str, str]]:
    """Today's links carry `ref=first|next_cursor|previous_cursor|last`; the page-link reading carries none."""
    return (lambda name: {"ref": name}) if cursor_links else (lambda name: {})
