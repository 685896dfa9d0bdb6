"""A model's live state: its config, its references per version (and what events and labels of each version
must be), its dedup index, counters and open windows. The monitor's parts all work on it; it does no I/O.

``ValidationPlan`` is the picklable part of it that validating a request needs (validation may run in a
worker process), and ``Validated`` what comes back.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from argusml.checks import multivariate_rows
from argusml.llm.events import LLMPlan
from argusml.llm.sessions import SessionTracker
from argusml.monitor.dedup import DedupIndex
from argusml.monitor.events import EventBatch, Problem, Schema, Target, validate_events
from argusml.monitor.llm import Learning, is_learning, judge_of, plan_of
from argusml.monitor.metrics import ModelMetrics
from argusml.monitor.performance import task_of
from argusml.monitor.privacy import Redactor
from argusml.monitor.windows import Folder, reference_fingerprint
from argusml.profile import Reference
from argusml.profile.declared import Declared, resolve_declared
from argusml.schema import ConfigError, InputError, Kind, ReportConfig, Role
from argusml.schema.model_config import ModelConfig, PiiRule

HOUR = 3600.0  # the roll-ups: base windows -> hours -> days (those the base window divides)
DAY = 86400.0


@dataclass
class VersionRef:
    """One version's reference and what follows from it, computed once when it is set (every event of the
    version is validated against ``schema``, and a window's profile merges only with ``fingerprint``'s)."""

    reference: Reference
    schema: Schema
    fingerprint: str
    declared: dict[str, Declared] = field(default_factory=dict)  # the config's declared bounds, in its units


class ModelState:
    """Everything the monitor holds about one model between requests. Replacing the model's config keeps
    its counters, dedup index and pending labels (``Registry.register``)."""

    def __init__(self, config: ModelConfig, reference: Reference) -> None:
        self.config = config
        self.name = config.model
        self.redactor = Redactor(config.privacy, config.model)
        private = {p.split(".", 1)[1] for rule in ("drop", "mask", "hash") for p in getattr(config.privacy, rule)
                   if p.startswith("features.")} | pii_unchecked(config.privacy.pii, reference)
        # redacted features no longer look like the reference: checking them would only report the redaction
        self.checks: ReportConfig = config.checks.model_copy(
            update={"ignore": sorted({*config.checks.ignore, *private})}) if private else config.checks
        self.refs: dict[str, VersionRef] = {}
        self.llm = plan_of(config)
        base = config.llm_settings.baseline
        # learning its baseline from its first windows (monitor/llm.py): nothing is folded or checked yet
        self.learning = Learning(config.window, base.windows, base.min_events, config.lateness) if (
            self.llm is not None and is_learning(reference)) else None
        self.learned_seq = 0  # events through this sequence were read when the baseline was learned
        self.judge = judge_of(config)  # an LLM model's judge (monitor/judging.py)
        self.judge_spent: dict[tuple[str, float], int] = {}  # judge calls per (version, window start)
        self.judge_pending: dict[tuple[str, float], Any] = {}  # verdicts the fold has yet to attach
        # an LLM model's open sessions: rephrases and abandonment (monitor/llm.py)
        self.sessions = SessionTracker(timeout=config.llm_settings.session_timeout or config.lateness) if (
            self.llm is not None) else None
        self.set_reference("", reference)
        self.dedup = DedupIndex(config.dedup.horizon, config.dedup.max_keys)
        self.metrics = ModelMetrics()
        self.pending: dict[str, float] = {}  # label id -> arrival, while its prediction is unknown
        self.pending_outcomes: dict[str, float] = {}  # the same for outcomes
        self.versions: set[str] = set()
        self.outcome_names: set[str] = set()
        self.events_total = 0
        self.folder = Folder(config.window, config.lateness, config.segments, config.max_segment_values,
                             sample_rows=multivariate_rows(self.checks))
        # a backfill's windows (buckets the live windows are past): their rows are folded by their own time, so
        # none is late, and they close as the backfill moves past them (Closer._backfill_due). They share the
        # live windows' segment values, so a value is "__other__" in both or in neither.
        self.backfill = Folder(config.window, 0.0, config.segments, config.max_segment_values,
                               sample_rows=multivariate_rows(self.checks))
        self.backfill.segment_values = self.folder.segment_values
        self.backfill_frontier = -math.inf  # the newest event time a backfill has folded
        self.backfill_at = -math.inf  # time.monotonic() of the last backfill fold
        self.backfill_queued = 0  # windows accepted backfills may open, not folded yet (Ingest._backfill_width)
        granularities = [config.window]
        for g in (HOUR, DAY):
            if g > granularities[-1] and g % granularities[-1] == 0:
                granularities.append(g)
        self.granularities = granularities

    def declared_for(self, reference: Reference) -> dict[str, Declared]:
        """The config's declared bounds against a reference's kinds; a ConfigError naming the model, column
        and key when one does not fit. Windows count values beyond them as they fold (``profile_source``)."""
        return resolve_declared(self.checks, reference.specs, f"model {self.name!r}: checks")

    def set_reference(self, version: str, reference: Reference) -> None:
        self.refs[version] = VersionRef(reference, schema_of(reference, self.config),
                                        reference_fingerprint(reference), self.declared_for(reference))
        self.schemas = {v: r.schema for v, r in self.refs.items()}
        # what a label must be, per version: the target (name, kind, classes), or None without a target
        self.targets = {v: target_of(r.reference, self.config) for v, r in self.refs.items()}
        self.generation = next(_GENERATIONS)  # what events are validated against changed

    def validation_plan(self) -> ValidationPlan:
        """Everything ``validate_events`` needs for this model, picklable (validation may run in a worker)."""
        cfg = self.config
        # a worker hands back the features the owner reads: those windows are segmented by, and token counts
        kept = (*cfg.segments, *(cfg.cost.tokens if cfg.cost is not None else ()))
        return ValidationPlan(self.generation, self.schemas, cfg.future_skew, cfg.on_schema_violation == "reject",
                              self.redactor if self.redactor.active else None, tuple(dict.fromkeys(kept)), self.llm)

    @property
    def report_granularity(self) -> float:
        """The performance windows /status, /metrics and the alerts judge: ``performance.report``, else an hour
        when the model rolls its windows up to hours, else its window."""
        cfg = self.config
        return cfg.performance.report or (HOUR if HOUR in self.granularities else cfg.window)

    def ref(self, version: str) -> VersionRef:
        return self.refs.get(version) or self.refs[""]


def pii_unchecked(rule: PiiRule | None, reference: Reference) -> set[str]:
    """The features a pii rule leaves nothing of to check: ``stats`` replaces every value by a summary,
    ``drop`` removes each that held PII (an absence drift and missing-value checks would only report).
    ``mask`` and ``hash`` change only the values found, so their columns are still checked."""
    if rule is None or rule.action in ("mask", "hash"):
        return set()
    if rule.fields == "strings":
        return {n for n, s in reference.specs.items()
                if s.role is Role.FEATURE and s.kind in (Kind.TEXT, Kind.CATEGORICAL, Kind.IDENTIFIER)}
    return {p.split(".", 1)[1] for p in rule.fields if p.startswith("features.")}


def version_references(config: ModelConfig) -> dict[str, Reference]:
    """The references ``versions:`` names (absolute paths once ``load_model_config`` resolved them),
    checked against the declared bounds like any baseline; a ConfigError naming the version otherwise."""
    out = {}
    for v, vs in config.versions.items():
        if vs.reference is None:
            continue
        try:
            ref = Reference.load(vs.reference)
        except InputError as exc:
            raise ConfigError(f"model {config.model!r}: versions.{v}.reference: {exc}") from None
        resolve_declared(config.checks, ref.specs, f"model {config.model!r}: versions.{v}: checks")
        out[v] = ref
    return out


_GENERATIONS = itertools.count(1)
MAX_STORED_CLASSES = 1000  # a baseline's performance lists at most this many classes (profile/labelled.py)


def known_classes(reference: Reference, config: ModelConfig) -> tuple[str, ...] | None:
    """A classifier's classes when its reference lists every one of them (then a label or a class
    probability naming another is rejected); None when it cannot: a regression, a binary reference that
    saw one class, a list cut at ``MAX_STORED_CLASSES``, a target sketched for its many levels, or a numeric
    target read as 0/1 by its range alone (without the baseline's own performance, a fraction target that
    happens to span [0, 1] looks the same)."""
    spec = task_of(reference, config)
    target = reference.target
    if spec is None or target is None or spec.task == "regression":
        return None
    if reference.performance is None and reference.specs[target].kind is Kind.NUMERIC:
        return None
    cats = reference.profile.columns[target].categories
    if (spec.task == "binary" and len(spec.classes) != 2) or len(spec.classes) >= MAX_STORED_CLASSES or (
            cats is not None and not cats.exact):
        return None
    return tuple(spec.classes)


def schema_of(reference: Reference, config: ModelConfig) -> Schema:
    """What an event of a version with this reference must be. Its prediction is a probability when the
    model is a binary classifier (``task_of``: the baseline's performance, else the target) with a numeric
    prediction that the reference shows within [0, 1]: a logit or a margin is not, and a regression's
    prediction is never bounded here (outside the reference's range is drift, which the checks report)."""
    spec = task_of(reference, config)
    pred = reference.prediction
    probability = False
    if spec is not None and spec.task == "binary" and pred is not None and reference.specs[pred].kind is Kind.NUMERIC:
        num = reference.profile.columns[pred].numeric
        probability = num is not None and num.n > 0 and 0.0 <= num.min and num.max <= 1.0
    return Schema(reference.specs, config.positive_class, probability=probability,
                  classes=known_classes(reference, config))


def target_of(reference: Reference, config: ModelConfig) -> Target | None:
    """What a label of a version with this reference must be; None when the reference has no target."""
    t = reference.target
    return Target(t, reference.specs[t].kind, known_classes(reference, config)) if t else None


@dataclass
class ValidationPlan:
    """Validation's inputs only, picklable: a worker process validates with it and the generation tells
    whether the reference changed meanwhile."""

    generation: int
    schemas: dict[str, Schema]
    future_skew: float
    reject_violations: bool
    redact: Redactor | None
    segments: tuple[str, ...] = ()  # the features windows are segmented by (all of them a worker must hand back)

    llm: LLMPlan | None = None  # an LLM model's: its events' llm objects become their columns

    def validate(self, items: list[Any], now: float, first_problems: list[Problem] | None = None) -> Validated:
        return Validated(self.generation, *validate_events(
            items, self.schemas, now=now, future_skew=self.future_skew, reject_violations=self.reject_violations,
            redact=self.redact, first_problems=first_problems, llm=self.llm))


@dataclass
class Validated:
    """A request's events after validation: what ``Monitor.accept_events`` takes."""

    generation: int  # of the plan they were validated with
    batch: EventBatch
    indexes: list[int]
    rejected: list[Problem]
    warnings: list[Problem]

