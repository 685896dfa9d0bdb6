"""Abandonment of an LLM application's sessions: more users leaving right after a failed answer.

The baseline and a window each count the sessions that ended and those abandoned (ended on a refusal, an
error, nothing retrieved, a negative rating: ``profile/sessions.py``). A rise is a finding when it is
credible (a one-sided two-proportion z test at the window's alpha) and large enough to matter: at least
``MIN_RISE`` more of the sessions, an absolute share, as a drift needs its practical effect beside its
p-value. Few sessions decide nothing: under ``MIN_SESSIONS`` a side, the window says so.
"""

from __future__ import annotations

from typing import Any

from argusml.profile import DatasetProfile, Reference
from argusml.schema import Finding, Severity
from argusml.stats.compare import proportion_difference

MIN_RISE = 0.05
"""Five more sessions in a hundred abandoned: below that a rise is noise to the owner, however credible."""
MIN_SESSIONS = 30


def abandonment_check(reference: Reference, current: DatasetProfile, alpha: float, severity: Severity
                      ) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The window's abandonment against the baseline's (None when either has no sessions) and a finding
    when it rose."""
    ref, cur = reference.profile.sessions, current.sessions
    if ref is None or cur is None:
        return None, []
    out: dict[str, Any] = {"reference": {"ended": ref.ended, "abandoned": ref.abandoned},
                           "current": {"ended": cur.ended, "abandoned": cur.abandoned}}
    if ref.ended < MIN_SESSIONS or cur.ended < MIN_SESSIONS:
        return {**out, "status": "insufficient_data", "min_sessions": MIN_SESSIONS}, []
    d = proportion_difference(ref.abandoned, ref.ended, cur.abandoned, cur.ended, metric="abandonment")
    # one-sided: a rise; the two-sided p-value halves on the side the difference lies
    p = d.p_value / 2 if d.difference > 0 else 1 - d.p_value / 2
    rose = p <= alpha and d.difference >= MIN_RISE
    out.update({"status": "risen" if rose else "stable", "reference_rate": d.champion, "current_rate": d.challenger,
                "difference": d.difference, "low": d.low, "high": d.high, "p_value": p, "min_rise": MIN_RISE})
    if not rose:
        return out, []
    message = (f"abandoned sessions rose from {100 * d.champion:.1f}% to {100 * d.challenger:.1f}% "
               f"({cur.abandoned} of {cur.ended} sessions ended on a failed answer; p {p:.2g})")
    return out, [Finding("abandonment_rise", None, severity, message,
                         {k: out[k] for k in ("reference", "current", "difference", "low", "high", "p_value")})]
