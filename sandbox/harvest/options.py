"""Harvest options: where the v2 docs changed over time or leave more than one reading (README "Options")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sandbox.common.options import Check, Options, boolean, choice, non_negative_int, positive_int

#: per_page: "Can range between 1 and 2000. (Default: 2000)" (api-v2/introduction/overview/pagination). Older
#: versions of the page said 100 for both, so `default_per_page` may be set lower to make clients page.
MAX_PER_PAGE = 2000
#: `updated_since` "Only return ... updated since the given date and time": whether a record updated exactly
#: then is returned is not said. Exclusive is the strict default (a client must overlap its bookmark).
UPDATED_SINCE_READINGS = ("exclusive", "inclusive")
#: "100 requests per 15 seconds" for the general API (api-v2/introduction/overview/general, "Rate limiting").
RATE_LIMIT_WINDOW_SECONDS = 15
#: 18 hours, the `expires_in: 64799` of Harvest's token examples; tap-harvest refreshes when it runs out.
DEFAULT_TOKEN_TTL_SECONDS = 64799


@dataclass
class HarvestOptions(Options):
    """The simulated account's settings. Defaults are the strict or current readings."""

    FLAG: ClassVar[str] = "--harvest-option"

    #: Records per page when the request names no per_page (1 to 2000).
    default_per_page: int = MAX_PER_PAGE
    #: links.next as a cursor URL (today's pagination page) or as a page URL (the page before cursors).
    cursor_links: bool = True
    updated_since: str = "exclusive"
    #: Requests per 15 seconds per access token before 429 with Retry-After; 0 turns the limit off.
    rate_limit_requests: int = 100
    access_token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS
    #: "Admins can delete closed entries" (time-entries, "Delete a time entry") and may edit a locked entry's
    #: notes and hours (getharvest.com/blog/2012/10/a-harvest-how-to-locked-entries). Off by default: the sync
    #: must never write to approved time, so the strict simulator refuses it.
    admin_edits_approved: bool = False
    #: The account's Time Rounding preference in minutes (0 = off): `rounded_hours` rounds up to it.
    rounding_minutes: int = 0

    def checks(self) -> dict[str, Check]:
        """One validator per option."""
        return {
            "default_per_page": _per_page,
            "cursor_links": boolean,
            "updated_since": choice(*UPDATED_SINCE_READINGS),
            "rate_limit_requests": non_negative_int,
            "access_token_ttl_seconds": positive_int,
            "admin_edits_approved": boolean,
            "rounding_minutes": choice(0, 6, 15, 30),
        }


def _per_page(value: object) -> int:
    number = positive_int(value)
    if number > MAX_PER_PAGE:
        raise ValueError(f"{number} is more than the documented maximum {MAX_PER_PAGE}")
    return number
