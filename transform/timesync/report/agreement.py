"""Agreement: in-scope hours per linked project and week on each side, and why they differ. Pure.

Two ways to get the figures, and the page says which one it used:

* ``from_entries``: both sides' entries as their APIs return them now. This is the truth a person invoices from.
  Every entry that is counted is matched to its pair in the ledger, so each difference is explained by the pair
  that causes it (conflict, locked, orphaned, a failing create, out of scope, or a change not yet synced).
* ``from_ledger``: the pairs' snapshots as the sync last saw them (open conflicts at their parked values).
  Without API access this is all there is; it cannot see edits made since the last run, nor the value a lock
  blocked (the ledger keeps the reason, not the value), so those pairs are listed, not measured.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from timesync.ledger import Pair, PairState
from timesync.links import Links, ProjectLink
from timesync.model import Side, TimeEntry, entry_from_snapshot
from timesync.reconcile.landing import OutOfScope, scope_of
from timesync.report.model import Explanation, FigureSource, WeekRow, Why, Window, monday_of, week_label

SIDE_NAMES = {Side.FORECAST: "Forecast", Side.TIMELOG: "TimeLog"}
#: Pairs the ledger still tracks as live (a deleted pair is a tombstone: no time on either side).
LIVE_STATES = frozenset({PairState.LINKED, PairState.CONFLICT, PairState.LOCKED, PairState.ORPHANED,
                         PairState.CREATING})

#: Pairs a person must look at: listed in their week even where the hours agree (a note can differ).
PARKED_STATES = frozenset({PairState.CONFLICT, PairState.LOCKED, PairState.ORPHANED})

RowKey = tuple[ProjectLink, str]
#: A pair id, or (side, entry id) for an entry the ledger has no pair for.
PairKey = int | tuple[str, str]


def resolve_commands(pair_id: int) -> list[str]:
    """The two commands that settle a parked conflict (the kept side is written by the next sync)."""
    return [f"timesync conflicts resolve {pair_id} --keep forecast",
            f"timesync conflicts resolve {pair_id} --keep timelog"]


@dataclass
class _Tally:
    """What the rows are built from: minutes per row, per pair within a row, and what was left out."""

    rows: dict[RowKey, WeekRow] = field(default_factory=dict)
    by_pair: dict[RowKey, dict[PairKey, dict[Side, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int))))
    #: Entry ids per side that are out of scope now, with the reason (an in-scope twin is then explained).
    out_of_scope: dict[Side, dict[str, OutOfScope]] = field(default_factory=lambda: {Side.FORECAST: {},
                                                                                      Side.TIMELOG: {}})
    #: Unlinked persons' minutes in linked projects, per (side, person id).
    unlinked_persons: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    #: Row keys each entry was counted in, per (pair key, side): a twin found in another week is a move.
    seen_in: dict[tuple[PairKey, Side], RowKey] = field(default_factory=dict)

    def row(self, link: ProjectLink, day: dt.date, names: Mapping[str, str | None], source: FigureSource) -> WeekRow:
        """The row of ``link`` in ``day``'s week, made on first use."""
        key = (link, week_label(day))
        if key not in self.rows:
            name = names.get(link.forecast) or f"Forecast project {link.forecast}"
            self.rows[key] = WeekRow(project=name, forecast_project=link.forecast, timelog_project=link.timelog,
                                     week=key[1], week_start=monday_of(day), forecast_source=source,
                                     timelog_source=source)
        return self.rows[key]


def _index(pairs: Iterable[Pair]) -> dict[Side, dict[str, Pair]]:
    index: dict[Side, dict[str, Pair]] = {Side.FORECAST: {}, Side.TIMELOG: {}}
    for pair in pairs:
        for side in Side:
            native = pair.id_on(side)
            # A re-keyed or re-created entry may appear in a tombstone and a live pair: the live one counts.
            if native and (native not in index[side] or pair.state is not PairState.DELETED):
                index[side][native] = pair
    return index


def from_entries(links: Links, window: Window, entries: Mapping[Side, Iterable[TimeEntry]], pairs: Iterable[Pair],
                 names: Mapping[str, str | None]) -> tuple[list[WeekRow], dict[tuple[str, str], int]]:
    """Rows from both sides' current entries, each difference explained by its pairs.

    Returns the rows (sorted by project, then week) and the unlinked persons' minutes in linked projects.
    """
    pair_list = list(pairs)
    by_id = {pair.id: pair for pair in pair_list}
    index = _index(pair_list)
    tally = _Tally()
    kept: dict[tuple[PairKey, Side], TimeEntry] = {}
    for side, side_entries in entries.items():
        for entry in side_entries:
            link = links.project(str(side), entry.project_id)
            if link is None or not window.contains(entry.date):
                continue
            row = tally.row(link, entry.date, names, FigureSource.API)
            reason = scope_of(entry, links)
            if reason is not None:
                row.out_of_scope_minutes[str(side)] = row.out_of_scope_minutes.get(str(side), 0) + entry.minutes
                tally.out_of_scope[side][entry.id] = reason
                if reason is OutOfScope.UNLINKED_PERSON:
                    tally.unlinked_persons[(str(side), entry.person_id)] += entry.minutes
                continue
            setattr(row, f"{side}_minutes", getattr(row, f"{side}_minutes") + entry.minutes)
            pair = index[side].get(entry.id)
            key: PairKey = pair.id if pair else (str(side), entry.id)
            tally.by_pair[(link, row.week)][key][side] += entry.minutes
            tally.seen_in[(key, side)] = (link, row.week)
            kept[(key, side)] = entry
    for row_key, row in tally.rows.items():
        for key, minutes in tally.by_pair[row_key].items():
            parked = isinstance(key, int) and by_id[key].state in PARKED_STATES
            if minutes[Side.FORECAST] == minutes[Side.TIMELOG] and not parked:
                continue
            explanation = (_explain_new(key, minutes) if isinstance(key, tuple)
                           else _explain_pair(by_id[key], minutes, row_key, tally, kept))
            row.explanations.append(explanation)
    return _sorted(tally.rows.values()), dict(tally.unlinked_persons)


def _explain_new(key: tuple[str, str], minutes: Mapping[Side, int]) -> Explanation:
    side = Side(key[0])
    return Explanation(Why.NOT_SYNCED, f"New in {SIDE_NAMES[side]} (entry {key[1]}) since the last sync run: the "
                                       f"next run creates its twin in {SIDE_NAMES[side.other]}.",
                       minutes[Side.FORECAST], minutes[Side.TIMELOG])


def _explain_state(pair: Pair, forecast: int, timelog: int) -> Explanation | None:
    """The explanation a parked or unconfirmed pair gives, whatever the minutes; None for a linked pair."""
    def made(why: Why, text: str, commands: list[str] | None = None) -> Explanation:
        return Explanation(why, text, forecast, timelog, pair.id, commands or [], pair.reason)

    if pair.state is PairState.CONFLICT:
        return made(Why.CONFLICT, "Changed on both sides since the last sync: parked, nothing written.",
                    resolve_commands(pair.id))
    if pair.state is PairState.LOCKED:
        return made(Why.LOCKED, "In an approved or closed period: the sync does not edit it, it reports it.")
    if pair.state is PairState.ORPHANED:
        return made(Why.ORPHANED, "Deleted on one side and changed on the other: nothing deleted.")
    if pair.state is PairState.CREATING and pair.attempts:
        return made(Why.FAILED, f"Its create failed {pair.attempts} time(s); the next runs retry it.",
                    ["meltano run sync"])
    if pair.state is PairState.CREATING:
        return made(Why.NOT_SYNCED, "Its create is under way: the next run confirms it.")
    if pair.state is PairState.DELETED:
        return made(Why.NOT_SYNCED, "Its twin was deleted and this entry kept (delete_policy, or a deletion the "
                                    "next run carries over).")
    return None


def _explain_pair(pair: Pair, minutes: Mapping[Side, int], row_key: RowKey, tally: _Tally,
                  kept: Mapping[tuple[PairKey, Side], TimeEntry]) -> Explanation:
    forecast, timelog = minutes[Side.FORECAST], minutes[Side.TIMELOG]
    explained = _explain_state(pair, forecast, timelog)
    if explained is not None:
        return explained
    missing = next((side for side in Side if not minutes[side]), None)
    if missing is not None:
        twin_id = pair.id_on(missing)
        name = SIDE_NAMES[missing]
        if twin_id and twin_id in tally.out_of_scope[missing]:
            return Explanation(Why.OUT_OF_SCOPE, f"Its twin in {name} ({twin_id}) is out of scope now "
                                                 f"({tally.out_of_scope[missing][twin_id]}): the sync no longer "
                                                 "touches it.", forecast, timelog, pair.id)
        elsewhere = tally.seen_in.get((pair.id, missing))
        if elsewhere is not None and elsewhere != row_key:
            return Explanation(Why.NOT_SYNCED, f"Moved to {elsewhere[1]} in one system since the last sync: the next "
                                               "run carries the move over.", forecast, timelog, pair.id)
        return Explanation(Why.NOT_SYNCED, f"Its twin in {name} ({twin_id or 'not created yet'}) is gone since the "
                                           "last sync: the next run carries the deletion over.", forecast, timelog,
                           pair.id)
    changed = [SIDE_NAMES[side] for side in Side
               if (entry := kept.get((pair.id, side))) and entry.snapshot() != pair.base_on(side)]
    where = " and ".join(changed) or "one system"
    return Explanation(Why.NOT_SYNCED, f"Changed in {where} since the last sync: the next run carries it over.",
                       forecast, timelog, pair.id)


def from_ledger(links: Links, window: Window, pairs: Iterable[Pair],
                names: Mapping[str, str | None]) -> list[WeekRow]:
    """Rows from the pairs' snapshots as last synced (conflicts at their parked values).

    A parked or failing pair is explained in its week even when its minutes are equal there: the ledger cannot
    see the value a lock blocked, so listing the pair is the honest answer.
    """
    tally = _Tally()
    for pair in pairs:
        if pair.state not in LIVE_STATES:
            continue
        values = _ledger_values(pair, links)
        counted: dict[RowKey, dict[Side, int]] = defaultdict(lambda: dict.fromkeys(Side, 0))
        for side, value in values.items():
            if value is None:
                continue
            entry = entry_from_snapshot(side, pair.id_on(side) or "", value)
            link = links.project(str(side), entry.project_id)
            if link is None or not window.contains(entry.date) or scope_of(entry, links) is not None:
                continue
            row = tally.row(link, entry.date, names, FigureSource.LEDGER)
            setattr(row, f"{side}_minutes", getattr(row, f"{side}_minutes") + entry.minutes)
            counted[(link, row.week)][side] += entry.minutes
        for row_key, minutes in counted.items():
            forecast, timelog = minutes[Side.FORECAST], minutes[Side.TIMELOG]
            explained = _explain_state(pair, forecast, timelog)
            if explained is None and forecast != timelog:
                explained = Explanation(Why.NOT_SYNCED, "Its twin is not synced yet.", forecast, timelog, pair.id)
            if explained is not None:
                tally.rows[row_key].explanations.append(explained)
    return _sorted(tally.rows.values())


def _ledger_values(pair: Pair, links: Links) -> dict[Side, dict[str, Any] | None]:
    """What the sync last saw on each side: a conflict's parked value, else the base.

    A create that never succeeded (refused by a lock, or failing) has no base; its fingerprint is the twin it
    would have made, which has the source's date and minutes: that is the source side's value, in its own ids.
    """
    values: dict[Side, dict[str, Any] | None] = {}
    for side in Side:
        value = pair.conflict.get(str(side)) if pair.state is PairState.CONFLICT and pair.conflict else None
        value = value or pair.base_on(side)
        values[side] = value if value and "minutes" in value and "date" in value else None
    if not any(values.values()) and pair.fingerprint:
        values[pair.origin] = _source_of_intent(json.loads(pair.fingerprint), pair.origin, links)
    return values


def _source_of_intent(image: dict[str, Any], origin: Side, links: Links) -> dict[str, Any] | None:
    """The source entry behind a create's intended twin ``image`` (the twin side's ids mapped back by the links)."""
    twin = str(origin.other)
    project, person = links.project(twin, image.get("project")), links.person(twin, image.get("person"))
    if project is None or person is None or "minutes" not in image or "date" not in image:
        return None
    return {**image, "project": getattr(project, str(origin)), "person": getattr(person, str(origin))}


def _sorted(rows: Iterable[WeekRow]) -> list[WeekRow]:
    return sorted(rows, key=lambda row: (row.project.lower(), row.forecast_project, row.week_start))
