"""Events as they arrive: decoded, checked, redacted (labels and outcomes: ``labels.py``).

A batch is judged event by event. What is Argus's own contract is rejected
with its index, field and reason, and the rest of the batch is kept: the
envelope (no id, a timestamp that is not one, features that are not an
object, an unknown top-level field) and the prediction (a string for a
numeric score, a probability outside [0, 1], class probabilities that are
not a distribution or name classes the model does not have). Features are
different: they are the data under watch, and a wrong one is exactly what a
monitor exists to notice. So by default an event with a feature value of
the wrong type, or without some of the reference's features, is kept: the
value counts as a type error, the absent feature as a missing value in the
window's profile (a finding when the window closes), and the answer carries
a per-index warning. ``on_schema_violation: reject`` turns those into
rejections.

This runs for every event in the request's thread, so it is written for
speed: one pass, type checks by ``type() is``, no pydantic per event.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from argusml.llm.events import LLMInputError, LLMPlan
from argusml.profile.labelled import number_text
from argusml.schema import Kind, Role

MAX_ID_CHARS = 256
MAX_VERSION_CHARS = 64
MAX_STRING_CHARS = 4096
MAX_FEATURES = 2000
MAX_EXTRA_NAMES = 200
EVENT_FIELDS = ("id", "timestamp", "version", "features", "prediction", "segment", "latency_ms", "status",
                "resources", "stages", "fallback", "cost", "llm")
RESOURCES = {"cpu": "share of the CPUs the serving process may use, busy serving this request (0 to 1)",
             "memory": "bytes of memory the serving process held",
             "gpu": "share of a GPU the request kept busy for its latency (0 to 1)",
             "gpu_memory": "bytes of GPU memory the serving process held"}
"""What ``resources`` may say of an event, and in which unit: shares are fractions, memory is in bytes."""
FRACTIONS = frozenset({"cpu", "gpu"})
MAX_STAGES = 16
"""Stages one event may name (``stages: {name: ms}``); each model also keeps at most ``MAX_STAGE_NAMES``
distinct names (``monitor/ops.py``), so the stage label of Prometheus stays bounded."""
STAGE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
UNVERSIONED = "unversioned"
PROBABILITY_SLACK = 1e-9
"""A probability score may stray this far outside [0, 1]: float arithmetic (1 - p, a sigmoid in float32
promoted to float64) lands there, and rejecting 1.0000000000000002 would reject a correct model."""
PROBABILITY_SUM_TOLERANCE = 1e-3
"""How far the class probabilities of one prediction may sum from 1. Clients round what they send (ten
classes at four decimals can be 5e-4 off) and softmax in float32 is off by ~1e-7 per class; a map that is
off by more is not a distribution: a multi-label model's independent sigmoids, or a mix-up of maps
(0.9 + 0.8 = 1.7). Its top class and the positive class's score would then mean nothing."""
MAX_NAMED = 20
"""Values named in one message (absent features, allowed classes); the rest are counted."""


class EventRecord:
    """One accepted event, already redacted; ``payload`` is what is stored raw."""

    __slots__ = ("cost", "fallback", "features", "id", "judge_input", "latency_ms", "llm", "payload", "pred_label",
                 "pred_value", "prediction", "resources", "segment", "seq", "stages", "status", "ts", "version")

    def __init__(self, id: str, version: str, ts: float, features: dict[str, Any], prediction: Any,
                 segment: dict[str, Any] | None, latency_ms: float | None, status: int | None,
                 resources: dict[str, float] | None = None, stages: dict[str, float] | None = None,
                 fallback: bool = False, cost: float | None = None, llm: dict[str, Any] | None = None) -> None:
        self.id = id
        self.version = version
        self.ts = ts
        self.features = features
        self.prediction = prediction
        self.segment = segment
        self.latency_ms = latency_ms
        self.status = status
        self.resources = resources
        self.stages = stages
        self.fallback = fallback  # answered by the user's fallback, not the model (docs/OPERATIONS.md)
        self.cost = cost
        self.llm = llm  # what is stored of an LLM event's llm object (``argusml.llm.events``)
        self.judge_input: dict[str, Any] | None = None  # the whole llm object of an event sampled for the judge
        self.pred_value: float | None = None
        self.pred_label: str | None = None
        self.payload = b""
        self.seq = 0

    def dump_payload(self) -> bytes:
        d: dict[str, Any] = {"features": self.features}
        if self.prediction is not None:
            d["prediction"] = self.prediction
        if self.segment:
            d["segment"] = self.segment
        if self.latency_ms is not None:
            d["latency_ms"] = self.latency_ms
        if self.status is not None:
            d["status"] = self.status
        if self.resources:
            d["resources"] = self.resources
        if self.stages:
            d["stages"] = self.stages
        if self.fallback:
            d["fallback"] = True
        if self.cost is not None:
            d["cost"] = self.cost
        if self.llm is not None:
            d["llm"] = self.llm
        return orjson.dumps(d)

    @classmethod
    def from_stored(cls, seq: int, version: str, id: str, ts: float, d: dict[str, Any]) -> EventRecord:
        r = cls(id, version, ts, d.get("features", {}), d.get("prediction"), d.get("segment"),
                d.get("latency_ms"), d.get("status"), d.get("resources"), d.get("stages"), d.get("fallback") is True,
                d.get("cost"), d.get("llm"))
        r.payload = orjson.dumps(d)
        r.seq = seq
        return r


class Problem:
    """A rejected (or, for warnings, kept) item: index in the batch, field, reason."""

    __slots__ = ("error", "field", "index", "reason")

    def __init__(self, index: int, field: str | None, error: str, reason: str) -> None:
        self.index, self.field, self.error, self.reason = index, field, error, reason

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "error": self.error}


class BodyError(ValueError):
    """The body as a whole cannot be read (not JSON, not UTF-8, too deep)."""


def decode_body(body: bytes, ndjson: bool) -> tuple[list[Any], list[Problem]]:
    """A JSON list (or one object) or NDJSON lines. For NDJSON a bad line is a
    per-index problem and the other lines are kept; for a JSON body an
    unreadable document is a BodyError (the caller answers 400)."""
    if not ndjson:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BodyError(_json_error(exc, body)) from None
        if isinstance(doc, dict):
            return [doc], []
        if not isinstance(doc, list):
            raise BodyError(f"expected a JSON list of objects (or one object), got {_type_name(doc)}")
        return doc, []
    items: list[Any] = []
    problems: list[Problem] = []
    index = 0
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            problems.append(Problem(index, None, f"line {index + 1}: {_json_error(exc, line)}", "invalid_json"))
            items.append(_SKIP)
        index += 1
    return items, problems


_SKIP = object()


def _json_error(exc: orjson.JSONDecodeError, doc: bytes) -> str:
    msg = str(exc)
    try:
        doc.decode("utf-8")
    except UnicodeDecodeError as u:
        return f"not valid UTF-8 at byte {u.start}"
    if "NaN" in doc.decode("utf-8", "replace") or "Infinity" in doc.decode("utf-8", "replace"):
        return f"not valid JSON ({msg}); NaN and Infinity are not JSON: send null for a missing value"
    return f"not valid JSON: {msg}"


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def parse_timestamp(v: Any, now: float) -> float:
    """RFC 3339 or epoch seconds; no zone means UTC. Raises ValueError saying what is accepted."""
    if v is None:
        return now
    t = type(v)
    if t is int or t is float:
        x = float(v)
        if not math.isfinite(x):
            raise ValueError("timestamp must be finite")
        if x > 1e11:
            raise ValueError(f"timestamp {v} looks like milliseconds; send epoch seconds or RFC 3339")
        if x < 0:
            raise ValueError(f"timestamp {v} is before 1970")
        return x
    if t is str:
        if len(v) > 64:
            raise ValueError("timestamp string is too long for RFC 3339")
        try:
            d = datetime.fromisoformat(v)
        except ValueError:
            raise ValueError(f"timestamp {v!r} is not RFC 3339 (e.g. 2026-01-31T12:00:00Z) or epoch seconds") from None
        if d.tzinfo is None:
            d = d.replace(tzinfo=timezone.utc)
        x = d.timestamp()
        if x < 0:  # as for epoch seconds; "0001-01-01T00:00:00+23:59" is in year 0 UTC, which datetime cannot show
            raise ValueError(f"timestamp {v!r} is before 1970")
        return x
    raise ValueError(f"timestamp must be an RFC 3339 string or epoch seconds, got {_type_name(v)}")


def _scalar_ok(kind: Kind, v: Any) -> bool:
    """Does a JSON value have a type the reference's kind accepts?"""
    t = type(v)
    if kind is Kind.NUMERIC:
        return (t is float and math.isfinite(v)) or t is int
    if kind is Kind.CATEGORICAL:
        return t is str or t is int or t is bool
    if kind is Kind.BOOLEAN:
        return t is bool or (t is int and v in (0, 1)) or (t is str and v.lower() in ("true", "false"))
    if kind is Kind.DATETIME:
        return t is str or t is int or t is float
    return t is str  # text


def _named(values: Sequence[str]) -> str:
    """Values for a message: all of a short list, the first ``MAX_NAMED`` and a count of a long one."""
    head = ", ".join(str(v) for v in values[:MAX_NAMED])
    return head if len(values) <= MAX_NAMED else f"{head} and {len(values) - MAX_NAMED} more"


class Schema:
    """What one reference expects of an event, precomputed for the hot loop.

    ``probability``: the prediction is a binary classifier's probability score, so a number outside [0, 1]
    is not this model's output (a regression's prediction outside the reference's range is drift, a
    finding, and is never rejected). ``classes``: the model's classes when the reference knows all of them
    (a ``{class: probability}`` prediction may name only these); None when it does not (no target, a
    regression, a class list cut short)."""

    def __init__(self, specs: dict[str, Any], positive_class: str | None, *, probability: bool = False,
                 classes: Sequence[str] | None = None) -> None:
        self.features: dict[str, Kind] = {n: s.kind for n, s in specs.items() if s.role is Role.FEATURE}
        self.prediction: str | None = next((n for n, s in specs.items() if s.role is Role.PREDICTION), None)
        self.prediction_kind: Kind | None = specs[self.prediction].kind if self.prediction else None
        self.positive_class = positive_class
        self.columns = [*self.features, *([self.prediction] if self.prediction else [])]
        self.probability = probability and self.prediction_kind is Kind.NUMERIC
        self.classes: tuple[str, ...] | None = tuple(classes) if classes else None
        self._class_set = frozenset(classes) if classes else None


class Target(NamedTuple):
    """What a label must be: a value of the target column's kind and, for a classifier whose reference
    lists all its classes, one of ``classes`` (spelled as ``label_text`` spells labels). ``classes`` None:
    any value of the kind (a regression target takes any finite number)."""

    name: str
    kind: Kind
    classes: tuple[str, ...] | None = None


def class_spelling(key: str) -> str:
    """A class name in the one spelling labels and references use (``label_text``): ``"1.0"`` is ``"1"``,
    ``"True"`` is ``"true"``. Clients name classes as their model does (scikit-learn's ``classes_`` of a
    float or boolean target print as ``1.0`` and ``True``)."""
    low = key.lower()
    if low in ("true", "false"):
        return low
    try:
        f = float(key)
    except ValueError:
        return key
    return number_text(f) if math.isfinite(f) else key


def normalize_prediction(rec: EventRecord, schema: Schema) -> str | None:
    """Set the record's numeric value and class label from its prediction;
    the error for a prediction that breaks the reference's contract, else None
    (then nothing is set)."""
    p = rec.prediction
    t = type(p)
    if p is None:
        return None
    if t is dict:
        if not p:
            return "a probability map needs at least one class"
        probs: dict[str, float] = {}
        for k, v in p.items():
            if type(v) not in (int, float) or not (0.0 <= v <= 1.0):
                return f"probability of class {k[:40]!r} must be a number in [0, 1], got {v!r}"
            probs[k] = float(v)
        known = schema._class_set
        if known is not None and not probs.keys() <= known:
            spelled: dict[str, float] = {}
            for k, v in probs.items():
                c = class_spelling(k)
                if c not in known:
                    return (f"class {k[:40]!r} is not one of the model's classes; allowed: "
                            f"{_named(schema.classes or ())}")
                if c in spelled:
                    return f"class {c!r} has two probabilities (as {k[:40]!r} and as another key): send one per class"
                spelled[c] = v
            probs = spelled
            rec.prediction = spelled  # stored and indexed as the classes are spelled, as labels are
        total = math.fsum(probs.values())
        if abs(total - 1.0) > PROBABILITY_SUM_TOLERANCE:
            return (f"class probabilities must sum to 1 (within {PROBABILITY_SUM_TOLERANCE:g}), these sum to "
                    f"{total:.6g}: send one probability per class"
                    + (f" ({_named(schema.classes)})" if schema.classes else ""))
        label = max(probs, key=probs.__getitem__)
        rec.pred_label = label
        if schema.prediction_kind is Kind.NUMERIC or schema.prediction_kind is None:
            pos = schema.positive_class
            if pos is None and len(probs) == 2:
                pos = next((c for c in ("1", "true", "True", "yes", "positive") if c in probs), sorted(probs)[-1])
            rec.pred_value = probs.get(pos, probs[label]) if pos is not None else probs[label]
        else:
            rec.pred_value = probs[label]
        return None
    if t is bool:
        rec.pred_label = "true" if p else "false"
        rec.pred_value = 1.0 if p else 0.0
        return None
    if t is int or t is float:
        if not math.isfinite(p):
            return "prediction must be finite"
        if schema.probability and not (-PROBABILITY_SLACK <= p <= 1.0 + PROBABILITY_SLACK):
            return (f"prediction {p!r} is outside [0, 1]: {schema.prediction!r} is the probability score of a "
                    "binary classifier (so says the reference)")
        rec.pred_value = float(p)
        if schema.prediction_kind is not Kind.NUMERIC:
            rec.pred_label = str(p)
        return None
    if t is str:
        if len(p) > MAX_STRING_CHARS:
            return f"prediction string of {len(p)} characters is longer than {MAX_STRING_CHARS}"
        if schema.prediction_kind is Kind.NUMERIC:
            return (f"prediction {p[:40]!r} is a string, but {schema.prediction!r} is numeric in the reference: "
                    + ("send the score, a number in [0, 1], or {class: probability}" if schema.probability
                       else "send a number"))
        rec.pred_label = p
        return None
    return f"prediction must be a number, a class label or an object of class probabilities, got {_type_name(p)}"


class EventBatch:
    """Accepted events and their feature values column by column.

    The columns are built once, in the request thread, where the values are
    validated anyway; the fold thread turns each into one Arrow array, so no
    per-event work is left for it."""

    __slots__ = ("columns", "dirty", "extra", "records", "schema")

    def __init__(self, records: list[EventRecord], columns: dict[str, list[Any]], extra: set[str],
                 schema: Schema | None, dirty: set[str] | None = None) -> None:
        self.records, self.columns, self.extra, self.schema = records, columns, extra, schema
        # columns holding a value of a type their kind does not take (checked value by value)
        self.dirty = dirty if dirty is not None else set(columns)

    def __len__(self) -> int:
        return len(self.records)

    def select(self, keep: list[bool]) -> EventBatch:
        if all(keep):
            return self
        return EventBatch([r for r, k in zip(self.records, keep) if k],
                          {n: [v for v, k in zip(col, keep) if k] for n, col in self.columns.items()},
                          self.extra, self.schema, self.dirty)


def _longest(vals: list[Any], types: set[type]) -> int:
    if types == {str}:
        return max(map(len, vals), default=0)
    return max((len(v) for v in vals if type(v) is str), default=0)


def columns_of(records: list[EventRecord], schema: Schema) -> dict[str, list[Any]]:
    """Schema columns of records (the replay path; ingest builds them while validating)."""
    cols = {name: [r.features.get(name) for r in records] for name in schema.features}
    if schema.prediction is not None:
        numeric = schema.prediction_kind is Kind.NUMERIC
        cols[schema.prediction] = [r.pred_value if numeric else r.pred_label for r in records]
    return cols


_NONE = type(None)
_OK_TYPES = {Kind.NUMERIC: {float, int, _NONE}, Kind.CATEGORICAL: {str, int, bool, _NONE},
             Kind.BOOLEAN: {bool, _NONE}, Kind.DATETIME: {str, int, float, _NONE}, Kind.TEXT: {str, _NONE},
             Kind.IDENTIFIER: {str, _NONE}}


def _not_an_item(i: int, item: Any, what: str, fields: tuple[str, ...]) -> Problem:
    """Why an item is not an event (label): not an object, or a field we do not know (with the nearest one)."""
    if type(item) is not dict:
        return Problem(i, None, f"{what} must be an object, got {_type_name(item)}", "not_an_object")
    bad = next(k for k in item if k not in fields)
    hint = difflib.get_close_matches(str(bad), fields, n=1)
    return Problem(i, str(bad)[:100], "unknown field" + (f"; did you mean {hint[0]!r}?" if hint else
                   f"; known: {', '.join(fields)}"), "unknown_field")


def validate_events(items: list[Any], schemas: dict[str, Schema], *, now: float, future_skew: float,
                    reject_violations: bool, redact: Any = None, first_problems: list[Problem] | None = None,
                    llm: LLMPlan | None = None) -> tuple[EventBatch, list[int], list[Problem], list[Problem]]:
    """The accepted events (as a batch), their indexes in the request,
    rejections and warnings, each sorted by index.

    Two passes: the envelope of each event (id, time, version, prediction,
    ...) one event at a time, then the feature values one column at a time,
    where a set of the value types answers "all fine?" for the whole column
    at C speed and only a column with a problem is walked value by value.
    ``schemas`` maps a version to its reference's schema; '' is the model's
    own, used by versions without one. ``llm``: the model is an LLM model, whose
    events carry an ``llm`` object that becomes their columns (``LLMPlan.read``)."""
    records: list[EventRecord] = []
    indexes: list[int] = []
    rejected = list(first_problems or [])
    default = schemas[""]
    per_version = len(schemas) > 1
    numeric_prediction = not per_version and default.prediction_kind is Kind.NUMERIC
    # the common case's bounds; a value outside them is judged (and its error written) by normalize_prediction
    lo, hi = (-PROBABILITY_SLACK, 1.0 + PROBABILITY_SLACK) if default.probability else (-math.inf, math.inf)
    latest = now + future_skew
    for i, item in enumerate(items):
        if item is _SKIP:
            continue
        if type(item) is not dict or len(item) > len(EVENT_FIELDS) or not item.keys() <= _EVENT_KEYS:
            rejected.append(_not_an_item(i, item, "an event", EVENT_FIELDS))
            continue
        eid = item.get("id")
        te = type(eid)
        if te is int:
            eid = str(eid)
        elif te is not str:
            rejected.append(Problem(i, "id", "required: a string id (unique per model and version)" if eid is None
                                    else f"id must be a string, got {_type_name(eid)}", "missing_id"))
            continue
        if not eid or len(eid) > MAX_ID_CHARS:
            rejected.append(Problem(i, "id", f"id must have 1 to {MAX_ID_CHARS} characters", "bad_id"))
            continue
        version = item.get("version", UNVERSIONED)
        if version is None:
            version = UNVERSIONED
        elif type(version) is not str or not version or len(version) > MAX_VERSION_CHARS:
            rejected.append(Problem(i, "version", f"version must be a string of 1 to {MAX_VERSION_CHARS} characters",
                                    "bad_version"))
            continue
        ts = item.get("timestamp")
        if type(ts) is not float or not (0.0 <= ts <= 1e11):  # the common case (epoch float) needs no parsing
            try:
                ts = parse_timestamp(ts, now)
            except ValueError as exc:
                rejected.append(Problem(i, "timestamp", str(exc), "bad_timestamp"))
                continue
        if ts > latest:
            rejected.append(Problem(i, "timestamp", f"timestamp is {ts - now:.0f}s ahead of the server clock "
                                    f"(allowed: {future_skew:.0f}s)", "future_timestamp"))
            continue
        llm_kept = None
        if llm is not None:
            try:
                feats, llm_kept, llm_whole = llm.read(item.get("llm"), item.get("features"))
            except LLMInputError as exc:
                rejected.append(Problem(i, exc.field, str(exc), "bad_llm"))
                continue
        elif "llm" in item:
            rejected.append(Problem(i, "llm", "an llm object is for a model of kind: llm (docs/LLM.md); this model "
                                    "is tabular", "unknown_field"))
            continue
        else:
            feats = item.get("features")
        if type(feats) is not dict:
            rejected.append(Problem(i, "features", "required: an object of feature values" if feats is None
                                    else f"features must be an object, got {_type_name(feats)}", "bad_features"))
            continue
        if len(feats) > MAX_FEATURES:
            rejected.append(Problem(i, "features", f"{len(feats)} features; at most {MAX_FEATURES}", "bad_features"))
            continue
        seg = item.get("segment")
        if seg is not None:
            if type(seg) is not dict or len(seg) > 32 or any(
                    type(v) not in (str, int, bool) or (type(v) is str and len(v) > 256) for v in seg.values()):
                rejected.append(Problem(i, "segment", "segment must be an object of at most 32 names to short "
                                        "strings or integers", "bad_segment"))
                continue
        lat = item.get("latency_ms")
        if lat is not None and (type(lat) not in (int, float) or not (0 <= lat < 1e9)):
            rejected.append(Problem(i, "latency_ms", "latency_ms must be a non-negative number of milliseconds",
                                    "bad_latency"))
            continue
        status = item.get("status")
        if status is not None and (type(status) is not int or not (100 <= status <= 599)):
            rejected.append(Problem(i, "status", "status must be an HTTP-like integer code 100-599 (200 = success)",
                                    "bad_status"))
            continue
        res, stages, fallback, cost = item.get("resources"), item.get("stages"), item.get("fallback"), item.get("cost")
        if res is not None or stages is not None or fallback is not None or cost is not None:
            problem = _ops_problem(i, res, stages, fallback, cost)
            if problem is not None:
                rejected.append(problem)
                continue
        pred = item.get("prediction")
        rec = EventRecord(eid, version, ts, feats, pred, seg, lat, status, res or None, stages or None,
                          fallback is True, cost, llm_kept)
        if llm is not None and llm.judged(eid):
            rec.judge_input = llm_whole  # in memory until the judge has read it (monitor/judging.py)
        if type(pred) is float and numeric_prediction and lo <= pred <= hi:
            rec.pred_value = pred  # the common case, without the call (strict JSON has no NaN/Infinity)
        else:
            err = normalize_prediction(rec, schemas.get(version, default) if per_version else default)
            if err is not None:
                rejected.append(Problem(i, "prediction", err, "bad_prediction"))
                continue
        records.append(rec)
        indexes.append(i)

    # -- feature values, column by column ----------------------------------------------------
    bad: dict[int, Problem] = {}  # position in records -> why the event is rejected
    violations: dict[int, list[Problem]] = {}
    feats_list = [r.features for r in records]
    columns: dict[str, list[Any]] = {}

    def check_one(j: int, name: str, v: Any, kind: Kind | None = None) -> None:
        if v is None:
            return
        tv = type(v)
        if tv is dict or tv is list:
            bad.setdefault(j, Problem(indexes[j], f"features.{name}"[:200],
                                      f"a feature value must be a scalar, got {_type_name(v)}", "bad_features"))
        elif tv is str and len(v) > MAX_STRING_CHARS:
            bad.setdefault(j, Problem(indexes[j], f"features.{name}"[:200], f"string of {len(v)} characters is "
                                      f"longer than {MAX_STRING_CHARS}", "too_long"))
        elif kind is not None and not _scalar_ok(kind, v):
            violations.setdefault(j, []).append(Problem(indexes[j], f"features.{name}", f"expected a {kind.value} "
                                                        f"value, got {_type_name(v)} {str(v)[:40]!r}", "type_error"))

    def walk(name: str, kind: Kind | None, vals: list[Any]) -> None:
        for j, v in enumerate(vals):
            check_one(j, name, v, kind)

    dirty: set[str] = set()
    names = list(default.features)
    absent_of: dict[int, list[str]] = {}  # event -> the reference's features it lacks (folded as missing)
    try:  # every feature present (the common case): one C-level pass per event, then a transpose
        if len(names) > 1 and feats_list:
            by_column = [list(c) for c in zip(*map(itemgetter(*names), feats_list))]
        else:
            raise KeyError
    except KeyError:
        by_column = [[f.get(name) for f in feats_list] for name in names]
        known_names = default.features.keys()
        for j, f in enumerate(feats_list):
            if not known_names <= f.keys():
                absent_of[j] = [n for n in names if n not in f]
    for (name, kind), vals in zip(default.features.items(), by_column):
        types = set(map(type, vals))
        # (no finiteness check: strict JSON cannot carry NaN or Infinity, and profiles count them anyway)
        if not types <= _OK_TYPES[kind] or (str in types and _longest(vals, types) > MAX_STRING_CHARS):
            walk(name, kind, vals)
            dirty.add(name)
        columns[name] = vals
    known = default.features
    extra_of: dict[int, list[str]] = {}  # event -> names the reference does not know
    for j, f in enumerate(feats_list):
        if len(f) > len(known) or not f.keys() <= known.keys():
            for k, v in f.items():
                if k in known:
                    continue
                extra_of.setdefault(j, []).append(k)
                check_one(j, k, v)
    if per_version:  # versions with a reference of their own: their kinds decide their warnings
        for j, r in enumerate(records):
            own = schemas.get(r.version)
            if own is None or own is default:
                continue
            violations.pop(j, None)
            for name, v in r.features.items():
                kind = own.features.get(name)
                if v is not None and kind is not None and type(v) not in (dict, list) and not _scalar_ok(kind, v):
                    violations.setdefault(j, []).append(Problem(indexes[j], f"features.{name}", f"expected a "
                                                                f"{kind.value} value, got {_type_name(v)}", "type_error"))
            absent_of.pop(j, None)
            if not own.features.keys() <= r.features.keys():
                absent_of[j] = [n for n in own.features if n not in r.features]
    for j, absent in absent_of.items():  # after the type errors: a rejection names the first problem
        n_known = len(schemas.get(records[j].version, default).features) if per_version else len(names)
        violations.setdefault(j, []).append(Problem(
            indexes[j], "features", f"{len(absent)} of the reference's {n_known} features are absent: "
            f"{_named(absent)}" + (" (on_schema_violation: reject)" if reject_violations else
                                   "; kept, they count as missing values in the window (send null for a value "
                                   "that is missing on purpose)"), "missing_features"))
    warnings: list[Problem] = []
    if reject_violations:
        for j, probs in violations.items():
            bad.setdefault(j, probs[0])
    else:
        for j, probs in violations.items():
            if j not in bad:  # a rejected event is answered with its rejection, not warned about too
                warnings.extend(probs)
    extra: set[str] = set()
    for j, names_j in extra_of.items():
        if j not in bad:  # only events that are kept bring names into the window
            extra.update(names_j[:MAX_EXTRA_NAMES - len(extra)])
            if len(extra) >= MAX_EXTRA_NAMES:
                break
    batch = EventBatch(records, columns, extra, default, dirty)
    if bad:
        rejected.extend(bad.values())
        keep = [j not in bad for j in range(len(records))]
        batch = batch.select(keep)
        indexes = [i for i, k in zip(indexes, keep) if k]
    if redact is not None:
        for r in batch.records:
            redact(r)
        if redact.pii_action is not None:  # a type error quotes the value it is about
            for p in (*rejected, *warnings):
                p.error = redact.scrub(p.error)
        for name in (list(batch.columns) if redact.pii_all else redact.feature_names):
            if name in batch.columns:
                # a pii ``stats`` value is a summary of the text, not a value of the column: missing to the profile
                column = [None if type(v := r.features.get(name)) is dict else v for r in batch.records]
                if column != batch.columns[name]:
                    batch.columns[name] = column
                    batch.dirty.add(name)
    if default.prediction is not None:
        numeric = default.prediction_kind is Kind.NUMERIC
        batch.columns[default.prediction] = [r.pred_value if numeric else r.pred_label for r in batch.records]
    for r in batch.records:
        r.payload = r.dump_payload()
    rejected.sort(key=lambda p: p.index)
    warnings.sort(key=lambda p: p.index)
    return batch, indexes, rejected, warnings


_EVENT_KEYS = frozenset(EVENT_FIELDS)


def _ops_problem(i: int, res: Any, stages: Any, fallback: Any, cost: Any) -> Problem | None:
    """Why an event's ops fields are not what the contract says (None: they are); each may be absent."""
    if res is not None and (problem := _resources_problem(i, res)) is not None:
        return problem
    if stages is not None and (problem := _stages_problem(i, stages)) is not None:
        return problem
    if fallback is not None and fallback is not True and fallback is not False:
        return Problem(i, "fallback", f"fallback must be true or false, got {_type_name(fallback)} "
                       f"{str(fallback)[:40]!r}", "bad_fallback")
    if cost is not None and (type(cost) not in (int, float) or not (0 <= cost < 1e15)):
        return Problem(i, "cost", f"cost must be a non-negative number (what serving this event cost, in the "
                       f"model's cost currency), got {_type_name(cost)} {str(cost)[:40]!r}", "bad_cost")
    return None


def _resources_problem(i: int, res: Any) -> Problem | None:
    """Why an event's ``resources`` is not one (None: it is): an object of ``RESOURCES`` keys to numbers,
    shares in [0, 1], bytes non-negative."""
    if type(res) is not dict:
        return Problem(i, "resources", f"resources must be an object of {{{', '.join(RESOURCES)}}} to numbers, got "
                       f"{_type_name(res)}", "bad_resources")
    for k, v in res.items():
        if k not in RESOURCES:
            hint = difflib.get_close_matches(str(k), RESOURCES, n=1)
            return Problem(i, f"resources.{str(k)[:64]}", "unknown resource" + (f"; did you mean {hint[0]!r}?" if hint
                           else "") + f"; allowed: {', '.join(RESOURCES)}", "bad_resources")
        if type(v) not in (int, float):
            return Problem(i, f"resources.{k}", f"{k} must be a number ({RESOURCES[k]}), got {_type_name(v)}",
                           "bad_resources")
        if k in FRACTIONS:
            if not 0 <= v <= 1:
                return Problem(i, f"resources.{k}", f"{k} must be a share between 0 and 1 ({RESOURCES[k]}), got {v!r}; "
                               "send 0.35 for 35%", "bad_resources")
        elif not 0 <= v < 1e18:
            return Problem(i, f"resources.{k}", f"{k} must be a non-negative number of bytes, got {v!r}",
                           "bad_resources")
    return None


def _stages_problem(i: int, stages: Any) -> Problem | None:
    """Why an event's ``stages`` is not one (None: it is): an object of at most ``MAX_STAGES`` plain names to
    non-negative milliseconds."""
    if type(stages) is not dict:
        return Problem(i, "stages", f"stages must be an object of stage names to milliseconds (e.g. "
                       f'{{"preprocess": 3.2, "model": 41.0}}), got {_type_name(stages)}', "bad_stages")
    if len(stages) > MAX_STAGES:
        return Problem(i, "stages", f"{len(stages)} stages; at most {MAX_STAGES} per event", "bad_stages")
    for k, v in stages.items():
        if not STAGE_NAME.match(k):
            return Problem(i, f"stages.{k[:64]}", "a stage name must be 1-64 letters, digits, '_', '.' or '-', "
                           "starting with a letter or '_'", "bad_stages")
        if type(v) not in (int, float) or not (0 <= v < 1e9):
            return Problem(i, f"stages.{k}", f"stage {k!r} must be a non-negative number of milliseconds, got "
                           f"{_type_name(v)} {str(v)[:40]!r}", "bad_stages")
    return None
