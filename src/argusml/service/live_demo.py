"""`argus demo --live`: the collector watching a model, in under a minute.

A real server (uvicorn on localhost) and a real client (the SDK) play a
credit-scoring model's traffic in short windows: the first half clean, the
second with the demo's planted problems. Each window's verdict is printed as
it closes, so one sees the service stay quiet, then find the drift. Then the
collector keeps serving until Ctrl-C: the URLs it prints are there to be
opened, so they must still answer.
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap
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


def _wrap(text: str, width: int, indent: str = "", hang: str | None = None) -> str:
    """Lines cut at spaces, never inside a word or a URL (a URL longer than the line keeps its own line)."""
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent if hang is None else hang,
                         break_long_words=False, break_on_hyphens=False)


def run_live_demo(port: int, windows: int = 6, window_seconds: int = 5, rows_per_window: int = 3000,
                  data_dir: str | None = None, echo: Any = print, width: int | None = None,
                  stop: threading.Event | None = None) -> dict[str, Any]:
    """Stream the demo's traffic, print each window's verdict, then serve until Ctrl-C (or until
    ``stop`` is set), so the printed URLs can be opened; the server is gone once this returns."""
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
    config = ModelConfig(model="credit", owner="demo", window=window_seconds,
                         lateness=max(2, window_seconds // 2), segments=["channel"])  # room for a busy machine
    monitor.register(config, reference)
    monitor.start()
    server = uvicorn.Server(uvicorn.Config(create_app(monitor), host="127.0.0.1", port=port, log_config=None,
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    if width is None:  # the terminal's width, within reason: a wide terminal still reads better at 100
        width = max(60, min(100, shutil.get_terminal_size((100, 24)).columns - 1))
    echo(_wrap(f"Argus is watching model 'credit' on 127.0.0.1:{port} ({window_seconds}s windows, segments by channel).",
               width))
    clean = "Window 1 gets" if windows // 2 == 1 else f"Windows 1-{windows // 2} get"
    echo(_wrap(f"{clean} clean traffic; from window {windows // 2 + 1} the planted problems:", width))
    for k, v in PLANTED.items():
        echo(_wrap(f"- {k}: {v}", width, indent="  ", hang="    "))
    client = Client(url, model="credit", flush_interval=0.1)
    seen: set[float] = set()
    verdicts: list[dict[str, Any]] = []
    if stop is None:
        stop = threading.Event()
    try:
        start = (time.time() // window_seconds + 1) * window_seconds
        while time.time() < start:
            time.sleep(0.02)
        # Traffic never waits for the printing: a window's verdict is printed while the next one streams.
        # Each event carries a time inside its own window, so a busy machine delays events (the window's
        # lateness covers that) but never moves them into the next window.
        for k in range(windows):
            drift = k >= windows // 2
            rows = _events(make_frame(rng, rows_per_window, drift=drift, start_day=60 if drift else 0))
            begin, end = start + k * window_seconds, start + (k + 1) * window_seconds
            step = (window_seconds - 0.3) / max(len(rows), 1)
            for i, (id_, feats, score, label) in enumerate(rows):
                client.log(id=f"w{k}-{id_}", features=feats, prediction=score, version="v1",
                           latency_ms=float(rng.gamma(2.0, 15.0)), timestamp=begin + i * step)
                if i % 4 == 0:
                    client.log_label(f"w{k}-{id_}", label)
                if i % 200 == 0:
                    verdicts.extend(_print_closed(monitor, seen, echo, width))
                    time.sleep(max(0.0, begin + i * step - time.time()))
            client.flush(10)
            while time.time() < end:
                time.sleep(0.02)
        deadline = time.time() + window_seconds * 2 + 10
        while len(verdicts) < windows and time.time() < deadline:
            time.sleep(0.1)
            verdicts.extend(_print_closed(monitor, seen, echo, width))
        status = monitor.status("credit")
        echo("")
        echo(_wrap(f"{status['events_total']} events, {status['labels_total']} labels "
                   f"({status['labels_joined']} joined).", width))
        links = [("status, open findings", f"{url}/v1/models/credit/status"),
                 ("windows and verdicts", f"{url}/v1/models/credit/windows"),
                 ("findings", f"{url}/v1/models/credit/findings"),
                 ("model quality", f"{url}/v1/models/credit/performance"),
                 ("Prometheus", f"{url}/metrics"),
                 ("the API", f"{url}/docs")]
        echo("The collector keeps running; open:")
        for name, link in links:
            echo(f"  {name:<22} {link}")
        echo("Press Ctrl-C to stop it.")
        try:
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass  # the way a user ends the demo: stop cleanly below
        echo("Stopped.")
        return {"verdicts": verdicts, "status": status}
    except KeyboardInterrupt:  # Ctrl-C while traffic still streams: stop as cleanly, say so
        echo("\nStopped before the last window closed.")
        return {"verdicts": verdicts, "status": monitor.status("credit")}
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)
        monitor.stop()
        store.close()
        if tmp is not None:
            tmp.cleanup()


def _print_closed(monitor: Monitor, seen: set[float], echo: Any, width: int) -> list[dict[str, Any]]:
    """Windows closed since the last call, with their findings (stored in one transaction: never half)."""
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
        echo("")
        echo(_wrap(f"window {stamp} UTC: {w['n_rows']} rows, verdict {verdict['status']}, "
                   f"{verdict['n_drifted']} of {verdict['n_tested']} columns drifted", width))
        for f in findings[:6]:
            head = f"  {f['severity']} {f['check_name']:<18} "
            echo(_wrap(f["message"], width, indent=head, hang=" " * len(head)))
        if len(findings) > 6:
            echo(f"  ... and {len(findings) - 6} more")
        out.append({"start": w["start_ts"], "rows": w["n_rows"], "status": verdict["status"],
                    "findings": [(f["severity"], f["check_name"], f["column_name"]) for f in findings],
                    "shown": [f["message"] for f in findings[:6]]})
    return out
