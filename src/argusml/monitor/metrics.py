"""Live numbers of one model, kept as plain counters and arrays.

Updated per batch (numpy bincount over a batch's latencies, not one call
per event) by the writer thread, read by the Prometheus collector at scrape
time. Gauges of a window (drift scores, missing ratios, prediction mean)
come from the same check results that are stored as the window's verdict:
one decision, whether it is read from the API or from /metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

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

    def cumulative(self) -> list[tuple[str, float]]:
        acc = np.cumsum(self.counts)
        out = [(repr(float(b)), float(c)) for b, c in zip(self.bounds, acc[:-1])]
        out.append(("+Inf", float(acc[-1])))
        return out


@dataclass
class VersionMetrics:
    events: int = 0
    requests: dict[str, int] = field(default_factory=dict)  # status code -> count
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
    window: dict[str, Any] | None = None  # summary of the latest closed window (overall traffic)
    provisional: dict[str, Any] | None = None  # the last provisional look at the newest open window, if any


@dataclass
class ModelMetrics:
    versions: dict[str, VersionMetrics] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> count
    duplicates: int = 0
    too_late: int = 0
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

    def version(self, v: str) -> VersionMetrics:
        m = self.versions.get(v)
        if m is None:
            m = self.versions[v] = VersionMetrics()
        return m

    def reject(self, reason: str, n: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + n
