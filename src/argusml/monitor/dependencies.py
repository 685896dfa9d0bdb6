"""The dependency prober: the monitor's **dependency thread** probes what each model depends on.

Every model's ``dependencies:`` (``schema/dependencies.py``) are probed on their own cadence: an HTTP GET
(2xx and 3xx are up; the body is never read, so a slow body cannot hold a probe), a TCP connect, or for
``kind: freshness`` the age of the newest heartbeat the pipeline posted (``heartbeat``, kept in the store
so a restart remembers it). A dependency is down after ``failures`` consecutive failed probes and up again
after one good one.

Probes must not wait on each other: one dependency that hangs must not delay the others' verdicts. So the
thread only schedules; HTTP and TCP probes run on a small pool, each bounded by its ``timeout``, and a
dependency whose probe is still running is not probed again until it returns. Freshness needs no I/O and is
judged on the thread itself. The alert thread reads the states (``signals``) on each of its ticks.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from argusml.alerts.engine import DependencySignal
from argusml.monitor.state import ModelState
from argusml.schema.dependencies import Dependency
from argusml.store import Store
from argusml.store.dependencies import DOCUMENTS_KEPT

log = logging.getLogger("argus.dependencies")

POOL_SIZE = 8
"""Probes that may run at once. Each is bounded by its timeout (2 s by default, at most its ``every``), so
eight threads keep up with hundreds of dependencies probed every 30 s, and a few hung ones leave the rest
of the pool free."""

TICK = 0.25
DROP_WINDOW = 86400.0
"""A freshness dependency's document count is compared with its largest of this many seconds (``max_drop``)."""
"""Seconds between two looks at what is due: the delay a probe may start after its time."""


class UnknownDependency(KeyError):
    """A model has no dependency of that name (the message lists the ones it has)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class DependencyState:
    """What is known of one dependency now (times are epoch seconds of the monitor's clock)."""

    model: str
    config: Dependency
    up: bool | None = None  # None: not probed yet
    last_probe_at: float | None = None
    probe_duration: float | None = None  # seconds the last HTTP/TCP probe took
    consecutive_failures: int = 0
    failing_since: float | None = None  # the first failed probe of the current run of failures
    last_error: str | None = None
    last_ok_at: float | None = None
    last_heartbeat: float | None = None  # freshness: the newest heartbeat's timestamp
    heartbeat_received_at: float | None = None
    next_at: float = -math.inf
    in_flight: bool = False
    watched_since: float | None = None  # when the prober first saw it (a freshness one's first heartbeat is due
    # within max_age of this)
    # freshness: the document counts heartbeats reported, (received at, timestamp, documents), oldest first
    documents: list[tuple[float, float, int]] = field(default_factory=list)

    def document_counts(self, now: float) -> tuple[int | None, int | None]:
        """The newest reported document count and the largest of the last ``DROP_WINDOW`` (None: none)."""
        if not self.documents:
            return None, None
        recent = [n for at, _, n in self.documents if at >= now - DROP_WINDOW]
        return self.documents[-1][2], max(recent) if recent else None

    @property
    def name(self) -> str:
        return self.config.name

    def age(self, now: float) -> float | None:
        """Freshness: seconds since the newest heartbeat (None: none yet, or not a freshness dependency)."""
        if self.config.kind != "freshness" or self.last_heartbeat is None:
            return None
        return max(0.0, now - self.last_heartbeat)

    def record(self, at: float, ok: bool, duration: float | None, error: str | None) -> None:
        """One probe's outcome: down after ``failures`` in a row, up after one good one."""
        self.last_probe_at, self.probe_duration = at, duration
        if ok:
            self.consecutive_failures, self.failing_since, self.last_error = 0, None, None
            self.last_ok_at, self.up = at, True
            return
        self.consecutive_failures += 1
        if self.failing_since is None:
            self.failing_since = at
        self.last_error = error
        if self.consecutive_failures >= self.config.failures:
            self.up = False

    def to_dict(self, now: float) -> dict[str, Any]:
        """What ``GET /v1/models/{model}/dependencies`` shows of it (times epoch seconds; the edge formats)."""
        c = self.config
        return {"name": c.name, "kind": c.kind, "target": c.target,
                "status": "unknown" if self.up is None else "up" if self.up else "down",
                "up": self.up, "last_probe_at": self.last_probe_at, "probe_duration_seconds": self.probe_duration,
                "consecutive_failures": self.consecutive_failures, "failures_to_down": c.failures,
                "failing_since": self.failing_since, "last_error": self.last_error, "last_ok_at": self.last_ok_at,
                "last_heartbeat": self.last_heartbeat, "age_seconds": self.age(now), "max_age_seconds": c.max_age,
                "every_seconds": c.every, "timeout_seconds": c.timeout,
                **({"documents": docs[0], "documents_peak_1d": docs[1], "min_documents": c.min_documents,
                    "max_drop": c.max_drop} if c.kind == "freshness" and (docs := self.document_counts(now)) else {})}


def probe_http(dep: Dependency, client: Any) -> str | None:
    """None when the URL answers 2xx or 3xx within the timeout; else why not. Only the status line and
    headers are read: a large or slow body says nothing about whether the dependency is up."""
    import httpx

    try:
        with client.stream("GET", dep.url, timeout=httpx.Timeout(dep.timeout)) as r:
            if 200 <= r.status_code < 400:
                return None
            return f"HTTP {r.status_code} from {dep.url}"
    except httpx.TimeoutException:
        return f"no answer from {dep.url} within {dep.timeout:g}s"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__} from {dep.url}: {exc}"


def probe_tcp(dep: Dependency) -> str | None:
    """None when a TCP connection to host:port opens within the timeout; else why not."""
    host, port = dep.endpoint
    try:
        with socket.create_connection((host, port), timeout=dep.timeout):
            return None
    except TimeoutError:
        return f"no TCP connection to {host}:{port} within {dep.timeout:g}s"
    except OSError as exc:
        return f"TCP connect to {host}:{port} failed: {exc.strerror or exc}"


class Prober:
    """Every model's dependencies and the thread that probes them. ``lock`` guards the states: the API
    (heartbeats, reads), the alert thread, /metrics and the pool's probes all reach them."""

    def __init__(self, store: Store, clock: Callable[[], float], models: dict[str, ModelState],
                 pool_size: int = POOL_SIZE) -> None:
        self.store = store
        self.clock = clock
        self.models = models
        self.lock = threading.Lock()
        self.states: dict[tuple[str, str], DependencyState] = {}
        self._pool_size = pool_size
        self._pool: ThreadPoolExecutor | None = None
        self._client: Any = None
        self._heartbeats: dict[tuple[str, str], tuple[float, float]] = {}
        self._documents: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- start and stop ---------------------------------------------------------------------------
    def load(self) -> None:
        """The heartbeats an earlier run stored: a freshness dependency keeps its age across a restart."""
        self._heartbeats = self.store.heartbeats()
        self._documents = self.store.documents(self.clock() - DOCUMENTS_KEPT)

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self._loop, name="argus-dependencies", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()

    def _loop(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self.run_once()
            except Exception:  # the loop must outlive one bad pass (a config replaced under it)
                log.exception("dependency pass failed")

    # -- one pass -------------------------------------------------------------------------------------
    def sync(self) -> list[DependencyState]:
        """The states of the dependencies the models name now: a new one starts unknown (due at once), a
        changed one starts over (its heartbeat kept), a removed one is forgotten."""
        with self.lock:
            wanted: dict[tuple[str, str], Dependency] = {}
            for name, state in list(self.models.items()):
                for dep in state.config.dependencies:
                    wanted[(name, dep.name)] = dep
            for key in [k for k in self.states if k not in wanted]:
                del self.states[key]
            for key, dep in wanted.items():
                st = self.states.get(key)
                if st is None or st.config != dep:
                    st = self.states[key] = DependencyState(key[0], dep, watched_since=self.clock())
                    hb = self._heartbeats.get(key)
                    if hb is not None:
                        st.last_heartbeat, st.heartbeat_received_at = hb
                    st.documents = self._documents.setdefault(key, [])
            return list(self.states.values())

    def run_once(self, now: float | None = None) -> list[Future[None]]:
        """Probe every dependency that is due: freshness ones here, the others on the pool (their futures
        returned, for a caller that waits). One whose probe still runs is left alone."""
        now = self.clock() if now is None else now
        futures: list[Future[None]] = []
        for st in self.sync():
            with self.lock:
                if st.in_flight or now < st.next_at:
                    continue
                st.next_at = now + st.config.every
                if st.config.kind == "freshness":
                    self._judge_freshness(st, now)
                    continue
                st.in_flight = True
            futures.append(self._submit(st, now))
        return futures

    def _submit(self, st: DependencyState, now: float) -> Future[None]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._pool_size, thread_name_prefix="argus-probe")
        if self._client is None and st.config.kind == "http":
            import httpx

            self._client = httpx.Client(follow_redirects=False)  # one connection pool for every HTTP probe
        return self._pool.submit(self._probe, st, now)

    def _probe(self, st: DependencyState, now: float) -> None:
        dep = st.config
        began = time.perf_counter()
        try:
            if dep.kind == "http":
                error = probe_http(dep, self._client)
            else:
                error = probe_tcp(dep)
        except Exception as exc:  # a probe that fails in an unforeseen way is a failed probe, not a dead pool
            error = f"{type(exc).__name__}: {exc}"
        took = time.perf_counter() - began
        if error is None and dep.latency_slo is not None and took > dep.latency_slo:
            error = f"answered in {took:.3g}s, over its latency_slo of {dep.latency_slo:g}s"
        with self.lock:
            st.in_flight = False
            st.record(now, error is None, took, error)

    def _judge_freshness(self, st: DependencyState, now: float) -> None:
        """Stale when the newest heartbeat is older than ``max_age``; never heard from counts from the
        moment the prober first saw the dependency (the pipeline had ``max_age`` to post its first)."""
        max_age = st.config.max_age or 0.0
        if st.last_heartbeat is None:
            waited = now - (st.watched_since if st.watched_since is not None else now)
            error = None if waited <= max_age else (f"no heartbeat received (POST .../dependencies/{st.name}) "
                                                    f"in {waited:.0f}s, over its max_age of {max_age:g}s")
            if error is None:
                return
        else:
            age = now - st.last_heartbeat
            error = None if age <= max_age else f"newest heartbeat is {age:.0f}s old, over its max_age of {max_age:g}s"
            error = error or self._documents_problem(st, now)
        st.record(now, error is None, None, error)

    @staticmethod
    def _documents_problem(st: DependencyState, now: float) -> str | None:
        """An index (a table, a view) that lost documents: fewer than ``min_documents``, or more than
        ``max_drop`` below its largest count of the last day. A re-index that dropped a document set is
        fresh by its heartbeat and empty where it matters."""
        c = st.config
        n, peak = st.document_counts(now)
        if n is None:
            return None
        if c.min_documents is not None and n < c.min_documents:
            return f"the newest heartbeat reports {n:,} documents, under its min_documents of {c.min_documents:,}"
        if c.max_drop is not None and peak and n < peak * (1 - c.max_drop):
            return (f"documents fell from {peak:,} to {n:,} ({100 * (n - peak) / peak:+.1f}%) within a day, more "
                    f"than its max_drop of {100 * c.max_drop:g}%")
        return None

    # -- heartbeats (the API) -------------------------------------------------------------------------
    def dependency(self, model: str, name: str) -> Dependency:
        """The model's dependency ``name``; UnknownDependency naming the ones it has otherwise (the caller
        checked that the model exists)."""
        state = self.models[model]
        for dep in state.config.dependencies:
            if dep.name == name:
                return dep
        names = [d.name for d in state.config.dependencies]
        raise UnknownDependency(f"model {model!r} has no dependency {name!r}; its dependencies: "
                                + (", ".join(names) if names else "none (add them under dependencies: in its "
                                                                  "YAML)"))

    def heartbeat(self, model: str, name: str, ts: float, documents: int | None = None) -> dict[str, Any]:
        """Record a freshness heartbeat (stored first: a restart keeps it) and judge the dependency at once,
        so a pipeline that recovers clears the alert on the next alert tick. Returns its state. A ValueError
        for a dependency that is probed rather than fed heartbeats. ``documents``: how many documents (rows)
        the pipeline's output holds now, kept as its size over time."""
        dep = self.dependency(model, name)
        if dep.kind != "freshness":
            raise ValueError(f"dependency {name!r} of model {model!r} is kind {dep.kind!r}: Argus probes it "
                             f"({dep.target}); heartbeats are for kind 'freshness'")
        now = self.clock()
        self.store.save_heartbeat(model, name, ts, now)
        if documents is not None:
            self.store.save_documents(model, name, ts, now, documents)
        with self.lock:
            self._heartbeats[(model, name)] = (ts, now)
            if documents is not None:
                history = self._documents.setdefault((model, name), [])
                history.append((now, ts, documents))
                del history[:sum(1 for at, _, _ in history if at < now - DOCUMENTS_KEPT)]
        for st in self.sync():
            if (st.model, st.name) == (model, name):
                with self.lock:
                    st.last_heartbeat, st.heartbeat_received_at = ts, now
                    st.next_at = now + dep.every
                    self._judge_freshness(st, now)
                    return st.to_dict(now)
        raise UnknownDependency(f"model {model!r} has no dependency {name!r}")  # replaced while we looked

    # -- reads ------------------------------------------------------------------------------------------
    def listing(self, model: str, now: float | None = None) -> list[dict[str, Any]]:
        """The model's dependencies and their states, in config order."""
        now = self.clock() if now is None else now
        self.sync()
        with self.lock:
            return [self.states[(model, d.name)].to_dict(now) for d in self.models[model].config.dependencies
                    if (model, d.name) in self.states]

    def signals(self, model: str, now: float) -> list[DependencySignal]:
        """What the alert engine judges of the model's dependencies (``TickSignal.dependencies``)."""
        with self.lock:
            return [DependencySignal(st.name, None if st.up is None else not st.up, st.failing_since,
                                     st.consecutive_failures, st.last_error, st.age(now))
                    for (m, _), st in self.states.items() if m == model]

    def gauges(self, now: float | None = None
               ) -> list[tuple[str, str, bool | None, float | None, float | None, int | None]]:
        """(model, dependency, up, probe duration, heartbeat age, documents) of each dependency: the /metrics
        gauges."""
        now = self.clock() if now is None else now
        with self.lock:
            return [(st.model, st.name, st.up, st.probe_duration, st.age(now), st.document_counts(now)[0])
                    for _, st in sorted(self.states.items())]

    def document_history(self, model: str, name: str, since: float) -> list[tuple[float, float, int]]:
        """The document counts the dependency's heartbeats reported since ``since`` (kept a month)."""
        self.dependency(model, name)
        with self.lock:
            return [h for h in self._documents.get((model, name), []) if h[0] >= since]
