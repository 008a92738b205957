"""Settings shared by every plugin that talks to TimeLog or Forecast, declared once."""

from __future__ import annotations

from singer_sdk import typing as th

TIMELOG_CONNECTION_SETTINGS = th.PropertiesList(
    th.Property("domain", th.StringType, required=True,
                description="TimeLog site URL, e.g. https://app1.timelog.com (no account, no path)."),
    th.Property("account", th.StringType, required=True,
                description="TimeLog account name: the path segment after the domain."),
    th.Property("username", th.StringType, required=True,
                description="TimeLog user (name or initials) for the Transactional SOAP API."),
    th.Property("password", th.StringType, required=True, secret=True,
                description="Password of that TimeLog user."),
    th.Property("site_code", th.StringType, secret=True,
                description="Reporting API site code (System administration > Integrations and API)."),
    th.Property("reporting_username", th.StringType,
                description="Reporting API id (username)."),
    th.Property("reporting_password", th.StringType, secret=True,
                description="Reporting API password."),
    th.Property("external_system_name", th.StringType, default="Forecast",
                description="External system name under which Forecast ids are stored as TimeLog external keys."),
    th.Property("verify_tls", th.BooleanType, default=True,
                description="Verify TLS certificates. Leave on in production."),
)

FORECAST_CONNECTION_SETTINGS = th.PropertiesList(
    th.Property("api_key", th.StringType, required=True, secret=True,
                description="Forecast API key (Admin > API). Sent as X-FORECAST-API-KEY."),
    th.Property("base_url", th.StringType, default="https://api.forecast.it",
                description="Forecast API root, without /api/vN."),
)

LEDGER_SETTINGS = th.PropertiesList(
    th.Property("ledger_url", th.StringType,
                description="SQLAlchemy URL of the sync ledger. Default: SQLite under .meltano/timesync/."),
)
