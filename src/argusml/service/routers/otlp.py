"""``POST /v1/traces``: OpenTelemetry traces in, LLM events out (OTLP/HTTP, JSON or protobuf).

An application instrumented with OpenTelemetry's GenAI instrumentations points its trace exporter here and
needs no Argus SDK. Its inference spans become LLM events (``argusml.llm.otlp``) of the model named after
its ``service.name``; a service Argus has not seen is registered as an LLM model with the defaults (texts
not stored, a baseline learned from its first windows) when the token may write it. The answer is OTLP's
own: 200 with ``partialSuccess`` counting the spans that were refused and why, in the encoding the request
used, so the exporter logs it; 400 for a body that is not a traces request at all.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from argusml.llm.otlp import OTLPError, decode, llm_events
from argusml.monitor import Busy, Monitor
from argusml.monitor.llm import learning_reference, plan_of
from argusml.schema.model_config import MODEL_NAME, ModelConfig
from argusml.service.bodies import read_stream
from argusml.service.deps import ACK_TIMEOUT
from argusml.service.errors import ApiError

router = APIRouter(tags=["ingest"])

MAX_AUTO_MODELS = 200
"""Models ``/v1/traces`` may register on its own: a misconfigured fleet that stamps every pod's name into
``service.name`` must not create thousands of models."""
MAX_ERRORS_NAMED = 10
PROTOBUF = "application/x-protobuf"
AUTO_DESCRIPTION = "registered from its OpenTelemetry traces"


def model_name(service: str) -> str:
    """A ``service.name`` cleaned to the model-name rules: characters outside letters, digits, ``_ - .``
    become ``-``, a leading non-alphanumeric is dropped, at most 64 characters.

    >>> model_name("checkout/support bot"), model_name("_rag:v2"), model_name("")
    ('checkout-support-bot', 'rag-v2', 'unknown_service')
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", service).lstrip("_.-")[:64].rstrip("-")
    return name if name and MODEL_NAME.match(name) else "unknown_service"


def _answer(rejected: int, errors: list[str], protobuf: bool) -> Response:
    message = "; ".join(errors[:MAX_ERRORS_NAMED]) + (f"; and {len(errors) - MAX_ERRORS_NAMED} more"
                                                      if len(errors) > MAX_ERRORS_NAMED else "")
    if protobuf:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        out = ExportTraceServiceResponse()
        if rejected or message:
            out.partial_success.rejected_spans = rejected
            out.partial_success.error_message = message
        return Response(out.SerializeToString(), media_type=PROTOBUF)
    body: dict[str, Any] = {}
    if rejected or message:
        body["partialSuccess"] = {"rejectedSpans": str(rejected), "errorMessage": message}
    return Response(orjson.dumps(body), media_type="application/json")


def _may_write(request: Request, model: str) -> bool:
    allowed = request.scope.get("state", {}).get("token_models")
    return allowed is None or model in allowed


def _register(monitor: Monitor, request: Request, model: str) -> str | None:
    """Register ``model`` as an LLM model with the defaults; why not, when it may not be."""
    auto = sum(1 for s in monitor.models.values() if s.config.description == AUTO_DESCRIPTION)
    if auto >= MAX_AUTO_MODELS:
        return (f"service {model!r} is not registered: {MAX_AUTO_MODELS} models were already registered from "
                "traces; register it with PUT /v1/models/{model} or a YAML")
    cfg = ModelConfig(model=model, kind="llm", description=AUTO_DESCRIPTION)
    plan = plan_of(cfg)
    assert plan is not None
    author = request.scope.get("state", {}).get("token_name") or "anonymous"
    monitor.register(cfg, learning_reference(plan), author=author, source="otlp")
    return None





@router.post("/v1/traces", summary="OTLP/HTTP traces: GenAI spans become LLM events",
             description="The OpenTelemetry exporter's endpoint (JSON or protobuf). Inference spans with gen_ai.* "
                         "attributes become LLM events of the model named after the resource's service.name "
                         "(registered as kind: llm with the defaults when unknown and the token may write it); "
                         "other spans are ignored. 200 with OTLP's partialSuccess for refused spans; 400 for a "
                         "body that is not a traces request. docs/LLM.md, 'OpenTelemetry'.",
             responses={200: {"description": "ExportTraceServiceResponse (JSON or protobuf, as the request)"},
                        400: {"description": "not an OTLP traces request"}})
async def post_traces(request: Request) -> Response:
    monitor: Monitor = request.app.state.monitor
    ctype = request.headers.get("content-type") or ""
    body = await read_stream(request.stream(), request.app.state.ingest.max_body)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        import gzip

        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise ApiError(400, "invalid_body", f"content-encoding gzip: {exc}") from None
    try:
        spans = decode(body, ctype)
    except OTLPError as exc:
        raise ApiError(400, "invalid_body", str(exc)) from None
    protobuf = ctype.split(";", 1)[0].strip().lower() != "application/json"
    translated = llm_events(spans)
    errors = list(translated.rejected)
    rejected = len(translated.rejected)
    futures = []
    for service, events in translated.events.items():
        model = model_name(service)
        if not _may_write(request, model):
            rejected += len(events)
            errors.append(f"service {service!r} (model {model!r}): the token may not write this model")
            continue
        state = monitor.models.get(model)
        if state is None:
            why = _register(monitor, request, model)
            if why is not None:
                rejected += len(events)
                errors.append(why)
                continue
        elif state.llm is None:
            rejected += len(events)
            errors.append(f"service {service!r}: model {model!r} is a tabular model, not kind: llm")
            continue
        try:
            answer = monitor.ingest_events(model, events)
        except Busy as exc:
            raise ApiError(429, "busy", str(exc), {"retry-after": str(exc.retry_after)}) from None
        for p in answer.body.get("rejected", []):
            rejected += 1
            errors.append(f"span {events[p['index']].get('id')} ({model}): {p['field']}: {p['error']}")
        if answer.future is not None:
            futures.append(answer.future)
    for fut in futures:
        try:
            await asyncio.wait_for(asyncio.wrap_future(fut), ACK_TIMEOUT)
        except asyncio.TimeoutError:
            raise ApiError(503, "not_stored", "the store did not confirm the write in time; retry (spans are "
                                              "idempotent by span id)", {"retry-after": "1"}) from None
        except Exception as exc:
            raise ApiError(503, "not_stored", f"the store failed: {exc}; retry", {"retry-after": "1"}) from None
    return _answer(rejected, errors, protobuf)
