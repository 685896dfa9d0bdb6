"""/metrics: Prometheus exposition of the monitor's live state.

A custom collector reads the monitor's counters and the latest closed
window's summary at scrape time, so the hot path never calls into
prometheus-client per event. One process owns the state (the
ingesting process), so no multiprocess mode is needed; the process's own
CPU and memory come from prometheus-client's standard process collector.
Label sets are bounded: versions (max_versions), features (the
reference's), status codes (100-599), rejection reasons (a fixed list).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from argusml.monitor import Monitor
from argusml.monitor.metrics import ModelMetrics, Shown
from argusml.monitor.status import performance_summary
from argusml.sdk.breaker import STATE_VALUES

DRIFT_METHODS = ("psi", "ks", "js", "wasserstein_norm", "tvd", "tail")


class MonitorCollector(Collector):
    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        mon = self.monitor
        events = CounterMetricFamily("argus_events", "Events ingested (durable, not duplicates).",
                                     labels=["model", "model_version"])
        rejected = CounterMetricFamily("argus_events_rejected", "Events and labels rejected, by reason.",
                                       labels=["model", "reason"])
        dups = CounterMetricFamily("argus_events_duplicate", "Events dropped as retries of one already stored.",
                                   labels=["model"])
        late = CounterMetricFamily("argus_events_too_late", "Events too late for their window: rejected (use "
                                   "backfill), or acknowledged as it closed and not folded.", labels=["model"])
        requests = CounterMetricFamily("argus_model_requests", "Model requests reported by events, by status code.",
                                       labels=["model", "model_version", "code"])
        latency = HistogramMetricFamily("argus_model_request_duration_seconds",
                                        "Model request latency reported by events (latency_ms).",
                                        labels=["model", "model_version"])
        rows = GaugeMetricFamily("argus_window_rows", "Rows in the latest closed window.",
                                 labels=["model", "model_version"])
        wstart = GaugeMetricFamily("argus_window_end_timestamp_seconds", "End of the latest closed window.",
                                   labels=["model", "model_version"])
        drifted_n = GaugeMetricFamily("argus_window_drifted_columns", "Drifted columns in the latest closed window.",
                                      labels=["model", "model_version"])
        score = GaugeMetricFamily("argus_feature_drift_score", "Drift measures of each column, latest closed window.",
                                  labels=["model", "model_version", "feature", "method"])
        drifted = GaugeMetricFamily("argus_feature_drifted", "1 when the column drifted in the latest closed window.",
                                    labels=["model", "model_version", "feature"])
        missing = GaugeMetricFamily("argus_feature_missing_ratio", "Share of missing values, latest closed window.",
                                    labels=["model", "model_version", "feature"])
        pmean = GaugeMetricFamily("argus_prediction_mean", "Mean prediction, latest closed window.",
                                  labels=["model", "model_version"])
        pclass = GaugeMetricFamily("argus_prediction_class_ratio", "Share of each predicted class, latest closed window.",
                                   labels=["model", "model_version", "class"])
        mv_drifted = GaugeMetricFamily("argus_multivariate_drifted", "1 when the joint distribution of the features "
                                       "changed in the latest closed window (multivariate_drift).",
                                       labels=["model", "model_version"])
        mv_score = GaugeMetricFamily("argus_multivariate_score", "Multivariate drift measures, latest closed window: "
                                     "error_increase (relative rise of the PCA reconstruction error) and "
                                     "classifier_auc (held-out AUC of reference vs current rows).",
                                     labels=["model", "model_version", "method"])
        # provisional looks at the open window (docs/SERVICE.md, "Provisional checks"): families of their own, so
        # an alert on the argus_feature_drifted of closed windows never fires on a look the close may withdraw
        p_rows = GaugeMetricFamily("argus_provisional_window_rows", "Rows of the newest open window at its last "
                                   "provisional look.", labels=["model", "model_version"])
        p_end = GaugeMetricFamily("argus_provisional_window_end_timestamp_seconds", "End of the newest open window "
                                  "with a provisional look.", labels=["model", "model_version"])
        p_drifted_n = GaugeMetricFamily("argus_provisional_window_drifted_columns", "Drifted columns at the last "
                                        "provisional look at the newest open window.", labels=["model", "model_version"])
        p_drifted = GaugeMetricFamily("argus_provisional_feature_drifted", "1 when the column drifted at the last "
                                      "provisional look at the newest open window (alpha spent over the looks).",
                                      labels=["model", "model_version", "feature"])
        labels_total = CounterMetricFamily("argus_labels", "Labels received.", labels=["model"])
        labels_pending = GaugeMetricFamily("argus_labels_pending", "Labels waiting for their prediction.",
                                           labels=["model"])
        labels_expired = CounterMetricFamily("argus_labels_expired", "Pending labels that never met a prediction.",
                                             labels=["model"])
        lag = HistogramMetricFamily("argus_label_lag_seconds", "Time from prediction to its label.", labels=["model"])
        perf = GaugeMetricFamily("argus_model_performance",
                                 "Model quality in the latest performance window with enough labels to judge "
                                 "(window length: performance.report).", labels=["model", "model_version", "metric"])
        perf_bound = GaugeMetricFamily("argus_model_performance_bound", "Ends of that value's 95% interval.",
                                       labels=["model", "model_version", "metric", "bound"])
        perf_labels = GaugeMetricFamily("argus_model_performance_labels", "Labels behind argus_model_performance.",
                                        labels=["model", "model_version"])
        perf_ok = GaugeMetricFamily("argus_model_performance_degraded",
                                    "1 when that window's performance dropped beyond tolerance, else 0.",
                                    labels=["model", "model_version"])
        perf_est = GaugeMetricFamily("argus_model_performance_estimated",
                                     "Label-free estimate (CBPE) of model quality in the latest performance window, "
                                     "from every prediction; assumes the reference's calibration still holds.",
                                     labels=["model", "model_version", "metric"])
        coverage = GaugeMetricFamily("argus_label_coverage_ratio",
                                     "Share of the latest performance window's predictions that have a label.",
                                     labels=["model", "model_version"])
        # two gauges, not one with a `quantile` label: that label belongs to summaries (promtool says so)
        lag50 = GaugeMetricFamily("argus_label_lag_p50_seconds", "Median label lag (first label's arrival minus "
                                  "prediction time) in the latest performance window.", labels=["model", "model_version"])
        lag90 = GaugeMetricFamily("argus_label_lag_p90_seconds", "90th percentile of the label lag in the latest "
                                  "performance window.", labels=["model", "model_version"])
        outcomes_total = CounterMetricFamily("argus_outcomes", "Business outcomes received.", labels=["model"])
        last = GaugeMetricFamily("argus_last_event_timestamp_seconds", "Event time of the newest event.",
                                 labels=["model"])
        # label `host`, not `instance`: Prometheus owns `instance` (the target) and would rename ours
        resources = GaugeMetricFamily("argus_host_resource", "Host/GPU resources reported by SDK instances.",
                                      labels=["model", "host", "resource"])
        # `host` as for argus_host_resource: the SDK client's `instance` name
        breakers = GaugeMetricFamily("argus_circuit_breaker_state", "Circuit breaker state reported by SDK clients: "
                                     "0 closed, 1 half-open, 2 open.", labels=["model", "host", "breaker"])
        ops = _OpsFamilies()
        for name, state in list(mon.models.items()):
            m = state.metrics
            ops.add(name, m)
            dups.add_metric([name], m.duplicates)
            late.add_metric([name], m.too_late)
            for reason, n in list(m.rejected.items()):
                rejected.add_metric([name, reason], n)
            for v, vm in list(m.versions.items()):
                events.add_metric([name, v], vm.events)
                for code, n in list(vm.requests.items()):
                    requests.add_metric([name, v, code], n)
                if vm.latency.n:
                    latency.add_metric([name, v], vm.latency.cumulative(), vm.latency.total)
                _window_gauges(name, v, vm.window, rows, wstart, drifted_n, score, drifted, missing, pmean, pclass)
                _multivariate_gauges(name, v, vm.window, mv_drifted, mv_score)
                _provisional_gauges(name, v, vm.provisional, p_rows, p_end, p_drifted_n, p_drifted)
            labels_total.add_metric([name], m.labels)
            labels_pending.add_metric([name], len(state.pending))
            labels_expired.add_metric([name], m.labels_expired)
            lag.add_metric([name], m.label_lag.cumulative(), m.label_lag.total)
            outcomes_total.add_metric([name], m.outcomes)
            for v, summary in performance_summary(state).items():
                latest, judged = summary.get("latest"), summary.get("judged")
                if latest is not None:
                    if latest["label_coverage"] is not None:
                        coverage.add_metric([name, v], latest["label_coverage"])
                    for metric, est in ((latest.get("estimated") or {}).get("metrics") or {}).items():
                        if est.get("value") is not None:
                            perf_est.add_metric([name, v, metric], est["value"])
                    for fam, key in ((lag50, "label_lag_p50_seconds"), (lag90, "label_lag_p90_seconds")):
                        if latest[key] is not None:
                            fam.add_metric([name, v], latest[key])
                if judged is not None:
                    perf_labels.add_metric([name, v], judged["labels"])
                    perf_ok.add_metric([name, v], 1.0 if judged["status"] == "degraded" else 0.0)
                    for metric, est in judged["metrics"].items():
                        if est.get("value") is not None:
                            perf.add_metric([name, v, metric], est["value"])
                        for bound in ("low", "high"):
                            if est.get(bound) is not None:
                                perf_bound.add_metric([name, v, metric, bound], est[bound])
            if m.last_event_ts is not None:
                last.add_metric([name], m.last_event_ts)
            for (instance, res), val in list(m.resources.items()):
                resources.add_metric([name, instance, res], val)
            for (instance, breaker), st in list(m.breakers.items()):
                breakers.add_metric([name, instance, breaker], STATE_VALUES.get(st, 0))
        yield from (events, rejected, dups, late, requests, latency, rows, wstart, drifted_n, score, drifted, missing,
                    pmean, pclass, mv_drifted, mv_score, labels_total, labels_pending, labels_expired, lag, perf, perf_bound, perf_labels,
                    perf_ok, perf_est, coverage, lag50, lag90, outcomes_total, last, resources, breakers)
        yield from ops.families()
        yield from (p_rows, p_end, p_drifted_n, p_drifted)
        yield from _alert_metrics(mon)
        yield from _dependency_metrics(mon)
        yield GaugeMetricFamily("argus_ingest_queue_depth", "Events accepted but not yet stored and folded.",
                                value=mon.queue_depth)
        yield GaugeMetricFamily("argus_up", "1 while the monitor's threads run and the store answers.",
                                value=1.0 if mon.healthy() else 0.0)


def _window_gauges(model: str, version: str, win: Shown | None, rows: GaugeMetricFamily,
                   wend: GaugeMetricFamily, drifted_n: GaugeMetricFamily, score: GaugeMetricFamily,
                   drifted: GaugeMetricFamily, missing: GaugeMetricFamily, pmean: GaugeMetricFamily,
                   pclass: GaugeMetricFamily) -> None:
    if win is None:
        return
    v = win.verdict
    rows.add_metric([model, version], win.n_rows)
    wend.add_metric([model, version], win.end)
    drifted_n.add_metric([model, version], v.n_drifted)
    for feature, c in v.columns.items():
        if c.missing_ratio is not None:
            missing.add_metric([model, version, feature], c.missing_ratio)
        if c.drift is not None:
            drifted.add_metric([model, version, feature], 1.0 if c.drifted else 0.0)
        for method in DRIFT_METHODS:
            val = c.scores.get(method)
            if val is not None:
                score.add_metric([model, version, feature, method], val)
    pred = v.prediction or {}
    if pred.get("mean") is not None:
        pmean.add_metric([model, version], pred["mean"])
    for cls, share in (pred.get("class_ratio") or {}).items():
        pclass.add_metric([model, version, str(cls)], share)


def _provisional_gauges(model: str, version: str, look: Shown | None, rows: GaugeMetricFamily,
                        end: GaugeMetricFamily, drifted_n: GaugeMetricFamily, drifted: GaugeMetricFamily) -> None:
    if look is None:
        return
    rows.add_metric([model, version], look.n_rows)
    end.add_metric([model, version], look.end)
    drifted_n.add_metric([model, version], look.verdict.n_drifted)
    for feature, c in look.verdict.columns.items():
        if c.drift is not None:
            drifted.add_metric([model, version, feature], 1.0 if c.drifted else 0.0)


def _multivariate_gauges(model: str, version: str, win: Shown | None, drifted: GaugeMetricFamily,
                         score: GaugeMetricFamily) -> None:
    mv = win.verdict.multivariate if win is not None else None
    if mv is None or mv.status in (None, "not_tested"):
        return
    drifted.add_metric([model, version], 1.0 if mv.drifted else 0.0)
    for method, val in (("error_increase", mv.error_increase), ("classifier_auc", mv.classifier_auc)):
        if val is not None:
            score.add_metric([model, version, method], val)


def _alert_metrics(mon: Monitor) -> Iterator[Metric]:
    """What the alert engine holds now: alerts pending and firing, incidents open, per model and severity."""
    alerts = GaugeMetricFamily("argus_alerts", "Alerts now, by state (pending, firing).",
                               labels=["model", "severity", "state"])
    incidents = GaugeMetricFamily("argus_incidents_open", "Incidents not resolved (open or acknowledged).",
                                  labels=["model", "severity"])
    counts = mon.alerting.counts()
    for (model, severity, state), n in sorted(counts["alerts"].items()):
        alerts.add_metric([model, severity, state], n)
    for (model, severity), n in sorted(counts["incidents"].items()):
        incidents.add_metric([model, severity], n)
    sent = CounterMetricFamily("argus_notifications_sent", "Notifications delivered, per receiver.",
                               labels=["model", "receiver"])
    failed = CounterMetricFamily("argus_notifications_failed", "Failed delivery attempts (each retry counts).",
                                 labels=["model", "receiver"])
    sender = mon.alerting.sender
    for fam, counts in ((sent, sender.sent), (failed, sender.failures)):
        for (model, receiver), n in sorted(dict(counts).items()):
            fam.add_metric([model, receiver], n)
    burn = GaugeMetricFamily("argus_slo_burn_rate", "How fast each SLO spends its error budget over a window "
                             "(1: exactly over its period).", labels=["model", "slo", "window"])
    budget = GaugeMetricFamily("argus_slo_error_budget_remaining", "Share of each SLO's error budget left "
                               "(over the samples kept: 3 days).", labels=["model", "slo"])
    for model, slos in sorted(mon.alerting.slo_status().items()):
        for slo, st in slos.items():
            for window, rate in st["burn_rates"].items():
                if rate is not None:
                    burn.add_metric([model, slo, window], rate)
            if st["budget_remaining"] is not None:
                budget.add_metric([model, slo], st["budget_remaining"])
    yield from (alerts, incidents, sent, failed, burn, budget)


def _dependency_metrics(mon: Monitor) -> Iterator[Metric]:
    """Each dependency's state as the prober last saw it (docs/DEPENDENCIES.md); one not probed yet has no
    ``up`` sample rather than a made-up one."""
    up = GaugeMetricFamily("argus_dependency_up", "1 while the dependency is up, 0 once it failed `failures` "
                           "consecutive probes.", labels=["model", "dependency"])
    took = GaugeMetricFamily("argus_dependency_probe_duration_seconds", "How long the dependency's last HTTP or "
                             "TCP probe took.", labels=["model", "dependency"])
    age = GaugeMetricFamily("argus_dependency_age_seconds", "Age of a freshness dependency's newest heartbeat.",
                            labels=["model", "dependency"])
    docs = GaugeMetricFamily("argus_dependency_documents", "Documents (rows) a freshness dependency's newest "
                             "heartbeat reported: a vector index's size.", labels=["model", "dependency"])
    for model, name, is_up, duration, seconds, documents in mon.dependencies.gauges():
        if is_up is not None:
            up.add_metric([model, name], 1.0 if is_up else 0.0)
        if duration is not None:
            took.add_metric([model, name], duration)
        if seconds is not None:
            age.add_metric([model, name], seconds)
        if documents is not None:
            docs.add_metric([model, name], float(documents))
    yield from (up, took, age, docs)


def registry_for(monitor: Monitor) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(MonitorCollector(monitor))
    ProcessCollector(registry=reg)
    return reg


class _OpsFamilies:
    """The families of the events' ops fields (``monitor/ops.py``; docs/OPERATIONS.md): stage latency,
    fallback answers, cost (per version, and per tenant), tokens, and the resources events report. Cost per
    prediction and resource usage are the last closed window's (by arrival), as the alert rules saw them."""

    def __init__(self) -> None:
        self.stage = HistogramMetricFamily("argus_stage_duration_seconds", "Latency of each stage events report "
                                           "(stages: {name: ms}).", labels=["model", "model_version", "stage"])
        self.fallback = CounterMetricFamily("argus_fallback_events", "Events answered by the fallback, not the "
                                            "model (fallback: true).", labels=["model", "model_version"])
        self.cost = CounterMetricFamily("argus_cost", "What serving the events cost, in the model's cost currency.",
                                        labels=["model", "model_version"])
        self.per_prediction = GaugeMetricFamily("argus_cost_per_prediction", "Cost per event over the last closed "
                                                "window (by arrival).", labels=["model", "model_version"])
        self.tokens = CounterMetricFamily("argus_tokens", "Tokens the events used (an LLM event's llm.input_tokens "
                                          "and llm.output_tokens; a tabular event's features of those names).",
                                          labels=["model", "model_version", "direction"])
        self.tenant_cost = CounterMetricFamily("argus_tenant_cost", "What each tenant's events cost (llm.tenant), in "
                                               "the model's cost currency; tenants past cost.max_tenants count as "
                                               "__other__.", labels=["model", "tenant"])
        self.folded = GaugeMetricFamily("argus_tenants_folded", "Distinct tenants counted as __other__ (past "
                                        "cost.max_tenants).", labels=["model"])
        self.usage = GaugeMetricFamily("argus_event_resource_usage", "Mean of each resource events report over the "
                                       "last closed window (by arrival): cpu and gpu as shares (0 to 1), memory and "
                                       "gpu_memory in bytes.", labels=["model", "model_version", "resource"])

    def add(self, name: str, m: ModelMetrics) -> None:
        for v, vm in list(m.versions.items()):
            for stage, h in list(vm.stages.items()):
                if h.n:
                    self.stage.add_metric([name, v, stage], h.cumulative(), h.total)
            self.fallback.add_metric([name, v], vm.fallback)
            if vm.costed:
                self.cost.add_metric([name, v], vm.cost)
            if vm.input_tokens or vm.output_tokens:
                self.tokens.add_metric([name, v, "input"], vm.input_tokens)
                self.tokens.add_metric([name, v, "output"], vm.output_tokens)
            last = vm.last_ops
            if "cost_per_prediction" in last:
                self.per_prediction.add_metric([name, v], last["cost_per_prediction"])
            for key, value in list(last.items()):
                if key.startswith("resource."):
                    self.usage.add_metric([name, v, key.split(".", 1)[1]], value)

        for tenant, spent in list(m.tenant_cost.items()):  # bounded: cost.max_tenants and __other__
            self.tenant_cost.add_metric([name, tenant], spent)
        if m.folded or m.folded_more:
            self.folded.add_metric([name], len(m.folded))

    def families(self) -> tuple[Metric, ...]:
        return (self.stage, self.fallback, self.cost, self.per_prediction, self.tokens, self.tenant_cost,
                self.folded, self.usage)
