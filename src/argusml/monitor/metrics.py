"""Live numbers of one model, kept as plain counters and arrays.

Updated per batch (numpy bincount over a batch's latencies, not one call
per event) by the writer thread, read by the Prometheus collector at scrape
time. Gauges of a window (drift scores, missing ratios, prediction mean)
come from the same check results that are stored as the window's verdict:
one decision, whether it is read from the API or from /metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from argusml.checks.verdict import WindowVerdict
from argusml.store.duck import LABEL_TALLIES

log = logging.getLogger("argus.metrics")

# (instance, breaker) pairs of argus_circuit_breaker_state one model keeps: 32 breakers on each of 32 replicas
MAX_BREAKER_SERIES = 1024
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0,
                   2.5, 5.0, 10.0)
"""Seconds. Dense from 50 ms to 500 ms, where latency SLOs of model servers
usually sit, so histogram_quantile is accurate where alerts look."""

LABEL_LAG_BUCKETS = (1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 2 * 86400.0,
                     3 * 86400.0, 7 * 86400.0, 14 * 86400.0, 30 * 86400.0)


@dataclass
class Histogram:
    bounds: tuple[float, ...]
    counts: np.ndarray = field(init=False)  # per bucket, not cumulative; last is +Inf
    total: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        self.counts = np.zeros(len(self.bounds) + 1, dtype=np.int64)

    def observe_many(self, values: np.ndarray) -> None:
        if values.size == 0:
            return
        idx = np.searchsorted(np.asarray(self.bounds), values, side="left")
        self.counts += np.bincount(idx, minlength=self.counts.size)
        self.total += float(values.sum())
        self.n += int(values.size)

    def to_dict(self) -> dict[str, Any]:
        return {"bounds": list(self.bounds), "counts": self.counts.tolist(), "total": self.total}

    def add(self, saved: dict[str, Any]) -> None:
        """Add a saved or recounted histogram (``to_dict``, or the store's tallies: counts and total).
        One of other bounds is left out, a reset Prometheus allows, rather than counted into wrong buckets."""
        bounds = saved.get("bounds")
        counts = saved.get("counts") or []
        if (bounds is not None and tuple(bounds) != self.bounds) or len(counts) != self.counts.size:
            return
        self.counts += np.asarray(counts, dtype=np.int64)
        self.total += float(saved.get("total") or 0.0)
        self.n += int(sum(counts))

    def cumulative(self) -> list[tuple[str, float]]:
        acc = np.cumsum(self.counts)
        out = [(repr(float(b)), float(c)) for b, c in zip(self.bounds, acc[:-1])]
        out.append(("+Inf", float(acc[-1])))
        return out


@dataclass
class Shown:
    """A window as the gauges show it: its verdict, its bounds and its rows."""

    verdict: WindowVerdict
    start: float
    end: float
    n_rows: int

    @classmethod
    def look(cls, w: Any) -> Shown:
        """An open window's last provisional look (``Window.provisional``, its verdict as plain JSON)."""
        verdict = WindowVerdict.from_dict(w.provisional or {})
        return cls(verdict, w.start, w.end, verdict.n_rows)


@dataclass
class VersionMetrics:
    events: int = 0
    requests: dict[str, int] = field(default_factory=dict)  # status code -> count
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
    window: Shown | None = None  # the latest closed window (overall traffic)
    provisional: Shown | None = None  # the last provisional look at the newest open window, if any
    # the ops fields of events (monitor/ops.py): counters, a latency histogram per stage, resource sums
    fallback: int = 0
    cost: float = 0.0
    costed: int = 0  # events something priced
    input_tokens: int = 0
    output_tokens: int = 0
    stages: dict[str, Histogram] = field(default_factory=dict)
    resource_sum: dict[str, float] = field(default_factory=dict)
    resource_n: dict[str, int] = field(default_factory=dict)
    last_ops: dict[str, float] = field(default_factory=dict)  # ops.window_ops of the last closed window

    def ops_dict(self) -> dict[str, Any]:
        return {"fallback": self.fallback, "cost": self.cost, "costed": self.costed,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "stages": {k: h.to_dict() for k, h in list(self.stages.items())},
                "resource_sum": dict(self.resource_sum), "resource_n": dict(self.resource_n),
                "last_ops": dict(self.last_ops)}

    def restore_ops(self, d: dict[str, Any]) -> None:
        self.fallback = int(d.get("fallback") or 0)
        self.cost = float(d.get("cost") or 0.0)
        self.costed = int(d.get("costed") or 0)
        self.input_tokens = int(d.get("input_tokens") or 0)
        self.output_tokens = int(d.get("output_tokens") or 0)
        for k, saved in (d.get("stages") or {}).items():
            h = self.stages[str(k)] = Histogram(LATENCY_BUCKETS)
            h.add(saved)
        self.resource_sum = {str(k): float(v) for k, v in (d.get("resource_sum") or {}).items()}
        self.resource_n = {str(k): int(v) for k, v in (d.get("resource_n") or {}).items()}
        self.last_ops = {str(k): float(v) for k, v in (d.get("last_ops") or {}).items()}


@dataclass
class ModelMetrics:
    versions: dict[str, VersionMetrics] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> count
    duplicates: int = 0
    too_late: int = 0
    sessions_unplaced: int = 0  # LLM sessions decided after their last turn's window closed (monitor/llm.py)
    judge_late: int = 0  # judge calls whose window closed before their verdict (monitor/judging.py)
    labels: int = 0
    labels_joined: int = 0
    labels_expired: int = 0
    labels_pending: int = 0
    label_duplicates: int = 0
    label_corrections: int = 0
    outcomes: int = 0
    outcomes_joined: int = 0
    outcome_duplicates: int = 0
    outcomes_expired: int = 0
    # per version: the latest performance window the performance job computed (``performance.py``)
    performance: dict[str, dict[str, Any]] = field(default_factory=dict)
    label_lag: Histogram = field(default_factory=lambda: Histogram(LABEL_LAG_BUCKETS))
    last_event_ts: float | None = None
    resources: dict[tuple[str, str], float] = field(default_factory=dict)  # (instance, resource) -> value
    # (UTC day start, version) -> [predictions, fallback, costed, total cost] (monitor/ops.py)
    costs: dict[tuple[float, str], list[Any]] = field(default_factory=dict)
    stage_names: set[str] = field(default_factory=set)  # bounded: ops.MAX_STAGE_NAMES
    # UTC day start -> (version, tenant) -> [events, costed, cost, input tokens, output tokens] (monitor/ops.py);
    # tenant "" for events that name none
    usage: dict[float, dict[tuple[str, str], list[Any]]] = field(default_factory=dict)
    tenants: set[str] = field(default_factory=set)  # bounded: cost.max_tenants; later ones are ops.OTHER_TENANT
    tenant_cost: dict[str, float] = field(default_factory=dict)  # tenant -> cost so far (a counter: never pruned)
    folded: dict[str, int] = field(default_factory=dict)  # tenant past the cap -> its events (ops.MAX_FOLDED_KEPT)
    folded_more: int = 0  # events of folded tenants past the ones ``folded`` names
    # (instance, breaker) -> closed | half_open | open, as SDK clients last reported their circuit breakers
    breakers: dict[tuple[str, str], str] = field(default_factory=dict)

    def version(self, v: str) -> VersionMetrics:
        m = self.versions.get(v)
        if m is None:
            m = self.versions[v] = VersionMetrics()
        return m

    def report_breakers(self, instance: str, states: dict[str, str]) -> None:
        """Take an instance's breaker states. Past ``MAX_BREAKER_SERIES`` (instance, breaker) pairs a new pair
        is refused, with a warning, so replicas that come and go cannot grow /metrics without end."""
        for name, st in states.items():
            key = (instance, name)
            if key not in self.breakers and len(self.breakers) >= MAX_BREAKER_SERIES:
                log.warning("breaker %r of instance %r not kept: a model keeps at most %d breaker series",
                            name, instance, MAX_BREAKER_SERIES)
                continue
            self.breakers[key] = st

    def reject(self, reason: str, n: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + n

    def to_dict(self) -> dict[str, Any]:
        """The counters and the gauges no store table holds, saved with every snapshot so that a restart
        continues them (``restore``). Window and performance gauges and pending labels are not here: they
        are read back from their own tables."""
        return {"versions": {v: {"events": vm.events, "requests": dict(vm.requests), "latency": vm.latency.to_dict(),
                                 "ops": vm.ops_dict()}
                             for v, vm in list(self.versions.items())},
                "costs": [[d, v, *row] for (d, v), row in list(self.costs.items())],
                "stage_names": sorted(self.stage_names),
                "usage": [[d, v, t, *row] for d, rows in list(self.usage.items()) for (v, t), row in list(rows.items())],
                "tenants": sorted(self.tenants), "tenant_cost": dict(self.tenant_cost), "folded": dict(self.folded),
                "folded_more": self.folded_more,
                **{k: getattr(self, k) for k in _SAVED_COUNTS}, "rejected": dict(self.rejected),
                "label_lag": self.label_lag.to_dict(), "last_event_ts": self.last_event_ts,
                "resources": [[i, r, v] for (i, r), v in list(self.resources.items())],
                "breakers": [[i, b, s] for (i, b), s in list(self.breakers.items())]}

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back what ``to_dict`` saved (into fresh metrics, at start-up)."""
        for v, d in (saved.get("versions") or {}).items():
            vm = self.version(v)
            vm.events = int(d.get("events", 0))
            vm.requests = {str(c): int(n) for c, n in (d.get("requests") or {}).items()}
            vm.latency.add(d.get("latency") or {})
            vm.restore_ops(d.get("ops") or {})
        self.costs = {(float(d), str(v)): [int(n), int(fb), int(c), float(t)]
                      for d, v, n, fb, c, t in saved.get("costs") or []}
        self.stage_names = {str(n) for n in saved.get("stage_names") or []}
        self.usage = {}
        for d, v, t, n, costed, c, i, o in saved.get("usage") or []:
            self.usage.setdefault(float(d), {})[(str(v), str(t))] = [int(n), int(costed), float(c), int(i), int(o)]
        self.tenants = {str(t) for t in saved.get("tenants") or []}
        self.tenant_cost = {str(t): float(c) for t, c in (saved.get("tenant_cost") or {}).items()}
        self.folded = {str(t): int(n) for t, n in (saved.get("folded") or {}).items()}
        self.folded_more = int(saved.get("folded_more") or 0)
        for k in _SAVED_COUNTS:
            setattr(self, k, int(saved.get(k) or 0))
        self.rejected = {str(r): int(n) for r, n in (saved.get("rejected") or {}).items()}
        self.label_lag.add(saved.get("label_lag") or {})
        self.last_event_ts = saved.get("last_event_ts")
        self.resources = {(str(i), str(r)): float(v) for i, r, v in saved.get("resources") or []}
        self.breakers = {(str(i), str(b)): str(s) for i, b, s in saved.get("breakers") or []}

    def add_events(self, tallies: dict[str, Any]) -> None:
        """Add the events recounted from the store (``Store.event_tallies``) past what ``restore`` took back."""
        for v, d in tallies["versions"].items():
            vm = self.version(v)
            vm.events += d["events"]
            for code, n in d["requests"].items():
                vm.requests[code] = vm.requests.get(code, 0) + n
            if "latency" in d:
                vm.latency.add(d["latency"])
        last = tallies["last_event_ts"]
        if last is not None and (self.last_event_ts is None or last > self.last_event_ts):
            self.last_event_ts = float(last)

    def merge_labels(self, tallies: dict[str, Any]) -> None:
        """Label counters from the labels table (``Store.label_tallies``), which holds every acknowledged
        label even after a crash (the saved values are then behind it). The larger of the saved and the
        table's value wins, so that where the two count a detail differently (a prediction that resolves
        pending labels of two versions: one join for the writer, two in the table) no counter goes back."""
        for k in LABEL_TALLIES:
            setattr(self, k, max(getattr(self, k), int(tallies[k])))
        lag = tallies["lag"]
        if sum(lag["counts"]) > self.label_lag.n:
            fresh = Histogram(self.label_lag.bounds)
            fresh.add(lag)
            self.label_lag = fresh


_SAVED_COUNTS = ("duplicates", "too_late", "labels", "labels_joined", "labels_expired", "label_duplicates",
                 "label_corrections", "outcomes", "outcomes_joined", "outcome_duplicates", "outcomes_expired",
                 "sessions_unplaced", "judge_late")
