"""`timesync links suggest|check`: propose links from both directories, and check links.yml against them."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import click

from timesync.cli.base import RUN_ITEMS_SCANNED_FOR_LINKS, CliError, Output, Services, _ledger, _links, _table, cli
from timesync.ledger import (
    Ledger,
)
from timesync.linking import Directory, read_directory, render_links_yaml, suggest_links
from timesync.links import TOOLS, LinksError

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
