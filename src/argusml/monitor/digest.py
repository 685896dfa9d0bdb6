"""The weekly owner report: what happened to one model over a period, gathered from the store, and sent once.

``gather_digest`` reads, it does not compute: the performance job already put every metric with its
interval on the performance windows, the closing windows their drift verdicts, the alert engine its
incidents, and the advice its decision. So the digest of a week costs a few indexed reads, and the page an
owner gets says what ``/performance``, ``/windows``, ``/v1/incidents`` and ``/advice`` say.

``Digests`` is the schedule. On each alert-thread pass it asks, per model with a ``digest:`` key, whether a
scheduled send time has passed that no digest was queued for; if so it gathers the period that ends there,
has it rendered (``render``: the service hands in ``reports.digest.digest_mime``, since the monitor and
the reports are siblings) and queues it in the notification outbox in the same transaction that records
the period as sent. The outbox's sender delivers it with its retries and counters, so a digest is queued
exactly once per period across restarts, and a failed send is retried, not lost.

A model seen for the first time (no period recorded) starts at its next send time: turning the digest on
on a Wednesday does not mail last week's report at once (``argus digest`` renders one on demand).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson

from argusml.checks.performance import WATCHED
from argusml.checks.verdict import WindowVerdict
from argusml.monitor.state import ModelState
from argusml.monitor.windows import OVERALL
from argusml.schema import Role
from argusml.schema.digest import DIGEST_RECEIVER
from argusml.store import Store

log = logging.getLogger("argus.digest")

DAY = 86400.0
MAX_ROWS = 100_000
SCHEMA_VERSION = 1
RETRY_RENDER = 300.0
"""Seconds before a digest that failed to gather or render is tried again (not every alert pass)."""
NO_COST = "no cost model configured"

CostReader = Callable[[str, float, float], list[dict[str, Any]]]
"""``(model, start, end)`` -> the cost per UTC day and version in [start, end):
``[{"day": <day start, epoch s>, "version": v, "cost": x, "predictions": n}]``."""


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _primary_metric(state: ModelState, names: set[str]) -> str | None:
    """The metric the trend shows: the first watched one the windows carry (the config's, else the task's)."""
    watched = list(state.config.performance.watched or [])
    for task in ("binary", "multiclass", "regression"):
        watched.extend(WATCHED[task])
    return next((m for m in watched if m in names), min(names) if names else None)


def quality_section(store: Store, state: ModelState, start: float, end: float) -> dict[str, Any]:
    """Per version, the report-length performance windows wholly inside [start, end): the primary metric's
    value and interval, labels and coverage. ``metric`` is None when no window had labels to score."""
    g = state.report_granularity
    rows = [r for r in store.performance(state.name, since=start, until=end, segment=OVERALL, granularity=g,
                                         limit=MAX_ROWS) if r["start_ts"] >= start and r["end_ts"] <= end]
    rows.sort(key=lambda r: (r["version"], r["start_ts"]))
    parsed = [(r, orjson.loads(r["metrics"]) if r.get("metrics") else {}) for r in rows]
    names = {k for _, m in parsed for k, v in m.items() if not k.startswith("_") and isinstance(v, dict)}
    metric = _primary_metric(state, names)
    min_labels = state.config.performance.min_labels
    versions: dict[str, list[dict[str, Any]]] = {}
    for r, m in parsed:
        est = m.get(metric) if metric else None
        est = est if isinstance(est, dict) else {}
        predictions, labels = int(r["predictions"] or 0), int(r["labels"] or 0)
        versions.setdefault(r["version"], []).append({
            "start": iso(r["start_ts"]), "start_ts": r["start_ts"], "end_ts": r["end_ts"],
            "predictions": predictions, "labels": labels,
            "coverage": labels / predictions if predictions else None, "status": r["status"],
            "value": est.get("value"), "low": est.get("low"), "high": est.get("high"),
            "judged": labels >= min_labels and est.get("value") is not None})
    summary = {}
    for v, points in versions.items():
        judged = [p for p in points if p["judged"]]
        summary[v] = {"windows": len(points), "judged": len(judged),
                      "first": judged[0]["value"] if judged else None, "last": judged[-1]["value"] if judged else None,
                      "degraded": sum(p["status"] == "degraded" for p in points)}
    return {"granularity": g, "metric": metric, "min_labels": min_labels, "versions": versions, "summary": summary}


def labels_section(quality: dict[str, Any]) -> dict[str, Any]:
    """Predictions and labelled predictions over the period (by prediction time), overall and per version."""
    per = {}
    for v, points in quality["versions"].items():
        p = sum(x["predictions"] for x in points)
        n = sum(x["labels"] for x in points)
        per[v] = {"predictions": p, "labels": n, "coverage": n / p if p else None}
    p = sum(x["predictions"] for x in per.values())
    n = sum(x["labels"] for x in per.values())
    return {"predictions": p, "labels": n, "coverage": n / p if p else None, "versions": per}


def drift_section(store: Store, state: ModelState, start: float, end: float) -> dict[str, Any]:
    """The closed whole-traffic windows of the model's window length inside [start, end), as their verdicts
    judged them: how many were judged and drifted, which features drifted in how many, per UTC day."""
    rows = [r for r in store.windows(state.name, since=start, until=end, segment=OVERALL,
                                     granularity=state.config.window, closed=True, limit=MAX_ROWS)
            if r["start_ts"] >= start and r["end_ts"] <= end]
    judged = drifted = prediction = multivariate = 0
    features: Counter[str] = Counter()
    days: dict[float, list[int]] = {}
    for r in rows:
        v = WindowVerdict.loads(r.get("verdict"))
        if v is None or not v.judged:
            continue
        judged += 1
        day = days.setdefault(math.floor(r["start_ts"] / DAY) * DAY, [0, 0])
        day[0] += 1
        if not v.drifted:
            continue
        drifted += 1
        day[1] += 1
        multivariate += v.multivariate.drifted
        try:
            specs = state.ref(r["version"]).reference.specs
        except KeyError:  # a version whose reference is gone: its columns count as features
            specs = {}
        for c in v.drifted_columns:
            role = specs[c].role if c in specs else Role.FEATURE
            if role is Role.PREDICTION:
                prediction += 1
            elif role is Role.FEATURE:
                features[c] += 1
    return {"windows": judged, "drifted_windows": drifted, "window": state.config.window,
            "features": [{"feature": f, "windows": n} for f, n in sorted(features.items(), key=lambda t: (-t[1], t[0]))],
            "prediction_windows": prediction, "multivariate_windows": multivariate,
            "days": [{"day": iso(d), "day_ts": d, "windows": w, "drifted": k} for d, (w, k) in sorted(days.items())]}


def incidents_section(store: Store, model: str, start: float, end: float) -> dict[str, Any]:
    """Incidents opened and resolved in [start, end), their time to resolve, and those still open at ``end``."""
    listed = []
    opened = resolved = still_open = 0
    times = []
    for s in store.incidents_between(model, start, end):
        res_at = s.get("resolved_at")
        if res_at is not None and res_at < start:
            continue
        resolved_in = res_at is not None and start <= res_at < end
        is_open = res_at is None or res_at >= end
        opened += start <= s["opened_at"] < end
        resolved += resolved_in
        still_open += is_open
        ttr = res_at - s["opened_at"] if resolved_in else None
        if ttr is not None:
            times.append(ttr)
        alerts = sorted((s.get("alerts") or {}).values(), key=lambda a: a.get("first_bad_at") or 0)
        listed.append({"id": s["id"], "severity": s["severity"], "opened_at": iso(s["opened_at"]),
                       "resolved_at": iso(res_at) if resolved_in else None, "open": is_open,
                       "time_to_resolve_s": ttr, "alerts": [a.get("name") for a in alerts][:5],
                       "title": (alerts[0].get("summary") if alerts else None) or s["id"]})
    times.sort()
    median = None
    if times:
        mid = len(times) // 2
        median = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
    return {"opened": int(opened), "resolved": int(resolved), "open_at_end": int(still_open),
            "median_time_to_resolve_s": median, "max_time_to_resolve_s": times[-1] if times else None,
            "incidents": listed}


def gather_cost(state: ModelState, start: float, end: float, read: CostReader | None) -> dict[str, Any]:
    """Cost per UTC day (and version) over the period, when the model has a cost model and the service can
    read its cost; otherwise it says that no cost model is configured."""
    if getattr(state.config, "cost", None) is None or read is None:
        return {"configured": False, "note": NO_COST}
    rows = read(state.name, start, end)
    per_day: dict[float, float] = {}
    for r in rows:
        per_day[float(r["day"])] = per_day.get(float(r["day"]), 0.0) + float(r["cost"] or 0.0)
    total = sum(per_day.values())
    predictions = sum(int(r.get("predictions") or 0) for r in rows)
    return {"configured": True, "currency": getattr(state.config.cost, "currency", None), "total": total,
            "per_prediction": total / predictions if predictions else None,
            "days": [{"day": iso(d), "day_ts": d, "cost": c} for d, c in sorted(per_day.items())],
            "rows": rows}


def gather_digest(store: Store, state: ModelState, end: float, period: float, now: float,
                  advice: dict[str, Any] | None, cost: CostReader | None = None) -> dict[str, Any]:
    """Everything the owner report says about ``state``'s model over [end - period, end): JSON-ready."""
    start = end - period
    quality = quality_section(store, state, start, end)
    adv = advice or {}
    return {
        "schema_version": SCHEMA_VERSION, "model": state.name, "owner": state.config.owner,
        "team": state.config.team, "generated_at": iso(now),
        "period": {"start": iso(start), "end": iso(end), "start_ts": start, "end_ts": end, "days": period / DAY},
        "quality": quality, "labels": labels_section(quality), "drift": drift_section(store, state, start, end),
        "incidents": incidents_section(store, state.name, start, end),
        "cost": gather_cost(state, start, end, cost),
        "recommendation": {"decision": adv.get("decision"), "summary": adv.get("summary"),
                           "version": adv.get("version")},
    }


class Digests:
    """The digest schedule of every model (``run_once`` on each alert-thread pass) and on-demand gathering."""

    def __init__(self, store: Store, clock: Callable[[], float], models: dict[str, ModelState],
                 advice: Callable[[str], dict[str, Any]], lock: threading.RLock,
                 on_queued: Callable[[], None] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.models = models
        self.advice = advice
        self.lock = lock  # the alert thread's: its cursors and the outbox are written under it
        self.on_queued = on_queued
        self.render: Callable[[dict[str, Any]], str] | None = None  # digest -> the e-mail (RFC 5322 text)
        self.cost: CostReader | None = None
        self.queued = 0
        self.last_error: str | None = None
        self._failed: dict[tuple[str, float], float] = {}
        self._done: dict[str, float] = {}  # model -> the send time whose digest is known queued

    @staticmethod
    def cursor_key(model: str) -> str:
        return f"digest.{model}"

    def gather(self, model: str, end: float | None = None, period: float | None = None) -> dict[str, Any]:
        """The digest of ``model`` (``UnknownModel`` if not watched) over the ``period`` before ``end``
        (default: now, and the model's ``digest.period`` or 7 days)."""
        state = self.models[model]
        now = self.clock()
        end = now if end is None else end
        if period is None:
            period = state.config.digest.period if state.config.digest is not None else 7 * DAY
        return gather_digest(self.store, state, end, period, now, self.advice(model), self.cost)

    def run_once(self, now: float | None = None) -> list[str]:
        """Queue every digest that is due; the models queued. Nothing without a renderer."""
        now = self.clock() if now is None else now
        done = []
        for state in list(self.models.values()):
            cfg = state.config.digest
            if cfg is None or self.render is None:
                continue
            due = cfg.last_due(now)
            if self._done.get(state.name) == due:  # known done: no read of the store on every pass
                continue
            key = self.cursor_key(state.name)
            last = self.store.cursor(key)
            if last >= due:
                self._done[state.name] = due
                continue
            if last == 0.0:  # first sight: the first digest goes at the next send time
                with self.lock, self.store.transaction() as cur:
                    self.store.save_alerting(cur, {}, [], {key: due}, now)
                continue
            tried = self._failed.get((state.name, due))
            if tried is not None and now - tried < RETRY_RENDER:
                continue
            try:
                digest = gather_digest(self.store, state, due, cfg.period, now, self.advice(state.name), self.cost)
                text = self.render(digest)
            except Exception as exc:  # a bad period must not stop the alert thread; tried again later
                log.exception("digest of %r for the period ending %s failed", state.name, iso(due))
                self._failed[(state.name, due)] = now
                self.last_error = f"digest {state.name}: {type(exc).__name__}: {exc}"
                continue
            notice = {"event": "digest", "receiver": DIGEST_RECEIVER, "model": state.name,
                      "period": digest["period"], "message": text}
            with self.lock:
                if self.store.cursor(key) >= due:  # another pass queued it meanwhile
                    continue
                with self.store.transaction() as cur:
                    self.store.queue_notifications([(state.name, f"digest-{iso(due)}", DIGEST_RECEIVER, "P2", notice)],
                                                   now, cur=cur)
                    self.store.save_alerting(cur, {}, [], {key: due}, now)
            self._failed.pop((state.name, due), None)
            self.queued += 1
            done.append(state.name)
        if done and self.on_queued is not None:
            self.on_queued()
        return done
