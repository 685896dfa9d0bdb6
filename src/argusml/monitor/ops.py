"""Operations beyond the prediction: what serving cost, how long each stage took, what the events' resources
were, and which events the fallback answered (the event fields ``cost``, ``stages``, ``resources`` and
``fallback``; docs/OPERATIONS.md).

Counted per batch by the writer thread (``count_ops``) into the model's live counters, which are saved
with every snapshot and recounted from the raw log past it after a crash (``recovery.py``), like the
request and latency counters. Windows of these numbers are **by arrival**, as ``latency_p99`` is: the
alert thread diffs the counters between two closes of a version's windows (``window_ops``). Cost per day
is by the events' own time (a UTC day), as ``GET /v1/models/{m}/costs`` shows it.

Cost and tokens are also kept per UTC day, version and tenant (``ModelMetrics.usage``): an LLM event names
its tenant (``llm.tenant``), any other event counts under the tenant ``""``. A model keeps
``cost.max_tenants`` tenants apart, the first ones it sees; later ones count as ``__other__``, the same
bounded-labels rule as segment values and stage names, so that a per-tenant Prometheus series cannot grow
without end. The folded tenants are named (the first ``MAX_FOLDED_KEPT``) and counted, never dropped quietly.
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
OTHER_TENANT = "__other__"
DEFAULT_MAX_TENANTS = CostSettings().max_tenants
"""The cap of a model without a ``cost:`` section: its tokens and tenants are counted all the same."""
MAX_FOLDED_KEPT = 1000
"""Folded tenants named with their events; past these, a folded tenant's events are counted unnamed, so a
client that invents a tenant per request grows nothing without end."""
MAX_TOKENS = 1e12
"""A token count a tabular feature may hold: past it (or negative, or not finite) it is a bad value, not tokens."""


def event_tokens(r: EventRecord) -> tuple[int, int] | None:
    """The (input, output) tokens ``r`` says it used, None when it names neither. An LLM event's come from
    its ``llm`` object, as providers report them; a tabular event's from its features ``input_tokens`` and
    ``output_tokens``, the names an LLM model's columns have, so one convention covers both kinds."""
    src = r.llm if r.llm is not None else r.features
    i, o = src.get("input_tokens"), src.get("output_tokens")
    ok_i = type(i) in (int, float) and 0 <= i < MAX_TOKENS
    ok_o = type(o) in (int, float) and 0 <= o < MAX_TOKENS
    if not (ok_i or ok_o):
        return None
    return (round(i) if ok_i else 0, round(o) if ok_o else 0)


def tenant_of(r: EventRecord) -> str:
    """The tenant an event's spend belongs to: an LLM event's ``llm.tenant``; ``""`` for none."""
    t = r.llm.get("tenant") if r.llm is not None else None
    return t if type(t) is str else ""


def tenant_key(m: ModelMetrics, name: str, cap: int) -> str:
    """The tenant ``name``'s spend counts under: itself while the model knows fewer than ``cap`` tenants,
    else ``OTHER_TENANT``, and the fold is counted (``ModelMetrics.folded``)."""
    if not name or name in m.tenants:
        return name
    if len(m.tenants) < cap and name != OTHER_TENANT:
        m.tenants.add(name)
        return name
    if name in m.folded:
        m.folded[name] += 1
    elif len(m.folded) < MAX_FOLDED_KEPT:
        m.folded[name] = 1
    else:
        m.folded_more += 1
    return OTHER_TENANT


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
    if cost.per_1k_input_tokens is not None:
        tok = event_tokens(r)
        if tok is not None:
            total += (cost.per_1k_input_tokens * tok[0] + (cost.per_1k_output_tokens or 0.0) * tok[1]) / 1000.0
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

    Written for the writer's hot loop: the common tabular event carries none of the ops fields, and with no
    cost config or a flat ``per_prediction`` its cost is known without looking at it, so such events are
    only counted per day (and their token features, when they have any); LLM events and the others are
    walked one by one."""
    cap = cost.max_tenants if cost is not None else DEFAULT_MAX_TENANTS
    flat = cost is None or (cost.per_1k_tokens is None and cost.per_gpu_hour is None
                            and cost.per_1k_input_tokens is None)
    if flat:
        walk = []
        per_day: dict[float, list[int]] = {}  # day -> [events, input tokens, output tokens] of the plain events
        for r in records:
            if r.llm is not None or r.fallback or r.cost is not None or r.stages or r.resources:
                walk.append(r)
                continue
            d = (r.ts // DAY) * DAY
            day = per_day.get(d)
            if day is None:
                day = per_day[d] = [0, 0, 0]
            day[0] += 1
            f = r.features
            if "input_tokens" in f or "output_tokens" in f:
                tok = event_tokens(r)
                if tok is not None:
                    day[1] += tok[0]
                    day[2] += tok[1]
        price = cost.per_prediction if cost is not None else None
        for d, (n, n_in, n_out) in per_day.items():
            row = _row(m, d, version)
            use = _usage(m, d, version, "")
            row[0] += n
            use[0] += n
            use[3] += n_in
            use[4] += n_out
            vm.input_tokens += n_in
            vm.output_tokens += n_out
            if price is not None:
                row[2] += n
                row[3] += price * n
                use[1] += n
                use[2] += price * n
                vm.costed += n
                vm.cost += price * n
    else:
        walk = records
    if not walk:
        return
    stage_ms: dict[str, list[float]] = {}
    for r in walk:
        c = event_cost(r, cost)
        d = (r.ts // DAY) * DAY
        row = _row(m, d, version)
        tenant = tenant_key(m, tenant_of(r), cap) if r.llm is not None else ""
        use = _usage(m, d, version, tenant)
        row[0] += 1
        use[0] += 1
        if r.fallback:
            vm.fallback += 1
            row[1] += 1
        if c is not None:
            vm.costed += 1
            vm.cost += c
            row[2] += 1
            row[3] += c
            use[1] += 1
            use[2] += c
            if tenant:
                m.tenant_cost[tenant] = m.tenant_cost.get(tenant, 0.0) + c
        tok = event_tokens(r)
        if tok is not None:
            use[3] += tok[0]
            use[4] += tok[1]
            vm.input_tokens += tok[0]
            vm.output_tokens += tok[1]
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


def _usage(m: ModelMetrics, day: float, version: str, tenant: str) -> list[Any]:
    """The usage row of a day, version and tenant: [events, costed, cost, input tokens, output tokens]. The
    last ``COST_DAYS`` days are kept, as for the cost rows."""
    rows = m.usage.get(day)
    if rows is None:
        rows = m.usage[day] = {}
        if len(m.usage) > COST_DAYS:
            for old in sorted(m.usage)[:-COST_DAYS]:
                del m.usage[old]
    row = rows.get((version, tenant))
    if row is None:
        row = rows[(version, tenant)] = [0, 0, 0.0, 0, 0]
    return row


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


def tenant_costs_of_day(m: ModelMetrics, day: float) -> dict[str, float]:
    """Each tenant's spend over the UTC day starting at ``day``, every version: the tenants something priced.
    Neither ``""`` (no tenant) nor ``OTHER_TENANT`` (several tenants together) is a tenant a per-tenant budget
    can judge."""
    out: dict[str, float] = {}
    for (_v, tenant), row in list((m.usage.get(day) or {}).items()):
        if row[1] and tenant and tenant != OTHER_TENANT:
            out[tenant] = out.get(tenant, 0.0) + row[2]
    return out


def tokens_of_day(m: ModelMetrics, day: float) -> int | None:
    """The model's input and output tokens over the UTC day starting at ``day``, every version and tenant;
    None before any event of that day."""
    rows = list((m.usage.get(day) or {}).values())
    return sum(row[3] + row[4] for row in rows) if rows else None


def tenant_table(m: ModelMetrics, since: float | None = None, until: float | None = None) -> list[dict[str, Any]]:
    """One row per UTC day and tenant (every version together), oldest first, then by tenant: events, costed,
    total (None when nothing was priced), input and output tokens."""
    sums: dict[tuple[float, str], list[Any]] = {}
    for day, rows in list(m.usage.items()):
        if (since is not None and day + DAY <= since) or (until is not None and day >= until):
            continue
        for (_v, tenant), row in list(rows.items()):
            acc = sums.setdefault((day, tenant), [0, 0, 0.0, 0, 0])
            for k in range(5):
                acc[k] += row[k]
    return [{"day": day, "tenant": tenant, "events": n, "costed": costed, "total": total if costed else None,
             "input_tokens": n_in, "output_tokens": n_out}
            for (day, tenant), (n, costed, total, n_in, n_out) in sorted(sums.items())]


def folded_tenants(m: ModelMetrics) -> dict[str, Any]:
    """What counted as ``OTHER_TENANT``: how many tenants (at least: past ``MAX_FOLDED_KEPT`` they are not told
    apart), their events, and their names, most events first."""
    named = sorted(list(m.folded.items()), key=lambda kv: (-kv[1], kv[0]))
    return {"tenants": len(named), "events": sum(n for _, n in named) + m.folded_more,
            "names": [t for t, _ in named], "unnamed_events": m.folded_more}


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
