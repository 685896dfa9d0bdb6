#!/usr/bin/env python
"""NannyML CBPE on our data: the incumbent to validate Argus's own CBPE against.

Why this exists: Argus estimates a binary classifier's accuracy / ROC AUC / F1
without labels (confidence-based performance estimation).  To check those
estimates and their confidence bands we run NannyML's CBPE on the *same* data
and compare chunk by chunk.  NannyML is never a project dependency: it lives
only in the benchmark venv made by ``bench/setup_venvs.sh nannyml`` and this
script runs with that venv's python:

    bench/setup_venvs.sh nannyml
    /tmp/venvs/nannyml/bin/python bench/incumbents/bench_nannyml_cbpe.py \\
        --reference REF.parquet --analysis ANA.parquet --out OUT.json [--chunk-size N] [--calibration none] \\
        [--classes a,b,c]

Input (both Parquet files): ``y_pred_proba`` (P(class 1), float in [0, 1]),
``y_pred`` (0/1), ``y_true`` (0/1), ``chunk`` (int id; the rows of one chunk are
contiguous). With ``--classes`` the model is multiclass: ``y_pred_proba_<class>``
per class instead of ``y_pred_proba``, and ``y_pred``/``y_true`` are class
labels; NannyML then runs ``problem_type="classification_multiclass"``, whose
``f1`` and ``roc_auc`` are the macro F1 and the one-vs-rest macro ROC AUC.  Every analysis chunk must hold exactly ``chunk_size`` rows
(default: the first analysis chunk's size), because NannyML's chunker is
size-based: ``CBPE(chunk_size=N)`` splits the rows, in file order, into
``[0:N-1], [N:2N-1], ...``.  The script asserts that these boundaries are the
``chunk`` column's, and then checks NannyML's reported start/end indices too.
The same chunker splits the reference; that only sets NannyML's alert
thresholds (not reported here).

What is run: ``CBPE(problem_type="classification_binary", metrics=["roc_auc",
"accuracy", "f1"], chunk_size=N)`` with every other argument at its default
(isotonic calibration, applied only if NannyML's ``needs_calibration`` test
says so on the reference: reported as ``calibrated``; ``--calibration none``
passes a ``NoopCalibrator`` so the scores are used as given), ``fit(reference)``, then
``estimate(analysis without y_true)``: the labels never reach the estimator.
Realized per-chunk metrics are computed from ``y_true`` with scikit-learn.

Output JSON: ``{"nannyml_version", "seconds_fit", "seconds_estimate", ...,
"chunks": [{"chunk", "n", "<metric>": {"estimated", "lower", "upper",
"sampling_error", "realized"}}]}`` where lower/upper are NannyML's
``lower_confidence_boundary`` / ``upper_confidence_boundary`` (estimate -/+ 3
sampling errors, clipped to the metric's range).  Telemetry is switched off
(``NML_DISABLE_USAGE_LOGGING=1``) before NannyML is imported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

METRICS: tuple[str, ...] = ("roc_auc", "accuracy", "f1")
COLUMNS: tuple[str, ...] = ("y_pred_proba", "y_pred", "y_true", "chunk")
# NannyML result column (second level of the MultiIndex) -> our output key
FIELDS: dict[str, str] = {
    "value": "estimated",
    "lower_confidence_boundary": "lower",
    "upper_confidence_boundary": "upper",
    "sampling_error": "sampling_error",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="reference Parquet (with y_true)")
    ap.add_argument("--analysis", required=True, help="analysis Parquet (y_true used only for the realized metrics)")
    ap.add_argument("--out", required=True, help="output JSON path")
    ap.add_argument("--chunk-size", type=int, default=None, help="rows per chunk (default: the first analysis chunk's size)")
    ap.add_argument("--classes", default=None,
                    help="comma-separated class labels: a multiclass model (columns y_pred_proba_<class>)")
    ap.add_argument(
        "--calibration",
        choices=["auto", "none"],
        default="auto",
        help="auto: NannyML's default (isotonic, if needs_calibration says so); none: NoopCalibrator, scores used as given",
    )
    return ap.parse_args(argv)


def proba_columns(classes: list[str] | None) -> list[str]:
    return [f"y_pred_proba_{c}" for c in classes] if classes else ["y_pred_proba"]


def load(path: str, classes: list[str] | None = None) -> pd.DataFrame:
    cols = [*proba_columns(classes), *COLUMNS[1:]]
    df = pd.read_parquet(path)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}")
    df = df[cols].reset_index(drop=True)  # NannyML reports chunk boundaries as index labels
    if df[cols[:-1]].isna().any().any():
        raise SystemExit(f"{path}: NaN in {' / '.join(cols[:-1])}")
    kind = str if classes else np.int64
    df["y_pred"] = df["y_pred"].astype(kind)
    df["y_true"] = df["y_true"].astype(kind)
    return df


def chunk_runs(df: pd.DataFrame, path: str) -> list[tuple[int, int, int]]:
    """(chunk id, first row, last row) per chunk, asserting each id is one contiguous run."""
    ids = df["chunk"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)] - 1
    runs = [(int(ids[s]), int(s), int(e)) for s, e in zip(starts, ends)]
    seen = [r[0] for r in runs]
    assert len(seen) == len(set(seen)), f"{path}: a chunk id appears in more than one run of rows (chunks must be contiguous)"
    return runs


def realized(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, classes: list[str] | None = None
             ) -> dict[str, float]:
    """Binary: ROC AUC, accuracy, F1 of class 1. Multiclass: one-vs-rest macro ROC AUC (NaN unless every
    class occurs), accuracy, macro F1: NannyML's multiclass definitions."""
    if classes:
        auc = float(roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=classes)) \
            if set(np.unique(y_true)) == set(classes) else math.nan
        f1 = float(f1_score(y_true, y_pred, average="macro", labels=classes, zero_division=0))
    else:
        auc = float(roc_auc_score(y_true, proba)) if len(np.unique(y_true)) == 2 else math.nan
        f1 = float(f1_score(y_true, y_pred, zero_division=0))
    return {"roc_auc": auc, "accuracy": float(accuracy_score(y_true, y_pred)), "f1": f1}


def num(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no telemetry retries at exit (no network)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    warnings.filterwarnings("ignore")  # NannyML warns per chunk / on few chunks; nothing we act on
    import nannyml
    from nannyml.calibration import NoopCalibrator
    from nannyml.performance_estimation.confidence_based import CBPE

    classes = a.classes.split(",") if a.classes else None
    ref = load(a.reference, classes)
    ana = load(a.analysis, classes)
    ana_runs = chunk_runs(ana, a.analysis)
    ref_runs = chunk_runs(ref, a.reference)
    chunk_size = a.chunk_size or (ana_runs[0][2] - ana_runs[0][1] + 1)
    for cid, s, e in ana_runs:
        assert e - s + 1 == chunk_size, f"analysis chunk {cid} has {e - s + 1} rows, expected chunk_size={chunk_size}"
    ref_sizes = sorted({e - s + 1 for _, s, e in ref_runs})
    if ref_sizes != [chunk_size] or len(ref) % chunk_size:
        print(
            f"note: reference chunk sizes {ref_sizes} (n={len(ref)}) differ from chunk_size={chunk_size}; "
            "NannyML re-chunks the reference by size (this only moves its alert thresholds)",
            file=sys.stderr,
        )

    t0 = time.perf_counter()
    est = CBPE(
        problem_type="classification_multiclass" if classes else "classification_binary",
        y_pred_proba={c: f"y_pred_proba_{c}" for c in classes} if classes else "y_pred_proba",
        y_pred="y_pred",
        y_true="y_true",
        metrics=list(METRICS),
        chunk_size=chunk_size,
        calibrator=NoopCalibrator() if a.calibration == "none" else None,
    )
    est.fit(ref.drop(columns=["chunk"]))
    t1 = time.perf_counter()
    res = est.estimate(ana.drop(columns=["chunk", "y_true"]))
    t2 = time.perf_counter()
    df = res.filter(period="analysis").to_df()
    t3 = time.perf_counter()

    # NannyML's chunks must be ours, in order: same count, same first/last rows.
    got = [(int(s), int(e)) for s, e in zip(df[("chunk", "start_index")], df[("chunk", "end_index")])]
    want = [(s, e) for _, s, e in ana_runs]
    assert got == want, f"NannyML chunk boundaries {got} != chunk column's {want}"

    y_true = ana["y_true"].to_numpy()
    y_pred = ana["y_pred"].to_numpy()
    proba = ana[proba_columns(classes)].to_numpy()
    if not classes:
        proba = proba[:, 0]
    chunks: list[dict[str, Any]] = []
    for i, (cid, s, e) in enumerate(ana_runs):
        row = df.iloc[i]
        real = realized(y_true[s : e + 1], y_pred[s : e + 1], proba[s : e + 1], classes)
        rec: dict[str, Any] = {"chunk": cid, "n": e - s + 1, "nannyml_key": str(row[("chunk", "key")])}
        for m in METRICS:
            rec[m] = {out: num(row[(m, col)]) for col, out in FIELDS.items()}
            rec[m]["realized"] = num(real[m])
        chunks.append(rec)

    out = {
        "nannyml_version": nannyml.__version__,
        "seconds_fit": t1 - t0,
        "seconds_estimate": t2 - t1,
        "seconds_to_df": t3 - t2,
        "n_reference": len(ref),
        "n_analysis": len(ana),
        "chunk_size": chunk_size,
        "metrics": list(METRICS),
        "problem_type": "classification_multiclass" if classes else "classification_binary",
        "calibration": a.calibration,
        # multiclass: one calibrator per class, a NoopCalibrator where NannyML's test said none was needed
        "calibrated": (sorted(c for c, k in est._calibrators.items() if not isinstance(k, NoopCalibrator))
                       if classes else bool(est.needs_calibration) and a.calibration == "auto"),
        "band": "estimated -/+ 3 * sampling_error, clipped to [0, 1] (NannyML confidence boundaries)",
        "chunks": chunks,
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)

    print(
        f"nannyml {nannyml.__version__}  chunk_size={chunk_size}  calibrated={out['calibrated']}  "
        f"fit {out['seconds_fit']:.2f}s  estimate {out['seconds_estimate']:.2f}s"
    )
    hdr = "chunk      n" + "".join(f" | {m + ' est [lo, hi] real':>34}" for m in METRICS)
    print(hdr)
    print("-" * len(hdr))

    def fmt(v: float | None) -> str:
        return "  nan" if v is None else f"{v:.3f}"

    for rec in chunks:
        cells = "".join(
            f" | {fmt(rec[m]['estimated'])} [{fmt(rec[m]['lower'])}, {fmt(rec[m]['upper'])}] {fmt(rec[m]['realized']):>6}" for m in METRICS
        )
        print(f"{rec['chunk']:>5} {rec['n']:>6}{cells}")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
