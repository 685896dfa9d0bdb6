"""Fuzz the HTTP API from its own OpenAPI document, plus hand-written bad input.

The service promises (app.py): every error is a JSON 4xx (or a 503 when the
store fails), never a 500. Schemathesis generates valid and invalid requests
for every operation from ``/openapi.json`` and checks that promise and that
answers match the documented shapes; the explicit cases below pin the exact
status and message for inputs a fuzzer finds only by luck (NaN literals,
invalid UTF-8, 5000-deep JSON, a body over the size limit, numbers at the
edges of float64 and int64).

An accepted event is acknowledged before the fold thread profiles it, so a
failure there never shows in an HTTP answer: the tests also collect ERROR
records of the ``argus`` loggers and expect none.

Everything runs in-process (ASGI), deterministically (``derandomize``), in
about 25 s on two cores.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.transport.asgi import ASGI_TRANSPORT
from schemathesis.transport.requests import REQUESTS_TRANSPORT
from schemathesis.transport.wsgi import WSGI_TRANSPORT

from argusml.monitor import Monitor, Settings
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from argusml.service.app import NDJSON_TYPES, create_app
from service_util import start_monitor

pytestmark = pytest.mark.service

MODEL = "m"
JSON = {"content-type": "application/json"}
NDJSON = {"content-type": "application/x-ndjson"}

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])

# Checks left out, each a deliberate design choice rather than a defect:
EXCLUDED_CHECKS = [
    # FastAPI documents only the statuses a route declares; the middleware's 401/403/413 and the ingest routes'
    # own 400/415 (they read the raw body so that one bad event does not reject a batch) cannot all be listed
    # on every operation. A 4xx the document does not list is not a crash; not_a_server_error still runs.
    schemathesis.checks.status_code_conformance,
    # Ingest routes accept a JSON list *or a single object* and, for NDJSON, any text (bad lines are per-index
    # rejections with a 200), so a "negative" body by the published schema is often legitimately accepted.
    schemathesis.checks.negative_data_rejection,
    # The published schemas give types, not meaning: a schema-valid baseline ({}) is not an Argus baseline,
    # a schema-valid granularity ("abc") is not a duration, a resource name must be snake_case, an event's
    # timestamp must not be in the future. Rejecting those with a 4xx that names the problem is the design.
    schemathesis.checks.positive_data_acceptance,
]


# -- the service under test ------------------------------------------------------------------------------------
def reference_frame(n: int = 600, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(3)})
    df["cat"] = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    df["score"] = rng.random(n)
    return df


@pytest.fixture(scope="module")
def reference() -> Reference:
    """A regression model (a numeric target with many values): any finite number is a valid label."""
    df = reference_frame()
    df["y"] = df["score"] * 100 + np.random.default_rng(9).normal(size=len(df))
    return Reference.from_frame(df, prediction="score", target="y")


class ErrorLog(logging.Handler):
    """ERROR records of the service's loggers: the writer and fold threads log what they survive, and an
    exception there never reaches an HTTP answer (the events were acknowledged), so the tests look here."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def summary(self) -> list[str]:
        """Distinct errors with their counts (a poisoned roll-up fails on every tick)."""
        seen = Counter(f"{r.name}: {r.getMessage()}" + (f" {r.exc_info[1]!r}" if r.exc_info else "")
                       for r in self.records)
        return [f"{n}x {msg}" for msg, n in seen.items()]


@contextmanager
def error_log() -> Iterator[ErrorLog]:
    handler, logger = ErrorLog(), logging.getLogger("argus")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def errors() -> Iterator[ErrorLog]:
    with error_log() as handler:
        yield handler


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, reference: Reference, errors: ErrorLog
            ) -> Iterator[tuple[Monitor, FastAPI]]:
    running = start_monitor(tmp_path_factory.mktemp("argus-fuzz"), (ModelConfig(model=MODEL), reference),
                            settings=Settings(tick_every=0.05), clock=time.time)
    try:
        yield running.monitor, running.client.app
    finally:
        running.stop()


@pytest.fixture(scope="module")
def app(service: tuple[Monitor, FastAPI]) -> FastAPI:
    return service[1]


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> Iterator[Any]:
    """The published document, loaded in-process; cases are sent to ``app`` over ASGI. The ingest routes
    also take NDJSON, a media type schemathesis has no serializer for: the one registered here sends bytes
    as they are and text as UTF-8 (lone surrogates included, so that invalid UTF-8 goes out too)."""

    @schemathesis.serializer(*NDJSON_TYPES)
    def _ndjson(ctx: Any, value: Any) -> bytes:
        if isinstance(value, bytes):
            return value
        return (value if isinstance(value, str) else json.dumps(value)).encode("utf-8", "surrogatepass")

    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        for transport in (ASGI_TRANSPORT, REQUESTS_TRANSPORT, WSGI_TRANSPORT):
            transport.unregister_serializer(*NDJSON_TYPES)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


# -- generated requests --------------------------------------------------------------------------------------------
# Every operation of the API. The fuzz tests are parametrized over this list (not with schemathesis'
# pytest plugin, whose fixture-backed lazy schema does not run under pytest 9) so that each operation is its
# own test; test_openapi_lists_every_operation fails when a route is added without being listed here.
OPERATIONS = [
    ("POST", "/v1/models/{model}/events"),
    ("POST", "/v1/models/{model}/backfill"),
    ("POST", "/v1/models/{model}/labels"),
    ("POST", "/v1/models/{model}/outcomes"),
    ("POST", "/v1/models/{model}/resources"),
    ("POST", "/v1/traces"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{model}"),
    ("PUT", "/v1/models/{model}"),
    ("PUT", "/v1/models/{model}/versions/{version}/reference"),
    ("GET", "/v1/models/{model}/reference"),
    ("GET", "/v1/models/{model}/config/history"),
    ("GET", "/v1/models/{model}/status"),
    ("GET", "/v1/models/{model}/findings"),
    ("GET", "/v1/models/{model}/windows"),
    ("GET", "/v1/models/{model}/features"),
    ("GET", "/v1/models/{model}/features/{feature}"),
    ("GET", "/v1/models/{model}/timeseries"),
    ("GET", "/v1/models/{model}/performance"),
    ("GET", "/v1/models/{model}/sample"),
    ("GET", "/v1/models/{model}/compare"),
    ("GET", "/v1/models/{model}/advice"),
    ("GET", "/v1/models/{model}/digest"),
    ("GET", "/v1/models/{model}/costs"),
    ("GET", "/v1/models/{model}/slos"),
    ("GET", "/v1/models/{model}/dependencies"),
    ("POST", "/v1/models/{model}/dependencies/{name}"),
    ("GET", "/v1/models/{model}/dependencies/{name}/documents"),
    ("GET", "/v1/incidents"),
    ("GET", "/v1/incidents/{incident_id}"),
    ("POST", "/v1/incidents/{incident_id}/ack"),
    ("POST", "/v1/incidents/{incident_id}/resolve"),
    ("GET", "/v1/alerts"),
    ("POST", "/v1/silences"),
    ("GET", "/v1/silences"),
    ("DELETE", "/v1/silences/{silence_id}"),
    ("GET", "/v1/runbooks"),
    ("GET", "/v1/runbooks/{name}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
]
MODEL_OPERATIONS = [op for op in OPERATIONS if "{model}" in op[1]]


def test_openapi_lists_every_operation(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    published = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert published == set(OPERATIONS)


def _cases(api_schema: Any, method: str, path: str, **fixed: Any) -> st.SearchStrategy[Any]:
    """Valid and invalid requests (schemathesis' default modes) for one operation."""
    op = api_schema[path][method]
    return st.one_of(*(op.as_strategy(mode, **fixed) for mode in GenerationMode))


def _no_500(response: Any, case: Any) -> None:
    assert response.status_code < 500 or response.status_code == 503, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}")
    headers = {k.lower(): v[0] if isinstance(v, list) else v for k, v in response.headers.items()}
    assert headers.get("x-request-id"), "every answer carries its request id"
    if response.status_code >= 400:
        assert headers.get("content-type", "").startswith("application/json"), headers
        body = response.json()
        assert isinstance(body, dict) and body.get("error"), body


def _fuzz(strategy: st.SearchStrategy[Any], extra: Any = None) -> None:
    @FUZZ
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
        _no_500(response, case)
        if extra is not None:
            extra(response, case)

    run()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_every_operation(api_schema: Any, method: str, path: str) -> None:
    """Random (mostly unknown) model names, valid and invalid data: never a 5xx, answers as documented."""
    _fuzz(_cases(api_schema, method, path))


@pytest.mark.parametrize(("method", "path"), MODEL_OPERATIONS, ids=[f"{m} {p}" for m, p in MODEL_OPERATIONS])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # generated numbers near 1e308
def test_fuzz_known_model(api_schema: Any, method: str, path: str) -> None:
    """The same with the path pinned to the registered model, so that requests reach validation, the
    monitor and the store instead of stopping at 404. PUT with random bodies must answer 4xx, not 500."""
    def reached_the_model(response: Any, case: Any) -> None:  # (a 404 for a version it never saw did reach it)
        assert response.status_code != 404 or response.json()["error"] != "unknown_model", response.text

    _fuzz(_cases(api_schema, method, path, path_parameters={"model": MODEL}), reached_the_model)


def _ndjson_body(items: Any, junk: list[bytes], seed: int) -> bytes:
    """Generated events (or labels) as NDJSON lines, with junk lines (not JSON, not UTF-8, blank) mixed in."""
    if items is NOT_SET:
        items = []

    def line(x: Any) -> bytes:
        return x if isinstance(x, bytes) else json.dumps(x, ensure_ascii=False, default=repr).encode("utf-8", "surrogatepass")

    lines = [line(x) for x in (items if isinstance(items, list) else [items])]
    for i, j in enumerate(junk):
        lines.insert((seed + 7 * i) % (len(lines) + 1), j)
    return b"\n".join(lines)


@pytest.mark.parametrize("path", ["/v1/models/{model}/events", "/v1/models/{model}/labels"])
def test_fuzz_ndjson(api_schema: Any, path: str) -> None:
    """The NDJSON form of the ingest routes: one answer for the good lines, per-index rejections for the
    bad ones, never a 5xx, answers as documented."""
    op = api_schema[path]["POST"]
    cases = st.one_of(*(op.as_strategy(mode, path_parameters={"model": MODEL}) for mode in GenerationMode))

    @FUZZ
    @given(case=cases, junk=st.lists(st.binary(max_size=24), max_size=3), seed=st.integers(0, 100))
    def run(case: Any, junk: list[bytes], seed: int) -> None:
        case.body = _ndjson_body(case.body, junk, seed)
        case.media_type = "application/x-ndjson"
        response = case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
        _no_500(response, case)
        assert response.status_code in (200, 202, 422), response.text[:500]

    run()


def test_known_model_survives_the_fuzzing(client: TestClient, errors: ErrorLog) -> None:
    """After the fuzzers, the service still answers, `m` still has its reference, and the background
    threads logged no error (the fuzzers' events were acknowledged, so a failure there is silent)."""
    time.sleep(0.2)  # a few ticks: what was acknowledged has been folded
    assert errors.summary() == []
    assert client.get("/readyz").status_code == 200
    r = client.get(f"/v1/models/{MODEL}")
    assert r.status_code == 200
    assert r.json()["references"]["*"]["columns"] == 6  # four features, the score and the target


# -- hand-written bad input --------------------------------------------------------------------------------------
def ev(i: Any = "e1", **kw: Any) -> dict[str, Any]:
    d = {"id": i, "features": {"x0": 0.5, "x1": -1.0, "x2": 2.0, "cat": "a"}, "prediction": 0.4}
    d.update(kw)
    return d


def raw(obj: Any) -> bytes:
    return orjson.dumps(obj)


DEEP = b"[" * 5000 + b"]" * 5000
DEEP_OBJ = b'[{"id": "d", "features": {"x0": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}}]"
BIG = "x" * 100_000

# (name, method, path, body bytes, headers, expected status, substring of the error detail / answer)
BAD_INPUT = [
    ("id-is-a-float", "POST", "/events", raw([ev(1.5)]), JSON, 422, "id must be a string"),
    ("id-missing", "POST", "/events", raw([{"features": {"x0": 1.0}}]), JSON, 422, "required: a string id"),
    ("id-empty", "POST", "/events", raw([ev("")]), JSON, 422, "id must have 1 to 256"),
    ("features-a-string", "POST", "/events", raw([ev(features="x0=1")]), JSON, 422, "features must be an object"),
    ("features-missing", "POST", "/events", raw([{"id": "nf"}]), JSON, 422, "required: an object of feature values"),
    ("feature-a-list", "POST", "/events", raw([ev(features={"x0": [1, 2]})]), JSON, 422, "must be a scalar"),
    ("timestamp-a-bool", "POST", "/events", raw([ev(timestamp=True)]), JSON, 422, "timestamp must be"),
    ("timestamp-millis", "POST", "/events", raw([ev(timestamp=1.7e12)]), JSON, 422, "looks like milliseconds"),
    ("timestamp-garbage", "POST", "/events", raw([ev(timestamp="yesterday")]), JSON, 422, "not RFC 3339"),
    ("status-a-string", "POST", "/events", raw([ev(status="200")]), JSON, 422, "status must be"),
    ("latency-negative", "POST", "/events", raw([ev(latency_ms=-1)]), JSON, 422, "latency_ms"),
    ("prediction-a-list", "POST", "/events", raw([ev(prediction=[0.1])]), JSON, 422, "prediction must be"),
    ("probability-out-of-range", "POST", "/events", raw([ev(prediction={"a": 2.0})]), JSON, 422, "in [0, 1]"),
    ("unknown-field", "POST", "/events", raw([{**ev(), "featurs": {}}]), JSON, 422, "did you mean 'features'"),
    ("event-a-number", "POST", "/events", raw([42]), JSON, 422, "an event must be an object"),
    ("feature-100KB-string", "POST", "/events", raw([ev(features={"cat": BIG})]), JSON, 422, "longer than 4096"),
    ("nan-literal", "POST", "/events", b'[{"id": "n", "features": {"x0": NaN}}]', JSON, 400, "NaN"),
    ("infinity-literal", "POST", "/events", b'[{"id": "n", "features": {"x0": Infinity}}]', JSON, 400, "Infinity"),
    ("nan-label", "POST", "/labels", b'[{"id": "n", "label": NaN}]', JSON, 400, "NaN"),
    ("deep-5000-list", "POST", "/events", DEEP, JSON, 400, "depth"),
    ("deep-5000-object", "POST", "/events", DEEP_OBJ, JSON, 400, "depth"),
    ("deep-5000-ndjson-line", "POST", "/events", DEEP + b"\n" + raw(ev("deep-ok")), NDJSON, 200, "depth"),
    ("invalid-utf8", "POST", "/events", b'[{"id": "\xff\xfe", "features": {}}]', JSON, 400, "UTF-8"),
    ("invalid-utf8-ndjson", "POST", "/events", b'{"id": "\xc3\x28", "features": {}}', NDJSON, 422, "UTF-8"),
    ("empty-body", "POST", "/events", b"", JSON, 400, "empty"),
    ("scalar-number", "POST", "/events", b"42", JSON, 400, "got a number"),
    ("scalar-string", "POST", "/events", b'"hello"', JSON, 400, "got a string"),
    ("scalar-null", "POST", "/labels", b"null", JSON, 400, "got null"),
    ("not-json", "POST", "/events", b"id=1&x0=2", JSON, 400, "not valid JSON"),
    ("text-plain", "POST", "/events", raw([ev()]), {"content-type": "text/plain"}, 415, "text/plain"),
    ("form-encoded", "POST", "/labels", b"id=1&label=0", {"content-type": "application/x-www-form-urlencoded"}, 415,
     "application/x-www-form-urlencoded"),
    ("label-missing", "POST", "/labels", raw([{"id": "l1"}]), JSON, 422, "required: the true value"),
    ("label-an-object", "POST", "/labels", raw([{"id": "l1", "label": {"a": 1}}]), JSON, 422, "label must be"),
    ("label-id-missing", "POST", "/labels", raw([{"label": 1}]), JSON, 422, "the prediction's id"),
    ("resources-wrong-type", "POST", "/resources", raw({"instance": "h", "values": {"cpu_ratio": "high"}}), JSON, 422,
     "values.cpu_ratio"),
    ("resources-nan", "POST", "/resources", b'{"instance": "h", "values": {"cpu_ratio": NaN}}', JSON, 422, "finite"),
    ("resources-bad-name", "POST", "/resources", raw({"instance": "h", "values": {"CPU%": 1}}), JSON, 422, "snake_case"),
    ("resources-deep", "POST", "/resources", DEEP, JSON, 400, "error parsing the body"),
    ("put-model-deep", "PUT", "", DEEP, JSON, 400, "error parsing the body"),
    ("put-model-scalar", "PUT", "", b"42", JSON, 422, "body"),
    ("put-model-no-baseline", "PUT", "", raw({"config": {}}), JSON, 422, "baseline: required"),
    ("put-model-bad-baseline", "PUT", "", raw({"config": {}, "baseline": {"columns": 5}}), JSON, 422, "not an Argus baseline"),
    ("put-model-bad-window", "PUT", "", raw({"config": {"window": "soon"}, "baseline": {}}), JSON, 422, "not a duration"),
    ("put-model-other-name", "PUT", "", raw({"config": {"model": "other"}, "baseline": {}}), JSON, 422, "differs"),
    ("put-model-reference-path", "PUT", "", raw({"config": {"reference": "/etc/passwd"}, "baseline": {}}), JSON, 422,
     "goes in 'baseline'"),
    ("put-reference-bad", "PUT", "/versions/v2/reference", raw({"format": "nope"}), JSON, 422, "not an Argus baseline"),
    ("put-reference-a-list", "PUT", "/versions/v2/reference", raw([1, 2]), JSON, 422, "body"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "needle"),
                         [pytest.param(*c[1:], id=c[0]) for c in BAD_INPUT])
def test_bad_input(client: TestClient, method: str, path: str, body: bytes, headers: dict[str, str], status: int,
                   needle: str) -> None:
    r = client.request(method, f"/v1/models/{MODEL}{path}", content=body, headers=headers)
    assert r.status_code == status, r.text[:500]
    assert needle in r.text, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    if status >= 400:
        assert r.json()["error"] and r.json()["request_id"] == r.headers["x-request-id"]


def test_ndjson_bad_line_keeps_the_good_ones(client: TestClient) -> None:
    body = b"\n".join([raw(ev("nd-1")), b'{"id": "nd-2", "features": ', raw(ev("nd-3")), b"", b"[1, 2]",
                       raw({"features": {"x0": 1.0}}), raw(ev("nd-6"))]) + b"\n"
    r = client.post(f"/v1/models/{MODEL}/events", content=body, headers=NDJSON)
    assert r.status_code == 200, r.text
    ans = r.json()
    assert ans["accepted"] == 3
    # blank lines are skipped and do not count: indexes are those of the non-empty lines
    assert [(p["index"], p["field"]) for p in ans["rejected"]] == [(1, None), (3, None), (4, "id")]
    assert "line 2" in ans["rejected"][0]["error"] and "not valid JSON" in ans["rejected"][0]["error"]


def test_wrong_feature_type_is_kept_with_a_warning(client: TestClient) -> None:
    """A feature of the wrong type is what a monitor exists to see: kept, counted, warned about."""
    r = client.post(f"/v1/models/{MODEL}/events", json=[ev("wt-1", features={"x0": "abc", "x1": 1.0, "x2": 2.0,
                                                                             "cat": 3})])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    assert {w["field"] for w in r.json()["warnings"]} == {"features.x0"}


def test_mixed_batch_rejects_only_the_bad_event(client: TestClient) -> None:
    r = client.post(f"/v1/models/{MODEL}/events", json=[ev("mx-1"), ev(None), ev("mx-3")])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2
    assert r.json()["rejected"] == [{"index": 1, "field": "id", "error": "required: a string id (unique per model and "
                                                                          "version)"}]


def test_unknown_model_is_404(client: TestClient) -> None:
    r = client.post("/v1/models/nope/events", json=[ev()])
    assert r.status_code == 404 and r.json()["error"] == "unknown_model"
    assert "PUT /v1/models/nope" in r.json()["detail"]


@pytest.mark.parametrize(("query", "status", "needle"), [
    ("since=yesterday", 400, "since"),
    ("until=2026-13-01", 400, "until"),
    ("granularity=-5m", 400, "granularity"),
    ("granularity=7m", 400, "granularity: '7m' is not a window length of model 'm'; allowed: 5m, 1h, 1d"),
    ("version=v9", 404, "version 'v9': model 'm' has no events, windows or reference of that version"),
    ("limit=0", 422, "query.limit"),
    ("limit=ten", 422, "query.limit"),
    ("severity=P9", 422, "query.severity"),
])
def test_bad_query(client: TestClient, query: str, status: int, needle: str) -> None:
    for what in ("findings", "windows"):
        r = client.get(f"/v1/models/{MODEL}/{what}?{query}")
        if what == "windows" and "severity" in query:
            assert r.status_code == 200  # windows has no severity filter: an unknown parameter is ignored
            continue
        assert r.status_code == status, r.text
        assert needle in r.text, r.text


@pytest.fixture(scope="module")
def small_client(service: tuple[Monitor, FastAPI]) -> Iterator[TestClient]:
    """A second app on the same monitor with a 1 KiB body limit."""
    with TestClient(create_app(service[0], max_body=1024), raise_server_exceptions=False) as c:
        yield c


def test_body_over_the_limit_is_413(small_client: TestClient) -> None:
    body = raw([ev(f"big-{i}") for i in range(40)])
    assert len(body) > 1024
    r = small_client.post(f"/v1/models/{MODEL}/events", content=body, headers=JSON)
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "body_too_large" and "1024" in r.json()["detail"]
    assert r.headers["x-request-id"]
    r = small_client.post(f"/v1/models/{MODEL}/events", content=raw([ev("small")]), headers=JSON)
    assert r.status_code == 200, r.text


def test_streamed_body_over_the_limit_is_413(small_client: TestClient) -> None:
    """Without a Content-Length (chunked) the limit is enforced while reading."""
    def chunks() -> Iterator[bytes]:
        for i in range(40):
            yield raw(ev(f"chunk-{i}")) + b"\n"

    r = small_client.post(f"/v1/models/{MODEL}/events", content=chunks(), headers=NDJSON)
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "body_too_large"


def test_too_large_put_is_413(small_client: TestClient) -> None:
    """A registration may be 4 times the ingest limit (an LLM baseline of past events is one body): 1 KB here."""
    r = small_client.put(f"/v1/models/{MODEL}", content=raw({"config": {}, "baseline": {"pad": "x" * 5000}}),
                         headers=JSON)
    assert r.status_code == 413, r.text
    assert "exceeds the limit of 4096 bytes; send fewer past events" in r.json()["detail"]


def test_many_warnings_answer_matches_the_documented_shape(client: TestClient) -> None:
    """Over 1000 warnings the answer keeps the first 1000 and counts the rest: still an IngestAnswer."""
    from argusml.service.schemas import IngestAnswer

    r = client.post(f"/v1/models/{MODEL}/events", json=[ev(f"w-{i}", features={**ev()["features"], "x0": "oops"})
                                                        for i in range(1005)])
    assert r.status_code == 200, r.text[:500]
    assert len(r.json()["warnings"]) == 1000 and r.json()["warnings_omitted"] == 5
    IngestAnswer.model_validate(r.json())


def test_timestamp_before_1970_is_rejected_as_a_string_too(client: TestClient) -> None:
    """Epoch seconds before 1970 are rejected; the same instant as RFC 3339 must be too. Accepted, this one
    (year 0 in UTC) became the model's last event time and GET /status answered 500 until a newer event came."""
    r = client.post(f"/v1/models/{MODEL}/events", json=[ev("old-1", timestamp="0001-01-01T00:00:00+23:59")])
    try:
        status = client.get(f"/v1/models/{MODEL}/status")
        assert status.status_code == 200, status.text[:300]
        assert r.status_code == 422, r.text
        assert r.json()["rejected"][0]["field"] == "timestamp" and "before 1970" in r.json()["rejected"][0]["error"]
    finally:  # a newer event, so that a failure here does not leave /status broken for the tests after it
        client.post(f"/v1/models/{MODEL}/events", json=[ev("old-2")])


# (event time before T0, feature values), one request each, sent 10 s after their event time. T0 is on an
# hour boundary: the first request lands in one 5-minute window, the others in the next, both in the same
# hour, whose roll-up merges two profiles with means ~1e307 apart (a variance that overflows to inf). Integers
# only, floats only and mixed requests each take their own path to a float64 column.
T0 = 1_800_000_000.0
EXTREME = [(330, [-1e200, -1e200, 1e125, -1e125, 2.5]), (30, [2**63 - 1, -(2**63), 2**53 + 1, 0]),
           (30, [2**64 - 1, 1]), (30, [1e308, -1e308, 1.7e308, 5e-324])]
N_EXTREME = sum(len(v) for _, v in EXTREME)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning")
def test_extreme_numbers_do_not_break_windows(tmp_path: Any, reference: Reference, errors: ErrorLog) -> None:
    """Finite JSON numbers at the edges of float64 and int64 are accepted (200), so they must also be folded
    into windows, closed and rolled up without an error in the fold thread: there the failure is silent (the
    events were acknowledged) and, for a roll-up, repeats on every tick."""
    started = time.time()
    clock = [T0 - EXTREME[0][0]]
    running = start_monitor(tmp_path / "extreme", (ModelConfig(model="x", window="5m", lateness="1m"), reference),
                            settings=Settings(tick_every=0.02), clock=lambda: clock[0])
    monitor = running.monitor
    try:
        with error_log() as fold_errors, TestClient(create_app(monitor), raise_server_exceptions=False) as c:
            for j, (ago, values) in enumerate(EXTREME):
                clock[0] = T0 - ago + 10
                events = [ev(f"x-{j}-{i}", timestamp=T0 - ago, features={"x0": v, "x1": v, "x2": 1.0, "cat": "a"},
                             prediction=0.5) for i, v in enumerate(values)]
                r = c.post("/v1/models/x/events", json=events)
                assert r.status_code == 200 and r.json()["accepted"] == len(values), r.text
                time.sleep(0.1)
            r = c.post("/v1/models/x/labels", json=[{"id": "x-2-0", "label": 1e308}, {"id": "x-0-1", "label": -(2**63)}])
            assert r.status_code == 200, r.text
            time.sleep(0.2)
            clock[0] = T0 + 2 * 86400  # the 5m windows close, then their 1h and 1d roll-ups are due
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not c.get("/v1/models/x/windows?granularity=1d").json()["windows"]:
                time.sleep(0.05)
            time.sleep(0.2)
            assert fold_errors.summary() == []
            w = c.get("/v1/models/x/windows?granularity=5m").json()["windows"]
            assert [x["n_rows"] for x in w] == [N_EXTREME - len(EXTREME[0][1]), len(EXTREME[0][1])], w
            for g in ("1h", "1d"):
                w = c.get(f"/v1/models/x/windows?granularity={g}").json()["windows"]
                assert [x["n_rows"] for x in w] == [N_EXTREME], (g, w)
            for what in ("status", "findings"):
                assert c.get(f"/v1/models/x/{what}").status_code == 200
    finally:
        running.stop()
        # this test's monitor is not the module's: what it logged is reported above, not again at the end
        errors.records = [r for r in errors.records if r.created < started]


def test_no_background_errors_in_the_whole_module(errors: ErrorLog) -> None:
    time.sleep(0.2)
    assert errors.summary() == []
