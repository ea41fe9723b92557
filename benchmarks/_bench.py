"""What the benchmarks share: timing, ratio lines, peak memory.

Every benchmark measures lineage and a reference side by side in the same process and run, so
a figure is always a ratio against something measured a moment earlier on the same machine
(this machine's 2 cores are shared: absolute numbers move, ratios much less). Each side runs
several times, interleaved with the other; the best time is the headline (the run least
disturbed by neighbours), the median is printed next to it.

A ratio line looks like ``ratio  <what>: 0.84x (target <= 1.0x: met)``; tests check for it.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(work: Callable[[], object]) -> float:
    """Return the wall time of one call of ``work`` in seconds."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def best(samples: list[float]) -> float:
    return min(samples)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ratio_line(
    what: str, value: float, op: str | None = None, target: float | None = None, extra: str = ""
) -> bool:
    """Print one ratio, against its target when it has one; return whether the target is met."""
    tail = f"  {extra}" if extra else ""
    if op is None or target is None:
        print(f"ratio  {what}: {value:.2f}x (no target: for reference){tail}", flush=True)
        return True
    met = value <= target if op == "<=" else value >= target
    verdict = "met" if met else "MISSED"
    print(f"ratio  {what}: {value:.2f}x (target {op} {target}x: {verdict}){tail}", flush=True)
    return met


def header(title: str) -> None:
    print(f"# {title}", flush=True)
    print(f"# python {sys.version.split()[0]}, {os.cpu_count()} cpus, {_load()}", flush=True)


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load average {one:.2f} {five:.2f}"


# -- memory -----------------------------------------------------------------------------------


def rss_mib() -> float:
    """Return this process's resident memory now, in MiB."""
    return _status_kib("VmRSS") / 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """Return the peak resident memory since the last reset (or since start), in MiB."""
    kib = _status_kib("VmHWM")
    if kib:
        return kib / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_kib(field: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
