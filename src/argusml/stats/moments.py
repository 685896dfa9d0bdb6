"""Central moments that merge exactly.

Pébay (2008), "Formulas for robust, one-pass parallel computation of
covariances and arbitrary-order statistical moments", eq. 2.1-2.3, extending
Chan, Golub & LeVeque (1979). Merging two summaries gives the moments of the
concatenated data up to floating-point rounding, in any order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from argusml.stats.mergeable import Mergeable


@dataclass(frozen=True)
class Moments(Mergeable):
    """Count, mean and the sums of 2nd to 4th powers of deviations from it, of finite values.

    Immutable: ``from_values`` builds one, ``merge`` (or ``+``) returns the moments of both parts.
    The union of [1, 2, 3] and [10, 20] has mean 36 / 5 = 7.2 and squared deviations summing to
    6.2² + 5.2² + 4.2² + 2.8² + 12.8² = 254.8, so a sample variance of 254.8 / 4 = 63.7;
    ``scipy.stats.skew`` and ``scipy.stats.kurtosis`` of it give 0.91597 and -0.73386.

    >>> a = Moments.from_values(np.array([1.0, 2.0, 3.0]))
    >>> b = Moments.from_values(np.array([10.0, 20.0]))
    >>> m = a.merge(b)
    >>> m.n, round(m.mean, 6), round(m.m2, 6), round(m.variance, 6)
    (5, 7.2, 254.8, 63.7)
    >>> round(m.skewness, 5), round(m.kurtosis, 5)
    (0.91597, -0.73386)
    >>> a + b == m, EMPTY + a == a
    (True, True)
    """

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

    @classmethod
    def from_values(cls, x: np.ndarray) -> Moments:
        """Two-pass moments of finite values (the caller removes NaN)."""
        n = int(x.size)
        if n == 0:
            return EMPTY
        mean = float(x.mean())
        # In cache-sized blocks with two reused buffers: whole-array temporaries
        # make this memory-bound (docs/BENCHMARKS.md, "Figures behind the code"). Not np.dot:
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
        return cls(n, mean, m2, m3, m4)

    def merge(self, other: Moments) -> Moments:
        """The moments of both parts' values together (a new object; either part when the other is empty)."""
        a, b = self, other
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


EMPTY = Moments(0, 0.0, 0.0, 0.0, 0.0)

_BLOCK = 1 << 16
