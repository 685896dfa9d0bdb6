"""Incidents, the alerts behind them, and silences: what the alert engine concluded, and what people do about
it (acknowledge, resolve, silence). Service-wide routes: a token limited to some models cannot reach them."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from argusml.alerts.engine import Silence
from argusml.alerts.incident import Incident
from argusml.schema.model_config import parse_duration
from argusml.service import schemas
from argusml.service.deps import Limit, MonitorDep, parse_time, state_of
from argusml.service.errors import ApiError, json_response

router = APIRouter(tags=["incidents"])

_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": schemas.ErrorBody}}


def _who(request: Request, given: str | None) -> str:
    """Who acted: the body's ``by``, else the bearer token's name, else "api"."""
    return given or request.scope.get("state", {}).get("token_name") or "api"


def _shown(monitor: Any, state: dict[str, Any]) -> dict[str, Any]:
    return monitor.alerting.engine.show(Incident.from_state(state))


@router.get("/v1/incidents", summary="Incidents, newest first (filter by model and status)")
def list_incidents(monitor: MonitorDep, model: str | None = None,
                   status: Literal["open", "acknowledged", "resolved"] | None = None,
                   limit: Annotated[Limit, Query()] = 100) -> Response:
    rows = monitor.store.incident_states(model=model, status=status, limit=limit)
    return json_response([_shown(monitor, s) for s in rows])


@router.get("/v1/incidents/{incident_id}", summary="One incident: its alerts, ranked causes and timeline",
            responses=_ERRORS)
def get_incident(incident_id: str, monitor: MonitorDep) -> Response:
    state = monitor.store.incident_state(incident_id)
    if state is None:
        raise ApiError(404, "unknown_incident", f"no incident {incident_id!r} (GET /v1/incidents lists them)")
    return json_response(_shown(monitor, state))


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(None, max_length=200, description="who (default: the token's name)")
    comment: str = Field("", max_length=2000)


def _act(monitor: Any, request: Request, incident_id: str, action: str, body: Action | None) -> Response:
    body = body or Action()
    shown = monitor.alerting.act(incident_id, action, _who(request, body.by), body.comment)
    if shown is not None:
        return json_response(shown)
    state = monitor.store.incident_state(incident_id)
    if state is None:
        raise ApiError(404, "unknown_incident", f"no incident {incident_id!r} (GET /v1/incidents lists them)")
    raise ApiError(409, "incident_resolved", f"incident {incident_id!r} was resolved at "
                                             f"{_shown(monitor, state)['resolved_at']}; nothing to {action}")


@router.post("/v1/incidents/{incident_id}/ack", summary="Acknowledge: someone is on it (stops repeats)",
             responses={**_ERRORS, 409: {"model": schemas.ErrorBody}})
def ack(incident_id: str, monitor: MonitorDep, request: Request, body: Action | None = None) -> Response:
    return _act(monitor, request, incident_id, "ack", body)


@router.post("/v1/incidents/{incident_id}/resolve",
             summary="Resolve by hand (receivers are told; a post-mortem draft is filled)",
             responses={**_ERRORS, 409: {"model": schemas.ErrorBody}})
def resolve(incident_id: str, monitor: MonitorDep, request: Request, body: Action | None = None) -> Response:
    return _act(monitor, request, incident_id, "resolve", body)


@router.get("/v1/alerts", summary="Alerts pending or firing now")
def alerts(monitor: MonitorDep, model: str | None = None) -> Response:
    return json_response(monitor.alerting.alerts(model))


@router.get("/v1/models/{model}/slos", summary="Each SLO: burn rates per window, error budget left, its alert",
            responses=_ERRORS)
def slos(model: str, monitor: MonitorDep) -> Response:
    state_of(monitor, model)
    return json_response(monitor.alerting.slo_status(model).get(model, {}))


class SilenceIn(BaseModel):
    """Mutes the notifications of matching alerts (they still fire and show in incidents)."""

    model_config = ConfigDict(extra="forbid")
    matchers: dict[str, str] = Field(min_length=1, description="alert labels to match: alertname, model, "
                                                               "model_version, severity, column; * and ? wildcards")
    duration: str | None = Field(None, description="how long, e.g. 2h (or give ends_at)")
    ends_at: str | None = Field(None, description="RFC 3339 or epoch seconds")
    author: str | None = Field(None, max_length=200, description="default: the token's name")
    comment: str = Field("", max_length=2000)

    @field_validator("matchers")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        for k in v:
            if not k or len(k) > 100:
                raise ValueError(f"matcher label {k!r} must have 1 to 100 characters")
        return v


@router.post("/v1/silences", summary="Silence matching alerts until a time", status_code=201,
             responses={400: {"model": schemas.ErrorBody}})
def add_silence(body: SilenceIn, monitor: MonitorDep, request: Request) -> Response:
    now = monitor.clock()
    if (body.duration is None) == (body.ends_at is None):
        raise ApiError(400, "invalid_silence", "give exactly one of 'duration' (e.g. 2h) or 'ends_at'")
    try:
        ends = now + parse_duration(body.duration) if body.duration is not None else parse_time(body.ends_at, "ends_at")
    except ValueError as exc:
        raise ApiError(400, "invalid_silence", str(exc)) from None
    if ends is None or ends <= now:
        raise ApiError(400, "invalid_silence", "the silence would end before it starts: give a time in the future")
    s = Silence("sil-" + secrets.token_hex(6), dict(body.matchers), now, ends, _who(request, body.author),
                body.comment, now)
    monitor.alerting.add_silence(s)
    return json_response(s.to_dict(), status=201)


@router.get("/v1/silences", summary="Silences, active and recently ended")
def list_silences(monitor: MonitorDep) -> Response:
    now = monitor.clock()
    with monitor.alerting.lock:
        items = sorted(monitor.alerting.engine.silences.values(), key=lambda s: s.ends_at)
    return json_response([{**s.to_dict(), "active": s.starts_at <= now < s.ends_at} for s in items])


@router.delete("/v1/silences/{silence_id}", summary="End a silence now", responses=_ERRORS)
def expire_silence(silence_id: str, monitor: MonitorDep) -> Response:
    s = monitor.alerting.expire_silence(silence_id)
    if s is None:
        raise ApiError(404, "unknown_silence", f"no silence {silence_id!r} (GET /v1/silences lists them)")
    return json_response(s.to_dict())
