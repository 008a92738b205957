"""What every `timesync` command shares: the settings from the environment, the services it talks to, the
ledger and links it opens, its output, and the root `cli` group."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from timesync.backfill import SYNC_PIPELINES, meltano_executable
from timesync.ledger import (
    Ledger,
    default_ledger_url,
    run_lock,
)
from timesync.ledger.store import EmptyLedgerUrlError
from timesync.links import LinksError, load_links
from timesync.model import Direction

# Where each plugin's settings come from: Meltano's env var convention <PLUGIN>_<SETTING>.
TIMELOG_ENV_PREFIX = "TAP_TIMELOG_"
FORECAST_ENV_PREFIX = "TAP_FORECAST_"
CLI_ENV_PREFIX = "TIMESYNC_"
RECENT_RUNS = 10
RUN_ITEMS_SCANNED_FOR_LINKS = 20
# `timesync plan`: the two pipelines of job `sync`, run with the mapper's dry_run on and no state saved.
#: `ledger rebuild`: each direction's pipeline of job `sync`, whose Meltano state it records as passed on.
PIPELINE_OF_DIRECTION = dict(zip((Direction.FORECAST_TO_TIMELOG, Direction.TIMELOG_TO_FORECAST), SYNC_PIPELINES,
                                 strict=True))
MELTANO_ENVIRONMENT_ENV = "MELTANO_ENVIRONMENT"
#: How much of a failed subprocess's error output a message quotes.
STDERR_TAIL = 500
#: `ledger rebuild`: history read when links.yml gives no start dates, and how far ahead time may be registered.
REBUILD_DEFAULT_YEARS = 3
REBUILD_FUTURE_DAYS = 366
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


def _default_meltano_state(suffix: str | None) -> dict[Direction, dict[str, Any] | None]:
    """The Singer state Meltano holds for each pipeline of job `sync` (what its taps resume from next); None for a
    pipeline that has none. Without ``suffix``, the one state id of the pipeline in this environment, if any."""
    environment = os.environ.get(MELTANO_ENVIRONMENT_ENV)
    if not environment:
        raise CliError("`timesync ledger rebuild --apply` records the bookmarks Meltano holds, so it runs inside the "
                       "Meltano project: `meltano invoke timesync ledger rebuild --apply` (MELTANO_ENVIRONMENT is "
                       "not set)")
    states: dict[Direction, dict[str, Any] | None] = {}
    for direction, (tap, target) in PIPELINE_OF_DIRECTION.items():
        state_id = f"{environment}:{tap}-to-{target}"
        if suffix:
            found = [f"{state_id}:{suffix}"]
        else:
            found = _meltano_output("state", "list", "--pattern", f"{state_id}*")
            if len(found) > 1:
                raise CliError(f"Meltano holds several states of `{tap} ... {target}` ({', '.join(found)}); name the "
                               "one job `sync` runs with: --state-id-suffix (as given to `meltano run`)")
        printed = [line for line in _meltano_output("state", "get", found[0]) if line.startswith("{")] if found else []
        states[direction] = (json.loads(printed[-1]).get("singer_state") or None) if printed else None
    return states


def _meltano_output(*args: str) -> list[str]:
    """The non-empty lines `meltano ARGS` prints on stdout; a failure is an error naming the command."""
    done = subprocess.run([meltano_executable(), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CliError(f"`meltano {' '.join(args)}` failed (exit {done.returncode}): "
                       f"{done.stderr.strip()[-STDERR_TAIL:]}")
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


@dataclass
class Services:
    """What the commands talk to; tests replace the API factories with fakes."""

    forecast: Callable[[], Any]
    timelog: Callable[[], Any]
    run: Callable[[list[str], dict[str, str]], int]
    meltano_state: Callable[[str | None], dict[Direction, dict[str, Any] | None]] = _default_meltano_state
    harvest: Callable[[], Any] = field(default=lambda: _default_harvest())
    forecast_webhooks: Callable[[], Any] = field(default=lambda: _default_forecast_webhooks())


# The API clients and the reconcile engine import requests, zeep and singer-sdk: imported where used, so
# `timesync:finish`, which runs in every sync, starts in a fraction of the time.
def _forecast_connection() -> tuple[str, str]:
    """The API key and base URL, from tap-forecast's settings as Meltano passes them to this utility."""
    from forecast_api import CONNECTION_SETTINGS, DEFAULT_BASE_URL

    config = env_config(FORECAST_ENV_PREFIX, CONNECTION_SETTINGS)
    return config.get("api_key", ""), config.get("base_url") or DEFAULT_BASE_URL


def _default_forecast() -> Any:
    from forecast_api import ForecastReader

    return ForecastReader(*_forecast_connection())


def _default_forecast_webhooks() -> Any:
    from forecast_api import ForecastWebhooks

    return ForecastWebhooks(*_forecast_connection())


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
