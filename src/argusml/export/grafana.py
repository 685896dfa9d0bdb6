"""Grafana dashboards for Argus's metrics, built with grafana-foundation-sdk.

Two dashboards, one row per concern, each panel a PromQL query over the series `argus serve` exposes:

- **operational** (is the model serving well, and what does it cost): traffic & errors, latency,
  alerts & SLOs, cost, dependencies & breaker;
- **model health** (is the model still right): drift, data quality, performance & labels, alerts & SLOs.

Both have the template variables ``datasource`` (any Prometheus), ``model`` and ``model_version`` (from
``label_values``, multi-valued, "All" by default), so one import serves every model. Panels query raw series,
not the exported recording rules: a dashboard imported before the rules are loaded still shows everything.

The SDK is an optional dependency (``pip install 'argusml[export]'``); ``grafana_dashboards`` raises
``ExportUnavailable`` saying how to install it when it is missing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SDK_PIN = "grafana-foundation-sdk==1769699379!11.6.0"
"""Grafana 11.6's dashboard schema (schemaVersion 41); the unpinned package is an older one."""

M = 'model=~"$model"'
MV = 'model=~"$model", model_version=~"$model_version"'
RATE = "$__rate_interval"


class ExportUnavailable(RuntimeError):
    """An optional package the export needs is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class PanelSpec:
    """One panel: a time series, or a stat (the latest value, big) when ``stat``."""

    title: str
    unit: str
    queries: tuple[Query, ...]
    description: str = ""
    stat: bool = False
    max: float | None = None


@dataclass(frozen=True)
class RowSpec:
    title: str
    panels: tuple[PanelSpec, ...] = field(default_factory=tuple)


def _q(expr: str, legend: str) -> Query:
    return Query(expr, legend)


TRAFFIC = RowSpec("Traffic & errors", (
    PanelSpec("Requests per second by status", "reqps", (
        _q(f"sum by (model, model_version, code) (rate(argus_model_requests_total{{{MV}}}[{RATE}]))",
           "{{model}} {{model_version}} {{code}}"),), "Model requests the events report, by HTTP status."),
    PanelSpec("Error ratio (non-2xx)", "percentunit", (
        _q(f'sum by (model, model_version) (rate(argus_model_requests_total{{{MV}, code!~"2.."}}[{RATE}]))\n/\n'
           f"sum by (model, model_version) (rate(argus_model_requests_total{{{MV}}}[{RATE}]))",
           "{{model}} {{model_version}}"),), "The serving_errors alert fires at 5% (P1) and 25% (P0)."),
    PanelSpec("Events ingested, rejected, duplicate", "ops", (
        _q(f"sum by (model, model_version) (rate(argus_events_total{{{MV}}}[{RATE}]))", "{{model}} {{model_version}} ingested"),
        _q(f"sum by (model, reason) (rate(argus_events_rejected_total{{{M}}}[{RATE}]))", "{{model}} rejected: {{reason}}"),
        _q(f"sum by (model) (rate(argus_events_duplicate_total{{{M}}}[{RATE}]))", "{{model}} duplicate"),
        _q(f"sum by (model) (rate(argus_events_too_late_total{{{M}}}[{RATE}]))", "{{model}} too late"))),
    PanelSpec("Argus up, ingest queue", "short", (
        _q("argus_up", "up"), _q("argus_ingest_queue_depth", "queue depth")), "argus_up is 1 while the monitor runs "
        "and its store answers.", stat=True),
))

LATENCY = RowSpec("Latency", (
    PanelSpec("Request latency quantiles", "s", tuple(
        _q(f"histogram_quantile({q}, sum by (model, model_version, le) "
           f"(rate(argus_model_request_duration_seconds_bucket{{{MV}}}[{RATE}])))", f"{{{{model}}}} {{{{model_version}}}} p{p}")
        for q, p in ((0.5, 50), (0.9, 90), (0.99, 99)))),
    PanelSpec("Latency per stage (p99)", "s", (
        _q(f"histogram_quantile(0.99, sum by (model, model_version, stage, le) "
           f"(rate(argus_stage_duration_seconds_bucket{{{MV}}}[{RATE}])))", "{{model}} {{model_version}} {{stage}}"),),
        "When events carry stages (preprocess, model, post)."),
))

ALERTS = RowSpec("Alerts & SLOs", (
    PanelSpec("SLO burn rate", "x", (
        _q(f"argus_slo_burn_rate{{{M}}}", "{{model}} {{slo}} {{window}}"),),
        "1 spends the error budget exactly over the SLO's period; 14.4 over 1 h and 5 min pages (P0)."),
    PanelSpec("SLO error budget remaining", "percentunit", (
        _q(f"argus_slo_error_budget_remaining{{{M}}}", "{{model}} {{slo}}"),), max=1.0),
    PanelSpec("Incidents open", "short", (
        _q(f"sum by (model, severity) (argus_incidents_open{{{M}}})", "{{model}} {{severity}}"),), stat=True),
    PanelSpec("Alerts by state", "short", (
        _q(f"sum by (model, severity, state) (argus_alerts{{{M}}})", "{{model}} {{severity}} {{state}}"),)),
    PanelSpec("Notifications sent and failed", "ops", (
        _q(f"sum by (model, receiver) (rate(argus_notifications_sent_total{{{M}}}[{RATE}]))", "{{model}} {{receiver}} sent"),
        _q(f"sum by (model, receiver) (rate(argus_notifications_failed_total{{{M}}}[{RATE}]))",
           "{{model}} {{receiver}} failed"))),
))

COST = RowSpec("Cost", (
    PanelSpec("Cost per hour", "short", (
        _q(f"sum by (model, model_version) (rate(argus_cost_total{{{MV}}}[{RATE}])) * 3600", "{{model}} {{model_version}}"),),
        "In the model's cost currency."),
    PanelSpec("Cost per prediction", "short", (
        _q(f"argus_cost_per_prediction{{{MV}}}", "{{model}} {{model_version}}"),), "Over the last closed window."),
    PanelSpec("Resource usage reported by events", "short", (
        _q(f"argus_event_resource_usage{{{MV}}}", "{{model}} {{model_version}} {{resource}}"),)),
    PanelSpec("Host resources reported by SDK instances", "short", (
        _q(f"argus_host_resource{{{M}}}", "{{model}} {{host}} {{resource}}"),)),
))

DEPENDENCIES = RowSpec("Dependencies & breaker", (
    PanelSpec("Dependency up", "short", (
        _q(f"argus_dependency_up{{{M}}}", "{{model}} {{dependency}}"),), "1 up, 0 down.", max=1.0),
    PanelSpec("Dependency probe latency", "s", (
        _q(f"argus_dependency_probe_duration_seconds{{{M}}}", "{{model}} {{dependency}}"),)),
    PanelSpec("Dependency age (freshness heartbeats)", "s", (
        _q(f"argus_dependency_age_seconds{{{M}}}", "{{model}} {{dependency}}"),)),
    PanelSpec("Circuit breaker state", "short", (
        _q(f"argus_circuit_breaker_state{{{M}}}", "{{model}} {{host}} {{breaker}}"),),
        "0 closed, 1 half-open, 2 open (the fallback answers).", max=2.0),
    PanelSpec("Share of events served by the fallback", "percentunit", (
        _q(f"sum by (model, model_version) (rate(argus_fallback_events_total{{{MV}}}[{RATE}]))\n/\n"
           f"sum by (model, model_version) (rate(argus_events_total{{{MV}}}[{RATE}]))", "{{model}} {{model_version}}"),)),
))

DRIFT = RowSpec("Drift", (
    PanelSpec("Drifted columns (latest closed window)", "short", (
        _q(f"argus_window_drifted_columns{{{MV}}}", "{{model}} {{model_version}}"),
        _q(f"argus_provisional_window_drifted_columns{{{MV}}}", "{{model}} {{model_version}} provisional"))),
    PanelSpec("Drift score per feature", "short", (
        _q(f"argus_feature_drift_score{{{MV}}}", "{{model}} {{model_version}} {{feature}} {{method}}"),)),
    PanelSpec("Drifted features", "short", (
        _q(f"argus_feature_drifted{{{MV}}} == 1", "{{model}} {{model_version}} {{feature}}"),), stat=True),
    PanelSpec("Multivariate drift", "short", (
        _q(f"argus_multivariate_score{{{MV}}}", "{{model}} {{model_version}} {{method}}"),
        _q(f"argus_multivariate_drifted{{{MV}}}", "{{model}} {{model_version}} drifted"))),
))

QUALITY = RowSpec("Data quality", (
    PanelSpec("Missing ratio per feature", "percentunit", (
        _q(f"argus_feature_missing_ratio{{{MV}}}", "{{model}} {{model_version}} {{feature}}"),), max=1.0),
    PanelSpec("Rejected events by reason", "ops", (
        _q(f"sum by (model, reason) (rate(argus_events_rejected_total{{{M}}}[{RATE}]))", "{{model}} {{reason}}"),)),
    PanelSpec("Rows per window", "short", (
        _q(f"argus_window_rows{{{MV}}}", "{{model}} {{model_version}}"),)),
    PanelSpec("Age of the newest event", "s", (
        _q(f"time() - argus_last_event_timestamp_seconds{{{M}}}", "{{model}}"),), "What the stale_data alert watches."),
    PanelSpec("Prediction", "short", (
        _q(f"argus_prediction_mean{{{MV}}}", "{{model}} {{model_version}} mean"),
        _q(f"argus_prediction_class_ratio{{{MV}}}", "{{model}} {{model_version}} {{class}}"))),
))

PERFORMANCE = RowSpec("Performance & labels", (
    PanelSpec("Model performance (labelled)", "short", (
        _q(f"argus_model_performance{{{MV}}}", "{{model}} {{model_version}} {{metric}}"),
        _q(f"argus_model_performance_bound{{{MV}}}", "{{model}} {{model_version}} {{metric}} {{bound}}"))),
    PanelSpec("Estimated performance (label-free)", "short", (
        _q(f"argus_model_performance_estimated{{{MV}}}", "{{model}} {{model_version}} {{metric}}"),)),
    PanelSpec("Performance degraded", "short", (
        _q(f"argus_model_performance_degraded{{{MV}}}", "{{model}} {{model_version}}"),), stat=True),
    PanelSpec("Label coverage", "percentunit", (
        _q(f"argus_label_coverage_ratio{{{MV}}}", "{{model}} {{model_version}}"),), max=1.0),
    PanelSpec("Label lag", "s", (
        _q(f"argus_label_lag_p50_seconds{{{MV}}}", "{{model}} {{model_version}} p50"),
        _q(f"argus_label_lag_p90_seconds{{{MV}}}", "{{model}} {{model_version}} p90"))),
    PanelSpec("Labels received, pending, expired", "short", (
        _q(f"sum by (model) (rate(argus_labels_total{{{M}}}[{RATE}]))", "{{model}} received/s"),
        _q(f"argus_labels_pending{{{M}}}", "{{model}} pending"),
        _q(f"sum by (model) (rate(argus_labels_expired_total{{{M}}}[{RATE}]))", "{{model}} expired/s"))),
))

DASHBOARDS: dict[str, tuple[str, str, tuple[RowSpec, ...]]] = {
    "operational": ("argus-operational", "Argus: operational", (TRAFFIC, LATENCY, ALERTS, COST, DEPENDENCIES)),
    "model-health": ("argus-model-health", "Argus: model health", (DRIFT, QUALITY, PERFORMANCE, ALERTS)),
}
"""File stem -> (uid, title, rows)."""


def _sdk() -> Any:
    try:
        from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
        from grafana_foundation_sdk.cog.encoder import JSONEncoder
        from grafana_foundation_sdk.models import dashboard as models
    except ImportError as exc:
        raise ExportUnavailable(
            f"argus export grafana needs grafana-foundation-sdk ({exc}); install it with "
            f"pip install 'argusml[export]' (or pip install '{SDK_PIN}')") from exc
    return dashboard, prometheus, stat, timeseries, JSONEncoder, models


def _label_variable(name: str, label: str, query: str) -> Any:
    """A variable over a label's values: several at once, "All" meaning any (``.*``, so a series of a model
    that appeared after the dashboard loaded is shown too), refreshed with the time range."""
    dashboard, _, _, _, _, models = _sdk()
    return (dashboard.QueryVariable(name).label(label)
            .datasource(models.DataSourceRef(type_val="prometheus", uid="${datasource}")).query(query)
            .multi(True).include_all(True).all_value(".*").refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(models.VariableSort.ALPHABETICAL_ASC))


def build_dashboard(uid: str, title: str, rows: Sequence[RowSpec]) -> dict[str, Any]:
    """One dashboard as Grafana JSON (a dict), built with the SDK's builders and encoded by its encoder."""
    dashboard, prometheus, stat, timeseries, encoder, models = _sdk()
    ds = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
    d = (dashboard.Dashboard(title).uid(uid).tags(["argus"]).refresh("1m").time("now-6h", "now")
         .tooltip(models.DashboardCursorSync.CROSSHAIR)
         .with_variable(dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
         .with_variable(_label_variable("model", "model", "label_values(argus_events_total, model)"))
         .with_variable(_label_variable("model_version", "version",
                                        'label_values(argus_events_total{model=~"$model"}, model_version)')))
    next_id = 1
    for row in rows:
        d = d.with_row(dashboard.Row(row.title).id(next_id))
        next_id += 1
        for spec in row.panels:
            builder = stat.Panel() if spec.stat else timeseries.Panel()
            builder = builder.id(next_id).title(spec.title).unit(spec.unit).datasource(ds).span(12 if not spec.stat else 6)
            next_id += 1
            if spec.description:
                builder = builder.description(spec.description)
            if spec.max is not None:
                builder = builder.min(0).max(spec.max)
            for i, q in enumerate(spec.queries):
                builder = builder.with_target(prometheus.Dataquery().expr(q.expr).legend_format(q.legend)
                                              .ref_id(chr(ord("A") + i)).datasource(ds))
            d = d.with_panel(builder)
    return json.loads(json.dumps(d.build(), cls=encoder))


def grafana_dashboards() -> dict[str, dict[str, Any]]:
    """Both dashboards, by file stem (``operational``, ``model-health``)."""
    return {stem: build_dashboard(uid, title, rows) for stem, (uid, title, rows) in DASHBOARDS.items()}


def load_dashboard(doc: dict[str, Any]) -> Any:
    """Grafana JSON read back into the SDK's model (``Dashboard.from_json``): what a round trip checks."""
    return _sdk()[5].Dashboard.from_json(doc)
