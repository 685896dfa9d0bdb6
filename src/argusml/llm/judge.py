"""Judges of LLM answers: a score in [0, 1] per sampled event, aggregated per window with intervals.

The drift and feature checks say that answers *changed*; a judge says whether they are *good*: faithful
to the documents retrieved for them and relevant to the question. A judge is any callable with a name
(:class:`Judge`): a user's own function (:func:`as_judge`), an LLM asked to grade against a rubric
(:class:`LLMJudge`, around any ``complete(prompt) -> reply`` function; Argus ships no network client), or
the offline default (:func:`default_judge`, lexical, no model), which judges grounding and relevance, not
truth.

Judging costs (an LLM call per event), so only a deterministic sample is judged (:class:`Sampler`): an
event is chosen by a keyed hash of its id, so every replica and every replay choose the same events, and a
budget caps the calls per window. A judge must never break monitoring: whatever it raises, a reply that
is not a score, or a call slower than ``timeout_s``, is counted as an error of the window and the rest
goes on (:func:`judge_events`). A window (:class:`JudgeWindow`) keeps counts and sums that merge exactly;
it reads as a mean score with Student's t interval and a pass rate with Wilson's, and :func:`compare`
says whether either dropped against a reference window.
"""

from __future__ import annotations

import hashlib
import json
import logging
import numbers
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from argusml.llm.features import (
    SUPPORTED_RECALL,
    content_words,
    fold,
    language,
    refusal_apology,
    supported_share,
    words,
)

# the window and its test live in stats (a profile carries the window); here they are part of the judges' API
from argusml.stats.judged import JudgeComparison as JudgeComparison
from argusml.stats.judged import JudgeWindow as JudgeWindow
from argusml.stats.judged import compare as compare

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
"""The score at which an answer passes when its judge states neither ``passed`` nor a threshold."""


class JudgeError(ValueError):
    """A judge answered something that is not a score: out of [0, 1], not a number, an unparseable reply."""


class JudgeUnresponsive(RuntimeError):
    """Calls not made because too many earlier ones are still running past their timeout."""


@dataclass(frozen=True)
class Verdict:
    """One judged answer: a score in [0, 1] (higher is better), whether it passed, and why, in the
    judge's words (kept for a reader, never aggregated).

    >>> Verdict(0.8, True, "grounded in doc-7")
    Verdict(score=0.8, passed=True, reason='grounded in doc-7')
    >>> Verdict(1.5)
    Traceback (most recent call last):
    ...
    argusml.llm.judge.JudgeError: a judge's score must be a number in [0, 1], got 1.5
    """

    score: float
    passed: bool | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        s = self.score
        if isinstance(s, bool) or not isinstance(s, numbers.Real) or not 0.0 <= float(s) <= 1.0:
            raise JudgeError(f"a judge's score must be a number in [0, 1], got {s!r}")
        object.__setattr__(self, "score", float(s))


@runtime_checkable
class Judge(Protocol):
    """What a judge is to the monitor: a name (windows of different judges are never merged or compared)
    and a call on one event's ``llm`` object that returns a :class:`Verdict`, a score in [0, 1], or None
    when it has nothing to judge (no response). A ``threshold`` attribute, when present, decides
    ``passed`` for bare scores."""

    @property
    def name(self) -> str: ...

    def __call__(self, llm: Mapping[str, Any]) -> Verdict | float | None: ...


def to_verdict(result: object, threshold: float = DEFAULT_THRESHOLD, name: str = "judge") -> Verdict | None:
    """A judge's answer in any accepted shape as a :class:`Verdict` (None stays None): validated once,
    here, with a message that says what came.

    >>> to_verdict(0.7), to_verdict(False), to_verdict({"score": 0.2, "reason": "off topic"}, threshold=0.1)
    (Verdict(score=0.7, passed=True, reason=''), Verdict(score=0.0, passed=False, reason=''), \
Verdict(score=0.2, passed=True, reason='off topic'))
    """
    if result is None:
        return None
    if isinstance(result, Verdict):
        return result if result.passed is not None else replace(result, passed=result.score >= threshold)
    if isinstance(result, bool):
        return Verdict(float(result), result)
    if isinstance(result, numbers.Real):
        if not 0.0 <= float(result) <= 1.0:
            raise JudgeError(f"judge {name!r} returned {result!r}: expected a score in [0, 1]")
        return Verdict(float(result), float(result) >= threshold)
    if isinstance(result, Mapping):
        if "score" not in result:
            raise JudgeError(f"judge {name!r} returned a mapping without 'score': keys {sorted(map(str, result))}")
        v = to_verdict(result["score"], threshold, name)
        assert v is not None
        passed = result.get("passed")
        return Verdict(v.score, bool(passed) if passed is not None else v.passed, str(result.get("reason") or ""))
    raise JudgeError(f"judge {name!r} returned {type(result).__name__}: expected a Verdict, a score in [0, 1], "
                     "a bool, a mapping with 'score', or None")


class FunctionJudge:
    """Any user function ``llm -> float | bool | Verdict | dict | None`` as a :class:`Judge`; its answer
    is checked and made a :class:`Verdict`. What it raises is left to :func:`judge_events`, which counts
    it as an error of the window instead of raising it to the caller.

    >>> j = FunctionJudge(lambda llm: len(llm["response"]) < 20, name="short")
    >>> j({"response": "Open Settings."})
    Verdict(score=1.0, passed=True, reason='')
    """

    def __init__(self, fn: Callable[[Mapping[str, Any]], object], name: str,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        if not callable(fn):
            raise TypeError(f"a judge must be callable, got {type(fn).__name__}")
        if not name:
            raise ValueError("a judge needs a name: windows of different judges must not be merged")
        _check_unit(threshold, "threshold")
        self.fn, self.name, self.threshold = fn, name, threshold

    def __call__(self, llm: Mapping[str, Any]) -> Verdict | None:
        return to_verdict(self.fn(llm), self.threshold, self.name)

    def __repr__(self) -> str:
        return f"FunctionJudge(name={self.name!r}, threshold={self.threshold})"


def as_judge(fn: Callable[[Mapping[str, Any]], object], name: str, threshold: float = DEFAULT_THRESHOLD
             ) -> FunctionJudge:
    """``fn`` as a :class:`Judge` named ``name``; scores at or above ``threshold`` pass."""
    return FunctionJudge(fn, name, threshold)


def _check_unit(x: float, what: str) -> None:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0.0 <= float(x) <= 1.0:
        raise ValueError(f"{what} must be in [0, 1], got {x!r}")


# -- LLM as judge ---------------------------------------------------------------------------------------
RUBRIC = """You are grading an answer given by a retrieval-augmented assistant.

Question:
{question}

Retrieved documents:
{context}

Answer:
{response}

Grade the answer on two things together.
- Faithfulness: every claim in the answer is stated in, or follows from, the retrieved documents. Facts \
from outside the documents count as unsupported, even when true.
- Relevance: the answer addresses the question that was asked.

Score from 1 to 5:
5 = fully supported by the documents and answers the question
4 = answers the question; a minor detail is not in the documents
3 = partly supported, or answers only part of the question
2 = mostly unsupported, or mostly about something else
1 = contradicts the documents, is made up, or does not address the question
A refusal scores 1 when the documents answer the question and 5 when they do not.

Reply with one line of JSON and nothing else: {"score": <1 to 5>, "reason": "<one sentence>"}"""
"""The default rubric: faithfulness to the retrieved documents and relevance to the question, on the
1-5 scale graders agree on best, asked for as JSON with a one-sentence reason."""

_FIELD = re.compile(r"\{(question|context|response|system)\}")
_NUMBER = r"(-?\d+(?:\.\d+)?)"
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")
_LABELLED = re.compile(rf"\bscore\b\W{{0,4}}(?:is\s+)?{_NUMBER}\s*(%|(?:/|\s+out\s+of\s+)\s*{_NUMBER})?",
                       re.IGNORECASE)
_FRACTION = re.compile(rf"{_NUMBER}\s*(?:/|\s+out\s+of\s+)\s*{_NUMBER}", re.IGNORECASE)
_BARE = re.compile(rf"[\s*]*{_NUMBER}\s*(%)?[\s*.]*")
_REASON = re.compile(r"\breason(?:ing)?\b\W{0,4}(.+)", re.IGNORECASE | re.DOTALL)


def _scaled(number: str, denominator: str | None, percent: bool, scale: int) -> float:
    v = float(number)
    if percent:
        v /= 100
    elif denominator is not None:
        d = float(denominator)
        if d <= 0:
            raise JudgeError(f"score {number}/{denominator} has no positive scale")
        v /= d
    elif not ("." in number and 0.0 <= v <= 1.0):  # a decimal in [0, 1] ("0.8") is already a share
        v /= scale  # a grade on the rubric's scale: "4" of 5
    if not 0.0 <= v <= 1.0:
        raise JudgeError(f"score {number}{'/' + denominator if denominator else ''} is outside the scale 0-{scale}")
    return v


def parse_score(reply: str, scale: int = 5) -> tuple[float, str]:
    """The score in [0, 1] and the reason in a judge's reply, however the model wrote it: JSON with a
    ``score`` (``{"score": 4, "reason": ...}``), a labelled score (``Score: 4/5``, ``score = 0.8``,
    ``Score: 80%``), else a fraction (``4 out of 5``), else the whole reply a bare number. Where the
    reply gives several, the last counts (models reason first and conclude). An integer is a grade on
    ``scale`` (4 is 0.8); a decimal in [0, 1] is already a share. Raises :class:`JudgeError` with the
    reply's first 80 characters when none is found.

    >>> parse_score('{"score": 4, "reason": "one detail is not in the documents"}')
    (0.8, 'one detail is not in the documents')
    >>> parse_score("The answer quotes doc-7.\\nScore: 4/5")[0], parse_score("0.35")[0]
    (0.8, 0.35)
    """
    text = reply.strip()
    for m in reversed(_JSON_OBJECT.findall(text)):
        try:
            obj = json.loads(m)
        except ValueError:
            continue
        if isinstance(obj, dict) and "score" in obj:
            s = obj["score"]
            if isinstance(s, str):
                return parse_score(s, scale)[0], str(obj.get("reason") or obj.get("explanation") or "")
            if isinstance(s, bool) or not isinstance(s, (int, float)):
                raise JudgeError(f"judge reply's score is {s!r}, not a number: {text[:80]!r}")
            number = repr(float(s)) if isinstance(s, float) else str(s)
            return _scaled(number, None, False, scale), str(obj.get("reason") or obj.get("explanation") or "")
    reason = _REASON.search(text)
    why = reason.group(1).strip() if reason else text
    labelled = _LABELLED.findall(text)
    if labelled:
        number, suffix, denominator = labelled[-1]
        return _scaled(number, denominator or None, suffix == "%", scale), why[:200]
    fractions = _FRACTION.findall(text)
    if fractions:
        number, denominator = fractions[-1]
        return _scaled(number, denominator, False, scale), why[:200]
    bare = _BARE.fullmatch(text)
    if bare:
        return _scaled(bare.group(1), None, bare.group(2) == "%", scale), ""
    raise JudgeError(f"no score in the judge's reply: {text[:80]!r}")


class LLMJudge:
    """An LLM asked to grade each answer against a rubric: ``complete`` is the user's function that
    sends a prompt to any model and returns its reply text (Argus ships no client and holds no key).
    The rubric (:data:`RUBRIC` by default; any template with ``{question}``, ``{context}``,
    ``{response}``, ``{system}``) is filled with the event's texts, the reply parsed by
    :func:`parse_score`. Name it after the model and rubric: a new model is a new judge whose windows
    are not compared with the old one's. ``complete`` is called from several threads at once when
    :func:`judge_events` runs with a timeout and ``workers`` > 1.

    >>> judge = LLMJudge(lambda prompt: '{"score": 5, "reason": "quotes doc-7"}', name="toy")
    >>> judge({"prompt": "How do I reset my password?", "response": "Open Settings.",
    ...        "context": [{"id": "doc-7", "text": "Open Settings to reset the password."}]})
    Verdict(score=1.0, passed=True, reason='quotes doc-7')
    """

    def __init__(self, complete: Callable[[str], str], *, name: str = "llm-judge", template: str = RUBRIC,
                 scale: int = 5, threshold: float = 0.8, max_context_chars: int = 8000) -> None:
        if not callable(complete):
            raise TypeError(f"complete must be a function prompt -> reply, got {type(complete).__name__}")
        if not _FIELD.search(template) or "{response}" not in template:
            raise ValueError("the template must contain {response} (and may contain {question}, {context}, "
                             "{system})")
        if scale < 1:
            raise ValueError(f"scale must be at least 1, got {scale}")
        _check_unit(threshold, "threshold")
        self.complete, self.name, self.template = complete, name, template
        self.scale, self.threshold, self.max_context_chars = scale, threshold, max_context_chars

    def prompt(self, llm: Mapping[str, Any]) -> str:
        """The rubric filled with this event's question, documents and answer, in one pass (a text
        that contains ``{context}`` is not expanded again)."""
        values = {"question": str(llm.get("prompt") or ""), "response": str(llm.get("response") or ""),
                  "system": str(llm.get("system") or ""), "context": self._context(llm.get("context"))}
        return _FIELD.sub(lambda m: values[m.group(1)], self.template)

    def _context(self, context: object) -> str:
        if not isinstance(context, list) or not context:
            return "(none were retrieved)"
        parts, left = [], self.max_context_chars
        for i, d in enumerate(context):
            if not isinstance(d, Mapping):
                continue
            text = str(d.get("text") or "(text not recorded)")
            line = f"[{d.get('id') or i + 1}] {text}"
            if len(line) > left:
                parts.append(line[:max(left, 0)] + "…")
                break
            parts.append(line)
            left -= len(line) + 1
        return "\n".join(parts)

    def __call__(self, llm: Mapping[str, Any]) -> Verdict | None:
        if llm.get("response") is None:
            return None
        reply = self.complete(self.prompt(llm))
        if not isinstance(reply, str):
            raise JudgeError(f"complete() returned {type(reply).__name__}, expected the reply text")
        score, reason = parse_score(reply, self.scale)
        return Verdict(score, score >= self.threshold, reason)

    def __repr__(self) -> str:
        return f"LLMJudge(name={self.name!r}, scale={self.scale}, threshold={self.threshold})"


# -- the offline default ----------------------------------------------------------------------------------
def _cosine(a: object, b: object) -> float | None:
    try:
        x = np.asarray(a, dtype=np.float64).ravel()
        y = np.asarray(b, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None
    if x.size == 0 or x.shape != y.shape or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
    return float(x @ y) / (nx * ny) if nx > 0 and ny > 0 else None


RELEVANCE_STEM = 4
"""Characters of a word that a relevance match compares: "invoice" matches "invoices", "ship" "shipping",
"cancel" "cancellation", at the price of rare false matches ("part", "party")."""

GROUNDING_WEIGHT = 2 / 3
"""Grounding's share of the default judge's score, relevance's the rest: grounding is what it exists
to check, and the lexical relevance is the weaker signal (good answers often repeat none of the
question's words), so an answer made up from nothing scores at most 1/3 however much of the question it
echoes, and a grounded one at least 2/3."""


def _stems(ws: Iterable[str]) -> set[str]:
    return {w[:RELEVANCE_STEM] for w in ws}


class LexicalJudge:
    """The offline judge: no model, no network. Scores grounding and relevance, not truth.

    - grounded: ``supported`` of :func:`~argusml.llm.features.llm_features`, the share of the answer's
      sentences whose content words are at least half in one retrieved document;
    - relevant: the cosine of ``query_embedding`` and ``response_embedding`` (negative as 0) when the
      event carries both, else the share of the question's content words that the answer repeats
      (compared on their first :data:`RELEVANCE_STEM` characters);
    - score: 2/3 grounded + 1/3 relevant (:data:`GROUNDING_WEIGHT`), either alone when the other does not
      apply (no documents with text: relevance only); it passes at 0.5;
    - a refusal scores 0 when the documents hold at least half of the question's content words (the
      answer was there), and is not judged (None) when they do not: declining is then right.

    Limits: a paraphrase in other words reads as unsupported, a sentence that copies a document's words
    while inverting its meaning as supported, an answer copied from a retrieved document about something
    else as grounded (it passes on grounding alone), and a correct short answer that repeats none of the
    question's words ("Paris.") as irrelevant unless embeddings are present. Measured agreement on a
    generated labelled set: tests/test_llm_judge.py and docs/LLM.md, "Judges".

    >>> judge = default_judge()
    >>> v = judge({"prompt": "How do I reset my password?",
    ...            "response": "Open Settings and press Reset password.",
    ...            "context": [{"id": "doc-7", "text": "To reset your password open Settings and press Reset."}]})
    >>> v.score, v.passed, v.reason
    (1.0, True, 'grounded 1.00 (supported sentences), relevant 1.00 (question words)')
    """

    def __init__(self, name: str = "lexical-v1", threshold: float = DEFAULT_THRESHOLD) -> None:
        _check_unit(threshold, "threshold")
        self.name, self.threshold = name, threshold

    def __call__(self, llm: Mapping[str, Any]) -> Verdict | None:
        if llm.get("response") is None:
            return None
        response, prompt = str(llm["response"]), str(llm.get("prompt") or "")
        context = llm.get("context")
        texts = [str(d["text"]) for d in context if isinstance(d, Mapping) and d.get("text")] \
            if isinstance(context, list) else []
        question = content_words(prompt)
        if refusal_apology(fold(response))[0]:
            lang = language(prompt)
            held: set[str] = set().union(*(content_words(t, lang) for t in texts)) if texts else set()
            cover = len(question & held) / len(question) if question else 0.0
            if texts and cover >= SUPPORTED_RECALL:
                return Verdict(0.0, False, f"refused although the documents hold {cover:.0%} of the question's words")
            return None
        grounded = supported_share(response, texts)
        cos = _cosine(llm.get("query_embedding"), llm.get("response_embedding")) \
            if llm.get("query_embedding") is not None and llm.get("response_embedding") is not None else None
        relevant: float | None
        if cos is not None:
            relevant, how = max(cos, 0.0), "embedding cosine"
        elif question:
            asked = _stems(question)
            relevant, how = len(asked & _stems(words(response))) / len(asked), "question words"
        else:
            relevant, how = None, ""
        if grounded is None and relevant is None:
            return None
        if grounded is None or relevant is None:
            score = grounded if grounded is not None else relevant
        else:
            score = GROUNDING_WEIGHT * grounded + (1 - GROUNDING_WEIGHT) * relevant
        assert score is not None
        score = min(max(score, 0.0), 1.0)
        parts = [f"grounded {grounded:.2f} (supported sentences)" if grounded is not None else "",
                 f"relevant {relevant:.2f} ({how})" if relevant is not None else ""]
        return Verdict(score, score >= self.threshold, ", ".join(p for p in parts if p))

    def __repr__(self) -> str:
        return f"LexicalJudge(name={self.name!r}, threshold={self.threshold})"


def default_judge(threshold: float = DEFAULT_THRESHOLD) -> LexicalJudge:
    """The offline judge (:class:`LexicalJudge`): grounding and relevance by word overlap, no download."""
    return LexicalJudge(threshold=threshold)


# -- which events are judged ------------------------------------------------------------------------------
def load_judge(function: str, threshold: float = DEFAULT_THRESHOLD) -> Judge:
    """The judge a model's config names: ``"default"`` (the offline judge) or ``"package.module:name"``, a
    judge object (it has a ``name``) or a function of the llm object (named by its path). A ValueError says
    what could not be imported, so the config is refused at start-up, not at the first sampled event."""
    if function == "default":
        return default_judge(threshold)
    import importlib

    module, _, attr = function.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise ValueError(f"judge.function {function!r}: cannot import {module!r}: {exc}") from None
    except AttributeError:
        raise ValueError(f"judge.function {function!r}: module {module!r} has no {attr!r}") from None
    if not callable(obj):
        raise ValueError(f"judge.function {function!r} is a {type(obj).__name__}, not a function or a judge")
    if isinstance(getattr(obj, "name", None), str) and obj.name:
        return obj  # type: ignore[no-any-return]
    return FunctionJudge(obj, function, threshold)


@dataclass(frozen=True)
class Sampler:
    """Which events are judged: those whose id hashes below ``rate``, at most ``max_per_window`` calls
    per window (None: no cap).

    The hash is BLAKE2b keyed by ``salt``, over the id's text (the id 7 and the id "7" are one), read as
    a number in [0, 1): the same id is chosen or not on every replica and every replay, with no state to
    share, and a rate raised from 5% to 10% keeps the first 5% and adds to them. A new salt draws a new
    sample. The budget is first come, first served across batches; within a batch the chosen events are
    taken in hash order (not arrival order), so a replayed batch spends the budget on the same events.

    >>> s = Sampler(rate=0.5, salt="prod")
    >>> [s.selected(f"req-{i}") for i in range(6)]
    [True, True, False, False, True, True]
    >>> round(s.position("req-0"), 6)
    0.170205
    """

    rate: float = 0.05
    max_per_window: int | None = 200
    salt: str = ""
    _key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_unit(self.rate, "rate")
        if self.max_per_window is not None and (isinstance(self.max_per_window, bool) or self.max_per_window < 0):
            raise ValueError(f"max_per_window must be a count (or None for no cap), got {self.max_per_window!r}")
        salt = self.salt.encode()
        # BLAKE2b takes keys of up to 64 bytes; a longer salt is hashed to one
        object.__setattr__(self, "_key", salt if len(salt) <= 64 else hashlib.blake2b(salt).digest())

    def position(self, event_id: object) -> float:
        """Where the id falls in [0, 1): the first 8 bytes of its keyed hash over 2**64."""
        digest = hashlib.blake2b(str(event_id).encode(), digest_size=8, key=self._key).digest()
        return int.from_bytes(digest, "big") / 2.0 ** 64

    def selected(self, event_id: object) -> bool:
        """Whether the event is in the sample (before the budget)."""
        return self.position(event_id) < self.rate

    def choose(self, event_ids: Sequence[object], spent: int = 0) -> tuple[list[int], int]:
        """Indices of the ids to judge, in hash order, and how many sampled ids the budget left out,
        with ``spent`` calls of the window already made. An id of None is never chosen."""
        ranked = sorted((p, i) for i, e in enumerate(event_ids) if e is not None
                        for p in (self.position(e),) if p < self.rate)
        room = len(ranked) if self.max_per_window is None else max(self.max_per_window - spent, 0)
        return [i for _, i in ranked[:room]], max(len(ranked) - room, 0)


# -- running a judge over events --------------------------------------------------------------------------
_Outcome = tuple[str, Any]  # ("ok", Verdict | None) or ("error", exception)


def _call(judge: Judge, llm: object, threshold: float) -> Verdict | None:
    if not isinstance(llm, Mapping):
        return None
    return to_verdict(judge(llm), threshold, judge.name)


def _run_inline(calls: list[Callable[[], Verdict | None]]) -> list[_Outcome]:
    out: list[_Outcome] = []
    for call in calls:
        try:
            out.append(("ok", call()))
        except Exception as e:  # a judge must never break monitoring: counted, not raised
            out.append(("error", e))
    return out


def _run_with_deadlines(calls: list[Callable[[], Verdict | None]], timeout_s: float, workers: int,
                        max_abandoned: int) -> list[_Outcome]:
    """At most ``workers`` calls at once, each given ``timeout_s`` from its start. A call past its
    deadline is recorded as a timeout and its thread abandoned (Python cannot stop a thread): it runs on
    as a daemon, its late answer ignored, and its slot goes to the next call. Once ``max_abandoned`` such
    threads are still alive, the remaining calls are not made (``JudgeUnresponsive``)."""
    results: list[_Outcome | None] = [None] * len(calls)
    done: queue.SimpleQueue[tuple[int, _Outcome]] = queue.SimpleQueue()
    active: dict[int, float] = {}
    threads: dict[int, threading.Thread] = {}
    abandoned: list[threading.Thread] = []

    def run(i: int) -> None:
        try:
            done.put((i, ("ok", calls[i]())))
        except Exception as e:  # reported to the caller's loop, counted there
            done.put((i, ("error", e)))

    nxt = 0
    while nxt < len(calls) or active:
        while nxt < len(calls) and len(active) < workers:
            abandoned = [t for t in abandoned if t.is_alive()]
            if len(abandoned) >= max_abandoned:
                results[nxt] = ("error", JudgeUnresponsive(f"{len(abandoned)} judge calls still running past "
                                                           f"their {timeout_s} s timeout"))
            else:
                threads[nxt] = threading.Thread(target=run, args=(nxt,), name=f"argus-judge-{nxt}", daemon=True)
                active[nxt] = time.monotonic() + timeout_s
                threads[nxt].start()
            nxt += 1
        if not active:
            continue
        try:
            i, outcome = done.get(timeout=max(min(active.values()) - time.monotonic(), 0.0))
        except queue.Empty:
            now = time.monotonic()
            for i, deadline in list(active.items()):
                if deadline <= now:
                    del active[i]
                    results[i] = ("error", TimeoutError(f"judge call took longer than {timeout_s} s"))
                    abandoned.append(threads.pop(i))
            continue
        if i in active:  # else it timed out already and its late answer is dropped
            del active[i]
            threads.pop(i, None)
            results[i] = outcome
    return [r if r is not None else ("error", RuntimeError("judge call lost")) for r in results]


def judge_events(events: Iterable[Mapping[str, Any]], judge: Judge, sampler: Sampler | None = None,
                 window: JudgeWindow | None = None, *, timeout_s: float | None = None, workers: int = 4,
                 max_abandoned: int = 16) -> JudgeWindow:
    """The window with this batch's verdicts added: ``window`` (or an empty one) merged with the
    verdicts of ``judge`` on the events ``sampler`` chooses (all of them without a sampler), neither
    changed. Nothing a judge does raises here: an exception, an answer that is not a score, or (with
    ``timeout_s``) a call slower than ``timeout_s`` is counted in ``errors``, the first of each kind
    logged with its event id.

    Without ``timeout_s`` the calls run one after another in the caller's thread. With it, up to
    ``workers`` calls run at once in threads and the caller waits for a slow call about ``timeout_s``,
    never for its end: Python cannot interrupt a thread, so the timed-out call runs on in the
    background (a daemon thread, which does not hold the process at exit) and what it returns is
    dropped; if ``max_abandoned`` such calls are still running the rest of the batch is counted as
    errors without being made. Give ``complete`` its own network timeout too: that one frees the thread.
    Events without an id are never sampled (their choice would not be reproducible).
    """
    batch = list(events)
    out = JudgeWindow(judge.name).merge(window) if window is not None else JudgeWindow(judge.name)
    out.seen += len(batch)
    sampler = sampler if sampler is not None else Sampler(rate=1.0, max_per_window=None)
    chosen, over = sampler.choose([e.get("id") for e in batch], out.calls)
    out.skipped_budget += over
    threshold = float(getattr(judge, "threshold", DEFAULT_THRESHOLD))
    calls: list[Callable[[], Verdict | None]] = [
        (lambda llm=batch[i].get("llm"): _call(judge, llm, threshold)) for i in chosen]
    if timeout_s is None:
        outcomes = _run_inline(calls)
    else:
        if timeout_s <= 0 or workers < 1:
            raise ValueError(f"timeout_s must be positive and workers at least 1, got {timeout_s!r} and {workers!r}")
        outcomes = _run_with_deadlines(calls, timeout_s, workers, max_abandoned)
    logged: set[str] = set()
    for i, (kind, value) in zip(chosen, outcomes):
        if kind == "ok":
            out.add(value)
            continue
        name = type(value).__name__
        out.add_error(name)
        if name not in logged:
            logged.add(name)
            log.warning("judge %r failed on event %r (%s: %s); counted as an error, first of its kind in this batch",
                        judge.name, batch[i].get("id"), name, value)
    return out
