"""The performance report: its JSON (``performance_report``) and a self-contained HTML page of it.

The report reads its two tables here, in ``reports``, and judges them with
``checks.performance``, whose functions take arrays and never touch a file.
Aggregates only, like the drift report: metrics with their intervals, the
findings and the segment table; no row of the data is embedded.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np
import orjson

from argusml.checks.performance import (
    HIGHER_IS_BETTER,
    WATCHED,
    PerformanceConfig,
    SegmentCase,
    SegmentVerdict,
    compare,
    judge_segments,
    segment_findings,
)
from argusml.profile import open_source
from argusml.profile.frame import TableSource
from argusml.profile.labelled import Labelled, metrics_of, read_labelled, segment_codes, segment_metrics
from argusml.schema import InputError
from argusml.stats.performance import Estimate

__all__ = ["performance_report", "performance_report_files", "to_html", "to_json"]


def performance_report_files(reference: str, current: str, target: str, prediction: str,
                             segments: list[str] | None = None, **cfg: Any) -> dict[str, Any]:
    return performance_report(open_source(reference), open_source(current), target, prediction, segments,
                              PerformanceConfig(**cfg))


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
    seg_cols: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for col in segments or []:
        if col not in current.columns:
            raise InputError(f"segment column {col!r} not found", path=current.name)
        seg_cols[col] = segment_codes(current.column(col))
    seg_rows, seg_findings = segment_findings(cur, seg_cols, cfg, seed=2)
    verdicts = judge_segments(_segment_cases(reference, ref, cur, m_ref, seg_cols, seg_rows, cfg), ref.task, cfg)
    findings.extend(seg_findings)
    findings.extend(f for v in verdicts for f in v.findings)
    if cur.y.size < cfg.min_labels:
        status = "insufficient_data"
    else:
        status = "degraded" if any(f.check == "performance_drop" for f in findings) else "ok"
    tested = sum(1 for v in verdicts for t in v.row["drops"] if t["p_adjusted"] is not None)
    return {
        "schema_version": 1, "kind": "performance", "task": ref.task, "target": target, "prediction": prediction,
        "positive_class": ref.positive, "threshold": cfg.threshold if ref.task == "binary" else None,
        "tolerance": cfg.tolerance, "min_labels": cfg.min_labels, "min_support": cfg.min_support,
        "reference": {"source": reference.name, "labelled": int(ref.y.size), "unlabelled": ref.unlabelled,
                      "metrics": {k: v.to_dict() for k, v in m_ref.items()}},
        "current": {"source": current.name, "labelled": int(cur.y.size), "unlabelled": cur.unlabelled,
                    "metrics": {k: v.to_dict() for k, v in m_cur.items()}},
        "segments": seg_rows,
        "by_segment": [_with_metrics(v) for v in verdicts],
        "segment_tests": {"correction": "holm", "family": "segment values x watched metrics", "tests": tested,
                          "level": cfg.alpha / 2, "watched": list(cfg.watched or WATCHED[ref.task])},
        "findings": [f.to_dict() for f in findings],
        "verdict": {"status": status, "findings": len(findings)},
    }


def _with_metrics(v: SegmentVerdict) -> dict[str, Any]:
    """The verdict's row with both sides' metrics: the reference's rows of the segment (when it is the
    baseline) and the current ones."""
    c = v.case
    own = c.source == "segment" and c.baseline is not None
    return {**v.row,
            "reference": {"labelled": c.reference_labels,
                          "metrics": {k: e.to_dict() for k, e in c.baseline.items()} if own and c.baseline else None},
            "current": {"labelled": c.labels, "metrics": {k: e.to_dict() for k, e in c.metrics.items()} or None}}


def _segment_cases(reference: TableSource, ref: Labelled, cur: Labelled, m_ref: dict[str, Estimate],
                   seg_cols: dict[str, tuple[np.ndarray, np.ndarray]], gaps: list[dict[str, Any]],
                   cfg: PerformanceConfig) -> list[SegmentCase]:
    """Every value of every segment column in the current data, with its metrics (past the minimum support)
    and its baseline: the same value's rows of the reference when it has at least ``min_support`` labels
    there, else the whole reference (saying why). Each case's row also carries both sides' metrics."""
    gap_of = {(r["column"], r["value"]): r for r in gaps}
    enough = max(min(cfg.min_support, cfg.min_labels), 1)
    cur_order = np.argsort(cur.score, kind="stable") if cur.task == "binary" and seg_cols else None
    ref_order = np.argsort(ref.score, kind="stable") if ref.task == "binary" and seg_cols else None
    whole_n = int(ref.y.size)
    cases: list[SegmentCase] = []
    for col, (codes, names) in seg_cols.items():
        kept = codes if cur.keep is None else codes[cur.keep]
        per_cur = segment_metrics(cur, kept, len(names), cfg, min_labels=enough, seed=2, order=cur_order)
        ref_per: dict[str, tuple[int, dict[str, Estimate] | None]] = {}
        in_reference = col in reference.columns
        if in_reference:
            r_codes, r_names = segment_codes(reference.column(col))
            r_kept = r_codes if ref.keep is None else r_codes[ref.keep]
            shown = {str(names[c]) for c, (n, m) in enumerate(per_cur) if m is not None}
            wanted = {c for c, v in enumerate(r_names) if str(v) in shown}
            for c, (n, m) in enumerate(segment_metrics(ref, r_kept, len(r_names), cfg, min_labels=cfg.min_support,
                                                       seed=0, order=ref_order, only=wanted)):
                ref_per[str(r_names[c])] = (n, m)
        for c, (n, m) in enumerate(per_cur):
            if not n:
                continue
            value = str(names[c])
            ref_n, ref_m = ref_per.get(value, (0, None))
            if ref_m is not None:
                case = SegmentCase(col, value, n, m or {}, ref_m, "segment", ref_n, reference_labels=ref_n)
            else:
                if not in_reference:
                    note = f"the reference has no column {col!r}: judged against the whole reference"
                elif ref_n == 0:
                    note = "absent from the reference: judged against the whole reference"
                else:
                    note = (f"only {ref_n} reference labels (fewer than {cfg.min_support}): judged against the "
                            "whole reference")
                case = SegmentCase(col, value, n, m or {}, m_ref, "reference", whole_n, new=ref_n == 0, note=note,
                                   reference_labels=ref_n if in_reference else None)
            case.gap = gap_of.get((col, value))
            cases.append(case)
    return cases


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
