"""A model's dependencies over HTTP: their probed states, and the freshness heartbeats pipelines post.

``POST /v1/models/{model}/dependencies/{name}`` with ``{"timestamp": T}`` says "the data this pipeline
produced is as fresh as T" (RFC 3339 or epoch seconds). It is stored before the answer, so a restart keeps
it; the newest post wins even when its T is older than the one before (the pipeline knows best).
"""

from __future__ import annotations

from typing import Any, Optional, Union

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from argusml.monitor import Monitor
from argusml.monitor.dependencies import UnknownDependency
from argusml.monitor.events import parse_timestamp
from argusml.service import schemas
from argusml.service.deps import MonitorDep, parse_time, rfc3339, state_of
from argusml.service.errors import ApiError, json_response

router = APIRouter(tags=["dependencies"])

_TIMES = ("last_probe_at", "failing_since", "last_ok_at", "last_heartbeat")


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    timestamp: Union[str, float] = Field(description="how fresh the pipeline's data is: RFC 3339 or epoch "
                                                     "seconds, UTC when no zone")
    documents: Optional[int] = Field(None, ge=0, description="how many documents (rows) the pipeline's output "
                                                             "holds now: a vector index's size, kept over time")


def _shown(state: dict[str, Any]) -> dict[str, Any]:
    return {**state, **{k: rfc3339(state[k]) for k in _TIMES}}


def _dependency(monitor: Monitor, model: str, name: str) -> None:
    state_of(monitor, model)
    try:
        monitor.dependencies.dependency(model, name)
    except UnknownDependency as exc:
        raise ApiError(404, "unknown_dependency", str(exc)) from None


@router.get("/v1/models/{model}/dependencies", summary="The model's dependencies: up or down, probe times, "
                                                       "errors, heartbeat ages",
            responses={404: {"model": schemas.ErrorBody}})
def list_dependencies(model: str, monitor: MonitorDep) -> Response:
    state_of(monitor, model)
    return json_response({"model": model, "dependencies": [_shown(d) for d in monitor.dependencies.listing(model)]})


@router.post("/v1/models/{model}/dependencies/{name}", summary="Post a freshness heartbeat of a dependency",
             responses={404: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}})
def post_heartbeat(model: str, name: str, body: HeartbeatIn, monitor: MonitorDep) -> Response:
    _dependency(monitor, model, name)
    now = monitor.clock()
    try:
        ts = parse_timestamp(body.timestamp, now)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", [{"field": "timestamp", "error": str(exc)}]) from None
    skew = monitor.model(model).config.future_skew
    if ts > now + skew:
        raise ApiError(422, "invalid_request", [{"field": "timestamp", "error": f"{rfc3339(ts)} is more than "
                                                 f"{skew:g}s ahead of the server's clock ({rfc3339(now)}): "
                                                 "send the time the pipeline's data is fresh as of"}])
    try:
        shown = monitor.dependencies.heartbeat(model, name, ts, body.documents)
    except UnknownDependency as exc:  # the config was replaced between the check and the write
        raise ApiError(404, "unknown_dependency", str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "not_freshness", str(exc)) from None
    return json_response({"model": model, "dependency": _shown(shown)})


@router.get("/v1/models/{model}/dependencies/{name}/documents",
            summary="A freshness dependency's document counts over time (a vector index's size)",
            responses={404: {"model": schemas.ErrorBody}})
def document_history(model: str, name: str, monitor: MonitorDep,
                     since: str | None = Query(None, description="RFC 3339 or epoch seconds (default: a day ago)")
                     ) -> Response:
    """What the pipeline's heartbeats reported, oldest first, for the month they are kept: how an index grew,
    and when it lost documents."""
    _dependency(monitor, model, name)
    start = parse_time(since, "since")
    rows = monitor.dependencies.document_history(model, name, monitor.clock() - 86400 if start is None else start)
    return json_response({"model": model, "dependency": name,
                          "documents": [{"received_at": rfc3339(at), "timestamp": rfc3339(ts), "documents": n}
                                        for at, ts, n in rows]})
