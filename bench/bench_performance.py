#!/usr/bin/env python
"""Model-quality speed: join labels to predictions and compute metrics per window and segment.

    .venv/bin/python bench/bench_performance.py [--rows 10000000] [--segments 8] [--out bench/results/performance.md]

The workload: ``--rows`` predictions of a binary model over one UTC day
(scores in [0, 1] rounded to 4 decimals, so there are ties; a segment column
with ``--segments`` values; unique string ids) and one label per prediction
(drawn from the score, in shuffled order, as labels arrive). What is computed,
by both sides: for every 5-minute, hourly and daily window, for the whole
traffic and each segment value, accuracy, precision, recall, F1, ROC AUC,
PR AUC, log loss and Brier score at threshold 0.5.

- **Argus**: the predictions and labels are in the service's DuckDB store
  (``Store.index``, as the collector writes them; loading is setup, not
  timed); the timed part is one pass of the service's performance job
  (``PerformanceJob.run`` with every window changed): the join in DuckDB,
  one sort by score, every window and segment as a linear pass, each metric
  with its 95% interval, rows and findings written back to the store.
- **pandas + scikit-learn**, what a user would write: ``pd.merge`` of the
  two frames on id, then a loop over the same windows and segments calling
  ``sklearn.metrics`` (no intervals). Loading the frames is setup.

Setup runs in a process of its own. Then each side runs in a fresh process
(peak RSS from ``getrusage`` is the process's own), one after the other, and
the results are compared window by window: the largest absolute difference of any metric is printed and must be
below 1e-9, or the script fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DAY = 1_799_971_200.0  # a UTC midnight
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier")
GRANULARITIES = (300.0, 3600.0, 86400.0)


def workload(rows: int, segments: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = DAY + np.sort(rng.random(rows)) * 86400.0
    x = rng.normal(size=rows)
    seg = rng.integers(0, segments, rows)
    score = np.round(1 / (1 + np.exp(-(1.2 * x + 0.1 * seg - 0.5))), 4)
    label = (rng.random(rows) < score).astype(np.int64)
    return {"id": np.char.add("p", np.arange(rows).astype(str)), "ts": ts, "score": score,
            "seg": np.char.add("s", seg.astype(str)), "label": label, "order": rng.permutation(rows)}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- Argus ------------------------------------------------------------------------------------------
def build_store(rows: int, segments: int, data: Path, out: Path) -> None:
    """Setup, in its own process: the predictions and labels written to a store as the collector writes
    them, and the two frames for pandas as Parquet."""
    import pandas as pd
    import pyarrow as pa

    from argusml.store import EVENT_SCHEMA, LABEL_SCHEMA, Store

    t0 = time.perf_counter()
    w = workload(rows, segments)
    store = Store(data / "store", memory_limit="4GB")
    segjson = np.char.add(np.char.add('{"seg":"', w["seg"]), '"}')
    chunk = 1_000_000
    for a in range(0, rows, chunk):
        b = min(rows, a + chunk)
        n = b - a
        store.index(pa.table({"seq": np.arange(a + 1, b + 1), "model": pa.array(["m"] * n),
                              "version": pa.array(["unversioned"] * n), "id": w["id"][a:b], "ts": w["ts"][a:b],
                              "arrival": w["ts"][a:b], "prediction": w["score"][a:b],
                              "prediction_label": pa.nulls(n, pa.string()), "segment": segjson[a:b],
                              "probabilities": pa.nulls(n, pa.string()), "latency_ms": pa.nulls(n, pa.float64()),
                              "status": pa.nulls(n, pa.int32())},
                             schema=EVENT_SCHEMA))
    order = w["order"]
    for a in range(0, rows, chunk):
        idx = order[a:a + chunk]
        n = idx.size
        store.index(None, pa.table({"model": pa.array(["m"] * n), "version": pa.nulls(n, pa.string()),
                                    "id": w["id"][idx], "label": w["label"][idx].astype(str),
                                    "ts": w["ts"][idx] + 3600, "arrival": w["ts"][idx] + 3600,
                                    "state": pa.array(["joined"] * n), "prediction_ts": w["ts"][idx],
                                    "resolved_at": w["ts"][idx] + 3600, "lseq": np.arange(a + 1, a + n + 1),
                                    "name": pa.nulls(n, pa.string())}, schema=LABEL_SCHEMA), [], 0.0)
    store.close()
    pd.DataFrame({"id": w["id"], "ts": w["ts"], "score": w["score"], "seg": w["seg"]}).to_parquet(
        data / "predictions.parquet")
    pd.DataFrame({"id": w["id"][order], "label": w["label"][order]}).to_parquet(data / "labels.parquet")
    ref = pd.DataFrame({"x": w["score"][:20_000], "seg": w["seg"][:20_000], "score": w["score"][:20_000],
                        "label": w["label"][:20_000]})
    ref.to_parquet(data / "reference.parquet")
    out.write_text(json.dumps({"seconds": time.perf_counter() - t0}))


# -- Argus ------------------------------------------------------------------------------------------
def run_argus(data: Path, out: Path) -> None:
    """The service's performance job over the whole store: every window changed."""
    from argusml.monitor import Monitor, Settings
    from argusml.profile import Reference
    from argusml.schema.model_config import ModelConfig
    from argusml.store import Store

    reference = Reference.from_frame(data / "reference.parquet", target="label", prediction="score")
    settings = Settings()  # the service's: DuckDB at 64MB, raised to 1GB while the job joins a period
    store = Store(data / "store", memory_limit=settings.memory_limit)
    mon = Monitor(store, settings)
    state = mon.register(ModelConfig(model="m", window="5m", segments=["seg"], max_segment_values=1000), reference,
                         persist=False)
    rss_before = peak_rss_mb()
    job = mon.performance
    t0 = time.perf_counter()
    computed = job.run(state, DAY + 2 * 86400, force=True)
    elapsed = time.perf_counter() - t0
    got: dict[str, dict[str, float]] = {}
    for r in store.performance("m", limit=10_000_000):
        m = json.loads(r["metrics"])
        got[f"{r['granularity']:.0f}|{r['start_ts']:.0f}|{r['segment']}"] = {
            k: m[k]["value"] for k in METRICS if k in m and m[k]["value"] is not None}
    out.write_text(json.dumps({"seconds": elapsed, "windows": computed, "rss_before_mb": rss_before,
                               "peak_rss_mb": peak_rss_mb(), "values": got}))
    store.close()


# -- pandas + scikit-learn ----------------------------------------------------------------------------
def run_pandas(data: Path, out: Path) -> None:
    import pandas as pd
    from sklearn import metrics as skm

    preds = pd.read_parquet(data / "predictions.parquet")
    labels = pd.read_parquet(data / "labels.parquet")
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    df = preds.merge(labels, on="id", how="inner")
    got: dict[str, dict[str, float]] = {}
    for g in GRANULARITIES:
        df["b"] = np.floor(df["ts"].to_numpy() / g) * g
        for b, part in df.groupby("b", sort=True):
            for seg, sub in [("*", part), *((f"seg={k}", s) for k, s in part.groupby("seg", sort=True))]:
                y = sub["label"].to_numpy()
                s = sub["score"].to_numpy()
                pred = (s >= 0.5).astype(np.int64)
                vals = {"accuracy": skm.accuracy_score(y, pred),
                        "precision": skm.precision_score(y, pred, zero_division=0),
                        "recall": skm.recall_score(y, pred, zero_division=0),
                        "f1": skm.f1_score(y, pred, zero_division=0)}
                if 0 < y.sum() < y.size:
                    vals.update({"roc_auc": skm.roc_auc_score(y, s), "pr_auc": skm.average_precision_score(y, s),
                                 "log_loss": skm.log_loss(y, s, labels=[0, 1])})
                vals["brier"] = skm.brier_score_loss(y, s)
                got[f"{g:.0f}|{b:.0f}|{seg}"] = {k: float(v) for k, v in vals.items()}
    elapsed = time.perf_counter() - t0
    out.write_text(json.dumps({"seconds": elapsed, "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb(),
                               "windows": len(got), "values": got}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--segments", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    ap.add_argument("--side", choices=["setup", "argus", "pandas"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.side:
        {"setup": lambda: build_store(a.rows, a.segments, a.data, a.result),
         "argus": lambda: run_argus(a.data, a.result), "pandas": lambda: run_pandas(a.data, a.result)}[a.side]()
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="argus-bench-perf-") as d:
        for side in ("setup", "argus", "pandas"):
            res = Path(d) / f"{side}.json"
            subprocess.run([sys.executable, __file__, "--side", side, "--rows", str(a.rows), "--segments",
                            str(a.segments), "--data", d, "--result", str(res)], check=True)
            results[side] = json.loads(res.read_text())
            print(f"{side}: {results[side]['seconds']:.1f} s", flush=True)
    ours, theirs = results["argus"]["values"], results["pandas"]["values"]
    assert set(ours) == set(theirs), (len(ours), len(theirs), sorted(set(ours) ^ set(theirs))[:5])
    worst = 0.0
    for key, vals in theirs.items():
        for k, v in vals.items():
            worst = max(worst, abs(ours[key][k] - v))
    assert worst < 1e-9, worst
    A, P = results["argus"], results["pandas"]
    lines = [
        f"# Model quality: {a.rows:,} labels joined to {a.rows:,} predictions, metrics per window and segment",
        "",
        f"`.venv/bin/python bench/bench_performance.py --rows {a.rows} --segments {a.segments}` on "
        f"{platform.node() or 'this machine'} ({os.cpu_count()} cores, Python {platform.python_version()}), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"{len(theirs):,} windows (5 min, 1 h, 1 day; whole traffic and {a.segments} segments); "
        f"8 metrics each; largest difference between the two sides: {worst:.1e}.",
        "",
        "| | time (s) | peak RSS (MB) | ratio |",
        "|---|---:|---:|---:|",
        f"| Argus performance job (DuckDB join, metrics with 95% intervals, stored) | {A['seconds']:.1f} | "
        f"{A['peak_rss_mb']:.0f} | 1.0 |",
        f"| pandas merge + scikit-learn loop (no intervals) | {P['seconds']:.1f} | {P['peak_rss_mb']:.0f} | "
        f"{P['seconds'] / A['seconds']:.1f}x slower |",
        "",
        f"Each side runs in a fresh process. Peak RSS before the timed part: Argus {A['rss_before_mb']:.0f} MB "
        f"(the store is opened, its data on disk), pandas {P['rss_before_mb']:.0f} MB (both frames read from "
        f"Parquet). Setup (generating the data, writing the store and the Parquet files): "
        f"{results['setup']['seconds']:.0f} s, not timed.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        a.out.write_text(text)


if __name__ == "__main__":
    main()
