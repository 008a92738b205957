"""Build the report's data from the ledger and, unless told not to, both APIs: the one entry point, ``build_report``.

The ledger knows what the sync did and why (runs, pairs, states, reasons). Only the APIs know what each side
holds now. So the agreement figures come from the APIs when both can be read, and from the ledger's snapshots
otherwise, and the page names the source of every figure and why an API was not used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from timesync.adapters.timelog import GUID_MODEL_FACT
from timesync.ledger import MAX_REPLAY_ATTEMPTS, Ledger, Pair, PairKind, PairState
from timesync.links import Links
from timesync.model import Direction, Side
from timesync.reconcile.report import direction_summary
from timesync.report import agreement
from timesync.report.model import (
    Attention,
    AttentionItem,
    FigureSource,
    LinkedPerson,
    LinkedProject,
    Report,
    RunPoint,
    SideSource,
    UnlinkedWithTime,
    Window,
)
from timesync.report.sources import FORECAST_SOURCE, TIMELOG_SOURCE, forecast_entries, timelog_entries

#: How many of the latest runs the runs chart shows (both directions count: one job `sync` is two runs).
DEFAULT_RUNS = 60
LEDGER_SOURCE = "ledger: each pair's snapshot as last synced (open conflicts at their parked values)"
REDACTED = "[redacted]"
#: Secrets shorter than this are not searched for in messages: they would match ordinary words.
MIN_SECRET_LENGTH = 4
SIDES = frozenset(str(side) for side in Side)

# (side, factory, reader): a factory builds an API client; the reader lists one side's entries with it.
SideReader = tuple[Side, Callable[[], Any], Callable[[Any, Links, Window], list[Any]]]


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets`` (error messages are shown on the page; invariant 9)."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def build_report(ledger: Ledger, links: Links, window: Window, *, forecast: Callable[[], Any] | None = None,
                 timelog: Callable[[], Any] | None = None, runs_limit: int = DEFAULT_RUNS,
                 secrets: Iterable[str] = (), notes: Iterable[str] = (), now: dt.datetime | None = None) -> Report:
    """The whole report. ``forecast``/``timelog`` build API clients; None for both means ledger only."""
    now = now or dt.datetime.now(dt.UTC)
    secrets = tuple(secrets)
    project_names = {side: ledger.directory_names(side, "project") for side in Side}
    person_names = {side: ledger.directory_names(side, "person") for side in Side}
    pairs = ledger.pairs(kind=PairKind.TIME_ENTRY)
    read_at = now.strftime("%Y-%m-%d %H:%M UTC")
    readers: list[SideReader] = []
    if forecast is not None and timelog is not None:
        paired = {pair.timelog_id for pair in pairs if pair.timelog_id}
        model = ledger.facts().get(GUID_MODEL_FACT, (None, None))[0]
        readers = [(Side.FORECAST, forecast, forecast_entries),
                   (Side.TIMELOG, timelog, partial(timelog_entries, paired=paired, guid_model=model))]
    entries, errors = _read_both(readers, links, window, secrets)
    unlinked_minutes: dict[tuple[str, str], int] = {}
    if entries is not None:
        rows, unlinked_minutes = agreement.from_entries(links, window, entries, pairs, project_names[Side.FORECAST])
        sources = [SideSource("forecast", FigureSource.API, f"{FORECAST_SOURCE}, read {read_at}"),
                   SideSource("timelog", FigureSource.API, f"{TIMELOG_SOURCE}, read {read_at}")]
    else:
        rows = agreement.from_ledger(links, window, pairs, project_names[Side.FORECAST])
        why = "--ledger-only was given" if not readers else None
        sources = [SideSource(str(side), FigureSource.LEDGER, LEDGER_SOURCE, errors.get(side, why)) for side in Side]
    return Report(
        generated_at=now, window=window, sources=sources, agreement=rows, runs=runs_over_time(ledger, runs_limit),
        attention=needs_a_person(ledger, project_names[Side.FORECAST], entries),
        projects=[LinkedProject(p.forecast, project_names[Side.FORECAST].get(p.forecast), p.timelog,
                                project_names[Side.TIMELOG].get(p.timelog), p.start_date) for p in links.projects],
        persons=[LinkedPerson(p.forecast, person_names[Side.FORECAST].get(p.forecast), p.timelog,
                              person_names[Side.TIMELOG].get(p.timelog)) for p in links.persons],
        unlinked=unlinked_with_time(ledger, person_names, project_names, unlinked_minutes, measured=bool(entries)),
        notes=list(notes),
    )


def _read_both(readers: list[SideReader], links: Links, window: Window,
               secrets: tuple[str, ...]) -> tuple[dict[Side, list[Any]] | None, dict[Side, str]]:
    """Both sides' entries, or None with the reason per side: one side from an API and the other from the ledger
    would show differences that are only the ledger's age, so either both come from the APIs or neither does."""
    entries: dict[Side, list[Any]] = {}
    errors: dict[Side, str] = {}
    for side, factory, read in readers:
        client = None
        try:
            client = factory()
            entries[side] = read(client, links, window)
        except Exception as exc:  # any failure falls back to the ledger, and the page says why
            errors[side] = redact(f"the {side} API could not be read ({type(exc).__name__}: {exc})", secrets)
        finally:
            if client is not None and hasattr(client, "close"):
                client.close()
    if errors:
        for side, _, _ in readers:
            errors.setdefault(side, f"the {side.other} API could not be read, so both sides use the ledger")
        return None, errors
    return (entries or None), errors


def links_from_ledger(ledger: Ledger) -> Links:
    """The links the last run copied into the ledger (when links.yml itself cannot be read)."""
    return ledger.stored_links()


def runs_over_time(ledger: Ledger, limit: int = DEFAULT_RUNS) -> list[RunPoint]:
    """The latest runs (dry runs left out: they wrote nothing), oldest first, with what each one did.

    A run's time is from its start to its last recorded item: the mapper closes the run when its plan is out, and
    the target records each write after that.
    """
    runs = list(reversed([run for run in ledger.runs(limit=limit) if not run.dry_run]))
    last_item = ledger.last_item_times(run.id for run in runs)
    points = []
    for run in runs:
        row = direction_summary(ledger, run)
        ends = [stamp for stamp in (run.finished_at, last_item.get(run.id)) if stamp is not None]
        seconds = max((end - run.started_at).total_seconds() for end in ends) if ends else None
        points.append(RunPoint(run.id, run.direction, str(run.status), run.started_at, seconds, row["created"],
                               row["updated"], row["deleted"], row["conflicts"], row["locked"], row["failed"],
                               row["out of scope"], run.message))
    return points


def _value(pair: Pair, side: Side) -> dict[str, Any] | None:
    """The value a person compares: a conflict's parked value, else the last synced one."""
    if pair.conflict and pair.conflict.get(str(side)) is not None:
        value: dict[str, Any] = pair.conflict[str(side)]
        return value
    return pair.base_on(side)


def _target_name(pair: Pair) -> str:
    """The system a failing create writes to (the direction of its pending command)."""
    directions = {command.get("direction") for command in pair.pending}
    if len(directions) == 1 and (direction := directions.pop()) is not None:
        return agreement.SIDE_NAMES[Direction(direction).target]
    return "the target system"


def needs_a_person(ledger: Ledger, project_names: Mapping[str, str | None],
                   entries: Mapping[Side, Iterable[Any]] | None = None) -> list[AttentionItem]:
    """Open conflicts, locked and orphaned pairs, and creates that keep failing, oldest first.

    With the entries the APIs returned, each side's value is the entry as it is now (a lock's blocked value shows
    only there); otherwise, and for entries outside the report's weeks, the ledger's.
    """
    now = {side: {entry.id: entry for entry in side_entries} for side, side_entries in (entries or {}).items()}
    parked = ledger.pairs(states=[PairState.CONFLICT, PairState.LOCKED, PairState.ORPHANED])
    failing = [pair for pair in ledger.pairs(states=[PairState.CREATING]) if pair.attempts]
    items = []
    for pair in sorted([*parked, *failing], key=lambda p: p.id):
        kind = Attention.FAILING if pair.state is PairState.CREATING else Attention(str(pair.state))
        commands, action = _resolution(pair, kind)
        project = project_names.get(pair.project or "") or (f"Forecast project {pair.project}" if pair.project else "")
        values: dict[Side, tuple[dict[str, Any] | None, FigureSource]] = {}
        for side in Side:
            current = now.get(side, {}).get(pair.id_on(side) or "")
            values[side] = ((current.snapshot(), FigureSource.API) if current is not None
                            else (_value(pair, side), FigureSource.LEDGER))
        items.append(AttentionItem(kind, pair.id, project, pair.forecast_id, pair.timelog_id, pair.reason or "",
                                   pair.updated_at, values[Side.FORECAST][0], values[Side.TIMELOG][0], commands,
                                   action, pair.attempts, values[Side.FORECAST][1], values[Side.TIMELOG][1]))
    return items


def _resolution(pair: Pair, kind: Attention) -> tuple[list[str], str]:
    """The commands that resolve an item, and what a person does, in words."""
    if kind is Attention.CONFLICT:
        return agreement.resolve_commands(pair.id), ("Choose the side to keep; the next `meltano run sync` writes it "
                                                     "to the other side.")
    if kind is Attention.LOCKED:
        return [], ("No command overrides an approved or closed period. Reopen it in the system that differs and "
                    "correct the entry by hand, or accept the difference.")
    if kind is Attention.ORPHANED:
        return [], ("Deleted on one side, changed on the other: delete the remaining entry by hand, or re-create "
                    "the deleted one. Nothing is deleted automatically.")
    left = max(MAX_REPLAY_ATTEMPTS - pair.attempts, 0)
    retry = f"it is retried {left} more time(s)" if left else "it is not retried any more until the entry changes"
    return ["meltano run sync"], (f"Fix what {_target_name(pair)} refuses (the reason), then run the sync; "
                                  f"{retry}.")


def unlinked_with_time(ledger: Ledger, person_names: Mapping[Side, Mapping[str, str | None]],
                       project_names: Mapping[Side, Mapping[str, str | None]],
                       minutes: Mapping[tuple[str, str], int], *, measured: bool) -> list[UnlinkedWithTime]:
    """Unlinked persons and projects with time: entries the runs left out (ledger), and minutes in the window
    of unlinked persons in linked projects (APIs; ``measured`` says whether they were read)."""
    found: dict[tuple[str, str, str], int] = {}
    for message, entries in ledger.out_of_scope_counts("unlinked_").items():
        key = tuple(message.split(": ", 1)[-1].split(" "))  # "unlinked_person: forecast person 31"
        if len(key) == 3 and key[0] in SIDES and key[1] in ("person", "project"):
            found[key] = found.get(key, 0) + entries
    for side, person in minutes:
        found.setdefault((side, "person", person), 0)
    names = {"person": person_names, "project": project_names}
    result = []
    for (side, kind, native_id), entries in sorted(found.items()):
        # Minutes are measured for unlinked persons in linked projects, and only when the APIs were read.
        measured_minutes = minutes.get((side, native_id), 0) if measured and kind == "person" else None
        result.append(UnlinkedWithTime(side, kind, native_id, names[kind][Side(side)].get(native_id), entries,
                                       measured_minutes,
                                       FigureSource.API if measured_minutes is not None else FigureSource.LEDGER))
    return result
