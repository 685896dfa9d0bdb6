#!/usr/bin/env python
"""Embedding drift at 100,000 × 384 against 100,000 × 384: the seconds of each part, on this machine.

    PYTHONPATH=src .venv/bin/python bench/embedding_drift.py [--rows 100000] [--dim 384]
                                                          [--max-per-side 2000] [--permutations 500]

Data (seeded, float32): rows are unit-normalised mixtures of 50 random topic
directions plus noise, the shape of sentence embeddings. ``no_change`` draws
the current rows from the reference's topics; ``shift`` moves 10% of the
current rows onto 5 new topics (a new kind of query). Each part of
``embedding_drift`` is timed on its own (centroid and norms over every row,
MMD on the bounded sample with its permutations, the examples), then the
whole call, which is what a check pays.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from argusml.stats.embedding import _sample, centroid_test, embedding_drift, mmd_test
from argusml.stats.tests import ks_exact


def make(rows: int, dim: int, rng: np.random.Generator, topics: np.ndarray, new_topics: np.ndarray | None) -> np.ndarray:
    """Unit rows near one of the topics (noise 0.6 per row's norm), a tenth on new topics when given."""
    which = rng.integers(len(topics), size=rows)
    x = topics[which] + rng.standard_normal((rows, dim), dtype=np.float32) * np.float32(0.6 / np.sqrt(dim))
    if new_topics is not None:
        moved = rng.random(rows) < 0.1
        x[moved] = new_topics[rng.integers(len(new_topics), size=int(moved.sum()))] + \
            rng.standard_normal((int(moved.sum()), dim), dtype=np.float32) * np.float32(0.6 / np.sqrt(dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def unit(k: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    t = rng.standard_normal((k, dim)).astype(np.float32)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


def timed(f, *a, **kw):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = f(*a, **kw)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--max-per-side", type=int, default=2_000)
    ap.add_argument("--permutations", type=int, default=500)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    topics = unit(50, args.dim, rng)
    ref = make(args.rows, args.dim, rng, topics, None)
    print(f"cpus {os.cpu_count()}, reference {ref.shape} {ref.dtype}, current {args.rows} × {args.dim}, "
          f"MMD sample {args.max_per_side} a side, {args.permutations} permutations")
    for name, new in [("no_change", None), ("shift", unit(5, args.dim, rng))]:
        cur = make(args.rows, args.dim, rng, topics, new)
        srng = np.random.default_rng(0)
        ri, ci = _sample(len(ref), args.max_per_side, srng), _sample(len(cur), args.max_per_side, srng)
        rs, cs = ref[ri], cur[ci]
        c, t_centroid = timed(centroid_test, ref, cur, rs, cs)
        k, t_norms = timed(lambda c=cur: ks_exact(np.linalg.norm(ref, axis=1), np.linalg.norm(c, axis=1)))
        (m, cross), t_mmd = timed(mmd_test, rs, cs, permutations=args.permutations, seed=1)
        _, t_examples = timed(lambda x=cross: np.argsort(-x.min(axis=1))[:10])
        r, t_total = timed(embedding_drift, ref, cur, max_per_side=args.max_per_side, permutations=args.permutations)
        print(f"{name:10s} centroid {t_centroid:5.2f} s (p {c.p_value:.2g}, cosine {c.cosine:.2e})  "
              f"norms KS {t_norms:5.2f} s (p {k.p_value:.2g})  "
              f"MMD {t_mmd:5.2f} s (MMD² {m.mmd2:.2e}, p {m.p_value:.3f})  examples {t_examples:5.3f} s  "
              f"| embedding_drift {t_total:5.2f} s, drifted={r.drifted}, p_adjusted "
              + ", ".join(f"{a} {b:.3g}" for a, b in r.p_adjusted.items()))


if __name__ == "__main__":
    main()
