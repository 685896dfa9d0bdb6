"""Judges of LLM answers: the shapes a judge may answer in, the LLM judge's prompt and reply parsing with
a fake model, the offline judge's agreement on a generated labelled set, the sampler's determinism and
budget, the window's intervals and merge, the drop test, and a runner that no judge can break."""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

import argusml.llm.judge as judge_module
from argusml.llm.features import sentences
from argusml.llm.judge import (
    RUBRIC,
    Judge,
    JudgeError,
    JudgeWindow,
    LexicalJudge,
    LLMJudge,
    Sampler,
    Verdict,
    as_judge,
    compare,
    default_judge,
    judge_events,
    parse_score,
    to_verdict,
)
from argusml.stats.performance import roc_auc

Z95 = 1.959963984540054

DOC = {"id": "doc-7", "score": 0.91, "text": "To reset your password open Settings and choose Security."}
QUESTION = "How do I reset my password?"


def _event(i: int | str | None, response: str = "Open Settings and choose Security.", **llm: Any) -> dict[str, Any]:
    return {"id": i, "timestamp": 0, "version": "v1",
            "llm": {"prompt": QUESTION, "response": response, "context": [DOC], **llm}}


# -- verdicts and the function wrapper ---------------------------------------------------------------------
def test_every_accepted_answer_shape_becomes_a_verdict() -> None:
    assert to_verdict(0.5) == Verdict(0.5, True, "")
    assert to_verdict(0.49) == Verdict(0.49, False, "")
    assert to_verdict(1) == Verdict(1.0, True, "")
    assert to_verdict(np.float32(0.25), threshold=0.2) == Verdict(0.25, True, "")
    assert to_verdict(True) == Verdict(1.0, True, "")
    assert to_verdict({"score": 0.9, "passed": False, "reason": "cites nothing"}) == Verdict(0.9, False, "cites nothing")
    assert to_verdict(Verdict(0.3, reason="x"), threshold=0.2) == Verdict(0.3, True, "x")
    assert to_verdict(None) is None
    for bad, message in ((1.2, "expected a score in"), (-0.1, "expected a score in"), (float("nan"), "expected a score"),
                         ("0.5", "returned str"), ({"value": 1}, "without 'score'"), ([0.5], "returned list")):
        with pytest.raises(JudgeError, match=message):
            to_verdict(bad, name="mine")


def test_a_function_becomes_a_named_judge_with_a_threshold() -> None:
    j = as_judge(lambda llm: len(llm["response"]) / 100, name="length", threshold=0.3)
    assert isinstance(j, Judge) and j.name == "length"
    assert j({"response": "x" * 40}) == Verdict(0.4, True, "")
    assert j({"response": "x" * 20}) == Verdict(0.2, False, "")
    with pytest.raises(ValueError, match="needs a name"):
        as_judge(lambda llm: 1.0, name="")
    with pytest.raises(ValueError, match="threshold must be in"):
        as_judge(lambda llm: 1.0, name="x", threshold=2)


# -- the LLM judge, with a fake model ----------------------------------------------------------------------
class FakeModel:
    """A stand-in for a provider's client: records each prompt and answers from a script."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.replies[(len(self.prompts) - 1) % len(self.replies)]


@pytest.mark.parametrize(("reply", "score", "reason"), [
    ('{"score": 4, "reason": "one detail is not in the documents"}', 0.8, "one detail is not in the documents"),
    ('{"score": 0.8}', 0.8, ""),
    ('{"score": 1.0}', 1.0, ""),
    ('{"score": 1}', 0.2, ""),
    ('{"score": "3/5", "explanation": "partly"}', 0.6, "partly"),
    ('```json\n{"score": 5, "reason": "quotes doc-7"}\n```', 1.0, "quotes doc-7"),
    ("Score: 4/5", 0.8, "Score: 4/5"),
    ("The answer quotes doc-7 but adds a fee.\nScore: 3\nReason: the fee is not in the documents", 0.6,
     "the fee is not in the documents"),
    ("score = 0.75", 0.75, "score = 0.75"),
    ("**Score:** 80%", 0.8, "**Score:** 80%"),
    ("I would rate it 4 out of 5.", 0.8, "I would rate it 4 out of 5."),
    ("First thought: score 2/5. On reflection, Score: 5/5", 1.0, "First thought: score 2/5. On reflection, Score: 5/5"),
    ("4", 0.8, ""),
    ("0.35", 0.35, ""),
    (" **2** ", 0.4, ""),
])
def test_the_score_is_read_however_the_model_wrote_it(reply: str, score: float, reason: str) -> None:
    assert parse_score(reply) == (pytest.approx(score), reason)


@pytest.mark.parametrize(("reply", "message"), [
    ("The answer is fine.", "no score in the judge's reply: 'The answer is fine.'"),
    ("Score: 7", "outside the scale 0-5"),
    ("Score: 9/5", "outside the scale 0-5"),
    ('{"score": null}', "not a number"),
    ("x" * 200, "'" + "x" * 80 + "'$"),
])
def test_a_reply_without_a_score_is_an_error_that_quotes_it(reply: str, message: str) -> None:
    with pytest.raises(JudgeError, match=message):
        parse_score(reply)


def test_the_rubric_carries_question_documents_and_answer_and_is_filled_once() -> None:
    model = FakeModel('{"score": 2, "reason": "the fee is made up"}')
    judge = LLMJudge(model, name="fake-gpt")
    llm = {"prompt": QUESTION, "response": "Pay a fee of {context} dollars.",
           "context": [DOC, {"id": "doc-2", "score": 0.4}]}
    assert judge(llm) == Verdict(0.4, False, "the fee is made up")
    (prompt,) = model.prompts
    assert prompt == (RUBRIC.replace("{question}", QUESTION)
                      .replace("{context}", "[doc-7] " + DOC["text"] + "\n[doc-2] (text not recorded)")
                      .replace("{response}", "Pay a fee of {context} dollars."))
    assert '{"score": <1 to 5>' in prompt  # the template's own braces are left alone
    short = LLMJudge(model, max_context_chars=20).prompt(llm)
    assert "Retrieved documents:\n[doc-7] To reset you…\n\nAnswer:" in short and "doc-2" not in short
    assert "(none were retrieved)" in judge.prompt({"prompt": "q", "response": "r"})
    assert judge({"prompt": "q"}) is None and len(model.prompts) == 1  # nothing to judge: no call
    with pytest.raises(ValueError, match="must contain"):
        LLMJudge(model, template="Grade this.")


def test_an_unparseable_reply_is_counted_with_its_start_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    rambling = "I think the answer is mostly reasonable, although it could mention the security tab more clearly..."
    model = FakeModel('{"score": 5, "reason": "ok"}', rambling)
    with caplog.at_level(logging.WARNING, logger="argusml.llm.judge"):
        w = judge_events([_event(i) for i in range(4)], LLMJudge(model, name="fake-gpt"))
    assert (w.judged, w.errors, w.error_kinds, w.passes) == (2, 2, {"JudgeError": 2}, 2)
    (record,) = caplog.records  # the first of its kind only
    assert repr(rambling[:80]) in record.getMessage() and "fake-gpt" in record.getMessage()


# -- the offline judge on a generated labelled set ---------------------------------------------------------
TOPICS = [  # question, document, a paraphrase of it (a good answer), an on-topic answer made up from nothing
    ("How do I reset my password?",
     "To reset your password open Settings and choose Security. Press Reset password and follow the link we send "
     "by email. The link expires after 24 hours.",
     "Go into Settings, pick the Security tab, and hit Reset password; an email with a link arrives, valid for a day.",
     "Call our support line and an agent will read you a new password over the phone within five minutes."),
    ("When are invoices sent?",
     "Invoices are sent on the first business day of each month. They arrive by email as PDF files. Past invoices "
     "are listed under Billing.",
     "Each month, on its first working day, you get the invoice as a PDF attached to an email; older ones sit in "
     "Billing.",
     "Invoices are mailed on paper every quarter to the postal address on your contract."),
    ("How long does shipping take to Canada?",
     "Orders to Canada ship from our Toronto warehouse. Standard delivery takes 3 to 5 business days. Express "
     "delivery arrives within 2 days for an extra fee.",
     "Parcels for Canada leave the Toronto warehouse; standard arrives in three to five working days, express in "
     "two for a surcharge.",
     "Shipping to Canada takes about six weeks because parcels go by sea freight from Rotterdam."),
    ("Can I cancel my subscription at any time?",
     "You can cancel your subscription at any time from the Account page. Cancellation takes effect at the end of "
     "the current billing period. No cancellation fee is charged.",
     "Yes: cancel from Account whenever you like; it ends with the billing period already paid and costs nothing.",
     "Cancelling within the first year incurs a fee of 50 dollars and requires a signed letter."),
    ("What is the battery life of the X200 headphones?",
     "The X200 headphones last 30 hours on a full charge with noise cancelling off. With noise cancelling on the "
     "battery lasts 22 hours. A 10 minute charge gives 3 hours of playback.",
     "About thirty hours per charge, or twenty-two with noise cancelling enabled; ten minutes plugged in buys "
     "three hours.",
     "The X200 headphones run for 80 hours and never need charging thanks to the solar panel in the headband."),
    ("How do I export my data as CSV?",
     "Open the Reports page and select the date range. Click Export and choose CSV as the format. The file "
     "downloads immediately for ranges under one year.",
     "On Reports pick your dates, then Export and the CSV option; ranges shorter than a year download straight "
     "away.",
     "CSV export is only available to enterprise customers through a request to the account manager."),
    ("Which payment methods do you accept?",
     "We accept Visa, Mastercard and American Express cards. PayPal is available in Europe and North America. "
     "Bank transfer is possible for annual plans.",
     "Cards from Visa, Mastercard or Amex; PayPal in Europe and North America; annual plans may also be paid by "
     "bank transfer.",
     "We only accept cash on delivery and cryptocurrency payments in Bitcoin."),
    ("How do I enable two-factor authentication?",
     "Two-factor authentication is enabled under Settings then Security. Scan the QR code with an authenticator "
     "app. Enter the six digit code to confirm.",
     "In Security settings turn on two-factor authentication, scan the QR code with your authenticator app and "
     "type the 6-digit code.",
     "Two-factor authentication is switched on automatically when you buy the premium hardware token."),
    ("What is the return policy for shoes?",
     "Shoes can be returned within 30 days of delivery. They must be unworn and in the original box. Refunds are "
     "issued to the original payment method within 5 days.",
     "Unworn shoes in their box may come back within a month of delivery, refunded to the card you paid with in "
     "five days.",
     "Shoes are final sale and can never be returned, but we offer store credit for damaged pairs after 90 days."),
    ("Where is the nearest branch open on Sunday?",
     "The Main Street branch opens on Sundays from 10 to 4. All other branches are closed on Sunday. Opening "
     "hours are listed on each branch page.",
     "Only Main Street is open Sundays, ten until four; the other branches close that day.",
     "The airport kiosk is open around the clock every Sunday and handles all services."),
    ("How many users can join a team plan?",
     "A team plan includes up to 10 users. Additional users cost 8 dollars per month each. The team owner "
     "manages seats from the Members page.",
     "Ten people are included, each extra seat is 8 dollars a month, and the owner handles seats in Members.",
     "Team plans are unlimited and every member gets a free laptop on signing up."),
    ("Does the thermostat work with voice assistants?",
     "The thermostat works with Alexa and Google Assistant. Link it in the app under Integrations. Apple HomeKit "
     "support is planned for next year.",
     "Yes, Alexa and Google Assistant both work once linked in the app's Integrations; HomeKit comes next year.",
     "The thermostat has no connectivity and must be adjusted with the physical dial on the wall."),
    ("How do I change the delivery address of an order?",
     "The delivery address can be changed until the order ships. Open Orders, select the order and press Edit "
     "address. After shipping contact the carrier directly.",
     "Before it ships, go to Orders, pick it and use Edit address; once shipped you need the carrier.",
     "Delivery addresses are locked at checkout and orders to a wrong address are destroyed."),
    ("What are the system requirements for the desktop app?",
     "The desktop app runs on Windows 10 and macOS 12 or later. It needs 4 GB of memory and 500 MB of disk space. "
     "Linux is supported through the web version.",
     "Windows 10 or macOS 12 and newer, with 4 GB RAM and half a gigabyte free; on Linux use the web version.",
     "The desktop app requires a dedicated graphics card with 16 GB of video memory and runs only on Linux."),
    ("Is my data encrypted at rest?",
     "All customer data is encrypted at rest with AES-256. Encryption keys are rotated every 90 days. Backups are "
     "encrypted with separate keys.",
     "Yes, everything stored is AES-256 encrypted, keys rotate every ninety days, and backups use their own keys.",
     "Data is stored unencrypted to speed up searches, but the building has guards."),
    ("How do I contact customer support?",
     "Customer support is reachable by chat from 8 to 20 on weekdays. Email support answers within one business "
     "day. Phone support is included in premium plans.",
     "Chat with support weekdays from eight to eight, email for a reply within a working day, or phone on premium.",
     "Support is only available through our forum where volunteers answer questions monthly."),
]
KINDS = ("copied", "paraphrased", "made up", "off topic")


def labelled_set(seed: int) -> list[tuple[str, dict[str, Any], int]]:
    """Per topic, its document and another topic's as the retrieved context (shuffled), and four answers:
    one or two sentences copied from the document and the paraphrase (good, 1), the made-up answer and an
    answer to another topic's question (bad, 0)."""
    rng = random.Random(seed)
    out = []
    for t, (question, doc, paraphrase, made_up) in enumerate(TOPICS):
        others = [i for i in range(len(TOPICS)) if i != t]
        distractor, off = rng.choice(others), rng.choice(others)
        context = [{"id": f"doc-{t}", "score": 0.9, "text": doc},
                   {"id": f"doc-{distractor}", "score": 0.5, "text": TOPICS[distractor][1]}]
        rng.shuffle(context)
        copied = " ".join(rng.sample(sentences(doc), rng.randint(1, 2)))
        off_topic = rng.choice([TOPICS[off][2], " ".join(sentences(TOPICS[off][1])[:2])])
        for kind, response, good in zip(KINDS, (copied, paraphrase, made_up, off_topic), (1, 1, 0, 0)):
            out.append((kind, {"prompt": question, "response": response, "context": context}, good))
    return out


def test_the_offline_judge_agrees_with_the_labels_of_a_generated_set() -> None:
    """Measured (3 seeds, 192 answers; AUC by Mann-Whitney, accuracy at the judge's own 0.5): AUC 0.880,
    accuracy 0.833; passed: copied 1.0, paraphrased 0.44, made up 0.06, off topic 0.04. Paraphrases are
    the lexical measure's known blind spot (docs/LLM.md, "Judges"); the floors sit safely below."""
    judge = default_judge()
    rows = [(kind, judge(llm), good) for seed in range(3) for kind, llm, good in labelled_set(seed)]
    assert all(v is not None for _, v, _ in rows)
    scores = np.array([v.score for _, v, _ in rows if v is not None])
    good = np.array([g for _, _, g in rows])
    kinds = np.array([k for k, _, _ in rows])
    passed = np.array([bool(v.passed) for _, v, _ in rows if v is not None])
    auc, accuracy = roc_auc(good, scores), float((passed == good.astype(bool)).mean())
    by_kind = {k: round(float(passed[kinds == k].mean()), 2) for k in KINDS}
    assert (len(rows), round(auc, 4), round(accuracy, 4)) == (192, 0.8797, 0.8333), (auc, accuracy)
    assert by_kind == {"copied": 1.0, "paraphrased": 0.44, "made up": 0.06, "off topic": 0.04}, by_kind
    assert auc >= 0.8 and accuracy >= 0.75  # the honest floors, should the set or the measure change


def test_the_offline_judge_by_hand() -> None:
    judge = default_judge()
    # "Open Settings and choose Security." shares open, settings, choose, security with the document: grounded
    # 1; the question's content words (reset, password) are not in it: relevant 0; 2/3 * 1 + 1/3 * 0
    v = judge(_event(1)["llm"])
    assert (v.score, v.passed, v.reason) == (
        pytest.approx(2 / 3), True, "grounded 1.00 (supported sentences), relevant 0.00 (question words)")
    # a made-up sentence that echoes the question: grounded 0, relevant 1 -> 1/3
    v = judge({"prompt": QUESTION, "response": "A notary must stamp every password reset form.", "context": [DOC]})
    assert (v.score, v.passed) == (pytest.approx(1 / 3), False)
    # embeddings decide relevance when both are there: cosine of (1, 0) and (0.6, 0.8) is 0.6
    v = judge({**_event(1)["llm"], "query_embedding": [1.0, 0.0], "response_embedding": [0.6, 0.8]})
    assert v.score == pytest.approx(2 / 3 + 0.6 / 3) and "relevant 0.60 (embedding cosine)" in v.reason
    # without documents, relevance alone
    assert judge({"prompt": QUESTION, "response": "Reset the password in Settings."}).score == 1.0
    # a refusal when the documents hold the question's words scores 0; when they do not it is not judged
    refusal = "I don't have enough information to answer that."
    assert judge({"prompt": QUESTION, "response": refusal, "context": [DOC]}) == Verdict(
        0.0, False, "refused although the documents hold 100% of the question's words")
    assert judge({"prompt": QUESTION, "response": refusal,
                  "context": [{"id": "d", "text": "Invoices are sent monthly."}]}) is None
    assert judge({"prompt": QUESTION, "response": refusal}) is None
    assert judge({"prompt": QUESTION}) is None
    assert isinstance(judge, LexicalJudge) and judge.name == "lexical-v1"


# -- the sampler -------------------------------------------------------------------------------------------
def test_the_sample_is_a_keyed_hash_of_the_id_the_same_everywhere() -> None:
    s = Sampler(rate=0.1, salt="prod")
    digest = hashlib.blake2b(b"req-42", digest_size=8, key=b"prod").digest()
    assert s.position("req-42") == int.from_bytes(digest, "big") / 2 ** 64
    assert Sampler(rate=0.1, salt="prod").selected("req-42") == s.selected("req-42")
    assert s.position(7) == s.position("7")
    long_salt = "s" * 100  # over BLAKE2b's 64-byte key: hashed to one
    assert Sampler(salt=long_salt).position("a") == int.from_bytes(hashlib.blake2b(
        b"a", digest_size=8, key=hashlib.blake2b(long_salt.encode()).digest()).digest(), "big") / 2 ** 64
    ids = [f"req-{i}" for i in range(20_000)]
    chosen = {i for i in ids if s.selected(i)}
    # binomial(20000, 0.1): mean 2000, sd 42.4
    assert abs(len(chosen) - 2000) < 4 * math.sqrt(20_000 * 0.1 * 0.9)
    assert chosen < {i for i in ids if Sampler(rate=0.2, salt="prod").selected(i)}  # a higher rate adds to it
    other = {i for i in ids if Sampler(rate=0.1, salt="replay-2").selected(i)}
    assert len(chosen & other) < 300  # a new salt draws a new sample (about 200 shared by chance)
    for bad in (dict(rate=1.5), dict(max_per_window=-1)):
        with pytest.raises(ValueError):
            Sampler(**bad)  # type: ignore[arg-type]


def test_the_budget_takes_events_in_hash_order_whatever_their_arrival() -> None:
    s = Sampler(rate=1.0, max_per_window=3)
    ids = [f"e{i}" for i in range(8)]
    by_hash = sorted(range(8), key=lambda i: s.position(ids[i]))
    assert s.choose(ids) == (by_hash[:3], 5)
    shuffled = ids[::-1]
    chosen, over = s.choose(shuffled)
    assert {shuffled[i] for i in chosen} == {ids[i] for i in by_hash[:3]} and over == 5
    assert s.choose(ids, spent=2) == (by_hash[:1], 7)
    assert s.choose(ids, spent=5) == ([], 8)
    assert s.choose([None, "e1"]) == ([1], 0)  # no id: never sampled
    assert Sampler(rate=1.0, max_per_window=None).choose(ids)[1] == 0


# -- the window ----------------------------------------------------------------------------------------------
def test_the_window_intervals_by_hand_and_by_scipy() -> None:
    rng = np.random.default_rng(5)
    scores = rng.beta(5, 2, size=12)
    w = JudgeWindow("j")
    for x in scores:
        w.add(Verdict(float(x), bool(x >= 0.7)))
    m = w.mean_score
    low, high = sps.t.interval(0.95, 11, loc=scores.mean(), scale=scores.std(ddof=1) / math.sqrt(12))
    assert (m.value, m.low, m.high, m.n) == (pytest.approx(scores.mean()), pytest.approx(low), pytest.approx(high), 12)
    x, n = int((scores >= 0.7).sum()), 12
    p = x / n
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    r = w.pass_rate
    assert (r.value, r.low, r.high, r.method) == (p, pytest.approx(centre - half), pytest.approx(centre + half),
                                                  "wilson")
    # 7 of 20 by hand: p = 0.35, centre (0.35 + 0.09604) / 1.19208 = 0.37417, half 0.19787
    seven = JudgeWindow("j", judged=20, passes=7, score_sum=7.0, score_sq_sum=7.0)
    assert (round(seven.pass_rate.low, 4), round(seven.pass_rate.high, 4)) == (0.1812, 0.5671)
    # all scores 1: zero variance, a zero-width interval; near 0 the t interval is clipped at 0
    ones = JudgeWindow("j", judged=3, passes=3, score_sum=3.0, score_sq_sum=3.0).mean_score
    assert (ones.low, ones.high) == (1.0, 1.0)
    low_scores = JudgeWindow("j", judged=3, score_sum=0.1, score_sq_sum=0.01).mean_score
    assert low_scores.low == 0.0
    empty = JudgeWindow("j")
    assert math.isnan(empty.mean_score.value) and math.isnan(empty.mean_score.low)
    assert (empty.pass_rate.low, empty.pass_rate.high) == (0.0, 1.0)


OUTCOMES = st.lists(st.one_of(
    st.floats(0, 1).map(lambda s: Verdict(s, s >= 0.5)),
    st.none(),
    st.sampled_from(["TimeoutError", "JudgeError"])), max_size=30)


def _aggregate(outcomes: list[Verdict | str | None], skipped: int = 0) -> JudgeWindow:
    w = JudgeWindow("j", seen=len(outcomes) + skipped, skipped_budget=skipped)
    for o in outcomes:
        w.add_error(o) if isinstance(o, str) else w.add(o)
    return w


@settings(max_examples=60, deadline=None)
@given(OUTCOMES, OUTCOMES, st.integers(0, 5), st.integers(0, 5))
def test_merging_two_windows_is_aggregating_their_union(a: list[Any], b: list[Any], sa: int, sb: int) -> None:
    merged, union = _aggregate(a, sa).merge(_aggregate(b, sb)), _aggregate(a + b, sa + sb)
    d1, d2 = merged.to_dict(), union.to_dict()
    for k in ("score_sum", "score_sq_sum"):
        assert d1.pop(k) == pytest.approx(d2.pop(k), abs=1e-9)
    assert d1 == d2
    # the variance comes from running sums (what merges): the order of the additions moves its last digits,
    # and near-equal scores make the t interval's half-width amplify them
    assert (merged.mean_score.low == pytest.approx(union.mean_score.low, abs=1e-6, nan_ok=True))
    assert repr(merged.pass_rate) == repr(union.pass_rate)


def test_the_window_round_trips_through_json_and_refuses_another_judge() -> None:
    w = _aggregate([Verdict(0.9, True), None, "TimeoutError", Verdict(0.2, False)], skipped=3)
    back = JudgeWindow.from_dict(json.loads(json.dumps(w.to_dict())))
    assert back == w and back.calls == 4
    with pytest.raises(ValueError, match="judge 'j' and judge 'k'"):
        w.merge(JudgeWindow("k"))
    with pytest.raises(ValueError, match="not on one scale"):
        compare(w, JudgeWindow("k"))


# -- the drop test --------------------------------------------------------------------------------------
def test_a_drop_in_pass_rate_or_mean_is_found_and_a_rise_is_not() -> None:
    ref_scores = np.linspace(0.3, 1.0, 120)
    cur_scores = np.linspace(0.2, 0.95, 90)
    ref = _aggregate([Verdict(float(s), bool(s >= 0.6)) for s in ref_scores])
    cur = _aggregate([Verdict(float(s), bool(s >= 0.6)) for s in cur_scores])
    c = compare(ref, cur)
    welch = sps.ttest_ind(cur_scores, ref_scores, equal_var=False, alternative="less")
    x1, n1, x2, n2 = ref.passes, 120, cur.passes, 90
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    one_sided = [sps.norm.cdf(z), welch.pvalue]
    holm = sorted(one_sided)
    adjusted = {holm[0]: 2 * holm[0], holm[1]: max(2 * holm[0], holm[1])}
    assert c.p_pass_rate == pytest.approx(adjusted[one_sided[0]])
    assert c.p_mean_score == pytest.approx(adjusted[one_sided[1]])
    assert c.mean_score.difference == pytest.approx(cur_scores.mean() - ref_scores.mean())
    assert c.dropped == (min(adjusted.values()) <= 0.05)
    back = compare(cur, ref)
    assert not back.dropped and back.p_pass_rate > 0.5 and back.p_mean_score > 0.5
    d = c.to_dict()
    assert d["pass_rate"]["p_drop"] == c.p_pass_rate and d["dropped"] == c.dropped
    few = compare(_aggregate([Verdict(0.9, True)]), _aggregate([Verdict(0.1, False)]))
    assert not few.mean_score_dropped and math.isnan(few.p_mean_score)  # one verdict a side: no variance


# -- the runner ------------------------------------------------------------------------------------------
def test_nothing_a_judge_does_breaks_the_run() -> None:
    def judge(llm: Mapping[str, Any]) -> object:
        r = llm["response"]
        if r == "raise":
            raise ConnectionError("provider down")
        return {"big": 3.0, "text": "good", "none": None}.get(r, 0.75)

    events = [_event(i, r) for i, r in enumerate(["ok", "raise", "big", "text", "none", "ok"])]
    events.append({"id": "not-llm", "llm": "a string"})
    events.append({"timestamp": 1, "llm": {"prompt": "no id", "response": "ok"}})
    w = judge_events(events, as_judge(judge, "fragile"))
    assert (w.seen, w.judged, w.abstained, w.errors, w.passes) == (8, 2, 2, 3, 2)
    assert w.error_kinds == {"ConnectionError": 1, "JudgeError": 2}


def test_the_budget_holds_across_batches_and_the_window_given_is_not_changed() -> None:
    judge = default_judge()
    sampler = Sampler(rate=1.0, max_per_window=5)
    start = JudgeWindow(judge.name)
    w1 = judge_events([_event(i) for i in range(3)], judge, sampler, start)
    w2 = judge_events([_event(i) for i in range(3, 7)], judge, sampler, w1)
    assert start == JudgeWindow(judge.name)
    assert (w1.calls, w1.skipped_budget, w2.calls, w2.skipped_budget, w2.seen) == (3, 0, 5, 2, 7)
    # a replay of the same batches judges the same events
    again = judge_events([_event(i) for i in range(3, 7)][::-1], judge, sampler, w1)
    assert again == w2
    with pytest.raises(ValueError, match="cannot merge"):
        judge_events([_event(1)], judge, sampler, JudgeWindow("another"))


def test_a_slow_judge_costs_its_timeout_not_its_duration() -> None:
    release = threading.Event()

    def slow(llm: Mapping[str, Any]) -> float:
        if llm["response"] == "slow":
            release.wait(10)
        return 1.0

    events = [_event(i, "slow" if i % 2 else "fast") for i in range(6)]
    t0 = time.monotonic()
    w = judge_events(events, as_judge(slow, "slow"), timeout_s=0.2, workers=3)
    elapsed = time.monotonic() - t0
    release.set()
    # 3 slow calls run at once and time out together after 0.2 s; the fast ones finish around them
    assert (w.judged, w.errors, w.error_kinds) == (3, 3, {"TimeoutError": 3})
    assert elapsed < 1.0, elapsed
    w = judge_events([_event(i) for i in range(4)], as_judge(lambda llm: 0.9, "fast"), timeout_s=1.0, workers=2)
    assert (w.judged, w.passes, w.errors) == (4, 4, 0)
    with pytest.raises(ValueError, match="timeout_s must be positive"):
        judge_events([_event(1)], as_judge(lambda llm: 0.9, "x"), timeout_s=0)


def test_calls_stop_once_too_many_are_still_running_past_their_timeout() -> None:
    release = threading.Event()
    calls = []

    def stuck(llm: Mapping[str, Any]) -> float:
        calls.append(1)
        release.wait(10)
        return 1.0

    w = judge_events([_event(i) for i in range(6)], as_judge(stuck, "stuck"), timeout_s=0.05, workers=1,
                     max_abandoned=2)
    release.set()
    assert (len(calls), w.errors, w.error_kinds) == (2, 6, {"TimeoutError": 2, "JudgeUnresponsive": 4})


def test_every_public_class_of_the_judge_module_has_a_doctest() -> None:
    classes = [name for name, obj in vars(judge_module).items()
               if inspect.isclass(obj) and obj.__module__ == judge_module.__name__ and not name.startswith("_")]
    missing = [c for c in classes if ">>>" not in (getattr(judge_module, c).__doc__ or "")
               and not issubclass(getattr(judge_module, c), Exception) and c != "Judge"]
    assert len(classes) >= 8 and not missing, missing
