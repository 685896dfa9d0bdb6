"""What the monitor concluded: status, findings, windows, performance, champion against challenger,
advice, and a sample of predictions for human review. Each answer shapes the store's rows for HTTP:
times as RFC 3339, stored JSON columns parsed, provisional looks marked."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from argusml.monitor.advice import REVIEW_METRICS
from argusml.monitor.performance import VERDICT_KEY
from argusml.monitor.review import MAX_SIZE as MAX_REVIEW_SIZE
from argusml.monitor.review import MAX_STRATA, ReviewRequestError, draw_review_sample
from argusml.schema import InputError
from argusml.service import schemas
from argusml.service.deps import ACK_TIMEOUT, Limit, MonitorDep, WindowQuery, parse_time, rfc3339, state_of
from argusml.service.errors import ApiError, json_response

router = APIRouter(tags=["results"])


class FindingsQuery(WindowQuery):
    severity: schemas.SeverityName | None = None
    limit: Limit = 100
    linked: bool = Field(False, description="also list findings that repeat a parent's (a segment's or roll-up's "
                                            "restatement); by default each is counted in its parent's `repeated`")
    provisional: bool = Field(False, description="also the findings of the open windows' last provisional look "
                                                 "(marked provisional: true)")


class WindowsQuery(WindowQuery):
    closed: bool | None = None
    limit: Limit = 100


class PerformanceQuery(WindowQuery):
    min_labels: int = Field(0, ge=0)
    limit: Limit = 100


@router.get("/v1/models/{model}/status", summary="Counts, latest window verdicts, open findings",
            response_model=schemas.StatusAnswer,
            responses={404: {"model": schemas.ErrorBody}})
def status(model: str, monitor: MonitorDep) -> Response:
    state_of(monitor, model)
    s = monitor.status(model)
    s["latest_windows"] = [_window_out(w) for w in s["latest_windows"]]
    s["open_findings"] = [_finding_out(f) for f in s["open_findings"]]
    s["provisional"] = [{**p, "start": rfc3339(p["start"]), "end": rfc3339(p["end"]),
                         "verdict": _provisional_out(p["verdict"])} for p in s["provisional"]]
    s["last_event_timestamp"] = rfc3339(s["last_event_timestamp"])
    s["health"] = {**s["health"], "since": rfc3339(s["health"]["since"])}
    return json_response(s)


@router.get("/v1/models/{model}/findings",
            summary="Findings of closed windows (and, with provisional=true, of open windows' provisional looks)",
            response_model=schemas.FindingList,
            responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody}})
def findings(model: str, q: Annotated[FindingsQuery, Query()], monitor: MonitorDep) -> Response:
    where = q.select(monitor, model)
    out = []
    if q.provisional:  # the open windows' last looks first, then the confirmed findings
        for w in monitor.store.windows(model, **where, closed=False, limit=q.limit):
            look = orjson.loads(w["verdict"]) if w["verdict"] else {}
            for f in look.get("findings", []) if look.get("provisional") else []:
                if q.severity is None or f["severity"] == q.severity:
                    out.append(_provisional_finding_out(f, w, look))
    rows = monitor.store.findings(model, **where, severity=q.severity, linked=q.linked, limit=q.limit)
    out.extend(_finding_out(f) for f in rows)
    return json_response({"findings": out[:q.limit]})


@router.get("/v1/models/{model}/windows", summary="Closed (and open) windows with verdicts",
            response_model=schemas.WindowList,
            responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody}})
def windows(model: str, q: Annotated[WindowsQuery, Query()], monitor: MonitorDep) -> Response:
    rows = monitor.store.windows(model, **q.select(monitor, model), closed=q.closed, limit=q.limit)
    return json_response({"windows": [_window_out(w) for w in rows]})


@router.get("/v1/models/{model}/performance", response_model=schemas.PerformanceList,
            summary="Model quality per window, version and segment (keyed by prediction time, revised as "
                    "labels arrive)",
            responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody}})
def performance(model: str, q: Annotated[PerformanceQuery, Query()], monitor: MonitorDep) -> Response:
    rows = monitor.store.performance(model, **q.select(monitor, model), min_labels=q.min_labels, limit=q.limit)
    return json_response({"performance": [_performance_out(r) for r in rows]})


@router.get("/v1/models/{model}/compare", response_model=schemas.CompareAnswer,
            summary="Champion against challenger: metric differences with intervals, the paired test, latency "
                    "and error differences, and a verdict (promote, wait, roll back) with its reasons",
            responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody},
                       422: {"model": schemas.ErrorBody}})
def compare(model: str, champion: str, challenger: str, monitor: MonitorDep, since: str | None = None,
            until: str | None = None) -> Response:
    st = state_of(monitor, model)
    if champion == challenger:
        raise ApiError(422, "same_version", f"champion and challenger are both {champion!r}: name two "
                                            f"different versions of model {model!r}")
    known = sorted(st.versions)
    for role, version in (("champion", champion), ("challenger", challenger)):
        if version not in st.versions:
            raise ApiError(422, "unknown_version", f"{role} {version!r}: model {model!r} has no events of that "
                                                   f"version; its versions: {', '.join(known) or 'none yet'}")
    start, end = parse_time(since, "since"), parse_time(until, "until")
    try:
        out = monitor.compare(model, champion, challenger, start, end)
    except InputError as exc:
        raise ApiError(422, "not_comparable", str(exc)) from None
    out["since"], out["until"] = since, until  # as given: epoch "nan" or 1e300 has no RFC 3339 spelling
    return json_response(out)


@router.get("/v1/models/{model}/advice", response_model=schemas.AdviceAnswer,
            summary="What to do about the model now, one recommendation from the decision tree (fail open, scale "
                    "or restart, roll back, fix the data, wait, disable a feature, retrain on which window, "
                    "investigate, no action), per version, with the evidence",
            responses={404: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}})
def advice(model: str, monitor: MonitorDep,
           review_metric: Annotated[str | None, Query(description="a review sample's estimate, weighed where labels "
                                                      "are scarce: accuracy or mean_absolute_error")] = None,
           review_value: float | None = None, review_low: float | None = None, review_high: float | None = None,
           review_n: Annotated[int | None, Query(ge=1, description="reviews that came back")] = None) -> Response:
    state_of(monitor, model)
    given = {"metric": review_metric, "value": review_value, "low": review_low, "high": review_high,
             "responded": review_n}
    review = None
    if any(v is not None for v in given.values()):
        missing = [f"review_{'n' if k == 'responded' else k}" for k, v in given.items() if v is None]
        if missing:
            raise ApiError(422, "incomplete_review", f"a review estimate needs review_metric, review_value, "
                           f"review_low, review_high and review_n; missing {', '.join(missing)}")
        if review_metric not in REVIEW_METRICS:
            raise ApiError(422, "unknown_review_metric", f"review_metric {review_metric!r}: use "
                           f"{' or '.join(REVIEW_METRICS)} (what `argus labels import --json` prints)")
        assert review_low is not None and review_high is not None and review_value is not None
        if not review_low <= review_value <= review_high:
            raise ApiError(422, "bad_review_interval", f"review_value {review_value} must lie within review_low "
                           f"{review_low} and review_high {review_high}")
        review = given
    out = monitor.advice(model, review=review)
    return json_response(out)


@router.get("/v1/models/{model}/digest",
            summary="The owner report over the last `days` before `until` (default now): quality with intervals, "
                    "incidents, drift, label coverage, cost and the recommendation, as JSON or one HTML page",
            responses={200: {"content": {"text/html": {}}}, 400: {"model": schemas.ErrorBody},
                       404: {"model": schemas.ErrorBody}})
def digest(model: str, monitor: MonitorDep, days: float = Query(7.0, gt=0, le=90, allow_inf_nan=False),
           until: str | None = None, format: Literal["json", "html"] = "json") -> Response:
    from argusml.reports.digest import render_html

    state_of(monitor, model)
    end = parse_time(until, "until")
    if end is not None and not math.isfinite(end):
        raise ApiError(400, "bad_query", f"until: {until!r} is not a finite time")
    out = monitor.digest(model, end, days * 86400.0)
    if format == "html":
        page, _ = render_html(out, images="data")
        return Response(content=page, media_type="text/html; charset=utf-8")
    return json_response(out)


@router.get("/v1/models/{model}/sample",
            summary="Draw predictions for human review: uncertainty-stratified, each with its inclusion "
                    "probability, so accuracy can be estimated from the reviewed labels",
            responses={404: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody},
                       503: {"model": schemas.ErrorBody}})
def review_sample(model: str, monitor: MonitorDep, size: int = Query(200, ge=1, le=MAX_REVIEW_SIZE),
                  since: str | None = None, until: str | None = None, version: str | None = None,
                  random_share: float = Query(0.3, ge=0.0, le=1.0, allow_inf_nan=False),
                  strata: int = Query(5, ge=1, le=MAX_STRATA), seed: int = Query(0, ge=0, le=2**63 - 1),
                  unlabelled_only: bool = True) -> Response:
    st = state_of(monitor, model)
    bounds = []
    for name, value in (("since", since), ("until", until)):
        try:
            bounds.append(parse_time(value, name))
        except ApiError as exc:  # here a bad bound is a validation error like the others: 422
            raise ApiError(422, "invalid_request", [{"field": f"query.{name}", "error": exc.detail}]) from None
    try:  # the population is every acknowledged prediction: their index rows must be in the store first
        monitor.flush_index(timeout=ACK_TIMEOUT)
    except Exception as exc:
        raise ApiError(503, "not_ready", f"the store did not take the latest events in time ({exc}); retry",
                       {"retry-after": "1"}) from None
    try:
        out = draw_review_sample(monitor.store, st, size=size, since=bounds[0], until=bounds[1], version=version,
                                 strata=strata, random_share=random_share, seed=seed,
                                 unlabelled_only=unlabelled_only)
    except ReviewRequestError as exc:
        raise ApiError(422, "invalid_request", [{"field": exc.field, "error": str(exc)}]) from None
    out["since"], out["until"] = rfc3339(out["since"]), rfc3339(out["until"])
    for r in out["rows"]:
        r["timestamp"] = rfc3339(r["timestamp"])
    # under privacy.hash [id] the ids are the stored tokens: a label sent back for one says so
    # (`"id_hashed": true`) or it would be hashed a second time and never join
    out["ids"] = "hashed" if st.redactor.hash_id else "as_sent"
    return json_response(out)


def _window_out(w: dict[str, Any]) -> dict[str, Any]:
    out = dict(w)
    for k in ("start_ts", "end_ts", "closed_at"):
        if k in out:
            out[k.replace("_ts", "").replace("_at", "_at")] = rfc3339(out.pop(k))
    if isinstance(out.get("verdict"), str):
        out["verdict"] = orjson.loads(out["verdict"])
    # an open window's verdict is its last provisional look (or none yet); a closed window's is final
    out["provisional"] = not out.get("closed", True) and bool((out.get("verdict") or {}).get("provisional"))
    if out["provisional"]:
        out["verdict"] = _provisional_out(out["verdict"])
    return out


def _provisional_out(verdict: dict[str, Any]) -> dict[str, Any]:
    """A provisional verdict as the API shows it: its findings are counted here (``/findings?provisional=true``
    lists them) and the time of the look is RFC 3339."""
    out = {k: v for k, v in verdict.items() if k != "findings"}
    out["looked_at"] = rfc3339(verdict.get("looked_at"))
    out["findings"] = len(verdict.get("findings") or [])
    return out


def _provisional_finding_out(f: dict[str, Any], w: dict[str, Any], look: dict[str, Any]) -> dict[str, Any]:
    return {"check": f["check"], "column": f["column"], "severity": f["severity"], "message": f["message"],
            "evidence": f.get("evidence") or {}, "version": w["version"], "segment": w["segment"],
            "granularity": w["granularity"], "window_start": rfc3339(w["start_ts"]),
            "window_end": rfc3339(w["end_ts"]), "created_at": rfc3339(look.get("looked_at")),
            "provisional": True}


def _performance_out(r: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in r.items() if k not in ("start_ts", "end_ts", "updated_at", "metrics", "outcomes",
                                                   "estimated")}
    metrics = orjson.loads(r["metrics"]) if r["metrics"] else {}
    out.update({"start": rfc3339(r["start_ts"]), "end": rfc3339(r["end_ts"]), "updated_at": rfc3339(r["updated_at"]),
                "label_coverage": r["labels"] / r["predictions"] if r["predictions"] else None,
                # a segment window's verdict against its own baseline (checks.performance.judge_segments)
                "segment_verdict": metrics.pop(VERDICT_KEY, None),
                "metrics": metrics,
                "outcomes": orjson.loads(r["outcomes"]) if r["outcomes"] else None,
                "estimated": orjson.loads(r["estimated"]) if r.get("estimated") else None})
    return out


def _finding_out(f: dict[str, Any]) -> dict[str, Any]:
    return {"check": f["check_name"], "column": f["column_name"], "severity": f["severity"], "message": f["message"],
            "evidence": orjson.loads(f["evidence"]) if f.get("evidence") else {}, "version": f["version"],
            "segment": f["segment"], "granularity": f["granularity"], "window_start": rfc3339(f["window_start"]),
            "window_end": rfc3339(f["window_end"]), "created_at": rfc3339(f["created_at"]), "provisional": False,
            "repeats": None if f.get("parent_segment") is None else {
                "segment": f["parent_segment"], "granularity": f["parent_granularity"],
                "window_start": rfc3339(f["parent_start"])},
            **({"repeated": f["repeated"]} if "repeated" in f else {})}
