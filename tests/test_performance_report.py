"""`argus performance`: drops found when real, quiet on random splits, weakest segments, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

from argusml.checks.performance import PerformanceConfig, performance_report
from argusml.profile.frame import TableSource


def credit(n: int, seed: int, *, weaken: str | None = None, strength: float = 1.5) -> pa.Table:
    """A binary model's scores: informative everywhere, except in region ``weaken`` when given."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    region = rng.choice(["eu", "us", "apac"], n)
    signal = np.where(region == weaken, 0.1, strength) if weaken else strength
    score = 1 / (1 + np.exp(-(rng.normal(size=n) + signal * y - 0.5)))
    return pa.table({"label": y.astype(np.int64), "score": score, "region": region})


def src(t: pa.Table, name: str) -> TableSource:
    return TableSource.from_frame(t, name)


@pytest.mark.parametrize("seed", range(5))
def test_a_random_split_stays_quiet(seed):
    whole = credit(8000, seed)
    idx = np.random.default_rng(100 + seed).permutation(8000)
    ref, cur = whole.take(idx[:4000]), whole.take(idx[4000:])
    rep = performance_report(src(ref, "ref"), src(cur, "cur"), "label", "score", ["region"],
                             PerformanceConfig(resamples=200))
    assert rep["verdict"]["status"] == "ok" and rep["findings"] == []


def test_a_real_drop_and_its_segment_are_found():
    rep = performance_report(src(credit(5000, 1), "ref"), src(credit(5000, 2, weaken="apac"), "cur"), "label",
                             "score", ["region"], PerformanceConfig(resamples=200))
    assert rep["verdict"]["status"] == "degraded"
    drops = {f["evidence"]["metric"] for f in rep["findings"] if f["check"] == "performance_drop"}
    assert "roc_auc" in drops
    weak = [f for f in rep["findings"] if f["check"] == "weak_segment"]
    assert [f["evidence"]["value"] for f in weak] == ["apac"]
    assert rep["segments"][0]["value"] == "apac"  # ranked worst first
    cur = credit(5000, 2, weaken="apac")
    y, s = np.asarray(cur["label"]), np.asarray(cur["score"])
    assert rep["current"]["metrics"]["roc_auc"]["value"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    auc = rep["current"]["metrics"]["roc_auc"]
    assert auc["high"] < rep["reference"]["metrics"]["roc_auc"]["value"] * 0.95  # the rule, in numbers


def test_few_labels_are_insufficient_data_never_a_drop():
    rep = performance_report(src(credit(5000, 1), "ref"), src(credit(60, 2, strength=0.0), "cur"), "label",
                             "score", None, PerformanceConfig(resamples=100))
    assert rep["verdict"]["status"] == "insufficient_data"
    assert not [f for f in rep["findings"] if f["check"] == "performance_drop"]


def test_regression_and_multiclass_tasks():
    rng = np.random.default_rng(5)
    y = rng.gamma(2, 10, 3000)
    ref = pa.table({"y": y, "yhat": y + rng.normal(0, 2, 3000)})
    y2 = rng.gamma(2, 10, 3000)
    cur = pa.table({"y": y2, "yhat": y2 + rng.normal(0, 6, 3000)})  # three times the error
    rep = performance_report(src(ref, "r"), src(cur, "c"), "y", "yhat", None, PerformanceConfig(resamples=100))
    assert rep["task"] == "regression" and rep["verdict"]["status"] == "degraded"
    assert rep["current"]["metrics"]["mae"]["value"] == pytest.approx(
        skm.mean_absolute_error(y2, np.asarray(cur["yhat"])), abs=1e-12)
    labels = np.array(["cat", "dog", "fish"])
    t = labels[rng.integers(0, 3, 2000)]
    p = np.where(rng.random(2000) < 0.8, t, labels[rng.integers(0, 3, 2000)])
    mc = pa.table({"t": t, "p": p})
    rep = performance_report(src(mc, "r"), src(mc, "c"), "t", "p", None, PerformanceConfig(resamples=50))
    assert rep["task"] == "multiclass" and rep["verdict"]["status"] == "ok"
    assert rep["current"]["metrics"]["f1_macro"]["value"] == pytest.approx(skm.f1_score(t, p, average="macro"),
                                                                            abs=1e-12)
    assert "log_loss" not in rep["current"]["metrics"]  # labels carry no probabilities


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argusml.cli.main", "performance", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_json_html_and_errors(tmp_path):
    pq.write_table(credit(3000, 1), tmp_path / "ref.parquet")
    pacsv.write_csv(credit(3000, 2, weaken="apac"), tmp_path / "cur.csv")
    base = ["-r", str(tmp_path / "ref.parquet"), "-c", str(tmp_path / "cur.csv"), "--target", "label",
            "--prediction", "score", "--segment", "region"]
    r = run_cli(*base, "-o", "-")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["kind"] == "performance" and rep["schema_version"] == 1 and rep["verdict"]["status"] == "degraded"
    r = run_cli(*base, "-f", "html", "-o", str(tmp_path / "p.html"))
    assert r.returncode == 0 and "degraded" in r.stdout
    html = (tmp_path / "p.html").read_text()
    assert '<p class="status" id="verdict">degraded</p>' in html and "apac" in html and "<script" not in html
    r = run_cli(*base[:-6], "--target", "nope", "--prediction", "score")
    assert r.returncode == 2 and "target column 'nope' not found" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("-r", str(tmp_path / "missing.csv"), "-c", str(tmp_path / "cur.csv"), "--target", "label",
                "--prediction", "score")
    assert r.returncode == 2 and "reference file not found" in r.stderr
    r = run_cli(*base, "--threshold", "2")
    assert r.returncode == 2 and "--threshold" in r.stderr


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_segment_tests_equal_scipy_on_the_rows(task):
    """The per-value sums behind weak_segments give scipy's Welch t test and the pooled z test exactly."""
    from scipy import stats as sps

    from argusml.checks.performance import weak_segments
    from argusml.profile.labelled import Labelled

    rng = np.random.default_rng(11)
    n = 3000
    seg = rng.choice(np.array(["n", "s", "e", "w", None], dtype=object), n)
    if task == "regression":
        y = rng.normal(size=n)
        lab = Labelled("regression", y, y + rng.normal(size=n) * np.where(seg == "s", 2.0, 1.0))
        err = np.abs(lab.score - lab.y)
    else:
        y = rng.integers(0, 2, n)
        lab = Labelled("binary", y, np.where(seg == "e", rng.random(n), np.clip(y * 0.6 + rng.random(n) * 0.4, 0, 1)))
        err = ((lab.score >= 0.5).astype(int) != y).astype(float)
    cfg = PerformanceConfig()
    rows = weak_segments(lab, {"region": seg}, cfg)
    assert {r["value"] for r in rows} == {"n", "s", "e", "w"}
    for r in rows:
        inside = seg == r["value"]
        a, b = err[inside], err[~inside]
        if task == "regression":
            expected = sps.ttest_ind(a, b, equal_var=False).pvalue
        else:
            pooled = err.mean()
            z = (a.mean() - b.mean()) / np.sqrt(pooled * (1 - pooled) * (1 / a.size + 1 / b.size))
            expected = 2 * sps.norm.sf(abs(z))
        assert r["p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
        assert (r["n"], r["error"]) == (a.size, pytest.approx(a.mean(), rel=1e-12))
    worst = rows[0]["value"]
    assert worst == ("s" if task == "regression" else "e") and rows[0]["significant"]
