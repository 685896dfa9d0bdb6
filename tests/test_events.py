"""Event validation: the columns built for the fold are exactly the accepted events' values."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argusml.monitor.events import EventRecord, Schema, normalize_prediction, validate_events
from argusml.schema import Kind, Role

pytestmark = pytest.mark.service

KINDS = {"a": Kind.NUMERIC, "b": Kind.NUMERIC, "c": Kind.CATEGORICAL, "d": Kind.BOOLEAN}
SCHEMA = Schema({n: SimpleNamespace(role=Role.FEATURE, kind=k) for n, k in KINDS.items()} |
                {"p": SimpleNamespace(role=Role.PREDICTION, kind=Kind.NUMERIC)}, None)
scalars = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**6, 10**6),
                    st.text(max_size=5), st.booleans(), st.lists(st.integers(), max_size=2))
features = st.dictionaries(st.sampled_from([*KINDS, "extra"]), scalars, max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.lists(features, min_size=0, max_size=12), st.booleans())
def test_columns_are_the_accepted_events_values_whatever_is_missing(feats, reject):
    items = [{"id": str(i), "timestamp": 1.8e9, "features": f, "prediction": 0.5} for i, f in enumerate(feats)]
    batch, indexes, rejected, warnings = validate_events(items, {"": SCHEMA}, now=1.8e9, future_skew=60,
                                                         reject_violations=reject)
    kept = [feats[i] for i in indexes]
    assert [r.id for r in batch.records] == [str(i) for i in indexes]
    assert {n: list(c) for n, c in batch.columns.items()} == {
        **{n: [f.get(n) for f in kept] for n in KINDS}, "p": [0.5] * len(kept)}
    # a list value is never a feature value: that event is rejected, whatever the configuration
    assert all(not any(type(v) is list for v in f.values()) for f in kept)
    assert sorted(indexes + [p.index for p in rejected]) == list(range(len(items)))
    assert batch.extra == ({"extra"} if any("extra" in f for f in kept) else set())
    # a value its column's kind cannot read, or a feature of the reference that is absent: a warning for a
    # kept event, or (reject) the event's rejection
    listy = {i for i, f in enumerate(feats) if any(type(x) is list for x in f.values())}
    wrong = {(i, f"features.{n}") for i, f in enumerate(feats) for n, v in f.items()
             if n in KINDS and v is not None and type(v) is not list and not readable(KINDS[n], v) and i not in listy}
    absent = {i: [n for n in KINDS if n not in f] for i, f in enumerate(feats) if i not in listy and not KINDS.keys() <= f.keys()}
    if reject:
        assert not warnings and not ({i for i, _ in wrong} | set(absent)) & set(indexes)
    else:
        assert {(w.index, w.field) for w in warnings if w.reason == "type_error"} == wrong
        assert {w.index: (w.field, w.error) for w in warnings if w.reason == "missing_features"} == {
            i: ("features", f"{len(a)} of the reference's 4 features are absent: {', '.join(a)}; kept, they count as "
                            "missing values in the window (send null for a value that is missing on purpose)")
            for i, a in absent.items()}
        assert {w.reason for w in warnings} <= {"type_error", "missing_features"}


def readable(kind: Kind, v: object) -> bool:
    t = type(v)
    if kind is Kind.NUMERIC:
        return t in (int, float)
    if kind is Kind.CATEGORICAL:
        return t in (str, int, bool)
    return t is bool or (t is int and v in (0, 1)) or (t is str and v.lower() in ("true", "false"))


def test_class_probabilities_are_read_in_the_classes_own_spelling():
    """scikit-learn names the classes of a float or boolean target 1.0 or True (and the SDK sends them so):
    they are the reference's "1" and "true", stored that way, and the positive class's probability is the score."""
    specs = {"x": SimpleNamespace(role=Role.FEATURE, kind=Kind.NUMERIC),
             "p": SimpleNamespace(role=Role.PREDICTION, kind=Kind.NUMERIC)}
    for classes, sent, stored in ((("0", "1"), {"0.0": 0.25, "1.0": 0.75}, {"0": 0.25, "1": 0.75}),
                                  (("false", "true"), {"False": 0.25, "True": 0.75}, {"false": 0.25, "true": 0.75})):
        rec = EventRecord("a", "v", 0.0, {}, sent, None, None, None)
        assert normalize_prediction(rec, Schema(specs, None, probability=True, classes=classes)) is None
        assert (rec.prediction, rec.pred_value, rec.pred_label) == (stored, 0.75, classes[1])
    # two keys that are one class, and a class that is not one of the model's, are not a distribution of its classes
    schema = Schema(specs, None, probability=True, classes=("0", "1"))
    for sent, err in (({"1": 0.5, "1.0": 0.5}, "class '1' has two probabilities (as '1.0' and as another key): "
                                               "send one per class"),
                      ({"0": 0.5, "2.0": 0.5}, "class '2.0' is not one of the model's classes; allowed: 0, 1")):
        assert normalize_prediction(EventRecord("a", "v", 0.0, {}, sent, None, None, None), schema) == err
