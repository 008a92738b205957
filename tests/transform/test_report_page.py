"""`timesync report`'s page and command: self-contained, escaped, accessible HTML; --json; the CLI's fallbacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from report_fakes import FakeForecastTime, FakeTimeLogTime, park_a_conflict, report_of
from timesync_world import LINKS_YAML, World

from timesync.cli import Services, cli
from timesync.ledger import PairState, directory
from timesync.model import Side
from timesync.report.render import render_html

HOSTILE = '<script>alert("x")</script> $\\frac{1}{2}$ & Co'


def test_the_page_is_self_contained_and_escapes_what_users_typed(world: World) -> None:
    """No script, no fetch (a CSP forbids both); names and notes from users are text, in the table and the chart."""
    park_a_conflict(world, note="<b>note</b>")
    directory.replace(world.ledger, Side.FORECAST, "project", {"101": HOSTILE, "102": "Portal"})
    html = render_html(report_of(world))
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(" in html
    assert "<b>note</b>" not in html
    assert "Content-Security-Policy" in html
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "nothing is loaded from elsewhere"
    assert "<link" not in html
    assert "@import" not in html
    assert not re.search(r"url\((?!#)", html), "only the SVG's own clip paths are referenced"
    # matplotlib's mathtext is off for user labels: the dollar signs reach the SVG as text.
    assert "$\\frac{1}{2}$" in html


def test_every_table_has_headers_and_every_chart_a_text_alternative(world: World) -> None:
    """Accessible without JavaScript: header cells, captions, and SVGs labelled by a title and a description."""
    park_a_conflict(world, note="<b>note</b>")
    html = render_html(report_of(world))
    tables = re.findall(r"<table.*?</table>", html, re.DOTALL)
    assert len(tables) == 7
    for table in tables:
        assert "<caption>" in table
        assert '<th scope="col">' in table
    svgs = re.findall(r"<svg\b[^>]*>", html)
    assert len(svgs) == 2
    for tag in svgs:
        assert 'role="img"' in tag
        chart_id = re.search(r'aria-labelledby="([\w-]+)-title', tag)[1]
        assert f'<title id="{chart_id}-title">' in html
        assert f'<desc id="{chart_id}-desc">' in html
    assert "<script" not in html
    assert html.count("<figcaption") == 2


def test_the_conflict_row_differs_and_shows_its_resolve_command(world: World) -> None:
    assert "No time in linked projects in these weeks." in render_html(report_of(world))
    park_a_conflict(world, note="<b>note</b>")
    html = render_html(report_of(world))
    row = re.search(r'<tr class="differs"[^>]*data-week="2026-W10".*?</tr>', html, re.DOTALL)[0]
    assert 'data-forecast-minutes="90"' in row
    assert 'data-timelog-minutes="30"' in row
    (pair,) = world.ledger.pairs(states=[PairState.CONFLICT])
    pair_id = pair.id
    assert f"<code>timesync conflicts resolve {pair_id} --keep forecast</code>" in html


def _services(world: World) -> Services:
    return Services(forecast=lambda: FakeForecastTime(world), timelog=lambda: FakeTimeLogTime(world),
                    run=lambda argv, env: 0)


def _invoke(world: World, tmp_path: Path, *args: str, links: bool = True) -> object:
    links_path = tmp_path / "links.yml"
    if links:
        links_path.write_text(LINKS_YAML.format(conflict_policy="park", max_changes=500))
    base = ["--ledger-url", str(world.ledger.url), "--links-path", str(links_path)]
    return CliRunner().invoke(cli, [*base, *args], obj=_services(world), catch_exceptions=False)


def test_report_writes_the_page_and_json_writes_the_same_data(world: World, tmp_path: Path) -> None:
    park_a_conflict(world, note="<b>note</b>")
    out = tmp_path / "out" / "report.html"
    result = _invoke(world, tmp_path, "report", "--out", str(out), "--since", "2026-03-02", "--until", "2026-03-08")
    assert result.exit_code == 0, result.output
    assert f"wrote {out.resolve()}" in result.output
    assert "Forecast ⇄ TimeLog sync report" in out.read_text(encoding="utf-8")
    dumped = _invoke(world, tmp_path, "report", "--json", "--since", "2026-03-02", "--until", "2026-03-08")
    data = json.loads(dumped.output)
    (row,) = data["agreement"]
    assert (row["week"], row["forecast_minutes"], row["timelog_minutes"]) == ("2026-W10", 90, 30)
    assert row["explanations"][0]["why"] == "conflict"
    as_file = tmp_path / "report.json"
    _invoke(world, tmp_path, "--json", "report", "--out", str(as_file), "--since", "2026-03-02",
            "--until", "2026-03-08")
    assert json.loads(as_file.read_text())["agreement"] == data["agreement"]


def test_ledger_only_and_a_missing_links_file_are_said_on_the_page(world: World, tmp_path: Path) -> None:
    """--ledger-only reads no API; without links.yml the ledger's copy of the links is used, and the page says so."""
    park_a_conflict(world, note="<b>note</b>")
    out = tmp_path / "report.html"
    result = _invoke(world, tmp_path, "report", "--ledger-only", "--out", str(out), "--since", "2026-03-02",
                     "--until", "2026-03-08", links=False)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Ledger only." in html
    assert "was not found: the links the last run copied into the ledger are used" in html
    assert 'data-forecast-minutes="90"' in html


def test_a_bad_window_or_links_file_is_a_clear_error(world: World, tmp_path: Path) -> None:
    result = _invoke(world, tmp_path, "report", "--since", "2026-03-09", "--until", "2026-03-01")
    assert result.exit_code == 1
    assert "ends (2026-03-01) before it starts" in result.output
    (tmp_path / "links.yml").write_text("projects: nope\n")
    bad = CliRunner().invoke(cli, ["--ledger-url", str(world.ledger.url), "--links-path",
                                   str(tmp_path / "links.yml"), "report"], obj=_services(world))
    assert bad.exit_code == 1
    assert "links.yml, line 1" in bad.output
