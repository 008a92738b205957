"""Readable run plans and summaries, shared by the mapper's dry run and the CLI."""

from __future__ import annotations

from collections import Counter

from timesync.ledger import Ledger

# The order a reader wants: what will change first, then what is held back, then what is out of scope.
SUMMARY_ORDER = ("new", "changed", "moved", "deleted", "unchanged", "conflict", "locked", "orphaned", "deferred",
                 "out_of_scope")


def summarize(outcomes: Counter[str]) -> str:
    """'3 new, 1 changed, 12 unchanged, 2 out_of_scope' in a stable order."""
    ordered = [name for name in SUMMARY_ORDER if outcomes.get(name)]
    ordered += sorted(name for name in outcomes if name not in SUMMARY_ORDER and outcomes[name])
    return ", ".join(f"{outcomes[name]} {name}" for name in ordered) or "nothing"


def plan_lines(ledger: Ledger, run_id: int) -> list[str]:
    """The plan the mapper recorded for a run: a summary line, then one line per item that is not unchanged."""
    run = next((r for r in ledger.runs(limit=1000) if r.id == run_id), None)
    items = [item for item in ledger.run_items(run_id) if item.actor == "mapper"]
    header = f"run {run_id}" + (f" {run.direction} ({run.status})" if run else "")
    lines = [f"{header}: {summarize(Counter(item.outcome for item in items))}"]
    lines += [
        f"  {item.kind:<18} {item.source_id or '-':<38} {item.outcome:<13} {item.message or ''}"
        for item in items if item.outcome != "unchanged"
    ]
    return lines
