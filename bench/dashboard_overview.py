#!/usr/bin/env python
"""The dashboard's overview with 500 models, timed in Debian's Chromium against the real service.

    .venv/bin/python bench/dashboard_overview.py [--models 500] [--per 500] [--runs 7] [--windows 2] [--per-window 80]
        [--serve thread|process] [--data DIR]

Builds a store with ``--models`` registered models (six teams, twenty owners), each with ``--windows``
closed one-minute windows of ``--per-window`` events ending a minute ago; every 10th model drifts on x0
from its second window (alerts pending or an incident: warning and incident rows as well as ok ones).
Then the service answers on a real socket (no auth): by default (``--serve thread``) the very app that built
the store, under uvicorn in this process, as the tests' ``LiveServer`` does; with ``--serve process``,
`argus serve --data` in a child process after the store is closed (its start-up reloads 500 models, about
7 s: ``bench/fleet_restart.py``). Headless Chromium opens each page of
the overview at ``--per`` models a page (``/?per=500&page=N``: the overview pages through the API's
``limit``/``offset``; 500 rows is its largest page, so the default shows all 500 models on one page)
``--runs`` times in one browser (about:blank in between; the first run has an empty cache).
Timed: from the navigation's start to ``body[data-ready="true"]`` (the page's own clock, Navigation
Timing's zero, read by a MutationObserver installed before any page script), with the rows drawn and
``/v1/models``' own server time alongside. Prints each run, then the median.

The issue's bar: under 1 s for the overview of 500 models; each page is timed, the slowest page counts.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from browser_util import browser_missing, chromium, problems, wait_ready  # noqa: E402
from service_util import FAST, Clock, LiveServer, Running, Server, event, make_reference, start_monitor  # noqa: E402

TEAMS = ("risk", "growth", "search", "ads", "payments", "support")


def build(data: Path, n_models: int, windows: int, per_window: int, keep: bool = False,
          memory_limit: str | None = None) -> Running | None:
    """Register ``n_models`` models in the store at ``data`` and close their windows, with our own clock;
    with ``keep``, the monitor is left running (the caller serves it and stops it). ``memory_limit``:
    DuckDB's, default the service's own (``Settings.memory_limit``)."""
    from argusml.monitor import Settings
    from argusml.schema.model_config import model_config_from_dict

    clock = Clock(math.floor(time.time() / 60) * 60 - (windows + 1) * 60)
    ref = make_reference()
    configs = [model_config_from_dict({
        "model": f"model-{i:03d}", "team": TEAMS[i % len(TEAMS)], "owner": f"owner{i % 20:02d}",
        "description": f"benchmark model {i}", "window": "1m", "lateness": "0s",
    }, f"model-{i:03d}.yaml") for i in range(n_models)]
    running = start_monitor(data, *((c, ref) for c in configs), clock=clock,
                            settings=Settings(**FAST, alert_every=3600.0, alert_on_close=False,
                                             **({"memory_limit": memory_limit} if memory_limit else {})))
    try:
        for w in range(windows):
            for i, c in enumerate(configs):
                rng = np.random.default_rng(i * 1000 + w)
                batch = [event(f"{w}-{k}", rng, shift=1.5 if i % 10 == 0 and w >= 1 else 0.0,
                               timestamp=clock.t + k * (50.0 / per_window), status=200, latency_ms=30.0)
                         for k in range(per_window)]
                r = running.client.post(f"/v1/models/{c.model}/events", json=batch)
                assert r.status_code == 200, r.text
            clock.advance(60)
            assert running.monitor.wait_idle(timeout=600)
            running.monitor.alerting.run_once()
    except BaseException:
        running.stop()
        raise
    if keep:
        return running
    running.stop()
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=500)
    ap.add_argument("--per", type=int, default=500, help="models a page: 25, 50, 100, 200 or 500 (the overview's sizes)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--per-window", type=int, default=80)
    ap.add_argument("--data", type=Path, help="keep the store here (and reuse it when it is already there)")
    ap.add_argument("--serve", choices=("process", "thread"), default="thread",
                    help="process: `argus serve --data` in a child process on the built store; thread: the app "
                         "that built it, under uvicorn on a real socket in this process (no restart)")
    args = ap.parse_args()
    if args.per not in (25, 50, 100, 200, 500):
        ap.error(f"--per {args.per}: the overview's page sizes are 25, 50, 100, 200 and 500")
    why = browser_missing()
    if why:
        print(f"dashboard_overview: {why}", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="argus-dash-bench-"))
    data = args.data or tmp / "data"
    running = None
    try:
        if data.exists() and args.serve == "process":
            print(f"store: {data}, built before")
        else:
            t = time.perf_counter()
            running = build(data, args.models, args.windows, args.per_window, keep=args.serve == "thread")
            print(f"store: {args.models} models x {args.windows} windows x {args.per_window} events, "
                  f"built in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        server: Server | LiveServer
        if running is not None:
            server = running.live()
        else:
            server = Server(None, data, log=tmp / "serve.log")
            server.wait_ready(timeout=900)
        print(f"service ({args.serve}) ready in {time.perf_counter() - t:.1f} s")
        try:
            api = []
            for _ in range(5):
                t = time.perf_counter()
                got = httpx.get(f"{server.url}/v1/models", params={"limit": args.per}, timeout=30)
                api.append(time.perf_counter() - t)
                assert got.status_code == 200, got.text
            total = got.json().get("total")
            health: dict[str, int] = {}
            for m in httpx.get(f"{server.url}/v1/models", params={"limit": 1000}, timeout=30).json()["models"]:
                state = (m.get("health") or {}).get("state", "?")
                health[state] = health.get(state, 0) + 1
            print(f"GET /v1/models?limit={args.per}: median {statistics.median(api) * 1000:.0f} ms over 5 "
                  f"(total={total}; health of all: {health})")
            pages = math.ceil(args.models / args.per)
            drv = chromium()
            try:
                worst = []
                for page in range(1, pages + 1):
                    url = f"{server.url}/?per={args.per}&page={page}"
                    times = []
                    for _ in range(args.runs):
                        drv.get("about:blank")
                        drv.get(url)
                        assert wait_ready(drv, timeout=60) == "true", f"{url}: the page reported an error"
                        ready = drv.execute_script("return window.__readyAt")
                        if ready is None:  # set before the observer saw it change: the load event bounds it
                            ready = drv.execute_script(
                                "return performance.getEntriesByType('navigation')[0].loadEventEnd")
                        n_rows = drv.execute_script(
                            "return document.querySelectorAll('table#models tr[data-model]').length")
                        bad = problems(drv)
                        assert not bad, bad
                        expected = min(args.per, args.models - (page - 1) * args.per)
                        assert n_rows == expected, f"{url}: {n_rows} rows drawn, {expected} expected"
                        times.append(float(ready))
                    print(f"/?per={args.per}&page={page}: {n_rows} rows; data-ready after "
                          + ", ".join(f"{t:.0f}" for t in times) + f" ms; median {statistics.median(times):.0f} ms")
                    worst.append(statistics.median(times))
                browser = f"{drv.capabilities.get('browserName')} {drv.capabilities.get('browserVersion')}"
            finally:
                drv.quit()
            print(f"overview of {args.models} models, {pages} page(s) of {args.per}: slowest page's median "
                  f"{max(worst):.0f} ms over {args.runs} runs each (bar: 1000 ms)")
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                  f"{browser}")
        finally:
            if running is not None:
                running.stop()
            else:
                server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
