"""argusml.Client against a real uvicorn server: batching, retries while the
collector is away, bounded buffer, wrappers for scikit-learn models and
FastAPI endpoints. The client must never raise into the model's code."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

import argusml
from argusml.monitor import Monitor, Settings
from argusml.schema.model_config import ModelConfig
from argusml.store import Store
from service_util import LiveServer, free_port, make_reference


@pytest.fixture
def monitor(tmp_path):
    store = Store(tmp_path / "d")
    mon = Monitor(store, Settings(tick_every=0.02))
    ref = make_reference(1000)
    mon.register(ModelConfig(model="m"), ref)
    mon.start()
    yield mon
    mon.stop()
    store.close()


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
        assert client.flush(10)
        client.close()
    assert client.stats.failed == 1 and client.stats.retries == 0 and client.stats.sent == 0


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
