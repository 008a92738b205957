"""`timesync tenants list|check|prepare|run`: the tenant registry (tenants.yml) of an installation that syncs many
company pairs, and one tenant's `meltano run sync`.

An orchestrator needs nothing else: `list --json` tells it the tenants and their schedules, `run NAME` runs one
(the Dagster code location in orchestrate/ does both, from its own virtualenv)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import click
import yaml

from timesync.cli.base import STDERR_TAIL, CliError, _table, cli
from timesync.links import LinksError, load_links
from timesync.tenants import DEFAULT_FILE, Registry, TenantsError, load_tenants

#: `tenants run`'s exit code when the registry or the environment is wrong (sysexits' EX_CONFIG): retrying
#: cannot help, so an orchestrator should alert at once.
EXIT_CONFIG = 78

_FILE_OPTION = click.option("--file", "registry_path", envvar="TIMESYNC_TENANTS_FILE", default=DEFAULT_FILE,
                            show_default=True, type=click.Path(dir_okay=False),
                            help="The tenant registry (env TIMESYNC_TENANTS_FILE).")


def _registry(path: str) -> Registry:
    try:
        return load_tenants(path)
    except TenantsError as exc:
        raise CliError(str(exc)) from exc


def _environments(project_root: Path) -> set[str] | None:
    """The Meltano environments meltano.yml defines, or None where there is no meltano.yml to read."""
    meltano_yml = project_root / "meltano.yml"
    if not meltano_yml.is_file():
        return None
    data = yaml.safe_load(meltano_yml.read_text(encoding="utf-8")) or {}
    return {str(environment.get("name")) for environment in data.get("environments") or []}


def registry_problems(registry: Registry, environ: dict[str, str] | None) -> list[tuple[str, str]]:
    """(tenant, problem) for everything that would stop a tenant's run, beyond the file's own shape: its links
    file, its Meltano environment, and (unless ``environ`` is None) the variables it names."""
    problems: list[tuple[str, str]] = []
    environments = _environments(registry.project_root)
    if environments is None:
        problems.append(("(all)", f"project_root {registry.project_root} holds no meltano.yml"))
    for tenant in registry.tenants:
        try:
            load_links(tenant.links_path)
        except LinksError as exc:
            problems.append((tenant.name, str(exc)))
        if environments is not None and tenant.environment not in environments:
            problems.append((tenant.name, f"Meltano environment {tenant.environment!r} is not in meltano.yml "
                                          f"(it has: {', '.join(sorted(environments))})"))
        if environ is not None:
            missing = [name for name in tenant.variables_needed() if not environ.get(name)]
            if missing:
                problems.append((tenant.name, f"environment variable(s) not set: {', '.join(missing)}"))
    if environ is not None and registry.meltano_database_uri:
        try:
            registry.meltano_database(registry.tenants[0], environ)
        except TenantsError as exc:
            problems.append(("(all)", f"meltano_database_uri: {exc}"))
    return problems


@cli.group()
def tenants() -> None:
    """The tenant registry (tenants.yml): many company pairs on one installation."""


@tenants.command("list")
@_FILE_OPTION
@click.pass_context
def list_tenants(ctx: click.Context, registry_path: str) -> None:
    """The tenants, their schedules and Meltano state ids, and the orchestrator settings (--json for scripts)."""
    registry = _registry(registry_path)
    settings = registry.orchestrator
    rows: list[dict[str, Any]] = [{"name": t.name, "environment": t.environment, "state_id_suffix": t.state_id_suffix,
                                   "schedule": t.schedule} for t in registry.tenants]
    data = {
        "file": str(registry.source),
        "project_root": str(registry.project_root),
        "orchestrator": {"schedule": settings.schedule, "schedule_running": settings.schedule_running,
                         "retries": settings.retries, "retry_delay_seconds": settings.retry_delay_seconds,
                         "alert": settings.alert},
        "tenants": rows,
    }
    ctx.obj["out"].emit(data, lambda: [_table(f"Tenants in {registry.source}",
                                              ["tenant", "environment", "state id suffix", "schedule"],
                                              [list(t.values()) for t in rows])])


@tenants.command("check")
@_FILE_OPTION
@click.option("--skip-env", is_flag=True,
              help="Do not check that the variables the registry names are set (e.g. on a machine without secrets).")
@click.pass_context
def check(ctx: click.Context, registry_path: str, skip_env: bool) -> None:
    """Validate the registry: its shape, every tenant's links file and Meltano environment, and the variables
    each names for its secrets. Exit 1 with every problem listed; values are never printed."""
    registry = _registry(registry_path)
    problems = registry_problems(registry, None if skip_env else dict(os.environ))
    rows: list[dict[str, Any]] = [
        {"tenant": t.name, "environment": t.environment, "state_id_suffix": t.state_id_suffix,
         "links_path": str(t.links_path), "schedule": t.schedule, "variables": t.variables_needed()}
        for t in registry.tenants
    ]
    ctx.obj["out"].emit({"file": str(registry.source), "tenants": rows,
                         "problems": [{"tenant": name, "problem": text} for name, text in problems]}, lambda: [
        _table(f"Tenants in {registry.source}", ["tenant", "environment", "state id suffix", "schedule",
                                                 "variables"],
               [[r["tenant"], r["environment"], r["state_id_suffix"], r["schedule"], ", ".join(r["variables"])]
                for r in rows]),
        *([_table("Problems", ["tenant", "problem"], [list(p) for p in problems])] if problems else []),
    ])
    if problems:
        raise CliError(f"{len(problems)} problem(s) in {registry.source}; fix them and check again")


@tenants.command("prepare")
@_FILE_OPTION
def prepare(registry_path: str) -> None:
    """Create every tenant's Meltano sys dir, and Meltano's tables in each system database, one at a time
    (Meltano creates them on first use, and two first uses at once collide). Run it after editing the registry."""
    registry = _registry(registry_path)
    initialized: set[str] = set()
    for tenant in registry.tenants:
        registry.prepare(tenant)
        try:
            env = registry.run_env(tenant)
        except TenantsError as exc:
            raise CliError(str(exc)) from exc
        if env["MELTANO_DATABASE_URI"] in initialized:
            continue
        argv = [*registry.sync_argv(tenant)[:1], "state", "list", "--pattern", "none-such"]
        done = subprocess.run(argv, cwd=registry.project_root, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CliError(f"tenant {tenant.name}: `meltano state list` failed ({done.returncode}): "
                           f"{done.stderr[-STDERR_TAIL:]}")
        initialized.add(env["MELTANO_DATABASE_URI"])
        click.echo(f"tenant {tenant.name}: ready ({registry.sys_dir(tenant)})")


@tenants.command("run", context_settings={"ignore_unknown_options": True})
@_FILE_OPTION
@click.option("--job", default="sync", show_default=True, help="The Meltano job to run.")
@click.argument("name")
def run(registry_path: str, job: str, name: str) -> None:
    """`meltano run JOB` for tenant NAME: its settings, ledger, links file and state id (for cron, or to try
    one tenant by hand). Exits with Meltano's exit code, or 78 when the registry or a variable it names is wrong."""
    try:
        registry = load_tenants(registry_path)
        tenant = registry.tenant(name)
        env = registry.run_env(tenant)
    except TenantsError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from exc
    registry.prepare(tenant)
    done = subprocess.run(registry.sync_argv(tenant, job), cwd=registry.project_root, env=env, check=False)
    if done.returncode:
        raise SystemExit(done.returncode)
