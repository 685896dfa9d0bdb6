"""Seeded LLM events of a small RAG assistant, for the LLM model's service tests (no model, no download).

Eight topics, each with its own vocabulary and documents ``<topic>-<k>``; a question retrieves three of its
topic's documents (scores around 0.8) and the answer quotes and cites the best one. Knobs plant the
failures docs/LLM.md says Argus finds: ``long`` (a template that doubles the answer), ``lost`` (the index
lost the documents: low scores, answers that cite nothing and say so), ``pii`` (customers' e-mail
addresses in the questions). ``dim`` > 0 adds query and response embeddings: a topic centre plus noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TOPICS = {
    "billing": "invoice refund charge payment card statement",
    "password": "password reset login account email link",
    "shipping": "parcel delivery courier tracking address week",
    "returns": "return label warehouse exchange item box",
    "plans": "plan upgrade downgrade price monthly yearly",
    "privacy": "data export delete consent cookie policy",
    "devices": "phone tablet app install update version",
    "outage": "service status incident region latency error",
}
NAMES = list(TOPICS)


def _centres(dim: int) -> np.ndarray:
    return np.random.default_rng(1234).normal(size=(len(NAMES), dim))


def llm_event(i: int, ts: float, rng: np.random.Generator, *, long: bool = False, lost: bool = False,
              pii: bool = False, dim: int = 0, session: str | None = None, prompt: str | None = None,
              version: str = "v1") -> dict[str, Any]:
    t = int(rng.integers(len(NAMES)))
    vocab = TOPICS[NAMES[t]].split()
    w = list(rng.choice(vocab, size=3, replace=False))
    question = prompt or f"How do I handle the {w[0]} and {w[1]} for my {w[2]}?"
    if pii:
        question += f" My address is user{i}@example.com."
    docs = [{"id": f"{NAMES[t]}-{int(k)}", "score": float(np.clip(rng.normal(0.35 if lost else 0.82, 0.05), 0, 1)),
             "text": f"To sort out the {w[0]} open the {w[1]} page and follow the {w[2]} steps."}
            for k in rng.choice(40, size=3, replace=False)]
    docs.sort(key=lambda d: -d["score"])
    if lost:
        response = "I'm sorry, I don't have enough information to answer that."
    else:
        response = f"To sort out the {w[0]} open the {w[1]} page and follow the {w[2]} steps [{docs[0]['id']}]."
        if long:
            response = ("Thanks for reaching out, happy to help with this. " + response +
                        f" In short, the {w[1]} page has what you need for the {w[0]}. Let me know if anything "
                        "else comes up and have a great day.")
    out_tokens = len(response.split()) + int(rng.integers(0, 4))
    llm: dict[str, Any] = {"prompt": question, "response": response, "context": docs, "model": "gpt-x",
                           "provider": "openai", "input_tokens": 40 + len(question.split()),
                           "output_tokens": out_tokens, "ttft_ms": float(rng.gamma(4, 50))}
    if session is not None:
        llm["session"] = session
    if dim:
        c = _centres(dim)
        llm["query_embedding"] = (c[t] + rng.normal(scale=0.5, size=dim)).round(5).tolist()
        llm["response_embedding"] = (c[t] + rng.normal(scale=0.5, size=dim) + (1.5 if long else 0)).round(5).tolist()
    return {"id": f"e{i}", "timestamp": ts, "version": version, "latency_ms": float(rng.gamma(5, 120)),
            "llm": llm}


def llm_events(n: int, start: float, span: float, seed: int, first_id: int = 0, **knobs: Any) -> list[dict[str, Any]]:
    """``n`` events spread evenly over [start, start + span)."""
    rng = np.random.default_rng(seed)
    return [llm_event(first_id + i, start + span * i / n, rng, **knobs) for i in range(n)]
