"""What `argus serve` is told about each model it watches.

One YAML per model (``DIR/<name>.yaml``) or the same document over HTTP
(``PUT /v1/models/{model}``). Like the report config, unknown keys are
errors that suggest the nearest known key, and every bound the service
keeps (dedup horizon, label horizon, segment values, versions) is a setting
here, so memory and label sets stay bounded by configuration, not by luck.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from argusml.schema.alerts import AlertsConfig, SLOs
from argusml.schema.calendar import CalendarEvent
from argusml.schema.config import ReportConfig, explain_validation_error
from argusml.schema.dependencies import Dependency, unique_names
from argusml.schema.digest import DIGEST_RECEIVER, DigestSettings, digest_receiver
from argusml.schema.errors import ConfigError
from argusml.schema.templates import load_with_templates, source_label

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Model names appear in URLs, file names and Prometheus labels: keep them plain."""


def parse_duration(value: Any) -> float:
    """``"5m"`` -> 300.0; plain numbers are seconds. Raises ValueError with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"not a duration: {value!r} (use a number and a unit: 30s, 5m, 1h, 7d, 2w)")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration_field(*names: str):  # type: ignore[no-untyped-def]
    return field_validator(*names, mode="before")(lambda cls, v: None if v is None else parse_duration(v))


PII_DETECTORS = ("email", "iban", "national_id", "card", "ip", "phone", "name")  # argusml.privacy.pii.DETECTORS
PiiDetector = Literal["email", "iban", "national_id", "card", "ip", "phone", "name"]


class PiiRule(_Strict):
    """Free text scanned for PII before it is stored (docs/PRIVACY.md).

    ``fields`` are ``features.<name>`` or ``segment.<name>`` paths, or ``"strings"`` for every string
    feature (segments are category keys, so they are named one by one). What is done with a value that
    holds PII: ``mask`` replaces each value found by its kind (``[EMAIL]``), ``hash`` by its kind and
    an HMAC token of the value (equal values, equal tokens: joins and distinct counts still work),
    ``drop`` removes the whole field. ``stats`` keeps, for every value scanned, only its length, word
    count and the number of values of each kind it held: no text at all.
    """

    fields: list[str] | Literal["strings"]
    action: Literal["mask", "hash", "drop", "stats"] = "mask"
    detectors: list[PiiDetector] = Field(default_factory=lambda: list(PII_DETECTORS))

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: list[str] | str) -> list[str] | str:
        if isinstance(v, list):
            if not v:
                raise ValueError("pii.fields is empty: name the fields to scan, or 'strings' for every string feature")
            for p in v:
                if not re.match(r"^(features|segment)\.[^.]+$", p):
                    raise ValueError(f"pii field path {p!r} must be 'features.<name>' or 'segment.<name>' (the id is "
                                     "hashed with privacy.hash, not scanned)")
        return v

    @field_validator("detectors")
    @classmethod
    def _detectors(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError(f"pii.detectors is empty: leave it out for all of {', '.join(PII_DETECTORS)}")
        if len(set(v)) != len(v):
            raise ValueError(f"pii.detectors names a detector twice: {v}")
        return v

    @model_validator(mode="after")
    def _segment_stats(self) -> PiiRule:
        if self.action == "stats" and isinstance(self.fields, list) and any(p.startswith("segment.") for p in self.fields):
            raise ValueError("pii action 'stats' applies to features only: a segment value keys its windows, so it "
                             "must stay a string (use mask, hash or drop for segment.<name>)")
        return self


class PrivacyRules(_Strict):
    """Applied to every event and label before anything is stored.

    Field paths are ``id``, ``features.<name>`` or ``segment.<name>``.
    ``hash`` replaces a value by HMAC-SHA256 (hex, first 32 characters) under
    the key in the environment variable ``hmac_key_env``: the same input
    gives the same token, so joins and distinct counts still work, but the
    value cannot be recovered without the key. ``mask`` keeps the type
    (strings become ``"***"``, numbers null) so the schema stays intact.
    """

    drop: list[str] = Field(default_factory=list)
    mask: list[str] = Field(default_factory=list)
    hash: list[str] = Field(default_factory=list)
    hmac_key_env: str = "ARGUS_HMAC_KEY"
    pii: PiiRule | None = Field(None, description="free text scanned for PII before it is stored (absent: none)")

    @property
    def needs_key(self) -> bool:
        """Whether a rule hashes, so the HMAC key must be in the environment."""
        return bool(self.hash) or (self.pii is not None and self.pii.action == "hash")

    @field_validator("drop", "mask", "hash")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        for p in v:
            if p != "id" and not re.match(r"^(features|segment)\.[^.]+$", p):
                raise ValueError(f"field path {p!r} must be 'id', 'features.<name>' or 'segment.<name>'")
        return v

    @model_validator(mode="after")
    def _disjoint(self) -> PrivacyRules:
        seen: dict[str, str] = {}
        for rule in ("drop", "mask", "hash"):
            for p in getattr(self, rule):
                if p in seen:
                    raise ValueError(f"field {p!r} is in both {seen[p]!r} and {rule!r}: pick one")
                seen[p] = rule
        if self.pii is not None and isinstance(self.pii.fields, list):
            for p in self.pii.fields:
                if p in seen:
                    raise ValueError(f"field {p!r} is in both {seen[p]!r} and 'pii': the {seen[p]} rule already "
                                     "removes the value, so there is nothing left to scan")
        if "id" in self.drop or "id" in self.mask:
            raise ValueError("'id' can only be hashed: events need an id for idempotency and label joins")
        return self


class Retention(_Strict):
    """How long rows are kept. Window profiles and findings are small and
    kept for ``profiles``; raw events are the bulky part."""

    raw_events: float = 7 * 86400
    predictions: float = 30 * 86400
    labels: float = 90 * 86400
    profiles: float = 400 * 86400
    _d = _duration_field("raw_events", "predictions", "labels", "profiles")


class Dedup(_Strict):
    """Idempotency of events by (model, version, id): a retried batch is not
    counted twice within ``horizon``; at most ``max_keys`` keys are kept
    (8 bytes each: 16 MB by default), the oldest forgotten first. Clients
    retry within seconds to minutes; 2M keys are 100 s of traffic at
    20,000 events/s and hours at typical rates."""

    horizon: float = 900.0
    max_keys: int = Field(2_000_000, ge=1000)
    _d = _duration_field("horizon")


class Labels(_Strict):
    """A label whose prediction is not known waits ``horizon``, then it is
    counted as expired (never dropped silently)."""

    horizon: float = 14 * 86400
    _d = _duration_field("horizon")


class PerformanceSettings(_Strict):
    """How model quality is judged once labels arrive (docs/PERFORMANCE.md).

    A window's drop is a finding only when its whole 95% interval lies
    beyond the baseline moved by ``tolerance`` (relative) and it has at
    least ``min_labels`` labels. The baseline is the reference's own
    performance (stored in the baseline file) or the ``trailing`` period
    before the window's UTC day."""

    threshold: float | None = Field(None, gt=0, lt=1, description="decision threshold of a binary model "
                                                                  "(default: the baseline's, else 0.5)")
    tolerance: float = Field(0.05, ge=0, le=1)
    min_labels: int = Field(100, ge=1)
    min_support: int = Field(50, ge=1, description="segments with fewer labels are not ranked")
    alpha: float = Field(0.05, gt=0, lt=1)
    baseline: Literal["reference", "trailing"] = "reference"
    trailing: float = Field(30 * 86400, description="length of the trailing baseline period")
    outcome_windows: int = Field(2, ge=1, le=100, description="consecutive windows a business outcome must be "
                                                              "credibly below its baseline for an outcome_drop")
    report: float | None = Field(None, description="window length /status and /metrics show (default: 1h when "
                                                   "the model has hourly windows, else its window)")
    watched: list[str] | None = Field(None, description="metrics whose drop is a finding (default per task)")
    _d = _duration_field("trailing", "report")


class CompareSettings(_Strict):
    """How a champion and a challenger version are judged (``GET /v1/models/{model}/compare``;
    docs/PERFORMANCE.md, "Champion / challenger").

    ``min_difference`` and ``margin`` are relative to the champion's value of
    ``metric``, as ``performance.tolerance`` is: one setting then fits ROC AUC
    and an MAE in dollars alike. The challenger is promoted when it is shown
    better, or not worse by more than ``margin`` (non-inferiority); rolled
    back when it is shown worse by more than ``margin``, or its error rate
    or p95 latency is shown above the limits; otherwise the verdict waits,
    and says how many labels a difference of ``min_difference`` needs at
    ``alpha`` and ``power``."""

    metric: Literal["roc_auc", "accuracy", "mae", "rmse"] | None = Field(
        None, description="the metric the verdict watches (default: roc_auc binary, accuracy multiclass, mae "
                          "regression)")
    min_difference: float = Field(0.02, gt=0, lt=1, description="smallest difference worth detecting, relative "
                                                                 "to the champion's value (sizes the labels needed)")
    margin: float = Field(0.01, ge=0, lt=1, description="non-inferiority margin, relative to the champion's value")
    alpha: float = Field(0.05, gt=0, lt=1, description="two-sided; intervals are 1 - alpha")
    power: float = Field(0.8, gt=0, lt=1)
    min_labels: int = Field(100, ge=1, description="labels (pairs, in shadow mode) per version before a metric "
                                                   "verdict")
    max_latency_increase: float = Field(0.2, ge=0, description="allowed rise of the p95 latency, relative "
                                                               "(0.2: the challenger's may be 1.2x the champion's)")
    max_error_rate_increase: float = Field(0.01, ge=0, le=1, description="allowed rise of the error rate (share "
                                                                          "of events with a status outside 2xx), "
                                                                          "absolute")


class AdviceSettings(_Strict):
    """What `argus advise` and ``/status`` weigh (docs/PERFORMANCE.md, "Retraining advice").

    Without costs a credible drop with enough labels to retrain on says
    "retrain". With ``error_cost`` (the cost of one more wrong prediction, or
    of one unit more MAE per prediction) and ``retrain_cost`` (same currency),
    it says so only when keeping the model over ``horizon`` costs more."""

    lookback: float = Field(7 * 86400, description="how far back drift, drops and findings are read")
    min_retrain_labels: int = Field(1000, ge=1, description="labelled predictions a retrain window needs")
    retrain_cost: float | None = Field(None, ge=0, description="cost of one retrain")
    error_cost: float | None = Field(None, ge=0, description="cost of one more wrong prediction (accuracy) or one "
                                                            "unit of absolute error (MAE), same currency")
    horizon: float = Field(30 * 86400, gt=0, description="how long a model kept as it is would serve")

    _d = _duration_field("lookback", "horizon")


class CostSettings(_Strict):
    """What serving one prediction costs (docs/OPERATIONS.md, "Cost").

    An event's own ``cost`` wins. Otherwise the components configured here add up, each where the event
    carries what it needs: ``per_prediction`` for every event the model answered; ``per_1k_tokens`` times
    the sum of the ``tokens`` features (token counts the events carry as features) over 1000;
    ``per_gpu_hour`` times the GPU time, ``resources.gpu`` (the share of a GPU the request used) times
    ``latency_ms``. ``per_1k_input_tokens`` and ``per_1k_output_tokens`` price the two directions apart, as
    LLM providers bill them: an LLM event's ``llm.input_tokens`` and ``llm.output_tokens`` (a tabular
    event's features of those names). An event answered by the fallback (``fallback: true``) did not call
    the model: it costs only what it says it cost. Budgets become alert rules (``cost_budget``,
    ``cost_budget_tenant``, ``cost_budget_tokens``)."""

    per_prediction: float | None = Field(None, ge=0, description="cost of one prediction the model answers")
    per_1k_tokens: float | None = Field(None, ge=0, description="cost of 1000 tokens (needs 'tokens')")
    tokens: list[str] = Field(default_factory=list, description="features holding an event's token counts "
                                                                "(summed), for per_1k_tokens")
    per_1k_input_tokens: float | None = Field(None, ge=0, description="cost of 1000 input (prompt) tokens: "
                                                                      "llm.input_tokens, or the feature input_tokens")
    per_1k_output_tokens: float | None = Field(None, ge=0, description="cost of 1000 output (completion) tokens: "
                                                                       "llm.output_tokens, or the feature "
                                                                       "output_tokens")
    max_tenants: int = Field(50, ge=1, le=10_000, description="tenants a model keeps apart (LLM events' "
                                                              "llm.tenant); later ones count as __other__")
    per_gpu_hour: float | None = Field(None, ge=0, description="cost of one GPU for one hour")
    currency: str = Field("USD", pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code every cost is in")
    budget_per_day: float | None = Field(None, gt=0, description="the model's spend per UTC day (all versions) "
                                                                  "above which the cost_budget rule fires")
    budget_per_prediction: float | None = Field(None, gt=0, description="cost per prediction over a window above "
                                                                         "which cost_budget_per_prediction fires")
    budget_per_tenant_per_day: float | None = Field(None, gt=0, description="a tenant's spend per UTC day (all "
                                                                             "versions) above which the "
                                                                             "cost_budget_tenant rule fires for it")
    budget_tokens_per_day: float | None = Field(None, gt=0, description="the model's input and output tokens per UTC "
                                                                         "day above which cost_budget_tokens fires")
    budget_severity: Literal["P0", "P1", "P2"] = Field("P1", description="severity of the budget rules")

    @model_validator(mode="after")
    def _tokens(self) -> CostSettings:
        if self.per_1k_tokens is not None and not self.tokens:
            raise ValueError("per_1k_tokens needs 'tokens': the features that hold each event's token counts "
                             "(e.g. tokens: [prompt_tokens, completion_tokens])")
        if self.tokens and self.per_1k_tokens is None:
            raise ValueError("tokens is only read for per_1k_tokens: set per_1k_tokens, or remove tokens")
        apart = (self.per_1k_input_tokens is not None, self.per_1k_output_tokens is not None)
        if apart[0] != apart[1]:
            given, missing = ("per_1k_input_tokens", "per_1k_output_tokens")[::1 if apart[0] else -1]
            raise ValueError(f"{given} needs {missing} too: providers bill input and output tokens apart (set "
                             f"{missing}: 0 if those tokens are free)")
        if apart[0] and self.per_1k_tokens is not None:
            raise ValueError("per_1k_tokens and per_1k_input_tokens/per_1k_output_tokens would price the same "
                             "tokens twice: keep per_1k_input_tokens and per_1k_output_tokens (input and output "
                             "priced apart), or per_1k_tokens with tokens")
        return self


class VersionSettings(_Strict):
    """What is known about one model version before its traffic arrives: its own baseline, and whether it
    is expected to serve. Once any version is pinned ``expected: true``, traffic from a version that is not
    is an alert (``unexpected_version``, a likely cause of whatever else moved)."""

    reference: str | None = Field(None, description="the version's baseline JSON from `argus baseline`, relative "
                                                    "to the YAML")
    expected: bool | None = Field(None, description="true: this version may serve; false: it must not")


class ProvisionalSettings(_Strict):
    """Early looks at a window still open (docs/CHECKS.md, "Provisional checks").

    A window's verdict is final only at its end plus the lateness (7 minutes
    with the defaults). Once the open whole-traffic window holds ``min_rows``
    rows its checks run on what it holds, at most every ``every`` and only when
    it grew; the verdict is marked provisional until the close replaces it.
    Each window gets at most ceil((window + lateness) / every) looks, and
    each look tests at ``checks.drift.alpha`` divided by that number
    (Bonferroni over the looks), so however often it looks, a stable window
    raises a provisional drift with probability at most ``alpha``."""

    enabled: bool = True
    min_rows: int | None = Field(None, ge=2, description="rows the open window needs before its first look "
                                                         "(default: checks.drift.min_rows)")
    every: float = Field(30.0, ge=1, description="least time between two looks at one window")
    _d = _duration_field("every")


class LLMBaseline(_Strict):
    """Where an LLM model's baseline comes from (docs/LLM.md, "The baseline"). An LLM model has no training
    table to profile: its "normal" is its own traffic. Without ``file`` the first ``windows`` windows
    that hold events are the baseline, once they hold at least ``min_events`` events (until then the
    learning goes on, window by window, and nothing is checked); with ``file`` (a JSON list or NDJSON of
    past LLM events, relative to the YAML) the baseline is that traffic, from the first event on."""

    windows: int = Field(12, ge=1, le=10_000, description="windows of traffic the baseline is learned from")
    min_events: int = Field(200, ge=10, description="events the baseline needs at least")
    file: str | None = Field(None, description="past LLM events (JSON list or NDJSON) to learn the baseline from")


class JudgeSettings(_Strict):
    """A judge of an LLM model's answers (docs/LLM.md, "Judges"): run on a sample chosen by the hash of the
    event id, its scores aggregated per window with intervals and compared with the baseline's."""

    function: str = Field("default", description="default: the offline lexical judge (grounding and relevance); "
                                                 "or 'package.module:name', a function of the llm object that "
                                                 "returns a score in [0, 1] (or a Verdict), or a judge object")
    rate: float | None = Field(None, gt=0, le=1, description="share of events judged (default: all for the "
                                                             "offline judge, 0.05 for a function of yours)")
    max_per_window: int = Field(200, ge=1, description="judge calls per window at most")
    timeout: float = Field(10.0, gt=0, description="a call slower than this counts as an error")
    threshold: float = Field(0.5, ge=0, le=1, description="the score at which an answer passes")
    salt: str = Field("", description="a new salt draws a new sample")
    _d = _duration_field("timeout")

    @field_validator("function")
    @classmethod
    def _function(cls, v: str) -> str:
        if v != "default" and not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", v):
            raise ValueError(f"judge.function {v!r} must be 'default' or 'package.module:name'")
        return v

    @property
    def sample_rate(self) -> float:
        return self.rate if self.rate is not None else (1.0 if self.function == "default" else 0.05)


class LLMSettings(_Strict):
    """How a ``kind: llm`` model reads its events (docs/LLM.md)."""

    text: Literal["stats", "masked", "raw"] = Field(
        "stats", description="what is stored of prompts, responses and documents: stats (derived statistics, "
                             "ids, scores and embeddings only), masked (the texts with PII masked), raw")
    no_answer_below: float | None = Field(None, description="a best retrieval score below this means the index "
                                                            "had no answer (the no_answer column)")
    baseline: LLMBaseline = LLMBaseline()
    judge: JudgeSettings | None = Field(JudgeSettings(), description="the judge of the answers (null: none)")
    session_timeout: float | None = Field(None, description="a session with no turn for this long has ended "
                                                            "(abandoned when its last answer failed); at most "
                                                            "the lateness, which is the default")
    _d = _duration_field("session_timeout")


class ModelConfig(_Strict):
    model: str
    kind: Literal["tabular", "llm"] = Field("tabular", description="llm: events carry an llm object (prompt, "
                                                                    "response, context, ...), docs/LLM.md")
    llm: LLMSettings | None = Field(None, description="settings of a kind: llm model")
    owner: str | None = None
    team: str | None = Field(None, description="the team that owns the model: routes match on it")
    description: str | None = None
    reference: str | None = Field(None, description="baseline JSON from `argus baseline`, relative to this file")
    window: float = Field(300.0, description="length of the tumbling windows (UTC aligned)")
    lateness: float = Field(120.0, description="how long after its end a window accepts late events")
    future_skew: float = Field(300.0, description="events this far ahead of the server clock are rejected")
    segments: list[str] = Field(default_factory=list, description="segment keys (from `segment`, else `features`)")
    max_segment_values: int = Field(50, ge=1, le=10_000)
    max_versions: int = Field(50, ge=1, le=10_000)
    on_schema_violation: Literal["record", "reject"] = Field(
        "record", description="record: keep the event, count the value as a type error (a finding); reject it")
    positive_class: str | None = Field(None, description="class whose probability is the score of a binary model")
    privacy: PrivacyRules = PrivacyRules()
    retention: Retention = Retention()
    dedup: Dedup = Dedup()
    labels: Labels = Labels()
    performance: PerformanceSettings = PerformanceSettings()
    compare: CompareSettings = CompareSettings()
    advice: AdviceSettings = AdviceSettings()
    provisional: ProvisionalSettings = ProvisionalSettings()
    checks: ReportConfig = ReportConfig()
    versions: dict[str, VersionSettings] = Field(
        default_factory=dict, description="per-version references; a version without one is judged against the "
                                          "model's reference, its prediction against the previous version's traffic")
    alerts: AlertsConfig = AlertsConfig()
    slos: SLOs = SLOs()
    cost: CostSettings | None = Field(None, description="what a prediction costs, and budgets (docs/OPERATIONS.md)")
    runbooks: dict[str, str] = Field(default_factory=dict, description="per alert name: a runbook URL that "
                                                                       "replaces the one Argus ships")
    digest: DigestSettings | None = Field(None, description="the weekly owner report by e-mail (absent: none)")
    dependencies: list[Dependency] = Field(default_factory=list, description="what the model needs besides itself "
                                                                             "(docs/DEPENDENCIES.md): probed, and "
                                                                             "a cause when down")
    calendar: list[CalendarEvent] = Field(default_factory=list, description="holidays and one-offs: advice says "
                                                                            "wait when drift or a drop began in one")
    _d = _duration_field("window", "lateness", "future_skew")

    @property
    def expected_versions(self) -> set[str] | None:
        """The versions pinned ``expected: true`` (None when none is: then any version may serve)."""
        pinned = {v for v, s in self.versions.items() if s.expected}
        return pinned or None

    @field_validator("dependencies")
    @classmethod
    def _dependency_names(cls, v: list[Dependency]) -> list[Dependency]:
        return unique_names(v)

    @field_validator("versions")
    @classmethod
    def _version_names(cls, v: dict[str, VersionSettings]) -> dict[str, VersionSettings]:
        for name in v:
            if not 1 <= len(name) <= 64:
                raise ValueError(f"version {name!r} must have 1 to 64 characters")
        return v

    @property
    def provisional_looks(self) -> int:
        """Looks planned per window: its alpha is spent over this many (Bonferroni)."""
        return max(1, math.ceil((self.window + self.lateness) / self.provisional.every))

    @property
    def provisional_min_rows(self) -> int:
        return self.provisional.min_rows if self.provisional.min_rows is not None else self.checks.drift.min_rows

    @field_validator("model")
    @classmethod
    def _name(cls, v: str) -> str:
        if not MODEL_NAME.match(v):
            raise ValueError(f"model name {v!r} must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit")
        return v

    @model_validator(mode="after")
    def _digest_recipients(self) -> ModelConfig:
        if self.digest is not None:
            if DIGEST_RECEIVER in self.alerts.all_receivers():
                raise ValueError(f"alerts.receivers.{DIGEST_RECEIVER}: the name is taken by the digest's own "
                                 "notices; rename the receiver")
            digest_receiver(self.digest, self.owner, self.alerts.all_receivers())
        return self

    @model_validator(mode="after")
    def _llm(self) -> ModelConfig:
        if self.llm is not None and self.kind != "llm":
            raise ValueError("llm: settings of an LLM model; add 'kind: llm' (or remove llm:)")
        if self.kind != "llm" and self.cost is not None and self.cost.budget_per_tenant_per_day is not None:
            raise ValueError("cost.budget_per_tenant_per_day: only an LLM model's events name a tenant "
                             "(llm.tenant); add 'kind: llm', or set budget_per_day")
        if self.kind == "llm":
            if self.reference is not None:
                raise ValueError("reference: an LLM model learns its baseline from its traffic (llm.baseline: "
                                 "its first windows, or a file of past events), not from a table's baseline")
            st = self.llm_settings.session_timeout
            if st is not None and not 1 <= st <= self.lateness:
                raise ValueError(f"llm.session_timeout ({format_duration(st)}) must be from 1s to the lateness "
                                 f"({format_duration(self.lateness)}): a session is counted in the window of its "
                                 "last turn, which must still be open when the session is decided")
            base = self.llm_settings.baseline
            learning = base.windows * self.window + self.lateness
            if base.file is None and self.retention.raw_events < learning:
                raise ValueError(f"retention.raw_events ({format_duration(self.retention.raw_events)}) must outlast "
                                 f"the baseline's learning ({base.windows} windows and the lateness, "
                                 f"{format_duration(learning)}): the baseline is learned from the stored events")
        return self

    @property
    def llm_settings(self) -> LLMSettings:
        """The LLM settings, their defaults when the config says none."""
        return self.llm or LLMSettings()

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if self.window < 1:
            raise ValueError("window must be at least 1s")
        if self.window < 86400 and 86400 % self.window:
            raise ValueError(f"window {format_duration(self.window)} must divide a day evenly (e.g. 1m, 5m, 15m, 1h)")
        if self.retention.predictions < self.labels.horizon:
            raise ValueError(f"retention.predictions ({format_duration(self.retention.predictions)}) must be at least "
                             f"labels.horizon ({format_duration(self.labels.horizon)}), or late labels cannot join")
        rep = self.performance.report
        if rep is not None and not (rep == self.window or (rep in (3600.0, 86400.0) and rep > self.window
                                                           and rep % self.window == 0)):
            raise ValueError(f"performance.report ({format_duration(rep)}) must be the window "
                             f"({format_duration(self.window)}), 1h or 1d")
        if self.retention.raw_events < self.window + self.lateness:
            raise ValueError("retention.raw_events must outlast a window and its lateness (events are replayed "
                             "from it after a crash)")
        return self


def model_config_from_dict(data: dict[str, Any], source: str | Callable[[tuple[Any, ...]], str]) -> ModelConfig:
    """The validated config, or a ConfigError with one line per problem (``explain_validation_error``);
    ``source`` names the file, or is a function of an error's location that does (templates)."""
    if "extends" in data:
        where = source if isinstance(source, str) else source(())
        raise ConfigError(f"{where}: extends: templates are read beside model YAMLs in a config folder "
                          "(`argus serve --config DIR`); send the merged config instead")
    try:
        return ModelConfig(**data)
    except ValidationError as exc:
        raise ConfigError(explain_validation_error(exc, ModelConfig, source)) from None
    except TypeError as exc:  # keys that are not strings
        raise ConfigError(f"{source if isinstance(source, str) else source(())}: {exc}") from None


def load_model_document(path: str | Path) -> ModelConfig:
    """A model YAML validated with its templates applied (``extends:``), its files not yet looked at: what
    `argus config diff` compares, where the baselines of an old revision may be gone."""
    p = Path(path)
    doc = load_with_templates(p)
    return model_config_from_dict(doc.data, lambda loc: source_label(p, doc.origin(loc)))


def load_model_config(path: str | Path) -> tuple[ModelConfig, Path | None]:
    """The config (templates applied) and the absolute path of its reference baseline (resolved
    relative to the YAML, or to the template that named it, and checked to exist)."""
    p = Path(path)
    cfg = load_model_document(p)
    ref = None
    if cfg.llm is not None and cfg.llm.baseline.file is not None:
        path = (p.parent / cfg.llm.baseline.file).resolve()
        if not path.is_file():
            raise ConfigError(f"{p}: llm.baseline.file: file of past events not found: {path}")
        cfg = cfg.model_copy(update={"llm": cfg.llm.model_copy(update={
            "baseline": cfg.llm.baseline.model_copy(update={"file": str(path)})})})
    if cfg.reference is not None:
        ref = (p.parent / cfg.reference).resolve()
        if not ref.is_file():
            raise ConfigError(f"{p}: reference: baseline file not found: {ref}")
    if cfg.versions:
        resolved = {}
        for v, vs in cfg.versions.items():
            if vs.reference is None:
                resolved[v] = vs
                continue
            path = (p.parent / vs.reference).resolve()
            if not path.is_file():
                raise ConfigError(f"{p}: versions.{v}.reference: baseline file not found: {path}")
            resolved[v] = vs.model_copy(update={"reference": str(path)})
        cfg = cfg.model_copy(update={"versions": resolved})
    return cfg, ref


class TokenEntry(_Strict):
    """A bearer token, stored as its SHA-256 (tokens are 32 random bytes, so a
    slow password hash adds nothing; the digest is what is compared)."""

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: list[Literal["read", "write"]] = Field(min_length=1)
    models: list[str] | None = Field(None, description="models this token may touch; all when absent")


class AuthConfig(_Strict):
    tokens: list[TokenEntry] = Field(default_factory=list)


def load_auth_config(path: str | Path) -> AuthConfig:
    """A tokens file: YAML documents, each a ``tokens:`` mapping, a list of entries, or empty; their
    entries add up.

    Several forms, because the file is grown with ``argus token create ... >> tokens.yaml``: what that
    command prints (a document of its own, see ``token_document``) must load whether the file was empty,
    a bare list, or a ``tokens:`` mapping written by hand. Every problem is one line naming the file and
    the token (its position in the file, and its name when it has one)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read tokens file: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {' '.join(str(exc).split())}") from None
    entries: list[TokenEntry] = []
    problems: list[str] = []
    position = 0
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, dict):
            for key in doc:
                if key != "tokens":
                    problems.append(f"{p}: {key}: unknown key; a tokens file holds 'tokens:' (a list of entries) "
                                    "or a bare list of entries")
            items = doc.get("tokens") or []
            if not isinstance(items, list):
                problems.append(f"{p}: tokens: expected a list of entries, got {type(items).__name__}")
                continue
        elif isinstance(doc, list):
            items = doc
        else:
            problems.append(f"{p}: expected a list of token entries or a 'tokens:' mapping, got "
                            f"{type(doc).__name__}")
            continue
        for item in items:
            position += 1
            name = item.get("name") if isinstance(item, dict) else None
            where = f"{p}: token {position}" + (f" ({name!r})" if isinstance(name, str) else "")
            if not isinstance(item, dict):
                problems.append(f"{where}: expected a mapping with name, sha256 and scopes, got "
                                f"{type(item).__name__}")
                continue
            try:
                entries.append(TokenEntry(**item))
            except ValidationError as exc:
                problems.append(explain_validation_error(exc, TokenEntry, where))
            except TypeError as exc:  # keys that are not strings
                problems.append(f"{where}: {exc}")
    if problems:
        raise ConfigError("\n".join(problems))
    return AuthConfig(tokens=entries)


def token_document(entry: dict[str, Any]) -> str:
    """One token entry as ``argus token create`` prints it: a YAML document of its own (``---``, then a
    one-item list), led by a newline so that appending it to a file whose last line has no newline still
    starts a new line. Appended with ``>>`` to an empty file, to a list or to a ``tokens:`` mapping, it
    loads with ``load_auth_config``."""
    import yaml

    return "\n---\n" + yaml.safe_dump([entry], sort_keys=False)
