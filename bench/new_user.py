"""The service as a new user meets it: a replay of that walk-through, with the numbers it printed.

A scikit-learn model in two versions on a public data set (the Wisconsin
breast-cancer table that ships with scikit-learn), the SDK sending events, labels
over HTTP, drifted traffic, a burst of malformed requests, stray events in empty
windows, and a restart. The monitor runs in-process behind a real HTTP server
(uvicorn, a real DuckDB store) on a simulated clock, so an afternoon of 1-minute
windows takes seconds. It prints what a user would read: findings per drift
episode (roots and linked repeats), what the stray events raised, what the new
version was compared with, which bad inputs were refused, the advice per version
and whether /metrics and /status carry on across the restart.

    python bench/new_user.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import argusml
from argusml.monitor import Monitor, Settings
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from argusml.service.app import create_app
from argusml.store import Store

FEATURES = {"mean radius": "radius", "mean texture": "texture", "mean perimeter": "perimeter", "mean area": "area",
            "mean smoothness": "smoothness", "worst area": "worst_area"}
T0 = 1_800_000_000.0  # a window boundary; the walk-through's clock starts here
MINUTE = 60.0


class Clock:
    def __init__(self) -> None:
        self.t = T0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def set(self, t: float) -> None:
        with self._lock:
            self.t = t


class Server:
    def __init__(self, monitor: Monitor) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(monitor), host="127.0.0.1", port=self.port,
                                                    log_config=None, access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join()


def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = load_breast_cancer(as_frame=True).frame
    df = raw[list(FEATURES)].rename(columns=FEATURES)
    rng = np.random.default_rng(0)
    df["clinic"] = rng.choice(["north", "south", "east"], len(df), p=[0.5, 0.3, 0.2])
    df["label"] = raw["target"].to_numpy()  # 1 benign
    idx = rng.permutation(len(df))
    return df.iloc[idx[:300]].reset_index(drop=True), df.iloc[idx[300:]].reset_index(drop=True)


def traffic(pool: pd.DataFrame, n: int, rng: np.random.Generator, drift: bool) -> pd.DataFrame:
    """Bootstrap rows of the held-out half with a little noise; ``drift``: larger tumours are measured
    (radius, perimeter, area x1.3), and their labels no longer follow the old relationship."""
    out = pool.iloc[rng.integers(0, len(pool), n)].reset_index(drop=True).copy()
    for c in FEATURES.values():
        out[c] = out[c] * rng.normal(1.0, 0.02, n)
    if drift:
        for c in ("radius", "perimeter", "area", "worst_area"):
            out[c] = out[c] * 1.3
        flip = rng.random(n) < 0.35
        out.loc[flip, "label"] = 1 - out.loc[flip, "label"]
    return out


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url + "/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def start(work: Path, cfg: ModelConfig, reference: Reference, clock: Clock
          ) -> tuple[Store, Monitor, Server, httpx.Client]:
    """The service on ``work``'s data directory (again, after a restart), behind a real HTTP server."""
    store = Store(work / "data")
    mon = Monitor(store, Settings(tick_every=0.02, snapshot_every=0.05, performance_every=3600), clock=clock)
    mon.register(cfg, reference)
    mon.start()
    srv = Server(mon)
    return store, mon, srv, httpx.Client(base_url=srv.url, timeout=60)


def main() -> int:
    train, held = data()
    x_cols = [c for c in FEATURES.values()]
    v1 = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train[x_cols], train["label"])
    v2 = GradientBoostingClassifier(random_state=0).fit(train[x_cols], train["label"])
    base = train.assign(score=v1.predict_proba(train[x_cols])[:, 1])
    reference = Reference.from_frame(base, prediction="score", target="label")
    work = Path(tempfile.mkdtemp(prefix="argus-new-user-"))
    clock = Clock()
    cfg = ModelConfig(model="cancer", window="1m", lateness="30s", segments=["clinic"],
                      performance={"min_labels": 100})
    store, mon, srv, http = start(work, cfg, reference, clock)
    rng = np.random.default_rng(1)
    sdk = argusml.Client(srv.url, model="cancer", flush_interval=0.05)
    sent = 0

    def minute(k: int, version: str, model: Any, drift: bool, n: int = 150) -> None:
        nonlocal sent
        t0 = T0 + k * MINUTE
        clock.set(t0 + MINUTE - 1)
        rows = traffic(held, n, rng, drift)
        scores = model.predict_proba(rows[x_cols])[:, 1]
        for i, (r, s) in enumerate(zip(rows.itertuples(index=False), scores)):
            sdk.log(id=f"{version}-{k}-{i}", features={c: float(getattr(r, c)) for c in x_cols} | {"clinic": r.clinic},
                    prediction=float(s), version=version, timestamp=t0 + 1 + i * (MINUTE - 5) / n)
        assert sdk.flush(timeout=60), sdk.stats
        labels = [{"id": f"{version}-{k}-{i}", "label": int(y), "version": version} for i, y in enumerate(rows["label"])]
        assert http.post("/v1/models/cancer/labels", json=labels).status_code in (200, 202)
        sent += n

    # 1. v1 for 90 minutes, drifted from minute 45; v2 (no reference of its own) beside it from minute 60
    for k in range(90):
        minute(k, "v1", v1, drift=k >= 45)
        if k >= 60:
            minute(k, "v2", v2, drift=k >= 45, n=100)
    clock.set(T0 + 90 * MINUTE + 31)
    mon.wait_idle()
    mon.wait_idle()
    # 2. malformed input, as a new user's model server sends it
    bad_events = [
        {"id": "b1", "features": {c: 1.0 for c in x_cols} | {"clinic": "north"}, "prediction": "benign"},
        {"id": "b2", "features": {c: 1.0 for c in x_cols} | {"clinic": "north"}, "prediction": {"0": 0.9, "1": 0.8}},
        {"id": "b3", "features": {c: 1.0 for c in x_cols} | {"clinic": "north"}, "prediction": 17.5},
        {"id": "b4", "features": {"radius": 14.0}, "prediction": 0.4},
        {"id": "b5", "features": {c: 1.0 for c in x_cols} | {"clinic": "north"}, "prediction": 0.4,
         "timestamp": "2020-01-01T00:00:00Z"},
    ]
    r_ev = http.post("/v1/models/cancer/events", json=bad_events).json()
    r_lab = http.post("/v1/models/cancer/labels", json=[{"id": "v1-0-0", "label": 7, "version": "v1"},
                                                        {"id": "v1-0-1", "label": 2.5, "version": "v1"}]).json()
    queries = {q: http.get("/v1/models/cancer/windows", params=p).status_code
               for q, p in (("granularity=7m", {"granularity": "7m"}), ("granularity=5m", {"granularity": "5m"}),
                            ("version=v9", {"version": "v9"}))}
    # 3. six stray events, each alone in its window, with 6 of 7 features missing
    for k in range(6):
        t = T0 + (95 + 2 * k) * MINUTE + 10
        clock.set(t + 1)
        http.post("/v1/models/cancer/events", json=[{"id": f"stray-{k}", "features": {"radius": 14.0},
                                                    "prediction": 0.5, "version": "v1", "timestamp": t}])
    clock.set(T0 + 120 * MINUTE + 31)
    mon.wait_idle()
    mon.wait_idle()
    mon.update_performance(force=True)

    every = http.get("/v1/models/cancer/findings", params={"limit": 10_000, "linked": True}).json()["findings"]
    roots = http.get("/v1/models/cancer/findings", params={"limit": 10_000}).json()["findings"]
    episode = [f for f in every if T0 + 45 * MINUTE <= _ts(f["window_start"]) < T0 + 90 * MINUTE
               and f["version"] == "v1"]
    stray = [f for f in every if _ts(f["window_start"]) >= T0 + 95 * MINUTE]
    v2_first = http.get("/v1/models/cancer/windows", params={"version": "v2", "segment": "*", "granularity": "1m",
                                                             "limit": 1000}).json()["windows"]
    v2_first.sort(key=lambda w: w["start"])
    advice = http.get("/v1/models/cancer/advice").json()
    before = scrape(srv.url)
    status_before = http.get("/v1/models/cancer/status").json()

    # 4. a restart on the same data directory
    srv.stop()
    mon.stop()
    store.close()
    store, mon, srv, http = start(work, cfg, reference, clock)
    after = scrape(srv.url)
    status_after = http.get("/v1/models/cancer/status").json()
    advice_after = http.get("/v1/models/cancer/advice").json()
    sdk.close()

    print(f"events sent through the SDK: {sent}; SDK stats: accepted {sdk.stats.sent}, failed {sdk.stats.failed}")
    print("\n== one drift episode (v1, minutes 45-90) ==")
    print(f"findings stored: {len(episode)}; listed by default (roots): "
          f"{sum(1 for f in roots if f in episode or _same(f, episode))}; linked repeats: "
          f"{sum(1 for f in episode if f['repeats'] is not None)}")
    by = Counter((f["granularity"], f["segment"] == "*", f["repeats"] is None) for f in episode)
    for (g, whole, root), n in sorted(by.items()):
        print(f"  {g / 60:g}-minute {'whole-traffic' if whole else 'segment'} windows: {n} "
              f"{'roots' if root else 'linked'}")
    print("\n== six stray events, each alone in a window, 6 of 7 features missing ==")
    print(f"findings: {Counter(f['severity'] + ' ' + f['check'] for f in stray) or 'none'}")
    print("\n== v2 before it has a reference of its own ==")
    w = v2_first[0]["verdict"]
    print(f"first window: prediction compared with {w.get('prediction_baseline')}")
    print(f"prediction_drift findings of v2: "
          f"{sum(1 for f in every if f['version'] == 'v2' and f['check'] == 'prediction_drift')} "
          f"of {len(v2_first)} windows")
    print("\n== malformed input ==")
    for p in r_ev.get("rejected", []):
        print(f"  rejected event {p['index']}: {p['field']}: {p['error']}")
    for p in r_ev.get("warnings", []):
        print(f"  warned event {p['index']}: {p['field']}: {p['error']}")
    for p in r_lab.get("rejected", []):
        print(f"  rejected label {p['index']}: {p['field']}: {p['error']}")
    print(f"  queries: {queries}")
    print("\n== advice ==")
    for v, a in advice["versions"].items():
        print(f"  {v}: {a['summary']}")
    print(f"  after the restart: {advice_after['decision']} ({advice_after['summary'][:120]}...)")
    print("\n== across the restart ==")
    gone = sorted({k[0] for k in before} - {k[0] for k in after})
    changed = sorted({k[0] for k in before if k in after and after[k] != before[k]
                      and not k[0].startswith(("argus_process", "process_", "python_", "argus_store", "argus_queue",
                                               "argus_ingest", "argus_writer", "argus_up"))})
    print(f"  metric families missing after: {gone or 'none'}")
    print(f"  samples whose value changed: {changed or 'none'}")
    for key in ("events_total", "labels_total", "rejected_total", "too_late_total"):
        print(f"  /status {key}: {status_before[key]} -> {status_after[key]}")
    srv.stop()
    mon.stop()
    store.close()
    return 0


def _ts(s: str) -> float:
    return pd.Timestamp(s).timestamp()


def _same(f: dict[str, Any], episode: list[dict[str, Any]]) -> bool:
    return any(all(f[k] == g[k] for k in ("version", "segment", "granularity", "window_start", "check", "column"))
               for g in episode)


if __name__ == "__main__":
    sys.exit(main())
