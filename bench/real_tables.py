#!/usr/bin/env python
"""Argus on the real-data corpus: one line per (table, split), to diagnose what the tests reject.

The corpus is tests/realdata.py (public tables shipped offline by installed
packages; licences in tests/data/README.md). For every table this prints its
string columns' distinct counts (what decides whether Argus reads a column as
categorical or text), then one line for each random half (seeds 0-4, the
same halves as tests/test_real_data.py) and one for the table's real shift:

    table  split  rows ref/cur  seconds  ok/FAIL  verdict | drifted: col (kind) effect=value test p_adj
        | P0/P1: findings | P2: check and column (correlation changes in full: test_real_data bounds them)

A random half must show no drifted column and no P0/P1 finding ("ok"); a
shift must show its expected columns drifted ("missed: ..." otherwise).
Columns that were significant but below every effect threshold, or above a
threshold but not significant, are not listed: only decisions are.

    .venv/bin/python bench/real_tables.py                   # every table
    .venv/bin/python bench/real_tables.py flights movies    # some tables
    .venv/bin/python bench/real_tables.py --seeds 0 --no-shifts
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# tests/ is not a package: the corpus lives beside the tests that use it, and is imported from there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import argusml
import realdata

BLOCKING = {"P0", "P1"}


def halves(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The random halves tests/test_real_data.py uses (same generator, same seed, same order)."""
    order = np.random.default_rng(seed).permutation(len(df))
    half = len(df) // 2
    return (df.iloc[order[:half]].reset_index(drop=True), df.iloc[order[half:]].reset_index(drop=True))


def _fmt(x: Any) -> str:
    return "-" if x is None else f"{x:.3g}" if isinstance(x, float) else str(x)


def describe(rep: argusml.Report, expected: frozenset[str] = frozenset()) -> str:
    """Drifted columns with the numbers that decided them, then P0/P1 findings of any check."""
    d = rep.to_dict()
    parts = []
    for col, entry in d["columns"].items():
        dr = entry["drift"]
        if dr["status"] != "drifted":
            continue
        eff, test = dr.get("effect") or {}, dr.get("test") or {}
        kind = entry["kind"] + (", sketch" if _sketched(entry) else "")
        parts.append(f"{col} ({kind}) {eff.get('method')}={_fmt(eff.get('value'))} "
                     f"{test.get('method')} p_adj={_fmt(test.get('p_adjusted'))}")
    out = f"{d['verdict']['status']:7s}"
    out += " | drifted: " + ("; ".join(parts) if parts else "none")
    blocking = [f for f in rep.findings if f.severity.value in BLOCKING]
    out += " | P0/P1: " + ("; ".join(f"{f.severity.value} {f.check} {f.column}: {f.message}" for f in blocking)
                           if blocking else "none")
    p2 = sorted(f"{f.check} {f.column}" if f.check != "correlation_change" else f.message
                for f in rep.findings if f.severity.value == "P2")
    out += " | P2: " + ("; ".join(p2) if p2 else "none")
    if expected:
        statuses = {c: e["drift"]["status"] for c, e in d["columns"].items()}
        missed = sorted(c for c in expected if statuses.get(c) != "drifted")
        out += " | missed: " + (", ".join(f"{c} ({statuses.get(c)}, {_reason(d, c)})" for c in missed)
                                if missed else "none")
    return out


def _sketched(entry: dict[str, Any]) -> bool:
    """Whether either side's category profile is a frequent-items sketch (not exact counts)."""
    summ = entry.get("summary") or {}
    return any(isinstance(s, dict) and s.get("exact") is False for s in summ.values())


def _reason(d: dict[str, Any], col: str) -> str:
    dr = (d["columns"].get(col) or {}).get("drift") or {}
    eff, test = dr.get("effect") or {}, dr.get("test") or {}
    return (f"{d['columns'].get(col, {}).get('kind')}, {eff.get('method')}={_fmt(eff.get('value'))}, "
            f"p_adj={_fmt(test.get('p_adjusted'))}, {dr.get('reason', '')}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tables", nargs="*", help=f"tables to run (default all): {', '.join(realdata.CORPUS)}")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="random-half seeds, comma-separated")
    ap.add_argument("--no-shifts", action="store_true", help="random halves only")
    args = ap.parse_args()
    names = args.tables or list(realdata.CORPUS)
    unknown = [n for n in names if n not in realdata.CORPUS]
    if unknown:
        ap.error(f"unknown tables: {', '.join(unknown)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    bad = 0
    t_all = time.perf_counter()
    for name in names:
        table = realdata.CORPUS[name]()
        df = table.frame
        strings = realdata.string_columns(df)
        print(f"== {name}: {len(df):,} rows x {df.shape[1]}, target={table.target}; {table.description}")
        kinds: dict[str, str] = {}
        for i, seed in enumerate(seeds):
            ref, cur = halves(df, seed)
            t0 = time.perf_counter()
            rep = argusml.report(ref, cur, target=table.target)
            dt = time.perf_counter() - t0
            if i == 0:
                cols = rep.to_dict()["columns"]
                kinds = {c: cols[c]["kind"] + (", sketch" if _sketched(cols[c]) else "") for c in strings if c in cols}
                print("   string columns (distinct/non-missing in the table -> Argus's kind on the first half): "
                      + (", ".join(f"{c} {d:,}/{n:,} -> {kinds.get(c, '?')}" for c, (d, n) in strings.items())
                         or "none"))
            quiet = not rep.drifted_columns and not [f for f in rep.findings if f.severity.value in BLOCKING]
            bad += not quiet
            print(f"{name:15s} seed{seed:<6d} {len(ref):>7,}/{len(cur):<7,} {dt:5.2f}s "
                  f"{'ok  ' if quiet else 'FAIL'} {describe(rep)}")
        if not args.no_shifts and name in realdata.SHIFTS:
            sh = realdata.SHIFTS[name]()
            t0 = time.perf_counter()
            rep = argusml.report(sh.ref, sh.cur, target=sh.target)
            dt = time.perf_counter() - t0
            found = sh.expected <= set(rep.drifted_columns)
            bad += not found
            print(f"{name:15s} {'shift':11s} {len(sh.ref):>7,}/{len(sh.cur):<7,} {dt:5.2f}s "
                  f"{'ok  ' if found else 'FAIL'} {describe(rep, sh.expected)}    [{sh.description}]")
    print(f"{bad} failing line(s); {time.perf_counter() - t_all:.1f} s in all")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
