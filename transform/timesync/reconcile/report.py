"""Readable run plans and summaries, shared by the mapper's dry run and the CLI."""

from __future__ import annotations

from collections import Counter

from timesync.ledger import Ledger, Run

# The order a reader wants: what will change first, then what is held back, then what is out of scope.
SUMMARY_ORDER = ("new", "changed", "moved", "deleted", "unchanged", "conflict", "locked", "orphaned", "deferred",
                 "out_of_scope")


def summarize(outcomes: Counter[str]) -> str:
    """'3 new, 1 changed, 12 unchanged, 2 out_of_scope' in a stable order."""
    ordered = [name for name in SUMMARY_ORDER if outcomes.get(name)]
    ordered += sorted(name for name in outcomes if name not in SUMMARY_ORDER and outcomes[name])
    return ", ".join(f"{outcomes[name]} {name}" for name in ordered) or "nothing"


def plan_summary(ledger: Ledger, run_id: int) -> str:
    """The summary line of ``plan_lines`` alone, without loading the run's items (what a real run logs)."""
    run = ledger.run(run_id)
    header = f"run {run_id}" + (f" {run.direction} ({run.status})" if run else "")
    return f"{header}: {summarize(Counter(ledger.item_outcomes(run_id, actor='mapper')))}"


def plan_lines(ledger: Ledger, run_id: int) -> list[str]:
    """The plan the mapper recorded for a run: a summary line, then one line per item that is not unchanged."""
    items = [item for item in ledger.run_items(run_id) if item.actor == "mapper"]
    lines = [plan_summary(ledger, run_id)]
    lines += [
        f"  {item.kind:<18} {item.source_id or '-':<38} {item.outcome:<13} {item.message or ''}"
        for item in items if item.outcome != "unchanged"
    ]
    return lines


#: The columns of the per-direction sync summary, in the order an operator reads them.
SUMMARY_COLUMNS = ("created", "updated", "deleted", "unchanged", "conflicts", "locked", "out of scope", "failed")
# Target outcomes (what was written, or why not) and mapper labels (what was planned) behind each column.
_OUTCOME_COLUMNS = {
    "created": "created", "already_applied": "created", "updated": "updated", "deleted": "deleted",
    "move_deleted": "deleted", "conflict": "conflicts", "locked": "locked", "orphaned": "conflicts",
    "failed": "failed",
}
_PLAN_COLUMNS = {"unchanged": "unchanged", "conflict": "conflicts", "locked": "locked", "orphaned": "conflicts"}


def direction_summary(ledger: Ledger, run: Run) -> dict[str, int]:
    """One run as the summary columns: what the target wrote, what was unchanged, held back or out of scope."""
    row = dict.fromkeys(SUMMARY_COLUMNS, 0)
    for outcome, count in ledger.outcome_counts(run.id).items():
        if outcome in _OUTCOME_COLUMNS:
            row[_OUTCOME_COLUMNS[outcome]] += count
    for key, count in run.counts.items():
        group, _, label = key.partition(".")
        if group == "out_of_scope":
            row["out of scope"] += count
        elif label in _PLAN_COLUMNS:
            row[_PLAN_COLUMNS[label]] += count
    return row


def last_sync(ledger: Ledger) -> dict[str, dict[str, int]]:
    """The latest run of each direction (dry runs excluded), as summary rows keyed by direction."""
    latest: dict[str, Run] = {}
    for run in ledger.runs(limit=50):
        if not run.dry_run and run.direction not in latest:
            latest[run.direction] = run
    return {direction: direction_summary(ledger, run) for direction, run in sorted(latest.items())}
