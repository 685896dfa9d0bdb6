"""The registry over HTTP: list the models, read one, register or replace one, replace a version's baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from argusml.monitor.health import HEALTH_RANK
from argusml.monitor.llm import baseline_from_events, learning_reference, past_traffic_args, plan_of
from argusml.profile import Reference
from argusml.schema import ConfigError, InputError
from argusml.schema.model_config import MODEL_NAME, model_config_from_dict
from argusml.service import schemas
from argusml.service.deps import MonitorDep, rfc3339, state_of
from argusml.service.errors import ApiError, json_response

router = APIRouter(tags=["models"])


SortKey = Literal["name", "health", "last_event", "label_coverage", "slo_budget_left", "incidents",
                  "-name", "-health", "-last_event", "-label_coverage", "-slo_budget_left", "-incidents"]
_SORT_VALUE: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda r: r["model"],
    "health": lambda r: HEALTH_RANK[r["health"].state],
    "last_event": lambda r: r["last_event_ts"],
    "label_coverage": lambda r: r["label_coverage"],
    "slo_budget_left": lambda r: r["slo_budget_left"],
    "incidents": lambda r: sum(r["incidents"].values()),
}


@router.get("/v1/models", summary="Models being monitored, with their health: filtered, sorted, one page",
            response_model=schemas.ModelList)
def list_models(request: Request, monitor: MonitorDep,
                limit: int = Query(100, ge=1, le=1000, description="models per page"),
                offset: int = Query(0, ge=0, description="models to skip (after filtering and sorting)"),
                team: str | None = Query(None, description="only the models of this team (config `team:`)"),
                owner: str | None = Query(None, description="only the models of this owner (config `owner:`)"),
                health: Literal["ok", "warning", "incident"] | None = Query(None, description="only models in "
                                                                                              "this state"),
                q: str | None = Query(None, max_length=200, description="case-insensitive part of the model name"),
                sort: SortKey = Query("name", description="name, health, last_event, label_coverage, "
                                                          "slo_budget_left or incidents; a leading '-' sorts "
                                                          "descending (-health: incident, warning, ok)")) -> Response:
    """Every model the token may read, with its health (``monitor/health.py``: the same rule as /status),
    open incidents per severity, SLO budget left, last event and label coverage, computed from a few
    grouped reads whatever the number of models. Models without a value for the sort key (no SLO, no
    label yet) come last either way; ties go by name. ``teams`` and ``owners`` list every value among the
    readable models (for a filter's choices), whatever the filters and the page."""
    allowed = request.scope.get("state", {}).get("token_models")
    yaml_models: set[str] | None = request.app.state.yaml_models
    needle = q.lower() if q else None
    names = [name for name, st in sorted(monitor.models.items())
             if (allowed is None or name in allowed) and (team is None or st.config.team == team)
             and (owner is None or st.config.owner == owner) and (needle is None or needle in name.lower())]
    rows = [r for r in monitor.overview(names) if health is None or r["health"].state == health]
    key, descending = sort.lstrip("-"), sort.startswith("-")
    value = _SORT_VALUE[key]
    known = sorted((r for r in rows if value(r) is not None), key=lambda r: r["model"])
    known.sort(key=value, reverse=descending)  # stable: ties stay by name
    rows = known + [r for r in rows if value(r) is None]
    out = []
    for r in rows[offset:offset + limit]:
        st = monitor.models[r["model"]]
        h = r["health"]
        out.append({"model": r["model"], "owner": st.config.owner, "team": st.config.team,
                    "description": st.config.description, "window": st.config.window,
                    "versions": sorted(st.versions), "events_total": st.events_total,
                    "source": "config" if yaml_models and r["model"] in yaml_models else "api",
                    "health": {"state": h.state, "since": rfc3339(h.since), "why": h.why},
                    "incidents": r["incidents"], "slo_budget_left": r["slo_budget_left"],
                    "last_event_at": rfc3339(r["last_event_ts"]), "last_event_age_s": r["last_event_age_s"],
                    "label_coverage": r["label_coverage"]})
    readable = [st.config for name, st in monitor.models.items() if allowed is None or name in allowed]
    # every team and owner the token can see, not the page's: the filters' choices do not shrink as one pages
    return json_response({"models": out, "total": len(rows), "limit": limit, "offset": offset,
                          "teams": sorted({c.team for c in readable if c.team}),
                          "owners": sorted({c.owner for c in readable if c.owner})})


@router.get("/v1/models/{model}", summary="A model's configuration",
            response_model=schemas.ModelDetail,
            responses={404: {"model": schemas.ErrorBody}})
def get_model(model: str, monitor: MonitorDep) -> Response:
    st = state_of(monitor, model)
    return json_response({"model": model, "config": st.config.model_dump(mode="json"),
                          "references": {v or "*": {"created_at": r.reference.created_at, "fingerprint": r.fingerprint,
                                                    "columns": len(r.reference.specs), "rows": r.reference.n_rows,
                                                    "roles": _roles(r.reference)}
                                         for v, r in st.refs.items()}})


@router.put("/v1/models/{model}", summary="Register or replace a model (config + baseline)",
            responses={200: {"description": "registered"}, 422: {"model": schemas.ErrorBody}})
def put_model(model: str, body: schemas.RegisterIn, request: Request, monitor: MonitorDep) -> Response:
    if not MODEL_NAME.match(model):
        raise ApiError(422, "invalid_model_name", "model names are 1-64 letters, digits, '_', '-' or '.'")
    cfg_in = dict(body.config)
    if cfg_in.get("model", model) != model:
        raise ApiError(422, "invalid_config", f"config.model {cfg_in.get('model')!r} differs from the URL's {model!r}")
    if "reference" in cfg_in:
        raise ApiError(422, "invalid_config", "config.reference: over HTTP the baseline goes in 'baseline', "
                                              "not as a file path")
    if any(isinstance(v, dict) and "reference" in v for v in (cfg_in.get("versions") or {}).values()):
        raise ApiError(422, "invalid_config", "config.versions: over HTTP each version's baseline goes to "
                                              "PUT /v1/models/{model}/versions/{version}/reference, not as a "
                                              "file path")
    cfg_in["model"] = model
    try:
        cfg = model_config_from_dict(cfg_in, "config")
        plan = plan_of(cfg)
        if plan is not None and cfg.llm_settings.baseline.file is not None:
            raise ApiError(422, "invalid_config", "config.llm.baseline.file: over HTTP the past events go in "
                                                  "'baseline' (a list of events), not as a file path")
        if plan is None:
            if not isinstance(body.baseline, dict):
                raise ApiError(422, "invalid_config", "baseline: required, the baseline JSON written by "
                                                      "`argus baseline`")
            ref = Reference.from_dict(body.baseline, "baseline")
        elif body.baseline is None:
            ref = learning_reference(plan)  # it learns from its first windows
        elif isinstance(body.baseline, list):
            ref = baseline_from_events(body.baseline, plan, **past_traffic_args(cfg))
        else:
            raise ApiError(422, "invalid_config", "baseline: an LLM model's baseline is a list of past events "
                                                  "(or none: it learns from its first windows)")
        author = request.scope.get("state", {}).get("token_name") or "anonymous"
        monitor.register(cfg, ref, author=author, source="http")
    except (ConfigError, InputError) as exc:
        raise ApiError(422, "invalid_config", str(exc).splitlines()) from None
    return json_response({"model": model, "registered": True})


@router.get("/v1/models/{model}/config/history", summary="A model's config versions, newest first",
            response_model=schemas.ConfigHistory, responses={404: {"model": schemas.ErrorBody}})
def config_history(model: str, monitor: MonitorDep,
                   limit: int = Query(20, ge=1, le=1000, description="newest versions to return")) -> Response:
    """Who changed the model's config, when, from where (a YAML path, or "http"), and what each version
    changed in what alerts against the one before it (``changes``; null for the first)."""
    state_of(monitor, model)
    history = monitor.store.config_history(model, limit)
    for v in history:
        v["recorded_at"] = rfc3339(v["recorded_at"])
    return json_response({"model": model, "history": history})


@router.get("/v1/models/{model}/reference", summary="A model's baseline, as PUT takes it back",
            responses={200: {"description": "the baseline JSON (`argus baseline`'s format)"},
                       404: {"model": schemas.ErrorBody},
                       409: {"model": schemas.ErrorBody, "description": "an LLM model still learning its baseline"}})
def get_reference(model: str, monitor: MonitorDep,
                  version: str | None = Query(None, description="a version with a reference of its own "
                                                                "(default: the model's own)")) -> Response:
    """The baseline a tool needs to register the model again with a changed config (``PUT
    /v1/models/{model}`` takes config and baseline together), or to draw traffic that looks like the
    reference (`argus gameday`)."""
    st = state_of(monitor, model)
    ref = st.refs.get(version or "")
    if ref is None:
        raise ApiError(404, "unknown_reference", f"model {model!r} has no reference of its own for version "
                                                 f"{version!r}; versions with one: "
                                                 f"{', '.join(sorted(v for v in st.refs if v)) or 'none'}")
    if st.learning is not None and not version:
        raise ApiError(409, "learning", f"model {model!r} is learning its baseline from its first windows "
                                        f"({st.learning.events} of at least {st.learning.min_events} events so far); "
                                        f"GET /v1/models/{model}/status says when it ends")
    return json_response(ref.reference.to_dict())


@router.put("/v1/models/{model}/versions/{version}/reference",
            summary="Replace one version's reference (after a retrain)",
            responses={404: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}})
def put_reference(model: str, version: str, baseline: dict[str, Any], monitor: MonitorDep) -> Response:
    state_of(monitor, model)
    if not version or len(version) > 64:
        raise ApiError(422, "invalid_version", "version must have 1 to 64 characters")
    try:
        ref = Reference.from_dict(baseline, "baseline")
        # a baseline the model's declared bounds do not fit (a min on a now-categorical column) is refused
        monitor.set_version_reference(model, version, ref)
    except InputError as exc:
        raise ApiError(422, "invalid_baseline", str(exc)) from None
    return json_response({"model": model, "version": version, "replaced": True})


def _roles(ref: Reference) -> dict[str, Any]:
    """Which of the baseline's columns are the id, the time, the prediction, the target and the features, and
    each column's kind: what `argus backfill` maps (and reads) a file's columns by."""
    from argusml.schema import Role

    return {"id": ref.column_with(Role.ID), "timestamp": ref.column_with(Role.TIMESTAMP),
            "prediction": ref.prediction, "target": ref.target,
            "features": [n for n, sp in ref.specs.items() if sp.role is Role.FEATURE],
            "kinds": {n: sp.kind.value for n, sp in ref.specs.items()}}
