"""Validation in worker processes answers exactly what validation in the server process answers."""

from __future__ import annotations

import time

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient

from argusml.monitor import Monitor, Settings
from argusml.schema.model_config import ModelConfig
from argusml.service.app import OFFLOAD_MIN_BYTES, create_app
from argusml.service.offload import ValidatorPool, decode_and_validate
from service_util import event, make_reference, start_monitor

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def pool():
    p = ValidatorPool(1)
    yield p
    p.close()


def start(tmp_path, ref, name: str) -> Monitor:
    return start_monitor(tmp_path / name, (ModelConfig(model="m", window="1h", segments=["cat"]), ref),
                         settings=Settings(tick_every=0.02), clock=time.time).monitor


def bodies(now: float) -> list[tuple[bytes, str]]:
    rng = np.random.default_rng(5)
    evs = [event(i, rng, timestamp=now - 5, latency_ms=3.5, segment={"region": "eu"}) for i in range(40)]
    evs[3]["features"]["x0"] = "not a number"  # a type error: kept, warned about
    evs[4]["id"] = None  # rejected
    evs[5]["timestamp"] = "yesterday"  # rejected
    evs[6]["features"]["brand_new"] = 1.5  # an unknown feature: kept, an extra column
    evs[7]["features"]["x1"] = [1, 2]  # not a scalar: rejected
    evs[8]["prediction"] = {"0": 0.2, "1": 0.8}
    evs[9]["status"] = 503
    nd = b"\n".join([orjson.dumps(e) for e in evs[:5]] + [b"{not json"] + [orjson.dumps(e) for e in evs[10:]])
    return [(orjson.dumps(evs), "application/json"), (nd, "application/x-ndjson"),
            (b"[1, {", "application/json"), (orjson.dumps([{"id": None}] * 3), "application/json")]


def answers(mon: Monitor, pool: ValidatorPool | None, sent: list[tuple[bytes, str]]) -> list[tuple[int, dict]]:
    out = []
    with TestClient(create_app(mon, pool=pool)) as client:
        for body, ctype in sent:
            r = client.post("/v1/models/m/events", content=body, headers={"content-type": ctype})
            d = r.json()
            d.pop("request_id", None)
            out.append((r.status_code, d))
    mon.wait_idle()
    return out


def test_worker_validation_equals_server_validation(tmp_path, ref, pool):
    local, offloaded = start(tmp_path, ref, "local"), start(tmp_path, ref, "pool")
    try:
        sent = bodies(time.time())
        got_local, got_pool = answers(local, None, sent), answers(offloaded, pool, sent)
        assert got_pool == got_local
        assert [s for s, _ in got_pool] == [200, 200, 400, 422]
        assert got_pool[0][1]["accepted"] == 37 and len(got_pool[0][1]["warnings"]) == 1
        assert (pool.validated, pool.fallbacks, pool.alive) == (2, 0, 1)
        raw = [[(r[1], r[2], r[3], r[5]) for c in m.store.raw_after("m", 0) for r in c] for m in (local, offloaded)]
        assert raw[0] == raw[1] and len(raw[0]) == 37
        nd = got_pool[1][1]  # the NDJSON body repeats ids already stored, has an id-less event and a broken line
        assert (nd["accepted"], nd["duplicates"], [p["index"] for p in nd["rejected"]]) == (0, 34, [4, 5])
        assert min(len(b) for b, _ in sent[:2]) >= OFFLOAD_MIN_BYTES  # both went to the worker
        wins = []
        for m in (local, offloaded):
            for w in m.models["m"].folder.open.values():
                w.flush()
            wins.append({k[1]: (w.n_rows, w.extra, w.profile.to_dict()) for k, w in m.models["m"].folder.open.items()})
        assert wins[0] == wins[1] and wins[1]["*"][0] == 37 and "brand_new" in wins[1]["*"][1]
    finally:
        for m in (local, offloaded):
            m.stop()
            m.store.close()


def test_a_dead_worker_fails_over_to_the_server_process(tmp_path, ref):
    p = ValidatorPool(1)
    mon = start(tmp_path, ref, "dead")
    try:
        with TestClient(create_app(mon, pool=p)) as client:
            rng = np.random.default_rng(6)
            ok = client.post("/v1/models/m/events", json=[event(f"a{i}", rng) for i in range(60)])
            assert ok.status_code == 200 and p.alive == 1
            p.workers[0].proc.kill()
            p.workers[0].proc.join(5)
            r = client.post("/v1/models/m/events", json=[event(f"b{i}", rng) for i in range(60)])
            assert r.status_code == 200 and r.json()["accepted"] == 60
            assert p.alive == 0
        assert mon.store.raw_events("m") == 120
    finally:
        p.close()
        mon.stop()
        mon.store.close()


def test_events_validated_against_a_replaced_reference_are_not_accepted(tmp_path, ref):
    mon = start(tmp_path, ref, "gen")
    try:
        plan = mon.models["m"].validation_plan()
        v = decode_and_validate(plan, orjson.dumps([event(1, np.random.default_rng(7))]), False, time.time())
        mon.set_version_reference("m", "v2", make_reference(seed=3))
        with pytest.raises(ValueError, match="replaced reference"):
            mon.accept_events("m", v)
    finally:
        mon.stop()
        mon.store.close()


def test_an_llm_model_folds_the_same_from_a_worker(tmp_path):
    """A worker hands back an LLM event's kept object and derived columns: the owner folds its embeddings and
    judges its sessions from them, exactly as when it validated the request itself. (A pool of its own: a
    pool's connections belong to the event loop of the app that first used it.)"""
    from argusml.monitor.llm import learning_reference, plan_of
    from argusml.profile import Reference
    from llm_traffic import llm_events

    now = time.time()
    past = llm_events(200, now - 7200, 3600, seed=1, dim=8)
    cfg = ModelConfig(model="m", kind="llm", window="1h")
    evs = llm_events(60, now - 30, 20, seed=2, dim=8, session="s1")
    body = orjson.dumps(evs)
    assert len(body) >= OFFLOAD_MIN_BYTES
    wins = []
    pool = ValidatorPool(1)
    for name, p in (("local", None), ("pool", pool)):
        from argusml.monitor.llm import baseline_from_events

        ref: Reference = baseline_from_events(past, plan_of(cfg), cfg.lateness) if past else learning_reference(
            plan_of(cfg))
        mon = start_monitor(tmp_path / name, (cfg, ref), settings=Settings(tick_every=0.02), clock=time.time).monitor
        try:
            with TestClient(create_app(mon, pool=p)) as client:
                assert client.post("/v1/models/m/events", content=body,
                                   headers={"content-type": "application/json"}).json()["accepted"] == 60
            mon.wait_idle()
            (w,) = [w for w in mon.models["m"].folder.open.values()]
            w.flush()
            wins.append(w.profile.to_dict())
        finally:
            mon.stop()
            mon.store.close()
    pool.close()
    assert wins[0] == wins[1]
    assert wins[1]["embeddings"]["query_embedding"]["n"] == 60
    assert wins[1]["columns"]["rephrase"]["nulls"] == 1  # one session: every turn but the first is judged
    assert pool.validated == 1
