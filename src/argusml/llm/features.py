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
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

REFUSAL_PHRASES: dict[str, str] = {
    "en": r"i(?:\s+(?:can(?:no|')t|cannot|won't|will\s+not)|(?:\s+am|'m)\s+(?:unable|not\s+able)\s+to)"
          r"\s+(?:help|assist|answer|provide|do|comply|share|discuss|give)"
          r"|i\s+(?:don't|do\s+not)\s+have\s+(?:enough\s+)?(?:information|access|the\s+information)"
          r"|(?:as\s+an\s+ai|as\s+a\s+language\s+model)"
          r"|(?:that|this)\s+is\s+(?:not\s+something\s+i\s+can|outside\s+(?:of\s+)?(?:my|the)\s+scope)",
    "es": r"no\s+(?:te\s+|le\s+|les\s+|os\s+)?puedo\s+(?:ayud|asist|respond|proporcion|dar|ofrec|compart|hacer|cumplir"
          r"|realiz|gener|brind|facilit|atend)"
          r"|no\s+me\s+es\s+posible|no\s+estoy\s+en\s+(?:condiciones|posicion)\s+de|fuera\s+de\s+mi\s+alcance"
          r"|no\s+es\s+algo\s+(?:en\s+lo\s+|con\s+lo\s+)?que\s+pueda"
          r"|no\s+tengo\s+(?:acceso|suficiente\s+informacion|(?:la\s+)?informacion\s+(?:suficiente|necesaria))"
          r"|como\s+(?:una?\s+)?(?:ia|inteligencia\s+artificial|modelo\s+de\s+lenguaje|asistente\s+de\s+ia)\b",
    "fr": r"je\s+ne\s+(?:peux|pourrai|pourrais)\s+(?:malheureusement\s+)?pas\s+"
          r"(?:vous\s+|te\s+|t'|y\s+|en\s+|l'|le\s+|la\s+|les\s+|lui\s+)?(?:aider|repondre|fournir|donner|partager|faire"
          r"|traiter|satisfaire|acceder|communiquer|proposer|generer|assister)"
          r"|je\s+ne\s+suis\s+pas\s+en\s+mesure\s+de|il\s+m'est\s+impossible\s+de"
          r"|je\s+n'ai\s+pas\s+(?:acces|(?:assez|suffisamment)\s+d'informations?|les\s+informations)"
          r"|en\s+tant\s+qu(?:e\s+|')(?:ia|intelligence\s+artificielle|modele\s+de\s+langage|assistant\s+(?:virtuel|ia))\b",
    # German and Dutch put the verb last and the negation anywhere between: "dabei kann ich Ihnen leider
    # nicht helfen", "daar kan ik je niet mee helpen"; a few words either side of the negation are allowed
    "de": r"(?:ich\s+(?:kann|darf)|(?:kann|darf)\s+ich)\s+(?:[\w']+\s+){0,4}?(?:nicht|keine[nmrs]?)\s+(?:[\w']+\s+){0,4}?"
          r"(?:helfen|weiterhelfen|behilflich|beantworten|antworten|geben|bereitstellen|liefern|unterstutzen|erfullen"
          r"|teilen|machen|erstellen|anbieten|nachkommen|zugreifen)"
          r"|ich\s+bin\s+(?:leider\s+)?nicht\s+in\s+der\s+lage|(?:ist\s+es\s+mir|es\s+ist\s+mir)\s+(?:leider\s+)?nicht\s+moglich"
          r"|ich\s+habe\s+(?:leider\s+)?(?:keinen\s+zugriff|keine\s+(?:ausreichenden\s+|genauen\s+)?informationen"
          r"|nicht\s+genug\s+informationen)"
          r"|als\s+(?:eine?\s+)?(?:ki|ki-modell|ki-assistent|sprachmodell|kunstliche\s+intelligenz)\b",
    "it": r"non\s+(?:ti\s+|le\s+|vi\s+|la\s+|lo\s+|ci\s+)?posso\s+(?:[\w']+\s+)?(?:aiut|rispond|forni|dar|condivid|far"
          r"|soddisf|assist|gener|eseguir|offrir|acceder)"
          r"|non\s+sono\s+in\s+grado\s+di|non\s+mi\s+e\s+(?:possibile|consentito)"
          r"|non\s+ho\s+(?:accesso|(?:abbastanza|sufficienti)\s+informazioni|informazioni\s+sufficienti)"
          r"|(?:in\s+quanto|come)\s+(?:una?\s+)?(?:ia|intelligenza\s+artificiale|modello\s+(?:di\s+)?linguistico"
          r"|assistente\s+(?:virtuale|ia))\b",
    "pt": r"nao\s+(?:te\s+|lhe\s+|o\s+|a\s+)?(?:posso|consigo)\s+(?:[\w']+\s+)?(?:ajud|respond|fornec|dar|compartilh"
          r"|partilh|fazer|atend|realiz|ger|cumprir|oferec|acess)"
          r"|nao\s+sou\s+capaz\s+de|nao\s+estou\s+em\s+condicoes\s+de|nao\s+me\s+e\s+possivel"
          r"|nao\s+tenho\s+(?:acesso|informac(?:oes|ao)\s+suficientes?|dados\s+suficientes)"
          r"|como\s+(?:uma?\s+)?(?:ia|inteligencia\s+artificial|modelo\s+de\s+linguagem|assistente\s+de\s+ia)\b",
    "nl": r"(?:ik\s+kan|kan\s+ik)\s+(?:[\w']+\s+){0,4}?(?:niet|geen)\s+(?:[\w']+\s+){0,4}?"
          r"(?:helpen|beantwoorden|antwoorden|geven|verstrekken|delen|doen|leveren|bieden|voldoen|maken|assisteren)"
          r"|ik\s+ben\s+(?:helaas\s+)?niet\s+in\s+staat"
          r"|ik\s+heb\s+(?:helaas\s+)?(?:geen\s+toegang|geen\s+informatie|(?:niet\s+genoeg|onvoldoende)\s+informatie)"
          r"|als\s+(?:een\s+)?(?:ai|ai-model|ai-assistent|taalmodel)\b",
}
"""What instruction-tuned models write when they will not or cannot answer, per language, written without
accents: responses are folded to match (``fold``), so "não posso" and "nao posso" are one phrase. Only
first-person phrasings: "vous ne pouvez pas", "Sie können nicht", "no es posible" are how ordinary
answers say no."""

APOLOGY_PHRASES: dict[str, str] = {
    "en": r"sorry\b|apologi[sz]e|apologies\b|regret\s+that\b",
    "es": r"lo\s+(?:siento|lamento)\b|(?:mis|pido|(?:le|te)\s+pido)\s+disculpas|disculp(?:a|e|ame|eme|as)\b|perdon(?:a|e|ame)?\b",
    "fr": r"desolee?s?\b|je\s+m'excuse|excusez[\s-]moi|mes\s+excuses|je\s+regrette\b|pardon\b",
    "de": r"tut\s+mir\s+(?:sehr\s+|wirklich\s+)?leid|entschuldig(?:e|en|ung)\b|ich\s+bedaure|verzeihung\b|verzeihen\s+sie",
    "it": r"mi\s+dispiace|mi\s+scuso|chiedo\s+scusa|(?:le\s+)?mie\s+scuse|scusa(?:mi|te)?\b|spiacente",
    "pt": r"desculp(?:e|a|as|em)\b|peco\s+desculpas|sinto\s+muito|lamento\b|perdao\b",
    "nl": r"het\s+spijt\s+me|mijn\s+excuses|excuses\s+voor|excuseer\b|verontschuldig",
}
"""Apologies, per language, accent-free like ``REFUSAL_PHRASES``."""

REFUSAL = re.compile(r"\b(?:" + "|".join(REFUSAL_PHRASES.values()) + ")")
APOLOGY = re.compile(r"\b(?:" + "|".join(APOLOGY_PHRASES.values()) + ")")
# both lists in one pass over the folded text, the common case (neither): case-sensitive on lower-cased text
# and a letter looked for after the word boundary, which together make seven languages' phrases cost what
# the English ones did with IGNORECASE (docs/BENCHMARKS.md, "LLM features")
_PHRASES = re.compile(r"\b(?=[a-z])(?:(" + "|".join(REFUSAL_PHRASES.values()) + ")|(?:"
                      + "|".join(APOLOGY_PHRASES.values()) + "))")
_MARKS = re.compile(r"[\u0300-\u036f]+")


def fold(text: str) -> str:
    """``text`` in lower case, without accents and with straight apostrophes ("Désolé" -> "desole", "can’t"
    -> "can't"): the form the phrase lists are written in, so they match however the model wrote them."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFD", text)).replace("\u2019", "'").lower()


def refusal_apology(folded: str) -> tuple[bool, bool]:
    """(declines, apologises), for a ``fold``-ed response, in any of the seven languages ``language``
    knows.

    >>> refusal_apology(fold("Lo siento, pero no puedo ayudar con eso."))
    (True, True)
    >>> refusal_apology(fold("No, el envío no incluye el seguro."))
    (False, False)
    """
    refuses = sorry = False
    for m in _PHRASES.finditer(folded):
        if m.group(1) is not None:
            refuses = True
        else:
            sorry = True
        if refuses and sorry:
            return True, True
    if refuses:  # a match hides what lies inside it: the words a German or Dutch refusal allows between
        sorry = APOLOGY.search(folded) is not None
    return refuses, sorry


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
    return _language_of(words(text))


def _index_stopwords() -> dict[str, tuple[int, ...]]:
    """Each common word to the languages (positions in ``STOPWORDS``) it is common in, so that a text's
    words are looked up once, not once a language."""
    out: dict[str, tuple[int, ...]] = {}
    for i, common in enumerate(STOPWORDS.values()):
        for w in common:
            out[w] = (*out.get(w, ()), i)
    return out


_LANGUAGES_OF = _index_stopwords()
_CODES = tuple(STOPWORDS)


def _language_of(ws: list[str]) -> str:
    hits = [0] * len(_CODES)
    for w in ws:
        for i in _LANGUAGES_OF.get(w, ()):
            hits[i] += 1
    best = max(hits)  # a tie goes to the language listed first, as index() finds it
    return _CODES[hits.index(best)] if best >= MIN_LANGUAGE_HITS else "und"


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
    prompt_words, response_words = words(prompt), words(response)  # each text split once, for every measure
    refuses, sorry = refusal_apology(fold(response)) if llm.get("response") is not None else (None, None)
    out: dict[str, Any] = {
        "prompt_chars": len(prompt) if llm.get("prompt") is not None else None,
        "prompt_words": len(prompt_words) if llm.get("prompt") is not None else None,
        "response_chars": len(response) if llm.get("response") is not None else None,
        "response_words": len(response_words) if llm.get("response") is not None else None,
        "input_tokens": _number(llm.get("input_tokens")),
        "output_tokens": _number(llm.get("output_tokens")),
        "refusal": float(refuses) if refuses is not None else None,
        "apology": float(sorry) if sorry is not None else None,
        "language": _language_of(prompt_words) if llm.get("prompt") is not None else None,
        "response_language": _language_of(response_words) if llm.get("response") is not None else None,
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
