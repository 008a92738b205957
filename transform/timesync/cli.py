"""The timesync admin CLI: links suggest/check, status, pairs, conflicts list/resolve, plan (rich tables or --json),
report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from timesync.ledger import (
    Ledger,
    LedgerBackupError,
    PairKind,
    PairState,
    Run,
    RunStatus,
    default_ledger_url,
    run_lock,
)
from timesync.ledger.store import EmptyLedgerUrlError
from timesync.linking import Directory, read_directory, render_links_yaml, suggest_links
from timesync.links import TOOLS, LinksError, load_links
from timesync.model import Direction, Side
from timesync.reconcile.report import SUMMARY_COLUMNS, last_sync, plan_lines, summarize
from timesync.report.command import report as report_command

# Where each plugin's settings come from: Meltano's env var convention <PLUGIN>_<SETTING>.
TIMELOG_ENV_PREFIX = "TAP_TIMELOG_"
FORECAST_ENV_PREFIX = "TAP_FORECAST_"
CLI_ENV_PREFIX = "TIMESYNC_"
RECENT_RUNS = 10
RUN_ITEMS_SCANNED_FOR_LINKS = 20
# `timesync plan`: the two pipelines of job `sync`, run with the mapper's dry_run on and no state saved.
PLAN_PIPELINES = (("tap-forecast--sync", "target-timelog"), ("tap-timelog--sync", "target-forecast"))
MAPPER_DRY_RUN_ENV = "TIMESYNC_RECONCILE_DRY_RUN"
EXIT_USAGE = 2


class CliError(click.ClickException):
    """An error the operator can fix; printed without a traceback."""


def env_config(prefix: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A plugin config from env vars (TAP_TIMELOG_DOMAIN, ...) for a client's settings schema, booleans parsed."""
    config: dict[str, Any] = {}
    for name in settings["properties"]:
        value = os.environ.get(f"{prefix}{name.upper()}")
        if value is not None:
            config[name] = value.lower() in ("1", "true", "yes") if name == "verify_tls" else value
    return config


@dataclass
class Services:
    """What the commands talk to; tests replace the API factories with fakes."""

    forecast: Callable[[], Any]
    timelog: Callable[[], Any]
    run: Callable[[list[str], dict[str, str]], int]
    harvest: Callable[[], Any] = field(default=lambda: _default_harvest())


# The API clients and the reconcile engine import requests, zeep and singer-sdk: imported where used, so
# `timesync:unlock`, which runs in every sync, starts in a fraction of the time.
def _default_forecast() -> Any:
    from forecast_api import CONNECTION_SETTINGS, DEFAULT_BASE_URL, ForecastReader

    config = env_config(FORECAST_ENV_PREFIX, CONNECTION_SETTINGS)
    return ForecastReader(config.get("api_key", ""), config.get("base_url") or DEFAULT_BASE_URL)


def _default_harvest() -> Any:
    from harvest_api import HarvestReader

    return HarvestReader.from_env()  # tap-harvest's variables, as Meltano passes them to this utility


def _default_timelog() -> Any:
    from timelog_api.client import client_from_config
    from timelog_api.settings import CONNECTION_SETTINGS

    config = env_config(TIMELOG_ENV_PREFIX, CONNECTION_SETTINGS)
    return client_from_config({**config, "site_timezone": _site_timezone()})


def _site_timezone() -> str:
    """tap-timelog's site_timezone, as Meltano passes it (TAP_TIMELOG_SITE_TIMEZONE)."""
    return os.environ.get(f"{TIMELOG_ENV_PREFIX}SITE_TIMEZONE") or "UTC"


def _default_run(argv: list[str], env: dict[str, str]) -> int:
    return subprocess.run(argv, env={**os.environ, **env}, check=False).returncode


class Output:
    """Rich tables for people, JSON for scripts; one switch."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console()

    def emit(self, data: Any, tables: Callable[[], list[Any]]) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str))
            return
        for table in tables():
            self.console.print(table)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left", min_width=len(title) + 2)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if cell is None else str(cell) for cell in row])
    if not rows:
        table.add_row(*(["(none)"] + [""] * (len(columns) - 1)))
    return table


@contextmanager
def _ledger(ctx: click.Context) -> Iterator[Ledger]:
    try:
        ledger = Ledger.open(ctx.obj["ledger_url"])
    except EmptyLedgerUrlError as exc:
        raise CliError(str(exc)) from None
    try:
        yield ledger
    finally:
        ledger.close()


def _links(ctx: click.Context) -> Any:
    try:
        return load_links(ctx.obj["links_path"])
    except LinksError as exc:
        raise CliError(str(exc)) from None


@click.group()
@click.option("--ledger-url", envvar=f"{CLI_ENV_PREFIX}LEDGER_URL", default=None,
              help="SQLAlchemy URL of the ledger (env TIMESYNC_LEDGER_URL; default .meltano/timesync/ledger.db).")
@click.option("--links-path", envvar=f"{CLI_ENV_PREFIX}LINKS_PATH", default="links.yml", show_default=True,
              help="The links file (env TIMESYNC_LINKS_PATH).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def cli(ctx: click.Context, ledger_url: str | None, links_path: str, as_json: bool) -> None:
    """Administer the Forecast <-> TimeLog sync: links, status, conflicts and a dry-run plan."""
    services = ctx.obj if isinstance(ctx.obj, Services) else Services(_default_forecast, _default_timelog,
                                                                       _default_run)
    # An empty URL stays empty, so Ledger.open refuses it: it is an unset variable, not "the default ledger".
    ctx.obj = {"ledger_url": default_ledger_url() if ledger_url is None else ledger_url, "links_path": links_path,
               "out": Output(as_json), "services": services}


# -- links ---------------------------------------------------------------------------------------------------


@cli.group()
def links() -> None:
    """Propose and check the links file."""


def _fetch_both(ctx: click.Context, tool: str = "forecast") -> Directory:
    services: Services = ctx.obj["services"]
    try:
        return read_directory(services.harvest() if tool == "harvest" else services.forecast(), services.timelog(),
                              tool=tool)
    except Exception as exc:
        raise CliError(f"could not read the systems: {exc}") from None


_TOOL_OPTION = click.option(
    "--tool", type=click.Choice(TOOLS), default="forecast", show_default=True,
    help="The tool linked to TimeLog: forecast (job sync, the top level of links.yml) or harvest (job "
         "harvest-to-timelog, its `harvest` section).")


@links.command("suggest")
@click.option("--write", is_flag=True, help="Write the proposal to the links file (never without this flag).")
@click.option("--force", is_flag=True, help="With --write: replace an existing links file.")
@_TOOL_OPTION
@click.pass_context
def links_suggest(ctx: click.Context, write: bool, force: bool, tool: str) -> None:
    """Match persons by email and projects by number or name; print a proposed links.yml."""
    suggestion = suggest_links(_fetch_both(ctx, tool), tool=tool)
    text = render_links_yaml(suggestion, tool=tool)
    out: Output = ctx.obj["out"]
    if out.as_json:
        click.echo(json.dumps({"persons": [asdict(m) for m in suggestion.persons],
                               "projects": [asdict(m) for m in suggestion.projects],
                               "unmatched": suggestion.unmatched, "links_yml": text}, indent=2))
    else:
        click.echo(text)
        for side, names in suggestion.unmatched.items():
            out.console.print(_table(f"Unmatched {side} ({len(names)})", ["id and name"], [[n] for n in names]))
    if write:
        path = Path(ctx.obj["links_path"])
        if path.exists() and not force:
            raise CliError(f"{path} exists; review the proposal above and re-run with --write --force to replace it")
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {path}", err=True)


@links.command("check")
@_TOOL_OPTION
@click.pass_context
def links_check(ctx: click.Context, tool: str) -> None:
    """Check every linked id exists on both sides; list unlinked people and projects that have time."""
    try:
        links_file = _links(ctx).for_tool(tool)
    except LinksError as exc:
        raise CliError(str(exc)) from None
    directory = _fetch_both(ctx, tool)
    known = {
        ("forecast", "person"): {p.id for p in directory.forecast_people},
        ("timelog", "person"): {p.id for p in directory.timelog_people},
        ("forecast", "project"): {p.id for p in directory.forecast_projects},
        ("timelog", "project"): {p.id for p in directory.timelog_projects},
    }
    missing = [[f"{links_file.source}:{link.line}", kind, links_file.field_name(side), getattr(link, side)]
               for kind, entries in (("project", links_file.projects), ("person", links_file.persons))
               for link in entries for side in ("forecast", "timelog")
               if getattr(link, side) not in known[(side, kind)]]
    with _ledger(ctx) as ledger:
        unlinked = _unlinked_with_time(ledger)
    data = {"missing": missing, "unlinked_with_time": unlinked}
    ctx.obj["out"].emit(data, lambda: [
        _table("Linked ids that do not exist", ["where", "kind", "side", "id"], missing),
        _table("Unlinked, with time in recent runs", ["who or what", "entries"],
               [[name, count] for name, count in unlinked.items()]),
    ])
    if missing:
        ctx.exit(1)


def _unlinked_with_time(ledger: Ledger) -> dict[str, int]:
    """Out-of-scope time of the recent runs, by the unlinked person or project that put it there."""
    found: Counter[str] = Counter()
    for run in ledger.runs(limit=RUN_ITEMS_SCANNED_FOR_LINKS):
        for item in ledger.run_items(run.id):
            if item.outcome == "out_of_scope" and item.message and item.message.startswith("unlinked_"):
                found[item.message.split(": ", 1)[-1]] += 1
    return dict(found.most_common())


# -- status and conflicts --------------------------------------------------------------------------------


def _pair_row(pair: Any) -> list[Any]:
    return [pair.id, pair.kind, pair.forecast_id, pair.timelog_id, pair.state, pair.reason]


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """The last runs and their counts, open conflicts, and locked and orphaned pairs."""
    with _ledger(ctx) as ledger:
        runs = ledger.runs(limit=RECENT_RUNS)
        latest = last_sync(ledger)
        outcomes = {run.id: ledger.outcome_counts(run.id) for run in runs}
        parked = ledger.pairs(states=[PairState.CONFLICT, PairState.LOCKED, PairState.ORPHANED])
        stuck = [p for p in ledger.pairs(states=[PairState.CREATING]) if p.attempts]
    data = {
        "last_sync": latest,
        "runs": [asdict(run) | {"outcomes": outcomes[run.id]} for run in runs],
        "parked": [asdict(p) for p in parked], "failing": [asdict(p) for p in stuck],
    }
    ctx.obj["out"].emit(data, lambda: [
        _table("Last sync, per direction", ["direction", *SUMMARY_COLUMNS],
               [[direction, *row.values()] for direction, row in latest.items()]),
        _table("Last runs", ["run", "direction", "status", "started", "planned", "written"],
               [[r.id, r.direction + (" (dry run)" if r.dry_run else ""), r.status, r.started_at,
                 summarize(Counter({k.split(".", 1)[-1]: v for k, v in r.counts.items() if k != "commands"})),
                 summarize(Counter(outcomes[r.id]))] for r in runs]),
        _table("Conflicts, locked and orphaned", ["pair", "kind", "forecast", "timelog", "state", "reason"],
               [_pair_row(p) for p in parked]),
        _table("Creates that keep failing", ["pair", "kind", "forecast", "timelog", "state", "reason"],
               [_pair_row(p) for p in stuck]),
    ])


@cli.command()
@click.option("--kind", type=click.Choice([kind.value for kind in PairKind]), default=None,
              help="Only pairs of this kind.")
@click.option("--state", "states", type=click.Choice([state.value for state in PairState]), multiple=True,
              help="Only pairs in this state (repeatable).")
@click.pass_context
def pairs(ctx: click.Context, kind: str | None, states: tuple[str, ...]) -> None:
    """The ledger's pairs: each Forecast id with its TimeLog twin, state and reason (--json: every field)."""
    with _ledger(ctx) as ledger:
        found = ledger.pairs(states=[PairState(state) for state in states] or None,
                             kind=PairKind(kind) if kind else None)
    ctx.obj["out"].emit([asdict(pair) for pair in found], lambda: [
        _table("Pairs", ["pair", "kind", "forecast", "timelog", "state", "reason"], [_pair_row(p) for p in found])])


@cli.group()
def conflicts() -> None:
    """List and resolve parked conflicts."""


@conflicts.command("list")
@click.pass_context
def conflicts_list(ctx: click.Context) -> None:
    """Open conflicts with both values."""
    with _ledger(ctx) as ledger:
        pairs = ledger.pairs(states=[PairState.CONFLICT])
    ctx.obj["out"].emit([asdict(p) for p in pairs], lambda: [_table(
        "Open conflicts", ["pair", "forecast", "timelog", "Forecast value", "TimeLog value", "reason"],
        [[p.id, p.forecast_id, p.timelog_id, json.dumps((p.conflict or {}).get("forecast")),
          json.dumps((p.conflict or {}).get("timelog")), p.reason] for p in pairs])])


@conflicts.command("resolve")
@click.argument("pair_id", type=int)
@click.option("--keep", type=click.Choice([side.value for side in Side]), required=True,
              help="The side whose value wins; it is written to the other side on the next sync.")
@click.pass_context
def conflicts_resolve(ctx: click.Context, pair_id: int, keep: str) -> None:
    """Resolve conflict PAIR_ID: the kept value is queued and written by the next `meltano run sync`."""
    from timesync.reconcile.conflicts import resolve_conflict

    links_file = _links(ctx)
    kept = Side(keep)
    with _ledger(ctx) as ledger, _holding_run_lock(ledger):
        pair = ledger.pair(pair_id)
        if pair is None or pair.kind is not PairKind.TIME_ENTRY:
            raise CliError(f"no time-entry pair {pair_id} in the ledger (see `timesync conflicts list`)")
        try:
            commands = resolve_conflict(ledger, links_file, pair, kept)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    click.echo(f"pair {pair_id}: keeping {kept}; {len(commands)} change(s) queued for {kept.other}, written by the "
               "next sync")


# -- the ledger itself -----------------------------------------------------------------------------------


@cli.group("ledger")
def ledger_group() -> None:
    """The ledger database: a consistent copy of it."""


@ledger_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def ledger_backup(ctx: click.Context, path: Path) -> None:
    """Copy a SQLite ledger to PATH, consistently, even while a sync runs (Postgres: use pg_dump)."""
    with _ledger(ctx) as ledger:
        try:
            ledger.backup(path)
        except LedgerBackupError as exc:
            raise CliError(str(exc)) from None
    ctx.obj["out"].emit({"backup": str(path)}, lambda: [f"ledger copied to {path}"])


# -- run lock --------------------------------------------------------------------------------------------


@contextmanager
def _holding_run_lock(ledger: Ledger) -> Iterator[None]:
    """This command's own ledger writes wait for no sync: it holds the run lock while it writes."""
    holder = run_lock.Holder.of(os.getpid())
    try:
        ledger.acquire_run_lock(holder)
    except run_lock.RunLockHeldError as exc:
        raise CliError(str(exc)) from None
    try:
        yield
    finally:
        ledger.release_run_lock(holder)


@cli.group("run-lock")
def run_lock_group() -> None:
    """The job-level lock that keeps two `meltano run sync` apart (job `sync` takes and releases it)."""


@run_lock_group.command("acquire")
@click.pass_context
def run_lock_acquire(ctx: click.Context) -> None:
    """Take the lock for the `meltano run` that invoked this, as the mapper does (for scripts around the sync)."""
    with _ledger(ctx) as ledger:
        try:
            note = ledger.acquire_run_lock(run_lock.Holder.meltano_parent())
        except run_lock.RunLockHeldError as exc:
            raise CliError(str(exc)) from None
    click.echo(note or "run lock taken")


@run_lock_group.command("release")
@click.option("--force", is_flag=True, help="Release it whoever holds it (only when no sync is running).")
@click.pass_context
def run_lock_release(ctx: click.Context, force: bool) -> None:
    """Release the lock of the `meltano run` that invoked this (`timesync:unlock`, the last task of job `sync`)."""
    with _ledger(ctx) as ledger:
        released = ledger.release_run_lock(None if force else run_lock.Holder.meltano_parent())
    click.echo("run lock released" if released else "run lock not held by this run; nothing released")


@run_lock_group.command("show")
@click.pass_context
def run_lock_show(ctx: click.Context) -> None:
    """Who holds the lock, since when, and whether that process still runs."""
    with _ledger(ctx) as ledger:
        held = ledger.run_lock_holder()
    if held is None:
        ctx.obj["out"].emit({"held": False}, lambda: [_table("Run lock", ["held"], [["no"]])])
        return
    holder, since, alive = held
    data = {"held": True, "host": holder.host, "pid": holder.pid, "since": since.isoformat(), "alive": alive}
    ctx.obj["out"].emit(data, lambda: [_table("Run lock", ["host", "pid", "since", "holder alive"],
                                              [[holder.host, holder.pid, since, "yes" if alive else "no (stale)"]])])


# -- doctor ----------------------------------------------------------------------------------------------

#: How a finding's status is shown, so the three line up.
STATUS_WIDTH = 5


@cli.command()
@click.option("--write-probe", "probe_task", type=int, default=None, metavar="TASK_ID",
              help="Also insert one 1-minute unit on this TimeLog task, read it back and delete it (a write).")
@click.pass_context
def doctor(ctx: click.Context, probe_task: int | None) -> None:
    """Check both accounts, the settings and the links; read-only unless --write-probe. Exit 1 on any fail."""
    from timesync.doctor import Site, Status, run_checks
    from timesync.write_probe import write_probe

    services: Services = ctx.obj["services"]
    with _ledger(ctx) as ledger:
        try:
            site = Site(forecast=services.forecast(), timelog=services.timelog(), ledger=ledger,
                        links=lambda: load_links(ctx.obj["links_path"]), site_timezone=_site_timezone(),
                        system_name=os.environ.get(f"{TIMELOG_ENV_PREFIX}EXTERNAL_SYSTEM_NAME") or "Forecast",
                        additional_text=os.environ.get("TARGET_TIMELOG_ADDITIONAL_TEXT") or None)
        except Exception as exc:  # a setting missing or invalid before anything could be checked
            raise CliError(f"cannot check: {exc}") from None
        findings = run_checks(site)
        if probe_task is not None:
            findings += write_probe(site, probe_task)
    if ctx.obj["out"].as_json:
        click.echo(json.dumps([asdict(finding) for finding in findings], indent=2))
    else:
        width = max(len(finding.check) for finding in findings)
        for finding in findings:
            click.echo(f"{finding.status:<{STATUS_WIDTH}} {finding.check:<{width}}  {finding.detail}")
            if finding.fix and finding.status is not Status.OK:
                click.echo(f"{'':<{STATUS_WIDTH}} {'':<{width}}  fix: {finding.fix}")
    if any(finding.status is Status.FAIL for finding in findings):
        ctx.exit(1)


# -- plan ------------------------------------------------------------------------------------------------


@cli.command()
@click.option("--no-run", is_flag=True, help="Only print the plans of the latest dry runs already recorded.")
@click.pass_context
def plan(ctx: click.Context, no_run: bool) -> None:
    """A dry run of the next sync: both pipelines with dry_run on and no state saved, then the plan."""
    services: Services = ctx.obj["services"]
    if not no_run:
        meltano = shutil.which("meltano") or str(Path(sys.executable).with_name("meltano"))
        for tap, target in PLAN_PIPELINES:
            argv = [meltano, "run", "--no-state-update", tap, "reconcile", target]
            code = services.run(argv, {MAPPER_DRY_RUN_ENV: "true"})
            if code != 0:
                raise CliError(f"`{' '.join(argv[1:])}` failed with exit code {code} (see its log above)")
    with _ledger(ctx) as ledger:
        dry = [run for run in ledger.runs(limit=RECENT_RUNS) if run.status is RunStatus.DRY_RUN]
        latest: dict[str, Run] = {}
        for run in dry:
            latest.setdefault(run.direction, run)
        lines = {direction: plan_lines(ledger, run.id) for direction, run in latest.items()}
    if not lines:
        raise CliError("no dry run recorded yet; run `timesync plan` inside the Meltano project")
    if ctx.obj["out"].as_json:
        click.echo(json.dumps(lines, indent=2))
        return
    for direction in (str(d) for d in Direction):
        for line in lines.get(direction, []):
            click.echo(line)


# `timesync report`: one HTML page (or --json) of what the sync did and whether both sides agree.
cli.add_command(report_command)


def main() -> None:
    """Console entry point (`timesync`, also `meltano invoke timesync`)."""
    cli(prog_name="timesync")


if __name__ == "__main__":
    main()
