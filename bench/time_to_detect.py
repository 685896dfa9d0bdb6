#!/usr/bin/env python
"""Time to detect: how long after a change the collector says so, provisionally and at the close.

    .venv/bin/python bench/time_to_detect.py [--speed 10] [--rates 10,100] [--offsets 0,100,200]
                                             [--shift 0.5] [--out bench/results/time_to_detect.md]

One ``Monitor`` in this process (the collector's engine: writer, indexer and
fold threads, a DuckDB store in a temp dir), with the service's defaults:
5-minute windows, 2 minutes of lateness, provisional looks every 30 s from
``checks.drift.min_rows`` (50) rows, alpha 0.05 spent over the 14 looks a
window can get. One model per rate (``--rates`` events per second), each fed
events stamped with the monitor's clock: six standard-normal features, a
3-class category and a uniform score, as in the reference (4,000 rows drawn
alike). At ``onset`` the mean of ``x0`` moves by ``--shift`` reference
standard deviations and stays there. The onset lies ``--offsets`` seconds
after the start of a window (each offset one trial, on a fresh store), so
the window holding it mixes clean and shifted rows as it would in life.

Printed per rate and offset, in seconds after the onset: the first
provisional look that calls ``x0`` drifted (its clock), and the first
confirmed ``drift`` finding on ``x0`` (the close that stored it). Looks
that called ``x0`` drifted before the onset are counted as false alarms.

The monitor's clock is injectable, and ``--speed`` compresses time: the clock
runs ``speed`` times faster than the wall clock, and so do the engine's
cadences (tick, snapshot, fold gathering: ``Settings`` divided by the speed).
What is not compressed is CPU time: a provisional look that takes 60 ms of
CPU (the multivariate tests dominate) counts as 0.06 * speed seconds of the
monitor's time, and a tick's granularity (1 s of monitor time) is kept by
scaling it, so a compressed run is pessimistic by about that much per look;
``--speed 1`` is real time (about 12 minutes per trial).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from argusml.monitor import Monitor, Settings
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from argusml.store import Store
from benchenv import machine, uptime

WINDOW = 300.0
LATENESS = 120.0
FEATURES = [f"x{j}" for j in range(6)]


class CompressedClock:
    """The monitor's clock, ``speed`` times faster than the wall clock, from ``start``."""

    def __init__(self, start: float, speed: float) -> None:
        self.start, self.speed, self.m0 = start, speed, time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self.m0) * self.speed


def reference(n: int = 4000, seed: int = 0) -> Reference:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: rng.normal(size=n) for c in FEATURES})
    df["cat"] = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    df["score"] = rng.random(n)
    return Reference.from_frame(df, prediction="score")


@dataclass
class Trial:
    model: str
    rate: float
    onset: float
    provisional: float | None = None  # monitor time of the first look calling x0 drifted after the onset
    provisional_rows: int | None = None
    confirmed: float | None = None  # monitor time of the close that stored the first x0 drift finding
    false_looks: int = 0  # looks calling x0 drifted before the onset
    sent: int = 0
    seen_looks: set[tuple[float, int]] = field(default_factory=set)


def feed(mon: Monitor, clock: CompressedClock, trial: Trial, shift: float, stop: threading.Event, seed: int) -> None:
    """Events at ``trial.rate`` per monitor second, stamped with the monitor's clock, sent every 50 ms."""
    rng = np.random.default_rng(seed)
    last = clock()
    k = 0
    while not stop.is_set():
        time.sleep(0.05)
        now = clock()
        n = int((now - last) * trial.rate)
        if n <= 0:
            continue
        ts = last + (np.arange(n) + 1) / trial.rate
        last = float(ts[-1])
        x = rng.normal(size=(n, len(FEATURES)))
        x[:, 0] += np.where(ts >= trial.onset, shift, 0.0)
        cats = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
        scores = rng.random(n)
        items = [{"id": f"{trial.model}-{k + i}", "timestamp": float(ts[i]),
                  "features": {**{c: float(x[i, j]) for j, c in enumerate(FEATURES)}, "cat": str(cats[i])},
                  "prediction": float(scores[i])} for i in range(n)]
        k += n
        answer = mon.ingest_events(trial.model, items)
        if answer.future is not None:
            answer.future.result(30)
        trial.sent += n


def watch(mon: Monitor, trial: Trial) -> None:
    """Note the first provisional and confirmed drift on x0 (and provisional ones before the onset)."""
    for p in mon.status(trial.model)["provisional"]:
        v = p["verdict"]
        key = (p["start"], v["look"])
        if key in trial.seen_looks:
            continue
        trial.seen_looks.add(key)
        if "x0" not in (v.get("drifted_columns") or []):
            continue
        if v["looked_at"] < trial.onset:
            trial.false_looks += 1
        elif trial.provisional is None and p["end"] > trial.onset:
            trial.provisional, trial.provisional_rows = v["looked_at"], v["n_rows"]
    if trial.confirmed is None:
        found = mon.store.findings(trial.model, since=trial.onset, granularity=WINDOW, segment="*", limit=1000)
        hits = [f["created_at"] for f in found if f["check_name"] == "drift" and f["column_name"] == "x0"]
        if hits:
            trial.confirmed = min(hits)


def run_trial(ref: Reference, rates: list[float], offset: float, shift: float, speed: float, limit: float,
              seed: int) -> list[Trial]:
    with tempfile.TemporaryDirectory(prefix="argus-ttd-") as d:
        wall = time.time()
        start = (math.floor(wall / WINDOW) + 1) * WINDOW - 5.0  # the traffic starts 5 s before a window does
        clock = CompressedClock(start, speed)
        settings = Settings(tick_every=1.0 / speed, snapshot_every=10.0 / speed, fold_gather=0.25 / speed,
                            index_every=0.5 / speed, performance_every=3600.0)
        store = Store(d)
        mon = Monitor(store, settings, clock=clock)
        onset = start + 5.0 + WINDOW + offset  # in the second window: the first is all clean
        trials = []
        for rate in rates:
            name = f"r{rate:g}"
            mon.register(ModelConfig(model=name, window=WINDOW, lateness=LATENESS), ref)
            trials.append(Trial(name, rate, onset))
        mon.start()
        stop = threading.Event()
        feeders = [threading.Thread(target=feed, args=(mon, clock, t, shift, stop, seed + i), daemon=True)
                   for i, t in enumerate(trials)]
        for f in feeders:
            f.start()
        try:
            while clock() < onset + limit and not all(t.confirmed is not None for t in trials):
                time.sleep(0.1)
                for t in trials:
                    watch(mon, t)
        finally:
            stop.set()
            for f in feeders:
                f.join(10)
            mon.stop()
            store.close()
        return trials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speed", type=float, default=10.0, help="monitor seconds per wall second")
    ap.add_argument("--rates", default="10,100", help="events per second, one model each")
    ap.add_argument("--offsets", default="0,100,200", help="seconds from a window's start to the onset, one "
                                                            "trial each")
    ap.add_argument("--shift", type=float, default=0.5, help="mean shift of x0, in standard deviations")
    ap.add_argument("--limit", type=float, default=900.0, help="give up this many monitor seconds after the onset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the table (Markdown) here")
    args = ap.parse_args()
    rates = [float(x) for x in args.rates.split(",")]
    offsets = [float(x) for x in args.offsets.split(",")]
    ref = reference()
    m = machine()
    lines = [f"machine: {m['nproc']} cores, {m['cpu']}; python {m['python']}; argus {m['argus']} ({m['git']})",
             f"load before: {uptime()}",
             f"speed {args.speed:g}x, shift {args.shift:g} sd on x0, window 5m, lateness 2m, provisional every 30s "
             f"from 50 rows (14 looks, alpha 0.05/14 each)", "",
             "| events/s | onset into its window (s) | first provisional (s) | rows at that look | "
             "first confirmed (s) | false provisional looks |", "|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    started = time.monotonic()
    for i, offset in enumerate(offsets):
        for t in run_trial(ref, rates, offset, args.shift, args.speed, args.limit, args.seed + 10 * i):
            prov = "-" if t.provisional is None else f"{t.provisional - t.onset:.0f}"
            conf = "-" if t.confirmed is None else f"{t.confirmed - t.onset:.0f}"
            row = (f"| {t.rate:g} | {offset:g} | {prov} | {t.provisional_rows if t.provisional_rows else '-'} | "
                   f"{conf} | {t.false_looks} |")
            lines.append(row)
            print(row, flush=True)
    tail = [f"load after: {uptime()}", f"wall time: {time.monotonic() - started:.0f} s"]
    print("\n".join(tail))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join([*lines, "", *tail]) + "\n")


if __name__ == "__main__":
    main()
