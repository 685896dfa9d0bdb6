#!/usr/bin/env python
"""The dashboard's overview call at fleet size: ``GET /v1/models?limit=500`` with 500 models that have traffic.

    .venv/bin/python bench/overview_api.py [--models 500] [--windows 3] [--events 60] [--repeat 21]

A real monitor on a real store in a temporary directory, served by the real app under uvicorn on a real
socket, at the service's default cadences. ``--models`` models are registered (one reference; a tenth of
them with latency and error-rate SLOs; three teams); each gets ``--events`` events per 1-minute window over
HTTP for ``--windows`` windows (every seventh model's features shifted in the last one, so its newest
window drifts and its health is "warning"), the windows close on a simulated clock and an alert pass runs.
Then the overview is fetched ``--repeat`` times over HTTP (one warm-up call first) and the median, p90 and
max wall time printed, with the answer's size and its models per health state. (That the call's store
queries do not grow with the number of models is a test: tests/test_dashboard_api.py.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from argusml.monitor import Monitor, Settings
from argusml.profile import Reference
from argusml.schema.model_config import model_config_from_dict
from argusml.store import Store

T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def reference(n: int = 2000) -> Reference:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    df["cat"] = rng.choice(["a", "b", "c"], n)
    df["score"] = rng.random(n)
    return Reference.from_frame(df, prediction="score")


def events(model: int, w: int, n: int, start: float, shift: float) -> list[dict[str, Any]]:
    rng = np.random.default_rng(model * 1000 + w)
    return [{"id": f"{w}-{i}", "timestamp": start + i * 50.0 / n, "prediction": float(rng.random()),
             "latency_ms": float(rng.lognormal(3, 0.5)), "status": 500 if i % 40 == 0 else 200,
             "features": {**{f"x{j}": float(rng.normal(shift)) for j in range(6)}, "cat": str(rng.choice(["a", "b", "c"]))}}
            for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--models", type=int, default=500)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--events", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=21)
    args = ap.parse_args(argv)

    import uvicorn

    from argusml.service.app import create_app

    ref = reference()
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "data")
        # the service's own cadences (fold tick, snapshots), but alert passes run here, once the windows closed
        mon = Monitor(store, Settings(alert_every=3600.0, alert_on_close=False), clock=clock)
        started = time.perf_counter()
        for i in range(args.models):
            slos = {"slos": {"latency": {"objective": 0.99, "threshold": 0.1}, "error_rate": {"objective": 0.99}}} \
                if i % 10 == 0 else {}
            mon.register(model_config_from_dict({"model": f"model-{i:04d}", "window": "1m", "lateness": "0s",
                                                 "team": f"team-{i % 3}", "owner": f"owner-{i % 7}", **slos},
                                                "bench"), ref)
        registered = time.perf_counter() - started
        mon.start()
        server = uvicorn.Server(uvicorn.Config(create_app(mon), host="127.0.0.1", port=0, log_config=None,
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                started = time.perf_counter()
                for w in range(args.windows):
                    for i in range(args.models):
                        shift = 1.5 if i % 7 == 0 and w == args.windows - 1 else 0.0
                        r = client.post(f"/v1/models/model-{i:04d}/events",
                                        json=events(i, w, args.events, clock.t, shift))
                        r.raise_for_status()
                    clock.t += 60.0
                    mon.wait_idle(120)
                mon.alerting.run_once()
                traffic = time.perf_counter() - started
                one = client.get("/v1/models", params={"limit": 500})  # warm-up
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    r = client.get("/v1/models", params={"limit": 500})
                    times.append(time.perf_counter() - t)
                    r.raise_for_status()
                body = one.json()
        finally:
            server.should_exit = True
            thread.join(10)
            mon.stop()
            store.close()
    states: dict[str, int] = {}
    for m in body["models"]:
        states[m["health"]["state"]] = states.get(m["health"]["state"], 0) + 1
    times.sort()
    print(f"models {args.models}, windows {args.windows} x {args.events} events each "
          f"(registered in {registered:.1f} s, traffic in {traffic:.1f} s)")
    print(f"answer: {len(body['models'])} models, total {body['total']}, {len(one.content) / 1024:.0f} KiB, "
          f"health {dict(sorted(states.items()))}")
    print(f"GET /v1/models?limit=500 over {args.repeat} calls: median {statistics.median(times) * 1000:.1f} ms, "
          f"p90 {times[int(0.9 * (len(times) - 1))] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
