#!/usr/bin/env python
"""Store capacity: many closed windows at the serve's memory limit, as the fold loop saves them.

    .venv/bin/python bench/store_capacity.py [--windows 3000] [--kb 150] [--memory-limit 64MB]

Saves ``--windows`` closed windows, each with a ``--kb`` KB profile (random
floats in JSON, as incompressible as real sketches), one save_windows call
each with a snapshot of one open window, a checkpoint every 10 saves (the
fold loop's cadence), then reopens the store and reads every profile back.
Prints seconds per save and per checkpoint (p50/max), the process's peak RSS
(while saving, and after the read-back, which holds every text at once),
the bytes on disk (database, profile files) and the read-back time. Before
profiles moved out of DuckDB the checkpoint failed past ~370 windows of
150 KB at 64 MB (``tests/test_store_capacity.py`` keeps the case).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from argusml.store import Store, WindowRow


def _profile(rnd: random.Random, kb: int) -> str:
    row = 40
    rows = max(1, kb * 1024 // (row * 20))
    return json.dumps({"reference": "x", "profile": [[rnd.random() for _ in range(row)] for _ in range(rows)]})


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=3000)
    ap.add_argument("--kb", type=int, default=150)
    ap.add_argument("--memory-limit", default="64MB")
    args = ap.parse_args()
    rnd = random.Random(0)
    pool = [_profile(rnd, args.kb) for _ in range(16)]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        store = Store(data, memory_limit=args.memory_limit)
        saves, checkpoints = [], []
        g = 300.0
        for b in range(args.windows):
            row = WindowRow("m", "v", "*", g, b * g, b * g + g, True, 300, 0, pool[b % 16], "{}", 0.0)
            live = WindowRow("m", "v", "*", g, b * g + g, b * g + 2 * g, False, 10, 0, pool[(b + 1) % 16], None)
            t = time.perf_counter()
            store.save_windows([(row, [])], ([live], {"through": str(b)}))
            saves.append(time.perf_counter() - t)
            if b % 10 == 9:
                t = time.perf_counter()
                store.checkpoint()
                checkpoints.append(time.perf_counter() - t)
        store.close()
        rss_saving = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        store = Store(data, memory_limit=args.memory_limit)
        texts = store.windows("m", closed=True, limit=args.windows, with_profile=True)
        read = time.perf_counter() - t
        assert len(texts) == args.windows and all(r["profile"] == pool[int(r["start_ts"] // g) % 16] for r in texts)
        store.close()
        db = (data / "argus.duckdb").stat().st_size
        prof = _du(data / "profiles")
        n_files = len(list((data / "profiles").iterdir()))
    print(f"windows saved        {args.windows} x {len(pool[0]) / 1024:.0f} KB profile, DuckDB limit {args.memory_limit}")
    print(f"save_windows         p50 {statistics.median(saves) * 1e3:.1f} ms   max {max(saves) * 1e3:.1f} ms")
    print(f"checkpoint (+sweep)  p50 {statistics.median(checkpoints) * 1e3:.1f} ms   max {max(checkpoints) * 1e3:.1f} ms")
    print(f"reopen + read all    {read:.2f} s")
    print(f"on disk              argus.duckdb {db / 2**20:.1f} MiB, profiles/ {prof / 2**20:.1f} MiB in {n_files} files "
          f"(the open-window snapshots of the last half minute included)")
    print(f"peak RSS             {rss_saving:.0f} MiB while saving; {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          f" MiB after reading every profile back at once (they are all in memory then)")
    print(f"(machine: {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
