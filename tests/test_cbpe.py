"""Label-free estimation: isotonic calibration equal to scikit-learn's, a calibration test that tells
probabilities from scores, and CBPE estimates whose intervals hold the realised metric as often as they
claim when the model is calibrated."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from argusml.stats.cbpe import Calibration, calibration_test, estimate_binary, isotonic
from argusml.stats.performance import binary_metrics, roc_auc


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.05, 0.1, 0.2, 0.2, 0.4, 0.5, 0.7, 0.9, 0.95]), st.booleans()),
                min_size=2, max_size=60))
def test_isotonic_equals_scikit_learn(rows):
    s = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows], dtype=float)
    ours = isotonic(s, y)
    ref = IsotonicRegression(out_of_bounds="clip").fit(s, y)
    grid = np.r_[s, np.linspace(-0.1, 1.1, 25)]
    assert np.allclose(ours(grid), ref.predict(grid), atol=1e-12)
    assert Calibration.from_dict(ours.to_dict()) == ours


def _population(rng: np.random.Generator, n: int, calibrated: bool) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-1.5 * x))
    y = (rng.random(n) < p).astype(int)
    score = p if calibrated else 1 / (1 + np.exp(-4 * x))  # over-confident: a score, not a probability
    return score, y


def test_the_calibration_test_tells_probabilities_from_scores():
    rng = np.random.default_rng(1)
    rejected = sum(calibration_test(*_population(rng, 5000, True))["p_value"] < 0.05 for _ in range(200))
    assert 2 <= rejected <= 20  # about 5% of calibrated samples, as a 5% test should
    s, y = _population(rng, 5000, False)
    assert calibration_test(s, y)["p_value"] < 1e-6
    cal = isotonic(s, y)  # recalibrated on this sample, a fresh sample passes
    s2, y2 = _population(rng, 5000, False)
    assert calibration_test(cal(s2), y2)["p_value"] > 0.01


def test_estimates_hold_the_realised_metrics_as_often_as_they_claim():
    """On a calibrated model under covariate shift, each window's realised accuracy, F1 and ROC AUC lie
    in the estimate's 95% interval in 93-97% of 1,000 windows, and the estimates are unbiased."""
    rng = np.random.default_rng(7)
    cover = {"accuracy": 0, "f1": 0, "roc_auc": 0, "precision": 0, "recall": 0}
    err = {k: [] for k in cover}
    for w in range(1000):
        x = rng.normal(loc=0.4 * (w % 4) - 0.6, size=800)  # the inputs move; P(y | x) does not
        p = 1 / (1 + np.exp(-1.5 * x))
        y = (rng.random(800) < p).astype(int)
        est = estimate_binary(p, p)
        real = binary_metrics(y, p, resamples=0)
        for k in cover:
            cover[k] += est[k].low <= real[k].value <= est[k].high
            err[k].append(est[k].value - real[k].value)
    for k, c in cover.items():
        assert 930 <= c <= 970, (k, c)  # 93-97% of 1,000
        assert abs(np.mean(err[k])) < 0.004, (k, np.mean(err[k]))


def test_expected_auc_is_the_mean_auc_of_labels_drawn_from_the_probabilities():
    rng = np.random.default_rng(3)
    p = np.round(rng.random(300), 1)  # ties
    est = estimate_binary(p, p)["roc_auc"].value
    draws = []
    for _ in range(4000):
        y = rng.random(300) < p
        if 0 < y.sum() < 300:
            draws.append(roc_auc(y, p))  # equal to scikit-learn's (test_performance_metrics)
    assert est == pytest.approx(np.mean(draws), abs=0.002)


def test_proxies_by_hand_and_shifts_only_when_credible_and_material():
    from argusml.stats.cbpe import proxies, proxy_shifts

    p = np.array([0.95, 0.05, 0.6, 0.5])
    got = proxies(p, p, 0.5)
    # confident: 0.95 (predicted positive) and 0.05 (predicted negative, right with 0.95); positive: 0.95, 0.6, 0.5
    assert (got["high_confidence_rate"], got["positive_rate"]) == (0.5, 0.75)
    h = [-(x * np.log2(x) + (1 - x) * np.log2(1 - x)) for x in p]
    assert got["entropy_mean"] == pytest.approx(np.mean(h), abs=1e-12)
    rng = np.random.default_rng(4)
    flagged = 0
    for _ in range(200):  # two samples of one population: no proxy moves
        a, b = rng.beta(2, 2, 3000), rng.beta(2, 2, 3000)
        flagged += bool(proxy_shifts(proxies(a, a), proxies(b, b)))
    assert flagged <= 2
    unsure = np.clip(rng.normal(0.5, 0.08, 3000), 0, 1)
    ref = rng.beta(0.5, 0.5, 3000)  # mostly confident
    moved = {s["proxy"]: s for s in proxy_shifts(proxies(unsure, unsure), proxies(ref, ref))}
    assert moved["high_confidence_rate"]["change"] < -0.3 and moved["entropy_mean"]["change"] > 0.3
    assert "positive_rate" not in moved
