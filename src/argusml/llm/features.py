"""The statistics an LLM event is watched by: numbers and short labels derived from its text, never the text.

Drift, quality and alerting in Argus work on columns. An LLM application's event is a prompt, a response
and retrieved documents; what goes wrong in it shows in numbers derived from them: answers twice as long
after a prompt change, top-1 retrieval scores falling when an index loses documents, answers that stop
citing what was retrieved, refusals and apologies rising, the language of the questions changing. Each
event is turned into those numbers here, and the text itself may then be dropped (privacy's default for
LLM text is statistics and embeddings only): the checks see ordinary columns.

All measures are lexical and offline: no model, no download. The grounding measure (``supported``) is a
content-word overlap, which finds an answer made up from nothing but not a paraphrase that twists the
source's meaning; an embedding or judge score can be added beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

REFUSAL = re.compile(
    r"\b(?:i\s+(?:can(?:no|')t|cannot|am\s+(?:unable|not\s+able)|'m\s+(?:unable|not\s+able)|won't|will\s+not)"
    r"\s+(?:help|assist|answer|provide|do|comply|share|discuss|give)"
    r"|i\s+(?:don't|do\s+not)\s+have\s+(?:enough\s+)?(?:information|access|the\s+information)"
    r"|(?:as\s+an\s+ai|as\s+a\s+language\s+model)"
    r"|(?:that|this)\s+is\s+(?:not\s+something\s+i\s+can|outside\s+(?:of\s+)?(?:my|the)\s+scope))",
    re.IGNORECASE)
"""Phrases of a declined answer, in English: what instruction-tuned models write when they will not or
cannot answer."""

APOLOGY = re.compile(r"\b(?:sorry|apologi[sz]e|apologies|regret\s+that)\b", re.IGNORECASE)

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and is are of to in that it for with as was on be this you have not or by i my how "
                    "what can".split()),
    "es": frozenset("el la los las de que y en un una es por con para no se su del al lo como".split()),
    "fr": frozenset("le la les de des et est un une que qui en du pour pas dans sur au avec ce il".split()),
    "de": frozenset("der die das und ist nicht ein eine zu den mit von sich des auf für im dem ich es".split()),
    "it": frozenset("il la di che e è un una per non con del della le gli sono in si lo come".split()),
    "pt": frozenset("o a os as de que e é um uma não para com por do da em se no na".split()),
    "nl": frozenset("de het een en is van dat niet in op te zijn voor met die er ik je".split()),
}
"""The commonest words of seven languages: a text's language is the one whose words it uses most."""

FUNCTION_WORDS = STOPWORDS["en"] | frozenset(
    "a an i we they he she them us our your my me what which who how when where why can could would should will "
    "do does did has had been being were than then there here these those so if but also just only any all".split())
"""English words that carry no content, left out when an answer sentence is matched against the documents
(with the common words of the answer's own language, when that is another: one language's function word
is another's content word, Italian "come" and English "come")."""

SUPPORTED_RECALL = 0.5
"""An answer sentence is supported when at least half of its content words appear in one retrieved
document: a sentence made up from nothing shares few, a quoted or summarised one most."""

MIN_LANGUAGE_HITS = 2


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def language(text: str) -> str:
    """ISO 639-1 code of the language whose common words the text uses most, or ``und`` (undetermined)
    when fewer than two of them occur (short or non-prose text, or another language).

    >>> language("Where is the nearest branch and what are the opening hours?")
    'en'
    >>> language("¿Dónde está la oficina más cercana y cuál es el horario?")
    'es'
    >>> language("OK")
    'und'
    """
    ws = words(text)
    best, hits = "und", 0
    for code, common in STOPWORDS.items():
        n = sum(w in common for w in ws)
        if n > hits:
            best, hits = code, n
    return best if hits >= MIN_LANGUAGE_HITS else "und"


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]


def _content(text: str, skip: frozenset[str]) -> set[str]:
    return {w for w in words(text) if w not in skip and len(w) > 1}


def _skipped(lang: str) -> frozenset[str]:
    return FUNCTION_WORDS | STOPWORDS[lang] if lang != "und" else FUNCTION_WORDS


def content_words(text: str, lang: str | None = None) -> set[str]:
    """The words a grounding or relevance match counts: one-letter words and the function words of
    English and of ``lang`` (the text's own language when not given) left out.

    >>> sorted(content_words("How do I reset my password?"))
    ['password', 'reset']
    """
    return _content(text, _skipped(language(text) if lang is None else lang))


def supported_share(response: str, documents: Sequence[str]) -> float | None:
    """The share of the response's sentences (with content words) whose content words are at least
    ``SUPPORTED_RECALL`` in one document; None without sentences or documents.

    >>> supported_share("Reset it under Settings. Bananas are blue.", ["Go to Settings to reset the password."])
    0.5
    """
    skip = _skipped(language(response))
    docs = [_content(d, skip) for d in documents if d]
    if not docs:
        return None
    judged = [c for c in (_content(s, skip) for s in sentences(response)) if c]
    if not judged:
        return None
    supported = sum(any(len(c & d) >= SUPPORTED_RECALL * len(c) for d in docs) for c in judged)
    return supported / len(judged)


def cites(response: str, doc_ids: Sequence[str]) -> bool:
    """Whether the response names one of the retrieved documents by its id (``[doc-7]``, ``(source:
    doc-7)``, or the bare id as a word)."""
    for doc_id in doc_ids:
        if doc_id and re.search(rf"(?<![\w-]){re.escape(doc_id)}(?![\w-])", response):
            return True
    return False


def llm_features(llm: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of one LLM event (its ``llm`` object): what its drift, quality and alerting checks
    watch. A measure that does not apply is None (no retrieval: no retrieval measures), so that a window
    of them counts as missing, not as zero.

    >>> f = llm_features({"prompt": "How do I reset my password?", "response": "Open Settings [doc-7].",
    ...                   "context": [{"id": "doc-7", "score": 0.91, "text": "Open Settings to reset."},
    ...                               {"id": "doc-2", "score": 0.55}], "output_tokens": 6})
    >>> f["response_words"], f["context_docs"], f["top1_score"], f["cited"], f["supported"], f["language"]
    (4, 2, 0.91, 1.0, 1.0, 'en')
    """
    prompt = str(llm.get("prompt") or "")
    response = str(llm.get("response") or "")
    out: dict[str, Any] = {
        "prompt_chars": len(prompt) if llm.get("prompt") is not None else None,
        "prompt_words": len(words(prompt)) if llm.get("prompt") is not None else None,
        "response_chars": len(response) if llm.get("response") is not None else None,
        "response_words": len(words(response)) if llm.get("response") is not None else None,
        "input_tokens": _number(llm.get("input_tokens")),
        "output_tokens": _number(llm.get("output_tokens")),
        "refusal": float(bool(REFUSAL.search(response))) if llm.get("response") is not None else None,
        "apology": float(bool(APOLOGY.search(response))) if llm.get("response") is not None else None,
        "language": language(prompt) if llm.get("prompt") is not None else None,
        "response_language": language(response) if llm.get("response") is not None else None,
    }
    context = llm.get("context")
    if isinstance(context, list):
        scores = [float(d["score"]) for d in context if isinstance(d, dict) and _number(d.get("score")) is not None]
        ids = [str(d["id"]) for d in context if isinstance(d, dict) and d.get("id")]
        texts = [str(d["text"]) for d in context if isinstance(d, dict) and d.get("text")]
        out.update({
            "context_docs": len(context),
            "empty_retrieval": float(not context),
            "top1_score": max(scores) if scores else None,
            "mean_score": sum(scores) / len(scores) if scores else None,
            "cited": float(cites(response, ids)) if ids and llm.get("response") is not None else None,
            "supported": supported_share(response, texts) if llm.get("response") is not None else None,
        })
    else:
        out.update(dict.fromkeys(("context_docs", "empty_retrieval", "top1_score", "mean_score", "cited",
                                  "supported")))
    return out


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
