"""Multivariate drift: a correlation break that keeps every marginal is found by
the PCA reconstruction error and the domain classifier and by no column test;
random splits stay quiet; the null p-values are honest; profiles merge
exactly; the same decision in a report, a baseline and the service's windows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import argusml
from argusml import ReportConfig
from argusml.monitor.windows import load_profile
from argusml.profile import Reference, open_source
from argusml.profile.dataset import profile_source
from argusml.schema.model_config import ModelConfig
from argusml.stats.multivariate import bottom_k, domain_classifier, error_increase, fit_pca
from service_util import start_monitor

COLUMN_CHECKS = {"drift", "prediction_drift", "target_drift", "missing_values", "out_of_range", "new_categories",
                 "vanished_categories", "sentinel_value", "constant_column", "near_constant_column", "type_errors"}


def frame(n: int, seed: int, *, broken: bool = False) -> pd.DataFrame:
    """a ~ b (r = 0.9), c skewed, k discrete, cat and flag categorical, some missing values.
    ``broken`` shuffles b: every marginal is exactly that of the same draw unbroken."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = 0.9 * a + np.sqrt(1 - 0.81) * rng.normal(size=n)
    if broken:
        b = rng.permutation(b)
    c = rng.exponential(2.0, n)
    c[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"a": a, "b": b, "c": c, "k": rng.poisson(2.0, n),
                         "cat": rng.choice(["u", "v", "w"], n, p=[0.5, 0.3, 0.2]), "flag": rng.random(n) < 0.3})


@pytest.fixture(scope="module")
def ref() -> Reference:
    return Reference.from_frame(frame(20_000, 1))


# -- the statistics --------------------------------------------------------------------------------------
def test_pca_equals_scikit_learn():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    z = rng.normal(size=(3000, 6)) @ rng.normal(size=(6, 6))
    ours = fit_pca(z, explained=0.65)
    k = ours.components.shape[0]
    sk = PCA(n_components=k).fit(z)
    assert np.allclose(ours.explained, sk.explained_variance_ratio_, rtol=1e-10)
    assert np.allclose(np.abs(ours.components @ sk.components_.T), np.eye(k), atol=1e-8)  # equal up to sign
    assert np.cumsum(sk.explained_variance_ratio_)[k - 2] < 0.65 <= sk.explained_variance_ratio_.sum() if k > 1 else True
    x = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    recon = sk.inverse_transform(sk.transform(x))
    assert np.allclose(ours.residual_error(x), ((x - recon) ** 2).mean(axis=1), rtol=1e-8, atol=1e-12)


def test_null_p_values_are_honest():
    """Same distribution on both sides: each test rejects at its nominal rate (300 reps, 5%: 2-9% accepted)."""
    rng = np.random.default_rng(3)
    cov = np.array([[1, 0.8, 0], [0.8, 1, 0.3], [0, 0.3, 1]])
    low = np.linalg.cholesky(cov)
    reps, clf_rej, err_rej = 300, 0, 0
    for i in range(reps):
        r = rng.normal(size=(400, 3)) @ low.T
        c = rng.normal(size=(400, 3)) @ low.T
        t = domain_classifier(r, c, seed=i)
        assert t is not None
        clf_rej += t.p_value < 0.05
        e_ref = rng.chisquare(2, 1000)
        e_cur = rng.chisquare(2, 300)
        et = error_increase(e_ref.size, e_ref.mean(), e_ref.var(ddof=1), e_cur.size, e_cur.sum(), (e_cur ** 2).sum())
        err_rej += et.p_value < 0.05
    assert 0.02 <= clf_rej / reps <= 0.09, clf_rej
    assert 0.02 <= err_rej / reps <= 0.09, err_rej


def test_error_increase_is_welchs_z_by_hand():
    t = error_increase(100, 2.0, 4.0, 50, 50 * 2.5, 50 * (2.5 ** 2 + 1.0 * 49 / 50))
    se = np.sqrt(4.0 / 100 + 1.0 / 50)
    assert t.z == pytest.approx(0.5 / se, rel=1e-12)
    assert t.relative_increase == pytest.approx(0.25)
    from scipy import stats as sps

    assert t.p_value == pytest.approx(sps.norm.sf(0.5 / se), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=0, max_size=60),
       st.lists(st.floats(0, 1, allow_nan=False), min_size=0, max_size=60), st.integers(1, 20))
def test_bottom_k_of_parts_is_bottom_k_of_the_union(a, b, k):
    a, b = np.array(a), np.array(b)
    ka, kb = a[bottom_k(a, k)], b[bottom_k(b, k)]
    both = np.concatenate([ka, kb])
    union = np.concatenate([a, b])
    assert np.array_equal(both[bottom_k(both, k)], union[bottom_k(union, k)])


# -- reports -----------------------------------------------------------------------------------------
def test_a_correlation_break_is_found_by_these_and_by_no_column_test(ref):
    rep = argusml.report(ref, frame(5000, 2, broken=True))
    d = rep.to_dict()
    assert d["verdict"]["drifted_columns"] == []
    assert not [f for f in rep.findings if f.check in COLUMN_CHECKS]
    mv = d["multivariate"]
    assert mv["status"] == "drifted" and mv["drifted"] is True
    assert mv["reconstruction"]["status"] == "drifted" and mv["classifier"]["status"] == "drifted"
    assert mv["reconstruction"]["relative_increase"] > 0.1 and mv["classifier"]["auc"] > 0.55
    # the residual grew where the structure broke
    assert {c["feature"] for c in mv["reconstruction"]["columns"][:2]} == {"a", "b"}
    f = [f for f in rep.findings if f.check == "multivariate_drift"]
    assert len(f) == 1 and f[0].column is None and f[0].severity.value == "P2"
    assert "joint distribution" in f[0].message and "AUC" in f[0].message
    assert d["verdict"]["status"] == "drift" and d["verdict"]["multivariate_drift"] is True
    # the HTML report has the section, with both tests' verdicts and where the residual grew
    html = rep.to_html()
    section = html[html.index('<section aria-label="multivariate">'):]
    section = section[:section.index("</section>")]
    assert "Status: <b>drifted</b>" in section and section.count("<td>drifted</td>") == 2
    assert "PCA reconstruction error" in section and "domain classifier AUC" in section
    # the same draw unbroken: quiet
    ok = argusml.report(ref, frame(5000, 2)).to_dict()["multivariate"]
    assert ok["status"] == "stable" and ok["drifted"] is False


@pytest.mark.slow  # a Monte Carlo check: its power is in its thousands of simulated draws
def test_random_splits_stay_quiet():
    """20 random halves of one table: no split reports multivariate drift."""
    data = frame(12_000, 5)
    flagged = 0
    for seed in range(20):
        idx = np.random.default_rng(seed + 100).permutation(len(data))
        r, c = data.iloc[idx[:6000]], data.iloc[idx[6000:]]
        mv = argusml.report(r, c).to_dict()["multivariate"]
        assert mv["status"] in ("stable", "drifted")
        flagged += mv["drifted"]
    assert flagged == 0


def test_identical_data_never_drifts_jointly():
    data = frame(8000, 6)
    mv = argusml.report(data, data).to_dict()["multivariate"]
    assert mv["drifted"] is False


def test_small_samples_are_insufficient_not_drifted(ref):
    mv = argusml.report(ref, frame(60, 3, broken=True)).to_dict()["multivariate"]
    assert mv["status"] == "insufficient_data" and mv["drifted"] is False
    assert mv["reconstruction"]["status"] == "insufficient_data"
    assert mv["classifier"]["status"] == "insufficient_data"


def test_baseline_round_trip_gives_the_same_decision(ref, tmp_path):
    path = tmp_path / "base.json"
    ref.save(path)
    cur = frame(5000, 2, broken=True)
    a = argusml.report(ref, cur).to_dict()["multivariate"]
    b = argusml.report(str(path), cur).to_dict()["multivariate"]
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_ignored_features_leave_the_tests(ref, tmp_path):
    cur = frame(5000, 2, broken=True)
    cfg = ReportConfig(ignore=["b"])
    # learned from data for this comparison: the model is fitted without b, and nothing else changed
    mv = argusml.report(frame(20_000, 1), cur, config=cfg).to_dict()["multivariate"]
    assert "b" not in mv["features"] and mv["drifted"] is False
    # a saved baseline was fitted with b: the reconstruction says so instead of comparing the incomparable
    path = tmp_path / "base.json"
    ref.save(path)
    mv = argusml.report(str(path), cur, config=cfg).to_dict()["multivariate"]
    assert mv["reconstruction"]["status"] == "not_tested" and "(b)" in mv["reconstruction"]["reason"]
    assert mv["classifier"]["status"] == "stable"  # b zeroed on both sides: the rest did not change


def test_turned_off(ref):
    cfg = ReportConfig(multivariate={"enabled": False})
    mv = argusml.report(ref, frame(3000, 2, broken=True), config=cfg).to_dict()["multivariate"]
    assert mv == {"status": "not_tested", "drifted": False, "reason": "turned off (multivariate.enabled)"}


def test_profiles_merge_exactly(ref):
    m = ref.multivariate
    parts = [frame(3000, s, broken=True) for s in (7, 8)]
    profs = [profile_source(open_source(p), ref.specs, ref.profile.correlation, multivariate=m, sample_rows=500,
                            seed=s).multivariate for s, p in enumerate(parts)]
    whole = profile_source(open_source(pd.concat(parts, ignore_index=True)), ref.specs, ref.profile.correlation,
                           multivariate=m, sample_rows=500).multivariate
    merged = profs[0].merge(profs[1])
    assert merged.n == whole.n == 6000
    assert merged.error_sum == pytest.approx(whole.error_sum, rel=1e-12)
    assert merged.error_sum2 == pytest.approx(whole.error_sum2, rel=1e-12)
    assert np.allclose(merged.residual_sum, whole.residual_sum, rtol=1e-12)
    keys = np.concatenate([p.keys for p in profs])
    assert np.array_equal(merged.keys, np.sort(keys)[:500])
    rt = type(merged).from_dict(json.loads(json.dumps(merged.to_dict())))
    assert np.array_equal(rt.keys, merged.keys) and rt.n == merged.n
    assert np.allclose(rt.rows, merged.rows, atol=2e-3)  # stored as float16


# -- the service's windows ---------------------------------------------------------------------------
T0 = 1_800_000_000.0


@pytest.mark.service
def test_service_windows_report_multivariate_drift(tmp_path, ref):
    start = (T0 // 300) * 300
    now = [start - 600 + 20]  # the clock only moves forward: windows behind it are closed
    running = start_monitor(tmp_path / "data", (ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"]), ref),
                            clock=lambda: now[0])
    mon, store = running.monitor, running.store
    try:
        client = running.client

        def events(df: pd.DataFrame, ts: float, tag: str) -> list[dict]:  # ids from the frame's index
            recs = df.to_dict("records")
            out = []
            for i, r in zip(df.index, recs):
                feats = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                feats["flag"] = bool(feats["flag"])
                feats["k"] = int(feats["k"])
                out.append({"id": f"{tag}{i}", "timestamp": ts, "features": feats})
            return out

        for t0, data, tag in ((start - 600, frame(3000, 11), "ok"), (start - 300, frame(3000, 12, broken=True), "br")):
            now[0] = t0 + 20
            for lo in range(0, 3000, 1000):
                assert client.post("/v1/models/m/events", json=events(data[lo:lo + 1000], t0 + 10, tag)).status_code == 200
        now[0] = start + 200
        assert mon.wait_idle() and mon.wait_idle()
        wins = client.get("/v1/models/m/windows", params={"granularity": "5m", "segment": "*"}).json()["windows"]
        wins.sort(key=lambda w: w["start"])  # RFC 3339 in UTC: text order is time order
        assert [w["n_rows"] for w in wins] == [3000, 3000]
        good, bad = wins[0]["verdict"], wins[1]["verdict"]
        assert good["multivariate"]["drifted"] is False and good["multivariate"]["status"] == "stable"
        assert bad["multivariate"]["drifted"] is True
        assert bad["multivariate"]["error_increase"] > 0.1 and bad["multivariate"]["classifier_auc"] > 0.55
        assert bad["drifted_columns"] == []
        found = client.get("/v1/models/m/findings", params={"segment": "*"}).json()["findings"]
        mv = [f for f in found if f["check"] == "multivariate_drift"]
        five = [f for f in mv if f["granularity"] == wins[1]["granularity"]]
        assert [(f["window_start"], f["column"], f["segment"]) for f in five] == [(wins[1]["start"], None, "*")]
        # the hour holding both windows merged their errors and samples, and half its rows are broken
        hour = client.get("/v1/models/m/windows", params={"granularity": "1h", "segment": "*"}).json()["windows"]
        assert [w["n_rows"] for w in hour] == [6000] and hour[0]["verdict"]["multivariate"]["drifted"] is True
        # once merged into the hour, the 5-minute windows keep their sums and verdicts but not their rows
        stored: dict[float, list] = {}
        for r in mon.store.windows("m", segment="*", with_profile=True, closed=True, limit=100):
            stored.setdefault(r["granularity"], []).append(load_profile(r["profile"])[1].multivariate)
        assert [(p.n, p.keys.size) for p in stored[300.0]] == [(3000, 0), (3000, 0)]
        assert stored[3600.0][0].n == 6000 and stored[3600.0][0].keys.size == 1000
        seg = client.get("/v1/models/m/windows", params={"granularity": "5m", "segment": "cat=u"}).json()["windows"]
        assert seg and all(w["verdict"]["multivariate"]["status"] == "not_tested" for w in seg)
        text = client.get("/metrics").text
        assert 'argus_multivariate_drifted{model="m",model_version="unversioned"} 1.0' in text
        assert 'argus_multivariate_score{method="classifier_auc",model="m",model_version="unversioned"}' in text
    finally:
        mon.stop()
        store.close()


def test_a_missing_feature_is_a_quality_finding_not_multivariate_drift(ref):
    cur = frame(5000, 2).drop(columns=["c"])
    rep = argusml.report(ref, cur)
    mv = rep.to_dict()["multivariate"]
    assert {f.check for f in rep.findings if f.column == "c"} == {"missing_column"}
    assert mv["drifted"] is False
    assert mv["reconstruction"]["status"] == "not_tested" and "(c)" in mv["reconstruction"]["reason"]
    assert mv["classifier"]["status"] == "stable"  # c zeroed on both sides
    nulls = frame(5000, 2).assign(c=np.nan)
    mv = argusml.report(ref, nulls).to_dict()["multivariate"]
    assert mv["drifted"] is False and mv["reconstruction"]["status"] == "not_tested"
