"""Suite: bad input (design brief invariant 10, issue 8), table-driven through the real `meltano run sync`.

Each case breaks one thing: a malformed answer from either API (the sandbox's `truncated`, `wrong_types` and
`missing_fields` faults on one operation), a bad links file, a missing setting, a wrong credential, an
unknown TimeLog account, an unreachable URL. Each must give:

* a non-zero exit (the run cannot go on);
* one clear error naming what to fix (the case's message fragments, case-insensitive), and no plugin
  Python traceback, which is a crash, not an error message;
* for malformed answers, no data lost: with the faults off, a clean re-run converges;
* none of the configured secrets in the output, including a wrong password the case configured;
* nothing wrongly written: after the run, every entry either is as it was, or is the correct twin of an
  entry the other side held before the run (the legitimate part of the work).

The world is the synced trimmed demo plus a few edits on both sides, so both pipelines have work to do.
CI runs one case per kind of input (`CI_CASES`); `TIMESYNC_LONG_SUITES=1` runs them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from sandbox import credentials
from sandbox.testing import SandboxProcess
from tests.e2e.suites.checks import World, convergence_problems
from tests.e2e.suites.verify import read_world, synced_world
from tests.e2e.suites.world import LONG, SuiteWorld, secrets_in, suite_links

pytestmark = [pytest.mark.e2e, pytest.mark.suite, pytest.mark.guid_model_neutral]

#: A plugin's own Python traceback in `meltano run` output (Meltano prefixes each plugin line with its name).
PLUGIN_TRACEBACK = re.compile(r"\] (tap|target|timesync)[\w-]* +Traceback \(most recent call last\)")
UNREACHABLE_URL = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback
WRONG_PASSWORD = "not-the-password-4711"
WRONG_API_KEY = "not-the-forecast-key-4711"
WRONG_SITE_CODE = "NOT-THE-SITE-CODE-4711"


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, and the fragments the error must contain (all of them)."""

    name: str
    fragments: tuple[str, ...]
    faults: tuple[str, dict] | None = None  # (simulator, fault config)
    links_text: str | None = None  # links.yml content
    links_change: Callable[[dict], dict] | None = None
    env: dict[str, str] = field(default_factory=dict)
    drop_env: tuple[str, ...] = ()
    configured_secrets: tuple[str, ...] = ()  # wrong credentials the case configures: never printed either


def malformed(side: str, operation: str, kind: str, fragments: tuple[str, ...]) -> Case:
    """Every answer of `operation` (and of its incremental `updated_after` form) is corrupted with `kind`."""
    operations = [operation, f"{operation}/updated_after/{{ts}}"] if side == "forecast" else [operation]
    name = operation.removeprefix("GET /api/").replace("/", ".")
    return Case(f"malformed-{side}-{kind}-{name}", fragments,
                faults=(side, {"malformed_rate": 1.0, "malformed_kinds": [kind], "only_operations": operations,
                               "seed": 1}))


def _with(section: str, index: int, **changes: object) -> Callable[[dict], dict]:
    def change(links: dict) -> dict:
        links[section][index] = {**links[section][index], **changes}
        return links
    return change


def _append(section: str, item: dict) -> Callable[[dict], dict]:
    def change(links: dict) -> dict:
        links[section].append(item)
        return links
    return change


def _prod(drop: str) -> Case:
    """The `prod` environment takes every setting from the environment; one is missing."""
    setting = drop.split("_", 2)[-1].lower()  # TAP_TIMELOG_SITE_CODE -> site_code
    return Case(f"missing-setting-{drop}", (setting,), env={"MELTANO_ENVIRONMENT": "prod"}, drop_env=(drop,))


def _both(name: str, value: str) -> dict[str, str]:
    """The same setting for the tap and the target of one API."""
    return {f"TAP_{name}": value, f"TARGET_{name}": value}


F_REGISTRATIONS_LIST = "GET /api/v4/time_registrations"
CASES = [
    # -- malformed answers: Forecast (JSON), read by tap-forecast --------------------------------------------
    malformed("forecast", F_REGISTRATIONS_LIST, "truncated", ("time_registrations",)),
    malformed("forecast", F_REGISTRATIONS_LIST, "wrong_types", ("time_registered",)),
    malformed("forecast", F_REGISTRATIONS_LIST, "missing_fields", ("time_registrations",)),
    malformed("forecast", "GET /api/v4/tasks", "truncated", ("tasks",)),
    malformed("forecast", "GET /api/v4/tasks", "missing_fields", ("tasks",)),
    malformed("forecast", "GET /api/v1/projects", "truncated", ("projects",)),
    malformed("forecast", "GET /api/v2/persons", "missing_fields", ("persons",)),
    # -- malformed answers: TimeLog (XML), read by tap-timelog and target-timelog -------------------------
    malformed("timelog", "Reporting.GetWorkUnitsRawPaged", "truncated", ("GetWorkUnitsRaw",)),
    malformed("timelog", "Reporting.GetWorkUnitsRawPaged", "wrong_types", ("GetWorkUnitsRaw",)),
    malformed("timelog", "Reporting.GetWorkUnitsRawPaged", "missing_fields", ("GetWorkUnitsRaw",)),
    malformed("timelog", "ProjectManagementService.GetWorkChangeLogPaged", "truncated", ("GetWorkChangeLog",)),
    malformed("timelog", "ProjectManagementService.GetWorkChangeLogPaged", "wrong_types", ("GetWorkChangeLog",)),
    malformed("timelog", "ProjectManagementService.GetWorkChangeLogPaged", "missing_fields", ("GetWorkChangeLog",)),
    malformed("timelog", "SecurityService.GetToken", "truncated", ("GetToken",)),
    malformed("timelog", "SecurityService.GetToken", "missing_fields", ("GetToken",)),
    malformed("timelog", "Reporting.GetEmployeesRaw", "wrong_types", ("GetEmployeesRaw",)),
    # -- the links file ---------------------------------------------------------------------------------------
    Case("links-unknown-forecast-project", ("999001", "project"),
         links_change=_append("projects", {"forecast": 999001, "timelog": 2006})),
    Case("links-unknown-timelog-project", ("999002", "project"),
         links_change=_append("projects", {"forecast": 106, "timelog": 999002})),
    Case("links-unknown-forecast-person", ("999003", "person"),
         links_change=_append("persons", {"forecast": 999003, "timelog": 26})),
    Case("links-unknown-timelog-employee", ("999004",),
         links_change=_append("persons", {"forecast": 31, "timelog": 999004})),
    Case("links-forecast-person-linked-twice", ("linked twice", "line", "persons"),
         links_change=_append("persons", {"forecast": 11, "timelog": 21})),
    Case("links-timelog-employee-linked-twice", ("linked twice", "line", "persons"),
         links_change=_append("persons", {"forecast": 31, "timelog": 1})),
    Case("links-bad-yaml", ("line", "yaml"),
         links_text="projects:\n  - forecast: 101\n    timelog: [2001\npersons: []\n"),
    Case("links-unknown-option", ("line", "conflict_polcy"),
         links_text="projects: []\npersons: []\noptions:\n  conflict_polcy: park\n"),
    Case("links-wrong-type", ("line 2", "projects.[0].forecast"),
         links_text="projects:\n  - forecast: website\n    timelog: 2001\npersons: []\n"),
    Case("links-unknown-policy-value", ("line", "conflict_policy"),
         links_text="projects: []\npersons: []\noptions:\n  conflict_policy: sometimes\n"),
    Case("links-missing-persons", ("persons",), links_text="projects:\n  - forecast: 101\n    timelog: 2001\n"),
    Case("links-file-missing", ("links file not found",),
         env={"TIMESYNC_RECONCILE_LINKS_PATH": "/nonexistent/links.yml"}),
    # -- settings ---------------------------------------------------------------------------------------------
    _prod("TAP_FORECAST_API_KEY"),
    _prod("TARGET_FORECAST_API_KEY"),
    _prod("TAP_TIMELOG_DOMAIN"),
    _prod("TAP_TIMELOG_ACCOUNT"),
    _prod("TAP_TIMELOG_PASSWORD"),
    _prod("TARGET_TIMELOG_USERNAME"),
    _prod("TARGET_TIMELOG_PASSWORD"),
    _prod("TAP_TIMELOG_SITE_CODE"),
    Case("domain-without-scheme", ("domain", "https://"), env=_both("TIMELOG_DOMAIN", "app1.timelog.com")),
    # -- credentials, account, reachability -------------------------------------------------------------------
    Case("wrong-timelog-password", ("password",), env=_both("TIMELOG_PASSWORD", WRONG_PASSWORD),
         configured_secrets=(WRONG_PASSWORD,)),
    Case("wrong-forecast-api-key", ("api key",), env=_both("FORECAST_API_KEY", WRONG_API_KEY),
         configured_secrets=(WRONG_API_KEY,)),
    Case("wrong-site-code", ("site_code",), env=_both("TIMELOG_SITE_CODE", WRONG_SITE_CODE),
         configured_secrets=(WRONG_SITE_CODE,)),
    Case("wrong-reporting-login", ("reporting_username",), env=_both("TIMELOG_REPORTING_USERNAME", "nobody")),
    Case("unknown-timelog-account", ("account", "no-such-account"), env=_both("TIMELOG_ACCOUNT", "no-such-account")),
    Case("unreachable-timelog", ("127.0.0.1:9",), env=_both("TIMELOG_DOMAIN", UNREACHABLE_URL)),
    Case("unreachable-forecast", ("127.0.0.1",), env=_both("FORECAST_BASE_URL", UNREACHABLE_URL)),
]
#: One case per kind of input, for CI; the long suite runs every case.
CI_CASES = {
    "malformed-forecast-wrong_types-v4.time_registrations",
    "malformed-timelog-wrong_types-ProjectManagementService.GetWorkChangeLogPaged",
    "links-unknown-forecast-project", "links-forecast-person-linked-twice",
    "missing-setting-TARGET_TIMELOG_PASSWORD", "wrong-timelog-password", "wrong-forecast-api-key",
}


@pytest.fixture
def world(sandbox: SandboxProcess, _sandbox_session: tuple, tmp_path: Path) -> SuiteWorld:
    """The synced trimmed demo, then edits on both sides so both pipelines have something to write."""
    _, forecast_demo, timelog_demo = _sandbox_session
    world = synced_world(sandbox, (forecast_demo, timelog_demo), tmp_path)
    forecast_state, timelog_state = world.states()
    view = read_world(world)
    f_entries = [e for e in view.forecast.values() if e.twin and not e.locked][:2]
    t_entries = [e for e in view.timelog.values() if e.twin and not e.locked][:2]
    for entry in f_entries:
        world.forecast.update_registration(int(entry.id), time_registered=entry.raw["time_registered"] + 7,
                                           notes=(entry.raw.get("notes") or "") + " (bad-input edit)")
    initials = {e["employee_id"]: e["initials"] for e in timelog_state["employees"]}
    for entry in t_entries:
        unit = entry.raw
        world.timelog.update_work(entry.id, initials=initials[unit["employee_id"]], task_id=unit["task_id"],
                                  date=unit["start_at"][:10], minutes=unit["minutes"] + 11,
                                  note=(unit.get("description") or "") + " (bad-input edit)")
    person = world.links["persons"][0]
    task = next(t["id"] for t in forecast_state["tasks"] if t["project_id"] == world.links["projects"][0]["forecast"])
    world.forecast.create_registration(person=person["forecast"], task=task, date="2026-11-24", minutes=67,
                                       notes="bad-input create")
    return world


def wrong_writes(before: World, after: World) -> list[str]:
    """Entries the run changed that are not the correct twin of something the other side held before."""
    problems = []
    for side, other in (("forecast", "timelog"), ("timelog", "forecast")):
        sources = {e.twin for e in before.side(other).values() if e.twin is not None}
        for entry_id, entry in after.side(side).items():
            old = before.side(side).get(entry_id)
            if old is not None and old.raw == entry.raw:
                continue
            what = "created" if old is None else "changed"
            if entry.twin is None or entry.twin not in sources:
                problems.append(f"{side} {entry_id} {what} to {entry.twin or entry.raw}, matching nothing on {other}")
        problems += [f"{side} {entry_id} deleted" for entry_id in set(before.side(side)) - set(after.side(side))]
    return problems


#: Cases that fail on a known product bug (reported with issue 8): strict, so a fix turns them into failures
#: until the entry is removed.
KNOWN_BUGS: dict[str, str] = {
}


def _params() -> list:
    return [pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case.name])]
                         if case.name in KNOWN_BUGS else []) for case in CASES]


@pytest.mark.parametrize("case", _params())
def test_bad_input_gives_one_clear_error_and_writes_nothing_wrong(world: SuiteWorld, case: Case) -> None:
    """Invariant 10 (and 9): non-zero exit, an error naming what to fix, no traceback, no secret, no bad write."""
    if not LONG and case.name not in CI_CASES:
        pytest.skip("long suite only (TIMESYNC_LONG_SUITES=1); CI runs one case per kind of input")
    if case.links_text is not None:
        world.links_path.write_text(case.links_text, encoding="utf-8")
    if case.links_change is not None:
        world.write_links(case.links_change(suite_links()))
    if case.faults:
        side, faults = case.faults
        (world.sandbox.forecast if side == "forecast" else world.sandbox.timelog).faults(**faults)
    before = read_world(world)
    env = {key: value for key, value in world.project.plugin_env.items() if key not in case.drop_env} | case.env
    project = type(world.project)(world.project.workdir, env, world.project.links_path)
    run = project.run("sync", timeout=300)
    world.outputs.append(run.output)
    world.faults_off()
    after = read_world(world)
    output = run.output
    problems = []
    if run.returncode == 0:
        problems.append("exit code 0: the run went on as if nothing were wrong")
    missing = [f for f in case.fragments if f.lower() not in output.lower()]
    if missing:
        problems.append(f"the error does not name {missing}")
    if PLUGIN_TRACEBACK.search(output):
        problems.append("a plugin's Python traceback instead of (or besides) one clear error")
    leaked = secrets_in(output) + [s for s in case.configured_secrets if s.lower() in output.lower()]
    if leaked:
        problems.append(f"secrets in the output: {leaked}")
    if case.faults:
        side, _ = case.faults
        injected = (world.sandbox.forecast if side == "forecast" else world.sandbox.timelog).stats()["faults"]
        if not any(k.startswith("malformed") for k in injected):
            problems.append(f"the malformed fault never fired (operation not called?): {injected}")
    problems += wrong_writes(before, after)
    if case.faults:  # no data lost: with the faults off, a clean re-run brings every edit across
        rerun = world.sync(expect_ok=False)
        lost = convergence_problems(read_world(world))
        if rerun.returncode != 0 or lost:
            problems.append(f"the clean re-run after the malformed answers (exit {rerun.returncode}) did not "
                            f"converge; data lost? {lost[:5]}")
    world.assert_no_secrets()
    assert not problems, f"{case.name} (exit {run.returncode}):\n  - " + "\n  - ".join(problems) + \
        "\n  what the operator sees:\n" + excerpt(output)


def excerpt(output: str) -> str:
    """Error lines, the first traceback, and the end of the output (METRIC lines left out)."""
    lines = [line for line in output.splitlines() if "METRIC:" not in line]
    errors = [line for line in lines if "error" in line.lower() or "fail" in line.lower()][:15]
    first = next((i for i, line in enumerate(lines) if PLUGIN_TRACEBACK.search(line)), None)
    trace = lines[max(0, first - 1):first + 25] if first is not None else []
    return "\n".join(["  [error lines]", *errors, "  [first traceback]", *trace, "  [end]", *lines[-12:]])


def test_the_table_has_at_least_30_cases() -> None:
    """Issue 8 asks for at least 30 bad-input cases; the CI subset names real cases."""
    names = [case.name for case in CASES]
    assert len(names) >= 30
    assert len(set(names)) == len(names)
    assert set(CI_CASES) <= set(names)
    assert {credentials.TIMELOG_PASSWORD, credentials.FORECAST_API_KEY}.isdisjoint(
        {WRONG_PASSWORD, WRONG_API_KEY, WRONG_SITE_CODE})


def test_links_cases_are_valid_yaml_where_meant_to_be() -> None:
    """Only the bad-YAML case is unparsable; the others fail on content, so their messages can name a field."""
    for case in CASES:
        if case.links_text is not None and case.name != "links-bad-yaml":
            yaml.safe_load(case.links_text)
