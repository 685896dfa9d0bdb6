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
import pyarrow as pa
import pyarrow.compute as pc

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


# ---------------------------------------------------------------------------
# High-cardinality categories and near-unique text (issue 13). Additions only:
# the spec's columns above are drawn exactly as before; these come from their
# own random streams, so adding them changes no value of the spec's frames.

ZIPF_S = 1.0
"""Zipf exponent of the many-level categories (share of the rank-i level proportional to i**-1.0): the
classic law of word, product and city frequencies, with a long tail of levels seen once or twice."""

HIGH_CARD = {"zipf_1k": 1_000, "zipf_5k": 5_000, "zipf_50k": 50_000}
SKETCH_CARD = {"zipf_300k": 300_000}
"""300,000 levels: 1M rows of it hold about 145,000 distinct values (ratio about 0.15, so Argus still
infers categorical), more than the 100,000 counted exactly, so its counts go through the sketch."""

TEXT = "title"
VOCAB_SIZE = 30_000
VOCAB_SEED = 13
TITLE_MAX_WORDS = 12
"""Titles: 1 + Poisson(3) words (at most 12), each word drawn Zipf(1.0) from a 30,000-word vocabulary of
random lowercase words of 3 + Poisson(3) letters (at most 14). About 97% / 95% / 91% of 10k / 100k / 1M
titles are distinct: near-unique, as product titles are, with repeats from the short titles of common
words."""

_vocab_cache: dict[bool, np.ndarray] = {}


def zipf_probs(k: int, s: float = ZIPF_S) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** s
    return w / w.sum()


def vocabulary(other: bool = False) -> np.ndarray:
    """The title vocabulary, the same for every seed (it is the population, not the sample).

    ``other=True`` is a second population's vocabulary: its rank-r word has exactly the length of the
    first vocabulary's rank-r word but is none of the first vocabulary's words, so a title rebuilt from
    the same word ranks has the same length in characters and words and is a value the first population
    never produces."""
    if other in _vocab_cache:
        return _vocab_cache[other]
    rng = np.random.default_rng(VOCAB_SEED)
    lens = np.minimum(3 + rng.poisson(3.0, VOCAB_SIZE), 14)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)

    def draw(taken: set[str]) -> list[str]:
        out: list[str] = []
        for length in lens:
            while True:
                w = letters[rng.integers(0, 26, length)].tobytes().decode()
                if w not in taken:
                    taken.add(w)
                    out.append(w)
                    break
        return out

    first = draw(set())
    _vocab_cache[False] = np.array(first, dtype=object)
    _vocab_cache[True] = np.array(draw(set(first)), dtype=object)
    return _vocab_cache[other]


def title_words(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Word ranks of n titles: (offsets of n + 1 title starts, flat word ranks)."""
    counts = np.minimum(1 + rng.poisson(3.0, n), TITLE_MAX_WORDS)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ranks = rng.choice(VOCAB_SIZE, size=int(offsets[-1]), p=zipf_probs(VOCAB_SIZE))
    return offsets, ranks


def titles(offsets: np.ndarray, ranks: np.ndarray, other: bool = False) -> pa.Array:
    """The titles spelled from word ranks (one space between words), in either vocabulary."""
    words = pa.array(vocabulary(other), type=pa.string())
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), words.take(pa.array(ranks)))
    return pc.binary_join(lists, " ")


def high_card_columns(rng: np.random.Generator, n: int, cards: dict[str, int], text: bool
                      ) -> tuple[dict[str, pa.Array], tuple[np.ndarray, np.ndarray] | None]:
    """Zipf categories (levels as strings ``<name>_<rank>``) and, with ``text``, the title column; also
    returns the titles' word ranks so a drift can respell some of them in the other vocabulary."""
    out: dict[str, pa.Array] = {}
    for name, k in cards.items():
        levels = pa.array([f"{name}_{i:06d}" for i in range(k)], type=pa.string())
        out[name] = levels.take(pa.array(rng.choice(k, size=n, p=zipf_probs(k))))
    words = None
    if text:
        words = title_words(rng, n)
        out[TEXT] = titles(*words)
    return out, words


def make_high_card_pair(n: int, seed: int = SEED, cards: dict[str, int] | None = None, text: bool = True,
                        base: tuple[pd.DataFrame, pd.DataFrame] | None = None
                        ) -> tuple[pa.Table, pa.Table, tuple[np.ndarray, np.ndarray] | None]:
    """A clean pair: the spec's 27 columns exactly as ``make_pair(n, seed, clean=True)`` draws them (or
    ``base``, that pair already drawn), plus the Zipf categories ``cards`` (default ``HIGH_CARD``) and the
    title column, from the seed's own streams (SeedSequence children 2 and 3). Arrow tables, as Parquet
    hands such columns over; the current side's title word ranks are returned for ``switch_titles``."""
    cards = HIGH_CARD if cards is None else cards
    ref_df, cur_df = base if base is not None else make_pair(n, seed, clean=True)
    ref_seq, cur_seq = np.random.SeedSequence(seed).spawn(4)[2:]
    tables = []
    words = None
    for df, seq in ((ref_df, ref_seq), (cur_df, cur_seq)):
        cols, words = high_card_columns(np.random.default_rng(seq), n, cards, text)
        t = pa.Table.from_pandas(df, preserve_index=False)
        for name, arr in cols.items():
            t = t.append_column(name, arr)
        tables.append(t)
    return tables[0], tables[1], words


def plant_uniforms(n: int, seed: int, column: str) -> np.ndarray:
    """One uniform per current row for planting a drift in ``column``: rows with u < share move, so a larger
    share moves a superset of the rows a smaller one moved (detection is then monotone in the share)."""
    key = int.from_bytes(column.encode()[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng(np.random.SeedSequence([seed, key], spawn_key=(4,))).random(n)


def move_to_new(col: pa.Array, name: str, moved: np.ndarray, spread: bool) -> pa.Array:
    """Rows where ``moved`` take categories the reference never had: all the same one (``<name>_NEW``), or
    with ``spread`` each its own one-off category (``<name>_NEW_<row>``) - a flood of new rare levels,
    which a category test of a high-cardinality column must still see."""
    rows = np.flatnonzero(moved)
    labels = [f"{name}_NEW_{i:07d}" for i in rows] if spread else [f"{name}_NEW"] * len(rows)
    return pc.replace_with_mask(col, pa.array(moved), pa.array(labels, type=pa.string()))


def switch_titles(col: pa.Array, words: tuple[np.ndarray, np.ndarray], moved: np.ndarray) -> pa.Array:
    """Rows where ``moved`` get the title with the same word ranks spelled in the other vocabulary: the
    same length in characters and in words, a value the reference's population never produces."""
    return pc.if_else(pa.array(moved), titles(*words, other=True), col)


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
