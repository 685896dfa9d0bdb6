"""Model-quality metrics with their confidence intervals.

Every point value equals scikit-learn's on the same data (the tests hold
them to 1e-12); scikit-learn itself is not imported here: the service
computes these per window and segment, where its input validation would
cost more than the metric.

Intervals, 95% by default:
- a proportion (accuracy, precision, recall): Wilson's score interval;
- ROC AUC: DeLong's variance (midranks, so ties count a half);
- a mean of per-row losses (MAE, MAPE, log loss, Brier, and MSE for RMSE):
  the normal interval of a mean (RMSE: the square roots of MSE's ends);
- anything else (F1, PR AUC, R², calibration error): a percentile
  bootstrap with a fixed seed, so the same data gives the same interval.

Conventions (also in docs/PERFORMANCE.md):
- binary: ``y`` is 1 for the positive class; ``score`` its probability; the
  decision is ``score >= threshold`` (0.5 by default);
- precision with no predicted positive, recall with no actual positive: 0,
  as scikit-learn's ``zero_division`` default does (it warns; the interval
  here is then (0, 1): nothing is known);
- multiclass: the predicted class is the most probable; precision, recall,
  F1 and one-vs-rest ROC AUC are reported macro (each class counts the
  same) and weighted (by the class's support);
- expected calibration error: ``bins`` equal-width bins of the confidence
  on [0, 1] (the positive class's probability for binary, the top class's
  for multiclass), the sum over bins of ``|accuracy - confidence|``
  weighted by the bin's share of rows;
- log loss clips probabilities to [eps, 1 - eps] with eps the float64
  machine epsilon, as scikit-learn does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Estimate:
    """A metric's value, its interval, the rows behind it and how the interval was made."""

    value: float
    low: float
    high: float
    n: int
    method: str  # wilson | delong | normal | bootstrap | none

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "interval": self.method}


def _z(confidence: float) -> float:
    return float(sps.norm.ppf(0.5 + confidence / 2))


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion; (0, 1) when ``n`` is 0."""
    if n <= 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(successes: int, n: int, confidence: float = 0.95) -> Estimate:
    lo, hi = wilson(successes, n, confidence)
    return Estimate(successes / n if n else 0.0, lo, hi, n, "wilson")


def _midranks(x: np.ndarray) -> np.ndarray:
    return sps.rankdata(x, method="average")


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney with midranks); NaN without both classes."""
    y = np.asarray(y, dtype=bool)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return float("nan")
    r = _midranks(np.asarray(score, dtype=np.float64))
    return float((r[y].sum() - m * (m + 1) / 2) / (m * n))


def delong(y: np.ndarray, score: np.ndarray, confidence: float = 0.95) -> Estimate:
    """ROC AUC with DeLong's variance (the fast midrank form of Sun & Xu, 2014)."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    pos, neg = s[y], s[~y]
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), m + n, "delong")
    r_all = _midranks(np.concatenate([pos, neg]))
    r_pos, r_neg = _midranks(pos), _midranks(neg)
    v10 = (r_all[:m] - r_pos) / n  # per positive: share of negatives it beats
    v01 = 1.0 - (r_all[m:] - r_neg) / m  # per negative: share of positives that beat it
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    half = _z(confidence) * math.sqrt(max(var, 0.0))
    return Estimate(auc, max(0.0, auc - half), min(1.0, auc + half), m + n, "delong")


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve as scikit-learn's ``average_precision_score`` computes it:
    the sum over score thresholds of (recall step) x precision, no interpolation."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    total_pos = int(y.sum())
    if total_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]  # the last row of each distinct score
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / total_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _mean_interval(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    n = values.size
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def mean_loss(values: np.ndarray, confidence: float = 0.95, floor: float | None = 0.0) -> Estimate:
    mean, lo, hi = _mean_interval(np.asarray(values, dtype=np.float64), confidence)
    if floor is not None and not math.isnan(lo):
        lo = max(lo, floor)
    return Estimate(mean, lo, hi, int(np.size(values)), "normal")


def bootstrap(statistic: Callable[[np.ndarray], float], n: int, value: float, *, confidence: float = 0.95,
              resamples: int = 500, seed: int = 0) -> Estimate:
    """Percentile bootstrap of ``statistic(indices)`` over rows 0..n-1, resampled with replacement."""
    if n < 2 or resamples <= 0:
        return Estimate(value, float("nan"), float("nan"), n, "bootstrap")
    rng = np.random.default_rng(seed)
    vals = np.empty(resamples)
    for b in range(resamples):
        vals[b] = statistic(rng.integers(0, n, n))
    vals = vals[np.isfinite(vals)]
    if not vals.size:
        return Estimate(value, float("nan"), float("nan"), n, "bootstrap")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(vals, [a, 1 - a])
    return Estimate(value, float(lo), float(hi), n, "bootstrap")


def _f1(tp: float, fp: float, fn: float) -> float:
    d = 2 * tp + fp + fn
    return 2 * tp / d if d else 0.0


def calibration_error(y_correct: np.ndarray, confidence: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: equal-width bins on [0, 1], |accuracy - mean confidence| weighted by rows."""
    c = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(y_correct, dtype=np.float64)
    if not c.size:
        return float("nan")
    idx = np.minimum((c * bins).astype(np.int64), bins - 1)  # 1.0 goes to the last bin
    acc = np.bincount(idx, weights=ok, minlength=bins)
    conf = np.bincount(idx, weights=c, minlength=bins)
    return float(np.abs(acc - conf).sum() / c.size)


def binary_metrics(y: np.ndarray, score: np.ndarray, *, threshold: float = 0.5, confidence: float = 0.95,
                   ece_bins: int = 10, resamples: int = 500, seed: int = 0) -> dict[str, Estimate]:
    """Every binary metric with its interval. ``y`` 0/1 (or bool), ``score`` the positive class's
    probability; a score outside [0, 1] gets no log loss, Brier score or calibration error."""
    yb = np.asarray(y).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    n = yb.size
    pred = s >= threshold
    tp = int(np.sum(pred & yb))
    fp = int(np.sum(pred & ~yb))
    fn = int(np.sum(~pred & yb))
    tn = n - tp - fp - fn
    out = {
        "accuracy": proportion(tp + tn, n, confidence),
        "precision": proportion(tp, tp + fp, confidence),
        "recall": proportion(tp, tp + fn, confidence),
        "roc_auc": delong(yb, s, confidence),
    }
    probabilities = bool(n) and float(s.min()) >= 0.0 and float(s.max()) <= 1.0
    if probabilities:  # a score that is not a probability (a margin, a logit) has no log loss or calibration
        p = np.clip(s, EPS, 1 - EPS)
        out["log_loss"] = mean_loss(-np.where(yb, np.log(p), np.log1p(-p)), confidence)
        out["brier"] = mean_loss((s - yb) ** 2, confidence)
    f1 = _f1(tp, fp, fn)
    # F1 depends on the confusion counts only: resampling rows is resampling the four cells
    rng = np.random.default_rng(seed)
    cells = rng.multinomial(n, np.array([tp, fp, fn, tn]) / n, size=resamples) if n and resamples else None
    if cells is not None and n >= 2:
        d = 2 * cells[:, 0] + cells[:, 1] + cells[:, 2]
        boot = np.where(d > 0, 2 * cells[:, 0] / np.maximum(d, 1), 0.0)
        a = (1 - confidence) / 2
        lo, hi = np.quantile(boot, [a, 1 - a])
        out["f1"] = Estimate(f1, float(lo), float(hi), n, "bootstrap")
    else:
        out["f1"] = Estimate(f1, float("nan"), float("nan"), n, "bootstrap")
    out["pr_auc"] = bootstrap(lambda i: average_precision(yb[i], s[i]), n, average_precision(yb, s),
                              confidence=confidence, resamples=resamples, seed=seed)
    if probabilities:
        out["calibration_error"] = bootstrap(lambda i: calibration_error(yb[i], s[i], ece_bins), n,
                                             calibration_error(yb, s, ece_bins), confidence=confidence,
                                             resamples=resamples, seed=seed)
    return out


def multiclass_metrics(y: np.ndarray, proba: np.ndarray, classes: list[Any], *, confidence: float = 0.95,
                       ece_bins: int = 10, resamples: int = 500, seed: int = 0) -> dict[str, Estimate]:
    """``proba[:, k]`` is the probability of ``classes[k]``; rows of ``y`` not in ``classes`` count as wrong."""
    y = np.asarray(y)
    P = np.asarray(proba, dtype=np.float64)
    k = len(classes)
    index = {c: j for j, c in enumerate(classes)}
    yi = np.array([index.get(v, -1) for v in y.tolist()], dtype=np.int64)
    pred = P.argmax(axis=1)
    n = y.size
    correct = pred == yi
    cm = np.zeros((k, k), dtype=np.int64)
    known = yi >= 0
    np.add.at(cm, (yi[known], pred[known]), 1)

    def averaged(cm: np.ndarray) -> dict[str, float]:
        tp = np.diag(cm).astype(np.float64)
        pred_pos, actual = cm.sum(axis=0).astype(np.float64), cm.sum(axis=1).astype(np.float64)
        prec = np.divide(tp, pred_pos, out=np.zeros(k), where=pred_pos > 0)
        rec = np.divide(tp, actual, out=np.zeros(k), where=actual > 0)
        f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros(k), where=(prec + rec) > 0)
        present = (actual + pred_pos) > 0  # scikit-learn averages over the labels present in y or predictions
        w = actual / actual.sum() if actual.sum() else np.zeros(k)
        return {"precision_macro": float(prec[present].mean()), "recall_macro": float(rec[present].mean()),
                "f1_macro": float(f1[present].mean()), "precision_weighted": float((prec * w).sum()),
                "recall_weighted": float((rec * w).sum()), "f1_weighted": float((f1 * w).sum())}

    point = averaged(cm)
    out: dict[str, Estimate] = {"accuracy": proportion(int(correct.sum()), n, confidence)}
    rng = np.random.default_rng(seed)
    flat = cm.ravel() / max(cm.sum(), 1)
    boots = [averaged(c.reshape(k, k)) for c in rng.multinomial(int(cm.sum()), flat, size=resamples)] \
        if cm.sum() >= 2 and resamples else []
    a = (1 - confidence) / 2
    for name, v in point.items():
        if boots:
            lo, hi = np.quantile([b[name] for b in boots], [a, 1 - a])
            out[name] = Estimate(v, float(lo), float(hi), n, "bootstrap")
        else:
            out[name] = Estimate(v, float("nan"), float("nan"), n, "bootstrap")
    def ovr_auc(i: np.ndarray, weighted: bool) -> float:
        """One-vs-rest ROC AUC over the classes with both outcomes among rows ``i``."""
        vals, ws = [], []
        for j in range(k):
            yj = yi[i] == j
            if 0 < yj.sum() < i.size:
                vals.append(roc_auc(yj, P[i, j]))
                ws.append(int(yj.sum()))
        if not vals:
            return float("nan")
        return float(np.average(vals, weights=ws)) if weighted else float(np.mean(vals))

    every = np.arange(n)
    for name, weighted in (("roc_auc_macro", False), ("roc_auc_weighted", True)):
        out[name] = bootstrap(lambda i, w=weighted: ovr_auc(i, w), n, ovr_auc(every, weighted),
                              confidence=confidence, resamples=min(resamples, 200), seed=seed)
    Pc = np.clip(P, EPS, 1 - EPS)
    true_p = np.where(known, Pc[np.arange(n), np.maximum(yi, 0)], EPS)
    out["log_loss"] = mean_loss(-np.log(true_p), confidence)
    onehot = np.zeros_like(P)
    onehot[np.arange(n)[known], yi[known]] = 1.0
    out["brier"] = mean_loss(((P - onehot) ** 2).sum(axis=1), confidence)
    top = P.max(axis=1)
    out["calibration_error"] = bootstrap(lambda i: calibration_error(correct[i], top[i], ece_bins), n,
                                         calibration_error(correct, top, ece_bins), confidence=confidence,
                                         resamples=resamples, seed=seed)
    return out


def regression_metrics(y: np.ndarray, pred: np.ndarray, *, confidence: float = 0.95, resamples: int = 500,
                       seed: int = 0) -> dict[str, Estimate]:
    """MAE, RMSE, MAPE (|error| / max(|y|, eps), as scikit-learn) and R², each with its interval."""
    yt = np.asarray(y, dtype=np.float64)
    yp = np.asarray(pred, dtype=np.float64)
    err = yp - yt
    n = yt.size
    mse = mean_loss(err ** 2, confidence)
    rmse = Estimate(math.sqrt(mse.value), math.sqrt(max(mse.low, 0.0)) if not math.isnan(mse.low) else float("nan"),
                    math.sqrt(mse.high) if not math.isnan(mse.high) else float("nan"), n, "normal")

    def r2(i: np.ndarray) -> float:
        t = yt[i]
        ss_tot = float(((t - t.mean()) ** 2).sum())
        ss_res = float((err[i] ** 2).sum())
        if ss_tot == 0:
            return 1.0 if ss_res == 0 else 0.0  # scikit-learn's convention for a constant target
        return 1 - ss_res / ss_tot

    return {
        "mae": mean_loss(np.abs(err), confidence),
        "rmse": rmse,
        "mape": mean_loss(np.abs(err) / np.maximum(np.abs(yt), EPS), confidence),
        "r2": bootstrap(r2, n, r2(np.arange(n)), confidence=confidence, resamples=resamples, seed=seed),
    }
