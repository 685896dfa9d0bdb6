"""Operations beyond the prediction: what serving cost, how long each stage took, what the events' resources
were, and which events the fallback answered (the event fields ``cost``, ``stages``, ``resources`` and
``fallback``; docs/OPERATIONS.md).

Counted per batch by the writer thread (``count_ops``) into the model's live counters, which are saved
with every snapshot and recounted from the raw log past it after a crash (``recovery.py``), like the
request and latency counters. Windows of these numbers are **by arrival**, as ``latency_p99`` is: the
alert thread diffs the counters between two closes of a version's windows (``window_ops``). Cost per day
is by the events' own time (a UTC day), as ``GET /v1/models/{m}/costs`` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from argusml.monitor.events import RESOURCES, EventRecord
from argusml.monitor.metrics import LATENCY_BUCKETS, Histogram, ModelMetrics, VersionMetrics
from argusml.schema.model_config import CostSettings

DAY = 86400.0
MAX_STAGE_NAMES = 20
"""Distinct stage names a model keeps; later names count as ``OTHER_STAGE`` (bounded Prometheus labels)."""
OTHER_STAGE = "__other__"
COST_DAYS = 400
"""UTC days of cost per version kept (the oldest go first); /costs answers from them."""


def event_cost(r: EventRecord, cost: CostSettings | None) -> float | None:
    """What serving ``r`` cost: its own ``cost`` when it says; else the sum of the configured components it
    carries what they need for; None when nothing prices it. A fallback's answer did not call the model:
    without its own cost it costs nothing."""
    if r.cost is not None:
        return float(r.cost)
    if cost is None:
        return None
    if r.fallback:
        return 0.0
    total, known = 0.0, False
    if cost.per_prediction is not None:
        total += cost.per_prediction
        known = True
    if cost.per_1k_tokens is not None:
        tokens = [v for n in cost.tokens if type(v := r.features.get(n)) in (int, float)]
        if tokens:
            total += cost.per_1k_tokens * float(sum(tokens)) / 1000.0
            known = True
    if cost.per_gpu_hour is not None and r.resources and r.latency_ms is not None:
        gpu = r.resources.get("gpu")
        if gpu is not None:
            total += cost.per_gpu_hour * float(gpu) * float(r.latency_ms) / 3_600_000.0  # ms -> hours
            known = True
    return total if known else None


def stage_key(m: ModelMetrics, name: str) -> str:
    """The label a stage counts under: its name while the model knows fewer than ``MAX_STAGE_NAMES``."""
    if name in m.stage_names:
        return name
    if len(m.stage_names) >= MAX_STAGE_NAMES:
        return OTHER_STAGE
    m.stage_names.add(name)
    return name


def count_ops(m: ModelMetrics, vm: VersionMetrics, version: str, records: list[EventRecord],
              cost: CostSettings | None) -> None:
    """Count one version's records into the ops counters (the caller holds the writer's counters lock).

    Written for the writer's hot loop: the common event carries none of the ops fields, and with no cost
    config or a flat ``per_prediction`` its cost is known without looking at it, so such events are only
    counted per day; the others are walked one by one."""
    flat = cost is None or (cost.per_1k_tokens is None and cost.per_gpu_hour is None)
    if flat:
        walk = [r for r in records if r.fallback or r.cost is not None or r.stages or r.resources]
        per_day: dict[float, int] = {}
        for r in records:
            d = (r.ts // DAY) * DAY
            per_day[d] = per_day.get(d, 0) + 1
        if walk:
            for r in walk:
                d = (r.ts // DAY) * DAY
                per_day[d] -= 1
        price = cost.per_prediction if cost is not None else None
        for d, n in per_day.items():
            if n:
                row = _row(m, d, version)
                row[0] += n
                if price is not None:
                    row[2] += n
                    row[3] += price * n
                    vm.costed += n
                    vm.cost += price * n
    else:
        walk = records
    if not walk:
        return
    stage_ms: dict[str, list[float]] = {}
    for r in walk:
        c = event_cost(r, cost)
        row = _row(m, (r.ts // DAY) * DAY, version)
        row[0] += 1
        if r.fallback:
            vm.fallback += 1
            row[1] += 1
        if c is not None:
            vm.costed += 1
            vm.cost += c
            row[2] += 1
            row[3] += c
        if r.stages:
            for name, ms in r.stages.items():
                stage_ms.setdefault(stage_key(m, name), []).append(ms)
        if r.resources:
            for k, v in r.resources.items():
                vm.resource_sum[k] = vm.resource_sum.get(k, 0.0) + v
                vm.resource_n[k] = vm.resource_n.get(k, 0) + 1
    for name, values in stage_ms.items():
        h = vm.stages.get(name)
        if h is None:
            h = vm.stages[name] = Histogram(LATENCY_BUCKETS)
        h.observe_many(np.asarray(values, dtype=np.float64) / 1000.0)


def _row(m: ModelMetrics, day: float, version: str) -> list[Any]:
    """The cost row of a day and version: [predictions, fallback, costed, total]."""
    row = m.costs.get((day, version))
    if row is None:
        row = m.costs[(day, version)] = [0, 0, 0, 0.0]
        if len(m.costs) > COST_DAYS * max(1, len(m.versions)):
            _forget_old_days(m)
    return row


def _forget_old_days(m: ModelMetrics) -> None:
    days = sorted({d for d, _ in m.costs})
    if len(days) > COST_DAYS:
        cut = days[-COST_DAYS]
        for key in [k for k in m.costs if k[0] < cut]:
            del m.costs[key]


def count_records(m: ModelMetrics, records: list[EventRecord], cost: CostSettings | None) -> None:
    """``count_ops`` over records of any versions (the recount after a restart)."""
    by_version: dict[str, list[EventRecord]] = {}
    for r in records:
        by_version.setdefault(r.version, []).append(r)
    for v, recs in by_version.items():
        count_ops(m, m.version(v), v, recs, cost)


@dataclass
class OpsMark:
    """A version's ops counters at one close (what ``window_ops`` diffs against the next)."""

    events: int
    fallback: int
    cost: float
    costed: int
    stages: dict[str, np.ndarray] = field(default_factory=dict)
    resource_sum: dict[str, float] = field(default_factory=dict)
    resource_n: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, vm: VersionMetrics) -> OpsMark:
        return cls(vm.events, vm.fallback, vm.cost, vm.costed, {k: h.counts.copy() for k, h in list(vm.stages.items())},
                   dict(vm.resource_sum), dict(vm.resource_n))


def window_ops(prev: OpsMark, now: OpsMark, quantile: Any) -> dict[str, float]:
    """The rule metrics of what arrived between two marks: ``fallback_ratio``, ``cost_per_prediction``,
    ``stage_latency_p50.<stage>`` and ``stage_latency_p99.<stage>`` (seconds, Prometheus's
    ``histogram_quantile`` on the stage's buckets: ``quantile(q, bounds, counts)``) and the mean of each
    resource (``resource.<name>``, for the gauge; no rule reads it)."""
    out: dict[str, float] = {}
    n = now.events - prev.events
    if n > 0:
        out["fallback_ratio"] = (now.fallback - prev.fallback) / n
        if now.costed > prev.costed:
            out["cost_per_prediction"] = (now.cost - prev.cost) / n
    for name, counts in now.stages.items():
        delta = counts - prev.stages.get(name, 0)
        if delta.sum() > 0 and (delta >= 0).all():
            for q, key in ((0.5, "stage_latency_p50"), (0.99, "stage_latency_p99")):
                value = quantile(q, LATENCY_BUCKETS, delta)
                if value is not None:
                    out[f"{key}.{name}"] = value
    for k in RESOURCES:
        dn = now.resource_n.get(k, 0) - prev.resource_n.get(k, 0)
        if dn > 0:
            out[f"resource.{k}"] = (now.resource_sum.get(k, 0.0) - prev.resource_sum.get(k, 0.0)) / dn
    return out


def cost_of_day(m: ModelMetrics, day: float) -> float | None:
    """The model's spend over the UTC day starting at ``day``, every version; None when nothing was priced."""
    rows = [row for (d, _v), row in list(m.costs.items()) if d == day]
    if not any(row[2] for row in rows):
        return None
    return float(sum(row[3] for row in rows))


def cost_table(m: ModelMetrics, since: float | None = None, until: float | None = None) -> list[dict[str, Any]]:
    """One row per UTC day and version, oldest first: predictions (every event, fallback ones too),
    fallback, costed (events something priced), total and per_prediction (total over predictions; None
    when nothing was priced)."""
    out = []
    for (day, version), (n, fb, costed, total) in sorted(list(m.costs.items())):
        if (since is not None and day + DAY <= since) or (until is not None and day >= until):
            continue
        out.append({"day": day, "version": version, "predictions": n, "fallback": fb, "costed": costed,
                    "total": total if costed else None, "per_prediction": total / n if costed and n else None})
    return out


def ops_summary(m: ModelMetrics) -> dict[str, dict[str, Any]]:
    """Per version, what /status shows of the ops fields: fallback events and cost so far (None when nothing
    was priced), and the last closed window's numbers by arrival (``window_ops``; empty before two closes)."""
    return {v: {"fallback_events": vm.fallback, "cost_total": vm.cost if vm.costed else None,
                "last_window": dict(vm.last_ops)} for v, vm in list(m.versions.items())}
