"""Reporting's two GUIDs of a work unit, and which of them TimeLog's Transactional API uses (docs/assumptions.md 1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from timelog_api.convert import to_date, to_guid
from timelog_api.services import Service

if TYPE_CHECKING:
    from timelog_api.client import TimeLogClient


class GuidModel(StrEnum):
    """Which of a Reporting work item's two GUIDs the Transactional API uses for the unit.

    Reporting lists a `TimeRegistrationGuid` and a `WorkUnitGuid` for every unit (GetWorkUnitsRaw), and TimeLog's
    sample shows them different; no source says which one InsertWork, GetEmployeeWork and the work change log carry
    (docs/assumptions.md). Whoever pairs work units keys them by the Transactional one.
    """

    TIME_REGISTRATION = "time_registration"
    WORK_UNIT = "work_unit"

    @property
    def item_field(self) -> str:
        """The Reporting work item element that holds the Transactional GUID under this model."""
        return "TimeRegistrationGuid" if self is GuidModel.TIME_REGISTRATION else "WorkUnitGuid"

    def guid(self, item: Mapping[str, Any]) -> str | None:
        """The Transactional GUID of a Reporting work item under this model (lower case; None if it has none)."""
        return to_guid(item.get(self.item_field))

    @classmethod
    def matching(cls, item: Mapping[str, Any], transactional_guids: Container[str | None]) -> GuidModel | None:
        """The model under which this Reporting work item's unit is one of `transactional_guids`, or None."""
        return next((model for model in cls if model.guid(item) in transactional_guids), None)


def employee_work_guids(client: TimeLogClient, initials: str, day: dt.date) -> set[str | None]:
    """The Transactional GUIDs of one employee's work units on one day: one GetEmployeeWork, read-only."""
    midnight = dt.datetime.combine(day, dt.time())
    units = client.fetch(Service.PROJECT_MANAGEMENT, "GetEmployeeWork", initials=initials, startDate=midnight,
                         endDate=midnight)
    return {to_guid(unit.get("GUID")) for unit in units}


def transactional_model(client: TimeLogClient, item: Mapping[str, Any]) -> GuidModel | None:
    """Which Reporting GUID of a Reporting work item its Transactional unit carries: one GetEmployeeWork of the
    item's day, read-only (None when neither GUID is there)."""
    day = to_date(item.get("Date"))
    if day is None:
        raise ValueError(f"work unit {item.get('ID')} without Date")
    guids = employee_work_guids(client, item.get("EmployeeInitials") or "", dt.date.fromisoformat(day))
    return GuidModel.matching(item, guids)
