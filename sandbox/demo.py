"""`make demo`: start the sandbox, run the pipelines through the real `meltano run`, show what happened, stop.

Everything runs against the local simulators on free ports, in a scratch folder under .meltano/demo/, so the
demo never touches a real account and can be run again and again.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

from sandbox.pipeline import REPO_ROOT, IsolatedMeltano, MeltanoRun, sandbox_plugin_env
from sandbox.testing import SandboxProcess

DEMO_DIR = REPO_ROOT / ".meltano" / "demo"


def _say(text: str) -> None:
    print(text, flush=True)


def _check(run: MeltanoRun) -> None:
    if run.returncode != 0:
        _say(run.output[-4000:])
        _say(f"demo: `meltano {' '.join(run.args)}` failed with exit code {run.returncode}")
        sys.exit(run.returncode)


def _csv_rows(folder: Path) -> dict[str, int]:
    counts = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            counts[path.stem] = sum(1 for _ in csv.DictReader(handle))
    return counts


def main() -> int:
    """Run the demo."""
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    with SandboxProcess(data="demo") as sandbox:
        _say(f"Sandbox up: Forecast {sandbox.forecast_url}, TimeLog {sandbox.timelog_url}")
        project = IsolatedMeltano(DEMO_DIR, sandbox_plugin_env(sandbox.forecast_url, sandbox.timelog_url))
        _say("\n$ meltano run tap-forecast target-csv   (a reporting export of Forecast)")
        _check(project.run("tap-forecast", "target-csv"))
        for stream, rows in _csv_rows(project.output_dir).items():
            _say(f"  {stream:<28} {rows:>6} rows")
    _say("\nSandbox stopped. Demo finished.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
