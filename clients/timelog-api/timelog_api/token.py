"""The Transactional API's security token: what GetToken answered, and when to get a new one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from timelog_api.errors import MalformedResponseError
from timelog_api.responses import FAILED_STATES, INFO_SEVERITY, SUCCESS

#: Refresh a token this long before it expires (TimeLog's SDK uses one minute) ...
TOKEN_REFRESH_MARGIN = dt.timedelta(minutes=1)
#: ... but never more than this share of its lifetime, so short-lived tokens are still reused.
TOKEN_REFRESH_MARGIN_SHARE = 0.1
TOKEN_FIELDS = ("Initials", "Expires", "Hash")


class TokenRefusedError(Exception):
    """GetToken refused the login; `detail` is TimeLog's message (not yet redacted)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def read_token(doc: Any) -> dict[str, str]:
    """The token's fields as text from GetToken's raw answer document (`Expires` exactly as TimeLog wrote it).

    A SOAP Fault or ResponseState Invalid/Error raises `TokenRefusedError`; anything else without a token is
    malformed.
    """
    fault = doc.find(".//{*}Fault/faultstring")
    state = doc.findtext(".//{*}ResponseState")
    if fault is not None or state in FAILED_STATES:
        messages = [
            (m.findtext("{*}Message") or "") for m in doc.iterfind(".//{*}APIMessage")
            if m.findtext("{*}Severity") != INFO_SEVERITY
        ]
        raise TokenRefusedError("; ".join(messages) or (fault.text if fault is not None else f"state {state}"))
    token = doc.find(".//{*}SecurityToken")
    values: dict[str, str | None] = {
        name: token.findtext(f"{{*}}{name}") if token is not None else None for name in TOKEN_FIELDS
    }
    if state != SUCCESS or not all(values.values()):
        raise MalformedResponseError("GetToken", "no ResponseState Success with a SecurityToken")
    return {name: text for name, text in values.items() if text is not None}  # all are (checked above)


def refresh_at(expires: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When a token that expires at `expires` (got at `now`) is to be replaced."""
    lifetime = max(expires - now, dt.timedelta(0))
    return expires - min(TOKEN_REFRESH_MARGIN, lifetime * TOKEN_REFRESH_MARGIN_SHARE)
