"""Two-sample tests and distances on counts or exact samples.

Pure functions of numbers (numpy and scipy only). Counts are always
*aligned*: index i of the reference and current arrays is the same bin or
category. Every function here has a test against scipy or a hand
computation in tests/test_stats.py.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as sps
from scipy.spatial import distance as spd

PSI_EPSILON = 1e-4
"""Share substituted for an empty bin in PSI (the customary value; without
it PSI is infinite as soon as one side has a bin the other lacks)."""


@dataclass(frozen=True)
class TestResult:
    """A test's statistic and p-value, and how it was made.

    Samples 1, 2, 3 and 4, 5, 6 do not overlap, so KS's D is 1; of the C(6, 3) = 20 ways to split six
    values into two threes, 2 give D = 1, so the exact p-value is 0.1 (``scipy.stats.ks_2samp``).

    >>> r = ks_exact(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    >>> r.method, r.statistic, round(r.p_value, 6)
    ('ks', 1.0, 0.1)
    """

    method: str
    statistic: float
    p_value: float
    dof: int | None = None


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts, dtype=float)


def ks_exact(ref: np.ndarray, cur: np.ndarray) -> TestResult:
    """Two-sided two-sample KS on raw values: scipy's own computation (it
    falls back to the asymptotic p-value, with a warning we silence, when
    the exact one does not converge)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = sps.ks_2samp(ref, cur, alternative="two-sided", method="auto")
    return TestResult("ks", float(r.statistic), float(r.pvalue))


def ks_statistic_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Largest gap between the two empirical CDFs at the bin edges.

    Bins must be ordered. This is the exact KS statistic when every distinct
    value has its own bin and a lower bound otherwise, so a p-value from it
    is conservative (never smaller than the exact test's).
    """
    fr = np.cumsum(_shares(np.asarray(ref_counts, dtype=float)))
    fc = np.cumsum(_shares(np.asarray(cur_counts, dtype=float)))
    return float(np.max(np.abs(fr - fc))) if fr.size else 0.0


EXACT_KS_DISTRIBUTION_MAX_N = 10_000
"""Up to this effective sample size the p-value uses the exact one-sample
Kolmogorov distribution at n = m*n/(m+n), as scipy's ks_2samp 'asymp'; above
it scipy's exact routine takes seconds a call, and Stephens' (1970)
corrected limit distribution agrees with it to about three digits."""


def _stephens(en: float) -> float:
    r = math.sqrt(en)
    return r + 0.12 + 0.11 / r


def ks_p_value(d: float, n_ref: int, n_cur: int) -> float:
    """Two-sided KS p-value for the two-sample distance ``d``."""
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    en = m * n / (m + n)
    if en <= EXACT_KS_DISTRIBUTION_MAX_N:
        p = sps.kstwo.sf(d, np.round(en))
    else:
        p = sps.kstwobign.sf(_stephens(en) * d)
    return float(np.clip(p, 0.0, 1.0))


def ks_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> TestResult:
    d = ks_statistic_from_counts(ref_counts, cur_counts)
    return TestResult("ks_binned", d, ks_p_value(d, int(np.sum(ref_counts)), int(np.sum(cur_counts))))


def ks_detectable(alpha: float, n_ref: int, n_cur: int) -> float:
    """The smallest KS distance that would reach significance ``alpha`` at
    these sample sizes: what a report can honestly say it could have seen."""
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    return _ks_critical(float(alpha), max(1.0, float(np.round(m * n / (m + n)))))


@lru_cache(maxsize=1024)
def _ks_critical(alpha: float, en: float) -> float:
    # scipy's inverse is slow at some n (docs/BENCHMARKS.md, "Figures behind the code"); columns of one report share their n
    if en <= EXACT_KS_DISTRIBUTION_MAX_N:
        return float(sps.kstwo.isf(alpha, en))
    return float(sps.kstwobign.isf(alpha) / _stephens(en))


def merge_sparse_bins(ref_counts: np.ndarray, cur_counts: np.ndarray, min_expected: float = 5.0,
                      ordered: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pool bins until every cell's expected count (under homogeneity) is at
    least ``min_expected``, the textbook condition for the chi-square
    approximation. Ordered bins merge with a neighbour; unordered categories
    pool their rarest members into one cell."""
    r = np.asarray(ref_counts, dtype=float)
    c = np.asarray(cur_counts, dtype=float)
    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    n_r, n_c = r.sum(), c.sum()
    if n_r == 0 or n_c == 0 or r.size < 2:
        return r, c
    # expected count of the smaller side in a cell with pooled total t is
    # t * min(n_r, n_c) / N: require t >= min_expected * N / min(n_r, n_c)
    need = min_expected * (n_r + n_c) / min(n_r, n_c)
    if ordered:
        out_r: list[float] = []
        out_c: list[float] = []
        acc_r = acc_c = 0.0
        for i in range(r.size):
            acc_r += r[i]
            acc_c += c[i]
            if acc_r + acc_c >= need:
                out_r.append(acc_r)
                out_c.append(acc_c)
                acc_r = acc_c = 0.0
        if acc_r + acc_c > 0:
            if out_r:
                out_r[-1] += acc_r
                out_c[-1] += acc_c
            else:
                out_r.append(acc_r)
                out_c.append(acc_c)
        return np.array(out_r), np.array(out_c)
    t = r + c
    small = t < need
    if small.sum() <= 1 or (~small).sum() == 0:
        if (~small).sum() == 0:
            return np.array([r.sum()]), np.array([c.sum()])
        return r, c
    pooled_r, pooled_c = r[small].sum(), c[small].sum()
    r, c = r[~small], c[~small]
    if pooled_r + pooled_c >= need or r.size == 0:
        return np.append(r, pooled_r), np.append(c, pooled_c)
    # the pooled cell is still too small: fold it into the smallest big cell
    j = int(np.argmin(r + c))
    r[j] += pooled_r
    c[j] += pooled_c
    return r, c


def chi2_homogeneity(ref_counts: np.ndarray, cur_counts: np.ndarray) -> TestResult:
    """Pearson chi-square test that two samples share one distribution: the
    2 x K contingency test (scipy.stats.chi2_contingency without Yates'
    correction). The reference is a sample too, so its noise counts; a
    one-sample goodness-of-fit against reference shares would not."""
    r = np.asarray(ref_counts, dtype=float)
    c = np.asarray(cur_counts, dtype=float)
    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    k = r.size
    n_r, n_c = r.sum(), c.sum()
    if k < 2 or n_r == 0 or n_c == 0:
        return TestResult("chi2", 0.0, 1.0, max(k - 1, 0))
    n = n_r + n_c
    t = r + c
    e_r = t * n_r / n
    e_c = t * n_c / n
    stat = float(((r - e_r) ** 2 / e_r).sum() + ((c - e_c) ** 2 / e_c).sum())
    dof = k - 1
    return TestResult("chi2", stat, float(sps.chi2.sf(stat, dof)), dof)


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index: sum over bins of (c - r) * ln(c / r) on
    shares, an empty bin counting as ``epsilon``."""
    p = np.maximum(_shares(np.asarray(ref_counts, dtype=float)), epsilon)
    q = np.maximum(_shares(np.asarray(cur_counts, dtype=float)), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance in base 2, so it lies in [0, 1]."""
    p = _shares(np.asarray(ref_counts, dtype=float))
    q = _shares(np.asarray(cur_counts, dtype=float))
    if p.sum() == 0 or q.sum() == 0:
        return 0.0
    return float(spd.jensenshannon(p, q, base=2.0))


def total_variation(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Half the L1 distance of the shares: the largest change in the share of
    rows falling into any one set of categories."""
    return float(0.5 * np.abs(_shares(np.asarray(ref_counts, dtype=float))
                              - _shares(np.asarray(cur_counts, dtype=float))).sum())


def wasserstein(ref_values: np.ndarray, cur_values: np.ndarray,
                ref_weights: np.ndarray | None = None, cur_weights: np.ndarray | None = None) -> float:
    """Earth mover's distance (scipy.stats.wasserstein_distance); with weights
    it is computed between weighted atoms (e.g. bin means with bin counts)."""
    if len(ref_values) == 0 or len(cur_values) == 0:
        return 0.0
    return float(sps.wasserstein_distance(ref_values, cur_values, ref_weights, cur_weights))


def tail_change(ref_mass: np.ndarray, cur_mass: np.ndarray) -> tuple[float, int]:
    """Largest relative change of a tail mass, and its index.

    ``ref_mass[i]`` and ``cur_mass[i]`` are the shares beyond the same
    extreme reference quantile (below a low one, above a high one). 0.5
    means that tail became half again as heavy, or lost half its rows.
    """
    r = np.asarray(ref_mass, dtype=float)
    c = np.asarray(cur_mass, dtype=float)
    ok = r > 0
    if not ok.any():
        return 0.0, -1
    rel = np.zeros_like(r)
    rel[ok] = np.abs(c[ok] - r[ok]) / r[ok]
    i = int(np.argmax(rel))
    return float(rel[i]), i


def adjust_p_values(p_values: list[float], method: str = "holm") -> list[float]:
    """Family-wise adjusted p-values (Holm's step-down or Bonferroni).

    Holm (1979) controls the family-wise error rate under any dependence
    between the tests and rejects at least what Bonferroni rejects.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    if method == "bonferroni":
        return list(np.minimum(1.0, p * m))
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return list(adj)


def correlation_change_p(r_ref: float, n_ref: int, r_cur: float, n_cur: int) -> float:
    """Two-sided p-value that two Pearson correlations differ (Fisher's z)."""
    return float(correlation_change_ps(np.array([r_ref]), np.array([n_ref]), np.array([r_cur]), np.array([n_cur]))[0])


def correlation_change_ps(r_ref: np.ndarray, n_ref: np.ndarray, r_cur: np.ndarray, n_cur: np.ndarray) -> np.ndarray:
    """``correlation_change_p`` for many pairs at once: one call of the normal tail instead of one per pair,
    whose overhead adds up over the pairs of a wide table (docs/BENCHMARKS.md, "Figures behind the code")."""
    r_ref, r_cur = np.asarray(r_ref, dtype=float), np.asarray(r_cur, dtype=float)
    n_ref, n_cur = np.asarray(n_ref, dtype=float), np.asarray(n_cur, dtype=float)
    ok = (n_ref > 3) & (n_cur > 3) & np.isfinite(r_ref) & np.isfinite(r_cur)
    clip = 1 - 1e-12
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.arctanh(np.clip(r_ref, -clip, clip)) - np.arctanh(np.clip(r_cur, -clip, clip))
        se = np.sqrt(1.0 / (n_ref - 3) + 1.0 / (n_cur - 3))
        p = 2.0 * sps.norm.sf(np.abs(z) / se)
    return np.where(ok, p, 1.0)


UNSEEN_EFFECT_FLOOR = 0.05
"""Changes of the unseen share are measured relative to the smaller of it and its complement, but never
relative to less than this: a column whose values almost never repeat cannot show a relative change in a
repeat rate of 0.1%, and a move of a tenth of a percentage point is not one anybody acts on."""


@dataclass(frozen=True)
class UnseenMassResult:
    """The unseen-value test of a near-unique column.

    10 singletons and 5 doubletons in 100 reference rows predict an unseen share of 10 / 100 = 0.1 (Good-
    Turing), with variance (10 + 2 * 5) / 100² - 10² / 100³ = 0.0019. Seeing 25 of 100 current values unseen
    gives z = 0.15 / sqrt(0.1 * 0.9 / 100 + 0.0019) = 2.8347, p = ``scipy.stats.norm.sf(2.8347)`` = 0.00229,
    and a rise of 1.5 times the predicted share.

    >>> r = unseen_mass_test(100, 10, 5, 100, 25)
    >>> r.expected, r.observed, round(r.statistic, 4), round(r.p_value, 5), round(r.effect, 4)
    (0.1, 0.25, 2.8347, 0.00229, 1.5)
    """

    statistic: float  # z
    p_value: float
    expected: float  # Good-Turing estimate of the unseen share
    observed: float  # the current data's unseen share
    effect: float  # the rise of the unseen share relative to the minority share (UNSEEN_EFFECT_FLOOR at least)


def unseen_mass_test(ref_rows: int, singletons: int, doubletons: int, cur_rows: int,
                     cur_unseen: int) -> UnseenMassResult:
    """Does the current data hold more values unseen in the reference than the reference predicts?

    Under "same distribution", each current value is unseen with probability M0, the mass of values the
    reference sample missed; Good (1953) and Turing estimate it by ``singletons / ref_rows``. The current
    count is binomial given M0, and the estimate's own error has variance about
    ``(f1 + 2 f2) / n**2 - f1**2 / n**3`` (Esty 1983), so both enter a z test. The estimate is for a
    sample of n - 1 values, a bias of order f1/n**2, far below either standard error.

    One-sided: a new population brings values nobody has seen. Fewer unseen values than predicted means
    the current data repeats the reference's own values (the reference replayed, a model scored on its
    training rows): identical data must never read as drift, so that direction is reported, not tested.
    """
    n, m = float(ref_rows), float(cur_rows)
    if n < 1 or m < 1:
        return UnseenMassResult(0.0, 1.0, 0.0, 0.0, 0.0)
    gt = singletons / n
    var_gt = max((singletons + 2.0 * doubletons) / n**2 - singletons**2 / n**3, 1.0 / n**2)
    p0 = min(max(gt, 1.0 / (n + 1.0)), 1.0 - 1.0 / (n + 1.0))
    observed = cur_unseen / m
    z = (observed - gt) / math.sqrt(p0 * (1.0 - p0) / m + var_gt)
    effect = max(observed - gt, 0.0) / max(min(gt, 1.0 - gt), UNSEEN_EFFECT_FLOOR)
    return UnseenMassResult(float(z), float(sps.norm.sf(z)), gt, observed, effect)


@dataclass(frozen=True)
class NetDistance:
    """A distance between category counts and the part of it that sampling noise cannot explain.

    50/50 against 60/40 over 100 rows each: pooled shares 0.55 and 0.45 give each cell a noise of
    sqrt(2/pi) sqrt(0.55 * 0.45 * 0.02) = 0.05614, so TVD's noise is 0.05614 and its net
    0.1 - 0.05614 = 0.04386; PSI is 0.1 ln 1.2 - 0.1 ln 0.8 = 0.04055, its noise 1 * 0.02.

    >>> d = net_distance(np.array([50, 50]), np.array([60, 40]))
    >>> round(d.tvd_noise, 5), round(d.tvd_net, 5), float(d.psi_noise), round(float(d.psi_net), 5)
    (0.05614, 0.04386, 0.02, 0.02055)
    """

    tvd_noise: float  # what TVD comes to by noise alone, when both samples share one distribution
    psi_noise: float  # the same for PSI
    tvd_net: float  # the larger of TVD minus its noise and the largest one-cell change minus that cell's noise
    psi_net: float  # PSI minus its noise


def net_distance(ref_counts: np.ndarray, cur_counts: np.ndarray) -> NetDistance:
    """TVD and PSI net of what sampling noise alone gives at these counts.

    Per category the difference of shares has sd ``sqrt(pi (1 - pi) (1/n_r + 1/n_c))`` under one shared
    distribution (pooled shares ``pi``) and mean absolute value ``sqrt(2/pi)`` of that, so TVD's noise is
    half their sum; PSI is about the chi-square statistic times ``1/n_r + 1/n_c``, whose mean is its
    degrees of freedom. Over a handful of categories both are small next to any threshold once samples
    reach thousands of rows; over thousands of one-off categories they are not (random halves of a
    3,900-level column differ by a TVD near 0.08). A change spread thinly over many noisy cells cannot
    be told from their noise, so the largest change of any one cell (its own noise removed) is also a
    lower bound of the TVD: 3% of rows moving into one category count in full.
    """
    r = np.asarray(ref_counts, dtype=float)
    c = np.asarray(cur_counts, dtype=float)
    n_r, n_c = r.sum(), c.sum()
    if n_r <= 0 or n_c <= 0:
        return NetDistance(0.0, 0.0, 0.0, 0.0)
    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    pooled = (r + c) / (n_r + n_c)
    scale = 1.0 / n_r + 1.0 / n_c
    cell_noise = math.sqrt(2.0 / math.pi) * np.sqrt(pooled * (1.0 - pooled) * scale)
    tvd_noise = 0.5 * float(cell_noise.sum())
    psi_noise = max(pooled.size - 1, 0) * scale
    one_cell = float(np.max(np.abs(c / n_c - r / n_r) - cell_noise)) if pooled.size else 0.0
    tvd_net = max(total_variation(r, c) - tvd_noise, one_cell, 0.0)
    return NetDistance(tvd_noise, psi_noise, tvd_net, max(psi(r, c) - psi_noise, 0.0))


def max_cell_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> TestResult:
    """The one category whose share changed most, standardised, Bonferroni over the categories.

    A chi-square over thousands of cells spreads its power over all of them: a change concentrated in
    one category, or in the pooled rare ones (rows moving to many new one-off values), adds a few
    hundred to a statistic whose null spread is sqrt(2 * dof) and stays unseen. Each cell's
    difference of shares over its sd under one shared distribution is about normal once cells expect
    5+ rows a side (``merge_sparse_bins``), so the largest |z| with a Bonferroni factor is a valid
    test that sees exactly that case.
    """
    r = np.asarray(ref_counts, dtype=float)
    c = np.asarray(cur_counts, dtype=float)
    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    n_r, n_c = r.sum(), c.sum()
    if r.size < 2 or n_r <= 0 or n_c <= 0:
        return TestResult("max_cell", 0.0, 1.0)
    pooled = (r + c) / (n_r + n_c)
    sd = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n_r + 1.0 / n_c))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd > 0, (c / n_c - r / n_r) / sd, 0.0)
    worst = float(np.max(np.abs(z)))
    return TestResult("max_cell", worst, float(min(1.0, r.size * 2.0 * sps.norm.sf(worst))))
