"""Performance of a regression model without labels: a model of its error fitted on the reference.

A regressor's error usually depends on where it predicts: larger targets,
larger errors; a region with little training data, larger errors. The
reference, which has both predictions and targets, shows that dependence.
Binned on the prediction (equal-frequency bins of the reference's
predictions), each bin keeps the mean absolute error, the mean squared
error and their spreads. A window's expected MAE is then the mean of its
rows' bin values, and its expected RMSE the root of the mean of theirs.

What this can and cannot see, said wherever the estimate is shown:
- it sees the inputs moving to where the model is worse (or better), as
  far as that moves the predictions;
- it does not see the error changing at a given prediction (concept drift,
  a feature the error depends on that the prediction does not reflect),
  nor predictions outside the reference's range, whose error is taken
  from the outermost bin. Only labels see those.

The interval is that of the realised MAE (RMSE) if each row's error were
drawn from its bin's reference distribution: a normal interval of a mean
of independent terms, like CBPE's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from argusml.stats.performance import Estimate

ASSUMPTION = ("the error at a given prediction is as on the reference: the estimate sees the inputs move to where "
              "the model errs more, not the error changing where it predicts (only labels reveal that)")


@dataclass(frozen=True)
class LossModel:
    """Per bin of the prediction (``edges``: inner edges, ascending): mean and variance of |error| and of
    error², from the reference.

    Predictions 1, 2 | 3, 4 (two bins, cut at 2.5) with targets 1, 3, 3, 7 err by 0, 1 | 0, 3: mean
    |error| 0.5 and 1.5, mean error² 0.5 and 4.5. A window predicting 1, 4, 4 then expects an MAE of
    (0.5 + 2 * 1.5) / 3 = 1.1667 and an RMSE of sqrt((0.5 + 2 * 4.5) / 3) = 1.7795.

    >>> lm = LossModel.fit(np.array([1.0, 3.0, 3.0, 7.0]), np.array([1.0, 2.0, 3.0, 4.0]), bins=2, min_rows=2)
    >>> lm.edges, lm.abs_mean, lm.sq_mean
    ((2.5,), (0.5, 1.5), (0.5, 4.5))
    >>> est = lm.estimate(np.array([1.0, 4.0, 4.0]))
    >>> round(est["mae"].value, 4), round(est["rmse"].value, 4), est["mae"].n
    (1.1667, 1.7795, 3)
    """

    edges: tuple[float, ...]
    abs_mean: tuple[float, ...]
    abs_var: tuple[float, ...]
    sq_mean: tuple[float, ...]
    sq_var: tuple[float, ...]

    @classmethod
    def fit(cls, y: np.ndarray, pred: np.ndarray, bins: int = 40, min_rows: int = 50) -> LossModel:
        """Equal-frequency bins of the reference's predictions, at most ``bins``, each with at least
        ``min_rows`` rows (fewer bins for a small reference)."""
        yt = np.asarray(y, dtype=np.float64)
        yp = np.asarray(pred, dtype=np.float64)
        keep = np.isfinite(yt) & np.isfinite(yp)
        yt, yp = yt[keep], yp[keep]
        k = int(max(1, min(bins, yp.size // max(min_rows, 1))))
        edges = np.unique(np.quantile(yp, np.linspace(0, 1, k + 1)[1:-1])) if k > 1 else np.zeros(0)
        idx = np.searchsorted(edges, yp, side="right")
        e = yp - yt
        a, s = np.abs(e), e * e
        n = np.bincount(idx, minlength=edges.size + 1).astype(np.float64)

        def mean_var(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            m = np.divide(np.bincount(idx, weights=v, minlength=n.size), n, out=np.zeros(n.size), where=n > 0)
            sq = np.divide(np.bincount(idx, weights=v * v, minlength=n.size), n, out=np.zeros(n.size), where=n > 0)
            return m, np.maximum(sq - m * m, 0.0) * np.divide(n, n - 1, out=np.ones(n.size), where=n > 1)

        am, av = mean_var(a)
        sm, sv = mean_var(s)
        return cls(tuple(edges.tolist()), tuple(am.tolist()), tuple(av.tolist()), tuple(sm.tolist()),
                   tuple(sv.tolist()))

    def estimate(self, pred: np.ndarray, confidence: float = 0.95) -> dict[str, Estimate]:
        yp = np.asarray(pred, dtype=np.float64)
        yp = yp[np.isfinite(yp)]
        n = yp.size
        if n == 0:
            nan = Estimate(float("nan"), float("nan"), float("nan"), 0, "loss_model")
            return {"mae": nan, "rmse": nan}
        idx = np.searchsorted(np.asarray(self.edges), yp, side="right")
        counts = np.bincount(idx, minlength=len(self.abs_mean)).astype(np.float64)
        z = float(special.ndtri(0.5 + confidence / 2))
        mae = float(counts @ np.asarray(self.abs_mean)) / n
        mae_sd = math.sqrt(float(counts @ np.asarray(self.abs_var))) / n
        mse = float(counts @ np.asarray(self.sq_mean)) / n
        mse_sd = math.sqrt(float(counts @ np.asarray(self.sq_var))) / n
        rmse = math.sqrt(mse)
        lo, hi = max(mse - z * mse_sd, 0.0), mse + z * mse_sd
        return {"mae": Estimate(mae, max(mae - z * mae_sd, 0.0), mae + z * mae_sd, n, "loss_model"),
                "rmse": Estimate(rmse, math.sqrt(lo), math.sqrt(hi), n, "loss_model")}

    def to_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "abs_mean": list(self.abs_mean), "abs_var": list(self.abs_var),
                "sq_mean": list(self.sq_mean), "sq_var": list(self.sq_var)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LossModel:
        return cls(*(tuple(float(v) for v in d[k]) for k in ("edges", "abs_mean", "abs_var", "sq_mean", "sq_var")))
