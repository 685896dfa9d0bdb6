#!/usr/bin/env python
"""Power: the smallest planted drift Argus catches, per kind and sample size.

For each kind of drift that bench/workload.py can plant (one column at a
time, every other column clean) and each size on a grid, run Argus on
``workload.make_pair(n, seed, sizes={kind: size}, only=column)`` and count
the seeds in which the planted column is called drifted. A column is drifted
only when its test is significant after Holm's correction over all 27 tested
columns AND an effect size passes its practical threshold, so small N is
limited by significance and large N by the effect thresholds.

    python bench/power.py --seeds 5 --ns 10000,100000,1000000 --full-grid-ns 10000,100000

At the N in ``--full-grid-ns`` every (size, seed) is run. At the other N (the
expensive ones) each seed's detection boundary on the grid is found by
bisection, starting from the previous seed's boundary, and the remaining
cells are inferred by monotonicity (bigger drift, same random draws: caught
if a smaller one was). Inferred cells are marked ``*``; the full grids at the
smaller N report how often that monotonicity actually failed.

The reference is profiled once per (N, seed) (``argusml.Reference``) and
reused for every planted drift. Detection counts are deterministic given the
seeds; timings are not (shared machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections import Counter
from typing import Any

import numpy as np

import argusml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload
from benchenv import machine, uptime

DRIFT_CHECKS = {"drift", "prediction_drift", "target_drift"}
BELOW_THRESHOLD = "statistically significant but smaller than every practical threshold"
NOT_CREDIBLE = "effect above threshold but not statistically credible at this sample size"

# kind label, workload.SPEC_SIZES key, planted column, grid (ascending), what the size means
KINDS: list[tuple[str, str, str, list[float], str]] = [
    ("mean shift", "mean_shift_sd", "norm_1",
     [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3],
     "shift of the mean of normal(50, 10), in reference sd"),
    ("variance ratio", "variance_ratio", "norm_3",
     [1.01, 1.02, 1.03, 1.05, 1.075, 1.1, 1.15, 1.2, 1.3, 1.5, 2.0],
     "current variance / reference variance of normal(100, 15)"),
    ("sentinel share", "sentinel_share", "int_0",
     [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05],
     "share of rows of integers 18..90 set to -999"),
    ("tail stretch", "tail_stretch", "lognorm_1",
     [1.02, 1.05, 1.075, 1.1, 1.15, 1.2, 1.3, 1.5, 2.0],
     "lognormal(3, 1): log-values above the 95th percentile stretched by this factor (body unchanged)"),
    ("new-category share", "new_category_share", "cat_10",
     [0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.05],
     "share of rows of a 10-level categorical moved to an unseen category"),
    ("category swap", "swap_fraction", "cat_5",
     [0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8, 1.0],
     "fraction of the swap of the 2nd/3rd category shares (1.0 = 22.1% <-> 16.0%: total variation 0.061)"),
]

# Where the default effect thresholds sit for each planted drift, worked out
# from the workload's distributions (population values, no sampling noise):
# the size below which a large N cannot call drift however significant.
LIMITS = {
    "mean_shift_sd": "KS = 2Φ(δ/2) − 1 ≈ 0.399 δ reaches 0.025 at δ = 0.063 sd (Wasserstein/std = δ would need 0.1).",
    "variance_ratio": "tail: the mass beyond the reference's 0.1%/99.9% quantiles rises by half at ratio 1.084 (that level "
                      "needs 50 rows beyond it, i.e. N ≥ 50,000); at the 0.5%/99.5% level (N ≥ 10,000) at 1.12; KS alone "
                      "would need 1.22.",
    "sentinel_share": "Wasserstein/std ≈ 50 × share (−999 is 1,053 away from the mean, sd 21) reaches 0.1 at share 0.0020; "
                      "KS = share needs 0.025; the lower tail measure is blunted by ties: its edge is the minimum, 18, which "
                      "holds 1/73 = 1.4% of rows, so it needs share ≥ 0.0068.",
    "tail_stretch": "tail: the mass beyond the 99.9% quantile rises by half at stretch 1.093 (N ≥ 50,000); beyond 99.5% "
                    "(N ≥ 10,000) at 1.18; beyond 99% at 1.30.",
    "new_category_share": "TVD = share reaches 0.025 at share 0.025 (PSI, with empty cells at 1e-4, reaches 0.2 only near "
                          "0.035); the `new_categories` quality finding (P2) fires at any share.",
    "swap_fraction": "TVD = 0.0612 × fraction reaches 0.025 at fraction 0.41 (PSI of the full swap is only 0.04).",
}


def frames(n: int, seed: int, key: str | None = None, size: float | None = None, column: str | None = None):
    """The reference (key None) or the current frame of ``workload.make_pair``,
    drawn alone so that the reference need not be redrawn for every size."""
    ref_seq, cur_seq = np.random.SeedSequence(seed).spawn(2)
    if key is None:
        return workload.make_frame(np.random.default_rng(ref_seq), n, drift=False)
    return workload.make_frame(np.random.default_rng(cur_seq), n, drift=True, sizes={key: size}, only=column)


def self_check() -> None:
    """frames() must give exactly what workload.make_pair gives."""
    ref, cur = workload.make_pair(2000, 7, sizes={"tail_stretch": 1.3}, only="lognorm_1")
    assert frames(2000, 7).equals(ref)
    assert frames(2000, 7, "tail_stretch", 1.3, "lognorm_1").equals(cur)


def evaluate(ref: argusml.Reference, n: int, seed: int, key: str, size: float, column: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    cur = frames(n, seed, key, size, column)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = argusml.report(ref, cur)
    t_rep = time.perf_counter() - t0
    d = rep.to_dict()
    dr = d["columns"][column]["drift"]
    test = dr.get("test") or {}
    eff = dr.get("effect") or {}
    quality = sorted({f["check"] for f in d["findings"] if f["column"] == column and f["check"] not in DRIFT_CHECKS})
    return {
        "detected": column in rep.drifted_columns,
        "status": dr["status"],
        "reason": dr.get("reason"),
        "p_value": test.get("p_value"),
        "p_adjusted": test.get("p_adjusted"),
        "test": test.get("method"),
        "effect": eff.get("method"),
        "effect_value": eff.get("value"),
        "effect_threshold": eff.get("threshold"),
        "effect_passed": eff.get("passed"),
        "quality": quality,
        "others_drifted": sorted(c for c in rep.drifted_columns if c != column),
        "t_gen": t_gen,
        "t_report": t_rep,
    }


def boundary_search(ev: dict[int, dict[str, Any]], g: int, hint: int | None, probe) -> int:
    """Smallest grid index caught, assuming monotonicity (g if none is).
    ``ev`` collects the evaluated indices; ``probe(i)`` evaluates one. With a
    ``hint`` (the last seed's boundary) the hint and its neighbour go first,
    which settles the usual case in two reports."""
    lo, hi = -1, g  # lo: missed (or assumed), hi: caught (or assumed)
    queue = [] if hint is None else [min(max(hint, 0), g - 1)]
    from_hint = hint is not None
    while hi - lo > 1:
        i = queue.pop(0) if queue else (lo + hi) // 2
        if not lo < i < hi:
            i = (lo + hi) // 2
        if i not in ev:
            ev[i] = probe(i)
        if ev[i]["detected"]:
            hi = i
            if from_hint:
                queue.append(i - 1)
        else:
            lo = i
            if from_hint:
                queue.append(i + 1)
        from_hint = False
    return hi


def run(ns: list[int], seeds: list[int], full_ns: set[int], seeds_by_n: dict[int, int], log) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    hints: dict[str, int] = {}
    for n in ns:
        for seed in seeds[: seeds_by_n.get(n, len(seeds))]:
            t0 = time.perf_counter()
            ref = argusml.Reference.from_frame(frames(n, seed), target="target", prediction="prediction")
            t_ref = time.perf_counter() - t0
            log(f"n={n} seed={seed}: reference profiled in {t_ref:.1f}s")
            for label, key, column, grid, _ in KINDS:
                ev: dict[int, dict[str, Any]] = {}

                def probe(i: int, key=key, column=column, grid=grid, ref=ref, n=n, seed=seed) -> dict[str, Any]:
                    r = evaluate(ref, n, seed, key, grid[i], column)
                    log(f"  n={n} seed={seed} {key}={grid[i]}: {'CAUGHT' if r['detected'] else 'missed'} "
                        f"p_adj={r['p_adjusted']} {r['effect']}={r['effect_value']} ({r['reason'] or r['status']}) "
                        f"{r['t_report']:.1f}s")
                    return r

                if n in full_ns:
                    for i in range(len(grid)):
                        ev[i] = probe(i)
                    caught = [i for i in range(len(grid)) if ev[i]["detected"]]
                    b = caught[0] if caught else len(grid)
                else:
                    b = boundary_search(ev, len(grid), hints.get(key), probe)
                hints[key] = b
                for i, size in enumerate(grid):
                    if i in ev:
                        rows.append({"n": n, "seed": seed, "kind": label, "key": key, "column": column, "size": size,
                                     "inferred": False, **ev[i]})
                    else:
                        rows.append({"n": n, "seed": seed, "kind": label, "key": key, "column": column, "size": size,
                                     "inferred": True, "detected": i >= b})
            del ref
    return rows


def smallest(rates: list[tuple[float, float]], level: float) -> float | None:
    """Smallest size whose rate, and every larger size's, reaches ``level``."""
    best = None
    for size, rate in sorted(rates, reverse=True):
        if rate + 1e-12 >= level:
            best = size
        else:
            break
    return best


def fmt(x: float | None) -> str:
    return "not on grid" if x is None else f"{x:g}"


def report_md(rows: list[dict[str, Any]], ns: list[int], full_ns: set[int]) -> tuple[list[str], dict[str, Any]]:
    out: list[str] = []
    summary: dict[str, Any] = {}
    detail: list[str] = []
    for label, key, column, grid, meaning in KINDS:
        detail.append(f"\n### {label} (`{column}`, `{key}`)\n")
        detail.append(f"Size: {meaning}. Cells: seeds caught / seeds run (`*` = some seeds inferred by monotonicity).\n")
        detail.append(f"Effect threshold in population terms: {LIMITS[key]}\n")
        detail.append("| size | " + " | ".join(f"N = {n:,}" for n in ns) + " |")
        detail.append("|---:|" + "---:|" * len(ns))
        per_n: dict[int, dict[str, Any]] = {}
        for n in ns:
            rs = [r for r in rows if r["n"] == n and r["key"] == key]
            rates = []
            for size in grid:
                cell = [r for r in rs if r["size"] == size]
                if cell:
                    rates.append((size, sum(r["detected"] for r in cell) / len(cell)))
            ev = [r for r in rs if not r["inferred"]]
            s80, s100 = smallest(rates, 0.8), smallest(rates, 1.0)
            # what stopped the runs that were missed just below the 100% size
            below = sorted({r["size"] for r in ev if not r["detected"] and (s100 is None or r["size"] < s100)})[-2:]
            why = Counter()
            for r in ev:
                if r["size"] in below and not r["detected"]:
                    if r["reason"] == BELOW_THRESHOLD:
                        why["effect threshold"] += 1
                    elif r["reason"] == NOT_CREDIBLE:
                        why["significance"] += 1
                    else:
                        why["both"] += 1
            at = [r for r in ev if r["size"] == s100 and r["detected"]]
            deciding = Counter(r["effect"] for r in at).most_common(1)
            dec_vals = [r["effect_value"] for r in at if deciding and r["effect"] == deciding[0][0]]
            full_cells = [size for size in grid
                          if [r for r in rs if r["size"] == size] and all(not r["inferred"] for r in rs if r["size"] == size)]
            qchecks = sorted({c for r in ev for c in r["quality"]})
            quality_s80 = {}
            for chk in qchecks:
                q_rates = [(size, float(np.mean([chk in r["quality"] for r in rs if r["size"] == size]))) for size in full_cells]
                quality_s80[chk] = smallest(q_rates, 0.8)
            per_n[n] = {"rates": dict(rates), "s80": s80, "s100": s100, "limited_by": dict(why),
                        "limited_at": below,
                        "deciding": (deciding[0][0], float(np.median(dec_vals))) if deciding and dec_vals else None,
                        "quality_s80": quality_s80,
                        "quality_complete": len(full_cells) == len(grid),
                        "others_drifted": [(r["seed"], r["size"], r["others_drifted"]) for r in ev if r["others_drifted"]],
                        "evaluated": len(ev), "seeds": len({r["seed"] for r in rs})}
        for size in grid:
            cells = []
            for n in ns:
                rs = [r for r in rows if r["n"] == n and r["key"] == key and r["size"] == size]
                if not rs:
                    cells.append("-")
                    continue
                k = sum(r["detected"] for r in rs)
                star = "*" if any(r["inferred"] for r in rs) else ""
                txt = f"{k}/{len(rs)}{star}"
                cells.append(f"**{txt}**" if k == len(rs) else txt)
            detail.append(f"| {size:g} | " + " | ".join(cells) + " |")
        detail.append("| smallest size caught in ≥ 80% | " + " | ".join(fmt(per_n[n]["s80"]) for n in ns) + " |")
        detail.append("| smallest size caught in 100% | " + " | ".join(fmt(per_n[n]["s100"]) for n in ns) + " |")
        detail.append("| deciding measure there (median value) | " + " | ".join(
            f"{per_n[n]['deciding'][0]} {per_n[n]['deciding'][1]:.3g}" if per_n[n]["deciding"] else "-" for n in ns) + " |")
        detail.append("| missed just below (sizes): why | " + " | ".join(
            (", ".join(f"{k} {v}" for k, v in per_n[n]["limited_by"].items()) or "-")
            + (f" ({', '.join(f'{s:g}' for s in per_n[n]['limited_at'])})" if per_n[n]["limited_at"] else "")
            for n in ns) + " |")
        detail.append("| quality findings on the column: smallest size ≥ 80%, per check | " + " | ".join(
            ((", ".join(f"{c} {fmt(v)}" for c, v in per_n[n]["quality_s80"].items()) or "none")
             if per_n[n]["quality_complete"] else "(bisected: not all run)") for n in ns) + " |")
        others = [(n, s, sz, o) for n in ns for s, sz, o in per_n[n]["others_drifted"]]
        if others:
            detail.append("\nOther (clean) columns called drifted in these runs: " + "; ".join(
                f"N={n:,} seed={s} size={sz:g}: {', '.join(o)}" for n, s, sz, o in others))
        summary[key] = {"kind": label, "column": column, "per_n": {str(n): per_n[n] for n in ns}}

    out.append("| kind (column, size unit) | " + " | ".join(f"N = {n:,}: ≥80% / 100%" for n in ns) + " |")
    out.append("|---|" + "---|" * len(ns))
    for label, key, column, _, _ in KINDS:
        pn = summary[key]["per_n"]
        out.append(f"| {label} (`{column}`, `{key}`) | " + " | ".join(
            f"{fmt(pn[str(n)]['s80'])} / {fmt(pn[str(n)]['s100'])}" for n in ns) + " |")
    # monotonicity where every cell was run
    breaks = []
    for n in sorted(full_ns):
        for label, key, _, grid, _ in KINDS:
            for seed in sorted({r["seed"] for r in rows if r["n"] == n}):
                seq = [r["detected"] for g in grid for r in rows
                       if r["n"] == n and r["key"] == key and r["seed"] == seed and r["size"] == g]
                if any(seq[i] and not seq[j] for i in range(len(seq)) for j in range(i + 1, len(seq))):
                    breaks.append(f"N={n:,} {label} seed={seed}: " + "".join("x" if s else "." for s in seq))
    summary["monotonicity_breaks"] = breaks
    return out + detail, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--ns", default="10000,100000,1000000")
    ap.add_argument("--full-grid-ns", default="10000,100000", help="N at which every (size, seed) is run; bisection elsewhere")
    ap.add_argument("--max-seeds-1m", type=int, default=None, help="fewer seeds for N >= 1,000,000 (if time is short)")
    ap.add_argument("--kinds", default=None, help="comma-separated size keys to run (default: all)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "power.md"))
    ap.add_argument("--json", default=None, help="also write every run's record here")
    ap.add_argument("--from-json", default=None, help="re-render the markdown from a --json file instead of running")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    global KINDS
    if a.kinds:
        keep = set(a.kinds.split(","))
        KINDS = [k for k in KINDS if k[1] in keep]
    ns = [int(x) for x in a.ns.split(",")]
    full_ns = {int(x) for x in a.full_grid_ns.split(",") if x}
    seeds = list(range(a.seed_start, a.seed_start + a.seeds))
    seeds_by_n = {n: a.max_seeds_1m for n in ns if n >= 1_000_000 and a.max_seeds_1m}
    if a.from_json:
        with open(a.from_json) as f:
            saved = json.load(f)
        rows, meta = saved["runs"], saved["meta"]
        ns, full_ns, seeds = meta["ns"], set(meta["full_ns"]), meta["seeds"]
        seeds_by_n = {int(k): v for k, v in meta["seeds_by_n"].items()}
        keys = {r["key"] for r in rows}
        KINDS = [k for k in KINDS if k[1] in keys]
    else:
        self_check()
        meta = {"command": "python bench/power.py " + " ".join(sys.argv[1:]),
                "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "load_start": uptime(),
                "machine": machine(),  # before running: the code measured is the code at the start
                "ns": ns, "full_ns": sorted(full_ns), "seeds": seeds, "seeds_by_n": seeds_by_n}
        t0 = time.perf_counter()

        def log(msg: str) -> None:
            if not a.quiet:
                print(msg, file=sys.stderr, flush=True)

        rows = run(ns, seeds, full_ns, seeds_by_n, log)
        meta.update({"wall_s": time.perf_counter() - t0, "load_end": uptime()})
    command, started, load_start, load_end, wall, m = (meta["command"], meta["started"], meta["load_start"],
                                                       meta["load_end"], meta["wall_s"], meta["machine"])
    body, summary = report_md(rows, ns, full_ns)
    ev = [r for r in rows if not r["inferred"]]
    t_med = {n: float(np.median([r["t_report"] for r in ev if r["n"] == n])) for n in ns if any(r["n"] == n for r in ev)}
    breaks = summary["monotonicity_breaks"]
    lines = [
        "# Power: smallest planted drift caught",
        "",
        f"- command: `{command}`" + (f" (markdown re-rendered with `--from-json {a.from_json}`)" if a.from_json else ""),
        f"- date: {started}",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, argusml {m['argus']}, git {m['git']}",
        f"- load at start: `{load_start}`",
        f"- load at end: `{load_end}`",
        f"- wall time of the whole script: {wall / 60:.1f} min; median `argusml.report` time per planted drift "
        "(reference already profiled): " + ", ".join(f"N={n:,}: {t:.2f}s" for n, t in t_med.items()),
        "- timings are noisy: the machine is shared with other work; detection counts are deterministic given the seeds.",
        f"- seeds {seeds[0]}..{seeds[-1]}" + (f" ({max(seeds_by_n.values())} at N ≥ 1,000,000)" if seeds_by_n else "")
        + "; each run plants ONE drift with `workload.make_pair(n, seed, sizes={key: size}, only=column)`; "
        "default settings (family-wise alpha 0.05, Holm over the 27 tested columns; thresholds KS 0.025, "
        "Wasserstein/std 0.1, tail 0.5, PSI 0.2, TVD 0.025).",
        "- caught = the planted column's drift status is `drifted` (quality findings such as `sentinel_value` or "
        "`new_categories` are counted separately, in the last row of each table).",
        "- missed just below, why: the missed runs at the (up to) two grid sizes just below the 100% size: "
        "`effect threshold` = significant after Holm but every effect below its threshold; `significance` = an effect "
        "past its threshold but not significant after Holm; `both` = neither. The deciding measure is the effect "
        "measure furthest past its threshold in the runs caught at the 100% size.",
        f"- every (size, seed) run at N ∈ {{{', '.join(f'{n:,}' for n in sorted(full_ns) if n in ns)}}}; at the other N each "
        f"seed's boundary was bisected and the rest inferred by monotonicity (`*`); {len(ev)} reports run in all.",
        "- clean columns called drifted in these runs (false alarms beside the planted drift): "
        + (", ".join(f"N={r['n']:,} seed={r['seed']} {r['key']}={r['size']:g}: {'/'.join(r['others_drifted'])}"
                     for r in ev if r.get("others_drifted")) or f"none in {len(ev)} reports") + ".",
        "- monotonicity (a bigger drift of the same draws is caught whenever a smaller one is) on the full grids: "
        + ("held in every sequence." if not breaks else f"**broken in {len(breaks)} sequence(s)** (x = caught): "
           + "; ".join(breaks)),
        "",
        "## Smallest size caught (in ≥ 80% of seeds / in every seed)",
        "",
        *body,
        "",
    ]
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "summary": summary, "runs": rows}, f, indent=1, default=str)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
