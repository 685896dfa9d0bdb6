"""/metrics, checked where it is used: linted by promtool, scraped by a real Prometheus.

A string check on the exposition text cannot tell whether Prometheus accepts
it, whether bearer auth works for a scraper, or whether counters and
histograms read back as the numbers that were sent. This test runs the real
pieces end to end: `argus baseline`, `argus serve` (with a tokens.yaml), a
batch of events with known status codes and latencies (then a retried slice
and a bad event), a closed 5 s window, `promtool check metrics`, and a
Prometheus 2.x that scrapes /metrics every second with the token; the values
are then read back through its query API.

It skips (with the reason) only when Prometheus is not installed and the
environment variable CI is not "true"; in CI a missing Prometheus is a
failure. `scripts/install-test-deps.sh` installs it on Debian.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from argusml.monitor.metrics import LATENCY_BUCKETS
from argusml.service.metrics import DRIFT_METHODS
from service_util import free_port, log_tail, require_binaries, stop_process, wait_ready

pytestmark = [pytest.mark.service, pytest.mark.slow]

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
ARGUS = str(Path(sys.executable).with_name("argus"))
FEATURES = ("x0", "x1", "x2", "cat")
N_EVENTS = 500
N_DUPLICATES = 10
WINDOW = 5.0
# every label an argus_* series may carry (bounded sets), plus the ones Prometheus adds
ALLOWED_LABELS = {"__name__", "job", "instance", "model", "model_version", "code", "le", "feature", "method", "reason",
                  "metric", "bound",
                  "class", "resource", "host"}


def _http(method: str, url: str, *, token: str | None = None, body: Any = None, timeout: float = 30.0
          ) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _reference(n: int, seed: int) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 3))
    cat = r.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    score = 1 / (1 + np.exp(-(x[:, 0] + 0.5 * x[:, 1])))
    label = (r.random(n) < score).astype(int)  # calibrated: the score is the probability of label 1
    return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1] * 2 + 1, "x2": np.abs(x[:, 2]), "cat": cat, "score": score,
                         "label": label})


def _events(tag: str) -> tuple[list[dict[str, Any]], list[float], int]:
    """Events from the reference's own distribution, with known statuses and latencies."""
    df = _reference(N_EVENTS, seed=1)
    r = np.random.default_rng(2)
    lat = [float(v) for v in np.round(r.uniform(1.0, 900.0, N_EVENTS), 3)]
    # a few latencies exactly on bucket bounds: Prometheus buckets are `le` (inclusive)
    for i, ms in enumerate((5.0, 50.0, 100.0, 250.0, 1000.0, 12000.0)):
        lat[i] = ms
    errors = set(int(i) for i in r.choice(N_EVENTS, 37, replace=False))
    events = []
    for i, row in enumerate(df.itertuples(index=False)):
        events.append({"id": f"{tag}-{i:05d}",
                       "features": {"x0": float(row.x0), "x1": float(row.x1), "x2": float(row.x2), "cat": row.cat},
                       "prediction": float(row.score), "latency_ms": lat[i], "status": 500 if i in errors else 200,
                       "_label": int(row.label)})
    return events, lat, len(errors)


def _query(prom: str, q: str) -> list[dict[str, Any]]:
    status, _, body = _http("GET", f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": q}), timeout=10)
    assert status == 200, f"{q}: HTTP {status}: {body[:500]!r}"
    doc = json.loads(body)
    assert doc["status"] == "success", doc
    return doc["data"]["result"]


def _value(prom: str, q: str) -> float:
    res = _query(prom, q)
    assert len(res) == 1, f"{q}: expected one series, got {res}"
    return float(res[0]["value"][1])


def test_prometheus_scrapes_argus(tmp_path: Path) -> None:
    require_binaries(PROMETHEUS, PROMTOOL)
    env = {**os.environ, "ARGUS_NO_PROGRESS": "1"}

    # 1. baseline, model config and token
    _reference(2000, seed=0).to_parquet(tmp_path / "ref.parquet")
    cfg = tmp_path / "models"
    cfg.mkdir()
    p = subprocess.run([ARGUS, "baseline", str(tmp_path / "ref.parquet"), "--prediction", "score", "--target", "label",
                        "-o",
                        str(cfg / "base.json")], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    (cfg / "m.yaml").write_text("model: m\nreference: base.json\nwindow: 5s\nlateness: 0s\n")
    token = "argus_" + secrets.token_urlsafe(32)
    (cfg / "tokens.yaml").write_text("tokens:\n  - name: test\n"
                                     f"    sha256: {hashlib.sha256(token.encode()).hexdigest()}\n"
                                     "    scopes: [read, write]\n")
    tag = "evt-" + secrets.token_hex(6)
    events, lat, n_errors = _events(tag)
    truth = [{"id": e["id"], "label": e.pop("_label")} for e in events]
    ids = {e["id"] for e in events}

    server: subprocess.Popen[bytes] | None = None
    prom_proc: subprocess.Popen[bytes] | None = None
    server_log, prom_log = tmp_path / "argus.log", tmp_path / "prometheus.log"
    try:
        # 2. the service
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server_log.open("wb") as out:
            server = subprocess.Popen([ARGUS, "serve", "--config", str(cfg), "--data", str(tmp_path / "data"),
                                       "--port", str(port), "--log-level", "warning"],
                                      stdout=out, stderr=subprocess.STDOUT, env=env)
        wait_ready(server, f"{base}/healthz", server_log, "argus serve")

        # Prometheus starts now: its first scrape takes 5-6 s, the window below about as long
        prom_port = free_port()
        prom = f"http://127.0.0.1:{prom_port}"
        (tmp_path / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: argus\n    metrics_path: /metrics\n"
            f"    authorization:\n      type: Bearer\n      credentials: {token}\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
        with prom_log.open("wb") as out:
            prom_proc = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                                          f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                          f"--web.listen-address=127.0.0.1:{prom_port}"],
                                         stdout=out, stderr=subprocess.STDOUT)

        # The batch is stamped with its arrival time; sent early in a 5 s bucket, it is folded
        # long before the bucket ends (lateness is 0 s), so all of it lands in one window.
        while not 0.2 <= time.time() % WINDOW <= 2.0:
            time.sleep(0.05)
        status, _, body = _http("POST", f"{base}/v1/models/m/events", token=token, body=events, timeout=60)
        assert status == 200, body[:2000]
        answer = json.loads(body)
        assert answer["accepted"] == N_EVENTS and not answer["rejected"], answer
        # a retried slice (dropped as duplicates) and a bad event (rejected, by reason)
        status, _, body = _http("POST", f"{base}/v1/models/m/events", token=token, body=events[:N_DUPLICATES])
        assert status == 200 and json.loads(body)["duplicates"] == N_DUPLICATES, body[:2000]
        status, _, body = _http("POST", f"{base}/v1/models/m/events", token=token,
                                body=[{"id": f"{tag}-bad", "features": "not an object"}])
        assert status == 422 and json.loads(body)["rejected"][0]["field"] == "features", body[:2000]
        status, _, body = _http("POST", f"{base}/v1/models/m/resources", token=token,
                                body={"instance": "gpu-host-1", "values": {"gpu_utilization_ratio": 0.5}})
        assert status == 204, body[:2000]
        status, _, body = _http("POST", f"{base}/v1/models/m/labels", token=token, body=truth, timeout=60)
        assert status == 200 and json.loads(body)["joined"] == N_EVENTS, body[:2000]

        deadline = time.monotonic() + 25
        while True:
            status, _, body = _http("GET", f"{base}/v1/models/m/status", token=token)
            assert status == 200, body[:2000]
            st = json.loads(body)
            if st["latest_windows"]:
                break
            assert time.monotonic() < deadline, f"no window closed in 25 s: {st}\n{log_tail(server_log)}"
            time.sleep(0.3)
        assert st["events_total"] == N_EVENTS and st["too_late_total"] == 0, st
        deadline = time.monotonic() + 30  # the performance job looks for new labels every 10 s
        while "judged" not in st["performance"].get("unversioned", {}):
            assert time.monotonic() < deadline, f"no performance window in 30 s: {st}\n{log_tail(server_log)}"
            time.sleep(0.5)
            st = json.loads(_http("GET", f"{base}/v1/models/m/status", token=token)[2])
        judged = st["performance"]["unversioned"]["judged"]
        assert judged["labels"] == N_EVENTS and judged["status"] == "ok", judged
        assert st["duplicates_total"] == N_DUPLICATES and st["rejected_total"] == 1, st

        # 3. /metrics: token required, and promtool's linter finds nothing
        status, headers, _ = _http("GET", f"{base}/metrics")
        assert status == 401
        assert headers.get("www-authenticate", headers.get("WWW-Authenticate", "")).startswith("Bearer")
        status, headers, text = _http("GET", f"{base}/metrics", token=token)
        assert status == 200
        assert headers.get("content-type", headers.get("Content-Type", "")).startswith("text/plain")
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, timeout=60)
        assert lint.returncode == 0 and not lint.stdout and not lint.stderr, (
            f"promtool check metrics (rc {lint.returncode}):\n{lint.stdout.decode()}{lint.stderr.decode()}")
        assert f'argus_events_total{{model="m",model_version="unversioned"}} {float(N_EVENTS)}'.encode() in text

        # 4. Prometheus reads back the same numbers. The state is final now (no more events,
        # the window closed), so wait for a scrape that shows it, then query everything.
        deadline = time.monotonic() + 40
        while True:
            assert prom_proc.poll() is None, f"prometheus exited {prom_proc.returncode}:\n{log_tail(prom_log)}"
            try:
                ready = bool(_query(prom, 'argus_feature_drift_score{model="m"}')) and bool(
                    _query(prom, 'argus_model_performance{model="m"}'))
            except (OSError, AssertionError):
                ready = False
            if ready:
                break
            assert time.monotonic() < deadline, (
                f"Prometheus has no argus_feature_drift_score after 40 s:\n{log_tail(prom_log)}\n"
                f"targets: {_http('GET', f'{prom}/api/v1/targets', timeout=5)[2][:2000]!r}")
            time.sleep(0.5)

        assert _value(prom, 'up{job="argus"}') == 1
        assert _value(prom, "argus_up") == 1
        assert _value(prom, 'argus_events_total{model="m"}') == N_EVENTS
        assert _value(prom, 'argus_model_requests_total{model="m",code="500"}') == n_errors
        assert _value(prom, 'argus_model_requests_total{model="m",code="200"}') == N_EVENTS - n_errors
        assert _value(prom, 'argus_model_request_duration_seconds_count{model="m"}') == N_EVENTS
        assert _value(prom, 'argus_model_request_duration_seconds_sum{model="m"}') == pytest.approx(
            sum(lat) / 1000, rel=1e-9)
        buckets = {r["metric"]["le"]: float(r["value"][1])
                   for r in _query(prom, 'argus_model_request_duration_seconds_bucket{model="m"}')}
        expected = {repr(float(b)): sum(1 for ms in lat if ms / 1000 <= b) for b in LATENCY_BUCKETS}
        expected["+Inf"] = N_EVENTS
        assert buckets == expected
        assert _value(prom, 'argus_events_rejected_total{model="m",reason="bad_features"}') == 1
        assert _value(prom, 'sum(argus_events_rejected_total{model="m"})') == 1
        assert _value(prom, 'argus_events_duplicate_total{model="m"}') == N_DUPLICATES
        assert _value(prom, 'argus_events_too_late_total{model="m"}') == 0

        assert _value(prom, 'argus_window_rows{model="m"}') == N_EVENTS
        scores = _query(prom, 'argus_feature_drift_score{model="m"}')
        methods: dict[str, set[str]] = {}
        for r in scores:
            lab = r["metric"]
            assert lab["method"] in DRIFT_METHODS, lab
            assert math.isfinite(float(r["value"][1])), r
            methods.setdefault(lab["feature"], set()).add(lab["method"])
        assert set(FEATURES) <= set(methods), methods
        assert all(methods[f] for f in FEATURES), methods
        drifted = {r["metric"]["feature"]: float(r["value"][1]) for r in _query(prom, 'argus_feature_drifted{model="m"}')}
        assert set(FEATURES) <= set(drifted) and set(drifted.values()) <= {0.0, 1.0}, drifted
        assert _value(prom, 'argus_prediction_mean{model="m"}') == pytest.approx(
            float(np.mean([e["prediction"] for e in events])), rel=1e-6)
        assert _value(prom, 'argus_last_event_timestamp_seconds{model="m"}') == pytest.approx(time.time(), abs=120)
        assert _value(prom, "argus_ingest_queue_depth") == 0
        # model quality from the joined labels: the same numbers as /status, one decision
        for metric in ("roc_auc", "accuracy", "log_loss"):
            q = f'argus_model_performance{{model="m",model_version="unversioned",metric="{metric}"}}'
            assert _value(prom, q) == pytest.approx(judged["metrics"][metric]["value"], rel=1e-12)
        low = _value(prom, 'argus_model_performance_bound{model="m",metric="roc_auc",bound="low"}')
        assert low == pytest.approx(judged["metrics"]["roc_auc"]["low"], rel=1e-12) and low < judged["metrics"]["roc_auc"]["value"]
        assert _value(prom, 'argus_model_performance_labels{model="m"}') == N_EVENTS
        assert _value(prom, 'argus_model_performance_degraded{model="m"}') == 0
        assert _value(prom, 'argus_label_coverage_ratio{model="m"}') == 1.0
        # the label-free estimate of the same window (calibrated model): near what the labels say
        est = _value(prom, 'argus_model_performance_estimated{model="m",metric="accuracy"}')
        assert abs(est - judged["metrics"]["accuracy"]["value"]) < 0.05
        assert _value(prom, 'argus_labels_total{model="m"}') == N_EVENTS
        assert _value(prom, 'argus_label_lag_p90_seconds{model="m"}') >= _value(prom, 'argus_label_lag_p50_seconds{model="m"}') >= 0
        # a label of our own named `instance` would be renamed exported_instance by Prometheus: it is `host`
        assert _value(prom, 'argus_host_resource{model="m",host="gpu-host-1",resource="gpu_utilization_ratio"}') == 0.5

        # bounded labels: every argus_* series, none labelled by an event id, only known label names
        series = _query(prom, '{__name__=~"argus_.*"}')
        assert series
        for r in series:
            lab = r["metric"]
            assert set(lab) <= ALLOWED_LABELS, lab
            assert not (set(lab.values()) & ids), lab
            assert not any(tag in v for v in lab.values()), lab
        names = {r["metric"]["__name__"] for r in _query(prom, 'count by (__name__)({__name__=~"argus_.*"})')}
        assert {"argus_up", "argus_events_total", "argus_window_rows", "argus_feature_drift_score"} <= names
        assert len(series) < 300, f"{len(series)} argus_* series for one model"
    finally:
        stop_process(prom_proc)
        stop_process(server)
