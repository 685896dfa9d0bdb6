"""Ingest, on the request thread: a request's events (or labels, or outcomes) are validated, redacted,
deduplicated and queued for the writer (``writer.py``), whose future tells the request when they are durable.

What is refused is decided here, before the answer, so the client learns it: an event whose window has
closed (``too_late``: it can be backfilled instead), a backfill too wide for the windows a model may hold
open, a version past ``max_versions``. Past the backlog's limit the answer is ``Busy`` (429).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from argusml.monitor.backlog import Backlog, Busy
from argusml.monitor.dedup import key_of
from argusml.monitor.events import EventBatch, EventRecord, Problem
from argusml.monitor.judging import Judging
from argusml.monitor.labels import LabelRecord, validate_labels, validate_outcomes
from argusml.monitor.registry import Registry
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState, Validated
from argusml.monitor.writer import BackfillBatch, WriteItem, Writer
from argusml.schema import ArgusError
from argusml.schema.model_config import format_duration

MAX_OUTCOME_NAMES = 32


class BackfillAhead(Busy):
    """A backfill is ahead of its windows' closing: retry in a moment (429, as for a full queue)."""

    def __init__(self, open_windows: int, limit: int) -> None:
        self.retry_after = 1
        ArgusError.__init__(self, f"the backfill holds {open_windows} open windows (limit {limit}) until they close; "
                                  "retry shortly")


class BackfillTooWide(ArgusError):
    """One backfill request spans more windows than a model may hold open: the client must send fewer events
    per request (413)."""


BACKFILL_MARK = b',"backfill":true}'
"""Ends a backfilled event's raw payload (a JSON object), so a replay after a crash folds it as it was."""


@dataclass
class IngestAnswer:
    """What a request is answered (``body``) once ``future`` resolves, when its write is durable (None:
    nothing to write; ``all_rejected``: every item was rejected, a 422)."""

    body: dict[str, Any]
    future: Future[dict[str, Any]] | None
    all_rejected: bool = False


_TS = operator.attrgetter("ts")


class Ingest:
    """The request thread's side of the monitor: it holds no state of its own beyond the models'."""

    def __init__(self, settings: Settings, clock: Callable[[], float], registry: Registry, backlog: Backlog,
                 writer: Writer, judging: Judging | None = None) -> None:
        self.judging = judging
        self.settings = settings
        self.clock = clock
        self.registry = registry
        self.backlog = backlog
        self.writer = writer

    def _check_busy(self) -> None:
        self.backlog.check(self.settings.max_pending_events)

    def check_busy(self, model: str) -> ModelState:
        """Raise UnknownModel or Busy before a request's events are validated elsewhere."""
        state = self.registry.model(model)
        self._check_busy()
        return state

    def events(self, model: str, items: list[Any], first_problems: list[Problem] | None = None) -> IngestAnswer:
        state = self.registry.model(model)
        self._check_busy()
        # every version's events are validated against that version's reference schema
        return self.accept(model, state.validation_plan().validate(items, self.clock(), first_problems))

    def backfill(self, model: str, items: list[Any], first_problems: list[Problem] | None = None
                 ) -> IngestAnswer:
        """Events of the past (``POST .../backfill``): validated as events are, then placed by their own time."""
        state = self.registry.model(model)
        self._check_busy()
        return self.accept(model, state.validation_plan().validate(items, self.clock(), first_problems),
                           backfill=True)

    def accept(self, model: str, v: Validated, *, backfill: bool = False) -> IngestAnswer:
        """Dedup validated events and queue them for the writer; the answer's body and the future of
        their write. ``v`` must come from the model's current plan (``validation_plan().generation``).
        ``backfill``: no lateness applies (``Fold.fold_backfill``); only events older than the profiles'
        retention are refused, as their windows would be deleted at once."""
        state = self.registry.model(model)
        if v.generation != state.generation:
            raise ValueError("events validated against a replaced reference")
        cfg = state.config
        batch, indexes, rejected, warnings = v.batch, v.indexes, v.rejected, v.warnings
        # validated in a worker: the same schema (same generation), and folding needs this process's object
        batch.schema = state.schemas[""]
        if not backfill:  # a backfill places old events by their own time: "too late" is for live ones
            batch, indexes = self._too_late(state, batch, indexes, rejected)
        records = batch.records
        if backfill:
            width = self._backfill_width(state, records)
            held = len(state.backfill.open) + state.backfill_queued
            if held and held + width > self._backfill_limit(state, records):
                raise BackfillAhead(held, self._backfill_limit(state, records))
            oldest = self.clock() - cfg.retention.profiles
            keep = [r.ts >= oldest for r in records]
            if not all(keep):
                for i, k, r in zip(indexes, keep, records):
                    if not k:
                        rejected.append(Problem(i, "timestamp", f"timestamp {_iso(r.ts)} is older than "
                                                f"retention.profiles ({format_duration(cfg.retention.profiles)}): "
                                                "its window would be deleted at once", "too_old"))
                batch = batch.select(keep)
                records = batch.records
                indexes = [i for i, k in zip(indexes, keep) if k]
        versions = {r.version for r in records}
        if not versions <= state.versions and len(state.versions | versions) > cfg.max_versions:
            room = cfg.max_versions - len(state.versions)
            allowed = set(state.versions) | set(sorted(versions - state.versions)[:max(room, 0)])
            keep = [r.version in allowed for r in records]
            for i, k in zip(indexes, keep):
                if not k:
                    rejected.append(Problem(i, "version", f"model already has {cfg.max_versions} versions "
                                            "(max_versions); retire one or raise the limit", "too_many_versions"))
            batch = batch.select(keep)
            records = batch.records
        n_valid = len(records)
        keys = [key_of(r.version, r.id) for r in records]
        seen = state.dedup.check_and_add(keys, self.clock())
        new_keys = [k for k, s in zip(keys, seen) if not s]
        batch = batch.select([not x for x in seen])
        dups = n_valid - len(batch)
        state.versions.update(r.version for r in batch.records)
        m = state.metrics
        m.duplicates += dups
        for p in rejected:
            m.reject(p.reason)
        rejected.sort(key=lambda p: p.index)
        body = {"accepted": len(batch), "duplicates": dups, "rejected": [p.to_dict() for p in rejected]}
        if warnings:
            body["warnings"] = [p.to_dict() for p in warnings[:1000]]
            if len(warnings) > 1000:
                body["warnings_omitted"] = len(warnings) - 1000
        if not n_valid and rejected:
            return IngestAnswer(body, None, all_rejected=True)
        if backfill:
            for r in batch.records:
                r.payload = r.payload[:-1] + BACKFILL_MARK
            batch = BackfillBatch(batch.records, batch.columns, batch.extra, batch.schema, batch.dirty,
                                  width=self._backfill_width(state, batch.records) if len(batch) else 0)
            with self.backlog.lock:
                state.backfill_queued += batch.width
        if self.judging is not None and state.judge is not None:
            self.judging.submit(state, batch.records)
        item = WriteItem(state, batch, None, new_keys)
        self.writer.submit(item)
        return IngestAnswer(body, item.future)

    def _too_late(self, state: ModelState, batch: EventBatch, indexes: list[int], rejected: list[Problem]
                  ) -> tuple[EventBatch, list[int]]:
        """Reject the events whose window has closed (its end plus the lateness has passed), adding each to
        ``rejected`` and to the too-late counter. Stored, they would never be folded, and only that counter
        showed it; decided here, before the answer, so the client learns it and can backfill them. The rule
        is the fold's (``Folder.fold``): a window is open until its end plus the lateness, so the oldest
        event taken is the start of the window that ``max(now, closed_through) - lateness`` falls in. An
        event taken here whose window closes before it folds (a race of milliseconds) is counted there."""
        records = batch.records
        if not records:
            return batch, indexes
        folder = state.folder
        w, lateness = folder.window, folder.lateness
        oldest = math.floor((max(self.clock(), folder.closed_through) - lateness) / w) * w
        if min(map(_TS, records)) >= oldest:
            return batch, indexes
        keep = [r.ts >= oldest for r in records]
        for i, r, k in zip(indexes, records, keep):
            if not k:
                end = math.floor(r.ts / w) * w + w
                rejected.append(Problem(
                    i, "timestamp", f"timestamp {_iso(r.ts)} is older than the window's lateness: use backfill "
                    f"(POST /v1/models/{state.name}/backfill). Its {format_duration(w)} window closed at "
                    f"{_iso(end + lateness)} ({format_duration(lateness)} after its end); live events must be "
                    f"from {_iso(oldest)} on", "too_late"))
        state.metrics.too_late += keep.count(False)
        return batch.select(keep), [i for i, k in zip(indexes, keep) if k]

    def _per_bucket(self, state: ModelState, records: list[EventRecord]) -> int:
        """Windows one bucket of these events may open: the whole traffic's, and one per segment value
        (seen before or in these events, up to the cap and its ``__other__``)."""
        n = 1
        for dim, seen in state.folder.segment_values.items():
            values = {str(v)[:100] for r in records
                      if (v := (r.segment or {}).get(dim, r.features.get(dim))) is not None and type(v) not in (dict, list)}
            n += min(len(seen | values), state.config.max_segment_values + 1)
        return n

    def _backfill_limit(self, state: ModelState, records: list[EventRecord]) -> int:
        return max(self.settings.backfill_open_max, 2 * self._per_bucket(state, records))

    def _backfill_width(self, state: ModelState, records: list[EventRecord]) -> int:
        """The windows these backfilled events may open. Past ``Settings.backfill_open_max`` (segments
        included) for one request, it is refused (the client splits it): every open window's profile is
        written with each snapshot (sizes: docs/BENCHMARKS.md, "Figures behind the code")."""
        w = state.config.window
        per_bucket = self._per_bucket(state, records)
        buckets = len({math.floor(r.ts / w) for r in records})
        width, limit = buckets * per_bucket, self._backfill_limit(state, records)
        if width > limit:
            raise BackfillTooWide(
                f"these events span {buckets} windows of {format_duration(w)}"
                + (f" ({width} with their segments)" if per_bucket > 1 else "")
                + f"; a backfill request may open at most {limit // per_bucket}: send fewer events per request, "
                  "in time order")
        return width

    def labels(self, model: str, items: list[Any], first_problems: list[Problem] | None = None) -> IngestAnswer:
        state = self.registry.model(model)
        self._check_busy()
        labels, rejected = validate_labels(items, state.targets, now=self.clock(), first_problems=first_problems,
                                           redact_id=state.redactor.id if state.redactor.hash_id else None)
        return self._queue_ground_truth(state, labels, rejected, "label", outcomes=False)

    def outcomes(self, model: str, items: list[Any], first_problems: list[Problem] | None = None
                 ) -> IngestAnswer:
        state = self.registry.model(model)
        self._check_busy()
        outcomes, rejected = validate_outcomes(items, now=self.clock(), first_problems=first_problems,
                                               redact_id=state.redactor.id if state.redactor.hash_id else None,
                                               names=state.outcome_names, max_names=MAX_OUTCOME_NAMES)
        state.outcome_names.update(o.name for o in outcomes if o.name is not None)
        return self._queue_ground_truth(state, outcomes, rejected, "outcome", outcomes=True)

    def _queue_ground_truth(self, state: ModelState, records: list[LabelRecord], rejected: list[Problem],
                            what: str, outcomes: bool) -> IngestAnswer:
        for p in rejected:
            state.metrics.reject(f"{what}_{p.reason}")
        rejected.sort(key=lambda p: p.index)
        body: dict[str, Any] = {"accepted": len(records), "rejected": [p.to_dict() for p in rejected]}
        if not records:
            return IngestAnswer(body, None, all_rejected=bool(rejected))
        item = WriteItem(state, None, records, [], outcomes=outcomes)
        self.writer.submit(item)
        return IngestAnswer(body, item.future)

    def resources(self, model: str, instance: str, values: dict[str, float],
                  breakers: dict[str, str] | None = None) -> None:
        state = self.registry.model(model)
        for k, v in values.items():
            state.metrics.resources[(instance, k)] = v
        if breakers:
            state.metrics.report_breakers(instance, breakers)


def _iso(t: float) -> str:
    """RFC 3339 in UTC, as the API writes times."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")
