"""The ``alerts:``, ``slos:`` and ``runbooks:`` keys of a model's YAML: who hears about what, and when.

The smallest config that alerts is one key, ``alerts: {webhook: URL}``: every
P0/P1 incident of the model goes to URL as Alertmanager webhook JSON. Every
other key has a default that keeps quiet about noise: an alert fires only
after ``for_windows`` consecutive bad windows (P0 schema breaks and serving
error bursts at once), resolves only after ``resolve_windows`` good ones, and
a P2 goes to the backlog (the incident list), not to a pager. Receivers,
routes and rules extend the smallest config; they never replace it.

The metrics a rule may watch are a closed list (``METRICS``), so that a typo
in a rule is an error at validate time, not an alert that never fires.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from argusml.schema.kinds import Severity
from argusml.schema.severity import DEFAULT_SEVERITY


def _seconds(value: object) -> float:
    from argusml.schema.model_config import parse_duration

    return parse_duration(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


METRICS: dict[str, str] = {
    "rows": "rows in the closed window (whole traffic)",
    "error_rate": "share of requests with a status outside 2xx, over the last window (by arrival)",
    "latency_p50": "median request latency in seconds, over the last window (by arrival)",
    "latency_p99": "99th percentile request latency in seconds, over the last window (by arrival)",
    "prediction_mean": "mean of a numeric prediction in the closed window",
    "class_ratio.<class>": "share of predictions of <class> in the closed window",
    "drift_score.<feature>": "the feature's drift effect (its method's score) in the closed window",
    "missing_ratio.<feature>": "the feature's share of missing values in the closed window",
    "findings.<check>": "how many findings of <check> the closed window has",
    "performance.<metric>": "the newest performance window's value of <metric> (roc_auc, accuracy, mae, ...)",
    "label_lag": "90th percentile label lag of the newest performance window, or the seconds since the last label "
                 "while predictions kept arriving, whichever is longer",
    "freshness": "seconds since the newest event's timestamp (an upstream pipeline that stopped)",
    "silence": "seconds since any event arrived",
    "fallback_ratio": "share of the events answered by the fallback, not the model, over the last window (by "
                      "arrival)",
    "cost_per_prediction": "cost per event over the last window (by arrival), in the model's cost currency",
    "cost_per_day": "the model's spend so far on the UTC day of the closed window (every version, by event time)",
    "tenant_cost_per_day": "each tenant's spend so far on the UTC day of the closed window (every version, by event "
                           "time): judged per tenant, an alert names its tenant (threshold rules only)",
    "tokens_per_day": "the model's input and output tokens so far on the UTC day of the closed window (every "
                      "version and tenant, by event time)",
    "stage_latency_p50.<stage>": "median latency of <stage> in seconds, over the last window (by arrival)",
    "stage_latency_p99.<stage>": "99th percentile latency of <stage> in seconds, over the last window (by arrival)",
}
"""What a rule's ``metric`` may name; ``<...>`` is filled with a class, feature, check or metric name."""

_METRIC = re.compile(r"^(rows|error_rate|latency_p50|latency_p99|prediction_mean|label_lag|freshness|silence|"
                     r"fallback_ratio|cost_per_prediction|cost_per_day|tenant_cost_per_day|tokens_per_day)$|"
                     r"^(class_ratio|drift_score|missing_ratio|findings|performance|stage_latency_p50|"
                     r"stage_latency_p99)\.(.+)$")

LABELLED_METRICS: dict[str, str] = {"tenant_cost_per_day": "tenant"}
"""Metrics with one value per label value (a window's signal holds ``<metric>.<value>``): a rule on one is
judged for each value apart, and each alert carries the label, so a budget names the tenant over it."""

CHECKS = tuple(DEFAULT_SEVERITY)

ENGINE_CHECKS = ("dependency_down",)
"""Alerts the engine raises from what it probes, not from a window's findings, whose severity
``alerts.checks`` may still set (or turn off) like a check's."""


def check_metric(name: str) -> str:
    """``name`` if a rule may watch it; a ValueError naming the nearest metric otherwise."""
    m = _METRIC.match(name)
    if m and m.group(2) == "findings" and m.group(3) not in CHECKS:
        hint = difflib.get_close_matches(m.group(3), CHECKS, n=1)
        raise ValueError(f"unknown check {m.group(3)!r} in metric {name!r}"
                         + (f"; did you mean 'findings.{hint[0]}'?" if hint else f"; checks: {', '.join(CHECKS)}"))
    if m:
        return name
    stems = [k.split(".")[0] for k in METRICS]
    hint = difflib.get_close_matches(name.split(".")[0], stems, n=1)
    near = next((k for k in METRICS if k.split(".")[0] == hint[0]), None) if hint else None
    raise ValueError(f"unknown metric {name!r}" + (f"; did you mean {near!r}?" if near else "")
                     + f" (metrics: {', '.join(METRICS)})")


class SmtpServer(_Strict):
    """Where mail from Argus goes out (plain, or STARTTLS when ``starttls``) and whom it is from. The
    password is read from the environment variable ``password_env`` so that it never sits in the YAML or
    the store. The e-mail receiver of alerts and the weekly digest share it, so both speak to one server
    the same way."""

    sender: str = "argus@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None


class EmailReceiver(SmtpServer):
    """E-mail over SMTP to ``to``."""

    to: list[str] = Field(min_length=1)


class Receiver(_Strict):
    """Where a notification goes: exactly one of an Alertmanager-format webhook, a Slack incoming webhook
    or e-mail."""

    webhook: str | None = Field(None, description="URL taking Alertmanager webhook JSON (version 4)")
    slack: str | None = Field(None, description="a Slack incoming-webhook URL")
    email: EmailReceiver | None = None
    timeout: float = Field(10.0, gt=0, le=120, description="seconds one delivery attempt may take")

    @field_validator("webhook", "slack")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    @model_validator(mode="after")
    def _one(self) -> Receiver:
        given = [k for k in ("webhook", "slack", "email") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a receiver takes exactly one of webhook, slack or email"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook else "slack" if self.slack else "email"


DEFAULT_RECEIVER = "default"
"""The receiver ``alerts.webhook`` defines: the smallest config's one destination."""


class Route(_Strict):
    """Which incidents go to ``receiver``. Every key given must match (severities listed, the model's team
    or owner); routes are tried in order and the first match wins unless it says ``continue: true``."""

    receiver: str
    severity: list[Severity] = Field(default_factory=lambda: [Severity.P0, Severity.P1])
    team: str | None = None
    owner: str | None = None
    continue_: bool = Field(False, alias="continue")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


RuleType = Literal["threshold", "baseline", "seasonal", "absence"]


class Rule(_Strict):
    """One alert rule over a metric (``METRICS``).

    - ``threshold``: bad when the value is ``above`` (or ``below``) the limit; it clears only once it is back
      past ``clear`` (hysteresis: a value hovering at the limit does not flap). ``p0`` is a second limit
      beyond which the alert is P0 (severity follows size).
    - ``baseline``: bad when the value is more than ``drop`` (relative) below the median of its last
      ``period`` (``rise`` for a metric whose rise is bad); ``p0_drop`` makes a large drop P0.
    - ``seasonal``: bad when the value leaves the band of its hour of the week over the past ``weeks``
      (median ± ``k`` robust sigmas), in ``direction``.
    - ``absence``: bad when the metric (``silence`` by default: no events at all) exceeds ``after``;
      judged on every tick, not per window, and fires at once: the silence is its own duration.
    """

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
    type: RuleType
    metric: str = "silence"
    severity: Severity = Severity.P1
    above: float | None = None
    below: float | None = None
    clear: float | None = None
    p0: float | None = None
    drop: float | None = Field(None, gt=0, lt=1)
    rise: float | None = Field(None, gt=0)
    p0_drop: float | None = Field(None, gt=0, le=1)
    period: float = 30 * 86400.0
    weeks: int = Field(4, ge=1, le=52)
    k: float = Field(4.0, gt=0)
    direction: Literal["below", "above", "both"] = "both"
    after: float | None = None
    for_windows: int | None = Field(None, ge=1, le=1000)
    runbook: str | None = None
    role: Literal["symptom", "cause"] | None = Field(None, description="default: by the metric")
    summary: str | None = None

    @field_validator("period", "after", mode="before")
    @classmethod
    def _d(cls, v: object) -> object:
        return None if v is None else _seconds(v)

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        return check_metric(v)

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        t = self.type
        if t == "threshold":
            if (self.above is None) == (self.below is None):
                raise ValueError(f"rule {self.name!r}: a threshold rule takes exactly one of 'above' or 'below'")
            limit = self.above if self.above is not None else self.below
            assert limit is not None
            up = self.above is not None
            if self.clear is not None and (self.clear > limit if up else self.clear < limit):
                raise ValueError(f"rule {self.name!r}: 'clear' ({self.clear}) must be on the good side of the limit "
                                 f"({limit}): {'at or below' if up else 'at or above'} it")
            if self.p0 is not None and (self.p0 < limit if up else self.p0 > limit):
                raise ValueError(f"rule {self.name!r}: 'p0' ({self.p0}) must be beyond the limit ({limit})")
        elif t == "baseline":
            if (self.drop is None) == (self.rise is None):
                raise ValueError(f"rule {self.name!r}: a baseline rule takes exactly one of 'drop' (e.g. 0.1: 10% "
                                 "below its baseline) or 'rise'")
            if self.p0_drop is not None and self.drop is not None and self.p0_drop <= self.drop:
                raise ValueError(f"rule {self.name!r}: 'p0_drop' ({self.p0_drop}) must exceed 'drop' ({self.drop})")
        if self.metric in LABELLED_METRICS and t != "threshold":
            raise ValueError(f"rule {self.name!r}: {self.metric} is judged per {LABELLED_METRICS[self.metric]}, "
                             "against a fixed limit: use type: threshold")
        if t == "absence":
            if self.after is None:
                raise ValueError(f"rule {self.name!r}: an absence rule needs 'after' (e.g. 15m)")
            if self.metric not in ("silence", "freshness", "label_lag"):
                raise ValueError(f"rule {self.name!r}: an absence rule watches 'silence', 'freshness' or "
                                 f"'label_lag', not {self.metric!r}")
        unused = {"threshold": ("drop", "rise", "p0_drop", "after"), "baseline": ("above", "below", "clear", "p0",
                                                                                  "after"),
                  "seasonal": ("above", "below", "clear", "p0", "drop", "rise", "p0_drop", "after"),
                  "absence": ("above", "below", "clear", "p0", "drop", "rise", "p0_drop")}[t]
        for key in unused:
            if getattr(self, key) is not None:
                raise ValueError(f"rule {self.name!r}: {key!r} does not apply to a {t} rule")
        return self


class SLO(_Strict):
    """A service-level objective judged by its error budget: the share of good events (or good minutes, or
    good performance windows) over 30 days must stay at or above ``objective``. Alerts are the SRE
    workbook's multi-window, multi-burn-rate pairs (docs/ALERTING.md, "SLOs and burn rates")."""

    objective: float = Field(gt=0, lt=1)
    threshold: float | None = Field(None, gt=0, description="latency: seconds a request may take; freshness: "
                                                           "seconds the newest event may be old")
    metric: str | None = Field(None, description="quality: the performance metric (roc_auc, accuracy, ...)")
    min: float | None = Field(None, description="quality: the lowest acceptable value of the metric")
    period: float = 30 * 86400.0
    runbook: str | None = None

    @field_validator("threshold", "period", mode="before")
    @classmethod
    def _d(cls, v: object) -> object:
        return None if v is None else _seconds(v)


class SLOs(_Strict):
    latency: SLO | None = None
    error_rate: SLO | None = None
    freshness: SLO | None = None
    quality: SLO | None = None

    @model_validator(mode="after")
    def _needs(self) -> SLOs:
        if self.latency is not None and self.latency.threshold is None:
            raise ValueError("latency: needs 'threshold' (e.g. 1s: a request slower than that is bad)")
        if self.freshness is not None and self.freshness.threshold is None:
            raise ValueError("freshness: needs 'threshold' (e.g. 15m: the newest event may be at most that old)")
        if self.quality is not None and (self.quality.metric is None or self.quality.min is None):
            raise ValueError("quality: needs 'metric' and 'min' (e.g. metric: roc_auc, min: 0.8)")
        return self

    def items(self) -> list[tuple[str, SLO]]:
        return [(k, v) for k in ("latency", "error_rate", "freshness", "quality")
                if (v := getattr(self, k)) is not None]


class AlertsConfig(_Strict):
    """Who hears about this model's incidents. ``webhook`` alone is a complete config."""

    webhook: str | None = Field(None, description="Alertmanager-format webhook for every P0/P1 incident")
    for_windows: int = Field(3, ge=1, le=1000, description="consecutive bad closed windows before an alert fires")
    resolve_windows: int = Field(2, ge=1, le=1000, description="consecutive good closed windows before it resolves")
    group_within: float = Field(3600.0, gt=0, description="an alert joins an open incident of its model that "
                                                         "changed less than this long ago")
    receivers: dict[str, Receiver] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    checks: dict[str, Severity | Literal["off"]] = Field(
        default_factory=dict, description="per check: the alert's severity, or off (default: the finding's)")
    repeat: float = Field(4 * 3600.0, gt=0, description="an unacknowledged P0/P1 incident is sent again this often")

    @field_validator("group_within", "repeat", mode="before")
    @classmethod
    def _d(cls, v: object) -> object:
        return _seconds(v)

    @field_validator("webhook")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    @field_validator("checks", mode="before")
    @classmethod
    def _off(cls, v: object) -> object:
        # YAML 1.1 reads a bare `off` as false: `drift: off` means the word, not a boolean
        return {k: "off" if s is False else s for k, s in v.items()} if isinstance(v, dict) else v

    @field_validator("checks")
    @classmethod
    def _checks(cls, v: dict[str, object]) -> dict[str, object]:
        known = CHECKS + ENGINE_CHECKS
        for name in v:
            if name not in known:
                hint = difflib.get_close_matches(name, known, n=1)
                raise ValueError(f"{name}: unknown check" + (f"; did you mean {hint[0]!r}?" if hint
                                                             else f"; checks: {', '.join(known)}"))
        return v

    @model_validator(mode="after")
    def _wired(self) -> AlertsConfig:
        if self.webhook is not None and DEFAULT_RECEIVER in self.receivers:
            raise ValueError(f"receivers.{DEFAULT_RECEIVER}: the name is taken by 'webhook'; rename the receiver")
        known = self.receiver_names()
        for i, r in enumerate(self.routes):
            if r.receiver not in known:
                hint = difflib.get_close_matches(r.receiver, known, n=1)
                raise ValueError(f"routes[{i}].receiver: no receiver named {r.receiver!r}"
                                 + (f"; did you mean {hint[0]!r}?" if hint else "")
                                 + (f" (receivers: {', '.join(known)})" if known else
                                    " (define it under alerts.receivers, or set alerts.webhook)"))
        names = [r.name for r in self.rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"rules: the name {dup[0]!r} is used twice; rule names identify alerts")
        return self

    def receiver_names(self) -> list[str]:
        return ([DEFAULT_RECEIVER] if self.webhook else []) + list(self.receivers)

    def all_receivers(self) -> dict[str, Receiver]:
        out = dict(self.receivers)
        if self.webhook:
            out[DEFAULT_RECEIVER] = Receiver(webhook=self.webhook)
        return out

    def effective_routes(self) -> list[Route]:
        """The routes as applied: the ones given, then ``webhook``'s own (P0 and P1 to it) unless a given
        route already sends to it."""
        routes = list(self.routes)
        if self.webhook and not any(r.receiver == DEFAULT_RECEIVER for r in routes):
            routes.append(Route(receiver=DEFAULT_RECEIVER))
        return routes

    def receivers_for(self, severity: Severity, team: str | None, owner: str | None) -> list[str]:
        """The receivers an incident of ``severity`` goes to, in order, without repeats."""
        out: list[str] = []
        for r in self.effective_routes():
            if severity not in r.severity or (r.team is not None and r.team != team) or (
                    r.owner is not None and r.owner != owner):
                continue
            if r.receiver not in out:
                out.append(r.receiver)
            if not r.continue_:
                break
        return out
