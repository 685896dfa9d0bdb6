"""Labels and business outcomes as they arrive: decoded by the service as events are (``decode_body``),
then checked here item by item. What a label must be comes from its version's target (``Target``): a label
that cannot be a value of it is rejected with its index instead of corrupting every metric. Both name the
prediction they are about by its id, which the model's privacy rules may hash (``id_hashed``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from argusml.monitor.events import (
    _SKIP,
    MAX_ID_CHARS,
    MAX_STRING_CHARS,
    MAX_VERSION_CHARS,
    Problem,
    Target,
    _named,
    _not_an_item,
    _type_name,
    parse_timestamp,
)
from argusml.monitor.privacy import TOKEN_CHARS
from argusml.profile.labelled import number_text
from argusml.schema import Kind

LABEL_FIELDS = ("id", "label", "timestamp", "version", "id_hashed")
_TOKEN = re.compile(f"[0-9a-f]{{{TOKEN_CHARS}}}")  # what a hashed id looks like (``Redactor.id``)


class LabelRecord:
    """A label (``name`` None) or a business outcome (``name`` set) for the prediction ``id``.
    ``label`` is text: a class as predictions spell it, or a number (``number_text``)."""

    __slots__ = ("id", "label", "name", "ts", "version")

    def __init__(self, id: str, version: str | None, label: str, ts: float, name: str | None = None) -> None:
        self.id, self.version, self.label, self.ts, self.name = id, version, label, ts, name


def label_text(v: Any, kind: Kind) -> str | None:
    """A label in the one spelling predictions and stored references use, or None when its type cannot be a
    value of a target of ``kind`` (a string for a numeric target; anything but true/false/0/1 for a boolean)."""
    t = type(v)
    if t is bool:
        if kind is Kind.NUMERIC:
            return "1" if v else "0"
        return "true" if v else "false"
    if t is int or t is float:
        if kind is Kind.BOOLEAN:
            return None if v not in (0, 1) else ("true" if v == 1 else "false")
        return number_text(v)
    if t is str:
        if kind is Kind.NUMERIC:
            return None
        if kind is Kind.BOOLEAN:
            low = v.lower()
            return low if low in ("true", "false") else None
        return v
    return None


def _envelopes(items: list[Any], what: str, fields: tuple[str, ...], now: float, redact_id: Any,
               rejected: list[Problem]) -> Iterator[tuple[int, dict[str, Any], str, str | None, float]]:
    """(index, item, id, version, timestamp) of the items whose envelope is sound: an object of the known
    ``fields`` with the prediction's id, an optional version and an optional timestamp. The others are
    added to ``rejected`` with their index. Labels and outcomes share it."""
    keys = frozenset(fields)
    for i, item in enumerate(items):
        if item is _SKIP:
            continue
        if type(item) is not dict or not item.keys() <= keys:
            rejected.append(_not_an_item(i, item, what, fields))
            continue
        lid = item.get("id")
        if type(lid) is int:
            lid = str(lid)
        if type(lid) is not str or not lid or len(lid) > MAX_ID_CHARS:
            rejected.append(Problem(i, "id", f"required: the prediction's id, a string of 1 to {MAX_ID_CHARS} "
                                    "characters", "missing_id"))
            continue
        version = item.get("version")
        if version is not None and (type(version) is not str or not version or len(version) > MAX_VERSION_CHARS):
            rejected.append(Problem(i, "version", f"version must be a string of 1 to {MAX_VERSION_CHARS} "
                                    "characters", "bad_version"))
            continue
        try:
            ts = parse_timestamp(item.get("timestamp"), now)
        except ValueError as exc:
            rejected.append(Problem(i, "timestamp", str(exc), "bad_timestamp"))
            continue
        hashed = item.get("id_hashed", False)
        if type(hashed) is not bool:
            rejected.append(Problem(i, "id_hashed", f"id_hashed must be true or false, got {_type_name(hashed)}",
                                    "bad_id_hashed"))
            continue
        if hashed and redact_id is not None:
            # the token Argus handed out (`GET .../sample` under privacy.hash [id]): kept as it is; only a
            # token's shape is accepted, so a raw identifier cannot skip the hashing this way
            if not _TOKEN.fullmatch(lid):
                rejected.append(Problem(i, "id", "with id_hashed the id must be a token Argus handed out "
                                        f"({TOKEN_CHARS} lowercase hex characters)", "bad_id"))
                continue
            yield i, item, lid, version, ts
            continue
        yield i, item, (redact_id(lid) if redact_id is not None else lid), version, ts


def validate_labels(items: list[Any], targets: dict[str, Target | None], *, now: float,
                    first_problems: list[Problem] | None = None, redact_id: Any = None
                    ) -> tuple[list[LabelRecord], list[Problem]]:
    """Labels: ``id``, ``label`` (number, string, boolean), optional ``timestamp`` and ``version``.

    ``targets`` maps a version ("" for the model's own reference) to its
    target (``Target``), or None when the reference declares no target: a
    label is checked against the target of its version (the model's when it
    names none), so a class name sent for a numeric target, or a 7 for a 0/1
    target, is rejected here, with its index, instead of corrupting every
    metric (or being stored as a "correction" of a valid label)."""
    out: list[LabelRecord] = []
    rejected = list(first_problems or [])
    default = targets.get("")
    for i, item, lid, version, ts in _envelopes(items, "a label", LABEL_FIELDS, now, redact_id, rejected):
        if "label" not in item:
            rejected.append(Problem(i, "label", "required: the true value (number, class or boolean)", "missing_label"))
            continue
        lab = item["label"]
        tl = type(lab)
        if tl is float and not math.isfinite(lab):
            rejected.append(Problem(i, "label", "label must be finite", "bad_label"))
            continue
        if tl not in (int, float, str, bool) or (tl is str and len(lab) > MAX_STRING_CHARS):
            rejected.append(Problem(i, "label", f"label must be a number, a class label or a boolean, got "
                                    f"{_type_name(lab)}", "bad_label"))
            continue
        target = targets.get(version, default) if version is not None else default
        if target is None:
            rejected.append(Problem(i, "label", "the model's reference declares no target, so a label has nothing "
                                    "to be checked or scored against: rebuild the baseline with `argus baseline "
                                    "DATA --target COL --prediction COL` and register it", "no_target"))
            continue
        text = label_text(lab, target.kind)
        if text is None:
            rejected.append(Problem(i, "label", f"label {lab!r} is {_type_name(lab)}, but the target "
                                    f"{target.name!r} is {target.kind.value}", "wrong_label_type"))
            continue
        if target.classes is not None and text not in target.classes:
            rejected.append(Problem(i, "label", f"label {lab[:40] if tl is str else lab!r} is not a class of the target "
                                    f"{target.name!r}; allowed: {_named(target.classes)}", "unknown_class"))
            continue
        out.append(LabelRecord(lid, version, text, ts))
    return out, rejected


OUTCOME_FIELDS = ("id", "name", "value", "timestamp", "version", "id_hashed")
MAX_OUTCOME_NAME = 64


def validate_outcomes(items: list[Any], *, now: float, first_problems: list[Problem] | None = None,
                      redact_id: Any = None, names: set[str] | None = None, max_names: int = 32
                      ) -> tuple[list[LabelRecord], list[Problem]]:
    """Business outcomes: ``id`` of the prediction, ``name`` (``conversion``, ``revenue``), ``value``
    (a number; true/false count as 1/0; absent means 1: "it happened"), optional ``timestamp``, ``version``.
    A model has at most ``max_names`` outcome names (``names``: those it has): each is summarised per
    window, version and segment, so they must be a small fixed set."""
    out: list[LabelRecord] = []
    known = set(names or ())
    rejected = list(first_problems or [])
    for i, item, lid, version, ts in _envelopes(items, "an outcome", OUTCOME_FIELDS, now, redact_id, rejected):
        name = item.get("name")
        if type(name) is not str or not name or len(name) > MAX_OUTCOME_NAME:
            rejected.append(Problem(i, "name", f"required: the outcome's name (e.g. 'conversion', 'revenue'), a "
                                    f"string of 1 to {MAX_OUTCOME_NAME} characters", "missing_name"))
            continue
        if name not in known:
            if len(known) >= max_names:
                rejected.append(Problem(i, "name", f"the model already has {max_names} outcome names "
                                        f"({', '.join(sorted(known)[:5])}, ...); outcomes are a small fixed set",
                                        "too_many_outcome_names"))
                continue
            known.add(name)
        v = item.get("value", 1)
        tv = type(v)
        if tv is bool:
            v = 1 if v else 0
        elif not ((tv is int or tv is float) and math.isfinite(v)):
            rejected.append(Problem(i, "value", f"value must be a finite number or a boolean, got {_type_name(v)}",
                                    "bad_value"))
            continue
        out.append(LabelRecord(lid, version, number_text(v), ts, name))
    return out, rejected
