"""`make demo`: the sync end to end against the sandbox, through the real `meltano run sync`.

1. Start both simulators with the demo agency and write a demo `links.yml` (most projects and persons linked,
   some deliberately not). Check the setup with `timesync doctor`, as a new user should first.
2. Run the sync: the first run backfills three months both ways. Print what each direction did.
3. Edit both sides through their real APIs, including one entry changed on both sides and one edited in TimeLog
   after Forecast approved it, run again, and show exactly those changes, the parked conflict and the lock.
4. Run a third time: nothing left to do.
5. Write `timesync report` (output/report.html): both sides' hours per project and week, read from both APIs,
   with each difference explained, and print its path.

Everything runs on free ports in a scratch folder (.meltano/demo/), so it never touches a real account. The demo
uses the product as a user does: `meltano run`, and the `timesync` CLI (`--json` where it reads the ledger).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from sandbox.editors import ForecastEditor, TimeLogEditor
from sandbox.forecast.demo import DEMO_TODAY
from sandbox.pipeline import REPO_ROOT, IsolatedMeltano, MeltanoRun, sandbox_plugin_env
from sandbox.roster import demo_links
from sandbox.testing import SandboxProcess

DEMO_DIR = REPO_ROOT / ".meltano" / "demo"
#: The first run backfills three months of the demo agency; the default flood guard (500) would stop it.
DEMO_MAX_CHANGES = 5000
EDIT_DAY = "2026-11-18"
REPORT_PATH = REPO_ROOT / "output" / "report.html"
#: The report covers the demo's three months: its weeks up to the demo's "today".
REPORT_WEEKS = 14
TIMESYNC = str(Path(sys.executable).parent / "timesync")

console = Console(width=int(os.environ.get("COLUMNS", "120")), highlight=False)


def _check(run: MeltanoRun) -> None:
    if run.returncode != 0:
        console.print(run.output[-6000:], markup=False)
        console.print(f"[red]demo: `meltano {' '.join(run.args)}` failed with exit code {run.returncode}[/]")
        sys.exit(run.returncode)


def _timesync(project: IsolatedMeltano, *args: str) -> Any:
    """`timesync --json ARGS` against the demo's ledger, as a script around the sync would call it."""
    completed = subprocess.run([TIMESYNC, "--json", *args], env=project.env(), capture_output=True, text=True,
                               check=False)
    if completed.returncode != 0:
        console.print(completed.stdout + completed.stderr, markup=False)
        console.print(f"[red]demo: `timesync {' '.join(args)}` failed with exit code {completed.returncode}[/]")
        sys.exit(completed.returncode)
    return json.loads(completed.stdout)


def _doctor(project: IsolatedMeltano) -> None:
    console.rule("[bold]Before the first sync: is everything set up?")
    console.print("$ meltano invoke timesync doctor")
    run = project.meltano("invoke", "timesync", "doctor")
    console.print(run.stdout.rstrip(), markup=False)
    _check(run)


def _sync(project: IsolatedMeltano, title: str) -> None:
    console.rule(f"[bold]{title}")
    console.print("$ meltano run sync")
    _check(project.run("sync"))
    status = _timesync(project, "status")
    rows = status["last_sync"]
    table = Table("direction", *next(iter(rows.values()), {}), title="What the sync did")
    for direction, row in rows.items():
        table.add_row(direction.replace("_to_", " → "), *(str(n) for n in row.values()))
    console.print(table)
    entries = [pair for pair in status["parked"] if pair["kind"] == "time_entry"]
    for pair in (pair for pair in entries if pair["state"] == "conflict"):
        console.print(f"  parked conflict: pair {pair['id']}, Forecast registration {pair['forecast_id']} ⇄ "
                      f"TimeLog work {pair['timelog_id']}: {pair['reason']}")
    locked = [pair for pair in entries if pair["state"] == "locked"]
    console.print(f"  {len(locked)} locked pairs: time in approved or closed periods, never edited, each "
                  "difference reported (`timesync status`, and the report below)")


def _edit_both_sides(sandbox: SandboxProcess, project: IsolatedMeltano) -> None:
    """A few edits a team makes between two runs, one of them on both sides of the same entry."""
    forecast, timelog = ForecastEditor(sandbox.forecast_url), TimeLogEditor(sandbox.timelog_url)
    links = demo_links()
    persons = {p["forecast"]: p["timelog"] for p in links["persons"]}
    f_state, t_state = sandbox.forecast.state(), sandbox.timelog.state()
    initials = {e["employee_id"]: e["initials"] for e in t_state["employees"]}
    allocated = {(a["task_id"], a["employee_id"]) for a in t_state["allocations"]}
    twin_task = {int(p["forecast_id"]): int(p["timelog_id"])
                 for p in _timesync(project, "pairs", "--kind", "task") if p["timelog_id"]}
    entries = [p for p in _timesync(project, "pairs", "--kind", "time_entry", "--state", "linked")
               if p["forecast_id"] and p["timelog_id"]]
    task, person = next((t, p) for t in f_state["tasks"] for p in t["assigned_persons"]
                        if t["id"] in twin_task and p in persons and (twin_task[t["id"]], persons[p]) in allocated)
    registrations = {r["id"]: r for r in f_state["time_registrations"]}
    work = {u["guid"]: u for u in t_state["work_units"]}
    open_entries = [p for p in entries if registrations[int(p["forecast_id"])]["approval_status"] != "APPROVED"
                    and work[p["timelog_id"]]["approved_status"] < 10]
    edited, deleted, conflicted, approved = open_entries[:4]

    created = forecast.create_registration(person=person, date=EDIT_DAY, minutes=90, task=task["id"],
                                           notes="Demo: new in Forecast")
    console.print(f"Forecast: new registration {created['id']} (90 min, task {task['title']!r})")
    forecast.update_registration(int(edited["forecast_id"]), time_registered=75, notes="Demo: edited in Forecast")
    console.print(f"Forecast: registration {edited['forecast_id']} edited to 75 min")
    guid = timelog.insert_work(initials=initials[persons[person]], task_id=twin_task[task["id"]], date=EDIT_DAY,
                               minutes=45, note="Demo: new in TimeLog")
    console.print(f"TimeLog:  new work unit {guid} (45 min)")
    timelog.delete_work(deleted["timelog_id"])
    console.print(f"TimeLog:  work unit {deleted['timelog_id']} deleted")
    both = work[conflicted["timelog_id"]]
    forecast.update_registration(int(conflicted["forecast_id"]), time_registered=30)
    timelog.update_work(both["guid"], initials=initials[both["employee_id"]], task_id=both["task_id"],
                        date=both["start_at"][:10], minutes=240, note=both["description"])
    console.print(f"Both:     registration {conflicted['forecast_id']} set to 30 min in Forecast and its twin "
                  f"{both['guid']} to 240 min in TimeLog: a conflict the sync must park, not overwrite")
    sandbox.forecast.lock(registration_ids=[int(approved["forecast_id"])])
    unit = work[approved["timelog_id"]]
    timelog.update_work(unit["guid"], initials=initials[unit["employee_id"]], task_id=unit["task_id"],
                        date=unit["start_at"][:10], minutes=unit["minutes"] + 60, note=unit["description"])
    console.print(f"Locked:   registration {approved['forecast_id']} approved in Forecast, then its twin "
                  f"{unit['guid']} given an hour more in TimeLog: the sync must not edit the approved entry, only "
                  "report it")


def _report(project: IsolatedMeltano) -> None:
    """`timesync report` with the taps' settings, as `meltano invoke timesync report` runs it on a real site."""
    console.rule("[bold]The report: both sides' hours per project and week, and why they differ")
    argv = [TIMESYNC, "report", "--out", str(REPORT_PATH),
            "--until", DEMO_TODAY.isoformat(), "--weeks", str(REPORT_WEEKS)]
    console.print("$ timesync report --out output/report.html")
    completed = subprocess.run(argv, env=project.env(), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        console.print(completed.stdout + completed.stderr, markup=False)
        console.print(f"[red]demo: `timesync report` failed with exit code {completed.returncode}[/]")
        sys.exit(completed.returncode)
    console.print(f"Report written: {REPORT_PATH}")
    console.print(f"Open it in a browser: file://{REPORT_PATH}")


def main() -> int:
    """Run the demo."""
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir(parents=True)
    links_path = DEMO_DIR / "links.yml"
    links = demo_links() | {"options": {"max_changes_per_run": DEMO_MAX_CHANGES}}
    links_path.write_text(yaml.safe_dump(links, sort_keys=False), encoding="utf-8")
    with SandboxProcess(data="demo") as sandbox:
        console.print(f"Sandbox up: Forecast {sandbox.forecast_url}, TimeLog {sandbox.timelog_url}")
        console.print(f"Links: {len(links['projects'])} projects and {len(links['persons'])} persons linked "
                      f"({links_path}); the rest stays out of scope")
        project = IsolatedMeltano(DEMO_DIR / "project", sandbox_plugin_env(sandbox.forecast_url, sandbox.timelog_url),
                                  links_path=links_path)
        _doctor(project)
        _sync(project, "Run 1: the first sync backfills both ways")
        console.rule("[bold]Edits on both sides")
        _edit_both_sides(sandbox, project)
        _sync(project, "Run 2: exactly those changes, and the conflict parked")
        _sync(project, "Run 3: nothing left to do")
        _report(project)
    console.print("\nSandbox stopped. Demo finished. Inspect it with:\n"
                  f"  TIMESYNC_LEDGER_URL={project.ledger_url} .venv/bin/timesync status")
    return 0


if __name__ == "__main__":
    sys.exit(main())
