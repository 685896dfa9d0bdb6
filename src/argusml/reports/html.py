"""Self-contained HTML rendering of a report dict (no network, no CDN).

Why it looks the way it does:

- One file that opens offline, years later, on an air-gapped laptop: CSS is
  inline, charts are inline SVG drawn here in Python, the only script is a
  few lines of optional filtering. No JavaScript library, no web font.
- Small: the report dict holds aggregates only (bins and shares), and the
  charts are drawn from those, so a report's size does not grow with the
  number of rows, unlike the incumbents' HTML reports, which embed raw rows
  (docs/BENCHMARKS.md, "Figures behind the code").
- Safe: column names and categories are user data. Everything goes through
  Jinja2's autoescape, and the SVG builders (``charts.py``) escape every
  string they place, so a column named ``<script>`` is shown, never run.
- Honest charts: density where bins have unequal widths, shares where a bin
  is a single value (``charts.py`` says why).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import jinja2

from argusml.reports.charts import all_finite, as_count, categorical_chart, distribution_chart, numeric_chart
from argusml.reports.fmt import DASH, fmt_duration, fmt_num, fmt_p, fmt_pct, fmt_time

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
# Reference is also drawn as a filled area and current as a bold line, so the two
# differ in form as well as in colour.
REF_COLOUR = "#0072B2"
CUR_COLOUR = "#D55E00"

SEVERITIES = ("P0", "P1", "P2")
SCORE_ORDER = ("psi", "ks", "wasserstein_norm", "tail", "js", "tvd", "chi2", "wasserstein", "mean_shift_sd",
               "std_ratio")
STATUS_TEXT = {
    "ok": "No drift, and no P0 or P1 finding.",
    "warning": "No column drifted, but there are P1 findings to look at today.",
    "drift": "Columns drifted: both statistically credible and larger than the practical effect threshold.",
    "error": "P0 findings: the data is broken for the model (e.g. a column is missing or entirely null).",
}

def _worst(findings: Sequence[dict[str, Any]]) -> str | None:
    sev = [f.get("severity") for f in findings if f.get("severity") in SEVERITIES]
    return min(sev, key=SEVERITIES.index) if sev else None


def _summary_rows(summary: dict[str, Any], kind: str) -> dict[str, Any]:
    """Reference and current summary side by side, numeric or categorical."""
    ref = summary.get("reference") if isinstance(summary.get("reference"), dict) else {}
    cur = summary.get("current") if isinstance(summary.get("current"), dict) else {}
    if not ref and not cur:
        return {"type": "none", "rows": []}
    if "top" in ref or "top" in cur:
        rows = [("rows", fmt_num(ref.get("count")), fmt_num(cur.get("count"))),
                ("categories", fmt_num(ref.get("categories")), fmt_num(cur.get("categories")))]
        if ref.get("exact") is False or cur.get("exact") is False:
            rows.append(("counts exact", fmt_num(ref.get("exact")), fmt_num(cur.get("exact"))))
        rt, ct = ref.get("top") or [], cur.get("top") or []
        for i in range(max(len(rt), len(ct))):
            a = rt[i] if i < len(rt) else None
            b = ct[i] if i < len(ct) else None
            rows.append((f"top {i + 1}",
                         f"{a.get('value')} ({fmt_pct(a.get('share'))})" if a else DASH,
                         f"{b.get('value')} ({fmt_pct(b.get('share'))})" if b else DASH))
        return {"type": "categorical", "rows": rows}
    val: Callable[[Any], str] = fmt_time if kind == "datetime" else fmt_num
    spread: Callable[[Any], str] = fmt_duration if kind == "datetime" else fmt_num
    rq, cq = ref.get("quantiles") or {}, cur.get("quantiles") or {}
    rows = [("count", fmt_num(ref.get("count")), fmt_num(cur.get("count"))),
            ("mean", val(ref.get("mean")), val(cur.get("mean"))),
            ("std", spread(ref.get("std")), spread(cur.get("std"))),
            ("min", val(ref.get("min")), val(cur.get("min")))]
    for q in sorted(set(rq) | set(cq), key=lambda s: float(s[1:]) if s[1:].replace(".", "", 1).isdigit() else 1e9):
        rows.append((q, val(rq.get(q)), val(cq.get(q))))
    rows.append(("max", val(ref.get("max")), val(cur.get("max"))))
    if ref.get("infinite") or cur.get("infinite"):
        rows.append(("infinite", fmt_num(ref.get("infinite")), fmt_num(cur.get("infinite"))))
    if ref.get("quantiles_exact") is False or cur.get("quantiles_exact") is False:
        rows.append(("quantiles exact", fmt_num(ref.get("quantiles_exact")), fmt_num(cur.get("quantiles_exact"))))
    return {"type": "numeric", "rows": rows}


def _quality_rows(q: dict[str, Any]) -> list[tuple[str, str]]:
    if not q.get("present", True):
        return [("present", "no: missing from the current data"),
                ("missing (reference)", fmt_pct(q.get("reference_missing_ratio")))]
    rows = [("rows", fmt_num(q.get("rows"))),
            ("missing", f"{fmt_pct(q.get('missing_ratio'))} (reference {fmt_pct(q.get('reference_missing_ratio'))})"),
            ("type errors", f"{fmt_num(q.get('type_errors'))} ({fmt_pct(q.get('type_error_ratio'))})")]
    if "out_of_range_ratio" in q:
        rows.append(("outside reference range", fmt_pct(q.get("out_of_range_ratio"))))
    if "new_categories" in q:
        rows.append(("new categories", f"{fmt_num(q.get('new_categories'))} ({fmt_pct(q.get('new_category_ratio'))} of rows)"))
    if "categories" in q:
        rows.append(("categories", fmt_num(q.get("categories"))))
    if "distinct" in q:
        rows.append(("distinct", fmt_num(q.get("distinct"))))
    return rows


def _column_view(i: int, name: str, col: dict[str, Any], uid: str) -> dict[str, Any]:
    drift = col.get("drift") or {}
    status = drift.get("status") or "not_tested"
    test = drift.get("test") if isinstance(drift.get("test"), dict) else None
    effect = drift.get("effect") if isinstance(drift.get("effect"), dict) else None
    scores = drift.get("scores") if isinstance(drift.get("scores"), dict) else {}
    findings = [f for f in (col.get("findings") or []) if isinstance(f, dict)]
    kind = str(col.get("kind") or "")
    quality = col.get("quality") or {}
    det = drift.get("detectable_effect")
    keys = [s for s in SCORE_ORDER if s in scores] + sorted(s for s in scores if s not in SCORE_ORDER)
    drifted = status == "drifted"
    worst = _worst(findings)
    p_adj = test.get("p_adjusted") if test else None
    alpha = test.get("alpha") if test else None
    significant = all_finite([p_adj, alpha]) and p_adj < alpha
    if status != "stable" or not (test and effect):
        why = ""
    elif significant:
        why = "significant, but the effect is below the practical threshold"
    elif effect.get("passed"):
        why = "the effect passes the threshold, but it is not significant at this N"
    else:
        why = "neither significant nor large"
    return {
        "anchor": f"{uid}-c{i}",
        "name": name,
        "kind": kind,
        "role": str(col.get("role") or ""),
        "status": status,
        "drifted": drifted,
        "open": drifted or worst is not None,
        "present": quality.get("present", True),
        "test": test,
        "effect": effect,
        "scores": [(s, fmt_num(scores[s]), effect is not None and s == effect.get("method")) for s in keys],
        "detectable": det if isinstance(det, dict) else None,
        "reason": drift.get("reason"),
        "why_stable": why,
        "n_reference": drift.get("n_reference"),
        "n_current": drift.get("n_current"),
        "quality": _quality_rows(quality),
        "missing": quality.get("missing_ratio"),
        "summary": _summary_rows(col.get("summary") or {}, kind),
        "chart": distribution_chart(col.get("distribution"), name, kind),
        "findings": findings,
        "worst": worst,
        "n_findings": len(findings),
    }


def _uid(report: dict[str, Any]) -> str:
    """A stable id prefix, so that two reports in one notebook do not share anchors."""
    key = repr((report.get("generated_at"), (report.get("reference") or {}).get("source"),
                (report.get("current") or {}).get("source"), (report.get("verdict") or {}).get("drifted_columns")))
    return "ar" + hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]


def build_context(report: dict[str, Any], embedded: bool = False) -> dict[str, Any]:
    """Everything the template shows, with defaults for pieces an older or partial report lacks."""
    verdict = report.get("verdict") or {}
    uid = _uid(report)
    columns_in = report.get("columns") or {}
    columns = [_column_view(i, str(n), c, uid) for i, (n, c) in enumerate(columns_in.items()) if isinstance(c, dict)]
    anchors = {c["name"]: c["anchor"] for c in columns}
    by_sev = verdict.get("findings_by_severity") or {}
    findings = []
    for f in report.get("findings") or []:
        if not isinstance(f, dict):
            continue
        col = f.get("column")
        findings.append({"severity": f.get("severity"), "check": f.get("check"), "column": col,
                         "anchor": anchors.get(col) if isinstance(col, str) else None, "message": f.get("message")})
    if not by_sev:
        by_sev = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    status = verdict.get("status") or "error"
    drifted = list(verdict.get("drifted_columns") or [])
    corr = report.get("correlations") or {}
    settings = report.get("settings") or {}
    drift_settings = settings.get("drift") or {}
    thresholds = drift_settings.get("thresholds") or {}
    return {
        "embedded": embedded,
        "uid": uid,
        "status": status,
        "status_text": STATUS_TEXT.get(status, ""),
        "sev": {s: as_count(by_sev.get(s)) for s in SEVERITIES},
        "drifted": [(n, anchors.get(n) if isinstance(n, str) else None) for n in drifted],
        "n_drifted": verdict.get("n_drifted", len(drifted)),
        "n_tested": verdict.get("n_tested"),
        "insufficient": [(n, anchors.get(n) if isinstance(n, str) else None) for n in verdict.get("insufficient_data") or []],
        "prediction_drift": bool(verdict.get("prediction_drift")),
        "target_drift": bool(verdict.get("target_drift")),
        "alpha": verdict.get("alpha", drift_settings.get("alpha")),
        "correction": verdict.get("correction", drift_settings.get("correction")),
        "reference": report.get("reference") or {},
        "current": report.get("current") or {},
        "generated_at": report.get("generated_at"),
        "argus_version": report.get("argus_version"),
        "schema_version": report.get("schema_version"),
        "elapsed_s": report.get("elapsed_s"),
        "findings": findings,
        "columns": columns,
        "mv": _multivariate_view(report.get("multivariate")),
        "corr": {
            "tested": bool(corr.get("tested")),
            "method": corr.get("method"),
            "threshold": corr.get("threshold"),
            "n_pairs": corr.get("n_pairs"),
            "changed": [p for p in corr.get("changed") or [] if isinstance(p, dict)],
            "pairs": [p for p in corr.get("pairs") or [] if isinstance(p, dict)],
        },
        "thresholds": [(k, v) for k, v in thresholds.items()],
        "ignored": list(settings.get("ignored") or []),
        "min_rows": drift_settings.get("min_rows"),
        "ref_colour": REF_COLOUR,
        "cur_colour": CUR_COLOUR,
    }


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("argusml.reports", "templates"),
        autoescape=True,  # the template is HTML whatever its .j2 suffix says
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fmt_num, pct=fmt_pct, pval=fmt_p)
    return env


def render_html(report: dict[str, Any], embedded: bool = False) -> str:
    """Render a report dict (``Report.to_dict()``) as one self-contained HTML page.

    ``embedded=True`` returns a fragment for Jupyter's ``_repr_html_``: no
    ``<html>``/``<head>``, and every style scoped under ``.argus-report`` so
    the notebook around it keeps its own look.
    """
    return _environment().get_template("report.html.j2").render(**build_context(report, embedded))


__all__ = ["build_context", "categorical_chart", "distribution_chart", "fmt_num", "fmt_p", "fmt_pct",
           "numeric_chart", "render_html"]



def _multivariate_view(mv: Any) -> dict[str, Any] | None:
    """The two joint-distribution tests as table rows; None when the report has no such section
    (older reports) so the template leaves it out."""
    if not isinstance(mv, dict):
        return None
    rows = []
    for key, name, effect in (("reconstruction", "PCA reconstruction error", "relative_increase"),
                              ("classifier", "domain classifier AUC", "auc")):
        t = mv.get(key)
        if isinstance(t, dict):
            rows.append({"name": name, "status": t.get("status"), "effect": t.get(effect),
                         "threshold": t.get("threshold"), "p_adjusted": t.get("p_adjusted"),
                         "reason": t.get("reason"),
                         "where": [c.get("feature") for c in t.get("columns") or [] if isinstance(c, dict)][:3]})
    return {"status": mv.get("status"), "drifted": bool(mv.get("drifted")), "reason": mv.get("reason"),
            "features": len(mv.get("features") or []), "components": mv.get("components"), "rows": rows}
