"""OTLP/HTTP traces as LLM events: the same spans from JSON and protobuf, the GenAI conventions of v1.41 and
of v1.36, retrieval documents joined by trace, and spans that cannot be read rejected by themselves."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from argusml.llm.otlp import OTLPError, Span, decode, llm_events

TRACE = "5b8efff798038103d269b633813fc60c"
CHAT, RETRIEVE, HTTP = "eee19b7ec3c1b174", "aaa19b7ec3c1b100", "bbb19b7ec3c1b200"
T0 = 1_765_000_000_000_000_000  # ns

INPUT = [{"role": "system", "parts": [{"type": "text", "content": "Answer from the documents."}]},
         {"role": "user", "parts": [{"type": "text", "content": "How do I reset my password?"}]}]
OUTPUT = [{"role": "assistant", "parts": [{"type": "text", "content": "Open Settings, then Security [doc-7]."}],
           "finish_reason": "stop"}]
DOCS = [{"id": "doc-7", "score": 0.91, "content": "Security settings: reset the password."},
        {"id": "doc-2", "score": 0.55}]


def _jv(v: Any) -> dict[str, Any]:
    """A value in OTLP/JSON's AnyValue form."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}  # 64-bit integers are strings in OTLP/JSON
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [_jv(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": _jv(x)} for k, x in v.items()]}}
    return {"stringValue": v}


def _pv(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[_pv(x) for x in v]))
    if isinstance(v, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=_pv(x)) for k, x in v.items()]))
    return AnyValue(string_value=v)


SPANS: list[dict[str, Any]] = [
    {"span_id": RETRIEVE, "parent": "", "name": "retrieval kb", "start": T0, "end": T0 + 40_000_000,
     "attrs": {"gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "kb",
               "gen_ai.retrieval.documents": orjson.dumps(DOCS).decode()}, "status": 0},
    {"span_id": CHAT, "parent": RETRIEVE, "name": "chat gpt-4o", "start": T0 + 50_000_000, "end": T0 + 1_250_000_000,
     "attrs": {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
               "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 812,
               "gen_ai.usage.output_tokens": 64, "gen_ai.response.finish_reasons": ["stop"],
               "gen_ai.conversation.id": "conv-1", "gen_ai.input.messages": orjson.dumps(INPUT).decode(),
               "gen_ai.output.messages": orjson.dumps(OUTPUT).decode(), "gen_ai.request.temperature": 0.2},
     "status": 0},
    {"span_id": HTTP, "parent": "", "name": "GET /ask", "start": T0, "end": T0 + 1_300_000_000,
     "attrs": {"http.request.method": "GET", "http.response.status_code": 200}, "status": 0},
]
RESOURCE = {"service.name": "support-bot", "service.version": "2.3.0"}


def json_body(spans: list[dict[str, Any]] = SPANS, resource: dict[str, Any] = RESOURCE) -> bytes:
    return orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": k, "value": _jv(v)} for k, v in resource.items()]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai"}, "spans": [{
            "traceId": TRACE, "spanId": s["span_id"], "parentSpanId": s["parent"], "name": s["name"], "kind": 3,
            "startTimeUnixNano": str(s["start"]), "endTimeUnixNano": str(s["end"]),
            "attributes": [{"key": k, "value": _jv(v)} for k, v in s["attrs"].items()],
            "events": [{"name": e["name"], "timeUnixNano": str(e["time"]),
                        "attributes": [{"key": k, "value": _jv(v)} for k, v in e["attrs"].items()]}
                       for e in s.get("events", [])],
            "status": {"code": s["status"]}} for s in spans]}]}]})


def protobuf_body(spans: list[dict[str, Any]] = SPANS, resource: dict[str, Any] = RESOURCE) -> bytes:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(KeyValue(key=k, value=_pv(v)) for k, v in resource.items())
    ss = rs.scope_spans.add()
    ss.scope.name = "opentelemetry.instrumentation.openai"
    for s in spans:
        ss.spans.append(PbSpan(
            trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(s["span_id"]),
            parent_span_id=bytes.fromhex(s["parent"]), name=s["name"], kind=PbSpan.SPAN_KIND_CLIENT,
            start_time_unix_nano=s["start"], end_time_unix_nano=s["end"],
            attributes=[KeyValue(key=k, value=_pv(v)) for k, v in s["attrs"].items()],
            events=[PbSpan.Event(name=e["name"], time_unix_nano=e["time"],
                                 attributes=[KeyValue(key=k, value=_pv(v)) for k, v in e["attrs"].items()])
                    for e in s.get("events", [])],
            status=Status(code=s["status"])))
    return req.SerializeToString()


def test_json_and_protobuf_decode_to_the_same_spans() -> None:
    from_json = decode(json_body(), "application/json")
    from_pb = decode(protobuf_body(), "application/x-protobuf")
    assert from_json == from_pb
    chat = next(s for s in from_json if s.span_id == CHAT)
    assert (chat.trace_id, chat.parent_span_id, chat.start_ns, chat.end_ns) == (
        TRACE, RETRIEVE, T0 + 50_000_000, T0 + 1_250_000_000)
    assert chat.attributes["gen_ai.usage.input_tokens"] == 812  # the JSON string "812" read as the integer
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert chat.attributes["gen_ai.request.temperature"] == 0.2
    assert chat.resource == RESOURCE


def test_an_inference_span_becomes_one_event_with_its_trace_s_documents() -> None:
    out = llm_events(decode(json_body(), "application/json; charset=utf-8"))
    assert out.rejected == [] and out.ignored == 1  # the HTTP span is not GenAI
    (event,) = out.events["support-bot"]
    assert event == {
        "id": CHAT, "timestamp": (T0 + 50_000_000) / 1e9, "version": "2.3.0", "status": 200,
        "latency_ms": 1200.0,
        "llm": {"operation": "chat", "provider": "openai", "model": "gpt-4o-2024-08-06",
                "prompt": "How do I reset my password?", "response": "Open Settings, then Security [doc-7].",
                "system": "Answer from the documents.", "input_tokens": 812, "output_tokens": 64,
                "finish_reasons": ["stop"], "session": "conv-1",
                "context": [{"id": "doc-7", "score": 0.91, "text": "Security settings: reset the password."},
                            {"id": "doc-2", "score": 0.55}], "trace_id": TRACE}}


def test_the_v1_36_forms_are_read_too() -> None:
    """gen_ai.system for the provider, and the messages as per-message events with a gen_ai.choice."""
    old = {"span_id": CHAT, "parent": "", "name": "chat llama", "start": T0, "end": T0 + 300_000_000, "status": 2,
           "attrs": {"gen_ai.system": "ollama", "gen_ai.request.model": "llama3", "gen_ai.usage.prompt_tokens": 9},
           "events": [{"name": "gen_ai.system.message", "time": T0, "attrs": {"content": "Be brief."}},
                      {"name": "gen_ai.user.message", "time": T0, "attrs": {"content": "Hi?"}},
                      {"name": "gen_ai.choice", "time": T0 + 300_000_000,
                       "attrs": {"index": 0, "message": {"role": "assistant", "content": "Hello."}}}]}
    for body, kind in ((json_body([old]), "application/json"), (protobuf_body([old]), "application/x-protobuf")):
        (event,) = llm_events(decode(body, kind)).events["support-bot"]
        assert event["status"] == 500  # the span's status is ERROR
        assert event["llm"] == {"operation": "chat", "provider": "ollama", "model": "llama3", "prompt": "Hi?",
                                "response": "Hello.", "system": "Be brief.", "input_tokens": 9,
                                "trace_id": TRACE}


def test_messages_on_the_details_event_and_structured_documents() -> None:
    spans = [dict(SPANS[0], attrs={"gen_ai.operation.name": "retrieval", "gen_ai.retrieval.documents": DOCS[1:]}),
             dict(SPANS[1], attrs={"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"},
                  events=[{"name": "gen_ai.client.inference.operation.details", "time": T0 + 1_250_000_000,
                           "attrs": {"gen_ai.input.messages": INPUT[1:], "gen_ai.output.messages": OUTPUT}}])]
    (event,) = llm_events(decode(protobuf_body(spans), "application/x-protobuf")).events["support-bot"]
    assert event["llm"]["prompt"] == "How do I reset my password?"
    assert event["llm"]["response"] == "Open Settings, then Security [doc-7]."
    assert event["llm"]["context"] == [{"id": "doc-2", "score": 0.55}]


def test_a_span_that_cannot_be_read_is_rejected_and_the_others_kept() -> None:
    bad_messages = dict(SPANS[1], span_id="ccc19b7ec3c1b300", attrs={**SPANS[1]["attrs"],
                                                                     "gen_ai.input.messages": "{not json"})
    backwards = dict(SPANS[1], span_id="ddd19b7ec3c1b400", start=T0 + 10, end=T0)
    out = llm_events(decode(json_body([*SPANS, bad_messages, backwards]), "application/json"))
    assert [e["id"] for e in out.events["support-bot"]] == [CHAT]
    assert out.rejected == [
        f"span ccc19b7ec3c1b300 of trace {TRACE}: gen_ai.input.messages is not JSON",
        f"span ddd19b7ec3c1b400 of trace {TRACE}: it ends ({T0}) before it starts ({T0 + 10})"]


def test_services_are_kept_apart_and_an_unnamed_one_is_unknown_service() -> None:
    body = orjson.loads(json_body())
    other = orjson.loads(json_body(SPANS[1:2], {"service.name": "search-bot"}))["resourceSpans"]
    unnamed = orjson.loads(json_body(SPANS[1:2], {}))["resourceSpans"]
    body["resourceSpans"] += other + unnamed
    out = llm_events(decode(orjson.dumps(body), "application/json"))
    assert {k: len(v) for k, v in out.events.items()} == {"support-bot": 1, "search-bot": 1, "unknown_service": 1}
    assert out.events["unknown_service"][0]["version"] == "unversioned"


def test_ids_in_base64_are_read_as_the_protobuf_json_mapping_writes_them() -> None:
    body = orjson.loads(json_body(SPANS[1:2]))
    span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"] = base64.b64encode(bytes.fromhex(TRACE)).decode()
    span["spanId"] = base64.b64encode(bytes.fromhex(CHAT)).decode()
    span["parentSpanId"] = ""
    (decoded,) = decode(orjson.dumps(body), "application/json")
    assert (decoded.trace_id, decoded.span_id, decoded.parent_span_id) == (TRACE, CHAT, "")


@pytest.mark.parametrize(("body", "kind", "message"), [
    (b"{", "application/json", "the body is not JSON"),
    (b"[]", "application/json", "must be an ExportTraceServiceRequest object"),
    (b'{"resourceSpans": {}}', "application/json", "request.resourceSpans must be a list"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "xyz!"}]}]}]}', "application/json",
     "resourceSpans[0].scopeSpans[0].spans[0].spanId: 'xyz!' is neither hex nor base64"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}', "application/json",
     "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: 'soon' is not an integer"),
    (b"\xff\xff\xff", "application/x-protobuf", "not an ExportTraceServiceRequest in protobuf"),
    (b"x", "text/plain", "OTLP/HTTP sends application/json or application/x-protobuf"),
])
def test_a_body_that_is_not_a_traces_request_names_the_problem(body: bytes, kind: str, message: str) -> None:
    with pytest.raises(OTLPError) as err:
        decode(body, kind)
    assert message in str(err.value)


def test_spans_without_gen_ai_are_ignored_not_rejected() -> None:
    spans = [Span(TRACE, HTTP, "", "GET /", T0, T0 + 1, {"http.route": "/"}, [], 0, "", RESOURCE)]
    out = llm_events(spans)
    assert (out.events, out.rejected, out.ignored) == ({}, [], 1)
