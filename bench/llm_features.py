#!/usr/bin/env python
"""LLM feature throughput on one core: how many events/s ``llm_features`` turns into columns.

    PYTHONPATH=src .venv/bin/python bench/llm_features.py [--events 20000] [--repeat 3]

Every event of the LLM path goes through ``llm_features`` once, so its cost is a floor under ingest. The
responses are seeded mixes of support-answer sentences, 2 to 8 a response (20 to 110 words), one in ten a
refusal with an apology; "en" is English only, "mixed" spreads the same shapes over the seven languages
the language detector knows, where accents make the refusal match fold the text first. Timed: the whole
``llm_features`` call on a prompt and a response, without retrieval; the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import random

from argusml.llm.features import llm_features
from benchenv import best_rate

SENTENCES = {
    "en": ["You can reset your password under Settings, then Security.",
           "Refunds are paid within five working days to the original card.",
           "The fee is not charged when the balance stays above 500 EUR.",
           "If the card was charged twice, the second charge is released automatically."],
    "es": ["Puede restablecer la contraseña en Ajustes y luego en Seguridad.",
           "Los reembolsos se pagan en cinco días hábiles a la tarjeta original.",
           "La comisión no se cobra si el saldo se mantiene por encima de 500 EUR."],
    "fr": ["Vous pouvez réinitialiser le mot de passe dans Paramètres, puis Sécurité.",
           "Les remboursements sont versés sous cinq jours ouvrés sur la carte d'origine.",
           "Les frais ne sont pas prélevés si le solde reste au-dessus de 500 EUR."],
    "de": ["Sie können das Passwort unter Einstellungen und dann Sicherheit zurücksetzen.",
           "Erstattungen werden innerhalb von fünf Werktagen auf die ursprüngliche Karte gezahlt.",
           "Die Gebühr wird nicht berechnet, wenn das Guthaben über 500 EUR bleibt."],
    "it": ["Puoi reimpostare la password in Impostazioni e poi Sicurezza.",
           "I rimborsi vengono pagati entro cinque giorni lavorativi sulla carta originale.",
           "La commissione non viene addebitata se il saldo resta sopra 500 EUR."],
    "pt": ["Você pode redefinir a senha em Configurações e depois Segurança.",
           "Os reembolsos são pagos em cinco dias úteis no cartão original.",
           "A taxa não é cobrada se o saldo ficar acima de 500 EUR."],
    "nl": ["U kunt het wachtwoord opnieuw instellen onder Instellingen en dan Beveiliging.",
           "Terugbetalingen worden binnen vijf werkdagen op de oorspronkelijke kaart gestort.",
           "De kosten worden niet aangerekend als het saldo boven 500 EUR blijft."],
}
REFUSALS = {"en": "I'm sorry, but I can't help with that request.",
            "es": "Lo siento, pero no puedo ayudar con eso.",
            "fr": "Je suis désolé, mais je ne peux pas vous aider avec cette demande.",
            "de": "Es tut mir leid, aber dabei kann ich Ihnen nicht helfen.",
            "it": "Mi dispiace, ma non posso aiutarti con questa richiesta.",
            "pt": "Desculpe, mas não posso ajudar com isso.",
            "nl": "Het spijt me, maar ik kan je daar niet mee helpen."}
PROMPTS = {"en": "How do I reset my password and when is the refund paid?",
           "es": "¿Cómo restablezco la contraseña y cuándo se paga el reembolso?",
           "fr": "Comment réinitialiser le mot de passe et quand le remboursement est-il versé ?",
           "de": "Wie setze ich das Passwort zurück und wann wird die Erstattung gezahlt?",
           "it": "Come reimposto la password e quando viene pagato il rimborso?",
           "pt": "Como redefino a senha e quando o reembolso é pago?",
           "nl": "Hoe stel ik het wachtwoord opnieuw in en wanneer wordt de terugbetaling gedaan?"}


def events(mix: str, n: int, seed: int = 3) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lang = "en" if mix == "en" else rng.choice(list(SENTENCES))
        body = " ".join(rng.choice(SENTENCES[lang]) for _ in range(rng.randint(2, 8)))
        response = f"{REFUSALS[lang]} {body}" if rng.random() < 0.1 else body
        out.append({"prompt": PROMPTS[lang], "response": response})
    return out



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"llm_features, one core ({os.cpu_count()} cores on the machine), {args.events} events, "
          f"best of {args.repeat}")
    print(f"{'responses':<10} {'avg chars':>9} {'events/s':>10}")
    for mix in ("en", "mixed"):
        evs = events(mix, args.events)
        chars = sum(len(e["response"]) for e in evs) / len(evs)
        print(f"{mix:<10} {chars:>9.0f} {best_rate(llm_features, evs, args.repeat):>10,.0f}")


if __name__ == "__main__":
    main()
