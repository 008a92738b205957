"""`timesync status`, `pairs` and `conflicts list|resolve`: what the ledger holds, and settling a conflict."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from typing import Any

import click

from timesync.backfill import describe
from timesync.cli.base import RECENT_RUNS, CliError, _holding_run_lock, _ledger, _links, _table, cli
from timesync.ledger import (
    Ledger,
    PairKind,
    PairState,
)
from timesync.model import Side
from timesync.reconcile.report import SUMMARY_COLUMNS, last_sync, summarize

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
        parked = ledger.pairs(states=[PairState.CONFLICT, PairState.LOCKED, PairState.ORPHANED,
                                      PairState.LEFT_BEHIND])
        stuck = [p for p in ledger.pairs(states=[PairState.CREATING]) if p.attempts]
        backfills = ledger.backfills(limit=RECENT_RUNS)
    data = {
        "last_sync": latest,
        "runs": [asdict(run) | {"outcomes": outcomes[run.id]} for run in runs],
        "parked": [asdict(p) for p in parked], "failing": [asdict(p) for p in stuck],
        "backfills": [asdict(b) for b in backfills],
    }
    ctx.obj["out"].emit(data, lambda: [
        _table("Last sync, per direction", ["direction", *SUMMARY_COLUMNS],
               [[direction, *row.values()] for direction, row in latest.items()]),
        _table("Last runs", ["run", "direction", "status", "started", "planned", "written"],
               [[r.id, r.direction + (" (dry run)" if r.dry_run else ""), r.status, r.started_at,
                 summarize(Counter({k.split(".", 1)[-1]: v for k, v in r.counts.items() if k != "commands"})),
                 summarize(Counter(outcomes[r.id]))] for r in runs]),
        _table("Conflicts, locked, orphaned and left behind",
               ["pair", "kind", "forecast", "timelog", "state", "reason"], [_pair_row(p) for p in parked]),
        _table("Creates that keep failing", ["pair", "kind", "forecast", "timelog", "state", "reason"],
               [_pair_row(p) for p in stuck]),
        _table("Backfills of new links", ["id", "link", "state", "asked", "finished", "attempts", "message"],
               [[b.id, describe(b.request), b.state, b.requested_at, b.finished_at, b.attempts, b.message]
                for b in backfills]),
    ])


@cli.group(invoke_without_command=True)
@click.option("--kind", type=click.Choice([kind.value for kind in PairKind]), default=None,
              help="Only pairs of this kind.")
@click.option("--state", "states", type=click.Choice([state.value for state in PairState]), multiple=True,
              help="Only pairs in this state (repeatable).")
@click.pass_context
def pairs(ctx: click.Context, kind: str | None, states: tuple[str, ...]) -> None:
    """The ledger's pairs: each Forecast id with its TimeLog twin, state and reason (--json: every field).

    `relink` and `release` settle a pair left behind by an entry moved out of scope."""
    if ctx.invoked_subcommand is not None:
        return
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


def _left_behind(ledger: Ledger, pair_id: int) -> None:
    pair = ledger.pair(pair_id)
    if pair is None or pair.state is not PairState.LEFT_BEHIND:
        raise CliError(f"pair {pair_id} is not left behind (see `timesync pairs --state left_behind`)")


@pairs.command("relink")
@click.argument("pair_id", type=int)
@click.pass_context
def pairs_relink(ctx: click.Context, pair_id: int) -> None:
    """Sync a left-behind pair again, once its entry is back in a linked project (the next change on either side
    is written as usual; an entry still out of scope is left behind again)."""
    with _ledger(ctx) as ledger, _holding_run_lock(ledger):
        _left_behind(ledger, pair_id)
        ledger.settle_pair(pair_id, PairState.LINKED, "relinked by `timesync pairs relink`")
    click.echo(f"pair {pair_id}: synced again from the next run")


@pairs.command("release")
@click.argument("pair_id", type=int)
@click.pass_context
def pairs_release(ctx: click.Context, pair_id: int) -> None:
    """Let a left-behind pair go: both entries stay as they are, and neither is synced again."""
    with _ledger(ctx) as ledger, _holding_run_lock(ledger):
        _left_behind(ledger, pair_id)
        ledger.settle_pair(pair_id, PairState.DELETED, "released by `timesync pairs release`: both entries kept")
    click.echo(f"pair {pair_id}: released; both entries stay as they are, unsynced")
