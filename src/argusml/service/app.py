"""The HTTP edge: FastAPI routes over the monitor.

Only this layer knows HTTP. Ingest routes read the raw body themselves
(JSON list or NDJSON), because a batch must be judged event by event: a
pydantic model of the whole list would turn one bad event into a 422 for
all of them. The request schemas are still published in the OpenAPI
document (``openapi_extra``), which is what the fuzz tests generate from.

Every error is JSON ``{"error": ..., "detail": ...}`` with a 4xx (or 503
when the store fails), the request id in ``X-Request-ID``; a 500 would be a
bug, and the tests fuzz the API to find one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from argusml import __version__
from argusml.monitor import BackfillTooWide, Busy, IngestAnswer, Monitor, UnknownModel
from argusml.monitor.events import BodyError, decode_body
from argusml.monitor.performance import VERDICT_KEY
from argusml.monitor.review import MAX_SIZE as MAX_REVIEW_SIZE
from argusml.monitor.review import MAX_STRATA, ReviewRequestError, draw_review_sample
from argusml.profile import Reference
from argusml.schema import ArgusError, ConfigError, InputError
from argusml.schema.model_config import MODEL_NAME, model_config_from_dict
from argusml.service import schemas
from argusml.service.auth import Authenticator
from argusml.service.logs import model_name, model_version, request_id
from argusml.service.metrics import registry_for
from argusml.service.offload import MAX_EVENTS_PER_REQUEST, TooManyEvents, ValidatorPool, WorkerGone

log = logging.getLogger("argus.http")

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")
JSON_TYPES = ("application/json", "text/json")
FORM_TYPE = "application/x-www-form-urlencoded"
"""What ``curl -d`` sends when told no type: a body of that type that parses as JSON is read as JSON, so
that the shortest curl command works; a real form body is still refused (415)."""
ACK_TIMEOUT = 30.0
DOCS_ASSETS = "/docs/assets"
SWAGGER_UI_DIR = Path(__file__).parent / "static" / "swagger-ui"
PUBLIC_PATHS = ("/healthz", "/docs", "/openapi.json")
"""Answered without a token even when the server has tokens: liveness, and the API's documentation (the
page, its assets under DOCS_ASSETS, the OpenAPI document) which holds no data, only the routes' shapes."""
OFFLOAD_MIN_BYTES = 8192
"""Smaller bodies (a few events) are validated in place: the trip to a worker costs more than it saves."""


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str),
                    status_code=status, media_type="application/json", headers=headers)


def rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(value: str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass  # not epoch seconds: try RFC 3339 next
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_query", f"{name}: {value!r} is neither RFC 3339 nor epoch seconds") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def _granularity(value: str | None, st: Any) -> float | None:
    """A window length the model has (its window and the hour and day it rolls up to): any other one
    selects nothing, and an empty answer to a typo reads as "no windows yet"."""
    if value is None or value == "":
        return None
    from argusml.schema.model_config import format_duration, parse_duration

    try:
        g = parse_duration(value)
    except ValueError as exc:
        raise ApiError(400, "bad_query", f"granularity: {exc}") from None
    if g not in st.granularities:
        raise ApiError(400, "bad_query", f"granularity: {value!r} is not a window length of model {st.name!r}; "
                                         f"allowed: {', '.join(format_duration(x) for x in st.granularities)}")
    return g


class RequestContext:
    """Pure ASGI middleware: request id, auth, size limit, access log.

    Pure ASGI (not BaseHTTPMiddleware) because it runs for every ingest
    request and must cost microseconds."""

    def __init__(self, app: Any, auth: Authenticator, max_body: int, ingest: Ingest | None = None) -> None:
        self.app = app
        self.auth = auth
        self.max_body = max_body
        self.ingest = ingest

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid_in = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = rid_in if rid_in and len(rid_in) <= 128 and rid_in.isprintable() else os.urandom(16).hex()
        request_id.set(rid)
        path: str = scope.get("path", "")
        parts = path.split("/")
        model = parts[3] if len(parts) > 3 and parts[1] == "v1" and parts[2] == "models" and parts[3] else None
        model_name.set(model)
        model_version.set(None)
        started = time.perf_counter()
        status_holder = [0]

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        denial = self._deny(scope, headers, path, model)
        if denial is not None:
            await _send_json(send_with_id, *denial)
        else:
            cl = headers.get(b"content-length")
            if cl is not None and cl.isdigit() and int(cl) > self.max_body:
                await _send_json(send_with_id, 413, {"error": "body_too_large",
                                                     "detail": f"body of {int(cl)} bytes exceeds the limit of "
                                                               f"{self.max_body} bytes; send smaller batches"})
            elif (self.ingest is not None and scope.get("method") == "POST" and model is not None and len(parts) == 5
                  and parts[4] in ("events", "labels", "outcomes", "backfill")):
                status, body, extra = await self.ingest(parts[4], model, headers.get(b"content-type", b"").decode(
                    "latin-1") or None, _body_chunks(receive))
                await _send_json(send_with_id, status, body, extra)
            elif scope.get("method") == "POST" and model is not None and len(parts) == 5 and parts[4] == "resources":
                await self._json_route(scope, receive, send_with_id, headers)
            else:
                await self.app(scope, receive, send_with_id)
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s %d", scope.get("method"), path, status_holder[0],
                     extra={"method": scope.get("method"), "path": path, "status": status_holder[0],
                            "duration_ms": round(1000 * (time.perf_counter() - started), 3)})

    async def _json_route(self, scope: dict[str, Any], receive: Any, send: Any, headers: dict[bytes, bytes]) -> None:
        """A route whose body FastAPI parses (one JSON object), held to the ingest routes' content-type
        rule: FastAPI reads only ``application/json`` as JSON, so a body sent with no type, as text/json
        or as curl's form type (when it parses as JSON) reaches it relabelled ``application/json``."""
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        try:
            fmt = body_format(ctype or None, ndjson=False)
            if fmt == "json" and ctype.split(";")[0].strip().lower() == "application/json":
                await self.app(scope, receive, send)
                return
            body = await read_stream(_body_chunks(receive), self.max_body)
            if fmt == "form":
                require_json(body, ndjson=False)
        except ApiError as exc:
            await _send_json(send, exc.status, {"error": exc.error, "detail": exc.detail}, exc.headers)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return dict(await receive())
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        relabelled = [(k, v) for k, v in scope.get("headers") or [] if k not in (b"content-type", b"content-length")]
        relabelled += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await self.app({**scope, "headers": relabelled}, replay, send)

    def _deny(self, scope: dict[str, Any], headers: dict[bytes, bytes], path: str, model: str | None
              ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        if not self.auth.enabled or path in PUBLIC_PATHS or path.startswith(DOCS_ASSETS + "/"):
            return None
        raw = headers.get(b"authorization", b"").decode("latin-1")
        challenge = {"www-authenticate": 'Bearer realm="argus"'}
        if not raw.lower().startswith("bearer ") or not raw[7:].strip():
            return 401, {"error": "unauthorized", "detail": "send Authorization: Bearer <token>"}, challenge
        entry = self.auth.lookup(raw[7:].strip())
        if entry is None:
            return 401, {"error": "unauthorized", "detail": "unknown token"}, challenge
        scope_needed = "read" if scope.get("method") in ("GET", "HEAD", "OPTIONS") else "write"
        if scope_needed not in entry.scopes:
            return 403, {"error": "forbidden", "detail": f"token {entry.name!r} lacks the {scope_needed!r} scope"}, {}
        if entry.models is not None:
            if model is None and path != "/v1/models":
                return 403, {"error": "forbidden", "detail": f"token {entry.name!r} is limited to models "
                                                             f"{entry.models}; this endpoint is service-wide"}, {}
            if model is not None and model not in entry.models:
                return 403, {"error": "forbidden", "detail": f"token {entry.name!r} may not access model {model!r}"}, {}
        scope.setdefault("state", {})["token_models"] = entry.models
        return None


async def _body_chunks(receive: Any) -> Any:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _send_json(send: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    payload = orjson.dumps(body if status < 400 else {**body, "request_id": request_id.get()},
                           option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str)
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": payload})


async def read_stream(chunks: Any, limit: int) -> bytes:
    parts = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"body exceeds the limit of {limit} bytes; send smaller batches")
        parts.append(chunk)
    return b"".join(parts)


def _accepted(ndjson: bool) -> str:
    return ("send application/json (a list of objects) or application/x-ndjson (one object per line)" if ndjson
            else "send application/json")


def body_format(content_type: str | None, ndjson: bool = True) -> str:
    """How an ingest body of this content type is read: ``json``, ``ndjson``, or ``form`` (curl's default
    type: JSON if the body parses as JSON, see ``require_json``). A body with no content type is JSON, as
    it always was. Any other type is a 415 naming the accepted ones."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ndjson and ctype in NDJSON_TYPES:
        return "ndjson"
    if ctype in (*JSON_TYPES, ""):
        return "json"
    if ctype == FORM_TYPE:
        return "form"
    raise ApiError(415, "unsupported_media_type", f"content type {ctype!r}: {_accepted(ndjson)}")


def require_json(body: bytes, ndjson: bool = True) -> None:
    """A body sent with the form content type is read as JSON only when it is JSON: 415 otherwise, saying
    how to send it (curl sends that type with ``-d`` unless told another)."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(415, "unsupported_media_type",
                       f"content type {FORM_TYPE!r} with a body that is not JSON: {_accepted(ndjson)} "
                       "(with curl: -H 'Content-Type: application/json')") from None


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


class _ArgusAPI(FastAPI):
    """FastAPI with ``RequestContext`` outside its middleware stack rather
    than inside it: every request still gets the request id, auth and the
    access log, and the ingest fast path also skips the stack's layers (error
    middleware, FastAPI's telemetry hooks, body limit), a measurable share of
    the request thread (docs/BENCHMARKS.md, "Figures behind the code"). Route errors are still turned into answers inside."""

    context: RequestContext | None = None

    async def inner(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.context is None:
            await super().__call__(scope, receive, send)
        else:
            await self.context(scope, receive, send)


def create_app(monitor: Monitor, *, auth: Authenticator | None = None, max_body: int = 16 * 1024 * 1024,
               yaml_models: set[str] | None = None, on_shutdown: list[Any] | None = None,
               pool: ValidatorPool | None = None) -> FastAPI:
    """``on_shutdown`` runs when the server stops (uvicorn's lifespan), before
    the process exits on the signal: the monitor drains and snapshots there.
    ``pool``: worker processes that decode and validate event batches."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        for fn in on_shutdown or []:
            await asyncio.to_thread(fn)

    app = _ArgusAPI(title="Argus", version=__version__,
                  description="Monitoring for machine-learning models: events, labels, windows, findings.",
                  docs_url=None, redoc_url=None, lifespan=lifespan,  # /docs below: Swagger UI from the package
                  # the RequestValidationError handler answers ErrorBody, not FastAPI's HTTPValidationError
                  responses={422: {"model": schemas.ErrorBody, "description": "invalid request"}})
    registry = registry_for(monitor)
    app.state.monitor = monitor
    ingest = Ingest(monitor, max_body, pool)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return _json({"error": exc.error, "detail": exc.detail, "request_id": request_id.get()}, exc.status,
                     exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "error": e.get("msg")} for e in exc.errors()]
        return _json({"error": "invalid_request", "detail": errors, "request_id": request_id.get()}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _json({"error": "http_error", "detail": exc.detail, "request_id": request_id.get()}, exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:  # pragma: no cover - a bug if reached
        log.exception("unhandled error")
        return _json({"error": "internal", "detail": f"{type(exc).__name__}; see the server log for request "
                                                      f"{request_id.get()}", "request_id": request_id.get()}, 500)

    def state_of(model: str) -> Any:
        try:
            return monitor.model(model)
        except UnknownModel as exc:
            raise ApiError(404, "unknown_model", str(exc)) from None

    def version_of(st: Any, version: str | None) -> str | None:
        """A version the model has seen (events, a reference of its own, or stored windows and performance
        older than the index's retention); 404 naming the known ones for any other, which would answer
        an empty list that reads as "nothing wrong"."""
        if version is None or version == "" or version in st.versions or version in st.refs:
            return version or None
        store = monitor.store
        if store.windows(st.name, version=version, limit=1) or store.performance(st.name, version=version, limit=1):
            return version
        known = sorted(st.versions | {v for v in st.refs if v})
        raise ApiError(404, "unknown_version", f"version {version!r}: model {st.name!r} has no events, windows or "
                                               f"reference of that version; its versions: {', '.join(known) or 'none yet'}")

    # -- ingest --------------------------------------------------------------------------
    @app.post("/v1/models/{model}/events", tags=["ingest"], summary="Send prediction events",
              responses=schemas.INGEST_RESPONSES, openapi_extra=schemas.body_of(schemas.EventIn),
              response_model=schemas.IngestAnswer)
    async def post_events(model: str, request: Request) -> Response:
        status, body, headers = await ingest("events", model, request.headers.get("content-type"), request.stream())
        return _json(body, status, headers)

    @app.post("/v1/models/{model}/backfill", tags=["ingest"],
              summary="Load past prediction events into their windows (history for a new deployment)",
              description="The body and the answer are those of POST .../events. No lateness applies: each event "
                          "goes to the window of its own timestamp however old (within retention.profiles); "
                          "windows the live stream has passed close as the backfill moves past them, or once it "
                          "pauses, merged with what the store holds for their bucket. Send in time order.",
              responses=schemas.INGEST_RESPONSES, openapi_extra=schemas.body_of(schemas.EventIn),
              response_model=schemas.IngestAnswer)
    async def post_backfill(model: str, request: Request) -> Response:
        status, body, headers = await ingest("backfill", model, request.headers.get("content-type"),
                                             request.stream())
        return _json(body, status, headers)

    @app.post("/v1/models/{model}/labels", tags=["ingest"], summary="Send labels (ground truth)",
              responses={**schemas.INGEST_RESPONSES, 200: {"model": schemas.LabelAnswer, "description": "all labels joined"},
                         202: {"model": schemas.LabelAnswer,
                               "description": "some labels wait for their prediction"}},
              openapi_extra=schemas.body_of(schemas.LabelIn), response_model=schemas.LabelAnswer)
    async def post_labels(model: str, request: Request) -> Response:
        status, body, headers = await ingest("labels", model, request.headers.get("content-type"), request.stream())
        return _json(body, status, headers)

    @app.post("/v1/models/{model}/outcomes", tags=["ingest"], summary="Send business outcomes (conversion, revenue)",
              responses={**schemas.INGEST_RESPONSES,
                         200: {"model": schemas.OutcomeAnswer, "description": "all outcomes joined"},
                         202: {"model": schemas.OutcomeAnswer,
                               "description": "some outcomes wait for their prediction"}},
              openapi_extra=schemas.body_of(schemas.OutcomeIn), response_model=schemas.OutcomeAnswer)
    async def post_outcomes(model: str, request: Request) -> Response:
        status, body, headers = await ingest("outcomes", model, request.headers.get("content-type"),
                                             request.stream())
        return _json(body, status, headers)

    @app.post("/v1/models/{model}/resources", tags=["ingest"], summary="Report host/GPU resource usage",
              status_code=204, responses={204: {"description": "stored"}, 404: {"model": schemas.ErrorBody},
                                          422: {"model": schemas.ErrorBody}})
    async def post_resources(model: str, body: schemas.ResourcesIn) -> Response:
        state_of(model)
        monitor.report_resources(model, body.instance, body.values)
        return Response(status_code=204)

    # -- registry ------------------------------------------------------------------------
    @app.get("/v1/models", tags=["models"], summary="Models being monitored",
             response_model=schemas.ModelList)
    def list_models(request: Request) -> Response:
        allowed = request.scope.get("state", {}).get("token_models")
        out = []
        for name, st in sorted(monitor.models.items()):
            if allowed is not None and name not in allowed:
                continue
            out.append({"model": name, "owner": st.config.owner, "window": st.config.window,
                        "versions": sorted(st.versions), "events_total": st.events_total,
                        "source": "config" if yaml_models and name in yaml_models else "api"})
        return _json({"models": out})

    @app.get("/v1/models/{model}", tags=["models"], summary="A model's configuration",
             response_model=schemas.ModelDetail,
             responses={404: {"model": schemas.ErrorBody}})
    def get_model(model: str) -> Response:
        st = state_of(model)
        return _json({"model": model, "config": st.config.model_dump(mode="json"),
                      "references": {v or "*": {"created_at": r.reference.created_at, "fingerprint": r.fingerprint,
                                                "columns": len(r.reference.specs), "rows": r.reference.n_rows,
                                                "roles": _roles(r.reference)}
                                     for v, r in st.refs.items()}})

    @app.put("/v1/models/{model}", tags=["models"], summary="Register or replace a model (config + baseline)",
             responses={200: {"description": "registered"}, 422: {"model": schemas.ErrorBody}})
    def put_model(model: str, body: schemas.RegisterIn) -> Response:
        if not MODEL_NAME.match(model):
            raise ApiError(422, "invalid_model_name", "model names are 1-64 letters, digits, '_', '-' or '.'")
        cfg_in = dict(body.config)
        if cfg_in.get("model", model) != model:
            raise ApiError(422, "invalid_config", f"config.model {cfg_in.get('model')!r} differs from the URL's {model!r}")
        if "reference" in cfg_in:
            raise ApiError(422, "invalid_config", "config.reference: over HTTP the baseline goes in 'baseline', "
                                                  "not as a file path")
        if cfg_in.get("versions"):
            raise ApiError(422, "invalid_config", "config.versions: over HTTP each version's baseline goes to "
                                                  "PUT /v1/models/{model}/versions/{version}/reference, not as a "
                                                  "file path")
        cfg_in["model"] = model
        try:
            cfg = model_config_from_dict(cfg_in, "config")
            ref = Reference.from_dict(body.baseline, "baseline")
            monitor.register(cfg, ref)
        except (ConfigError, InputError) as exc:
            raise ApiError(422, "invalid_config", str(exc).splitlines()) from None
        return _json({"model": model, "registered": True})

    @app.put("/v1/models/{model}/versions/{version}/reference", tags=["models"],
             summary="Replace one version's reference (after a retrain)",
             responses={404: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}})
    def put_reference(model: str, version: str, baseline: dict[str, Any]) -> Response:
        state_of(model)
        if not version or len(version) > 64:
            raise ApiError(422, "invalid_version", "version must have 1 to 64 characters")
        try:
            ref = Reference.from_dict(baseline, "baseline")
            # a baseline the model's declared bounds do not fit (a min on a now-categorical column) is refused
            monitor.set_version_reference(model, version, ref)
        except InputError as exc:
            raise ApiError(422, "invalid_baseline", str(exc)) from None
        return _json({"model": model, "version": version, "replaced": True})

    # -- reads ------------------------------------------------------------------------------
    @app.get("/v1/models/{model}/status", tags=["results"], summary="Counts, latest window verdicts, open findings",
             response_model=schemas.StatusAnswer,
             responses={404: {"model": schemas.ErrorBody}})
    def status(model: str) -> Response:
        state_of(model)
        s = monitor.status(model)
        s["latest_windows"] = [_window_out(w) for w in s["latest_windows"]]
        s["open_findings"] = [_finding_out(f) for f in s["open_findings"]]
        s["provisional"] = [{**p, "start": rfc3339(p["start"]), "end": rfc3339(p["end"]),
                             "verdict": _provisional_out(p["verdict"])} for p in s["provisional"]]
        s["last_event_timestamp"] = rfc3339(s["last_event_timestamp"])
        return _json(s)

    @app.get("/v1/models/{model}/findings", tags=["results"],
             summary="Findings of closed windows (and, with provisional=true, of open windows' provisional looks)",
             response_model=schemas.FindingList,
             responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody}})
    def findings(model: str, since: str | None = None, until: str | None = None, version: str | None = None,
                 segment: str | None = None, granularity: str | None = None,
                 severity: schemas.SeverityName | None = None, limit: int = Query(100, ge=1, le=10_000),
                 linked: bool = Query(False, description="also list findings that repeat a parent's (a segment's "
                                                         "or roll-up's restatement); by default each is counted in "
                                                         "its parent's `repeated`"),
                 provisional: bool = Query(False, description="also the findings of the open windows' last "
                                                              "provisional look (marked provisional: true)")
                 ) -> Response:
        st = state_of(model)
        start, end = parse_time(since, "since"), parse_time(until, "until")
        version, g = version_of(st, version), _granularity(granularity, st)
        out = []
        if provisional:  # the open windows' last looks first, then the confirmed findings
            for w in monitor.store.windows(model, since=start, until=end, version=version, segment=segment,
                                           granularity=g, closed=False, limit=limit):
                look = orjson.loads(w["verdict"]) if w["verdict"] else {}
                for f in look.get("findings", []) if look.get("provisional") else []:
                    if severity is None or f["severity"] == severity:
                        out.append(_provisional_finding_out(f, w, look))
        rows = monitor.store.findings(model, since=start, until=end, version=version, segment=segment,
                                      granularity=g, severity=severity, linked=linked, limit=limit)
        out.extend(_finding_out(f) for f in rows)
        return _json({"findings": out[:limit]})

    @app.get("/v1/models/{model}/windows", tags=["results"], summary="Closed (and open) windows with verdicts",
             response_model=schemas.WindowList,
             responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody}})
    def windows(model: str, since: str | None = None, until: str | None = None, version: str | None = None,
                segment: str | None = None, granularity: str | None = None, closed: bool | None = None,
                limit: int = Query(100, ge=1, le=10_000)) -> Response:
        st = state_of(model)
        rows = monitor.store.windows(model, since=parse_time(since, "since"), until=parse_time(until, "until"),
                                     version=version_of(st, version), segment=segment,
                                     granularity=_granularity(granularity, st), closed=closed, limit=limit)
        return _json({"windows": [_window_out(w) for w in rows]})

    @app.get("/v1/models/{model}/performance", tags=["results"], response_model=schemas.PerformanceList,
             summary="Model quality per window, version and segment (keyed by prediction time, revised as "
                     "labels arrive)",
             responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody}})
    def performance(model: str, since: str | None = None, until: str | None = None, version: str | None = None,
                    segment: str | None = None, granularity: str | None = None,
                    min_labels: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=10_000)) -> Response:
        st = state_of(model)
        rows = monitor.store.performance(model, since=parse_time(since, "since"), until=parse_time(until, "until"),
                                         version=version_of(st, version), segment=segment,
                                         granularity=_granularity(granularity, st), min_labels=min_labels,
                                         limit=limit)
        return _json({"performance": [_performance_out(r) for r in rows]})

    @app.get("/v1/models/{model}/compare", tags=["results"], response_model=schemas.CompareAnswer,
             summary="Champion against challenger: metric differences with intervals, the paired test, latency "
                     "and error differences, and a verdict (promote, wait, roll back) with its reasons",
             responses={404: {"model": schemas.ErrorBody}, 400: {"model": schemas.ErrorBody},
                        422: {"model": schemas.ErrorBody}})
    def compare(model: str, champion: str, challenger: str, since: str | None = None,
                until: str | None = None) -> Response:
        st = state_of(model)
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
        return _json(out)

    @app.get("/v1/models/{model}/advice", tags=["results"], response_model=schemas.AdviceAnswer,
             summary="What to do about the model now: no action, investigate, retrain (on which window) or roll "
                     "back, in plain words, per version, with the evidence",
             responses={404: {"model": schemas.ErrorBody}})
    def advice(model: str) -> Response:
        state_of(model)
        out = monitor.advice(model)
        return _json(out)

    @app.get("/v1/models/{model}/sample", tags=["results"],
             summary="Draw predictions for human review: uncertainty-stratified, each with its inclusion "
                     "probability, so accuracy can be estimated from the reviewed labels",
             responses={404: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody},
                        503: {"model": schemas.ErrorBody}})
    def review_sample(model: str, size: int = Query(200, ge=1, le=MAX_REVIEW_SIZE), since: str | None = None,
                      until: str | None = None, version: str | None = None,
                      random_share: float = Query(0.3, ge=0.0, le=1.0, allow_inf_nan=False),
                      strata: int = Query(5, ge=1, le=MAX_STRATA), seed: int = Query(0, ge=0, le=2**63 - 1),
                      unlabelled_only: bool = True) -> Response:
        st = state_of(model)
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
        return _json(out)

    # -- documentation ------------------------------------------------------------------------
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title=f"{app.title} API",
                                   swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon-32x32.png",
                                   # no badge fetched from validator.swagger.io: the page loads nothing remote
                                   swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None})

    # -- operations ---------------------------------------------------------------------------
    @app.get("/healthz", tags=["operations"], summary="Liveness (no auth)")
    def healthz() -> Response:
        return _json({"status": "ok", "version": __version__})

    @app.get("/readyz", tags=["operations"], summary="Readiness: recovered, threads running, store answering",
             responses={503: {"model": schemas.ErrorBody}})
    def readyz() -> Response:
        if not monitor.ready or not monitor.healthy():
            return _json({"error": "not_ready", "detail": monitor.last_error or "starting"}, 503)
        return _json({"status": "ready", "models": len(monitor.models), "queue_depth": monitor.queue_depth,
                      "writer": monitor.writer_stats})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "OpenMetrics text"}})
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.context = RequestContext(app.inner, auth=auth or Authenticator(schemas.NO_AUTH), max_body=max_body, ingest=ingest)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            _declare_bearer(doc, app.context is not None and app.context.auth.enabled)
            comps = doc.setdefault("components", {}).setdefault("schemas", {})
            for model in (schemas.EventIn, schemas.LabelIn):
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                comps.update(js.pop("$defs", {}))
                comps[model.__name__] = js
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _declare_bearer(doc: dict[str, Any], required: bool) -> None:
    """The bearer scheme in the OpenAPI document, so Swagger UI shows Authorize and sends the token.
    Required by every operation but /healthz when the server has tokens; declared but required by none
    when it has none (a document saying "token required" to a server without tokens would be wrong)."""
    doc.setdefault("components", {})["securitySchemes"] = {"bearer": {
        "type": "http", "scheme": "bearer",
        "description": "a token from `argus token create`: the read scope for GET, write for POST and PUT; a "
                       "token limited to models reaches only their routes"}}
    if not required:
        return
    doc["security"] = [{"bearer": []}]
    for path in PUBLIC_PATHS:
        for op in doc.get("paths", {}).get(path, {}).values():
            op["security"] = []


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


def _roles(ref: Reference) -> dict[str, Any]:
    """Which of the baseline's columns are the id, the time, the prediction, the target and the features, and
    each column's kind: what `argus backfill` maps (and reads) a file's columns by."""
    from argusml.schema import Role

    return {"id": ref.column_with(Role.ID), "timestamp": ref.column_with(Role.TIMESTAMP),
            "prediction": ref.prediction, "target": ref.target,
            "features": [n for n, sp in ref.specs.items() if sp.role is Role.FEATURE],
            "kinds": {n: sp.kind.value for n, sp in ref.specs.items()}}


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


__all__ = ["ApiError", "ArgusError", "create_app"]
