"""Typed errors of the TimeLog client; every message names what to fix and never carries a secret."""

from __future__ import annotations


class TimeLogError(Exception):
    """Base class of every error the TimeLog client raises."""


class TimeLogConfigError(TimeLogError):
    """A setting is missing or invalid; the message names the setting."""


class TimeLogLoginError(TimeLogError):
    """Login to one of TimeLog's APIs failed."""


class TransactionalLoginError(TimeLogLoginError):
    """SecurityService.GetToken refused the username/password."""


class ReportingLoginError(TimeLogLoginError):
    """The Reporting API refused the site code, reporting username or reporting password."""


class TimeLogTransportError(TimeLogError):
    """The HTTP exchange failed (connection, timeout, 5xx, 429) and the retries are used up."""

    def __init__(self, operation: str, detail: str, status_code: int | None = None) -> None:
        self.operation = operation
        self.status_code = status_code
        super().__init__(f"TimeLog {operation}: {detail}")


class RetriableTransportError(TimeLogTransportError):
    """A connection error, timeout, 5xx or 429: worth another try."""


class MalformedResponseError(TimeLogError):
    """The answer to an operation could not be parsed as the WSDL says it should be."""

    def __init__(self, operation: str, detail: str) -> None:
        self.operation = operation
        super().__init__(f"TimeLog {operation}: malformed response ({detail})")


class TimeLogApiError(TimeLogError):
    """TimeLog answered with ResponseState Invalid or Error (or a SOAP fault)."""

    def __init__(self, operation: str, state: str, message: str, error_code: int | None = None) -> None:
        self.operation = operation
        self.state = state
        self.api_message = message
        self.error_code = error_code
        code = f" (ErrorCode {error_code})" if error_code else ""
        super().__init__(f"TimeLog {operation} returned {state}{code}: {message}")


class TokenExpiredError(TimeLogApiError):
    """The security token was refused as expired; the client refreshes it once and retries."""
