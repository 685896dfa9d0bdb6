"""Provisional checks: an open window looked at before it closes, its verdict marked provisional until the
close confirms or withdraws it, and the alpha of the repeated looks spent so a stable stream raises no more
provisional drift than the nominal rate.

A real DuckDB store and the real FastAPI app (TestClient); only the clock is ours, so a window can be looked
at and closed without waiting minutes.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from scipy.stats import binom

from argusml.monitor import Monitor, Settings
from argusml.profile import Reference
from argusml.schema import ConfigError
from argusml.schema.model_config import ModelConfig, model_config_from_dict
from argusml.store import Store
from service_util import T0, Clock, event

pytestmark = pytest.mark.service

FEATURES = {f"x{j}" for j in range(6)}


def _monitor(running_monitor, data: str, ref: Reference, clock: Clock, **cfg) -> tuple[Monitor, Store, TestClient]:
    running = running_monitor((ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"], **cfg), ref),
                              data=data, clock=clock)
    return running.monitor, running.store, running.client


@pytest.fixture
def svc(running_monitor, ref):
    """(monitor, client, clock): model 'm' with 5 min windows, 1 min lateness, looks every 30 s (the default)."""
    clock = Clock()
    mon, _, client = _monitor(running_monitor, "data", ref, clock)
    return mon, client, clock


def post(client: TestClient, events: list) -> None:
    r = client.post("/v1/models/m/events", json=events)
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


def open_windows(client: TestClient) -> list[dict]:
    return client.get("/v1/models/m/windows", params={"closed": "false"}).json()["windows"]


def gauges(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(client.get("/metrics").text):
        for s in fam.samples:
            if s.name.startswith(("argus_provisional_", "argus_feature_drifted")):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def drifted_gauge(name: str, feature: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, (("feature", feature), ("model", "m"), ("model_version", "unversioned"))


def test_a_look_is_provisional_until_the_close_confirms_it(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(1)
    post(client, [event(i, rng, shift=1.0, timestamp=T0 - 250) for i in range(400)])
    assert mon.wait_idle()
    wins = open_windows(client)
    overall = [w for w in wins if w["segment"] == "*"]
    assert len(overall) == 1 and not overall[0]["closed"] and overall[0]["provisional"]
    look = overall[0]["verdict"]
    planned = math.ceil((300 + 60) / 30)
    assert (look["provisional"], look["look"], look["looks_planned"], look["n_rows"]) == (True, 1, planned, 400)
    assert look["status"] == "drift" and set(look["drifted_columns"]) == FEATURES
    assert look["alpha"] == pytest.approx(0.05 / planned)  # the window's alpha, spent over its planned looks
    assert look["findings"] > 0
    # segments are never looked at: their open rows have no verdict
    assert all(not w["provisional"] and w["verdict"] is None for w in wins if w["segment"] != "*")

    assert client.get("/v1/models/m/findings").json()["findings"] == []  # nothing confirmed yet
    early = client.get("/v1/models/m/findings", params={"provisional": "true"}).json()["findings"]
    assert len(early) == look["findings"] and all(f["provisional"] for f in early)
    assert {f["column"] for f in early if f["check"] == "drift"} == FEATURES
    assert {(f["window_start"], f["window_end"]) for f in early} == {(overall[0]["start"], overall[0]["end"])}
    assert client.get("/v1/models/m/findings", params={"provisional": "true", "severity": "P0"}).json()[
        "findings"] == [f for f in early if f["severity"] == "P0"]

    status = client.get("/v1/models/m/status").json()
    assert [(p["start"], p["n_rows"], p["verdict"]["look"]) for p in status["provisional"]] == [
        (overall[0]["start"], 400, 1)]
    assert status["open_findings"] == []
    g = gauges(client)
    assert g[drifted_gauge("argus_provisional_feature_drifted", "x0")] == 1.0
    assert g[drifted_gauge("argus_provisional_feature_drifted", "cat")] == 0.0
    assert g[("argus_provisional_window_rows", (("model", "m"), ("model_version", "unversioned")))] == 400.0
    assert g[("argus_provisional_window_end_timestamp_seconds", (("model", "m"), ("model_version", "unversioned")))
             ] == T0
    assert drifted_gauge("argus_feature_drifted", "x0") not in g  # the closed windows' gauge waits for the close

    clock.advance(120)  # past the end (T0) + 1 min lateness: the close replaces the look
    assert mon.wait_idle()
    assert [w for w in open_windows(client) if w["segment"] == "*"] == []
    final = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m"}).json()["windows"]
    assert len(final) == 1 and final[0]["closed"] and not final[0]["provisional"]
    assert final[0]["verdict"]["provisional_looks"] == {"looks": 1, "drifted_columns": look["drifted_columns"],
                                                        "confirmed": look["drifted_columns"], "withdrawn": []}
    confirmed = client.get("/v1/models/m/findings", params={"segment": "*", "provisional": "true"}).json()["findings"]
    assert confirmed and not any(f["provisional"] for f in confirmed)
    assert {f["column"] for f in confirmed if f["check"] == "drift"} == FEATURES
    g = gauges(client)
    assert not any(name.startswith("argus_provisional_") for name, _ in g)
    assert g[drifted_gauge("argus_feature_drifted", "x0")] == 1.0


def test_a_look_the_close_does_not_confirm_is_withdrawn(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(2)
    post(client, [event(f"s{i}", rng, shift=1.0, timestamp=T0 - 250) for i in range(100)])
    assert mon.wait_idle()
    look = next(w for w in open_windows(client) if w["segment"] == "*")["verdict"]
    assert look["status"] == "drift" and "x0" in look["drifted_columns"]
    # the rest of the window is clean: 100 shifted rows among 10,100 are no practical drift
    post(client, [event(f"c{i}", rng, timestamp=T0 - 100) for i in range(10_000)])
    clock.advance(120)  # closes before another look (the window grew, but it is closed first)
    assert mon.wait_idle()
    final = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m"}).json()["windows"][0]
    assert final["n_rows"] == 10_100 and final["verdict"]["drifted_columns"] == []
    assert final["verdict"]["provisional_looks"]["withdrawn"] == look["drifted_columns"]
    assert final["verdict"]["provisional_looks"]["confirmed"] == []
    found = client.get("/v1/models/m/findings", params={"provisional": "true"}).json()["findings"]
    assert not [f for f in found if f["check"] == "drift"]  # the provisional drift disappeared with the look


def test_looks_wait_for_rows_growth_and_the_interval(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(3)
    post(client, [event(f"a{i}", rng, timestamp=T0 + 10) for i in range(49)])  # below drift.min_rows (50)
    assert mon.wait_idle()
    assert mon.status("m")["provisional"] == []

    def look() -> dict:
        return mon.status("m")["provisional"][0]["verdict"]

    post(client, [event("a49", rng, timestamp=T0 + 10)])
    assert mon.wait_idle()
    assert (look()["look"], look()["n_rows"]) == (1, 50)
    clock.advance(10)
    post(client, [event(f"b{i}", rng, timestamp=T0 + 20) for i in range(50)])
    assert mon.wait_idle()
    assert look()["look"] == 1  # grown, but 10 s after the last look: the interval is 30 s
    clock.advance(20)
    assert mon.wait_idle()
    assert (look()["look"], look()["n_rows"]) == (2, 100)
    clock.advance(60)
    assert mon.wait_idle()
    assert look()["look"] == 2  # a minute later, but the window did not grow


def test_the_looks_stop_at_the_planned_number(running_monitor, ref):
    """A window opened early (events up to future_skew ahead) could be looked at more often than planned;
    the budget stops there, so the alpha spent per look stays a bound."""
    clock = Clock(T0 - 290)
    mon, store, client = _monitor(running_monitor, "d", ref, clock, provisional={"every": "100s"})
    assert mon.models["m"].config.provisional_looks == 4  # ceil((5m + 1m) / 100 s)
    rng = np.random.default_rng(4)
    for k in range(6):  # six chances to look, 110 s apart, all before the window closes (T0 + 6m)
        if k:
            clock.advance(110)
        post(client, [event(f"{k}-{i}", rng, timestamp=T0 + 10) for i in range(60)])
        assert mon.wait_idle()
    w = mon.models["m"].folder.open[("unversioned", "*", T0)]
    assert (w.looks, w.provisional["look"], w.provisional["looks_planned"]) == (4, 4, 4)
    assert w.n_rows == 360 and w.provisional["n_rows"] == 240
    mon.stop()
    store.close()


def test_a_restart_keeps_the_looks_and_their_gauges(running_monitor, ref):
    clock = Clock()
    mon, store, client = _monitor(running_monitor, "rs", ref, clock)
    rng = np.random.default_rng(5)
    post(client, [event(i, rng, shift=1.0, timestamp=T0 - 250) for i in range(300)])
    assert mon.wait_idle()
    before = gauges(client)
    assert before[drifted_gauge("argus_provisional_feature_drifted", "x0")] == 1.0
    mon.stop()
    store.close()
    mon, store, client = _monitor(running_monitor, "rs", ref, clock)
    assert gauges(client) == before
    w = mon.models["m"].folder.open[("unversioned", "*", T0 - 300)]
    assert (w.looks, w.looked_rows) == (1, 300)  # the spent alpha is remembered
    clock.advance(120)
    assert mon.wait_idle()
    final = client.get("/v1/models/m/windows", params={"segment": "*"}).json()["windows"][0]
    assert final["closed"] and final["n_rows"] == 300 and final["verdict"]["provisional_looks"]["looks"] == 1
    mon.stop()
    store.close()


def test_provisional_settings_are_validated():
    cfg = model_config_from_dict({"model": "m"}, "m.yaml")
    assert (cfg.provisional.enabled, cfg.provisional_min_rows, cfg.provisional.every) == (True, 50, 30.0)
    assert cfg.provisional_looks == 14  # ceil((5m + 2m) / 30 s)
    cfg = model_config_from_dict({"model": "m", "checks": {"drift": {"min_rows": 200}}, "provisional": {"every": "1m"}},
                                 "m.yaml")
    assert (cfg.provisional_min_rows, cfg.provisional_looks) == (200, 7)
    with pytest.raises(ConfigError, match=r"provisional\.every"):
        model_config_from_dict({"model": "m", "provisional": {"every": "0s"}}, "m.yaml")
    with pytest.raises(ConfigError, match="min_rows"):
        model_config_from_dict({"model": "m", "provisional": {"min_row": 10}}, "m.yaml")


@pytest.mark.slow
def test_repeated_looks_at_stable_windows_keep_false_alarms_at_alpha(running_monitor, ref):
    """Stable traffic, looked at as it grows: the windows with any provisional drift are no more than
    alpha of them allow, where looking at full alpha every time (what the per-look p-values say) raises
    several times as many.

    "No more than alpha allows" is a one-sided binomial test of the count: above the 97.5% quantile of
    Binomial(windows, alpha) the rate would be credibly above alpha. Drift is decided here on significance
    alone (every practical threshold 0), so the p-values, not the effect sizes, decide, and the comparison
    measures the alpha spending. The monitor's threads are not started: the test folds and looks itself."""
    alpha = 0.05
    zero = {k: 0 for k in ("ks", "wasserstein_norm", "tail", "psi", "tvd")}
    cfg = ModelConfig(model="sim", window="1m", lateness="0s", provisional={"every": "6s"},
                      checks={"drift": {"alpha": alpha, "thresholds": zero}, "multivariate": {"enabled": False},
                              "ignore": ["x3", "x4", "x5", "cat"]})
    planned = cfg.provisional_looks
    assert planned == 10
    running = running_monitor(data="sim", settings=Settings(), clock=time.time, start=False)
    store, mon = running.store, running.monitor
    state = mon.register(cfg, ref, persist=False)
    vr = state.ref("")
    rng = np.random.default_rng(20240601)
    n_windows, ours, naive = 60, 0, 0
    for k in range(n_windows):
        start = T0 + 60 * k
        raised = unspent = False
        for j in range(planned):
            now = start + 6 * j
            v = state.validation_plan().validate([event(f"{k}-{j}-{i}", rng, timestamp=now) for i in range(50)], now)
            state.folder.fold(v.batch.records, v.batch.columns, now, vr.reference, vr.fingerprint, v.batch.extra,
                              v.batch.dirty)
            assert mon.provisional_pass(now) == 1
            look = state.folder.open[("unversioned", "*", start)].provisional
            assert look["look"] == j + 1 and look["alpha"] == pytest.approx(alpha / planned)
            raised |= look["n_drifted"] > 0
            p = [c["p_adjusted"] for c in look["columns"].values() if c.get("p_adjusted") is not None]
            unspent |= min(p) < alpha
        ours += raised
        naive += unspent
        assert mon.provisional_pass(start + 60) == 0  # the budget is spent
        state.folder.open.clear()
    bound = binom.ppf(0.975, n_windows, alpha)
    assert ours <= bound < naive, (ours, bound, naive)
    store.close()
