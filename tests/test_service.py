"""The collector in-process: ingest answers, dedup, windows, roll-ups, labels,
references per version, privacy, retention, backpressure, auth, logs.

A real DuckDB store in a temp dir and the real FastAPI app (TestClient);
only the clock is ours, so windows can close without waiting minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from argusml.monitor import Busy, Monitor, Settings
from argusml.monitor.dedup import DedupIndex, key_of
from argusml.monitor.windows import load_profile
from argusml.profile import DatasetProfile, Reference
from argusml.profile.dataset import profile_source
from argusml.profile.frame import TableSource
from argusml.schema import ConfigError
from argusml.schema.model_config import AuthConfig, ModelConfig, TokenEntry
from argusml.service.auth import Authenticator, digest
from argusml.store import Store
from service_util import T0, event, reference_frame

pytestmark = pytest.mark.service


@pytest.fixture
def svc(running_monitor, ref):
    """(monitor, client, clock) with model 'm': 5 min windows, 1 min lateness, segment by cat."""
    running = running_monitor((ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"]), ref))
    return running.monitor, running.client, running.clock


def post(client: TestClient, events: list, model: str = "m"):
    return client.post(f"/v1/models/{model}/events", json=events)


# -- the answer ---------------------------------------------------------------------------------------
def test_batch_keeps_good_events_and_names_each_bad_one(svc):
    mon, client, _ = svc
    rng = np.random.default_rng(1)
    events = [event(i, rng) for i in range(5)]
    events[1]["id"] = None
    events[2]["timestamp"] = "yesterday"
    events[3]["features"] = [1, 2]
    r = post(client, events)
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 2 and body["duplicates"] == 0
    assert [(e["index"], e["field"]) for e in body["rejected"]] == [(1, "id"), (2, "timestamp"), (3, "features")]
    assert "RFC 3339" in body["rejected"][1]["error"]
    assert r.headers["x-request-id"]
    assert mon.store.raw_events("m") == 2  # a 200 means stored (the raw log is fsynced before the answer)
    mon.flush_index()
    assert mon.store.count_events("m") == 2


def test_all_bad_is_422_unknown_model_404_wrong_type_415(svc):
    _, client, _ = svc
    r = post(client, [{"features": {}}, {"id": "x"}])
    assert r.status_code == 422 and r.json()["error"] == "all_rejected" and len(r.json()["rejected"]) == 2
    r = post(client, [{"id": "1", "features": {}}], model="nope")
    assert r.status_code == 404 and "PUT /v1/models/nope" in r.json()["detail"]
    r = client.post("/v1/models/m/events", content=b"id,x\n1,2", headers={"content-type": "text/csv"})
    assert r.status_code == 415


def test_wrong_feature_type_is_recorded_as_a_finding_or_rejected_by_config(svc, ref):
    mon, client, clock = svc
    rng = np.random.default_rng(2)
    events = [event(i, rng, timestamp=T0 - 100) for i in range(200)]
    events[7]["features"]["x1"] = "seven"
    body = post(client, events).json()
    assert body["accepted"] == 200
    assert body["warnings"] == [{"index": 7, "field": "features.x1", "error": "expected a numeric value, got a string 'seven'"}]
    clock.advance(400)
    assert mon.wait_idle()
    checks = {(f["check"], f["column"]) for f in client.get("/v1/models/m/findings").json()["findings"]}
    assert ("type_errors", "x1") in checks

    strict = ModelConfig(model="s", on_schema_violation="reject")
    mon.register(strict, ref)
    body = post(client, [event("a", rng), {**event("b", rng), "features": {"x1": "seven"}}], model="s").json()
    assert body["accepted"] == 1 and body["rejected"][0]["field"] == "features.x1"


def test_retried_batch_is_not_counted_twice(svc):
    mon, client, _ = svc
    rng = np.random.default_rng(3)
    events = [event(i, rng) for i in range(50)]
    assert post(client, events).json()["accepted"] == 50
    again = post(client, events).json()
    assert again["accepted"] == 0 and again["duplicates"] == 50
    other_version = post(client, [{**e, "version": "v2"} for e in events[:5]]).json()
    assert other_version["accepted"] == 5  # the key is (model, version, id)
    assert mon.store.raw_events("m") == 55
    mon.flush_index()
    assert mon.store.count_events("m") == 55 and sorted(mon.store.versions("m")) == ["unversioned", "v2"]
    assert client.get("/v1/models/m/status").json()["duplicates_total"] == 50


def test_dedup_state_is_bounded_by_horizon_and_max_keys():
    d = DedupIndex(horizon=60, max_keys=200_000, generation_seconds=5)
    keys = [key_of("v", str(i)) for i in range(150_000)]
    assert not any(d.check_and_add(keys[:100_000], now=0))
    assert all(d.check_and_add(keys[:1000], now=10))  # seen, within the horizon
    d.check_and_add(keys[100_000:], now=20)
    assert len(d) <= 200_000
    d.check_and_add([key_of("v", "new")], now=200)  # everything older than 60 s is forgotten
    assert len(d) < 10 and not any(d.check_and_add(keys[:10], now=201))
    big = DedupIndex(horizon=10**9, max_keys=50_000, generation_seconds=10**9)
    for start in range(0, 150_000, 10_000):
        big.check_and_add(keys[start:start + 10_000], now=start)
    assert len(big) <= 50_000 + 65_536 and big.nbytes < 8 * 50_000 + 60 * 65_536 + 1


# -- windows ---------------------------------------------------------------------------------------------
def test_window_closes_by_event_time_and_matches_a_batch_profile(svc, ref):
    """The service's window profile equals profiling the same rows as a table."""
    mon, client, clock = svc
    rng = np.random.default_rng(4)
    events = [event(i, rng, timestamp=T0 - 250 + i * 0.1) for i in range(2000)]
    for chunk in range(0, 2000, 300):  # several requests, several micro-batches
        assert post(client, events[chunk:chunk + 300]).status_code == 200
    assert mon.wait_idle()
    assert client.get("/v1/models/m/status").json()["open_window_rows"] == 2000
    clock.advance(120)  # past the end (T0) + 1 min lateness
    assert mon.wait_idle()
    w = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m"}).json()["windows"]
    assert len(w) == 1 and w[0]["n_rows"] == 2000 and w[0]["closed"]
    from datetime import datetime, timezone

    assert w[0]["start"] == datetime.fromtimestamp(T0 - 300, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _, prof = load_profile(mon.store.windows("m", segment="*", granularity=300, with_profile=True)[0]["profile"])
    observed = [n for n in ref.specs if n != ref.target]  # events carry no target: windows have no such column
    frame = {n: [e["features"].get(n) for e in events] for n in observed if n != "score"}
    frame["score"] = [e["prediction"] for e in events]
    import pyarrow as pa

    specs = {n: ref.specs[n] for n in observed}
    direct = profile_source(TableSource.from_frame(pa.table(frame)), specs, ref.profile.correlation)
    for name in observed:
        a, b = prof.columns[name], direct.columns[name]
        assert (a.n_rows, a.nulls, a.type_errors) == (b.n_rows, b.nulls, b.type_errors)
        if a.numeric is not None:
            assert np.array_equal(a.numeric.counts, b.numeric.counts)
            assert a.numeric.moments.mean == pytest.approx(b.numeric.moments.mean, rel=1e-12)
        else:
            assert a.categories.counts == b.categories.counts
    segs = {x["segment"]: x["n_rows"] for x in client.get("/v1/models/m/windows", params={"granularity": "5m"}).json()["windows"]}
    assert segs["*"] == sum(v for k, v in segs.items() if k.startswith("cat="))
    status = client.get("/v1/models/m/status").json()
    assert status["latest_windows"][0]["verdict"]["status"] in ("ok", "warning")  # same distribution: no drift


def test_late_events_join_their_own_window_until_it_closes(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(5)
    post(client, [event(f"now{i}", rng, timestamp=T0 - 10) for i in range(60)])
    clock.advance(30)  # the bucket [T0-300, T0) ended 30 s ago, lateness is 60 s
    post(client, [event(f"late{i}", rng, timestamp=T0 - 20) for i in range(40)])
    clock.advance(40)
    assert mon.wait_idle()
    # its window has closed: rejected, each with its index (stored, they would never be folded), and counted
    tail = post(client, [event(f"too{i}", rng, timestamp=T0 - 20) for i in range(7)])
    assert tail.status_code == 422 and tail.json()["accepted"] == 0
    assert [(p["index"], p["field"]) for p in tail.json()["rejected"]] == [(i, "timestamp") for i in range(7)]
    assert tail.json()["rejected"][0]["error"].startswith(
        "timestamp 2027-01-15T07:59:40Z is older than the window's lateness: use backfill (POST /v1/models/m/backfill)")
    assert mon.wait_idle()
    w = client.get("/v1/models/m/windows", params={"segment": "*"}).json()["windows"][0]
    assert (w["n_rows"], w["late"]) == (100, 40)
    status = client.get("/v1/models/m/status").json()
    assert (status["too_late_total"], status["rejected_total"], status["events_total"]) == (7, 7, 100)
    metrics = client.get("/metrics").text
    assert 'argus_events_too_late_total{model="m"} 7.0' in metrics
    assert 'argus_events_rejected_total{model="m",reason="too_late"} 7.0' in metrics


def test_rollup_to_hour_and_day_equals_the_merge_of_its_windows(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(6)
    day_start = (T0 // 86400) * 86400
    times = [day_start + 3600 * 22 + 300 * k + 5 for k in range(12)]  # one event burst per 5-min window of 22:00
    for k, t in enumerate(times):
        clock.t = t + 1
        post(client, [event(f"{k}-{i}", rng, timestamp=t) for i in range(30 + k)])
    clock.t = day_start + 86400 + 120  # past the day's end + lateness
    assert mon.wait_idle()
    assert mon.wait_idle()
    get = client.get
    fives = get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m"}).json()["windows"]
    hours = get("/v1/models/m/windows", params={"segment": "*", "granularity": "1h"}).json()["windows"]
    days = get("/v1/models/m/windows", params={"segment": "*", "granularity": "1d"}).json()["windows"]
    assert len(fives) == 12 and len(hours) == 1 and len(days) == 1
    assert hours[0]["n_rows"] == days[0]["n_rows"] == sum(30 + k for k in range(12))
    rows = {g: load_profile(mon.store.windows("m", segment="*", granularity=g, with_profile=True)[0]["profile"])[1]
            for g in (3600.0, 86400.0)}
    parts = [load_profile(r["profile"])[1] for r in mon.store.windows("m", segment="*", granularity=300.0,
                                                                       with_profile=True)]
    merged: DatasetProfile = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    for g, prof in rows.items():
        assert np.array_equal(prof.columns["x0"].numeric.counts, merged.columns["x0"].numeric.counts), g
        assert prof.columns["cat"].categories.counts == merged.columns["cat"].categories.counts


def test_drifted_window_produces_findings_and_gauges(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(7)
    post(client, [event(i, rng, shift=1.0, timestamp=T0 - 100, latency_ms=20.0) for i in range(3000)])
    clock.advance(200)
    assert mon.wait_idle()
    f = client.get("/v1/models/m/findings", params={"severity": "P1", "segment": "*"}).json()["findings"]
    drifted = {x["column"] for x in f if x["check"] == "drift"}
    assert drifted == {f"x{j}" for j in range(6)}
    status = client.get("/v1/models/m/status").json()
    assert status["latest_windows"][0]["verdict"]["status"] == "drift"
    assert {x["column"] for x in status["open_findings"] if x["check"] == "drift"} == drifted
    text = client.get("/metrics").text
    assert 'argus_feature_drifted{feature="x0",model="m",model_version="unversioned"} 1.0' in text
    assert 'argus_feature_drifted{feature="cat",model="m",model_version="unversioned"} 0.0' in text
    assert 'argus_window_rows{model="m",model_version="unversioned"} 3000.0' in text
    assert 'argus_model_request_duration_seconds_count{model="m",model_version="unversioned"} 3000.0' in text


# -- labels -----------------------------------------------------------------------------------------------
def test_labels_join_in_either_order_and_pending_ones_expire_counted(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(8)
    post(client, [event("p1", rng, timestamp=T0 - 50)])
    r = client.post("/v1/models/m/labels", json=[{"id": "p1", "label": 1}, {"id": "early", "label": 0}])
    assert r.status_code == 202 and r.json() == {"accepted": 2, "rejected": [], "joined": 1, "pending": 1,
                                                 "duplicates": 0, "corrected": 0}
    assert client.get("/v1/models/m/status").json()["labels_pending"] == 1
    post(client, [event("early", rng)])  # the prediction arrives after its label
    assert mon.wait_idle()
    s = client.get("/v1/models/m/status").json()
    assert (s["labels_total"], s["labels_joined"], s["labels_pending"]) == (2, 2, 0)
    client.post("/v1/models/m/labels", json=[{"id": "never", "label": 1}])
    clock.advance(15 * 86400)  # beyond the 14 d label horizon
    mon.apply_retention(clock())
    s = client.get("/v1/models/m/status").json()
    assert (s["labels_pending"], s["labels_expired"]) == (0, 1)
    assert 'argus_labels_expired_total{model="m"} 1.0' in client.get("/metrics").text
    r = client.post("/v1/models/m/labels", json=[{"id": "x"}, {"id": "y", "label": [1]}])
    assert r.status_code == 422 and [e["field"] for e in r.json()["rejected"]] == ["label", "label"]


# -- references per version ------------------------------------------------------------------------------
def test_version_reference_replaced_on_retrain(svc, ref):
    mon, client, clock = svc
    rng = np.random.default_rng(9)
    shifted = Reference.from_frame(reference_frame(seed=1).assign(x0=lambda d: d.x0 + 1.0), prediction="score")
    r = client.put("/v1/models/m/versions/v2/reference", json=shifted.to_dict())
    assert r.status_code == 200
    post(client, [event(i, rng, shift=0.0, timestamp=T0 - 60, version="v1") for i in range(2000)])
    post(client, [{**event(f"b{i}", rng, timestamp=T0 - 60), "version": "v2"} for i in range(2000)])
    clock.advance(200)
    assert mon.wait_idle()
    f = client.get("/v1/models/m/findings", params={"segment": "*"}).json()["findings"]
    by_version = {(x["version"], x["column"]) for x in f if x["check"] == "drift"}
    assert ("v2", "x0") in by_version  # v2 is compared with its own reference (x0 shifted by +1)
    assert ("v1", "x0") not in by_version  # v1 uses the model's reference
    refs = client.get("/v1/models/m").json()["references"]
    assert set(refs) == {"*", "v2"}


# -- privacy ------------------------------------------------------------------------------------------------
def test_privacy_drops_masks_and_hashes_before_storage(tmp_path, ref, monkeypatch, running_monitor):
    monkeypatch.setenv("ARGUS_HMAC_KEY", "k" * 32)
    cfg = ModelConfig(model="p", privacy={"drop": ["features.x1"], "mask": ["features.cat"], "hash": ["id", "segment.user"]})
    running = running_monitor((cfg, ref), data="p", settings=Settings(tick_every=0.02), clock=time.time)
    mon, store, client = running.monitor, running.store, running.client
    rng = np.random.default_rng(10)
    r = post(client, [event("alice@example.com", rng, segment={"user": "u-17"})], model="p")
    assert r.status_code == 200
    mon.wait_idle()
    stored = [row for chunk in store.raw_after("p", 0) for row in chunk]
    token = hmac.new(b"k" * 32, b"alice@example.com", hashlib.sha256).hexdigest()[:32]
    assert stored[0][2] == token and store._rows("SELECT id FROM events") == [(token,)]
    payload = stored[0][5]
    assert "alice" not in "".join(p.read_text() for p in (tmp_path / "p" / "events").rglob("*.ndjson"))
    assert "x1" not in payload["features"] and payload["features"]["cat"] == "***"
    assert payload["segment"]["user"] == hmac.new(b"k" * 32, b"u-17", hashlib.sha256).hexdigest()[:32]
    assert "alice" not in str(store._rows("SELECT id, prediction, prediction_label, segment FROM events"))
    lab = client.post("/v1/models/p/labels", json=[{"id": "alice@example.com", "label": 1}]).json()
    assert lab["joined"] == 1  # the label's id is hashed the same way, so it joins
    running.stop()
    monkeypatch.delenv("ARGUS_HMAC_KEY")
    with pytest.raises(ConfigError, match="ARGUS_HMAC_KEY"):
        Monitor(Store(tmp_path / "q")).register(cfg, ref)


# -- retention ---------------------------------------------------------------------------------------------
def test_retention_deletes_raw_events_keeps_prediction_index_and_profiles(running_monitor, ref):
    running = running_monitor((ModelConfig(model="m", retention={"raw_events": "1d", "predictions": "30d"}), ref),
                        data="r", settings=Settings(tick_every=0.02))
    mon, store, client, clock = running.monitor, running.store, running.client, running.clock
    rng = np.random.default_rng(11)
    post(client, [event(i, rng, timestamp=T0 - 10) for i in range(100)])
    clock.advance(3600)
    mon.wait_idle()
    clock.advance(2 * 86400)
    out = mon.apply_retention(clock())
    assert out["m"]["raw_bytes"] > 0 and out["m"]["predictions"] == 0
    assert store.raw_events("m") == 0 and store.counts("m")["events"] == 100
    assert len(store.windows("m", closed=True)) > 0
    late_label = client.post("/v1/models/m/labels", json=[{"id": "5", "label": 1}]).json()
    assert late_label["joined"] == 1  # two days late, the prediction index still joins it
    running.stop()
    with pytest.raises(ValueError, match=r"labels\.horizon"):
        ModelConfig(model="m", retention={"predictions": "1d"})


# -- backpressure -----------------------------------------------------------------------------------------
def test_backpressure_answers_429_with_retry_after(running_monitor, ref):
    running = running_monitor((ModelConfig(model="m"), ref), data="b", settings=Settings(max_pending_events=100),
                        clock=time.time, start=False)  # not started: nothing drains the queue
    mon, client = running.monitor, running.client
    rng = np.random.default_rng(12)
    first = mon.ingest_events("m", [event(i, rng) for i in range(150)])
    assert first.body["accepted"] == 150
    with pytest.raises(Busy):
        mon.ingest_events("m", [event("x", rng)])
    r = post(client, [event("y", rng)])
    assert r.status_code == 429 and r.headers["retry-after"] == "1" and "queued" in r.json()["detail"]


# -- auth and logs ----------------------------------------------------------------------------------------
def test_auth_scopes_models_and_healthz(running_monitor, ref):
    tokens = {"rw": "argus_rw_secret", "ro": "argus_ro_secret", "m_only": "argus_m_secret"}
    auth = Authenticator(AuthConfig(tokens=[
        TokenEntry(name="rw", sha256=digest(tokens["rw"]), scopes=["read", "write"]),
        TokenEntry(name="ro", sha256=digest(tokens["ro"]), scopes=["read"]),
        TokenEntry(name="m", sha256=digest(tokens["m_only"]), scopes=["read", "write"], models=["m"])]))
    client = running_monitor((ModelConfig(model="m"), ref), (ModelConfig(model="other"), ref), data="a",
                             settings=Settings(tick_every=0.02), clock=time.time, auth=auth).client
    rng = np.random.default_rng(13)

    def h(name: str) -> dict[str, str]:
        return {"authorization": f"Bearer {tokens[name]}"}

    assert client.get("/healthz").status_code == 200
    for path in ("/metrics", "/readyz", "/v1/models", "/v1/models/m/status"):
        assert client.get(path).status_code == 401, path
    assert client.get("/openapi.json").status_code == 200  # the API's documentation holds no data
    assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers=h("ro")).status_code == 200
    assert client.post("/v1/models/m/events", json=[event(1, rng)], headers=h("ro")).status_code == 403
    assert client.post("/v1/models/m/events", json=[event(1, rng)], headers=h("rw")).status_code == 200
    assert client.post("/v1/models/m/events", json=[event(2, rng)], headers=h("m_only")).status_code == 200
    assert client.post("/v1/models/other/events", json=[event(2, rng)], headers=h("m_only")).status_code == 403
    assert [m["model"] for m in client.get("/v1/models", headers=h("m_only")).json()["models"]] == ["m"]
    assert client.get("/metrics", headers=h("m_only")).status_code == 403  # service-wide: all models' numbers
    assert client.get("/metrics").headers["www-authenticate"].startswith("Bearer")


def test_json_logs_carry_request_id_and_model(svc):
    from argusml.service.logs import configure

    _, client, _ = svc
    buf = io.StringIO()
    configure("info", stream=buf)
    try:
        r = client.post("/v1/models/m/events", json=[event(1, np.random.default_rng(0), version="v7")],
                        headers={"x-request-id": "req-42"})
        assert r.headers["x-request-id"] == "req-42"
    finally:
        for name in ("argus", "uvicorn", "uvicorn.error"):
            logging.getLogger(name).handlers = []
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    line = next(x for x in lines if x.get("path") == "/v1/models/m/events")
    assert line["request_id"] == "req-42" and line["model"] == "m" and line["status"] == 200
    assert line["model_version"] == "v7"
    assert {"time", "level", "message", "model_version"} <= set(line)


# -- registration --------------------------------------------------------------------------------------------
def test_register_over_http_persists_and_survives_restart(running_monitor, ref):
    first = running_monitor(data="reg", settings=Settings(tick_every=0.02), clock=time.time)
    client = first.client
    r = client.put("/v1/models/fraud", json={"config": {"window": "15m", "owner": "risk"}, "baseline": ref.to_dict()})
    assert r.status_code == 200
    bad = client.put("/v1/models/fraud", json={"config": {"windw": "15m"}, "baseline": ref.to_dict()})
    assert bad.status_code == 422 and "did you mean 'window'" in json.dumps(bad.json())
    bad = client.put("/v1/models/fraud", json={"config": {}, "baseline": {"format": "nope"}})
    assert bad.status_code == 422 and "not an Argus baseline" in json.dumps(bad.json())
    post(client, [event(1, np.random.default_rng(0))], model="fraud")
    first.stop()
    again = running_monitor(data="reg", settings=Settings(tick_every=0.02), clock=time.time, start=False)
    mon, client = again.monitor, again.client
    assert mon.load_registered() == ["fraud"]
    mon.start()
    s = client.get("/v1/models/fraud/status").json()
    assert s["owner"] == "risk" and s["window"] == 900 and s["events_total"] == 1
    assert post(client, [event(1, np.random.default_rng(0))], model="fraud").json()["duplicates"] == 1


def test_restart_restores_open_windows_without_double_counting(running_monitor, ref):
    first = running_monitor((ModelConfig(model="m", window="1h"), ref), data="rs")
    mon, client, clock = first.monitor, first.client, first.clock
    rng = np.random.default_rng(14)
    post(client, [event(i, rng, timestamp=T0 + 10) for i in range(500)])
    mon.wait_idle()
    post(client, [event(f"b{i}", rng, timestamp=T0 + 20) for i in range(300)])
    first.stop()
    mon = running_monitor((ModelConfig(model="m", window="1h"), ref), data="rs", settings=Settings(tick_every=0.02),
                          clock=clock).monitor
    assert mon.status("m")["open_window_rows"] == 800
    assert orjson.loads(orjson.dumps(mon.status("m")["events_total"])) == 800


def test_a_crash_before_the_index_commit_loses_nothing_acknowledged(running_monitor, ref):
    """Acknowledged = in the fsynced raw log; the index rows come later. A process that dies
    in between leaves the index behind: the next start indexes the tail from the raw log."""
    from argusml.store.rows import EventRows

    never = Settings(tick_every=0.02, index_rows=10**9, index_every=3600.0)  # the index is never flushed
    first = running_monitor((ModelConfig(model="m", window="1h"), ref), data="cr", settings=never)
    mon, store, client, clock = first.monitor, first.store, first.client, first.clock
    rng = np.random.default_rng(15)
    events = [event(i, rng, timestamp=T0 + 10) for i in range(200)]
    assert post(client, events).json()["accepted"] == 200
    assert store.raw_events("m") == 200 and store.count_events("m") == 0
    mon._writer._ibuf = EventRows()  # the crash: these rows never reach DuckDB
    first.stop()
    again = running_monitor((ModelConfig(model="m", window="1h"), ref), data="cr", settings=Settings(tick_every=0.02),
                            clock=clock)
    mon, store = again.monitor, again.store
    rows = store._rows("SELECT id, prediction, ts FROM events WHERE model = 'm' ORDER BY seq")
    assert [(i, p) for i, p, _ in rows] == [(e["id"], e["prediction"]) for e in events]
    assert mon.status("m")["events_total"] == 200
    assert post(again.client, events[:10]).json()["duplicates"] == 10  # dedup knows them again
    mon.stop()
    assert store.max_seq("m") == 200 and store.raw_events("m") == 200


def test_dedup_remembers_every_key_within_the_horizon_across_merges():
    """Size-tiered merging keeps lookups O(log n) without forgetting a key early."""
    d = DedupIndex(horizon=100, max_keys=10**7, generation_seconds=1)
    rng = np.random.default_rng(0)
    seen: list[int] = []
    for t in range(60):  # 60 s of traffic, a new generation every second
        keys = [key_of("v", f"{t}-{i}") for i in range(int(rng.integers(1000, 20000)))]
        assert not any(d.check_and_add(keys, now=float(t)))
        seen.extend(keys)
    assert len(d._frozen) <= 12  # log2 of the generations, not 60 arrays
    assert all(d.check_and_add(seen, now=61.0))
    assert len(d) == len(seen)


def test_registering_again_closes_open_windows_once(running_monitor, ref):
    running = running_monitor((ModelConfig(model="m"), ref), data="again",
                        settings=Settings(tick_every=0.02, snapshot_every=3600))  # no periodic snapshot
    mon, store, client = running.monitor, running.store, running.client
    rng = np.random.default_rng(15)
    post(client, [event(i, rng, timestamp=T0 - 30) for i in range(100)])
    assert mon.wait_idle()
    r = client.put("/v1/models/m", json={"config": {"window": "5m", "owner": "new-owner"}, "baseline": ref.to_dict()})
    assert r.status_code == 200
    closed = store.windows("m", segment="*", closed=True)
    assert [w["n_rows"] for w in closed] == [100]
    assert store.load_open_windows() == []  # not also saved as open (a restart would count them twice)
    s = client.get("/v1/models/m/status").json()
    assert s["owner"] == "new-owner" and s["events_total"] == 100 and s["open_windows"] == 0
