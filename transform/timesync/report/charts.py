"""The report's pictures: matplotlib drawn to inline SVG, each with a title and a text alternative.

SVG text stays text (``svg.fonttype = none``): the page stays small, screen readers and search find the labels,
and nothing is fetched. Labels come from users (project names), so matplotlib's mathtext is switched off by
escaping ``$``; its SVG writer escapes markup itself (a test checks both).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from timesync.report.model import RunPoint, WeekRow, hours

# Okabe-Ito colours: told apart by colour-blind readers too; each series also has its own label.
COLOURS = {"created": "#009E73", "updated": "#0072B2", "deleted": "#999999", "conflicts": "#D55E00",
           "locked": "#E69F00", "failed": "#CC79A7", "seconds": "#56B4E9"}
AGREE, DIFFER, ATTENTION, EMPTY = "#d8f0e3", "#f6c8b0", "#fbe3a6", "#ffffff"
RUN_SERIES = ("created", "updated", "deleted", "conflicts", "locked", "failed")
DIRECTION_ARROWS = {"forecast_to_timelog": "F→T", "timelog_to_forecast": "T→F"}
#: At most this many run labels on the x axis; the rest are left out so the labels stay legible.
MAX_RUN_LABELS = 24
#: Characters of a project name on the agreement chart's axis (the table has the whole name).
MAX_LABEL = 32
_SVG_START = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


@dataclass(frozen=True)
class Chart:
    """One picture: ``svg`` (None when there is nothing to draw), a short visible ``caption``, and ``summary``, its
    text alternative (the SVG's description: everything the picture shows, in words)."""

    id: str
    title: str
    caption: str
    summary: str
    svg: str | None


def _pyplot() -> Any:
    """pyplot on the SVG backend, imported on first use (the rest of the CLI never pays for matplotlib)."""
    import matplotlib as mpl

    mpl.use("svg", force=True)
    mpl.rcParams.update({"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False,
                         "axes.spines.right": False, "figure.dpi": 72})
    import matplotlib.pyplot as plt

    return plt


def _plain(text: str) -> str:
    """A user's text as a literal matplotlib label: ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _svg(figure: Any, chart_id: str, title: str, summary: str) -> str:
    """The figure as an inline ``<svg>`` element: no XML prolog, no metadata, labelled for assistive technology.

    ``svg.hashsalt`` is the chart id, so two charts on one page never share a clip-path id, and the same data draws
    the same SVG.
    """
    import matplotlib as mpl

    plt = _pyplot()
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": chart_id}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(figure)
    svg = _METADATA.sub("", _SVG_START.sub("", buffer.getvalue(), count=1), count=1)
    svg = _SIZE.sub(lambda m: f'<svg{m[1]} width="{m[2]}pt" height="{m[3]}pt" style="max-width: 100%; height: auto"'
                              f' role="img" aria-labelledby="{chart_id}-title {chart_id}-desc"', svg, count=1)
    # Our own title and description, escaped here: both come from data.
    from markupsafe import escape

    label = f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(summary)}</desc>'
    return svg.replace(">", ">" + label, 1) if svg.startswith("<svg") else svg


def agreement_chart(rows: Sequence[WeekRow], weeks: Sequence[str]) -> Chart:
    """A grid, one line per linked project and one column per week: green where both sides agree, red where
    they differ (with the difference in hours), amber where the hours agree but a pair is parked."""
    title = "Forecast against TimeLog, per linked project and week"
    projects = list(dict.fromkeys((row.forecast_project, row.project) for row in rows))
    if not projects:
        empty = "No time in linked projects in these weeks."
        return Chart("chart-agreement", title, empty, empty, None)
    differ = [row for row in rows if row.difference]
    parked = [row for row in rows if not row.difference and row.explanations]
    caption = (f"{len(rows)} project-weeks with time: {len(rows) - len(differ) - len(parked)} agree, {len(differ)} "
               f"differ, {len(parked)} agree in hours but have a parked entry.")
    summary = caption + " " + " ".join(f"{row.project}, {row.week}: Forecast {hours(row.forecast_minutes)} h, TimeLog "
                        f"{hours(row.timelog_minutes)} h." for row in differ)
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(1.8 + 0.62 * len(weeks), 0.8 + 0.42 * len(projects)))
    cells = {(row.forecast_project, row.week): row for row in rows}
    from matplotlib.patches import Rectangle

    for y, (project_id, _) in enumerate(projects):
        for x, week in enumerate(weeks):
            row = cells.get((project_id, week))
            colour = EMPTY if row is None else DIFFER if row.difference else ATTENTION if row.explanations else AGREE
            axes.add_patch(Rectangle((x, y), 0.94, 0.9, facecolor=colour, edgecolor="#c8c8c8", linewidth=0.6))
            if row is not None:
                text = "=" if not row.difference else f"{row.difference / 60:+.2f}".rstrip("0").rstrip(".") + " h"
                axes.text(x + 0.47, y + 0.47, text, ha="center", va="center", fontsize=8,
                          fontweight="bold" if row.difference else "normal")
    axes.set_xlim(0, len(weeks))
    axes.set_ylim(len(projects), 0)
    axes.set_xticks([x + 0.47 for x in range(len(weeks))], [week.split("-")[1] for week in weeks], fontsize=8)
    axes.set_yticks([y + 0.45 for y in range(len(projects))],
                    [_plain(name if len(name) <= MAX_LABEL else name[:MAX_LABEL - 1] + "…") for _, name in projects])
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_xlabel(f"ISO week ({weeks[0]} to {weeks[-1]}); a cell shows Forecast minus TimeLog")
    return Chart("chart-agreement", title, caption, summary.strip(),
                 _svg(figure, "chart-agreement", title, summary.strip()))


def runs_chart(runs: Sequence[RunPoint]) -> Chart:
    """Stacked bars of what each run wrote and held back, and below them how long each run took."""
    title = "What each run did, and how long it took"
    if not runs:
        return Chart("chart-runs", title, "No sync run is recorded yet.", "No sync run is recorded yet.", None)
    totals = {name: sum(getattr(run, name) for run in runs) for name in RUN_SERIES}
    timed = [run.seconds for run in runs if run.seconds is not None]
    summary = (f"{len(runs)} runs from {runs[0].started_at:%Y-%m-%d %H:%M} to {runs[-1].started_at:%Y-%m-%d %H:%M}: "
               + ", ".join(f"{count} {name}" for name, count in totals.items())
               + (f"; the longest took {max(timed):.1f} s, the latest {timed[-1]:.1f} s." if timed else "."))
    plt = _pyplot()
    figure, (counts, durations) = plt.subplots(2, 1, sharex=True, figsize=(max(6.0, 0.32 * len(runs) + 2.5), 5.2),
                                               gridspec_kw={"height_ratios": [3, 1.4]})
    positions = list(range(len(runs)))
    bottom = [0] * len(runs)
    for name in RUN_SERIES:
        values = [getattr(run, name) for run in runs]
        if any(values):
            counts.bar(positions, values, bottom=bottom, color=COLOURS[name], label=name, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in zip(positions, bottom, strict=True):
        if total:
            counts.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                            textcoords="offset points")
    counts.set_ylabel("items")
    counts.legend(loc="upper right", fontsize=8, frameon=False, ncols=3)
    counts.margins(y=0.18)
    durations.bar(positions, [run.seconds or 0 for run in runs], color=COLOURS["seconds"], width=0.7)
    durations.set_ylabel("seconds")  # from the run's start to its last recorded write
    step = max(1, -(-len(runs) // MAX_RUN_LABELS))
    durations.set_xticks(positions[::step], [f"{run.id}\n{DIRECTION_ARROWS.get(run.direction, run.direction)}"
                                             for run in runs[::step]], fontsize=7)
    durations.set_xlabel("run (id, direction: F→T Forecast to TimeLog, T→F TimeLog to Forecast)")
    figure.align_ylabels()
    return Chart("chart-runs", title, summary, summary, _svg(figure, "chart-runs", title, summary))
