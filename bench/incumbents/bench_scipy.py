#!/usr/bin/env python
# Copied verbatim from the drift-benchmark anchors: /work/shared/anchors/bench_scipy.py
# (sha256 a065fe43a769e399...). Only these header lines were added, so the measurement
# semantics (and numbers) stay comparable to the anchors' RESULTS.md; bench/run_bench.py
# runs it with the incumbent's own venv (bench/setup_venvs.sh) and --data DIR.
# ruff: noqa: I001
"""Baseline: hand-written per-column drift with scipy + numpy.

numeric columns (20 features + prediction): scipy.stats.ks_2samp (NaN dropped)
categorical columns (5 features + target):  scipy.stats.chi2_contingency on the
                                            2 x K table of counts (union of levels)
every column:                               PSI in numpy (10 reference-quantile
                                            bins for numeric, NaN its own bin;
                                            one bin per level for categorical)

Main verdict ("flagged"): test p-value < 0.05, no multiple-testing correction
(the textbook default).  PSI verdicts (>= 0.1 and >= 0.25) are reported too.
"""
import time

import common

import numpy as np
import scipy
from scipy import stats

ALPHA = 0.05
PSI_THRESHOLDS = (0.1, 0.25)
EPS = 1e-4


def psi_from_props(p_ref: np.ndarray, p_cur: np.ndarray) -> float:
    p_ref = np.clip(p_ref, EPS, None)
    p_cur = np.clip(p_cur, EPS, None)
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))


def numeric_psi(r: np.ndarray, c: np.ndarray, bins: int = 10) -> float:
    r_ok = r[~np.isnan(r)]
    edges = np.unique(np.quantile(r_ok, np.linspace(0, 1, bins + 1))[1:-1])

    def props(x):
        nan = np.isnan(x)
        idx = np.searchsorted(edges, x[~nan], side="right")
        counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
        counts = np.append(counts, nan.sum())
        return counts / len(x)

    return psi_from_props(props(r), props(c))


def main() -> None:
    a = common.args(__doc__)
    ref, cur, man, load_s = common.load(a)
    num_cols = man["numeric"] + ["prediction"]
    cat_cols = man["categorical"] + ["target"]

    t0 = time.perf_counter()
    pvals, psis = {}, {}
    t_ks = time.perf_counter()
    for col in num_cols:
        r = ref[col].to_numpy(dtype=float)
        c = cur[col].to_numpy(dtype=float)
        pvals[col] = float(stats.ks_2samp(r[~np.isnan(r)], c[~np.isnan(c)]).pvalue)
    t_ks = time.perf_counter() - t_ks

    t_chi = time.perf_counter()
    cat_counts = {}
    for col in cat_cols:
        rc = ref[col].value_counts(dropna=False)
        cc = cur[col].value_counts(dropna=False)
        levels = rc.index.union(cc.index)
        table = np.vstack([rc.reindex(levels, fill_value=0).to_numpy(),
                           cc.reindex(levels, fill_value=0).to_numpy()]).astype(float)
        cat_counts[col] = table
        pvals[col] = float(stats.chi2_contingency(table, correction=False).pvalue)
    t_chi = time.perf_counter() - t_chi

    t_psi = time.perf_counter()
    for col in num_cols:
        psis[col] = numeric_psi(ref[col].to_numpy(dtype=float), cur[col].to_numpy(dtype=float))
    for col in cat_cols:
        table = cat_counts[col]
        psis[col] = psi_from_props(table[0] / table[0].sum(), table[1] / table[1].sum())
    t_psi = time.perf_counter() - t_psi
    compute_s = time.perf_counter() - t0

    flagged = [c for c, p in pvals.items() if p < ALPHA]
    psi_scores = {f"psi>={t}": common.score([c for c, v in psis.items() if v >= t], man)
                  for t in PSI_THRESHOLDS}
    if a.save:
        import json
        with open(a.save, "w") as f:
            json.dump({"p_values": pvals, "psi": psis}, f, indent=1)
    common.result(
        "scipy (KS/chi2 p<0.05; PSI)", f"scipy {scipy.__version__}, numpy {np.__version__}",
        a.n, compute_s, flagged, man, load_s,
        phases={"ks": t_ks, "chi2": t_chi, "psi": t_psi},
        decision="KS (numeric) / chi2 (categorical) p < 0.05, uncorrected",
        psi=psi_scores,
        p_values={k: float(f"{v:.3g}") for k, v in pvals.items()},
        psi_values={k: round(v, 4) for k, v in psis.items()},
    )


if __name__ == "__main__":
    main()
