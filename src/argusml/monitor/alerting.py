"""The alert loop: the monitor's **alert thread** follows what the store has closed and feeds the alert engine.

Each pass (``Alerting.run_once``, every ``Settings.alert_every`` seconds) reads the whole-traffic windows
closed since its cursor and the performance windows written since its other cursor, turns each into what
the engine judges (``window_signal``: the verdict's numbers, the findings, the requests and latencies that
arrived since the model's previous window), ticks every model (silence, freshness, SLO counters), and saves
the engine's state, the incidents it changed, the notices it queued and both cursors in one transaction.
Reading from the store rather than being called by the closing code is what makes a restart safe: a
window is judged once its row is committed, and the cursor moves only with the state that judged it.

Backfilled history is not alerted on: a window closed long after its end (``closed_at - end`` over the
window, its lateness and ten minutes) is the past arriving late, and paging for it now helps nobody.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from argusml.alerts.engine import Changes, DependencySignal, Engine, FindingSignal, Silence, TickSignal, WindowSignal
from argusml.alerts.incident import Incident
from argusml.alerts.sender import Sender
from argusml.checks.verdict import WindowVerdict
from argusml.monitor.digest import Digests
from argusml.monitor.failure import stopped_by_store
from argusml.monitor.metrics import LATENCY_BUCKETS
from argusml.monitor.ops import DAY, OpsMark, cost_of_day, tenant_costs_of_day, tokens_of_day, window_ops
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState
from argusml.schema.digest import DIGEST_RECEIVER, digest_receiver
from argusml.store import Store

log = logging.getLogger("argus.alerts")

WINDOW_CURSOR = "alerts.windows_closed_at"
PERF_CURSOR = "alerts.performance_updated_at"
SLO_WINDOWS = (300.0, 1800.0, 3600.0, 6 * 3600.0, 3 * 86400.0)
"""The windows of the burn-rate tiers (5 minutes to 3 days): what /metrics and the SLO route show."""
LATE_CLOSE = 600.0
"""Seconds past a window's end and lateness after which its close is history arriving (a backfill), not news."""


def verdict_metrics(n_rows: int, verdict_text: str | None) -> dict[str, float]:
    """A closed window's numbers as rules name them (``schema.alerts.METRICS``)."""
    out: dict[str, float] = {"rows": float(n_rows)}
    v = WindowVerdict.loads(verdict_text)
    if v is None or not v.checked:
        return out
    for col, cv in v.columns.items():
        if cv.missing_ratio is not None:
            out[f"missing_ratio.{col}"] = float(cv.missing_ratio)
        if cv.value is not None:
            out[f"drift_score.{col}"] = float(cv.value)
    pred = v.prediction or {}
    if pred.get("mean") is not None:
        out["prediction_mean"] = float(pred["mean"])
    for cls, share in (pred.get("class_ratio") or {}).items():
        out[f"class_ratio.{cls}"] = float(share)
    return out


def performance_metrics(metrics_text: str | None, lag_p90: float | None) -> dict[str, float]:
    import orjson

    out: dict[str, float] = {}
    for name, est in (orjson.loads(metrics_text) if metrics_text else {}).items():
        if isinstance(est, dict) and isinstance(est.get("value"), (int, float)) and not name.startswith("_"):
            out[f"performance.{name}"] = float(est["value"])
    if lag_p90 is not None:
        out["label_lag"] = float(lag_p90)
    return out


def histogram_quantile(q: float, bounds: tuple[float, ...], counts: np.ndarray) -> float | None:
    """Prometheus's ``histogram_quantile`` on per-bucket counts (last bucket +Inf): linear within the bucket
    the quantile falls in; the highest finite bound when it falls in +Inf."""
    n = float(counts.sum())
    if n <= 0:
        return None
    rank = q * n
    acc = np.cumsum(counts)
    i = int(np.searchsorted(acc, rank, side="left"))
    if i >= len(bounds):
        return float(bounds[-1])
    lo = 0.0 if i == 0 else bounds[i - 1]
    below = 0.0 if i == 0 else float(acc[i - 1])
    inside = float(counts[i])
    return lo + (bounds[i] - lo) * ((rank - below) / inside if inside else 1.0)


def slower_than(threshold: float, bounds: tuple[float, ...], counts: np.ndarray) -> float:
    """How many observations exceed ``threshold``: exact when it is a bucket bound (Argus's bounds are chosen
    around common latency SLOs), linear within its bucket otherwise."""
    edges = (0.0, *bounds)
    total = 0.0
    for i, c in enumerate(counts):
        lo = edges[i]
        hi = bounds[i] if i < len(bounds) else math.inf
        if lo >= threshold:
            total += float(c)
        elif hi > threshold:
            total += float(c) * (1.0 if hi == math.inf else (hi - threshold) / (hi - lo))
    return total


class MetricHistory:
    """A metric's past for baseline and seasonal rules, read from the store once and extended as windows
    close (a rule added today judges against the weeks the store already holds)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[str, str, str], tuple[float, float, list[tuple[float, dict[str, float]]]]] = {}

    def for_model(self, state: ModelState) -> Callable[[str, str, float, float], tuple[list[float], list[float]]]:
        def history(version: str, metric: str, since: float, until: float) -> tuple[list[float], list[float]]:
            stream = "performance" if metric.startswith("performance.") or metric == "label_lag" else "window"
            points = self._points(state, version, stream, since, until)
            times = [t for t, m in points if since <= t < until and metric in m]
            values = [m[metric] for t, m in points if since <= t < until and metric in m]
            return times, values
        return history

    def _points(self, state: ModelState, version: str, stream: str, since: float, until: float
                ) -> list[tuple[float, dict[str, float]]]:
        key = (state.name, version, stream)
        got = self._cache.get(key)
        if got is None or since < got[0]:
            lo, hi, points = since, since, []
        else:
            lo, hi, points = got
        if until > hi:
            if stream == "window":
                rows = self.store.metric_windows(state.name, version, state.config.window, hi, until)
                points.extend((float(t), verdict_metrics(n, text)) for t, n, text in rows)
            else:
                rows2 = self.store.performance_history(state.name, version, hi, until)
                points.extend((float(t), performance_metrics(text, lag)) for t, text, lag in rows2)
            hi = until
        keep_from = since - 86400.0
        if points and points[0][0] < keep_from:
            points = [p for p in points if p[0] >= keep_from]
            lo = max(lo, keep_from)
        self._cache[key] = (lo, hi, points)
        return points


class Alerting:
    """The alert thread and the engine it drives. ``lock`` guards the engine: the API's acknowledgements,
    resolutions and silences change it too."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float], models: dict[str, ModelState],
                 external_url: str = "") -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.models = models
        self.lock = threading.RLock()
        self.engine = Engine(external_url=external_url)
        self.history = MetricHistory(store)
        self.sender = Sender(store, self._receivers, clock=clock, external_url=external_url,
                             on_failure=self._delivery_failed)
        self.on_queued: Callable[[], None] | None = self.sender.wake  # once notices are committed
        self._failing: dict[tuple[str, str], tuple[str, int]] = {}  # (model, receiver) -> (error, sent then)
        self.last_error: str | None = None
        self.passes = 0
        self._ops_prev: dict[tuple[str, str], tuple[dict[str, int], np.ndarray, OpsMark]] = {}
        self._arrived: dict[str, tuple[int, float]] = {}  # model -> (events seen, when that count last grew)
        # model -> (labels seen, when that count last grew, events seen then): labels that stopped
        self._labelled: dict[str, tuple[int, float, int]] = {}
        self._cursors = {WINDOW_CURSOR: 0.0, PERF_CURSOR: 0.0}
        self.digests: Digests | None = None  # the owner reports, due-checked after each pass (monitor/digest.py)
        # (model, now) -> its dependencies' states: the prober's (``dependencies.py``), set by the Monitor
        self.dependency_signals: Callable[[str, float], list[DependencySignal]] | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- start and stop ---------------------------------------------------------------------------
    def load(self) -> None:
        models, incidents, silences = self.store.load_alerting()
        with self.lock:
            self.engine.load(models, [Incident.from_state(i) for i in incidents],
                             [Silence(**s) for s in silences])
            self._cursors = {k: self.store.cursor(k) for k in self._cursors}

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self._loop, name="argus-alerts", daemon=True)
        self._thread.start()
        self.sender.start()
        return self._thread

    def wake(self) -> None:
        """Run a pass now (closed windows were committed): a bad window becomes a notification in
        milliseconds after it closes, not at the next pass."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.sender.stop()

    def _receivers(self, model: str) -> dict[str, Any]:
        """A model's receivers as configured now (KeyError for a model no longer watched: its notices fail),
        with the digest's own when the model has one."""
        config = self.models[model].config
        out = config.alerts.all_receivers()
        if config.digest is not None:
            out[DIGEST_RECEIVER] = digest_receiver(config.digest, config.owner, out)
        return out

    def _delivery_failed(self, model: str, receiver: str, notice: dict[str, Any], error: str, gave_up: bool) -> None:
        """A notifier that times out or refuses: remembered for the next pass, which raises the model's
        ``notifier_failing`` alert and records a finding; the engine keeps running and the sender retries."""
        key = (model, receiver)
        with self.lock:
            first = key not in self._failing
            self._failing[key] = (error + (" (given up)" if gave_up else ""), self.sender.sent.get(key, 0))
        if first:
            from argusml.store import FindingRow

            now = self.clock()
            self.store.add_findings([FindingRow(
                model, "", "*", 0.0, now, now, "notifier_failing", None, "P1",
                f"notifications to receiver {receiver!r} fail: {error}",
                orjson.dumps({"receiver": receiver, "error": error, "gave_up": gave_up,
                              "incident_id": (notice.get("incident") or {}).get("id")}).decode(), now)])

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.settings.alert_every)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
                self.last_error = None
            except Exception as exc:  # the loop must outlive one bad pass; the next one retries from the cursor
                if stopped_by_store(self.store, "alert"):
                    return
                log.exception("alert pass failed")
                self.last_error = f"alerts: {type(exc).__name__}: {exc}"
            if self.digests is not None:
                try:
                    self.digests.run_once()
                except Exception:  # the store closing under us: the next pass looks again
                    log.exception("digest pass failed")

    # -- one pass -----------------------------------------------------------------------------------
    def run_once(self, now: float | None = None) -> Changes:
        """Judge what closed since the last pass and tick every model; save it all in one transaction."""
        now = self.clock() if now is None else now
        with self.lock:  # one pass at a time: the thread's, or a test's or demo's own
            windows = self.store.closed_windows_since(self._cursors[WINDOW_CURSOR])
            perf = self.store.performance_since(self._cursors[PERF_CURSOR])
            cursors = dict(self._cursors)
            for w in windows:
                cursors[WINDOW_CURSOR] = max(cursors[WINDOW_CURSOR], w["closed_at"])
                state = self.models.get(w["model"])
                if state is None or w["granularity"] != state.config.window:
                    continue
                if w["closed_at"] - w["end_ts"] > state.config.window + state.config.lateness + LATE_CLOSE:
                    continue
                sig = self.window_signal(state, w)
                self.engine.window(state.config, sig, now, self.history.for_model(state))
            for p in perf:
                cursors[PERF_CURSOR] = max(cursors[PERF_CURSOR], p["updated_at"])
                state = self.models.get(p["model"])
                if state is None or p["granularity"] != state.report_granularity:
                    continue
                if (p["labels"] or 0) < state.config.performance.min_labels:
                    continue
                self.engine.window(state.config, self.performance_signal(p), now, self.history.for_model(state))
            for state in list(self.models.values()):
                self._notifiers(state, now)
                self.engine.tick(state.config, self.tick_signal(state, now), now)
            changes = self.engine.drain()
            if changes or cursors != self._cursors:  # a quiet pass writes nothing (no write transaction a second)
                self._save(changes, cursors, now)
            self._cursors = cursors
        self.passes += 1
        if changes.notices and self.on_queued is not None:
            self.on_queued()
        return changes

    def _save(self, changes: Changes, cursors: dict[str, float], now: float) -> None:
        incidents = [(i.id, i.model, i.status, i.severity, i.opened_at, i.updated_at, i.to_state())
                     for i in changes.incidents]
        with self.store.transaction() as cur:
            self.store.save_alerting(cur, dict(changes.models), incidents, cursors, now)
            if changes.notices:
                self.store.queue_notifications(
                    [(n.model, n.incident_id, n.receiver, n.severity, orjson.dumps(n.to_dict()).decode())
                     for n in changes.notices], now, cur=cur)

    def _notifiers(self, state: ModelState, now: float) -> None:
        """Each receiver that failed since the last pass is an alert of the model until a delivery to it
        succeeds again."""
        for (model, receiver), (error, sent_then) in list(self._failing.items()):
            if model != state.name:
                continue
            recovered = self.sender.sent.get((model, receiver), 0) > sent_then
            self.engine.notifier(state.config, receiver, not recovered, error, now)
            if recovered:
                del self._failing[(model, receiver)]

    # -- signals ------------------------------------------------------------------------------------
    def window_signal(self, state: ModelState, w: dict[str, Any]) -> WindowSignal:
        metrics = verdict_metrics(int(w["n_rows"] or 0), w["verdict"])
        metrics.update(self._ops(state, w["version"]))
        day_start = (w["start_ts"] // DAY) * DAY
        day = cost_of_day(state.metrics, day_start)
        if day is not None:
            metrics["cost_per_day"] = day
        for tenant, spent in tenant_costs_of_day(state.metrics, day_start).items():
            metrics[f"tenant_cost_per_day.{tenant}"] = spent
        tokens = tokens_of_day(state.metrics, day_start)
        if tokens is not None:
            metrics["tokens_per_day"] = float(tokens)
        segs: dict[tuple[str, str | None], list[str]] = {}
        for f in w["findings"]:
            if f["segment"] != "*":
                segs.setdefault((f["check_name"], f["column_name"]), []).append(f["segment"])
        n_segments = int(w.get("segment_windows") or 0)
        findings = []
        for f in w["findings"]:
            if f["segment"] != "*":
                continue
            col = f["column_name"]
            names = sorted(set(segs.get((f["check_name"], col), [])))
            findings.append(FindingSignal(
                f["check_name"], col, f["severity"], f["message"],
                metrics.get(f"drift_score.{col}") if f["check_name"] in ("drift", "prediction_drift") else None,
                {"in": len(names), "of": n_segments, "names": names} if names and n_segments else None))
        return WindowSignal(state.name, w["version"], w["start_ts"], w["end_ts"], "window", metrics, findings)

    @staticmethod
    def performance_signal(p: dict[str, Any]) -> WindowSignal:
        findings = [FindingSignal(f["check_name"], f["column_name"], f["severity"], f["message"])
                    for f in p["findings"]]
        return WindowSignal(p["model"], p["version"], p["start_ts"], p["end_ts"], "performance",
                            performance_metrics(p["metrics"], p["lag_p90"]), findings)

    def _ops(self, state: ModelState, version: str) -> dict[str, float]:
        """Requests, error rate, latency quantiles, and the ops fields' numbers (fallback ratio, cost per
        prediction, stage latency quantiles: ``ops.window_ops``) that arrived since this version's previous
        window (by arrival: what the model server answered over the window's length, give or take the
        lateness)."""
        vm = state.metrics.versions.get(version)
        if vm is None:
            return {}
        requests, latency, mark = dict(vm.requests), vm.latency.counts.copy(), OpsMark.of(vm)
        prev = self._ops_prev.get((state.name, version))
        self._ops_prev[(state.name, version)] = (requests, latency, mark)
        if prev is None:
            return {}
        total = {c: n - prev[0].get(c, 0) for c, n in requests.items()}
        n = sum(total.values())
        out: dict[str, float] = {"requests": float(n)}
        if n > 0:
            out["error_rate"] = sum(k for c, k in total.items() if not str(c).startswith("2")) / n
        delta = latency - prev[1]
        if delta.sum() > 0 and (delta >= 0).all():
            for q, name in ((0.5, "latency_p50"), (0.99, "latency_p99")):
                value = histogram_quantile(q, LATENCY_BUCKETS, delta)
                if value is not None:
                    out[name] = value
        ops = window_ops(prev[2], mark, histogram_quantile)
        vm.last_ops = ops  # the gauges of the last closed window (argus_cost_per_prediction, ...)
        out.update((k, v) for k, v in ops.items() if not k.startswith("resource."))
        return out

    def tick_signal(self, state: ModelState, now: float) -> TickSignal:
        m = state.metrics
        seen, since = self._arrived.get(state.name, (state.events_total, now))
        if state.events_total != seen:
            seen, since = state.events_total, now
        self._arrived[state.name] = (seen, since)
        counters: dict[str, tuple[float, float]] = {}
        slos = state.config.slos
        if slos.latency is not None and slos.latency.threshold is not None:
            total = bad = 0.0
            for vm in list(m.versions.values()):
                total += float(vm.latency.counts.sum())
                bad += slower_than(slos.latency.threshold, vm.latency.bounds, vm.latency.counts)
            counters["latency"] = (total, bad)
        if slos.error_rate is not None:
            total = bad = 0.0
            for vm in list(m.versions.values()):
                for code, n in list(vm.requests.items()):
                    total += n
                    bad += 0 if str(code).startswith("2") else n
            counters["error_rate"] = (total, bad)
        # the performance job's newest windows per version (``Performer.load``): the newest judged one's
        # metrics (quality SLO), the newest one's label lag (label_lag absence rules)
        judged = [r["judged"] for r in list(m.performance.values()) if r.get("judged")]
        latest = [r["latest"] for r in list(m.performance.values()) if r.get("latest")]
        perf: dict[str, float] = {}
        if judged:
            newest = max(judged, key=lambda r: r["end_ts"])
            perf = {k.split(".", 1)[1]: v for k, v in performance_metrics(newest["metrics"], None).items()}
        lags = [r["lag_p90"] for r in sorted(latest, key=lambda r: r["end_ts"]) if r.get("lag_p90") is not None]
        lag = float(lags[-1]) if lags else None
        waiting = self._labels_waiting(state, now)
        if waiting is not None:
            lag = waiting if lag is None else max(lag, waiting)
        deps = [] if self.dependency_signals is None else self.dependency_signals(state.name, now)
        return TickSignal(state.name, silence=now - since,
                          freshness=None if m.last_event_ts is None else max(0.0, now - m.last_event_ts),
                          label_lag=lag, counters=counters, performance=perf, versions=sorted(state.versions),
                          dependencies=deps)

    def _labels_waiting(self, state: ModelState, now: float) -> float | None:
        """Seconds since the last label arrived, when predictions kept arriving after it: a prediction made
        just after that label has waited at least this long, so the label lag is at least this. The newest
        performance window's lag alone never grows once labels stop (a window without labels has no lag),
        and labels that stop arriving are the lag an ``absence`` rule on ``label_lag`` is there to catch.
        None before the model's first label (a model without labels is not late)."""
        labels, events = state.metrics.labels, state.events_total
        seen, since, events_then = self._labelled.get(state.name, (labels, now, events))
        if labels != seen:
            seen, since, events_then = labels, now, events
        self._labelled[state.name] = (seen, since, events_then)
        if labels == 0 or events == events_then:
            return None
        return now - since

    # -- people (the API) ----------------------------------------------------------------------------
    def act(self, incident_id: str, action: str, who: str, comment: str = "") -> dict[str, Any] | None:
        """Acknowledge or resolve an open incident; its new state, saved. None: no open incident of that id
        (the caller tells a resolved one from an unknown one)."""
        now = self.clock()
        with self.lock:
            inc = self.engine.incidents.get(incident_id)
            if inc is None:
                return None
            if action == "ack":
                self.engine.acknowledge(incident_id, who, now, comment)
            else:
                state = self.models.get(inc.model)
                self.engine.resolve(state.config if state else None, incident_id, who, now, comment)
            changes = self.engine.drain()
            self._save(changes, self._cursors, now)
        if changes.notices and self.on_queued is not None:
            self.on_queued()
        return self.engine.show(inc)

    def add_silence(self, silence: Silence) -> None:
        with self.lock:
            self.store.save_silence(silence.id, silence.ends_at, silence.__dict__)
            self.engine.add_silence(silence)

    def expire_silence(self, silence_id: str) -> Silence | None:
        with self.lock:
            s = self.engine.silences.get(silence_id)
            if s is None:
                return None
            self.engine.expire_silence(silence_id, self.clock())
            self.store.save_silence(s.id, s.ends_at, s.__dict__)
            return s

    def slo_status(self, model: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        """Per model and SLO: its objective, burn rate over each window the alerts use (None: not enough of
        the window sampled yet), the error budget remaining over the samples kept, and its alert's state."""
        from argusml.schema.model_config import format_duration
        from argusml.stats.alerting import budget_remaining, burn_rate

        out: dict[str, dict[str, dict[str, Any]]] = {}
        now = self.clock()
        with self.lock:
            for name, m in self.engine.models.items():
                state = self.models.get(name)
                if state is None or (model is not None and name != model):
                    continue
                for slo_name, slo in state.config.slos.items():
                    series = m.slo.get(slo_name)
                    alert = next((a for a in m.alerts.values() if a.name == f"slo_{slo_name}"), None)
                    out.setdefault(name, {})[slo_name] = {
                        "objective": slo.objective,
                        "burn_rates": {format_duration(w): (None if series is None else
                                                            burn_rate(series, now, w, slo.objective))
                                       for w in SLO_WINDOWS},
                        "budget_remaining": None if series is None else budget_remaining(
                            series, now, slo.objective, period=slo.period),
                        "alert": None if alert is None else {"status": alert.status, "severity": alert.severity}}
        return out

    def counts(self) -> dict[str, dict[tuple[str, ...], int]]:
        """Alerts by (model, severity, state) and open incidents by (model, severity): the /metrics gauges."""
        alerts: dict[tuple[str, ...], int] = {}
        incidents: dict[tuple[str, ...], int] = {}
        with self.lock:
            for name, m in self.engine.models.items():
                for a in m.alerts.values():
                    if a.status in ("pending", "firing"):
                        key = (name, a.severity, a.status)
                        alerts[key] = alerts.get(key, 0) + 1
            for inc in self.engine.incidents.values():
                if inc.open:
                    key2 = (inc.model, inc.severity)
                    incidents[key2] = incidents.get(key2, 0) + 1
        return {"alerts": alerts, "incidents": incidents}

    def health_inputs(self) -> dict[str, dict[str, Any]]:
        """Per model, what its health needs of the engine (``health.model_health``): the alerts pending or
        firing (name, status, first_bad_at, column) and when one of its alerts last resolved."""
        out: dict[str, dict[str, Any]] = {}
        with self.lock:
            for name, m in self.engine.models.items():
                active = [{"name": a.name, "status": a.status, "first_bad_at": a.first_bad_at,
                           "column": a.labels.get("column")}
                          for a in m.alerts.values() if a.status in ("pending", "firing")]
                resolved = [a.resolved_at for a in m.alerts.values() if a.resolved_at is not None]
                out[name] = {"active": sorted(active, key=lambda a: (a["name"], a["column"] or "")),
                             "last_resolved_at": max(resolved) if resolved else None}
        return out

    def alerts(self, model: str | None = None) -> list[dict[str, Any]]:
        """The alerts pending or firing now."""
        with self.lock:
            out = []
            for name, m in self.engine.models.items():
                if model is not None and name != model:
                    continue
                for a in m.alerts.values():
                    if a.status in ("pending", "firing"):
                        out.append({"model": name, "name": a.name, "status": a.status, "severity": a.severity,
                                    "role": a.role, "labels": a.labels, "fingerprint": a.fingerprint,
                                    "alert_id": a.alert_id, "incident_id": a.incident, "summary": a.summary,
                                    "value": a.value, "silenced_by": a.silenced_by,
                                    "bad_windows": a.streak(True)})
            return sorted(out, key=lambda a: (a["model"], a["severity"], a["name"]))

