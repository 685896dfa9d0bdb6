"""Is the model still good, and for whom: performance against a baseline, and the weakest segments.

A drop is a finding only when it is both credible and material: the whole
95% interval of the current value lies beyond the baseline's value moved by
the tolerance (5% relative by default). A window or segment with fewer
labels than ``min_labels`` is "insufficient data", never "degraded": a
handful of labels cannot tell a drop from noise.

Segments are compared with the rest of the current data on the error (the
share of wrong predictions, or the mean absolute error for regression), one
test per segment value, Holm-adjusted across all of them, and reported only
past ``min_support`` rows; the ranking is by the gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import stats as sps

from argusml.profile.frame import TableSource
from argusml.schema import Finding, InputError, Severity
from argusml.stats.performance import Estimate, binary_metrics, multiclass_metrics, regression_metrics
from argusml.stats.tests import adjust_p_values

HIGHER_IS_BETTER = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "r2", "precision_macro",
                    "recall_macro", "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted",
                    "roc_auc_macro", "roc_auc_weighted"}
LOWER_IS_BETTER = {"log_loss", "brier", "calibration_error", "mae", "rmse", "mape"}
WATCHED = {"binary": ("roc_auc", "accuracy", "f1"), "multiclass": ("accuracy", "f1_macro"),
           "regression": ("mae", "rmse", "r2")}
"""The metrics whose drop is a finding (the others are reported): correlated metrics all flagging the
same drop would be one problem told three times."""
_POSITIVE_NAMES = ("1", "true", "yes", "positive")


@dataclass
class PerformanceConfig:
    threshold: float = 0.5
    positive_class: str | None = None
    tolerance: float = 0.05  # relative
    min_labels: int = 100
    min_support: int = 50
    alpha: float = 0.05
    ece_bins: int = 10
    resamples: int = 500
    watched: tuple[str, ...] | None = None


@dataclass
class Labelled:
    """Target and prediction of the labelled rows, read for one task."""

    task: str  # binary | multiclass | regression
    y: np.ndarray
    score: np.ndarray  # binary: positive probability; regression: prediction; multiclass: predicted label
    classes: list[str] = field(default_factory=list)
    positive: str | None = None
    unlabelled: int = 0
    keep: np.ndarray | None = None  # which rows of the source these are


def _strings(arr: pa.ChunkedArray) -> np.ndarray:
    return np.array([None if v is None else str(v) for v in arr.to_pylist()], dtype=object)


def _is_numeric(arr: pa.ChunkedArray) -> bool:
    t = arr.type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def read_labelled(src: TableSource, target: str, prediction: str, cfg: PerformanceConfig,
                  task: str | None = None, positive: str | None = None) -> Labelled:
    """The rows with a target, as the task needs them. ``task``/``positive`` pin what the reference decided."""
    for col, what in ((target, "target"), (prediction, "prediction")):
        if col not in src.columns:
            raise InputError(f"{what} column {col!r} not found; columns: {', '.join(src.columns[:20])}",
                             path=src.name)
    t, p = src.column(target), src.column(prediction)
    t_null = np.asarray(t.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    p_null = np.asarray(p.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    keep = ~t_null & ~p_null
    t_str = _strings(t)
    distinct = sorted({v for v in t_str[keep].tolist()})
    if task is None:
        if _is_numeric(t) and not pa.types.is_boolean(t.type) and len(distinct) > 2 and _is_numeric(p):
            task = "regression" if len(distinct) > 20 or pa.types.is_floating(t.type) else "multiclass"
        else:
            task = "binary" if len(distinct) <= 2 else "multiclass"
    n_unlabelled = int((~keep).sum())
    if task == "regression":
        y = np.asarray(t.to_numpy(zero_copy_only=False), dtype=np.float64)[keep]
        score = np.asarray(p.to_numpy(zero_copy_only=False), dtype=np.float64)[keep]
        return Labelled(task, y, score, unlabelled=n_unlabelled, keep=keep)
    if task == "binary":
        pos = positive or cfg.positive_class
        if pos is None:
            pos = next((c for c in distinct if c.lower() in _POSITIVE_NAMES), distinct[-1] if distinct else "1")
        y = (t_str[keep] == pos).astype(np.int64)
        if _is_numeric(p) and not pa.types.is_boolean(p.type):
            score = np.asarray(p.to_numpy(zero_copy_only=False), dtype=np.float64)[keep]
        else:  # a predicted label: the score is 1 for the positive class, 0 otherwise
            score = (_strings(p)[keep] == pos).astype(np.float64)
        return Labelled(task, y, score, classes=distinct, positive=pos, unlabelled=n_unlabelled, keep=keep)
    return Labelled("multiclass", t_str[keep], _strings(p)[keep], classes=distinct, unlabelled=n_unlabelled,
                    keep=keep)


def metrics_of(lab: Labelled, cfg: PerformanceConfig, seed: int = 0) -> dict[str, Estimate]:
    if lab.task == "regression":
        return regression_metrics(lab.y, lab.score, resamples=cfg.resamples, seed=seed)
    if lab.task == "binary":
        return binary_metrics(lab.y, lab.score, threshold=cfg.threshold, ece_bins=cfg.ece_bins,
                              resamples=cfg.resamples, seed=seed)
    classes = sorted(set(lab.classes) | set(lab.score.tolist()))
    onehot = (lab.score[:, None] == np.array(classes, dtype=object)[None, :]).astype(np.float64)
    m = multiclass_metrics(lab.y, onehot, classes, ece_bins=cfg.ece_bins, resamples=cfg.resamples, seed=seed)
    # predicted labels carry no probabilities: the metrics that need them would only describe the one-hot
    return {k: v for k, v in m.items() if k not in ("log_loss", "brier", "calibration_error", "roc_auc_macro",
                                                     "roc_auc_weighted")}


def _errors(lab: Labelled, cfg: PerformanceConfig) -> np.ndarray:
    """Per row: 1/0 wrong (classification) or the absolute error (regression)."""
    if lab.task == "regression":
        return np.abs(lab.score - lab.y)
    if lab.task == "binary":
        return ((lab.score >= cfg.threshold).astype(np.int64) != lab.y).astype(np.float64)
    return (lab.score != lab.y).astype(np.float64)


def compare(current: dict[str, Estimate], baseline: dict[str, Estimate], task: str, cfg: PerformanceConfig,
            where: str = "") -> list[Finding]:
    """A finding per watched metric whose whole interval is beyond the baseline moved by the tolerance."""
    out = []
    for name in cfg.watched or WATCHED[task]:
        cur, base = current.get(name), baseline.get(name)
        if cur is None or base is None or math.isnan(cur.value) or math.isnan(base.value):
            continue
        if cur.n < cfg.min_labels or math.isnan(cur.low) or math.isnan(cur.high):
            continue
        if name in HIGHER_IS_BETTER:
            limit = base.value - cfg.tolerance * abs(base.value)
            worse = cur.high < limit
        else:
            limit = base.value + cfg.tolerance * abs(base.value)
            worse = cur.low > limit
        if worse:
            out.append(Finding(
                "performance_drop", None, Severity.P1,
                f"{name} {cur.value:.4g} (95% interval {cur.low:.4g} - {cur.high:.4g}, {cur.n} labels){where} is "
                f"worse than the baseline's {base.value:.4g} by more than the {cfg.tolerance:.0%} tolerance",
                {"metric": name, "current": cur.to_dict(), "baseline": base.to_dict(), "tolerance": cfg.tolerance,
                 "limit": limit}))
    return out


def weak_segments(lab: Labelled, segments: dict[str, np.ndarray], cfg: PerformanceConfig) -> list[dict[str, Any]]:
    """Segment values whose error differs from the rest's, ranked worst first (Holm across all of them)."""
    err = _errors(lab, cfg)
    n = err.size
    rows: list[dict[str, Any]] = []
    for col, values in segments.items():
        vals = values if lab.keep is None else values[lab.keep]
        for v in sorted({x for x in vals.tolist() if x is not None}, key=str):
            inside = vals == v
            k = int(inside.sum())
            if k < cfg.min_support or n - k < cfg.min_support:
                continue
            a, b = err[inside], err[~inside]
            if lab.task == "regression":
                p = float(sps.ttest_ind(a, b, equal_var=False).pvalue)
            else:  # two proportions: the pooled z test
                pooled = err.mean()
                se = math.sqrt(pooled * (1 - pooled) * (1 / k + 1 / (n - k)))
                z = (a.mean() - b.mean()) / se if se > 0 else 0.0
                p = float(2 * sps.norm.sf(abs(z)))
            rows.append({"column": col, "value": str(v), "n": k, "error": float(a.mean()),
                         "error_rest": float(b.mean()), "gap": float(a.mean() - b.mean()),
                         "p_value": p if math.isfinite(p) else 1.0})
    for r, adj in zip(rows, adjust_p_values([r["p_value"] for r in rows])):
        r["p_adjusted"] = float(adj)
        r["significant"] = adj < cfg.alpha
    rows.sort(key=lambda r: -r["gap"])
    return rows


def performance_report(reference: TableSource, current: TableSource, target: str, prediction: str,
                       segments: list[str] | None = None, cfg: PerformanceConfig | None = None) -> dict[str, Any]:
    """The performance report: reference and current metrics, drops, segments (JSON-ready)."""
    cfg = cfg or PerformanceConfig()
    ref = read_labelled(reference, target, prediction, cfg)
    cur = read_labelled(current, target, prediction, cfg, task=ref.task, positive=ref.positive)
    if not cur.y.size:
        raise InputError(f"no current row has both a {target!r} and a {prediction!r} value", path=current.name)
    m_ref, m_cur = metrics_of(ref, cfg), metrics_of(cur, cfg, seed=1)
    findings = compare(m_cur, m_ref, ref.task, cfg)
    seg_cols = {}
    for col in segments or []:
        if col not in current.columns:
            raise InputError(f"segment column {col!r} not found", path=current.name)
        seg_cols[col] = _strings(current.column(col))
    seg_rows = weak_segments(cur, seg_cols, cfg) if seg_cols else []
    for r in seg_rows:
        if r["significant"] and r["gap"] > 0:
            inside = (seg_cols[r["column"]][cur.keep] == r["value"])
            sub = Labelled(cur.task, cur.y[inside], cur.score[inside], cur.classes, cur.positive)
            r["metrics"] = {k: v.to_dict() for k, v in metrics_of(sub, cfg, seed=2).items()}
            findings.append(Finding(
                "weak_segment", r["column"], Severity.P2,
                f"{r['column']}={r['value']}: error {r['error']:.4g} vs {r['error_rest']:.4g} elsewhere "
                f"({r['n']} labels, Holm-adjusted p {r['p_adjusted']:.2g})", dict(r)))
    if cur.y.size < cfg.min_labels:
        status = "insufficient_data"
    else:
        status = "degraded" if any(f.check == "performance_drop" for f in findings) else "ok"
    return {
        "schema_version": 1, "kind": "performance", "task": ref.task, "target": target, "prediction": prediction,
        "positive_class": ref.positive, "threshold": cfg.threshold if ref.task == "binary" else None,
        "tolerance": cfg.tolerance, "min_labels": cfg.min_labels,
        "reference": {"source": reference.name, "labelled": int(ref.y.size), "unlabelled": ref.unlabelled,
                      "metrics": {k: v.to_dict() for k, v in m_ref.items()}},
        "current": {"source": current.name, "labelled": int(cur.y.size), "unlabelled": cur.unlabelled,
                    "metrics": {k: v.to_dict() for k, v in m_cur.items()}},
        "segments": seg_rows,
        "findings": [f.to_dict() for f in findings],
        "verdict": {"status": status, "findings": len(findings)},
    }
