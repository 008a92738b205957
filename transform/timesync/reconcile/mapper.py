"""The reconcile mapper plugin (a singer-sdk InlineMapper)."""

from __future__ import annotations

import typing as t

from singer_sdk import singerlib as singer
from singer_sdk import typing as th
from singer_sdk.mapper_base import InlineMapper

from timesync.settings import LEDGER_SETTINGS


class ReconcileMapper(InlineMapper):
    """Turns tap records into reconcile commands for the opposite target."""

    name = "timesync-reconcile"

    config_jsonschema = th.PropertiesList(
        *LEDGER_SETTINGS,
        th.Property("links_path", th.StringType, default="links.yml",
                    description="Path of the links file (projects and persons)."),
        th.Property("dry_run", th.BooleanType, default=False,
                    description="Plan only: record and print the plan, emit no commands."),
    ).to_dict()

    def map_schema_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Skeleton: reconcile is not implemented yet."""
        raise NotImplementedError

    def map_record_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Skeleton: reconcile is not implemented yet."""
        raise NotImplementedError

    def map_state_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Pass tap state through unchanged."""
        yield singer.StateMessage.from_dict(message_dict)

    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Skeleton: reconcile is not implemented yet."""
        raise NotImplementedError
