"""A model's health in one word (ok, warning, incident), since when and why: what the overview, a model's
/status and any script read, decided by one function so they never disagree.

The rule, most serious first:

- ``incident``: the model has an open incident (not resolved; acknowledged ones count). Since: the oldest
  open one's opening; why: its title.
- ``warning``: an alert is pending or firing, or the newest closed whole-traffic window of any version has
  status error, drift or warning. Since: when the earliest of those began (an alert's first bad window, the
  first window of the run of bad windows that ends with the newest); why: each of them, e.g.
  "pending alerts: drift x0, drift x3; drift on x0, x3 (v2)" (firing alerts, pending alerts, then each
  version's window).
- ``ok``: since the model was last not ok (the latest of: an incident resolved, an alert resolved, the end
  of the newest bad window), null when it never was.

``overview`` gathers what the rule needs for many models at once: the store's grouped reads (incidents,
window health: one query each, whatever the number of models) and the alert engine's memory (alerts, SLO
budgets), plus what each model's live state keeps (last event, label coverage).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from argusml.alerts.incident import Incident
from argusml.monitor.state import ModelState
from argusml.store import Store

OK, WARNING, INCIDENT = "ok", "warning", "incident"
HEALTH_RANK = {OK: 0, WARNING: 1, INCIDENT: 2}
QUIET = "no open incident, alerts or findings"


@dataclass
class Health:
    state: str
    since: float | None
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "since": self.since, "why": self.why}


def model_health(incidents: Mapping[str, Any] | None, alerts: Iterable[Mapping[str, Any]],
                 windows: Iterable[Mapping[str, Any]], alert_resolved_at: float | None = None) -> Health:
    """The health rule of the module docstring. ``incidents``: the model's ``Store.incident_summary`` entry
    (None: it never had one); ``alerts``: its alerts pending or firing (name, status, first_bad_at, column);
    ``windows``: its ``Store.window_health`` rows, one per version; ``alert_resolved_at``: when an alert of
    the model last resolved."""
    if incidents is not None and sum(incidents["open"].values()) and incidents["oldest_open"] is not None:
        oldest = Incident.from_state(orjson.loads(incidents["oldest_open"]))
        return Health(INCIDENT, oldest.opened_at, oldest.title())
    reasons: list[tuple[float, str]] = []
    for status in ("firing", "pending"):
        these = [a for a in alerts if a["status"] == status]
        if these:
            starts = [a["first_bad_at"] for a in these if a.get("first_bad_at") is not None]
            names = ", ".join(a["name"] + (f" {a['column']}" if a.get("column") else "") for a in these)
            reasons.append((min(starts) if starts else math.inf, f"{status} alerts: {names}"))
    for w in windows:
        if w["bad_since"] is None:
            continue
        reasons.append((float(w["bad_since"]), window_why(w)))
    if reasons:
        since = min(r[0] for r in reasons)
        return Health(WARNING, since if since != math.inf else None, "; ".join(r[1] for r in reasons))
    ends = [t for t in (incidents["last_resolved_at"] if incidents else None, alert_resolved_at,
                        *(w["last_bad_end"] for w in windows)) if t is not None]
    return Health(OK, max(ends) if ends else None, QUIET)


def window_why(w: Mapping[str, Any]) -> str:
    """Why a version's newest window makes the model "warning": drift names the drifted columns, error and
    warning count the findings that set them (P0, P1)."""
    version = w["version"]
    if w["status"] == "drift":
        cols = orjson.loads(w["drifted_columns"]) if w.get("drifted_columns") else []
        return f"drift on {', '.join(cols)} ({version})" if cols else f"drift of the rows as a whole ({version})"
    sev = "P0" if w["status"] == "error" else "P1"
    n = int((orjson.loads(w["findings_by_severity"]) if w.get("findings_by_severity") else {}).get(sev, 0))
    return f"{w['status']}: {n} {sev} finding{'s' if n != 1 else ''} in the newest window ({version})"


def label_coverage(state: ModelState) -> float | None:
    """The labelled share of the predictions of the newest performance window (all versions serving in it):
    the coverage /status shows per version, for the model as a whole. None before the performance job has
    a window."""
    latest = [r["latest"] for r in list(state.metrics.performance.values()) if r.get("latest")]
    if not latest:
        return None
    newest = max(r["start_ts"] for r in latest)
    rows = [r for r in latest if r["start_ts"] == newest]
    predictions = sum(int(r["predictions"] or 0) for r in rows)
    return sum(int(r["labels"] or 0) for r in rows) / predictions if predictions else None


def overview(store: Store, models: Mapping[str, ModelState], names: list[str], alerting: Any, now: float
             ) -> list[dict[str, Any]]:
    """Per model of ``names`` (in that order): its health and the numbers the overview shows, from two
    grouped store queries and the alert engine's memory (``Alerting.health_inputs``, ``slo_status``)."""
    incidents = store.incident_summary()
    by_model: dict[str, list[dict[str, Any]]] = {}
    for w in store.window_health({n: models[n].config.window for n in names}):
        by_model.setdefault(w["model"], []).append(w)
    alerts = alerting.health_inputs()
    slos = alerting.slo_status(names[0] if len(names) == 1 else None)  # /status asks for one model
    out = []
    for name in names:
        st = models[name]
        inc = incidents.get(name)
        al = alerts.get(name, {"active": [], "last_resolved_at": None})
        health = model_health(inc, al["active"], by_model.get(name, []), al["last_resolved_at"])
        budgets = [s["budget_remaining"] for s in slos.get(name, {}).values() if s["budget_remaining"] is not None]
        last = st.metrics.last_event_ts
        out.append({"model": name, "health": health, "incidents": inc["open"] if inc else
                    {"P0": 0, "P1": 0, "P2": 0}, "slo_budget_left": min(budgets) if budgets else None,
                    "last_event_ts": last, "last_event_age_s": None if last is None else max(0.0, now - last),
                    "label_coverage": label_coverage(st)})
    return out
