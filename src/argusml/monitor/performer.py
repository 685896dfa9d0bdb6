"""The performance thread: once labels join their predictions, each window's model performance is
(re)computed (``PerformanceJob`` in ``performance.py``) in a thread of its own, as a day of pairs takes seconds,
which must hold up neither folding nor ingest. Comparing two versions and the advice join labels the same
way, so they run as a performance pass does: one at a time, with DuckDB's raised memory limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from argusml.monitor.failure import stopped_by_store
from argusml.monitor.performance import PerformanceJob
from argusml.monitor.registry import Registry
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState
from argusml.monitor.windows import OVERALL
from argusml.monitor.writer import Writer
from argusml.store import Store

log = logging.getLogger("argus.monitor")


class Performer:
    """The performance job's thread and its lock (one heavy join at a time: the thread, or a caller)."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float], registry: Registry,
                 writer: Writer, report: Callable[[str | None], None]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.registry = registry
        self.writer = writer  # a forced pass first waits for the index (``Writer.flush_index``)
        self.report = report
        self.job = PerformanceJob(store, settings.performance_every,
                                  (settings.performance_memory_limit, settings.memory_limit))
        self._wake = threading.Event()
        self.lock = threading.Lock()
        self.running = False

    def start(self) -> list[threading.Thread]:
        self.running = True
        t = threading.Thread(target=self.run, name="argus-performance", daemon=True)
        t.start()
        return [t]

    def stop(self) -> None:
        self.running = False
        self._wake.set()

    def run(self) -> None:
        """Recompute the performance windows whose labels or predictions changed (``performance.py``).
        Its own thread: a day of pairs takes seconds, which must hold up neither folding nor ingest."""
        while self.running:
            self._wake.wait(self.settings.performance_every)
            self._wake.clear()
            if not self.running:
                return
            try:
                self.update()
            except Exception as exc:  # the loop must survive anything one model's data throws
                self.report(f"performance: {type(exc).__name__}: {exc}")
                if stopped_by_store(self.store, "performance"):
                    return
                log.exception("performance loop error")

    def update(self, force: bool = False) -> int:
        """One pass over every model; ``force`` recomputes changed windows even if computed recently
        (tests and demos: after ``wait_idle``). Returns the windows computed."""
        if force:
            self.writer.flush_index()
        n = 0
        with self.lock:
            now = self.clock()
            for state in list(self.registry.models.values()):
                done = self.job.run(state, now, force=force)
                if done:
                    self.load(state)
                n += done
        return n

    def compare(self, model: str, champion: str, challenger: str, since: float | None = None,
                until: float | None = None, *, wait: bool = True) -> dict[str, Any] | None:
        """Champion against challenger (``monitor.compare``). It joins a period's labels as a performance
        pass does, so it runs as one: under the same lock (one heavy join at a time) and with the same raised
        DuckDB memory limit (the ingest's limit would spill the pairs to disk: docs/BENCHMARKS.md, "Figures
        behind the code").
        ``wait=False``: None instead of waiting for a performance pass to finish."""
        from argusml.monitor.compare import compare_versions

        state = self.registry.model(model)
        if not self.lock.acquire(blocking=wait):
            return None
        try:
            self.store.set_memory_limit(self.settings.performance_memory_limit)
            try:
                return compare_versions(self.store, state, champion, challenger, since, until)
            finally:
                self.store.set_memory_limit(self.settings.memory_limit)
        finally:
            self.lock.release()

    def advice(self, model: str, *, wait: bool = True, review: dict[str, Any] | None = None) -> dict[str, Any]:
        """What to do about the model now (``monitor/advice.py``): read from its windows, performance and
        findings, with the newest version compared to the one before it (``wait=False``: that comparison
        is skipped, and said, while a performance pass holds the store)."""
        from argusml.monitor.advice import model_advice

        state = self.registry.model(model)
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

        return model_advice(self.store, state, self.clock(), compare, review)

    def load(self, *states: ModelState) -> None:
        """Per version, what /status and /metrics show: the latest window of the report length, and the
        latest one with enough labels to judge (labels lag, so the two are often different windows). One
        grouped read for all ``states`` (a start loads every model at once)."""
        panel = self.store.performance_panel({s.name: (s.report_granularity, s.config.performance.min_labels)
                                              for s in states}, OVERALL)
        for state in states:
            state.metrics.performance = panel[state.name]
