"""An LLM model's baseline: learned from its own first windows of traffic, or from a file of past events.

A classifier's "normal" is its training table; an LLM application has none worth profiling (the prompts
it was tuned on are not the questions users ask). Its baseline is its own traffic: the derived columns of
its first ``llm.baseline.windows`` windows that hold events (at least ``min_events`` events; the learning
runs on, window by window, until it has them), or of a file of past events.

While it learns, a model has a *learning* reference: the derived columns and their kinds, no profile.
Events are validated against it and stored as always (and counted: rates, latency, tokens and cost run
from the first event), but nothing is folded into windows and nothing is checked: a window compared with
the baseline it is part of finds nothing, and one compared with a baseline of a few minutes finds noise.
When the learning windows have closed (their end plus the lateness), the baseline is profiled from the
stored events (``raw_after``: the raw log is the truth, and a restart during the learning loses nothing),
persisted like any baseline, and the events stored after the learning windows are folded into their
windows as if they had just arrived. From then on the model is watched like any other.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from argusml.llm.events import EMBEDDING_FIELDS, LLMInputError, LLMPlan
from argusml.llm.judge import Judge, JudgeWindow, judge_events, load_judge
from argusml.llm.sessions import SessionTracker, Turn
from argusml.monitor.events import EventRecord, parse_timestamp
from argusml.monitor.windows import OVERALL, profile_vectors
from argusml.profile import Reference
from argusml.profile.column import ColumnSpec
from argusml.profile.dataset import DatasetProfile
from argusml.profile.sessions import SessionCounts
from argusml.schema import ConfigError, InputError, Kind, Role
from argusml.schema.model_config import ModelConfig

if TYPE_CHECKING:
    from argusml.monitor.state import ModelState

log = logging.getLogger("argus.monitor")

LEARNING_SOURCE = "llm:learning"
"""The ``source`` of a learning reference (never stored: a learning model has no baseline in the store)."""

_ARROW = {Kind.NUMERIC: pa.float64(), Kind.BOOLEAN: pa.bool_(), Kind.CATEGORICAL: pa.string()}
_DTYPE = {Kind.NUMERIC: "double", Kind.BOOLEAN: "bool", Kind.CATEGORICAL: "string"}
MAX_FILE_PROBLEMS = 5
BASELINE_JUDGED = 1000
"""Events of a file of past traffic judged for the baseline at most: a custom judge may be an LLM call."""
BASELINE_EMBEDDING_ROWS = 2000
"""Rows of each embedding the baseline samples: the MMD's bound (``stats.embedding.MAX_PER_SIDE``)."""


def judge_of(config: ModelConfig) -> Judge | None:
    """The model's judge (None: none), imported now: a ConfigError naming the model when it cannot be."""
    j = config.llm_settings.judge if config.kind == "llm" else None
    if j is None:
        return None
    try:
        return load_judge(j.function, j.threshold)
    except ValueError as exc:
        raise ConfigError(f"model {config.model!r}: llm.{exc}") from None


def past_traffic_args(config: ModelConfig) -> dict[str, Any]:
    """What ``baseline_from_file`` and ``baseline_from_events`` need of the config beside the plan."""
    j = config.llm_settings.judge
    return {"session_timeout": config.llm_settings.session_timeout or config.lateness, "judge": judge_of(config),
            "judge_timeout": None if j is None or j.function == "default" else j.timeout}


def plan_of(config: ModelConfig) -> LLMPlan | None:
    """How the model reads its LLM events; None for a tabular model. PII in the texts is looked for with
    the detectors of ``privacy.pii`` when the config names them, else with all."""
    if config.kind != "llm":
        return None
    s = config.llm_settings
    pii = config.privacy.pii
    return LLMPlan(text=s.text, no_answer_below=s.no_answer_below,
                   judge_rate=s.judge.sample_rate if s.judge is not None else 0.0,
                   judge_salt=s.judge.salt if s.judge is not None else "",
                   **({"detectors": tuple(pii.detectors)} if pii is not None else {}))


def learning_reference(plan: LLMPlan) -> Reference:
    """The reference of a model that is learning its baseline: the derived columns' kinds, no profile."""
    specs = {n: ColumnSpec(n, k, Role.FEATURE, _DTYPE[k]) for n, k in plan.columns.items()}
    return Reference(specs, DatasetProfile(0, {}), source=LEARNING_SOURCE)


def is_learning(reference: Reference) -> bool:
    return reference.source == LEARNING_SOURCE and reference.profile.n_rows == 0


def baseline_of(records: list[EventRecord], plan: LLMPlan, source: str, session_timeout: float,
                until: float = math.inf, judge: Judge | None = None, judge_timeout: float | None = None
                ) -> Reference:
    """The baseline profiled from events: their columns (derived and their own features; the derived ones
    keep their fixed kinds whatever the events hold: a first hour without a refusal still makes ``refusal``
    a yes/no column, the events' own are inferred as for a table), their embeddings, and their sessions,
    replayed in time order so that ``rephrase`` and the abandonment of the baseline are decided exactly as
    they will be for the windows. ``until``: the end of the traffic (the learning windows' end); a session
    silent for the timeout by then has ended (all of them, for a file of past events). ``judge``: the
    events sampled for it (``judge_input``, at most ``BASELINE_JUDGED``) are judged now, the baseline's
    judged quality."""
    if not records:
        raise InputError("no events: a baseline needs traffic to learn from", path=source)
    records = sorted(records, key=lambda r: r.ts)
    tracker = SessionTracker(timeout=session_timeout)
    for r in records:
        r.features["rephrase"] = None
    _judge_turns(tracker, records)
    ended = tracker.expire(until)
    rows = [r.features for r in records]
    kinds = plan.columns
    names = list(kinds)
    for row in rows:
        for n in row:
            if n not in kinds and n not in names:
                names.append(n)
    arrays = {}
    for n in names:
        values = [row.get(n) for row in rows]
        if n in kinds:
            arrays[n] = pa.array(values, type=_ARROW[kinds[n]])
        else:
            try:
                arrays[n] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: what they are as text
                arrays[n] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    ref = Reference.from_frame(pa.table(arrays), kinds={n: k for n, k in kinds.items()}, with_sketch=True)
    ref.source = source
    for name in EMBEDDING_FIELDS:
        with_vectors = [r for r in records if r.llm and r.llm.get(name) is not None]
        e = profile_vectors([r.id for r in with_vectors], [r.llm[name] for r in with_vectors if r.llm],
                            BASELINE_EMBEDDING_ROWS)
        if e is not None:
            ref.profile.embeddings[name] = e
    if ended:
        ref.profile.sessions = SessionCounts(len(ended), sum(t.failed for t in ended))
    sampled = [{"id": r.id, "llm": r.judge_input} for r in records if r.judge_input is not None]
    if judge is not None and sampled:
        ref.profile.judge = judge_events(sampled[:BASELINE_JUDGED], judge, timeout_s=judge_timeout)
    return ref


def _past_events(items: list[tuple[str, Any]], plan: LLMPlan, problems: list[str], prefix: str
                 ) -> list[EventRecord]:
    """Past events read as ``POST .../events`` reads them (their ``llm`` object, features, time, status);
    each that cannot be is one line in ``problems``. Without a timestamp an event is placed by its position."""
    out = []
    for n, (where, item) in enumerate(items):
        if type(item) is not dict:
            problems.append(f"{prefix}{where}: an event must be an object, got {type(item).__name__}")
            continue
        try:
            feats, stored, whole = plan.read(item.get("llm"), item.get("features"))
            ts = parse_timestamp(item["timestamp"], 0.0) if item.get("timestamp") is not None else float(n)
        except LLMInputError as exc:
            problems.append(f"{prefix}{where}: {exc.field}: {exc}")
            continue
        except ValueError as exc:
            problems.append(f"{prefix}{where}: timestamp: {exc}")
            continue
        status = item.get("status") if type(item.get("status")) is int else None
        r = EventRecord(str(item.get("id", n)), str(item.get("version") or "unversioned"), ts, feats, None,
                        None, None, status, llm=stored)
        if plan.judged(r.id):
            r.judge_input = whole
        out.append(r)
    return out


def baseline_from_file(path: str, plan: LLMPlan, session_timeout: float, judge: Judge | None = None,
                       judge_timeout: float | None = None) -> Reference:
    """The baseline of a file of past LLM events (a JSON list, or NDJSON: one event per line). A
    ConfigError lists the first problems with their place: a baseline learned from half a file would be a
    baseline of the wrong traffic."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the file of past events: {exc.strerror or exc}") from None
    items: list[tuple[str, Any]] = []
    problems: list[str] = []
    if data.lstrip().startswith(b"["):
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{p}: not valid JSON: {exc}") from None
        items = [(f"event {i}", it) for i, it in enumerate(doc)]
    else:
        for n, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((f"line {n}", orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                problems.append(f"{p}: line {n}: not valid JSON: {exc}")
    records = _past_events(items, plan, problems, f"{p}: ")
    if problems:
        more = len(problems) - MAX_FILE_PROBLEMS
        raise ConfigError("\n".join(problems[:MAX_FILE_PROBLEMS] + ([f"{p}: ... and {more} more"] if more > 0 else [])))
    try:
        return baseline_of(records, plan, str(p), session_timeout, judge=judge, judge_timeout=judge_timeout)
    except InputError as exc:
        raise ConfigError(f"{p}: {exc}") from None


def baseline_from_events(items: list[Any], plan: LLMPlan, session_timeout: float, judge: Judge | None = None,
                         judge_timeout: float | None = None) -> Reference:
    """The baseline of past events sent over HTTP (``PUT /v1/models/{model}``'s ``baseline`` as a list):
    an InputError names the first event that is not one."""
    problems: list[str] = []
    records = _past_events([(f"[{i}]", it) for i, it in enumerate(items)], plan, problems, "baseline")
    if problems:
        raise InputError(problems[0].replace("]: ", "].", 1))
    return baseline_of(records, plan, "baseline", session_timeout, judge=judge, judge_timeout=judge_timeout)


def failed(r: EventRecord) -> bool:
    """The answer failed the user: declined, an error, nothing retrieved (or nothing good enough), or rated
    negatively. A session that ends on one was abandoned."""
    f = r.features
    return bool(f.get("refusal") or f.get("empty_retrieval") or f.get("no_answer")
                or (r.status is not None and r.status >= 500) or (f.get("feedback") or 0) < 0)


def _judge_turns(tracker: SessionTracker, records: list[EventRecord]) -> bool:
    judged = False
    for r in sorted((r for r in records if r.llm and r.llm.get("session")), key=lambda r: r.ts):
        assert r.llm is not None
        rep = tracker.turn(str(r.llm["session"]), Turn(r.ts, r.version, r.llm.get("query_sig"),
                                                        r.llm.get("query_embedding"), failed(r), r.id))
        if rep is not None:
            r.features["rephrase"] = rep
            judged = True
    return judged


def mark_sessions(state: ModelState, records: list[EventRecord]) -> bool:
    """Each turn with a session judged by the session's previous one: ``rephrase`` is True when it asks
    again what was just asked, False when it asks something new, None for a first turn. Records are taken
    in time order (a batch may hold several turns of one session). True when any was judged."""
    assert state.sessions is not None
    return _judge_turns(state.sessions, records)


def end_sessions(state: ModelState, now: float) -> int:
    """Count the sessions silent since the timeout into the window of their last turn (or, while the model
    learns, into its learning); returns those whose window had already closed (counted nowhere)."""
    tracker = state.sessions
    if tracker is None or not tracker.open:
        return 0
    lost = 0
    w = state.config.window
    for t in tracker.expire(now):
        start = math.floor(t.ts / w) * w
        counts = SessionCounts(1, int(t.failed))
        if state.learning is not None:
            continue  # the baseline replays its own sessions from the stored events (``baseline_of``)
        win = state.folder.open.get((t.version, OVERALL, start))
        if win is None:
            lost += 1
            continue
        win.add_part(DatasetProfile(0, {}, sessions=counts))
    return lost


def attach_verdicts(state: ModelState, now: float) -> None:
    """The judge's verdicts into their windows (live or backfill) once those are folded; counted as late
    (``judge_late``) when their window closed first. Called by the fold thread, under its lock."""
    w, lateness = state.config.window, state.config.lateness
    for key in list(state.judge_pending):
        version, start = key
        win = state.folder.open.get((version, OVERALL, start)) or state.backfill.open.get((version, OVERALL, start))
        if win is not None:
            win.add_part(DatasetProfile(0, {}, judge=state.judge_pending.pop(key)))
        elif now >= start + w + lateness or start + w <= state.folder.closed_through - lateness:
            state.metrics.judge_late += state.judge_pending.pop(key).calls


@dataclass
class Learning:
    """What a learning model has seen: its events per window start (folded counts, by event time), and
    the events already read into a baseline (``through_seq``), which the fold must not fold again."""

    window: float
    windows: int
    min_events: int
    lateness: float
    counts: dict[float, int] = field(default_factory=dict)
    judged: dict[tuple[str, float], JudgeWindow] = field(default_factory=dict)  # verdicts by (version, window)

    def count(self, timestamps: Iterable[float]) -> None:
        w = self.window
        for ts in timestamps:
            b = math.floor(ts / w) * w
            self.counts[b] = self.counts.get(b, 0) + 1

    @property
    def events(self) -> int:
        return sum(self.counts.values())

    def end(self) -> float | None:
        """The end of the learning windows: ``windows`` windows from the first that holds an event, longer
        until they hold ``min_events`` events; None while they do not."""
        if not self.counts:
            return None
        first = min(self.counts)
        end = first + self.windows * self.window
        total = sum(n for b, n in self.counts.items() if b < end)
        if total >= self.min_events:
            return end
        for b in sorted(self.counts):
            if b < end:
                continue
            total += self.counts[b]
            if total >= self.min_events:
                return b + self.window
        return None

    def due(self, now: float) -> float | None:
        """The learning windows' end once they have all closed (end plus lateness); None before."""
        end = self.end()
        return end if end is not None and now >= end + self.lateness else None

    def status(self, now: float) -> dict[str, Any]:
        end = self.end()
        first = min(self.counts) if self.counts else None
        return {"state": "learning", "events": self.events, "min_events": self.min_events,
                "windows": self.windows, "since": first,
                "ends_at": None if end is None else end + self.lateness}
