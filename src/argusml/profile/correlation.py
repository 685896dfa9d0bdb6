"""Pairwise co-moments of numeric columns, mergeable, for correlations.

For every pair (i, j) we keep, over the rows where both are present, the
count and the sums of x_i, x_i^2 and x_i x_j, after subtracting a fixed
shift per column so that the sums do not lose precision to large offsets.
Sums add, so merging is exact; the correlation read back equals the
pairwise-complete Pearson r (pandas ``DataFrame.corr``) of what was summed.

What is summed is each value's *normal score* under the reference
(``scores``): the standard normal quantile of its reference ECDF. Pearson r
of raw values lets one extreme row decide it (a 1,048 mph wind speed among
ten thousand ordinary ones moves r from 0.36 to 0.19 in whichever half holds
it), and Fisher's z test, which assumes normal data, then calls a random
split a change. Scores are bounded (about +-3.9) and nearly normal, so r of
scores (the Gaussian rank correlation) is robust and Fisher's variance holds.
Baselines written before carry no scores and stay raw Pearson.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri

from argusml.stats import Mergeable

ECDF_FLOOR_N = 10_000
"""Reference ECDFs are clipped to [1/2n, 1 - 1/2n] with n at most this: the most extreme normal score is
about +-3.9 whatever the reference size, so no single value carries unbounded weight."""


def normal_scores(x: np.ndarray, knots: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of the reference ECDF, interpolated between knots; NaN stays NaN."""
    out = np.full(x.shape, np.nan)
    if knots.size == 0:  # a reference column without a value: nothing to correlate
        return out
    ok = np.isfinite(x)
    out[ok] = ndtri(np.interp(x[ok], knots, cdf))
    return out


def ecdf_knots(edges: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots and ECDF of a reference column from its exact bin counts (bin i: edges[i-1] < x <= edges[i]):
    the ECDF at each edge is the share of values at or below it."""
    n = counts.sum()
    cdf = np.cumsum(counts)[: edges.size] / max(n, 1)
    lo = 0.5 / max(min(n, ECDF_FLOOR_N), 1)
    return edges.astype(np.float64), np.clip(cdf, lo, 1.0 - lo)


@dataclass
class CoMoments(Mergeable):
    """Pairwise sums of numeric columns, accumulated row block by row block.

    The one profile built by accumulating: ``empty`` then ``update`` with rows (in place); two combine
    with ``merge`` or ``+`` into a new one; ``correlation`` reads r. For x = 1, 2, 3 and y = 2, 4, 7:
    the deviations from the means 2 and 13/3 give cov 5 (summed), var 2 and 114/9, so
    r = 5 / sqrt(2 * 114/9) = 0.99340, as ``numpy.corrcoef`` says.

    >>> cm = CoMoments.empty(["x", "y"], shift=np.zeros(2))
    >>> cm.update(np.array([[1.0, 2.0], [2.0, 4.0]]))
    >>> rest = CoMoments.empty(["x", "y"], shift=np.zeros(2))
    >>> rest.update(np.array([[3.0, 7.0]]))
    >>> both = cm + rest
    >>> int(both.n[0, 1]), round(float(both.correlation[0, 1]), 5), both.method
    (3, 0.9934, 'pearson')
    """

    names: list[str]
    shift: np.ndarray
    n: np.ndarray  # [i, j]: rows where both present
    sx: np.ndarray  # [i, j]: sum of x_i over rows where both present
    sxx: np.ndarray  # [i, j]: sum of x_i^2 over rows where both present
    sxy: np.ndarray  # [i, j]: sum of x_i * x_j
    # per column, the reference's (knots, ECDF) whose normal scores are summed; None: raw values
    scores: dict[str, tuple[np.ndarray, np.ndarray]] | None = field(default=None)

    @property
    def method(self) -> str:
        return "pearson" if self.scores is None else "normal_scores"

    @classmethod
    def empty(cls, names: list[str], shift: np.ndarray,
              scores: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> CoMoments:
        k = len(names)
        z = np.zeros((k, k))
        return cls(list(names), np.asarray(shift, dtype=np.float64), z.copy(), z.copy(), z.copy(), z.copy(),
                   None if scores is None else {n: scores[n] for n in names})

    def transform(self, name: str, values: np.ndarray) -> np.ndarray:
        """A column's values as they are summed: their normal scores, or themselves."""
        if self.scores is None:
            return values
        knots, cdf = self.scores[name]
        return normal_scores(values, knots, cdf)

    def update(self, x: np.ndarray) -> None:
        """Fold rows of a (rows x columns) float matrix, NaN = missing."""
        z = x - self.shift
        m = np.isfinite(z)
        gaps = ~m.all(axis=0)
        if gaps.any():
            z[~m] = 0.0
        self.sxy += z.T @ z
        # a column without gaps pairs with every row where the other is present
        mf = m.astype(np.float64)
        z2 = z * z
        count, s1, s2 = mf.sum(axis=0), z.sum(axis=0), z2.sum(axis=0)
        self.n += count[:, None]
        self.sx += s1[:, None]
        self.sxx += s2[:, None]
        if gaps.any():
            # columns with gaps: only rows where they are present count
            j = np.flatnonzero(gaps)
            mj = mf[:, j]
            self.n[:, j] += mf.T @ mj - count[:, None]
            self.sx[:, j] += z.T @ mj - s1[:, None]
            self.sxx[:, j] += z2.T @ mj - s2[:, None]

    def merge(self, other: CoMoments) -> CoMoments:
        if self.names != other.names or not np.array_equal(self.shift, other.shift):
            raise ValueError("cannot merge co-moments over different columns or shifts")
        return CoMoments(self.names, self.shift, self.n + other.n, self.sx + other.sx, self.sxx + other.sxx,
                         self.sxy + other.sxy, self.scores)

    def subset(self, names: list[str]) -> CoMoments:
        """The co-moments of some of the columns (sums of pairs do not depend on the others)."""
        idx = [self.names.index(n) for n in names]
        ix = np.ix_(idx, idx)
        return CoMoments(list(names), self.shift[idx], self.n[ix], self.sx[ix], self.sxx[ix], self.sxy[ix],
                         None if self.scores is None else {n: self.scores[n] for n in names})

    @property
    def correlation(self) -> np.ndarray:
        """Pairwise-complete Pearson r; NaN where undefined (constant or < 2 rows)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            n = self.n
            mx = self.sx / n
            my = self.sx.T / n
            cov = self.sxy / n - mx * my
            vx = self.sxx / n - mx * mx
            vy = self.sxx.T / n - my * my
            r = cov / np.sqrt(vx * vy)
        r[(n < 2) | (vx <= 1e-300) | (vy <= 1e-300)] = np.nan
        return np.clip(r, -1.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"names": self.names, "shift": self.shift.tolist(), "n": self.n.tolist(),
                               "sx": self.sx.tolist(), "sxx": self.sxx.tolist(), "sxy": self.sxy.tolist()}
        if self.scores is not None:
            out["normal_scores"] = {n: {"knots": k.tolist(), "cdf": c.tolist()} for n, (k, c) in self.scores.items()}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CoMoments:
        scores = d.get("normal_scores")
        return cls(list(d["names"]), np.asarray(d["shift"], dtype=np.float64),
                   *(np.asarray(d[k], dtype=np.float64) for k in ("n", "sx", "sxx", "sxy")),
                   None if scores is None else {n: (np.asarray(v["knots"], dtype=np.float64),
                                                    np.asarray(v["cdf"], dtype=np.float64))
                                                for n, v in scores.items()})
