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

from argusml.checks.performance import PerformanceConfig
from argusml.profile.frame import TableSource
from argusml.reports.performance import performance_report


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
    assert [r["status"] for r in rep["by_segment"]] == ["ok"] * 3  # each judged against its own reference rows


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


@pytest.mark.slow
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


# -- every segment: its metrics, its own baseline, its verdict ------------------------------------------------------

def by_segment(rep: dict) -> dict[str, dict]:
    return {f"{r['column']}={r['value']}": r for r in rep["by_segment"]}


def test_every_segment_carries_its_metrics_equal_to_scikit_learn_on_its_rows_on_both_sides():
    ref_t, cur_t = credit(6000, 1), credit(6000, 2)
    rep = performance_report(src(ref_t, "ref"), src(cur_t, "cur"), "label", "score", ["region"],
                             PerformanceConfig(resamples=200))
    rows = by_segment(rep)
    assert set(rows) == {"region=eu", "region=us", "region=apac"}
    for side, table in (("reference", ref_t), ("current", cur_t)):
        y, s = np.asarray(table["label"]), np.asarray(table["score"])
        region = np.asarray(table["region"])
        for value in ("eu", "us", "apac"):
            inside = region == value
            row = rows[f"region={value}"]
            m = row[side]["metrics"]
            assert row[side]["labelled"] == inside.sum()
            assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y[inside], s[inside] >= 0.5), abs=1e-12)
            assert m["roc_auc"]["value"] == pytest.approx(skm.roc_auc_score(y[inside], s[inside]), abs=1e-12)
            assert m["f1"]["value"] == pytest.approx(skm.f1_score(y[inside], s[inside] >= 0.5), abs=1e-12)
            for name in ("accuracy", "roc_auc", "f1", "log_loss", "brier", "pr_auc"):
                assert m[name]["low"] < m[name]["value"] < m[name]["high"], (side, value, name)
                assert m[name]["n"] > 0
            # the segment's baseline is its own rows of the reference, and its drop is measured against them
            assert row["baseline"] == "segment" and row["baseline_labels"] == rows[f"region={value}"]["reference"][
                "labelled"]
    # the same metric set as the whole data's
    assert set(rows["region=eu"]["current"]["metrics"]) == set(rep["current"]["metrics"])


def test_every_segment_of_a_regression_and_a_multiclass_model():
    rng = np.random.default_rng(8)
    n = 3000
    y = rng.gamma(2, 10, n)
    shop = rng.choice(["north", "south"], n)
    pred = y + rng.normal(0, 2, n) * np.where(shop == "south", 2.0, 1.0)
    t = pa.table({"y": y, "yhat": pred, "shop": shop})
    rep = performance_report(src(t, "r"), src(t, "c"), "y", "yhat", ["shop"], PerformanceConfig(resamples=100))
    rows = by_segment(rep)
    for value in ("north", "south"):
        inside = shop == value
        m = rows[f"shop={value}"]["current"]["metrics"]
        assert m["mae"]["value"] == pytest.approx(skm.mean_absolute_error(y[inside], pred[inside]), abs=1e-12)
        assert m["rmse"]["value"] == pytest.approx(np.sqrt(skm.mean_squared_error(y[inside], pred[inside])),
                                                   abs=1e-12)
        assert m["r2"]["value"] == pytest.approx(skm.r2_score(y[inside], pred[inside]), abs=1e-12)
        assert m["mae"]["low"] < m["mae"]["value"] < m["mae"]["high"]
        assert rows[f"shop={value}"]["status"] == "ok"  # the same data on both sides
    labels = np.array(["cat", "dog", "fish"])
    truth = labels[rng.integers(0, 3, n)]
    guess = np.where(rng.random(n) < 0.8, truth, labels[rng.integers(0, 3, n)])
    mc = pa.table({"t": truth, "p": guess, "shop": shop})
    rep = performance_report(src(mc, "r"), src(mc, "c"), "t", "p", ["shop"], PerformanceConfig(resamples=50))
    for value in ("north", "south"):
        inside = shop == value
        m = by_segment(rep)[f"shop={value}"]["current"]["metrics"]
        assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(truth[inside], guess[inside]), abs=1e-12)
        assert m["f1_macro"]["value"] == pytest.approx(
            skm.f1_score(truth[inside], guess[inside], average="macro"), abs=1e-12)


def flip(t: pa.Table, column: str, value: str, share: float = 0.6, seed: int = 0) -> pa.Table:
    """The current data with ``share`` of the labels of one segment flipped: the model is that much wrong
    there, and nowhere else."""
    rng = np.random.default_rng(seed)
    y = np.asarray(t["label"]).copy()
    hit = (np.asarray(t[column]) == value) & (rng.random(len(y)) < share)
    y[hit] = 1 - y[hit]
    return t.set_column(t.schema.get_field_index("label"), "label", pa.array(y))


def test_a_planted_degradation_in_one_segment_is_that_segment_degraded_and_the_others_ok():
    cur = flip(credit(6000, 2), "region", "us")
    rep = performance_report(src(credit(6000, 1), "ref"), src(cur, "cur"), "label", "score", ["region"],
                             PerformanceConfig(resamples=200))
    rows = by_segment(rep)
    assert rows["region=us"]["status"] == "degraded"
    assert rows["region=eu"]["status"] == rows["region=apac"]["status"] == "ok"
    assert rep["by_segment"][0]["value"] == "us" and rep["by_segment"][0]["rank"] == 1
    worse = [d for d in rows["region=us"]["drops"] if d["worse"]]
    assert {d["metric"] for d in worse} >= {"accuracy"} and all(d["p_adjusted"] < 0.025 for d in worse)
    # the segment's finding names it, and is not the whole data's
    seg = [f for f in rep["findings"] if f["check"] == "performance_drop" and f["column"] == "region"]
    assert len(seg) == 1 and seg[0]["message"].startswith("region=us: ")
    assert seg[0]["evidence"]["segment"] == "region=us" and seg[0]["evidence"]["baseline_source"] == "segment"
    acc = rows["region=us"]["reference"]["metrics"][seg[0]["evidence"]["metric"]]["value"]
    assert seg[0]["evidence"]["baseline"]["value"] == acc  # against its own reference rows, not the whole
    whole = [f for f in rep["findings"] if f["check"] == "performance_drop" and f["column"] is None]
    assert all(f["message"] != seg[0]["message"] for f in whole)
    assert rep["verdict"]["status"] == "degraded"


def test_ranking_is_status_then_relative_drop_then_gap():
    from argusml.checks.performance import SegmentCase, judge_segments
    from argusml.stats.performance import Estimate

    cfg = PerformanceConfig(watched=("accuracy",))

    def case(value: str, base: float, cur: float, labels: int = 4000, gap: float | None = None,
             new: bool = False) -> SegmentCase:
        half = 0.01
        g = None if gap is None else {"error": 0.3, "error_rest": 0.3 - gap, "gap": gap, "p_value": 0.5,
                                      "p_adjusted": 0.5, "significant": False}
        return SegmentCase("c", value, labels, {"accuracy": Estimate(cur, cur - half, cur + half, labels, "wilson")},
                           {"accuracy": Estimate(base, base - 0.005, base + 0.005, 20000, "wilson")},
                           "reference" if new else "segment", 20000, new=new, gap=g)

    verdicts = judge_segments([
        case("ok-small-drop", 0.80, 0.79, gap=0.01), case("ok-smaller-gap", 0.80, 0.79, gap=-0.02),
        case("degraded-a-little", 0.80, 0.70), case("degraded-a-lot", 0.80, 0.50),
        case("improved", 0.80, 0.85), case("new", 0.80, 0.80, new=True), case("few", 0.80, 0.30, labels=40),
    ], "binary", cfg)
    assert [v.case.value for v in verdicts] == ["degraded-a-lot", "degraded-a-little", "new", "ok-small-drop",
                                                "ok-smaller-gap", "improved", "few"]
    assert [v.row["status"] for v in verdicts] == ["degraded", "degraded", "new", "ok", "ok", "ok",
                                                   "insufficient_data"]
    assert [v.row["rank"] for v in verdicts] == list(range(1, 8))
    assert verdicts[0].row["drop"] == pytest.approx(0.3 / 0.8)
    # too few labels: its drop is shown for the ranking but never tested
    few = verdicts[-1].row
    assert few["drops"][0]["p_value"] is None and not few["drops"][0]["worse"] and not verdicts[-1].findings


def test_drop_tests_are_holm_adjusted_across_segments_and_metrics():
    """One segment just beyond the limit is degraded on its own; beside nine unchanged segments, Holm
    over the ten tests keeps it ok. With one test, the rule is compare()'s: the whole interval beyond."""
    from argusml.checks.performance import SegmentCase, drop_test, judge_segments
    from argusml.stats.performance import Estimate

    cfg = PerformanceConfig(watched=("accuracy",))
    exact = {"accuracy": Estimate(0.80, 0.80, 0.80, 10**9, "wilson")}  # a baseline known exactly
    limit = 0.80 * 0.95
    z = 1.959963984540054
    # current value below the limit by 2.3 standard errors: one-sided p about 0.011
    se = 0.01
    borderline = Estimate(limit - 2.3 * se, limit - 2.3 * se - z * se, limit - 2.3 * se + z * se, 500, "wilson")

    def seg(value: str, est: Estimate) -> SegmentCase:
        return SegmentCase("c", value, 500, {"accuracy": est}, exact, "segment", 10**9)

    alone = judge_segments([seg("x", borderline)], "binary", cfg)
    assert alone[0].row["status"] == "degraded"
    assert alone[0].row["drops"][0]["p_adjusted"] == pytest.approx(0.0107, abs=2e-4)
    calm = Estimate(0.80, 0.78, 0.82, 500, "wilson")
    crowd = judge_segments([seg("x", borderline), *(seg(f"y{i}", calm) for i in range(9))], "binary", cfg)
    x = next(v for v in crowd if v.case.value == "x")
    assert x.row["status"] == "ok" and x.row["drops"][0]["p_value"] < 0.025 < x.row["drops"][0]["p_adjusted"]
    assert not x.findings
    # with an exact baseline, p < 0.025 exactly when the whole interval lies beyond the limit (compare()'s rule)
    for shift in np.linspace(-0.05, 0.05, 41):
        cur = Estimate(0.70 + shift, 0.70 + shift - 0.03, 0.70 + shift + 0.02, 500, "wilson")
        t = drop_test(cur, exact["accuracy"], "accuracy", 0.05)
        assert t is not None and (t["p_value"] < 0.025) == (cur.high < limit), shift
    lower = drop_test(Estimate(1.3, 1.2, 1.4, 500, "normal"), Estimate(1.0, 1.0, 1.0, 10**9, "normal"), "mae", 0.05)
    assert lower is not None and lower["limit"] == pytest.approx(1.05) and lower["p_value"] < 0.025
    assert lower["relative_drop"] == pytest.approx(0.3)


def test_a_small_reference_segment_adds_its_own_uncertainty():
    """A reference segment of 60 rows that happened to score high: the point rule would call the current
    segment degraded; with the reference's own interval in the test, it is not credible."""
    from argusml.checks.performance import drop_test
    from argusml.stats.performance import Estimate

    lucky = Estimate(0.90, 0.82, 0.95, 60, "wilson")
    cur = Estimate(0.80, 0.78, 0.82, 2000, "wilson")
    assert cur.high < 0.90 * 0.95  # compare()'s rule, the reference taken as exact, would flag it
    t = drop_test(cur, lucky, "accuracy", 0.05)
    assert t is not None and t["p_value"] > 0.05
    exact = drop_test(cur, Estimate(0.90, 0.90, 0.90, 10**9, "wilson"), "accuracy", 0.05)
    assert exact is not None and exact["p_value"] < 0.025


def test_a_small_segment_is_insufficient_data_and_a_new_value_is_new():
    ref = credit(6000, 1)
    cur = credit(6000, 2)
    region = np.asarray(cur["region"]).astype(object)
    region[:30] = "antarctica"  # 30 rows: below the minimum support
    region[30:430] = "mars"  # 400 rows of a value the reference never had
    cur = cur.set_column(cur.schema.get_field_index("region"), "region", pa.array(region.astype(str)))
    rep = performance_report(src(ref, "ref"), src(cur, "cur"), "label", "score", ["region"],
                             PerformanceConfig(resamples=200))
    rows = by_segment(rep)
    small = rows["region=antarctica"]
    assert small["status"] == "insufficient_data" and small["labels"] == 30
    assert small["current"]["metrics"] is None and small["drops"] == []
    new = rows["region=mars"]
    assert new["status"] == "new" and new["new"] and new["reference_labels"] == 0
    assert new["baseline"] == "reference" and new["baseline_labels"] == 6000
    assert "absent from the reference" in new["baseline_note"]
    assert new["reference"]["metrics"] is None
    y, s = np.asarray(cur["label"])[30:430], np.asarray(cur["score"])[30:430]
    assert new["current"]["metrics"]["roc_auc"]["value"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    # judged against the whole reference's value
    auc = next(d for d in new["drops"] if d["metric"] == "roc_auc")
    assert auc["baseline"] == rep["reference"]["metrics"]["roc_auc"]["value"]
    assert [r["status"] for r in rep["by_segment"]] == ["new", "ok", "ok", "ok", "insufficient_data"]
    assert not [f for f in rep["findings"] if f["check"] == "performance_drop"]
    # a new value far worse than the whole reference stays new, and is a finding that says what it was judged on
    rep = performance_report(src(ref, "ref"), src(flip(cur, "region", "mars"), "cur"), "label", "score", ["region"],
                             PerformanceConfig(resamples=200))
    assert by_segment(rep)["region=mars"]["status"] == "new"
    drop = [f for f in rep["findings"] if f["check"] == "performance_drop"]
    assert len(drop) == 1 and drop[0]["evidence"]["segment"] == "region=mars" and drop[0]["evidence"]["new"]
    assert drop[0]["evidence"]["baseline_source"] == "reference" and "absent from the reference" in drop[0]["message"]


def test_the_html_has_a_row_per_segment_worst_first(tmp_path):
    cur = flip(credit(6000, 2), "region", "apac")
    rep = performance_report(src(credit(6000, 1), "ref"), src(cur, "cur"), "label", "score", ["region"],
                             PerformanceConfig(resamples=100))
    from argusml.reports.performance import to_html

    html = to_html(rep)
    table = html[html.index('<table id="segments">'):]
    table = table[:table.index("</table>")]
    rows = table.split("<tr")[2:]  # past the header
    assert len(rows) == len(rep["by_segment"]) == 3
    assert "region=apac" in rows[0] and "degraded" in rows[0] and rows[0].startswith(' class="bad"')
    assert all("ok" in r for r in rows[1:])
    acc = rep["by_segment"][0]["current"]["metrics"]["accuracy"]
    assert f"{acc['value']:.4g} [{acc['low']:.4g} – {acc['high']:.4g}]" in rows[0]


def test_a_baseline_stores_the_performance_of_each_low_cardinality_column_and_saves_as_strict_json(tmp_path):
    """Text, boolean and integer columns of 2-50 values get per-segment reference performance; ids, floats,
    the target and the prediction do not. A segment with one class has no ROC AUC: stored as null, read
    back as NaN (a baseline is strict JSON)."""
    from argusml.profile import Reference
    from argusml.profile.frame import open_source
    from argusml.profile.labelled import segment_columns

    n = 12_000
    rng = np.random.default_rng(3)
    t = credit(n, 5)
    tier = rng.integers(1, 4, n)
    label = np.asarray(t["label"]).copy()
    label[tier == 3] = 0  # one class only in tier 3
    t = t.set_column(0, "label", pa.array(label))
    t = t.append_column("tier", pa.array(tier)).append_column("vip", pa.array(rng.random(n) < 0.1))
    t = t.append_column("user", pa.array([f"user-{i:08d}" for i in range(n)]))
    t = t.append_column("income", pa.array(rng.normal(50, 10, n)))
    pq.write_table(t, tmp_path / "ref.parquet")
    for source in (open_source(str(tmp_path / "ref.parquet")), src(t, "frame")):
        assert list(segment_columns(source, {"label", "score"})) == ["region", "tier", "vip"]
    ref = Reference.from_frame(str(tmp_path / "ref.parquet"), target="label", prediction="score")
    per = ref.performance["segments"]
    assert set(per) == {"region", "tier", "vip"} and set(per["tier"]) == {"1", "2", "3"}
    assert set(per["vip"]) == {"True", "False"}  # spelled as the service spells an event's value
    inside = tier == 1
    assert per["tier"]["1"]["metrics"]["roc_auc"]["value"] == pytest.approx(
        skm.roc_auc_score(label[inside], np.asarray(t["score"])[inside]), abs=1e-12)
    assert per["tier"]["3"]["metrics"]["roc_auc"]["value"] is None
    ref.save(tmp_path / "base.json")
    back = Reference.load(tmp_path / "base.json")
    assert back.performance["segments"]["tier"]["2"] == per["tier"]["2"]
