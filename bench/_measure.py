"""Measurement helpers shared by the benchmarks: pages, peak RSS and CPU of a process tree, one tap run, the
machine."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psutil

RSS_SAMPLE_SECONDS = 0.02
MIB = 2**20


def pages(count: int, page_size: int, *, at_least: int = 1) -> int:
    """Requests needed to read `count` items `page_size` at a time (`at_least` for a poll that finds nothing)."""
    return max(at_least, math.ceil(count / page_size))


def ratio(measured: float, target: float) -> float:
    """measured / target, infinite for a zero target with something measured."""
    if target:
        return measured / target
    return 0.0 if not measured else math.inf


def verdict(measured: float, target: float, *, at_most: bool = True) -> str:
    """`0.93x ✓` against a limit (`at_most`) or a floor."""
    value = ratio(measured, target)
    ok = value <= 1 if at_most else value >= 1
    return f"{value:.2f}x {'✓' if ok else '✗'}"


def cpu_seconds(process: psutil.Process) -> float:
    """The user + system CPU seconds a process has used so far (its own, not its children's)."""
    times = process.cpu_times()
    return float(times.user + times.system)


class PeakRss:
    """Samples the peak RSS of a process and all its descendants, per role, while the block runs, and the CPU
    seconds each used (as last seen: up to one interval of a process's end is missed).

    `role_of(process)` names a process (e.g. `tap-forecast`) or returns None to ignore it; processes with the
    same role (a mapper started once per pipeline) share one peak, the largest, and add up their CPU.
    """

    def __init__(self, root: psutil.Process, role_of: Callable[[psutil.Process], str | None],
                 interval: float = RSS_SAMPLE_SECONDS) -> None:
        self.root, self.role_of, self.interval = root, role_of, interval
        self.peaks: dict[str, int] = {}
        self._cpu: dict[str, dict[psutil.Process, float]] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)

    def _role(self, process: psutil.Process) -> str | None:
        # Not cached: right after fork, before exec, a child still shows its parent's command line.
        try:
            return self.role_of(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def _sample(self) -> None:
        while not self._done.is_set():
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in tree:
                role = self._role(process)
                if role is None:
                    continue
                try:
                    rss = process.memory_info().rss
                    cpu = cpu_seconds(process)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.peaks[role] = max(self.peaks.get(role, 0), rss)
                self._cpu.setdefault(role, {})[process] = cpu
            time.sleep(self.interval)

    @property
    def cpu(self) -> dict[str, float]:
        """CPU seconds per role: the sum over its processes."""
        return {role: sum(seen.values()) for role, seen in self._cpu.items()}

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def run_tap(args: list[str], env: dict[str, str] | None = None) -> dict:
    """Run one Singer tap process: records per stream, the last STATE, seconds and peak RSS."""
    records: Counter[str] = Counter()
    last_state: dict = {}
    started = time.perf_counter()
    tap = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    with PeakRss(psutil.Process(tap.pid), lambda _process: "tap") as rss:
        for line in tap.stdout:
            if line.startswith(b'{"type":"RECORD"'):
                records[json.loads(line)["stream"]] += 1
            elif line.startswith(b'{"type":"STATE"'):
                last_state = json.loads(line)["value"]
        returncode = tap.wait()
    return {"returncode": returncode, "seconds": time.perf_counter() - started, "records": records,
            "state": last_state, "peak_rss": rss.peaks.get("tap", 0)}


def role_by_executable(names: tuple[str, ...]) -> Callable[[psutil.Process], str | None]:
    """A `role_of` for PeakRss: the first of `names` that is the basename of an argument of the command line."""
    def role_of(process: psutil.Process) -> str | None:
        for argument in process.cmdline()[:3]:
            base = Path(argument).name
            if base in names:
                return base
        return None
    return role_of


def machine() -> dict[str, str]:
    """Cores, RAM, CPU model, Python and the date: the header of a results file."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("model name")]
        cpu = models[0] if models else cpu
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": f"{psutil.cpu_count(logical=True)} logical ({psutil.cpu_count(logical=False)} physical)",
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def load() -> str:
    """The 1-minute load average, to print next to every figure (the machine is shared)."""
    return f"{os.getloadavg()[0]:.2f}"
