"""Champion against challenger from the store: the glue between stored rows and ``stats.compare``.

The store hands over only the columns a comparison needs, as Arrow arrays:
for the labelled ids of the two versions, each side's prediction and label,
joined on the id inside DuckDB (so ids never become Python objects), and
per version the event and error counts and the latencies. Memory is
therefore a few numbers per labelled row and 8 bytes per event with a
latency, whatever the traffic.

Which analysis: when every labelled id was scored by both versions (shadow
traffic, or labels without a version scoring both) the comparison is
**paired**; when none was (split traffic) it is **unpaired**; in between
(**mixed**) the paired analysis of the shared ids is used when they are at
least half of the smaller version's labels, else the unpaired analysis of
all labels, whose independence assumption is then conservative (shared ids
correlate the two versions positively, which an unpaired variance ignores
by overstating it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from argusml.checks.compare import Verdict, decide, metric_for
from argusml.monitor.performance import TaskSpec, pcfg_of, task_of
from argusml.monitor.state import ModelState
from argusml.profile.labelled import Labelled, metrics_of
from argusml.schema import InputError
from argusml.stats import compare as sc
from argusml.stats.performance import Estimate
from argusml.store import Store


class _Side:
    """One version's labelled rows of the comparison, as its task scores them."""

    def __init__(self, pairs: pa.Table, who: str, spec: TaskSpec) -> None:
        label = pairs.column(f"{who}_label")
        pred = pairs.column(f"{who}_prediction")
        plabel = pairs.column(f"{who}_prediction_label")
        present = np.asarray(label.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        self.task = spec.task
        if spec.task == "regression":
            y = pc.cast(label, pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(np.float64)
            score = pred.to_numpy(zero_copy_only=False).astype(np.float64)
            present &= np.isfinite(y) & np.isfinite(score)
        elif spec.task == "binary":
            pos = spec.positive or "1"
            y = pc.fill_null(pc.equal(label, pos), False).to_numpy(zero_copy_only=False).astype(np.int8)
            score = pred.to_numpy(zero_copy_only=False).astype(np.float64)
            hard = pc.fill_null(pc.equal(plabel, pos), False).to_numpy(zero_copy_only=False).astype(np.float64)
            score = np.where(np.isnan(score), hard, score)  # a predicted label scores 1 or 0
        else:
            y = np.asarray(label.to_numpy(zero_copy_only=False), dtype=object)
            score = np.asarray(plabel.to_numpy(zero_copy_only=False), dtype=object)
            present &= np.asarray(plabel.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        self.present = present
        self.y, self.score = y, score
        self.spec = spec

    def correct(self, rows: np.ndarray) -> np.ndarray:
        if self.task == "binary":
            return (self.score[rows] >= self.spec.threshold) == (self.y[rows] == 1)
        return np.asarray(self.score[rows] == self.y[rows], dtype=bool)

    def labelled(self, rows: np.ndarray) -> Labelled:
        return Labelled(self.task, self.y[rows], self.score[rows], self.spec.classes, self.spec.positive)


def _differences(task: str, a: _Side, ra: np.ndarray, b: _Side, rb: np.ndarray, paired: bool, confidence: float
                 ) -> dict[str, sc.Difference]:
    """Every comparable metric of the task: champion rows ``ra`` of ``a``, challenger rows ``rb`` of ``b``
    (the same ids in the same order when ``paired``)."""
    out: dict[str, sc.Difference] = {}
    if task == "regression":
        ea, eb = a.score[ra] - a.y[ra], b.score[rb] - b.y[rb]
        if paired:
            out["mae"] = sc.paired_mean_difference(np.abs(ea), np.abs(eb), confidence, "mae")
            out["rmse"] = sc.paired_rmse_difference(ea * ea, eb * eb, confidence)
        else:
            out["mae"] = sc.mean_difference(np.abs(ea), np.abs(eb), confidence, "mae")
            out["rmse"] = sc.rmse_difference(ea * ea, eb * eb, confidence)
        return out
    if task == "binary":
        out["roc_auc"] = (sc.paired_auc_difference(a.y[ra], a.score[ra], b.score[rb], confidence) if paired else
                          sc.auc_difference(a.y[ra], a.score[ra], b.y[rb], b.score[rb], confidence))
    ca, cb = a.correct(ra), b.correct(rb)
    out["accuracy"] = (sc.paired_proportion_difference(ca, cb, confidence) if paired else
                       sc.proportion_difference(int(ca.sum()), int(ca.size), int(cb.sum()), int(cb.size), confidence))
    return out


def _estimate(e: Estimate) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in e.to_dict().items()}


def compare_versions(store: Store, state: ModelState, champion: str, challenger: str, since: float | None = None,
                     until: float | None = None) -> dict[str, Any]:
    """The comparison the API answers and the CLI prints (``state`` is the model's ``ModelState``)."""
    cfg = state.config
    s = cfg.compare
    confidence = 1 - s.alpha
    spec_a = task_of(state.ref(champion).reference, cfg)
    spec_b = task_of(state.ref(challenger).reference, cfg)
    if spec_a is None or spec_b is None:
        raise InputError(f"model {state.name!r}: the reference of version "
                         f"{champion if spec_a is None else challenger!r} declares no target, so there are no "
                         "labels to compare; rebuild the baseline with `argus baseline DATA --target COL "
                         "--prediction COL`")
    if spec_a.task != spec_b.task:
        raise InputError(f"model {state.name!r}: version {champion!r} is a {spec_a.task} model and {challenger!r} "
                         f"a {spec_b.task} one (their references say so): their metrics do not compare")
    task = spec_a.task
    try:
        metric = metric_for(task, s)
    except ValueError as exc:
        raise InputError(f"model {state.name!r}: {exc}") from None
    start = -math.inf if since is None else since
    end = math.inf if until is None else until

    pairs = store.compare_pairs(state.name, champion, challenger, start, end)
    a, b = _Side(pairs, "champion", spec_a), _Side(pairs, "challenger", spec_b)
    rows_a, rows_b = np.flatnonzero(a.present), np.flatnonzero(b.present)
    shared = np.flatnonzero(a.present & b.present)
    n_a, n_b, matched = int(rows_a.size), int(rows_b.size), int(shared.size)
    if matched == 0:
        mode = "unpaired"
    elif matched == n_a == n_b:
        mode = "paired"
    else:
        mode = "mixed"
    paired = mode == "paired" or (mode == "mixed" and matched >= 0.5 * min(n_a, n_b))
    if paired:
        diffs = _differences(task, a, shared, b, shared, True, confidence)
        labels = (matched, matched)
    else:
        diffs = _differences(task, a, rows_a, b, rows_b, False, confidence)
        labels = (n_a, n_b)

    paired_test: dict[str, Any] | None = None
    if paired and "accuracy" in diffs:
        acc = diffs["accuracy"]
        paired_test = {"test": "mcnemar", "pairs": matched, "champion_right_challenger_wrong": acc.extra["b"],
                       "champion_wrong_challenger_right": acc.extra["c"], "p_exact": acc.p_value,
                       "p_mid": acc.extra["p_mid"]}
    elif paired and "mae" in diffs:
        paired_test = {"test": "paired_t", "pairs": matched, "on": "absolute errors",
                       "p_value": diffs["mae"].p_value}

    pcfg_a, pcfg_b = pcfg_of(cfg, spec_a), pcfg_of(cfg, spec_b)
    versions: dict[str, Any] = {}
    for name, side, rows, pcfg in ((champion, a, rows_a, pcfg_a), (challenger, b, rows_b, pcfg_b)):
        versions[name] = {"labels": int(rows.size),
                          "metrics": {k: _estimate(v) for k, v in metrics_of(side.labelled(rows), pcfg).items()}
                          if rows.size else {}}

    ops = store.compare_operations(state.name, [champion, challenger], start, end)
    counts = {v: (int(e), int(x)) for v, e, x in zip(ops["counts"].column("version").to_pylist(),
                                                       ops["counts"].column("events").to_pylist(),
                                                       ops["counts"].column("errors").to_pylist())}
    (ev_a, err_a), (ev_b, err_b) = counts.get(champion, (0, 0)), counts.get(challenger, (0, 0))
    lat = ops["latency"]
    lat_v = lat.column("version")
    lat_a = lat.filter(pc.equal(lat_v, champion)).column("latency_ms").to_numpy().astype(np.float64)
    lat_b = lat.filter(pc.equal(lat_v, challenger)).column("latency_ms").to_numpy().astype(np.float64)
    versions[champion].update(events=ev_a, errors=err_a, latency_events=int(lat_a.size))
    versions[challenger].update(events=ev_b, errors=err_b, latency_events=int(lat_b.size))
    error_rate = (sc.proportion_difference(err_a, ev_a, err_b, ev_b, confidence, metric="error_rate")
                  if ev_a and ev_b else None)
    p50 = p95 = None
    if lat_a.size >= 2 and lat_b.size >= 2:
        p50 = sc.quantile_difference(lat_a, lat_b, 0.5, confidence)
        p95 = sc.quantile_difference(lat_a, lat_b, 0.95, confidence)

    verdict: Verdict = decide(diffs[metric], labels, s, error_rate=error_rate, latency_p95=p95)
    return {
        "model": state.name, "champion": champion, "challenger": challenger, "task": task, "metric": metric,
        "mode": mode, "analysis": "paired" if paired else "unpaired", "matched": matched,
        "labels": {"champion": n_a, "challenger": n_b, "matched": matched},
        "versions": versions,
        "differences": {k: d.to_dict() for k, d in diffs.items()},
        "paired_test": paired_test,
        "operational": {"error_rate": error_rate.to_dict() if error_rate else None,
                        "latency_p50": p50.to_dict() if p50 else None,
                        "latency_p95": p95.to_dict() if p95 else None},
        "verdict": verdict.to_dict(),
        "labels_needed": verdict.labels_needed,
        "settings": s.model_dump(mode="json") | {"metric": metric},
    }
