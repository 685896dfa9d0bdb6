"""POST events, backfill, labels, outcomes and resources: the routes that take data in.

The ingest routes read the raw body themselves (JSON list or NDJSON),
because a batch must be judged event by event: a pydantic model of the whole
list would turn one bad event into a 422 for all of them. The request
schemas are still published in the OpenAPI document (``openapi_extra``),
which is what the fuzz tests generate from. The request middleware answers
these POSTs itself through the same ``Ingest`` (the fast path); the routes
below document them and answer whatever reaches FastAPI.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from argusml.monitor import BackfillTooWide, Busy, IngestAnswer, Monitor, UnknownModel
from argusml.monitor.events import BodyError, decode_body
from argusml.service import schemas
from argusml.service.bodies import body_format, read_stream, require_json
from argusml.service.deps import ACK_TIMEOUT, MonitorDep, state_of
from argusml.service.errors import ApiError, json_response
from argusml.service.logs import model_version, request_id
from argusml.service.offload import MAX_EVENTS_PER_REQUEST, TooManyEvents, ValidatorPool, WorkerGone

OFFLOAD_MIN_BYTES = 8192
"""Smaller bodies (a few events) are validated in place: the trip to a worker costs more than it saves."""


class Ingest:
    """POST events / labels, shared by the documented FastAPI routes and the
    middleware's fast path (which skips Starlette's routing and request
    objects: on small requests they cost more than the ingest itself)."""

    def __init__(self, monitor: Monitor, max_body: int, pool: ValidatorPool | None = None) -> None:
        self.monitor = monitor
        self.max_body = max_body
        self.pool = pool

    async def __call__(self, kind: str, model: str, content_type: str | None, chunks: Any
                       ) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            return await self._handle(kind, model, content_type, chunks)
        except ApiError as exc:
            return exc.status, {"error": exc.error, "detail": exc.detail, "request_id": request_id.get()}, exc.headers

    async def _offloaded(self, model: str, body: bytes, ndjson: bool, backfill: bool = False) -> IngestAnswer | None:
        """Events decoded and validated by a worker process, then accepted here; None: do it here instead."""
        assert self.pool is not None
        monitor = self.monitor
        state = monitor.check_busy(model)
        plan = state.validation_plan()
        try:
            v = await self.pool.validate(model, plan, body, ndjson, monitor.clock())
        except BodyError as exc:
            raise ApiError(400, "invalid_body", str(exc)) from None
        except TooManyEvents as exc:
            raise ApiError(413, "batch_too_large", str(exc)) from None
        except WorkerGone:
            self.pool.fallbacks += 1
            return None
        if v.generation != monitor.model(model).generation:
            return None  # the reference was replaced meanwhile: validate again against the new one
        versions = {r.version for r in v.batch.records}
        if len(versions) == 1:
            model_version.set(versions.pop())
        return monitor.accept_events(model, v, backfill=backfill)

    async def _handle(self, kind: str, model: str, content_type: str | None, chunks: Any
                      ) -> tuple[int, dict[str, Any], dict[str, str]]:
        monitor = self.monitor
        if model not in monitor.models:
            raise ApiError(404, "unknown_model", str(UnknownModel(model)))
        fmt = body_format(content_type)
        ndjson = fmt == "ndjson"
        body = await read_stream(chunks, self.max_body)
        if fmt == "form":
            require_json(body)
        answer: IngestAnswer | None = None
        try:
            if (kind in ("events", "backfill") and self.pool is not None and self.pool.alive
                    and len(body) >= OFFLOAD_MIN_BYTES):
                answer = await self._offloaded(model, body, ndjson, backfill=kind == "backfill")
            if answer is None:
                try:
                    items, problems = decode_body(body, ndjson)
                except BodyError as exc:
                    raise ApiError(400, "invalid_body", str(exc)) from None
                if len(items) > MAX_EVENTS_PER_REQUEST:
                    raise ApiError(413, "batch_too_large", f"{len(items)} items in one request; at most "
                                                           f"{MAX_EVENTS_PER_REQUEST}")
                if kind in ("events", "backfill"):
                    versions = {str(it.get("version") or "unversioned")[:64] for it in items if isinstance(it, dict)}
                    if len(versions) == 1:
                        model_version.set(versions.pop())  # the request's log line carries the version it was about
                    answer = (monitor.ingest_backfill if kind == "backfill" else monitor.ingest_events)(model, items,
                                                                                                        problems)
                elif kind == "labels":
                    answer = monitor.ingest_labels(model, items, problems)
                else:
                    answer = monitor.ingest_outcomes(model, items, problems)
        except Busy as exc:
            raise ApiError(429, "busy", str(exc), {"retry-after": str(exc.retry_after)}) from None
        except BackfillTooWide as exc:
            raise ApiError(413, "backfill_too_wide", str(exc)) from None
        except UnknownModel as exc:
            raise ApiError(404, "unknown_model", str(exc)) from None
        if answer.all_rejected:
            return 422, {"error": "all_rejected", **answer.body, "request_id": request_id.get()}, {}
        result: dict[str, Any] = {}
        if answer.future is not None:
            try:
                result = await asyncio.wait_for(asyncio.wrap_future(answer.future), ACK_TIMEOUT)
            except asyncio.TimeoutError:
                raise ApiError(503, "not_stored", "the store did not confirm the write in time; retry (events are "
                                                  "idempotent by id)", {"retry-after": "1"}) from None
            except Exception as exc:
                raise ApiError(503, "not_stored", f"the store failed: {exc}; retry (events are idempotent by id)",
                               {"retry-after": "1"}) from None
        if kind in ("events", "backfill"):
            return 200, answer.body, {}
        # labels and outcomes: the writer decides what is a duplicate (of what is stored) and what joined
        body_out = {**answer.body, "duplicates": 0, **({"corrected": 0} if kind == "labels" else {}), "joined": 0,
                    "pending": 0, **result}
        return (202 if body_out.get("pending") else 200), body_out, {}


async def _ingest(request: Request) -> Ingest:
    return request.app.state.ingest  # type: ignore[no-any-return]


IngestDep = Annotated[Ingest, Depends(_ingest)]

router = APIRouter(tags=["ingest"])


@router.post("/v1/models/{model}/events", summary="Send prediction events",
             responses=schemas.INGEST_RESPONSES, openapi_extra=schemas.body_of(schemas.EventIn),
             response_model=schemas.IngestAnswer)
async def post_events(model: str, request: Request, ingest: IngestDep) -> Response:
    status, body, headers = await ingest("events", model, request.headers.get("content-type"), request.stream())
    return json_response(body, status, headers)


@router.post("/v1/models/{model}/backfill",
             summary="Load past prediction events into their windows (history for a new deployment)",
             description="The body and the answer are those of POST .../events. No lateness applies: each event "
                         "goes to the window of its own timestamp however old (within retention.profiles); "
                         "windows the live stream has passed close as the backfill moves past them, or once it "
                         "pauses, merged with what the store holds for their bucket. Send in time order.",
             responses=schemas.INGEST_RESPONSES, openapi_extra=schemas.body_of(schemas.EventIn),
             response_model=schemas.IngestAnswer)
async def post_backfill(model: str, request: Request, ingest: IngestDep) -> Response:
    status, body, headers = await ingest("backfill", model, request.headers.get("content-type"),
                                         request.stream())
    return json_response(body, status, headers)


@router.post("/v1/models/{model}/labels", summary="Send labels (ground truth)",
             responses={**schemas.INGEST_RESPONSES, 200: {"model": schemas.LabelAnswer, "description": "all labels joined"},
                        202: {"model": schemas.LabelAnswer,
                              "description": "some labels wait for their prediction"}},
             openapi_extra=schemas.body_of(schemas.LabelIn), response_model=schemas.LabelAnswer)
async def post_labels(model: str, request: Request, ingest: IngestDep) -> Response:
    status, body, headers = await ingest("labels", model, request.headers.get("content-type"), request.stream())
    return json_response(body, status, headers)


@router.post("/v1/models/{model}/outcomes", summary="Send business outcomes (conversion, revenue)",
             responses={**schemas.INGEST_RESPONSES,
                        200: {"model": schemas.OutcomeAnswer, "description": "all outcomes joined"},
                        202: {"model": schemas.OutcomeAnswer,
                              "description": "some outcomes wait for their prediction"}},
             openapi_extra=schemas.body_of(schemas.OutcomeIn), response_model=schemas.OutcomeAnswer)
async def post_outcomes(model: str, request: Request, ingest: IngestDep) -> Response:
    status, body, headers = await ingest("outcomes", model, request.headers.get("content-type"),
                                         request.stream())
    return json_response(body, status, headers)


@router.post("/v1/models/{model}/resources", summary="Report host/GPU resource usage",
             status_code=204, responses={204: {"description": "stored"}, 404: {"model": schemas.ErrorBody},
                                         422: {"model": schemas.ErrorBody}})
async def post_resources(model: str, body: schemas.ResourcesIn, monitor: MonitorDep) -> Response:
    state_of(monitor, model)
    monitor.report_resources(model, body.instance, body.values, body.breakers)
    return Response(status_code=204)
