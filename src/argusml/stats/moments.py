"""Central moments that merge exactly.

Pébay (2008), "Formulas for robust, one-pass parallel computation of
covariances and arbitrary-order statistical moments", eq. 2.1-2.3, extending
Chan, Golub & LeVeque (1979). Merging two summaries gives the moments of the
concatenated data up to floating-point rounding, in any order.

>>> a = moments_of(np.array([1.0, 2.0, 3.0]))
>>> b = moments_of(np.array([10.0, 20.0]))
>>> m = merge_moments(a, b)
>>> round(m.mean, 6), round(m.variance, 6)
(7.2, 63.7)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Moments:
    n: int
    mean: float
    m2: float  # sum of squared deviations from the mean
    m3: float
    m4: float

    @property
    def variance(self) -> float:
        """Sample variance (n - 1 in the denominator), as pandas reports it."""
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    @property
    def std(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    @property
    def skewness(self) -> float:
        """Population (biased) skewness, scipy.stats.skew's default."""
        if self.n < 2 or self.m2 <= 0:
            return 0.0
        return math.sqrt(self.n) * self.m3 / (self.m2 * math.sqrt(self.m2))

    @property
    def kurtosis(self) -> float:
        """Excess kurtosis, scipy.stats.kurtosis's default (Fisher, biased)."""
        if self.n < 2 or self.m2 <= 0:
            return 0.0
        return self.n * self.m4 / (self.m2 * self.m2) - 3.0

    def to_list(self) -> list[float]:
        return [self.n, self.mean, self.m2, self.m3, self.m4]

    @classmethod
    def from_list(cls, v: list[float]) -> Moments:
        # JSON has no inf/NaN: orjson writes an overflowed moment (values near 1e308) as null
        return cls(int(v[0]), *(math.nan if x is None else float(x) for x in v[1:5]))


EMPTY = Moments(0, 0.0, 0.0, 0.0, 0.0)


def moments_of(x: np.ndarray) -> Moments:
    """Two-pass moments of finite values (the caller removes NaN)."""
    n = int(x.size)
    if n == 0:
        return EMPTY
    mean = float(x.mean())
    # In cache-sized blocks with two reused buffers: whole-array temporaries
    # make this memory-bound (as slow as sorting at 10M values). Not np.dot:
    # a BLAS call wakes OpenBLAS's threads, which costs more than the sums.
    size = min(n, _BLOCK)
    d_buf, d2_buf = np.empty(size), np.empty(size)
    m2 = m3 = m4 = 0.0
    for start in range(0, n, _BLOCK):
        block = x[start:start + _BLOCK]
        k = block.size
        d = np.subtract(block, mean, out=d_buf[:k])
        d2 = np.multiply(d, d, out=d2_buf[:k])
        m2 += float(d2.sum())
        m3 += float(np.multiply(d2, d, out=d).sum())
        m4 += float(np.multiply(d2, d2, out=d2).sum())
    return Moments(n, mean, m2, m3, m4)


_BLOCK = 1 << 16


def merge_moments(a: Moments, b: Moments) -> Moments:
    if a.n == 0:
        return b
    if b.n == 0:
        return a
    na, nb = float(a.n), float(b.n)
    n = na + nb
    delta = b.mean - a.mean
    # products, not **: a float ** that overflows raises OverflowError where a product gives inf
    d2 = delta * delta
    mean = a.mean + delta * nb / n
    m2 = a.m2 + b.m2 + d2 * na * nb / n
    m3 = a.m3 + b.m3 + d2 * delta * na * nb * (na - nb) / n**2 + 3.0 * delta * (na * b.m2 - nb * a.m2) / n
    m4 = (
        a.m4
        + b.m4
        + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / n**3
        + 6.0 * d2 * (na * na * b.m2 + nb * nb * a.m2) / n**2
        + 4.0 * delta * (na * b.m3 - nb * a.m3) / n
    )
    return Moments(a.n + b.n, mean, m2, m3, m4)
