"""Model-quality metrics: equal to scikit-learn's (1e-12), intervals that cover what they claim."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from argusml.stats.performance import (
    average_precision,
    binary_metrics,
    calibration_error,
    delong,
    multiclass_metrics,
    regression_metrics,
    roc_auc,
    wilson,
)

TOL = 1e-12


def binary_data(n: int, seed: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y)))
    if ties:
        s = np.round(s, 1)  # many equal scores: midranks and PR steps must match scikit-learn's
    return y.astype(int), s


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_metrics_equal_scikit_learn(ties, threshold):
    y, s = binary_data(3000, 1, ties)
    m = binary_metrics(y, s, threshold=threshold, resamples=50)
    pred = (s >= threshold).astype(int)
    expected = {
        "accuracy": skm.accuracy_score(y, pred), "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred), "f1": skm.f1_score(y, pred), "roc_auc": skm.roc_auc_score(y, s),
        "pr_auc": skm.average_precision_score(y, s), "log_loss": skm.log_loss(y, s),
        "brier": skm.brier_score_loss(y, s),
    }
    for name, value in expected.items():
        assert m[name].value == pytest.approx(value, abs=TOL, rel=TOL), name
        assert m[name].n == {"precision": int(pred.sum()), "recall": int(y.sum())}.get(name, 3000)  # rows behind it
        assert m[name].low <= m[name].value <= m[name].high, name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0])),
                min_size=2, max_size=40))
def test_auc_and_average_precision_equal_scikit_learn_on_any_ties(rows):
    y = np.array([r[0] for r in rows], dtype=int)
    s = np.array([r[1] for r in rows])
    if 0 < y.sum() < y.size:
        assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
        assert delong(y, s).value == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    if y.sum() > 0:
        assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=TOL)
    # the one-sort path (tie groups) equals the midrank definitions, interval included, sorted or not
    m = binary_metrics(y, s, resamples=0)
    order = np.argsort(s, kind="stable")
    assert repr(binary_metrics(y[order], s[order], resamples=0, presorted=True)) == repr(m)  # NaN-safe equality
    ref = delong(y, s)
    for a, b in ((m["roc_auc"].value, ref.value), (m["roc_auc"].low, ref.low), (m["roc_auc"].high, ref.high)):
        assert a == pytest.approx(b, abs=1e-12, nan_ok=True)
    if y.sum() > 0:
        assert m["pr_auc"].value == pytest.approx(skm.average_precision_score(y, s), abs=TOL)


def test_zero_division_is_zero_with_an_uninformative_interval():
    y, s = np.array([0, 0, 1, 0]), np.array([0.1, 0.2, 0.3, 0.4])
    m = binary_metrics(y, s, resamples=20)
    assert m["precision"].value == 0.0 == skm.precision_score(y, s >= 0.5, zero_division=0)
    assert (m["precision"].low, m["precision"].high, m["precision"].n) == (0.0, 1.0, 0)


def test_multiclass_metrics_equal_scikit_learn():
    rng = np.random.default_rng(3)
    classes = ["a", "b", "c", "d"]
    n = 2000
    y_idx = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    logits = rng.normal(size=(n, 4)) + 1.5 * np.eye(4)[y_idx]
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array(classes)[y_idx]
    pred = np.array(classes)[P.argmax(axis=1)]
    m = multiclass_metrics(y, P, classes, resamples=30)
    for avg in ("macro", "weighted"):
        assert m[f"precision_{avg}"].value == pytest.approx(skm.precision_score(y, pred, average=avg), abs=TOL)
        assert m[f"recall_{avg}"].value == pytest.approx(skm.recall_score(y, pred, average=avg), abs=TOL)
        assert m[f"f1_{avg}"].value == pytest.approx(skm.f1_score(y, pred, average=avg), abs=TOL)
        assert m[f"roc_auc_{avg}"].value == pytest.approx(
            skm.roc_auc_score(y, P, multi_class="ovr", average=avg, labels=classes), abs=TOL)
    assert m["accuracy"].value == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)
    assert m["log_loss"].value == pytest.approx(skm.log_loss(y, P, labels=classes), abs=TOL)
    onehot = np.eye(4)[y_idx]
    assert m["brier"].value == pytest.approx(((P - onehot) ** 2).sum(axis=1).mean(), abs=TOL)  # original Brier


def test_regression_metrics_equal_scikit_learn():
    rng = np.random.default_rng(4)
    y = rng.gamma(2.0, 10.0, 5000)
    y[:3] = 0.0  # MAPE's epsilon convention
    pred = y + rng.normal(0, 3, y.size)
    m = regression_metrics(y, pred, resamples=50)
    assert m["mae"].value == pytest.approx(skm.mean_absolute_error(y, pred), abs=TOL)
    assert m["rmse"].value == pytest.approx(skm.root_mean_squared_error(y, pred), rel=TOL)
    assert m["mape"].value == pytest.approx(skm.mean_absolute_percentage_error(y, pred), rel=TOL)
    assert m["r2"].value == pytest.approx(skm.r2_score(y, pred), abs=TOL)
    assert all(m[k].low < m[k].value < m[k].high for k in m)


def test_calibration_error_by_hand():
    # bins of width 0.5: [0, 0.5) holds 0.2, 0.4 (outcomes 0, 1); [0.5, 1] holds 0.6, 1.0 (outcomes 1, 1)
    conf = np.array([0.2, 0.4, 0.6, 1.0])
    ok = np.array([0, 1, 1, 1])
    # |mean outcome - mean confidence| weighted by the bin's share: 0.5*|0.5-0.3| + 0.5*|1.0-0.8| = 0.2
    assert calibration_error(ok, conf, bins=2) == pytest.approx(0.2, abs=TOL)
    assert calibration_error(np.array([1, 0]), np.array([1.0, 0.0]), bins=10) == 0.0  # perfectly calibrated


def test_wilson_by_hand():
    lo, hi = wilson(8, 10)  # the textbook example: 0.4902 - 0.9433
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    assert wilson(0, 0) == (0.0, 1.0) and wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0


def test_analytic_intervals_cover_the_true_value_95_percent_of_the_time():
    """1,000 windows of 400 rows from a known model: accuracy (Wilson) and ROC AUC (DeLong, as the
    service computes it from tie groups) must cover their true values in 93-97% of windows."""
    rng = np.random.default_rng(2026)
    # scores: positives ~ N(1, 1), negatives ~ N(0, 1): true AUC = Phi(1 / sqrt 2); prevalence 0.3
    from scipy.stats import norm

    true_auc = norm.cdf(1 / np.sqrt(2))
    # accuracy at threshold 0.5 on the scores: P(correct) = 0.3 * P(N(1,1) >= 0.5) + 0.7 * P(N(0,1) < 0.5)
    true_acc = 0.3 * norm.sf(0.5, loc=1) + 0.7 * norm.cdf(0.5)
    cover_acc = cover_auc = 0
    for _ in range(1000):
        y = rng.random(400) < 0.3
        s = rng.normal(size=400) + y
        m = binary_metrics(y, s, threshold=0.5, resamples=0)
        acc, auc = m["accuracy"], m["roc_auc"]
        cover_acc += acc.low <= true_acc <= acc.high
        cover_auc += auc.low <= true_auc <= auc.high
    assert 930 <= cover_acc <= 970, cover_acc
    assert 930 <= cover_auc <= 970, cover_auc
