# Copied verbatim from the drift-benchmark anchors: /work/shared/anchors/common.py
# (sha256 c18ba7306dca7465...). Only these header lines were added, so the measurement
# semantics (and numbers) stay comparable to the anchors' RESULTS.md; bench/run_bench.py
# runs it with the incumbent's own venv (bench/setup_venvs.sh) and --data DIR.
"""Shared helpers for the bench_*.py scripts (needs only pandas + pyarrow).

Every bench script:
  1. parses --n / --data,
  2. loads reference + current Parquet with pandas (NOT timed),
  3. times the library's drift computation with time.perf_counter,
  4. prints ONE JSON line built by `result(...)`.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import pandas as pd

MODEL_COLS = ("prediction", "target")


def args(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--n", type=int, required=True, help="rows per frame (selects /tmp/benchdata/n<N>)")
    ap.add_argument("--data", default="/tmp/benchdata", help="root written by make_data.py")
    ap.add_argument("--save", default=None,
                    help="optional path: also write the library's full result (json) there")
    return ap.parse_args()


def load(a: argparse.Namespace):
    d = os.path.join(a.data, f"n{a.n}")
    with open(os.path.join(d, "manifest.json")) as f:
        manifest = json.load(f)
    t0 = time.perf_counter()
    ref = pd.read_parquet(os.path.join(d, "reference.parquet"))
    cur = pd.read_parquet(os.path.join(d, "current.parquet"))
    load_s = time.perf_counter() - t0
    return ref, cur, manifest, load_s


def score(flagged, manifest) -> dict:
    flagged = sorted(set(flagged))
    drifted = set(manifest["drifted"])
    clean = set(manifest["not_drifted"])
    return {
        "flagged": flagged,
        "caught": len(drifted & set(flagged)),
        "caught_of": len(drifted),
        "missed": sorted(drifted - set(flagged)),
        "false_flags": len(clean & set(flagged)),
        "false_flags_of": len(clean),
        "false_flag_columns": sorted(clean & set(flagged)),
        "model_cols_flagged": sorted(set(MODEL_COLS) & set(flagged)),
    }


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def result(library: str, version: str, n: int, compute_s: float, flagged, manifest,
           load_s: float, phases: dict | None = None, **extra) -> None:
    out = {
        "library": library,
        "version": version,
        "N": n,
        "compute_s": round(compute_s, 4),
        "phases_s": {k: round(v, 4) for k, v in (phases or {}).items()},
        "load_s": round(load_s, 4),
        **score(flagged, manifest),
        "self_peak_rss_mb": round(peak_rss_mb(), 1),
        "python": platform.python_version(),
        "pandas": pd.__version__,
    }
    out.update(extra)
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    sys.stdout.flush()
