#!/usr/bin/env python
"""What a circuit breaker adds to a model call: argusml's against a bare call and against pybreaker.

    PYTHONPATH=src .venv/bin/python bench/breaker.py [--calls 200000] [--repeats 7]

The model is a function that returns its input plus one (so the figures are the breaker's own cost, not a
model's). Each case runs ``--calls`` calls in each of ``--repeats`` rounds (the cases take turns
within a round) and prints the median and the best nanoseconds per call, and the median minus the bare
call's: the overhead.

- closed: every call reaches the model (error-rate tripping; with ``slow_call_ms`` too, which reads the
  clock twice per call);
- open: every call is answered by the fallback (a rule returning a constant), the model is not called;
- async: ``await`` through the breaker against a bare ``await``;
- pybreaker (``pip install pybreaker``), closed and open; pybreaker has no fallback, so the open case is
  its ``CircuitBreakerError`` caught and the same rule called, as a user would write it. pybreaker counts
  consecutive failures (``fail_max``), not a rate over a window. When pybreaker is not installed the script
  says so and measures argusml alone.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from argusml.sdk.breaker import CircuitBreaker


def model(x: int) -> int:
    return x + 1


def rule(x: int) -> int:
    return 0


async def amodel(x: int) -> int:
    return x + 1


def per_call_ns(loops: dict[str, Callable[[int], Any]], calls: int, repeats: int) -> dict[str, tuple[float, float]]:
    """(median, best) nanoseconds per call of each ``loop(calls)`` over ``repeats`` rounds. The cases take
    turns within each round, so a neighbour's load on a shared machine slows them all alike."""
    for loop in loops.values():
        loop(min(calls, 10_000))  # warm up
    runs: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, loop in loops.items():
            t0 = time.perf_counter_ns()
            loop(calls)
            runs[name].append((time.perf_counter_ns() - t0) / calls)
    return {name: (statistics.median(r), min(r)) for name, r in runs.items()}


def tripped(b: CircuitBreaker) -> CircuitBreaker:
    def fails(x: int) -> int:
        raise ConnectionError("down")
    for _ in range(b.min_calls):
        try:
            b.invoke(fails, (0,))
        except ConnectionError:
            pass
    assert b.state == "open", b.stats()
    return b


def cases() -> dict[str, Callable[[int], Any]]:
    closed = CircuitBreaker("closed", window=100, min_calls=20, fallback=rule)
    timed = CircuitBreaker("timed", window=100, min_calls=20, slow_call_ms=250, fallback=rule)
    opened = tripped(CircuitBreaker("open", window=100, min_calls=20, cooldown=3600, fallback=rule))
    decorated = CircuitBreaker("deco", window=100, min_calls=20, fallback=rule)(model)
    aclosed = CircuitBreaker("aclosed", window=100, min_calls=20, fallback=rule)

    def bare(n: int) -> None:
        for i in range(n):
            model(i)

    def through(b: CircuitBreaker) -> Callable[[int], None]:
        def loop(n: int) -> None:
            call = b.call
            for i in range(n):
                call(model, i)
        return loop

    def deco(n: int) -> None:
        for i in range(n):
            decorated(i)

    def abare(n: int) -> None:
        async def go() -> None:
            for i in range(n):
                await amodel(i)
        asyncio.run(go())

    def athrough(n: int) -> None:
        async def go() -> None:
            for i in range(n):
                await aclosed.acall(amodel, i)
        asyncio.run(go())

    out: dict[str, Callable[[int], Any]] = {
        "bare call": bare,
        "argusml closed: b.call(model, x)": through(closed),
        "argusml closed, decorated function": deco,
        "argusml closed, slow_call_ms set (times each call)": through(timed),
        "argusml open: fallback answers": through(opened),
        "bare await": abare,
        "argusml closed: await b.acall(amodel, x)": athrough,
    }
    try:
        import pybreaker
    except ImportError:
        return out
    pb_closed = pybreaker.CircuitBreaker(fail_max=20, reset_timeout=60)
    pb_open = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=3600)
    pb_open.open()

    def pb_through(n: int) -> None:
        call = pb_closed.call
        for i in range(n):
            call(model, i)

    def pb_fallback(n: int) -> None:
        call = pb_open.call
        for i in range(n):
            try:
                call(model, i)
            except pybreaker.CircuitBreakerError:
                rule(i)

    out["pybreaker closed: cb.call(model, x)"] = pb_through
    out["pybreaker open: CircuitBreakerError caught, rule called"] = pb_fallback
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200_000, help="calls per run (default 200000)")
    ap.add_argument("--repeats", type=int, default=7, help="runs per case; the median is reported (default 7)")
    args = ap.parse_args()
    try:
        pb = f"pybreaker {importlib.metadata.version('pybreaker')}"
    except importlib.metadata.PackageNotFoundError:
        pb = "pybreaker: not installed (pip install pybreaker), so it is not compared"
    print(f"# Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
          f"{args.calls} calls x {args.repeats} runs; {pb}")
    bare = {"bare call": 0.0, "bare await": 0.0}
    print(f"{'case':58} {'ns/call':>9} {'best':>9} {'overhead':>9}")
    for name, (median, best) in per_call_ns(cases(), args.calls, args.repeats).items():
        base = bare["bare await"] if "await" in name or "acall" in name else bare["bare call"]
        if name in bare:
            bare[name] = median
            over = "-"
        else:
            over = f"{median - base:.0f}"
        print(f"{name:58} {median:9.0f} {best:9.0f} {over:>9}")
    print("# overhead: median ns/call minus the bare call's (the bare await's for the async cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
