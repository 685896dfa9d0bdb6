"""Correlation change between numeric features.

A model that learned how features move together breaks when that changes,
even if each feature's own distribution did not. Pairs are compared with
Fisher's z test (Holm-corrected over all pairs) and must also change by at
least the practical threshold in r - the correlation of normal scores under
the reference (``profile/correlation.py``: robust to the one extreme row that
decides a raw Pearson r), or raw Pearson r for a baseline from before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from argusml.profile import CoMoments
from argusml.stats import adjust_p_values, correlation_change_ps

TOP_PAIRS = 10


def correlation_changes(ref: CoMoments | None, cur: CoMoments | None, alpha: float, threshold: float,
                        correction: str, min_rows: int, support: dict[str, int] | None = None) -> dict[str, Any]:
    """``support`` is, per column, the smaller (reference, current) count of
    values that differ from the column's most frequent value. A correlation
    of a column that is nearly always one value is decided by a handful of
    rows, where Fisher's large-sample variance does not hold: such pairs
    are not tested."""
    if ref is None or cur is None:
        return {"method": "pearson" if ref is None else ref.method, "tested": False, "pairs": [], "changed": []}
    common = [n for n in ref.names if n in cur.names]
    if len(common) < 2:
        return {"method": ref.method, "tested": False, "pairs": [], "changed": []}
    ref, cur = ref.subset(common), cur.subset(common)
    support = support or {}
    r_ref, r_cur = ref.correlation, cur.correlation
    names = ref.names
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = r_ref[i, j], r_cur[i, j]
            n_a, n_b = int(ref.n[i, j]), int(cur.n[i, j])
            if not (np.isfinite(a) and np.isfinite(b)) or min(n_a, n_b) < min_rows:
                continue
            if min(support.get(names[i], n_a), support.get(names[j], n_a)) < min_rows:
                continue
            rows.append({"columns": [names[i], names[j]], "reference": float(a), "current": float(b),
                         "delta": float(b - a), "n": (n_a, n_b)})
    if rows:
        ps = correlation_change_ps(np.array([r["reference"] for r in rows]), np.array([r["n"][0] for r in rows]),
                                   np.array([r["current"] for r in rows]), np.array([r["n"][1] for r in rows]))
        for r, p in zip(rows, ps, strict=True):
            del r["n"]
            r["p_value"] = float(p)
    adjusted = adjust_p_values([r["p_value"] for r in rows], correction)
    for r, p in zip(rows, adjusted, strict=False):
        r["p_adjusted"] = float(p)
        r["changed"] = bool(p < alpha and abs(r["delta"]) >= threshold)
    rows.sort(key=lambda r: -abs(r["delta"]))
    return {
        "method": ref.method,
        "tested": True,
        "threshold": threshold,
        "n_pairs": len(rows),
        "pairs": rows[:TOP_PAIRS],
        "changed": [r for r in rows if r["changed"]],
    }
