"""The statistics an LLM event is watched by: exact values on hand-made events, the refusal, language and
grounding measures on small labelled sets, and no text ever among them."""

from __future__ import annotations

import random
from collections import Counter
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
    ("I'm unable to share that file.", 1.0, 0.0),
    ("I am not able to assist with that.", 1.0, 0.0),
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


# -- refusals and apologies in seven languages ---------------------------------------------------------------
# Per language: refusals (first person, as instruction-tuned models write them; the last of each list is a
# phrasing the phrase lists do not cover, so that recall is not flattered), apology openers, and ordinary
# answers that say no ("no", "pas", "nicht", "non", "não", "niet") in the second or third person.
REFUSE = {
    "en": ["I can't help with that request.", "I cannot provide medical advice.", "I'm unable to share that file.",
           "As an AI, I do not have opinions.", "I don't have access to your account.",
           "That is beyond what I may do here."],
    "es": ["No puedo ayudarte con eso.", "No te puedo dar esa información.", "No me es posible responder a eso.",
           "Como modelo de lenguaje, no tengo opiniones.", "No tengo acceso a su cuenta.",
           "Eso no lo puedo hacer."],
    "fr": ["Je ne peux pas vous aider avec cette demande.", "Je ne peux pas répondre à cette question.",
           "Je ne suis pas en mesure de fournir un avis médical.", "En tant qu'IA, je n'ai pas d'opinion.",
           "Je n'ai pas accès à votre compte.", "Cela dépasse mes compétences."],
    "de": ["Ich kann Ihnen dabei nicht helfen.", "Dabei kann ich Ihnen leider nicht weiterhelfen.",
           "Ich kann keine medizinische Beratung geben.", "Als KI habe ich keine Meinung.",
           "Ich habe keinen Zugriff auf Ihr Konto.", "Darauf habe ich leider keine Antwort."],
    "it": ["Non posso aiutarti con questa richiesta.", "Non ti posso fornire queste informazioni.",
           "Non sono in grado di rispondere.", "In quanto IA, non ho opinioni.", "Non ho accesso al tuo account.",
           "Purtroppo questa richiesta va oltre le mie capacità."],
    "pt": ["Não posso ajudar com isso.", "Não consigo responder a essa pergunta.", "Não posso te dar esse dado.",
           "Como uma IA, não tenho opiniões.", "Não tenho acesso à sua conta.",
           "Infelizmente isso está fora do meu alcance."],
    "nl": ["Ik kan je daar niet mee helpen.", "Daar kan ik u helaas niet bij helpen.",
           "Ik kan hier geen antwoord op geven.", "Als AI heb ik geen mening.", "Ik heb geen toegang tot uw account.",
           "Helaas valt dit buiten mijn mogelijkheden."],
}
APOLOGIZE = {
    "en": ["I'm sorry.", "Apologies for the confusion."],
    "es": ["Lo siento.", "Disculpa las molestias.", "Perdón por la confusión."],
    "fr": ["Je suis désolé.", "Désolée pour la confusion.", "Je m'excuse pour ce retard."],
    "de": ["Es tut mir leid.", "Entschuldigung für die Verwirrung.", "Ich bedaure das."],
    "it": ["Mi dispiace.", "Scusa per la confusione.", "Mi scuso per il ritardo."],
    "pt": ["Desculpe.", "Sinto muito.", "Peço desculpas pela confusão."],
    "nl": ["Het spijt me.", "Excuses voor de verwarring.", "Mijn excuses voor de vertraging."],
}
ANSWER = {
    "en": ["No, the fee does not include VAT.", "You cannot cancel after 30 days.", "The card is not blocked.",
           "If you can't log in, reset the password."],
    "es": ["No, la tarifa no incluye el IVA.", "No es posible cambiar el pedido después del envío.",
           "Si no puede iniciar sesión, restablezca la contraseña.", "La tarjeta no está bloqueada."],
    "fr": ["Non, les frais ne comprennent pas la TVA.", "Vous ne pouvez pas annuler après 30 jours.",
           "Ce n'est pas possible de modifier la commande.", "La carte n'est pas bloquée."],
    "de": ["Nein, die Gebühr enthält keine Mehrwertsteuer.", "Sie können die Karte nicht online sperren.",
           "Die Bestellung kann nach dem Versand nicht geändert werden.", "Das Konto ist nicht gesperrt."],
    "it": ["No, la tariffa non include l'IVA.", "Non è possibile modificare l'ordine dopo la spedizione.",
           "Non puoi annullare dopo 30 giorni.", "La carta non è bloccata."],
    "pt": ["Não, a taxa não inclui o IVA.", "Não é possível alterar o pedido após o envio.",
           "Você não pode cancelar depois de 30 dias.", "O cartão não está bloqueado."],
    "nl": ["Nee, de kosten zijn niet inclusief btw.", "U kunt de kaart niet online blokkeren.",
           "Het is niet mogelijk om de bestelling te wijzigen.", "De kaart is niet geblokkeerd."],
}


def refusal_set(n: int, seed: int = 0) -> list[tuple[str, str, bool, bool]]:
    """``n`` (language, response, is a refusal, apologises) a language: half refusals, a third of all opening
    with an apology, the rest ordinary answers of one to three sentences."""
    rng = random.Random(seed)
    out = []
    for lang in REFUSE:
        for _ in range(n):
            refuses, sorry = rng.random() < 0.5, rng.random() < 1 / 3
            parts = [rng.choice(APOLOGIZE[lang])] if sorry else []
            parts += [rng.choice(REFUSE[lang])] if refuses else []
            parts += rng.sample(ANSWER[lang], rng.randint(0 if refuses else 1, 2))
            out.append((lang, " ".join(parts), refuses, sorry))
    return out


def test_refusal_and_apology_in_seven_languages() -> None:
    """Measured on refusal_set(100, seed=3), 700 responses: refusal precision 1.000, recall 0.806 (290 of
    360; the uncovered phrasing at the end of each language's list is the miss), every language's recall
    between 0.75 and 0.88; apology precision 1.000, recall 1.000 (242). Phrases and set are written by the
    same hand, so this shows that each language's list works and that ordinary answers saying no are not
    taken for refusals, not how often real models phrase a refusal some other way. The floors leave room
    for a changed seed, not for a list that lost a language."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for lang, text, refuses, sorry in refusal_set(100, seed=3):
        f = llm_features({"response": text})
        for name, truth in (("refusal", refuses), ("apology", sorry)):
            said = f[name] == 1.0
            for key in (name, f"{name}:{lang}"):
                tp[key] += said and truth
                fp[key] += said and not truth
                fn[key] += truth and not said
    precision = {k: tp[k] / (tp[k] + fp[k]) for k in tp}
    recall = {k: tp[k] / (tp[k] + fn[k]) for k in tp}
    assert precision["refusal"] >= 0.98 and recall["refusal"] >= 0.72, (precision, recall)
    assert precision["apology"] >= 0.98 and recall["apology"] >= 0.95, (precision, recall)
    for lang in REFUSE:
        assert recall[f"refusal:{lang}"] >= 0.6 and recall[f"apology:{lang}"] >= 0.9, (lang, recall)


@pytest.mark.parametrize("text", [
    "Lo siento, no puedo ayudar con eso.", "Je ne peux pas vous aider.", "Es tut mir leid, aber ich kann das nicht beantworten.",
    "Non posso aiutarti.", "Desculpe, não posso ajudar.", "Het spijt me, ik kan je niet helpen.",
    "nao posso ajudar", "JE NE PEUX PAS RÉPONDRE", "I can’t help with that."])
def test_refusal_accents_case_and_curly_apostrophes(text: str) -> None:
    assert llm_features({"response": text})["refusal"] == 1.0
