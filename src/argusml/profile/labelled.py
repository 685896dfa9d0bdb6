"""Labelled rows read for one task, and their metrics.

Below ``checks`` because a reference's own performance is part of the
reference (its "reference performance", docs/PERFORMANCE.md), computed when the baseline
is made, and because the service reads (prediction, label) pairs from its
store into the same ``Labelled`` form. One reading of "what is the positive
class, which rows count, which task is this" serves the batch report, the
baseline and the service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from argusml.profile.frame import TableSource, class_probabilities, most_probable
from argusml.schema import InputError
from argusml.stats.cbpe import (
    Calibration,
    MulticlassCalibration,
    calibration_test,
    calibration_test_multiclass,
    isotonic,
    isotonic_multiclass,
    multiclass_proxies,
    proxies,
)
from argusml.stats.loss_estimate import LossModel
from argusml.stats.performance import Estimate, binary_metrics, multiclass_metrics, regression_metrics

POSITIVE_NAMES = ("1", "true", "yes", "positive")
"""A binary target's positive class when none is configured: the first of these present, else the last class."""


@dataclass
class PerformanceConfig:
    """How model quality is measured and judged: the decision threshold, the positive class, the
    tolerated drop, and the sizes below which a window or segment is not judged.

    Scores 0.9, 0.2, 0.4, 0.7 for labels 1, 0, 1, 1: at the default threshold 0.5 the 0.4 is called
    negative, so 3 of 4 are right; at 0.3 all 4 are.

    >>> lab = Labelled("binary", np.array([1, 0, 1, 1]), np.array([0.9, 0.2, 0.4, 0.7]))
    >>> metrics_of(lab, PerformanceConfig())["accuracy"].value, metrics_of(lab, PerformanceConfig(threshold=0.3))["accuracy"].value
    (0.75, 1.0)
    """

    threshold: float = 0.5
    positive_class: str | None = None
    tolerance: float = 0.05  # relative
    min_labels: int = 100
    min_support: int = 50
    alpha: float = 0.05
    ece_bins: int = 10
    resamples: int = 500
    watched: tuple[str, ...] | None = None


@dataclass
class Labelled:
    """Target and prediction of the labelled rows, read for one task.

    A text target yes/no with a probability column is binary, its positive class "yes" (a known
    positive name); the row without a target is counted, not kept.

    >>> src = TableSource.from_frame(pa.table({"y": ["yes", "no", "yes", None], "p": [0.9, 0.2, 0.4, 0.7]}))
    >>> lab = read_labelled(src, "y", "p", PerformanceConfig())
    >>> lab.task, lab.positive, lab.y.tolist(), lab.score.tolist(), lab.unlabelled
    ('binary', 'yes', [1, 0, 1], [0.9, 0.2, 0.4], 1)
    >>> lab.subset(np.array([0, 2])).y.tolist()
    [1, 1]
    """

    task: str  # binary | multiclass | regression
    y: np.ndarray
    score: np.ndarray  # binary: positive probability; regression: prediction; multiclass: predicted label
    classes: list[str] = field(default_factory=list)
    positive: str | None = None
    unlabelled: int = 0
    keep: np.ndarray | None = None  # which rows of the source these are
    proba: np.ndarray | None = None  # multiclass, when the prediction carried them: rows x ``proba_classes``
    proba_classes: list[str] = field(default_factory=list)

    def subset(self, rows: np.ndarray) -> Labelled:
        return Labelled(self.task, self.y[rows], self.score[rows], self.classes, self.positive,
                        proba=None if self.proba is None else self.proba[rows], proba_classes=self.proba_classes)


def strings(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.array([None if v is None else str(v) for v in arr.to_pylist()], dtype=object)


def _is_numeric(arr: pa.ChunkedArray) -> bool:
    t = arr.type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def positive_of(classes: list[str], configured: str | None) -> str:
    if configured is not None:
        return configured
    return next((c for c in classes if c.lower() in POSITIVE_NAMES), classes[-1] if classes else "1")


def read_labelled(src: TableSource, target: str, prediction: str, cfg: PerformanceConfig,
                  task: str | None = None, positive: str | None = None) -> Labelled:
    """The rows with a target, as the task needs them. ``task``/``positive`` pin what the reference decided."""
    for col, what in ((target, "target"), (prediction, "prediction")):
        if col not in src.columns:
            raise InputError(f"{what} column {col!r} not found; columns: {', '.join(src.columns[:20])}",
                             path=src.name)
    t, p = src.column(target), src.column(prediction)
    probs = class_probabilities(p)  # {class: probability} predictions: read as their most probable class
    p = most_probable(p)
    t_null = np.asarray(t.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    p_null = np.asarray(p.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    keep = ~t_null & ~p_null
    t_str = class_text(t)
    distinct = sorted({v for v in t_str[keep].tolist()})
    if task is None:
        if _is_numeric(t) and not pa.types.is_boolean(t.type) and len(distinct) > 2 and _is_numeric(p):
            task = "regression" if len(distinct) > 20 or pa.types.is_floating(t.type) else "multiclass"
        else:
            task = "binary" if len(distinct) <= 2 else "multiclass"
    n_unlabelled = int((~keep).sum())
    if task == "regression":
        y = np.asarray(t.to_numpy(zero_copy_only=False), dtype=np.float64)[keep]
        score = np.asarray(p.to_numpy(zero_copy_only=False), dtype=np.float64)[keep]
        return Labelled(task, y, score, unlabelled=n_unlabelled, keep=keep)
    if task == "binary":
        pos = positive or positive_of(distinct, cfg.positive_class)
        y = (t_str[keep] == pos).astype(np.int64)
        if _is_numeric(p) and not pa.types.is_boolean(p.type):
            score = np.asarray(p.to_numpy(zero_copy_only=False), dtype=np.float64)[keep]
        else:  # a predicted label: the score is 1 for the positive class, 0 otherwise
            score = (class_text(p)[keep] == pos).astype(np.float64)
        return Labelled(task, y, score, classes=distinct, positive=pos, unlabelled=n_unlabelled, keep=keep)
    return Labelled("multiclass", t_str[keep], class_text(p)[keep], classes=distinct, unlabelled=n_unlabelled,
                    keep=keep, proba=None if probs is None else probs[1][keep],
                    proba_classes=[] if probs is None else probs[0])


def class_text(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Class labels as the service stores them: booleans ``true``/``false``, integral numbers without ``.0``.

    By Arrow casts where the spelling is the cast's (booleans, integers, integral floats, text): one
    vectorised pass instead of a Python loop over every label (docs/BENCHMARKS.md, "Figures behind the code")."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr, t = arr.cast(t.value_type), t.value_type
    if pa.types.is_boolean(t):
        text = pc.if_else(arr, "true", "false")
    elif pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        text = arr.cast(pa.string())
    elif pa.types.is_floating(t):
        v = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
        ok = ~np.isnan(v)
        if int((~ok).sum()) != arr.null_count or not (np.all(np.isfinite(v[ok])) and np.all(v[ok] == np.round(v[ok]))
                                                       and np.all(np.abs(v[ok]) < 2**53)):
            return np.array([None if x is None else number_text(x) for x in arr.to_pylist()], dtype=object)
        text = pc.cast(pc.cast(arr, pa.int64()), pa.string())  # every value integral: "1", not "1.0"
    else:
        return strings(arr)
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


def number_text(v: float) -> str:
    """``1.0`` -> ``"1"``, ``0.25`` -> ``"0.25"``: one spelling of a number used as a class label."""
    f = float(v)
    return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)


def metrics_of(lab: Labelled, cfg: PerformanceConfig, seed: int = 0) -> dict[str, Estimate]:
    if lab.task == "regression":
        return regression_metrics(lab.y, lab.score, resamples=cfg.resamples, seed=seed)
    if lab.task == "binary":
        return binary_metrics(lab.y, lab.score, threshold=cfg.threshold, ece_bins=cfg.ece_bins,
                              resamples=cfg.resamples, seed=seed)
    classes = sorted(set(lab.classes) | set(lab.score.tolist()))
    onehot = (lab.score[:, None] == np.array(classes, dtype=object)[None, :]).astype(np.float64)
    # predicted labels carry no probabilities: the metrics that need them would only describe the one-hot
    return multiclass_metrics(lab.y, onehot, classes, ece_bins=cfg.ece_bins, resamples=cfg.resamples, seed=seed,
                              probabilities=False)


def segment_codes(arr: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A segment column as (code per row, -1 for none; the value of each code), values spelled ``str(v)``
    as the service spells an event's segment value, so a baseline's segments and the windows' agree.

    Arrow's dictionary encoding does the per-row work: spelling every value one by one in Python is slow
    on large tables (docs/BENCHMARKS.md, "Figures behind the code"), the dictionary's few values cost nothing."""
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    arr = arr.unify_dictionaries()
    if not arr.num_chunks:
        return np.zeros(0, dtype=np.int64), np.array([], dtype=object)
    raw = np.concatenate([np.asarray(pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
                          for c in arr.chunks])
    spelled = [str(v) for v in arr.chunk(0).dictionary.to_pylist()]
    names = sorted(set(spelled))
    index = {v: i for i, v in enumerate(names)}
    remap = np.array([index[v] for v in spelled] + [-1], dtype=np.int64)  # the last entry: -1 stays -1
    return remap[raw], np.array(names, dtype=object)


def segment_metrics(lab: Labelled, codes: np.ndarray, size: int, cfg: PerformanceConfig, *, min_labels: int,
                    seed: int = 0, order: np.ndarray | None = None, only: set[int] | None = None
                    ) -> list[tuple[int, dict[str, Estimate] | None]]:
    """Per segment code ``0..size-1`` (``codes`` aligned with ``lab``'s rows): its labelled rows, and its
    metrics when it has at least ``min_labels`` (below that they would only be noise, and a column of
    thousands of values would cost thousands of metric passes).

    A binary task is sorted by score once (``order``, the stable argsort of ``lab.score``, may be passed
    in to share it between columns): every segment's rows, taken in that order, are sorted, so each
    segment is a linear pass. The values equal ``metrics_of`` on the segment's rows. ``only``: the codes
    whose metrics are wanted (the others are counted only)."""
    counts = np.bincount(codes[codes >= 0], minlength=size)[:size] if size else np.zeros(0, dtype=np.int64)
    out: list[tuple[int, dict[str, Estimate] | None]] = [(int(k), None) for k in counts]
    big = {c for c in range(size) if counts[c] >= max(min_labels, 1) and (only is None or c in only)}
    if not big:
        return out
    if lab.task == "binary" and order is None:
        order = np.argsort(lab.score, kind="stable")
    if lab.task != "binary":
        order = np.arange(codes.size)
    assert order is not None
    ordered = codes[order]
    grouped = np.argsort(ordered, kind="stable")  # by segment, each segment's rows still in score order
    cuts = np.searchsorted(ordered[grouped], np.arange(size + 1))
    for c in sorted(big):
        rows = order[grouped[cuts[c]:cuts[c + 1]]]
        if lab.task == "binary":
            m = binary_metrics(lab.y[rows], lab.score[rows], threshold=cfg.threshold, ece_bins=cfg.ece_bins,
                               resamples=cfg.resamples, seed=seed, presorted=True)
        else:
            m = metrics_of(lab.subset(rows), cfg, seed=seed)
        out[c] = (out[c][0], m)
    return out


MAX_SEGMENT_VALUES = 50
"""A column is a segment candidate of a baseline with 2 to this many values: the service's default
``max_segment_values``, past which its windows pool values into one ``__other__`` segment anyway."""
MAX_SEGMENT_COLUMNS = 16
"""Segment candidates a baseline computes its per-segment performance for, in the schema's order: each
costs about one metric pass over the reference (docs/BENCHMARKS.md, "Figures behind the code")."""
_SMALL_DICTIONARY = 16 * 1024
"""Bytes of a Parquet dictionary page that can hold ``MAX_SEGMENT_VALUES`` short values: a larger page
means a column of many values, skipped without reading it (an id column is hundreds of MB to read)."""


def segment_columns(src: TableSource, exclude: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The columns a baseline stores per-segment performance for, coded (``segment_codes``), chosen without
    knowing which the service will segment by: text, boolean and integer columns with 2 to
    ``MAX_SEGMENT_VALUES`` values, at most ``MAX_SEGMENT_COLUMNS``. Floats are left out (continuous, and
    ``1.0`` and ``1`` would be two spellings of one segment)."""
    meta = None
    if src.table is None and src.parquet_path is not None:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(src.parquet_path).metadata
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for col in src.schema:
        t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        if col.name in exclude or not (pa.types.is_string(t) or pa.types.is_large_string(t)
                                         or pa.types.is_boolean(t) or pa.types.is_integer(t)):
            continue
        if meta is not None and not pa.types.is_boolean(t) and not _small_dictionaries(meta, col.name):
            continue
        arr = src.column(col.name)
        if not pa.types.is_dictionary(arr.type) and len(arr) > 10_000 \
                and len(pc.unique(arr.slice(0, 10_000))) > MAX_SEGMENT_VALUES + 1:
            continue  # many values in the first rows already: no full pass
        codes, names = segment_codes(arr)
        used = int((np.bincount(codes[codes >= 0], minlength=len(names)) > 0).sum())
        if 2 <= used <= MAX_SEGMENT_VALUES:
            out[col.name] = (codes, names)
            if len(out) == MAX_SEGMENT_COLUMNS:
                break
    return out


def _small_dictionaries(meta: Any, name: str) -> bool:
    """Whether every row group of a Parquet column is dictionary-encoded with a small dictionary page."""
    j = next((j for j in range(meta.num_columns) if meta.row_group(0).column(j).path_in_schema == name), None) \
        if meta.num_row_groups else None
    if j is None:
        return False
    for r in range(meta.num_row_groups):
        c = meta.row_group(r).column(j)
        if not c.has_dictionary_page or c.dictionary_page_offset is None:
            return False
        if c.data_page_offset - c.dictionary_page_offset > _SMALL_DICTIONARY:
            return False
    return True


def estimate_dicts(metrics: dict[str, Estimate]) -> dict[str, dict[str, Any]]:
    """``Estimate.to_dict`` with NaN as None: a baseline is strict JSON (no NaN), and ``estimates_of``
    reads None back as NaN."""
    return {k: {f: (None if isinstance(x, float) and not np.isfinite(x) else x) for f, x in v.to_dict().items()}
            for k, v in metrics.items()}


def reference_performance(src: TableSource, target: str, prediction: str, cfg: PerformanceConfig | None = None,
                          segments: list[str] | None = None) -> dict[str, Any] | None:
    """What a baseline stores of its own performance: the task, its conventions and every metric
    with its interval; None when no row has both a target and a prediction.

    Also per segment (``segments``; by default ``segment_candidates``): each value's labelled rows, and
    its metrics when it has at least ``min_support``, so the service can judge a segment window against
    the same segment of the reference instead of against the whole (a segment may always have been
    harder than the rest; against the whole it would look degraded forever)."""
    cfg = cfg or PerformanceConfig()
    lab = read_labelled(src, target, prediction, cfg)
    if not lab.y.size:
        return None
    out = {"task": lab.task, "positive_class": lab.positive,
           "threshold": cfg.threshold if lab.task == "binary" else None, "classes": lab.classes[:1000],
           "labelled": int(lab.y.size), "metrics": estimate_dicts(metrics_of(lab, cfg))}
    cols = segment_columns(src, {target, prediction}) if segments is None else \
        {c: segment_codes(src.column(c)) for c in segments}
    order = np.argsort(lab.score, kind="stable") if lab.task == "binary" and cols else None
    per: dict[str, dict[str, Any]] = {}
    for col, (codes, names) in cols.items():
        if lab.keep is not None:
            codes = codes[lab.keep]
        per[col] = {str(names[c]): {"labelled": n, "metrics": None if m is None else estimate_dicts(m)}
                    for c, (n, m) in enumerate(segment_metrics(lab, codes, len(names), cfg,
                                                               min_labels=cfg.min_support, order=order))
                    if n}
    out["segments"] = per
    out["segment_min_labels"] = cfg.min_support
    if lab.task == "binary" and np.isfinite(lab.score).all():
        out["calibration"] = calibration_of(lab.y, lab.score, cfg.threshold)
    if lab.task == "multiclass" and lab.proba is not None:
        out["calibration"] = multiclass_calibration_of(lab.y, lab.proba, lab.proba_classes)
    if lab.task == "regression":
        out["loss_model"] = LossModel.fit(lab.y, lab.score).to_dict()  # label-free MAE and RMSE later
    return out


def calibration_of(y: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Are the reference's scores probabilities? CBPE (label-free estimates) needs them to be. The
    Hosmer-Lemeshow test decides; when it rejects (p < 0.01), or the scores are not in [0, 1] at all, an
    isotonic map fitted on the reference turns scores into probabilities, and is stored with the baseline."""
    probabilities = bool(score.size) and float(score.min()) >= 0.0 and float(score.max()) <= 1.0
    test = calibration_test(np.clip(score, 0.0, 1.0), y)
    recalibrate = not probabilities or test["p_value"] < 0.01
    cal = isotonic(score, y) if recalibrate else Calibration()
    return {"test": "hosmer_lemeshow", "statistic": test["statistic"], "df": test["df"], "p_value": test["p_value"],
            "probabilities": probabilities, "recalibrated": recalibrate, "map": cal.to_dict(),
            # what windows' label-free proxies are compared with (``stats.cbpe.proxy_shifts``)
            "threshold": threshold, "proxies": proxies(cal(score), score, threshold)}


def multiclass_calibration_of(y: np.ndarray, proba: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """``calibration_of`` for class probabilities (rows x ``classes``): a one-vs-rest Hosmer-Lemeshow test per
    class, Holm-adjusted; when the smallest adjusted p is below 0.01, an isotonic map per class (then rows
    renormalised) is stored. Labels outside ``classes`` count as none of them."""
    index = {c: k for k, c in enumerate(classes)}
    yi = np.array([index.get(v, -1) for v in np.asarray(y).tolist()], dtype=np.int64)
    test = calibration_test_multiclass(proba, yi)
    recalibrate = test["p_value"] < 0.01
    cal = isotonic_multiclass(proba, yi, classes) if recalibrate else MulticlassCalibration(tuple(classes))
    return {"test": "hosmer_lemeshow_one_vs_rest", "correction": "holm", "p_value": test["p_value"],
            "per_class": {c: t for c, t in zip(classes, test["per_class"])}, "recalibrated": recalibrate,
            "map": cal.to_dict(), "threshold": None,
            "proxies": multiclass_proxies(cal(proba), np.asarray(proba).argmax(axis=1), classes)}


def estimates_of(metrics: dict[str, dict[str, Any]]) -> dict[str, Estimate]:
    """Metrics read back from JSON (``Estimate.to_dict``); JSON's null stands for NaN."""
    nan = float("nan")
    return {k: Estimate(nan if d.get("value") is None else float(d["value"]),
                        nan if d.get("low") is None else float(d["low"]),
                        nan if d.get("high") is None else float(d["high"]), int(d.get("n") or 0),
                        str(d.get("interval") or "none"))
            for k, d in metrics.items()}
