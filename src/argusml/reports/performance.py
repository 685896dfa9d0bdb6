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


_WHOSE = {"segment": "its reference rows", "reference": "whole reference", "trailing_segment": "its trailing period",
          "trailing": "whole trailing period"}


def _segment_rows(rep: dict[str, Any]) -> str:
    """One row per segment value, worst first: each watched metric as baseline -> current [interval]."""
    watched = rep.get("segment_tests", {}).get("watched", [])
    out = []
    for s in rep.get("by_segment", []):
        cur = (s.get("current") or {}).get("metrics") or {}
        tests = {d["metric"]: d for d in s["drops"]}
        cells = []
        for name in watched:
            c, d = cur.get(name), tests.get(name)
            if c is None:
                cells.append("<td>–</td>")
                continue
            base = _num(d["baseline"]) + " → " if d else ""
            cls = _BAD if d and d.get("worse") else ""
            cells.append(f"<td{cls}>{base}{_num(c['value'])} [{_num(c['low'])} – {_num(c['high'])}]</td>")
        whose = escape(_WHOSE.get(s["baseline"], str(s["baseline"] or "none")))
        if s.get("baseline_note"):
            whose = f'<span title="{escape(s["baseline_note"])}">{whose} *</span>'
        gap = s.get("gap") or {}
        row_cls = _BAD if s["status"] == "degraded" else (' class="new"' if s["status"] == "new" else "")
        out.append(f"<tr{row_cls}><td>{s['rank']}</td><td>{escape(s['column'])}={escape(s['value'])}</td>"
                   f"<td>{escape(s['status'])}</td><td>{s['labels']}</td><td>{_num(s.get('reference_labels'))}</td>"
                   f"<td>{whose}</td>{''.join(cells)}<td>{_num(s['drop'])}</td><td>{_num(gap.get('gap'))}</td>"
                   f"<td>{_num(gap.get('p_adjusted'))}</td></tr>")
    return "\n".join(out)


def to_html(rep: dict[str, Any]) -> str:
    v = rep["verdict"]
    findings = "".join(f"<li><b>{escape(f['severity'])}</b> {escape(f['check'])}: {escape(f['message'])}</li>"
                       for f in rep["findings"]) or "<li>none</li>"
    segs = _segment_rows(rep)
    watched = rep.get("segment_tests", {}).get("watched", [])
    heads = "".join(f"<th>{escape(m)}: baseline → current [95%]</th>" for m in watched)
    seg_table = (f"<h2>Segments, worst first</h2><p>Each value judged against its own rows in the reference "
                 f"(the whole reference when it has fewer than {rep.get('min_support', '')} there: marked *, "
                 f"hover for why). A drop needs at least {rep.get('min_labels', '')} labels; the drop tests of all "
                 f"segments and watched metrics are Holm-adjusted together. Ranked by status, then by the largest "
                 f"relative drop, then by the gap in error to the rest of the current data.</p>"
                 f"<table id=\"segments\"><tr><th>rank</th><th>segment</th><th>status</th><th>labels</th>"
                 f"<th>reference labels</th><th>baseline</th>{heads}<th>relative drop</th><th>error gap</th>"
                 f"<th>gap p (Holm)</th></tr>{segs}</table>") if segs else ""
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
tr.bad td, td.bad {{ background: #fde2e1; }}
tr.new td {{ background: #fff6d5; }}
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
