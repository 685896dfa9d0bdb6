"""Multivariate drift: has the joint distribution of the features changed?

One decision for the report, the service's windows and /metrics. Each of the
two tests (``stats/multivariate.py``) is decided like a column's drift:
significant at ``drift.alpha`` after a Bonferroni correction over the two,
and at least a practical effect (``multivariate.min_error_increase``,
``multivariate.min_auc``), so that a huge window does not report a
negligible change and a small one is not called drifted on noise.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from argusml.profile import DatasetProfile, Reference
from argusml.schema import Finding, MultivariateSettings, Severity
from argusml.stats.multivariate import MIN_TEST_ROWS, domain_classifier, error_increase

TESTS = 2
TOP_COLUMNS = 5


def _status(p_adj: float, effect: float, threshold: float, alpha: float) -> str:
    return "drifted" if p_adj < alpha and effect >= threshold else "stable"


def multivariate_drift(reference: Reference, current: DatasetProfile, settings: MultivariateSettings, alpha: float,
                       severity: Severity, ignore: Collection[str] = ()) -> tuple[dict[str, Any], Finding | None]:
    """The ``multivariate`` section of a report or window, and its finding when drifted."""
    model, cur = reference.multivariate, current.multivariate
    if not settings.enabled or model is None or cur is None:
        why = ("turned off (multivariate.enabled)" if not settings.enabled else
               "fewer than two features to relate" if model is None else "no multivariate profile of this data")
        return {"status": "not_tested", "drifted": False, "reason": why}, None
    labels = [c.label for c in model.encoder.columns]
    out: dict[str, Any] = {"status": "insufficient_data", "drifted": False, "alpha": alpha, "features": labels,
                           "components": int(model.pca.components.shape[0]),
                           "explained": round(model.pca.total_explained, 4)}

    rec: dict[str, Any] = {"method": "pca_reconstruction", "n": cur.n, "threshold": settings.min_error_increase}
    # a feature absent from the data (or without one usable value) is the quality checks' finding
    # (missing_column, all_null); here it would only pass for a change of structure
    gone = {n for n in model.encoder.names
            if n not in current.columns or current.columns[n].present == 0}
    off = model.ignored({*ignore, *gone})
    if off.size:
        # the components were fitted with these features: without them the errors are not comparable
        names = ", ".join(sorted({model.encoder.columns[j].name for j in off}))
        rec.update(status="not_tested", reason=(
            f"the baseline's model includes ignored features ({names}); re-create it without them"
            if not gone else f"features of the model have no values here ({names})"))
    elif cur.n >= settings.min_rows:
        t = error_increase(model.error_n, model.error_mean, model.error_var, cur.n, cur.error_sum, cur.error_sum2)
        p_adj = min(1.0, t.p_value * TESTS)
        rec.update(reference_error=t.reference_mean, current_error=t.current_mean,
                   relative_increase=t.relative_increase, z=t.z, p_value=t.p_value, p_adjusted=p_adj,
                   status=_status(p_adj, t.relative_increase, settings.min_error_increase, alpha))
        if cur.residual_sum.size == len(labels):
            # where the residual grew: the features whose co-movement changed
            rise = cur.residual_sum / cur.n - model.error_columns
            order = np.argsort(-rise)[:TOP_COLUMNS]
            rec["columns"] = [{"feature": labels[i], "reference": float(model.error_columns[i]),
                               "current": float(cur.residual_sum[i] / cur.n)} for i in order if rise[i] > 0]
    else:
        rec["status"] = "insufficient_data"
    out["reconstruction"] = rec

    clf: dict[str, Any] = {"method": "domain_classifier", "threshold": settings.min_auc,
                           "sample": [int(model.sample.shape[0]), int(cur.keys.size)]}
    c = None
    if settings.sample_rows > 0 and cur.keys.size and cur.rows.shape[1] == len(labels):
        ref_rows, cur_rows = model.sample.astype(np.float64), cur.rows.astype(np.float64)
        ref_rows[:, off] = cur_rows[:, off] = 0.0  # an ignored feature must not tell the samples apart
        c = domain_classifier(ref_rows, cur_rows, basis=model.basis)
    if c is not None:
        p_adj = min(1.0, c.p_value * TESTS)
        clf.update(auc=c.auc, p_value=c.p_value, p_adjusted=p_adj, n_train=list(c.n_train), n_test=list(c.n_test),
                   features=c.features, status=_status(p_adj, c.auc, settings.min_auc, alpha))
    else:
        clf["status"] = "insufficient_data" if settings.sample_rows > 0 else "not_tested"
        clf["needs"] = 2 * MIN_TEST_ROWS
    out["classifier"] = clf

    statuses = {rec["status"], clf["status"]}
    if "drifted" in statuses:
        out["status"] = "drifted"
    elif "stable" in statuses:
        out["status"] = "stable"
    out["drifted"] = out["status"] == "drifted"
    if not out["drifted"]:
        return out, None
    return out, Finding("multivariate_drift", None, severity, _message(rec, clf),
                        {"reconstruction": rec, "classifier": clf})


def _message(rec: dict[str, Any], clf: dict[str, Any]) -> str:
    parts = []
    if rec.get("status") == "drifted":
        where = ", ".join(c["feature"] for c in rec.get("columns", [])[:3])
        parts.append(f"PCA reconstruction error {100 * rec['relative_increase']:+.0f}% "
                     f"({rec['reference_error']:.3g} -> {rec['current_error']:.3g}, p_adj {rec['p_adjusted']:.2g})"
                     + (f", most in {where}" if where else ""))
    if clf.get("status") == "drifted":
        parts.append(f"a classifier tells current rows from reference rows with AUC {clf['auc']:.3f} "
                     f"(p_adj {clf['p_adjusted']:.2g})")
    return "the joint distribution of the features changed: " + "; ".join(parts)
