"""The performance report as a self-contained HTML page (the JSON is ``checks.performance_report``'s dict).

Aggregates only, like the drift report: metrics with their intervals, the
findings and the segment table; no row of the data is embedded.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import orjson

from argusml.checks.performance import HIGHER_IS_BETTER, performance_report
from argusml.profile import open_source

__all__ = ["performance_report_files", "to_html", "to_json"]


def performance_report_files(reference: str, current: str, target: str, prediction: str,
                             segments: list[str] | None = None, **cfg: Any) -> dict[str, Any]:
    from argusml.checks.performance import PerformanceConfig

    return performance_report(open_source(reference), open_source(current), target, prediction, segments,
                              PerformanceConfig(**cfg))


def to_json(rep: dict[str, Any]) -> str:
    return orjson.dumps(rep, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
                        default=lambda o: None if isinstance(o, float) and not math.isfinite(o) else str(o)).decode()


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.4g}" if isinstance(x, float) else escape(str(x))


_BAD = ' class="bad"'


def _metric_rows(rep: dict[str, Any]) -> str:
    ref, cur = rep["reference"]["metrics"], rep["current"]["metrics"]
    dropped = {f["evidence"].get("metric") for f in rep["findings"] if f["check"] == "performance_drop"}
    out = []
    for name in cur:
        r, c = ref.get(name, {}), cur[name]
        better = "higher is better" if name in HIGHER_IS_BETTER else "lower is better"
        cls = _BAD if name in dropped else ""
        out.append(f"<tr{cls}><td>{escape(name)}</td><td>{_num(r.get('value'))}</td>"
                   f"<td>{_num(r.get('low'))} – {_num(r.get('high'))}</td><td>{_num(c['value'])}</td>"
                   f"<td>{_num(c['low'])} – {_num(c['high'])}</td><td>{c['n']}</td>"
                   f"<td>{escape(c['interval'])}</td><td>{better}</td></tr>")
    return "\n".join(out)


def to_html(rep: dict[str, Any]) -> str:
    v = rep["verdict"]
    findings = "".join(f"<li><b>{escape(f['severity'])}</b> {escape(f['check'])}: {escape(f['message'])}</li>"
                       for f in rep["findings"]) or "<li>none</li>"
    segs = "".join(
        f"<tr{_BAD if s['significant'] and s['gap'] > 0 else ''}><td>{escape(s['column'])}</td>"
        f"<td>{escape(s['value'])}</td><td>{s['n']}</td><td>{_num(s['error'])}</td><td>{_num(s['error_rest'])}</td>"
        f"<td>{_num(s['gap'])}</td><td>{_num(s['p_adjusted'])}</td></tr>" for s in rep["segments"])
    seg_table = (f"<h2>Segments (worst first; Holm-adjusted p, at least {rep.get('min_labels', '')} labels for "
                 "a drop)</h2><table><tr><th>column</th><th>value</th><th>labels</th><th>error</th>"
                 f"<th>error elsewhere</th><th>gap</th><th>p adjusted</th></tr>{segs}</table>") if segs else ""
    error_word = "mean absolute error" if rep["task"] == "regression" else "share of wrong predictions"
    task = escape(rep["task"])
    if rep["task"] == "binary":
        task += f"; positive class {escape(str(rep['positive_class']))}, threshold {rep['threshold']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Argus performance report</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
tr.bad td {{ background: #fde2e1; }}
.status {{ font-size: 1.3em; font-weight: bold; }}
</style></head><body>
<h1>Performance: {escape(rep['target'])} vs {escape(rep['prediction'])}</h1>
<p class="status" id="verdict">{escape(v['status'])}</p>
<p>Task: {task}; a drop counts when the
whole 95% interval is beyond the reference value moved by {rep['tolerance']:.0%}. Reference
{escape(rep['reference']['source'])}: {rep['reference']['labelled']} labelled rows; current
{escape(rep['current']['source'])}: {rep['current']['labelled']} labelled rows ({rep['current']['unlabelled']}
without a label or prediction). Segment error: {error_word}.</p>
<h2>Findings</h2><ul>{findings}</ul>
<h2>Metrics</h2>
<table><tr><th>metric</th><th>reference</th><th>reference 95%</th><th>current</th><th>current 95%</th>
<th>labels</th><th>interval</th><th></th></tr>
{_metric_rows(rep)}
</table>
{seg_table}
</body></html>
"""
