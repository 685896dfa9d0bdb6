"""Two versions of a model side by side: differences of their metrics, with intervals and tests.

A champion (the version serving now) and a challenger (a canary on part of
the traffic, or a shadow scoring the same requests) are compared on the
same labels. How depends on whether the labelled ids are shared:

- **unpaired** (split traffic: each request went to one version, the two
  samples are independent): the difference of two proportions by
  Newcombe's hybrid score interval (Newcombe 1998, method 10: Wilson
  intervals of each, combined; it keeps its coverage near 0 and 1 where
  Wald's does not); ROC AUC by the sum of the two DeLong variances; MAE by
  Welch's t interval of the two means of absolute errors; RMSE by the delta
  method on each mean squared error.
- **paired** (shadow: the same id scored by both, one label): far more
  powerful, since what both versions get right or wrong alike cancels.
  Accuracy by McNemar's test on the discordant pairs (exact and mid-p) and
  the Agresti-Min interval (Wald on the paired differences after adding a
  half to each cell of the 2x2 table; Agresti & Min 2005, which covers near
  95% where plain Wald under-covers); ROC AUC by DeLong, DeLong &
  Clarke-Pearson (1988): both AUCs' placement values on the same positives
  and negatives, the variance of their difference from their covariance;
  MAE by the t interval of the paired differences of absolute errors; RMSE
  by the delta method on the paired squared errors.

Every difference is challenger minus champion, in the metric's units.

Operational differences need no labels: the error rate (two proportions)
and latency quantiles. A quantile's interval comes from order statistics
(the binomial, distribution-free), turned into a standard error and
combined for the two versions (the approach of Price & Bonett 2002 for
medians), on the raw scale for the difference in ms and on the log scale
for the ratio.

How many labels a decision needs, for a difference ``delta`` at two-sided
``alpha`` and ``power``: Connor (1987) for McNemar's test from the
discordance rate; the two-proportion formula (Fleiss) with the observed
allocation for split traffic; for the rest, the observed standard error
scaled as 1/sqrt(n): ``n (z_{1-a/2} + z_power)^2 se^2 / delta^2``.

Coverage of each interval and the power at the planned sizes are checked by
simulation in tests/test_compare.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as sps

from argusml.stats.performance import wilson


@dataclass(frozen=True)
class Difference:
    """Challenger minus champion on one measure, its interval, the test of "no difference", and the
    numbers behind it (``extra``: what a sample-size plan needs, e.g. the discordant pairs).

    80 of 100 right against 90 of 100: the pooled share is 0.85, so the z statistic is
    0.1 / sqrt(0.85 * 0.15 * (1/100 + 1/100)) = 1.9803 and the two-sided p-value 2 * (1 - Phi(1.9803)) =
    0.0477 (``2 * scipy.stats.norm.sf(1.9803)``). ``se`` is the Newcombe interval's half-width over 1.96.

    >>> d = proportion_difference(80, 100, 90, 100)
    >>> round(d.difference, 4), round(d.p_value, 4), round(d.low, 4), round(d.high, 4)
    (0.1, 0.0477, 0.0001, 0.1995)
    >>> round(d.se, 4) == round((d.high - d.low) / (2 * 1.959964), 4)
    True
    """

    metric: str
    champion: float
    challenger: float
    difference: float
    low: float
    high: float
    method: str  # newcombe | agresti_min | delong | delong_paired | welch | paired_t | delta | delta_paired | ...
    p_value: float
    test: str
    n_champion: int
    n_challenger: int
    paired: bool
    confidence: float = 0.95
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def se(self) -> float:
        """The standard error the interval implies (its half-width over z); NaN without an interval."""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return float("nan")
        return (self.high - self.low) / (2 * _z(self.confidence))

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "champion": _num(self.champion), "challenger": _num(self.challenger),
                "difference": _num(self.difference), "low": _num(self.low), "high": _num(self.high),
                "interval": self.method, "confidence": self.confidence, "test": self.test,
                "p_value": _num(self.p_value), "n_champion": self.n_champion, "n_challenger": self.n_challenger,
                "paired": self.paired, **{k: _num(v) if isinstance(v, float) else v for k, v in self.extra.items()}}


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def z_of(confidence: float) -> float:
    """The normal quantile of a two-sided interval at ``confidence`` (1.96 at 0.95)."""
    return float(special.ndtri(0.5 + confidence / 2))


_z = z_of


def _two_sided(z: float) -> float:
    return float(2 * special.ndtr(-abs(z))) if math.isfinite(z) else float("nan")


NAN = float("nan")


# -- proportions ---------------------------------------------------------------------------------------
def proportion_difference(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95,
                          metric: str = "accuracy") -> Difference:
    """Independent samples: ``x2/n2 - x1/n1`` with Newcombe's hybrid score interval and the pooled z test."""
    if n1 <= 0 or n2 <= 0:
        p1 = x1 / n1 if n1 > 0 else NAN
        p2 = x2 / n2 if n2 > 0 else NAN
        return Difference(metric, p1, p2, p2 - p1, NAN, NAN, "newcombe", NAN, "two_proportion_z", n1, n2, False,
                          confidence)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = _two_sided(d / se0) if se0 > 0 else (1.0 if d == 0 else 0.0)
    return Difference(metric, p1, p2, d, low, high, "newcombe", p, "two_proportion_z", n1, n2, False, confidence)


def mcnemar(b: int, c: int) -> dict[str, Any]:
    """McNemar's test on the discordant pairs: ``b`` champion right and challenger wrong, ``c`` the
    reverse. Exact: the two-sided binomial test of ``min(b, c)`` among ``b + c`` at 1/2; mid-p subtracts
    half the probability of the observed count (less conservative, close to nominal; Fagerland,
    Lydersen & Laake 2013)."""
    m = b + c
    if m == 0:
        return {"test": "mcnemar", "b": b, "c": c, "p_exact": 1.0, "p_mid": 1.0}
    k = min(b, c)
    cdf = float(sps.binom.cdf(k, m, 0.5))
    pmf = float(sps.binom.pmf(k, m, 0.5))
    return {"test": "mcnemar", "b": b, "c": c, "p_exact": min(1.0, 2 * cdf), "p_mid": min(1.0, 2 * (cdf - pmf / 2))}


def paired_proportion_difference(correct1: np.ndarray, correct2: np.ndarray, confidence: float = 0.95,
                                 metric: str = "accuracy") -> Difference:
    """The same ids judged right or wrong by both: ``mean(correct2) - mean(correct1)`` with the
    Agresti-Min interval and McNemar's exact test."""
    c1 = np.asarray(correct1, dtype=bool)
    c2 = np.asarray(correct2, dtype=bool)
    n = int(c1.size)
    b = int((c1 & ~c2).sum())
    c = int((~c1 & c2).sum())
    return paired_proportion_counts(b, c, n, int(c1.sum()), confidence, metric)


def paired_proportion_counts(b: int, c: int, n: int, x1: int, confidence: float = 0.95,
                             metric: str = "accuracy") -> Difference:
    """``paired_proportion_difference`` from the counts: ``b``, ``c`` discordant pairs of ``n``, ``x1``
    the champion's successes."""
    test = mcnemar(b, c)
    extra = {"b": b, "c": c, "pairs": n, "p_mid": test["p_mid"]}
    if n <= 0:
        return Difference(metric, NAN, NAN, NAN, NAN, NAN, "agresti_min", NAN, "mcnemar_exact", 0, 0, True,
                          confidence, extra)
    p1 = x1 / n
    p2 = (x1 - b + c) / n
    bs, cs, ns = b + 0.5, c + 0.5, n + 2.0
    centre = (cs - bs) / ns
    var = max((bs + cs) - (cs - bs) ** 2 / ns, 0.0) / ns ** 2
    half = _z(confidence) * math.sqrt(var)
    return Difference(metric, p1, p2, p2 - p1, max(-1.0, centre - half), min(1.0, centre + half), "agresti_min",
                      test["p_exact"], "mcnemar_exact", n, n, True, confidence, extra)


# -- ROC AUC -------------------------------------------------------------------------------------------
def placements(y: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """ROC AUC and DeLong's placement values: per positive, the share of negatives it beats (ties a half);
    per negative, the share of positives that beat it. Their means are the AUC; their spreads its variance."""
    yb = np.asarray(y, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    pos, neg = s[yb], s[~yb]
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        return NAN, np.zeros(m), np.zeros(n)
    r_all = sps.rankdata(np.concatenate([pos, neg]))
    v10 = (r_all[:m] - sps.rankdata(pos)) / n
    v01 = 1.0 - (r_all[m:] - sps.rankdata(neg)) / m
    return float(v10.mean()), v10, v01


def _var_mean(v: np.ndarray) -> float:
    return float(v.var(ddof=1)) / v.size if v.size > 1 else 0.0


def auc_difference(y1: np.ndarray, s1: np.ndarray, y2: np.ndarray, s2: np.ndarray,
                   confidence: float = 0.95) -> Difference:
    """Independent samples: the difference of two ROC AUCs, its variance the sum of their DeLong variances."""
    a1, p1, n1 = placements(y1, s1)
    a2, p2, n2 = placements(y2, s2)
    d = a2 - a1
    var = _var_mean(p1) + _var_mean(n1) + _var_mean(p2) + _var_mean(n2)
    se = math.sqrt(var)
    half = _z(confidence) * se
    p = _two_sided(d / se) if se > 0 else (1.0 if d == 0 else NAN)
    return Difference("roc_auc", a1, a2, d, d - half, d + half, "delong", p, "delong_z", int(np.size(y1)),
                      int(np.size(y2)), False, confidence)


def paired_auc_difference(y: np.ndarray, s1: np.ndarray, s2: np.ndarray, confidence: float = 0.95) -> Difference:
    """The same labelled ids scored by both: DeLong et al. (1988). With placements V of each model on the
    same positives and negatives, ``var(A2 - A1) = var(V10_2 - V10_1) / m + var(V01_2 - V01_1) / n``
    (the covariance form ``S11 + S22 - 2 S12`` per class, written as the variance of differences)."""
    a1, p1, n1 = placements(y, s1)
    a2, p2, n2 = placements(y, s2)
    d = a2 - a1
    se = math.sqrt(_var_mean(p2 - p1) + _var_mean(n2 - n1))
    half = _z(confidence) * se
    p = _two_sided(d / se) if se > 0 else (1.0 if d == 0 else NAN)
    n = int(np.size(y))
    return Difference("roc_auc", a1, a2, d, d - half, d + half, "delong_paired", p, "delong_paired_z", n, n, True,
                      confidence)


# -- regression errors -----------------------------------------------------------------------------------
def mean_difference(a: np.ndarray, b: np.ndarray, confidence: float = 0.95, metric: str = "mae") -> Difference:
    """Independent samples: ``mean(b) - mean(a)`` with Welch's t interval (unequal variances)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n1, n2 = a.size, b.size
    return mean_difference_from_summary(
        n1, float(a.mean()) if n1 else NAN, float(a.var(ddof=1)) if n1 > 1 else NAN,
        n2, float(b.mean()) if n2 else NAN, float(b.var(ddof=1)) if n2 > 1 else NAN, confidence, metric)


def mean_difference_from_summary(n1: int, m1: float, var1: float, n2: int, m2: float, var2: float,
                                 confidence: float = 0.95, metric: str = "mean") -> Difference:
    """:func:`mean_difference` from each side's count, mean and sample variance: for summaries that merge
    (running sums of a window) where the values themselves are gone."""
    d = m2 - m1
    if n1 < 2 or n2 < 2:
        return Difference(metric, m1, m2, d, NAN, NAN, "welch", NAN, "welch_t", n1, n2, False, confidence)
    va, vb = var1 / n1, var2 / n2
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(metric, m1, m2, d, d, d, "welch", 1.0 if d == 0 else 0.0, "welch_t", n1, n2, False,
                          confidence)
    df = (va + vb) ** 2 / (va ** 2 / (n1 - 1) + vb ** 2 / (n2 - 1))
    half = float(special.stdtrit(df, 0.5 + confidence / 2)) * se
    p = float(2 * special.stdtr(df, -abs(d / se)))
    return Difference(metric, m1, m2, d, d - half, d + half, "welch", p, "welch_t", n1, n2, False, confidence,
                      {"df": df})


def paired_mean_difference(a: np.ndarray, b: np.ndarray, confidence: float = 0.95, metric: str = "mae"
                           ) -> Difference:
    """The same ids: the t interval of the mean of ``b - a`` (per-id differences, e.g. of absolute errors)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = b - a
    n = diff.size
    m1 = float(a.mean()) if n else NAN
    m2 = float(b.mean()) if n else NAN
    d = m2 - m1
    if n < 2:
        return Difference(metric, m1, m2, d, NAN, NAN, "paired_t", NAN, "paired_t", n, n, True, confidence)
    se = float(diff.std(ddof=1)) / math.sqrt(n)
    if se == 0:
        return Difference(metric, m1, m2, d, d, d, "paired_t", 1.0 if d == 0 else 0.0, "paired_t", n, n, True,
                          confidence)
    half = float(special.stdtrit(n - 1, 0.5 + confidence / 2)) * se
    p = float(2 * special.stdtr(n - 1, -abs(d / se)))
    return Difference(metric, m1, m2, d, d - half, d + half, "paired_t", p, "paired_t", n, n, True, confidence)


def rmse_difference(sq1: np.ndarray, sq2: np.ndarray, confidence: float = 0.95) -> Difference:
    """Independent samples of squared errors: ``sqrt(mean(sq2)) - sqrt(mean(sq1))``; each RMSE's variance
    by the delta method, ``var(sq) / (4 n MSE)``, the two added."""
    sq1 = np.asarray(sq1, dtype=np.float64)
    sq2 = np.asarray(sq2, dtype=np.float64)
    n1, n2 = sq1.size, sq2.size
    r1 = math.sqrt(float(sq1.mean())) if n1 else NAN
    r2 = math.sqrt(float(sq2.mean())) if n2 else NAN
    d = r2 - r1
    if n1 < 2 or n2 < 2 or r1 == 0 or r2 == 0:
        return Difference("rmse", r1, r2, d, NAN, NAN, "delta", NAN, "delta_z", n1, n2, False, confidence)
    var = float(sq1.var(ddof=1)) / (4 * n1 * r1 * r1) + float(sq2.var(ddof=1)) / (4 * n2 * r2 * r2)
    se = math.sqrt(var)
    half = _z(confidence) * se
    return Difference("rmse", r1, r2, d, d - half, d + half, "delta", _two_sided(d / se) if se > 0 else NAN,
                      "delta_z", n1, n2, False, confidence)


def paired_rmse_difference(sq1: np.ndarray, sq2: np.ndarray, confidence: float = 0.95) -> Difference:
    """The same ids' squared errors: the delta method on the pair of means, i.e. the variance of
    ``sq2 / (2 RMSE2) - sq1 / (2 RMSE1)`` over ``n``."""
    sq1 = np.asarray(sq1, dtype=np.float64)
    sq2 = np.asarray(sq2, dtype=np.float64)
    n = sq1.size
    r1 = math.sqrt(float(sq1.mean())) if n else NAN
    r2 = math.sqrt(float(sq2.mean())) if n else NAN
    d = r2 - r1
    if n < 2 or r1 == 0 or r2 == 0:
        return Difference("rmse", r1, r2, d, NAN, NAN, "delta_paired", NAN, "delta_z", n, n, True, confidence)
    se = float((sq2 / (2 * r2) - sq1 / (2 * r1)).std(ddof=1)) / math.sqrt(n)
    half = _z(confidence) * se
    return Difference("rmse", r1, r2, d, d - half, d + half, "delta_paired", _two_sided(d / se) if se > 0 else NAN,
                      "delta_z", n, n, True, confidence)


# -- latency quantiles ---------------------------------------------------------------------------------
def quantile_positions(n: int, q: float, confidence: float = 0.95) -> tuple[float, float]:
    """0-based (fractional) positions in the sorted values of a distribution-free interval of the ``q``
    quantile: the count below it is binomial(n, q), so the positions are ``q (n - 1) -+ z sqrt(n q (1 - q))``
    (normal approximation), read by linear interpolation as numpy's quantile is. Whole order statistics
    (floor and ceiling) would cover more than asked: 97% for a p95 of 500 values, not 95%."""
    half = _z(confidence) * math.sqrt(n * q * (1 - q))
    pos = q * (n - 1)
    return max(0.0, pos - half), min(float(n - 1), pos + half)


def _quantile_and_bounds(x: np.ndarray, q: float, confidence: float) -> tuple[float, float, float]:
    n = x.size
    lo, hi = quantile_positions(n, q, confidence)
    positions = (q * (n - 1), lo, hi)
    ranks = sorted({r for p in positions for r in (math.floor(p), math.ceil(p))})
    part = np.partition(x, ranks)  # one partial sort: the order statistics around each position

    def at(p: float) -> float:
        a, b = math.floor(p), math.ceil(p)
        return float(part[a] + (part[b] - part[a]) * (p - a))

    return at(positions[0]), at(lo), at(hi)


def quantile_difference(champion: np.ndarray, challenger: np.ndarray, q: float, confidence: float = 0.95,
                        metric: str | None = None) -> Difference:
    """The ``q`` quantile of the challenger minus the champion's, in the values' units (latency in ms),
    and their ratio (``extra``: ``ratio``, ``ratio_low``, ``ratio_high``). Each quantile's order-statistic
    interval gives a standard error (its width over 2z); the two are combined as independent, on the raw
    scale for the difference and on the log scale for the ratio. One partial sort per version."""
    x1 = np.asarray(champion, dtype=np.float64)
    x2 = np.asarray(challenger, dtype=np.float64)
    name = metric or f"latency_p{round(q * 100):d}"
    if x1.size < 2 or x2.size < 2:
        v1 = float(np.quantile(x1, q)) if x1.size else NAN
        v2 = float(np.quantile(x2, q)) if x2.size else NAN
        return Difference(name, v1, v2, v2 - v1, NAN, NAN, "order_statistics", NAN, "none", x1.size, x2.size,
                          False, confidence, {"ratio": v2 / v1 if v1 > 0 else NAN, "ratio_low": NAN,
                                              "ratio_high": NAN})
    z = _z(confidence)
    v1, lo1, hi1 = _quantile_and_bounds(x1, q, confidence)
    v2, lo2, hi2 = _quantile_and_bounds(x2, q, confidence)
    se = math.sqrt(((hi1 - lo1) / (2 * z)) ** 2 + ((hi2 - lo2) / (2 * z)) ** 2)
    d = v2 - v1
    p = _two_sided(d / se) if se > 0 else (1.0 if d == 0 else 0.0)
    extra: dict[str, Any] = {"ratio": v2 / v1 if v1 > 0 else NAN, "ratio_low": NAN, "ratio_high": NAN}
    if min(v1, lo1, v2, lo2) > 0:
        se_log = math.sqrt(((math.log(hi1) - math.log(lo1)) / (2 * z)) ** 2
                           + ((math.log(hi2) - math.log(lo2)) / (2 * z)) ** 2)
        centre = math.log(v2) - math.log(v1)
        extra.update(ratio_low=math.exp(centre - z * se_log), ratio_high=math.exp(centre + z * se_log))
    return Difference(name, v1, v2, d, d - z * se, d + z * se, "order_statistics", p, "z", int(x1.size),
                      int(x2.size), False, confidence, extra)


# -- how many labels ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """Labels a decision needs (pairs when paired, both versions' labels together when not), how many
    there are, and what is left.

    To tell 0.8 from 0.7 (delta 0.1, alpha 0.05, power 0.8) Fleiss' formula asks per group
    (1.96 sqrt(0.75 * 0.25 * 2) + 0.8416 sqrt(0.8 * 0.2 + 0.7 * 0.3))^2 / 0.1^2 = 293.2, so 294, and
    588 for both; with 200 labelled, 388 remain.

    >>> plan = labels_needed(proportion_difference(80, 100, 90, 100), delta=0.1)
    >>> plan.needed, plan.have, plan.remaining
    (588, 200, 388)
    """

    needed: int | None  # None: cannot be planned (no spread yet, or no difference can be that large)
    have: int
    method: str
    delta: float
    alpha: float
    power: float

    @property
    def remaining(self) -> int | None:
        return None if self.needed is None else max(0, self.needed - self.have)

    def to_dict(self) -> dict[str, Any]:
        return {"needed": self.needed, "have": self.have, "remaining": self.remaining, "method": self.method,
                "delta": self.delta, "alpha": self.alpha, "power": self.power}


def _zz(alpha: float, power: float) -> tuple[float, float]:
    return float(special.ndtri(1 - alpha / 2)), float(special.ndtri(power))


def mcnemar_pairs_needed(discordance: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Pairs for McNemar's test to detect a difference ``delta`` of paired proportions, given the share of
    discordant pairs ``discordance`` (Connor 1987):
    ``n = (z_{1-a/2} sqrt(psi) + z_power sqrt(psi - delta^2))^2 / delta^2``. A difference of ``delta``
    needs at least that much discordance, so ``psi`` is taken as at least ``delta``."""
    za, zb = _zz(alpha, power)
    psi = max(discordance, delta)
    return math.ceil((za * math.sqrt(psi) + zb * math.sqrt(max(psi - delta * delta, 0.0))) ** 2 / delta ** 2)


def two_proportion_n(p1: float, delta: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
                     ) -> tuple[int, int]:
    """Rows per group for the pooled two-proportion z test to detect ``p2 = p1 -+ delta`` (toward 1/2,
    where the variance is larger: the conservative side) with ``n2 = ratio * n1`` (Fleiss):
    ``n1 = (z_{1-a/2} sqrt(pbar qbar (1 + 1/k)) + z_power sqrt(p1 q1 + p2 q2 / k))^2 / delta^2``."""
    za, zb = _zz(alpha, power)
    p2 = p1 - delta if p1 >= 0.5 else p1 + delta
    p2 = min(max(p2, 0.0), 1.0)
    k = ratio
    pbar = (p1 + k * p2) / (1 + k)
    n1 = (za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / k)) ** 2 \
        / delta ** 2
    return math.ceil(n1), math.ceil(k * n1)


def n_from_se(n: int, se: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Rows at which a standard error ``se`` seen at ``n`` rows (shrinking as 1/sqrt(n)) lets a two-sided
    test at ``alpha`` detect ``delta`` with ``power``: ``n (z_{1-a/2} + z_power)^2 se^2 / delta^2``."""
    if not (math.isfinite(se) and se > 0 and n > 0 and delta > 0):
        return None
    za, zb = _zz(alpha, power)
    return math.ceil(n * ((za + zb) * se / delta) ** 2)


def labels_needed(diff: Difference, delta: float, alpha: float = 0.05, power: float = 0.8) -> Plan:
    """The planned number of labels for ``diff``'s comparison to detect ``delta`` (in the metric's units)."""
    if diff.paired:
        have = diff.n_champion
        if diff.method == "agresti_min":
            psi = (diff.extra["b"] + diff.extra["c"]) / have if have else 0.0
            needed: int | None = mcnemar_pairs_needed(psi, delta, alpha, power) if delta > 0 else None
            return Plan(needed, have, "connor_mcnemar", delta, alpha, power)
        return Plan(n_from_se(have, diff.se, delta, alpha, power), have, "standard_error", delta, alpha, power)
    n1, n2 = diff.n_champion, diff.n_challenger
    have = n1 + n2
    if diff.method == "newcombe" and n1 > 0 and n2 > 0 and delta > 0 and math.isfinite(diff.champion):
        a, b = two_proportion_n(diff.champion, delta, alpha, power, ratio=n2 / n1)
        return Plan(a + b, have, "two_proportions", delta, alpha, power)
    return Plan(n_from_se(have, diff.se, delta, alpha, power), have, "standard_error", delta, alpha, power)


def labels_to_decide(diff: Difference, distance: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Labels (in all, as ``labels_needed`` counts them) at which an interval around the difference seen
    so far would clear a bound ``distance`` away from it, with ``power``; None when it sits on the bound."""
    have = diff.n_champion if diff.paired else diff.n_champion + diff.n_challenger
    return n_from_se(have, diff.se, abs(distance), alpha, power)
