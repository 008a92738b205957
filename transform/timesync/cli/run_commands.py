"""`timesync run-lock`, `finish`, `doctor` and `plan`: around the runs of job `sync`."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict

import click

from timesync.backfill import SYNC_PIPELINES, describe, meltano_executable, run_backfills
from timesync.cli.base import (
    MAPPER_DRY_RUN_ENV,
    RECENT_RUNS,
    TIMELOG_ENV_PREFIX,
    CliError,
    Services,
    _ledger,
    _site_timezone,
    _table,
    cli,
)
from timesync.ledger import (
    Run,
    RunStatus,
    run_lock,
)
from timesync.links import load_links
from timesync.model import Direction
from timesync.reconcile.report import plan_lines

# -- run lock --------------------------------------------------------------------------------------------


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
    """Release the lock of the `meltano run` that invoked this (for scripts; job `sync` ends with `timesync:finish`)."""
    with _ledger(ctx) as ledger:
        released = ledger.release_run_lock(None if force else run_lock.Holder.meltano_parent())
    click.echo("run lock released" if released else "run lock not held by this run; nothing released")


@cli.command()
@click.pass_context
def finish(ctx: click.Context) -> None:
    """The last task of job `sync`: run the backfills new links asked for, then release this run's lock."""
    services: Services = ctx.obj["services"]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")  # each backfill's start and end
    holder = run_lock.Holder.meltano_parent()
    with _ledger(ctx) as ledger:
        try:
            ledger.acquire_run_lock(holder)  # held since the mapper took it; taken here when invoked alone
        except run_lock.RunLockHeldError as exc:
            raise CliError(str(exc)) from None
        try:
            failed = run_backfills(ledger, services.run, meltano_executable())
        finally:
            ledger.release_run_lock(holder)
    if failed:
        raise CliError(f"{len(failed)} backfill(s) failed and stay queued for the next run: "
                       + "; ".join(describe(b.request) for b in failed))
    click.echo("run lock released")


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
        meltano = meltano_executable()
        for tap, target in SYNC_PIPELINES:
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
