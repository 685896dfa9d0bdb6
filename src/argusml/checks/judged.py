"""The judged quality of an LLM model's answers in a window against the baseline's.

``stats.judged.compare`` decides: the pass rate (two-proportion z) and the mean score (Welch), one-sided,
Holm-adjusted together. Under ``MIN_JUDGED`` verdicts a side, nothing is decided and the window says so.
Windows of another judge than the baseline's (a new rubric, another model grading) are not compared:
their scores are on another scale.
"""

from __future__ import annotations

import math
from typing import Any

from argusml.profile import DatasetProfile, Reference
from argusml.schema import Finding, Severity
from argusml.stats.judged import compare

MIN_JUDGED = 30


def judge_check(reference: Reference, current: DatasetProfile, alpha: float, severity: Severity
                ) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The window's judged quality (None when the window holds no verdict) and a finding when it dropped
    below the baseline's."""
    cur, ref = current.judge, reference.profile.judge
    if cur is None:
        return None, []
    m, p = cur.mean_score, cur.pass_rate
    out: dict[str, Any] = {"judge": cur.judge, "judged": cur.judged, "errors": cur.errors,
                           "skipped_budget": cur.skipped_budget, "mean_score": _est(m), "pass_rate": _est(p)}
    if ref is None or (ref.judge and cur.judge and ref.judge != cur.judge):
        return {**out, "status": "not_tested", "reason": "the baseline has no verdicts of this judge"}, []
    if ref.judged < MIN_JUDGED or cur.judged < MIN_JUDGED:
        return {**out, "status": "insufficient_data", "min_judged": MIN_JUDGED}, []
    c = compare(ref, cur, alpha)
    out.update({"status": "dropped" if c.dropped else "stable", "reference_mean_score": ref.mean,
                "reference_pass_rate": ref.passes / ref.judged, "p_pass_rate": c.p_pass_rate,
                "p_mean_score": c.p_mean_score})
    if not c.dropped:
        return out, []
    message = (f"judge {cur.judge!r}: pass rate {100 * ref.passes / ref.judged:.0f}% -> {100 * p.value:.0f}% "
               f"(95% {100 * p.low:.0f}-{100 * p.high:.0f}%), mean score {ref.mean:.2f} -> {m.value:.2f} "
               f"over {cur.judged} judged answers")
    return out, [Finding("judge_drop", None, severity, message, {k: out[k] for k in (
        "judge", "judged", "mean_score", "pass_rate", "reference_mean_score", "reference_pass_rate",
        "p_pass_rate", "p_mean_score")})]


def _est(e: Any) -> dict[str, Any]:
    def num(v: float) -> float | None:
        return float(v) if math.isfinite(v) else None

    return {"value": num(e.value), "low": num(e.low), "high": num(e.high), "n": e.n}
