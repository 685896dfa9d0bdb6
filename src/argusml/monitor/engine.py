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
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from argusml.monitor.backlog import Backlog
from argusml.monitor.closing import Closer
from argusml.monitor.events import Problem
from argusml.monitor.fold import Fold
from argusml.monitor.ingest import Ingest, IngestAnswer
from argusml.monitor.performance import PerformanceJob
from argusml.monitor.provisional import provisional_pass, provisional_windows
from argusml.monitor.recovery import recover
from argusml.monitor.registry import Registry
from argusml.monitor.retention import apply_retention
from argusml.monitor.settings import Settings
from argusml.monitor.state import HOUR, ModelState, Validated
from argusml.monitor.versions import PredictionBaselines
from argusml.monitor.windows import OVERALL
from argusml.monitor.writer import Writer
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from argusml.store import Store

log = logging.getLogger("argus.monitor")


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
        self._ingest = Ingest(self.settings, clock, self._registry, self._backlog, self._writer)
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
    @property
    def queue_depth(self) -> int:
        """Events accepted but not yet written and folded."""
        return self._backlog.depth

    def check_busy(self, model: str) -> ModelState:
        """Raise UnknownModel or Busy before a request's events are validated elsewhere."""
        return self._ingest.check_busy(model)

    def ingest_events(self, model: str, items: list[Any], first_problems: list[Problem] | None = None) -> IngestAnswer:
        return self._ingest.events(model, items, first_problems)

    def ingest_backfill(self, model: str, items: list[Any], first_problems: list[Problem] | None = None
                        ) -> IngestAnswer:
        """Events of the past (``POST .../backfill``): validated as events are, then placed by their own time."""
        return self._ingest.backfill(model, items, first_problems)

    def accept_events(self, model: str, v: Validated, *, backfill: bool = False) -> IngestAnswer:
        """Dedup events validated elsewhere (a worker process) and queue them for the writer (``Ingest.accept``)."""
        return self._ingest.accept(model, v, backfill=backfill)

    def ingest_labels(self, model: str, items: list[Any], first_problems: list[Problem] | None = None) -> IngestAnswer:
        return self._ingest.labels(model, items, first_problems)

    def ingest_outcomes(self, model: str, items: list[Any], first_problems: list[Problem] | None = None
                        ) -> IngestAnswer:
        return self._ingest.outcomes(model, items, first_problems)

    def report_resources(self, model: str, instance: str, values: dict[str, float]) -> None:
        self._ingest.resources(model, instance, values)

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

