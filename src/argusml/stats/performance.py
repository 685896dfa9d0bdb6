"""Model-quality metrics with their confidence intervals.

Every point value equals scikit-learn's on the same data (the tests hold
them to 1e-12); scikit-learn itself is not imported here: the service
computes these per window and segment, where its input validation would
cost more than the metric.

Intervals, 95% by default:
- a proportion (accuracy, precision, recall): Wilson's score interval;
- ROC AUC: DeLong's variance (midranks, so ties count a half), the normal
  interval taken on the logit scale (it stays in (0, 1));
- a mean of per-row losses (MAE, MAPE, log loss, Brier, and MSE for RMSE):
  the normal interval of a mean (RMSE: the square roots of MSE's ends);
- PR AUC: the logit interval of Boyd, Eng & Page (2013), whose width
  follows the number of positives;
- R²: the delta method on the ratio of the two mean squares;
- calibration error: a conservative bound from per-bin intervals (see
  ``calibration_interval``: a bootstrap under-covers it badly);
- the rest (F1 and the macro/weighted averages, one-vs-rest AUC): a
  percentile bootstrap with a fixed seed, so the same data gives the same
  interval. F1 and the averages depend only on the confusion counts, so
  the cells are resampled, not the rows.

Coverage of every method is measured in bench/bench_coverage.py
(bench/results/coverage.md).

Rows are never resampled one by one where a summary suffices: a row
bootstrap of PR AUC sorts the window once per resample (500 sorts) where the
summary's interval takes one pass (docs/BENCHMARKS.md, "Figures behind the code").

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
from scipy import special
from scipy import stats as sps

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Estimate:
    """A metric's value, its interval, the rows behind it and how the interval was made.

    8 right of 10: Wilson's interval is (0.8 + z²/20 -+ z sqrt(0.016 + z²/400)) / (1 + z²/10) with
    z = 1.96, i.e. (0.4902, 0.9433), as ``scipy.stats.binomtest(8, 10).proportion_ci(method="wilson")``.

    >>> e = proportion(8, 10)
    >>> e.value, round(e.low, 4), round(e.high, 4), e.n, e.method
    (0.8, 0.4902, 0.9433, 10, 'wilson')
    """

    value: float
    low: float
    high: float
    n: int
    method: str  # wilson | delong | normal | t | logit | delta | bound | bootstrap

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "interval": self.method}


def _z(confidence: float) -> float:
    # the ufunc, not sps.norm.ppf: that one's argument handling costs more than the quantile itself, and this
    # runs thousands of times per pass (docs/BENCHMARKS.md, "Figures behind the code")
    return float(special.ndtri(0.5 + confidence / 2))


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
    return Estimate(auc, *_logit_bounds(auc, math.sqrt(max(var, 0.0)), confidence), m + n, "delong")


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


def average_precision_interval(y: np.ndarray, score: np.ndarray, confidence: float = 0.95) -> Estimate:
    """PR AUC with the logit interval (Boyd, Eng & Page, ECML 2013): ``logit(AP) +- z / sqrt(n_pos AP (1 - AP))``."""
    y = np.asarray(y, dtype=bool)
    return _logit_interval(average_precision(y, score), int(y.sum()), int(y.size), confidence)


def t_interval(n: int, mean: float, variance: float, confidence: float = 0.95) -> tuple[float, float]:
    """Student's t interval of a mean from its count and sample variance: exact for normal values at any
    ``n`` and the normal interval's limit as ``n`` grows, so small windows need no bootstrap. NaNs under 2.

    >>> [round(v, 4) for v in t_interval(5, 0.6, 0.025)]
    [0.4037, 0.7963]
    """
    if n < 2:
        return float("nan"), float("nan")
    half = float(special.stdtrit(n - 1, 0.5 + confidence / 2)) * math.sqrt(max(variance, 0.0) / n)
    return mean - half, mean + half


def _mean_interval(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    n = values.size
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    return (mean, *t_interval(n, mean, float(values.var(ddof=1)), confidence))


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


def calibration_interval(y_correct: np.ndarray, confidence: np.ndarray, bins: int = 10, *,
                         level: float = 0.95) -> Estimate:
    """Calibration error with a conservative interval.

    ECE is ``sum_b w_b |g_b|``: per bin, its share of rows times the gap
    between outcome and confidence. The plug-in ``|g_b|`` is biased upward
    when a bin's true gap is small next to its noise, so a bootstrap
    interval sits above the truth: measured in bench/bench_coverage.py, a
    percentile bootstrap covered a true ECE of 0.035 in 0.3% of 200-row
    windows and 79% of 2,000-row ones. Instead each bin's gap gets its
    normal interval ``g_b +- z se_b`` and the ECE interval is the least and
    the most ``sum_b w_b |G_b|`` over those intervals (``|G_b|`` is 0 when
    the interval holds 0). Wider than it needs to be (the method is
    ``bound``), but it never claims a precision the data does not have."""
    c = np.asarray(confidence, dtype=np.float64)
    d = np.asarray(y_correct, dtype=np.float64) - c
    n = c.size
    if n < 2:
        return Estimate(calibration_error(y_correct, c, bins), float("nan"), float("nan"), n, "bound")
    idx = np.minimum((c * bins).astype(np.int64), bins - 1)
    nb = np.bincount(idx, minlength=bins).astype(np.float64)
    sums = np.bincount(idx, weights=d, minlength=bins)
    value = float(np.abs(sums).sum() / n)  # calibration_error's value, from the same bin sums
    gap = np.divide(sums, nb, out=np.zeros(bins), where=nb > 0)
    ss = np.bincount(idx, weights=d * d, minlength=bins) - nb * gap * gap  # sum of squared deviations
    se = np.sqrt(np.divide(np.maximum(ss, 0.0), (nb - 1) * nb, out=np.zeros(bins), where=nb > 1))
    half = _z(level) * se
    # a bin of one row has no spread of its own: its gap may be anything in [-1, 1]
    half = np.where(nb == 1, 1.0, half)
    w = nb / n
    low = float((w * np.maximum(0.0, np.abs(gap) - half)).sum())
    high = float(min(1.0, (w * (np.abs(gap) + half)).sum()))
    return Estimate(value, low, high, n, "bound")


class SortedScores:
    """Labels ordered by ascending score, summarised per group of tied scores.

    One sort serves ROC AUC, its DeLong variance, PR AUC and the confusion
    counts at any threshold, each then a pass over the tie groups. The
    service sorts a whole day of pairs by score once; every window and
    segment taken from it in that order is already sorted
    (``binary_metrics(..., presorted=True)``), so its metrics cost a linear
    pass instead of four sorts.

    Scores 0.1, 0.35, 0.4, 0.8 with labels 0, 1, 0, 1: of the four positive-negative pairs the positives
    win three (only 0.35 < 0.4 loses), so ROC AUC is 0.75; from the top, precision is 1 at recall 0.5
    and 2/3 at recall 1, so average precision is 0.5 * 1 + 0.5 * 2/3 = 0.8333 (scikit-learn's
    ``roc_auc_score`` and ``average_precision_score`` agree). At threshold 0.5: tp 1, fp 0, fn 1, tn 2.

    >>> ss = SortedScores(np.array([0, 1, 0, 1]), np.array([0.1, 0.35, 0.4, 0.8]))
    >>> ss.delong().value, round(ss.average_precision, 4), ss.confusion(0.5)
    (0.75, 0.8333, (1, 0, 1, 2))
    """

    def __init__(self, y: np.ndarray, score: np.ndarray) -> None:
        n = score.size
        starts = np.r_[0, np.flatnonzero(np.diff(score)) + 1] if n else np.zeros(0, dtype=np.int64)
        self.values = score[starts]  # the distinct scores, ascending
        self.pos = np.add.reduceat(y.astype(np.int64), starts) if n else np.zeros(0, dtype=np.int64)
        self.size = np.diff(np.r_[starts, n]) if n else np.zeros(0, dtype=np.int64)
        self.neg = self.size - self.pos
        self.m, self.n = int(self.pos.sum()), int(self.neg.sum())

    def delong(self, confidence: float = 0.95) -> Estimate:
        """ROC AUC (Mann-Whitney, ties a half) with DeLong's variance. Every positive of a tie group beats
        the same share of negatives (v10), every negative is beaten by the same share of positives (v01)."""
        m, n = self.m, self.n
        if m == 0 or n == 0:
            return Estimate(float("nan"), float("nan"), float("nan"), m + n, "delong")
        neg_below = np.cumsum(self.neg) - self.neg
        pos_below = np.cumsum(self.pos) - self.pos
        v10 = (neg_below + self.neg / 2) / n  # per group, for each of its positives
        v01 = 1.0 - (pos_below + self.pos / 2) / m  # per group, for each of its negatives
        auc = float((self.pos * v10).sum() / m)
        var10 = float((self.pos * (v10 - auc) ** 2).sum() / (m - 1)) if m > 1 else 0.0
        var01 = float((self.neg * (v01 - auc) ** 2).sum() / (n - 1)) if n > 1 else 0.0
        se = math.sqrt(max(var10 / m + var01 / n, 0.0))
        return Estimate(auc, *_logit_bounds(auc, se, confidence), m + n, "delong")

    @property
    def average_precision(self) -> float:
        """scikit-learn's ``average_precision_score``: thresholds from the highest score down."""
        if self.m == 0:
            return float("nan")
        tp = np.cumsum(self.pos[::-1])
        fp = np.cumsum(self.neg[::-1])
        recall = tp / self.m
        return float(np.sum(np.diff(np.r_[0.0, recall]) * (tp / (tp + fp))))

    def average_precision_interval(self, confidence: float = 0.95) -> Estimate:
        return _logit_interval(self.average_precision, self.m, self.m + self.n, confidence)

    def confusion(self, threshold: float) -> tuple[int, int, int, int]:
        """(tp, fp, fn, tn) of the decision ``score >= threshold``."""
        k = int(np.searchsorted(self.values, threshold, side="left"))  # tie groups below the threshold
        fn, tn = int(self.pos[:k].sum()), int(self.neg[:k].sum())
        return self.m - fn, self.n - tn, fn, tn


def _logit_bounds(value: float, se: float, confidence: float) -> tuple[float, float]:
    """A normal interval on the logit scale, mapped back: it stays inside (0, 1) and is asymmetric near
    the ends, where the symmetric one under-covers (DeLong's at AUC 0.86 and 60 positives covered 92.4%,
    with three quarters of the misses on one side; bench/bench_coverage.py)."""
    if not 0.0 < value < 1.0:
        half = _z(confidence) * se
        return max(0.0, value - half), min(1.0, value + half)
    eta = math.log(value / (1 - value))
    half = _z(confidence) * se / (value * (1 - value))
    return 1 / (1 + math.exp(-(eta - half))), 1 / (1 + math.exp(-(eta + half)))


def _logit_interval(ap: float, pos: int, n: int, confidence: float) -> Estimate:
    if math.isnan(ap):
        return Estimate(ap, float("nan"), float("nan"), n, "logit")
    a = min(max(ap, 0.5 / pos), 1 - 0.5 / pos)  # 0 and 1 have no logit: nudge by half a positive
    eta = math.log(a / (1 - a))
    half = _z(confidence) / math.sqrt(pos * a * (1 - a))
    return Estimate(ap, 1 / (1 + math.exp(-(eta - half))), 1 / (1 + math.exp(-(eta + half))), n, "logit")


def binary_metrics(y: np.ndarray, score: np.ndarray, *, threshold: float = 0.5, confidence: float = 0.95,
                   ece_bins: int = 10, resamples: int = 500, seed: int = 0, presorted: bool = False
                   ) -> dict[str, Estimate]:
    """Every binary metric with its interval. ``y`` 0/1 (or bool), ``score`` the positive class's
    probability; a score outside [0, 1] gets no log loss, Brier score or calibration error.
    ``presorted``: the rows are already in ascending order of score (no sort is done)."""
    yb = np.asarray(y).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    if not presorted:
        order = np.argsort(s, kind="stable")
        yb, s = yb[order], s[order]
    n = yb.size
    ss = SortedScores(yb, s)
    tp, fp, fn, tn = ss.confusion(threshold)
    out = {
        "accuracy": proportion(tp + tn, n, confidence),
        "precision": proportion(tp, tp + fp, confidence),
        "recall": proportion(tp, tp + fn, confidence),
        "roc_auc": ss.delong(confidence),
    }
    probabilities = bool(n) and float(s[0]) >= 0.0 and float(s[-1]) <= 1.0
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
    out["pr_auc"] = ss.average_precision_interval(confidence)
    if probabilities:
        out["calibration_error"] = calibration_interval(yb, s, ece_bins, level=confidence)
    return out


def multiclass_metrics(y: np.ndarray, proba: np.ndarray, classes: list[Any], *, confidence: float = 0.95,
                       ece_bins: int = 10, resamples: int = 500, seed: int = 0,
                       probabilities: bool = True) -> dict[str, Estimate]:
    """``proba[:, k]`` is the probability of ``classes[k]``; rows of ``y`` not in ``classes`` count as wrong.
    ``probabilities=False``: ``proba`` is a one-hot of predicted labels, so the metrics that need
    probabilities (ROC AUC, log loss, Brier, calibration error) are left out; their bootstraps would cost
    most of the time and describe only the one-hot."""
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

    if not probabilities:
        return out
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
    out["calibration_error"] = calibration_interval(correct, top, ece_bins, level=confidence)
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

    return {
        "mae": mean_loss(np.abs(err), confidence),
        "rmse": rmse,
        "mape": mean_loss(np.abs(err) / np.maximum(np.abs(yt), EPS), confidence),
        "r2": r_squared(yt, err, confidence),
    }


def r_squared(y: np.ndarray, err: np.ndarray, confidence: float = 0.95) -> Estimate:
    """R² = 1 - mean(e²) / mean((y - ȳ)²), with the delta method's interval of that ratio:
    var(A/B) ~ var(a - r b) / (n B²) for per-row a = e², b = (y - ȳ)², r = A/B."""
    n = y.size
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, "delta")
    a = err * err
    b = (y - y.mean()) ** 2
    ss_res, ss_tot = float(a.sum()), float(b.sum())
    if ss_tot == 0:  # scikit-learn's convention for a constant target; no spread, no interval
        return Estimate(1.0 if ss_res == 0 else 0.0, float("nan"), float("nan"), n, "delta")
    r = ss_res / ss_tot
    if n < 2:
        return Estimate(1 - r, float("nan"), float("nan"), n, "delta")
    half = _z(confidence) * float(np.std(a - r * b, ddof=1)) / (math.sqrt(n) * (ss_tot / n))
    return Estimate(1 - r, 1 - r - half, 1 - r + half, n, "delta")
