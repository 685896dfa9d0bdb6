"""The statistics an LLM event is watched by: exact values on hand-made events, the refusal, language and
grounding measures on small labelled sets, and no text ever among them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from argusml.llm.features import cites, language, llm_features, supported_share

DOCS = [{"id": "doc-7", "score": 0.91, "text": "To reset your password open Settings then choose Security."},
        {"id": "doc-70", "score": 0.42, "text": "Invoices are sent monthly by e-mail."},
        {"id": "doc-2", "score": 0.55}]


def test_the_columns_of_a_rag_answer() -> None:
    f = llm_features({"prompt": "How can I reset my password?",
                      "response": "Open Settings, then choose Security [doc-7]. Invoices come by post.",
                      "context": DOCS, "input_tokens": 812, "output_tokens": 17})
    assert f == {
        "prompt_chars": 28, "prompt_words": 6, "response_chars": 67, "response_words": 11,
        "input_tokens": 812.0, "output_tokens": 17.0, "refusal": 0.0, "apology": 0.0,
        "language": "en", "response_language": "und",
        "context_docs": 3, "empty_retrieval": 0.0, "top1_score": 0.91, "mean_score": pytest.approx((0.91 + 0.42 + 0.55) / 3),
        "cited": 1.0,
        # "Open Settings, then choose Security [doc-7]." shares open, settings, choose, security (4 of its 5
        # content words: open settings choose security doc) with doc-7; "Invoices come by post." shares
        # invoices only (1 of 3: invoices come post) with doc-70: one sentence of two
        "supported": 0.5}


def test_measures_that_do_not_apply_are_missing_not_zero() -> None:
    f = llm_features({"prompt": "Hi"})
    assert f["response_chars"] is None and f["refusal"] is None and f["cited"] is None
    assert all(f[k] is None for k in ("context_docs", "empty_retrieval", "top1_score", "mean_score", "supported"))
    empty = llm_features({"prompt": "Hi", "response": "No idea.", "context": []})
    assert (empty["context_docs"], empty["empty_retrieval"], empty["top1_score"], empty["cited"]) == (0, 1.0, None, None)


@pytest.mark.parametrize(("response", "refusal", "apology"), [
    ("I'm sorry, but I can't help with that request.", 1.0, 1.0),
    ("I cannot provide medical advice.", 1.0, 0.0),
    ("As an AI, I don't have personal opinions.", 1.0, 0.0),
    ("I do not have enough information to answer that.", 1.0, 0.0),
    ("Apologies for the confusion: the fee is 5 EUR.", 0.0, 1.0),
    ("You can help yourself to the free tier.", 0.0, 0.0),
    ("The cannot-fail path retries three times.", 0.0, 0.0),
    ("Open Settings and choose Security.", 0.0, 0.0),
])
def test_refusals_and_apologies(response: str, refusal: float, apology: float) -> None:
    f = llm_features({"response": response})
    assert (f["refusal"], f["apology"]) == (refusal, apology)


LANGUAGES = {
    "en": ["Where is the nearest branch and what are the opening hours?",
           "The card was charged twice and I want a refund for it."],
    "es": ["¿Dónde está la oficina más cercana y cuál es el horario de los sábados?",
           "Me cobraron dos veces y quiero que me devuelvan el dinero de la compra."],
    "fr": ["Où se trouve le bureau le plus proche et quels sont les horaires?",
           "La carte a été débitée deux fois et je veux un remboursement pour ce paiement."],
    "de": ["Wo ist die nächste Filiale und wann hat sie geöffnet?",
           "Die Karte wurde zweimal belastet und ich möchte das Geld zurück."],
    "it": ["Dove si trova la filiale più vicina e qual è l'orario di apertura?",
           "La carta è stata addebitata due volte e vorrei il rimborso del pagamento."],
    "pt": ["Onde fica a agência mais próxima e qual é o horário de funcionamento?",
           "O cartão foi cobrado duas vezes e quero o reembolso da compra."],
    "nl": ["Waar is het dichtstbijzijnde kantoor en wat zijn de openingstijden?",
           "De kaart is twee keer belast en ik wil het geld terug voor de aankoop."],
}


def test_language_of_fourteen_questions_in_seven_languages() -> None:
    got = {code: [language(t) for t in texts] for code, texts in LANGUAGES.items()}
    assert got == {code: [code, code] for code in LANGUAGES}
    assert [language(t) for t in ("OK", "4111 1111", "https://example.org/x?y=1")] == ["und"] * 3


def test_citations_match_whole_ids_only() -> None:
    assert cites("See [doc-7].", ["doc-7"]) and cites("(source: doc-7)", ["doc-7"])
    assert not cites("See [doc-70].", ["doc-7"]) and not cites("See xdoc-7.", ["doc-7"])
    assert not cites("See [doc-7].", [])


def test_supported_share_is_a_share_of_sentences_with_content() -> None:
    doc = ["Refunds are paid within five working days to the original card."]
    assert supported_share("Refunds are paid within five working days.", doc) == 1.0
    assert supported_share("Refunds take a month. They go to a voucher. Paid within five working days.", doc) == \
        pytest.approx(1 / 3)
    assert supported_share("It is.", doc) is None  # no content word: nothing to judge
    assert supported_share("Refunds are paid.", []) is None


TEXT = st.text(min_size=0, max_size=200)


@given(prompt=TEXT, response=TEXT, doc=TEXT)
def test_no_text_ever_leaves_as_a_column(prompt: str, response: str, doc: str) -> None:
    """The derived columns are numbers, None, or a language code: the text itself never passes through,
    which is what lets privacy keep statistics only."""
    f = llm_features({"prompt": prompt, "response": response, "context": [{"id": "d", "score": 0.5, "text": doc}]})
    for name, value in f.items():
        ok: Any = value is None or isinstance(value, (int, float)) or (
            name in ("language", "response_language") and value in ("und", "en", "es", "fr", "de", "it", "pt", "nl"))
        assert ok, (name, value)
