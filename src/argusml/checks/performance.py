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

Each segment is also judged against its own baseline (``judge_segments``):
the same segment of the reference when it has one, else the whole
reference, and the verdict says which. That is one function for the batch
report and the service's segment windows, so both say the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as sps

from argusml.profile.labelled import Labelled, PerformanceConfig, metrics_of
from argusml.schema import Finding
from argusml.schema.severity import DEFAULT_SEVERITY
from argusml.stats.performance import Estimate
from argusml.stats.tests import adjust_p_values

__all__ = ["HIGHER_IS_BETTER", "LOWER_IS_BETTER", "SEGMENT_STATUSES", "WATCHED", "Labelled", "PerformanceConfig",
           "SegmentCase", "SegmentVerdict", "compare", "drop_test", "judge_segments", "metrics_of",
           "segment_findings", "weak_segments"]

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


Z95 = float(special.ndtri(0.975))
"""The normal quantile of a 95% interval: every ``Estimate`` here is one."""

SEGMENT_STATUSES = ("degraded", "new", "ok", "no_baseline", "insufficient_data")
"""A segment's statuses, worst first: the first key of the ranking. ``new``: the value has no rows in the
reference, so it was judged against the whole reference; ``no_baseline``: nothing comparable (the service,
when the reference's metrics were computed with another threshold or positive class)."""

BASELINE_WORDS = {"segment": "this segment's reference value", "reference": "the whole reference's",
                  "trailing_segment": "this segment's trailing value", "trailing": "the whole trailing period's"}


@dataclass
class SegmentCase:
    """One segment value to judge: its current metrics and the baseline it is judged against (its own
    segment's when there is one: a segment that was always harder than the rest is not a drop)."""

    column: str
    value: str
    labels: int
    metrics: dict[str, Estimate]  # empty below the minimum support
    baseline: dict[str, Estimate] | None  # None: nothing comparable (status no_baseline)
    source: str | None  # segment | reference | trailing_segment | trailing; None without a baseline
    baseline_labels: int | None = None
    new: bool = False  # the value has no labelled rows in a reference that was looked at for it
    note: str | None = None  # why the baseline is not the segment's own
    gap: dict[str, Any] | None = None  # its ``weak_segments`` row: the gap to the rest of the current data
    reference_labels: int | None = None  # the value's labelled rows in the reference; None: not known


@dataclass
class SegmentVerdict:
    case: SegmentCase
    row: dict[str, Any]  # JSON-ready: status, rank, baseline, drop, drops, gap
    findings: list[Finding]


def drop_test(current: Estimate, baseline: Estimate, name: str, tolerance: float) -> dict[str, Any] | None:
    """One-sided test of "the current value is no worse than the baseline moved by the tolerance".

    The standard errors are read off the 95% intervals, on the side that faces the limit, so with an exact
    baseline the test rejects at p < 0.025 exactly when the whole current interval lies beyond the limit:
    ``compare``'s rule. A segment's own baseline is a small part of the reference, so its uncertainty is
    added (the limit moves with the baseline, scaled by ``1 -+ tolerance``); a lucky reference segment
    would otherwise make an unchanged segment look degraded. None when a value or interval is missing."""
    if not all(math.isfinite(x) for x in (current.value, current.low, current.high, baseline.value)):
        return None
    sign = 1.0 if name in HIGHER_IS_BETTER else -1.0
    limit = baseline.value - sign * tolerance * abs(baseline.value)
    se_cur = max(current.high - current.value if sign > 0 else current.value - current.low, 0.0) / Z95
    half = baseline.value - baseline.low if sign > 0 else baseline.high - baseline.value
    se_base = max(half, 0.0) / Z95 if math.isfinite(half) else 0.0
    slope = abs(1.0 - sign * tolerance * (1.0 if baseline.value >= 0 else -1.0))
    se = math.hypot(se_cur, slope * se_base)
    beyond = sign * (limit - current.value)  # positive: on the worse side of the limit
    p = float(special.ndtr(-beyond / se)) if se > 0 else (0.0 if beyond > 0 else 1.0)
    rel = sign * (baseline.value - current.value) / abs(baseline.value) if baseline.value != 0 else None
    return {"metric": name, "current": current.value, "baseline": baseline.value, "limit": limit,
            "relative_drop": rel, "p_value": p}


def judge_segments(cases: list[SegmentCase], task: str, cfg: PerformanceConfig) -> list[SegmentVerdict]:
    """Each segment's verdict against its baseline, ranked worst first; the CLI report and the service's
    segment windows both call this, so they say the same.

    - ``insufficient_data`` below ``min_labels`` labels (the whole data's rule), ``no_baseline`` without a
      comparable baseline, ``new`` for a value absent from the reference (judged against the whole
      reference, and flagged if worse than it), else ``degraded`` or ``ok``.
    - The drop tests (``drop_test``) of every judged segment and watched metric are one family,
      Holm-adjusted, rejected at ``alpha / 2`` (0.025: the level of the 95% interval rule). Uncorrected,
      20 segments x 3 metrics would flag something on most unchanged days.
    - Worst first: by status (``SEGMENT_STATUSES``), then by the largest relative drop of a watched metric
      against the segment's baseline, then by the error gap to the rest of the current data."""
    watched = cfg.watched or WATCHED[task]
    per: list[list[dict[str, Any]]] = []
    for c in cases:
        drops = []
        if c.baseline is not None and c.metrics:
            for name in watched:
                cur, base = c.metrics.get(name), c.baseline.get(name)
                t = drop_test(cur, base, name, cfg.tolerance) if cur is not None and base is not None else None
                if t is not None:
                    drops.append(t)
        per.append(drops)
    family = [t for c, drops in zip(cases, per) if c.labels >= cfg.min_labels for t in drops]
    for t, adj in zip(family, adjust_p_values([t["p_value"] for t in family])):
        t["p_adjusted"] = float(adj)
        t["worse"] = bool(adj < cfg.alpha / 2)
    out = []
    for c, drops in zip(cases, per):
        judged = c.labels >= cfg.min_labels
        for t in drops:
            if not judged:  # shown for the ranking, never tested: too few labels to tell
                t.update(p_value=None, p_adjusted=None, worse=False)
        worse = [t for t in drops if t["worse"]]
        if not judged:
            status = "insufficient_data"
        elif c.baseline is None:
            status = "no_baseline"
        elif c.new:
            status = "new"
        else:
            status = "degraded" if worse else "ok"
        rels = [t["relative_drop"] for t in drops if t["relative_drop"] is not None]
        gap = None if c.gap is None else {k: c.gap[k] for k in ("error", "error_rest", "gap", "p_value",
                                                                  "p_adjusted", "significant")}
        row = {"column": c.column, "value": c.value, "status": status, "rank": 0, "labels": c.labels, "new": c.new,
               "reference_labels": c.reference_labels, "baseline": c.source if c.baseline is not None else None,
               "baseline_labels": c.baseline_labels, "baseline_note": c.note, "drop": max(rels) if rels else None,
               "drops": drops, "gap": gap}
        out.append(SegmentVerdict(c, row, _segment_finding(c, worse, len(family), cfg) if worse else []))
    out.sort(key=_rank_key)
    for i, v in enumerate(out, 1):
        v.row["rank"] = i
    return out


def _rank_key(v: SegmentVerdict) -> tuple[Any, ...]:
    drop, gap = v.row["drop"], (v.row["gap"] or {}).get("gap")
    return (SEGMENT_STATUSES.index(v.row["status"]), -drop if drop is not None else math.inf,
            -gap if gap is not None else math.inf, v.case.column, v.case.value)


def _segment_finding(c: SegmentCase, worse: list[dict[str, Any]], tests: int, cfg: PerformanceConfig
                     ) -> list[Finding]:
    """One ``performance_drop`` per degraded segment (not one per metric: a segment that lost its signal
    drops on every watched metric, and that is one problem), led by its largest relative drop."""
    assert c.baseline is not None and c.source is not None
    t = max(worse, key=lambda d: (d["relative_drop"] if d["relative_drop"] is not None else -math.inf))
    cur, base = c.metrics[t["metric"]], c.baseline[t["metric"]]
    others = [d["metric"] for d in worse if d is not t]
    whose = BASELINE_WORDS.get(c.source, c.source)
    behind = f" ({c.baseline_labels} labels)" if c.baseline_labels is not None else ""
    message = (f"{c.column}={c.value}: {t['metric']} {cur.value:.4g} (95% interval {cur.low:.4g} - {cur.high:.4g}, "
               f"{c.labels} labels) is worse than {whose} {base.value:.4g}{behind} by more than the "
               f"{cfg.tolerance:.0%} tolerance (Holm-adjusted p {t['p_adjusted']:.2g} over {tests} segment tests)")
    if others:
        message += f"; also {', '.join(others)}"
    if c.note:
        message += f"; {c.note}"
    return [Finding("performance_drop", c.column, DEFAULT_SEVERITY["performance_drop"], message,
                    {"segment": f"{c.column}={c.value}", "column": c.column, "value": c.value, "metric": t["metric"],
                     "current": cur.to_dict(), "baseline": base.to_dict(), "baseline_source": c.source,
                     "baseline_labels": c.baseline_labels, "new": c.new, "tolerance": cfg.tolerance,
                     "limit": t["limit"], "p_value": t["p_value"], "p_adjusted": t["p_adjusted"], "tests": tests,
                     "metrics": [d["metric"] for d in worse]})]


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
