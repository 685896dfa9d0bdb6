#!/usr/bin/env python
"""Seeded RAG-assistant traffic with planted failures, for comparing monitors on the same data.

    python bench/rag_traffic.py [--out /tmp/ragdata] [--n-ref 1200] [--n 800] [--clean 10] [--seed 7]

Nothing is downloaded. A support assistant answers questions about 8 topics
from a collection of templated documents (per-topic vocabularies, 40
documents a topic, ids ``d000``..``d319``). Retrieval is real: documents and
queries are embedded with ``argusml.llm.default_embedder()`` (the ``llm``
extra) and the top ``K`` documents by cosine are retrieved; the answer is
built from the retrieved documents by a template that cites them as
``[d123]``; documents below ``MIN_SCORE`` are not cited, and with none left
the assistant says it found nothing (an "empty retrieval").

Periods (every one an independent draw from the process, its own seed):

* ``reference``: the process as it was when the monitor learned it;
* ``clean_1``..``clean_C``: the same process again. Anything a monitor
  flags here is a false alarm;
* ``lost_docs``: the index lost every document of two topics (a re-index
  that dropped a document set): those topics' queries retrieve unrelated
  documents with lower scores, fewer citations, more empty retrievals;
* ``long_answers``: a new prompt template that doubles answer length (a
  preamble, the same cited sentences, a restatement and a closing);
* ``topic_shift``: the mix of query topics changes (two topics go from
  about 12% to 35% each of the traffic).

The failures are planted so a monitor has a fair chance: each one moves at
least one derived column or one embedding distribution by a clear margin,
and none is visible from the query texts alone except the topic shift.

Writes, per period, ``<out>/<period>/derived.parquet`` (one row a request:
the numeric columns both monitors see), ``texts.parquet`` (query, response,
retrieved ids, the hidden topic for reading results; not given to the
monitors), ``query_emb.npy`` and ``response_emb.npy`` (float32, n × 384),
and ``<out>/manifest.json``. Embeddings are cached under ``--cache`` as
``.npy`` keyed by the sha256 of the model name and the texts, so a second
run embeds nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

K = 3
"""Documents retrieved per query: a common RAG default, and small enough that losing a topic's documents
changes every one of that topic's answers."""
MIN_SCORE = 0.45
"""Cosine below which a retrieved document is not cited. Measured on 300 reference queries before the
run: 95% of retrieved own-topic documents score at or above it, 13% of the documents a lost topic's
queries fall back to (at 0.35 these were 99.7% and 67%: too lenient for an assistant that should say
"not found" rather than cite an unrelated page)."""
DOCS_PER_TOPIC = 40
TOPICS: dict[str, dict[str, list[str]]] = {
    "billing": {
        "noun": ["invoice", "payment", "refund", "charge", "credit card", "billing address", "receipt", "statement"],
        "verb": ["pay", "dispute", "download", "update", "split", "cancel"],
        "adj": ["duplicate", "overdue", "pending", "incorrect", "monthly"],
    },
    "shipping": {
        "noun": ["parcel", "delivery", "tracking number", "courier", "shipment", "shipping label", "package"],
        "verb": ["track", "reroute", "expedite", "schedule", "collect", "ship"],
        "adj": ["delayed", "lost", "damaged", "international", "express"],
    },
    "returns": {
        "noun": ["return", "exchange", "return label", "store credit", "item", "return window", "restocking fee"],
        "verb": ["return", "exchange", "send back", "swap", "replace"],
        "adj": ["unused", "opened", "faulty", "wrong-size", "unwanted"],
    },
    "security": {
        "noun": ["password", "two-factor code", "login", "account", "security key", "recovery email", "session"],
        "verb": ["reset", "unlock", "verify", "secure", "recover", "sign out of"],
        "adj": ["locked", "compromised", "suspicious", "expired", "forgotten"],
    },
    "setup": {
        "noun": ["router", "thermostat", "camera", "hub", "firmware", "mobile app", "sensor", "wall mount"],
        "verb": ["install", "pair", "configure", "mount", "connect", "calibrate"],
        "adj": ["new", "wireless", "outdoor", "second", "offline"],
    },
    "warranty": {
        "noun": ["warranty", "repair", "serial number", "claim", "proof of purchase", "replacement unit"],
        "verb": ["claim", "extend", "register", "transfer", "check"],
        "adj": ["expired", "extended", "limited", "two-year", "void"],
    },
    "subscription": {
        "noun": ["subscription", "plan", "trial", "renewal", "membership", "family plan", "annual plan"],
        "verb": ["upgrade", "downgrade", "pause", "renew", "switch", "end"],
        "adj": ["premium", "basic", "free", "student", "auto-renewing"],
    },
    "troubleshooting": {
        "noun": ["error message", "battery", "screen", "connection", "update", "fan", "speaker", "power button"],
        "verb": ["fix", "restart", "diagnose", "clear", "reset", "stop"],
        "adj": ["flickering", "overheating", "unresponsive", "slow", "noisy"],
    },
}
TOPIC_NAMES = list(TOPICS)
REF_MIX = np.array([0.16, 0.14, 0.13, 0.12, 0.12, 0.11, 0.11, 0.11])
"""The reference's topic mix: uneven, as real traffic is."""
SHIFT_MIX = np.array([0.05, 0.04, 0.04, 0.04, 0.35, 0.04, 0.09, 0.35])
"""topic_shift: setup and troubleshooting questions rise to 35% each (a product launch)."""
LOST_TOPICS = ("warranty", "subscription")
"""lost_docs: the topics whose documents the index lost (22% of the reference's queries)."""

DOC_TEMPLATES = [
    "To {verb} your {noun}, open Settings and choose the {noun} section.",
    "A {adj} {noun} is handled within two business days once you {verb} it.",
    "If your {noun} is {adj}, contact support with your order number before you {verb} it.",
    "You can {verb} a {adj} {noun} from the Help Center at any time.",
    "Customers often ask how to {verb} the {noun}; the steps are the same on web and mobile.",
    "Note that a {adj} {noun} cannot be changed after you {verb} it.",
    "Our policy for every {adj} {noun} allows you to {verb} it once per order.",
]
QUERY_TEMPLATES = [
    "How do I {verb} my {noun}?",
    "My {noun} is {adj}, what should I do?",
    "Can I {verb} a {adj} {noun}?",
    "why is my {noun} {adj}",
    "What is the policy to {verb} a {noun} that is {adj}?",
    "I need to {verb} the {noun} today, how?",
    "is it possible to {verb} my {adj} {noun} online",
    "{noun} {adj} - how to {verb}?",
]


@dataclass(frozen=True)
class PeriodSpec:
    """One period of traffic: its size, seed, and which failure (if any) is planted."""

    name: str
    n: int
    seed: int
    failure: str | None = None  # None, "lost_docs", "long_answers", "topic_shift"


def fill(template: str, vocab: dict[str, list[str]], rng: np.random.Generator) -> str:
    """One sentence from a template with words drawn from a topic's vocabulary."""
    words = {k: vocab[k][int(rng.integers(len(vocab[k])))] for k in ("noun", "verb", "adj")}
    s = template.format(**words)
    return s[0].upper() + s[1:]


def make_docs(seed: int) -> pd.DataFrame:
    """The document collection: DOCS_PER_TOPIC documents a topic, 2-4 templated sentences each."""
    rng = np.random.default_rng(seed)
    rows = []
    for t, name in enumerate(TOPIC_NAMES):
        for j in range(DOCS_PER_TOPIC):
            n_sent = int(rng.integers(2, 5))
            sents = [fill(DOC_TEMPLATES[int(rng.integers(len(DOC_TEMPLATES)))], TOPICS[name], rng) for _ in range(n_sent)]
            rows.append({"doc_id": f"d{t * DOCS_PER_TOPIC + j:03d}", "topic": name, "text": " ".join(sents)})
    return pd.DataFrame(rows)


def make_queries(n: int, mix: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    topics = rng.choice(len(TOPIC_NAMES), size=n, p=mix / mix.sum())
    texts = [fill(QUERY_TEMPLATES[int(rng.integers(len(QUERY_TEMPLATES)))], TOPICS[TOPIC_NAMES[t]], rng) for t in topics]
    return [TOPIC_NAMES[t] for t in topics], texts


# -- embeddings, cached ----------------------------------------------------------------------------------------
def embed_cached(texts: list[str], embedder: object, cache: str) -> np.ndarray:
    """Embeddings of ``texts``, from ``cache`` when this model has embedded exactly these texts before.
    Unique texts are embedded once (templated queries repeat)."""
    name = str(getattr(embedder, "name", "embedder"))
    h = hashlib.sha256(name.encode())
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    path = os.path.join(cache, f"emb-{h.hexdigest()[:24]}.npy")
    if os.path.exists(path):
        return np.load(path)
    uniq, inverse = np.unique(np.array(texts, dtype=object), return_inverse=True)
    m = embedder([str(u) for u in uniq])[inverse]  # type: ignore[operator]
    os.makedirs(cache, exist_ok=True)
    np.save(path + ".tmp.npy", m.astype(np.float32))
    os.replace(path + ".tmp.npy", path)
    return m


# -- one period ------------------------------------------------------------------------------------------------
def first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".") + "."


def answer(query: str, cited: list[tuple[str, str]], long_template: bool) -> str:
    """The assistant's answer: one sentence from each cited document, with its id. The long template
    (the planted failure) wraps the same answer in a preamble, restates it without the ids and adds a
    closing: about twice the words (213 words an answer when it quoted whole documents: 4x, not 2x)."""
    if not cited:
        return ("I could not find this in our documentation. Please contact support so an agent can help "
                "with your question.")
    body = " ".join(f"{first_sentence(text)} [{doc_id}]" for doc_id, text in cited)
    if not long_template:
        return f"Here is what our documentation says. {body}"
    restated = " ".join(first_sentence(text) for _, text in cited)
    return (f"Thank you for reaching out, I am glad to help. Here is what our documentation says. {body} "
            f"In short: {restated} I hope this answers your question; please ask again if anything is unclear.")


def approx_tokens(text: str) -> int:
    """A tokenizer-free token count (about 4/3 tokens a word, as BPE tokenizers give on English)."""
    return round(len(text.split()) * 4 / 3)


def period(spec: PeriodSpec, docs: pd.DataFrame, doc_emb: np.ndarray, embedder: object,
           cache: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    mix = SHIFT_MIX if spec.failure == "topic_shift" else REF_MIX
    topics, queries = make_queries(spec.n, mix, rng)
    q_emb = embed_cached(queries, embedder, cache)
    in_index = ~docs["topic"].isin(LOST_TOPICS).to_numpy() if spec.failure == "lost_docs" else np.ones(len(docs), bool)
    idx = np.flatnonzero(in_index)
    sims = q_emb @ doc_emb[idx].T  # both L2-normalised: cosine
    top = np.argsort(-sims, axis=1)[:, :K]
    top_scores = np.take_along_axis(sims, top, axis=1)
    derived, texts = [], []
    ids, bodies = docs["doc_id"].to_numpy(), docs["text"].to_numpy()
    for i, q in enumerate(queries):
        ret = [(str(ids[idx[j]]), str(bodies[idx[j]])) for j in top[i]]
        cited = [r for r, s in zip(ret, top_scores[i], strict=True) if s >= MIN_SCORE]
        resp = answer(q, cited, spec.failure == "long_answers")
        prompt_tokens = approx_tokens(q) + sum(approx_tokens(t) for _, t in ret) + 60  # + the system prompt
        completion_tokens = approx_tokens(resp)
        # latency: retrieval + prefill + decoding at ~25 ms a token, log-normal jitter
        latency_ms = (40 + 0.4 * prompt_tokens + 25 * completion_tokens) * float(rng.lognormal(0, 0.25))
        derived.append({
            "query_chars": len(q), "query_words": len(q.split()),
            "response_chars": len(resp), "response_words": len(resp.split()),
            "n_citations": len(cited), "top1_score": float(top_scores[i, 0]),
            "mean_topk_score": float(top_scores[i].mean()), "empty_retrieval": int(not cited),
            "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "latency_ms": round(latency_ms, 1),
        })
        texts.append({"topic": topics[i], "query": q, "response": resp,
                      "retrieved": " ".join(r for r, _ in ret), "cited": " ".join(r for r, _ in cited)})
    tx = pd.DataFrame(texts)
    r_emb = embed_cached(tx["response"].tolist(), embedder, cache)
    return pd.DataFrame(derived), tx, q_emb, r_emb


def specs(n_ref: int, n: int, clean: int, seed: int) -> list[PeriodSpec]:
    out = [PeriodSpec("reference", n_ref, seed)]
    out += [PeriodSpec(f"clean_{i + 1}", n, seed + 1 + i) for i in range(clean)]
    out += [PeriodSpec(f, n, seed + 100 + i, f) for i, f in enumerate(("lost_docs", "long_answers", "topic_shift"))]
    return out


def generate(out: str, n_ref: int, n: int, clean: int, seed: int, cache: str, threads: int) -> dict:
    from argusml.llm.embed import default_embedder

    t0 = time.perf_counter()
    embedder = default_embedder(threads=threads)
    docs = make_docs(seed)
    doc_emb = embed_cached(docs["text"].tolist(), embedder, cache)
    os.makedirs(out, exist_ok=True)
    docs.to_parquet(os.path.join(out, "docs.parquet"), index=False)
    manifest: dict = {"seed": seed, "k": K, "min_score": MIN_SCORE, "embedder": str(getattr(embedder, "name", "")),
                      "topics": TOPIC_NAMES, "ref_mix": REF_MIX.tolist(), "shift_mix": SHIFT_MIX.tolist(),
                      "lost_topics": list(LOST_TOPICS), "n_docs": len(docs), "periods": []}
    for s in specs(n_ref, n, clean, seed):
        t1 = time.perf_counter()
        derived, tx, q_emb, r_emb = period(s, docs, doc_emb, embedder, cache)
        d = os.path.join(out, s.name)
        os.makedirs(d, exist_ok=True)
        derived.to_parquet(os.path.join(d, "derived.parquet"), index=False)
        tx.to_parquet(os.path.join(d, "texts.parquet"), index=False)
        np.save(os.path.join(d, "query_emb.npy"), q_emb)
        np.save(os.path.join(d, "response_emb.npy"), r_emb)
        manifest["periods"].append({"name": s.name, "n": s.n, "seed": s.seed, "failure": s.failure})
        print(f"  {s.name:13s} n={s.n:5d}  {time.perf_counter() - t1:6.1f} s  "
              f"top1 {derived['top1_score'].mean():.3f}  words {derived['response_words'].mean():5.1f}  "
              f"citations {derived['n_citations'].mean():.2f}  empty {derived['empty_retrieval'].mean():.3f}",
              file=sys.stderr, flush=True)
    manifest["generate_s"] = round(time.perf_counter() - t0, 1)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/tmp/ragdata")
    ap.add_argument("--cache", default="/tmp/ragdata-embcache")
    ap.add_argument("--n-ref", type=int, default=1200)
    ap.add_argument("--n", type=int, default=800, help="requests per current period")
    ap.add_argument("--clean", type=int, default=10, help="clean current periods (false-alarm trials)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads (the machine is shared)")
    a = ap.parse_args()
    m = generate(a.out, a.n_ref, a.n, a.clean, a.seed, a.cache, a.threads)
    print(json.dumps({"out": a.out, "generate_s": m["generate_s"], "periods": [p["name"] for p in m["periods"]]}))


if __name__ == "__main__":
    main()
