"""Performance without labels: confidence-based estimation (CBPE) for binary and multiclass classifiers.

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

Multiclass models are the same with a vector of class probabilities per
row: the expected confusion matrix is the sum of each row's probabilities
in its predicted class's column, and a label is one categorical draw per
row, so the delta method runs over the one-hot labels. Calibration is
checked and, when it fails, fixed per class one-vs-rest, then each row is
renormalised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from argusml.stats.performance import Estimate
from argusml.stats.tests import adjust_p_values


@dataclass(frozen=True)
class Calibration:
    """How a reference's scores map to probabilities: the identity, or an isotonic step function.

    Pool-adjacent-violators on scores 0.1, 0.2, 0.3, 0.4 with outcomes 0, 1, 0, 1: the 1 at 0.2 and the
    0 at 0.3 violate the order and pool to their mean 0.5; between breakpoints the map is linear, so 0.35
    maps halfway from 0.5 to 1.0, and below the lowest score it is flat at 0.0.

    >>> cal = isotonic(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1]))
    >>> [float(v) for v in cal.y]
    [0.0, 0.5, 0.5, 1.0]
    >>> cal(np.array([0.05, 0.25, 0.35])).round(6).tolist()
    [0.0, 0.5, 0.75]
    >>> Calibration()(np.array([-0.2, 0.3, 1.4])).tolist()   # the identity, clipped to [0, 1]
    [0.0, 0.3, 1.0]
    """

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


def _auc_terms(gp: np.ndarray, gv: np.ndarray, starts: np.ndarray, sizes: np.ndarray
               ) -> tuple[float, float, float, np.ndarray]:
    """The expected ROC AUC of rows in ascending score order, grouped by tied score (``gp``, ``gv``: each
    group's expected positives and the variance of their count), and its linearisation in the labels.

    Expected AUC: pairs (positive above negative, ties a half) over all pairs, without self-pairs.
    AUC = (S - m(m+1)/2) / (m(n-m)) with S the positives' midrank sum (a group's midrank is its middle) and
    m their count, so AUC ~ const + g_s S + g_m m: returned as (auc, g_s, g_m, midrank per group), NaN
    where the expected positives are all or none of the rows. Binary and one-vs-rest multiclass share it."""
    n = int(sizes.sum())
    gn = sizes - gp
    var_all = float(gv.sum())
    m, n_exp = float(gp.sum()), float(gn.sum())
    pairs = m * n_exp - var_all
    auc = float((((np.cumsum(gn) - gn / 2) * gp).sum() - var_all / 2) / pairs) if pairs > 0 else float("nan")
    mid = starts + sizes / 2 + 0.5
    if not 0 < m < n:
        return auc, float("nan"), float("nan"), mid
    S = float((gp * mid).sum())
    d = m * (n - m)
    g_m = (-(m + 0.5) * d - (S - m * (m + 1) / 2) * (n - 2 * m)) / (d * d)
    return auc, 1 / d, g_m, mid


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
    auc, g_s, g_m, mid = _auc_terms(gp, gv, starts, sizes)
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
    # the AUC's linear part is a sum over rows of y_i (g_s midrank_i + g_m): a Bernoulli sum's variance
    var_s, cov = float((gv * mid * mid).sum()), float((gv * mid).sum())
    sd["roc_auc"] = math.sqrt(max(g_s * g_s * var_s + g_m * g_m * var_all + 2 * g_s * g_m * cov, 0.0))
    for name, value in (("precision", exp_prec), ("recall", exp_rec), ("f1", exp_f1), ("roc_auc", auc)):
        out[name] = _normal(value, sd[name], n, confidence, "cbpe") if math.isfinite(value) and \
            math.isfinite(sd[name]) else Estimate(value, float("nan"), float("nan"), n, "cbpe")
    return out


# -- multiclass: the same, with class-probability vectors ----------------------------------------------

@dataclass(frozen=True)
class MulticlassCalibration:
    """How a reference's class probabilities map to calibrated ones: per class a one-vs-rest map (isotonic, or
    none), then each row renormalised to sum to one (Zadrozny & Elkan 2002). ``classes`` name the columns of
    the probability matrices it reads and returns.

    Without maps a row is only renormalised: (0.2, 0.2, 0) becomes (0.5, 0.5, 0), and a row with no
    probability at all becomes uniform.

    >>> identity = MulticlassCalibration(("a", "b", "c"))
    >>> identity(np.array([[0.2, 0.2, 0.0], [0.0, 0.0, 0.0]])).round(4).tolist()
    [[0.5, 0.5, 0.0], [0.3333, 0.3333, 0.3333]]
    """

    classes: tuple[str, ...] = ()
    maps: tuple[Calibration, ...] = ()  # per class; empty: the identity (only renormalised)

    def __call__(self, proba: np.ndarray) -> np.ndarray:
        """Rows need not sum to one (a model may report its top classes only): they are renormalised. A row
        that every map sends to 0 keeps its own probabilities; one with no probability at all becomes
        uniform; a row of NaN (no probabilities known) stays NaN."""
        P = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
        Q = np.column_stack([m(P[:, k]) for k, m in enumerate(self.maps)]) if self.maps else P
        Q = np.where(Q.sum(axis=1, keepdims=True) > 0, Q, P)
        total = Q.sum(axis=1, keepdims=True)
        Q = np.where((total > 0) | np.isnan(total), Q, 1.0)
        return Q / Q.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "maps": [m.to_dict() for m in self.maps]}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> MulticlassCalibration:
        if not d:
            return cls()
        return cls(tuple(str(c) for c in d.get("classes", ())),
                   tuple(Calibration.from_dict(m) for m in d.get("maps", ())))


def calibration_test_multiclass(proba: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """One-vs-rest Hosmer-Lemeshow per class (``y``: the true class's column, -1 for none of them), Holm-adjusted
    across the classes; ``p_value`` is the smallest adjusted one: the scores are not probabilities when it is
    small.

    Per class rather than the top class only: the estimates read every class's probability (the expected
    confusion matrix's off-diagonal cells make macro recall and F1, each column its one-vs-rest AUC), and a
    model whose top-class confidence is right but whose runner-up probabilities are not passes a top-label
    test while it biases those. Holm keeps a calibrated model's chance of a needless recalibration at the
    level asked for, whatever the number of classes and however the K tests depend on each other."""
    P = np.asarray(proba, dtype=np.float64)
    yy = np.asarray(y)
    per = [calibration_test(P[:, k], yy == k, bins) for k in range(P.shape[1])]
    adjusted = adjust_p_values([t["p_value"] for t in per], "holm")
    return {"p_value": float(min(adjusted)) if adjusted else 1.0,
            "per_class": [{**t, "p_adjusted": float(a)} for t, a in zip(per, adjusted)]}


def isotonic_multiclass(proba: np.ndarray, y: np.ndarray, classes: Sequence[str]) -> MulticlassCalibration:
    """One isotonic map per class, fitted one-vs-rest (``y``: the true class's column per row)."""
    P = np.asarray(proba, dtype=np.float64)
    yy = np.asarray(y)
    return MulticlassCalibration(tuple(str(c) for c in classes),
                                 tuple(isotonic(P[:, k], (yy == k).astype(np.float64)) for k in range(P.shape[1])))


def _categorical_sd(P: np.ndarray, V: np.ndarray) -> float:
    """Standard deviation of sum_i V[i, y_i] when y_i ~ Categorical(P[i]), independently."""
    m1 = (P * V).sum(axis=1)
    return math.sqrt(max(float((P * V * V).sum() - (m1 * m1).sum()), 0.0))


def estimate_multiclass(p: np.ndarray, pred: np.ndarray | None = None, score: np.ndarray | None = None, *,
                        confidence: float = 0.95) -> dict[str, Estimate]:
    """Expected accuracy, macro precision, recall and F1, and one-vs-rest macro ROC AUC of rows whose calibrated
    class probabilities are ``p`` (rows x classes), predicted as class ``pred`` (a column index; by default the
    highest ``score``), ranked for each class's AUC by the raw ``score`` (by default ``p``).

    The interval is the realised metric's if labels are drawn y_i ~ Categorical(p_i), independently. Each
    metric is a smooth function of per-class sums of the one-hot labels (true positives, actual counts; the
    predicted counts are known), so it is linear in them to first order: row i adds V[i, y_i], and the
    variance is sum_i (sum_k p_ik V_ik^2 - (sum_k p_ik V_ik)^2). Exact for accuracy and macro precision, which
    are linear in the labels. Macro averages take the classes predicted or expected to occur, as scikit-learn
    takes those predicted or present; the macro AUC the classes with both outcomes expected."""
    P = np.asarray(p, dtype=np.float64)
    S = P if score is None else np.asarray(score, dtype=np.float64)
    n, k = P.shape
    names = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc_macro")
    if n == 0 or k == 0:
        return {m: Estimate(float("nan"), float("nan"), float("nan"), n, "cbpe") for m in names}
    pred = S.argmax(axis=1) if pred is None else np.asarray(pred, dtype=np.int64)
    rows = np.arange(n)
    q = P[rows, pred]  # the chance each prediction is right
    predicted = np.bincount(pred, minlength=k).astype(np.float64)
    tp = np.bincount(pred, weights=q, minlength=k)  # expected true positives per class
    actual = P.sum(axis=0)  # expected rows of each class
    missed = actual - tp  # expected false negatives
    kp = max(int(((predicted + actual) > 0).sum()), 1)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros(k), where=den > 0)

    den_f1 = predicted + actual
    # per metric: each class's value, and the derivatives of the macro average in that class's true positives
    # (a row predicted c that is c) and in its false negatives (a row of class j predicted otherwise)
    parts = {"precision_macro": (ratio(tp, predicted), ratio(np.ones(k), predicted), np.zeros(k)),
             "recall_macro": (ratio(tp, actual), ratio(missed, actual ** 2), -ratio(tp, actual ** 2)),
             "f1_macro": (ratio(2 * tp, den_f1), ratio(2 * (predicted + missed), den_f1 ** 2),
                          -ratio(2 * tp, den_f1 ** 2))}
    out = {"accuracy": _normal(float(q.mean()), math.sqrt(float((q * (1 - q)).sum())) / n, n, confidence, "cbpe")}
    for name, (value, d_tp, d_fn) in parts.items():
        V = np.broadcast_to(d_fn / kp, (n, k)).copy()
        V[rows, pred] = d_tp[pred] / kp
        out[name] = _normal(float(value.sum() / kp), _categorical_sd(P, V), n, confidence, "cbpe")
    # one-vs-rest AUC per class: the binary expectation on that class's column, ranked by its raw score
    W = np.zeros((n, k))
    aucs: list[float] = []
    for j in range(k):
        order = np.argsort(S[:, j], kind="stable")
        s, pj = S[order, j], P[order, j]
        starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
        sizes = np.diff(np.r_[starts, n])
        auc, g_s, g_m, mid = _auc_terms(np.add.reduceat(pj, starts), np.add.reduceat(pj * (1 - pj), starts),
                                        starts, sizes)
        if math.isfinite(auc) and math.isfinite(g_s):
            aucs.append(auc)
            W[order, j] = g_s * np.repeat(mid, sizes) + g_m
    if aucs:
        out["roc_auc_macro"] = _normal(float(np.mean(aucs)), _categorical_sd(P, W / len(aucs)), n, confidence,
                                       "cbpe")
    else:
        out["roc_auc_macro"] = Estimate(float("nan"), float("nan"), float("nan"), n, "cbpe")
    return out


HIGH_CONFIDENCE = 0.9
"""A prediction is confident when its calibrated probability of the predicted class is at least this."""


def _confidence_proxies(q: np.ndarray, h: np.ndarray) -> dict[str, float]:
    """The proxies every classifier has, from each row's calibrated probability of its predicted class ``q``
    and its entropy ``h`` (normalised: 1 is the most unsure a prediction can be)."""
    n = q.size
    if n == 0:
        return {"n": 0.0, "high_confidence_rate": float("nan"), "entropy_mean": float("nan"),
                "entropy_sd": float("nan")}
    return {"n": float(n), "high_confidence_rate": float((q >= HIGH_CONFIDENCE).mean()),
            "entropy_mean": float(h.mean()), "entropy_sd": float(h.std(ddof=1)) if n > 1 else 0.0}


def proxies(p: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Label-free signals of a window, from calibrated probabilities ``p`` and raw scores: the share of
    confident predictions, the share predicted positive, and the mean and spread of the binary entropy (bits)
    of ``p``. When they move against the reference, the model sees inputs it is less (or over) sure of."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    s = np.asarray(score, dtype=np.float64)
    q = np.where(s >= threshold, p, 1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(special.xlogy(p, p) + special.xlogy(1 - p, 1 - p)) / math.log(2)
    out = _confidence_proxies(q, h)
    out["positive_rate"] = float((s >= threshold).mean()) if s.size else float("nan")
    return out


def multiclass_proxies(p: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """The multiclass counterpart of ``proxies``: the share of confident predictions (calibrated probability
    of the predicted class), the share predicted per class (``class_ratio``), and the mean and spread of the
    entropy of ``p`` divided by log K. For two classes that is the binary entropy in bits, so the one
    ``min_entropy_change`` gate means the same share of the most unsure a prediction can be, whatever K."""
    P = np.asarray(p, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.int64)
    k = len(classes)
    q = P[np.arange(pred.size), pred]
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -special.xlogy(P, P).sum(axis=1) / math.log(k) if k > 1 else np.zeros(pred.size)
    out: dict[str, Any] = dict(_confidence_proxies(q, h))
    share = np.bincount(pred, minlength=k) / max(pred.size, 1)
    out["class_ratio"] = {str(c): float(v) for c, v in zip(classes, share)}
    return out


def _rate_p(a: float, b: float, n1: float, n0: float) -> float:
    """Two-sided p-value of a two-proportion z test (pooled): rates ``a`` of ``n1`` rows and ``b`` of ``n0``."""
    pooled = (a * n1 + b * n0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    return float(2 * special.ndtr(-abs(a - b) / se)) if se > 0 else (0.0 if a != b else 1.0)


def class_ratio_shift(current: dict[str, float], reference: dict[str, float], n1: float, n0: float
                      ) -> dict[str, Any]:
    """How far the predicted class mix moved: the class whose share moved most, and the chi-square test of
    homogeneity of the two windows' predicted-class counts (with two classes, the square of the binary
    ``positive_rate``'s pooled z: the same test). Both windows are samples, so the reference's own noise
    counts too, unlike a goodness-of-fit test against its shares."""
    classes = sorted(set(current) | set(reference))
    c1 = np.array([current.get(c, 0.0) for c in classes]) * n1
    c0 = np.array([reference.get(c, 0.0) for c in classes]) * n0
    tot = c1 + c0
    used = tot > 0
    e1, e0 = tot[used] * n1 / (n1 + n0), tot[used] * n0 / (n1 + n0)
    chi2 = float(((c1[used] - e1) ** 2 / e1).sum() + ((c0[used] - e0) ** 2 / e0).sum())
    df = int(used.sum()) - 1
    change = c1 / n1 - c0 / n0
    i = int(np.argmax(np.abs(change)))
    return {"class": classes[i], "current": float(c1[i] / n1), "reference": float(c0[i] / n0),
            "change": float(change[i]), "statistic": chi2, "df": float(df),
            "p_value": float(special.chdtrc(df, chi2)) if df > 0 else 1.0}


def proxy_shifts(current: dict[str, Any], reference: dict[str, Any], *, alpha: float = 0.05,
                 min_rate_change: float = 0.05, min_entropy_change: float = 0.05) -> list[dict[str, Any]]:
    """The proxies that moved, credibly and materially: a rate (binary: the share predicted positive;
    multiclass: the share of any one predicted class) by at least ``min_rate_change`` (absolute) with a
    two-proportion z test (multiclass: chi-square over the class mix), the mean normalised entropy by at
    least ``min_entropy_change`` with a two-sample z test; Bonferroni over the three."""
    n1, n0 = current.get("n", 0.0), reference.get("n", 0.0)
    out: list[dict[str, Any]] = []
    if n1 < 2 or n0 < 2:
        return out
    level = alpha / 3
    moved: list[dict[str, Any]] = []
    for name in ("high_confidence_rate", "positive_rate"):
        if name in current and name in reference:
            a, b = current[name], reference[name]
            moved.append({"proxy": name, "current": a, "reference": b, "change": a - b,
                          "p_value": _rate_p(a, b, n1, n0), "threshold": min_rate_change})
    if "class_ratio" in current and "class_ratio" in reference:
        shift = class_ratio_shift(current["class_ratio"], reference["class_ratio"], n1, n0)
        moved.append({"proxy": "class_ratio", **shift, "threshold": min_rate_change})
    a, b = current["entropy_mean"], reference["entropy_mean"]
    se = math.sqrt(current["entropy_sd"] ** 2 / n1 + reference["entropy_sd"] ** 2 / n0)
    pv = float(2 * special.ndtr(-abs(a - b) / se)) if se > 0 else (0.0 if a != b else 1.0)
    moved.append({"proxy": "entropy_mean", "current": a, "reference": b, "change": a - b, "p_value": pv,
                  "threshold": min_entropy_change})
    return [m for m in moved if abs(m["change"]) >= m["threshold"] and m["p_value"] < level]
