#!/usr/bin/env python
"""Alerting: how long the alert engine takes per 5-minute tick at 1,000 models x 30 rules, and how long a bad
window takes to become a notification on the wire.

    .venv/bin/python bench/alerting.py [--models 1000] [--ticks 12] [--notify-models 50] [--rounds 4]

Part 1 (the engine, pure): 1,000 model configs of 30 rules each (15 thresholds on drift scores and missing
shares with hysteresis, 3 on latency, errors and a finding count, 5 baselines and 3 seasonal bands on a
metric's past, 2 absence rules, 2 more thresholds) plus two SLOs (latency, error rate: burn rates) and the
built-in rules. Each tick closes one window per model (with three findings) and ticks every model; the
past that baseline and seasonal rules read is four weeks of 5-minute windows held in memory. Prints the
seconds per tick (p50, max) against the 300 s a tick has, and the rule evaluations per second.

Part 2 (end to end, real time): ``--notify-models`` models with 1-second windows in a real monitor at the
service's default cadences (fold tick 1 s, alert pass 1 s) and a real HTTP receiver for their webhook. In
each round every model's next window loses a column (a P0 schema break, which fires on its first window),
then two good windows resolve it. Prints the time from each bad window's end (when it becomes due to close)
to its "opened" notification arriving at the receiver: p50, p99, max.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from argusml.alerts.engine import Engine, FindingSignal, TickSignal, WindowSignal
from argusml.schema.model_config import model_config_from_dict

W = 300.0
T0 = 1_800_000_000.0


def rules() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    out += [{"name": f"drift_f{i}", "type": "threshold", "metric": f"drift_score.f{i}", "above": 0.3, "clear": 0.2}
            for i in range(10)]
    out += [{"name": f"missing_f{i}", "type": "threshold", "metric": f"missing_ratio.f{i}", "above": 0.1,
             "clear": 0.05} for i in range(5)]
    out += [{"name": "p99", "type": "threshold", "metric": "latency_p99", "above": 1.0, "p0": 3.0},
            {"name": "errors", "type": "threshold", "metric": "error_rate", "above": 0.02},
            {"name": "drifts", "type": "threshold", "metric": "findings.drift", "above": 3}]
    out += [{"name": f"base_{i}", "type": "baseline", "metric": m, "drop": 0.2}
            for i, m in enumerate(["prediction_mean", "rows", "class_ratio.a", "missing_ratio.f5", "drift_score.f5"])]
    out += [{"name": f"season_{i}", "type": "seasonal", "metric": m, "k": 4}
            for i, m in enumerate(["rows", "prediction_mean", "class_ratio.a"])]
    out += [{"name": "quiet", "type": "absence", "metric": "silence", "after": "15m"},
            {"name": "stale", "type": "absence", "metric": "freshness", "after": "1h"}]
    out += [{"name": "rows_low", "type": "threshold", "metric": "rows", "below": 10},
            {"name": "mean_high", "type": "threshold", "metric": "prediction_mean", "above": 0.9}]
    assert len(out) == 30
    return out


def engine_bench(n_models: int, ticks: int) -> None:
    rng = np.random.default_rng(0)
    cfgs = [model_config_from_dict({
        "model": f"m{k:04d}", "alerts": {"webhook": "http://am.example/hook", "rules": rules()},
        "slos": {"latency": {"objective": 0.99, "threshold": "1s"}, "error_rate": {"objective": 0.995}}},
        "bench") for k in range(n_models)]
    # four weeks of 5-minute windows: what baseline and seasonal rules read
    past_t = T0 - 28 * 86400 + np.arange(28 * 288) * W
    past = {m: rng.normal(500 if m == "rows" else 0.5, 20 if m == "rows" else 0.02, len(past_t))
            for m in ("rows", "prediction_mean", "class_ratio.a", "missing_ratio.f5", "drift_score.f5")}

    def history(version: str, metric: str, since: float, until: float) -> tuple[Any, Any]:
        lo = int(np.searchsorted(past_t, since))
        hi = int(np.searchsorted(past_t, until))
        return past_t[lo:hi], past[metric][lo:hi]

    e = Engine(external_url="http://argus:8080")
    times = []
    evaluations = 0
    counters = {c.model: [0.0, 0.0] for c in cfgs}
    for t in range(ticks):
        start, end = T0 + t * W, T0 + (t + 1) * W
        sigs = []
        for c in cfgs:
            metrics = {f"drift_score.f{i}": float(rng.uniform(0, 0.25)) for i in range(10)}
            metrics.update({f"missing_ratio.f{i}": float(rng.uniform(0, 0.04)) for i in range(6)})
            metrics.update(rows=float(rng.normal(500, 20)), prediction_mean=float(rng.normal(0.5, 0.02)),
                           latency_p99=0.4, error_rate=0.001, requests=500.0,
                           **{"class_ratio.a": float(rng.normal(0.5, 0.02)), "drift_score.f5": 0.1})
            findings = [FindingSignal("new_categories", "cat", "P2", "new"), FindingSignal("out_of_range", "f1", "P2", "x"),
                        FindingSignal("drift", f"f{t % 10}", "P1", "drift", 0.2)]
            sigs.append(WindowSignal(c.model, "v1", start, end, "window", metrics, findings))
            tot = counters[c.model]
            tot[0] += 500
            tot[1] += 1
        t0 = time.perf_counter()
        for c, sig in zip(cfgs, sigs):
            e.window(c, sig, end + 120, history)
            e.tick(c, TickSignal(c.model, silence=1.0, freshness=5.0, counters={
                "latency": (counters[c.model][0], counters[c.model][1]),
                "error_rate": (counters[c.model][0], counters[c.model][1] / 2)}), end + 120)
        changes = e.drain()
        times.append(time.perf_counter() - t0)
        evaluations += n_models * (30 + 2 + 1)
        _ = changes
    p50, worst = statistics.median(times), max(times)
    print(f"engine: {n_models} models x 30 rules (+2 SLOs, +built-ins), {ticks} ticks of one closed window each")
    print(f"  seconds per tick: p50 {p50:.2f}  max {worst:.2f}  (a 5-minute tick has 300 s: "
          f"{p50 / 300:.2%} of it at p50)")
    print(f"  rule evaluations per second: {evaluations / sum(times):,.0f}; open incidents at the end: "
          f"{len(e.incidents)}")


class Receiver:
    """A real HTTP receiver that timestamps every Alertmanager payload it gets."""

    def __init__(self) -> None:
        self.got: list[tuple[float, dict[str, Any]]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.got.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def notify_bench(n_models: int, rounds: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from argusml.monitor import Monitor, Settings
    from argusml.store import Store
    from service_util import event, make_reference

    recv = Receiver()
    ref = make_reference()
    store = Store(tempfile.mkdtemp(prefix="argus-bench-alerting-"))
    mon = Monitor(store, Settings())
    for k in range(n_models):
        mon.register(model_config_from_dict({"model": f"n{k:03d}", "window": "1s", "lateness": "0s",
                                             "alerts": {"webhook": recv.url}}, "bench"), ref)
    mon.start()
    rng = np.random.default_rng(1)
    bad_ends: dict[str, list[float]] = {}
    try:
        for r in range(rounds):
            for phase in ("bad", "good", "good"):
                sec = float(int(time.time()) + 1)
                while time.time() < sec:
                    time.sleep(0.005)
                for k in range(n_models):
                    evs = []
                    for i in range(100):  # enough rows for the quality checks (50) to judge the window
                        e = event(f"{r}-{phase}-{sec}-{i}", rng, timestamp=sec + i / 120)
                        if phase == "bad":
                            e["features"].pop("x0")
                        evs.append(e)
                    mon.ingest_events(f"n{k:03d}", evs)
                    if phase == "bad":
                        bad_ends.setdefault(f"n{k:03d}", []).append(sec + 1.0)
                time.sleep(1.2)
        deadline = time.time() + 30
        while sum(1 for _, p in recv.got if p["status"] == "firing") < n_models * rounds and time.time() < deadline:
            time.sleep(0.05)
    finally:
        mon.stop()
        recv.server.shutdown()
    opened = {i["id"]: i["opened_at"] for i in store.incident_states(limit=100_000)}
    closed_at = {(m, end): c for m in bad_ends for end in bad_ends[m]
                 for c in [next((w["closed_at"] for w in store.windows(m, closed=True, limit=100_000)
                                 if w["end_ts"] == end and w["segment"] == "*"), None)]}
    store.close()
    parts: list[tuple[float, float, float]] = []
    delays = []
    for at, payload in recv.got:
        if payload["status"] != "firing":
            continue
        model = payload["groupLabels"]["model"]
        starts = [a["startsAt"] for a in payload["alerts"]]
        from datetime import datetime

        first = min(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in starts)
        end = first + 1.0  # the first bad window's end: when it became due to close
        assert end in bad_ends[model], (model, end)
        delays.append(at - end)
        c, o = closed_at.get((model, end)), opened.get(payload["groupKey"])
        if c is not None and o is not None:
            parts.append((c - end, o - c, at - o))
    delays.sort()
    n = len(delays)
    print(f"bad window to notification: {n_models} models x {rounds} rounds, 1-second windows, default cadences "
          f"(fold tick 1 s, alert pass 1 s), a real HTTP receiver")
    if not n:
        print("  no notification arrived")
        return
    print(f"  notifications: {n} of {n_models * rounds}; seconds from the bad window's end to arrival: "
          f"p50 {delays[n // 2]:.3f}  p99 {delays[min(n - 1, int(0.99 * n))]:.3f}  max {delays[-1]:.3f}")
    for k, what in enumerate(("end -> its close began (the fold thread's next tick)",
                              "close began -> incident opened (checks of every window closing in that tick, the "
                              "snapshot, the alert pass)", "opened -> received (outbox, sender, HTTP)")):
        xs = sorted(p[k] for p in parts)
        if xs:
            print(f"    {what}: p50 {xs[len(xs) // 2]:.3f}  max {xs[-1]:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--ticks", type=int, default=12)
    ap.add_argument("--notify-models", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    engine_bench(args.models, args.ticks)
    if args.notify_models:
        notify_bench(args.notify_models, args.rounds)


if __name__ == "__main__":
    main()
