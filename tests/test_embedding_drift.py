"""Embedding drift (stats/embedding.py) against direct computations, and its false-alarm rate and power.

Exact values come from textbook loops and scipy on small inputs; the null
calibration is counted over seeded pairs against a binomial bound.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial import distance as spd

from argusml.stats.embedding import (
    _trace_sq,
    centroid_test,
    embedding_drift,
    median_bandwidth,
    mmd2_unbiased,
    mmd_test,
    squared_distances,
)
from argusml.stats.tests import adjust_p_values


def _textbook_mmd2(x: np.ndarray, y: np.ndarray, bw: float) -> float:
    def k(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.exp(-np.sum((a - b) ** 2) / (2 * bw * bw)))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


@pytest.fixture
def small() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.standard_normal((20, 3)), rng.standard_normal((20, 3)) + np.array([0.8, 0.0, 0.0])


def test_mmd2_matches_the_textbook_double_loop(small: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = small
    assert mmd2_unbiased(x, y, 1.3) == pytest.approx(_textbook_mmd2(x, y, 1.3), rel=1e-12)


def test_median_bandwidth_is_scipys_median_pairwise_distance(small: tuple[np.ndarray, np.ndarray]) -> None:
    z = np.vstack(small)
    assert median_bandwidth(squared_distances(z, z)) == pytest.approx(float(np.median(spd.pdist(z))), rel=1e-12)


def test_permutation_path_reports_the_textbook_mmd2_at_the_median_bandwidth(small: tuple[np.ndarray, np.ndarray]) -> None:
    """The float32, centred, one-product path gives the same statistic as the float64 loop."""
    x, y = small
    t, cross = mmd_test(x, y, permutations=99, seed=3)
    bw = float(np.median(spd.pdist(np.vstack([x, y]))))
    assert t.bandwidth == pytest.approx(bw, rel=1e-6)
    assert t.mmd2 == pytest.approx(_textbook_mmd2(x, y, bw), rel=1e-4)
    assert t.n_ref == 20 and t.n_cur == 20 and t.permutations == 99
    np.testing.assert_allclose(cross, spd.cdist(y, x, "sqeuclidean"), rtol=1e-5, atol=1e-5)


def test_permutation_p_value_counts_relabellings_like_a_direct_loop(small: tuple[np.ndarray, np.ndarray]) -> None:
    """Same relabellings, computed one by one with the textbook estimator, give the same p-value."""
    x, y = small
    t, _ = mmd_test(x, y, permutations=60, seed=11)
    z = np.vstack([x, y])
    rng = np.random.default_rng(11)
    obs = _textbook_mmd2(x, y, t.bandwidth)
    ge = 0
    for _ in range(60):
        first = np.zeros(40, dtype=bool)
        first[rng.permutation(40)[:20]] = True
        ge += mmd2_unbiased(z[first], z[~first], t.bandwidth) >= obs
    assert t.p_value == pytest.approx((1 + ge) / 61)


def test_centroid_distances_are_scipys_on_the_means(small: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = small
    t = centroid_test(x, y)
    assert t.cosine == pytest.approx(spd.cosine(x.mean(0), y.mean(0)), rel=1e-12)
    assert t.euclidean == pytest.approx(spd.euclidean(x.mean(0), y.mean(0)), rel=1e-12)


def test_centroid_p_value_is_the_scaled_chi_square_by_hand(small: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = small
    t = centroid_test(x, y)
    pooled = np.vstack([x - x.mean(0), y - y.mean(0)])
    s = pooled.T @ pooled / 38
    assert t.trace == pytest.approx(np.trace(s), rel=1e-12)
    f = 38
    tr2 = f * f / ((f + 2) * (f - 1)) * (np.sum(s * s) - np.trace(s) ** 2 / f)
    tr2 = float(np.clip(tr2, np.trace(s) ** 2 / 3, np.trace(s) ** 2))
    assert _trace_sq(x, y) == pytest.approx(tr2, rel=1e-12)
    tau = 2 / 20
    g, h = tau * tr2 / np.trace(s), np.trace(s) ** 2 / tr2
    expected = sps.chi2.sf(np.sum((x.mean(0) - y.mean(0)) ** 2) / g, h)
    assert t.p_value == pytest.approx(expected, rel=1e-9)


def test_isotropic_centroid_p_value_is_the_chi_square_of_the_known_variance() -> None:
    """With Σ = I the scaled χ² is ‖D‖²/τ ~ χ²_d; with a large sample the estimated traces are near d."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((20_000, 4)), rng.standard_normal((20_000, 4)) + 0.01
    t = centroid_test(x, y)
    exact = sps.chi2.sf(t.euclidean**2 / (2 / 20_000), 4)
    assert t.p_value == pytest.approx(exact, abs=0.02)


def test_false_alarms_stay_within_the_binomial_bound_under_the_null() -> None:
    """100 seeded pairs from one distribution: each test, and the Holm decision, alarms at most as
    often as Binomial(100, 0.05) allows at the 0.001 level."""
    bound = int(sps.binom.isf(0.001, 100, 0.05))
    alarms = {"centroid": 0, "mmd": 0, "norms": 0, "drifted": 0}
    for seed in range(100):
        rng = np.random.default_rng(1000 + seed)
        cov = np.diag(np.linspace(3.0, 0.2, 6))
        ref = rng.multivariate_normal(np.zeros(6), cov, 120).astype(np.float32)
        cur = rng.multivariate_normal(np.zeros(6), cov, 100).astype(np.float32)
        r = embedding_drift(ref, cur, permutations=99, seed=seed)
        alarms["centroid"] += r.centroid.p_value <= 0.05
        alarms["mmd"] += r.mmd.p_value <= 0.05
        alarms["norms"] += r.norms_p_value <= 0.05
        alarms["drifted"] += r.drifted
    assert all(v <= bound for v in alarms.values()), alarms
    # the permutation p-values are not stuck at one end either
    assert alarms["mmd"] >= 1


def test_a_small_mean_shift_in_a_random_direction_is_detected() -> None:
    rng = np.random.default_rng(21)
    d = 32
    direction = rng.standard_normal(d)
    direction /= np.linalg.norm(direction)
    ref = rng.standard_normal((400, d)).astype(np.float32)
    cur = (rng.standard_normal((400, d)) + 0.4 * direction).astype(np.float32)
    r = embedding_drift(ref, cur, permutations=199)
    assert r.drifted
    assert r.centroid.p_value < 1e-4
    assert r.mmd.p_value < 0.01


def test_a_rotation_that_keeps_mean_and_norms_is_caught_by_mmd() -> None:
    """A new topic along another axis: the same rows, turned, so the mean stays 0 and every norm stays."""
    rng = np.random.default_rng(4)
    ref = rng.standard_normal((300, 4)) * [3.0, 1.0, 1.0, 1.0]
    ref = (ref - ref.mean(axis=0)).astype(np.float32)
    cur = ref[:, [1, 0, 2, 3]]
    r = embedding_drift(ref, cur, permutations=199)
    assert r.mmd.p_value == pytest.approx(1 / 200)
    assert r.centroid.euclidean == pytest.approx(0.0, abs=1e-6) and r.centroid.p_value > 0.99
    assert r.norms_ks == 0.0 and r.norms_p_value == 1.0
    assert r.drifted


def test_rows_that_moved_most_are_the_planted_outliers() -> None:
    rng = np.random.default_rng(9)
    ref = rng.standard_normal((500, 16)).astype(np.float32)
    cur = rng.standard_normal((500, 16)).astype(np.float32)
    planted = [3, 77, 140, 499]
    for i in planted:
        v = rng.standard_normal(16)
        cur[i] = 12 * v / np.linalg.norm(v)
    r = embedding_drift(ref, cur, permutations=99, examples=4)
    assert sorted(r.moved_most.tolist()) == planted
    assert np.all(np.diff(r.moved_distance) <= 0)
    expected = np.sqrt(spd.cdist(cur[r.moved_most], ref, "sqeuclidean").min(axis=1))
    np.testing.assert_allclose(r.moved_distance, expected, rtol=1e-4)


def test_the_bounded_sample_indexes_the_whole_current_matrix() -> None:
    """Past max_per_side the examples still point at rows of the full current matrix."""
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((900, 8)).astype(np.float32)
    cur = rng.standard_normal((900, 8)).astype(np.float32)
    planted = np.arange(600, 630)
    cur[planted] = 30.0 + rng.standard_normal((30, 8)).astype(np.float32)
    r = embedding_drift(ref, cur, max_per_side=300, permutations=49, seed=1, examples=3)
    assert r.mmd.n_ref == 300 and r.mmd.n_cur == 300
    assert r.n_ref == 900 and r.n_cur == 900
    assert set(r.moved_most.tolist()) <= set(planted.tolist())
    # distances are to the nearest row of the reference sample, a subset: never nearer than the whole reference's
    nearest = np.sqrt(spd.cdist(cur[r.moved_most], ref, "sqeuclidean").min(axis=1))
    assert np.all(nearest <= r.moved_distance + 1e-4)


def test_same_seed_same_result_and_another_seed_another_sample() -> None:
    rng = np.random.default_rng(8)
    ref = rng.standard_normal((700, 8)).astype(np.float32)
    cur = (rng.standard_normal((700, 8)) + 0.05).astype(np.float32)
    a = embedding_drift(ref, cur, max_per_side=300, permutations=99, seed=5)
    b = embedding_drift(ref, cur, max_per_side=300, permutations=99, seed=5)
    c = embedding_drift(ref, cur, max_per_side=300, permutations=99, seed=6)
    assert a.to_dict() == b.to_dict()
    assert a.mmd.mmd2 != c.mmd.mmd2
    # the means use every row; only tr(Σ²) comes from the sample
    assert a.centroid.euclidean == c.centroid.euclidean and a.centroid.trace == c.centroid.trace


def test_the_decision_is_holm_over_the_three_p_values() -> None:
    rng = np.random.default_rng(12)
    ref = rng.standard_normal((300, 8)).astype(np.float32)
    cur = (rng.standard_normal((300, 8)) * 1.08).astype(np.float32)
    r = embedding_drift(ref, cur, permutations=99)
    raw = [r.centroid.p_value, r.mmd.p_value, r.norms_p_value]
    assert list(r.p_adjusted.values()) == pytest.approx(adjust_p_values(raw, "holm"))
    assert list(r.p_adjusted) == ["centroid", "mmd", "norms"]
    assert r.drifted_by == [k for k, p in r.p_adjusted.items()
                            if p <= 0.05 and (k not in r.thresholds or r.effects[k] >= r.thresholds[k])]
    assert r.drifted == bool(r.drifted_by)
    assert r.norms_ks == pytest.approx(sps.ks_2samp(np.linalg.norm(ref, axis=1), np.linalg.norm(cur, axis=1)).statistic)


@pytest.mark.parametrize("cur, message", [
    (np.zeros((5, 3)), "3 dimensions, the reference has 4"),
    (np.zeros(4), "2-D matrix"),
    (np.full((3, 4), np.nan), "NaN or infinite value (first in row 0)"),
])
def test_bad_input_says_what_was_expected(cur: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        embedding_drift(np.zeros((5, 4)), cur)


def test_over_100k_rows_a_trivial_shift_is_significant_but_not_drift() -> None:
    """A mean shift of 0.02 spreads along one axis and norms scaled by 0.2%: with 100,000 rows a side both
    p-values are tiny, but neither effect reaches its practical size, so nothing is declared; a shift of
    0.3 spreads is drift, decided by the centroid. The MMD's bounded sample sees neither small change."""
    rng = np.random.default_rng(11)
    d, n = 4, 100_000
    ref = rng.normal(size=(n, d)).astype(np.float32)
    small = rng.normal(size=(n, d)).astype(np.float32)
    small[:, 0] += 0.02
    small *= 1.002
    res = embedding_drift(ref, small, permutations=99)
    assert res.p_adjusted["centroid"] < 1e-3
    assert res.effects["centroid"] == pytest.approx(0.02, abs=0.01) and res.effects["norms"] < 0.025
    assert not res.drifted and res.drifted_by == []
    assert res.thresholds == {"centroid": 0.1, "norms": 0.025}
    ungated = embedding_drift(ref, small, permutations=99, min_shift=None, min_norms_ks=None)
    assert ungated.drifted and "centroid" in ungated.drifted_by  # what it was before the gate
    big = rng.normal(size=(n, d)).astype(np.float32)
    big[:, 0] += 0.3
    res = embedding_drift(ref, big, permutations=99)
    assert res.drifted and "centroid" in res.drifted_by and res.effects["centroid"] == pytest.approx(0.3, abs=0.03)
