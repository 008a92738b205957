"""Site options: where real TimeLog sites differ, or where TimeLog's sources leave more than one reading.

One `SiteOptions` instance lives on the `TimeLogApp` (and its `Store`). It is set three ways:
`python -m sandbox serve --timelog-option KEY=VALUE`, `POST /_sandbox/options` and
`SandboxProcess(timelog_options={...})`. `POST /_sandbox/reset` leaves it alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.common.options import Check, Options, boolean, choice, number, positive_int, strings

#: The Reporting/Transactional GUID readings (README "Two GUIDs per work unit").
GUID_MODEL_TIME_REGISTRATION = "time_registration"
GUID_MODEL_WORK_UNIT = "work_unit"
GUID_MODELS = (GUID_MODEL_TIME_REGISTRATION, GUID_MODEL_WORK_UNIT)
#: TimeLog.TLP.API.XML, SecurityService.GetTimeRegistrationSettings remarks: AdditionalTextFieldValidation
#: 0 no validation, 1 per task (AdditionalTextIsRequired), 2 always; AdditionalTextFieldType 0 none, 1 text,
#: 2 integer.
ADDITIONAL_TEXT_NOT_VALIDATED, ADDITIONAL_TEXT_PER_TASK, ADDITIONAL_TEXT_ALWAYS = 0, 1, 2
ADDITIONAL_TEXT_TYPE_NONE, ADDITIONAL_TEXT_TYPE_TEXT, ADDITIONAL_TEXT_TYPE_INTEGER = 0, 1, 2
#: The role TimeLog.TLP.API.XML names in "Security requirements: System administrator".
SYSTEM_ADMINISTRATOR = "SystemAdministrator"
DEFAULT_API_USER_ROLES = (SYSTEM_ADMINISTRATOR, "ProjectManager", "CanBeAllocated")
#: SDK `TimeLog.API.Documentation/Views/Reporting/SynchronizingData.cshtml`: full syncs "in batches by month".
DEFAULT_MAX_REPORTING_RANGE_DAYS = 31
#: The environment variable `SandboxProcess` takes `guid_model` from, so CI can run a suite under each reading.
GUID_MODEL_ENV = "TIMESYNC_SANDBOX_GUID_MODEL"


@dataclass
class SiteOptions(Options):
    """The simulated site's settings. Defaults are the strict readings."""

    FLAG: ClassVar[str] = "--timelog-option"

    guid_model: str = GUID_MODEL_TIME_REGISTRATION
    single_wsdl: bool = False
    additional_text_validation: int = ADDITIONAL_TEXT_NOT_VALIDATED
    additional_text_type: int = ADDITIONAL_TEXT_TYPE_NONE
    max_reporting_range_days: int = DEFAULT_MAX_REPORTING_RANGE_DAYS
    site_timezone: str = "UTC"
    clock_offset_seconds: float = 0
    api_user_roles: list[str] = field(default_factory=lambda: list(DEFAULT_API_USER_ROLES))
    # As a site that defined both tools in its API settings: job sync keys Forecast ids, harvest-to-timelog Harvest.
    external_systems: list[str] = field(default_factory=lambda: ["Forecast", "Harvest"])
    wsdl_omit_operations: list[str] = field(default_factory=list)
    #: Whether GetTasksModifiedInPeriodPaged loads external keys: the operation is undocumented beyond its
    #: signature (reference/timelog-api.md §3.4), so both readings are offered; true is what GetTaskByID does
    #: with loadExternalKeys (docs/assumptions.md 4).
    task_feed_external_keys: bool = True

    def checks(self) -> dict[str, Check]:
        """One validator per option (module `_CHECKS`)."""
        return _CHECKS

    # -- readings used by the rules ------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.site_timezone)

    def is_system_administrator(self) -> bool:
        return SYSTEM_ADMINISTRATOR in self.api_user_roles

    def defined_system(self, name: str) -> str | None:
        """The external system as defined in TimeLog's API settings (matched case-insensitively), or None."""
        wanted = name.strip().lower()
        return next((system for system in self.external_systems if system.lower() == wanted), None)


# -- checks of the TimeLog-only options --------------------------------------------------------------------


def _zone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not an IANA time zone name such as Europe/Copenhagen")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone name such as Europe/Copenhagen") from exc
    return value


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"{value!r} is not a list of non-empty strings")
    return list(value)


def _roles(value: Any) -> list[str]:
    from sandbox.timelog.contracts import SECURITY_ROLES

    roles = strings(value)
    unknown = [role for role in roles if role not in SECURITY_ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; RoleTypes are {list(SECURITY_ROLES)}")
    return roles


def _operations(value: Any) -> list[str]:
    from sandbox.timelog.contracts import SERVICES
    from sandbox.timelog.reporting import OPERATIONS as REPORTING_OPERATIONS

    known = {f"{name}.{op.name}" for name, service in SERVICES.items() for op in service.operations}
    known |= {f"Reporting.{name}" for name in REPORTING_OPERATIONS}
    names = strings(value)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown operation(s) {unknown}; write them Service.Operation, e.g. "
                         "ProjectManagementService.GetWorkChangeLogPaged or Reporting.GetWorkUnitsRawPaged")
    return names


_CHECKS: dict[str, Check] = {
    "guid_model": choice(*GUID_MODELS),
    "task_feed_external_keys": boolean,
    "single_wsdl": boolean,
    "additional_text_validation": choice(ADDITIONAL_TEXT_NOT_VALIDATED, ADDITIONAL_TEXT_PER_TASK,
                                         ADDITIONAL_TEXT_ALWAYS),
    "additional_text_type": choice(ADDITIONAL_TEXT_TYPE_NONE, ADDITIONAL_TEXT_TYPE_TEXT, ADDITIONAL_TEXT_TYPE_INTEGER),
    "max_reporting_range_days": positive_int,
    "site_timezone": _zone,
    "clock_offset_seconds": number,
    "api_user_roles": _roles,
    "external_systems": strings,
    "wsdl_omit_operations": _operations,
}
