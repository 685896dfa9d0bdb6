"""The report: one comparison's results as JSON (a public contract: report.schema.json),
self-contained HTML, and a notebook display."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Collection
from datetime import datetime, timezone
from typing import Any

import numpy as np

from argusml.checks import CheckResults, ColumnResult, multivariate_rows, numeric_summary, run_checks
from argusml.checks.quality import new_categories, outside_range
from argusml.profile import ColumnProfile, ColumnSpec, Reference, is_baseline_file, open_source, profile_source
from argusml.profile.dataset import keep_freed_memory, one_blas_thread
from argusml.profile.declared import resolve_declared
from argusml.profile.frame import NEAR_UNIQUE_RATIO
from argusml.profile.numeric import COARSE_LEVELS, TAIL_MEASURE_LEVELS
from argusml.schema import Finding, InputError, Kind, ReportConfig, Role

SCHEMA_VERSION = 1
UNITS = {Kind.DATETIME: "seconds since 1970-01-01 UTC", Kind.TEXT: "characters per value"}
CHART_BINS = 50
TOP_CATEGORIES = 20


def _clean(o: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        return _clean(o.item())
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    return o


class Report:
    """Results of comparing current data with a reference."""

    def __init__(self, results: CheckResults, *, reference_source: str | None, current_source: str | None,
                 elapsed_s: float | None = None) -> None:
        self.results = results
        self.reference_source = reference_source
        self.current_source = current_source
        self.elapsed_s = elapsed_s
        self.generated_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._dict: dict[str, Any] | None = None

    @property
    def findings(self) -> list[Finding]:
        return self.results.findings

    @property
    def verdict(self) -> dict[str, Any]:
        return self.results.verdict.to_dict()

    @property
    def drifted_columns(self) -> list[str]:
        return list(self.results.verdict.drifted_columns)

    def has_blocking(self) -> bool:
        """True when any P0 or P1 finding exists: what `argus check` fails on."""
        return any(f.severity.rank <= 1 for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        if self._dict is None:
            self._dict = _clean(_report_dict(self))
        return self._dict

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_html(self) -> str:
        from argusml.reports.html import render_html

        return render_html(self.to_dict())

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> None:
        fmt = format or ("html" if os.fspath(path).lower().endswith((".html", ".htm")) else "json")
        text = self.to_html() if fmt == "html" else self.to_json()
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)

    def _repr_html_(self) -> str:
        from argusml.reports.html import render_html

        return render_html(self.to_dict(), embedded=True)

    def __repr__(self) -> str:
        v = self.verdict
        return (f"Report(status={v['status']!r}, drifted={v['drifted_columns']}, findings="
                f"{v['findings_by_severity']})")


def chart_data(spec: ColumnSpec, rp: ColumnProfile, cp: ColumnProfile | None) -> dict[str, Any] | None:
    """Aggregates for the reference-vs-current chart of one column (never raw rows), from the reference's
    column profile and the current one's on the reference's bins: what the report's ``distribution`` holds,
    and what the service answers for a window's stored profile, so both draw the same chart."""
    if cp is None:
        return None
    if rp.numeric is not None and cp.numeric is not None and spec.numeric is not None \
            and rp.numeric.counts is not None and cp.numeric.counts is not None and spec.numeric.edges.size >= 2:
        edges = spec.numeric.edges  # edges[0] sits just below the reference minimum
        r, c = rp.numeric.counts.astype(float), cp.numeric.counts.astype(float)
        nr, nc = max(r.sum(), 1), max(c.sum(), 1)
        picks = _chart_edges(spec.numeric, r / nr, c / nc, chart_bins(c.sum()), c.sum())
        cr, cc = np.cumsum(r), np.cumsum(c)  # cr[i]: rows in bins 0..i, i.e. at most edges[i]
        return {
            "type": "numeric",
            "edges": [float(edges[i]) for i in picks],
            "reference": (np.diff(cr[picks]) / nr).tolist(),
            "current": (np.diff(cc[picks]) / nc).tolist(),
            "below": {"reference": r[0] / nr, "current": c[0] / nc},
            "above": {"reference": r[-1] / nr, "current": c[-1] / nc},
        }
    if rp.categories is not None and cp.categories is not None:
        rc, cc2 = rp.categories.counts, cp.categories.counts
        nr, nc = max(rp.categories.n, 1), max(cp.categories.n, 1)
        cats = sorted(set(rc) | set(cc2), key=lambda k: -(rc.get(k, 0) / nr + cc2.get(k, 0) / nc))
        shown = cats[:TOP_CATEGORIES]
        out = {
            "type": "categorical",
            "categories": shown,
            "reference": [rc.get(k, 0) / nr for k in shown],
            "current": [cc2.get(k, 0) / nc for k in shown],
        }
        if len(cats) > len(shown):
            out["other"] = {"reference": 1 - sum(out["reference"]), "current": 1 - sum(out["current"]),
                            "categories": len(cats) - len(shown)}
        return out
    return None


def chart_bins(n_current: float) -> int:
    """How many bars the current rows can fill: Rice's rule, 2 n^(1/3), between 10 and CHART_BINS. A window
    of 150 rows drawn on 50 bins is mostly noise (three rows a bar), spikes read as drift that is not
    there; 11 bars show its shape."""
    return int(min(CHART_BINS, max(10, math.ceil(2 * max(n_current, 0.0) ** (1 / 3)))))


def _chart_edges(spec: Any, r: np.ndarray, c: np.ndarray, bins: int = CHART_BINS,
                 n_current: float = math.inf) -> np.ndarray:
    """About ``bins`` of the reference's fine edges: a regular thinning,
    plus every edge a decision can rest on (the tail levels the current rows
    can populate, at least 5 expected beyond the level; the first and last
    inner bins) and both edges of any bin holding a large share (1/``bins``)
    on either side (a point mass must not be smeared into its neighbours)."""
    size = spec.edges.size
    step = max(1, math.ceil((size - 1) / bins))
    keep = set(range(0, size, step)) | {0, 1, max(size - 2, 0), size - 1}
    for lv in (*TAIL_MEASURE_LEVELS, *COARSE_LEVELS):
        if min(lv, 1 - lv) * n_current < 5:
            continue
        i = spec.edge_of(lv)
        if i is not None:
            keep.add(i)
    heavy = np.flatnonzero(np.maximum(r[1:-1], c[1:-1]) >= 1.0 / bins) + 1  # fine bin i: (e[i-1], e[i]]
    keep.update(int(i) for i in heavy)
    keep.update(int(i) - 1 for i in heavy)
    return np.array(sorted(k for k in keep if 0 <= k < size), dtype=np.int64)


def _column_dict(res: ColumnResult, reference: Reference, alpha: float) -> dict[str, Any]:
    spec = reference.specs[res.name]
    rp, cp = res.reference, res.current
    quality: dict[str, Any] = {"present": cp is not None, "reference_missing_ratio": rp.missing_ratio,
                               "missing_ratio": None, "type_error_ratio": None}
    if cp is not None:
        quality.update({"rows": cp.n_rows, "missing_ratio": cp.missing_ratio, "nulls": cp.nulls,
                        "type_error_ratio": cp.type_error_ratio, "type_errors": cp.type_errors})
        if cp.numeric is not None and cp.numeric.counts is not None and spec.kind is Kind.NUMERIC:
            below, above, inf, n = outside_range(cp.numeric)
            quality["out_of_range_ratio"] = (below + above + inf) / n if n else 0.0
        if cp.categories is not None and rp.categories is not None:
            new = new_categories(rp.categories, cp.categories)
            if new is not None:  # a sketched reference cannot tell a new level from a rare one it dropped
                quality["new_categories"] = len(new)
                quality["new_category_ratio"] = sum(new.values()) / max(cp.categories.n, 1)
            quality["categories"] = len(cp.categories.counts)
        if cp.distinct is not None:
            quality["distinct"] = cp.distinct
    drift = res.drift.to_json(alpha) if res.drift is not None else {
        "status": "not_tested", "drifted": False, "test": None, "effect": None, "scores": {},
        "detectable_effect": None, "n_reference": None, "n_current": None,
        "reason": "column missing from the current data"}
    summary: dict[str, Any] = {}
    if rp.numeric is not None:
        summary["reference"] = numeric_summary(rp)
        summary["current"] = numeric_summary(cp) if cp is not None else None
        unit = UNITS.get(spec.kind)
        if unit:
            summary["unit"] = unit
    elif rp.categories is not None:
        def cats(p: Any) -> dict[str, Any]:
            c = p.categories
            top = list(c.counts.items())[:5]
            return {"count": c.n, "categories": len(c.counts), "exact": c.exact,
                    "top": [{"value": k, "share": v / max(c.n, 1)} for k, v in top]}
        summary["reference"] = cats(rp)
        summary["current"] = cats(cp) if cp is not None else None
    out = {
        "kind": spec.kind.value,
        "role": spec.role.value,
        "quality": quality,
        "drift": drift,
        "summary": summary,
        "distribution": chart_data(spec, rp, cp),
        "findings": [f.to_dict() for f in res.findings],
    }
    card = cardinality(spec, rp)
    if card is not None:
        out["cardinality"] = card
    return out


def cardinality(spec: ColumnSpec, rp: ColumnProfile) -> dict[str, Any] | None:
    """Why a string column is tested as categories or as near-unique values (docs/CHECKS.md, "Cardinality"):
    the reference's distinct values per value against the cut-off."""
    if spec.kind.near_unique and rp.distinct is not None and rp.numeric is not None:
        distinct, values, exact = rp.distinct, rp.numeric.n, rp.distinct_exact
    elif spec.kind is Kind.CATEGORICAL and rp.categories is not None:
        distinct, values = len(rp.categories.counts), rp.categories.n
        exact = rp.categories.exact or (rp.distinct is not None and rp.distinct_exact)
        if not rp.categories.exact and rp.distinct is not None:  # a sketch lists only its heavy hitters
            distinct = rp.distinct
    else:
        return None
    ratio = distinct / values if values else 0.0
    if spec.role in (Role.ID, Role.TIMESTAMP):
        rule = f"{spec.role.value} column ({distinct} distinct values of {values}): not drift-tested"
    elif spec.kind.near_unique:
        rule = (f"near-unique ({ratio:.3g} distinct values per value >= {NEAR_UNIQUE_RATIO}): tested on the share "
                f"of unseen values and on length, not by category")
    else:
        rule = f"categories ({distinct} levels, {ratio:.3g} distinct values per value): chi-square on their counts"
    return {"distinct": distinct, "distinct_exact": exact, "values": values, "distinct_ratio": ratio,
            "near_unique_ratio": NEAR_UNIQUE_RATIO, "rule": rule}


def _report_dict(report: Report) -> dict[str, Any]:
    from argusml.version import __version__

    r = report.results
    ref = r.reference
    cfg = r.config
    order = sorted(r.columns.values(), key=lambda c: (c.worst, c.name))
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": report.generated_at,
        "argus_version": __version__,
        "reference": {"source": report.reference_source, "rows": ref.n_rows, "columns": len(ref.specs),
                      "created_at": ref.created_at, "target": ref.target, "prediction": ref.prediction},
        "current": {"source": report.current_source, "rows": r.current.n_rows,
                    "columns": len(r.current.columns) + len(r.current.extra_columns)},
        "settings": {"drift": cfg.drift.model_dump(), "quality": cfg.quality.model_dump(),
                     "multivariate": cfg.multivariate.model_dump(),
                     "ignored": sorted(set(cfg.ignore) | {n for n, c in cfg.columns.items() if c.ignore})},
        "verdict": r.verdict.to_dict(),
        "columns": {c.name: _column_dict(c, ref, cfg.drift.alpha) for c in order},
        "correlations": r.correlations,
        "multivariate": r.multivariate,
        "findings": [f.to_dict() for f in r.findings],
        "elapsed_s": None if report.elapsed_s is None else round(report.elapsed_s, 4),
    }


def _apply_roles(reference: Reference, target: str | None, prediction: str | None, where: str) -> None:
    """Naming a target or prediction for a saved baseline must agree with it."""
    for col, role in ((target, Role.TARGET), (prediction, Role.PREDICTION)):
        if col is None:
            continue
        if col not in reference.specs:
            raise InputError(f"no such {role.value} column in the baseline; columns are: "
                             f"{', '.join(list(reference.specs)[:20])}", path=where, column=col)
        reference.specs[col].role = role


def load_reference(reference: Any, *, target: str | None = None, prediction: str | None = None,
                   progress: Callable[[], None] | None = None, ignore: Collection[str] | None = ()
                   ) -> tuple[Reference, str | None]:
    """A Reference, a baseline JSON path, or data (path or frame) to learn one from; ``ignore``d
    columns stay out of a learned reference's multivariate model (a saved one has its own); None
    learns no such model."""
    if isinstance(reference, Reference):
        _apply_roles(reference, target, prediction, "reference")
        return reference, reference.source
    if isinstance(reference, (str, os.PathLike)) and is_baseline_file(os.fspath(reference)):
        ref = Reference.load(reference)
        _apply_roles(ref, target, prediction, os.fspath(reference))
        return ref, os.fspath(reference)
    src = open_source(reference, "reference")
    # learned for this one comparison and not kept: exact quantiles suffice, no sketch needed
    ref = Reference.from_source(src, target=target, prediction=prediction, progress=progress, with_sketch=False,
                                multivariate_exclude=ignore, with_performance=False)
    return ref, src.name


def report(reference: Any, current: Any, *, target: str | None = None, prediction: str | None = None,
           config: ReportConfig | None = None, progress: Callable[[], None] | None = None) -> Report:
    """Compare current data with a reference and return a ``Report``.

    ``reference`` is a ``Reference``, a baseline file from ``argus baseline``,
    or data (a CSV/Parquet path or a pandas/polars/Arrow frame); ``current``
    is data. Problems in the data become findings; only input that cannot be
    read at all raises ``InputError``.
    """
    keep_freed_memory()
    with one_blas_thread():
        return _report(reference, current, target=target, prediction=prediction, config=config, progress=progress)


def _report(reference: Any, current: Any, *, target: str | None, prediction: str | None,
            config: ReportConfig | None, progress: Callable[[], None] | None) -> Report:
    t0 = time.perf_counter()
    cur_src = open_source(current, "current")  # fail fast on an unreadable current file
    config = config or ReportConfig()
    ignored = [*config.ignore, *(n for n, c in config.columns.items() if c.ignore)]
    ref, ref_name = load_reference(reference, target=target, prediction=prediction, progress=progress,
                                   ignore=ignored if config.multivariate.enabled else None)
    if cur_src.n_rows == 0:
        raise InputError("no rows: nothing to compare with the reference", path=cur_src.name)
    # declared bounds are checked against the reference's kinds before any current data is read
    declared = resolve_declared(config, ref.specs, "config")
    cur_profile = profile_source(cur_src, ref.specs, ref.profile.correlation, progress, with_sketch=False,
                                 multivariate=ref.multivariate if config.multivariate.enabled else None,
                                 sample_rows=multivariate_rows(config) or 0, declared=declared)
    results = run_checks(ref, cur_profile, config)
    return Report(results, reference_source=ref_name, current_source=cur_src.name,
                  elapsed_s=time.perf_counter() - t0)
