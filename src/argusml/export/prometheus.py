"""Prometheus recording and alerting rules for Argus's metrics, from the model configs.

A team that already runs Prometheus and Alertmanager wants Argus's signals judged where its other alerts are:
one pager, one silence list, one routing tree. These rules make Prometheus evaluate, from the series that
`argus serve` exposes on /metrics, what Argus's own alert engine judges:

- **SLO burn rates**, the SRE workbook's multi-window, multi-burn-rate alerts with Argus's own tiers
  (``stats.alerting.BURN_POLICY``: 14.4x over 1 h and 5 min is P0, 6x over 6 h and 30 min P1, 1x over 3 days
  and 6 h P2), computed from the raw counters (requests by status, the latency histogram), so that Prometheus
  judges the budget itself, across restarts of Argus, from its own retention.
- **serving errors, drift, stale data, label lag, open incidents, dependencies, the circuit breaker, cost**,
  with the thresholds and ``for`` durations a model's YAML implies (``alerts.for_windows`` closed windows).

Every alert carries ``severity`` (P0, P1, P2: what the Alertmanager config routes and inhibits on), ``model``,
and the annotations ``summary`` and ``runbook_url`` (the model's own ``runbooks:`` entry, else the runbook
Argus serves at ``{external_url}/v1/runbooks/{name}``). Recording rules are named ``level:metric:operation``
as the Prometheus naming guide asks, so a dashboard can use them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from argusml.alerts.rules import MIN_REQUESTS, SERVING_ERRORS
from argusml.alerts.runbooks import RUNBOOKS, runbook_url
from argusml.export.metrics import LATENCY, REQUESTS, duration, label_value
from argusml.monitor.metrics import LATENCY_BUCKETS
from argusml.schema.kinds import Severity
from argusml.schema.model_config import ModelConfig
from argusml.schema.severity import DEFAULT_SEVERITY
from argusml.stats.alerting import BURN_POLICY

SLO_WINDOWS: tuple[float, ...] = tuple(sorted({w for t in BURN_POLICY for w in (t.long_window, t.short_window)}))
"""Every window a burn tier reads (5 min to 3 days), each recorded once per SLO."""

SERVING_ERRORS_P1 = SERVING_ERRORS.above
SERVING_ERRORS_P0 = SERVING_ERRORS.p0
SERVING_ERRORS_MIN_REQUESTS = MIN_REQUESTS
"""The engine's own built-in ``serving_errors`` rule (docs/ALERTING.md), so Prometheus judges what Argus
judges: 5% failing is P1, 25% is P0 and fires at once, and fewer than 30 requests say nothing."""

STALE_MIN_SECONDS = 900.0
"""``stale_data`` without a freshness SLO: the newest event older than three windows, and never under 15
minutes (a 1-minute window would page for a pipeline's ordinary hiccup)."""

BREAKER_FOR = 60.0
"""A breaker open for a minute: long enough not to page for one trip that half-opens and closes again at once.
(``argus_dependency_up`` needs no ``for``: it is 0 only after the dependency's ``failures`` failed probes.)"""

RECORDING_GROUP = "argus.recording"


@dataclass(frozen=True)
class RuleOptions:
    """What the rules need beyond the model configs. ``external_url`` is where people reach Argus (the runbook
    links); ``cost_budgets`` is each model's daily cost budget in its cost currency (``cost_budget`` alerts
    only for a model that has one; default: the model's ``cost.budget_per_day``); ``interval`` is the rule groups' evaluation interval."""

    external_url: str = "http://localhost:8080"
    cost_budgets: Mapping[str, float] | None = None
    interval: str = "30s"


def prometheus_rules(configs: Iterable[ModelConfig], options: RuleOptions | None = None) -> dict[str, Any]:
    """The rules file (``{"groups": [...]}``, for ``rule_files:``): one group of recording rules shared by every
    model, then one group per model with its SLOs' burn rates and its alerts."""
    opts = options or RuleOptions()
    groups: list[dict[str, Any]] = [{"name": RECORDING_GROUP, "interval": opts.interval, "rules": recording_rules()}]
    for cfg in sorted(configs, key=lambda c: c.model):
        rules = [*slo_rules(cfg, opts), *model_alerts(cfg, opts), *absence_alerts(cfg, opts)]
        groups.append({"name": f"argus.model.{cfg.model}", "interval": opts.interval, "rules": rules})
    return {"groups": groups}


def recording_rules() -> list[dict[str, Any]]:
    """Rates, error ratios, latency quantiles and cost, per model version, over 5 minutes: what dashboards and
    ad-hoc queries read, whatever the configs."""
    by = "model, model_version"
    out: list[dict[str, Any]] = [
        {"record": "model_version:argus_model_requests:rate5m", "expr": f"sum by ({by}) (rate({REQUESTS}[5m]))"},
        {"record": "model_version:argus_model_request_errors:ratio_rate5m",
         "expr": f'sum by ({by}) (rate({REQUESTS}{{code!~"2.."}}[5m]))\n/\nsum by ({by}) (rate({REQUESTS}[5m]))'},
    ]
    for q in (0.5, 0.9, 0.99):
        out.append({"record": f"model_version:{LATENCY}:p{round(q * 100)}_5m",
                    "expr": f"histogram_quantile({q}, sum by ({by}, le) (rate({LATENCY}_bucket[5m])))"})
    out += [
        {"record": "model_version:argus_cost:rate1h", "expr": f"sum by ({by}) (rate(argus_cost_total[1h])) * 3600"},
        {"record": "model_version:argus_fallback_events:ratio_rate5m",
         "expr": f"sum by ({by}) (rate(argus_fallback_events_total[5m]))\n/\nsum by ({by}) (rate(argus_events_total[5m]))"},
    ]
    return out


# ---------------------------------------------------------------- SLOs


def burn_record(window: float) -> str:
    """The recording rule that holds an SLO's burn rate over ``window`` (labels ``model`` and ``slo``)."""
    return f"model_slo:argus_slo_burn_rate:{duration(window)}"


def latency_good_ratio(model: str, threshold: float, window: float) -> str:
    """PromQL for the share of ``model``'s requests within ``threshold`` seconds over ``window``.

    Exact when the threshold is a bucket bound; between two bounds it interpolates linearly within the
    bucket, as the engine does (docs/ALERTING.md), so both count the same requests as bad. Past the last
    finite bound every request slower than it is bad: the histogram cannot say more."""
    sel = f"model={label_value(model)}"
    w = duration(window)

    def bucket(le: float) -> str:
        return f'sum by (model) (rate({LATENCY}_bucket{{{sel},le="{le!r}"}}[{w}]))'

    total = f"sum by (model) (rate({LATENCY}_count{{{sel}}}[{w}]))"
    if threshold in LATENCY_BUCKETS or threshold > LATENCY_BUCKETS[-1]:
        good = bucket(threshold if threshold in LATENCY_BUCKETS else LATENCY_BUCKETS[-1])
    else:
        hi = min(b for b in LATENCY_BUCKETS if b > threshold)
        lower = [b for b in LATENCY_BUCKETS if b < threshold]
        if lower:
            lo = max(lower)
            frac = (threshold - lo) / (hi - lo)
            good = f"({bucket(lo)} + ({bucket(hi)} - {bucket(lo)}) * {frac:.6g})"
        else:
            good = f"({bucket(hi)} * {threshold / hi:.6g})"
    return f"{good}\n/\n{total}"


def _bad_ratio(cfg: ModelConfig, slo: str, threshold: float | None, metric: str | None, minimum: float | None,
               window: float) -> str:
    """PromQL for the share of bad events (or bad minutes) of one SLO over ``window``."""
    sel = f"model={label_value(cfg.model)}"
    w = duration(window)
    if slo == "error_rate":
        return (f'sum by (model) (rate({REQUESTS}{{{sel},code!~"2.."}}[{w}]))\n/\n'
                f"sum by (model) (rate({REQUESTS}{{{sel}}}[{w}]))")
    if slo == "latency":
        assert threshold is not None
        return f"1 - (\n{latency_good_ratio(cfg.model, threshold, window)}\n)"
    # freshness and quality are judged per minute: the share of evaluations in the window that were bad
    return f'avg_over_time({_bad_now_record(slo)}{{{sel},slo="{slo}"}}[{w}])'


def _bad_now_record(slo: str) -> str:
    return f"model_slo:argus_slo_{slo}_bad:bool"


def _bad_now_expr(cfg: ModelConfig, slo: str, threshold: float | None, metric: str | None,
                  minimum: float | None) -> str:
    sel = f"model={label_value(cfg.model)}"
    if slo == "freshness":
        return f"time() - max by (model) (argus_last_event_timestamp_seconds{{{sel}}}) > bool {threshold:g}"
    assert metric is not None and minimum is not None
    return f"min by (model) (argus_model_performance{{{sel},metric={label_value(metric)}}}) < bool {minimum:g}"


SLO_TEXT = {"error_rate": "error-rate", "latency": "latency", "freshness": "freshness", "quality": "quality"}


def slo_rules(cfg: ModelConfig, opts: RuleOptions) -> list[dict[str, Any]]:
    """Per SLO of ``cfg``: its burn rate over each window a tier reads, and one alert per tier that fires when
    both of the tier's windows burn faster than its factor. The tiers overlap (a P0 burn is a P1 and a P2 burn
    too); Alertmanager's inhibit rules keep only the most severe, as the engine does."""
    out: list[dict[str, Any]] = []
    for slo, spec in cfg.slos.items():
        # the model as a label of the rule too: the same rule of two models is two rules to promtool's linter
        labels = {"model": cfg.model, "slo": slo}
        budget = 1.0 - spec.objective
        if slo in ("freshness", "quality"):
            out.append({"record": _bad_now_record(slo), "expr": _bad_now_expr(cfg, slo, spec.threshold, spec.metric,
                                                                                spec.min), "labels": labels})
        for w in SLO_WINDOWS:
            ratio = _bad_ratio(cfg, slo, spec.threshold, spec.metric, spec.min, w)
            out.append({"record": burn_record(w), "expr": f"(\n{ratio}\n) / {budget:.6g}", "labels": labels})
        sel = f'model={label_value(cfg.model)},slo="{slo}"'
        name = f"slo_{slo}"
        link = _runbook(cfg, name, opts, spec.runbook)
        for tier in BURN_POLICY:
            long_w, short_w = duration(tier.long_window), duration(tier.short_window)
            spent = tier.factor * tier.long_window / spec.period
            out.append({
                "alert": name,
                "expr": (f"{burn_record(tier.long_window)}{{{sel}}} > {tier.factor:g}\n"
                         f"and\n{burn_record(tier.short_window)}{{{sel}}} > {tier.factor:g}"),
                "labels": {"severity": tier.severity, "model": cfg.model, "slo": slo, "tier": f"{long_w}/{short_w}"},
                "annotations": {
                    "summary": (f"{{{{ $labels.model }}}}: the {SLO_TEXT[slo]} SLO ({spec.objective:.4g}) burns its error "
                                f"budget at {{{{ $value | humanize }}}}x over {long_w} and faster than {tier.factor:g}x "
                                f"over {short_w} too"),
                    "description": (f"At this rate the {long_w} window alone spends {spent:.0%} of the "
                                    f"{duration(spec.period)} budget. {tier.severity} tier of the multi-window, "
                                    f"multi-burn-rate policy ({tier.factor:g}x over {long_w} and {short_w})."),
                    "runbook_url": link,
                },
            })
    return out


# ---------------------------------------------------------------- the model's other alerts


def _runbook(cfg: ModelConfig, name: str, opts: RuleOptions, own: str | None = None) -> str:
    """The link the engine would give this alert, or, for an alert Argus ships no runbook for, the model's own
    entry or the list of runbooks (a page that exists, never a 404)."""
    if name in RUNBOOKS or name in cfg.runbooks or own:
        return runbook_url(name, model=cfg.model, overrides=cfg.runbooks, rule_runbook=own,
                           external_url=opts.external_url)
    return f"{opts.external_url.rstrip('/')}/v1/runbooks?model={quote(cfg.model, safe='')}"


def _severity(cfg: ModelConfig, check: str) -> Severity | None:
    """The severity a check's alert has for this model (``alerts.checks``), None when it is off."""
    s = cfg.alerts.checks.get(check, DEFAULT_SEVERITY[check])
    return None if s == "off" else Severity(s)


def _alert(cfg: ModelConfig, opts: RuleOptions, name: str, expr: str, severity: str, summary: str,
           for_s: float = 0.0, runbook: str | None = None, own: str | None = None, **labels: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_s > 0:
        rule["for"] = duration(for_s)
    rule["labels"] = {"severity": severity, "model": cfg.model, **labels}
    rule["annotations"] = {"summary": summary, "runbook_url": _runbook(cfg, runbook or name, opts, own)}
    return rule


def model_alerts(cfg: ModelConfig, opts: RuleOptions) -> list[dict[str, Any]]:
    """The alerts of one model besides its SLOs, each over that model's series only."""
    m = label_value(cfg.model)
    sel = f"model={m}"
    confirm = cfg.alerts.for_windows * cfg.window
    by = "model, model_version"
    w = duration(cfg.window)
    out: list[dict[str, Any]] = []

    # serving errors: the engine's built-in rule, over the model's window
    ratio = (f'sum by ({by}) (rate({REQUESTS}{{{sel},code!~"2.."}}[{w}]))\n/\n'
             f"sum by ({by}) (rate({REQUESTS}{{{sel}}}[{w}]))")
    enough = f"sum by ({by}) (increase({REQUESTS}{{{sel}}}[{w}])) >= {SERVING_ERRORS_MIN_REQUESTS}"
    text = ("{{ $labels.model }} {{ $labels.model_version }}: {{ $value | humanizePercentage }} of requests failed "
            f"over the last {w}")
    out.append(_alert(cfg, opts, "serving_errors", f"(\n{ratio}\n) > {SERVING_ERRORS_P0:g}\nand\n{enough}", "P0",
                      text))
    out.append(_alert(cfg, opts, "serving_errors", f"(\n{ratio}\n) > {SERVING_ERRORS_P1:g}\nand\n{enough}", "P1",
                      text, for_s=confirm))

    # drift of a column in the latest closed window, for as many windows as the engine waits
    for check, what in (("drift", "drifted"),):
        sev = _severity(cfg, check)
        if sev is not None:
            out.append(_alert(cfg, opts, check, f"argus_feature_drifted{{{sel}}} == 1", sev.value,
                              "{{ $labels.model }} {{ $labels.model_version }}: column {{ $labels.feature }} "
                              f"{what} from the reference in the latest closed window", for_s=confirm))

    # stale data: the newest event's own timestamp is old (an upstream pipeline that stopped)
    stale = cfg.slos.freshness.threshold if cfg.slos.freshness is not None else None
    stale = stale or max(STALE_MIN_SECONDS, 3 * cfg.window)
    out.append(_alert(cfg, opts, "stale_data", f"time() - max by (model) (argus_last_event_timestamp_seconds{{{sel}}}) "
                      f"> {stale:g}", "P1",
                      "{{ $labels.model }}: the newest event is {{ $value | humanizeDuration }} old (more than "
                      f"{duration(stale)})"))

    # labels: arriving later than the model's label horizon can wait for them
    out.append(_alert(cfg, opts, "label_lag", f"argus_label_lag_p90_seconds{{{sel}}} > {cfg.labels.horizon:g}", "P2",
                      "{{ $labels.model }} {{ $labels.model_version }}: 90% of labels take up to "
                      "{{ $value | humanizeDuration }}, beyond the label horizon of "
                      f"{duration(cfg.labels.horizon)}", for_s=confirm))

    # incidents Argus itself holds open, at their own severity (the series carries the label)
    out.append({"alert": "incident_open", "expr": f"argus_incidents_open{{{sel}}} > 0", "labels": {"model": cfg.model},
                "annotations": {"summary": "{{ $labels.model }}: {{ $value }} {{ $labels.severity }} incident(s) open "
                                           "in Argus",
                                "runbook_url": f"{opts.external_url.rstrip('/')}/v1/incidents?model="
                                               f"{quote(cfg.model, safe='')}"}})

    # operations beyond the model
    # each declared dependency at the severity the engine gives it: its own, else alerts.checks, else P1
    given = cfg.alerts.checks.get("dependency_down")
    for dep in cfg.dependencies:
        severity = dep.severity.value if dep.severity is not None else given or "P1"
        if severity != "off":
            out.append(_alert(cfg, opts, "dependency_down",
                              f"argus_dependency_up{{{sel},dependency={label_value(dep.name)}}} == 0", severity,
                              "{{ $labels.model }}: dependency {{ $labels.dependency }} is down"))
    out.append(_alert(cfg, opts, "circuit_breaker_open", f"argus_circuit_breaker_state{{{sel}}} == 2", "P1",
                      "{{ $labels.model }}: circuit breaker {{ $labels.breaker }} on {{ $labels.host }} is open: "
                      "the fallback answers instead of the model", for_s=BREAKER_FOR))
    budget = (opts.cost_budgets or {}).get(cfg.model)
    if budget is None and cfg.cost is not None:
        budget = cfg.cost.budget_per_day  # the model's own cost: budget (docs/OPERATIONS.md)
    if budget is not None:
        out.append(_alert(cfg, opts, "cost_budget", f"sum by (model) (increase(argus_cost_total{{{sel}}}[1d])) > {budget:g}",
                          cfg.cost.budget_severity if cfg.cost is not None else "P1",
                          "{{ $labels.model }}: {{ $value | humanize }} spent over the last day, over its "
                          f"budget of {budget:g}"))
    c = cfg.cost
    if c is not None and c.budget_per_tenant_per_day is not None:
        # neither __other__ (several tenants together) nor "" (no tenant) is one tenant: the engine skips them too
        out.append(_alert(cfg, opts, "cost_budget_tenant",
                          f'sum by (model, tenant) (increase(argus_tenant_cost_total{{{sel},tenant!="__other__"}}'
                          f"[1d])) > {c.budget_per_tenant_per_day:g}", c.budget_severity,
                          "{{ $labels.model }}: tenant {{ $labels.tenant }} spent {{ $value | humanize }} over the "
                          f"last day, over its budget of {c.budget_per_tenant_per_day:g}"))
    if c is not None and c.budget_tokens_per_day is not None:
        out.append(_alert(cfg, opts, "cost_budget_tokens",
                          f"sum by (model) (increase(argus_tokens_total{{{sel}}}[1d])) > {c.budget_tokens_per_day:g}",
                          c.budget_severity, "{{ $labels.model }}: {{ $value | humanize }} tokens over the last day, "
                          f"over its budget of {c.budget_tokens_per_day:g}"))
    return out


def absence_alerts(cfg: ModelConfig, opts: RuleOptions) -> list[dict[str, Any]]:
    """The model's ``absence`` rules, which read counters Prometheus has too: no events arriving (``silence``),
    the newest event too old (``freshness``), labels that stopped while predictions go on (``label_lag``; the
    90th-percentile gauge cannot see labels that stopped, as it describes the labels that came). Threshold,
    baseline and seasonal rules need Argus's closed windows and stay with its engine."""
    sel = f"model={label_value(cfg.model)}"
    out = []
    for r in cfg.alerts.rules:
        if r.type != "absence" or r.after is None:
            continue
        a = duration(r.after)
        expr, text = {
            "silence": (f"sum by (model) (increase(argus_events_total{{{sel}}}[{a}])) == 0",
                        f"no event has arrived for {a}"),
            "freshness": (f"time() - argus_last_event_timestamp_seconds{{{sel}}} > {r.after:g}",
                          f"the newest event is older than {a}"),
            "label_lag": (f"sum by (model) (increase(argus_labels_total{{{sel}}}[{a}])) == 0\nand on (model)\n"
                          f"sum by (model) (increase(argus_events_total{{{sel}}}[{a}])) > 0",
                          f"no label has arrived for {a} while predictions go on"),
        }[r.metric]
        out.append(_alert(cfg, opts, r.name, expr, r.severity.value, "{{ $labels.model }}: " + (r.summary or text),
                          own=r.runbook))
    return out
