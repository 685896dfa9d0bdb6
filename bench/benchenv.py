"""What a benchmark result must say about where it ran: the machine, the
code's revision, and the load at the time (shared by the bench scripts)."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

import argusml


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass  # no /proc/cpuinfo (not Linux): keep platform.processor()
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout

        rev = git("rev-parse", "--short", "HEAD").strip()
        diff = git("diff", "HEAD", "--", "src")
        if diff:
            rev += f" + uncommitted changes under src/ (diff sha256 {hashlib.sha256(diff.encode()).hexdigest()[:12]})"
    except OSError:
        rev = "?"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "argus": argusml.__version__, "git": rev}


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        with open("/proc/loadavg") as f:
            return "loadavg " + f.read().strip()


def best_rate(fn: Callable[[Any], object], items: Sequence[Any], repeat: int) -> float:
    """Items per second of ``fn`` over ``items``, the best of ``repeat`` passes: the least disturbed pass on a
    shared machine is the closest to what the code costs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for x in items:
            fn(x)
        best = min(best, time.perf_counter() - t0)
    return len(items) / best
