#!/usr/bin/env python
# Copied verbatim from the drift-benchmark anchors: /work/shared/anchors/bench_alibi.py
# (sha256 9472296f874859b4...). Only these header lines were added, so the measurement
# semantics (and numbers) stay comparable to the anchors' RESULTS.md; bench/run_bench.py
# runs it with the incumbent's own venv (bench/setup_venvs.sh) and --data DIR.
# ruff: noqa: I001
"""alibi-detect: TabularDrift with categories_per_feature, defaults otherwise.

TabularDrift needs one numeric array, so the categorical columns (5 features
+ target) are integer-coded first (pd.factorize over the union of both
frames' levels; timed, phase "encode").  categories_per_feature maps their
column indices to None (levels inferred from the reference).  Defaults:
p_val=0.05, correction='bonferroni', two-sided K-S for numeric columns
(alibi passes NaN through, so a column with NaN gets p = NaN), chi-square
contingency test for categorical ones.  A column counts as flagged when its
feature-level p-value < data['threshold'] (0.05 / 27 under Bonferroni).

Timed (compute_s): encode + TabularDrift(x_ref, ...) + cd.predict(x).
"""
import time

import common

import alibi_detect
import numpy as np
import pandas as pd
from alibi_detect.cd import TabularDrift


def main() -> None:
    a = common.args(__doc__)
    ref, cur, man, load_s = common.load(a)
    num_cols = man["numeric"] + ["prediction"]
    cat_cols = man["categorical"] + ["target"]
    cols = num_cols + cat_cols

    t0 = time.perf_counter()
    x_ref = np.empty((len(ref), len(cols)), dtype=np.float64)
    x_cur = np.empty((len(cur), len(cols)), dtype=np.float64)
    for j, c in enumerate(num_cols):
        x_ref[:, j] = ref[c].to_numpy(dtype=np.float64)
        x_cur[:, j] = cur[c].to_numpy(dtype=np.float64)
    for j, c in enumerate(cat_cols, start=len(num_cols)):
        codes, _ = pd.factorize(pd.concat([ref[c], cur[c]], ignore_index=True))
        x_ref[:, j] = codes[: len(ref)]
        x_cur[:, j] = codes[len(ref):]
    categories_per_feature = {j: None for j in range(len(num_cols), len(cols))}
    t1 = time.perf_counter()
    cd = TabularDrift(x_ref, categories_per_feature=categories_per_feature)
    t2 = time.perf_counter()
    preds = cd.predict(x_cur)
    t3 = time.perf_counter()

    data = preds["data"]
    p_vals = np.asarray(data["p_val"], dtype=float)
    thr = float(data["threshold"])
    flagged = [c for c, p in zip(cols, p_vals) if p < thr]
    common.result(
        "alibi-detect", alibi_detect.__version__, a.n, t3 - t0, flagged, man, load_s,
        phases={"encode": t1 - t0, "init_TabularDrift": t2 - t1, "predict": t3 - t2},
        decision=f"feature p < threshold ({thr:.3g}; p_val=0.05, bonferroni)",
        dataset_is_drift=int(data["is_drift"]),
        nan_p_value_columns=[c for c, p in zip(cols, p_vals) if np.isnan(p)],
        p_values={c: float(f"{p:.3g}") for c, p in zip(cols, p_vals)},
        numpy=np.__version__,
    )


if __name__ == "__main__":
    main()
