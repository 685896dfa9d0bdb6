"""What /status shows of a model: its counters, windows, open findings, provisional looks, performance and
advice, read from its live state and the store. The advice is cached for ``Settings.advice_every``: a
comparison of two versions joins their labels, too heavy for every poll of /status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

from argusml.monitor.ops import ops_summary
from argusml.monitor.provisional import provisional_windows
from argusml.monitor.registry import Registry
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState
from argusml.monitor.windows import OVERALL
from argusml.store import Store

log = logging.getLogger("argus.monitor")


class Status:
    """/status of each model, with the advice it last showed per model."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float], registry: Registry,
                 advice: Callable[..., dict[str, Any]]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.registry = registry
        self.advice = advice  # ``Performer.advice``
        self._advice_cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def read(self, model: str) -> dict[str, Any]:
        """The model's /status: counters and windows from its live state, the rest from the store."""
        state = self.registry.model(model)
        m = state.metrics
        from argusml.monitor.advice import open_finding_rows

        latest = self.store.latest_closed(model, state.config.window)
        overall = [w for w in latest if w["segment"] == OVERALL]
        findings = []
        for w in overall:
            findings.extend(open_finding_rows(self.store, state, w["version"])[:200])
        return {
            "model": model,
            "owner": state.config.owner,
            "kind": state.config.kind,
            **({"baseline": baseline_status(state, self.clock())} if state.llm is not None else {}),
            "events_total": state.events_total,
            "labels_total": m.labels,
            "labels_joined": m.labels_joined,
            "labels_pending": len(state.pending),
            "labels_expired": m.labels_expired,
            "label_duplicates": m.label_duplicates,
            "label_corrections": m.label_corrections,
            "outcomes_total": m.outcomes,
            "outcomes_joined": m.outcomes_joined,
            "outcomes_pending": len(state.pending_outcomes),
            "outcomes_expired": m.outcomes_expired,
            "duplicates_total": m.duplicates,
            "rejected_total": sum(m.rejected.values()),
            "too_late_total": m.too_late,
            "versions": sorted(state.versions),
            "window": state.config.window,
            "open_windows": len(state.folder.open),
            "open_window_rows": sum(w.n_rows for w in list(state.folder.open.values()) if w.segment == OVERALL),
            "backfill_open_windows": len(state.backfill.open),
            "latest_windows": overall,
            # what a segment drill-down can offer: every segment with a closed window, whichever job ran
            "segments": sorted({w["segment"] for w in latest} - {OVERALL}),
            "open_findings": findings,
            "provisional": provisional_windows(state),
            "last_event_timestamp": m.last_event_ts,
            "performance": performance_summary(state),
            "operations": ops_summary(m),
            "advice": self._advice(model),
        }

    def _advice(self, model: str) -> dict[str, Any]:
        """The decision and its summary for /status (the whole advice is `GET .../advice`), at most
        ``Settings.advice_every`` old: a comparison of two versions joins their labels, too heavy for
        every poll of /status. A failure to advise must not take /status down with it."""
        now = self.clock()
        hit = self._advice_cache.get(model)
        if hit is not None and now - hit[0] < self.settings.advice_every:
            return hit[1]
        try:
            a = self.advice(model, wait=False)  # /status must answer while a performance pass runs
            out = {"decision": a["decision"], "version": a.get("version"), "summary": a["summary"], "at": now}
        except Exception as exc:
            log.exception("advice failed for %s", model)
            out = {"decision": None, "error": f"advice failed: {exc}", "at": now}
        self._advice_cache[model] = (now, out)
        return out


def baseline_status(state: ModelState, now: float) -> dict[str, Any]:
    """Where an LLM model's baseline stands: learning (its events so far, the minimum, when the learning
    windows close) or learned (from how many events, when)."""
    if state.learning is not None:
        return state.learning.status(now)
    ref = state.refs[""].reference
    return {"state": "learned", "events": ref.n_rows, "created_at": ref.created_at, "source": ref.source}


def performance_summary(state: ModelState) -> dict[str, Any]:
    """Per version: the latest performance window (its coverage and label lag) and the latest one with
    enough labels to judge (its status and metrics with intervals)."""
    out: dict[str, Any] = {}
    for version, rows in sorted(state.metrics.performance.items()):
        entry: dict[str, Any] = {}
        latest = rows.get("latest")
        if latest is not None:
            entry["latest"] = {"start": latest["start_ts"], "end": latest["end_ts"],
                               "predictions": latest["predictions"], "labels": latest["labels"],
                               "label_coverage": latest["labels"] / latest["predictions"] if latest["predictions"]
                               else None,
                               "label_lag_p50_seconds": latest["lag_p50"], "label_lag_p90_seconds": latest["lag_p90"],
                               "status": latest["status"],
                               "estimated": orjson.loads(latest["estimated"]) if latest.get("estimated") else None}
        judged = rows.get("judged")
        if judged is not None:
            entry["judged"] = {"start": judged["start_ts"], "end": judged["end_ts"], "labels": judged["labels"],
                               "predictions": judged["predictions"], "status": judged["status"],
                               "metrics": orjson.loads(judged["metrics"])}
        out[version] = entry
    return out
