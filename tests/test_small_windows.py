"""Small windows must not page, and one problem is one finding.

A rate on a handful of rows is an anecdote: the rate checks need
``quality.min_rows`` rows and otherwise say ``insufficient_data`` (as drift
does below ``drift.min_rows``), while contracts (declared bounds) still hold
at any size. A segment's or roll-up's finding that repeats its parent's is
linked to it rather than counted again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import argusml
from argusml.checks.quality import RATE_CHECKS
from argusml.schema import ReportConfig
from argusml.schema.model_config import ModelConfig
from service_util import N_FEATURES, event, make_reference, monitor_in_process

pytestmark = pytest.mark.service

T0 = 1_800_000_000.0


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "score": rng.random(n),
                         "cat": rng.choice(["a", "b", "c"], n)})


REF = argusml.Reference.from_frame(_frame(5000, 1), prediction="score")


def _checks(report: argusml.Report) -> set[tuple[str, str | None]]:
    return {(f.check, f.column) for f in report.findings}


def test_one_null_row_is_insufficient_data_not_a_p0() -> None:
    cur = _frame(1, 2).assign(x=np.nan)
    rep = argusml.report(REF, cur)
    assert rep.findings == []
    assert rep.verdict["quality_insufficient"] == {"rows": 1, "min_rows": 50, "checks": list(RATE_CHECKS)}
    assert rep.verdict["status"] == "ok"


def test_four_equal_scores_in_twenty_rows_are_not_a_sentinel() -> None:
    cur = _frame(20, 3)
    cur.loc[:3, "score"] = 0.999653
    assert _checks(argusml.report(REF, cur)) == set()
    # the same share over enough rows is one
    big = _frame(400, 3)
    big.loc[:79, "score"] = 0.999653
    assert ("sentinel_value", "score") in _checks(argusml.report(REF, big))


@pytest.mark.parametrize("n,expected", [(49, set()), (50, {("all_null", "x")})])
def test_all_null_needs_min_rows(n: int, expected: set[tuple[str, str | None]]) -> None:
    rep = argusml.report(REF, _frame(n, 4).assign(x=np.nan))
    assert _checks(rep) == expected
    assert (rep.verdict["quality_insufficient"] is None) == (n >= 50)
    if expected:
        assert rep.findings[0].severity.value == "P0"


def test_min_rows_is_a_setting() -> None:
    cfg = ReportConfig(quality={"min_rows": 5})
    rep = argusml.report(REF, _frame(6, 5).assign(x=np.nan), config=cfg)
    assert _checks(rep) == {("all_null", "x")}


def test_contracts_hold_at_any_size() -> None:
    """A declared bound is broken by one value; a missing column by its absence."""
    cfg = ReportConfig(columns={"x": {"min": -10}})
    cur = _frame(3, 6)
    cur.loc[0, "x"] = -50.0
    rep = argusml.report(REF, cur.drop(columns=["cat"]), config=cfg)
    assert _checks(rep) == {("declared_bound", "x"), ("missing_column", "cat")}


# -- the service: stray events, one drift episode ---------------------------------------------------------
@pytest.fixture
def svc(tmp_path):
    with monitor_in_process(tmp_path, ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"]),
                            make_reference()) as served:
        yield served


def test_six_stray_events_raise_no_finding(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(0)
    day = T0 + 300  # T0 is a window boundary
    for k in range(6):  # one event with every feature null in each of six windows
        ev = event(f"s{k}", rng, timestamp=day + 300 * k + 10)
        ev["features"] = {f"x{j}": None for j in range(N_FEATURES)} | {"cat": None}
        clock.t = day + 300 * k + 11
        assert client.post("/v1/models/m/events", json=[ev]).status_code == 200
    clock.t = day + 300 * 6 + 120
    assert mon.wait_idle()
    wins = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m"}).json()["windows"]
    assert len(wins) == 6
    assert all(w["verdict"]["quality_insufficient"]["rows"] == 1 for w in wins)
    assert client.get("/v1/models/m/findings", params={"linked": True}).json()["findings"] == []


def test_stray_windows_neither_page_nor_close_the_findings_before_them(svc):
    """A real problem (x0 null in a full window), then stray events: /status keeps the problem open, and
    the advice names it rather than saying there is nothing to do."""
    mon, client, clock = svc
    rng = np.random.default_rng(3)
    t = T0 + 300
    full = [event(f"f{i}", rng, timestamp=t + 5) for i in range(200)]
    for e in full:
        e["features"]["x0"] = None
    clock.t = t + 6
    assert client.post("/v1/models/m/events", json=full).status_code == 200
    for k in range(1, 4):
        clock.t = t + 300 * k + 11
        assert client.post("/v1/models/m/events", json=[event(f"s{k}", rng, timestamp=t + 300 * k + 10)]
                           ).status_code == 200
    clock.t = t + 300 * 4 + 120
    assert mon.wait_idle()
    status = client.get("/v1/models/m/status").json()
    assert status["latest_windows"][0]["n_rows"] == 1  # the newest window is a stray one
    assert [(f["severity"], f["check"], f["column"]) for f in status["open_findings"]
            if f["severity"] != "P2"] == [("P0", "all_null", "x0")]
    advice = client.get("/v1/models/m/advice").json()
    assert advice["decision"] == "fix_data" and "P0 all_null on x0" in advice["summary"]  # broken data: fix it


def test_a_drift_episode_is_one_finding_per_window_with_its_repeats_linked(svc):
    mon, client, clock = svc
    rng = np.random.default_rng(1)
    hour = (T0 // 3600 + 1) * 3600
    for k in range(12):
        t = hour + 300 * k + 5
        clock.t = t + 1
        r = client.post("/v1/models/m/events", json=[event(f"{k}-{i}", rng, shift=1.5, timestamp=t)
                                                       for i in range(400)])
        assert r.status_code == 200
    clock.t = hour + 3600 + 120
    assert mon.wait_idle()
    assert mon.wait_idle()
    get = client.get
    roots = get("/v1/models/m/findings", params={"limit": 10_000}).json()["findings"]
    every = get("/v1/models/m/findings", params={"limit": 10_000, "linked": True}).json()["findings"]
    drift_roots = [f for f in roots if f["check"] == "drift" and f["column"] == "x0"]
    # the twelve 5-minute windows each found it; the hour and every segment repeat them
    assert sorted(f["window_start"] for f in drift_roots) == sorted(
        f["window_start"] for f in every if f["check"] == "drift" and f["column"] == "x0"
        and f["segment"] == "*" and f["granularity"] == 300.0)
    assert all(f["segment"] == "*" and f["granularity"] == 300.0 and f["repeats"] is None for f in drift_roots)
    repeats = [f for f in every if f["repeats"] is not None]
    assert repeats, "segment and roll-up findings exist and are linked"
    for f in repeats:
        p = f["repeats"]
        parent = [g for g in every if g["check"] == f["check"] and g["column"] == f["column"]
                  and g["version"] == f["version"] and g["segment"] == p["segment"]
                  and g["granularity"] == p["granularity"] and g["window_start"] == p["window_start"]]
        assert len(parent) == 1 and parent[0]["repeats"] is None  # a root, in one step
        assert parent[0]["window_start"] <= f["window_start"] or f["granularity"] > parent[0]["granularity"]
    hour_x0 = [f for f in every if f["check"] == "drift" and f["column"] == "x0" and f["granularity"] == 3600.0
               and f["segment"] == "*"]
    assert len(hour_x0) == 1 and hour_x0[0]["repeats"]["granularity"] == 300.0
    # nothing is lost: every repeat is counted in its root
    assert sum(f["repeated"] for f in roots) == len(repeats)
    assert len(roots) + len(repeats) == len(every)
