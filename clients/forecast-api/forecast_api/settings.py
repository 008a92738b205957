"""Where Forecast's API is and how long to wait for it; the connection settings as a JSON schema for the plugins."""

from __future__ import annotations

from typing import Any

DEFAULT_BASE_URL = "https://api.forecast.it"
API_PATH = "/api"
#: Seconds to open a connection, and to wait for each read. A page of 1,000 records takes well under a second.
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 120
TIMEOUT_SECONDS = (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)

#: The settings every plugin that talks to Forecast takes, as a JSON schema object. Plugins add their own
#: properties to it (singer-sdk: `th.Property(name, th.CustomType(spec))` for each of these).
CONNECTION_SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "api_key": {
            "type": ["string"], "title": "API key", "secret": True, "writeOnly": True,
            "description": "Forecast API key (Admin > API Keys). Sent in the X-FORECAST-API-KEY header; it grants "
                           "full account access, so keep it secret.",
        },
        "base_url": {
            "type": ["string", "null"], "title": "Base URL", "default": DEFAULT_BASE_URL,
            "description": "Forecast API root without /api/vN. Change it only for a proxy or the local sandbox.",
        },
    },
    "required": ["api_key"],
}


def api_root(base_url: str) -> str:
    """`https://api.forecast.it/api`: the root every versioned path (`/v1/projects`) goes under."""
    return base_url.rstrip("/") + API_PATH
