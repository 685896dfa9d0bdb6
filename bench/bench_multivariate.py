#!/usr/bin/env python
"""Multivariate drift: Argus against NannyML's data reconstruction drift (PCA), on the same data, in one run.

    bench/setup_venvs.sh nannyml                # NannyML lives only in its benchmark venv
    .venv/bin/python bench/bench_multivariate.py [--chunks 100] [--chunk-size 2000] [--ref-rows 20000]
                                                 [--out bench/results/multivariate.md]

Scenarios (seeded; each has its own reference of ``--ref-rows`` rows and
``--chunks`` current chunks of ``--chunk-size`` rows). Gaussian scenarios use
8 numeric features with a block correlation structure: x0, x1, x2 equicorrelated
at 0.7; x3, x4 correlated at 0.8; x5, x6 at 0.6; x7 independent; all N(0, 1).

1. ``no_change``: fresh draws from the reference distribution. Every flag is a false alarm.
2. ``corr_break``: x4 permuted within each chunk. Every marginal is exactly the
   reference's, and corr(x3, x4) goes from 0.8 to 0.
3. ``corr_weaker``: corr(x3, x4) is 0.5 instead of 0.8. The marginals are unchanged.
   ``corr_0.6`` and ``corr_0.7`` (3b, 3c): the same change, smaller (0.8 -> 0.6, 0.8 -> 0.7).
4. ``mean_shift``: x5 + 0.2 (0.2 sd), the kind of change a univariate test catches.
5. ``mixed_no_change``: messy data with no change. Five numeric features
   (lognormal amount and balance, exponential wait, clipped integer age,
   integer clicks) and a 5-level categorical are tied together by a Gaussian
   copula. Missing values: amount 5%, balance 10%, segment 3%.
6. ``mixed_corr_break``: the same messy data, with balance permuted within each
   chunk. This breaks its relation to amount (latent correlation 0.7), and its
   marginal and missingness are unchanged.

Argus (this venv): ``argusml.Reference.from_frame(ref)`` once per scenario, then
``argusml.report(reference, chunk)`` per chunk with the default config. The
result is ``report.to_dict()["multivariate"]``: the status (either test), the
PCA reconstruction test and the domain classifier. Each chunk is also reported
with ``ReportConfig(multivariate={"enabled": False})`` to isolate the
multivariate cost, and once more against a reference learned without a
multivariate model (the univariate report alone). Argus's other findings on
the same report are counted for context: column ``drift`` and
``correlation_change``.

NannyML (its venv, ``bench/incumbents/bench_nannyml_multivariate.py``):
``DataReconstructionDriftCalculator(column_names=<the features>,
chunk_size=<chunk size>)`` with its defaults. It is fitted once on the reference
and run with one ``calculate`` over all the chunks. A chunk is flagged when
NannyML raises an alert.

At the start, the script waits (at most ``--load-wait`` s) for the 1-minute
load average to fall below 1.5. Before timing each scenario, it waits (at most
``--quiet-wait`` s) until other processes keep fewer than 0.5 threads
runnable, on average. ``uptime`` is recorded at the start and at the end, and the load of other
processes is sampled between chunks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

import argusml
from argusml.profile.frame import open_source
from benchenv import machine, uptime
from run_bench import other_runnable, process_tree, wait_quiet

NANNYML_PY = Path(os.environ.get("VENVS", "/tmp/venvs")) / "nannyml" / "bin" / "python"
GAUSS_COLS = [f"x{i}" for i in range(8)]
MIXED_COLS = ["amount", "balance", "wait_s", "age", "clicks", "segment"]


def block_cov(rho34: float = 0.8) -> np.ndarray:
    c = np.eye(8)
    for i in range(3):
        for j in range(3):
            if i != j:
                c[i, j] = 0.7
    c[3, 4] = c[4, 3] = rho34
    c[5, 6] = c[6, 5] = 0.6
    return c


def gaussian(rng: np.random.Generator, n: int, cov: np.ndarray) -> pd.DataFrame:
    z = rng.standard_normal((n, cov.shape[0])) @ np.linalg.cholesky(cov).T
    return pd.DataFrame(z, columns=GAUSS_COLS)


MIXED_LATENT = np.eye(6)
MIXED_LATENT[0, 1] = MIXED_LATENT[1, 0] = 0.7  # amount ~ balance
MIXED_LATENT[1, 2] = MIXED_LATENT[2, 1] = 0.5  # balance ~ wait
MIXED_LATENT[3, 5] = MIXED_LATENT[5, 3] = 0.6  # age ~ segment
SEGMENT_CUTS = np.array([-1.0, -0.2, 0.5, 1.4])  # 5 levels: about 16 / 26 / 27 / 23 / 8 %


def mixed(rng: np.random.Generator, n: int) -> pd.DataFrame:
    z = rng.standard_normal((n, 6)) @ np.linalg.cholesky(MIXED_LATENT).T
    seg = np.array(list("ABCDE"), dtype=object)[np.searchsorted(SEGMENT_CUTS, z[:, 5])]
    df = pd.DataFrame({
        "amount": 50 * np.exp(z[:, 0]),
        "balance": 1000 * np.exp(0.7 * z[:, 1]),
        "wait_s": -30 * np.log(ndtr(-z[:, 2])),
        "age": np.clip(np.round(40 + 12 * z[:, 3]), 18, 90).astype(np.int64),
        "clicks": np.floor(3 * np.exp(0.8 * z[:, 4])).astype(np.int64),
        "segment": seg,
    })
    for col, share in (("amount", 0.05), ("balance", 0.10), ("segment", 0.03)):
        df.loc[rng.random(n) < share, col] = None
    return df


def permuted(rng: np.random.Generator, df: pd.DataFrame, col: str) -> pd.DataFrame:
    df[col] = df[col].to_numpy()[rng.permutation(len(df))]
    return df


@dataclass
class Scenario:
    key: str
    sid: int  # the scenario's own seed stream: adding a scenario leaves the others' data as they were
    title: str
    change: bool
    columns: list[str]
    reference: Callable[[np.random.Generator, int], pd.DataFrame]
    chunk: Callable[[np.random.Generator, int], pd.DataFrame]


def gauss_ref(r: np.random.Generator, n: int) -> pd.DataFrame:
    return gaussian(r, n, block_cov())


SCENARIOS = [
    Scenario("no_change", 0, "1. No change (8 Gaussian features, block correlations)", False, GAUSS_COLS,
             gauss_ref, gauss_ref),
    Scenario("corr_break", 1, "2. Correlation break, marginals unchanged (x4 permuted: corr(x3, x4) 0.8 -> 0)", True,
             GAUSS_COLS, gauss_ref, lambda r, n: permuted(r, gaussian(r, n, block_cov()), "x4")),
    Scenario("corr_weaker", 2, "3. Weaker correlation (corr(x3, x4) 0.8 -> 0.5)", True, GAUSS_COLS,
             gauss_ref, lambda r, n: gaussian(r, n, block_cov(0.5))),
    Scenario("corr_0.6", 6, "3b. Smaller correlation change (corr(x3, x4) 0.8 -> 0.6)", True, GAUSS_COLS,
             gauss_ref, lambda r, n: gaussian(r, n, block_cov(0.6))),
    Scenario("corr_0.7", 7, "3c. Smaller still (corr(x3, x4) 0.8 -> 0.7)", True, GAUSS_COLS,
             gauss_ref, lambda r, n: gaussian(r, n, block_cov(0.7))),
    Scenario("mean_shift", 3, "4. Mean shift of one feature (x5 + 0.2 sd)", True, GAUSS_COLS, gauss_ref,
             lambda r, n: gaussian(r, n, block_cov()).assign(x5=lambda d: d["x5"] + 0.2)),
    Scenario("mixed_no_change", 4, "5. Mixed types, skew, missing values: no change", False, MIXED_COLS, mixed,
             mixed),
    Scenario("mixed_corr_break", 5, "6. Mixed types: balance permuted (its relation to amount broken)", True,
             MIXED_COLS, mixed, lambda r, n: permuted(r, mixed(r, n), "balance")),
]


def make_data(sc: Scenario, chunks: int, size: int, ref_rows: int, seed: int
              ) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    rng = np.random.default_rng([seed, sc.sid])
    ref = sc.reference(rng, ref_rows)
    return ref, [sc.chunk(rng, size) for _ in range(chunks)]


def load1() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def argus_side(ref: pd.DataFrame, chunks: list[pd.DataFrame]) -> dict[str, Any]:
    off = argusml.ReportConfig(multivariate={"enabled": False})
    t0 = time.perf_counter()
    reference = argusml.Reference.from_frame(ref)
    fit_s = time.perf_counter() - t0
    # no multivariate model at all: the report's univariate cost alone (the chunk is not even encoded)
    plain = argusml.Reference.from_source(open_source(ref), multivariate_exclude=None)
    rows, others = [], []
    for cur in chunks:
        t0 = time.perf_counter()
        rep = argusml.report(reference, cur)
        t_full = time.perf_counter() - t0
        t0 = time.perf_counter()
        rep_off = argusml.report(reference, cur, config=off)
        t_off = time.perf_counter() - t0
        t0 = time.perf_counter()
        argusml.report(plain, cur, config=off)
        t_plain = time.perf_counter() - t0
        d = rep.to_dict()
        mv = d["multivariate"]
        rec, clf = mv.get("reconstruction", {}), mv.get("classifier", {})
        checks = [f["check"] for f in d["findings"]]
        checks_off = [f["check"] for f in rep_off.to_dict()["findings"]]
        assert sorted(c for c in checks if c != "multivariate_drift") == sorted(checks_off), (checks, checks_off)
        rows.append({"status": mv["status"], "rec_status": rec.get("status"), "rel": rec.get("relative_increase"),
                     "rec_p": rec.get("p_adjusted"), "clf_status": clf.get("status"), "auc": clf.get("auc"),
                     "clf_p": clf.get("p_adjusted"),
                     "column_drift": "drift" in checks, "corr_change": "correlation_change" in checks,
                     "checks": sorted(set(checks)), "t_full": t_full, "t_off": t_off,
                     "t_plain": t_plain})
        others.append(other_runnable(set()))  # between chunks, outside the timed calls
    return {"fit_s": fit_s, "chunks": rows, "other_runnable": statistics.mean(others) if others else None}


def nannyml_side(cases: list[dict[str, Any]], workdir: Path) -> tuple[dict[str, Any] | None, str]:
    if not NANNYML_PY.exists():
        return None, f"NannyML not run: {NANNYML_PY} missing (bench/setup_venvs.sh nannyml)"
    (workdir / "cases.json").write_text(json.dumps({"cases": cases}))
    script = Path(__file__).parent / "incumbents" / "bench_nannyml_multivariate.py"
    with open(workdir / "nml.log", "w") as log:
        p = subprocess.Popen([str(NANNYML_PY), str(script), "--manifest", str(workdir / "cases.json"), "--out",
                              str(workdir / "nml.json")], stdout=log, stderr=subprocess.STDOUT,
                             env={**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1"})
        others = []
        while p.poll() is None:  # the other processes' load while NannyML runs (its own threads excluded)
            others.append(other_runnable({p.pid, *process_tree(p.pid)[0]}))
            time.sleep(0.5)
    text = (workdir / "nml.log").read_text()
    if p.returncode:
        return None, f"NannyML failed: {text[-2000:]}"
    doc = json.loads((workdir / "nml.json").read_text())
    doc["other_runnable"] = statistics.mean(others) if others else None
    return doc, text


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def share(flags: list[bool]) -> str:
    k, n = sum(flags), len(flags)
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.0%} [{lo:.0%}, {hi:.0%}]"


def mean(xs: list[float | None]) -> float:
    v = [x for x in xs if x is not None]
    return float(np.mean(v)) if v else math.nan


def section(sc: Scenario, ours: dict[str, Any], theirs: dict[str, Any] | None, chunks: int) -> list[str]:
    rows = ours["chunks"]
    what = "detection rate" if sc.change else "false-alarm rate"
    ms_full = 1000 * statistics.median(r["t_full"] for r in rows)
    ms_off = 1000 * statistics.median(r["t_off"] for r in rows)
    lines = [f"### {sc.title}", "",
             f"| tool / test | chunks flagged ({what}) [95% CI] | mean effect | time per chunk |",
             "|---|---|---|---|",
             f"| **Argus multivariate** (either test) | {share([r['status'] == 'drifted' for r in rows])} | — | "
             f"report {ms_full:.0f} ms (median; {ms_off:.0f} ms with multivariate off, so "
             f"{ms_full - ms_off:.0f} ms for multivariate) |",
             f"| Argus: PCA reconstruction | {share([r['rec_status'] == 'drifted' for r in rows])} | "
             f"error {100 * mean([r['rel'] for r in rows]):+.1f}% | (in the report) |",
             f"| Argus: domain classifier | {share([r['clf_status'] == 'drifted' for r in rows])} | "
             f"AUC {mean([r['auc'] for r in rows]):.3f} | (in the report) |"]
    if theirs is not None:
        ch = theirs["chunks"]
        ref_mean = float(np.mean(theirs["reference_values"]))
        above = sum(c["alert"] and c["above"] for c in ch)
        lines.append(f"| **NannyML data reconstruction** | {share([c['alert'] for c in ch])}"
                     f"{'' if above == sum(c['alert'] for c in ch) else f' ({above} above the upper threshold)'} | "
                     f"error {100 * (mean([c['value'] for c in ch]) / ref_mean - 1):+.1f}% | "
                     f"{1000 * theirs['seconds_calculate'] / chunks:.1f} ms (calculate over all chunks / "
                     f"{chunks}) + fit {theirs['seconds_fit']:.2f} s once |")
    else:
        lines.append("| **NannyML data reconstruction** | not run | — | — |")
    gated = [(r["rec_p"] is not None and r["rec_p"] < 0.05 and r["rec_status"] != "drifted",
              r["clf_p"] is not None and r["clf_p"] < 0.05 and r["clf_status"] != "drifted") for r in rows]
    lines += [f"| *context:* Argus test significant (p_adjusted < 0.05) but below its effect gate | PCA "
              f"{sum(g[0] for g in gated)}/{len(rows)}, classifier {sum(g[1] for g in gated)}/{len(rows)} | — | — |",
              f"| *context:* Argus column `drift` finding | {share([r['column_drift'] for r in rows])} | — | — |",
              f"| *context:* Argus `correlation_change` finding | {share([r['corr_change'] for r in rows])} | — | — |",
              ""]
    detail = [f"Argus `Reference.from_frame`: {ours['fit_s']:.2f} s (once)."]
    if theirs is not None:
        detail.append(f"NannyML: {theirs['n_components']} components; its thresholds "
                      f"[{theirs['lower_threshold']:.4f}, {theirs['upper_threshold']:.4f}] around the reference "
                      f"chunks' mean error {float(np.mean(theirs['reference_values'])):.4f}; it treated "
                      f"{', '.join(theirs['categorical']) or 'no column'} as categorical.")
    if ours["other_runnable"] is not None:
        detail.append(f"Other processes' runnable threads during the Argus run: {ours['other_runnable']:.2f} "
                      "on average.")
    return [*lines, " ".join(detail), ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=100)
    ap.add_argument("--chunk-size", type=int, default=2000)
    ap.add_argument("--ref-rows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--quiet-wait", type=float, default=60, help="longest wait for a quiet machine per scenario, s")
    ap.add_argument("--retries", type=int, default=2,
                    help="rerun a scenario's Argus side (timings only) when other processes kept >= 0.5 threads "
                         "runnable on average during it")
    ap.add_argument("--load-wait", type=float, default=180,
                    help="longest wait at the start for the 1-minute load average to fall below 1.5, s")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--raw", type=Path, help="also write every chunk's numbers as JSON here")
    a = ap.parse_args()
    t_start = time.time()
    while load1() >= 1.5 and time.time() - t_start < a.load_wait:  # the machine is shared: let a burst pass
        time.sleep(5)
    start_uptime, start_load = uptime(), load1()
    t_waited = time.time() - t_start
    m = machine()
    import pyarrow
    import scipy

    data = [make_data(sc, a.chunks, a.chunk_size, a.ref_rows, a.seed) for sc in SCENARIOS]
    argusml.report(argusml.Reference.from_frame(data[0][0]), data[0][1][0])  # warm-up: imports, thread pool

    ours, waits = [], []
    for sc, (ref, chunks) in zip(SCENARIOS, data):
        best: dict[str, Any] | None = None
        for attempt in range(1 + a.retries):  # the flags are deterministic; only the timings can differ
            waits.append(wait_quiet(a.quiet_wait, 0.5))
            o = argus_side(ref, chunks)
            o["attempts"] = attempt + 1
            if best is None or o["other_runnable"] < best["other_runnable"]:
                best = o
            if o["other_runnable"] < 0.5:
                break
        assert best is not None
        ours.append(best)
        print(f"{sc.key}: argus {sum(r['status'] == 'drifted' for r in best['chunks'])}/{a.chunks} flagged, "
              f"other runnable {best['other_runnable']:.2f}, {best['attempts']} attempt(s)", file=sys.stderr)

    with tempfile.TemporaryDirectory() as d:
        cases = []
        for sc, (ref, chunks) in zip(SCENARIOS, data):
            ref.to_parquet(Path(d) / f"{sc.key}.ref.parquet")
            ana = pd.concat(chunks, ignore_index=True)
            ana["chunk"] = np.repeat(np.arange(len(chunks)), a.chunk_size)
            ana.to_parquet(Path(d) / f"{sc.key}.ana.parquet")
            cases.append({"name": sc.key, "reference": str(Path(d) / f"{sc.key}.ref.parquet"),
                          "analysis": str(Path(d) / f"{sc.key}.ana.parquet"), "columns": sc.columns,
                          "chunk_size": a.chunk_size})
        nml_wait = wait_quiet(a.quiet_wait, 0.5)
        theirs, about = nannyml_side(cases, Path(d))
    nml_cases = {c["name"]: c for c in theirs["cases"]} if theirs else {}
    end_uptime, end_load = uptime(), load1()
    minutes = (time.time() - t_start) / 60

    cmd = (f".venv/bin/python bench/bench_multivariate.py --chunks {a.chunks} --chunk-size {a.chunk_size} "
           f"--ref-rows {a.ref_rows} --seed {a.seed}" + (f" --out {a.out}" if a.out else ""))
    loaded = max(start_load, end_load) >= 1.5
    lines = [f"# Multivariate drift: Argus vs NannyML data reconstruction (PCA), {a.chunks} chunks of "
             f"{a.chunk_size:,} rows per scenario", "",
             "```bash", "bench/setup_venvs.sh nannyml", cmd, "```", "",
             "| | |", "|---|---|",
             f"| date | {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t_start))}, {minutes:.1f} min in all "
             f"(of which {t_waited:.0f} s waiting for the load to fall below 1.5) |",
             f"| machine | {m['nproc']} cores, {m['cpu']}, Python {m['python']} |",
             f"| Argus | argusml {m['argus']}, commit {m['git']}; numpy {np.__version__}, scipy {scipy.__version__}, "
             f"pandas {pd.__version__}, pyarrow {pyarrow.__version__} |",
             f"| NannyML | {theirs['nannyml_version'] if theirs else 'not run'} (its own venv, {NANNYML_PY.parent.parent})"
             " |",
             f"| load at start | `{start_uptime}` |", f"| load at end | `{end_uptime}` |",
             f"| quiet waits | before each Argus scenario: {', '.join(f'{w:.0f} s ({lv:.2f})' for w, lv in waits)}; "
             f"before NannyML: {nml_wait[0]:.0f} s ({nml_wait[1]:.2f}) (waited s, then other processes' runnable "
             "threads averaged over 3 s) |", ""]
    if loaded:
        lines += ["**The 1-minute load average was at or above 1.5 at the start or end.** It counts this "
                  "benchmark's own threads: Argus profiles columns on a thread pool, so a run alone on the machine "
                  "can reach it. Other processes' load during the timed parts is the last column of the time table; "
                  "where it is not near 0, treat those timings as taken under load.", ""]
    lines += [
        "Reference: " + f"{a.ref_rows:,} rows per scenario, learned once by each tool. Argus passes one "
        "`argusml.Reference.from_frame(ref)` to every `argusml.report` call, with the default config. NannyML runs "
        f"`DataReconstructionDriftCalculator(column_names=features, chunk_size={a.chunk_size})` with its defaults: "
        "`fit(reference)`, then one `calculate` over all chunks. Its alert thresholds are the reference chunks' mean "
        f"error ± 3 sd, from {a.ref_rows // a.chunk_size} reference chunks. "
        "The 95% intervals are Wilson intervals over the chunks. The chunks of a scenario share one reference, so "
        "a tool's rates depend on that reference draw too; the intervals leave this out.",
        "",
        "Argus flags a chunk when either of its two tests passes both its significance gate (p_adjusted < 0.05, "
        "Bonferroni over the two tests) and its effect gate (mean reconstruction error up ≥ 10%, or classifier "
        "AUC ≥ 0.55). *Mean effect* averages over the chunks: Argus's relative rise of the mean reconstruction error "
        "and its held-out AUC, and NannyML's mean chunk error relative to the mean of its reference chunks. The "
        "two tools measure error differently: Argus takes the mean squared residual of normal scores, NannyML the "
        "mean Euclidean norm of the residual after standard scaling.",
        "",
        "The *context* rows count Argus's other findings in the same report. Column `drift` is the univariate "
        "tests. `correlation_change` is Argus's pairwise correlation check, which runs whether or not the "
        "multivariate tests are on.",
        "",
        "Scenarios 3b and 3c were added after a first run in which both tools flagged every chunk of scenario 3. "
        "They show where each tool stops seeing a weaker change. Each scenario draws from its own seed stream, so "
        "the other scenarios' data are the same as in that run.",
        "",
        "## Summary", "",
        "| scenario | change? | Argus multivariate | Argus PCA | Argus classifier | NannyML DRE | Argus column drift |"
        " Argus correlation_change |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for sc, o in zip(SCENARIOS, ours):
        r = o["chunks"]

        def pct(flags: list[bool]) -> str:
            return f"{sum(flags) / len(flags):.0%}"

        t = nml_cases.get(sc.key)
        lines.append(f"| {sc.title} | {'yes' if sc.change else 'no'} | "
                     f"{pct([x['status'] == 'drifted' for x in r])} | {pct([x['rec_status'] == 'drifted' for x in r])} |"
                     f" {pct([x['clf_status'] == 'drifted' for x in r])} | "
                     f"{pct([c['alert'] for c in t['chunks']]) if t else '—'} | {pct([x['column_drift'] for x in r])} | "
                     f"{pct([x['corr_change'] for x in r])} |")
    lines += ["", "Share of chunks flagged: the detection rate where there was a change, the false-alarm rate where "
              "there was none.", ""]
    lines += ["## Time per chunk", "",
              "| scenario | Argus report, default (median ms) | Argus report, multivariate off (median ms) | "
              "multivariate share (ms) | Argus report, reference without a multivariate model (median ms) | "
              "Argus Reference.from_frame (s, once) | NannyML calculate (ms per chunk) | "
              "NannyML fit (s, once) | other processes' runnable threads during Argus's timing |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for sc, o in zip(SCENARIOS, ours):
        r, t = o["chunks"], nml_cases.get(sc.key)
        full = 1000 * statistics.median(x["t_full"] for x in r)
        off = 1000 * statistics.median(x["t_off"] for x in r)
        plain = 1000 * statistics.median(x["t_plain"] for x in r)
        load = f"{o['other_runnable']:.2f}" + (f" (best of {o['attempts']} runs)" if o["attempts"] > 1 else "")
        head = f"| {sc.key} | {full:.0f} | {off:.0f} | {full - off:.0f} | {plain:.0f} | {o['fit_s']:.2f} | "
        lines.append(head + (f"{1000 * t['seconds_calculate'] / a.chunks:.1f} | {t['seconds_fit']:.2f} | {load} |"
                             if t else f"— | — | {load} |"))
    lines += ["", "An Argus report runs every check: univariate drift, data quality, correlations and multivariate. "
              "It includes converting the pandas chunk to Arrow and profiling it. With multivariate off, the chunk is "
              "still encoded and its reconstruction error computed (the reference carries the model), but the "
              "domain classifier is not trained. *Multivariate share* is the difference of the two medians. "
              "The next column is a report (multivariate off) against a reference learned without a multivariate "
              "model (`Reference.from_source(..., multivariate_exclude=None)`), which does not encode the chunk at "
              "all: default minus this column is the whole multivariate cost. "
              "NannyML's figure is one `calculate` over all the chunks, divided by their number: the "
              "reconstruction error alone. The last column is sampled between chunks (average); a scenario whose "
              f"average reached 0.5 was rerun for its timings, up to {a.retries} times, and the quietest run kept. "
              "Other processes kept "
              + (f"{theirs['other_runnable']:.2f}" if theirs and theirs.get("other_runnable") is not None else "?")
              + " threads runnable on average while NannyML ran.", "", "## Per scenario", ""]
    for sc, o in zip(SCENARIOS, ours):
        lines += section(sc, o, nml_cases.get(sc.key), a.chunks)
    if not theirs:
        lines += [about, ""]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if a.out:
        a.out.write_text(text)
    if a.raw:
        a.raw.write_text(json.dumps({"argus": {sc.key: o for sc, o in zip(SCENARIOS, ours)}, "nannyml": theirs},
                                    indent=1, default=str))
    sys.exit(0 if theirs else 2)


if __name__ == "__main__":
    main()
