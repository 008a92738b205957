"""`timesync report`: the click command (registered on the CLI group in ``timesync.cli``).

Only click is imported here: every `timesync` start-up (`timesync:finish` runs in each sync) imports this module,
so the report's own dependencies (Jinja2, matplotlib) load when the command runs.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from timesync.ledger import Ledger

DEFAULT_REPORT_PATH = Path("output") / "report.html"
DEFAULT_WEEKS = 13
DEFAULT_RUNS = 60
#: The connection settings whose values never appear on the page (invariant 9), read as the CLI reads them.
SECRET_SETTINGS = ("api_key", "password", "site_code", "reporting_password")
#: What the page needs beyond the CLI (the `report` extra of the timesync package); --json needs neither.
PAGE_MODULES = ("jinja2", "matplotlib")
MISSING_EXTRA = ("`timesync report` needs {missing} to draw the page: install the report extra "
                 "(`pip install './transform[report]'`), or use --json")


def _links(links_path: str, ledger: Ledger) -> tuple[Any, list[str]]:
    """links.yml; without one, the copy the last run kept in the ledger (a bad file is an error, not a fallback)."""
    from timesync.links import LinksError, load_links
    from timesync.report.gather import links_from_ledger

    try:
        return load_links(links_path), []
    except LinksError as exc:
        if not isinstance(exc.__cause__, FileNotFoundError):
            raise click.ClickException(str(exc)) from None
        return links_from_ledger(ledger), [f"{links_path} was not found: the links the last run copied into the "
                                           "ledger are used."]


def _secrets() -> list[str]:
    """The secret settings' values from the environment, as `links suggest` and the taps receive them."""
    from timesync.cli import FORECAST_ENV_PREFIX, TIMELOG_ENV_PREFIX

    return [value for prefix in (FORECAST_ENV_PREFIX, TIMELOG_ENV_PREFIX) for name in SECRET_SETTINGS
            if (value := os.environ.get(f"{prefix}{name.upper()}"))]


@click.command("report")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Where to write the page (default {DEFAULT_REPORT_PATH}; with --json, standard output).")
@click.option("--json", "as_json", is_flag=True, help="Write the same data as JSON instead of the page.")
@click.option("--ledger-only", is_flag=True, help="Read no API: every figure from the ledger, as last synced.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day compared (its whole week). Default: --weeks weeks up to --until.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day compared (its whole week). Default: today (UTC).")
@click.option("--weeks", type=click.IntRange(1, 520), default=DEFAULT_WEEKS, show_default=True,
              help="Weeks compared when --since is not given.")
@click.option("--runs", "runs_limit", type=click.IntRange(1, 10_000), default=DEFAULT_RUNS, show_default=True,
              help="How many of the latest runs the runs chart shows.")
@click.pass_context
def report(ctx: click.Context, out_path: Path | None, as_json: bool, ledger_only: bool, since: dt.datetime | None,
           until: dt.datetime | None, weeks: int, runs_limit: int) -> None:
    """One self-contained HTML page: both sides' hours per project and week, runs, what needs a person, links.

    The hours are read from both APIs (the taps' settings, as `links check` reads them); with --ledger-only, or
    when an API cannot be read, from the ledger, and the page says so.
    """
    from timesync.ledger import Ledger
    from timesync.report.gather import build_report
    from timesync.report.model import Window
    from timesync.report.render import write_report

    as_json = as_json or ctx.obj["out"].as_json
    missing = [name for name in PAGE_MODULES if importlib.util.find_spec(name) is None]
    if missing and not as_json:
        raise click.ClickException(MISSING_EXTRA.format(missing=", ".join(missing)))
    last = until.date() if until else dt.datetime.now(dt.UTC).date()
    try:
        window = Window.of(since.date(), last) if since else Window.last_weeks(weeks, last)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    services = ctx.obj["services"]
    with Ledger.open(ctx.obj["ledger_url"]) as ledger:
        links, notes = _links(ctx.obj["links_path"], ledger)
        data = build_report(ledger, links, window, runs_limit=runs_limit, secrets=_secrets(), notes=notes,
                            forecast=None if ledger_only else services.forecast,
                            timelog=None if ledger_only else services.timelog)
    if as_json and out_path is None:
        click.echo(json.dumps(data.to_json(), indent=2))
        return
    for source in data.sources:
        if source.error and not ledger_only:
            click.echo(f"note: {source.side} figures come from the ledger: {source.error}", err=True)
    written = write_report(data, out_path or DEFAULT_REPORT_PATH, as_json=as_json)
    click.echo(f"wrote {written.resolve()}")
