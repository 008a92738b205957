"""The TimeLog SOAP client shared by tap-timelog, target-timelog and the timesync CLI."""

from timesync.timelog.client import BatchItemResult, Service, TimeLogClient, TimeLogSettings, client_from_config
from timesync.timelog.errors import (
    MalformedResponseError,
    ReportingLoginError,
    TimeLogApiError,
    TimeLogConfigError,
    TimeLogError,
    TimeLogLoginError,
    TimeLogTransportError,
    TokenExpiredError,
    TransactionalLoginError,
)

__all__ = [
    "BatchItemResult",
    "MalformedResponseError",
    "ReportingLoginError",
    "Service",
    "TimeLogApiError",
    "TimeLogClient",
    "TimeLogConfigError",
    "TimeLogError",
    "TimeLogLoginError",
    "TimeLogSettings",
    "TimeLogTransportError",
    "TokenExpiredError",
    "TransactionalLoginError",
    "client_from_config",
]
