"""The TimeLog connection settings: their JSON schema (for the plugins' config schemas) and `TimeLogSettings`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from timelog_api import convert
from timelog_api.errors import TimeLogConfigError

CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 120
MAX_TRIES = 5
WSDL_CACHE_FILE = "timelog-wsdl.sqlite"
#: Where the WSDL cache goes; the name predates this package (the sync's CLI is `timesync`) and stays for users.
CACHE_DIR_ENV = "TIMESYNC_CACHE_DIR"

_TEXT = ["string"]
_OPTIONAL_TEXT = ["string", "null"]

#: The settings every plugin that talks to TimeLog takes, as a JSON schema object. Plugins add their own
#: properties to it (singer-sdk: `th.Property(name, th.CustomType(spec))` for each of these).
CONNECTION_SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "domain": {"type": _TEXT,
                   "description": "TimeLog site URL, e.g. https://app1.timelog.com (no account, no path)."},
        "account": {"type": _TEXT, "description": "TimeLog account name: the path segment after the domain."},
        "username": {"type": _TEXT,
                     "description": "TimeLog user (name or initials) for the Transactional SOAP API."},
        "password": {"type": _TEXT, "description": "Password of that TimeLog user.", "secret": True,
                     "writeOnly": True},
        "site_code": {"type": _OPTIONAL_TEXT,
                      "description": "Reporting API site code (System administration > Integrations and API).",
                      "secret": True, "writeOnly": True},
        "reporting_username": {"type": _OPTIONAL_TEXT, "description": "Reporting API id (username)."},
        "reporting_password": {"type": _OPTIONAL_TEXT, "description": "Reporting API password.", "secret": True,
                               "writeOnly": True},
        "external_system_name": {
            "type": _OPTIONAL_TEXT, "default": "Forecast",
            "description": "External system name under which Forecast ids are stored as TimeLog external keys."},
        "verify_tls": {"type": ["boolean", "null"], "default": True,
                       "description": "Verify TLS certificates. Leave on in production."},
    },
    "required": ["domain", "account", "username", "password"],
}


def default_wsdl_cache_path() -> Path:
    """`$TIMESYNC_CACHE_DIR`, else `$XDG_CACHE_HOME/timesync`, else `~/.cache/timesync`, plus the cache file."""
    base = os.environ.get(CACHE_DIR_ENV) or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "timesync"
    )
    return Path(base) / WSDL_CACHE_FILE


@dataclass(frozen=True)
class TimeLogSettings:
    """Connection settings; built from a plugin config with `from_config`."""

    domain: str
    account: str
    username: str
    password: str = field(repr=False)
    site_code: str | None = field(default=None, repr=False)
    reporting_username: str | None = None
    reporting_password: str | None = field(default=None, repr=False)
    external_system_name: str = "Forecast"
    verify_tls: bool = True
    site_timezone: str = "UTC"
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    read_timeout: float = READ_TIMEOUT_SECONDS
    max_tries: int = MAX_TRIES
    wsdl_cache_path: Path | None = None

    REQUIRED = tuple(CONNECTION_SETTINGS["required"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TimeLogSettings:
        """Validate a plugin config; a missing setting is an error naming it."""
        missing = [name for name in cls.REQUIRED if not config.get(name)]
        if missing:
            raise TimeLogConfigError(f"TimeLog settings missing: {', '.join(missing)}")
        domain = str(config["domain"]).rstrip("/")
        if not domain.startswith(("https://", "http://")):
            raise TimeLogConfigError(f"domain must start with https:// (got {domain!r}), e.g. https://app1.timelog.com")
        known = {name: config[name] for name in cls.__dataclass_fields__ if config.get(name) is not None}
        try:
            convert.site_zone(known.get("site_timezone", "UTC"))
        except (KeyError, ValueError) as exc:
            raise TimeLogConfigError(f"site_timezone {known['site_timezone']!r} is not an IANA zone name") from exc
        if "wsdl_cache_path" in known:
            known["wsdl_cache_path"] = Path(known["wsdl_cache_path"])
        return cls(**{**known, "domain": domain, "account": str(config["account"]).strip("/")})

    @property
    def base_url(self) -> str:
        """`<domain>/<account>`."""
        return f"{self.domain}/{self.account}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line or an error message."""
        return tuple(s for s in (self.password, self.site_code, self.reporting_password) if s)

    @property
    def has_reporting(self) -> bool:
        """Whether the Reporting API credentials are all set."""
        return bool(self.site_code and self.reporting_username and self.reporting_password)
