"""An incident: the alerts of one model that share a time span, as one thing to hear about, with its likely
root causes ranked and the evidence for each.

What a user reads (``to_dict``) is the contract of ``GET /v1/incidents/{id}`` and ``argus incidents
--json``: ``id``, ``model``, ``status`` (open/acknowledged/resolved), ``severity``, ``opened_at``,
``alerts`` (``[{id, name, severity, role: symptom|cause, ...}]``), ``causes`` (``[{alert_id, rank,
evidence}]``) and ``recommendation`` (``{decision, summary, actions}``: the one thing to do, by the decision
tree of ``checks/advice.py``), times in RFC 3339 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from argusml.alerts.rules import cause_order
from argusml.checks.advice import recommend_incident

SEVERITY_RANK = {"P0": 0, "P1": 1, "P2": 2}


def rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M UTC")


def _minutes(seconds: float) -> str:
    m = seconds / 60
    return f"{m:.0f} min" if m < 120 else f"{m / 60:.1f} h"


@dataclass
class Incident:
    id: str
    model: str
    opened_at: float
    first_bad_at: float
    severity: str
    status: str = "open"  # open | acknowledged | resolved
    team: str | None = None
    owner: str | None = None
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)  # alert id -> what the incident shows of it
    timeline: list[dict[str, Any]] = field(default_factory=list)  # {at, event, detail}
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    updated_at: float = 0.0
    notified: dict[str, str] = field(default_factory=dict)  # receiver -> the severity it was last told
    last_notified_at: float | None = None
    resolve_sent: bool = False
    versions_serving: list[str] = field(default_factory=list)  # versions with traffic while it was open
    postmortem: str | None = None

    def log(self, at: float, event: str, detail: str) -> None:
        self.timeline.append({"at": at, "event": event, "detail": detail})
        self.updated_at = max(self.updated_at, at)

    @property
    def open(self) -> bool:
        return self.status != "resolved"

    def notifiable_severity(self) -> str | None:
        """The most severe alert that is firing and not silenced (None: nothing to tell anyone now)."""
        live = [a["severity"] for a in self.alerts.values() if a["status"] == "firing" and not a.get("silenced_by")]
        return min(live, key=SEVERITY_RANK.__getitem__) if live else None

    def title(self) -> str:
        causes = self.ranked_causes()
        lead = self.alerts[causes[0]["alert_id"]] if causes else min(
            self.alerts.values(), key=lambda a: (SEVERITY_RANK[a["severity"]], a["first_bad_at"]))
        what = lead["name"] + (f" {lead['labels']['column']}" if lead["labels"].get("column") else "")
        more = len(self.alerts) - 1
        return f"{self.model}: {what}" + (f" (+{more} more)" if more else "")

    def ranked_causes(self) -> list[dict[str, Any]]:
        """The cause alerts, likeliest root first: what moved first (its first bad window), then the more
        fundamental kind of cause (a missing column explains a drifted feature), then severity, then size.
        Each with the evidence behind its place."""
        alerts = list(self.alerts.values())
        causes = [a for a in alerts if a["role"] == "cause"]
        symptoms = [a for a in alerts if a["role"] == "symptom"]
        causes.sort(key=lambda a: (a["first_bad_at"], cause_order(a["name"]), SEVERITY_RANK[a["severity"]],
                                   -abs(a.get("value") or 0.0)))
        first_symptom = min(symptoms, key=lambda a: a["first_bad_at"]) if symptoms else None
        out = []
        for rank, a in enumerate(causes, 1):
            out.append({"alert_id": a["id"], "rank": rank, "evidence": self._evidence(a, causes, first_symptom)})
        return out

    def _evidence(self, a: dict[str, Any], causes: list[dict[str, Any]], symptom: dict[str, Any] | None) -> str:
        parts = []
        col = a["labels"].get("column")
        what = a["name"] + (f" on {col!r}" if col else "")
        parts.append(f"{what}: bad since {_clock(a['first_bad_at'])}")
        if symptom is not None:
            lead = symptom["first_bad_at"] - a["first_bad_at"]
            sname = symptom["name"] + (f" ({symptom['labels']['column']})" if symptom["labels"].get("column") else "")
            if lead > 0:
                parts.append(f"moved {_minutes(lead)} before the first symptom, {sname}")
            elif lead == 0:
                parts.append(f"moved in the same window as the first symptom, {sname}")
            else:
                parts.append(f"moved {_minutes(-lead)} after the first symptom, {sname}: more likely a consequence")
        earlier = [c for c in causes if c["first_bad_at"] < a["first_bad_at"]]
        if earlier and not parts[-1].endswith("consequence"):
            parts.append(f"{len(earlier)} cause(s) moved before it")
        if a["name"] == "missing_column":
            appeared = [c["labels"].get("column") for c in causes if c["name"] == "extra_column"
                        and c["first_bad_at"] == a["first_bad_at"]]
            if appeared:
                parts.append(f"column(s) {', '.join(repr(c) for c in appeared if c)} appeared in the same window: "
                             "renamed upstream?")
        if a["name"] == "drift":
            drifted = sorted((c for c in causes if c["name"] == "drift"), key=lambda c: -abs(c.get("value") or 0))
            if a.get("value") is not None:
                place = drifted.index(a) + 1
                parts.append(f"drift effect {a['value']:.3g}, {'the largest' if place == 1 else f'#{place}'} of "
                             f"{len(drifted)} drifted feature(s)"
                             + ("; the prediction shifted too, and this feature is its likeliest driver"
                                if place == 1 and any(s["name"] == "prediction_drift" for s in self.alerts.values())
                                else ""))
        versions = {x["model_version"] for x in self.alerts.values()}
        others = [v for v in self.versions_serving if v not in versions]
        if len(versions) == 1 and others:
            parts.append(f"confined to version {a['model_version']} ({', '.join(sorted(others))} served without "
                         "alerts)")
        seg = a.get("evidence", {}).get("segments")
        if seg and seg.get("in") and seg["in"] < seg.get("of", 0):
            parts.append(f"in {seg['in']} of {seg['of']} segments: {', '.join(seg['names'][:5])}")
        return "; ".join(parts)

    def recommendation(self, causes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """What to do, one decision: the advice tree walked from this incident's alerts and ranked causes."""
        return recommend_incident(self.model, list(self.alerts.values()),
                                  self.ranked_causes() if causes is None else causes)

    def to_dict(self) -> dict[str, Any]:
        """The incident as the API and the CLI show it (times RFC 3339 UTC)."""
        alerts = sorted(self.alerts.values(), key=lambda a: (a["first_bad_at"], SEVERITY_RANK[a["severity"]]))
        causes = self.ranked_causes()
        return {
            "id": self.id, "model": self.model, "status": self.status, "severity": self.severity,
            "title": self.title(), "team": self.team, "owner": self.owner,
            "opened_at": rfc3339(self.opened_at), "first_bad_at": rfc3339(self.first_bad_at),
            "acknowledged_at": rfc3339(self.acknowledged_at), "acknowledged_by": self.acknowledged_by,
            "resolved_at": rfc3339(self.resolved_at), "resolved_by": self.resolved_by,
            "time_to_detect_s": round(self.opened_at - self.first_bad_at, 3),
            "time_to_resolve_s": None if self.resolved_at is None else round(self.resolved_at - self.opened_at, 3),
            "alerts": [{"id": a["id"], "name": a["name"], "severity": a["severity"], "role": a["role"],
                        "status": a["status"], "model_version": a["model_version"], "labels": a["labels"],
                        "summary": a["summary"], "description": a.get("description", ""),
                        "runbook_url": a["runbook_url"], "starts_at": rfc3339(a["first_bad_at"]),
                        "fired_at": rfc3339(a["fired_at"]), "ends_at": rfc3339(a.get("ended_at")),
                        "fingerprint": a["fingerprint"], "value": a.get("value"),
                        "silenced_by": a.get("silenced_by")} for a in alerts],
            "causes": causes,
            "recommendation": self.recommendation(causes),
            "timeline": [{**e, "at": rfc3339(e["at"])} for e in self.timeline],
            "notified": dict(self.notified),
            "postmortem": self.postmortem,
        }

    def to_state(self) -> dict[str, Any]:
        """Its fields as they are, for the store to serialise at once (not a deep copy)."""
        return {f: getattr(self, f) for f in _FIELDS}

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> Incident:
        return cls(**d)


_FIELDS = tuple(f.name for f in fields(Incident))
