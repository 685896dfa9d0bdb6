#!/usr/bin/env python
"""Argus (the live monitor and the library) vs Evidently on the same RAG traffic with planted failures, in one run.

    PYTHONPATH=src .venv/bin/python bench/rag_compare.py [--data /tmp/ragdata] [--venvs /tmp/venvs]
                                                         [--gen-python PY] [--regenerate] [--no-live]

1. Traffic: bench/rag_traffic.py writes ``--data`` (reference, clean
   periods, one period per planted failure) unless it is already there.
   It needs the embedder (the ``llm`` extra); when this interpreter cannot
   import it, the generator runs under ``--gen-python`` (default
   /tmp/ragvenv/bin/python, a venv with ``pip install -e '.[llm]' pandas
   pyarrow``), so the project's own venv stays without the extra.
2. Argus live (bench/rag_live.py, skipped with ``--no-live``): the service a
   user runs, in this process: a real monitor and store behind the real app
   on a local socket, the reference registered as the LLM model's baseline
   by ``PUT /v1/models/rag``, each period posted as LLM events into its own
   1-hour window on a simulated clock, the verdict read from
   ``GET .../windows`` once the window closed.
3. Argus library, in this process, per current period against the reference:
   ``embedding_drift`` on the query and on the response embeddings (Holm
   over centroid, MMD and norms, alpha 0.05) and ``argusml.report`` on the
   derived columns (lengths, tokens, latency, citations, top-1 and mean
   retrieval score, empty retrievals), reading ``drifted_columns``.
4. Evidently, in its own venv (bench/setup_venvs.sh evidently), by
   bench/incumbents/bench_evidently_rag.py: its no-download text
   descriptors on query and response, DataDriftPreset over the same derived
   columns plus those descriptors, and its default embeddings drift on the
   same two matrices.

A period counts as *caught* (failure periods) or as a *false alarm* (clean
periods) when the system flags anything: a drifted column or a drifted
embedding (for the live monitor: the closed window's ``drifted_columns``,
where the embeddings are columns too, or its status ``drift``). Seconds are
per period: for the library and Evidently from the raw frames to the
decision (each recomputes the reference's profile or descriptors every
period); for the live monitor from the first POST of the period's events to
the closed window's verdict read back (the baseline is registered once,
before, and timed apart).

Prints the table and writes it to bench/results/rag.md; the three sides' full
results go to bench/results/raw/rag-<stamp>/ (gitignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV = {"DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
FAILURE_TEXT = {
    None: "none (clean)",
    "lost_docs": "index lost 2 topics' documents",
    "long_answers": "prompt template doubles answer length",
    "topic_shift": "query-topic mix shifted",
}


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def mem_total_gib() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def embedder_importable() -> bool:
    try:
        from argusml.llm.embed import default_embedder

        default_embedder()
    except ImportError:
        return False
    return True


def ensure_traffic(a: argparse.Namespace) -> str:
    """Generate the traffic unless ``--data`` holds it; returns which interpreter embedded it (or 'cached')."""
    if os.path.exists(os.path.join(a.data, "manifest.json")) and not a.regenerate:
        return "cached (already in --data)"
    py = sys.executable if embedder_importable() else a.gen_python
    if not os.path.exists(py):
        sys.exit(f"the embedder (argusml[llm]) is not importable here and {py} does not exist: create it with\n"
                 f"  python3 -m venv /tmp/ragvenv && /tmp/ragvenv/bin/pip install -e '{ROOT}[llm]' pandas pyarrow")
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")}
    t0 = time.perf_counter()
    subprocess.run([py, os.path.join(HERE, "rag_traffic.py"), "--out", a.data, "--threads", str(a.threads)],
                   check=True, env=env)
    return f"{py} ({time.perf_counter() - t0:.0f} s)"


# -- Argus -----------------------------------------------------------------------------------------------------
def load(data: str, period: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    d = os.path.join(data, period)
    return (pd.read_parquet(os.path.join(d, "derived.parquet")), np.load(os.path.join(d, "query_emb.npy")),
            np.load(os.path.join(d, "response_emb.npy")))


def argus_period(ref: tuple, cur: tuple) -> dict[str, Any]:
    import argusml
    from argusml.stats.embedding import embedding_drift

    t0 = time.perf_counter()
    rep = argusml.report(ref[0], cur[0])
    t1 = time.perf_counter()
    emb = {}
    for i, name in ((1, "query_emb"), (2, "response_emb")):
        e = embedding_drift(ref[i], cur[i])
        emb[name] = {"drifted": e.drifted, "p_adjusted": {k: float(v) for k, v in e.p_adjusted.items()},
                     "centroid_cosine": e.centroid.cosine, "mmd2": e.mmd.mmd2}
    t2 = time.perf_counter()
    cols = sorted(rep.drifted_columns)
    return {"flagged_columns": cols, "embeddings": emb, "caught": bool(cols) or any(v["drifted"] for v in emb.values()),
            "findings": [f"{f.severity.value} {f.check} {f.column}: {f.message}" for f in rep.findings],
            "seconds": round(t2 - t0, 3), "phases_s": {"report": round(t1 - t0, 3), "embedding_drift": round(t2 - t1, 3)}}


def run_argus(data: str, periods: list[dict]) -> dict[str, Any]:
    import argusml

    ref = load(data, "reference")
    out: dict[str, Any] = {"library": "argus", "version": argusml.__version__, "periods": {}}
    for p in periods:
        out["periods"][p["name"]] = argus_period(ref, load(data, p["name"]))
    return out


# -- Evidently -------------------------------------------------------------------------------------------------
def run_evidently(a: argparse.Namespace, raw: str) -> dict[str, Any]:
    py = os.path.join(a.venvs, "evidently", "bin", "python")
    if not os.path.exists(py):
        sys.exit(f"{py} missing: run  VENVS={a.venvs} bench/setup_venvs.sh evidently")
    path = os.path.join(raw, "evidently.json")
    t0 = time.perf_counter()
    with open(os.path.join(raw, "evidently.stderr"), "w") as err:
        subprocess.run([py, "-W", "ignore", os.path.join(HERE, "incumbents", "bench_evidently_rag.py"),
                        "--data", a.data, "--out", path, "--check-nltk"],
                       check=True, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **ENV}, cwd=ROOT)
    wall = time.perf_counter() - t0
    with open(path) as f:
        res = json.load(f)
    res["process_wall_s"] = round(wall, 1)
    return res


# -- the table -------------------------------------------------------------------------------------------------
def short(col: str) -> str:
    return col.replace("response", "resp").replace("query", "q")


def what(r: dict[str, Any], emb_key: str) -> str:
    parts = [short(c) for c in r["flagged_columns"]]
    parts += [f"{short(k)} ({v.get(emb_key, '')})" if emb_key in v else short(k)
              for k, v in r["embeddings"].items() if v["drifted"]]
    return ", ".join(parts) if parts else "—"


def argus_emb_why(v: dict[str, Any]) -> str:
    tests = [k for k, p in v["p_adjusted"].items() if p <= 0.05]
    return "+".join(tests)


def table(periods: list[dict], argus: dict[str, Any], ev: dict[str, Any], live: dict[str, Any] | None) -> str:
    for v in argus["periods"].values():
        for e in v["embeddings"].values():
            e["why"] = argus_emb_why(e)
    for v in ev["periods"].values():
        for e in v["embeddings"].values():
            e["why"] = f"AUC {e['roc_auc']:.2f}"
    systems = ([("Argus live", live)] if live else []) + [("Argus library", argus), ("Evidently", ev)]
    head = "| period | planted failure | " + " | ".join(
        f"{name} flags | {name}: flagged by | " + ("Evidently dataset drift (share) | " if name == "Evidently" else "")
        + f"{name} s" for name, _ in systems) + " |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for p in periods:
        kind = "caught" if p["failure"] else "FALSE ALARM"
        cells = [p["name"], FAILURE_TEXT[p["failure"]]]
        for name, res in systems:
            r = res["periods"][p["name"]]
            cells += [kind if r["caught"] else "no", what(r, "why")]
            if name == "Evidently":
                cells.append(f"{'yes' if r['dataset_drift'] else 'no'} ({r['drifted_share']:.2f})")
            cells.append(f"{r['seconds']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    fail = [p["name"] for p in periods if p["failure"]]
    clean = [p["name"] for p in periods if not p["failure"]]

    def tally(res: dict[str, Any]) -> tuple[int, int, int, float]:
        caught = sum(res["periods"][n]["caught"] for n in fail)
        false = sum(res["periods"][n]["caught"] for n in clean)
        false_cols = sum(len(res["periods"][n]["flagged_columns"]) + sum(e["drifted"] for e in
                         res["periods"][n]["embeddings"].values()) for n in clean)
        return caught, false, false_cols, sum(v["seconds"] for v in res["periods"].values())

    tested = {"Argus library": (len(next(iter(argus["periods"].values()))["embeddings"]) + 11) * len(clean),
              "Evidently": (len(ev["descriptors"]) + 11 + 2) * len(clean)}
    if live:  # the verdict's n_tested counts the derived columns it tested, not the embeddings (tested as well)
        tested["Argus live"] = sum(live["periods"][n]["verdict"]["n_tested"] + len(live["periods"][n]["embeddings"])
                                   for n in clean)
    lines += ["", "| system | failures caught | clean periods with a false alarm | false flags on clean periods "
              "(columns + embeddings) | seconds, all periods |", "|---|---|---|---|---|"]
    for name, res in systems:
        c, f, fc, sec = tally(res)
        extra = (f" (process wall {ev['process_wall_s']:.1f}, of which {ev.get('nltk_check_s', 0):.1f} s trying "
                 "the NLTK descriptors' downloads)" if name == "Evidently" else
                 f" (+ {res['register']['seconds']:.1f} to register the baseline)" if name == "Argus live" else "")
        lines.append(f"| {name} {res['version']} | {c}/{len(fail)} | {f}/{len(clean)} | {fc} of {tested[name]} "
                     f"| {sec:.1f}{extra} |")
    lines += ["", "Mean seconds per period, by phase: "
              + "; ".join(f"{name}: " + ", ".join(f"{k} {np.mean([v['phases_s'][k] for v in res['periods'].values()]):.2f}"
                                                  for k in next(iter(res["periods"].values()))["phases_s"])
                          for name, res in systems)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/tmp/ragdata")
    ap.add_argument("--venvs", default=os.environ.get("VENVS", "/tmp/venvs"))
    ap.add_argument("--gen-python", default="/tmp/ragvenv/bin/python",
                    help="interpreter with argusml[llm] for generating the traffic when this one lacks the extra")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime threads for generating")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "rag.md"))
    ap.add_argument("--no-live", action="store_true", help="leave out the live monitor (the library and Evidently only)")
    ap.add_argument("--window", type=float, default=3600.0, help="the live monitor's window, one period each")
    ap.add_argument("--chunk", type=int, default=100, help="events per POST to the live monitor")
    ap.add_argument("--cache", default="/tmp/ragdata-embcache", help="rag_traffic's embedding cache")
    a = ap.parse_args()
    started = dt.datetime.now()
    load_before = loadavg()
    raw = os.path.join(HERE, "results", "raw", f"rag-{started:%Y%m%d-%H%M%S}")
    os.makedirs(raw, exist_ok=True)
    gen = ensure_traffic(a)
    with open(os.path.join(a.data, "manifest.json")) as f:
        manifest = json.load(f)
    periods = [p for p in manifest["periods"] if p["name"] != "reference"]
    live = None
    if not a.no_live:
        from rag_live import run_live

        t0 = time.perf_counter()
        live = run_live(a.data, periods, window=a.window, chunk=a.chunk, cache=a.cache, gen_python=a.gen_python)
        live["process_wall_s"] = round(time.perf_counter() - t0, 1)
        with open(os.path.join(raw, "argus_live.json"), "w") as f:
            json.dump(live, f, indent=1, default=str)
    t0 = time.perf_counter()
    argus = run_argus(a.data, periods)
    argus["process_wall_s"] = round(time.perf_counter() - t0, 1)
    ev = run_evidently(a, raw)
    with open(os.path.join(raw, "argus.json"), "w") as f:
        json.dump(argus, f, indent=1, default=str)
    sizes = {p["name"]: p["n"] for p in manifest["periods"]}
    head = (f"Run {started:%Y-%m-%d %H:%M} -> {dt.datetime.now():%H:%M}, commit {git_head()}, {os.cpu_count()} cores, "
            f"{mem_total_gib():.0f} GiB, Python {platform.python_version()}; load average {load_before} before, "
            f"{loadavg()} after. Traffic: {a.data} (seed {manifest['seed']}, embedder {manifest['embedder']}, "
            f"top-{manifest['k']} retrieval, {manifest['n_docs']} documents; reference {sizes['reference']} requests, "
            f"{sizes[periods[0]['name']]} per current period); generated by: {gen}. Raw: {raw}\n\n"
            f"Evidently embeddings drift via: {ev.get('embeddings_via')} (metric = the whole EmbeddingsDrift report, "
            f"its t-SNE included). Evidently descriptors: {', '.join(ev['descriptors'])}. NLTK-backed descriptors here: "
            f"{json.dumps(ev.get('nltk_descriptors', {}))}\n")
    if live:
        reg = live["register"]
        head += (f"\nArgus live: one monitor (default Settings, DuckDB store in a temp dir, the app on a local socket), "
                 f"`PUT /v1/models/rag` with the {reg['baseline']['events']} reference events as the baseline "
                 f"({reg['body_mb']} MB of JSON, {reg['seconds']:.1f} s), window {live['window_s']:g} s with one "
                 f"period each, {live['chunk']} events a POST; flags = the closed window's drifted_columns. "
                 f"Provisional looks (open windows) called drifted: "
                 + ("; ".join(f"{n}: {', '.join(r['provisional_drifted'])}" for n, r in live["periods"].items()
                              if r["provisional_drifted"]) or "none") + "\n")
    text = head + "\n" + table(periods, argus, ev, live) + "\n"
    print("\n" + text)
    with open(a.out, "w") as f:
        f.write("# RAG traffic: Argus (live monitor and library) vs Evidently (generated by bench/rag_compare.py)\n\n"
                + text)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
