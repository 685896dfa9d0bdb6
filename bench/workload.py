#!/usr/bin/env python
"""The drift benchmark workload, standing alone in this repository.

This reproduces ../shared/anchors/make_data.py (the spec) value for value:
the same seed gives the same frames (tests/test_bench_workload.py checks
it). Beyond the spec it can write *clean* pairs (both frames drawn without
drift, for false-alarm rates) and pairs with one drift of a chosen size
(for power curves), from any seed.

    python bench/workload.py --n 100000 [--out /tmp/benchdata] [--seed 0] [--clean]
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pandas as pd

SEED = 0
CAT_CARD = {"cat_3": 3, "cat_5": 5, "cat_10": 10, "cat_20": 20, "cat_50": 50}
NUMERIC = [
    "norm_0", "norm_1", "norm_2", "norm_3", "norm_4", "norm_5",
    "lognorm_0", "lognorm_1", "lognorm_2", "lognorm_3",
    "unif_0", "unif_1", "unif_2", "unif_3",
    "int_0", "int_1", "int_2", "int_3",
    "nan_norm", "gamma_0",
]
CATEGORICAL = list(CAT_CARD)
DRIFTS = {
    "norm_1": "mean shift +0.1 sd (normal(50,10) -> normal(51,10))",
    "norm_2": "mean shift +0.5 sd (normal(-3,2) -> normal(-2,2))",
    "norm_3": "variance x2 (normal(100,15) -> normal(100,15*sqrt(2)))",
    "int_0": "sentinel: 3% of rows set to -999 (age-like integers 18..90)",
    "lognorm_1": "upper-tail change: lognormal(3,1), log-values above the 95th percentile stretched x1.5 (body unchanged)",
    "cat_10": "new category 'cat_10_NEW' in 5% of rows",
    "cat_5": "frequency swap of the 2nd and 3rd most frequent categories (p 0.221 <-> 0.160)",
}
LOGN1_MU, LOGN1_SIGMA = 3.0, 1.0
Z95 = 1.6448536269514722

# Size of each planted drift in the spec; power curves scale these.
SPEC_SIZES = {"mean_shift_sd": 0.1, "variance_ratio": 2.0, "sentinel_share": 0.03, "tail_stretch": 1.5,
              "new_category_share": 0.05, "swap_fraction": 1.0}


def cat_probs(k: int) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** 0.8
    return w / w.sum()


def cat_levels(name: str, k: int) -> np.ndarray:
    return np.array([f"{name}_{i:02d}" for i in range(k)], dtype=object)


def make_frame(rng: np.random.Generator, n: int, drift: bool, sizes: dict[str, float] | None = None,
               only: str | None = None) -> pd.DataFrame:
    """One frame. ``drift=True`` with default ``sizes`` is exactly the spec's
    current frame. ``sizes`` rescales the drifts; ``only`` plants just one
    column's drift (the others stay clean). Random draws are made in the
    same order whatever the options, so frames stay comparable."""
    s = {**SPEC_SIZES, **(sizes or {})}

    def on(col: str) -> bool:
        return drift and (only is None or only == col)

    c: dict[str, np.ndarray] = {}
    c["norm_0"] = rng.normal(0.0, 1.0, n)
    c["norm_1"] = rng.normal(50.0 + (10.0 * s["mean_shift_sd"] if on("norm_1") else 0.0), 10.0, n)
    c["norm_2"] = rng.normal(-2.0 if on("norm_2") else -3.0, 2.0, n)
    c["norm_3"] = rng.normal(100.0, 15.0 * (np.sqrt(s["variance_ratio"]) if on("norm_3") else 1.0), n)
    c["norm_4"] = rng.normal(0.0, 1.0, n)
    c["norm_5"] = rng.normal(10.0, 3.0, n)
    c["lognorm_0"] = rng.lognormal(0.0, 0.5, n)
    z = rng.standard_normal(n)
    if on("lognorm_1"):
        z = np.where(z > Z95, Z95 + s["tail_stretch"] * (z - Z95), z)
    c["lognorm_1"] = np.exp(LOGN1_MU + LOGN1_SIGMA * z)
    c["lognorm_2"] = rng.lognormal(1.0, 0.25, n)
    c["lognorm_3"] = rng.lognormal(5.0, 0.75, n)
    c["unif_0"] = rng.uniform(0.0, 1.0, n)
    c["unif_1"] = rng.uniform(-100.0, 100.0, n)
    c["unif_2"] = rng.uniform(5.0, 6.0, n)
    c["unif_3"] = rng.uniform(0.0, 1000.0, n)
    age = rng.integers(18, 91, n)
    u = rng.random(n)
    if on("int_0"):
        age = np.where(u < s["sentinel_share"], -999, age)
    c["int_0"] = age.astype(np.int64)
    c["int_1"] = rng.poisson(3.0, n).astype(np.int64)
    c["int_2"] = rng.binomial(20, 0.3, n).astype(np.int64)
    c["int_3"] = rng.integers(0, 1000, n).astype(np.int64)
    x = rng.normal(5.0, 2.0, n)
    x[rng.random(n) < 0.05] = np.nan
    c["nan_norm"] = x
    c["gamma_0"] = rng.gamma(2.0, 2.0, n)
    for name, k in CAT_CARD.items():
        p = cat_probs(k)
        if on("cat_5") and name == "cat_5":
            p = p.copy()
            f = s["swap_fraction"]
            a, b = p[1], p[2]
            p[1], p[2] = a + f * (b - a), b + f * (a - b)
        col = cat_levels(name, k)[rng.choice(k, size=n, p=p)]
        new = rng.random(n) < (s["new_category_share"] if name == "cat_10" else 0.05)
        if on("cat_10") and name == "cat_10":
            col = np.where(new, f"{name}_NEW", col).astype(object)
        c[name] = col
    cat3_effect = np.select([c["cat_3"] == "cat_3_00", c["cat_3"] == "cat_3_01"], [0.4, -0.2], -0.5)
    logit = (-0.5 + 0.9 * c["norm_0"] + 1.2 * (c["unif_0"] - 0.5)
             + 0.25 * (c["int_1"] - 3.0) + 0.1 * (c["gamma_0"] - 4.0)
             + cat3_effect + rng.normal(0.0, 0.5, n))
    pred = 1.0 / (1.0 + np.exp(-logit))
    c["prediction"] = pred
    c["target"] = (rng.random(n) < pred).astype(np.int64)
    df = pd.DataFrame(c)
    return df[NUMERIC + CATEGORICAL + ["prediction", "target"]]


def make_pair(n: int, seed: int = SEED, clean: bool = False, sizes: dict[str, float] | None = None,
              only: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    ref_seq, cur_seq = np.random.SeedSequence(seed).spawn(2)
    ref = make_frame(np.random.default_rng(ref_seq), n, drift=False)
    cur = make_frame(np.random.default_rng(cur_seq), n, drift=not clean, sizes=sizes, only=only)
    return ref, cur


def manifest(n: int, seed: int, clean: bool) -> dict:
    return {
        "seed": seed,
        "n_rows": n,
        "numeric": NUMERIC,
        "categorical": CATEGORICAL,
        "model_columns": {"prediction": "prediction", "target": "target"},
        "drifted": {} if clean else DRIFTS,
        "not_drifted": [c for c in NUMERIC + CATEGORICAL if clean or c not in DRIFTS],
        "note": "prediction and target are not drifted either; false flags are counted over the non-drifted features",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, required=True, help="rows per frame")
    ap.add_argument("--out", default="/tmp/benchdata")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--clean", action="store_true", help="no drift in the current frame")
    a = ap.parse_args()
    ref, cur = make_pair(a.n, a.seed, a.clean)
    tag = f"n{a.n}" + ("" if a.seed == SEED and not a.clean else f"_s{a.seed}{'_clean' if a.clean else ''}")
    d = os.path.join(a.out, tag)
    os.makedirs(d, exist_ok=True)
    ref.to_parquet(os.path.join(d, "reference.parquet"), engine="pyarrow", index=False)
    cur.to_parquet(os.path.join(d, "current.parquet"), engine="pyarrow", index=False)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest(a.n, a.seed, a.clean), f, indent=2)
    print(json.dumps({"dir": d, "rows": a.n, "columns": list(ref.columns)}))


if __name__ == "__main__":
    main()
