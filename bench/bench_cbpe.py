#!/usr/bin/env python
"""Label-free estimates (CBPE): Argus against NannyML on the same data, and both against the truth.

    bench/setup_venvs.sh nannyml                       # NannyML lives only in its benchmark venv
    .venv/bin/python bench/bench_cbpe.py [--chunks 60] [--chunk-size 2000] [--out bench/results/cbpe.md]

The data (seeded), binary: a calibrated model, ``p = sigmoid(1.5 x)``, labels
drawn from ``p``. The reference is 20,000 rows with ``x ~ N(0, 1)``; the
analysis is ``--chunks`` chunks of ``--chunk-size`` rows whose inputs drift
(the mean of ``x`` moves from -1 to +1.5 across the chunks, and its spread
from 1 to 0.5): covariate shift, with P(y | x) unchanged, which is what CBPE
assumes. The labels of the analysis exist but reach neither estimator; they
give each chunk's realised accuracy, F1 and ROC AUC.

Multiclass: a calibrated 3-class model, ``p = softmax(x W)`` with ``x`` in
three dimensions, labels drawn from ``p``; the same reference size and chunks,
with the mean of ``x`` moving across the chunks from one class's region to
another's and its spread shrinking. The metrics are accuracy, macro F1 and
one-vs-rest macro ROC AUC (NannyML's multiclass ``f1`` and ``roc_auc``); Argus
fits ``multiclass_calibration_of`` (one-vs-rest Hosmer-Lemeshow, Holm) and runs
``estimate_multiclass``.

Both estimators are fitted on the reference: Argus's ``calibration_of``
(Hosmer-Lemeshow, isotonic only when it rejects) and ``estimate_binary``;
NannyML's ``CBPE`` (``bench/incumbents/bench_nannyml_cbpe.py``, its default
calibration). Printed per metric: the mean absolute error of each estimate
against the realised value, and how often the realised value lies in each
one's band. Argus's band is a 95% interval; NannyML's is its estimate +- 3
sampling errors (about 99.7% if its sampling error were right).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

METRICS = ("accuracy", "f1", "roc_auc")
CLASSES = ("a", "b", "c")
WEIGHTS = np.array([[1.6, 0.0, -1.6], [-0.4, 1.3, -0.4], [0.5, -0.6, 0.1]])  # x (3 features) -> 3 logits
NANNYML_PY = Path(os.environ.get("VENVS", "/tmp/venvs")) / "nannyml" / "bin" / "python"


def data(chunks: int, size: int, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(x: np.ndarray, chunk: np.ndarray) -> pd.DataFrame:
        p = 1 / (1 + np.exp(-1.5 * x))
        y = (rng.random(x.size) < p).astype(int)
        return pd.DataFrame({"y_pred_proba": p, "y_pred": (p >= 0.5).astype(int), "y_true": y, "chunk": chunk})

    ref = frame(rng.normal(size=20_000), np.repeat(np.arange(10), 2000))
    t = np.linspace(0, 1, chunks)
    x = np.concatenate([rng.normal(-1 + 2.5 * f, 1 - 0.5 * f, size) for f in t])
    return ref, frame(x, np.repeat(np.arange(chunks), size))


def data_multiclass(chunks: int, size: int, seed: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(x: np.ndarray, chunk: np.ndarray) -> pd.DataFrame:
        z = x @ WEIGHTS
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        y = np.minimum((rng.random(len(p))[:, None] > p.cumsum(axis=1)).sum(axis=1), len(CLASSES) - 1)
        names = np.array(CLASSES, dtype=object)
        return pd.DataFrame({**{f"y_pred_proba_{c}": p[:, k] for k, c in enumerate(CLASSES)},
                             "y_pred": names[p.argmax(axis=1)], "y_true": names[y], "chunk": chunk})

    ref = frame(rng.normal(size=(20_000, 3)), np.repeat(np.arange(10), 2000))
    t = np.linspace(0, 1, chunks)
    x = np.concatenate([rng.normal([-1 + 2.5 * f, 0.5 - f, 0.0], 1 - 0.5 * f, (size, 3)) for f in t])
    return ref, frame(x, np.repeat(np.arange(chunks), size))


def argus_multiclass(ref: pd.DataFrame, ana: pd.DataFrame) -> tuple[list[dict], float]:
    from argusml.profile.labelled import multiclass_calibration_of
    from argusml.stats.cbpe import MulticlassCalibration, estimate_multiclass
    from argusml.stats.performance import multiclass_metrics

    cols = [f"y_pred_proba_{c}" for c in CLASSES]
    ours = {"accuracy": "accuracy", "f1": "f1_macro", "roc_auc": "roc_auc_macro"}
    t0 = time.perf_counter()
    cal_info = multiclass_calibration_of(ref["y_true"].to_numpy(), ref[cols].to_numpy(), list(CLASSES))
    cal = MulticlassCalibration.from_dict(cal_info["map"])
    out = []
    for c, part in ana.groupby("chunk", sort=True):
        s = part[cols].to_numpy()
        est = estimate_multiclass(cal(s), score=s)
        real = multiclass_metrics(part["y_true"].to_numpy(), s, list(CLASSES), resamples=0)
        out.append({"chunk": int(c), **{m: {"estimated": est[o].value, "lower": est[o].low, "upper": est[o].high,
                                            "realized": real[o].value} for m, o in ours.items()}})
    return out, time.perf_counter() - t0


def argus(ref: pd.DataFrame, ana: pd.DataFrame) -> tuple[list[dict], float]:
    from argusml.profile.labelled import calibration_of
    from argusml.stats.cbpe import Calibration, estimate_binary
    from argusml.stats.performance import binary_metrics

    t0 = time.perf_counter()
    cal_info = calibration_of(ref["y_true"].to_numpy(), ref["y_pred_proba"].to_numpy())
    cal = Calibration.from_dict(cal_info["map"])
    out = []
    for c, part in ana.groupby("chunk", sort=True):
        s = part["y_pred_proba"].to_numpy()
        est = estimate_binary(cal(s), s)
        real = binary_metrics(part["y_true"].to_numpy(), s, resamples=0)
        out.append({"chunk": int(c), **{m: {"estimated": est[m].value, "lower": est[m].low, "upper": est[m].high,
                                            "realized": real[m].value} for m in METRICS}})
    return out, time.perf_counter() - t0


def nannyml(ref: pd.DataFrame, ana: pd.DataFrame, workdir: Path, classes: tuple[str, ...] = ()
            ) -> tuple[list[dict] | None, str]:
    if not NANNYML_PY.exists():
        return None, f"NannyML not run: {NANNYML_PY} missing (bench/setup_venvs.sh nannyml)"
    ref.to_parquet(workdir / "ref.parquet")
    ana.to_parquet(workdir / "ana.parquet")
    script = Path(__file__).parent / "incumbents" / "bench_nannyml_cbpe.py"
    p = subprocess.run([str(NANNYML_PY), str(script), "--reference", str(workdir / "ref.parquet"), "--analysis",
                        str(workdir / "ana.parquet"), "--out", str(workdir / "nml.json"),
                        *(["--classes", ",".join(classes)] if classes else [])],
                       capture_output=True, text=True, timeout=1800)
    if p.returncode:
        return None, f"NannyML failed: {p.stderr[-2000:]}"
    doc = json.loads((workdir / "nml.json").read_text())
    return doc["chunks"], (f"NannyML {doc['nannyml_version']}, calibrated={doc.get('calibrated')}, fit "
                           f"{doc['seconds_fit']:.2f} s, estimate {doc['seconds_estimate']:.2f} s")


def summary(rows: list[dict], metric: str) -> tuple[float, float]:
    err = [abs(r[metric]["estimated"] - r[metric]["realized"]) for r in rows]
    hit = [r[metric]["lower"] <= r[metric]["realized"] <= r[metric]["upper"] for r in rows]
    return float(np.mean(err)), float(np.mean(hit))


def section(title: str, about: str, ours: list[dict], theirs: list[dict] | None, chunks: int,
            names: dict[str, str]) -> list[str]:
    """One case's tables: per metric the error and band coverage of each, then every few chunks' values."""
    lines = [f"## {title}", "", about, "", "| metric | Argus mean abs error | Argus 95% interval holds the realised value | "
             "NannyML mean abs error | NannyML ±3 SE band holds it |", "|---|---:|---:|---:|---:|"]
    for m in METRICS:
        e, h = summary(ours, m)
        ne, nh = summary(theirs, m) if theirs else (float("nan"), float("nan"))
        lines.append(f"| {names[m]} | {e:.4f} | {h:.0%} | {ne:.4f} | {nh:.0%} |")
    lines += ["", f"| chunk | realised accuracy | Argus estimate [95%] | NannyML estimate [±3 SE] | realised "
              f"{names['roc_auc']} | Argus | NannyML |", "|---:|---:|---|---|---:|---|---|"]
    for i, r in enumerate(ours):
        if i % max(1, chunks // 12) and i != len(ours) - 1:
            continue
        t = theirs[i] if theirs else None

        def cell(x: dict | None, m: str) -> str:
            return "—" if x is None else f"{x[m]['estimated']:.3f} [{x[m]['lower']:.3f}, {x[m]['upper']:.3f}]"

        lines.append(f"| {r['chunk']} | {r['accuracy']['realized']:.3f} | {cell(r, 'accuracy')} | "
                     f"{cell(t, 'accuracy')} | {r['roc_auc']['realized']:.3f} | {cell(r, 'roc_auc')} | "
                     f"{cell(t, 'roc_auc')} |")
    return [*lines, ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=60)
    ap.add_argument("--chunk-size", type=int, default=2000)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    cases = [("Binary", data, argus, (), {m: m for m in METRICS}),
             (f"Multiclass ({len(CLASSES)} classes)", data_multiclass, argus_multiclass, CLASSES,
              {"accuracy": "accuracy", "f1": "macro F1", "roc_auc": "ROC AUC (one-vs-rest, macro)"})]
    lines = [f"# CBPE: Argus and NannyML on {a.chunks} drifting chunks of {a.chunk_size:,} rows", "",
             f"`.venv/bin/python bench/bench_cbpe.py --chunks {a.chunks} --chunk-size {a.chunk_size}` on "
             f"{platform.node()} ({os.cpu_count()} cores), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", ""]
    ok = True
    for title, make, ours_of, classes, names in cases:
        ref, ana = make(a.chunks, a.chunk_size)
        ours, secs = ours_of(ref, ana)
        with tempfile.TemporaryDirectory() as d:
            theirs, about = nannyml(ref, ana, Path(d), classes)
        lines += section(title, f"Argus: {secs:.2f} s for all chunks. {about}.", ours, theirs, a.chunks, names)
        ok = ok and all(summary(ours, m)[1] >= 0.85 for m in METRICS)
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if a.out:
        a.out.write_text(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
