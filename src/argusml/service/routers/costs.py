"""What serving a model cost: per UTC day and version, from the events' own ``cost`` or the model's
``cost:`` config (docs/OPERATIONS.md, "Cost")."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from argusml.monitor.ops import DAY, cost_table
from argusml.service import schemas
from argusml.service.deps import MonitorDep, parse_time, state_of
from argusml.service.errors import json_response

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


class CostAnswer(BaseModel):
    model: str
    currency: str
    budget_per_day: float | None
    costs: list[CostRow] = Field(description="one row per day and version, oldest first")
    days: list[DayTotal] = Field(description="one row per day, every version together")


@router.get("/v1/models/{model}/costs", response_model=CostAnswer,
            summary="Cost per prediction and per day, by version (the events' cost, or the model's cost config)",
            responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody}})
def costs(model: str, monitor: MonitorDep, since: str | None = None, until: str | None = None) -> Response:
    st = state_of(monitor, model)
    rows = cost_table(st.metrics, parse_time(since, "since"), parse_time(until, "until"))
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
    return json_response({"model": model, "currency": cfg.currency if cfg is not None else "USD",
                          "budget_per_day": budget, "costs": [{**r, "day": _day(r["day"])} for r in rows],
                          "days": out_days})


def _day(start: float) -> str:
    return datetime.fromtimestamp(start - start % DAY, tz=timezone.utc).strftime("%Y-%m-%d")
