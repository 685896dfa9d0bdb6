"""What the dashboard's model and feature pages read: a window's features sorted by drift, one feature's
distribution against the reference and its history, and the model's operations and checks over time.

Each query's version, segment, window and times are checked here, so a typo answers 4xx naming the
parameter and what it may be, never an empty page that reads as "nothing wrong"."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from argusml.monitor import ModelState, Monitor
from argusml.monitor.dashboard import (
    MAX_HISTORY,
    MAX_POINTS,
    check_points,
    feature_history,
    ops_points,
    window_features,
)
from argusml.monitor.windows import OVERALL, load_profile
from argusml.reports.model import chart_data
from argusml.service import schemas
from argusml.service.deps import MonitorDep, parse_time, rfc3339, state_of, version_of
from argusml.service.errors import ApiError, json_response

router = APIRouter(tags=["dashboard"])

DEFAULT_SPAN = 7 * 86400.0
_ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": schemas.ErrorBody}, 404: {"model": schemas.ErrorBody}}


def _time(value: str | None, name: str) -> float | None:
    t = parse_time(value, name)
    if t is not None and not math.isfinite(t):
        raise ApiError(400, "bad_query", f"{name}: {value!r} is not a finite time; give RFC 3339 or epoch seconds")
    return t


def _segment(monitor: Monitor, st: ModelState, segment: str | None) -> str:
    """The segment asked for ('*': all traffic), 404 naming the model's segments when it has no window."""
    if segment is None or segment in ("", OVERALL):
        return OVERALL
    known = monitor.store.window_segments(st.name, st.config.window)
    if segment not in known:
        raise ApiError(404, "unknown_segment", f"segment {segment!r}: model {st.name!r} has no closed window of "
                                               f"that segment; its segments: {', '.join(known) or 'none yet'} "
                                               f"(e.g. segment=country=DE; '*' is all traffic)")
    return segment


def _window(monitor: Monitor, st: ModelState, version: str | None, segment: str | None,
            window_start: str | None, *, profile: bool = False) -> tuple[str | None, str, dict[str, Any] | None]:
    """(version, segment, window row or None): the closed window of the model's own length that
    ``window_start`` names, else the newest one of ``version`` (default: the version with the newest
    window) and ``segment`` (default: all traffic)."""
    v = version_of(monitor, st, version)
    seg = _segment(monitor, st, segment)
    g = st.config.window
    start = _time(window_start, "window_start")
    if start is None:
        rows = monitor.store.windows(st.name, version=v, segment=seg, granularity=g, closed=True, limit=1,
                                     with_profile=profile)
        row = rows[0] if rows else None
    else:
        rows = monitor.store.windows(st.name, since=start, until=start + g, version=v, segment=seg, granularity=g,
                                     closed=True, limit=100, with_profile=profile)
        row = next((r for r in rows if r["start_ts"] == start), None)
        if row is None:
            raise ApiError(404, "unknown_window", f"window_start: model {st.name!r} has no closed window starting at "
                                                  f"{rfc3339(start)} (version {v or 'any'}, segment {seg!r}); "
                                                  f"GET /v1/models/{st.name}/windows lists them")
    return (row["version"] if row is not None else v), seg, row


def _window_out(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {"start": rfc3339(row["start_ts"]), "end": rfc3339(row["end_ts"])}


@router.get("/v1/models/{model}/features", response_model=schemas.FeatureList, responses=_ERRORS,
            summary="A window's features sorted by drift (drifted first, then by adjusted p-value): missing "
                    "shares, drift and findings")
def features(model: str, monitor: MonitorDep, version: str | None = None, segment: str | None = None,
             window_start: str | None = None) -> Response:
    st = state_of(monitor, model)
    v, seg, row = _window(monitor, st, version, segment, window_start)
    found: list[dict[str, Any]] = []
    if row is not None:
        found = [f for f in monitor.store.findings(model, since=row["start_ts"], until=row["end_ts"], version=v,
                                                   segment=seg, granularity=st.config.window, limit=10_000)
                 if f["window_start"] == row["start_ts"]]
    ref = st.ref(v or "").reference
    return json_response({"model": model, "version": v, "segment": seg, "window": _window_out(row),
                          "features": window_features(row["verdict"] if row else None, ref, found)})


@router.get("/v1/models/{model}/features/{feature}", response_model=schemas.FeatureDetail, responses=_ERRORS,
            summary="One feature: its distribution in a window against the reference (the report's chart data) "
                    "and its drift over the windows before")
def feature(model: str, feature: str, monitor: MonitorDep, version: str | None = None, segment: str | None = None,
            window_start: str | None = None, since: str | None = None) -> Response:
    st = state_of(monitor, model)
    v, seg, row = _window(monitor, st, version, segment, window_start, profile=True)
    vr = st.ref(v or "")
    spec = vr.reference.specs.get(feature)
    if spec is None:
        names = [n for n, sp in vr.reference.specs.items() if sp.role.value in ("feature", "prediction")]
        raise ApiError(404, "unknown_feature", f"feature {feature!r}: model {model!r} has no such column; its "
                                               f"features: {', '.join(names)}")
    distribution = None
    history: list[dict[str, Any]] = []
    if row is not None:
        if row.get("profile"):
            fingerprint, prof = load_profile(row["profile"])
            if fingerprint == vr.fingerprint:  # a window on a replaced reference has other bins
                distribution = chart_data(spec, vr.reference.profile.columns[feature], prof.columns.get(feature))
        rows = monitor.store.windows(model, since=_time(since, "since"), version=row["version"], segment=seg,
                                     granularity=st.config.window, closed=True, limit=MAX_HISTORY)
        history = [{**h, "start": rfc3339(h["start"]), "end": rfc3339(h["end"])}
                   for h in feature_history(rows, feature)]
    return json_response({"model": model, "feature": feature, "kind": spec.kind.value, "version": v, "segment": seg,
                          "window": _window_out(row), "distribution": distribution, "history": history})


@router.get("/v1/models/{model}/timeseries", response_model=schemas.Timeseries, responses=_ERRORS,
            summary="Operations per window (requests, errors, latency quantiles, fallback) by event time, and the "
                    "checks of each closed window; default the last 7 days")
def timeseries(model: str, monitor: MonitorDep, version: str | None = None, segment: str | None = None,
               since: str | None = None, until: str | None = None,
               limit: int = Query(MAX_POINTS, ge=1, le=MAX_POINTS, description="points per series, the newest")
               ) -> Response:
    st = state_of(monitor, model)
    v = version_of(monitor, st, version)
    seg = _segment(monitor, st, segment)
    end = _time(until, "until")
    end = monitor.clock() if end is None else end
    start = _time(since, "since")
    start = end - DEFAULT_SPAN if start is None else start
    if start >= end:
        raise ApiError(400, "bad_query", f"since ({rfc3339(start)}) must be before until ({rfc3339(end)}): give an "
                                         f"earlier since or a later until")
    step = st.config.window
    ops = ops_points(monitor.store.ops_buckets(model, step, start, end, v, limit))
    rows = monitor.store.windows(model, since=start, until=end, version=v, segment=seg, granularity=step, closed=True,
                                 limit=limit)
    return json_response({"model": model, "step": step,
                          "ops": [{**o, "start": rfc3339(o["start"])} for o in ops],
                          "checks": [{**c, "start": rfc3339(c["start"]), "end": rfc3339(c["end"])}
                                     for c in check_points(rows)]})
