"""Review samples: which predictions a person should label, drawn so that accuracy can be estimated.

The population is every prediction of the window in the store, not what a
client could download: the service draws, the client gets the drawn rows
and the design (``argusml.stats.sampling``). The store hands over two
numbers per prediction (sequence and score), so a window of millions costs
tens of megabytes here, and only the drawn rows are read whole.

How a prediction's uncertainty is read follows the version's task, as the
performance job scores it (``task_of``): a binary model's stored
``prediction`` is the positive class's probability (through the
reference's calibration map when it has one), a multiclass model's is the
top class's probability (when probabilities were sent), and a regression
model, or a model that sends only class labels, has none: one stratum,
a simple random sample.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

from argusml.monitor.performance import TaskSpec, task_of
from argusml.monitor.state import ModelState
from argusml.schema import ArgusError
from argusml.stats.sampling import binary_uncertainty, review_sample, top_class_uncertainty
from argusml.store import Store

MAX_SIZE = 50_000
"""Rows one sample may hold: more than anyone reviews, and the answer stays a few megabytes."""
MAX_STRATA = 20


class ReviewRequestError(ArgusError):
    """A sample request that cannot be answered as asked (the service answers 422)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field  # where in the request, as FastAPI names it: query.size, path.model
        super().__init__(message)


def scoring_of(spec: TaskSpec, target: str | None, target_kind: str | None) -> dict[str, Any]:
    """How a reviewed label is scored against the prediction: what ``argus labels import`` needs to say
    whether each prediction was right."""
    negative = None
    if spec.task == "binary" and len(spec.classes) == 2 and spec.positive in spec.classes:
        negative = next(c for c in spec.classes if c != spec.positive)
    return {"task": spec.task, "positive_class": spec.positive if spec.task == "binary" else None,
            "negative_class": negative, "threshold": spec.threshold if spec.task == "binary" else None,
            "classes": list(spec.classes), "target": target, "target_kind": target_kind}


def _uncertainty(spec: TaskSpec, score: np.ndarray) -> np.ndarray:
    if spec.task == "binary":
        prob = spec.calibration(score) if spec.calibration is not None else None
        if prob is not None:
            prob = np.where(np.isnan(score), np.nan, prob)
        return binary_uncertainty(score, spec.threshold, prob)
    if spec.task == "multiclass":
        return top_class_uncertainty(score)
    return np.full(score.size, np.nan)


def _predicted(spec: TaskSpec, score: float | None, label: str | None) -> Any:
    if spec.task == "regression":
        return score
    if spec.task == "binary" and score is not None and not math.isnan(score):
        if score >= spec.threshold:
            return spec.positive
        return scoring_of(spec, None, None)["negative_class"] or (f"not {spec.positive}" if spec.positive else None)
    return label


def draw_review_sample(store: Store, state: ModelState, *, size: int, since: float | None, until: float | None,
                       version: str | None, strata: int, random_share: float, seed: int,
                       unlabelled_only: bool) -> dict[str, Any]:
    """The drawn rows (times in epoch seconds) and the design. Raises ReviewRequestError for a request
    that cannot be answered (unknown version, a model without a target, bad bounds)."""
    if not 1 <= size <= MAX_SIZE:
        raise ReviewRequestError("query.size", f"size must be between 1 and {MAX_SIZE}, got {size}")
    if not 1 <= strata <= MAX_STRATA:
        raise ReviewRequestError("query.strata", f"strata must be between 1 and {MAX_STRATA}, got {strata}")
    if not 0.0 <= random_share <= 1.0:
        raise ReviewRequestError("query.random_share", f"random_share must be in [0, 1], got {random_share}")
    if since is not None and until is not None and since >= until:
        raise ReviewRequestError("query.since", "since must be before until")
    if version is not None and version not in state.versions:
        known = ", ".join(sorted(state.versions)[:20]) or "none yet"
        raise ReviewRequestError("query.version", f"unknown version {version!r} of model {state.name!r} (known: {known})")
    model = state.name
    versions = [version] if version is not None else store.review_versions(model, since, until)
    specs: dict[str, TaskSpec] = {}
    scoring: dict[str, Any] = {}
    for v in versions:
        ref = state.ref(v).reference
        spec = task_of(ref, state.config)
        if spec is None:
            raise ReviewRequestError("path.model", f"the reference of {model!r} (version {v!r}) declares no target, so "
                                     "reviewed labels would be refused: rebuild the baseline with `argus baseline "
                                     "DATA --target COL --prediction COL` and register it")
        target = ref.target
        specs[v] = spec
        scoring[v] = scoring_of(spec, target, ref.specs[target].kind.value if target else None)
    seqs: list[np.ndarray] = []
    unc: list[np.ndarray] = []
    for v in versions:
        frame = store.review_frame(model, v, since, until, unlabelled_only)
        seq_v = frame.column("seq").to_numpy().astype(np.int64, copy=False)
        score = frame.column("prediction").to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        del frame
        # the population in sequence order, so the same window and seed draw the same sample; sorted here
        # (it mostly comes sorted already) rather than by DuckDB, which spills past its memory limit
        if seq_v.size > 1 and not bool(np.all(seq_v[1:] > seq_v[:-1])):
            order = np.argsort(seq_v, kind="stable")
            seq_v, score = seq_v[order], score[order]
            del order
        seqs.append(seq_v)
        unc.append(_uncertainty(specs[v], score))
        del seq_v, score
    seq = seqs[0] if len(seqs) == 1 else np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)
    u = unc[0] if len(unc) == 1 else np.concatenate(unc) if unc else np.zeros(0)
    del seqs, unc
    sample = review_sample(u, size, strata=strata, random_share=random_share, seed=seed)
    chosen = seq[sample.positions]
    info = {int(s): (int(h), float(p), u[i]) for s, h, p, i in zip(chosen, sample.stratum, sample.inclusion,
                                                                     sample.positions)}
    rows = []
    for s, v, id_, ts, pred, plabel, seg in store.events_by_seq(model, chosen.tolist()):
        h, pi, ui = info[int(s)]
        score = None if pred is None or math.isnan(pred) else float(pred)
        rows.append({"id": id_, "version": v, "timestamp": ts, "prediction": score,
                     "predicted": _predicted(specs[v], score, plabel), "prediction_label": plabel,
                     "segment": orjson.loads(seg) if seg else None, "stratum": h, "inclusion_probability": pi,
                     "uncertainty": None if math.isnan(ui) else float(ui)})
    design = sample.to_dict()
    design["strata_requested"] = strata
    return {"model": model, "since": since, "until": until, "version": version, "unlabelled_only": unlabelled_only,
            "population": int(u.size), "size": len(rows), "design": design, "scoring": scoring, "rows": rows}


__all__ = ["MAX_SIZE", "MAX_STRATA", "ReviewRequestError", "draw_review_sample", "scoring_of"]
