"""An LLM event's ``llm`` object: what it may hold, the columns it becomes, and what of it is stored.

A model of ``kind: llm`` is watched like any other, on columns: each event's ``llm`` object (prompt,
response, retrieved context, embeddings, tokens, feedback, ...) becomes the derived columns of
``features.llm_features`` plus a few of its own (time to first token, the feedback score, whether the
texts held PII, whether the index had no answer). Those columns are what the windows profile and the
checks test, against a baseline learned from the model's first windows or from a file of past traffic.

The object is checked here field by field, as strictly as the rest of the event envelope: a value of the
wrong type or size is a rejection that names ``llm.<field>``, never a silent coercion, because a dashboard
built on a token count that was a string is worse than a 4xx. The text itself is, by default, not kept
(``text: stats``): the derived columns, the ids and scores of the retrieved documents, the embeddings and
the counts are what is stored. ``masked`` keeps the texts with every PII value replaced by its kind,
``raw`` keeps them as sent.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from argusml.llm.features import llm_features
from argusml.llm.judge import Sampler
from argusml.llm.sessions import feedback_score, query_signature
from argusml.privacy.pii import DETECTORS, Span, find_pii, redact_text
from argusml.schema import Kind

MAX_TEXT_CHARS = 200_000
"""A prompt, response or system text: long contexts are real (a 50-page document pasted into a chat), a
multi-megabyte string is a client bug."""
MAX_DOC_TEXT_CHARS = 100_000
MAX_CONTEXT_DOCS = 200
MAX_EMBEDDING_DIM = 8192
MAX_SHORT_CHARS = 256
MAX_FINISH_REASONS = 16

TEXT_FIELDS = ("prompt", "response", "system")
SHORT_FIELDS = ("operation", "provider", "model", "session", "tenant", "trace_id")
EMBEDDING_FIELDS = ("query_embedding", "response_embedding")
LLM_FIELDS = (*TEXT_FIELDS, "context", *EMBEDDING_FIELDS, "input_tokens", "output_tokens", "ttft_ms",
              *SHORT_FIELDS, "feedback", "finish_reasons")
CONTEXT_FIELDS = ("id", "score", "text", "source")
FEEDBACK_KEYS = ("score", "rating", "scale", "thumbs", "comment")

BOOLEAN_COLUMNS = ("refusal", "apology", "empty_retrieval", "cited", "prompt_pii", "response_pii", "no_answer",
                   "rephrase")
CATEGORICAL_COLUMNS = ("language", "response_language")

TextPolicy = Literal["stats", "masked", "raw"]


def column_kinds(no_answer_below: float | None) -> dict[str, Kind]:
    """The derived columns of a model's LLM events and their kinds, fixed (never inferred): a baseline
    whose first hour happened to hold no refusal must still read ``refusal`` as a yes/no column.
    ``no_answer`` exists when the config sets the threshold below which the best retrieval score means
    the index had no answer."""
    names = [*llm_features({}), "ttft_ms", "feedback", "prompt_pii", "response_pii", "rephrase"]
    if no_answer_below is not None:
        names.append("no_answer")
    return {n: Kind.BOOLEAN if n in BOOLEAN_COLUMNS else Kind.CATEGORICAL if n in CATEGORICAL_COLUMNS
            else Kind.NUMERIC for n in names}


class LLMInputError(ValueError):
    """A field of the ``llm`` object that is not what the contract says; ``field`` is its path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LLMPlan:
    """How one model reads its LLM events; picklable, as validation may run in a worker process."""

    text: TextPolicy = "stats"
    no_answer_below: float | None = None
    detectors: tuple[str, ...] = DETECTORS
    judge_rate: float = 0.0  # the share of events whose whole object is handed to the judge (by id hash)
    judge_salt: str = ""

    @cached_property
    def _sampler(self) -> Sampler:
        return Sampler(self.judge_rate, None, self.judge_salt)

    def judged(self, event_id: str) -> bool:
        """Whether the judge samples this event: the keyed hash of its id under ``judge_rate``, as
        ``argusml.llm.judge.Sampler`` decides (the same events on every replica and replay)."""
        return self.judge_rate > 0 and self._sampler.selected(event_id)

    @property
    def columns(self) -> dict[str, Kind]:
        return column_kinds(self.no_answer_below)

    def read(self, llm: Any, features: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The event's columns (its own ``features``, scalars as for any model, plus the derived ones), the
        part of its ``llm`` object that is stored, and the whole object checked (what a judge reads, never
        stored); ``LLMInputError`` for the first field that breaks the contract."""
        clean = check_llm(llm)
        if features is None:
            features = {}
        elif type(features) is not dict:
            raise LLMInputError("features", f"features must be an object, got {type(features).__name__}")
        # the texts are scanned once: the spans say whether each held PII and, when masked, where
        spans = {f: find_pii(clean[f], self.detectors) for f in ("prompt", "response") if f in clean}
        derived = self.derive(clean, spans)
        clash = sorted(derived.keys() & features.keys())
        if clash:
            raise LLMInputError(f"features.{clash[0]}", f"{clash[0]!r} is a column derived from the llm object; "
                                "give your own feature another name")
        kept = self.stored(clean, spans)
        if "session" in clean and "prompt" in clean:  # what the next turn is compared with, without the text
            kept["query_sig"] = query_signature(clean["prompt"])
        return {**features, **derived}, kept, clean

    def derive(self, clean: Mapping[str, Any], spans: Mapping[str, list[Span]] | None = None) -> dict[str, Any]:
        out = llm_features(clean)
        for name in ("refusal", "apology", "empty_retrieval", "cited"):
            if out[name] is not None:
                out[name] = bool(out[name])
        out["ttft_ms"] = clean.get("ttft_ms")
        out["feedback"] = feedback_score(clean["feedback"]) if "feedback" in clean else None
        out["rephrase"] = None  # decided when it is folded, by the session's previous turn (monitor/llm.py)
        for field in ("prompt", "response"):
            text = clean.get(field)
            found = spans[field] if spans is not None and field in spans else (
                find_pii(text, self.detectors) if text is not None else None)
            out[f"{field}_pii"] = bool(found) if text is not None else None
        if self.no_answer_below is not None:
            top1 = out["top1_score"]
            out["no_answer"] = (top1 < self.no_answer_below) if top1 is not None else (
                True if out["empty_retrieval"] else None)
        return out

    def stored(self, clean: dict[str, Any], spans: Mapping[str, list[Span]] | None = None) -> dict[str, Any]:
        """What is kept of the object: everything but the texts (``stats``), the texts with PII masked
        (``masked``), or all of it (``raw``). A feedback comment is text too."""
        if self.text == "raw":
            return dict(clean)
        out = dict(clean)
        if self.text == "stats":
            for f in TEXT_FIELDS:
                out.pop(f, None)
            if "context" in out:
                out["context"] = [{k: v for k, v in d.items() if k != "text"} for d in out["context"]]
            fb = out.get("feedback")
            if isinstance(fb, str) or (isinstance(fb, dict) and "comment" in fb):
                score = feedback_score(fb)
                out["feedback"] = {"score": score} if score is not None else None
                if out["feedback"] is None:
                    del out["feedback"]
            return out
        for f in TEXT_FIELDS:
            if f in out:
                out[f] = self.mask(out[f], (spans or {}).get(f))
        if "context" in out:
            out["context"] = [{**d, "text": self.mask(d["text"])} if "text" in d else d for d in out["context"]]
        fb = out.get("feedback")
        if isinstance(fb, str):
            out["feedback"] = self.mask(fb)
        elif isinstance(fb, dict) and isinstance(fb.get("comment"), str):
            out["feedback"] = {**fb, "comment": self.mask(fb["comment"])}
        return out

    def mask(self, text: str, spans: list[Span] | None = None) -> str:
        """``text`` with its PII replaced by the kinds (``spans``: what a scan of it found, when done)."""
        if spans is None:
            spans = find_pii(text, self.detectors)
        return redact_text(text, spans) if spans else text


def check_llm(llm: Any) -> dict[str, Any]:
    """The ``llm`` object as stored types (without null fields), or ``LLMInputError`` for the first field
    that is not what it must be."""
    if llm is None:
        raise LLMInputError("llm", "required: an object with the prompt, the response and what else the call "
                                   "had (docs/LLM.md, 'LLM events')")
    if type(llm) is not dict:
        raise LLMInputError("llm", f"llm must be an object, got {type(llm).__name__}")
    out: dict[str, Any] = {}
    for key, v in llm.items():
        if key not in LLM_FIELDS:
            hint = difflib.get_close_matches(str(key), LLM_FIELDS, n=1)
            raise LLMInputError(f"llm.{str(key)[:100]}", "unknown field" + (f"; did you mean {hint[0]!r}?" if hint
                                                                           else f"; known: {', '.join(LLM_FIELDS)}"))
        if v is None:
            continue
        where = f"llm.{key}"
        if key in TEXT_FIELDS:
            out[key] = _text(v, where, MAX_TEXT_CHARS)
        elif key in SHORT_FIELDS:
            out[key] = _text(v, where, MAX_SHORT_CHARS)
        elif key in EMBEDDING_FIELDS:
            out[key] = _vector(v, where)
        elif key in ("input_tokens", "output_tokens"):
            out[key] = _count(v, where)
        elif key == "ttft_ms":
            if type(v) not in (int, float) or not 0 <= v < 1e9:
                raise LLMInputError(where, "ttft_ms must be a non-negative number of milliseconds")
            out[key] = float(v)
        elif key == "context":
            out[key] = _context(v)
        elif key == "feedback":
            out[key] = _feedback(v)
        else:  # finish_reasons
            if type(v) is not list or len(v) > MAX_FINISH_REASONS or any(
                    type(r) is not str or len(r) > MAX_SHORT_CHARS for r in v):
                raise LLMInputError(where, f"finish_reasons must be a list of at most {MAX_FINISH_REASONS} strings")
            out[key] = v
    dims = {len(out[k]) for k in EMBEDDING_FIELDS if k in out}
    if len(dims) > 1:
        raise LLMInputError("llm.response_embedding", "query_embedding and response_embedding have different "
                                                      f"lengths ({len(out['query_embedding'])} and "
                                                      f"{len(out['response_embedding'])})")
    return out


def _text(v: Any, where: str, limit: int) -> str:
    if type(v) is not str:
        raise LLMInputError(where, f"{where} must be a string, got {type(v).__name__}")
    if len(v) > limit:
        raise LLMInputError(where, f"string of {len(v)} characters is longer than {limit}")
    return v


def _count(v: Any, where: str) -> int:
    if type(v) is float and v.is_integer():
        v = int(v)
    if type(v) is not int or v < 0:
        raise LLMInputError(where, f"{where} must be a non-negative integer count")
    return v


_NUMBERS = frozenset({int, float})


def _vector(v: Any, where: str) -> list[float]:
    if type(v) is not list or not 1 <= len(v) <= MAX_EMBEDDING_DIM:
        raise LLMInputError(where, f"{where} must be a list of 1 to {MAX_EMBEDDING_DIM} numbers")
    types = set(map(type, v))
    if not (types <= _NUMBERS and all(map(math.isfinite, v))):  # the common case passes at C speed
        j, x = next((j, x) for j, x in enumerate(v) if type(x) not in _NUMBERS or not math.isfinite(x))
        raise LLMInputError(f"{where}[{j}]", f"an embedding holds finite numbers, got {x!r:.40}")
    return v if types == {float} else [float(x) for x in v]


def _context(v: Any) -> list[dict[str, Any]]:
    if type(v) is not list or len(v) > MAX_CONTEXT_DOCS:
        raise LLMInputError("llm.context", f"context must be a list of at most {MAX_CONTEXT_DOCS} documents "
                                           "({id, score, text})")
    docs = []
    for j, d in enumerate(v):
        where = f"llm.context[{j}]"
        if type(d) is not dict:
            raise LLMInputError(where, f"a document must be an object with id, score and text, got {type(d).__name__}")
        doc: dict[str, Any] = {}
        for k, x in d.items():
            if k not in CONTEXT_FIELDS:
                raise LLMInputError(f"{where}.{str(k)[:100]}", f"unknown field; known: {', '.join(CONTEXT_FIELDS)}")
            if x is None:
                continue
            if k == "score":
                if type(x) not in (int, float) or not math.isfinite(x):
                    raise LLMInputError(f"{where}.score", "score must be a finite number (the retriever's similarity)")
                doc[k] = float(x)
            else:
                doc[k] = _text(x, f"{where}.{k}", MAX_DOC_TEXT_CHARS if k == "text" else MAX_SHORT_CHARS)
        docs.append(doc)
    return docs


def _feedback(v: Any) -> Any:
    where = "llm.feedback"
    if type(v) is bool:
        return v
    if type(v) in (int, float):
        if not -1 <= v <= 1:
            raise LLMInputError(where, "a numeric feedback is a score in [-1, 1]")
        return float(v)
    if type(v) is str:
        return _text(v, where, 4096)
    if type(v) is dict:
        for k, x in v.items():
            if k not in FEEDBACK_KEYS:
                raise LLMInputError(f"{where}.{str(k)[:100]}", f"unknown field; known: {', '.join(FEEDBACK_KEYS)}")
            if k == "comment":
                _text(x, f"{where}.comment", 4096)
            elif k == "thumbs":
                if type(x) not in (bool, str):
                    raise LLMInputError(f"{where}.thumbs", "thumbs is up/down or true/false")
            elif type(x) not in (int, float) or not math.isfinite(x):
                raise LLMInputError(f"{where}.{k}", f"{k} must be a number")
        if "score" in v and not -1 <= v["score"] <= 1:
            raise LLMInputError(f"{where}.score", "score must be in [-1, 1]")
        if "scale" in v and v["scale"] < 2:
            raise LLMInputError(f"{where}.scale", "scale must be at least 2 (the number of stars)")
        return dict(v)
    raise LLMInputError(where, "feedback is up/down, true/false, a score in [-1, 1], or an object with score, "
                               "rating (and scale), thumbs or comment")
