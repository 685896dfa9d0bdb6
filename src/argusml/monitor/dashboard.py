"""What the dashboard's model and feature pages show, shaped from the stored windows: a window's features
(its verdict's columns with the findings on each), one feature's history, and a model's checks over time.
The service picks the windows (``service/routers/dashboard.py``) and draws the distribution with the
report's own ``chart_data``; the shaping is here, in plain functions of the store's rows."""

from __future__ import annotations

import math
from typing import Any

from argusml.checks.verdict import ColumnVerdict, WindowVerdict
from argusml.profile import Reference
from argusml.schema import Role

SHOWN_ROLES = (Role.FEATURE, Role.PREDICTION)
"""The columns a feature table lists: what events carry (ids, timestamps and targets are not in them)."""
MAX_HISTORY = 500
MAX_POINTS = 2000


def drift_of(c: ColumnVerdict | None) -> dict[str, Any] | None:
    """A column's drift result as the feature table shows it (None: not drift-tested in that window)."""
    if c is None or c.drift is None:
        return None
    return {"status": c.drift, "drifted": c.drifted, "method": c.method, "p_adjusted": c.p_adjusted,
            "value": c.value, "effect": c.effect, "scores": dict(c.scores)}


def window_features(verdict_text: str | None, reference: Reference, findings: list[dict[str, Any]]
                    ) -> list[dict[str, Any]]:
    """One window's features: every feature and prediction column of the reference (and any other the
    verdict judged), with kind, role, missing shares (the window's and the reference's), drift and the
    window's findings on it; drifted first, then by adjusted p-value (untested last), then by name."""
    verdict = WindowVerdict.loads(verdict_text)
    columns = verdict.columns if verdict is not None else {}
    names = [n for n, sp in reference.specs.items() if sp.role in SHOWN_ROLES]
    names += [n for n in columns if n not in names and n in reference.specs]
    by_col: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        if f["column_name"] is not None:
            by_col.setdefault(f["column_name"], []).append({"check": f["check_name"], "severity": f["severity"],
                                                            "message": f["message"]})
    out = []
    for n in names:
        spec, c = reference.specs[n], columns.get(n)
        out.append({"name": n, "kind": spec.kind.value, "role": spec.role.value,
                    "missing_ratio": c.missing_ratio if c is not None else None,
                    # an LLM model learning its baseline has its columns, not yet their profile
                    "reference_missing_ratio": (reference.profile.columns[n].missing_ratio
                                                if n in reference.profile.columns else None),
                    "drift": drift_of(c),
                    "findings": sorted(by_col.get(n, []), key=lambda f: (f["severity"], f["check"]))})
    return sorted(out, key=_feature_order)


def _feature_order(f: dict[str, Any]) -> tuple[bool, float, str]:
    d = f["drift"] or {}
    p = d.get("p_adjusted")
    return (not d.get("drifted", False), p if isinstance(p, (int, float)) and not math.isnan(p) else math.inf,
            f["name"])


def feature_history(rows: list[dict[str, Any]], feature: str) -> list[dict[str, Any]]:
    """One feature in each of ``rows`` (the store's windows, newest first), oldest first."""
    out = []
    for w in reversed(rows):
        v = WindowVerdict.loads(w["verdict"])
        c = v.columns.get(feature) if v is not None else None
        out.append({"start": w["start_ts"], "end": w["end_ts"], "drifted": bool(c is not None and c.drifted),
                    "method": c.method if c is not None else None,
                    "p_adjusted": c.p_adjusted if c is not None else None,
                    "value": c.value if c is not None else None,
                    "missing_ratio": c.missing_ratio if c is not None else None})
    return out


def check_points(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The checks of each closed window of ``rows`` (the store's, newest first), oldest first: status, rows,
    drifted columns, findings per severity and the largest missing share of any column."""
    out = []
    for w in reversed(rows):
        v = WindowVerdict.loads(w["verdict"]) or WindowVerdict.not_checked("no verdict stored")
        missing = [c.missing_ratio for c in v.columns.values() if c.missing_ratio is not None]
        out.append({"start": w["start_ts"], "end": w["end_ts"], "version": w["version"], "segment": w["segment"],
                    "status": v.status, "n_rows": w["n_rows"], "n_drifted": v.n_drifted,
                    "drifted_columns": list(v.drifted_columns), "findings_by_severity": dict(v.findings_by_severity),
                    "max_missing_ratio": max(missing) if missing else None})
    return out


def ops_points(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The store's ops buckets with their error rate (errors over requests)."""
    out = []
    for r in rows:
        n, errors = int(r["requests"]), int(r["errors"])
        out.append({"start": r["start"], "version": r["version"], "requests": n, "errors": errors,
                    "error_rate": errors / n if n else None, "latency_p50_ms": r["latency_p50_ms"],
                    "latency_p90_ms": r["latency_p90_ms"], "latency_p99_ms": r["latency_p99_ms"],
                    "fallback": int(r["fallback"])})
    return out

