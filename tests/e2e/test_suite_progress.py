"""Suite: progress (issue 8). A backfill logs progress per stream at a steady interval.

An operator watching `meltano run sync` during a backfill must see it move: every plugin that works for a
while (a long phase) logs progress lines that carry counts, at least twice, and never falls silent for longer
than `MAX_SILENCE_SECONDS`. Progress lines are the SDK's `METRIC` counters (`record_count`, with the stream
in their tags) and the plugins' own lines that say how far they are ("1200/3000", "1200 of 3000",
"progress"). The backfill is a first sync of `--data generate:registrations=N` (N per side).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import pytest

from sandbox.testing import SandboxProcess
from tests.e2e.suites.world import LONG, open_world, suite_links

pytestmark = [pytest.mark.e2e, pytest.mark.suite]

REGISTRATIONS = 10_000 if LONG else 3_000
SEED = 5
#: A plugin busy this long is in a long phase and must show progress.
LONG_PHASE_SECONDS = 6.0
#: The longest a busy plugin may stay silent (no progress line) during its phase.
MAX_SILENCE_SECONDS = 6.0
PLUGINS = ("tap-forecast--sync", "timesync-reconcile", "target-timelog", "tap-timelog--sync", "target-forecast")
LINE = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z \[\s*\w+\s*\] (?P<plugin>[\w-]+)\s+(?P<text>.*)$")
COUNTED = re.compile(r"\b\d+\s*(/|of)\s*\d+\b|progress", re.IGNORECASE)


def progress_lines(output: str) -> dict[str, list[tuple[dt.datetime, str]]]:
    """Per plugin invocation ("block N: plugin"): its lines as (time, text). The mapper runs in both blocks."""
    per_plugin: dict[str, list[tuple[dt.datetime, str]]] = {}
    block = 1
    for raw in output.splitlines():
        match = LINE.match(raw)
        if not match:
            continue
        if match["plugin"] == "meltano" and "Block run completed" in match["text"]:
            block += 1
        elif match["plugin"] in PLUGINS:
            per_plugin.setdefault(f"block {block}: {match['plugin']}", []).append(
                (dt.datetime.fromisoformat(match["ts"]), match["text"]))
    return per_plugin


def is_progress(text: str) -> bool:
    """A line that says how far a stream got."""
    if text.startswith("METRIC:"):
        return '"record_count"' in text or '"batch_processing_time"' in text
    return bool(COUNTED.search(text))


def silence_problems(per_plugin: dict[str, list[tuple[dt.datetime, str]]]) -> tuple[list[str], list[str]]:
    """(problems, a description of each plugin's phase) for the long phases."""
    problems, phases = [], []
    for plugin, lines in per_plugin.items():
        if not lines:
            continue
        start, end = lines[0][0], lines[-1][0]
        busy = (end - start).total_seconds()
        marks = [start] + [stamp for stamp, text in lines if is_progress(text)] + [end]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(marks)]
        count = len(marks) - 2
        phases.append(f"{plugin}: busy {busy:.1f} s, {count} progress line(s), longest silence {max(gaps):.1f} s")
        if busy < LONG_PHASE_SECONDS:
            continue
        if count < 2:
            problems.append(f"{plugin} worked {busy:.1f} s and logged {count} progress line(s)")
        if max(gaps) > MAX_SILENCE_SECONDS:
            problems.append(f"{plugin} was silent for {max(gaps):.1f} s (> {MAX_SILENCE_SECONDS} s) while busy")
    return problems, phases


def test_the_silence_check_can_fail() -> None:
    """A plugin busy 20 s with one line at each end fails; one with a count every 5 s passes."""
    start = dt.datetime(2026, 11, 25, 12, 0, 0)
    silent = {"target-timelog": [(start, "starting"), (start + dt.timedelta(seconds=20), "applied 900 commands")]}
    assert len(silence_problems(silent)[0]) == 2
    steady = {"target-timelog": [(start + dt.timedelta(seconds=5 * i), f"work: {100 * i}/900 written")
                                 for i in range(5)]}
    assert silence_problems(steady)[0] == []


def test_a_backfill_logs_progress_per_stream_at_a_steady_interval(tmp_path: Path) -> None:
    """Every long phase of a first sync of N registrations per side shows progress, steadily."""
    with SandboxProcess(data=f"generate:registrations={REGISTRATIONS},seed={SEED}") as sandbox:
        demo = (sandbox.forecast.state(), sandbox.timelog.state())
        world = open_world(sandbox, demo, tmp_path, per_project=10**9,
                           links=suite_links({"max_changes_per_run": 10 * REGISTRATIONS}))
        run = world.sync()
    per_plugin = progress_lines(run.output)
    assert sum(map(len, per_plugin.values())) > 0, "the log format changed: no plugin lines parsed"
    problems, phases = silence_problems(per_plugin)
    assert any("busy" in p and float(p.split("busy ")[1].split(" s")[0]) >= LONG_PHASE_SECONDS for p in phases), (
        f"no phase was long enough to judge progress; raise REGISTRATIONS: {phases}")
    assert not problems, "an operator watching this backfill cannot see it move:\n  " + "\n  ".join(
        [*problems, "phases:", *phases])
