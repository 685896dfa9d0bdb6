"""Backfill: past predictions loaded into their windows, so a new deployment starts with its trend.

End to end first: a day of generated history with a shift in its second half, written to Parquet and sent by
`argus backfill` to the real service over HTTP; the past windows appear closed with their exact row counts,
roll up, carry the drift findings of the shifted half, and a second send stores nothing twice. Then the
rules on the in-process app with our own clock: a backfill merges into a bucket the live stream already
closed (one row, roll-ups recomputed), leaves live windows as /events would fill them, refuses what its
windows could not keep, and survives a restart or a crash before its windows close.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from argusml.monitor import Monitor, Settings
from argusml.schema.model_config import ModelConfig
from argusml.service.app import create_app
from service_util import T0, event, start_monitor
from test_review_sample import argus

pytestmark = pytest.mark.service

HOUR = 3600.0
WINDOW = 1800.0
PER_WINDOW = 100


def rfc(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def history(first: float, hours: int, shift_from: float, seed: int) -> pd.DataFrame:
    """PER_WINDOW predictions per 30 minutes from ``first``, evenly spaced; x0 shifted by 1 sd from
    ``shift_from`` on. Rows come shuffled: the command sorts them by time."""
    rng = np.random.default_rng(seed)
    n = hours * 2 * PER_WINDOW
    ts = first + np.arange(n) * (WINDOW / PER_WINDOW)
    rows = [event(f"h{k}", rng, shift=0.0) for k in range(n)]
    df = pd.DataFrame([{**r["features"], "id": r["id"], "score": r["prediction"]} for r in rows])
    df["x0"] = df["x0"] + np.where(ts >= shift_from, 1.0, 0.0)
    df["timestamp"] = pd.to_datetime(ts, unit="s", utc=True)
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def wait_for(predicate: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"not reached in {timeout} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory, ref) -> Any:
    """The real service (real clock) with model 'm': 30-minute windows, so hours and days roll up."""
    d = tmp_path_factory.mktemp("backfill")
    running = start_monitor(d / "data", (ModelConfig(model="m", window="30m", lateness="2m"), ref), clock=time.time,
                            settings=Settings(tick_every=0.05, snapshot_every=0.5, backfill_idle=0.5))
    yield running.live(), running.monitor, d
    running.stop()


def windows(url: str, **params: Any) -> list[dict[str, Any]]:
    return httpx.get(f"{url}/v1/models/m/windows", params={"segment": "*", "limit": 10_000, **params}).json()[
        "windows"]


@pytest.mark.slow
def test_a_day_of_history_over_http_and_the_cli(served, tmp_path) -> None:
    server, _, _ = served
    now = time.time()
    first = math.floor(now / HOUR) * HOUR - 26 * HOUR  # 24 whole hours, the last ending 2 h ago
    shift_from = first + 12 * HOUR
    df = history(first, 24, shift_from, seed=1)
    path = tmp_path / "history.parquet"
    df.to_parquet(path, index=False)

    p = argus("backfill", str(path), "--url", server.url, "--model", "m")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == (f"backfill of model 'm': 4800 rows from {rfc(first)} to {rfc(first + 24 * HOUR - 18)}; "
                                "4800 accepted, 0 duplicates, 0 rejected")
    base = wait_for(lambda: (w := windows(server.url, granularity="30m", closed="true")) and len(w) == 48 and w)
    assert sorted((w["start"], w["n_rows"], w["late"]) for w in base) == [
        (rfc(first + k * WINDOW), PER_WINDOW, 0) for k in range(48)]
    hours = wait_for(lambda: (w := windows(server.url, granularity="1h")) and len(w) == 24 and w)
    assert sorted((w["start"], w["n_rows"]) for w in hours) == [(rfc(first + k * HOUR), 2 * PER_WINDOW)
                                                               for k in range(24)]
    # a UTC day is rolled up once it is over (and its lateness): every one the history covers whole or in part
    ts = first + np.arange(4800) * (WINDOW / PER_WINDOW)
    days = {d: int(((ts >= d) & (ts < d + 86400)).sum()) for d in np.unique(np.floor(ts / 86400) * 86400)
            if d + 86400 + 120 <= time.time()}
    got = wait_for(lambda: (w := windows(server.url, granularity="1d")) and len(w) == len(days) and w) if days else []
    assert sorted((w["start"], w["n_rows"]) for w in got) == sorted((rfc(d), n) for d, n in days.items())

    found = httpx.get(f"{server.url}/v1/models/m/findings", params={"segment": "*", "granularity": "30m",
                                                                    "limit": 10_000}).json()["findings"]
    x0 = {f["window_start"] for f in found if f["check"] == "drift" and f["column"] == "x0"}
    shifted = {rfc(shift_from + k * WINDOW) for k in range(24)}
    assert shifted <= x0  # every shifted window ...
    assert len(x0 - shifted) <= 2  # ... and about as few before as a 5% family-wise rate over 8 columns allows
    status = httpx.get(f"{server.url}/v1/models/m/status").json()
    assert (status["events_total"], status["too_late_total"], status["open_windows"]) == (4800, 0, 0)

    again = argus("backfill", str(path), "--url", server.url, "--model", "m")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("0 accepted, 4800 duplicates, 0 rejected")
    time.sleep(1.0)  # a tick or two: nothing may change
    assert sorted((w["start"], w["n_rows"]) for w in windows(server.url, granularity="30m")) == sorted(
        (w["start"], w["n_rows"]) for w in base)
    assert httpx.get(f"{server.url}/v1/models/m/status").json()["events_total"] == 4800


def test_csv_rows_refused_are_listed_and_the_rest_stored(served, tmp_path) -> None:
    server, monitor, _ = served
    now = time.time()
    old = math.floor(now / HOUR) * HOUR - 40 * HOUR
    path = tmp_path / "few.csv"
    feats = "0.1,0.2,0.3,0.4,0.5,0.6,a"
    path.write_text("id,timestamp,x0,x1,x2,x3,x4,x5,cat,score,region\n"
                    f"007,{rfc(old + 10)},{feats},0.5,eu\n"
                    f"c1,,{feats},0.5,eu\n"
                    f"c2,{rfc(now + 3600)},{feats},0.5,eu\n"
                    f"c3,{rfc(now - 401 * 86400)},{feats},0.5,eu\n"
                    f"c4,{rfc(old + 20)},{feats},0.7,eu\n")
    p = argus("backfill", str(path), "--url", server.url, "--model", "m")
    assert p.returncode == 1
    lines = p.stderr.splitlines()
    assert lines[0] == f"{path}: row 2: timestamp: no timestamp: a backfilled event needs the time it was made"
    assert lines[1].startswith(f"{path}: row 3: timestamp: timestamp is ") and lines[1].endswith(
        "s ahead of the server clock (allowed: 300s)")  # the seconds the server counts: 3600 less its delay
    assert lines[2:] == [f"{path}: row 4: timestamp: timestamp {rfc(now - 401 * 86400)} is older than "
                         "retention.profiles (400d): its window would be deleted at once"]
    assert p.stdout.strip().endswith("2 accepted, 0 duplicates, 3 rejected")
    monitor.flush_index()
    assert {("unversioned", "007"), ("unversioned", "c4")} <= set(monitor.store.event_ids("m"))
    w = wait_for(lambda: windows(server.url, granularity="30m", since=rfc(old), until=rfc(old + WINDOW), closed="true"))
    assert [(x["start"], x["n_rows"], x["closed"]) for x in w] == [(rfc(old), 2, True)]


def test_unusable_input_exits_2_with_one_line(served, tmp_path) -> None:
    server, _, _ = served
    f = tmp_path / "bad.csv"
    f.write_text("ident,when,x0\n1,2026-01-01T00:00:00Z,0.5\n")
    cases = [
        (["backfill", str(tmp_path / "nope.parquet"), "--url", server.url, "--model", "m"], f"{tmp_path / 'nope.parquet'}: not found"),
        (["backfill", str(f), "--url", server.url, "--model", "zz"], "unknown model 'zz'"),
        (["backfill", str(f), "--url", server.url, "--model", "m"], f"{f}: no column 'id' (--id-column); columns: ident, when, x0"),
        (["backfill", str(f), "--url", server.url, "--model", "m", "--id-column", "ident"],
         f"{f}: no column 'timestamp' (--timestamp-column); columns: ident, when, x0"),
        (["backfill", str(f), "--url", server.url, "--model", "m", "--id-column", "ident", "--timestamp-column",
          "when"], f"{f}: no prediction column 'score' (--prediction-column); columns: ident, when, x0"),
        (["backfill", str(tmp_path), "--url", server.url, "--model", "m"], f"{tmp_path}: not a file"),
    ]
    for args, message in cases:
        p = argus(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1 and message in p.stderr, (args, p.stderr)


# -- the rules, in process with our own clock ---------------------------------------------------------------
@pytest.fixture
def svc(running_monitor, ref):
    running = running_monitor((ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"]), ref),
                        settings=Settings(tick_every=0.02, snapshot_every=0.05, backfill_idle=0.3))
    return running.monitor, running.client, running.clock, running.store


def back(client: TestClient, events: list) -> dict[str, Any]:
    r = client.post("/v1/models/m/backfill", json=events)
    assert r.status_code in (200, 422), r.text
    return r.json()


def metric(client: TestClient, name: str) -> float | None:
    for fam in text_string_to_metric_families(client.get("/metrics").text):
        for s in fam.samples:
            if s.name == name:
                return s.value
    return None


def settle(mon: Monitor, idle: float = 0.4) -> None:
    """Everything folded, then the backfill idle long enough for its open windows to close."""
    assert mon.wait_idle()
    time.sleep(idle)
    assert mon.wait_idle()


def test_backfill_merges_into_a_bucket_the_live_stream_closed(svc) -> None:
    mon, client, clock, _ = svc
    rng = np.random.default_rng(2)
    assert client.post("/v1/models/m/events", json=[event(f"l{i}", rng, shift=1.0, timestamp=T0 - 250)
                                                    for i in range(100)]).status_code == 200
    clock.advance(130)  # [T0-300, T0) closes live, and its hour [T0-3600, T0) rolls up
    assert mon.wait_idle()
    assert [w["n_rows"] for w in client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "1h"}
                                            ).json()["windows"]] == [100]
    assert metric(client, "argus_window_rows") == 100

    body = back(client, [*(event(f"b{i}", rng, timestamp=T0 - 1000) for i in range(30)),
                         *(event(f"c{i}", rng, timestamp=T0 - 200) for i in range(50))])
    assert body == {"accepted": 80, "duplicates": 0, "rejected": []}
    settle(mon)
    fives = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m"}).json()["windows"]
    assert [(w["start"], w["n_rows"], w["late"], w["closed"]) for w in fives] == [
        (rfc(T0 - 300), 150, 0, True), (rfc(T0 - 1200), 30, 0, True)]  # one row per bucket: merged, not beside
    segs = client.get("/v1/models/m/windows", params={"granularity": "5m", "since": rfc(T0 - 300)}).json()["windows"]
    assert sum(w["n_rows"] for w in segs if w["segment"].startswith("cat=")) == 150
    assert len({w["segment"] for w in segs}) == len(segs)  # no segment twice
    hours = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "1h"}).json()["windows"]
    assert [(w["start"], w["n_rows"]) for w in hours] == [(rfc(T0 - 3600), 180)]  # rolled up again
    found = client.get("/v1/models/m/findings", params={"granularity": "5m", "since": rfc(T0 - 300)}).json()[
        "findings"]
    keys = [(f["segment"], f["check"], f["column"]) for f in found]
    assert ("*", "drift", "x0") in keys and len(keys) == len(set(keys))  # the merged window's replaced the live one's
    # the gauges show the newest window: the merged one, not the older backfilled bucket
    assert metric(client, "argus_window_rows") == 150
    assert metric(client, "argus_window_end_timestamp_seconds") == T0


def test_live_windows_take_what_they_would_take_from_events(svc) -> None:
    mon, client, clock, _ = svc
    rng = np.random.default_rng(3)
    clock.advance(130)
    assert client.post("/v1/models/m/events", json=[event("live", rng, timestamp=T0 + 100)]).status_code == 200
    assert back(client, [event("past", rng, timestamp=T0 + 110), event("old", rng, timestamp=T0 - 500)])[
        "accepted"] == 2
    assert mon.wait_idle()
    s = client.get("/v1/models/m/status").json()
    assert (s["open_window_rows"], s["too_late_total"]) == (2, 0)
    settle(mon)
    assert client.get("/v1/models/m/status").json()["backfill_open_windows"] == 0
    w = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m"}).json()["windows"]
    assert [(x["start"], x["n_rows"], x["closed"]) for x in w] == [(rfc(T0), 2, False), (rfc(T0 - 600), 1, True)]


def test_same_validation_dedup_and_retention_as_events(svc) -> None:
    _, client, _, store = svc
    rng = np.random.default_rng(4)
    batch = [event("a", rng, timestamp=T0 - 900), {"id": "b", "features": [1]},
             event("c", rng, timestamp=T0 - 401 * 86400), event("d", rng, timestamp=T0 + 3600)]
    body = back(client, batch)
    assert body["accepted"] == 1 and body["duplicates"] == 0
    assert [(x["index"], x["field"]) for x in body["rejected"]] == [(1, "features"), (2, "timestamp"),
                                                                   (3, "timestamp")]
    assert body["rejected"][1]["error"] == (f"timestamp {rfc(T0 - 401 * 86400)} is older than retention.profiles "
                                            "(400d): its window would be deleted at once")
    assert back(client, [event("a", rng, timestamp=T0 - 900)]) == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert client.post("/v1/models/m/events", json=[event("a", rng, timestamp=T0 - 10)]).json()["duplicates"] == 1
    r = client.post("/v1/models/m/backfill", json=[{"id": "x"}])
    assert r.status_code == 422 and r.json()["error"] == "all_rejected"
    assert client.post("/v1/models/nope/backfill", json=[]).status_code == 404
    assert store.raw_events("m") == 1  # acknowledged = in the raw log, once


@pytest.mark.parametrize("crash", [False, True])
def test_a_restart_or_crash_before_the_backfill_closes_loses_nothing(running_monitor, ref, crash) -> None:
    # no periodic snapshot after the first: a crash leaves only the raw log to recover the backfill from
    settings = Settings(tick_every=0.02, snapshot_every=3600 if crash else 0.05, backfill_idle=3600)
    cfg = ModelConfig(model="m", window="5m", lateness="1m")
    first = running_monitor((cfg, ref), data="d", settings=settings)
    mon, client, clock = first.monitor, first.client, first.clock
    assert mon.wait_idle()  # the first snapshot is taken (before any event)
    rng = np.random.default_rng(5)
    assert client.post("/v1/models/m/events", json=[event(f"l{i}", rng, timestamp=T0 + 10) for i in range(20)]
                       ).status_code == 200
    assert back(client, [event(f"b{i}", rng, timestamp=T0 - 7200 + i) for i in range(40)])["accepted"] == 40
    assert mon.wait_idle()
    assert mon.status("m")["backfill_open_windows"] == 1  # folded, open: the backfill has not moved past it
    if crash:
        mon._fold.snapshot = lambda *a, **k: None  # type: ignore[method-assign]  # the process dies: no snapshot
    first.stop()
    again = running_monitor((cfg, ref), data="d", settings=Settings(tick_every=0.02, snapshot_every=0.05,
                                                                    backfill_idle=0.2), clock=clock)
    mon, store = again.monitor, again.store
    assert mon.status("m")["open_window_rows"] == 20
    settle(mon)
    w = store.windows("m", segment="*", granularity=300.0)
    assert sorted((x["start_ts"], x["n_rows"], x["closed"]) for x in w) == [(T0 - 7200, 40, True), (T0, 20, False)]


def test_backfill_validated_in_a_worker_process_is_placed_by_its_time(running_monitor, ref) -> None:
    """`argus serve` validates large bodies in worker processes: a backfill validated there is still one."""
    from argusml.service.app import OFFLOAD_MIN_BYTES
    from argusml.service.offload import ValidatorPool

    pool = ValidatorPool(1)
    running = running_monitor((ModelConfig(model="m", window="5m", lateness="1m"), ref), data="d",
                        settings=Settings(tick_every=0.02, snapshot_every=0.05, backfill_idle=0.2))
    mon, store = running.monitor, running.store
    try:
        rng = np.random.default_rng(6)
        events = [event(f"w{i}", rng, timestamp=T0 - 3000 + i) for i in range(60)]
        with TestClient(create_app(mon, pool=pool)) as client:
            r = client.post("/v1/models/m/backfill", json=events)
            assert r.status_code == 200 and r.json()["accepted"] == 60
            assert len(r.request.content) >= OFFLOAD_MIN_BYTES and pool.validated == 1
            settle(mon)
            w = client.get("/v1/models/m/windows", params={"segment": "*"}).json()["windows"]
        assert [(x["start"], x["n_rows"], x["closed"]) for x in w] == [(rfc(T0 - 3000), 60, True)]
        assert mon.status("m")["too_late_total"] == 0
        assert all(line[5]["backfill"] is True for chunk in store.raw_after("m", 0) for line in chunk)
    finally:
        running.stop()
        pool.close()


@pytest.mark.slow
def test_a_sparse_history_is_split_and_paced_by_the_service(served, tmp_path) -> None:
    """200 predictions, one per 30 minutes: one request would open 200 windows, more than the 128 a model may
    hold open (every open window is in each snapshot). The service answers 413 backfill_too_wide, the command
    halves its chunks, and waits (429) while earlier windows close; everything arrives, every window closes."""
    server, _, _ = served
    first = math.floor(time.time() / HOUR) * HOUR - 150 * HOUR
    rng = np.random.default_rng(7)
    rows = [event(f"s{k}", rng) for k in range(200)]
    df = pd.DataFrame([{**r["features"], "id": r["id"], "score": r["prediction"]} for r in rows])
    df["timestamp"] = first + WINDOW * np.arange(200) + 60
    path = tmp_path / "sparse.parquet"
    df.to_parquet(path, index=False)
    r = httpx.post(f"{server.url}/v1/models/m/backfill", json=[
        {"id": f"x{k}", "timestamp": float(t), "features": rows[k]["features"], "prediction": 0.5}
        for k, t in enumerate(df["timestamp"])])
    assert r.status_code == 413 and r.json()["error"] == "backfill_too_wide"
    assert r.json()["detail"] == ("these events span 200 windows of 30m; a backfill request may open at most 128: "
                                  "send fewer events per request, in time order")
    p = argus("backfill", str(path), "--url", server.url, "--model", "m")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().endswith("200 accepted, 0 duplicates, 0 rejected")
    w = wait_for(lambda: (x := windows(server.url, granularity="30m", closed="true", since=rfc(first),
                                       until=rfc(first + 100 * HOUR))) and len(x) == 200 and x, timeout=120)
    assert {x["n_rows"] for x in w} == {1}


def test_a_backfill_ahead_of_its_windows_is_asked_to_wait(running_monitor, ref) -> None:
    """Accepted and not yet folded, a backfill's windows count against the bound too: the next request that
    would pass it is answered 429 (the monitor's threads are not started here, so nothing folds)."""
    from argusml.monitor.ingest import BackfillAhead, BackfillTooWide

    mon = running_monitor((ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"]), ref), data="d",
                          settings=Settings(), start=False).monitor
    rng = np.random.default_rng(8)

    def span(tag: str, buckets: int, t0: float) -> list[dict[str, Any]]:
        return [event(f"{tag}{b}-{c}", rng, timestamp=t0 + 300 * b) | {"features": {
            **event("f", rng)["features"], "cat": c}} for b in range(buckets) for c in "abc"]

    with pytest.raises(BackfillTooWide, match=r"^these events span 33 windows of 5m \(132 with their segments\); "
                                              r"a backfill request may open at most 32: send fewer"):
        mon.ingest_backfill("m", span("w", 33, T0 - 86400))
    assert mon.ingest_backfill("m", span("a", 30, T0 - 86400)).body["accepted"] == 90
    assert mon.models["m"].backfill_queued == 120  # 30 buckets, each the whole traffic and 3 segment values
    with pytest.raises(BackfillAhead, match=r"the backfill holds 120 open windows \(limit 128\)"):
        mon.ingest_backfill("m", span("b", 3, T0 - 43200))
    assert mon.ingest_backfill("m", span("c", 2, T0 - 43200)).body["accepted"] == 6  # 120 + 8 fits
