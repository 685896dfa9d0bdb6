"""Pairwise co-moments of numeric columns, mergeable, for Pearson correlations.

For every pair (i, j) we keep, over the rows where both are present, the
count and the sums of x_i, x_i^2 and x_i x_j, after subtracting a fixed
shift per column (the reference mean) so that the sums do not lose
precision to large offsets. Sums add, so merging is exact; the correlation
read back equals the pairwise-complete Pearson r (pandas ``DataFrame.corr``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class CoMoments:
    names: list[str]
    shift: np.ndarray
    n: np.ndarray  # [i, j]: rows where both present
    sx: np.ndarray  # [i, j]: sum of x_i over rows where both present
    sxx: np.ndarray  # [i, j]: sum of x_i^2 over rows where both present
    sxy: np.ndarray  # [i, j]: sum of x_i * x_j

    @classmethod
    def empty(cls, names: list[str], shift: np.ndarray) -> CoMoments:
        k = len(names)
        z = np.zeros((k, k))
        return cls(list(names), np.asarray(shift, dtype=np.float64), z.copy(), z.copy(), z.copy(), z.copy())

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
                         self.sxy + other.sxy)

    def subset(self, names: list[str]) -> CoMoments:
        """The co-moments of some of the columns (sums of pairs do not depend on the others)."""
        idx = [self.names.index(n) for n in names]
        ix = np.ix_(idx, idx)
        return CoMoments(list(names), self.shift[idx], self.n[ix], self.sx[ix], self.sxx[ix], self.sxy[ix])

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
        return {"names": self.names, "shift": self.shift.tolist(), "n": self.n.tolist(), "sx": self.sx.tolist(),
                "sxx": self.sxx.tolist(), "sxy": self.sxy.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CoMoments:
        return cls(list(d["names"]), np.asarray(d["shift"], dtype=np.float64),
                   *(np.asarray(d[k], dtype=np.float64) for k in ("n", "sx", "sxx", "sxy")))
