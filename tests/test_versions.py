"""Versions: a new version's prediction is judged against the previous version's traffic until it has a
reference of its own, which the YAML (``versions:``), the CLI (``argus reference set``) or HTTP gives it."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from argusml.cli.main import app
from argusml.schema.model_config import ModelConfig
from argusml.service.app import create_app
from service_util import LiveServer, event, make_reference, monitor_in_process

pytestmark = pytest.mark.service

T0 = 1_800_000_000.0


def _scores(rng: np.random.Generator, n: int, a: float, b: float) -> list[float]:
    return [float(x) for x in rng.beta(a, b, n)]


@pytest.fixture
def svc(tmp_path):
    with monitor_in_process(tmp_path, ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"]),
                            make_reference()) as served:
        yield served


def test_a_new_version_is_compared_with_the_previous_versions_traffic(svc, tmp_path):
    """v1 scores Beta(2, 5) in production (its training reference was uniform); v2 arrives with the same
    scores, then v3 with other ones. v2 is quiet, v3 is flagged, and both verdicts say what they were judged
    against; features stay judged against the model's reference."""
    mon, client, clock = svc
    rng = np.random.default_rng(2)
    t = T0 + 300
    for k in range(2):  # v1: two windows
        evs = [event(f"a{k}-{i}", rng, timestamp=t + 300 * k + 5, version="v1") for i in range(600)]
        for e, s in zip(evs, _scores(rng, 600, 2, 5)):
            e["prediction"] = s
        clock.t = t + 300 * k + 6
        assert client.post("/v1/models/m/events", json=evs).status_code == 200
    clock.t = t + 600 + 61
    assert mon.wait_idle()
    for v, (a, b) in (("v2", (2, 5)), ("v3", (5, 2))):
        evs = [event(f"{v}-{i}", rng, timestamp=t + 900 + 5, version=v) for i in range(600)]
        for e, s in zip(evs, _scores(rng, 600, a, b)):
            e["prediction"] = s
        assert client.post("/v1/models/m/events", json=evs).status_code == 200
    clock.t = t + 1200 + 61
    assert mon.wait_idle()
    wins = {w["version"]: w for w in client.get("/v1/models/m/windows", params={
        "segment": "*", "granularity": "5m", "since": t + 900, "until": t + 1200}).json()["windows"]}
    assert wins["v2"]["verdict"]["prediction_baseline"]["source"] == "previous_version", wins["v2"]["verdict"]["prediction_baseline"]
    assert wins["v2"]["verdict"]["prediction_baseline"]["version"] == "v1"
    assert wins["v2"]["verdict"]["prediction_baseline"]["windows"] == 2
    assert wins["v2"]["verdict"]["prediction_baseline"]["rows"] == 1200
    assert "score" not in wins["v2"]["verdict"]["drifted_columns"]
    assert "score" in wins["v3"]["verdict"]["drifted_columns"]
    f = client.get("/v1/models/m/findings", params={"version": "v3", "linked": True}).json()["findings"]
    (pd_,) = [x for x in f if x["check"] == "prediction_drift" and x["segment"] == "*"]
    assert "against version v2's traffic" in pd_["message"] or "against version v1's traffic" in pd_["message"]
    assert not [x for x in f if x["check"] == "prediction_drift" and x["segment"] != "*"]
    # v1 itself: judged against the model's reference (its scores differ from training: that is for v1)
    v1 = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m", "version": "v1"}
                    ).json()["windows"]
    assert all("prediction_baseline" not in w["verdict"] or w["verdict"]["prediction_baseline"]["source"]
               == "model_reference" for w in v1)
    assert all("score" in w["verdict"]["drifted_columns"] for w in v1)
    # a reference of its own ends the stand-in: set from the CLI against the real server
    own = make_reference(seed=3)
    path = tmp_path / "v2.json"
    own.save(path)
    with LiveServer(mon) as srv:
        r = CliRunner().invoke(app, ["reference", "set", str(path), "--url", srv.url, "--model", "m",
                                     "--version", "v2"])
        assert r.exit_code == 0, r.output
        assert r.stdout.startswith(f"model m version v2: reference set from {path} (4000 rows, ")
        bad = CliRunner().invoke(app, ["reference", "set", str(tmp_path / "nope.json"), "--url", srv.url,
                                       "--model", "m", "--version", "v2"])
        assert bad.exit_code == 2 and "file not found" in bad.stderr and "Traceback" not in bad.output
        unknown = CliRunner().invoke(app, ["reference", "set", str(path), "--url", srv.url, "--model", "zz",
                                           "--version", "v2"])
        assert unknown.exit_code == 2 and "unknown model 'zz'" in unknown.stderr
    assert "v2" in mon.model("m").refs
    evs = [event(f"w-{i}", rng, timestamp=t + 1500 + 5, version="v2") for i in range(600)]
    assert client.post("/v1/models/m/events", json=evs).status_code == 200
    clock.t = t + 1800 + 61
    assert mon.wait_idle()
    (w,) = client.get("/v1/models/m/windows", params={"segment": "*", "granularity": "5m", "version": "v2",
                                                      "since": t + 1500, "until": t + 1800}).json()["windows"]
    assert "prediction_baseline" not in w["verdict"] and "score" not in w["verdict"]["drifted_columns"]


def test_versions_in_the_yaml_and_references_set_over_http_survive_a_restart(tmp_path):
    from argusml.schema import ConfigError
    from argusml.service.server import build
    from service_util import write_config

    base, v2 = make_reference(seed=0), make_reference(seed=4)
    d = write_config(tmp_path / "cfg", base, window="5m", versions={"v2": {"reference": "v2.json"}})
    v2.save(d / "v2.json")
    mon, _, _ = build(str(d), str(tmp_path / "data"))
    try:
        state = mon.model("m")
        assert set(state.refs) == {"", "v2"}
        assert state.ref("v2").fingerprint != state.ref("v1").fingerprint == state.ref("").fingerprint
        client = TestClient(create_app(mon))
        r = client.put("/v1/models/m/versions/v3/reference", json=make_reference(seed=5).to_dict())
        assert r.status_code == 200
        # a file path is the YAML's business: over HTTP the baseline travels in the body
        bad = client.put("/v1/models/m", json={"config": {"versions": {"v4": {"reference": "x.json"}}},
                                               "baseline": base.to_dict()})
        assert bad.status_code == 422 and "PUT /v1/models/{model}/versions/{version}/reference" in bad.text
    finally:
        mon.stop()
        mon.store.close()
    mon, _, _ = build(str(d), str(tmp_path / "data"))
    try:
        assert set(mon.model("m").refs) == {"", "v2", "v3"}
    finally:
        mon.stop()
        mon.store.close()
    (d / "v2.json").unlink()
    with pytest.raises(ConfigError, match=r"versions\.v2\.reference: baseline file not found"):
        build(str(d), str(tmp_path / "data2"))
