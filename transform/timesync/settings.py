"""Settings of the plugins built on timesync: the ledger's, declared once, and the API clients' as SDK properties."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

LEDGER_SETTINGS = th.PropertiesList(
    th.Property("ledger_url", th.StringType,
                description="SQLAlchemy URL of the sync ledger. Default: SQLite under .meltano/timesync/."),
)


def client_settings(schema: Mapping[str, Any]) -> list[th.Property[Any]]:
    """An API client's settings schema (`forecast_api.CONNECTION_SETTINGS`, `timelog_api.CONNECTION_SETTINGS`) as
    singer-sdk properties, for a plugin's `config_jsonschema`."""
    return [th.Property(name, th.CustomType(spec), required=name in schema["required"])
            for name, spec in schema["properties"].items()]
