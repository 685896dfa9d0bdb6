"""The Prometheus names Argus exposes, and the small helpers every export writes PromQL with.

The rules and dashboards may only reference series that exist: a rule over a misspelt metric evaluates to
nothing and never fires, and a panel over one stays empty without an error. ``SERIES`` is that contract in one
place (what ``/metrics`` of `argus serve` exposes, by the name a query uses: counters with ``_total``,
histograms by their ``_bucket``/``_sum``/``_count``), and the suite checks it against the service's collector.
"""

from __future__ import annotations

import json

COUNTERS: tuple[str, ...] = (
    "argus_events_total", "argus_events_rejected_total", "argus_events_duplicate_total", "argus_events_too_late_total",
    "argus_model_requests_total", "argus_labels_total", "argus_labels_expired_total", "argus_outcomes_total",
    "argus_notifications_sent_total", "argus_notifications_failed_total",
    # operations beyond the model: what serving cost, and the events the circuit breaker's fallback answered
    "argus_fallback_events_total", "argus_cost_total", "argus_tokens_total", "argus_tenant_cost_total",
)
HISTOGRAMS: tuple[str, ...] = ("argus_model_request_duration_seconds", "argus_label_lag_seconds",
                               "argus_stage_duration_seconds")
GAUGES: tuple[str, ...] = (
    "argus_window_rows", "argus_window_end_timestamp_seconds", "argus_window_drifted_columns",
    "argus_feature_drift_score", "argus_feature_drifted", "argus_feature_missing_ratio", "argus_prediction_mean",
    "argus_prediction_class_ratio", "argus_multivariate_drifted", "argus_multivariate_score",
    "argus_provisional_window_rows", "argus_provisional_window_end_timestamp_seconds",
    "argus_provisional_window_drifted_columns", "argus_provisional_feature_drifted", "argus_labels_pending",
    "argus_model_performance", "argus_model_performance_bound", "argus_model_performance_labels",
    "argus_model_performance_degraded", "argus_model_performance_estimated", "argus_label_coverage_ratio",
    "argus_label_lag_p50_seconds", "argus_label_lag_p90_seconds", "argus_last_event_timestamp_seconds",
    "argus_host_resource", "argus_alerts", "argus_incidents_open", "argus_slo_burn_rate",
    "argus_slo_error_budget_remaining", "argus_ingest_queue_depth", "argus_up",
    "argus_cost_per_prediction", "argus_event_resource_usage", "argus_tenants_folded",
    "argus_dependency_up", "argus_dependency_probe_duration_seconds", "argus_dependency_age_seconds",
    "argus_dependency_documents",
    "argus_circuit_breaker_state",
)

SERIES: frozenset[str] = frozenset(
    COUNTERS + GAUGES + tuple(f"{h}_{part}" for h in HISTOGRAMS for part in ("bucket", "sum", "count")))
"""Every ``argus_*`` series name a query may use."""

REQUESTS = "argus_model_requests_total"
LATENCY = "argus_model_request_duration_seconds"


def label_value(value: str) -> str:
    """``value`` as a PromQL string literal: a feature or class name may hold quotes or backslashes."""
    return json.dumps(value)


def duration(seconds: float) -> str:
    """A Prometheus duration for ``seconds``, in the largest unit that divides it (``900`` -> ``15m``).

    >>> duration(900), duration(3 * 86400), duration(90), duration(0.5)
    ('15m', '3d', '90s', '500ms')
    """
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if s and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"
