"""What serving a model cost: per UTC day and version, from the events' own ``cost`` or the model's
``cost:`` config, and with ``by=tenant`` per UTC day and tenant too, with the tokens (docs/OPERATIONS.md,
"Cost"). Without ``by`` the answer is what it always was: a client written before tenants reads it unchanged."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from argusml.monitor.ops import DAY, DEFAULT_MAX_TENANTS, OTHER_TENANT, cost_table, folded_tenants, tenant_table
from argusml.service import schemas
from argusml.service.deps import MonitorDep, parse_time, state_of
from argusml.service.errors import ApiError, json_response

router = APIRouter(tags=["results"])


class CostRow(BaseModel):
    day: str = Field(description="the UTC day, YYYY-MM-DD (by the events' own time)")
    version: str
    predictions: int = Field(description="events of the day: the model's answers and the fallback's")
    fallback: int = Field(description="of them, answered by the fallback (fallback: true)")
    costed: int = Field(description="events something priced: their own cost, or the model's cost config")
    total: float | None = Field(description="what the day cost; null when nothing priced an event")
    per_prediction: float | None = Field(description="total over predictions")


class DayTotal(BaseModel):
    day: str
    predictions: int
    total: float | None
    per_prediction: float | None
    over_budget: bool | None = Field(description="total above cost.budget_per_day; null without a budget")


class TenantRow(BaseModel):
    day: str = Field(description="the UTC day, YYYY-MM-DD (by the events' own time)")
    tenant: str = Field(description="llm.tenant; \"\" for events that name none, __other__ for the tenants past "
                                    "cost.max_tenants")
    events: int
    costed: int = Field(description="events something priced")
    total: float | None = Field(description="what the tenant's events cost that day; null when nothing priced one")
    input_tokens: int
    output_tokens: int
    over_budget: bool | None = Field(description="total above cost.budget_per_tenant_per_day; null without a budget, "
                                                 "a price, or a tenant of its own")


class Folded(BaseModel):
    tenants: int = Field(description="distinct tenants counted as __other__ (at least: past 1000 they are not told "
                                     "apart)")
    events: int = Field(description="their events")
    names: list[str] = Field(description="their names, most events first")
    unnamed_events: int = Field(description="events of folded tenants past the 1000 named")


class CostAnswer(BaseModel):
    model: str
    currency: str
    budget_per_day: float | None
    costs: list[CostRow] = Field(description="one row per day and version, oldest first")
    days: list[DayTotal] = Field(description="one row per day, every version together")
    budget_per_tenant_per_day: float | None = Field(None, description="only with by=tenant")
    max_tenants: int | None = Field(None, description="only with by=tenant")
    tenants: list[TenantRow] | None = Field(None, description="only with by=tenant: one row per day and tenant, every "
                                                              "version together, oldest first")
    folded: Folded | None = Field(None, description="only with by=tenant: the tenants counted as __other__")


@router.get("/v1/models/{model}/costs", response_model=CostAnswer,
            summary="Cost per prediction and per day, by version (the events' cost, or the model's cost config); "
                    "with by=tenant also per day and tenant, with the tokens",
            responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody}})
def costs(model: str, monitor: MonitorDep, since: str | None = None, until: str | None = None,
          by: str | None = Query(None, description="tenant: add the tenants and folded sections (per UTC day and "
                                                   "tenant, with the tokens); version (the default): the rows by "
                                                   "version only")) -> Response:
    if by not in (None, "", "version", "tenant"):
        raise ApiError(400, "bad_query", f"by: {by!r} is neither version (the default) nor tenant")
    st = state_of(monitor, model)
    lo, hi = parse_time(since, "since"), parse_time(until, "until")
    rows = cost_table(st.metrics, lo, hi)
    cfg = st.config.cost
    budget = cfg.budget_per_day if cfg is not None else None
    days: dict[float, list[float]] = {}
    for r in rows:
        d = days.setdefault(r["day"], [0, 0, 0.0])
        d[0] += r["predictions"]
        d[1] += r["costed"]
        d[2] += r["total"] or 0.0
    out_days = []
    for day, (n, costed, total) in sorted(days.items()):
        priced = total if costed else None
        out_days.append({"day": _day(day), "predictions": int(n), "total": priced,
                         "per_prediction": priced / n if priced is not None and n else None,
                         "over_budget": None if budget is None or priced is None else priced > budget})
    out = {"model": model, "currency": cfg.currency if cfg is not None else "USD", "budget_per_day": budget,
           "costs": [{**r, "day": _day(r["day"])} for r in rows], "days": out_days}
    if by == "tenant":
        per_tenant = cfg.budget_per_tenant_per_day if cfg is not None else None
        out.update(budget_per_tenant_per_day=per_tenant,
                   max_tenants=cfg.max_tenants if cfg is not None else DEFAULT_MAX_TENANTS,
                   tenants=[{**r, "day": _day(r["day"]),
                             "over_budget": None if per_tenant is None or r["total"] is None
                             or r["tenant"] in ("", OTHER_TENANT) else r["total"] > per_tenant}
                            for r in tenant_table(st.metrics, lo, hi)],
                   folded=folded_tenants(st.metrics))
    return json_response(out)


def _day(start: float) -> str:
    return datetime.fromtimestamp(start - start % DAY, tz=timezone.utc).strftime("%Y-%m-%d")
