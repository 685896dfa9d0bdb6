"""Review samples (argusml.stats.sampling): the design's inclusion probabilities are exact, the estimator
is unbiased and its interval covers, on simulated populations whose truth is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from scipy import stats as sps

from argusml.stats.sampling import (
    Stratum,
    allocate,
    binary_uncertainty,
    draw,
    estimate_mean,
    plan_design,
    review_sample,
    top_class_uncertainty,
)

Z95 = float(special.ndtri(0.975))


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return c - h, c + h


# -- uncertainty ---------------------------------------------------------------------------------------------
def test_uncertainty_is_the_models_own_probability_of_being_wrong() -> None:
    u = binary_uncertainty(np.array([0.9, 0.5, 0.2, 0.0, 1.0, np.nan, 1.7, -0.1]))
    assert u[:5].tolist() == pytest.approx([0.1, 0.5, 0.2, 0.0, 0.0], abs=1e-15)
    assert np.isnan(u[5:]).all()  # missing, and margins: no probability known
    # at threshold 0.3 a score of 0.4 is a positive call, wrong with probability 0.6
    assert binary_uncertainty(np.array([0.4, 0.2]), 0.3).tolist() == pytest.approx([0.6, 0.2])
    # a calibration map's probability, with the decision still on the raw score
    assert binary_uncertainty(np.array([2.0, -1.0]), 0.0, np.array([0.8, 0.3])).tolist() == pytest.approx([0.2, 0.3])
    assert top_class_uncertainty(np.array([0.7, 1.0, np.nan])).tolist()[:2] == pytest.approx([0.3, 0.0])


# -- the design ------------------------------------------------------------------------------------------------
def test_allocation_by_hand() -> None:
    """Two strata of 50: uncertainty 0.02 and 0.4. 30% proportional, 70% Neyman on sqrt(u(1-u))."""
    u = np.r_[np.full(50, 0.4), np.full(50, 0.02)]
    d = plan_design(u, 20, strata=2, random_share=0.3)
    s0, s1 = math.sqrt(0.02 * 0.98), math.sqrt(0.4 * 0.6)
    want0 = 20 * (0.3 * 0.5 + 0.7 * s0 / (s0 + s1))  # 6.11...
    assert (round(want0), 20 - round(want0)) == (6, 14)
    assert [(s.population, s.sampled) for s in d.strata] == [(50, 6), (50, 14)]
    assert d.strata[0].mean_uncertainty == pytest.approx(0.02) and d.strata[1].uncertainty_low == pytest.approx(0.4)
    assert (d.unit_stratum[:50] == 1).all() and (d.unit_stratum[50:] == 0).all()  # stratum 0: the most certain
    # all proportional: 10 and 10; all Neyman: 20 * s0 / (s0 + s1) = 4.5 -> 4 (the larger remainder goes up)
    assert [s.sampled for s in plan_design(u, 20, strata=2, random_share=1.0).strata] == [10, 10]
    neyman = 20 * s0 / (s0 + s1)
    assert math.floor(neyman) == 4 and neyman - 4 < 0.5
    assert [s.sampled for s in plan_design(u, 20, strata=2, random_share=0.0).strata] == [4, 16]


def test_bounds_and_unscored_stratum() -> None:
    # Neyman would give the certain stratum ~0; it still gets 2 so its variance can be estimated
    assert allocate(np.array([1000, 1000]), np.array([0.0, 0.5]), 10, 0.0).tolist() == [2, 8]
    assert allocate(np.array([3, 1000, 1000]), np.array([0.5, 0.5, 0.5]), 30, 0.0).tolist() == [2, 14, 14]
    # a stratum smaller than its share (30 * 1.5 / 11.5 = 3.9) is taken whole and the rest re-spread
    assert allocate(np.array([3, 1000]), np.array([0.5, 0.01]), 30, 0.0).tolist() == [3, 27]
    # units without a probability form their own stratum, at the largest spread (0.5)
    u = np.r_[np.full(40, 0.1), np.full(40, np.nan)]
    d = plan_design(u, 10, strata=1, random_share=0.0)
    assert [(s.population, s.sampled, s.mean_uncertainty) for s in d.strata] == [(40, 4, pytest.approx(0.1)),
                                                                                  (40, 6, None)]
    assert (d.unit_stratum[40:] == 1).all()
    # too small a sample for 5 strata of 2: fewer strata
    assert len(plan_design(np.linspace(0, 0.5, 100), 6, strata=5).strata) == 3


def test_inclusion_probabilities_sum_to_the_size_and_the_draw_respects_them() -> None:
    rng = np.random.default_rng(4)
    u = np.where(rng.random(5000) < 0.1, np.nan, rng.beta(0.5, 1.5, 5000) / 2)
    s = review_sample(u, 321, strata=6, random_share=0.25, seed=9)
    pi = s.design.inclusion_probabilities
    assert pi.sum() == pytest.approx(321, abs=1e-9)
    assert s.positions.size == 321 and np.unique(s.positions).size == 321
    assert np.all(np.diff(s.positions) > 0)
    for st_ in s.design.strata:
        assert (s.stratum == st_.index).sum() == st_.sampled
        assert pi[s.design.unit_stratum == st_.index] == pytest.approx(st_.sampled / st_.population)
    assert np.array_equal(s.inclusion, pi[s.positions])
    # more uncertain strata are sampled more densely
    dens = [st_.inclusion_probability for st_ in s.design.strata[:-1]]
    assert dens == sorted(dens) and dens[-1] > 2 * dens[0]


def test_selection_frequencies_match_the_inclusion_probabilities() -> None:
    """4,000 draws from 60 units in 3 strata: each unit's selection count against R * pi. Within a stratum
    the counts sum to R * n_h, so sum((c - R pi)^2 / (R pi (1 - pi))) * (N_h - 1) / N_h is chi-square with
    N_h - 1 degrees of freedom (Cochran's variance of SRSWOR indicators)."""
    rng = np.random.default_rng(0)
    u = rng.random(60) / 2
    d = plan_design(u, 14, strata=3, random_share=0.0)
    reps = 4000
    counts = np.zeros(60)
    for r in range(reps):
        counts[draw(d, seed=r).positions] += 1
    pi = d.inclusion_probabilities
    assert counts.sum() == reps * 14
    stat, dof = 0.0, 0
    for s in d.strata:
        inside = d.unit_stratum == s.index
        p = s.inclusion_probability
        stat += float(((counts[inside] - reps * p) ** 2).sum() / (reps * p * (1 - p))) * (s.population - 1) / s.population
        dof += s.population - 1
    assert sps.chi2.sf(stat, dof) > 0.001, (stat, dof)
    z = (counts - reps * pi) / np.sqrt(reps * pi * (1 - pi))
    assert np.abs(z).max() < 4.5


def test_seeded_and_deterministic() -> None:
    u = np.random.default_rng(1).random(1000) / 2
    a, b = review_sample(u, 50, seed=3), review_sample(u, 50, seed=3)
    assert np.array_equal(a.positions, b.positions)
    assert not np.array_equal(a.positions, review_sample(u, 50, seed=4).positions)


def test_a_sample_as_large_as_the_population_is_a_census() -> None:
    y = np.random.default_rng(2).integers(0, 2, 30).astype(float)
    s = review_sample(np.linspace(0, 0.5, 30), 100, strata=3)
    assert s.positions.tolist() == list(range(30)) and (s.inclusion == 1).all()
    e = estimate_mean(y[s.positions], s.stratum, s.design.strata)
    assert e.value == pytest.approx(y.mean()) and e.low == e.high == e.value and e.se == 0


# -- the estimator ------------------------------------------------------------------------------------------------
STRATA = [Stratum(0, 1000, 6, 0.0, 0.1, 0.05), Stratum(1, 400, 5, 0.1, 0.3, 0.2), Stratum(2, 100, 4, 0.3, 0.5, 0.4)]


def test_estimate_equals_the_hand_computation_with_nonresponse() -> None:
    y = np.array([1, 1, 1, 0, 1, np.nan,  # stratum 0: 5 of 6 answered
                  1, 0, np.nan, 1, 0,  # stratum 1: 4 of 5
                  0, 1, 0, 0])  # stratum 2: all 4
    h = np.array([0] * 6 + [1] * 5 + [2] * 4)
    e = estimate_mean(y, h, STRATA)
    N = np.array([1000, 400, 100])
    m = np.array([5, 4, 4])
    means = np.array([0.8, 0.5, 0.25])
    s2 = np.array([0.2, 1 / 3, 0.25])  # sample variances, ddof 1
    value = float((N * means).sum() / N.sum())
    var = float(((N / N.sum()) ** 2 * (1 - m / N) * s2 / m).sum())
    assert e.value == pytest.approx(value, abs=1e-15) and e.se == pytest.approx(math.sqrt(var), abs=1e-15)
    lo, hi = wilson(value, value * (1 - value) / var)
    assert (e.low, e.high) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert e.interval == "wilson_effective_n" and (e.sampled, e.responded) == (15, 13)
    assert [s.responded for s in e.strata] == [5, 4, 4] and e.response_rate == pytest.approx(13 / 15)
    # a unit of the design missing from the rows is a review that did not come back: the same estimate
    keep = ~np.isnan(y)
    e2 = estimate_mean(y[keep], h[keep], STRATA)
    assert (e2.value, e2.low, e2.high, e2.responded, e2.sampled) == (e.value, e.low, e.high, 13, 15)
    # numeric values: the t interval with Satterthwaite's degrees of freedom
    v = np.array([0.3, 1.2, 0.7, 0.1, 0.9, 0.4, 2.0, 1.1, 1.5, 0.2, 3.0, 2.5, 0.8, 1.9, 2.2])
    en = estimate_mean(v, h, STRATA)
    a = [(N[k] / N.sum()) ** 2 * (1 - 6 / N[k] if k == 0 else 1 - [6, 5, 4][k] / N[k])
         * np.var(v[h == k], ddof=1) / [6, 5, 4][k] for k in range(3)]
    df = sum(a) ** 2 / sum(x * x / ([6, 5, 4][k] - 1) for k, x in enumerate(a))
    mean_n = sum(N[k] * v[h == k].mean() for k in range(3)) / N.sum()
    q = sps.t.ppf(0.975, df)
    assert en.value == pytest.approx(mean_n, abs=1e-14) and en.df == pytest.approx(df, rel=1e-12)
    assert (en.low, en.high) == (pytest.approx(mean_n - q * math.sqrt(sum(a)), abs=1e-12),
                                 pytest.approx(mean_n + q * math.sqrt(sum(a)), abs=1e-12))


def test_full_response_is_horvitz_thompson() -> None:
    u = np.random.default_rng(5).random(2000) / 2
    y = (np.random.default_rng(6).random(2000) > u).astype(float)
    s = review_sample(u, 150, seed=1)
    e = estimate_mean(y[s.positions], s.stratum, s.design.strata)
    assert e.value == pytest.approx(float(np.sum(y[s.positions] / s.inclusion)) / 2000, abs=1e-12)


def test_a_stratum_short_of_two_answers_is_pooled_with_its_neighbour() -> None:
    y = np.array([1, 1, 0, 1, np.nan, np.nan,  # stratum 0: 4 answers
                  np.nan, 0, np.nan, np.nan, np.nan,  # stratum 1: 1 answer
                  1, 0, 1, 1])
    h = np.array([0] * 6 + [1] * 5 + [2] * 4)
    e = estimate_mean(y, h, STRATA)
    assert [s.pooled_with for s in e.strata] == [None, 1, 1]
    # strata 1 and 2 as one group of 500: their 5 answers weighted 1/pi (400/5 and 100/4), scaled to 500
    w = np.array([80.0, 25, 25, 25, 25])
    w = w * 500 / w.sum()
    yy = np.array([0, 1, 0, 1, 1.0])
    pooled = float(np.dot(w, yy) / 500)
    assert e.value == pytest.approx((1000 * 0.75 + 500 * pooled) / 1500, abs=1e-14)
    vg = (1 - 5 / 500) * 5 / 4 * float(np.sum((w * (yy - pooled)) ** 2))
    v0 = 1000 ** 2 * (1 - 4 / 1000) * np.var([1, 1, 0, 1], ddof=1) / 4
    assert e.se == pytest.approx(math.sqrt(vg + v0) / 1500, rel=1e-12)


def test_estimator_refuses_what_it_cannot_estimate() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        estimate_mean([1.0, np.nan], [0, 0], STRATA)
    with pytest.raises(ValueError, match="stratum 7 is not in the design"):
        estimate_mean([1.0, 0.0], [0, 7], STRATA)
    with pytest.raises(ValueError, match="its design drew 4"):
        estimate_mean([1.0] * 5, [2] * 5, STRATA)
    with pytest.raises(ValueError, match="random_share"):
        plan_design([0.1, 0.2], 1, random_share=1.5)
    with pytest.raises(ValueError, match="size"):
        plan_design([0.1, 0.2], 0)


# -- properties ------------------------------------------------------------------------------------------------
unc = st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(u=unc, size=st.integers(1, 400), strata=st.integers(1, 8), share=st.floats(0, 1), seed=st.integers(0, 2**32))
def test_design_properties(u: list[float], size: int, strata: int, share: float, seed: int) -> None:
    s = review_sample(u, size, strata=strata, random_share=share, seed=seed)
    d = s.design
    n = min(size, len(u))
    assert s.positions.size == n and np.unique(s.positions).size == n
    assert 0 <= s.positions.min() and s.positions.max() < len(u)
    assert d.inclusion_probabilities.sum() == pytest.approx(n, abs=1e-9)
    assert sum(st_.population for st_ in d.strata) == len(u)
    for st_ in d.strata:
        assert st_.population > 0 and (s.stratum == st_.index).sum() == st_.sampled
        assert min(st_.population, 1) <= st_.sampled <= st_.population  # every unit can be drawn
    assert np.array_equal(review_sample(u, size, strata=strata, random_share=share, seed=seed).positions, s.positions)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), u=st.lists(st.floats(0, 0.5), min_size=4, max_size=200), size=st.integers(4, 60))
def test_estimate_properties(data: st.DataObject, u: list[float], size: int) -> None:
    s = review_sample(u, size, strata=3, seed=0)
    y = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, float("nan")]), min_size=s.positions.size,
                                    max_size=s.positions.size)))
    if (~np.isnan(y)).sum() < 2:
        return
    e = estimate_mean(y, s.stratum, s.design.strata)
    answered = y[~np.isnan(y)]
    assert answered.min() - 1e-12 <= e.value <= answered.max() + 1e-12
    assert 0.0 <= e.low <= e.value <= e.high <= 1.0
    order = np.random.default_rng(0).permutation(y.size)
    e2 = estimate_mean(y[order], s.stratum[order], s.design.strata)
    assert e2.value == pytest.approx(e.value, abs=1e-12) and e2.se == pytest.approx(e.se, abs=1e-12)
    const = estimate_mean(np.where(np.isnan(y), np.nan, 0.25), s.stratum, s.design.strata)
    assert const.value == pytest.approx(0.25) and const.se == pytest.approx(0.0, abs=1e-15)


# -- simulations: unbiased, and the interval covers ----------------------------------------------------------------
def simulate(y: np.ndarray, u: np.ndarray, size: int, reps: int, missing: float = 0.0
             ) -> tuple[np.ndarray, float, np.ndarray]:
    """Estimates, coverage of the truth, and the unweighted sample means, over ``reps`` seeded draws."""
    d = plan_design(u, size, strata=5, random_share=0.3)
    est, naive, covered = np.empty(reps), np.empty(reps), 0
    truth = y.mean()
    for r in range(reps):
        s = draw(d, seed=r)
        v = y[s.positions].copy()
        if missing:  # missing at random within the strata
            v[np.random.default_rng(10**6 + r).random(v.size) < missing] = np.nan
        e = estimate_mean(v, s.stratum, d.strata)
        est[r], naive[r] = e.value, np.nanmean(v)
        covered += e.low <= truth <= e.high
    return est, covered / reps, naive


@pytest.mark.slow  # a Monte Carlo check: its power is in its thousands of simulated draws
def test_accuracy_estimate_is_unbiased_and_covers_with_nonresponse() -> None:
    """A calibrated binary model on 20,000 predictions, 400 reviewed, 20% of reviews lost at random:
    over 2,000 samples the mean estimate is within 4 Monte-Carlo standard errors of the true accuracy and
    the 95% interval covers 93-97% of the time. The sample's plain mean is biased (uncertain predictions
    are oversampled; here it is 0.04 too low): the weights are what make it right."""
    rng = np.random.default_rng(11)
    p = rng.beta(0.6, 0.6, 20_000)
    u = binary_uncertainty(p)
    correct = (rng.random(p.size) < 1 - u).astype(float)
    est, coverage, naive = simulate(correct, u, 400, 2000, missing=0.2)
    truth = correct.mean()
    mc = est.std(ddof=1) / math.sqrt(est.size)
    assert abs(est.mean() - truth) < 4 * mc, (est.mean(), truth, mc)
    assert 0.93 <= coverage <= 0.97, coverage
    assert truth - naive.mean() > 20 * mc


@pytest.mark.slow  # a Monte Carlo check: its power is in its thousands of simulated draws
def test_mean_absolute_error_estimate_is_unbiased_and_covers() -> None:
    """A regressor whose absolute error grows with its uncertainty (skewed, numeric): 1,500 samples of 300
    from 20,000, the t interval with Satterthwaite's degrees of freedom."""
    rng = np.random.default_rng(3)
    u = rng.beta(1, 3, 20_000)
    err = np.abs(rng.normal(0.0, 0.2 + 2 * u))
    est, coverage, _ = simulate(err, u, 300, 1500)
    mc = est.std(ddof=1) / math.sqrt(est.size)
    assert abs(est.mean() - err.mean()) < 4 * mc
    assert 0.93 <= coverage <= 0.97, coverage


@pytest.mark.slow  # a Monte Carlo check: its power is in its thousands of simulated draws
def test_accurate_model_small_sample_coverage() -> None:
    """Accuracy near 0.9 with 200 reviews, where a confident stratum often has no error at all in its
    sample (its variance estimate 0): Wilson at the effective sample size still covers."""
    rng = np.random.default_rng(7)
    p = rng.beta(0.2, 0.2, 50_000)
    u = binary_uncertainty(p)
    correct = (rng.random(p.size) < 1 - u).astype(float)
    est, coverage, _ = simulate(correct, u, 200, 2000)
    mc = est.std(ddof=1) / math.sqrt(est.size)
    assert abs(est.mean() - correct.mean()) < 4 * mc
    assert 0.93 <= coverage <= 0.97, coverage
