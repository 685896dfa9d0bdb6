"""``POST /v1/traces`` on the real service: OTLP JSON and protobuf in, OTLP's partial success out, unknown
services registered as LLM models, tokens respected, and the real OpenTelemetry SDK exporter pointed at it."""

from __future__ import annotations

from pathlib import Path

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from argusml.schema.model_config import AuthConfig, ModelConfig, TokenEntry
from argusml.service.auth import Authenticator, digest
from argusml.service.routers.otlp import model_name
from service_util import start_monitor
from test_otlp import SPANS, T0, TRACE, json_body, protobuf_body

NOW = T0 / 1e9 + 5
BAD = dict(SPANS[1], span_id="ccc19b7ec3c1b300", attrs={**SPANS[1]["attrs"], "gen_ai.input.messages": "{not json"})


def test_an_unknown_service_becomes_an_llm_model_and_its_span_an_event(tmp_path: Path) -> None:
    run = start_monitor(tmp_path / "data")
    run.clock.t = NOW
    try:
        r = run.client.post("/v1/traces", content=json_body(), headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.json() == {}, r.text
        assert run.monitor.wait_idle()
        models = {m["model"]: m for m in run.client.get("/v1/models").json()["models"]}
        assert "support-bot" in models
        status = run.client.get("/v1/models/support-bot/status").json()
        assert status["kind"] == "llm" and status["events_total"] == 1 and status["baseline"]["state"] == "learning"
        assert status["versions"] == ["2.3.0"]
        history = run.client.get("/v1/models/support-bot/config/history").json()["history"]
        assert history[0]["source"] == "otlp"
        # the same span again is a duplicate (the span id is the event id), not a second event
        run.client.post("/v1/traces", content=json_body(), headers={"content-type": "application/json"})
        assert run.monitor.wait_idle()
        assert run.client.get("/v1/models/support-bot/status").json()["events_total"] == 1
    finally:
        run.stop()


def test_protobuf_in_protobuf_out_with_the_bad_spans_counted(tmp_path: Path) -> None:
    run = start_monitor(tmp_path / "data")
    run.clock.t = NOW
    try:
        r = run.client.post("/v1/traces", content=protobuf_body([*SPANS, BAD]),
                            headers={"content-type": "application/x-protobuf"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-protobuf"
        answer = ExportTraceServiceResponse.FromString(r.content)
        assert answer.partial_success.rejected_spans == 1
        assert answer.partial_success.error_message == (
            f"span ccc19b7ec3c1b300 of trace {TRACE}: gen_ai.input.messages is not JSON")
        # a span the event contract refuses is counted too, with its field
        huge = dict(SPANS[1], span_id="fff19b7ec3c1b500", attrs={**SPANS[1]["attrs"], "gen_ai.usage.input_tokens": -3})
        r = run.client.post("/v1/traces", content=json_body([huge]), headers={"content-type": "application/json"})
        assert r.json() == {"partialSuccess": {"rejectedSpans": "1", "errorMessage":
                                               "span fff19b7ec3c1b500 (support-bot): llm.input_tokens: "
                                               "llm.input_tokens must be a non-negative integer count"}}
    finally:
        run.stop()


def test_a_body_that_is_not_otlp_is_a_400_and_a_tabular_namesake_refuses_the_spans(tmp_path: Path) -> None:
    from service_util import make_reference

    run = start_monitor(tmp_path / "data", (ModelConfig(model="support-bot"), make_reference(300)))
    run.clock.t = NOW
    try:
        r = run.client.post("/v1/traces", content=b"{\"resourceSpans\": 3}", headers={"content-type": "application/json"})
        assert r.status_code == 400 and "resourceSpans" in r.json()["detail"]
        r = run.client.post("/v1/traces", content=b"x", headers={"content-type": "text/plain"})
        assert r.status_code == 400 and "application/x-protobuf" in r.json()["detail"]
        r = run.client.post("/v1/traces", content=json_body(), headers={"content-type": "application/json"})
        assert r.status_code == 200
        assert r.json()["partialSuccess"] == {"rejectedSpans": "1", "errorMessage":
                                              "service 'support-bot': model 'support-bot' is a tabular model, not "
                                              "kind: llm"}
    finally:
        run.stop()


def test_tokens_decide_which_services_may_write(tmp_path: Path) -> None:
    tokens = {"bot": "argus_bot_secret", "ro": "argus_ro_secret"}
    auth = Authenticator(AuthConfig(tokens=[
        TokenEntry(name="bot", sha256=digest(tokens["bot"]), scopes=["read", "write"], models=["support-bot"]),
        TokenEntry(name="ro", sha256=digest(tokens["ro"]), scopes=["read"])]))
    run = start_monitor(tmp_path / "data", auth=auth)
    run.clock.t = NOW
    try:
        body = orjson.loads(json_body())
        body["resourceSpans"] += orjson.loads(json_body(SPANS[1:2], {"service.name": "search bot"}))["resourceSpans"]
        headers = {"content-type": "application/json"}
        r = run.client.post("/v1/traces", content=orjson.dumps(body),
                            headers={**headers, "authorization": f"Bearer {tokens['ro']}"})
        assert r.status_code == 403
        r = run.client.post("/v1/traces", content=orjson.dumps(body),
                            headers={**headers, "authorization": f"Bearer {tokens['bot']}"})
        assert r.json()["partialSuccess"] == {"rejectedSpans": "1", "errorMessage":
                                              "service 'search bot' (model 'search-bot'): the token may not write "
                                              "this model"}
        assert set(run.monitor.models) == {"support-bot"}
    finally:
        run.stop()


def test_service_names_are_cleaned_to_model_names() -> None:
    assert model_name("payments.assistant") == "payments.assistant"
    assert model_name("x" * 100) == "x" * 64
    assert model_name("??") == "unknown_service"


def test_the_opentelemetry_sdk_exporter_needs_nothing_but_the_url(tmp_path: Path) -> None:
    import time

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    run = start_monitor(tmp_path / "data", clock=time.time)
    server = run.live()
    try:
        provider = TracerProvider(resource=Resource.create({"service.name": "sdk-bot", "service.version": "1.0"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")))
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 20,
                                 "gen_ai.usage.output_tokens": 7,
                                 "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", '
                                                          '"content": "Where is my parcel?"}]}]',
                                 "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", '
                                                           '"content": "It ships tomorrow."}]}]'})
        with tracer.start_as_current_span("GET /health"):  # no gen_ai.* attribute: ignored, not an event
            pass
        provider.shutdown()
        assert run.monitor.wait_idle()
        status = run.client.get("/v1/models/sdk-bot/status").json()
        assert status["events_total"] == 1 and status["versions"] == ["1.0"]
        (rows,) = list(run.store.raw_after("sdk-bot", 0))
        stored = rows[0][5]
        assert stored["features"]["prompt_words"] == 4 and stored["features"]["output_tokens"] == 7
        assert "Where is my parcel" not in orjson.dumps(stored).decode()
    finally:
        run.stop()
