#!/usr/bin/env python
"""A fleet's restart: how long `argus serve` takes to start on a store of many models.

    .venv/bin/python bench/fleet_restart.py [--models 500] [--windows 3] [--per-window 80] [--data DIR] [--runs 3]

Builds (or reuses, with ``--data``) a store of ``--models`` registered models the way
``bench/dashboard_overview.py`` does, at the service's own DuckDB memory limit (64 MB), each with ``--windows``
closed one-minute windows of ``--per-window`` events; then, ``--runs`` times on a fresh copy of it, times
what `argus serve` does before it listens (``server.build``: open the store, load the registered models and
their baselines, recover counters, dedup keys, pending labels, window gauges and open windows, start the
threads). Prints each start and the median, the store's size, and whether any DuckDB error was logged.

Before the baselines moved to profile files, building 500 models at 64 MB died in a checkpoint
(``FatalException``, the database invalidated); before the start-up reads were grouped, each model cost
about fifteen queries.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from dashboard_overview import build as build_store  # noqa: E402


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=500)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--per-window", type=int, default=80)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, help="keep the built store here (and reuse it when it is already there)")
    args = ap.parse_args()
    from argusml.service.server import build

    errors = _Errors()
    logging.getLogger("argus").addHandler(errors)
    tmp = Path(tempfile.mkdtemp(prefix="argus-restart-"))
    try:
        data = args.data or tmp / "data"
        if not data.exists():
            t0 = time.perf_counter()
            build_store(data, args.models, args.windows, args.per_window)
            print(f"built {args.models} models in {time.perf_counter() - t0:.1f} s "
                  f"(DuckDB errors logged: {len(errors.seen)})")
        print(f"store: {_du(data) / 2**20:.1f} MiB ({_du(data / 'profiles') / 2**20:.1f} MiB of profile files)")
        times = []
        for run in range(args.runs):
            copy = tmp / f"run{run}"
            shutil.copytree(data, copy)
            t0 = time.perf_counter()
            monitor, _, _ = build(None, str(copy))
            took = time.perf_counter() - t0
            times.append(took)
            print(f"start {run + 1}: {took:.2f} s, {len(monitor.models)} models, ready={monitor.ready}")
            monitor.stop()
            monitor.store.close()
            shutil.rmtree(copy)
        print(f"median start: {statistics.median(times):.2f} s for {args.models} models; "
              f"errors logged: {len(errors.seen)}{' (' + errors.seen[0][:120] + ')' if errors.seen else ''}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
