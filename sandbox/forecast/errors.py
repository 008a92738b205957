"""The one error type of the Forecast simulator: an HTTP status plus the `{status, message}` body."""

from __future__ import annotations

#: Exactly the real 401 body (vendor README; also imitated by third-party WireMock stubs).
UNAUTHORIZED_MESSAGE = "Server failed to authenticate the request."


class ForecastError(Exception):
    """Answer the request with `status` and `{"status": status, "message": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict:
        """The JSON error body the real API sends."""
        return {"status": self.status, "message": self.message}


def bad_request(message: str) -> ForecastError:
    """400: the message says what to fix."""
    return ForecastError(400, message)


def not_found(message: str) -> ForecastError:
    """404: unknown route or id."""
    return ForecastError(404, message)
