"""The drift decision: identical data never drifts, planted shifts are found
and named, small samples are honest, and huge samples need a real effect."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import argusml
from argusml import ReportConfig


def _frame(n: int, seed: int, shift: float = 0.0, new_cat: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cat = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    if new_cat:
        cat[rng.random(n) < new_cat] = "zzz"
    return pd.DataFrame({
        "x": rng.normal(shift, 1.0, n),
        "y": rng.gamma(2.0, 2.0, n),
        "k": rng.poisson(3.0, n),
        "cat": cat,
        "flag": rng.random(n) < 0.2,
    })


def _status(rep: argusml.Report) -> dict[str, str]:
    return {n: c["drift"]["status"] for n, c in rep.to_dict()["columns"].items()}


@pytest.mark.parametrize("n", [60, 1500, 40_000])
def test_identical_data_never_drifts(n: int) -> None:
    df = _frame(n, 0)
    rep = argusml.report(df, df)
    assert rep.drifted_columns == []
    assert not [f for f in rep.findings if "drift" in f.check]
    assert rep.verdict["status"] == "ok"
    for c in rep.to_dict()["columns"].values():
        scores = c["drift"]["scores"]
        if c["drift"]["test"]:
            assert scores.get("ks", scores.get("tvd")) == 0
            assert c["drift"]["test"]["p_value"] == pytest.approx(1.0)


def test_planted_shift_found_and_named() -> None:
    rep = argusml.report(_frame(20_000, 0), _frame(20_000, 1, shift=0.3, new_cat=0.06))
    assert set(rep.drifted_columns) == {"x", "cat"}
    msgs = {f.column: f for f in rep.findings if f.check == "drift"}
    assert "'x' drifted" in msgs["x"].message and re.search(r"mean \+0\.[23]\d sd", msgs["x"].message)
    assert msgs["cat"].severity.value == "P1"
    new = [f for f in rep.findings if f.check == "new_categories"]
    assert new and "'zzz'" in new[0].message


def test_small_exact_samples_use_scipy_ks_and_wasserstein() -> None:
    ref, cur = _frame(800, 0), _frame(900, 1, shift=0.25)
    rep = argusml.report(ref, cur)
    d = rep.to_dict()["columns"]["x"]["drift"]
    assert d["test"]["exact"] is True
    want = sps.ks_2samp(ref["x"], cur["x"])
    assert d["scores"]["ks"] == pytest.approx(want.statistic, abs=1e-12)
    assert d["evidence"]["p_ks"] == pytest.approx(want.pvalue, rel=1e-9)
    w = sps.wasserstein_distance(ref["x"], cur["x"])
    assert d["scores"]["wasserstein"] == pytest.approx(w, rel=1e-9)
    assert d["scores"]["wasserstein_norm"] == pytest.approx(w / ref["x"].std(ddof=1), rel=1e-9)


def test_below_min_rows_is_insufficient_data_never_drift() -> None:
    rep = argusml.report(_frame(5000, 0), _frame(8, 1, shift=5.0))
    st = _status(rep)
    assert st["x"] == "insufficient_data" and rep.drifted_columns == []
    assert "fewer than the minimum of 50" in rep.to_dict()["columns"]["x"]["drift"]["reason"]


def test_tiny_significant_shift_is_not_drift_at_large_n() -> None:
    """At 400k rows a 0.02 sd shift is significant, but below every practical threshold."""
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 400_000)})
    cur = pd.DataFrame({"x": rng.normal(0.02, 1, 400_000)})
    rep = argusml.report(ref, cur)
    d = rep.to_dict()["columns"]["x"]["drift"]
    assert d["test"]["p_adjusted"] < 1e-6
    assert d["status"] == "stable" and not d["drifted"]
    assert d["reason"].startswith("statistically significant but smaller")
    assert d["effect"]["passed"] is False


def test_large_effect_on_noise_is_not_drift_at_small_n() -> None:
    """Two draws of 60 rows can differ by a KS distance above 0.025 by chance: no drift."""
    rep = argusml.report(_frame(60, 0), _frame(60, 1))
    d = rep.to_dict()["columns"]["x"]["drift"]
    assert d["effect"]["passed"] is True and d["status"] == "stable"


def test_upper_tail_change_only_is_drift() -> None:
    """A change confined to the top 5% of a column is drift (the tail measure)."""
    rng = np.random.default_rng(1)
    z_ref, z_cur = rng.standard_normal(200_000), rng.standard_normal(200_000)
    q = 1.6448536269514722
    z_cur = np.where(z_cur > q, q + 1.5 * (z_cur - q), z_cur)
    rep = argusml.report(pd.DataFrame({"v": np.exp(z_ref)}), pd.DataFrame({"v": np.exp(z_cur)}))
    d = rep.to_dict()["columns"]["v"]["drift"]
    assert d["status"] == "drifted"
    assert d["effect"]["method"] == "tail"
    assert d["scores"]["ks"] < 0.025  # KS alone would not call it


def test_sentinel_values_are_drift_and_a_finding() -> None:
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"age": rng.integers(18, 91, 50_000)})
    age = rng.integers(18, 91, 50_000)
    age[rng.random(50_000) < 0.03] = -999
    rep = argusml.report(ref, pd.DataFrame({"age": age}))
    assert rep.drifted_columns == ["age"]
    checks = {f.check for f in rep.findings}
    assert {"sentinel_value", "out_of_range", "drift"} <= checks


def test_holm_correction_over_columns() -> None:
    ref, cur = _frame(3000, 0), _frame(3000, 1, shift=0.15)
    rep = argusml.report(ref, cur)
    cols = rep.to_dict()["columns"]
    raw = {n: c["drift"]["test"]["p_value"] for n, c in cols.items() if c["drift"]["test"]}
    adj = {n: c["drift"]["test"]["p_adjusted"] for n, c in cols.items() if c["drift"]["test"]}
    m = len(raw)
    smallest = min(raw, key=raw.get)
    assert adj[smallest] == pytest.approx(min(1.0, raw[smallest] * m))
    assert all(adj[n] >= raw[n] for n in raw)


def test_datetime_and_id_columns_are_not_drift_tested() -> None:
    n = 3000
    ref = pd.DataFrame({"when": pd.date_range("2025-01-01", periods=n, freq="h"), "uid": [f"u{i}" for i in range(n)],
                        "x": np.arange(n) % 7})
    cur = pd.DataFrame({"when": pd.date_range("2026-01-01", periods=n, freq="h"),
                        "uid": [f"v{i}" for i in range(n)], "x": np.arange(n) % 7})
    r = argusml.Reference.from_frame(ref, id="uid")
    rep = argusml.report(r, cur)
    st = _status(rep)
    assert st["when"] == "not_tested" and st["uid"] == "not_tested"
    assert not rep.has_blocking()


def test_thresholds_are_configurable_per_column() -> None:
    ref, cur = _frame(20_000, 0), _frame(20_000, 1, shift=0.3)
    cfg = ReportConfig(columns={"x": {"thresholds": {"ks": 0.5, "wasserstein_norm": 5, "tail": 50, "psi": 5}}})
    rep = argusml.report(ref, cur, config=cfg)
    assert "x" not in rep.drifted_columns
    assert rep.to_dict()["columns"]["x"]["drift"]["effect"]["threshold"] in (0.5, 5, 50)


def test_prediction_and_target_drift_are_reported_separately() -> None:
    ref, cur = _frame(20_000, 0), _frame(20_000, 1, shift=0.4)
    ref["score"], cur["score"] = ref["x"], cur["x"]
    ref["label"], cur["label"] = ref["flag"], ~cur["flag"]
    rep = argusml.report(ref, cur, prediction="score", target="label")
    checks = {f.column: f.check for f in rep.findings if "drift" in f.check}
    assert checks["score"] == "prediction_drift" and checks["label"] == "target_drift"
    assert rep.verdict["prediction_drift"] and rep.verdict["target_drift"]


def test_results_are_deterministic() -> None:
    ref, cur = _frame(30_000, 0), _frame(30_000, 1, shift=0.05)
    a = argusml.report(ref, cur).to_dict()
    b = argusml.report(ref, cur).to_dict()
    for d in (a, b):
        d.pop("generated_at"), d.pop("elapsed_s")
        d["reference"].pop("created_at")
    assert a == b


def test_correlation_break_with_same_marginals() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    x = rng.normal(size=n)
    ref = pd.DataFrame({"a": x, "b": 0.8 * x + 0.6 * rng.normal(size=n)})
    x2 = rng.normal(size=n)
    cur = pd.DataFrame({"a": x2, "b": rng.normal(size=n)})
    rep = argusml.report(ref, cur)
    assert rep.drifted_columns == []
    corr = [f for f in rep.findings if f.check == "correlation_change"]
    assert corr and "a~b" in corr[0].message
    assert rep.to_dict()["correlations"]["changed"][0]["reference"] == pytest.approx(0.8, abs=0.02)


def test_one_extreme_row_does_not_make_a_correlation_change() -> None:
    """A recording error (a wind speed of 1,048 among values below 40) decides raw Pearson r in whichever
    half holds it; correlations of normal scores under the reference do not move."""
    rng = np.random.default_rng(3)
    n = 20_000
    direction = rng.uniform(0, 360, n)
    speed = np.abs(rng.normal(10, 5, n) + 0.02 * (direction - 180))
    speed[17] = 1048.0
    df = pd.DataFrame({"direction": direction, "speed": speed})
    clean = df.drop(index=17)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(n)
        ref, cur = df.iloc[order[: n // 2]], df.iloc[order[n // 2:]]
        rep = argusml.report(ref, cur)
        corr = rep.to_dict()["correlations"]
        assert corr["method"] == "normal_scores" and not corr["changed"], corr
        r = corr["pairs"][0]["reference"]
        assert r == pytest.approx(sps.spearmanr(clean["direction"], clean["speed"])[0], abs=0.05)
        raw_ref, raw_cur = ref.corr().iloc[0, 1], cur.corr().iloc[0, 1]
        assert abs(raw_ref - raw_cur) > 0.1  # what raw Pearson would have flagged


def test_a_baseline_without_normal_scores_keeps_pearson(tmp_path) -> None:
    """Baselines written before normal scores carry raw co-moments: they stay Pearson, and still merge."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=5000)
    df = pd.DataFrame({"a": x, "b": 0.5 * x + rng.normal(size=5000)})
    ref = argusml.Reference.from_frame(df)
    d = ref.to_dict()
    assert "normal_scores" in d["correlation"]
    d["correlation"].pop("normal_scores")
    old = argusml.Reference.from_dict(d)
    corr = argusml.report(old, df).to_dict()["correlations"]
    assert corr["method"] == "pearson" and corr["pairs"][0]["current"] == pytest.approx(df.corr().iloc[0, 1], abs=1e-9)


def test_future_timestamps_are_a_finding_past_dates_are_not() -> None:
    n = 500
    ref = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=n, freq="h"), "x": np.arange(n) % 5})
    later = pd.DataFrame({"when": pd.date_range("2025-06-01", periods=n, freq="h"), "x": np.arange(n) % 5})
    assert not [f for f in argusml.report(ref, later).findings if f.check == "future_timestamps"]
    future = later.copy()
    future.loc[:49, "when"] = pd.Timestamp("2099-01-01")
    found = [f for f in argusml.report(ref, future).findings if f.check == "future_timestamps"]
    assert found and "2099-01-01" in found[0].message and found[0].severity.value == "P2"
