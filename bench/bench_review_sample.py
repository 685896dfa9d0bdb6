#!/usr/bin/env python
"""Review samples on a large window: what `GET /v1/models/{model}/sample` costs the service.

    .venv/bin/python bench/bench_review_sample.py [--rows 1000000 5000000] [--size 500]

The workload: ``--rows`` predictions of a binary model in the service's DuckDB store (``Store.index``, as
the collector writes them; loading is setup), 1% of them already labelled. The timed part is what the
endpoint does after its index flush: ``draw_review_sample`` with the window's unlabelled predictions as
the population (the store query with its anti-join on labels, the uncertainty of every prediction, the
design, the draw, and the drawn rows read back). Each size runs in a fresh process, so the peak RSS
(``getrusage``) above the process's RSS before the call is the call's own.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time


def child(rows: int, size: int, data: str) -> None:
    import numpy as np
    import pyarrow as pa

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from argusml.monitor.review import draw_review_sample
    from argusml.monitor.state import ModelState
    from argusml.schema.model_config import ModelConfig
    from argusml.store import EVENT_SCHEMA, LABEL_SCHEMA, Store
    from service_util import make_reference

    store = Store(data, memory_limit="64MB")  # the service's own DuckDB limit for ingest and reads
    rng = np.random.default_rng(0)
    t0 = 1_800_000_000.0
    chunk = 1_000_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        seq = np.arange(start + 1, start + n + 1)
        cols = {"seq": seq, "model": pa.array(["m"] * n), "version": pa.array(["unversioned"] * n),
                "id": pa.array([f"e{i}" for i in seq]), "ts": t0 + seq * 0.01, "arrival": t0 + seq * 0.01,
                "prediction": rng.random(n)}
        # the index's other columns (segment, label, ...) stay null: the design reads none of them
        ev = pa.table({f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in EVENT_SCHEMA}, schema=EVENT_SCHEMA)
        store.index(ev)
    k = rows // 100
    lab = pa.table({"model": ["m"] * k, "version": pa.nulls(k, pa.string()), "id": [f"e{i}" for i in range(1, k + 1)],
                    "label": ["1"] * k, "ts": [t0] * k, "arrival": [t0] * k, "state": ["joined"] * k,
                    "prediction_ts": [t0] * k, "resolved_at": [t0] * k, "lseq": list(range(1, k + 1)),
                    "name": pa.nulls(k, pa.string())}, schema=LABEL_SCHEMA)
    store.index(None, lab)
    store.checkpoint()
    state = ModelState(ModelConfig(model="m", window="5m"), make_reference(2000))
    state.versions = {"unversioned"}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    out = draw_review_sample(store, state, size=size, since=None, until=None, version=None, strata=5,
                             random_share=0.3, seed=0, unlabelled_only=True)
    took = time.perf_counter() - started
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert out["population"] == rows - k and len(out["rows"]) == size
    print(f"| {rows:,} | {out['population']:,} | {size} | {took:.2f} s | {(rss1 - rss0) / 1024:.0f} MB |")
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--size", type=int, default=500)
    ap.add_argument("--child", nargs=3)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2])
        return
    print("| predictions in the store | population (unlabelled) | sample | time | peak RSS of the call |")
    print("|---|---|---|---|---|")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, __file__, "--child", str(rows), str(args.size), d], check=True)


if __name__ == "__main__":
    main()
