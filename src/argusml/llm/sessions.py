"""What users do with an LLM application's answers: rephrasing, and the feedback they give.

A user who asks again in other words did not get an answer; a rising rephrase rate is the users' own
verdict on quality, available long before any label. It needs the session: a turn is judged by the next
turn of the same session. Feedback arrives in many shapes (thumbs, stars, a score, a comment); here it
becomes one score in [-1, 1], so a window can average it.

Everything is lexical and offline unless the events carry query embeddings, which then decide.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

REPHRASE_WITHIN = 300.0
"""Seconds: a next query later than this is a new question, not a second try at the same one."""

LEXICAL_SIMILAR = 0.5
"""Character-trigram Jaccard at or above which two queries ask the same thing (a retyped or lightly
edited question: "reset password" and "how to reset my password" share 0.5 of their trigrams)."""

EMBEDDING_SIMILAR = 0.85
"""Cosine of two query embeddings at or above which they ask the same thing in other words."""

POSITIVE = frozenset("good great helpful thanks thank perfect correct useful excellent clear works worked solved "
                     "love nice accurate".split())
NEGATIVE = frozenset("bad wrong useless unhelpful incorrect confusing broken fails failed hate terrible awful "
                     "irrelevant outdated".split())
"""Words of a feedback comment that say it was good or bad, in English."""

NEGATORS = frozenset("not no never isn't wasn't doesn't didn't don't hardly".split())
"""Words that turn the sentiment word within the next two words around ("not helpful", "never works")."""

WORD = re.compile(r"[^\W_]+", re.UNICODE)


def trigrams(text: str) -> set[str]:
    t = " " + " ".join(w.lower() for w in WORD.findall(text)) + " "
    return {t[i:i + 3] for i in range(len(t) - 2)} if len(t.strip()) else set()


def lexical_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' character trigrams (lower-cased, punctuation dropped).

    >>> lexical_similarity("Reset my password?", "reset my password")
    1.0
    >>> round(lexical_similarity("reset my password", "what are your opening hours"), 3)
    0.0
    """
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def rephrases(events: Sequence[Mapping[str, Any]], now: float, *, within: float = REPHRASE_WITHIN,
              lexical: float = LEXICAL_SIMILAR, semantic: float = EMBEDDING_SIMILAR) -> list[float | None]:
    """For each event (``session``, ``timestamp``, ``prompt``, optional ``query_embedding``), in the given
    order: 1.0 when the next query of its session came within ``within`` seconds and asks the same thing
    (embedding cosine ≥ ``semantic`` when both have embeddings, else trigram Jaccard ≥ ``lexical``), 0.0
    when the next came and does not, or none came within ``within`` seconds of it although ``now`` is past
    that; None while it cannot be known yet (the session may still go on) or without a session."""
    out: list[float | None] = [None] * len(events)
    by_session: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        if e.get("session"):
            by_session.setdefault(str(e["session"]), []).append(i)
    for idx in by_session.values():
        idx.sort(key=lambda i: float(events[i]["timestamp"]))
        for k, i in enumerate(idx):
            t = float(events[i]["timestamp"])
            nxt = idx[k + 1] if k + 1 < len(idx) else None
            if nxt is not None and float(events[nxt]["timestamp"]) - t <= within:
                out[i] = float(_same_question(events[i], events[nxt], lexical, semantic))
            elif nxt is not None or now - t > within:
                out[i] = 0.0
    return out


def _same_question(a: Mapping[str, Any], b: Mapping[str, Any], lexical: float, semantic: float) -> bool:
    ea, eb = a.get("query_embedding"), b.get("query_embedding")
    if ea is not None and eb is not None:
        va, vb = np.asarray(ea, dtype=np.float64), np.asarray(eb, dtype=np.float64)
        denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
        return denom > 0 and float(va @ vb) / denom >= semantic
    return lexical_similarity(str(a.get("prompt") or ""), str(b.get("prompt") or "")) >= lexical


def feedback_score(feedback: Any) -> float | None:
    """One score in [-1, 1] from the shapes feedback comes in, None without feedback:

    - ``"up"``/``"down"``, ``"thumbs_up"``/``"thumbs_down"``, ``True``/``False``: 1 / -1;
    - ``{"score": s}`` with s in [-1, 1] as it is, ``{"rating": r, "scale": n}`` (stars, default scale
      5) mapped linearly from [1, n] onto [-1, 1];
    - ``{"comment": text}`` alone: the balance of positive and negative words, (p - n) / (p + n), 0
      when it has neither.

    >>> [feedback_score(x) for x in ("up", False, {"rating": 4}, {"score": -0.5}, None)]
    [1.0, -1.0, 0.5, -0.5, None]
    >>> feedback_score({"comment": "Wrong and useless, but thanks"})
    -0.333333
    """
    if feedback is None:
        return None
    if isinstance(feedback, bool):
        return 1.0 if feedback else -1.0
    if isinstance(feedback, str):
        word = feedback.strip().lower().replace("-", "_")
        if word in ("up", "thumbs_up", "positive", "like", "+1"):
            return 1.0
        if word in ("down", "thumbs_down", "negative", "dislike", "-1"):
            return -1.0
        return _comment_score(feedback)
    if isinstance(feedback, (int, float)):
        return float(np.clip(feedback, -1.0, 1.0))
    if isinstance(feedback, Mapping):
        if feedback.get("score") is not None:
            return float(np.clip(float(feedback["score"]), -1.0, 1.0))
        if feedback.get("rating") is not None:
            scale = float(feedback.get("scale") or 5)
            r = float(np.clip(float(feedback["rating"]), 1.0, scale))
            return round(2 * (r - 1) / (scale - 1) - 1, 6) if scale > 1 else 0.0
        if feedback.get("thumbs") is not None:
            return feedback_score(feedback["thumbs"])
        if feedback.get("comment"):
            return _comment_score(str(feedback["comment"]))
    return None


def _comment_score(text: str) -> float:
    p = n = 0
    negated = 0  # words left under the last negator
    for w in (w.lower() for w in re.findall(r"[^\W_]+(?:'t)?", text)):
        if w in NEGATORS:
            negated = 2
            continue
        good, bad = w in POSITIVE, w in NEGATIVE
        if negated:
            good, bad = bad, good
            negated -= 1
        p, n = p + good, n + bad
    return round((p - n) / (p + n), 6) if p + n else 0.0


SIGNATURE_HASHES = 32
"""MinHash values of a query's signature: the Jaccard estimate from 32 has a standard error of at most
0.09, enough to tell a retyped question (0.5 and more) from another one (near 0)."""
SIGNATURE_CHARS = 2000
_RNG = np.random.default_rng(20261207)
_A = _RNG.integers(1, 1 << 63, size=SIGNATURE_HASHES, dtype=np.int64).astype(np.uint64) | np.uint64(1)
_B = _RNG.integers(0, 1 << 63, size=SIGNATURE_HASHES, dtype=np.int64).astype(np.uint64)


def query_signature(text: str) -> list[int]:
    """A MinHash of the text's character trigrams: what rephrase detection compares when the text itself
    is not kept (``llm.text: stats``). 32 numbers from which the text cannot be read back, only its
    likeness to another signature estimated; stable across processes (CRC-32, fixed seeds).

    >>> a, b = query_signature("how do I reset my password"), query_signature("reset my password")
    >>> len(a), signature_similarity(a, a), signature_similarity(a, b) > 0.4
    (32, 1.0, True)
    """
    grams = trigrams(text[:SIGNATURE_CHARS])
    if not grams:
        return []
    h = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))
    # multiply-shift hashing (Dietzfelbinger): (a·h + b) mod 2^64 with odd a, its high 32 bits
    with np.errstate(over="ignore"):
        x = (np.outer(h, _A) + _B) >> np.uint64(32)
    return [int(v) for v in x.min(axis=0)]


def signature_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """The Jaccard similarity two signatures estimate (the share of equal MinHash values)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b)) / len(a)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / denom if denom > 0 and va.shape == vb.shape else 0.0


@dataclass
class Turn:
    """What a session's latest turn leaves for the next one to be judged by."""

    ts: float
    version: str
    signature: list[int] | None
    embedding: list[float] | None
    failed: bool  # the answer failed the user: a refusal, an error, nothing retrieved, a negative rating
    id: str = ""
    rephrase: bool | None = None  # what it was judged, given back when the same event is seen again


class SessionTracker:
    """The latest turn of each open session, in arrival order: whether a turn rephrases the previous one
    (``turn``), and which sessions have ended (``expire``: silent for ``timeout`` seconds) and whether
    they ended on a failed answer (abandoned). Bounded: past ``max_sessions`` open sessions the oldest
    are ended early."""

    def __init__(self, within: float = REPHRASE_WITHIN, timeout: float = 120.0, max_sessions: int = 100_000,
                 lexical: float = LEXICAL_SIMILAR, semantic: float = EMBEDDING_SIMILAR) -> None:
        self.within, self.timeout, self.max_sessions = within, timeout, max_sessions
        self.lexical, self.semantic = lexical, semantic
        self.open: dict[str, Turn] = {}

    def turn(self, session: str, t: Turn) -> bool | None:
        """Record ``t`` as the session's latest turn; True when it asks again what the previous turn asked
        (within ``within`` seconds), False when it asks something else, None for a session's first turn
        or a turn older than the one recorded (arrived out of order: not judged)."""
        prev = self.open.get(session)
        if prev is not None and t.id and prev.id == t.id:  # the same event again (a replay): the same answer
            return prev.rephrase
        if prev is not None and t.ts < prev.ts:
            return None
        self.open.pop(session, None)  # re-inserted last: the dict stays in order of last activity
        self.open[session] = t
        if len(self.open) > self.max_sessions:
            del self.open[next(iter(self.open))]
        if prev is None or t.ts - prev.ts > self.within:
            return None
        if t.embedding is not None and prev.embedding is not None:
            t.rephrase = cosine(t.embedding, prev.embedding) >= self.semantic
        elif t.signature and prev.signature:
            t.rephrase = signature_similarity(t.signature, prev.signature) >= self.lexical
        return t.rephrase

    def expire(self, now: float) -> list[Turn]:
        """The last turns of the sessions silent since ``timeout`` (ended), removed."""
        ended = [s for s, t in self.open.items() if now - t.ts >= self.timeout]
        return [self.open.pop(s) for s in ended]
