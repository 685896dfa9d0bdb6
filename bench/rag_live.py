#!/usr/bin/env python
"""Argus as a user runs it, on the RAG traffic of bench/rag_traffic.py: a live monitor, over HTTP.

    PYTHONPATH=src .venv/bin/python bench/rag_live.py [--data /tmp/ragdata] [--window 3600] [--chunk 100]

bench/rag_compare.py runs this beside the library path and Evidently (one
table); run alone, it prints the live monitor's verdicts only (about a
minute, against the five Evidently takes).

What it does, per the service's contract (docs/API.md, docs/LLM.md):

1. Starts a real ``Monitor`` on a real DuckDB store in a temp dir, with the
   service's default ``Settings``, behind the real app served by uvicorn on
   a local socket; the monitor's clock is simulated (tests/service_util's
   ``Clock``), so an hour's window closes without waiting an hour.
2. Registers ``PUT /v1/models/rag`` with ``{"config": {"kind": "llm",
   "window": ..., "llm": {"no_answer_below": MIN_SCORE}}, "baseline":
   [the reference period's events]}``. Each event carries what the
   application had: the query and response texts, the three retrieved
   documents (id, cosine score, text), both embeddings, input and output
   tokens, and ``latency_ms`` in the envelope. ``no_answer_below`` is the
   assistant's own citation threshold (rag_traffic's ``MIN_SCORE``): a user
   sets it to the score under which their retriever has nothing.
3. Replays each current period into its own window (period i into
   [START + i·window, START + (i+1)·window)), its events spread evenly
   across it and posted to ``POST /v1/models/rag/events`` in chunks of
   ``--chunk``, the clock moved to each chunk's last timestamp before it is
   posted (a stream, not one batch). Then the clock moves past the window's
   end plus the lateness, and the script polls ``GET /v1/models/rag/windows``
   until the window is closed with a verdict.
4. Decides as a user reading the API would: a period is flagged when its
   window's ``verdict.drifted_columns`` is not empty (embeddings are
   columns there) or its status is ``drift``; ``GET .../findings`` gives
   the evidence (which test moved, for the embeddings).

Seconds per period run from the first chunk's POST (client-side JSON
encoding included: an application must encode too) to the verdict read
back, less the polls of the open window after each chunk (they record what
a provisional look showed: ``provisional_drifted``, never part of the
decision); ``phases_s`` splits that into the client's JSON encoding, the
POSTs (the server's decoding, validation and store writes) and closing. Closing includes
waiting for the monitor's next tick (``Settings.tick_every``, 1 s by
default) after the simulated clock jumps past the window's end.

The retrieval scores of each retrieved document are not stored by
rag_traffic.py (only the top-1 and mean); they are recomputed here as the
cosine of the stored query embedding and the document's embedding, read
from rag_traffic's embedding cache (``--cache``), and checked against the
stored top-1 and mean. With the cache gone, ``--gen-python`` (the venv with
the ``llm`` extra) re-embeds the 320 documents into it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))  # service_util: the monitor harness the service tests use

from rag_traffic import MIN_SCORE, embed_cached  # noqa: E402

MODEL = "rag"
START = 1_800_000_000.0 // 86400 * 86400 + 86400
"""The first current period's window starts at a UTC midnight (window starts are whole hours from it);
the baseline's events are stamped the day before."""
CONFIG_WAIT_S = 120.0


class _Named:
    """rag_traffic's cache key needs only the embedder's name: reading the cache loads no model."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, texts: list[str]) -> np.ndarray:
        raise FileNotFoundError("document embeddings not in the cache")


def doc_embeddings(data: str, cache: str, embedder: str, gen_python: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The documents and their embeddings, from rag_traffic's cache; re-embedded under ``gen_python`` (the
    venv with the ``llm`` extra) when the cache lost them."""
    docs = pd.read_parquet(os.path.join(data, "docs.parquet"))
    texts = docs["text"].tolist()
    try:
        return docs, embed_cached(texts, _Named(embedder), cache)
    except FileNotFoundError:
        code = ("import sys, pandas as pd; sys.path.insert(0, sys.argv[1]); from rag_traffic import embed_cached; "
                "from argusml.llm.embed import default_embedder; "
                "embed_cached(pd.read_parquet(sys.argv[2])['text'].tolist(), default_embedder(), sys.argv[3])")
        subprocess.run([gen_python, "-c", code, str(HERE), os.path.join(data, "docs.parquet"), cache], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        return docs, embed_cached(texts, _Named(embedder), cache)


def period_events(data: str, period: str, docs: pd.DataFrame, doc_emb: np.ndarray, start: float,
                  span: float) -> list[dict[str, Any]]:
    """The period's requests as LLM events, spread evenly over [start, start + span): what the application
    would send for each (the embeddings stay float32 arrays; orjson writes them as such)."""
    d = os.path.join(data, period)
    derived = pd.read_parquet(os.path.join(d, "derived.parquet"))
    texts = pd.read_parquet(os.path.join(d, "texts.parquet"))
    q_emb, r_emb = np.load(os.path.join(d, "query_emb.npy")), np.load(os.path.join(d, "response_emb.npy"))
    row_of = {doc_id: i for i, doc_id in enumerate(docs["doc_id"])}
    bodies = docs["text"].tolist()
    n = len(texts)
    events = []
    for i, (t, r) in enumerate(zip(texts.itertuples(index=False), derived.itertuples(index=False), strict=True)):
        ids = t.retrieved.split()
        scores = doc_emb[[row_of[x] for x in ids]] @ q_emb[i]
        if abs(float(scores[0]) - r.top1_score) > 1e-5 or abs(float(scores.mean()) - r.mean_topk_score) > 1e-5:
            raise SystemExit(f"{period} row {i}: recomputed retrieval scores {scores} do not match the stored top-1 "
                             f"{r.top1_score} / mean {r.mean_topk_score}: the cache holds another embedder's vectors")
        events.append({
            "id": f"{period}-{i:04d}", "timestamp": start + span * i / n, "latency_ms": float(r.latency_ms),
            "llm": {"prompt": t.query, "response": t.response,
                    "context": [{"id": x, "score": float(s), "text": bodies[row_of[x]]}
                                for x, s in zip(ids, scores, strict=True)],
                    "query_embedding": q_emb[i], "response_embedding": r_emb[i],
                    "input_tokens": int(r.prompt_tokens), "output_tokens": int(r.completion_tokens)}})
    return events


def encode(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)


def iso(t: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def check(r: httpx.Response, what: str) -> dict[str, Any]:
    if r.status_code != 200:
        raise SystemExit(f"{what}: HTTP {r.status_code}: {r.text[:2000]}")
    return r.json()


def windows_at(http: httpx.Client, start: float, **params: Any) -> list[dict[str, Any]]:
    """The whole-traffic windows that start at ``start`` (roll-ups of longer granularity start there too)."""
    ws = check(http.get(f"/v1/models/{MODEL}/windows", params={"since": iso(start), "limit": 100, **params}),
               "GET windows")["windows"]
    return [w for w in ws if w["start"] == iso(start) and w["segment"] == "*"]


def wait_closed(http: httpx.Client, start: float, granularity: str, timeout: float = CONFIG_WAIT_S) -> dict[str, Any]:
    """The window starting at ``start`` once it is closed with a verdict, read as a user reads it."""
    deadline = time.monotonic() + timeout
    while True:
        ws = windows_at(http, start, closed=True, granularity=granularity)
        for w in ws:
            if w.get("verdict"):
                return w
        if time.monotonic() > deadline:
            raise SystemExit(f"window {iso(start)} not closed after {timeout:g} s: {json.dumps(ws)[:2000]}")
        time.sleep(0.02)


def summarise(window: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """A period's result in the shape rag_compare's table reads: the drifted columns, the drifted
    embeddings with the tests that moved (from their findings), and the window's findings."""
    v = window["verdict"]
    status = v.get("status")
    drifted = sorted(v.get("drifted_columns") or [])
    emb_findings = {f["column"]: f for f in findings if f["check"] == "embedding_drift"}
    embeddings = {name: {"drifted": name in drifted,
                         "why": "+".join(emb_findings[name]["evidence"]["drifted_by"]) if name in emb_findings else ""}
                  for name in ("query_embedding", "response_embedding")}
    cols = [c for c in drifted if c not in embeddings]
    return {"flagged_columns": cols, "embeddings": embeddings, "status": status,
            "caught": bool(drifted) or status == "drift",
            "findings": [f"{f['severity']} {f['check']} {f.get('column')}: {f['message']}" for f in findings]}


def run_live(data: str, periods: list[dict[str, Any]], *, window: float = 3600.0, chunk: int = 100,
             cache: str = "/tmp/ragdata-embcache", gen_python: str = "/tmp/ragvenv/bin/python") -> dict[str, Any]:
    """Every current period through a fresh live monitor; per period what the API said and how long it took."""
    import argusml
    from argusml.monitor import Settings
    from service_util import Clock, start_monitor

    with open(os.path.join(data, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("min_score", MIN_SCORE) != MIN_SCORE:
        raise SystemExit(f"{data} was generated with min_score {manifest['min_score']}, this code has {MIN_SCORE}")
    docs, doc_emb = doc_embeddings(data, cache, manifest["embedder"], gen_python)
    out: dict[str, Any] = {"library": "argus-live", "version": argusml.__version__, "periods": {},
                           "window_s": window, "chunk": chunk}
    with tempfile.TemporaryDirectory(prefix="rag-live-") as tmp:
        clock = Clock(START - 600)
        run = start_monitor(Path(tmp) / "data", clock=clock, settings=Settings())
        server = run.live()
        try:
            with httpx.Client(base_url=server.url, timeout=300,
                              headers={"content-type": "application/json"}) as http:
                t0 = time.perf_counter()
                baseline = period_events(data, "reference", docs, doc_emb, START - 86400, 86400)
                body = encode({"config": {"kind": "llm", "window": window,
                                          "llm": {"no_answer_below": MIN_SCORE}}, "baseline": baseline})
                check(http.put(f"/v1/models/{MODEL}", content=body), "PUT model")
                status = check(http.get(f"/v1/models/{MODEL}/status"), "GET status")
                out["register"] = {"seconds": round(time.perf_counter() - t0, 2), "body_mb": round(len(body) / 2**20, 1),
                                   "baseline": status.get("baseline")}
                lateness = check(http.get(f"/v1/models/{MODEL}"), "GET model")["config"]["lateness"]
                gran = f"{window:g}s"
                for i, p in enumerate(periods):
                    start = START + i * window
                    events = period_events(data, p["name"], docs, doc_emb, start, window)
                    t1 = time.perf_counter()
                    accepted, polled, encoding, provisional = 0, 0.0, 0.0, set()
                    for j in range(0, len(events), chunk):
                        part = events[j:j + chunk]
                        clock.t = part[-1]["timestamp"] + 1
                        te = time.perf_counter()
                        body = encode(part)
                        encoding += time.perf_counter() - te
                        ans = check(http.post(f"/v1/models/{MODEL}/events", content=body), "POST events")
                        if ans.get("rejected"):
                            raise SystemExit(f"{p['name']}: rejected: {json.dumps(ans['rejected'][:3])}")
                        accepted += ans["accepted"]
                        tp = time.perf_counter()  # what a dashboard would show: the open window's last look
                        for w in windows_at(http, start, closed=False, granularity=gran):
                            provisional.update((w.get("verdict") or {}).get("drifted_columns") or [])
                        polled += time.perf_counter() - tp
                    t2 = time.perf_counter()
                    clock.t = start + window + lateness + 1
                    w = wait_closed(http, start, gran)
                    t3 = time.perf_counter()
                    findings = check(http.get(f"/v1/models/{MODEL}/findings",
                                              params={"since": iso(start), "granularity": gran, "limit": 1000}),
                                     "GET findings")["findings"]
                    mine = [f for f in findings if f["window_start"] == w["start"] and f["segment"] == "*"]
                    res = summarise(w, mine)
                    res.update(accepted=accepted, n_rows=w.get("n_rows"), provisional_drifted=sorted(provisional),
                               seconds=round(t3 - t1 - polled, 3),
                               phases_s={"encode": round(encoding, 3), "post": round(t2 - t1 - polled - encoding, 3),
                                         "close": round(t3 - t2, 3)},
                               verdict=w["verdict"])
                    out["periods"][p["name"]] = res
        finally:
            run.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/tmp/ragdata")
    ap.add_argument("--cache", default="/tmp/ragdata-embcache")
    ap.add_argument("--gen-python", default="/tmp/ragvenv/bin/python")
    ap.add_argument("--window", type=float, default=3600.0, help="window length in seconds: one period a window")
    ap.add_argument("--chunk", type=int, default=100, help="events per POST")
    ap.add_argument("--json", help="write the full result here")
    a = ap.parse_args()
    with open(os.path.join(a.data, "manifest.json")) as f:
        periods = [p for p in json.load(f)["periods"] if p["name"] != "reference"]
    res = run_live(a.data, periods, window=a.window, chunk=a.chunk, cache=a.cache, gen_python=a.gen_python)
    for name, r in res["periods"].items():
        emb = [f"{k} ({v['why']})" for k, v in r["embeddings"].items() if v["drifted"]]
        print(f"{name:13s} {'FLAGGED' if r['caught'] else 'quiet  '} {r['seconds']:6.2f} s  "
              f"{', '.join(r['flagged_columns'] + emb) or '-'}"
              + (f"  (provisional looks: {', '.join(r['provisional_drifted'])})" if r["provisional_drifted"] else ""))
    print(json.dumps(res["register"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
