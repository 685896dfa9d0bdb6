"""What each alert is: its name, whether it is a symptom or a cause, how fundamental a cause it is, and the
rules a model's config turns into (the ones it writes, and the ones every model has).

A **symptom** is what users feel (accuracy, a KPI, latency, a shifted prediction); a **cause** is what
moves upstream of the model (a schema break, a null spike, stale data, a drifted feature, a new version).
An incident ranks its causes by what moved first, then by how fundamental the cause is (``CAUSE_ORDER``:
a renamed column explains a drifted feature; the converse is never true), then by severity and size.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from argusml.schema.alerts import Rule
from argusml.schema.kinds import Severity
from argusml.schema.model_config import ModelConfig

Role = Literal["symptom", "cause"]

SYMPTOM_CHECKS = frozenset({"prediction_drift", "target_drift", "performance_drop", "estimated_performance_drop",
                            "proxy_shift", "weak_segment", "outcome_drop", "abandonment_rise", "judge_drop"})
"""Findings that say the model's output or quality moved: what the users feel, not why."""

CAUSE_ORDER: dict[str, int] = {
    # the model cannot see its inputs at all
    "missing_column": 0, "all_null": 0,
    # the inputs are there but broken or renamed, or the data stopped, or what the model reads from is down
    "type_errors": 1, "extra_column": 1, "no_events": 1, "stale_data": 1, "declared_bound": 1,
    "dependency_down": 1,
    # inputs broken in part
    "missing_values": 2, "sentinel_value": 2, "constant_column": 2, "duplicate_ids": 2,
    "future_timestamps": 2,
    # something other than the data changed
    "unexpected_version": 3,
    # the data's distribution moved
    "new_categories": 4, "vanished_categories": 4, "out_of_range": 4, "drift": 5, "near_constant_column": 5,
    "embedding_drift": 5, "correlation_change": 6, "multivariate_drift": 6,
}
"""Lower is more fundamental: it explains the ones above it, not the other way round. A user rule that is a
cause ranks after the built-in ones (its meaning is the user's)."""

IMMEDIATE_CHECKS = frozenset({"missing_column", "all_null"})
"""A P0 schema break fires on its first window: the model is blind now, and it will not get better by
waiting three windows."""

PERF_STREAM_CHECKS = frozenset({"performance_drop", "weak_segment", "estimated_performance_drop", "proxy_shift",
                                "outcome_drop"})
"""Findings of the performance job: judged per performance window (as labels arrive), not per event window."""

SYMPTOM_METRICS = ("performance.", "latency_", "error_rate", "prediction_mean", "class_ratio.", "rows",
                   "stage_latency_", "fallback_ratio", "cost_", "tenant_cost_", "tokens_")
"""A user rule on one of these is a symptom unless it says ``role: cause``."""


def role_of_check(check: str) -> Role:
    return "symptom" if check in SYMPTOM_CHECKS else "cause"


def role_of_metric(metric: str) -> Role:
    if metric.startswith("findings."):
        return role_of_check(metric.split(".", 1)[1])
    return "symptom" if metric.startswith(SYMPTOM_METRICS) else "cause"


def cause_order(name: str) -> int:
    return CAUSE_ORDER.get(name, 7)


def fingerprint(model: str, name: str, labels: dict[str, str]) -> str:
    """Identifies one alert across windows, restarts and notifications (Alertmanager's ``fingerprint``): the
    same model, alert and labels are the same alert."""
    text = "\x1f".join([model, name, *(f"{k}={labels[k]}" for k in sorted(labels))])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Spec:
    """One rule as the engine applies it: a user rule, or one every model has (``SERVING_ERRORS``)."""

    rule: Rule
    role: Role
    for_windows: int
    stream: Literal["window", "performance", "tick"]

    @property
    def name(self) -> str:
        return self.rule.name


SERVING_ERRORS = Rule(name="serving_errors", type="threshold", metric="error_rate", above=0.05, clear=0.02,
                      p0=0.25, severity=Severity.P1,
                      summary="{value:.1%} of requests failed over the last window")
"""Every model has it: more than 5% of requests failing is P1 after ``for_windows`` windows; a burst past 25%
is P0 and fires at once. It needs ``MIN_REQUESTS`` requests in the window, so six stray errors page nobody."""

MIN_REQUESTS = 30
"""Requests an error-rate (or fallback-ratio) window needs before it is judged: below it a handful of errors
is most of the traffic, and the rate says nothing."""


def budget_rules(cfg: ModelConfig) -> list[Rule]:
    """The rules a model's ``cost:`` budgets become: ``cost_budget`` (the day's spend above
    ``budget_per_day``), ``cost_budget_per_prediction`` (a window's cost per prediction above
    ``budget_per_prediction``), ``cost_budget_tenant`` (a tenant's spend of the day above
    ``budget_per_tenant_per_day``: one alert per tenant, naming it) and ``cost_budget_tokens`` (the day's
    tokens above ``budget_tokens_per_day``). A spend past its budget is a fact, not noise: each fires on its
    first window."""
    c = cfg.cost
    if c is None:
        return []
    sev = Severity(c.budget_severity)
    out = []
    if c.budget_per_day is not None:
        out.append(Rule(name="cost_budget", type="threshold", metric="cost_per_day", above=c.budget_per_day,
                        severity=sev, for_windows=1, role="symptom",
                        summary=f"{{value:.2f}} {c.currency} spent today; the budget is {c.budget_per_day:g} "
                                f"{c.currency} a day"))
    if c.budget_per_prediction is not None:
        out.append(Rule(name="cost_budget_per_prediction", type="threshold", metric="cost_per_prediction",
                        above=c.budget_per_prediction, severity=sev, for_windows=1, role="symptom",
                        summary=f"{{value:.4g}} {c.currency} per prediction over the last window; the budget is "
                                f"{c.budget_per_prediction:g} {c.currency}"))
    if c.budget_per_tenant_per_day is not None:
        out.append(Rule(name="cost_budget_tenant", type="threshold", metric="tenant_cost_per_day",
                        above=c.budget_per_tenant_per_day, severity=sev, for_windows=1, role="symptom",
                        summary=f"tenant {{tenant}} spent {{value:.2f}} {c.currency} today; the budget is "
                                f"{c.budget_per_tenant_per_day:g} {c.currency} a tenant a day"))
    if c.budget_tokens_per_day is not None:
        out.append(Rule(name="cost_budget_tokens", type="threshold", metric="tokens_per_day",
                        above=c.budget_tokens_per_day, severity=sev, for_windows=1, role="symptom",
                        summary=f"{{value:.0f}} tokens (input and output) today; the budget is "
                                f"{c.budget_tokens_per_day:g} tokens a day"))
    return out


def specs(cfg: ModelConfig) -> list[Spec]:
    """Every rule of a model, with its role, stream and ``for_windows`` filled from the model's defaults."""
    out = []
    names = {r.name for r in cfg.alerts.rules}
    rules = list(cfg.alerts.rules) + ([SERVING_ERRORS] if "serving_errors" not in names else [])
    rules += [r for r in budget_rules(cfg) if r.name not in names]  # a rule of that name in the YAML wins
    for r in rules:
        role: Role = r.role or role_of_metric(r.metric)
        if r.type == "absence":
            stream: Literal["window", "performance", "tick"] = "tick"
        elif r.metric.startswith("performance.") or r.metric == "label_lag":
            stream = "performance"
        else:
            stream = "window"
        out.append(Spec(r, role, r.for_windows or cfg.alerts.for_windows, stream))
    return out


def check_severity(cfg: ModelConfig, check: str, found: Severity) -> Severity | None:
    """The severity a finding's alert has: the model's ``alerts.checks`` override, else the finding's own;
    None when the check's alerts are off."""
    over = cfg.alerts.checks.get(check)
    if over == "off":
        return None
    return Severity(over) if over is not None else found
