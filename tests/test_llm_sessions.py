"""Rephrasing judged by the next turn of the same session, and feedback in every shape as one score."""

from __future__ import annotations

from typing import Any

import pytest

from argusml.llm.sessions import feedback_score, lexical_similarity, rephrases, trigrams

T = 1_765_000_000.0


def ev(session: str | None, dt: float, prompt: str, **extra: Any) -> dict[str, Any]:
    return {"session": session, "timestamp": T + dt, "prompt": prompt, **extra}


def test_trigram_jaccard_by_hand() -> None:
    assert trigrams("Ab c") == {" ab", "ab ", "b c", " c "}
    # " ab " -> { ab, ab }; " ab c " -> { ab, ab , b c,  c }: 2 shared of 4
    assert lexical_similarity("ab", "ab c") == 0.5
    assert lexical_similarity("", "ab") == 0.0


def test_a_second_try_in_the_same_session_is_a_rephrase_and_the_rest_are_not() -> None:
    events = [
        ev("s1", 0, "how to reset my password"),
        ev("s1", 40, "reset password"),                  # asks again: the first turn was rephrased
        ev("s1", 100, "what are your opening hours"),   # a new question: the second was not
        ev("s2", 10, "reset password"),                 # another session: not compared with s1
        ev("s1", 1000, "opening hours"),                # same question as before, but 900 s later: new question
        ev(None, 5, "reset password"),                  # no session: cannot be judged
        ev("s3", 2000, "cancel my order"),              # last of its session, 100 s ago: may still go on
    ]
    assert rephrases(events, now=T + 2100) == [1.0, 0.0, 0.0, 0.0, 0.0, None, None]
    # once its window has passed without a next turn, the last turn was not rephrased
    assert rephrases(events, now=T + 2400)[6] == 0.0


def test_events_out_of_order_are_judged_by_time() -> None:
    events = [ev("s", 40, "reset password"), ev("s", 0, "how to reset my password")]
    assert rephrases(events, now=T + 100) == [None, 1.0]


def test_embeddings_decide_when_both_turns_have_them() -> None:
    same, other = [1.0, 0.0, 0.1], [0.0, 1.0, 0.0]
    events = [ev("s", 0, "how do I get my money back", query_embedding=same),
              ev("s", 30, "refund please", query_embedding=[0.9, 0.05, 0.1]),   # cosine 0.997: same question
              ev("s", 60, "refund please", query_embedding=other)]             # lexically equal, cosine 0.05
    assert rephrases(events, now=T + 1000) == [1.0, 0.0, 0.0]


@pytest.mark.parametrize(("feedback", "score"), [
    ("up", 1.0), ("thumbs-down", -1.0), (True, 1.0), (False, -1.0), (0.4, 0.4), (3, 1.0),
    ({"score": -2}, -1.0), ({"rating": 1}, -1.0), ({"rating": 3}, 0.0), ({"rating": 5}, 1.0),
    ({"rating": 7, "scale": 10}, 0.333333), ({"thumbs": "down"}, -1.0),
    ({"comment": "Great, that solved it"}, 1.0), ({"comment": "ok"}, 0.0), ("not helpful at all", -1.0),
    ("It isn't wrong, it never fails", 1.0),
    (None, None), ({}, None),
])
def test_feedback_in_every_shape_is_one_score(feedback: Any, score: float | None) -> None:
    assert feedback_score(feedback) == score
