"""Request and answer shapes, for validation where pydantic fits and for
the OpenAPI document (which the fuzz tests generate requests from)."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from argusml.schema.model_config import AuthConfig
from argusml.sdk.breaker import NAME_PATTERN

NO_AUTH = AuthConfig()
SeverityName = Literal["P0", "P1", "P2"]

Scalar = Union[float, int, str, bool, None]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EventResources(_Doc):
    """What serving one event used: shares from 0 to 1 and bytes."""

    cpu: float | None = Field(None, ge=0, le=1, description="share of the CPUs the serving process may use")
    memory: float | None = Field(None, ge=0, description="bytes of memory the serving process held")
    gpu: float | None = Field(None, ge=0, le=1, description="share of a GPU the request kept busy for its latency")
    gpu_memory: float | None = Field(None, ge=0, description="bytes of GPU memory the serving process held")


class EventIn(_Doc):
    """One prediction. ``prediction`` is a number, a class label, or ``{class: probability}``."""

    id: str = Field(min_length=1, max_length=256)
    timestamp: Union[str, float, None] = Field(None, description="RFC 3339 or epoch seconds; UTC when no zone; "
                                                                 "default: arrival time")
    version: str | None = Field(None, min_length=1, max_length=64)
    features: dict[str, Scalar]
    prediction: Union[float, str, bool, dict[str, float], None] = None
    segment: dict[str, Union[str, int, bool]] | None = None
    latency_ms: float | None = Field(None, ge=0)
    status: int | None = Field(None, ge=100, le=599)
    resources: EventResources | None = None
    stages: dict[str, float] | None = Field(None, max_length=16, description="latency per stage, milliseconds "
                                                                            "({preprocess: 3.1, model: 41.0})")
    fallback: bool | None = Field(None, description="true: the user's fallback answered, not the model; counted, "
                                                    "and kept out of the model's predictions")
    cost: float | None = Field(None, ge=0, description="what serving this event cost, in the model's cost currency")


class LabelIn(_Doc):
    id: str = Field(min_length=1, max_length=256)
    label: Union[float, int, str, bool]
    timestamp: Union[str, float, None] = None
    version: str | None = Field(None, min_length=1, max_length=64)


class Rejection(_Doc):
    index: int
    field: str | None
    error: str


class IngestAnswer(_Doc):
    accepted: int
    duplicates: int = 0
    rejected: list[Rejection]
    warnings: list[Rejection] | None = None
    warnings_omitted: int | None = None


class OutcomeIn(_Doc):
    """A business outcome of a prediction: ``value`` is summed per prediction and name (absent: 1)."""

    id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=64, description="e.g. conversion, revenue")
    value: Union[float, int, bool] = 1
    timestamp: Union[str, float, None] = None
    version: str | None = Field(None, min_length=1, max_length=64)


class LabelAnswer(_Doc):
    accepted: int = Field(description="labels stored (a correction counts; a repeat of the stored label does not)")
    duplicates: int = Field(0, description="labels equal to the one already stored for that id: not stored again")
    corrected: int = Field(0, description="labels that replace an earlier, different label of the same id")
    joined: int
    pending: int
    rejected: list[Rejection]


class OutcomeAnswer(_Doc):
    accepted: int
    duplicates: int = Field(0, description="outcomes identical to a stored one (id, version, name, value, time)")
    joined: int
    pending: int
    rejected: list[Rejection]


class ErrorBody(_Doc):
    error: str
    detail: Any = None
    request_id: str | None = None


class AllRejected(ErrorBody, IngestAnswer):
    """422 from an ingest route: every item of the batch was rejected, each with its index and reason."""


class RegisterIn(_Doc):
    config: dict[str, Any] = Field(description="the model's YAML config as JSON, without 'reference'")
    baseline: dict[str, Any] | list[dict[str, Any]] | None = Field(
        None, description="the baseline JSON written by `argus baseline`; for a kind: llm model, a list of past LLM "
                          "events to learn it from, or nothing (it learns from its first windows)")


BreakerState = Literal["closed", "half_open", "open"]


class ResourcesIn(_Doc):
    instance: str = Field(min_length=1, max_length=128, description="host or replica name (bounded set)")
    values: dict[str, float] = Field(default_factory=dict,
                                     description="e.g. cpu_ratio, memory_bytes, gpu_utilization_ratio")
    breakers: dict[str, BreakerState] | None = Field(None, description="the state of each circuit breaker of the "
                                                     "reporting instance, by name (at most 32)")

    @field_validator("breakers")
    @classmethod
    def _few_breakers(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        if len(v) > 32:
            raise ValueError(f"at most 32 breakers per report, not {len(v)}: share a breaker between calls to one model")
        for k in v:
            if not NAME_PATTERN.match(k):
                raise ValueError(f"breaker name {k!r} must be 1 to 64 letters, digits, '_', '.', ':' or '-'")
        return v

    @field_validator("values")
    @classmethod
    def _bounded(cls, v: dict[str, float]) -> dict[str, float]:
        import math
        import re

        if len(v) > 32:
            raise ValueError("at most 32 resources per report")
        for k, x in v.items():
            if not re.match(r"^[a-z][a-z0-9_]{0,63}$", k):
                raise ValueError(f"resource name {k!r} must be snake_case (a-z, 0-9, _)")
            if not math.isfinite(x):
                raise ValueError(f"{k}: value must be finite")
        return v


INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestAnswer, "description": "accepted events are durable"},
    400: {"model": ErrorBody, "description": "the body is not JSON / NDJSON"},
    404: {"model": ErrorBody, "description": "unknown model; register it first"},
    413: {"model": ErrorBody, "description": "body or batch too large"},
    415: {"model": ErrorBody, "description": "unsupported content type"},
    422: {"model": AllRejected, "description": "every item was rejected"},
    429: {"model": ErrorBody, "description": "ingestion is behind; retry after Retry-After seconds"},
    503: {"model": ErrorBody, "description": "the store failed; retry"},
}


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAPI requestBody: a JSON list of ``model`` or NDJSON lines of it."""
    name = model.__name__
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    }}}


# -- answers of the GET routes ------------------------------------------------------------------------------
# Documentation of what the routes already answer (they build their JSON themselves): each field listed is
# always there, typed as sent. More fields may be added, so the models allow extra keys and clients should
# ignore keys they do not know. Nested objects whose keys depend on the model (columns, metrics, evidence)
# are plain objects here; docs/SERVICE.md describes them.
class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(_Answer):
    state: Literal["ok", "warning", "incident"] = Field(description="incident: an open incident; warning: an alert "
                                                                   "pending or firing, or a version's newest window "
                                                                   "with status error, drift or warning; else ok")
    since: str | None = Field(description="RFC 3339: when this state began (ok: when the model was last not ok; "
                                          "null: never)")
    why: str = Field(description="the incident's title, the alerts and windows behind a warning, or that all is quiet")


class IncidentCounts(_Answer):
    P0: int
    P1: int
    P2: int


class ModelSummary(_Answer):
    model: str
    owner: str | None
    team: str | None
    description: str | None
    window: float = Field(description="window length, seconds")
    versions: list[str] = Field(description="versions seen in events")
    events_total: int
    source: Literal["config", "api"] = Field(description="config: from a YAML of --config; api: registered by PUT")
    health: Health
    incidents: IncidentCounts = Field(description="open incidents (acknowledged included) per severity")
    slo_budget_left: float | None = Field(description="the smallest error-budget share left over the model's SLOs "
                                                      "(1 untouched, below 0 overspent); null: no SLO or no data")
    last_event_at: str | None = Field(description="RFC 3339 time of the newest event")
    last_event_age_s: float | None = Field(description="seconds since the newest event's time")
    label_coverage: float | None = Field(description="labelled share of the newest performance window's "
                                                     "predictions")


class ModelList(_Answer):
    models: list[ModelSummary] = Field(description="the models the token may read that match the filters, sorted, "
                                                   "one page")
    total: int = Field(description="models matching the filters, before paging")
    limit: int
    offset: int
    teams: list[str] = Field(description="every team among the models the token may read (the team filter's "
                                         "choices), whatever the filters and the page")
    owners: list[str] = Field(description="every owner among the models the token may read")


class FeatureDrift(_Answer):
    status: str = Field(description="drifted, stable, insufficient_data or not_tested")
    drifted: bool
    method: str | None
    p_adjusted: float | None
    value: float | None = Field(description="the effect size")
    effect: str | None = Field(description="the effect size's method")
    scores: dict[str, float]


class FeatureFinding(_Answer):
    check: str
    severity: SeverityName
    message: str


class FeatureOut(_Answer):
    name: str
    kind: str
    role: str
    missing_ratio: float | None
    reference_missing_ratio: float | None
    drift: FeatureDrift | None = Field(description="null: not drift-tested in that window")
    findings: list[FeatureFinding]


class WindowSpan(_Answer):
    start: str
    end: str


class FeatureList(_Answer):
    model: str
    version: str | None
    segment: str
    window: WindowSpan | None = Field(description="the window read; null: no closed window yet")
    features: list[FeatureOut] = Field(description="drifted first, then by adjusted p-value, then by name")


class FeaturePoint(_Answer):
    start: str
    end: str
    drifted: bool
    method: str | None
    p_adjusted: float | None
    value: float | None
    missing_ratio: float | None


class FeatureDetail(_Answer):
    model: str
    feature: str
    kind: str
    version: str | None
    segment: str
    window: WindowSpan | None
    distribution: dict[str, Any] | None = Field(description="the report's chart data: numeric (type, edges, "
                                                            "reference, current, below, above) or categorical (type, "
                                                            "categories, reference, current, other)")
    history: list[FeaturePoint] = Field(description="the feature in each window, oldest first, at most 500")


class OpsPoint(_Answer):
    start: str
    version: str
    requests: int
    errors: int = Field(description="events with status 500 or more")
    error_rate: float | None
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p99_ms: float | None
    fallback: int


class CheckPoint(_Answer):
    start: str
    end: str
    version: str
    segment: str
    status: str
    n_rows: int
    n_drifted: int
    drifted_columns: list[str]
    findings_by_severity: dict[str, int]
    max_missing_ratio: float | None


class Timeseries(_Answer):
    model: str
    step: float = Field(description="seconds per point: the model's window")
    ops: list[OpsPoint] = Field(description="per window and version by event time, oldest first")
    checks: list[CheckPoint] = Field(description="the closed windows, oldest first")


class ReferenceInfo(_Answer):
    created_at: str | None
    fingerprint: str
    columns: int
    rows: int


class ModelDetail(_Answer):
    model: str
    config: dict[str, Any] = Field(description="the model's configuration, every default filled in")
    references: dict[str, ReferenceInfo] = Field(description="per version ('*': the model's own reference)")


class ConfigChange(_Answer):
    what: str = Field(description="model, check, rule, slo, routing, receiver, threshold or versions")
    key: str = Field(description="the YAML key, e.g. rules[p99].above or alerts.checks.drift")
    old: Any = None
    new: Any = None
    effect: str = Field(description="what the change does, e.g. 'fires earlier', 'pages more'")


class ConfigVersion(_Answer):
    version: int
    sha256: str = Field(description="SHA-256 of the config's canonical JSON")
    author: str = Field(description="the token's name over HTTP; for a YAML, $ARGUS_CONFIG_AUTHOR or the OS user")
    source: str = Field(description="the YAML's path, or 'http'")
    recorded_at: str = Field(description="RFC 3339, UTC")
    config: dict[str, Any] = Field(description="the effective config (templates applied, defaults filled)")
    changes: list[ConfigChange] | None = Field(description="what it changed in what alerts against the version "
                                                           "before it; null for the first")


class ConfigHistory(_Answer):
    model: str
    history: list[ConfigVersion] = Field(description="newest first")


class FindingKey(_Answer):
    segment: str
    granularity: float = Field(description="window length, seconds")
    window_start: str = Field(description="RFC 3339, UTC")


class FindingOut(_Answer):
    check: str
    column: str | None
    severity: SeverityName
    message: str
    evidence: dict[str, Any] = Field(description="the numbers behind the message; keys depend on the check")
    version: str
    segment: str = Field(description="'*' for all traffic, else key=value")
    granularity: float = Field(description="window length, seconds")
    window_start: str = Field(description="RFC 3339, UTC")
    window_end: str = Field(description="RFC 3339, UTC")
    created_at: str = Field(description="RFC 3339, UTC")
    repeats: FindingKey | None = Field(None, description="the root finding this one restates (a segment's or "
                                                         "roll-up's repeat); null for a finding of its own")
    repeated: int | None = Field(None, description="how many findings restate this one (lists without linked=true)")


class FindingList(_Answer):
    findings: list[FindingOut] = Field(description="newest window first")


class WindowOut(_Answer):
    version: str
    segment: str = Field(description="'*' for all traffic, else key=value")
    granularity: float = Field(description="window length, seconds")
    closed: bool
    n_rows: int
    late: int = Field(description="events that arrived after the window's end, within the lateness")
    verdict: dict[str, Any] | None = Field(description="status, drifted columns, per-column results; null while "
                                                       "the window is open")
    start: str = Field(description="RFC 3339, UTC")
    end: str = Field(description="RFC 3339, UTC")
    closed_at: str | None = Field(description="RFC 3339, UTC; null while open")


class WindowList(_Answer):
    windows: list[WindowOut] = Field(description="newest first")


class LatestWindow(_Answer):
    version: str
    segment: str
    n_rows: int
    verdict: dict[str, Any] | None
    start: str = Field(description="RFC 3339, UTC")
    end: str = Field(description="RFC 3339, UTC")


class StatusAdvice(_Answer):
    decision: str | None = Field(description="the advice's decision (GET /v1/models/{model}/advice); null when "
                                             "advice failed")
    at: float = Field(description="when it was computed, epoch seconds")
    version: str | None = None
    summary: str | None = None
    error: str | None = None


class BaselineStatus(_Answer):
    state: Literal["learning", "learned"]
    events: int = Field(description="events learned from, or seen so far while learning")
    min_events: int | None = Field(None, description="learning: the events the baseline needs at least")
    windows: int | None = Field(None, description="learning: the windows it learns from")
    since: float | None = Field(None, description="learning: start of the first window with events (epoch s)")
    ends_at: float | None = Field(None, description="learning: when the learning windows close (epoch s); null "
                                                    "while they hold fewer than min_events")
    created_at: str | None = Field(None, description="learned: when")
    source: str | None = Field(None, description="learned: from what")


class StatusAnswer(_Answer):
    model: str
    owner: str | None
    kind: Literal["tabular", "llm"] = "tabular"
    baseline: BaselineStatus | None = Field(None, description="a kind: llm model's baseline (docs/LLM.md)")
    events_total: int
    labels_total: int
    labels_joined: int
    labels_pending: int
    labels_expired: int
    label_duplicates: int
    label_corrections: int
    outcomes_total: int
    outcomes_joined: int
    outcomes_pending: int
    outcomes_expired: int
    duplicates_total: int
    rejected_total: int
    too_late_total: int
    versions: list[str]
    window: float = Field(description="window length, seconds")
    open_windows: int
    open_window_rows: int
    latest_windows: list[LatestWindow] = Field(description="the newest closed window per version, all traffic")
    segments: list[str] = Field(description="the segments ('key=value') with a closed window of the model's "
                                            "window length, any version")
    open_findings: list[FindingOut] = Field(description="the findings of those windows")
    last_event_timestamp: str | None = Field(description="RFC 3339, UTC; null before the first event")
    performance: dict[str, dict[str, Any]] = Field(description="per version: the latest performance window and "
                                                               "the latest one with enough labels to judge")
    operations: dict[str, dict[str, Any]] = Field(description="per version: fallback_events, cost_total, and "
                                                              "last_window (fallback_ratio, cost_per_prediction, "
                                                              "stage_latency_p50/p99.<stage>, resource.<name>)")
    advice: StatusAdvice
    health: Health


class PerformanceOut(_Answer):
    version: str
    segment: str
    granularity: float = Field(description="window length, seconds")
    predictions: int
    labels: int
    lag_p50: float | None = Field(description="label lag (seconds after the prediction), median")
    lag_p90: float | None
    status: str = Field(description="ok, degraded, insufficient_data, no_target, no_baseline, ...")
    start: str = Field(description="RFC 3339, UTC")
    end: str = Field(description="RFC 3339, UTC")
    updated_at: str | None = Field(description="RFC 3339, UTC")
    label_coverage: float | None = Field(description="labels / predictions; null without predictions")
    segment_verdict: dict[str, Any] | None = Field(description="a segment window against its own baseline")
    metrics: dict[str, Any] = Field(description="per metric: value, low, high, n, interval")
    outcomes: dict[str, Any] | None = Field(description="business outcomes summed per name")
    estimated: dict[str, Any] | None = Field(description="label-free estimates (CBPE) of the metrics")


class PerformanceList(_Answer):
    performance: list[PerformanceOut] = Field(description="newest window first")


class CompareVerdict(_Answer):
    decision: str = Field(description="promote, wait or rollback")
    reasons: list[str]
    labels_needed: int | None
    evidence: dict[str, Any]


class CompareAnswer(_Answer):
    model: str
    champion: str
    challenger: str
    task: str = Field(description="binary, multiclass or regression")
    metric: str = Field(description="the metric the verdict watches")
    mode: str = Field(description="paired (shadow traffic), unpaired (split) or mixed")
    analysis: str = Field(description="paired or unpaired: how the differences were computed")
    matched: int = Field(description="predictions of both versions for the same id")
    labels: dict[str, int]
    versions: dict[str, dict[str, Any]] = Field(description="per version: labels, metrics, events, errors")
    differences: dict[str, dict[str, Any]] = Field(description="per metric: challenger minus champion, interval, test")
    paired_test: dict[str, Any] | None
    operational: dict[str, dict[str, Any] | None] = Field(description="error_rate, latency_p50, latency_p95")
    verdict: CompareVerdict
    labels_needed: int | None
    settings: dict[str, Any]
    since: str | None = Field(description="as given in the query")
    until: str | None = Field(description="as given in the query")


class AdviceAnswer(_Answer):
    model: str
    decision: str = Field(description="fail_open, scale_or_restart, rollback, fix_data, disable_feature, retrain, "
                                      "investigate, wait or no_action: the most pressing version's")
    summary: str
    version: str | None = Field(None, description="the version the decision is about; absent without traffic")
    versions: dict[str, dict[str, Any]] = Field(description="per version: decision, summary, reasons, actions, "
                                                            "evidence")
