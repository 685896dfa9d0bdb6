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
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as sps

from argusml.profile.frame import TableSource
from argusml.profile.labelled import Labelled, PerformanceConfig, metrics_of, read_labelled, strings
from argusml.schema import Finding, InputError
from argusml.schema.severity import DEFAULT_SEVERITY
from argusml.stats.performance import Estimate
from argusml.stats.tests import adjust_p_values

__all__ = ["HIGHER_IS_BETTER", "LOWER_IS_BETTER", "WATCHED", "Labelled", "PerformanceConfig", "compare",
           "metrics_of", "performance_report", "read_labelled", "segment_findings", "weak_segments"]

HIGHER_IS_BETTER = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "r2", "precision_macro",
                    "recall_macro", "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted",
                    "roc_auc_macro", "roc_auc_weighted"}
LOWER_IS_BETTER = {"log_loss", "brier", "calibration_error", "mae", "rmse", "mape"}
WATCHED = {"binary": ("roc_auc", "accuracy", "f1"), "multiclass": ("accuracy", "f1_macro"),
           "regression": ("mae", "rmse", "r2")}
"""The metrics whose drop is a finding (the others are reported): correlated metrics all flagging the
same drop would be one problem told three times."""


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
                "performance_drop", None, DEFAULT_SEVERITY["performance_drop"],
                f"{name} {cur.value:.4g} (95% interval {cur.low:.4g} - {cur.high:.4g}, {cur.n} labels){where} is "
                f"worse than the baseline's {base.value:.4g} by more than the {cfg.tolerance:.0%} tolerance",
                {"metric": name, "current": cur.to_dict(), "baseline": base.to_dict(), "tolerance": cfg.tolerance,
                 "limit": limit}))
    return out


Segments = dict[str, "np.ndarray | tuple[np.ndarray, np.ndarray]"]
"""Per segment column: its values per row (objects, None for none), or already coded: (codes per row,
-1 for none; the value of each code)."""


def _coded(values: np.ndarray | tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, tuple):
        return values
    names = sorted({str(v) for v in values.tolist() if v is not None})
    index = {v: i for i, v in enumerate(names)}
    codes = np.fromiter((-1 if v is None else index[str(v)] for v in values.tolist()), np.int64, len(values))
    return codes, np.array(names, dtype=object)


def weak_segments(lab: Labelled, segments: Segments, cfg: PerformanceConfig) -> list[dict[str, Any]]:
    """Segment values whose error differs from the rest's, ranked worst first (Holm across all of them).
    Per value, only sums are needed (count, error sum, and for regression the sum of squares), so every
    value of a column costs one ``bincount`` together."""
    err = _errors(lab, cfg)
    n = err.size
    total, total_sq = float(err.sum()), float((err * err).sum())
    rows: list[dict[str, Any]] = []
    for col, values in segments.items():
        codes, names = _coded(values)
        if lab.keep is not None:
            codes = codes[lab.keep]
        valid = codes >= 0
        size = len(names)
        cnt = np.bincount(codes[valid], minlength=size)
        sm = np.bincount(codes[valid], weights=err[valid], minlength=size)
        sq = np.bincount(codes[valid], weights=err[valid] ** 2, minlength=size) if lab.task == "regression" else None
        for c in sorted(range(size), key=lambda c: str(names[c])):
            k = int(cnt[c])
            if k < cfg.min_support or n - k < cfg.min_support:
                continue
            mean_in, mean_out = sm[c] / k, (total - sm[c]) / (n - k)
            if sq is not None:  # Welch's t test from the two groups' moments
                var_in = max(float(sq[c]) - k * mean_in ** 2, 0.0) / (k - 1)
                var_out = max(total_sq - float(sq[c]) - (n - k) * mean_out ** 2, 0.0) / (n - k - 1)
                p = float(sps.ttest_ind_from_stats(mean_in, math.sqrt(var_in), k, mean_out, math.sqrt(var_out),
                                                   n - k, equal_var=False).pvalue)
            else:  # two proportions: the pooled z test
                pooled = total / n
                se = math.sqrt(pooled * (1 - pooled) * (1 / k + 1 / (n - k)))
                z = (mean_in - mean_out) / se if se > 0 else 0.0
                p = float(2 * special.ndtr(-abs(z)))
            rows.append({"column": col, "value": str(names[c]), "n": k, "error": float(mean_in),
                         "error_rest": float(mean_out), "gap": float(mean_in - mean_out),
                         "p_value": p if math.isfinite(p) else 1.0})
    for r, adj in zip(rows, adjust_p_values([r["p_value"] for r in rows])):
        r["p_adjusted"] = float(adj)
        r["significant"] = adj < cfg.alpha
    rows.sort(key=lambda r: -r["gap"])
    return rows


def segment_findings(lab: Labelled, seg_cols: Segments, cfg: PerformanceConfig, seed: int = 2
                     ) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The ranked segment rows (``weak_segments``) and a ``weak_segment`` finding (P2) for each segment
    significantly worse than the rest, with its own metrics."""
    coded = {col: _coded(v) for col, v in seg_cols.items()}
    rows = weak_segments(lab, coded, cfg) if coded else []
    findings = []
    for r in rows:
        if r["significant"] and r["gap"] > 0:
            codes, names = coded[r["column"]]
            code = next(c for c, v in enumerate(names) if str(v) == r["value"])
            inside = (codes if lab.keep is None else codes[lab.keep]) == code
            r["metrics"] = {k: v.to_dict() for k, v in metrics_of(lab.subset(inside), cfg, seed=seed).items()}
            findings.append(Finding(
                "weak_segment", r["column"], DEFAULT_SEVERITY["weak_segment"],
                f"{r['column']}={r['value']}: error {r['error']:.4g} vs {r['error_rest']:.4g} elsewhere "
                f"({r['n']} labels, Holm-adjusted p {r['p_adjusted']:.2g})", dict(r)))
    return rows, findings


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
        seg_cols[col] = strings(current.column(col))
    seg_rows, seg_findings = segment_findings(cur, seg_cols, cfg, seed=2)
    findings.extend(seg_findings)
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
