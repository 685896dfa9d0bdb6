"""What a check run says, as types: ``Verdict`` for a report, ``WindowVerdict`` for a window of the service.

``run_checks`` decides one ``Verdict`` (the report's JSON ``verdict`` is its
``to_dict``). A window's verdict is built from it and the window's profile
(``WindowVerdict.of``); it is what the store holds, ``/status`` and
``/windows`` show and ``/metrics`` reads. It used to be a dict built in the
monitor and read back by string keys in four places, each guessing which
keys an older row might lack; ``from_dict`` is now the one place where a row
from an older store is made whole. Both JSON shapes are the ones Argus
always wrote.

>>> v = WindowVerdict.not_checked("no window on the current reference", skipped_windows=2)
>>> v.to_dict()
{'status': 'not_checked', 'reason': 'no window on the current reference', 'skipped_windows': 2}
>>> WindowVerdict.from_dict(v.to_dict()) == v
True
>>> c = ColumnVerdict(missing_ratio=0.25, drift="drifted", drifted=True, method="ks", p_adjusted=0.001,
...                   effect="wasserstein_iqr", value=0.42, scores={"psi": 0.31})
>>> c.to_dict()["scores"], ColumnVerdict.from_dict(c.to_dict()) == c
({'psi': 0.31}, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from argusml.profile import DatasetProfile, Reference
from argusml.schema import DriftStatus, Finding, Kind, Severity

if TYPE_CHECKING:
    from argusml.checks.run import CheckResults

NOT_CHECKED = "not_checked"
JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def json_default(o: Any) -> Any:
    """What orjson cannot write by itself, as JSON: a check's evidence may hold numpy scalars or sets."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def finding_json(f: Finding) -> dict[str, Any]:
    """A finding as a provisional look keeps it (JSON, in the open window's row)."""
    return {"check": f.check, "column": f.column, "severity": f.severity.value, "message": f.message,
            "evidence": f.evidence}


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    return {s.value: sum(1 for f in findings if f.severity is s) for s in Severity}


def verdict_status(by_severity: dict[str, int], drifted: bool, multivariate: bool) -> str:
    """The one-line answer: error (a P0), drift, warning (a P1), ok, in that order."""
    if by_severity["P0"]:
        return "error"
    if drifted or multivariate:
        return "drift"
    return "warning" if by_severity["P1"] else "ok"


@dataclass
class Verdict:
    """The one-line answer of a check run and the counts behind it."""

    status: str
    drifted_columns: list[str]
    prediction_drift: bool
    target_drift: bool
    n_columns: int
    n_tested: int
    n_drifted: int
    share_drifted_features: float
    insufficient_data: list[str]
    alpha: float
    correction: str
    findings_by_severity: dict[str, int]
    correlation_changed_columns: list[str]
    multivariate_drift: bool
    quality_insufficient: dict[str, Any] | None = None  # the rate checks' minimum rows, when not met

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class ColumnVerdict:
    """One column in a window: its missing share and, when drift was tested, how it came out."""

    missing_ratio: float | None
    drift: str | None = None  # DriftStatus value; None: no drift result (not a drift-tested column)
    drifted: bool = False
    method: str | None = None
    p_adjusted: float | None = None
    effect: str | None = None
    value: float | None = None
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"missing_ratio": self.missing_ratio}
        if self.drift is not None:
            out.update({"drift": self.drift, "drifted": self.drifted, "method": self.method,
                        "p_adjusted": self.p_adjusted, "effect": self.effect, "value": self.value,
                        "scores": dict(self.scores)})
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnVerdict:
        return cls(d.get("missing_ratio"), d.get("drift"), bool(d.get("drifted", False)), d.get("method"),
                   d.get("p_adjusted"), d.get("effect"), d.get("value"), dict(d.get("scores") or {}))


@dataclass
class MultivariateVerdict:
    """The window's multivariate verdict and the two tests' effect sizes (the rest is in its finding)."""

    status: str | None = None
    drifted: bool = False
    error_increase: float | None = None
    error_p_adjusted: float | None = None
    classifier_auc: float | None = None
    classifier_p_adjusted: float | None = None

    @classmethod
    def of(cls, mv: dict[str, Any]) -> MultivariateVerdict:
        rec, clf = mv.get("reconstruction") or {}, mv.get("classifier") or {}
        return cls(mv.get("status"), bool(mv.get("drifted")), rec.get("relative_increase"),
                   rec.get("p_adjusted") if "relative_increase" in rec else None, clf.get("auc"),
                   clf.get("p_adjusted") if "auc" in clf else None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "drifted": self.drifted}
        if self.error_increase is not None:
            out["error_increase"], out["error_p_adjusted"] = self.error_increase, self.error_p_adjusted
        if self.classifier_auc is not None:
            out["classifier_auc"], out["classifier_p_adjusted"] = self.classifier_auc, self.classifier_p_adjusted
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MultivariateVerdict:
        return cls(d.get("status"), bool(d.get("drifted")), d.get("error_increase"), d.get("error_p_adjusted"),
                   d.get("classifier_auc"), d.get("classifier_p_adjusted"))


_EXTRAS = ("reason", "skipped_windows", "prediction_baseline", "provisional_looks", "llm")
"""Keys a verdict carries only when they apply, in this order after the checked fields."""
_PROVISIONAL = ("provisional", "look", "looks_planned", "looked_at", "findings")
"""What a provisional look adds (an open window's verdict): its number, the plan, when, its findings."""


@dataclass
class WindowVerdict:
    """A window's verdict. ``status`` is error/drift/warning/ok as for a report, or ``not_checked`` with a
    ``reason`` (the reference was replaced, the checks failed, a roll-up had nothing on its reference)."""

    status: str
    drifted_columns: list[str] = field(default_factory=list)
    n_tested: int = 0
    n_drifted: int = 0
    findings_by_severity: dict[str, int] = field(default_factory=dict)
    alpha: float | None = None
    n_rows: int = 0
    columns: dict[str, ColumnVerdict] = field(default_factory=dict)
    prediction: dict[str, Any] | None = None  # {"mean"} of a numeric or boolean prediction, {"class_ratio"}
    multivariate: MultivariateVerdict = field(default_factory=MultivariateVerdict)
    insufficient_data: list[str] = field(default_factory=list)
    quality_insufficient: dict[str, Any] | None = None
    reason: str | None = None
    skipped_windows: int | None = None  # a roll-up's children on another reference, left out
    prediction_baseline: dict[str, Any] | None = None  # a version without a reference: whose traffic it is judged on
    provisional_looks: dict[str, Any] | None = None  # what the close made of the provisional looks
    llm: dict[str, Any] | None = None  # an LLM model's window: its embeddings, sessions and judged answers
    provisional: dict[str, Any] | None = None  # an open window's look: look, looks_planned, looked_at, findings

    @property
    def checked(self) -> bool:
        return self.status != NOT_CHECKED

    @property
    def drifted(self) -> bool:
        """A column or the rows as a whole (multivariate) drifted."""
        return bool(self.drifted_columns) or self.multivariate.drifted

    @property
    def judged(self) -> bool:
        """The checks said something either way: checked, and something was tested (not a window too small
        to test, not one skipped)."""
        return self.checked and (bool(self.n_tested) or self.multivariate.status in ("stable", "drifted"))

    @classmethod
    def loads(cls, text: str | None) -> WindowVerdict | None:
        """A verdict as the store holds it (JSON text; None: a row without one)."""
        return None if not text else cls.from_dict(orjson.loads(text))

    def dumps(self) -> str:
        """The JSON text the store keeps (numpy numbers as numbers)."""
        return orjson.dumps(self.to_dict(), option=JSON_OPTIONS, default=json_default).decode()

    def plain(self) -> dict[str, Any]:
        """``to_dict`` with plain JSON values only (no numpy scalars): what an open window keeps in memory
        and snapshots, and the API answers."""
        return orjson.loads(self.dumps())

    @classmethod
    def not_checked(cls, reason: str, *, skipped_windows: int | None = None) -> WindowVerdict:
        return cls(NOT_CHECKED, reason=reason, skipped_windows=skipped_windows)

    @classmethod
    def of(cls, res: CheckResults, reference: Reference, profile: DatasetProfile) -> WindowVerdict:
        """The verdict of checked results: compactly, per column the drift and missing share, and the
        prediction's mean or class shares (what the gauges show)."""
        v = res.verdict
        cols = {}
        for name, cr in res.columns.items():
            d = cr.drift
            c = ColumnVerdict(cr.current.missing_ratio if cr.current is not None else None)
            if d is not None:
                c = replace(c, drift=d.status.value, drifted=d.status is DriftStatus.DRIFTED, method=d.method,
                            p_adjusted=d.p_adjusted, effect=d.effect_method, value=d.effect_value,
                            scores={k: x for k, x in d.scores.items() if x is not None and isinstance(x, (int, float))
                                    and math.isfinite(x)})
            cols[name] = c
        llm = {k: x for k, x in (("embeddings", {n: _embedding_summary(r) for n, r in res.embeddings.items()}),
                                 ("abandonment", res.abandonment), ("judge", res.judge)) if x}
        return cls(v.status, list(v.drifted_columns), v.n_tested, v.n_drifted, dict(v.findings_by_severity),
                   v.alpha, profile.n_rows, cols, _prediction(reference, profile),
                   MultivariateVerdict.of(res.multivariate), list(v.insufficient_data), v.quality_insufficient,
                   llm=llm or None)

    def with_findings(self, kept: list[Finding]) -> WindowVerdict:
        """The verdict once only ``kept`` of its findings stand (the severity counts and status follow)."""
        by_sev = severity_counts(kept)
        return replace(self, findings_by_severity=by_sev,
                       status=verdict_status(by_sev, bool(self.drifted_columns), self.multivariate.drifted))

    def to_dict(self) -> dict[str, Any]:
        if self.checked:
            out: dict[str, Any] = {
                "status": self.status, "drifted_columns": list(self.drifted_columns), "n_tested": self.n_tested,
                "n_drifted": self.n_drifted, "findings_by_severity": dict(self.findings_by_severity),
                "alpha": self.alpha, "n_rows": self.n_rows,
                "columns": {k: c.to_dict() for k, c in self.columns.items()}, "prediction": self.prediction,
                "multivariate": self.multivariate.to_dict(), "insufficient_data": list(self.insufficient_data),
                "quality_insufficient": self.quality_insufficient}
        else:
            out = {"status": self.status}
        for key in _EXTRAS:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.provisional is not None:
            out.update(self.provisional)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowVerdict:
        """A stored verdict, whatever release wrote it: keys an older row lacks take their defaults."""
        return cls(
            d.get("status", NOT_CHECKED), list(d.get("drifted_columns") or []), int(d.get("n_tested") or 0),
            int(d.get("n_drifted") or 0), dict(d.get("findings_by_severity") or {}), d.get("alpha"),
            int(d.get("n_rows") or 0), {k: ColumnVerdict.from_dict(c) for k, c in (d.get("columns") or {}).items()},
            d.get("prediction"), MultivariateVerdict.from_dict(d.get("multivariate") or {}),
            list(d.get("insufficient_data") or []), d.get("quality_insufficient"),
            *(d.get(k) for k in _EXTRAS),
            {k: d[k] for k in _PROVISIONAL if k in d} if d.get("provisional") else None)


def _embedding_summary(r: dict[str, Any]) -> dict[str, Any]:
    """An embedding's test as a window keeps it: the decision and its numbers, not the examples' detail."""
    return {k: r[k] for k in ("status", "reason", "n_ref", "n_cur", "drifted_by", "p_adjusted", "effects")
            if k in r}


def _prediction(reference: Reference, profile: DatasetProfile) -> dict[str, Any] | None:
    pname = reference.prediction
    if not pname or pname not in profile.columns:
        return None
    cp = profile.columns[pname]
    pred: dict[str, Any] | None = None
    if cp.numeric is not None and cp.numeric.n:
        pred = {"mean": float(cp.numeric.moments.mean)}
    elif cp.categories is not None and cp.categories.n:
        n = cp.categories.n
        pred = {"class_ratio": {k: c / n for k, c in list(cp.categories.counts.items())[:50]}}
    if pred is not None and reference.specs[pname].kind is Kind.BOOLEAN and cp.categories is not None:
        pred["mean"] = cp.categories.counts.get("true", 0) / max(cp.categories.n, 1)
    return pred
