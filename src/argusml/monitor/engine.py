"""The monitor: one process that owns every model's live state.

Four parties, one direction of flow:

- the **request thread** (the service's event loop) decodes and validates a
  batch, redacts it, asks the dedup index which events are new, and queues
  the new ones for the writer, with a future;
- the **writer thread** takes everything queued, appends the raw events to
  the raw log with one fsync (group commit: one fsync for many requests),
  and only then resolves the futures, so a 200 means durable; it hands the
  records on to the folder and their index rows to
- the **indexer thread**, which commits index rows to DuckDB in bulk (labels,
  matched against that index, wait for it and are committed with it before
  they are answered);
- the **fold thread** folds records into window profiles, closes windows
  whose end plus lateness has passed, runs the core engine's checks on them,
  rolls windows up (base -> hour -> day) and stores windows and findings.

Open windows live in memory and are snapshotted (with the event sequence
they cover) every few seconds and whenever windows close, in the same
transaction as the closed windows. After a crash the service reloads the
snapshot and replays the stored events past it, so acknowledged events are
never lost from the store nor from the profiles.

Backpressure: the number of events queued for the writer and the folder
is bounded; past the bound, ingest answers "busy" (429 at the edge)
instead of growing memory.
"""

from __future__ import annotations

import logging
import math
import operator
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from argusml.monitor.backlog import Backlog, Busy
from argusml.monitor.closing import Closer
from argusml.monitor.dedup import key_of
from argusml.monitor.events import (
    EventBatch,
    EventRecord,
    LabelRecord,
    Problem,
    validate_labels,
    validate_outcomes,
)
from argusml.monitor.fold import Fold
from argusml.monitor.performance import PerformanceJob
from argusml.monitor.provisional import provisional_pass, provisional_windows
from argusml.monitor.recovery import recover
from argusml.monitor.registry import Registry
from argusml.monitor.retention import apply_retention
from argusml.monitor.settings import Settings
from argusml.monitor.state import HOUR, ModelState, Validated
from argusml.monitor.versions import PredictionBaselines
from argusml.monitor.windows import OVERALL
from argusml.monitor.writer import BackfillBatch, WriteItem, Writer
from argusml.profile import Reference
from argusml.schema import ArgusError
from argusml.schema.model_config import ModelConfig, format_duration
from argusml.store import (
    Store,
)

log = logging.getLogger("argus.monitor")

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
    body: dict[str, Any]
    future: Future[dict[str, Any]] | None
    all_rejected: bool = False


class Monitor:
    def __init__(self, store: Store, settings: Settings | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.clock = clock
        self._advice_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self.models: dict[str, ModelState] = {}
        self._backlog = Backlog()
        self._writer = Writer(store, self.settings, clock, self._backlog, self._report)
        self.writer_stats = self._writer.stats
        self._threads: list[threading.Thread] = []
        self._running = False
        self.ready = False
        self._lock = threading.RLock()  # fold-thread state vs. reference replacement from the API
        self.last_error: str | None = None
        self.baselines = PredictionBaselines(store)  # new versions' predictions before they have a reference
        self._closer = Closer(store, self.settings, self.models, self._lock, self.baselines)
        self._fold = Fold(store, self.settings, clock, self.models, self._lock, self._backlog, self._writer,
                          self._closer, self._report)
        self._registry = Registry(store, clock, self.models, self._lock, self.baselines, self._closer, self._fold)
        self.performance = PerformanceJob(store, self.settings.performance_every,
                                          (self.settings.performance_memory_limit, self.settings.memory_limit))
        self._perf_wake = threading.Event()
        self._perf_lock = threading.Lock()  # one performance pass at a time (the thread, or a caller)


    # -- registry ------------------------------------------------------------------
    def register(self, config: ModelConfig, reference: Reference, *, persist: bool = True) -> ModelState:
        """Add or replace a model (``Registry.register``)."""
        return self._registry.register(config, reference, persist=persist)

    def set_version_reference(self, model: str, version: str, reference: Reference) -> None:
        """Replace one version's reference (``Registry.set_version_reference``)."""
        self._registry.set_version_reference(model, version, reference)

    def model(self, name: str) -> ModelState:
        return self._registry.model(name)

    def load_registered(self) -> list[str]:
        """Models registered over HTTP in an earlier run (YAML files are loaded by the caller, and win)."""
        return self._registry.load_registered()

    # -- start and stop ------------------------------------------------------------

    def start(self) -> None:
        """Recover (snapshot + replay), then start the writer and fold threads."""
        recover(self.store, self.models, self._writer, self._fold, self.clock())
        self._running = True
        for state in self.models.values():
            self._load_performance(state)
        self._threads.extend(self._writer.start())
        self._threads.extend(self._fold.start())
        t = threading.Thread(target=self._performer, name="argus-performance", daemon=True)
        t.start()
        self._threads.append(t)
        self.ready = True

    def stop(self) -> None:
        """Drain what is queued, snapshot open windows, close the store."""
        if not self._running:
            return
        self._running = False
        self._perf_wake.set()
        self._writer.stop()
        for t in self._threads:
            t.join(timeout=30)
        self._threads = []
        try:
            self._fold.snapshot([])
        except Exception as exc:  # pragma: no cover - the store is going away anyway
            log.error("final snapshot failed: %s", exc)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until everything accepted is written, indexed and folded and
        two ticks (window closing, rollups) ran after that; for tests and demos."""
        deadline = time.monotonic() + timeout
        while self.queue_depth and time.monotonic() < deadline:
            time.sleep(0.01)
        self._writer.flush_index(max(0.1, deadline - time.monotonic()))
        target = self.ticks + 2
        while self.ticks < target and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.queue_depth == 0 and self.ticks >= target

    @property
    def ticks(self) -> int:
        """Completed fold-loop ticks (closing, rollups): lets callers wait for one."""
        return self._fold.ticks

    def flush_index(self, timeout: float = 30.0) -> None:
        """Wait until every acknowledged event has its index row in DuckDB (tests, demos, reads that count)."""
        self._writer.flush_index(timeout)

    def _report(self, error: str | None) -> None:
        self.last_error = error

    def healthy(self) -> bool:
        """Threads alive (once started) and the last write succeeded."""
        if not self._running:
            return not self._threads and not self.ready
        return all(t.is_alive() for t in self._threads)

    # -- ingest (request thread) -----------------------------------------------------
    def _count(self, writer: int = 0, fold: int = 0) -> None:
        self._backlog.count(writer, fold)

    @property
    def queue_depth(self) -> int:
        return self._backlog.depth

    def _check_busy(self) -> None:
        self._backlog.check(self.settings.max_pending_events)

    def ingest_events(self, model: str, items: list[Any], first_problems: list[Problem] | None = None) -> IngestAnswer:
        state = self.model(model)
        self._check_busy()
        # every version's events are validated against that version's reference schema
        return self.accept_events(model, state.validation_plan().validate(items, self.clock(), first_problems))

    def check_busy(self, model: str) -> ModelState:
        """Raise UnknownModel or Busy before a request's events are validated elsewhere."""
        state = self.model(model)
        self._check_busy()
        return state

    def ingest_backfill(self, model: str, items: list[Any], first_problems: list[Problem] | None = None
                        ) -> IngestAnswer:
        """Events of the past (``POST .../backfill``): validated as events are, then placed by their own time."""
        state = self.model(model)
        self._check_busy()
        return self.accept_events(model, state.validation_plan().validate(items, self.clock(), first_problems),
                                  backfill=True)

    def accept_events(self, model: str, v: Validated, *, backfill: bool = False) -> IngestAnswer:
        """Dedup validated events and queue them for the writer; the answer's body and the future of
        their write. ``v`` must come from the model's current plan (``validation_plan().generation``).
        ``backfill``: no lateness applies (``Fold.fold_backfill``); only events older than the profiles'
        retention are refused, as their windows would be deleted at once."""
        state = self.model(model)
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
            with self._backlog.lock:
                state.backfill_queued += batch.width
        item = WriteItem(state, batch, None, new_keys)
        self._writer.submit(item)
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
        included) for one request, it is refused (the client splits it): every open window is in each
        snapshot, and a profile is 50-250 KB."""
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

    def ingest_labels(self, model: str, items: list[Any], first_problems: list[Problem] | None = None) -> IngestAnswer:
        state = self.model(model)
        self._check_busy()
        labels, rejected = validate_labels(items, state.targets, now=self.clock(), first_problems=first_problems,
                                           redact_id=state.redactor.id if state.redactor.hash_id else None)
        return self._queue_ground_truth(state, labels, rejected, "label", outcomes=False)

    def ingest_outcomes(self, model: str, items: list[Any], first_problems: list[Problem] | None = None
                        ) -> IngestAnswer:
        state = self.model(model)
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
        self._writer.submit(item)
        return IngestAnswer(body, item.future)

    def report_resources(self, model: str, instance: str, values: dict[str, float]) -> None:
        state = self.model(model)
        for k, v in values.items():
            state.metrics.resources[(instance, k)] = v

    def provisional_pass(self, now: float) -> int:
        """Provisional looks at the open windows now (``provisional.py``); the looks taken."""
        return provisional_pass(self._closer, now)


    # -- performance thread ------------------------------------------------------------------------
    def _performer(self) -> None:
        """Recompute the performance windows whose labels or predictions changed (``performance.py``).
        Its own thread: a day of pairs takes seconds, which must hold up neither folding nor ingest."""
        while self._running:
            self._perf_wake.wait(self.settings.performance_every)
            self._perf_wake.clear()
            if not self._running:
                return
            try:
                self.update_performance()
            except Exception as exc:  # the loop must survive anything one model's data throws
                self.last_error = f"performance: {type(exc).__name__}: {exc}"
                log.exception("performance loop error")

    def update_performance(self, force: bool = False) -> int:
        """One pass over every model; ``force`` recomputes changed windows even if computed recently
        (tests and demos: after ``wait_idle``). Returns the windows computed."""
        if force:
            self._writer.flush_index()
        n = 0
        with self._perf_lock:
            now = self.clock()
            for state in list(self.models.values()):
                done = self.performance.run(state, now, force=force)
                if done:
                    self._load_performance(state)
                n += done
        return n

    def compare(self, model: str, champion: str, challenger: str, since: float | None = None,
                until: float | None = None, *, wait: bool = True) -> dict[str, Any] | None:
        """Champion against challenger (``monitor.compare``). It joins a period's labels as a performance
        pass does, so it runs as one: under the same lock (one heavy join at a time) and with the same raised
        DuckDB memory limit (the ingest's 64 MB would spill a million shadow pairs to disk for minutes).
        ``wait=False``: None instead of waiting for a performance pass to finish."""
        from argusml.monitor.compare import compare_versions

        state = self.model(model)
        if not self._perf_lock.acquire(blocking=wait):
            return None
        try:
            self.store.set_memory_limit(self.settings.performance_memory_limit)
            try:
                return compare_versions(self.store, state, champion, challenger, since, until)
            finally:
                self.store.set_memory_limit(self.settings.memory_limit)
        finally:
            self._perf_lock.release()

    def advice(self, model: str, *, wait: bool = True) -> dict[str, Any]:
        """What to do about the model now (``monitor/advice.py``): read from its windows, performance and
        findings, with the newest version compared to the one before it (``wait=False``: that comparison
        is skipped, and said, while a performance pass holds the store)."""
        from argusml.monitor.advice import model_advice

        state = self.model(model)
        since = self.clock() - state.config.advice.lookback

        def compare(champion: str, challenger: str) -> dict[str, Any] | None:
            # while both serve (canary, shadow), over the time the challenger has served: a v2 that started
            # during a drift, judged against v1's whole clean week, would look worse for the drift, not for
            # itself. A version that replaced the other outright is compared before against after.
            first = self.store.first_windows(model, state.config.window).get(challenger)
            start = since
            if first is not None and first > since and self.store.windows(
                    model, version=champion, since=first, segment=OVERALL, granularity=state.config.window,
                    limit=1):
                start = first
            return self.compare(model, champion, challenger, since=start, wait=wait)

        return model_advice(self.store, state, self.clock(), compare)

    def _load_performance(self, state: ModelState) -> None:
        """Per version, what /status and /metrics show: the latest window of the report length, and the
        latest one with enough labels to judge (labels lag, so the two are often different windows)."""
        cfg = state.config
        g = cfg.performance.report or (HOUR if HOUR in state.granularities else cfg.window)
        latest = self.store.performance(state.name, granularity=g, segment=OVERALL, limit=10 * max(len(state.versions), 1))
        judged = self.store.performance(state.name, granularity=g, segment=OVERALL, min_labels=cfg.performance.min_labels,
                                        limit=10 * max(len(state.versions), 1))
        out: dict[str, dict[str, Any]] = {}
        for row in latest:
            out.setdefault(row["version"], {"latest": row})
        for row in judged:
            out.setdefault(row["version"], {}).setdefault("judged", row)
        state.metrics.performance = out

    def apply_retention(self, now: float) -> dict[str, dict[str, int]]:
        """Retention now (``retention.py``); the fold thread applies it every ``Settings.retention_every``."""
        return apply_retention(self.store, self.models, now)

    # -- reads for the API ------------------------------------------------------------------
    def status(self, model: str) -> dict[str, Any]:
        state = self.model(model)
        m = state.metrics
        from argusml.monitor.advice import open_finding_rows

        latest = self.store.latest_closed(model, state.config.window)
        overall = [w for w in latest if w["segment"] == OVERALL]
        findings = []
        for w in overall:
            findings.extend(open_finding_rows(self.store, state, w["version"])[:200])
        return {
            "model": model,
            "owner": state.config.owner,
            "events_total": state.events_total,
            "labels_total": m.labels,
            "labels_joined": m.labels_joined,
            "labels_pending": len(state.pending),
            "labels_expired": m.labels_expired,
            "label_duplicates": m.label_duplicates,
            "label_corrections": m.label_corrections,
            "outcomes_total": m.outcomes,
            "outcomes_joined": m.outcomes_joined,
            "outcomes_pending": len(state.pending_outcomes),
            "outcomes_expired": m.outcomes_expired,
            "duplicates_total": m.duplicates,
            "rejected_total": sum(m.rejected.values()),
            "too_late_total": m.too_late,
            "versions": sorted(state.versions),
            "window": state.config.window,
            "open_windows": len(state.folder.open),
            "open_window_rows": sum(w.n_rows for w in list(state.folder.open.values()) if w.segment == OVERALL),
            "backfill_open_windows": len(state.backfill.open),
            "latest_windows": overall,
            "open_findings": findings,
            "provisional": provisional_windows(state),
            "last_event_timestamp": m.last_event_ts,
            "performance": performance_summary(state),
            "advice": self._status_advice(model),
        }

    def _status_advice(self, model: str) -> dict[str, Any]:
        """The decision and its summary for /status (the whole advice is `GET .../advice`), at most
        ``Settings.advice_every`` old: a comparison of two versions joins their labels, too heavy for
        every poll of /status. A failure to advise must not take /status down with it."""
        now = self.clock()
        hit = self._advice_cache.get(model)
        if hit is not None and now - hit[0] < self.settings.advice_every:
            return hit[1]
        try:
            a = self.advice(model, wait=False)  # /status must answer while a performance pass runs
            out = {"decision": a["decision"], "version": a.get("version"), "summary": a["summary"], "at": now}
        except Exception as exc:
            log.exception("advice failed for %s", model)
            out = {"decision": None, "error": f"advice failed: {exc}", "at": now}
        self._advice_cache[model] = (now, out)
        return out


_TS = operator.attrgetter("ts")


def _iso(t: float) -> str:
    """RFC 3339 in UTC, as the API writes times."""
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def performance_summary(state: ModelState) -> dict[str, Any]:
    """Per version: the latest performance window (its coverage and label lag) and the latest one with
    enough labels to judge (its status and metrics with intervals)."""
    out: dict[str, Any] = {}
    for version, rows in sorted(state.metrics.performance.items()):
        entry: dict[str, Any] = {}
        latest = rows.get("latest")
        if latest is not None:
            entry["latest"] = {"start": latest["start_ts"], "end": latest["end_ts"],
                               "predictions": latest["predictions"], "labels": latest["labels"],
                               "label_coverage": latest["labels"] / latest["predictions"] if latest["predictions"]
                               else None,
                               "label_lag_p50_seconds": latest["lag_p50"], "label_lag_p90_seconds": latest["lag_p90"],
                               "status": latest["status"],
                               "estimated": orjson.loads(latest["estimated"]) if latest.get("estimated") else None}
        judged = rows.get("judged")
        if judged is not None:
            entry["judged"] = {"start": judged["start_ts"], "end": judged["end_ts"], "labels": judged["labels"],
                               "predictions": judged["predictions"], "status": judged["status"],
                               "metrics": orjson.loads(judged["metrics"])}
        out[version] = entry
    return out


def _iso(t: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


