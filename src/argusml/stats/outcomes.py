"""Has a business outcome credibly fallen? One-sided tests of a window's outcome against its baseline.

An outcome (a conversion, revenue) is summarised per window over every
prediction of the window: the predictions with a non-zero outcome (a rate)
and the outcome's sum per prediction (a mean). A drop is judged against the
pooled windows before it, with the sample sizes, not a fixed percentage:
three conversions fewer in fifty predictions is noise, 0.10 to 0.06 on two
thousand is not.

* The rate: Fisher's exact test, one-sided (the window's rate lower). It
  conditions on the total number of hits, so its size is at most ``alpha`` for
  any true rate and any sample sizes: identical outcome distributions fire with
  probability at most ``alpha`` (the property test enumerates it exactly).
* The mean: Welch's statistic against the normal, one-sided. Outcomes summed
  per prediction over hundreds of predictions are close to normal; below
  ``MIN_MEAN_N`` predictions on either side the mean is not tested.

Fisher, *Statistical Methods for Research Workers* (1934), §21.02; Welch,
*Biometrika* 34 (1947).
"""

from __future__ import annotations

import math

from scipy import stats

MIN_MEAN_N = 30
"""Predictions each side needs before the mean's normal approximation is trusted."""


def rate_drop_p(hits: int, n: int, base_hits: int, base_n: int) -> float:
    """P-value of "the window's rate ``hits / n`` is lower than the baseline's ``base_hits / base_n``".

    Under equal rates, and given the hits of both together, the window's hits
    are hypergeometric: n drawn from ``n + base_n`` with ``hits + base_hits``
    marked. The p-value is the chance of so few or fewer.

    >>> round(rate_drop_p(120, 2000, 200, 2000), 8) < 1e-5  # 0.10 -> 0.06 on 2,000 each
    True
    >>> round(rate_drop_p(190, 2000, 200, 2000), 3)  # 0.10 -> 0.095: noise
    0.316
    """
    if n <= 0 or base_n <= 0:
        return 1.0
    if not (0 <= hits <= n and 0 <= base_hits <= base_n):
        raise ValueError(f"hits must lie in [0, n]: got {hits} of {n} and {base_hits} of {base_n}")
    return float(min(1.0, stats.hypergeom.cdf(hits, n + base_n, hits + base_hits, n)))


def mean_drop_p(mean: float, var: float, n: int, base_mean: float, base_var: float, base_n: int) -> float:
    """P-value of "the window's mean is lower than the baseline's" (Welch's statistic, normal reference).

    ``var`` and ``base_var`` are sample variances (n - 1 in the denominator). 1.0 below ``MIN_MEAN_N`` on
    either side, or when both variances are zero and the means are equal.

    >>> round(mean_drop_p(2.0, 4.0, 400, 2.5, 4.0, 400), 5)  # z = -0.5 / sqrt(0.02) = -3.5355
    0.0002
    """
    if n < MIN_MEAN_N or base_n < MIN_MEAN_N:
        return 1.0
    se = math.sqrt(max(var, 0.0) / n + max(base_var, 0.0) / base_n)
    if se == 0.0:
        return 0.0 if mean < base_mean else 1.0
    return float(stats.norm.cdf((mean - base_mean) / se))


def variance(total: float, sum_squares: float, n: int) -> float:
    """Sample variance from a sum and a sum of squares (0 for fewer than two values)."""
    if n < 2:
        return 0.0
    mean = total / n
    return max(sum_squares - n * mean * mean, 0.0) / (n - 1)


__all__ = ["MIN_MEAN_N", "mean_drop_p", "rate_drop_p", "variance"]
