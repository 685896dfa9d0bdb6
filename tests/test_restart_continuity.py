"""/metrics and /status continue across a restart of the same data directory.

Before this, a restart emptied every window gauge (drift alerts resolved, freshness went "no data") until
the next window closed, restarted argus_events_total at 0 while /status counted on, and reset the
rejected, duplicate and too-late counters. Here the real server is scraped (the exposition parsed by
prometheus-client's own parser) and /status read before and after:

- a clean stop and start: every family and sample is back with the same value;
- kill -9 (a second after the last snapshot, with events and labels acknowledged after it): every counter
  and gauge that acknowledged data determines is back with the same value;
- retention deleting labels and index rows, and a store written before counters were saved: the counters
  the store derives never go backwards, and the index recount equals what the live counters counted.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from argusml.monitor import Monitor, Settings
from argusml.monitor.metrics import LABEL_LAG_BUCKETS
from argusml.schema.model_config import ModelConfig
from argusml.store import Store
from service_util import T0, Clock, LiveServer, Server, event, make_reference, start_monitor, write_config

pytestmark = pytest.mark.service

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> tuple[Samples, dict[str, str]]:
    """Every sample of /metrics but the process's own (CPU, memory, start time), and each family's type."""
    r = httpx.get(url + "/metrics", timeout=30)
    assert r.status_code == 200
    samples: Samples = {}
    types: dict[str, str] = {}
    for fam in text_string_to_metric_families(r.text):
        if fam.name.startswith("process_"):
            continue
        types[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types


def status(url: str, model: str = "m") -> dict[str, Any]:
    r = httpx.get(f"{url}/v1/models/{model}/status", timeout=30)
    assert r.status_code == 200
    body = r.json()
    body["advice"].pop("at", None)  # when the advice was computed
    return body


def families(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def post(url: str, path: str, body: Any) -> dict[str, Any]:
    r = httpx.post(f"{url}/v1/models/m/{path}", json=body, timeout=60)
    assert r.status_code in (200, 202, 204), r.text
    return r.json() if r.content else {}


def bad_events(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Two events every version of the validation rejects: no id, and a status code out of range."""
    e = event("x", rng)
    return [{k: v for k, v in e.items() if k != "id"}, {**event("bad-status", rng), "status": 700}]


# -- a clean stop ---------------------------------------------------------------------------------------
def test_every_family_and_status_counter_is_the_same_after_a_clean_restart(tmp_path):
    ref = make_reference()
    clock = Clock()
    settings = Settings(tick_every=0.02, snapshot_every=0.05)
    cfg = ModelConfig(model="m", window="5m", lateness="1m")
    first = start_monitor(tmp_path / "data", (cfg, ref), clock=clock, settings=settings)
    mon, srv = first.monitor, first.live()
    rng = np.random.default_rng(3)
    lat = [20.0, 50.0, 120.0, 900.0]  # 50 ms sits on a bucket bound
    v1 = [event(f"a{i}", rng, shift=1.0, timestamp=T0 - 100, version="v1", latency_ms=lat[i % 4],
                **({"status": 500} if i % 10 == 0 else {})) for i in range(1500)]
    assert post(srv.url, "events", v1 + bad_events(rng))["accepted"] == 1500
    v2 = [event(f"b{i}", rng, timestamp=T0 - 90, version="v2") for i in range(600)]
    post(srv.url, "events", v2)
    assert post(srv.url, "events", v1[:20])["duplicates"] == 20
    old = [event(f"old{i}", rng, timestamp=T0 - 7200) for i in range(7)]  # its window closed an hour ago
    # stored and counted too late, or (where validation turns them away) rejected
    n_old = httpx.post(f"{srv.url}/v1/models/m/events", json=old, timeout=30).json().get("accepted", 0)
    clock.advance(30)
    labels = [{"id": f"a{i}", "label": int(i % 3 == 0)} for i in range(400)]
    post(srv.url, "labels", labels + [{"id": f"nobody{i}", "label": 1} for i in range(5)] + [{"id": "x"}])
    post(srv.url, "labels", [{"id": "a1", "label": 1}, {"id": "a3", "label": 1}])  # a correction, a duplicate
    post(srv.url, "outcomes", [{"id": "a2", "name": "revenue", "value": 12.5}, {"id": "nobody", "name": "revenue",
                                                                               "value": 1.0}])
    r = httpx.post(f"{srv.url}/v1/models/m/resources", json={"instance": "host-1", "values": {"cpu_percent": 37.5}})
    assert r.status_code == 204
    clock.advance(170)  # [T0-300, T0) ended 200 s ago, lateness is 60 s: it closes
    assert mon.wait_idle()
    post(srv.url, "events", [event(f"open{i}", rng, timestamp=T0 + 150) for i in range(40)])  # stays open
    assert mon.wait_idle()
    mon.update_performance(force=True)
    mon.alerting.run_once()  # the alert thread has judged what the performance job wrote (argus_alerts)
    before, types = scrape(srv.url)
    st_before = status(srv.url)
    models_before = httpx.get(srv.url + "/v1/models").json()
    first.stop()

    # what the scrape holds, so that equality below is not of two empty pages
    expected = {"argus_events_total", "argus_events_rejected_total", "argus_events_duplicate_total",
                "argus_model_requests_total", "argus_model_request_duration_seconds_bucket", "argus_window_rows",
                "argus_window_end_timestamp_seconds", "argus_window_drifted_columns", "argus_feature_drift_score",
                "argus_feature_drifted", "argus_feature_missing_ratio", "argus_prediction_mean", "argus_labels_total",
                "argus_labels_pending", "argus_labels_expired_total", "argus_label_lag_seconds_bucket",
                "argus_outcomes_total", "argus_last_event_timestamp_seconds", "argus_host_resource",
                "argus_model_performance_labels", "argus_label_coverage_ratio"}
    assert expected <= families(before), expected - families(before)
    assert before[("argus_feature_drifted", (("feature", "x0"), ("model", "m"), ("model_version", "v1")))] == 1.0
    assert before[("argus_events_total", (("model", "m"), ("model_version", "v1")))] == 1500
    assert before[("argus_last_event_timestamp_seconds", (("model", "m"),))] == T0 + 150
    assert (st_before["events_total"], st_before["duplicates_total"], st_before["labels_total"]) == (
        2140 + n_old, 20, 406)
    assert st_before["rejected_total"] >= 3 and st_before["too_late_total"] + st_before["rejected_total"] >= 3 + 7
    assert (st_before["label_corrections"], st_before["label_duplicates"], st_before["open_window_rows"]) == (1, 1, 40)

    again = start_monitor(tmp_path / "data", (cfg, ref), clock=clock, settings=settings)
    mon, srv = again.monitor, again.live()
    try:
        assert mon.wait_idle()  # ticks ran (nothing is due: the clock stands still)
        after, types_after = scrape(srv.url)
        assert types_after == types
        missing = sorted(k for k in before if k not in after)
        assert not missing, f"gone after the restart: {missing[:10]}"
        assert sorted(k for k in after if k not in before) == []
        changed = {k: (before[k], after[k]) for k in before if after[k] != before[k]}
        assert not changed, f"changed by the restart: {dict(list(changed.items())[:10])}"
        assert status(srv.url) == st_before
        assert httpx.get(srv.url + "/v1/models").json() == models_before
    finally:
        again.stop()


# -- kill -9 ---------------------------------------------------------------------------------------------
ACKNOWLEDGED = ("argus_events_total", "argus_model_requests_total", "argus_model_request_duration_seconds_bucket",
                "argus_model_request_duration_seconds_count", "argus_model_request_duration_seconds_sum",
                "argus_labels_total", "argus_labels_pending", "argus_label_lag_seconds_bucket",
                "argus_label_lag_seconds_count", "argus_label_lag_seconds_sum", "argus_outcomes_total",
                "argus_last_event_timestamp_seconds", "argus_window_rows", "argus_window_end_timestamp_seconds",
                "argus_window_drifted_columns", "argus_feature_drift_score", "argus_feature_drifted",
                "argus_feature_missing_ratio", "argus_prediction_mean", "argus_multivariate_drifted",
                "argus_multivariate_score", "argus_events_rejected_total", "argus_events_duplicate_total",
                "argus_events_too_late_total")
"""The samples a kill must not change. Rejections, duplicates and too-late events are here because this
test counts them before the snapshot a window's close writes (after it, a crash may lose rejections and
duplicates: they are in no table); the performance gauges are not, as the new process's performance pass
may revise its windows."""


def wait_for(url: str, sample: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sample in families(scrape(url)[0]):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{sample} never appeared")


@pytest.mark.slow
def test_kill_9_loses_no_counter_of_acknowledged_data(tmp_path):
    config = write_config(tmp_path / "cfg", make_reference(2000), window="5s", lateness="5s")
    data = tmp_path / "data"
    server = Server(config, data)
    try:
        server.wait_ready()
        rng = np.random.default_rng(5)
        now = time.time()
        first = [event(f"a{i}", rng, shift=0.5, timestamp=now, latency_ms=float(10 + i % 300),
                       **({"status": 503} if i % 7 == 0 else {})) for i in range(400)]
        assert post(server.url, "events", first + bad_events(rng))["accepted"] == 400
        assert post(server.url, "events", first[:15])["duplicates"] == 15
        post(server.url, "labels", [{"id": f"a{i}", "label": i % 2} for i in range(150)]
             + [{"id": "unseen", "label": 1}])
        post(server.url, "outcomes", [{"id": "a3", "name": "revenue", "value": 3.25}])
        wait_for(server.url, "argus_window_rows")  # the window closed: the snapshot with it is written
        # acknowledged after that snapshot (the next periodic one is 10 s away): the restart recounts these
        # from the raw log and the labels table; future-dated events open a window that closes after the test
        later = [event(f"b{i}", rng, timestamp=time.time() + 240, version="v2", latency_ms=float(i))
                 for i in range(250)]
        assert post(server.url, "events", later)["accepted"] == 250
        post(server.url, "labels", [{"id": f"b{i}", "label": 1} for i in range(60)] + [{"id": "a0", "label": 1}])
        post(server.url, "outcomes", [{"id": "b1", "name": "revenue", "value": 2.0}])
        deadline = time.monotonic() + 30  # folding is asynchronous: wait until the open window holds them
        while status(server.url)["open_window_rows"] < 250 and time.monotonic() < deadline:
            time.sleep(0.1)
        before, _ = scrape(server.url)
        st_before = status(server.url)
    finally:
        server.kill()

    assert (st_before["events_total"], st_before["labels_total"], st_before["label_corrections"]) == (650, 212, 1)
    assert before[("argus_last_event_timestamp_seconds", (("model", "m"),))] > now + 200
    assert st_before["open_window_rows"] == 250
    kept = {k: v for k, v in before.items() if k[0] in ACKNOWLEDGED}
    assert {"argus_events_total", "argus_feature_drift_score", "argus_label_lag_seconds_bucket",
            "argus_events_rejected_total"} <= families(kept)

    server = Server(config, data)
    try:
        server.wait_ready()
        after, _ = scrape(server.url)
        st_after = status(server.url)
    finally:
        assert server.stop() in (0, -15)
    for key, value in kept.items():
        assert key in after, f"{key} gone after kill -9"
        if key[0].endswith("_sum"):  # a float sum, added up in another order from the recount
            assert after[key] == pytest.approx(value, rel=1e-12), key
        else:
            assert after[key] == value, key
    for k in ("events_total", "labels_total", "labels_joined", "labels_pending", "label_corrections",
              "outcomes_total", "outcomes_joined", "outcomes_pending", "rejected_total", "duplicates_total",
              "too_late_total", "last_event_timestamp", "open_window_rows", "latest_windows", "versions"):
        assert st_after[k] == st_before[k], k


# -- what the store derives ---------------------------------------------------------------------------------
def _mon(path: Any, clock: Clock) -> tuple[Monitor, Store]:
    running = start_monitor(path, (ModelConfig(model="m", window="5m", lateness="1m"), make_reference(2000)), clock=clock)
    return running.monitor, running.store


def test_retention_does_not_take_counters_back(tmp_path):
    """Retention deletes labels and index rows; the label tallies a crash falls back on keep what the deleted
    rows counted (added in the deleting transaction), and a restart shows the same counters."""
    clock = Clock()
    mon, store = _mon(tmp_path / "d", clock)
    rng = np.random.default_rng(9)
    with LiveServer(mon) as srv:
        post(srv.url, "events", [event(i, rng, timestamp=T0 - 30, latency_ms=75.0) for i in range(200)])
        clock.advance(45)
        post(srv.url, "labels", [{"id": str(i), "label": i % 2} for i in range(80)] + [{"id": "late", "label": 0}])
        post(srv.url, "labels", [{"id": "5", "label": 0}])  # a correction
        assert mon.wait_idle()
        clock.advance(15 * 86400)
        mon.apply_retention(clock())  # "late" waited past the 14 d label horizon: expired
        # a correction that outlives the label it corrects: what the rest of its (version, id) counts changes
        post(srv.url, "labels", [{"id": "7", "label": 0}])
        tallies = store.label_tallies("m", LABEL_LAG_BUCKETS)["m"]
        assert {k: tallies[k] for k in ("labels", "labels_joined", "label_corrections", "labels_expired")} == {
            "labels": 83, "labels_joined": 80, "label_corrections": 2, "labels_expired": 1}
        assert tallies["lag"]["counts"][3] == 80 and tallies["lag"]["total"] == 80 * 75.0  # in (60 s, 300 s]
        metrics_before, _ = scrape(srv.url)
        st_before = status(srv.url)
        clock.advance(85 * 86400)  # past every retention but profiles'
        out = mon.apply_retention(clock())
        assert out["m"]["labels"] == 82 and out["m"]["predictions"] == 200
        assert store._rows("SELECT id FROM labels") == [("7",)]
        assert store.label_tallies("m", LABEL_LAG_BUCKETS)["m"] == tallies
    mon.stop()
    store.close()
    mon, store = _mon(tmp_path / "d", clock)
    try:
        with LiveServer(mon) as srv:
            metrics_after, _ = scrape(srv.url)
            st_after = status(srv.url)
        for k in ("events_total", "labels_total", "labels_joined", "label_corrections", "labels_expired",
                  "labels_pending"):
            assert st_after[k] == st_before[k], k
        for key in ("argus_events_total", "argus_labels_total", "argus_labels_expired_total",
                    "argus_label_lag_seconds_bucket", "argus_label_lag_seconds_sum",
                    "argus_model_request_duration_seconds_bucket"):
            old = {k: v for k, v in metrics_before.items() if k[0] == key}
            assert old and all(metrics_after[k] == v for k, v in old.items()), key
    finally:
        mon.stop()
        store.close()


def test_a_store_without_saved_counters_recounts_its_index_as_the_live_counters_counted(tmp_path):
    """A store written before counters were saved (or whose saved counters are gone): events, status codes
    and latency buckets per version are recounted from the prediction index, bucket for bucket as live."""
    clock = Clock()
    mon, store = _mon(tmp_path / "d", clock)
    rng = np.random.default_rng(11)
    # values on bucket bounds (0.05 s, 0.1 s, 10 s) and between them, statuses sent and not
    lats = [5.0, 50.0, 50.000001, 100.0, 333.3, 10000.0, 12000.0]
    with LiveServer(mon) as srv:
        for version in ("v1", "v2"):
            post(srv.url, "events", [event(f"{version}-{i}", rng, timestamp=T0 - 10 - i % 50, version=version,
                                           latency_ms=lats[i % len(lats)],
                                           **({"status": 200 + 100 * (i % 4)} if i % 3 else {})) for i in range(300)])
        post(srv.url, "events", [event("no-latency", rng, timestamp=T0 - 5, version="v2")])
        assert mon.wait_idle()
        before, _ = scrape(srv.url)
    mon.stop()
    store._cur().execute("DELETE FROM meta WHERE key = 'counters:m'")
    store.close()
    mon, store = _mon(tmp_path / "d", clock)
    try:
        with LiveServer(mon) as srv:
            after, _ = scrape(srv.url)
            assert status(srv.url)["events_total"] == 601
        names = ("argus_events_total", "argus_model_requests_total", "argus_model_request_duration_seconds_bucket",
                 "argus_model_request_duration_seconds_count", "argus_last_event_timestamp_seconds")
        old = {k: v for k, v in before.items() if k[0] in names}
        assert len(old) == 2 + 8 + 2 * 20 + 2 + 1
        assert {k: after.get(k) for k in old} == old
        for k, v in before.items():
            if k[0] == "argus_model_request_duration_seconds_sum":
                assert after[k] == pytest.approx(v, rel=1e-12)
    finally:
        mon.stop()
        store.close()
