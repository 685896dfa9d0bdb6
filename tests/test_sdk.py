"""argusml.Client against a real uvicorn server: batching, retries while the
collector is away, bounded buffer, wrappers for scikit-learn models and
FastAPI endpoints. The client must never raise into the model's code."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

import argusml
from argusml.monitor import Settings
from argusml.schema.model_config import AuthConfig, ModelConfig, TokenEntry
from argusml.service.auth import Authenticator, digest
from service_util import LiveServer, free_port, make_reference

pytestmark = pytest.mark.service


@pytest.fixture
def monitor(running_monitor):
    return running_monitor((ModelConfig(model="m"), make_reference(1000)), data="d", settings=Settings(tick_every=0.02),
                           clock=time.time).monitor


class Features(BaseModel):
    x0: float
    cat: str


def features(rng: np.random.Generator) -> dict[str, float | str]:
    return {**{f"x{j}": float(rng.normal()) for j in range(6)}, "cat": "a"}


def test_log_batches_and_delivers_everything(monitor):
    rng = np.random.default_rng(0)
    with LiveServer(monitor) as srv:
        client = argusml.Client(srv.url, model="m", batch_size=250, flush_interval=0.05)
        ids = [client.log(features=features(rng), prediction=float(rng.random()), latency_ms=3.0) for _ in range(2000)]
        client.log_label(ids[0], 1)
        assert client.flush(20)
        client.close()
    assert client.stats.sent == 2000 and client.stats.dropped == 0 and client.stats.failed == 0
    assert client.stats.batches >= 8  # batched, not one request per event
    assert monitor.store.raw_events("m") == 2000  # durable once acknowledged
    assert monitor.status("m")["labels_joined"] == 1
    assert len(set(ids)) == 2000  # generated ids are unique


def test_retries_until_the_collector_comes_back(monitor):
    port = free_port()
    client = argusml.Client(f"http://127.0.0.1:{port}", model="m", flush_interval=0.02, max_backoff=0.2)
    rng = np.random.default_rng(1)
    for i in range(300):
        client.log(id=f"r{i}", features=features(rng), prediction=0.5)
    time.sleep(0.5)  # nobody listens yet: the client keeps the events and retries
    assert client.stats.sent == 0 and client.stats.retries > 0
    with LiveServer(monitor, port=port):
        assert client.flush(20)
        client.close()
    assert client.stats.sent == 300 and client.stats.failed == 0
    assert monitor.store.raw_events("m") == 300  # durable once acknowledged


def test_bounded_buffer_counts_drops_and_never_raises(monitor):
    client = argusml.Client("http://127.0.0.1:9", model="m", max_buffer=100, flush_interval=60)
    for i in range(150):
        assert client.log(id=str(i), features={"x0": object()}) is not None or i >= 100
    assert client.stats.dropped == 50
    client.log(id="bad", features=None, prediction=object())  # not serialisable: counted later, never raised
    client._closed = True  # do not wait for an unreachable server at exit
    assert client.log(id="after-close") is None and client.stats.dropped == 52


def test_client_errors_are_not_retried_and_are_counted(monitor):
    with LiveServer(monitor) as srv:
        client = argusml.Client(srv.url, model="nope", flush_interval=0.02)
        client.log(id="1", features={"x0": 1.0})
        assert client.flush(10) is False  # answered, but not delivered: the caller must hear of it
        assert client.close() is False
    assert client.stats.failed == 1 and client.stats.retries == 0 and client.stats.sent == 0
    assert_adds_up(client.stats)


def assert_adds_up(stats: argusml.Stats) -> None:
    """Every queued event or label ended in exactly one outcome."""
    s = stats
    assert s.queued == s.accepted + s.duplicates + s.rejected + s.failed + s.dropped_at_close, s.as_dict()
    assert s.accepted == s.sent + s.labels_sent, s.as_dict()


class Records(logging.Handler):
    """The SDK's log records, captured at its own logger (the service's log setup may stop propagation)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> Records:
        self.logger = logging.getLogger("argus.sdk")
        self.level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)

    def at(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]


def test_a_wrong_token_fails_every_batch_is_logged_once_and_flush_says_so(monitor):
    auth = Authenticator(AuthConfig(tokens=[
        TokenEntry(name="ingest", sha256=digest("argus_right"), scopes=["write"]),
        TokenEntry(name="grafana", sha256=digest("argus_reader"), scopes=["read"])]))
    rng = np.random.default_rng(3)
    with LiveServer(monitor, auth=auth) as srv, Records() as logged:
        wrong = argusml.Client(srv.url, model="m", token="argus_wrong", batch_size=10, flush_interval=0.02)
        for i in range(30):
            wrong.log(id=f"w{i}", features=features(rng), prediction=0.5)
        wrong.log_label("w0", 1)
        assert wrong.flush(10) is False
        assert wrong.close() is False
        reader = argusml.Client(srv.url, model="m", token="argus_reader", flush_interval=0.02)
        for i in range(5):
            reader.log(id=f"r{i}", features=features(rng), prediction=0.5)
        assert reader.close() is False
        right = argusml.Client(srv.url, model="m", token="argus_right", flush_interval=0.02)
        for i in range(5):
            right.log(id=f"ok{i}", features=features(rng), prediction=0.5)
        assert right.flush(10) is True and right.close() is True
    s = wrong.stats
    assert (s.queued, s.failed, s.accepted, s.rejected, s.retries, s.batches) == (31, 31, 0, 0, 0, 0)
    assert (reader.stats.failed, right.stats.sent, right.stats.failed) == (5, 5, 0)
    for c in (wrong, reader, right):
        assert_adds_up(c.stats)
    errors = logged.at(logging.ERROR)
    assert len([e for e in errors if "answered 401" in e]) == 1, errors  # 4 batches (3 + labels), one line
    assert "unauthorized: unknown token" in next(e for e in errors if "answered 401" in e)
    assert len([e for e in errors if "answered 403" in e]) == 1
    assert "forbidden: token 'grafana' lacks the 'write' scope" in next(e for e in errors if "answered 403" in e)
    assert monitor.store.raw_events("m") == 5  # only the right token's events were stored


def test_rejected_events_are_counted_by_index_and_flush_reports_each_round(monitor):
    rng = np.random.default_rng(4)
    with LiveServer(monitor) as srv, Records() as logged:
        client = argusml.Client(srv.url, model="m", flush_interval=0.02)
        for i in range(10):
            client.log(id=f"g{i}", features=features(rng), prediction=0.5)
        client.log(id="nested", features={**features(rng), "x0": {"a": 1}}, prediction=0.5)
        client.log(id="long", features={**features(rng), "cat": "x" * 5000}, prediction=0.5)
        client.log(id="g0", features=features(rng), prediction=0.5)  # sent before: a duplicate, delivered
        assert client.flush(10) is False
        for i in range(10, 15):
            client.log(id=f"g{i}", features=features(rng), prediction=0.5)
        assert client.flush(10) is True  # this round was all delivered
        assert client.close() is False  # over the client's life, two were not
    s = client.stats
    assert (s.queued, s.accepted, s.sent, s.rejected, s.duplicates, s.failed) == (18, 15, 15, 2, 1, 0)
    assert_adds_up(s)
    assert any("2 of 13 rejected, e.g. #10 features.x0" in w for w in logged.at(logging.WARNING)), logged.records
    assert monitor.store.raw_events("m") == 15


def test_close_with_the_collector_down_counts_what_it_could_not_deliver():
    client = argusml.Client(f"http://127.0.0.1:{free_port()}", model="m", flush_interval=0.02, max_backoff=0.1)
    rng = np.random.default_rng(5)
    for i in range(40):
        client.log(id=f"c{i}", features=features(rng), prediction=0.5)
    client.log_label("c0", 1)
    assert client.flush(0.3) is False  # nobody listens: still pending, retried
    started = time.monotonic()
    assert client.close(timeout=0.5) is False
    assert time.monotonic() - started < 4.0  # a retry's backoff does not hold the model server's exit
    s = client.stats
    assert (s.queued, s.dropped_at_close, s.accepted, s.failed) == (41, 41, 0, 0) and s.retries > 0
    assert_adds_up(s)
    assert client.close() is False  # a second close answers the same
    assert client.log(id="late") is None and client.stats.dropped == 1


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_wrap_scikit_learn_model_logs_rows_probabilities_and_errors(monitor):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] > 0).astype(int)
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(6)]).assign(cat="a")
    model = LogisticRegression().fit(frame.drop(columns="cat"), y)
    with LiveServer(monitor) as srv:
        client = argusml.Client(srv.url, model="m", flush_interval=0.02)
        wrapped = client.wrap_model(model, version="v3")
        proba = wrapped.predict_proba(frame.drop(columns="cat").head(20))
        assert np.allclose(proba, model.predict_proba(frame.drop(columns="cat").head(20)))  # the answer is untouched
        assert len(wrapped.last_ids) == 20
        assert wrapped.coef_.shape == (1, 6)  # attributes pass through
        with pytest.raises(ValueError):
            wrapped.predict(np.ones((2, 3)))  # the model's own error reaches the caller...
        assert client.flush(10)
        client.close()
    monitor.flush_index()
    rows = monitor.store._rows("SELECT version, prediction, prediction_label FROM events ORDER BY seq")
    assert len(rows) == 22  # ... and is logged too (status 500)
    assert rows[0][0] == "v3" and rows[0][1] == pytest.approx(proba[0, 1]) and rows[0][2] in ("0", "1")
    assert monitor.models["m"].metrics.versions["v3"].requests == {"200": 20, "500": 2}


def test_fastapi_endpoint_decorator(monitor):
    with LiveServer(monitor) as srv:
        client = argusml.Client(srv.url, model="m", flush_interval=0.02)
        model_app = FastAPI()

        @model_app.post("/predict")
        @client.endpoint(prediction=lambda out: out["score"], version="v1")
        async def predict(req: Features) -> dict[str, float]:
            if req.x0 > 100:
                raise ValueError("out of range")
            return {"score": 0.25 + req.x0 / 10}

        api = TestClient(model_app, raise_server_exceptions=False)
        assert api.post("/predict", json={"x0": 1.0, "cat": "b"}).json() == {"score": 0.35}
        assert api.post("/predict", json={"x0": 1000.0, "cat": "b"}).status_code == 500
        assert api.post("/predict", json={"x0": "oops"}).status_code == 422  # FastAPI still validates: signature kept
        assert client.flush(10)
        client.close()
    docs = [row[5] for chunk in monitor.store.raw_after("m", 0) for row in chunk]
    assert len(docs) == 2
    assert docs[0]["features"] == {"x0": 1.0, "cat": "b"} and docs[0]["prediction"] == 0.35 and docs[0]["status"] == 200
    assert docs[1]["status"] == 500 and "prediction" not in docs[1]
    assert docs[0]["latency_ms"] >= 0


@pytest.mark.slow
def test_buffer_is_flushed_when_the_process_exits(monitor, tmp_path):
    import subprocess
    import sys

    script = tmp_path / "model_server.py"
    script.write_text(
        "import sys, argusml\n"
        "c = argusml.Client(sys.argv[1], model='m', flush_interval=60)\n"  # nothing is sent before exit
        "for i in range(120):\n"
        "    c.log(id=f'exit-{i}', features={'x0': float(i), 'cat': 'a'}, prediction=0.5)\n")
    with LiveServer(monitor) as srv:
        r = subprocess.run([sys.executable, str(script), srv.url], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        monitor.wait_idle()
    assert monitor.store.raw_events("m") == 120  # durable once acknowledged


def test_resource_reports_reach_the_metrics(monitor):
    with LiveServer(monitor) as srv:
        client = argusml.Client(srv.url, model="m", report_resources=0.05, instance="replica-1", flush_interval=0.02)
        deadline = time.monotonic() + 10
        while not monitor.models["m"].metrics.resources and time.monotonic() < deadline:
            time.sleep(0.05)
        client.close()
    res = monitor.models["m"].metrics.resources
    assert 0.0 <= res[("replica-1", "cpu_ratio")] <= 1.0
    assert res[("replica-1", "memory_used_bytes")] > 0 and res[("replica-1", "process_resident_memory_bytes")] > 1e6
