"""The post-mortem template, filled from a resolved incident.

What Argus knows about an incident — when it was detected, who acknowledged and resolved it, which alerts
were symptoms, which causes it ranked and on what evidence, and the timeline — is written out as the
first draft of the post-mortem, so the people writing it start from the record rather than from memory.
What only people know (what went well, what went wrong, the actions) is left as headed prompts.

A pure function of the incident as ``GET /v1/incidents/{id}`` answers it, so that the same incident
always gives the same text, and the text can be checked line by line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def duration_words(seconds: float | None) -> str:
    """A duration as a person says it, to the two largest units: ``3725`` → ``"1 h 2 min"``.

    >>> duration_words(45), duration_words(3725), duration_words(90061), duration_words(None)
    ('45 s', '1 h 2 min', '1 d 1 h', 'unknown')
    """
    if seconds is None:
        return "unknown"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size} {unit}")
            s %= size
    return " ".join(parts[:2])


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (_parse(end) - _parse(start)).total_seconds()


def _parse(t: str) -> datetime:
    return datetime.fromisoformat(t.replace("Z", "+00:00"))


def _cell(value: Any) -> str:
    """A table cell: one line, pipes escaped (a pipe would start a new column)."""
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def _alert_line(a: dict[str, Any]) -> str:
    labels = a.get("labels") or {}
    where = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    head = f"`{a['name']}`" + (f" ({where})" if where else "")
    span = f"from {a.get('starts_at') or '?'}" + (f" to {a['ends_at']}" if a.get("ends_at") else ", still firing")
    return (f"{head} — {a['severity']}, version {a.get('model_version') or 'unversioned'}, {span}: "
            f"{a.get('summary') or 'no summary'}")


def postmortem(incident: dict[str, Any]) -> str:
    """The post-mortem of ``incident`` (the dict ``GET /v1/incidents/{id}`` answers) as Markdown.

    Sections: summary (title, severity, duration, time to detect and to resolve in words), impact (the
    symptom alerts), root cause (the ranked causes with their evidence), timeline (a table), and three
    headed prompts for the people: what went well, what went wrong, action items. An incident still open
    gets the same draft, saying so, so it can be started before the resolve."""
    inc = incident
    alerts = list(inc.get("alerts") or [])
    by_id = {a["id"]: a for a in alerts}
    duration = _seconds_between(inc.get("opened_at"), inc.get("resolved_at"))
    out: list[str] = [f"# Post-mortem: {inc['title']}", ""]
    owners = f"team {inc.get('team') or 'none'}, owner {inc.get('owner') or 'none'}"
    out += [f"Incident `{inc['id']}` of model `{inc['model']}` ({owners}); status: {inc['status']}.", ""]

    out += ["## Summary", ""]
    out.append(f"- **Severity:** {inc['severity']}")
    out.append(f"- **Opened:** {inc['opened_at']}")
    if inc.get("acknowledged_at"):
        out.append(f"- **Acknowledged:** {inc['acknowledged_at']} by {inc.get('acknowledged_by') or 'unknown'}")
    else:
        out.append("- **Acknowledged:** never")
    if inc.get("resolved_at"):
        out.append(f"- **Resolved:** {inc['resolved_at']} by {inc.get('resolved_by') or 'unknown'}")
        out.append(f"- **Duration:** {duration_words(duration)}")
    else:
        out.append("- **Resolved:** not yet (this draft will change)")
    out.append(f"- **Time to detect:** {duration_words(inc.get('time_to_detect_s'))}")
    out.append(f"- **Time to resolve:** {duration_words(inc.get('time_to_resolve_s'))}")
    out.append(f"- **Alerts:** {len(alerts)} ({sum(a.get('role') == 'cause' for a in alerts)} cause, "
               f"{sum(a.get('role') == 'symptom' for a in alerts)} symptom)")
    out.append("")

    out += ["## Impact", ""]
    symptoms = [a for a in alerts if a.get("role") == "symptom"]
    if symptoms:
        out.append("What the model's users saw (symptom alerts):")
        out.append("")
        symptoms.sort(key=lambda a: (a["severity"], a.get("starts_at") or ""))
        out += [f"- {_alert_line(a)}" for a in symptoms]
    else:
        out.append("No symptom alert fired: the causes below were caught before an effect was measured. "
                   "Say here whether users were affected.")
    out.append("")

    out += ["## Root cause", ""]
    causes = sorted(inc.get("causes") or [], key=lambda c: c["rank"])
    if causes:
        out.append("The likely causes, as Argus ranked them (confirm or correct):")
        out.append("")
        for c in causes:
            a = by_id.get(c["alert_id"])
            what = _alert_line(a) if a is not None else f"alert `{c['alert_id']}` (no longer in the incident)"
            out.append(f"{c['rank']}. {what}")
            out.append(f"   Evidence: {c.get('evidence') or 'none recorded'}")
    else:
        out.append("Argus ranked no cause. Write down what the investigation found.")
    out.append("")

    out += ["## Timeline (UTC)", "", "| time | event | detail |", "|---|---|---|"]
    for e in sorted(inc.get("timeline") or [], key=lambda e: e["at"]):
        out.append(f"| {_cell(e['at'])} | {_cell(e['event'])} | {_cell(e.get('detail'))} |")
    out.append("")

    out += ["## What went well", "", "_Which alerts, runbooks, tools and people helped; what to keep._", ""]
    out += ["## What went wrong", "",
            "_Where detection, diagnosis or the fix was slow or noisy, and why (a missing alert, a misleading "
            "runbook, a page that went unheard)._", ""]
    out += ["## Action items", "", "| action | owner | due |", "|---|---|---|",
            "| _one line per action: prevent, detect sooner, fix faster_ | | |", ""]
    return "\n".join(out)


__all__ = ["duration_words", "postmortem"]
