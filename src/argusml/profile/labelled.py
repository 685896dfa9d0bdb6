"""Labelled rows read for one task, and their metrics.

Below ``checks`` because a reference's own performance is part of the
reference (DESIGN.md: "reference performance"), computed when the baseline
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
    """Target and prediction of the labelled rows, read for one task."""

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

    By Arrow casts where the spelling is the cast's (booleans, integers, integral floats, text): a
    million labels then take milliseconds, not the half second of a Python loop."""
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


def reference_performance(src: TableSource, target: str, prediction: str,
                          cfg: PerformanceConfig | None = None) -> dict[str, Any] | None:
    """What a baseline stores of its own performance: the task, its conventions and every metric
    with its interval; None when no row has both a target and a prediction."""
    cfg = cfg or PerformanceConfig()
    lab = read_labelled(src, target, prediction, cfg)
    if not lab.y.size:
        return None
    out = {"task": lab.task, "positive_class": lab.positive,
           "threshold": cfg.threshold if lab.task == "binary" else None, "classes": lab.classes[:1000],
           "labelled": int(lab.y.size), "metrics": {k: v.to_dict() for k, v in metrics_of(lab, cfg).items()}}
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
