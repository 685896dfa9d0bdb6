"""OpenTelemetry traces (OTLP over HTTP, JSON or protobuf) as Argus LLM events, by the GenAI conventions.

An application already instrumented with OpenTelemetry should need no new SDK: its exporter points at
Argus, and the spans it sends are read here. Two steps, each usable alone:

* ``decode`` turns an ``ExportTraceServiceRequest`` body into plain ``Span`` values, the same from either
  encoding. OTLP's JSON differs from the protobuf JSON mapping in places a hand-written client gets wrong
  (ids are hex, not base64; 64-bit integers arrive as strings; enum values as integers), so both are read
  here rather than through a generic converter.
* ``llm_events`` keeps the spans of the GenAI conventions and builds one event per inference span, keyed
  by the service that sent it: the prompt and response text, token counts, model and provider, latency,
  the conversation, and the documents of the retrieval spans of the same trace.

The conventions followed are the GenAI semantic conventions as of OpenTelemetry semantic-conventions
v1.41.0 (``SEMCONV_VERSION``, the last release before they moved to their own repository, whose v0.1.0
keeps these names): ``gen_ai.provider.name``; ``gen_ai.input.messages``, ``gen_ai.output.messages`` and
``gen_ai.system_instructions`` as span attributes (structured or JSON text) or on the span's
``gen_ai.client.inference.operation.details`` event; ``gen_ai.retrieval`` spans (operation ``retrieval``)
with ``gen_ai.retrieval.documents``. The forms of v1.36 and before are read too, since instrumentations
keep emitting them by default: ``gen_ai.system`` for the provider, and per-message events
(``gen_ai.system.message``, ``gen_ai.user.message``, ``gen_ai.assistant.message``, ``gen_ai.choice``).

A span that claims to be GenAI but cannot be read (no span id, an end before its start, messages that
are not messages) is rejected with its reason; the caller answers with OTLP's partial success, and the
rest of the request is kept.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

SEMCONV_VERSION = "1.41.0"
"""The OpenTelemetry semantic-conventions release whose GenAI conventions are read."""

INFERENCE_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
"""``gen_ai.operation.name`` values of a model call that answers a prompt."""

RETRIEVAL_OPERATION = "retrieval"

HEX = re.compile(r"[0-9a-fA-F]+")

STATUS_ERROR = 2
"""``Status.code`` of a failed span (STATUS_CODE_ERROR)."""

OLD_MESSAGE_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                      "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}
"""The per-message events of the v1.36 conventions and their role."""


class OTLPError(ValueError):
    """A request body that is not an ``ExportTraceServiceRequest``: the whole request is refused (400)."""


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Span:
    """One span, decoded: ids in lower-case hex, times in Unix nanoseconds, attribute values as plain
    Python values (lists for arrays, dicts for key-value lists, bytes for bytes)."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[SpanEvent]
    status_code: int
    status_message: str
    resource: dict[str, Any]


# -- decoding -----------------------------------------------------------------------------------------
def decode(body: bytes, content_type: str) -> list[Span]:
    """The spans of an OTLP/HTTP traces request; ``content_type`` ``application/json`` or
    ``application/x-protobuf`` (parameters after ``;`` are ignored)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        return _decode_json(body)
    if kind in ("application/x-protobuf", "application/protobuf"):
        return _decode_protobuf(body)
    raise OTLPError(f"content type {content_type!r}: OTLP/HTTP sends application/json or application/x-protobuf")


def _decode_json(body: bytes) -> list[Span]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OTLPError(f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OTLPError("the body must be an ExportTraceServiceRequest object with resourceSpans")
    spans: list[Span] = []
    for i, rs in enumerate(_list(doc, "resourceSpans", "request")):
        where = f"resourceSpans[{i}]"
        resource = _json_attributes(_dict(rs, "resource", where).get("attributes"), f"{where}.resource")
        for j, ss in enumerate(_list(rs, "scopeSpans", where)):
            for k, sp in enumerate(_list(ss, "spans", f"{where}.scopeSpans[{j}]")):
                at = f"{where}.scopeSpans[{j}].spans[{k}]"
                if not isinstance(sp, dict):
                    raise OTLPError(f"{at}: a span must be an object")
                status = sp.get("status") or {}
                spans.append(Span(
                    trace_id=_json_id(sp.get("traceId"), f"{at}.traceId"),
                    span_id=_json_id(sp.get("spanId"), f"{at}.spanId"),
                    parent_span_id=_json_id(sp.get("parentSpanId"), f"{at}.parentSpanId"),
                    name=str(sp.get("name") or ""),
                    start_ns=_json_int(sp.get("startTimeUnixNano"), f"{at}.startTimeUnixNano"),
                    end_ns=_json_int(sp.get("endTimeUnixNano"), f"{at}.endTimeUnixNano"),
                    attributes=_json_attributes(sp.get("attributes"), at),
                    events=[SpanEvent(str(ev.get("name") or ""),
                                      _json_int(ev.get("timeUnixNano"), f"{at}.events[{e}].timeUnixNano"),
                                      _json_attributes(ev.get("attributes"), f"{at}.events[{e}]"))
                            for e, ev in enumerate(_list(sp, "events", at)) if isinstance(ev, dict)],
                    status_code=_json_int(status.get("code"), f"{at}.status.code") if isinstance(status, dict) else 0,
                    status_message=str(status.get("message") or "") if isinstance(status, dict) else "",
                    resource=resource))
    return spans


def _list(obj: Any, key: str, where: str) -> list[Any]:
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise OTLPError(f"{where}.{key} must be a list")
    return value


def _dict(obj: Any, key: str, where: str) -> dict[str, Any]:
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OTLPError(f"{where}.{key} must be an object")
    return value


def _json_id(value: Any, where: str) -> str:
    """Trace and span ids: hex in OTLP/JSON (the protobuf JSON mapping's base64 is read too, since some
    clients send it: 24 or 12 base64 characters decode to the 16 or 8 bytes of an id)."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise OTLPError(f"{where} must be a hex string")
    text = value.strip()
    if len(text) in (32, 16) and HEX.fullmatch(text):
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise OTLPError(f"{where}: {value!r} is neither hex nor base64") from None
    if len(raw) not in (16, 8):
        raise OTLPError(f"{where}: {value!r} is not a 16- or 8-byte id")
    return raw.hex()


def _json_int(value: Any, where: str) -> int:
    """A 64-bit integer, which OTLP/JSON may send as a decimal string."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise OTLPError(f"{where} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OTLPError(f"{where}: {value!r} is not an integer") from None


def _json_attributes(items: Any, where: str) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise OTLPError(f"{where}.attributes must be a list of key-value objects")
    out: dict[str, Any] = {}
    for kv in items:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = _json_value(kv.get("value"), f"{where}.attributes[{kv['key']!r}]")
    return out


def _json_value(v: Any, where: str) -> Any:
    """OTLP's AnyValue in JSON: exactly one of the typed fields."""
    if not isinstance(v, dict) or not v:
        return None
    if "stringValue" in v:
        return str(v["stringValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "intValue" in v:
        return _json_int(v["intValue"], where)
    if "doubleValue" in v:
        try:
            return float(v["doubleValue"])  # "NaN" and "Infinity" arrive as strings
        except (TypeError, ValueError):
            raise OTLPError(f"{where}: doubleValue {v['doubleValue']!r} is not a number") from None
    if "arrayValue" in v:
        return [_json_value(x, where) for x in (v["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in v:
        return _json_attributes((v["kvlistValue"] or {}).get("values") or [], where)
    if "bytesValue" in v:
        try:
            return base64.b64decode(v["bytesValue"])
        except (binascii.Error, ValueError, TypeError):
            raise OTLPError(f"{where}: bytesValue is not base64") from None
    return None


def _decode_protobuf(body: bytes) -> list[Span]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise OTLPError(f"the body is not an ExportTraceServiceRequest in protobuf: {exc}") from None
    spans: list[Span] = []
    for rs in request.resource_spans:
        resource = _pb_attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for sp in ss.spans:
                spans.append(Span(
                    trace_id=sp.trace_id.hex(), span_id=sp.span_id.hex(), parent_span_id=sp.parent_span_id.hex(),
                    name=sp.name, start_ns=sp.start_time_unix_nano, end_ns=sp.end_time_unix_nano,
                    attributes=_pb_attributes(sp.attributes),
                    events=[SpanEvent(ev.name, ev.time_unix_nano, _pb_attributes(ev.attributes)) for ev in sp.events],
                    status_code=int(sp.status.code), status_message=sp.status.message, resource=resource))
    return spans


def _pb_attributes(items: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in items}


def _pb_value(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return _pb_attributes(v.kvlist_value.values)
    return getattr(v, which)


# -- GenAI spans to events ----------------------------------------------------------------------------
@dataclass
class Translated:
    """The events built from a request, by service name, and the GenAI spans that could not be read."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    ignored: int = 0  # spans that are not GenAI (HTTP, database...): not an error, just not ours


def is_genai(span: Span) -> bool:
    return any(k.startswith("gen_ai.") for k in span.attributes) or \
        any(ev.name.startswith("gen_ai.") for ev in span.events)


def llm_events(spans: Iterable[Span]) -> Translated:
    """One Argus LLM event per inference span, grouped by ``service.name`` (the model it belongs to); the
    documents of the retrieval spans of the same trace become its context. Embedding and tool spans only
    lend their trace; other spans are counted as ignored."""
    out = Translated()
    by_trace: dict[str, list[Span]] = {}
    for span in spans:
        if not is_genai(span):
            out.ignored += 1
            continue
        by_trace.setdefault(span.trace_id, []).append(span)
    for trace_spans in by_trace.values():
        retrievals = sorted((s for s in trace_spans if _operation(s) == RETRIEVAL_OPERATION), key=lambda s: s.start_ns)
        for span in trace_spans:
            op = _operation(span)
            if op == RETRIEVAL_OPERATION or (op and op not in INFERENCE_OPERATIONS):
                continue
            try:
                event = _event(span, retrievals)
            except ValueError as exc:
                out.rejected.append(f"span {span.span_id or '(no id)'} of trace {span.trace_id or '(no id)'}: {exc}")
                continue
            service = str(span.resource.get("service.name") or "unknown_service")
            out.events.setdefault(service, []).append(event)
    return out


def _operation(span: Span) -> str | None:
    op = span.attributes.get("gen_ai.operation.name")
    if op is None and "gen_ai.request.model" in span.attributes:
        return "chat"  # an instrumentation that names the model but not the operation: a model call
    return str(op) if op is not None else None


def _event(span: Span, retrievals: list[Span]) -> dict[str, Any]:
    if not span.span_id:
        raise ValueError("no span id")
    if span.start_ns <= 0:
        raise ValueError("no start time")
    if span.end_ns and span.end_ns < span.start_ns:
        raise ValueError(f"it ends ({span.end_ns}) before it starts ({span.start_ns})")
    a = span.attributes
    inputs, outputs, system = _messages(span)
    llm: dict[str, Any] = {
        "operation": _operation(span),
        "provider": _str(a.get("gen_ai.provider.name", a.get("gen_ai.system"))),
        "model": _str(a.get("gen_ai.response.model", a.get("gen_ai.request.model"))),
        "prompt": _last_text(inputs, "user"),
        "response": _joined_text(outputs),
        "system": _joined_text(system) if system else _last_text(inputs, "system"),
        "input_tokens": _int(a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens"))),
        "output_tokens": _int(a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens"))),
        "finish_reasons": [str(r) for r in _as_list(a.get("gen_ai.response.finish_reasons"))],
        "session": _str(a.get("gen_ai.conversation.id", a.get("session.id"))),
        "context": _context(span, retrievals),
        "trace_id": span.trace_id,
    }
    event: dict[str, Any] = {
        "id": span.span_id,
        "timestamp": span.start_ns / 1e9,
        "version": _str(span.resource.get("service.version")) or "unversioned",
        "status": 500 if span.status_code == STATUS_ERROR or "error.type" in a else 200,
        "llm": {k: v for k, v in llm.items() if v not in (None, [], "")},
    }
    if span.end_ns:
        event["latency_ms"] = (span.end_ns - span.start_ns) / 1e6
    return event


def _messages(span: Span) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(input, output, system instruction) messages: from the span's attributes, else from its details
    event, else from the v1.36 per-message events."""
    sources: list[Mapping[str, Any]] = [span.attributes]
    sources += [ev.attributes for ev in span.events if ev.name == "gen_ai.client.inference.operation.details"]
    inputs = outputs = system = None
    for src in sources:
        inputs = inputs if inputs is not None else _parsed(src.get("gen_ai.input.messages"), "gen_ai.input.messages")
        outputs = outputs if outputs is not None else _parsed(src.get("gen_ai.output.messages"), "gen_ai.output.messages")
        system = system if system is not None else _parsed(src.get("gen_ai.system_instructions"),
                                                           "gen_ai.system_instructions")
    if inputs is None and outputs is None:
        inputs, outputs = [], []
        for ev in span.events:
            if ev.name in OLD_MESSAGE_EVENTS:
                inputs.append({"role": OLD_MESSAGE_EVENTS[ev.name], "content": ev.attributes.get("content")})
            elif ev.name == "gen_ai.choice":
                message = ev.attributes.get("message")
                content = message.get("content") if isinstance(message, dict) else ev.attributes.get("content")
                outputs.append({"role": "assistant", "content": content})
    return inputs or [], outputs or [], system or []


def _parsed(value: Any, name: str) -> list[dict[str, Any]] | None:
    """A messages attribute: structured (a list of messages, or of message-like dicts) or its JSON text."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValueError(f"{name} is not JSON") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise ValueError(f"{name} must be a list of messages")
    return value


def _message_text(message: Mapping[str, Any]) -> str:
    """The text of one message: its ``parts`` of type text (the current conventions), or its ``content``
    (a string, or a list of text parts: the older forms)."""
    parts = message.get("parts")
    if isinstance(parts, list):
        return "\n".join(str(p.get("content", "")) for p in parts
                         if isinstance(p, dict) and p.get("type", "text") == "text" and p.get("content") is not None)
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", p.get("content", ""))) for p in content if isinstance(p, dict))
    return ""


def _last_text(messages: list[dict[str, Any]], role: str) -> str | None:
    for m in reversed(messages):
        if m.get("role") == role:
            return _message_text(m) or None
    return None


def _joined_text(messages: list[dict[str, Any]]) -> str | None:
    return "\n".join(t for t in (_message_text(m) for m in messages) if t) or None


def _context(span: Span, retrievals: list[Span]) -> list[dict[str, Any]]:
    """The documents retrieved for this call: those of the retrieval spans of its trace that ended by the
    time it started (all of them when none had: a framework that records retrieval after the fact)."""
    before = [r for r in retrievals if not r.end_ns or r.end_ns <= span.start_ns] or retrievals
    docs: list[dict[str, Any]] = []
    for r in before:
        value = r.attributes.get("gen_ai.retrieval.documents")
        for ev in r.events:
            value = value if value is not None else ev.attributes.get("gen_ai.retrieval.documents")
        for d in _parsed(value, "gen_ai.retrieval.documents") or []:
            doc: dict[str, Any] = {"id": _str(d.get("id")), "score": _float(d.get("score"))}
            if d.get("content") is not None:
                doc["text"] = str(d["content"])
            docs.append({k: v for k, v in doc.items() if v is not None})
    return docs


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, str):
        try:
            parsed = orjson.loads(v)
            return parsed if isinstance(parsed, list) else [v]
        except orjson.JSONDecodeError:
            return [v]
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _int(v: Any) -> int | None:
    try:
        return None if v is None or isinstance(v, bool) else int(v)
    except (TypeError, ValueError):
        return None


def _float(v: Any) -> float | None:
    try:
        return None if v is None or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return None
