#!/usr/bin/env python
"""Embedding drift at 100,000 × 384 against 100,000 × 384: the seconds of each part, on this machine.

    PYTHONPATH=src .venv/bin/python bench/embedding_drift.py [--rows 100000] [--dim 384]
                                                          [--max-per-side 2000] [--permutations 500]
                                                          [--window 5000]

Data (seeded, float32): rows are unit-normalised mixtures of 50 random topic
directions plus noise, the shape of sentence embeddings. ``no_change`` draws
the current rows from the reference's topics; ``shift`` moves 10% of the
current rows onto 5 new topics (a new kind of query). Each part of
``embedding_drift`` is timed on its own (centroid and norms over every row,
MMD on the bounded sample with its permutations, the examples), then the
whole call, which is what a check pays.

Then the service's path: each side is profiled in windows of ``--window`` rows
(``EmbeddingProfile.from_rows`` with an event id a row), the windows are merged
into one profile a side, and ``embedding_drift_profiles`` tests the two; each
step is timed, and the merged profile's stored size (its JSON) is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import reduce

import numpy as np

from argusml.profile.embedding import EmbeddingProfile, embedding_drift_profiles
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


def profiled(m: np.ndarray, prefix: str, window: int, cap: int) -> tuple[EmbeddingProfile, float, float]:
    """One profile a window, then their merge: the profile and the seconds of each step. The event ids exist
    before (they come with the events), so making them is not timed."""
    starts = range(0, len(m), window)
    keys = [[f"{prefix}-{j}" for j in range(i, min(i + window, len(m)))] for i in starts]
    t = time.perf_counter()
    parts = [EmbeddingProfile.from_rows(m[i:i + window], keys=k, cap=cap) for i, k in zip(starts, keys)]
    t_profile = time.perf_counter() - t
    merged, t_merge = timed(reduce, EmbeddingProfile.merge, parts)
    return merged, t_profile, t_merge


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--max-per-side", type=int, default=2_000)
    ap.add_argument("--permutations", type=int, default=500)
    ap.add_argument("--window", type=int, default=5_000)
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
        rp, rp_profile, rp_merge = profiled(ref, "ref", args.window, args.max_per_side)
        cp, cp_profile, cp_merge = profiled(cur, "cur", args.window, args.max_per_side)
        pr, t_test = timed(embedding_drift_profiles, rp, cp, permutations=args.permutations)
        windows = -(-args.rows // args.window)
        size = len(json.dumps(cp.to_dict())) / 1e6
        print(f"{'':10s} profiles: {windows} windows of {args.window} a side, profile {rp_profile + cp_profile:5.2f} s "
              f"({(rp_profile + cp_profile) / (2 * windows) * 1e3:.0f} ms a window), merge {rp_merge + cp_merge:5.2f} s, "
              f"embedding_drift_profiles {t_test:5.2f} s, drifted={pr.drifted}, p_adjusted "
              + ", ".join(f"{a} {b:.3g}" for a, b in pr.p_adjusted.items())
              + f"; norms KS {pr.norms_ks:.4f} (all rows {r.norms_ks:.4f}); one side's profile {size:.1f} MB as JSON")


if __name__ == "__main__":
    main()
