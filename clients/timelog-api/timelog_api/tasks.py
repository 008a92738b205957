"""Finding a task by the external key another system stored on it (the sync stores Forecast ids this way)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from timelog_api.errors import TimeLogApiError
from timelog_api.services import Service

if TYPE_CHECKING:
    from timelog_api.client import TimeLogClient


def task_by_external_key(client: TimeLogClient, key: str, system_name: str) -> dict[str, Any] | None:
    """The task carrying ``key`` under ``system_name``, or None (GetTaskByExternalKey, one call)."""
    try:
        items = client.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByExternalKey", key=key, systemName=system_name)
    except TimeLogApiError as exc:
        if exc.state == "Invalid":  # TimeLog answers a lookup that finds nothing as Invalid (docs/assumptions.md)
            return None
        raise
    return items[0] if items else None
