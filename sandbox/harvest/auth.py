"""Harvest ID and API authentication: the OAuth2 refresh grant, the account list, Bearer tokens, rate limit.

Doc page: https://help.getharvest.com/api-v2/authentication-api/authentication/authentication/
"""

from __future__ import annotations

import math
import secrets
import threading
from collections import deque
from urllib.parse import parse_qs

from sandbox.common.app import Request
from sandbox.harvest.errors import (
    INVALID_CLIENT_DESCRIPTION,
    INVALID_GRANT_DESCRIPTION,
    bad_request,
    http_error,
    invalid_token,
    oauth_error,
)
from sandbox.harvest.options import RATE_LIMIT_WINDOW_SECONDS, HarvestOptions
from sandbox.harvest.store import HarvestStore, Token

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def issue_token(request: Request, store: HarvestStore, options: HarvestOptions, now: float) -> dict:
    """`POST /api/v2/oauth2/token` with `grant_type=refresh_token`, as tap-harvest sends it.

    Form-encoded only: "the Content-Type header for this request must be application/x-www-form-urlencoded"
    (the OAuth2 section of the authentication page). Errors are RFC 6749 §5.2's. The answer keeps the refresh
    token: tap-harvest never stores a new one, and it works against the real service run after run.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise oauth_error(400, "invalid_request", f"Send the parameters as {FORM_CONTENT_TYPE}.")
    form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if form.get("grant_type") != "refresh_token":
        raise oauth_error(400, "unsupported_grant_type",
                          "The authorization grant type is not supported by the authorization server.")
    client_id = form.get("client_id", "")
    if client_id not in store.oauth_clients or store.oauth_clients[client_id] != form.get("client_secret"):
        raise oauth_error(401, "invalid_client", INVALID_CLIENT_DESCRIPTION)
    grant = store.refresh_tokens.get(form.get("refresh_token", ""))
    if grant is None or grant["client_id"] != client_id:
        raise oauth_error(400, "invalid_grant", INVALID_GRANT_DESCRIPTION)
    access_token = secrets.token_urlsafe(32)
    store.access_tokens[access_token] = Token(grant["user_id"], now + options.access_token_ttl_seconds)
    return {"access_token": access_token, "token_type": "bearer", "expires_in": options.access_token_ttl_seconds,
            "refresh_token": grant["token"]}


def list_accounts(request: Request, store: HarvestStore, now: float) -> dict:
    """`GET /api/v2/accounts`: "the user and a list of accounts" the token reaches (authentication page,
    "Check accessible accounts"); tap-harvest takes `accounts[0].id` as its Harvest-Account-Id."""
    token = _token(request, store, now)
    user = store.tables["users"].get(token.user_id or -1)
    return {
        "user": None if user is None else {"id": user["id"], "first_name": user["first_name"],
                                           "last_name": user["last_name"], "email": user["email"]},
        "accounts": [dict(account) for account in store.accounts],
    }


def authenticate(request: Request, store: HarvestStore, now: float) -> tuple[str, int | None]:
    """(access token, user id) of an API call, checked in this order:

    1. User-Agent: "If you don't include a User-Agent header, you'll get a 400 Bad Request response"
       (api-v2/introduction/overview/general).
    2. The token, from `Authorization: Bearer` or the `access_token` query parameter (authentication page,
       "Header authentication" / "Query string authentication"): 401 invalid_token when missing or unknown.
    3. The account, from `Harvest-Account-Id` or `account_id`: "Each request will require your account ID as
       well"; without it the real API answers the same 401 (apps-script-oauth2 issue 90).
    """
    if not request.headers.get("user-agent", "").strip():
        raise bad_request("Missing User-Agent header: name your application and a link or email address, "
                          "e.g. 'MyApp (yourname@example.com)'.")
    token_text = _token_text(request)
    token = _token(request, store, now)
    account = request.headers.get("harvest-account-id") or request.query.get("account_id")
    if account not in store.harvest_account_ids():
        raise invalid_token()
    return token_text, token.user_id


def _token_text(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("access_token", "")


def _token(request: Request, store: HarvestStore, now: float) -> Token:
    token = store.access_tokens.get(_token_text(request))
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        raise invalid_token()
    return token


class RateLimiter:
    """"100 requests per 15 seconds" per access token; past it, 429 with `Retry-After` in seconds
    (api-v2/introduction/overview/general, "Rate limiting")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def check(self, token: str, limit: int, now: float) -> None:
        """Count one request; raise the 429 when it is one too many (0 = no limit)."""
        if not limit:
            return
        with self._lock:
            seen = self._seen.setdefault(token, deque())
            while seen and seen[0] <= now - RATE_LIMIT_WINDOW_SECONDS:
                seen.popleft()
            if len(seen) >= limit:
                retry_after = max(1, math.ceil(seen[0] + RATE_LIMIT_WINDOW_SECONDS - now))
                raise http_error(429, {"Retry-After": str(retry_after)})
            seen.append(now)

    def clear(self) -> None:
        """Forget every count (on reset)."""
        with self._lock:
            self._seen.clear()

