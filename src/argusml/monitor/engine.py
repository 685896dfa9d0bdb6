"""The monitor: one process that owns every model's live state.

``Monitor`` is the façade the service, the CLI and the tests hold: it wires
the parts below and keeps their public methods in one place. Each part has
a module of its own, so a change has one room to go to:

- ``state.py``: a model's live state (``ModelState``) and what validation needs;
- ``registry.py``: which models are watched; registering and replacing references;
- ``ingest.py``, on the **request thread** (the service's event loop): a
  batch is validated, redacted, deduplicated and queued for the writer, with
  a future; what is refused (too late, too wide) is decided there;
- ``writer.py``: the **writer thread** appends the raw events to the raw log
  with one fsync (group commit) and only then resolves the futures, so a 200
  means durable; the **indexer thread** commits index rows to DuckDB in bulk;
- ``fold.py``: the **fold thread** folds records into window profiles and on
  each tick closes, looks, snapshots and rolls up; ``closing.py`` checks and
  stores closing windows, ``provisional.py`` looks at open ones,
  ``rollups.py`` merges hours and days;
- ``recovery.py``: a start reloads the snapshot and replays the events past it;
- ``performer.py``: the **performance thread** (labels joined to predictions),
  champion/challenger comparisons and the advice;
- ``alerting.py``: the **alert thread** follows the closed windows in the store
  and drives the alert engine (``argusml.alerts``): alerts, incidents, notices;
  after each pass ``digest.py`` queues the owner reports that are due;
- ``dependencies.py``: the **dependency thread** probes each model's dependencies
  (HTTP, TCP, freshness heartbeats) on a small pool; the alert thread reads their states;
- ``retention.py``, ``status.py`` (what /status shows), ``backlog.py``
  (backpressure: past its bound ingest answers "busy", 429 at the edge),
  ``settings.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from argusml.monitor.alerting import Alerting
from argusml.monitor.backlog import Backlog
from argusml.monitor.closing import Closer
from argusml.monitor.dependencies import Prober
from argusml.monitor.digest import Digests
from argusml.monitor.events import Problem
from argusml.monitor.fold import Fold
from argusml.monitor.ingest import Ingest, IngestAnswer
from argusml.monitor.judging import Judging
from argusml.monitor.ops import cost_table
from argusml.monitor.performer import Performer
from argusml.monitor.provisional import provisional_pass
from argusml.monitor.recovery import recover
from argusml.monitor.registry import Registry
from argusml.monitor.retention import apply_retention
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState, Validated
from argusml.monitor.status import Status
from argusml.monitor.versions import PredictionBaselines
from argusml.monitor.writer import Writer
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from argusml.store import Store

log = logging.getLogger("argus.monitor")


class Monitor:
    """Every model's live state, its threads and the reads the API makes of it. ``start`` recovers and
    starts the threads; ``stop`` drains them and snapshots the open windows."""

    def __init__(self, store: Store, settings: Settings | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.clock = clock
        self.models: dict[str, ModelState] = {}  # one dict, shared by every part; changed by the registry
        self._threads: list[threading.Thread] = []
        self._running = False
        self.ready = False
        self.last_error: str | None = None  # the last failure any thread reported (None: the last write was good)
        self._lock = threading.RLock()  # fold-thread state vs. reference replacement from the API
        self._backlog = Backlog()
        self.baselines = PredictionBaselines(store)  # new versions' predictions before they have a reference
        self._writer = Writer(store, self.settings, clock, self._backlog, self._report)
        self._closer = Closer(store, self.settings, self.models, self._lock, self.baselines)
        self._fold = Fold(store, self.settings, clock, self.models, self._lock, self._backlog, self._writer,
                          self._closer, self._report)
        self._registry = Registry(store, clock, self.models, self._lock, self.baselines, self._closer, self._fold)
        self._judging = Judging(self.models, self._lock, clock)
        self._ingest = Ingest(self.settings, clock, self._registry, self._backlog, self._writer, self._judging)
        self._performer = Performer(store, self.settings, clock, self._registry, self._writer, self._report)
        self._status = Status(store, self.settings, clock, self._registry, self.advice)
        self.alerting = Alerting(store, self.settings, clock, self.models, self.settings.external_url)
        self.digests = Digests(store, clock, self.models, lambda m: self.advice(m, wait=False), self.alerting.lock,
                               self.alerting.sender.wake)
        self.alerting.digests = self.digests
        self.digests.cost = self.cost_rows
        self.dependencies = Prober(store, clock, self.models)
        self.alerting.dependency_signals = self.dependencies.signals
        if self.settings.alert_on_close:
            self._fold.on_closed = self.alerting.wake
        self.writer_stats = self._writer.stats
        self.performance = self._performer.job

    def cost_rows(self, model: str, start: float, end: float) -> list[dict[str, Any]]:
        """The digest's cost reader: per UTC day and version in [start, end), what the events cost
        (``ops.cost_table``; None where nothing priced them) and how many there were."""
        return [{"day": r["day"], "version": r["version"], "cost": r["total"], "predictions": r["predictions"]}
                for r in cost_table(self.models[model].metrics, start, end)]

    def _report(self, error: str | None) -> None:
        self.last_error = error

    # -- registry ------------------------------------------------------------------
    def register(self, config: ModelConfig, reference: Reference, *, persist: bool = True, author: str = "unknown",
                 source: str = "api") -> ModelState:
        """Add or replace a model (``Registry.register``)."""
        return self._registry.register(config, reference, persist=persist, author=author, source=source)

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
        """Recover (snapshot + replay), then start the writer, indexer, fold and performance threads."""
        recover(self.store, self.models, self._writer, self._fold, self.clock())
        self._running = True
        self._performer.load(*self.models.values())
        self._threads.extend(self._writer.start())
        self._threads.extend(self._fold.start())
        self._threads.extend(self._performer.start())
        self._threads.append(self._judging.start())
        self.alerting.load()
        self._threads.append(self.alerting.start())
        self.dependencies.load()
        self._threads.append(self.dependencies.start())
        self.ready = True

    def stop(self) -> None:
        """Drain what is queued, snapshot open windows, close the store."""
        if not self._running:
            return
        self._running = False
        self.dependencies.stop()
        self.alerting.stop()
        self._performer.stop()
        self._judging.stop()
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
        while (self.queue_depth or not self._judging.idle) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.flush_index(max(0.1, deadline - time.monotonic()))
        target = self.ticks + 2
        while self.ticks < target and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.queue_depth == 0 and self.ticks >= target

    def healthy(self) -> bool:
        """Threads alive (once started) and the store usable (``Connection.failure``)."""
        failure = self.store.failure()
        if failure is not None:
            self.last_error = f"the store failed ({failure}): restart the service; acknowledged events replay from the raw log"
            return False
        if not self._running:
            return not self._threads and not self.ready
        return all(t.is_alive() for t in self._threads)

    @property
    def ticks(self) -> int:
        """Completed fold-loop ticks (closing, rollups): lets callers wait for one."""
        return self._fold.ticks

    @property
    def queue_depth(self) -> int:
        """Events accepted but not yet written and folded."""
        return self._backlog.depth

    def flush_index(self, timeout: float = 30.0) -> None:
        """Wait until every acknowledged event has its index row in DuckDB (tests, demos, reads that count)."""
        self._writer.flush_index(timeout)

    # -- ingest (request thread) -----------------------------------------------------
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
        """Queue events validated elsewhere (a worker process) for the writer (``Ingest.accept``)."""
        return self._ingest.accept(model, v, backfill=backfill)

    def ingest_labels(self, model: str, items: list[Any], first_problems: list[Problem] | None = None) -> IngestAnswer:
        return self._ingest.labels(model, items, first_problems)

    def ingest_outcomes(self, model: str, items: list[Any], first_problems: list[Problem] | None = None
                        ) -> IngestAnswer:
        return self._ingest.outcomes(model, items, first_problems)

    def report_resources(self, model: str, instance: str, values: dict[str, float],
                         breakers: dict[str, str] | None = None) -> None:
        self._ingest.resources(model, instance, values, breakers)

    # -- windows, performance, retention -------------------------------------------------
    def provisional_pass(self, now: float) -> int:
        """Provisional looks at the open windows now (``provisional.py``); the looks taken."""
        return provisional_pass(self._closer, now)

    def update_performance(self, force: bool = False) -> int:
        """One performance pass over every model (``Performer.update``); the windows computed."""
        return self._performer.update(force)

    def compare(self, model: str, champion: str, challenger: str, since: float | None = None,
                until: float | None = None, *, wait: bool = True) -> dict[str, Any] | None:
        """Champion against challenger (``Performer.compare``); None with ``wait=False`` while a pass runs."""
        return self._performer.compare(model, champion, challenger, since, until, wait=wait)

    def advice(self, model: str, *, wait: bool = True, review: dict[str, Any] | None = None) -> dict[str, Any]:
        """What to do about the model now (``Performer.advice``); ``review``: a review sample's estimate."""
        return self._performer.advice(model, wait=wait, review=review)

    def digest(self, model: str, end: float | None = None, period: float | None = None) -> dict[str, Any]:
        """The owner report of ``model`` over ``period`` before ``end`` (``Digests.gather``)."""
        self._registry.model(model)  # UnknownModel, as every read of a model
        return self.digests.gather(model, end, period)

    def apply_retention(self, now: float) -> dict[str, dict[str, int]]:
        """Retention now (``retention.py``); the fold thread applies it every ``Settings.retention_every``."""
        return apply_retention(self.store, self.models, now)

    # -- reads for the API ------------------------------------------------------------------
    def status(self, model: str) -> dict[str, Any]:
        """What /status shows of the model (``status.py``), with its health (``health.py``)."""
        out = self._status.read(model)
        out["health"] = self.overview([model])[0]["health"].to_dict()
        return out

    def overview(self, names: list[str]) -> list[dict[str, Any]]:
        """Each named model's health and the overview's numbers (``health.overview``): a few grouped reads,
        whatever the number of models."""
        from argusml.monitor.health import overview

        for name in names:
            self._registry.model(name)  # UnknownModel, as every read of a model
        return overview(self.store, self.models, names, self.alerting, self.clock())
