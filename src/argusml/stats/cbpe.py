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
would show even when the model is exactly as calibrated as assumed. Each
metric is a smooth function of sums of independent Bernoullis (the
accuracy and precision are such sums, exactly), so the delta method gives
its variance in one pass: no label draws, so a day of ten million
predictions costs what its sort costs.
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
                    presorted: bool = False) -> dict[str, Estimate]:
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
    # Everything below is sums over the rows below and above the threshold, and over the groups of tied
    # scores: no per-row array is built beyond p(1 - p).
    k = int(np.searchsorted(s, threshold, side="left"))  # rows below the threshold: predicted negative
    v = p * (1 - p)
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    sizes = np.diff(np.r_[starts, n])
    gp = np.add.reduceat(p, starts)  # expected positives per tie group
    gv = np.add.reduceat(v, starts)
    gn = sizes - gp
    ck = np.cumsum(sizes)
    g = int(np.searchsorted(ck, k, side="right"))  # groups wholly below the threshold (k is a group edge)
    fn = float(gp[:g].sum())
    tp = float(gp[g:].sum())
    tn = k - fn
    var_all = float(gv.sum())
    var_f = float(gv[:g].sum())
    var_t = var_all - var_f  # true positives' and false negatives' variances
    # the decision is right with probability p (predicted positive) or 1 - p: a sum of Bernoullis, whose
    # variance is the sum of p(1 - p) either way
    out = {"accuracy": _normal((tp + tn) / n, math.sqrt(var_all) / n, n, confidence, "cbpe")}
    # expected ROC AUC: pairs (positive above negative, ties a half) over all pairs, without self-pairs
    m_exp, n_exp = float(gp.sum()), float(gn.sum())
    pairs = m_exp * n_exp - var_all
    auc = float((((np.cumsum(gn) - gn / 2) * gp).sum() - var_all / 2) / pairs) if pairs > 0 else float("nan")
    # The spread of the realised metrics if labels are drawn y_i ~ Bernoulli(p_i), independently: each is a
    # smooth function of sums of the y_i, so the delta method gives its variance from the sums' variances
    # (exact for precision, whose denominator, the predicted positives, is known). No label draws.
    npp = n - k
    exp_prec = tp / npp if npp else 0.0
    pos = tp + fn
    exp_rec = tp / pos if pos > 0 else 0.0
    den = npp + pos
    exp_f1 = 2 * tp / den if den > 0 else 0.0
    sd = {"precision": math.sqrt(var_t) / npp if npp else float("nan"),
          "recall": math.sqrt(fn * fn * var_t + tp * tp * var_f) / pos ** 2 if pos > 0 else float("nan"),
          "f1": 2 * math.sqrt((npp + fn) ** 2 * var_t + tp * tp * var_f) / den ** 2 if den > 0 else float("nan")}
    # ROC AUC = (S - m(m+1)/2) / (m(n-m)), S = sum of the positives' midranks (a group's is its middle)
    mid = starts + sizes / 2 + 0.5
    m, S = m_exp, float((gp * mid).sum())
    if 0 < m < n:
        var_s, cov = float((gv * mid * mid).sum()), float((gv * mid).sum())
        d = m * (n - m)
        g_s = 1 / d
        g_m = (-(m + 0.5) * d - (S - m * (m + 1) / 2) * (n - 2 * m)) / (d * d)
        sd["roc_auc"] = math.sqrt(max(g_s * g_s * var_s + g_m * g_m * var_all + 2 * g_s * g_m * cov, 0.0))
    else:
        sd["roc_auc"] = float("nan")
    for name, value in (("precision", exp_prec), ("recall", exp_rec), ("f1", exp_f1), ("roc_auc", auc)):
        out[name] = _normal(value, sd[name], n, confidence, "cbpe") if math.isfinite(value) and \
            math.isfinite(sd[name]) else Estimate(value, float("nan"), float("nan"), n, "cbpe")
    return out


HIGH_CONFIDENCE = 0.9
"""A prediction is confident when its calibrated probability of the predicted class is at least this."""


def proxies(p: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Label-free signals of a window, from calibrated probabilities ``p`` and raw scores: the share of
    confident predictions, the share predicted positive, and the mean and spread of the binary entropy (bits)
    of ``p``. When they move against the reference, the model sees inputs it is less (or over) sure of."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    s = np.asarray(score, dtype=np.float64)
    n = p.size
    if n == 0:
        return {"n": 0.0, "high_confidence_rate": float("nan"), "positive_rate": float("nan"),
                "entropy_mean": float("nan"), "entropy_sd": float("nan")}
    q = np.where(s >= threshold, p, 1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(special.xlogy(p, p) + special.xlogy(1 - p, 1 - p)) / math.log(2)
    return {"n": float(n), "high_confidence_rate": float((q >= HIGH_CONFIDENCE).mean()),
            "positive_rate": float((s >= threshold).mean()), "entropy_mean": float(h.mean()),
            "entropy_sd": float(h.std(ddof=1)) if n > 1 else 0.0}


def proxy_shifts(current: dict[str, float], reference: dict[str, float], *, alpha: float = 0.05,
                 min_rate_change: float = 0.05, min_entropy_change: float = 0.05) -> list[dict[str, Any]]:
    """The proxies that moved, credibly and materially: a rate by at least ``min_rate_change`` (absolute)
    with a two-proportion z test, the mean entropy by at least ``min_entropy_change`` bits with a two-sample
    z test; Bonferroni over the three."""
    n1, n0 = current.get("n", 0.0), reference.get("n", 0.0)
    out: list[dict[str, Any]] = []
    if n1 < 2 or n0 < 2:
        return out
    level = alpha / 3
    for name in ("high_confidence_rate", "positive_rate"):
        a, b = current[name], reference[name]
        pooled = (a * n1 + b * n0) / (n1 + n0)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        pv = float(2 * special.ndtr(-abs(a - b) / se)) if se > 0 else (0.0 if a != b else 1.0)
        if abs(a - b) >= min_rate_change and pv < level:
            out.append({"proxy": name, "current": a, "reference": b, "change": a - b, "p_value": pv,
                        "threshold": min_rate_change})
    a, b = current["entropy_mean"], reference["entropy_mean"]
    se = math.sqrt(current["entropy_sd"] ** 2 / n1 + reference["entropy_sd"] ** 2 / n0)
    pv = float(2 * special.ndtr(-abs(a - b) / se)) if se > 0 else (0.0 if a != b else 1.0)
    if abs(a - b) >= min_entropy_change and pv < level:
        out.append({"proxy": "entropy_mean", "current": a, "reference": b, "change": a - b, "p_value": pv,
                    "threshold": min_entropy_change})
    return out
