"""The report as one self-contained HTML page: Jinja2 with autoescaping, the charts inline, no script, no fetch.

Names, notes and reasons come from users and APIs, so every value goes through the template's autoescaping; only
the charts' SVG (built by ``charts._svg``, labels escaped there) is marked safe.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timesync.report.charts import agreement_chart, runs_chart
from timesync.report.model import Attention, Explanation, FigureSource, Report, Why, hours

if TYPE_CHECKING:
    from jinja2 import Environment  # the `report` extra; imported at run time on first use

TEMPLATES = Path(__file__).parent / "templates"
WHY_LABELS = {Why.CONFLICT: "conflict", Why.LOCKED: "locked", Why.ORPHANED: "orphaned", Why.FAILED: "failed",
              Why.OUT_OF_SCOPE: "out of scope", Why.NOT_SYNCED: "not yet synced"}
ATTENTION_LABELS = {Attention.CONFLICT: "Conflict", Attention.LOCKED: "Locked", Attention.ORPHANED: "Orphaned",
                    Attention.FAILING: "Create keeps failing"}
SOURCE_LABELS = {FigureSource.API: "API", FigureSource.LEDGER: "ledger"}


@dataclass(frozen=True)
class ExplanationGroup:
    """Explanations of one row with the same cause, shown as one line (a closed week can hold dozens of pairs)."""

    why: Why
    text: str
    items: list[Explanation]

    @property
    def forecast_minutes(self) -> int:
        """The group's Forecast minutes."""
        return sum(item.forecast_minutes for item in self.items)

    @property
    def timelog_minutes(self) -> int:
        """The group's TimeLog minutes."""
        return sum(item.timelog_minutes for item in self.items)


def group_explanations(explanations: Iterable[Explanation]) -> list[ExplanationGroup]:
    """One group per cause, in first-seen order; each conflict stays on its own (its commands name its pair)."""
    groups: dict[tuple[Why, str, int | None], ExplanationGroup] = {}
    for item in explanations:
        key = (item.why, item.text, item.pair_id if item.why is Why.CONFLICT else None)
        groups.setdefault(key, ExplanationGroup(item.why, item.text, [])).items.append(item)
    return list(groups.values())


def _environment() -> Environment:
    """A Jinja2 environment that escapes everything and fails on a missing value (imported on first use)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["hours"] = hours
    environment.filters["signed_hours"] = lambda minutes: ("+" if minutes > 0 else "") + hours(minutes)
    environment.filters["value"] = _value
    environment.filters["grouped"] = group_explanations
    return environment


def _value(snapshot: dict[str, Any] | None) -> str:
    """A pair's value in words: '2026-11-16, 1.5 h, "note"' (empty when that side has none)."""
    if not snapshot:
        return "—"
    parts = [str(snapshot.get("date") or "")]
    if snapshot.get("minutes") is not None:
        parts.append(f"{hours(int(snapshot['minutes']))} h")
    if snapshot.get("note"):
        parts.append(json.dumps(snapshot["note"], ensure_ascii=False))
    return ", ".join(part for part in parts if part)


def render_html(report: Report) -> str:
    """The page. Charts are drawn here, from the same data ``--json`` dumps."""
    from markupsafe import Markup

    weeks = report.window.weeks()
    charts = [agreement_chart(report.agreement, weeks), runs_chart(report.runs)]
    # The SVG is matplotlib's, with labels escaped by its writer and our title escaped in charts._svg.
    svgs = {chart.id: Markup(chart.svg) if chart.svg else None for chart in charts}  # noqa: S704 -- see above
    differ = [row for row in report.agreement if row.difference]
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report, charts={chart.id: chart for chart in charts}, svgs=svgs, weeks=weeks, differ=differ,
        parked=[row for row in report.agreement if not row.difference and row.explanations],
        flagged=[row for row in report.agreement if not row.agrees],
        why_labels=WHY_LABELS, attention_labels=ATTENTION_LABELS, source_labels=SOURCE_LABELS,
        counts={kind: sum(1 for item in report.attention if item.kind is kind) for kind in Attention},
    )


def write_report(report: Report, path: Path, *, as_json: bool = False) -> Path:
    """Write the page (or its JSON) to ``path``, creating the folder; returns the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report.to_json(), indent=2) if as_json else render_html(report)
    path.write_text(text, encoding="utf-8")
    return path
