"""`timesync ledger backup|rebuild`: a consistent copy of the ledger, and re-pairing a lost or stale one."""

from __future__ import annotations

import datetime as dt
import json
import os
from contextlib import nullcontext
from pathlib import Path

import click

from timesync.cli.base import (
    REBUILD_DEFAULT_YEARS,
    REBUILD_FUTURE_DAYS,
    TIMELOG_ENV_PREFIX,
    CliError,
    Output,
    Services,
    _holding_run_lock,
    _ledger,
    _links,
    _table,
    cli,
)
from timesync.ledger import (
    LedgerBackupError,
    PairKind,
)

# -- the ledger itself -----------------------------------------------------------------------------------


@cli.group("ledger")
def ledger_group() -> None:
    """The ledger database: a consistent copy of it, and re-pairing a lost one."""


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


@ledger_group.command("rebuild")
@click.option("--apply", "apply_", is_flag=True,
              help="Write the pairs and record Meltano's bookmarks as passed on (default: a dry run, nothing written).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First date re-paired. Default: the earliest start_date in links.yml when every project link has "
                   f"one, else {REBUILD_DEFAULT_YEARS} years back. Reach back to the oldest entry anyone still edits.")
@click.option("--examples", type=click.IntRange(0, 1000), default=5, show_default=True,
              help="Examples shown per outcome.")
@click.option("--state-id-suffix", default=None,
              help="With --apply: the suffix job `sync`'s state ids carry (as given to `meltano run`), when Meltano "
                   "holds more than one state of a pipeline.")
@click.pass_context
def ledger_rebuild(ctx: click.Context, apply_: bool, since: dt.datetime | None, examples: int,
                   state_id_suffix: str | None) -> None:
    """Re-pair a lost or stale ledger from what both sides hold: tasks by external key, time by fingerprint.

    Ambiguous matches are parked for a person, never guessed; entries without a twin are left for the next sync.
    A dry run unless --apply.
    """
    from timesync.adapters.timelog import GUID_MODEL_FACT
    from timesync.rebuild.repair import apply_rebuild, plan_rebuild
    from timesync.rebuild.sides import RebuildReadError, guid_model_setting, history_window, read_holdings

    links_file = _links(ctx)
    services: Services = ctx.obj["services"]
    with _ledger(ctx) as ledger, (_holding_run_lock(ledger) if apply_ else nullcontext()):
        # Meltano's state first: under the lock no sync moves it, and a project it cannot be read in stops here.
        states = services.meltano_state(state_id_suffix) if apply_ else {}
        window = history_window(links_file, since.date() if since else None, dt.datetime.now(dt.UTC).date(),
                                default_years=REBUILD_DEFAULT_YEARS, future_days=REBUILD_FUTURE_DAYS)
        try:
            model, model_source = guid_model_setting(os.environ.get(f"{TIMELOG_ENV_PREFIX}GUID_MODEL"),
                                                     ledger.facts().get(GUID_MODEL_FACT))
            paired = {pair.timelog_id for pair in ledger.pairs(kind=PairKind.TIME_ENTRY) if pair.timelog_id}
            holdings = read_holdings(
                services.forecast(), services.timelog(), links_file, window, paired=paired,
                system_name=os.environ.get(f"{TIMELOG_ENV_PREFIX}EXTERNAL_SYSTEM_NAME") or "Forecast",
                guid_model=model, guid_model_source=model_source)
        except RebuildReadError as exc:
            raise CliError(str(exc)) from None
        except Exception as exc:  # an API that cannot be read: nothing was written
            raise CliError(f"could not read the systems: {exc}") from None
        plan = plan_rebuild(ledger, links_file, holdings, window, examples=examples)
        run_ids = apply_rebuild(ledger, links_file, plan, states) if apply_ else []
    data = plan.to_json() | {"applied": apply_, "runs": run_ids}
    if ctx.obj["out"].as_json:
        click.echo(json.dumps(data, indent=2))
        return
    out: Output = ctx.obj["out"]
    click.echo(f"dates {data['window']['first']}..{data['window']['last']}; TimeLog work keyed by "
               f"{plan.guid_model or '(no work found)'} {plan.guid_model_source}".rstrip())
    out.console.print(_table("Ledger rebuild" + ("" if apply_ else " (dry run)"), ["what", "how many"],
                             [[key, value] for key, value in data["counts"].items()]))
    for category, found in plan.examples.items():
        out.console.print(_table(f"Examples: {category}", ["example"], [[json.dumps(e)] for e in found]))
    if apply_:
        click.echo(f"written as runs {', '.join(map(str, run_ids))}; `meltano run sync` goes on from here: it creates "
                   "the unmatched entries changed since its bookmarks (`meltano run --full-refresh sync` creates "
                   "older ones too), and `timesync status` lists what was parked")
    else:
        click.echo("dry run: nothing written; run again with --apply to write these pairs")
