"""What a window says once checked: the compact summary of a check run (its verdict, per-column drift and
missing ratio, the prediction's summary) that the store keeps with the window, and that /status and the
window gauges of /metrics read; and the JSON spelling of findings' evidence (numpy values, sets)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

from argusml.profile import DatasetProfile, Reference
from argusml.schema import DriftStatus, Kind

JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def finding_json(f: Any) -> dict[str, Any]:
    """A finding as a provisional verdict keeps it (JSON, in the open window's row)."""
    return {"check": f.check, "column": f.column, "severity": f.severity.value, "message": f.message,
            "evidence": f.evidence}


def json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def window_summary(res: Any, reference: Reference, profile: DatasetProfile) -> dict[str, Any]:
    """What a closed window says, compactly: verdict, per-column drift and
    missing ratio, prediction summary. The service's /metrics reads this."""
    v = res.verdict.to_dict()
    cols: dict[str, Any] = {}
    for name, cr in res.columns.items():
        d = cr.drift
        c: dict[str, Any] = {"missing_ratio": cr.current.missing_ratio if cr.current is not None else None}
        if d is not None:
            c.update({"drift": d.status.value, "drifted": d.status is DriftStatus.DRIFTED, "method": d.method,
                      "p_adjusted": d.p_adjusted, "effect": d.effect_method, "value": d.effect_value,
                      "scores": {k: x for k, x in d.scores.items() if x is not None and isinstance(x, (int, float))
                                 and math.isfinite(x)}})
        cols[name] = c
    pred: dict[str, Any] | None = None
    pname = reference.prediction
    if pname and pname in profile.columns:
        cp = profile.columns[pname]
        if cp.numeric is not None and cp.numeric.n:
            pred = {"mean": float(cp.numeric.moments.mean)}
        elif cp.categories is not None and cp.categories.n:
            n = cp.categories.n
            pred = {"class_ratio": {k: c / n for k, c in list(cp.categories.counts.items())[:50]}}
        if pred is not None and reference.specs[pname].kind is Kind.BOOLEAN and cp.categories is not None:
            pred["mean"] = cp.categories.counts.get("true", 0) / max(cp.categories.n, 1)
    return {"status": v["status"], "drifted_columns": v["drifted_columns"], "n_tested": v["n_tested"],
            "n_drifted": v["n_drifted"], "findings_by_severity": v["findings_by_severity"], "alpha": v["alpha"],
            "n_rows": profile.n_rows, "columns": cols, "prediction": pred,
            "multivariate": _multivariate_summary(res.multivariate),
            "insufficient_data": v["insufficient_data"], "quality_insufficient": v.get("quality_insufficient")}


def _multivariate_summary(mv: dict[str, Any]) -> dict[str, Any]:
    """The window's multivariate verdict and the two tests' effect sizes (the rest is in its finding)."""
    out: dict[str, Any] = {"status": mv.get("status"), "drifted": bool(mv.get("drifted"))}
    rec, clf = mv.get("reconstruction") or {}, mv.get("classifier") or {}
    if "relative_increase" in rec:
        out["error_increase"] = rec["relative_increase"]
        out["error_p_adjusted"] = rec["p_adjusted"]
    if "auc" in clf:
        out["classifier_auc"] = clf["auc"]
        out["classifier_p_adjusted"] = clf["p_adjusted"]
    return out
