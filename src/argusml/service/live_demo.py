"""`argus demo --live`: the collector watching a model, in under a minute.

A real server (uvicorn on localhost) and a real client (the SDK) play a
credit-scoring model's traffic in short windows: the first half clean, the
second with the demo's planted problems. Each window's verdict is printed as
it closes, so one sees the service stay quiet, then find the drift.
"""

from __future__ import annotations

import tempfile
import threading
import time
from typing import Any

import numpy as np
import orjson

from argusml.demo import PLANTED, make_frame
from argusml.monitor import Monitor, Settings
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from argusml.store import Store

FEATURES = ("age", "income", "utilization", "open_accounts", "region", "channel", "employment")


def _events(table: Any) -> list[tuple[str, dict[str, Any], float, int]]:
    cols = {n: table.column(n).to_pylist() for n in (*FEATURES, "application_id", "score", "defaulted")}
    return [(cols["application_id"][i], {n: cols[n][i] for n in FEATURES}, cols["score"][i], cols["defaulted"][i])
            for i in range(table.num_rows)]


def run_live_demo(port: int, windows: int = 6, window_seconds: int = 5, rows_per_window: int = 3000,
                  data_dir: str | None = None, echo: Any = print) -> dict[str, Any]:
    import uvicorn

    from argusml.sdk import Client
    from argusml.service.app import create_app

    rng = np.random.default_rng(11)
    reference = Reference.from_frame(make_frame(rng, 30_000, drift=False, start_day=0), target="defaulted",
                                     prediction="score", id="application_id", ignore=["applied_at"])
    tmp = None
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="argus-live-")
        data_dir = tmp.name
    store = Store(data_dir)
    monitor = Monitor(store, Settings(tick_every=0.2, snapshot_every=5.0))
    config = ModelConfig(model="credit", owner="demo", window=window_seconds, lateness=1, segments=["channel"])
    monitor.register(config, reference)
    monitor.start()
    server = uvicorn.Server(uvicorn.Config(create_app(monitor), host="127.0.0.1", port=port, log_config=None,
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    echo(f"Argus is watching model 'credit' at {url} ({window_seconds}s windows, segments by channel).")
    echo(f"Windows 1-{windows // 2} get clean traffic; from window {windows // 2 + 1} the planted problems: "
         + "; ".join(f"{k}: {v}" for k, v in PLANTED.items()))
    client = Client(url, model="credit", flush_interval=0.1)
    seen: set[float] = set()
    verdicts: list[dict[str, Any]] = []
    try:
        start = (time.time() // window_seconds + 1) * window_seconds
        while time.time() < start:
            time.sleep(0.02)
        for k in range(windows):
            drift = k >= windows // 2
            rows = _events(make_frame(rng, rows_per_window, drift=drift, start_day=60 if drift else 0))
            end = start + (k + 1) * window_seconds
            step = (end - 0.3 - time.time()) / max(len(rows), 1)
            for i, (id_, feats, score, label) in enumerate(rows):
                client.log(id=f"w{k}-{id_}", features=feats, prediction=score, version="v1",
                           latency_ms=float(rng.gamma(2.0, 15.0)))
                if i % 4 == 0:
                    client.log_label(f"w{k}-{id_}", label)
                if i % 200 == 0 and step > 0:
                    time.sleep(max(0.0, start + k * window_seconds + i * step - time.time()))
            client.flush(10)
            verdicts.extend(_print_closed(monitor, seen, echo, wait_for=end + 1.5))
        deadline = time.time() + window_seconds * 2 + 3
        while len(verdicts) < windows and time.time() < deadline:
            verdicts.extend(_print_closed(monitor, seen, echo, wait_for=time.time() + 0.5))
        status = monitor.status("credit")
        echo(f"\n{status['events_total']} events, {status['labels_total']} labels "
             f"({status['labels_joined']} joined); findings and windows: {url}/v1/models/credit/status, "
             f"Prometheus: {url}/metrics")
        return {"verdicts": verdicts, "status": status}
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)
        monitor.stop()
        store.close()
        if tmp is not None:
            tmp.cleanup()


def _print_closed(monitor: Monitor, seen: set[float], echo: Any, wait_for: float) -> list[dict[str, Any]]:
    while time.time() < wait_for:
        time.sleep(0.05)
    monitor.wait_idle(10)
    out = []
    for w in sorted(monitor.store.windows("credit", segment="*", granularity=monitor.models["credit"].config.window,
                                          closed=True, limit=50), key=lambda w: w["start_ts"]):
        if w["start_ts"] in seen:
            continue
        seen.add(w["start_ts"])
        verdict = orjson.loads(w["verdict"])
        findings = monitor.store.findings("credit", segment="*", since=w["end_ts"] - 1e-6, until=w["end_ts"],
                                          granularity=w["end_ts"] - w["start_ts"], limit=50)
        stamp = time.strftime("%H:%M:%S", time.gmtime(w["start_ts"]))
        echo(f"\nwindow {stamp} UTC: {w['n_rows']} rows, verdict {verdict['status']}, "
             f"{verdict['n_drifted']} of {verdict['n_tested']} columns drifted")
        for f in findings[:6]:
            echo(f"  {f['severity']} {f['check_name']:<18} {f['message'][:110]}")
        if len(findings) > 6:
            echo(f"  ... and {len(findings) - 6} more")
        out.append({"start": w["start_ts"], "rows": w["n_rows"], "status": verdict["status"],
                    "findings": [(f["severity"], f["check_name"], f["column_name"]) for f in findings]})
    return out
