"""Facts about the accounts, checked on every run: what the ledger recorded must still hold.

A fact is something the sync found out once and relies on from then on, such as which of a TimeLog work unit's
two Reporting GUIDs its Transactional API uses. Reading the account differently than before would pair every
entry anew and write it twice, so a run that sees a fact contradict the ledger stops before planning.
"""

from __future__ import annotations

from collections.abc import Mapping

from timesync.adapters.timelog import GUID_MODEL_FACT
from timesync.ledger import Ledger
from timesync.model import Side

#: The tool whose time a ledger pairs with TimeLog's (`forecast` for job sync, `harvest` for harvest-to-timelog).
LEDGER_TOOL_FACT = "ledger.tool"
#: A ledger that has runs but no `ledger.tool` fact is job sync's: it predates the fact, and only job sync existed.
LEDGER_TOOL_BEFORE_FACT = "forecast"

#: What to do when a fact is contradicted, by fact.
FIXES: dict[str, str] = {
    LEDGER_TOOL_FACT: (
        "each job keeps its own ledger, so that its pairs, run lock and bookmarks never meet another job's (job "
        "sync: Forecast; job harvest-to-timelog: Harvest). Point this job's ledger_url (the reconcile mapper's and "
        "the target's, e.g. TIMESYNC_RECONCILE__HARVEST_LEDGER_URL and TARGET_TIMELOG__HARVEST_LEDGER_URL) at its "
        "own ledger; nothing was written"
    ),
    GUID_MODEL_FACT: (
        "keying TimeLog work units by the other GUID would sync every one of them again. Set tap-timelog's "
        "guid_model to the recorded value, or, if the site really changed, confirm with `timesync doctor "
        "--write-probe TASK_ID`, which records what it finds"
    ),
}


class FactMismatchError(Exception):
    """A record contradicts a fact the ledger recorded; the message names both values and the fix."""


class FactGuard:
    """Compares the facts the records show with those the ledger holds, and records new ones after the run."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.known = ledger.facts()
        if LEDGER_TOOL_FACT not in self.known and ledger.runs():
            self.known[LEDGER_TOOL_FACT] = (LEDGER_TOOL_BEFORE_FACT, "runs before the fact was recorded")
        self.new: dict[str, str] = {}

    def observe(self, facts: Mapping[str, str]) -> None:
        """Check the facts one record shows; raise `FactMismatchError` on a contradiction."""
        for name, value in facts.items():
            recorded = self.known.get(name)
            if recorded is not None and recorded[0] != value:
                raise FactMismatchError(
                    f"{name} is {value!r} in this run's records, but the ledger recorded {recorded[0]!r} "
                    f"({recorded[1]}): {FIXES.get(name, 'check what changed before syncing again')}")
            seen = self.new.setdefault(name, value) if recorded is None else value
            if seen != value:
                raise FactMismatchError(f"{name} is both {seen!r} and {value!r} in this run's records")

    def record(self, source: str) -> None:
        """Record the facts this run found out for the first time."""
        for name, value in self.new.items():
            self.ledger.record_fact(name, value, source)
        self.known.update({name: (value, source) for name, value in self.new.items()})
        self.new.clear()


def another_account(ledger: Ledger, side: Side, directory: Mapping[str, Mapping[str, object]],
                    account: str) -> str | None:
    """Why this ledger belongs to another ``account`` than the tap reads (None when it is the same one).

    Neither tool gives its account an id (Forecast's /v1/company has a name and a VAT id, both editable), so the
    ledger knows an account by the ids of the projects and persons it last read there. The same account keeps
    most of them from one run to the next; another account, or a ledger of another company pair pointed at by
    mistake, shares none, and syncing against it would see every entry as new and write it twice.
    """
    known = {kind: set(ledger.directory_names(side, kind)) for kind in ("project", "person")}
    read = {kind: set(directory.get(kind, {})) for kind in ("project", "person")}
    if not any(known.values()) or not any(read.values()):
        return None  # a new ledger, or a tap that sent neither projects nor persons: nothing to compare
    if any(known[kind] & read[kind] for kind in known):
        return None
    examples = ", ".join(sorted(known["project"] or known["person"])[:3])
    return (f"this ledger belongs to another {account} account: none of the {len(known['project'])} projects and "
            f"{len(known['person'])} persons it read there last time (ids {examples}, ...) is among the "
            f"{len(read['project'])} projects and {len(read['person'])} persons {account} holds now. Nothing was "
            f"written. A ledger pairs one company pair's accounts: point ledger_url at this pair's own ledger, or "
            f"check that the {account} credentials are this company's. For a new ledger of these accounts, run "
            "`timesync ledger rebuild` (README 'A lost ledger')")
