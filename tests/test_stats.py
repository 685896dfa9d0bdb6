"""Every statistic against a trusted reference: scipy or a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial import distance as spd

from argusml.stats import (
    Moments,
    adjust_p_values,
    chi2_homogeneity,
    correlation_change_p,
    js_distance,
    ks_detectable,
    ks_exact,
    ks_from_counts,
    merge_sparse_bins,
    psi,
    tail_change,
    total_variation,
    wasserstein,
)

TOL = 1e-9


def test_ks_exact_is_scipy() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=700), rng.normal(0.2, 1.1, size=900)
    want = sps.ks_2samp(a, b)
    got = ks_exact(a, b)
    assert got.statistic == pytest.approx(want.statistic, abs=TOL)
    assert got.p_value == pytest.approx(want.pvalue, rel=TOL)


def test_ks_on_counts_equals_scipy_when_every_value_has_a_bin() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.poisson(3.0, 20_000), rng.poisson(3.2, 15_000)
    values = np.union1d(a, b)
    ca = np.array([(a == v).sum() for v in values])
    cb = np.array([(b == v).sum() for v in values])
    want = sps.ks_2samp(a, b, method="asymp")
    got = ks_from_counts(ca, cb)
    assert got.statistic == pytest.approx(want.statistic, abs=TOL)
    assert got.p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)


def test_ks_on_coarser_bins_is_conservative() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=5000), rng.normal(0.1, 1, size=5000)
    edges = np.quantile(a, np.linspace(0.05, 0.95, 19))
    ca = np.bincount(np.searchsorted(edges, a), minlength=20)
    cb = np.bincount(np.searchsorted(edges, b), minlength=20)
    exact = sps.ks_2samp(a, b, method="asymp")
    binned = ks_from_counts(ca, cb)
    assert binned.statistic <= exact.statistic + TOL
    assert binned.p_value >= exact.pvalue - TOL


def test_chi2_is_scipy_contingency_without_yates() -> None:
    r = np.array([120, 80, 40, 10, 0])
    c = np.array([100, 95, 30, 20, 7])
    keep = (r + c) > 0
    want = sps.chi2_contingency(np.vstack([r[keep], c[keep]]), correction=False)
    got = chi2_homogeneity(r, c)
    assert got.statistic == pytest.approx(want.statistic, rel=TOL)
    assert got.p_value == pytest.approx(want.pvalue, rel=TOL)
    assert got.dof == want.dof


def test_chi2_equals_scipy_chisquare_on_the_flattened_table() -> None:
    """The two-sample test is a goodness-of-fit of the 2 x K table to its
    independence expectation: scipy.stats.chisquare gives the same statistic."""
    r = np.array([50.0, 30.0, 20.0])
    c = np.array([40.0, 45.0, 15.0])
    t = r + c
    exp = np.concatenate([t * r.sum() / t.sum(), t * c.sum() / t.sum()])
    want = sps.chisquare(np.concatenate([r, c]), exp, ddof=len(exp) - 1 - (len(r) - 1))
    got = chi2_homogeneity(r, c)
    assert got.statistic == pytest.approx(want.statistic, rel=TOL)
    assert got.p_value == pytest.approx(want.pvalue, rel=1e-9)


def test_psi_by_hand() -> None:
    r = np.array([50.0, 30.0, 20.0, 0.0])
    c = np.array([40.0, 40.0, 10.0, 10.0])
    p = np.array([0.5, 0.3, 0.2, 1e-4])
    q = np.array([0.4, 0.4, 0.1, 0.1])
    want = sum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q))
    assert psi(r, c) == pytest.approx(want, rel=TOL)
    assert psi(r, r) == 0.0


def test_js_is_scipy_base_2() -> None:
    r, c = np.array([5.0, 3.0, 2.0]), np.array([1.0, 1.0, 8.0])
    assert js_distance(r, c) == pytest.approx(spd.jensenshannon(r / 10, c / 10, base=2), rel=TOL)
    assert 0 <= js_distance(r, c) <= 1


def test_wasserstein_is_scipy() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.gamma(2, 2, 300), rng.gamma(2, 2.5, 400)
    assert wasserstein(a, b) == pytest.approx(sps.wasserstein_distance(a, b), rel=TOL)
    w = np.arange(1, 301)
    assert wasserstein(a, b, w, None) == pytest.approx(sps.wasserstein_distance(a, b, w, None), rel=TOL)


def test_total_variation_by_hand() -> None:
    assert total_variation(np.array([1, 1]), np.array([3, 1])) == pytest.approx(0.25)
    assert total_variation(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)


def test_tail_change_relative() -> None:
    val, i = tail_change(np.array([0.01, 0.05]), np.array([0.018, 0.05]))
    assert (val, i) == (pytest.approx(0.8), 0)


def test_holm_by_hand() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.06
    assert adjust_p_values(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust_p_values(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.02])
    assert adjust_p_values([], "holm") == []


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_never_below_raw_and_at_most_bonferroni(p: list[float]) -> None:
    holm = adjust_p_values(p, "holm")
    bonf = adjust_p_values(p, "bonferroni")
    for raw, h, b in zip(p, holm, bonf):
        assert raw - 1e-15 <= h <= b + 1e-15


def test_ks_detectable_is_the_critical_distance() -> None:
    d = ks_detectable(0.001, 10_000, 10_000)
    assert sps.kstwo.sf(d, 5000) == pytest.approx(0.001, rel=1e-6)


def test_fisher_z_by_hand() -> None:
    z = (math.atanh(0.5) - math.atanh(0.3)) / math.sqrt(1 / 97 + 1 / 197)
    assert correlation_change_p(0.5, 100, 0.3, 200) == pytest.approx(2 * sps.norm.sf(z), rel=TOL)


def test_sparse_bins_reach_five_expected() -> None:
    r = np.array([1, 2, 50, 60, 3, 1, 0, 2])
    c = np.array([0, 3, 45, 70, 2, 2, 1, 0])
    mr, mc = merge_sparse_bins(r, c)
    n = mr.sum() + mc.sum()
    assert mr.sum() == r.sum() and mc.sum() == c.sum()
    assert ((mr + mc) * min(mr.sum(), mc.sum()) / n >= 5).all()


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200)
@given(st.lists(finite, min_size=0, max_size=60), st.lists(finite, min_size=0, max_size=60))
def test_moments_merge_equals_moments_of_union(a: list[float], b: list[float]) -> None:
    xa, xb = np.array(a), np.array(b)
    got = Moments.from_values(xa).merge(Moments.from_values(xb))
    want = Moments.from_values(np.concatenate([xa, xb]))
    assert got.n == want.n
    scale = max(1.0, float(np.abs(np.concatenate([xa, xb])).max(initial=0)))
    assert got.mean == pytest.approx(want.mean, abs=1e-9 * scale)
    assert got.m2 == pytest.approx(want.m2, rel=1e-7, abs=1e-6 * scale**2)
    assert got.m3 == pytest.approx(want.m3, rel=1e-5, abs=1e-5 * scale**3)
    assert got.m4 == pytest.approx(want.m4, rel=1e-5, abs=1e-5 * scale**4)


def test_moments_match_scipy() -> None:
    x = np.random.default_rng(5).gamma(2, 3, 1000)
    m = Moments.from_values(x)
    assert m.variance == pytest.approx(np.var(x, ddof=1), rel=TOL)
    assert m.skewness == pytest.approx(sps.skew(x), rel=1e-9)
    assert m.kurtosis == pytest.approx(sps.kurtosis(x), rel=1e-9)


def test_max_cell_test_by_hand_and_at_its_level() -> None:
    from argusml.stats import max_cell_test

    r, c = np.array([50.0, 30.0, 20.0]), np.array([40.0, 30.0, 30.0])
    pooled = (r + c) / 200
    z = (c / 100 - r / 100) / np.sqrt(pooled * (1 - pooled) * (2 / 100))
    res = max_cell_test(r, c)
    assert res.statistic == pytest.approx(np.abs(z).max(), rel=TOL)
    assert res.p_value == pytest.approx(min(1.0, 3 * 2 * sps.norm.sf(np.abs(z).max())), rel=TOL)
    rng = np.random.default_rng(0)
    p = 1.0 / np.arange(1, 41)
    p /= p.sum()
    rejected = [max_cell_test(rng.multinomial(3000, p), rng.multinomial(3000, p)).p_value < 0.05 for _ in range(400)]
    assert np.mean(rejected) <= 0.05  # Bonferroni: at most its level
