"""Run the sync and check invariants 1-8 afterwards; the synced demo baseline the suites start from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.testing import SandboxProcess
from tests.e2e.suites.checks import (
    World,
    convergence_problems,
    counted_out_of_scope,
    pair_summary,
    run_items_since,
    untouched_problems,
    written_items,
)
from tests.e2e.suites.edits import Expectations
from tests.e2e.suites.world import SuiteWorld, open_world


def read_world(world: SuiteWorld) -> World:
    """Both simulators' state and the ledger's pairs, now."""
    forecast_state, timelog_state = world.states()
    return World.read(forecast_state, timelog_state, world.links, world.ledger)


def report(title: str, problems: list[str], expect: Expectations | None = None, after: World | None = None) -> str:
    """A failure message: the problems, then what the test did (the seeded edits)."""
    lines = [f"{title}: {len(problems)} problem(s)", *(f"  - {p}" for p in problems[:40])]
    if after is not None:
        lines.append(f"  ledger pair states: {pair_summary(after)}")
    if expect is not None and expect.log:
        lines += ["  edits made before the run:", *(f"    {line}" for line in expect.log)]
    return "\n".join(lines)


def expectation_problems(after: World, expect: Expectations, items: list[dict]) -> list[str]:
    """Invariants 4, 5, 6 and 8 for the scenarios the edit script set up."""
    problems = []
    for f_id, t_id, f_fields, t_fields in expect.conflicts:  # 4: parked, nothing overwritten
        pair = after.pair_of("forecast", f_id)
        if pair is None or pair["state"] != "conflict":
            problems.append(f"conflict {f_id} ⇄ {t_id}: pair state {pair and pair['state']}, expected conflict")
        f, t = after.forecast.get(f_id), after.timelog.get(t_id)
        if f is None or any(f.raw.get(k) != v for k, v in f_fields.items()):
            problems.append(f"conflict {f_id}: Forecast value overwritten, wrote {f_fields}, now {f and f.raw}")
        if t is None or any(t.raw.get(k) != v for k, v in t_fields.items()):
            problems.append(f"conflict {t_id}: TimeLog value overwritten, wrote {t_fields}, now {t and t.raw}")
    for gone_side, gone_id, kept_side, kept_id, fields in expect.orphans:  # 5: no delete over an edit
        survivor = after.side(kept_side).get(kept_id)
        if survivor is None:
            problems.append(f"{kept_side} {kept_id} was edited while its twin {gone_side} {gone_id} was deleted: "
                            "the delete propagated over the edit")
        elif any(survivor.raw.get(k) != v for k, v in fields.items()):
            problems.append(f"{kept_side} {kept_id}: our edit {fields} was overwritten: {survivor.raw}")
        pair = after.pair_of(kept_side, kept_id)
        if pair is None or pair["state"] != "orphaned":
            problems.append(f"{kept_side} {kept_id}: pair state {pair and pair['state']}, expected orphaned")
    for locked_side, locked_id, edited_side, edited_id in expect.locks:  # 6: reported, not written
        pair = after.pair_of(locked_side, locked_id)
        if pair is None or pair["state"] != "locked":
            problems.append(f"{edited_side} {edited_id} edited against locked {locked_side} {locked_id}: pair state "
                            f"{pair and pair['state']}, expected locked")
        if after.side(edited_side).get(edited_id) is None:
            problems.append(f"{edited_side} {edited_id} (edited against a lock) is gone")
    for gone_side, gone_id, twin_side, twin_id in expect.deletes:  # 5: a clean delete propagates
        if gone_id in after.side(gone_side):
            problems.append(f"{gone_side} {gone_id} was deleted by the test but exists again")
        if twin_id in after.side(twin_side):
            problems.append(f"{gone_side} {gone_id} was deleted; its unchanged twin {twin_side} {twin_id} is still "
                            "there")
    missing = expect.out_of_scope_created - counted_out_of_scope(items)  # 8: counted, not dropped silently
    if missing:
        problems.append(f"out-of-scope entries created by the test were not counted as out_of_scope: {sorted(missing)}")
    return problems


def status_problems(world: SuiteWorld, expect: Expectations) -> list[str]:
    """`timesync --json status` reports every pair the scenarios parked, in the state they must be in."""
    completed = world.timesync("status")
    if completed.returncode != 0:
        return [f"timesync status failed ({completed.returncode}): {completed.stderr[-1000:]}"]
    parked = {(p.get("forecast_id"), p.get("timelog_id")): p.get("state")
              for p in json.loads(completed.stdout).get("parked", [])}
    by_forecast = {f: state for (f, _), state in parked.items() if f}
    by_timelog = {t: state for (_, t), state in parked.items() if t}
    wanted = [(f, t, "conflict") for f, t, *_ in expect.conflicts]
    wanted += [(i if s == "forecast" else None, i if s == "timelog" else None, "orphaned")
               for _, _, s, i, _ in expect.orphans]
    wanted += [(i if s == "forecast" else None, i if s == "timelog" else None, "locked")
               for s, i, _, _ in expect.locks]
    problems = []
    for forecast_id, timelog_id, state in wanted:
        shown = by_forecast.get(forecast_id) if forecast_id else by_timelog.get(timelog_id)
        if shown != state:
            problems.append(f"timesync status shows {forecast_id or timelog_id} as {shown!r}, expected {state!r}")
    return problems


def sync_and_check(world: SuiteWorld, expect: Expectations | None = None, *, title: str = "run",
                   before: World | None = None, extra: tuple[str, ...] = (), since_run: int | None = None) -> World:
    """One quiet `meltano run sync`, then invariants 1, 4-8 on the result.

    The expectations are checked against the ledger's run items after ``since_run`` (default: this run's items).
    """
    expect = expect or Expectations()
    before = before or read_world(world)
    last_run = world.ledger.max_run_id() if since_run is None else since_run
    world.sync(*extra)
    after = read_world(world)
    items = run_items_since(world.ledger, last_run)
    problems = (convergence_problems(after) + untouched_problems(before, after, touched_by_test=set())
                + expectation_problems(after, expect, items) + status_problems(world, expect))
    assert not problems, report(f"{title}: invariants broken after meltano run sync", problems, expect, after)
    return after


def echo_check(world: SuiteWorld, *, title: str = "echo run") -> None:
    """Invariant 2: a second quiet run writes nothing (`/_sandbox/stats`) and changes nothing."""
    before_states = world.states()
    world.clear_stats()
    last_run = world.ledger.max_run_id()
    world.sync()
    writes = world.writes()
    items = written_items(run_items_since(world.ledger, last_run))
    after_states = world.states()
    problems = []
    if writes != {"forecast": 0, "timelog": 0}:
        problems.append(f"/_sandbox/stats writes_total {writes}, expected none")
    problems += [f"ledger: the echo run {i['outcome']} {i['kind']} {i['source_id']} ({i['message']})" for i in items]
    for side, old, new in zip(("forecast", "timelog"), before_states, after_states, strict=True):
        for table in ("time_registrations", "work_units", "tasks", "allocations"):
            if table in old and old[table] != new[table]:
                problems.append(f"{side} {table} changed during the echo run")
    assert not problems, report(f"{title}: the quiet re-run was not quiet", problems)


# -- the synced baseline -------------------------------------------------------------------------------------


@dataclass
class Baseline:
    """Both simulators and the project's databases right after the first sync (checked once per process)."""

    forecast_state: dict
    timelog_state: dict
    databases: dict[str, bytes]


_BASELINE: dict[str, Baseline | str] = {}


def _build_baseline(world: SuiteWorld) -> Baseline:
    before = read_world(world)
    out_of_scope = {i for side in ("forecast", "timelog") for i, e in before.side(side).items() if e.twin is None}
    sync_and_check(world, title="first sync of the demo", before=before)
    counted = counted_out_of_scope(run_items_since(world.ledger, 0))
    missing = out_of_scope - counted
    assert not missing, report("first sync: out-of-scope entries not counted in the run report (invariant 8)",
                               [f"{len(missing)} of {len(out_of_scope)} not counted, e.g. {sorted(missing)[:8]}"])
    echo_check(world, title="first sync's echo run")
    forecast_state, timelog_state = world.states()
    workdir = world.project.workdir
    databases = {str(path.relative_to(workdir)): path.read_bytes() for path in world.database_files()}
    assert any(name.endswith("meltano.db") for name in databases), f"no Meltano system DB in {sorted(databases)}"
    return Baseline(forecast_state, timelog_state, databases)


def synced_world(sandbox: SandboxProcess, demo_states: tuple[dict, dict], tmp_path: Path) -> SuiteWorld:
    """A world that has synced the trimmed demo once (and checked that sync): restored from the cache."""
    world = open_world(sandbox, demo_states, tmp_path)
    if "demo" not in _BASELINE:
        _BASELINE["demo"] = "the first sync of the demo failed in an earlier test of this process; see that failure"
        _BASELINE["demo"] = _build_baseline(world)
        return world
    baseline = _BASELINE["demo"]
    if isinstance(baseline, str):
        pytest.fail(baseline)
    sandbox.forecast.reset(baseline.forecast_state)
    sandbox.timelog.reset(baseline.timelog_state)
    workdir = world.project.workdir
    for path in world.database_files():
        path.unlink()
    for name, data in baseline.databases.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(data)
    return world
