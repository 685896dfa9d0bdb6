"""Per-column drift, decided honestly at any sample size.

A column is *drifted* only when both hold:

1. **credible** - its two-sample test is significant after Holm's
   correction over every column tested in the same report;
2. **large enough to matter** - at least one effect measure reaches its
   practical threshold (DriftThresholds), whatever N is.

(1) keeps small samples from alarming on noise; (2) keeps million-row
windows from alarming on shifts nobody cares about. Below ``min_rows``
values on either side the answer is ``insufficient_data``, never drift.

Numeric columns are tested with KS (sensitive to shifts of the body) and a
chi-square on reference-quantile bins that include the tails and the
regions beyond the reference's range (sensitive to shape, tails and
sentinels); the column's p-value is twice the smaller one (Bonferroni over
the two), so the pair is still one valid test. KS is scipy's exact test
when both sides are held verbatim (small samples) and otherwise runs on the
reference's fine quantile bins, where it can only under-state the
distance, so its p-value errs on the conservative side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from argusml.profile import CategoryProfile, ColumnProfile, ColumnSpec
from argusml.profile.numeric import COARSE_LEVELS, TAIL_MEASURE_LEVELS, NumericProfile, NumericSpec
from argusml.schema import DriftStatus, DriftThresholds, Kind, Role
from argusml.stats import (
    chi2_homogeneity,
    js_distance,
    ks_detectable,
    ks_exact,
    ks_from_counts,
    max_cell_test,
    merge_sparse_bins,
    net_distance,
    psi,
    tail_change,
    total_variation,
    unseen_mass_test,
    wasserstein,
)

MIN_TAIL_ROWS = 50
"""A tail level enters the tail measure only when at least this many rows
are expected beyond it on each side: rarer tails are mostly noise."""

NORMAL_DENSITY_AT_MEAN = 0.3989422804014327  # KS distance per sd of a small mean shift of a normal


@dataclass
class DriftResult:
    status: DriftStatus
    n_ref: int
    n_cur: int
    reason: str | None = None
    method: str | None = None  # test that decided (ks, ks_binned, chi2)
    statistic: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    effect_method: str | None = None
    effect_value: float | None = None
    effect_threshold: float | None = None
    effect_passed: bool = False
    exact: bool = False
    detectable: dict[str, Any] | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def tested(self) -> bool:
        return self.p_value is not None

    def to_json(self, alpha: float) -> dict[str, Any]:
        test = None
        if self.tested:
            test = {"method": self.method, "statistic": _r(self.statistic), "p_value": _r(self.p_value),
                    "p_adjusted": _r(self.p_adjusted), "alpha": alpha, "exact": self.exact}
        effect = None
        if self.effect_method is not None:
            effect = {"method": self.effect_method, "value": _r(self.effect_value),
                      "threshold": _r(self.effect_threshold), "passed": self.effect_passed}
        out: dict[str, Any] = {
            "status": self.status.value,
            "drifted": self.status is DriftStatus.DRIFTED,
            "test": test,
            "effect": effect,
            "scores": {k: _r(v) for k, v in self.scores.items()},
            "detectable_effect": self.detectable,
            "n_reference": self.n_ref,
            "n_current": self.n_cur,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.evidence:
            out["evidence"] = self.evidence
        return out


def _r(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def is_drift_tested(spec: ColumnSpec) -> tuple[bool, str | None]:
    if spec.role in (Role.ID, Role.TIMESTAMP):
        return False, f"{spec.role.value} column"
    if spec.kind is Kind.DATETIME:
        return False, "datetimes move forward by nature; their range is reported instead"
    return True, None


def column_drift(spec: ColumnSpec, ref: ColumnProfile, cur: ColumnProfile, thresholds: DriftThresholds,
                 min_rows: int) -> DriftResult:
    """Test and effect sizes for one column; the decision waits for the
    family-wise correction (``decide``)."""
    tested, why = is_drift_tested(spec)
    if spec.kind in (Kind.NUMERIC, Kind.DATETIME) or spec.kind.near_unique:
        n_ref = ref.numeric.n if ref.numeric else 0
        n_cur = cur.numeric.n if cur.numeric else 0
    else:
        n_ref = ref.categories.n if ref.categories else 0
        n_cur = cur.categories.n if cur.categories else 0
    if not tested:
        return DriftResult(DriftStatus.NOT_TESTED, n_ref, n_cur, reason=why)
    if min(n_ref, n_cur) < min_rows:
        return DriftResult(DriftStatus.INSUFFICIENT_DATA, n_ref, n_cur,
                           reason=f"{min(n_ref, n_cur)} values on one side, fewer than the minimum of {min_rows}")
    if spec.kind.near_unique:
        res = _near_unique(spec, ref, cur, thresholds)
    elif spec.kind is Kind.NUMERIC:
        res = _numeric(spec.numeric, ref.numeric, cur.numeric, thresholds)  # type: ignore[arg-type]
    else:
        res = _categorical(ref, cur, thresholds)
    res.n_ref, res.n_cur = n_ref, n_cur
    return res


def _effect(res: DriftResult, thresholds: DriftThresholds, measures: tuple[str, ...],
            values: dict[str, float] | None = None) -> None:
    """Pick the measure furthest past (or closest to) its threshold; ``values`` replaces scores that are
    judged net of sampling noise."""
    best: tuple[float, str, float, float] | None = None
    for m in measures:
        thr = getattr(thresholds, m)
        val = (values or {}).get(m, res.scores.get(m))
        if thr is None or val is None or not math.isfinite(val):
            continue
        ratio = val / thr if thr > 0 else math.inf
        if best is None or ratio > best[0]:
            best = (ratio, m, val, thr)
    if best is not None:
        res.effect_method, res.effect_value, res.effect_threshold = best[1], best[2], best[3]
        res.effect_passed = best[2] >= best[3]


def coarse_counts(spec: NumericSpec, counts: np.ndarray) -> np.ndarray:
    """Fine bins pooled at the coarse levels (deciles plus tails), keeping the
    below-minimum and above-maximum bins apart."""
    cuts = {0, spec.edges.size - 1} if spec.edges.size else set()
    for lv in COARSE_LEVELS:
        i = spec.edge_of(lv)
        if i is not None:
            cuts.add(i)
    idx = np.asarray(sorted(cuts), dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(counts)])
    bounds = np.concatenate([[0], idx + 1, [counts.size]])
    return np.diff(cum[bounds])


def _tail(spec: NumericSpec, r: np.ndarray, c: np.ndarray) -> tuple[float | None, dict[str, Any]]:
    n_r, n_c = r.sum(), c.sum()
    fr = np.cumsum(r) / n_r
    fc = np.cumsum(c) / n_c
    masses_r, masses_c, labels = [], [], []
    for lv in TAIL_MEASURE_LEVELS:
        i = spec.edge_of(lv)
        if i is None:
            continue
        if lv < 0.5:
            mr, mc = fr[i], fc[i]
        else:
            mr, mc = 1.0 - fr[i], 1.0 - fc[i]
        if mr * n_r < MIN_TAIL_ROWS or mr * n_c < MIN_TAIL_ROWS:
            continue
        masses_r.append(mr)
        masses_c.append(mc)
        labels.append((lv, float(spec.edges[i])))
    if not labels:
        return None, {}
    val, j = tail_change(np.asarray(masses_r), np.asarray(masses_c))
    lv, edge = labels[j]
    side = "below" if lv < 0.5 else "above"
    return val, {"tail": {"level": lv, "side": side, "edge": edge, "reference_share": float(masses_r[j]),
                          "current_share": float(masses_c[j])}}


def _numeric(spec: NumericSpec, rp: NumericProfile, cp: NumericProfile, thresholds: DriftThresholds) -> DriftResult:
    assert rp.counts is not None and cp.counts is not None
    res = DriftResult(DriftStatus.STABLE, rp.n, cp.n)
    r, c = rp.counts.astype(float), cp.counts.astype(float)
    exact = rp.sample_complete and cp.sample_complete
    ks = ks_exact(rp.sample, cp.sample) if exact else ks_from_counts(r, c)
    cr, cc = coarse_counts(spec, r), coarse_counts(spec, c)
    chi = chi2_homogeneity(*merge_sparse_bins(cr, cc, ordered=True))
    if ks.p_value <= chi.p_value:
        res.method, res.statistic, best_p = ks.method, ks.statistic, ks.p_value
    else:
        res.method, res.statistic, best_p = chi.method, chi.statistic, chi.p_value
    res.p_value = min(1.0, 2.0 * best_p)
    res.exact = exact
    std = rp.moments.std
    if exact:
        w = wasserstein(rp.sample, cp.sample)
    else:
        # bins as point masses at their means: exact for values piled on one
        # point (sentinels), off by at most a bin width elsewhere
        with np.errstate(invalid="ignore", divide="ignore"):
            mr = np.where(r > 0, rp.sums / np.maximum(r, 1), 0.0)  # type: ignore[operator]
            mc = np.where(c > 0, cp.sums / np.maximum(c, 1), 0.0)  # type: ignore[operator]
        w = wasserstein(mr[r > 0], mc[c > 0], r[r > 0], c[c > 0])
    tail, tail_ev = _tail(spec, r, c)
    res.scores = {
        "ks": ks.statistic,
        "chi2": chi.statistic,
        "psi": psi(cr, cc),
        "js": js_distance(cr, cc),
        "wasserstein": w,
        "wasserstein_norm": w / std if std > 0 else None,
        "tail": tail,
        "mean_shift_sd": (cp.moments.mean - rp.moments.mean) / std if std > 0 else None,
        "std_ratio": cp.moments.std / std if std > 0 else None,
    }
    res.evidence = {"p_ks": ks.p_value, "p_chi2": chi.p_value, "chi2_dof": chi.dof, **tail_ev}
    _effect(res, thresholds, ("ks", "wasserstein_norm", "tail", "psi", "js"))
    return res


def aligned_counts(ref: ColumnProfile, cur: ColumnProfile) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Reference categories first, then those only the current data has."""
    rc, cc = ref.categories.counts, cur.categories.counts  # type: ignore[union-attr]
    cats = list(rc) + [k for k in cc if k not in rc]
    return cats, np.array([rc.get(k, 0) for k in cats], float), np.array([cc.get(k, 0) for k in cats], float)


GUARANTEED = 10.0
"""A category enters a test on sketched counts only when some side's guaranteed count is at least this
many times that side's error bound: its share is then known to within a tenth of itself."""


def sketched_cells(rp: CategoryProfile, cp: CategoryProfile) -> tuple[list[str], np.ndarray, np.ndarray,
                                                                       dict[str, Any]]:
    """Cells for a test when at least one side is a frequent-items sketch.

    Only the categories whose counts the sketches guarantee (``GUARANTEED``) are cells of their own; every
    other row goes to one "rest" cell per side, n minus the kept counts, which is as exact as the kept
    counts are. Within each kept category's guaranteed range the two shares are then set as close to each
    other as the ranges allow (equal where they overlap), so a difference the sketch error could explain
    never counts: the statistic is about the smallest the sketches are consistent with, and the test errs
    towards "stable".
    """
    keys = list(dict.fromkeys([*rp.counts, *cp.counts]))
    n_r, n_c = float(rp.n), float(cp.n)
    kept, r, c = [], [], []
    for k in keys:
        lo_r, hi_r = rp.bounds(k)
        lo_c, hi_c = cp.bounds(k)
        if not (lo_r >= GUARANTEED * max(rp.error_bound, 1) or lo_c >= GUARANTEED * max(cp.error_bound, 1)):
            continue
        a_r, b_r, a_c, b_c = lo_r / n_r, hi_r / n_r, lo_c / n_c, hi_c / n_c
        if b_r < a_c:
            sr, sc = b_r, a_c
        elif b_c < a_r:
            sr, sc = a_r, b_c
        else:  # overlapping ranges: one share for both, the pooled midpoint moved into the overlap
            pooled = ((a_r + b_r) * n_r + (a_c + b_c) * n_c) / (2.0 * (n_r + n_c))
            sr = sc = min(max(pooled, max(a_r, a_c)), min(b_r, b_c))
        kept.append(k)
        r.append(sr * n_r)
        c.append(sc * n_c)
    rest_r, rest_c = max(n_r - sum(r), 0.0), max(n_c - sum(c), 0.0)
    info = {"approximate": True,
            "reason": "more distinct values than are counted exactly: a frequent-items sketch tested on the "
                      "categories it guarantees plus one rest cell, each count moved within its error bound "
                      "towards the other side",
            "categories_tested": len(kept),
            "error_bound": {"reference": rp.error_bound if not rp.exact else 0,
                            "current": cp.error_bound if not cp.exact else 0}}
    return kept, np.array([*r, rest_r]), np.array([*c, rest_c]), info


def _categorical(ref: ColumnProfile, cur: ColumnProfile, thresholds: DriftThresholds) -> DriftResult:
    rp, cp = ref.categories, cur.categories
    assert rp is not None and cp is not None
    res = DriftResult(DriftStatus.STABLE, rp.n, cp.n)
    if rp.exact and cp.exact:
        cats, r, c = aligned_counts(ref, cur)
    else:
        # both sides bounded alike: a sketch's estimates are upper bounds, so exact counts beside them would
        # leave every kept category's difference leaning one way, and the rest cell would add them all up
        # (a clean split of a 300,000-level column then tested p < 1e-14)
        cats, r, c, res.evidence["sketch"] = sketched_cells(rp.as_sketch(), cp.as_sketch())
    cells = merge_sparse_bins(r, c, ordered=False)
    chi = chi2_homogeneity(*cells)
    res.method, res.statistic, res.p_value = chi.method, chi.statistic, chi.p_value
    if cells[0].size > 2:
        # beside the omnibus chi-square, the largest one-cell change (see max_cell_test); one p-value,
        # Bonferroni over the two, as for numeric columns. Two cells make both tests the same test.
        peak = max_cell_test(*cells)
        res.evidence.update({"p_chi2": chi.p_value, "p_max_cell": peak.p_value})
        if peak.p_value < chi.p_value:
            res.method, res.statistic = peak.method, peak.statistic
        res.p_value = min(1.0, 2.0 * min(chi.p_value, peak.p_value))
    res.exact = rp.exact and cp.exact
    # the effect is judged on the test's own cells (rare categories pooled, so every cell expects 5+ rows a
    # side) and net of what sampling noise alone gives there: over thousands of levels the raw distances
    # are mostly noise (random halves of a 3,900-level column differ by a TVD near 0.08)
    nd = net_distance(*cells)
    net = {"tvd": nd.tvd_net, "psi": nd.psi_net}
    res.scores = {"chi2": chi.statistic, "tvd": total_variation(r, c), "psi": psi(r, c), "js": js_distance(r, c),
                  "tvd_net": nd.tvd_net, "psi_net": nd.psi_net}
    share_r, share_c = r / max(r.sum(), 1), c / max(c.sum(), 1)
    k = int(np.argmax(np.abs(share_c - share_r)))
    res.evidence["chi2_dof"] = chi.dof
    if k < len(cats):
        res.evidence["largest_change"] = {"category": cats[k], "reference_share": float(share_r[k]),
                                          "current_share": float(share_c[k])}
    _effect(res, thresholds, ("tvd", "psi", "js"), net)
    if res.effect_method in net:
        res.evidence["effect"] = {"cells": int(cells[0].size), "noise": {"tvd": nd.tvd_noise, "psi": nd.psi_noise},
                                  "note": "judged on the test's cells, net of sampling noise"}
    return res


def _near_unique(spec: ColumnSpec, ref: ColumnProfile, cur: ColumnProfile, thresholds: DriftThresholds
                 ) -> DriftResult:
    """Text and identifiers: the share of unseen values against Good-Turing, and the length in characters
    (and words, for text) as numeric drift; one p-value, Bonferroni over the parts (docs/CHECKS.md,
    "Near-unique columns")."""
    parts: list[tuple[str, DriftResult]] = [("length", _numeric(spec.numeric, ref.numeric, cur.numeric,  # type: ignore
                                                                thresholds))]
    if spec.tokens is not None and ref.tokens is not None and cur.tokens is not None and cur.tokens.n:
        parts.append(("words", _numeric(spec.tokens, ref.tokens, cur.tokens, thresholds)))
    res = DriftResult(DriftStatus.STABLE, ref.numeric.n if ref.numeric else 0, cur.numeric.n if cur.numeric else 0)
    tests: list[tuple[str, float, float]] = [(f"{name}:{r.method}", r.statistic or 0.0, r.p_value or 1.0)
                                             for name, r in parts]
    effects: list[tuple[str, float, float | None]] = [(f"{name}_{r.effect_method}", r.effect_value or 0.0,
                                                       r.effect_threshold) for name, r in parts if r.effect_method]
    seen, unseen = spec.seen, cur.unseen
    if seen is not None and unseen is not None and seen.rows and unseen.rows:
        u = unseen_mass_test(seen.rows, seen.singletons, seen.doubletons, unseen.rows, unseen.unseen)
        tests.append(("unseen", u.statistic, u.p_value))
        effects.append(("unseen", u.effect, thresholds.unseen))
        res.scores.update({"unseen": u.effect, "unseen_share": u.observed, "unseen_expected": u.expected})
        res.evidence["unseen"] = {"expected_share": u.expected, "current_share": u.observed, "z": u.statistic,
                                  "p_value": u.p_value, "reference_values": seen.rows,
                                  "reference_singletons": seen.singletons, "current_values": unseen.rows,
                                  "current_unseen": unseen.unseen,
                                  "sampled": seen.sampled}
    for name, r in parts:
        res.scores.update({f"{name}_{k}": v for k, v in r.scores.items() if k in ("ks", "psi", "wasserstein_norm",
                                                                                   "mean_shift_sd")})
        res.evidence[f"p_{name}"] = r.p_value
    method, statistic, best_p = min(tests, key=lambda t: t[2])
    res.method, res.statistic = method, statistic
    res.p_value = min(1.0, len(tests) * best_p)
    res.exact = all(r.exact for _n, r in parts)
    passing = [(v / thr if thr else math.inf, name, v, thr) for name, v, thr in effects if thr is not None]
    if passing:
        _ratio, res.effect_method, res.effect_value, res.effect_threshold = max(passing)
        res.effect_passed = res.effect_value >= res.effect_threshold  # type: ignore[operator]
    res.evidence["kind"] = spec.kind.value
    return res


def decide(results: dict[str, DriftResult], alpha: float, correction: str) -> None:
    """Adjust the p-values over every tested column, then decide each one."""
    from argusml.stats import adjust_p_values

    names = [n for n, r in results.items() if r.tested]
    adjusted = adjust_p_values([results[n].p_value for n in names], correction)  # type: ignore[misc]
    m = max(len(names), 1)
    for n, p_adj in zip(names, adjusted, strict=False):
        res = results[n]
        res.p_adjusted = float(p_adj)
        significant = p_adj < alpha
        res.status = DriftStatus.DRIFTED if significant and res.effect_passed else DriftStatus.STABLE
        d_star = ks_detectable(alpha / m, res.n_ref, res.n_cur)
        res.detectable = {
            "method": "ks" if "ks" in res.scores else "tvd",
            "value": round(d_star, 6),
            "note": "smallest distance significant at this N after correction; drift also needs the "
                    "effect threshold",
        }
        if "ks" in res.scores:
            res.detectable["mean_shift_sd"] = round(d_star / NORMAL_DENSITY_AT_MEAN, 6)
        if significant and not res.effect_passed:
            res.reason = "statistically significant but smaller than every practical threshold"
        elif res.effect_passed and not significant:
            res.reason = "effect above threshold but not statistically credible at this sample size"
