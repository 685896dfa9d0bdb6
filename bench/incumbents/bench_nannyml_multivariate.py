#!/usr/bin/env python
"""NannyML's data reconstruction drift (PCA) on our data: the incumbent for Argus's multivariate drift.

Argus tests whether the joint distribution of the features changed (PCA
reconstruction error + a domain classifier, ``docs/CHECKS.md``, "Multivariate
drift"). NannyML's multivariate method is the PCA reconstruction error with
thresholds learned from the reference's chunks. ``bench/bench_multivariate.py``
writes each scenario's data and runs this script in NannyML's own venv (made by
``bench/setup_venvs.sh nannyml``; NannyML is never a project dependency):

    /tmp/venvs/nannyml/bin/python bench/incumbents/bench_nannyml_multivariate.py \\
        --manifest CASES.json --out OUT.json

``CASES.json``: ``{"cases": [{"name", "reference", "analysis", "columns",
"chunk_size"}]}``, with ``reference`` / ``analysis`` Parquet paths. The analysis
file has a ``chunk`` column (int id; each chunk's rows contiguous, every chunk
``chunk_size`` rows); the reference has none, and NannyML splits it by size.

What is run, per case: ``DataReconstructionDriftCalculator(column_names=columns,
chunk_size=chunk_size)`` with every other argument at its default
(``n_components=0.65``, mean / most-frequent imputation, count encoding of
categoricals, ``StandardScaler``, thresholds = mean +- 3 standard deviations of
the reference chunks' errors, the lower one floored at 0), ``fit(reference)``,
then ``calculate(analysis)`` once over all chunks. A chunk is flagged when
NannyML's ``alert`` is true (its error outside either threshold); ``above`` says
whether it was the upper one. The script asserts NannyML's chunk boundaries are
the ``chunk`` column's.

Output JSON: ``{"nannyml_version", "cases": [{"name", "seconds_fit",
"seconds_calculate", "n_components", "reference_values", "upper_threshold",
"lower_threshold", "chunks": [{"chunk", "value", "alert", "above"}]}]}``.
Telemetry is switched off (``NML_DISABLE_USAGE_LOGGING=1``) before NannyML is
imported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd


def chunk_runs(ids: np.ndarray) -> list[tuple[int, int, int]]:
    """(chunk id, first row, last row) per contiguous run of one id; each id must make one run."""
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)] - 1
    runs = [(int(ids[s]), int(s), int(e)) for s, e in zip(starts, ends)]
    assert len({r[0] for r in runs}) == len(runs), "a chunk id appears in more than one run of rows"
    return runs


def num(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    import nannyml as nml

    cols, size = list(case["columns"]), int(case["chunk_size"])
    ref = pd.read_parquet(case["reference"])[cols].reset_index(drop=True)
    ana = pd.read_parquet(case["analysis"]).reset_index(drop=True)
    runs = chunk_runs(ana["chunk"].to_numpy())
    assert all(e - s + 1 == size for _, s, e in runs), f"{case['name']}: every analysis chunk must hold {size} rows"
    ana = ana[cols]

    t0 = time.perf_counter()
    calc = nml.DataReconstructionDriftCalculator(column_names=cols, chunk_size=size)
    calc.fit(ref)
    t1 = time.perf_counter()
    res = calc.calculate(ana)
    t2 = time.perf_counter()

    df = res.to_df()
    period = df[("chunk", "period")]
    refd, anad = df[period == "reference"], df[period == "analysis"]
    got = [(int(s), int(e)) for s, e in zip(anad[("chunk", "start_index")], anad[("chunk", "end_index")])]
    assert got == [(s, e) for _, s, e in runs], f"{case['name']}: NannyML's chunks {got[:3]}... are not ours"
    upper = num(anad[("reconstruction_error", "upper_threshold")].iloc[0])
    lower = num(anad[("reconstruction_error", "lower_threshold")].iloc[0])
    chunks = []
    for (cid, _, _), (_, row) in zip(runs, anad.iterrows()):
        v = float(row[("reconstruction_error", "value")])
        chunks.append({"chunk": cid, "value": v, "alert": bool(row[("reconstruction_error", "alert")]),
                       "above": upper is not None and v > upper})
    return {"name": case["name"], "seconds_fit": t1 - t0, "seconds_calculate": t2 - t1,
            "n_components": int(calc._pca.n_components_), "continuous": list(calc.continuous_column_names),
            "categorical": list(calc.categorical_column_names),
            "reference_values": [float(v) for v in refd[("reconstruction_error", "value")]],
            "upper_threshold": upper, "lower_threshold": lower, "chunks": chunks}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True, help="JSON: {'cases': [{name, reference, analysis, columns, "
                    "chunk_size}]}")
    ap.add_argument("--out", required=True, help="output JSON path")
    a = ap.parse_args(argv)
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no telemetry retries at exit (no network)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    warnings.filterwarnings("ignore")  # NannyML warns on few reference chunks; nothing we act on
    import nannyml

    with open(a.manifest) as f:
        cases = json.load(f)["cases"]
    out = {"nannyml_version": nannyml.__version__, "cases": []}
    for case in cases:
        r = run_case(case)
        out["cases"].append(r)
        flagged = sum(c["alert"] for c in r["chunks"])
        print(f"{r['name']}: {flagged}/{len(r['chunks'])} alerts, {r['n_components']} components, "
              f"thresholds [{r['lower_threshold']}, {r['upper_threshold']}], fit {r['seconds_fit']:.2f} s, "
              f"calculate {r['seconds_calculate']:.2f} s")
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
