"""`timesync doctor`: whether this sync is set up right for these two accounts, checked on the accounts themselves.

The original integration's "Activate" button, and more: every login, right, WSDL operation, setting and link
the sync relies on, and the assumptions of docs/assumptions.md that can be checked without writing. Each check
gives one finding (ok, warn or fail) with what to fix. Read-only; `write_probe.py` holds the one write.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from timelog_api.client import TimeLogClient
from timelog_api.convert import site_zone
from timelog_api.errors import TimeLogApiError, TimeLogError
from timelog_api.guids import GuidModel, transactional_model
from timelog_api.items import ALL_IDS, ALL_PROJECT_STATUS, ALL_STATUS, require_work_item
from timelog_api.operations import MEMBERS, OPERATIONS
from timelog_api.registration import (
    ADDITIONAL_TEXT_ALWAYS,
    ADDITIONAL_TEXT_PER_TASK,
    additional_text_problem,
    registration_settings,
)
from timelog_api.services import Service
from timesync.adapters.timelog import GUID_MODEL_FACT, GUID_RECORD_FIELDS, TimeLogAdapter
from timesync.ledger import Ledger, PairKind
from timesync.links import Links, LinksError, unknown_ids

#: The role TimeLog's docs require for the work change log (and GetWorkPaged).
SYSTEM_ADMINISTRATOR = "SystemAdministrator"
#: Clock differences up to this are normal (Date headers have one-second resolution, requests take time).
CLOCK_OK = dt.timedelta(seconds=60)
#: tap-timelog reads TimeLog's change log up to a day past its own clock: a server further ahead loses changes.
CLOCK_FAIL = dt.timedelta(days=1)
#: How many months back the read-only GUID check looks for a work unit to compare.
GUID_LOOKBACK_MONTHS = 3
#: Tasks read to see whether GetTasksModifiedInPeriodPaged returns external keys.
TASK_SAMPLE = 100
TASK_SAMPLE_YEARS = 5


class Status(StrEnum):
    """How a check came out."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    """One check's result: what was found, and what to do about it."""

    check: str
    status: Status
    detail: str
    fix: str = ""


class CheckFailedError(Exception):
    """A check that cannot pass; `fix` says what to change."""

    def __init__(self, detail: str, fix: str = "", status: Status = Status.FAIL) -> None:
        super().__init__(detail)
        self.detail, self.fix, self.status = detail, fix, status


@dataclass
class Site:
    """What the checks talk to and the settings they hold the accounts against."""

    forecast: Any  # forecast_api.ForecastReader (persons(), projects(), clock_offset)
    timelog: TimeLogClient
    ledger: Ledger
    links: Callable[[], Links]  # raises LinksError for a bad file
    site_timezone: str = "UTC"
    system_name: str = "Forecast"
    additional_text: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    #: What earlier checks read, for later ones (Forecast persons and projects as the API lists them, TimeLog
    #: employees and projects as canonical records).
    read: dict[str, Any] = field(default_factory=dict)


Check = Callable[[Site], str]


def run_checks(site: Site) -> list[Finding]:
    """Every check, in order; one that needs a failed one is not run, and says so."""
    findings: list[Finding] = []
    failed: set[str] = set()
    for name, needs, check in CHECKS:
        missing = [need for need in needs if need in failed]
        if missing:
            findings.append(Finding(name, Status.FAIL, f"not checked: {', '.join(missing)} failed"))
            failed.add(name)
            continue
        finding = _run(name, check, site)
        findings.append(finding)
        if finding.status is Status.FAIL:
            failed.add(name)
    return findings


def _run(name: str, check: Check, site: Site) -> Finding:
    try:
        return Finding(name, Status.OK, check(site))
    except CheckFailedError as exc:
        return Finding(name, exc.status, exc.detail, exc.fix)
    except TimeLogError as exc:
        return Finding(name, Status.FAIL, str(exc), "see the message; `timesync doctor` names the setting when it can")
    except Exception as exc:  # a check must report, never crash the others
        return Finding(name, Status.FAIL, f"{type(exc).__name__}: {exc}")


# -- logins ----------------------------------------------------------------------------------------------------


def check_forecast_key(site: Site) -> str:
    try:
        site.read["forecast persons"] = site.forecast.persons()
        site.read["forecast projects"] = site.forecast.projects()
    except Exception as exc:
        raise CheckFailedError(str(exc), "set TAP_FORECAST_API_KEY (and TARGET_FORECAST_API_KEY) to a key from "
                                         "Forecast: Admin > API Keys; check TAP_FORECAST_BASE_URL") from None
    return (f"Forecast answered: {len(site.read['forecast persons'])} persons, "
            f"{len(site.read['forecast projects'])} projects")


def check_timelog_login(site: Site) -> str:
    try:
        initials = site.timelog.initials
    except TimeLogError as exc:
        raise CheckFailedError(str(exc), "check TAP_TIMELOG_DOMAIN, _ACCOUNT, _USERNAME and _PASSWORD (the same "
                                         "values go to target-timelog)") from None
    return f"token for {initials}, valid until {site.timelog.token_expires}"


def check_reporting_login(site: Site) -> str:
    first = site.today.replace(day=1)
    try:
        adapter = TimeLogAdapter()
        site.read["timelog employees"] = site.timelog.employees(parse=adapter.person_from_reporting)
        site.read["timelog projects"] = site.timelog.projects(parse=adapter.project_from_reporting)
    except TimeLogError as exc:
        raise CheckFailedError(str(exc), "check TAP_TIMELOG_SITE_CODE, _REPORTING_USERNAME and _REPORTING_PASSWORD "
                                         "(TimeLog: System administration > Integrations and API > Reporting API)"
                               ) from None
    _reporting_work(site, first, site.today, page_size=1)
    return (f"Reporting answered: {len(site.read['timelog employees'])} employees, "
            f"{len(site.read['timelog projects'])} projects")


def _reporting_work(site: Site, first: dt.date, last: dt.date, *, page_size: int,
                    task_id: int = ALL_IDS) -> list[Mapping[str, Any]]:
    """The first page of Reporting work items dated first..last (at most a month, as the taps read it)."""
    pages = site.timelog.reporting_paged(
        "GetWorkUnitsRawPaged", page_size=page_size, workUnitID=ALL_IDS, employeeID=ALL_IDS, allocationID=ALL_IDS,
        taskID=task_id, projectID=ALL_IDS, departmentID=ALL_IDS, startDate=first.isoformat(),
        endDate=last.isoformat(), parse=require_work_item)
    return [record for _, record in zip(range(page_size), pages, strict=False)]


# -- rights and the WSDL -----------------------------------------------------------------------------------


def check_rights(site: Site) -> str:
    """The API user's roles, and one small read of every feed the taps and the target use."""
    client = site.timelog
    [user] = client.fetch(Service.SECURITY, "GetUser") or [{}]
    roles = (user.get("Roles") or {}).get("RoleTypes") or []
    if SYSTEM_ADMINISTRATOR not in roles:
        raise CheckFailedError(
            f"user {client.initials} has the roles {', '.join(roles) or '(none)'}, not {SYSTEM_ADMINISTRATOR}",
            "give the TimeLog user of the sync the System administrator role: TimeLog's work change log "
            "(GetWorkChangeLogPaged), which the sync reads for edits and deletions, requires it")
    now = dt.datetime.combine(site.today, dt.time())
    feeds: list[tuple[str, Callable[[], object]]] = [
        ("GetWorkChangeLogPaged", lambda: client.count(
            Service.PROJECT_MANAGEMENT, "GetWorkChangeLogPaged", startDate=now, endDate=now,
            includeCreates=True, includeUpdates=True, includeDeletes=True)),
        ("GetTasksModifiedInPeriodPaged", lambda: client.count(
            Service.PROJECT_MANAGEMENT, "GetTasksModifiedInPeriodPaged", startDate=now, endDate=now)),
        ("GetEmployeesPaged", lambda: client.count(Service.ORGANISATION, "GetEmployeesPaged")),
        ("GetEmployeeWork", lambda: client.fetch(Service.PROJECT_MANAGEMENT, "GetEmployeeWork",
                                                 initials=client.initials, startDate=now, endDate=now)),
        ("GetAllocationsToEmployee", lambda: client.fetch(Service.PROJECT_MANAGEMENT, "GetAllocationsToEmployee",
                                                          initials=client.initials)),
        ("GetTasksRaw", lambda: client.reporting("GetTasksRaw", taskID=ALL_IDS, projectID=ALL_IDS,
                                                 status=ALL_STATUS, taskTypeID=ALL_IDS)),
        ("GetProjectsRaw", lambda: client.reporting("GetProjectsRaw", projectID=ALL_IDS, status=ALL_PROJECT_STATUS,
                                                    customerID=ALL_IDS, projectManagerID=ALL_IDS)),
    ]
    refused = []
    for name, read in feeds:
        try:
            read()
        except TimeLogError as exc:
            refused.append(f"{name}: {exc}")
    if refused:
        raise CheckFailedError("; ".join(refused), "give the sync's TimeLog user the rights these reads need "
                                                   "(System administrator covers all of them)")
    return f"{client.initials} is {SYSTEM_ADMINISTRATOR}; {len(feeds)} feeds answered"


def check_wsdl(site: Site) -> str:
    """Each live WSDL offers every operation the product calls, with the parameters and members it sends."""
    problems = []
    for service, operations in OPERATIONS.items():
        zeep_client, binding = site.timelog.zeep_client(service), site.timelog.binding(service)
        for operation, params in operations.items():
            try:
                found = binding.get(operation)
            except ValueError:
                problems.append(f"{service.label} has no {operation}")
                continue
            offered = {name for name, _ in found.input.body.type.elements}
            lacking = [param for param in params if param not in offered]
            if lacking:
                problems.append(f"{service.label}.{operation} lacks {', '.join(lacking)}")
        for type_name, members in MEMBERS.get(service, {}).items():
            offered = {name for name, _ in zeep_client.get_type(type_name).elements}
            lacking = [member for member in members if member not in offered]
            if lacking:
                problems.append(f"{type_name.rsplit('}', 1)[-1]} lacks {', '.join(lacking)}")
    if problems:
        raise CheckFailedError("; ".join(problems), "this TimeLog site serves other service versions than the sync "
                                                   "was built for (ProjectManagement V1_8, Organisation V1_9, "
                                                   "Security V1_2): tell the sync's maintainers")
    count = sum(len(operations) for operations in OPERATIONS.values())
    return f"all {count} operations the sync calls are offered, with the parameters it sends"


# -- keys, GUIDs and settings ------------------------------------------------------------------------------


def check_external_system(site: Site) -> str:
    """External keys under the configured system name are kept and found (docs/assumptions.md 2 and 3).

    Once the sync has made a task, its key must find it. Before that, a lookup under the configured name is
    compared with one under a name that surely is not defined: a site that answers both alike cannot tell.
    """
    name = site.system_name
    known = next(iter(site.ledger.pairs(kind=PairKind.TASK)), None)
    if known is not None and known.forecast_id and known.timelog_id:
        found = _task_by_key(site, name, known.forecast_id)
        if not isinstance(found, dict) or str(found.get("TaskID")) != known.timelog_id:
            raise CheckFailedError(
                f"TimeLog task {known.timelog_id} is not found by its external key {name}/{known.forecast_id}"
                + (f" ({found})" if isinstance(found, str) else ""),
                f"define the external system {name!r} in TimeLog's API settings, or set external_system_name to "
                "the name the sync used before")
        return f"tasks are found by their {name!r} external keys (checked task {known.timelog_id})"
    key = f"timesync-doctor-{uuid.uuid4()}"
    ours, undefined = _task_by_key(site, name, key), _task_by_key(site, f"timesync-undefined-{uuid.uuid4()}", key)
    if isinstance(ours, dict):
        raise CheckFailedError("GetTaskByExternalKey found a task for a key that cannot exist",
                               "tell the sync's maintainers: task lookups by key cannot be trusted on this site")
    if ours == undefined:
        raise CheckFailedError(
            f"TimeLog answers a lookup under {name!r} as under a name that is surely not defined ({ours}); whether "
            f"{name!r} is defined shows with the first task the sync creates",
            f"make sure {name!r} is defined in TimeLog's API settings; if it is not, the first sync stops with "
            "'stored no external key' before anything is created twice", Status.WARN)
    return f"{name!r} is a defined external system: an unknown key under it answers 'not found' ({ours})"


def _task_by_key(site: Site, system: str, key: str) -> dict[str, Any] | str:
    """The task, or TimeLog's answer when there is none, with the key and the system name taken out."""
    try:
        found = site.timelog.fetch(Service.PROJECT_MANAGEMENT, "GetTaskByExternalKey", key=key, systemName=system)
    except TimeLogApiError as exc:
        return exc.api_message.replace(key, "<key>").replace(system, "<system>")
    return found[0] if found else "an empty answer"


def check_task_keys_in_feed(site: Site) -> str:
    """GetTasksModifiedInPeriodPaged returns tasks with their external keys (docs/assumptions.md 4)."""
    start = dt.datetime.combine(site.today.replace(year=site.today.year - TASK_SAMPLE_YEARS), dt.time())
    end = dt.datetime.combine(site.today + dt.timedelta(days=1), dt.time())
    tasks = [task for _, task in zip(range(TASK_SAMPLE), site.timelog.paged(
        Service.PROJECT_MANAGEMENT, "GetTasksModifiedInPeriodPaged", page_size=TASK_SAMPLE, startDate=start,
        endDate=end), strict=False)]
    if any(task.get("IsExternalKeysLoaded") for task in tasks):
        return "tasks come with their external keys"
    ours = {pair.timelog_id for pair in site.ledger.pairs(kind=PairKind.TASK)}
    if any(str(task.get("TaskID")) in ours for task in tasks):
        raise CheckFailedError(
            "GetTasksModifiedInPeriodPaged returns the sync's tasks without their external keys",
            "nothing to fix for the sync (it pairs tasks through the ledger); tap-timelog's tasks.external_keys "
            "stays empty for reporting exports", Status.WARN)
    return f"{len(tasks)} tasks read; none carries a key of the sync yet, so this is checked later"


def check_guid_model(site: Site) -> str:
    """Which Reporting GUID the Transactional API uses, read-only from existing work (docs/assumptions.md 1)."""
    recorded = site.ledger.facts().get(GUID_MODEL_FACT)
    month = site.today.replace(day=1)
    for _ in range(GUID_LOOKBACK_MONTHS):
        last = min((month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1), site.today)
        rows = _reporting_work(site, month, last, page_size=1)
        if rows:
            model = _model_of(site, rows[0])
            if recorded is not None and recorded[0] != model.value:
                raise CheckFailedError(
                    f"work unit {_unit_id(rows[0])} shows {model.value!r}, but the ledger recorded "
                    f"{recorded[0]!r} ({recorded[1]})",
                    "run `timesync doctor --write-probe TASK_ID` to settle it; it records what it finds")
            return f"the Transactional GUID is Reporting's {GUID_RECORD_FIELDS[model]} ({model.value})"
        month = (month - dt.timedelta(days=1)).replace(day=1)
    if recorded is not None:
        return f"{recorded[0]!r}, as recorded by {recorded[1]}"
    raise CheckFailedError(f"no work in the last {GUID_LOOKBACK_MONTHS} months to tell from",
                           "run `timesync doctor --write-probe TASK_ID` once (it writes and deletes one minute)",
                           Status.WARN)


def _unit_id(item: Mapping[str, Any]) -> int | None:
    """A Reporting work item's integer id, as messages name the unit."""
    return int(item["ID"]) if item.get("ID") else None


def _model_of(site: Site, item: Mapping[str, Any]) -> GuidModel:
    model = transactional_model(site.timelog, item)
    if model is None:
        raise CheckFailedError(
            f"neither Reporting GUID of work unit {_unit_id(item)} is in GetEmployeeWork of its day",
            "run `timesync doctor --write-probe TASK_ID` and tell the sync's maintainers what it reports")
    return model


def check_additional_text(site: Site) -> str:
    settings = registration_settings(site.timelog)
    validation = int(settings.get("AdditionalTextFieldValidation") or 0)
    if validation not in (ADDITIONAL_TEXT_PER_TASK, ADDITIONAL_TEXT_ALWAYS):
        return "the site requires no additional text on registrations"
    scope = "every registration" if validation == ADDITIONAL_TEXT_ALWAYS else "registrations on some tasks"
    fix = "set TARGET_TIMELOG_ADDITIONAL_TEXT to what the sync should enter (Forecast has no such field)"
    if not site.additional_text:
        raise CheckFailedError(f"the site requires an additional text on {scope}, and additional_text is not set",
                               fix, Status.FAIL if validation == ADDITIONAL_TEXT_ALWAYS else Status.WARN)
    problem = additional_text_problem(settings, site.additional_text)
    if problem:
        raise CheckFailedError(problem, fix)
    return f"the site requires an additional text on {scope}; the sync enters {site.additional_text!r}"


def check_site_timezone(site: Site) -> str:
    """The offset TimeLog writes on the token's `Expires` is site_timezone's (docs/assumptions.md 7)."""
    expires_text = site.timelog.token_expires
    expires = dt.datetime.fromisoformat(_seven_digits_to_six(expires_text))
    if expires.tzinfo is None:
        raise CheckFailedError(f"the token's Expires ({expires_text}) carries no offset to compare with",
                               "nothing to do; make sure site_timezone is the zone the TimeLog site runs in",
                               Status.WARN)
    configured = expires.astimezone(site_zone(site.site_timezone)).utcoffset()
    if configured != expires.utcoffset():
        raise CheckFailedError(
            f"TimeLog writes times at UTC{_offset(expires.utcoffset())}, but site_timezone {site.site_timezone!r} "
            f"is UTC{_offset(configured)} then",
            "set TAP_TIMELOG_SITE_TIMEZONE to the site's IANA zone, e.g. Europe/Copenhagen for a Danish site")
    return f"{site.site_timezone} (UTC{_offset(configured)}) matches the site's timestamps"


def _seven_digits_to_six(text: str) -> str:
    """.NET writes seven fraction digits; Python reads six."""
    head, dot, rest = text.partition(".")
    if not dot:
        return text
    digits = len(rest) - len(rest.lstrip("0123456789"))
    return f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"


def _offset(delta: dt.timedelta | None) -> str:
    minutes = int((delta or dt.timedelta(0)).total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def check_clocks(site: Site) -> str:
    """This machine's clock against both services' (`Date` headers of their answers)."""
    offsets = {"TimeLog": site.timelog.clock_offset, "Forecast": site.forecast.clock_offset}
    worst = max((abs(offset) for offset in offsets.values() if offset is not None), default=None)
    shown = ", ".join(f"{name} {_seconds(offset)}" for name, offset in offsets.items() if offset is not None)
    if worst is None:
        raise CheckFailedError("neither service sent a Date header to compare with", "nothing to do", Status.WARN)
    if worst > CLOCK_FAIL:
        raise CheckFailedError(f"clocks differ by more than a day: {shown}",
                               "set this machine's clock (NTP); the change-log windows cover a day of difference")
    if worst > CLOCK_OK:
        raise CheckFailedError(f"clocks differ: {shown}", "set this machine's clock (NTP); the taps start each read "
                                                          "on the earlier clock, so nothing is lost meanwhile",
                               Status.WARN)
    return f"within a minute: {shown}"


def _seconds(offset: dt.timedelta) -> str:
    return f"{offset.total_seconds():+.0f} s"


def check_links(site: Site) -> str:
    try:
        links = site.links()
    except LinksError as exc:
        raise CheckFailedError(str(exc), "fix links.yml (`timesync links suggest` proposes one)") from None
    known = {
        "forecast": {"person": _ids(site.read.get("forecast persons"), lambda record: str(record["id"])),
                     "project": _ids(site.read.get("forecast projects"), lambda record: str(record["id"]))},
        "timelog": {"person": _ids(site.read.get("timelog employees"), lambda person: person.id),
                    "project": _ids(site.read.get("timelog projects"), lambda project: project.id)},
    }
    problems = [problem for side, ids in known.items() for problem in unknown_ids(links, side, ids)]
    if problems:
        raise CheckFailedError("; ".join(problems), "fix the ids in links.yml (`timesync links suggest` lists them)")
    return f"{len(links.projects)} project and {len(links.persons)} person links; every id exists on both sides"


def _ids(records: Iterable[Any] | None, key: Callable[[Any], str]) -> set[str] | None:
    return None if records is None else {key(record) for record in records}


#: (name, the checks it needs, the check). Names are what the output shows.
CHECKS: list[tuple[str, tuple[str, ...], Check]] = [
    ("forecast api key", (), check_forecast_key),
    ("timelog login", (), check_timelog_login),
    ("timelog reporting login", ("timelog login",), check_reporting_login),
    ("timelog rights", ("timelog login", "timelog reporting login"), check_rights),
    ("timelog wsdl", ("timelog login",), check_wsdl),
    ("external system name", ("timelog login",), check_external_system),
    ("task keys in the task feed", ("timelog login",), check_task_keys_in_feed),
    ("guid model", ("timelog reporting login",), check_guid_model),
    ("additional text", ("timelog login",), check_additional_text),
    ("site timezone", ("timelog login",), check_site_timezone),
    ("clock skew", ("forecast api key", "timelog login"), check_clocks),
    ("links", ("forecast api key", "timelog reporting login"), check_links),
]
