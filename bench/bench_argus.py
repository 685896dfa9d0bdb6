#!/usr/bin/env python
"""Argus on the drift benchmark workload: one JSON line, like the incumbents'.

    python bench/bench_argus.py --n 1000000 [--data /tmp/benchdata]

Timed (compute_s): ONE call of
``argusml.report(ref_path, cur_path, target="target", prediction="prediction")``
from the two Parquet paths. Unlike the incumbents' compute_s this INCLUDES
reading both files and profiling the reference (argus reads the Parquet
itself, column by column); it excludes only interpreter start-up and imports
(argusml imports its engine lazily, on first use: that import, and
pyarrow.parquet's, happen before the timer, as the incumbents' imports do).

phases_s splits that same call (no second pass) with the progress callback
``report`` already takes: it ticks once per finished profiling task, in
submission order, first for the reference, then for the current frame (the
same number of times here: both frames have the same columns), so the tick
that completes the reference's tasks ends "reference" (open both files +
profile the reference), the last tick ends "current" (profile the current
frame), and the rest is "checks" (whatever follows the last profiling
task: tests, decision, Report object). Approximate at the edges: work a
profile does after its column tasks (the correlation co-moments) lands in
the next phase. Left empty when the ticks do not split evenly.

Flagged columns: ``report.drifted_columns`` (the verdict's drifted_columns).

Memory: ``import_baseline_rss_mb`` is VmRSS right after the imports,
``self_peak_rss_mb`` is ru_maxrss (the process peak), and
``peak_above_baseline_mb`` their difference, all read right after the
timed call. ``arrow_bytes_both`` (sum of
``pyarrow.parquet.read_table(path).nbytes`` of both files, the size of the
two frames held in Arrow) is measured afterwards in a child process, so it
does not touch this process's peak.
"""

from __future__ import annotations

import resource
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pyarrow  # noqa: E402
import pyarrow.parquet  # noqa: E402  (argus reads Parquet with it; imported here, not in the timed call)

import argusml  # noqa: E402

# argusml imports its engine on first use (PEP 562); pull it in now so that
# compute_s, like the incumbents', excludes imports.
_ENGINE = (argusml.report, argusml.Reference)
# pyarrow imports pandas (about 0.3 s) the first time it builds an array from Python or numpy objects, which
# argus's first take() does; the incumbents import pandas before their timers too
pyarrow.array([0])

MODEL_COLS = ("prediction", "target")


def vmrss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0  # kB
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


IMPORT_S = time.perf_counter() - T_START
IMPORT_BASELINE_MB = vmrss_mb()


def score(flagged: list[str], manifest: dict) -> dict:
    """Same scoring as the incumbents' common.score (no pandas needed)."""
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


ARROW_SIZE = "import sys, pyarrow.parquet as pq; print(sum(pq.read_table(p).nbytes for p in sys.argv[1:]))"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, required=True, help="rows per frame (selects DATA/n<N>)")
    ap.add_argument("--data", default="/tmp/benchdata", help="root written by bench/workload.py")
    ap.add_argument("--save", default=None, help="optional path: also write the report JSON there (not timed)")
    ap.add_argument("--no-arrow-size", action="store_true", help="skip the arrow_bytes_both child process")
    a = ap.parse_args()

    d = os.path.join(a.data, f"n{a.n}")
    with open(os.path.join(d, "manifest.json")) as f:
        man = json.load(f)
    ref_path = os.path.join(d, "reference.parquet")
    cur_path = os.path.join(d, "current.parquet")

    ticks: list[float] = []
    t0 = time.perf_counter()
    rep = argusml.report(ref_path, cur_path, target="target", prediction="prediction",
                         progress=lambda: ticks.append(time.perf_counter()))
    t1 = time.perf_counter()
    peak = peak_rss_mb()
    rss_after = vmrss_mb()

    flagged = rep.drifted_columns
    # phases from the progress ticks of that one call (see the docstring)
    res = rep.results
    phases: dict[str, float] = {}
    # both frames have the same columns here, so both profiles tick the same number of times
    same_columns = set(res.current.columns) == set(res.reference.specs)
    if ticks and len(ticks) % 2 == 0 and same_columns:
        t_ref = ticks[len(ticks) // 2 - 1]
        phases = {"reference": t_ref - t0, "current": ticks[-1] - t_ref, "checks": t1 - ticks[-1]}

    arrow_bytes = None
    if not a.no_arrow_size:
        out = subprocess.run([sys.executable, "-c", ARROW_SIZE, ref_path, cur_path],
                             capture_output=True, text=True, check=True)
        arrow_bytes = int(out.stdout.strip())
    if a.save:
        rep.save(a.save)

    import numpy
    import pyarrow

    out = {
        "library": "argus",
        "version": argusml.__version__,
        "N": a.n,
        "compute_s": round(t1 - t0, 4),
        "phases_s": {k: round(v, 4) for k, v in phases.items()},
        "load_s": None,  # included in compute_s: argus reads the Parquet itself
        **score(flagged, man),
        "self_peak_rss_mb": round(peak, 1),
        "import_baseline_rss_mb": round(IMPORT_BASELINE_MB, 1),
        "peak_above_baseline_mb": round(peak - IMPORT_BASELINE_MB, 1),
        "rss_after_mb": round(rss_after, 1),
        "arrow_bytes_both": arrow_bytes,
        "import_s": round(IMPORT_S, 4),
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
        "decision": f"verdict drifted_columns (alpha {res.verdict.alpha}, correction {res.verdict.correction})",
        "status": res.verdict.status,
        "n_tested": res.verdict.n_tested,
        "findings_by_severity": res.verdict.findings_by_severity,
        "progress_ticks": len(ticks),
        "argusml_path": os.path.dirname(argusml.__file__),
    }
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
