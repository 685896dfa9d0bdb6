"""Performance without labels: confidence-based estimation (CBPE) for binary classifiers.

A calibrated model's probability says how often it is right: among rows
scored 0.8, eight in ten are positive. So before any label arrives, the
expected confusion counts of a window follow from its scores alone, and so
do the expected accuracy, precision, recall, F1 and ROC AUC (Talagala et
al.; NannyML's CBPE). The estimate is only as good as its assumptions, and
they are stated wherever it is shown:

1. **Calibration holds on the new data.** The probabilities are calibrated
   on the reference (checked there; recalibrated by isotonic regression
   when the check fails), and P(y | score) does not change: covariate shift
   is allowed, concept drift is not. A changed relation between inputs and
   outcome is invisible to CBPE; only labels reveal it.
2. **Scores stay within the reference's range**, where the calibration was
   learned.

The interval is that of the *realised* metric if labels were drawn from the
calibrated probabilities: the spread a window of this size and these scores
would show even when the model is exactly as calibrated as assumed. The
accuracy's is exact under that model (a sum of independent Bernoullis, a
normal interval); precision, recall, F1 and ROC AUC use label draws
(seeded), as many as keep the cost near 10 million cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from argusml.stats.performance import Estimate


@dataclass(frozen=True)
class Calibration:
    """How a reference's scores map to probabilities: the identity, or an isotonic step function."""

    x: tuple[float, ...] = ()  # ascending score breakpoints; empty: the identity
    y: tuple[float, ...] = ()  # calibrated probability at each breakpoint (linear between, flat outside)

    def __call__(self, score: np.ndarray) -> np.ndarray:
        s = np.asarray(score, dtype=np.float64)
        if not self.x:
            return np.clip(s, 0.0, 1.0)
        return np.interp(s, np.asarray(self.x), np.asarray(self.y))

    def to_dict(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Calibration:
        if not d:
            return cls()
        return cls(tuple(float(v) for v in d.get("x", ())), tuple(float(v) for v in d.get("y", ())))


def isotonic(score: np.ndarray, y: np.ndarray) -> Calibration:
    """Isotonic regression of ``y`` (0/1) on ``score`` by pool-adjacent-violators: the non-decreasing step
    function closest to the outcomes in squared error. Tied scores are pooled first."""
    s = np.asarray(score, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    order = np.argsort(s, kind="stable")
    s, yy = s[order], yy[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    values = s[starts]
    sums = list(np.add.reduceat(yy, starts))
    weights = list(np.diff(np.r_[starts, s.size]).astype(np.float64))
    xs = list(values)
    # pool adjacent violators on a stack of blocks (mean, weight, first score, last score)
    means: list[float] = []
    ws: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    for sm, w, x in zip(sums, weights, xs):
        m = sm / w
        means.append(m)
        ws.append(w)
        lo.append(x)
        hi.append(x)
        while len(means) > 1 and means[-2] >= means[-1]:
            w2 = ws[-2] + ws[-1]
            m2 = (means[-2] * ws[-2] + means[-1] * ws[-1]) / w2
            means[-2:] = [m2]
            ws[-2:] = [w2]
            lo[-2:] = [lo[-2]]
            hi[-2:] = [hi[-1]]
    bx: list[float] = []
    by: list[float] = []
    for m, a, b in zip(means, lo, hi):
        bx.append(a)
        by.append(m)
        if b != a:
            bx.append(b)
            by.append(m)
    return Calibration(tuple(bx), tuple(by))


def calibration_test(score: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, float]:
    """Hosmer-Lemeshow: equal-frequency bins of the score, observed against expected positives,
    chi-square with ``bins - 2`` degrees of freedom. A small p-value: the scores are not probabilities."""
    s = np.asarray(score, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    order = np.argsort(s, kind="stable")
    groups = [g for g in np.array_split(order, bins) if g.size]
    chi2 = 0.0
    for g in groups:
        n = g.size
        e = float(np.clip(s[g], 0.0, 1.0).sum())
        o = float(yy[g].sum())
        var = e * (1 - e / n)
        if var > 0:
            chi2 += (o - e) ** 2 / var
    df = max(len(groups) - 2, 1)
    return {"statistic": chi2, "df": float(df), "p_value": float(special.chdtrc(df, chi2))}


def _normal(value: float, sd: float, n: int, confidence: float, method: str) -> Estimate:
    half = float(special.ndtri(0.5 + confidence / 2)) * sd
    return Estimate(value, max(0.0, value - half), min(1.0, value + half), n, method)


def estimate_binary(p: np.ndarray, score: np.ndarray, *, threshold: float = 0.5, confidence: float = 0.95,
                    seed: int = 0, budget: int = 10_000_000, presorted: bool = False) -> dict[str, Estimate]:
    """Expected accuracy, precision, recall, F1 and ROC AUC of rows with calibrated probabilities ``p`` and
    raw scores ``score`` (the decision is ``score >= threshold``). ``presorted``: ascending by score."""
    p = np.asarray(p, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    if not presorted:
        order = np.argsort(s, kind="stable")
        p, s = p[order], s[order]
    n = p.size
    nan = Estimate(float("nan"), float("nan"), float("nan"), n, "cbpe")
    if n == 0:
        return {k: nan for k in ("accuracy", "precision", "recall", "f1", "roc_auc")}
    k = int(np.searchsorted(s, threshold, side="left"))  # rows below the threshold: predicted negative
    pos_pred = p[k:]
    neg_pred = p[:k]
    tp, fp = float(pos_pred.sum()), float((1 - pos_pred).sum())
    fn, tn = float(neg_pred.sum()), float((1 - neg_pred).sum())
    q = np.r_[1 - neg_pred, pos_pred]  # probability each row's decision is right
    out = {"accuracy": _normal((tp + tn) / n, math.sqrt(float((q * (1 - q)).sum())) / n, n, confidence, "cbpe")}
    # expected ROC: at each score threshold, expected positives and negatives above it (ties as groups)
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    gp = np.add.reduceat(p, starts)
    gn = np.add.reduceat(1 - p, starts)
    m_exp, n_exp = float(gp.sum()), float(gn.sum())
    # pairs (positive above negative, ties a half) over all pairs, without a row paired with itself
    self_pairs = float((p * (1 - p)).sum())
    pairs = m_exp * n_exp - self_pairs
    auc = float((((np.cumsum(gn) - gn / 2) * gp).sum() - self_pairs / 2) / pairs) if pairs > 0 else float("nan")
    # label draws for the spread of the realised precision, recall, F1 and ROC AUC
    draws = int(max(30, min(200, budget // max(n, 1))))
    rng = np.random.default_rng(seed)
    ranks = np.repeat((starts + np.diff(np.r_[starts, n]) / 2 + 0.5), np.diff(np.r_[starts, n]))  # midranks
    b_tp, b_pos, b_auc = np.empty(draws), np.empty(draws), np.empty(draws)
    for d in range(draws):
        yd = rng.random(n) < p
        m = int(yd.sum())
        b_pos[d] = m
        b_tp[d] = yd[k:].sum()
        b_auc[d] = (float(ranks[yd].sum()) - m * (m + 1) / 2) / (m * (n - m)) if 0 < m < n else np.nan
    npp = n - k
    with np.errstate(invalid="ignore", divide="ignore"):
        b_prec = b_tp / npp if npp else np.full(draws, np.nan)
        b_rec = np.where(b_pos > 0, b_tp / b_pos, 0.0)
        b_f1 = np.where(npp + b_pos > 0, 2 * b_tp / (npp + b_pos), 0.0)
    exp_prec = tp / npp if npp else 0.0
    exp_rec = tp / (tp + fn) if tp + fn > 0 else 0.0
    exp_f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 0.0
    for name, value, boot in (("precision", exp_prec, b_prec), ("recall", exp_rec, b_rec), ("f1", exp_f1, b_f1),
                              ("roc_auc", auc, b_auc)):
        boot = boot[np.isfinite(boot)]
        sd = float(boot.std(ddof=1)) if boot.size > 1 else float("nan")
        out[name] = _normal(value, sd, n, confidence, "cbpe") if math.isfinite(value) and math.isfinite(sd) \
            else Estimate(value, float("nan"), float("nan"), n, "cbpe")
    return out
