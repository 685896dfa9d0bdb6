"""Model quality per window, version and segment, from the labels joined in the store.

Performance windows are keyed by prediction time (docs/PERFORMANCE.md) and revised
as labels arrive: a label for yesterday's prediction changes yesterday's
windows. The job asks the store which buckets changed since it last looked
(labels resolved, predictions arrived: one query on the base window, the
hour and day buckets derived from it), and recomputes those windows from
the (prediction, label) pairs: exact metrics, not merged approximations,
because ROC AUC and its interval are not mergeable.

Recomputing a day window whenever one of its labels arrives would re-read
the day every few seconds under a steady label stream, so a window of
length ``g`` is recomputed at most every ``g / 24`` (a day hourly, an hour
every 2.5 minutes, a base window every ``performance_every`` seconds); a
changed window that is not due stays marked and is computed when it is.

Speed: the pairs of a day are sorted by score once; every window and
segment is then a stable regrouping of that order, so its rows are already
sorted and its metrics are linear passes (``binary_metrics(presorted=True)``).

What the job writes per window: the number of predictions and labels
(coverage), the label lag (median, p90: first label's arrival minus the
prediction time), every metric with its interval, business outcomes, a
status (``ok``, ``degraded``, ``insufficient_data``, ``no_baseline``,
``no_target``, and ``new`` for a segment value absent from the reference)
and findings: ``performance_drop`` (P1) against the baseline,
``weak_segment`` (P2). Segment windows are judged by
``checks.performance.judge_segments``, the function behind ``argus
performance``'s per-segment verdicts, against the baseline's own rows of the
segment where it has them (else the whole reference, saying so).
"""

from __future__ import annotations

import io
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import json as pa_json

from argusml.checks.outcomes import outcome_drops
from argusml.checks.performance import SegmentCase, Segments, compare, judge_segments, segment_findings
from argusml.monitor.windows import OTHER, OVERALL
from argusml.profile import Reference
from argusml.profile.labelled import Labelled, PerformanceConfig, estimates_of, metrics_of, positive_of
from argusml.schema import Finding, Kind
from argusml.schema.model_config import ModelConfig
from argusml.schema.severity import DEFAULT_SEVERITY
from argusml.stats.cbpe import (
    Calibration,
    MulticlassCalibration,
    estimate_binary,
    estimate_multiclass,
    multiclass_proxies,
    proxies,
    proxy_shifts,
)
from argusml.stats.loss_estimate import ASSUMPTION as LOSS_ASSUMPTION
from argusml.stats.loss_estimate import LossModel
from argusml.stats.performance import Estimate, proportion
from argusml.store import FindingRow, PerformanceRow, Store, by_check, link_repeats

if TYPE_CHECKING:  # state.py reads a version's task with task_of, from here
    from argusml.monitor.state import ModelState

log = logging.getLogger("argus.performance")

OVERLAP = 5.0
"""Seconds the change query reaches back past the last run: a label row carries the time its write
began (``resolved_at``) but becomes visible at its commit, a few milliseconds later."""
OUTCOME_ROWS = 20_000
"""Stored windows read back for an outcome's baseline: 30 days of 5-minute windows is 8,640."""
TRAILING_SAMPLE = 200_000
"""Pairs a trailing baseline is computed from (a seeded uniform sample of the period): its interval is
then far narrower than any window's, and a 30-day period of millions of labels is not read whole."""


@dataclass
class TaskSpec:
    """How one version's labels are scored: decided by the reference (its stored performance, else its
    target column), so every window of the version is scored alike."""

    task: str  # binary | multiclass | regression
    positive: str | None
    threshold: float
    classes: list[str]
    baseline: dict[str, Estimate] | None  # the reference's own metrics, when comparable
    # scores (multiclass: class-probability vectors) -> probabilities: label-free estimates (CBPE) need it
    calibration: Calibration | MulticlassCalibration | None = None
    recalibrated: bool = False
    proxies: dict[str, Any] | None = None  # the reference's label-free proxies, at this threshold
    loss_model: LossModel | None = None  # regression: the reference's error by prediction (label-free MAE, RMSE)
    # the reference's own performance per segment column and value (labelled rows, metrics past its minimum
    # support), when the baseline has it and its metrics are comparable; a segment window is judged on it
    segments: dict[str, dict[str, tuple[int, dict[str, Estimate] | None]]] | None = None
    baseline_labels: int | None = None  # the reference's labelled rows behind ``baseline``


def _segment_baselines(perf: dict[str, Any]) -> dict[str, dict[str, tuple[int, dict[str, Estimate] | None]]]:
    return {col: {str(v): (int(d.get("labelled") or 0), estimates_of(d["metrics"]) if d.get("metrics") else None)
                  for v, d in values.items()}
            for col, values in (perf.get("segments") or {}).items()}


def task_of(reference: Reference, config: ModelConfig) -> TaskSpec | None:
    target = reference.target
    if target is None:
        return None
    perf = reference.performance
    ps = config.performance
    if perf is not None:
        task = perf["task"]
        positive = config.positive_class or perf.get("positive_class")
        threshold = ps.threshold if ps.threshold is not None else float(perf.get("threshold") or 0.5)
        # the reference's metrics are a baseline only when they were computed by the same conventions
        same = (positive == perf.get("positive_class")
                and (task != "binary" or threshold == float(perf.get("threshold") or 0.5)))
        labelled = int(perf.get("labelled") or 0) or None
        if task == "regression":
            lm = perf.get("loss_model")
            return TaskSpec(task, None, threshold, [], estimates_of(perf["metrics"]),
                            loss_model=LossModel.from_dict(lm) if lm else None, segments=_segment_baselines(perf),
                            baseline_labels=labelled)
        cal = perf.get("calibration")
        binary = task == "binary"
        usable = cal is not None and (positive == perf.get("positive_class") if binary else True)
        # a multiclass calibration reads class-probability vectors and stores no threshold
        kind = Calibration if binary else MulticlassCalibration
        return TaskSpec(task, positive if binary else None, threshold, list(perf.get("classes") or []),
                        estimates_of(perf["metrics"]) if same else None,
                        kind.from_dict(cal.get("map")) if usable else None,
                        bool(cal.get("recalibrated")) if usable else False,
                        cal.get("proxies") if usable and cal.get("threshold") == (threshold if binary else None)
                        else None, segments=_segment_baselines(perf) if same else None,
                        baseline_labels=labelled)
    spec = reference.specs[target]
    prof = reference.profile.columns[target]
    threshold = ps.threshold if ps.threshold is not None else 0.5
    if spec.kind is Kind.BOOLEAN:
        return TaskSpec("binary", config.positive_class or "true", threshold, ["false", "true"], None)
    if spec.kind is Kind.NUMERIC:
        num = prof.numeric
        if num is not None and num.n and num.min == 0 and num.max == 1 and num.moments.mean not in (0.0, 1.0):
            # 0/1 targets profiled as numbers: a binary model (a regression target would take other values)
            return TaskSpec("binary", config.positive_class or "1", threshold, ["0", "1"], None)
        return TaskSpec("regression", None, threshold, [], None)
    classes = sorted(str(c) for c in (spec.categories or []))
    if len(classes) <= 2:
        return TaskSpec("binary", positive_of(classes, config.positive_class), threshold, classes, None)
    return TaskSpec("multiclass", None, threshold, classes, None)


def pcfg_of(config: ModelConfig, spec: TaskSpec) -> PerformanceConfig:
    ps = config.performance
    return PerformanceConfig(threshold=spec.threshold, positive_class=spec.positive, tolerance=ps.tolerance,
                             min_labels=ps.min_labels, min_support=ps.min_support, alpha=ps.alpha, resamples=200,
                             watched=tuple(ps.watched) if ps.watched else None)


class _Version:
    """One version's labelled pairs of a loaded period, as its task reads them, in ascending score order
    for a binary task (so every subset taken in order is sorted), with each segment dimension coded as
    integers (-1: no value) over the values that get a segment of their own, the rest one ``__other__``."""

    def __init__(self, pairs: pa.Table, spec: TaskSpec, dims: list[str], top: list[set[str]]) -> None:
        self.spec = spec
        label = pairs.column("label")
        has_label = np.asarray(label.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        raw: np.ndarray | None = None  # multiclass: the class probabilities as sent, in the calibration's order
        if spec.task == "regression":
            y = pc.cast(label, pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(np.float64)
            score = pairs.column("prediction").to_numpy(zero_copy_only=False).astype(np.float64)
            has_label = has_label & np.isfinite(y)
            # unlabelled predictions stay when the loss model can estimate them
            keep = np.isfinite(score) & (has_label | (spec.loss_model is not None))
        elif spec.task == "binary":
            pos = spec.positive or "1"
            y = pc.fill_null(pc.equal(label, pos), False).to_numpy(zero_copy_only=False).astype(np.int8)
            score = pairs.column("prediction").to_numpy(zero_copy_only=False).astype(np.float64)
            hard = pc.fill_null(pc.equal(pairs.column("prediction_label"), pos), False)
            score = np.where(np.isnan(score), hard.to_numpy(zero_copy_only=False).astype(np.float64), score)
            # unlabelled predictions stay when they can be estimated (CBPE); otherwise only labelled rows count
            keep = has_label if spec.calibration is None else np.ones(len(y), dtype=bool)
        else:
            y = np.asarray(label.to_pylist(), dtype=object)
            score = np.asarray(pairs.column("prediction_label").to_pylist(), dtype=object)
            keep = has_label & np.array([v is not None for v in score], dtype=bool)
            if isinstance(spec.calibration, MulticlassCalibration):
                raw = _probability_matrix(pairs.column("probabilities"), spec.calibration.classes)
                keep = keep | ~np.isnan(raw[:, 0])  # unlabelled predictions with probabilities: estimated
                if np.isnan(raw[:, 0]).all():
                    raw = None  # no prediction carried its probabilities: nothing to estimate
        ts = pairs.column("ts").to_numpy()
        first = pairs.column("first_arrival").to_numpy(zero_copy_only=False).astype(np.float64)
        lag = np.maximum(first - ts, 0.0)
        if spec.task == "binary":
            order = np.argsort(score, kind="stable")
            rows = order[keep[order]]
        else:
            rows = np.flatnonzero(keep)
        self.y, self.score, self.ts, self.lag = y[rows], score[rows], ts[rows], lag[rows]
        self.has_label = has_label[rows]
        self.all_labelled = bool(self.has_label.all())
        self.raw = None if raw is None else raw[rows]
        if self.raw is not None:
            assert spec.calibration is not None
            self.p: np.ndarray | None = spec.calibration(self.raw)
        else:
            self.p = spec.calibration(self.score) if isinstance(spec.calibration, Calibration) else None
        self.codes: list[np.ndarray] = []
        self.names: list[np.ndarray] = []  # per dimension: code -> value (the last entry, None, for -1)
        take = pa.array(rows)
        for k in range(len(dims)):
            col = pairs.column(f"s{k}").take(take)
            values = [*sorted(top[k]), OTHER]
            code = pc.index_in(col, value_set=pa.array(values[:-1], pa.string())).to_numpy(zero_copy_only=False)
            code = np.where(np.isnan(code.astype(np.float64)), len(values) - 1, code).astype(np.int64)
            code[np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = -1
            self.codes.append(code)
            self.names.append(np.array([*values, None], dtype=object))
        self._windows: dict[float, dict[float, np.ndarray]] = {}

    def rows_in(self, g: float, start: float) -> np.ndarray:
        """Indices of the rows predicted in [start, start + g), in the loaded order."""
        by_start = self._windows.get(g)
        if by_start is None:
            bucket = np.floor(self.ts / g)
            first = float(bucket.min()) if bucket.size else 0.0
            rel = (bucket - first).astype(np.int64)  # small integers: grouped by a linear radix sort
            by_start = self._windows[g] = {(first + int(b)) * g: idx for b, idx in _groups(rel)}
        return by_start.get(start, np.zeros(0, dtype=np.int64))

    def labelled(self, idx: np.ndarray) -> Labelled:
        return Labelled(self.spec.task, self.y[idx], self.score[idx], self.spec.classes, self.spec.positive)

    def estimable(self, idx: np.ndarray) -> np.ndarray:
        """The rows of ``idx`` that label-free estimates can read: multiclass ones need their probabilities."""
        return idx if self.raw is None else idx[~np.isnan(self.raw[idx, 0])]

    def cbpe(self, idx: np.ndarray) -> tuple[dict[str, Estimate], dict[str, Any]]:
        """Label-free estimates (CBPE) and proxies of rows ``idx`` (``estimable`` ones, in the loaded order)."""
        assert self.p is not None
        if self.raw is None:
            p, s = self.p[idx], self.score[idx]
            return estimate_binary(p, s, threshold=self.spec.threshold, presorted=True), \
                proxies(p, s, self.spec.threshold)
        assert isinstance(self.spec.calibration, MulticlassCalibration)
        P, raw = self.p[idx], self.raw[idx]
        pred = raw.argmax(axis=1)  # the predicted class: the most probable as sent, as the event's label is
        return estimate_multiclass(P, pred, raw), multiclass_proxies(P, pred, self.spec.calibration.classes)


def _probability_matrix(texts: pa.ChunkedArray, classes: tuple[str, ...]) -> np.ndarray:
    """Rows x ``classes`` from the index's probabilities JSON (parsed by Arrow's JSON reader, not row by row
    in Python): a class an event left out is 0, an event without probabilities a row of NaN."""
    out = np.full((len(texts), len(classes)), np.nan)
    valid = np.asarray(texts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if not valid.any() or not classes:
        return out
    body = "\n".join(pc.fill_null(texts, "{}").to_pylist()).encode()
    opts = pa_json.ParseOptions(explicit_schema=pa.schema([(c, pa.float64()) for c in classes]),
                                unexpected_field_behavior="ignore")
    table = pa_json.read_json(io.BytesIO(body), parse_options=opts)
    for k in range(len(classes)):
        out[valid, k] = pc.fill_null(table.column(k), 0.0).to_numpy(zero_copy_only=False)[valid]
    return out


def _groups(keys: np.ndarray) -> list[tuple[Any, np.ndarray]]:
    """(key, row indices) per distinct key; a stable sort keeps each group's rows in their given order."""
    if not keys.size:
        return []
    if keys.dtype.kind in "iu" and -32768 <= int(keys.min()) and int(keys.max()) < 32767:
        keys = keys.astype(np.int16)  # numpy's stable sort of 16-bit integers is a radix sort: linear
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    cuts = np.flatnonzero(k[1:] != k[:-1]) + 1
    return [(k[a], order[a:b]) for a, b in zip(np.r_[0, cuts], np.r_[cuts, k.size])]


def _estimate_dict(e: Estimate) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in e.to_dict().items()}


class PerformanceJob:
    """Finds the performance windows whose labels, outcomes or predictions changed and recomputes them."""

    def __init__(self, store: Store, every: float = 10.0, memory: tuple[str, str] | None = None) -> None:
        self.store = store
        self.every = every
        self.memory = memory  # DuckDB's memory limit while a period is computed, and the one to restore
        self.through: dict[str, float] = {}  # model -> the clock up to which changes were looked for
        self.dirty: dict[str, dict[tuple[float, float], float]] = {}  # model -> (g, start) -> found at
        self.done: dict[tuple[str, float, float], float] = {}  # (model, g, start) -> monotonic time computed
        self.computed = 0  # windows computed, for tests and logs
        self._trailing: dict[tuple[str, str, str, float], dict[str, Estimate] | None] = {}

    def _interval(self, g: float) -> float:
        return max(self.every, g / 24)

    def run(self, state: ModelState, now: float, force: bool = False) -> int:
        """One pass for one model (``ModelState``); returns the windows computed."""
        model = state.name
        since = self.through.get(model)
        if since is None:
            stored = self.store.get_meta(f"performance_through:{model}")
            since = float(stored) if stored else 0.0
        grans = state.granularities
        dirty = self.dirty.setdefault(model, {})
        for b in self.store.changed_buckets(model, since - OVERLAP, grans[0]):
            for g in grans:
                dirty.setdefault((g, math.floor(b / g) * g), since)
        self.through[model] = now
        mono = time.monotonic()
        due = [k for k in dirty if force or mono - self.done.get((model, *k), -math.inf) >= self._interval(k[0])]
        if not due:
            return 0
        self._trailing.clear()
        top = grans[-1]
        by_top: dict[float, list[tuple[float, float]]] = {}
        for g, start in due:
            by_top.setdefault(math.floor(start / top) * top, []).append((g, start))
        n = 0
        for keys in by_top.values():
            try:
                if self.memory is not None:
                    self.store.set_memory_limit(self.memory[0])
                try:
                    rows, findings = self._compute(state, keys, now)
                finally:
                    if self.memory is not None:
                        self.store.set_memory_limit(self.memory[1])
                self.store.save_performance(model, keys, rows, findings)
            except Exception:  # one bad period must not stop the others; it stays dirty and is retried
                log.exception("performance of %r for %s failed", model, keys[:3])
                continue
            for k in keys:
                dirty.pop(k, None)
                self.done[(model, *k)] = mono
            n += len(keys)
        # what is still marked was found at or after its "found at": a restart looks again from there
        mark = min([now, *dirty.values()])
        self.store.set_meta(f"performance_through:{model}", repr(mark))
        self.computed += n
        return n

    # -- one period ------------------------------------------------------------------------------
    def _compute(self, state: ModelState, keys: list[tuple[float, float]], now: float
                 ) -> tuple[list[PerformanceRow], list[FindingRow]]:
        cfg: ModelConfig = state.config
        dims = list(cfg.segments)
        lo = min(s for _, s in keys)
        hi = max(s + g for g, s in keys)
        pairs = self.store.labelled_pairs(state.name, lo, hi, dims, labelled_only=False)
        counts = self.store.prediction_counts(state.name, lo, hi, state.granularities[0], dims)
        outcomes = self.store.outcome_sums(state.name, lo, hi, dims) if state.outcome_names else None
        versions = sorted(set(pc.unique(counts.column("version")).to_pylist())
                          | set(pc.unique(pairs.column("version")).to_pylist()))
        rows: list[PerformanceRow] = []
        findings: list[FindingRow] = []
        for version in versions:
            spec = task_of(state.ref(version).reference, cfg)
            vp = pairs.filter(pc.equal(pairs.column("version"), version))
            vc = counts.filter(pc.equal(counts.column("version"), version))
            vo = outcomes.filter(pc.equal(outcomes.column("version"), version)) if outcomes is not None else None
            top_values = self._top_values(vc, dims, cfg.max_segment_values)
            data = _Version(vp, spec, dims, top_values) if spec is not None and vp.num_rows else None
            for g, start in keys:
                rows_v, f_v = self._window(state, version, spec, data, vc, vo, dims, top_values, g, start, now)
                rows.extend(rows_v)
                findings.extend(f_v)
        if outcomes is not None:
            findings.extend(self._outcome_findings(state, rows, now))
        return rows, findings

    def _outcome_findings(self, state: ModelState, rows: list[PerformanceRow], now: float) -> list[FindingRow]:
        """``outcome_drop`` of each whole-traffic window computed now (``checks/outcomes.py``), judged on the
        windows before it as stored, and as computed in this same pass (which may revise them)."""
        pcfg = state.config.performance
        fresh: dict[tuple[str, float], dict[float, dict[str, Any]]] = {}
        for r in rows:
            if r.segment == OVERALL and r.outcomes:
                fresh.setdefault((r.version, r.granularity), {})[r.start] = orjson.loads(r.outcomes)
        out: list[FindingRow] = []
        for (version, g), mine in fresh.items():
            since = min(mine) - pcfg.trailing - pcfg.outcome_windows * g
            series: dict[float, dict[str, Any]] = {
                p["start_ts"]: orjson.loads(p["outcomes"])
                for p in self.store.performance(state.name, since=since, until=max(mine) + g, version=version,
                                                segment=OVERALL, granularity=g, limit=OUTCOME_ROWS)
                if p["outcomes"]}
            series.update(mine)
            for start in sorted(mine):
                for f in outcome_drops(series, start, g, windows=pcfg.outcome_windows, trailing=pcfg.trailing,
                                       alpha=pcfg.alpha):
                    out.append(FindingRow(state.name, version, OVERALL, g, start, start + g, f.check, f.column,
                                          f.severity.value, f.message, orjson.dumps(f.evidence, default=_default)
                                          .decode(), now))
        return out

    @staticmethod
    def _top_values(counts: pa.Table, dims: list[str], limit: int) -> list[set[str]]:
        """Per dimension, the values that get a segment of their own (the most frequent ``limit``; the rest
        are one ``__other__`` segment, as windows do)."""
        out = []
        for k in range(len(dims)):
            col = f"s{k}"
            tot: dict[str, int] = {}
            for v, c in zip(counts.column(col).to_pylist(), counts.column("n").to_pylist()):
                if v is not None:
                    tot[v] = tot.get(v, 0) + c
            out.append(set(sorted(tot, key=lambda v: (-tot[v], v))[:limit]))
        return out

    def _window(self, state: ModelState, version: str, spec: TaskSpec | None, data: _Version | None, counts: pa.Table,
                outcomes: pa.Table | None, dims: list[str], top: list[set[str]], g: float, start: float, now: float
                ) -> tuple[list[PerformanceRow], list[FindingRow]]:
        cfg: ModelConfig = state.config
        end = start + g
        # predictions per segment of this window
        b = counts.column("b").to_numpy()
        inside = (b >= start) & (b < end)
        n_all = counts.column("n").to_numpy()
        predictions: dict[str, int] = {OVERALL: int(n_all[inside].sum())}
        for k, dim in enumerate(dims):
            vals = counts.column(f"s{k}").to_pylist()
            for v, c, ok in zip(vals, n_all.tolist(), inside.tolist()):
                if ok and v is not None:
                    seg = f"{dim}={v if v in top[k] else OTHER}"
                    predictions[seg] = predictions.get(seg, 0) + c
        # rows of this window, per segment (indices in score order): all loaded, and the labelled ones
        every: dict[str, np.ndarray] = {}
        members: dict[str, np.ndarray] = {}
        if data is not None:
            idx = data.rows_in(g, start)
            every[OVERALL] = idx
            for k, dim in enumerate(dims):
                for code, rows in _groups(data.codes[k][idx]):
                    if code >= 0:
                        every[f"{dim}={data.names[k][int(code)]}"] = idx[rows]
            if data.all_labelled:
                members = every
            else:
                members = {seg: m[data.has_label[m]] for seg, m in every.items()}
                members = {seg: m for seg, m in members.items() if m.size}
        out_sums = self._outcomes(outcomes, dims, top, start, end) if outcomes is not None else {}
        pcfg = pcfg_of(cfg, spec) if spec is not None else None
        rows, findings = [], []
        done: list[dict[str, Any]] = []  # per segment, what its row is made of once the segments are judged
        gaps: dict[str, dict[str, Any]] = {}  # segment -> its gap to the rest of the window (weak_segments)
        for seg in sorted(set(predictions) | set(members)):
            n_pred = predictions.get(seg, 0)
            idx = members.get(seg)
            n_lab = 0 if idx is None else int(idx.size)
            metrics: dict[str, Estimate] = {}
            lag50 = lag90 = None
            seg_findings: list[Finding] = []
            if spec is None:
                status = "no_target"
            elif n_lab == 0:
                status = "insufficient_data"
            else:
                assert data is not None and idx is not None and pcfg is not None
                lab = data.labelled(idx)
                metrics = self._metrics(lab, pcfg)
                lag50, lag90 = (float(x) for x in np.quantile(data.lag[idx], [0.5, 0.9]))
                status = "insufficient_data"
                if seg == OVERALL:  # segments are judged together below (judge_segments)
                    base = self._baseline(state, version, seg, spec, pcfg, start)
                    if n_lab < pcfg.min_labels:
                        status = "insufficient_data"
                    elif base is None:
                        status = "no_baseline"
                    else:
                        seg_findings = compare(metrics, base, spec.task, pcfg)
                        status = "degraded" if seg_findings else "ok"
                if seg == OVERALL and dims and n_lab >= 2 * pcfg.min_support:
                    seg_cols: Segments = {dim: (data.codes[k][idx], data.names[k][:-1]) for k, dim in enumerate(dims)}
                    gap_rows, weak = segment_findings(lab, seg_cols, pcfg, seed=3)
                    seg_findings.extend(weak)
                    gaps = {f"{r['column']}={r['value']}": r for r in gap_rows}
            estimated_json = None
            est: dict[str, Estimate] | None = None
            if spec is not None and data is not None and seg in every and (data.p is not None
                                                                           or spec.loss_model is not None):
                rows_all = every[seg] if data.p is None else data.estimable(every[seg])
                doc: dict[str, Any] = {"predictions": int(rows_all.size)}
                if data.p is not None:
                    est, prox = data.cbpe(rows_all)
                    doc.update({"method": "cbpe", "recalibrated": spec.recalibrated, "assumes": ASSUMPTION,
                                "proxies": {k: v for k, v in prox.items() if k != "n"}})
                    if seg == OVERALL and spec.proxies and pcfg is not None and rows_all.size >= pcfg.min_labels:
                        seg_findings.extend(_proxy_findings(proxy_shifts(prox, spec.proxies, alpha=pcfg.alpha)))
                else:
                    assert spec.loss_model is not None
                    est = spec.loss_model.estimate(data.score[rows_all])
                    doc.update({"method": "loss_model", "assumes": LOSS_ASSUMPTION})
                doc["metrics"] = {k: _estimate_dict(v) for k, v in est.items()}
                estimated_json = orjson.dumps(doc).decode()
                if pcfg is not None and n_lab < pcfg.min_labels and rows_all.size >= pcfg.min_labels:
                    base = self._baseline(state, version, seg, spec, pcfg, start)
                    if base is not None:
                        seg_findings.extend(_estimated(compare(est, base, spec.task, pcfg,
                                                               "" if seg == OVERALL else f" in {seg}"),
                                                       str(doc["assumes"])))
            outcome_json = None
            if out_sums:
                outcome_json = orjson.dumps({name: self._outcome_summary(per.get(seg), n_pred)
                                             for name, per in out_sums.items()}).decode()
            done.append({"seg": seg, "predictions": n_pred, "labels": n_lab, "lag": (lag50, lag90), "status": status,
                         "metrics": metrics, "outcomes": outcome_json, "estimated": estimated_json,
                         "findings": seg_findings, "verdict": None})
        if spec is not None and pcfg is not None:
            judged = [d for d in done if d["seg"] != OVERALL]
            cases = [self._segment_case(state, version, d["seg"], d["labels"], d["metrics"], spec, pcfg, start)
                     for d in judged]
            for c, d in zip(cases, judged):
                c.gap = gaps.get(d["seg"])
            by_seg = {d["seg"]: d for d in judged}
            for v in judge_segments(cases, spec.task, pcfg):
                d = by_seg[f"{v.case.column}={v.case.value}"]
                d["status"], d["verdict"] = v.row["status"], v.row
                d["findings"].extend(v.findings)
        parents: dict[tuple[str, str | None], FindingRow] = {}
        for d in sorted(done, key=lambda d: d["seg"] != OVERALL):  # a segment's repeat links to the whole's
            metrics_doc: dict[str, Any] = {k: _estimate_dict(v) for k, v in d["metrics"].items()}
            if d["verdict"] is not None:
                metrics_doc[VERDICT_KEY] = d["verdict"]
            rows.append(PerformanceRow(
                state.name, version, d["seg"], g, start, end, d["predictions"], d["labels"], *d["lag"], d["status"],
                orjson.dumps(metrics_doc, default=_default, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
                d["outcomes"], now, d["estimated"]))
            mine = [FindingRow(state.name, version, d["seg"], g, start, end, f.check, f.column, f.severity.value,
                               f.message, orjson.dumps(f.evidence, default=_default,
                                                       option=orjson.OPT_SERIALIZE_NUMPY).decode(), now)
                    for f in d["findings"]]
            if d["seg"] == OVERALL:
                parents = by_check(mine)
            else:
                link_repeats(mine, parents)
            findings.extend(mine)
        return rows, findings

    def _segment_case(self, state: ModelState, version: str, seg: str, labels: int, metrics: dict[str, Estimate],
                      spec: TaskSpec, pcfg: PerformanceConfig, start: float) -> SegmentCase:
        """What a segment window is judged against: its own segment of the reference (stored in the
        baseline) or of the trailing period, else the whole reference or trailing period, saying why."""
        dim, value = seg.split("=", 1)
        cfg: ModelConfig = state.config
        if cfg.performance.baseline == "trailing":
            own = self._baseline(state, version, seg, spec, pcfg, start)
            if own is not None:
                return SegmentCase(dim, value, labels, metrics, own, "trailing_segment", _labels_of(own))
            whole = self._baseline(state, version, OVERALL, spec, pcfg, start)
            note = (f"fewer than {pcfg.min_labels} labels of this segment in the trailing period: judged against "
                    "the whole trailing period")
            return SegmentCase(dim, value, labels, metrics, whole, "trailing" if whole is not None else None,
                               _labels_of(whole) if whole is not None else None, note=note)
        if spec.baseline is None:
            return SegmentCase(dim, value, labels, metrics, None, None,
                               note="the reference's metrics were computed with another threshold or positive "
                                    "class, or the baseline has none")
        ref_n: int | None = None
        new = False
        if value == OTHER:
            note = (f"values past max_segment_values ({cfg.max_segment_values}) share this segment, which the "
                    "reference cannot match: judged against the whole reference")
        elif spec.segments is None or dim not in spec.segments:
            note = (f"the baseline has no per-segment performance for {dim!r} (rebuild it with the column in the "
                    "reference data): judged against the whole reference")
        else:
            ref_n, own_m = spec.segments[dim].get(value, (0, None))
            if own_m is not None and ref_n >= pcfg.min_support:
                return SegmentCase(dim, value, labels, metrics, own_m, "segment", ref_n, reference_labels=ref_n)
            new = ref_n == 0
            note = ("absent from the reference: judged against the whole reference" if new else
                    f"only {ref_n} reference labels (fewer than {pcfg.min_support}): judged against the whole "
                    "reference")
        return SegmentCase(dim, value, labels, metrics, spec.baseline, "reference", spec.baseline_labels, new=new,
                           note=note, reference_labels=ref_n)

    @staticmethod
    def _metrics(lab: Labelled, pcfg: PerformanceConfig) -> dict[str, Estimate]:
        if lab.task == "binary":
            from argusml.stats.performance import binary_metrics

            return binary_metrics(lab.y, lab.score, threshold=pcfg.threshold, ece_bins=pcfg.ece_bins,
                                  resamples=pcfg.resamples, presorted=True)
        return metrics_of(lab, pcfg)

    def _baseline(self, state: ModelState, version: str, seg: str, spec: TaskSpec, pcfg: PerformanceConfig,
                  start: float) -> dict[str, Estimate] | None:
        cfg: ModelConfig = state.config
        if cfg.performance.baseline == "reference":
            return spec.baseline if seg == OVERALL else None  # segments: ranked against the rest instead
        day = math.floor(start / 86400) * 86400
        key = (state.name, version, seg, day)
        if key not in self._trailing:
            self._trailing[key] = self._trailing_metrics(state, version, seg, spec, pcfg, day)
        return self._trailing[key]

    def _trailing_metrics(self, state: ModelState, version: str, seg: str, spec: TaskSpec, pcfg: PerformanceConfig,
                          day: float) -> dict[str, Estimate] | None:
        cfg: ModelConfig = state.config
        dims = list(cfg.segments)
        pairs = self.store.labelled_pairs(state.name, day - cfg.performance.trailing, day, dims, version=version,
                                          sample=TRAILING_SAMPLE)
        if seg != OVERALL:
            dim, value = seg.split("=", 1)
            pairs = pairs.filter(pc.equal(pairs.column(f"s{dims.index(dim)}"), value)) if value != OTHER else \
                pairs.slice(0, 0)
        if pairs.num_rows < pcfg.min_labels:
            return None
        data = _Version(pairs, spec, dims, [set() for _ in dims])
        return self._metrics(data.labelled(np.arange(data.y.size)), pcfg)

    @staticmethod
    def _outcomes(outcomes: pa.Table, dims: list[str], top: list[set[str]], start: float, end: float
                  ) -> dict[str, dict[str, list[float]]]:
        """name -> segment -> per-prediction sums of the predictions of [start, end) with that outcome."""
        ts = outcomes.column("ts").to_numpy()
        sel = np.flatnonzero((ts >= start) & (ts < end))
        names = outcomes.column("name").to_pylist()
        values = outcomes.column("value").to_pylist()
        seg_vals = [outcomes.column(f"s{k}").to_pylist() for k in range(len(dims))]
        out: dict[str, dict[str, list[float]]] = {}
        for i in sel.tolist():
            per = out.setdefault(names[i], {})
            per.setdefault(OVERALL, []).append(values[i])
            for k, dim in enumerate(dims):
                v = seg_vals[k][i]
                if v is not None:
                    per.setdefault(f"{dim}={v if v in top[k] else OTHER}", []).append(values[i])
        return out

    @staticmethod
    def _outcome_summary(values: list[float] | None, predictions: int) -> dict[str, Any]:
        """Per prediction of the window (those without the outcome count as 0): the rate of predictions
        with a non-zero outcome (Wilson) and the mean value per prediction (normal interval), the total."""
        v = np.asarray(values or [], dtype=np.float64)
        n = max(predictions, int(v.size))
        total = float(v.sum())
        hits = int((v != 0).sum())
        mean = total / n if n else float("nan")
        if n >= 2:
            ss = float((v * v).sum()) - n * mean * mean  # the zeros add (0 - mean)^2 each: folded in here
            half = 1.959963984540054 * math.sqrt(max(ss, 0.0) / (n - 1) / n)
            per = Estimate(mean, mean - half, mean + half, n, "normal")
        else:
            per = Estimate(mean, float("nan"), float("nan"), n, "normal")
        return {"predictions": n, "with_outcome": hits, "total": total, "sum_squares": float((v * v).sum()),
                "rate": _estimate_dict(proportion(hits, n)), "per_prediction": _estimate_dict(per)}


VERDICT_KEY = "_verdict"
"""Where a segment window's verdict (``judge_segments``'s row: status, baseline, drops, rank, gap) is kept:
inside its metrics JSON, which only the performance endpoint reads for segment rows; the endpoint moves it
to ``segment_verdict``. (The performance table has no column for it; a dedicated one would be cleaner.)"""


def _labels_of(metrics: dict[str, Estimate]) -> int | None:
    """The labelled rows behind a set of metrics (accuracy, MAE and R² count them all)."""
    return max((e.n for e in metrics.values()), default=None)


ASSUMPTION = ("the model's probabilities, calibrated on the reference, still hold: the inputs may shift, the "
              "relation between inputs and outcome may not (only labels reveal that)")


def _proxy_findings(shifts: list[dict[str, Any]]) -> list[Finding]:
    words = {"high_confidence_rate": "share of confident predictions", "positive_rate": "share predicted positive",
             "entropy_mean": "mean prediction entropy (over its maximum; bits for two classes)"}
    out = []
    for s in shifts:
        what = words.get(s["proxy"]) or f"share predicted {s['class']!r}"  # class_ratio: the class that moved most
        out.append(Finding("proxy_shift", None, DEFAULT_SEVERITY["proxy_shift"],
                           f"{what} {s['current']:.3g} against {s['reference']:.3g} on the reference "
                           f"(change {s['change']:+.3g}, beyond {s['threshold']:g}; p {s['p_value']:.2g})", s))
    return out


def _estimated(findings: list[Finding], assumes: str) -> list[Finding]:
    """A drop in the label-free estimate: weaker evidence than labels (it rests on ``assumes``), so P2,
    and only where too few labels exist to judge the window itself."""
    return [Finding("estimated_performance_drop", f.column, DEFAULT_SEVERITY["estimated_performance_drop"],
                    f"estimated (no labels yet) {f.message}", {**f.evidence, "assumes": assumes})
            for f in findings]


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)
