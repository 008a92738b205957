"""Harvest's error answers: OAuth2 bodies on the ID host, Rails-style bodies on the API (README "Errors")."""

from __future__ import annotations

from http import HTTPStatus

#: The 401 body api.harvestapp.com sends for a bad or missing token or a missing Harvest-Account-Id, as quoted in
#: github.com/googleworkspace/apps-script-oauth2/issues/90 (a v2 call without the account header).
INVALID_TOKEN_DESCRIPTION = "The access token provided is expired, revoked, malformed or invalid for other reasons."
#: RFC 6749 §5.2 error codes the token endpoint answers with; the descriptions are Doorkeeper's, whose wording
#: Harvest's token endpoint is quoted with in github.com/harvesthq/api/issues/136.
INVALID_GRANT_DESCRIPTION = ("The provided authorization grant is invalid, expired, revoked, does not match the "
                             "redirection URI used in the authorization request, or was issued to another client.")
INVALID_CLIENT_DESCRIPTION = ("Client authentication failed due to unknown client, no client authentication "
                              "included, or unsupported authentication method.")


class HarvestError(Exception):
    """Answer the request with `status`, the JSON `body` and any extra `headers`."""

    def __init__(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid_token() -> HarvestError:
    """401 for a missing, unknown or expired access token, or a missing or foreign account id."""
    return HarvestError(401, {"error": "invalid_token", "error_description": INVALID_TOKEN_DESCRIPTION})


def oauth_error(status: int, code: str, description: str) -> HarvestError:
    """An RFC 6749 §5.2 error of the token endpoint: `{"error": code, "error_description": ...}`."""
    return HarvestError(status, {"error": code, "error_description": description})


def http_error(status: int, headers: dict[str, str] | None = None) -> HarvestError:
    """Rails' default JSON error body, `{"status": 404, "error": "Not Found"}` (Harvest is a Rails app; the v2
    docs show no body for 404, 405, 429 or 5xx, so this is the framework's, an assumption in the README)."""
    return HarvestError(status, {"status": status, "error": HTTPStatus(status).phrase}, headers)


def not_found() -> HarvestError:
    """404: unknown route or id."""
    return http_error(404)


def unprocessable(message: str) -> HarvestError:
    """422 "There were errors processing your request" (api-v2/introduction/overview/general); the body is
    `{"message": ...}`, the key tap-harvest's error handling reads."""
    return HarvestError(422, {"message": message})


def bad_request(message: str) -> HarvestError:
    """400, e.g. no User-Agent header (api-v2/introduction/overview/general, "Notes about user agents")."""
    return HarvestError(400, {"message": message})
