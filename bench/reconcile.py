"""Reconcile alone, quickly: `timesync-reconcile` on captured tap streams, against an empty and a synced ledger.

The measurement of bench/sync.py's "reconcile alone" rows (`bench.sync.reconcile_throughput`: the run minus the
same run without records, so interpreter start-up is not counted), without the whole sync around it:

- BENCH_RECONCILE_REGISTRATIONS: registrations per side of the generated sandbox (default 5000);
- BENCH_REPEATS: runs per figure, the median counts (default 3);
- BENCH_RECONCILE_PROFILE=1: then also run the mapper in this process under cProfile and print the top functions.

The captured streams and the synced ledger are kept in bench/out/reconcile/<registrations>/ and reused. The synced
ledger is made without the APIs: each stream is planned on an empty ledger and every command completed with a
made-up remote id, as a target would, so planning the same stream again finds every record unchanged.

`BENCH_RECONCILE_REGISTRATIONS=5000 BENCH_REPEATS=1 .venv/bin/python -m bench reconcile` takes about a minute once
the streams are captured.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import shutil
import subprocess
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

import yaml

from bench.sync import (
    PLUGIN_BIN,
    REPO_ROOT,
    SEED,
    Sizes,
    bench_links,
    capture_taps,
    markdown,
    python_env,
    reconcile_throughput,
    throughput_rows,
)
from sandbox.testing import SandboxProcess
from timesync.ledger import Ledger
from timesync.links import Links, load_links
from timesync.model import Direction, Side
from timesync.reconcile.engine import Reconciler
from timesync.reconcile.mapper import ReconcileMapper, side_of_stream

REGISTRATIONS = int(os.environ.get("BENCH_RECONCILE_REGISTRATIONS", "5000"))
PROFILE = os.environ.get("BENCH_RECONCILE_PROFILE", "") not in ("", "0")
DATA = REPO_ROOT / "bench" / "out" / "reconcile"
TAPS = ("tap-forecast", "tap-timelog")


def captured_streams(data: Path) -> tuple[dict[str, Path], Path]:
    """Each tap's full Singer output on a generated sandbox (captured once), and the bench links file."""
    links = data / "links.yml"
    captured = {tap: data / f"{tap}.singer" for tap in TAPS}
    if links.exists() and all(path.exists() for path in captured.values()):
        return captured, links
    data.mkdir(parents=True, exist_ok=True)
    print(f"[bench/reconcile] capturing both taps on a sandbox of {REGISTRATIONS:,} registrations/side", flush=True)
    with SandboxProcess(data=f"generate:registrations={REGISTRATIONS},seed={SEED}") as sandbox:
        captured = capture_taps(sandbox, data, Sizes.from_plugins(), {"TIMESYNC_CACHE_DIR": str(data / "cache")})
    links.write_text(yaml.safe_dump(bench_links(), sort_keys=False), encoding="utf-8")
    return captured, links


def _reconciler_on(stream: Path, ledger: Ledger, links: Links) -> Reconciler:
    """A Reconciler holding every record of a captured stream (the mapper's input phase, in this process)."""
    sides: dict[str, Side | None] = {}
    reconciler: Reconciler | None = None
    with stream.open("rb") as lines:
        for line in lines:
            message = json.loads(line)
            if message["type"] == "SCHEMA":
                sides[message["stream"]] = side_of_stream(message["stream"], message.get("key_properties") or [])
            elif message["type"] == "RECORD" and sides.get(message["stream"]) is not None:
                if reconciler is None:
                    reconciler = Reconciler(ledger, links, Direction.from_source(sides[message["stream"]]))
                reconciler.add(message["stream"], message["record"])
    if reconciler is None:
        raise ValueError(f"{stream}: no stream the sync reads")
    return reconciler


def synced_ledger(data: Path, captured: dict[str, Path], links_path: Path) -> Path:
    """A ledger in which every captured record is synced: planned, and each command completed as a target would."""
    path = data / "synced.db"
    if path.exists():
        return path
    print("[bench/reconcile] making the synced ledger (every command completed with a made-up id)", flush=True)
    building = data / "synced.building.db"
    building.unlink(missing_ok=True)
    ledger, links = Ledger.open(f"sqlite:///{building}"), load_links(links_path)
    try:
        for tap, stream in captured.items():
            for number, command in enumerate(_reconciler_on(stream, ledger, links).run()):
                ledger.complete_create(ledger.resolve_dependencies(command), f"{tap}-made-up-{number}")
    finally:
        ledger.close()
    building.rename(path)
    return path


def profile(stream: Path, ledger: Path | None, links: Path) -> None:
    """The mapper in this process under cProfile, output discarded; prints the top functions by cumulative time."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "ledger.db"
        if ledger is not None:
            shutil.copy(ledger, copy)
        mapper = ReconcileMapper(config={"ledger_url": f"sqlite:///{copy}", "links_path": str(links)})
        profiler = cProfile.Profile()
        with stream.open() as source, redirect_stdout(io.StringIO()):
            profiler.runcall(mapper.listen, source)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> None:
    """Capture (once), measure both streams against both ledgers, print the rows; profile on request."""
    data = DATA / str(REGISTRATIONS)
    captured, links = captured_streams(data)
    synced = synced_ledger(data, captured, links)
    # Bytecode for the mapper's venv, as bench/sync.py measures warm processes.
    subprocess.run([str(PLUGIN_BIN["timesync-reconcile"]), "--about"], env=python_env(dict(os.environ)),
                   capture_output=True, check=False)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as scratch:
        for ledger, label in ((None, "empty"), (synced, "synced")):
            for result in reconcile_throughput(captured, ledger, links, Path(scratch), label):
                rows += throughput_rows(f"{REGISTRATIONS // 1000}k/side" if REGISTRATIONS >= 1000
                                        else f"{REGISTRATIONS}/side", result)
    print(markdown(rows))
    if PROFILE:
        for ledger, label in ((None, "empty"), (synced, "synced")):
            for tap, stream in captured.items():
                print(f"\n[bench/reconcile] profile: {tap} stream, {label} ledger", flush=True)
                profile(stream, ledger, links)


if __name__ == "__main__":
    main()
