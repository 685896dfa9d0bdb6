"""An LLM model (``kind: llm``) end to end: events with an ``llm`` object over the real API, a baseline
learned from the first windows (surviving a restart), or from a file of past events; then drift on the
derived columns, and nothing of the texts in the store."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from argusml.monitor.llm import baseline_from_file, is_learning, learning_reference, plan_of
from argusml.schema import ConfigError
from argusml.schema.model_config import ModelConfig
from llm_traffic import llm_events
from service_util import T0, start_monitor

WINDOW = 60.0
START = (T0 // 3600) * 3600  # an hour boundary: window starts are whole minutes from here


def config(**kw: object) -> ModelConfig:
    return ModelConfig(model="bot", kind="llm", window="1m", lateness="10s",
                       llm={"baseline": {"windows": 2, "min_events": 100}, **kw.pop("llm", {})}, **kw)


def post(client, events: list[dict]) -> dict:
    r = client.post("/v1/models/bot/events", json=events)
    assert r.status_code == 200, r.text
    return r.json()


def test_learns_its_baseline_from_its_first_windows_then_finds_longer_answers(tmp_path: Path) -> None:
    cfg = config()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 5
    try:
        # two learning windows of 150 events each
        post(run.client, llm_events(300, START, 2 * WINDOW, seed=1))
        run.clock.t = START + 2 * WINDOW - 1
        assert run.monitor.wait_idle()
        status = run.client.get("/v1/models/bot/status").json()
        assert status["kind"] == "llm"
        assert status["baseline"] == {"state": "learning", "events": 300, "min_events": 100, "windows": 2,
                                      "since": START, "ends_at": START + 2 * WINDOW + 10}
        assert status["latest_windows"] == [] and status["open_windows"] == 0  # nothing folded while learning
        # the next window's events arrive before the learning ends: they are folded once it has
        post(run.client, llm_events(120, START + 2 * WINDOW, WINDOW, seed=2, first_id=1000))
        run.clock.t = START + 2 * WINDOW + 11
        assert run.monitor.wait_idle()
        status = run.client.get("/v1/models/bot/status").json()
        assert status["baseline"]["state"] == "learned" and status["baseline"]["events"] == 300
        assert status["open_window_rows"] == 120
        ref = run.client.get("/v1/models/bot/reference").json()
        assert ref["n_rows"] == 300
        assert ref["columns"]["refusal"]["spec"]["kind"] == "boolean"
        assert ref["columns"]["language"]["spec"]["kind"] == "categorical"
        # the same traffic stays quiet; answers twice as long are drift
        run.clock.t = START + 3 * WINDOW + 11
        assert run.monitor.wait_idle()
        post(run.client, llm_events(150, START + 3 * WINDOW, WINDOW, seed=3, first_id=2000, long=True))
        run.clock.t = START + 4 * WINDOW + 11
        assert run.monitor.wait_idle()
        windows = run.client.get("/v1/models/bot/windows").json()["windows"]
        by_start = {w["start"]: w for w in windows if w["segment"] == "*"}
        quiet = by_start[_iso(START + 2 * WINDOW)]
        assert quiet["verdict"]["drifted_columns"] == [], quiet["verdict"]
        shifted = by_start[_iso(START + 3 * WINDOW)]["verdict"]["drifted_columns"]
        assert {"response_chars", "response_words", "output_tokens"} <= set(shifted)
    finally:
        run.stop()


def test_a_restart_during_the_learning_keeps_what_was_seen(tmp_path: Path) -> None:
    cfg = config()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 5
    post(run.client, llm_events(80, START, WINDOW, seed=1))
    assert run.monitor.wait_idle()
    run.stop()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + WINDOW + 5
    try:
        assert run.monitor.wait_idle()
        assert run.client.get("/v1/models/bot/status").json()["baseline"]["events"] == 80
        post(run.client, llm_events(80, START + WINDOW, WINDOW, seed=2, first_id=100))
        run.clock.t = START + 2 * WINDOW + 11
        assert run.monitor.wait_idle()
        assert run.client.get("/v1/models/bot/status").json()["baseline"]["events"] == 160
    finally:
        run.stop()
    # and once learned, a restart does not learn again: the stored baseline is the model's
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    try:
        state = run.monitor.model("bot")
        assert not is_learning(state.refs[""].reference) and state.refs[""].reference.n_rows == 160
    finally:
        run.stop()


def test_too_few_events_keep_it_learning(tmp_path: Path) -> None:
    cfg = config()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 5
    try:
        post(run.client, llm_events(60, START, 2 * WINDOW, seed=1))
        run.clock.t = START + 10 * WINDOW
        assert run.monitor.wait_idle()
        b = run.client.get("/v1/models/bot/status").json()["baseline"]
        assert b["state"] == "learning" and b["events"] == 60 and b["ends_at"] is None
        post(run.client, llm_events(60, START + 10 * WINDOW, WINDOW, seed=2, first_id=100))
        run.clock.t = START + 11 * WINDOW + 11
        assert run.monitor.wait_idle()
        # the learning ran on to the window that brought the hundredth event
        assert run.client.get("/v1/models/bot/status").json()["baseline"]["events"] == 120
    finally:
        run.stop()


def test_rejections_name_the_llm_field_and_keep_the_rest(tmp_path: Path) -> None:
    cfg = config()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 5
    try:
        good = llm_events(2, START, 1, seed=1)
        bad = [
            {"id": "a", "timestamp": START, "llm": {"prompt": "hi", "input_tokens": "12"}},
            {"id": "b", "timestamp": START, "llm": {"promt": "hi"}},
            {"id": "c", "timestamp": START, "llm": {"context": [{"id": "d", "score": "high"}]}},
            {"id": "d", "timestamp": START, "llm": {"query_embedding": [0.1, None]}},
            {"id": "e", "timestamp": START, "features": {"x": 1}},
            {"id": "f", "timestamp": START, "llm": {"response": "ok"}, "features": {"refusal": 1}},
        ]
        body = post(run.client, [good[0], *bad, good[1]])
        assert body["accepted"] == 2
        assert [(r["index"], r["field"]) for r in body["rejected"]] == [
            (1, "llm.input_tokens"), (2, "llm.promt"), (3, "llm.context[0].score"), (4, "llm.query_embedding[1]"),
            (5, "llm"), (6, "features.refusal")]
        assert "did you mean 'prompt'" in body["rejected"][1]["error"]
    finally:
        run.stop()


def test_a_tabular_model_refuses_an_llm_object(tmp_path: Path) -> None:
    import numpy as np

    from service_util import event, make_reference

    run = start_monitor(tmp_path / "data", (ModelConfig(model="m"), make_reference(500)))
    try:
        e = event(1, np.random.default_rng(0), llm={"prompt": "hi"})
        r = run.client.post("/v1/models/m/events", json=[e])
        assert r.status_code == 422 and r.json()["rejected"][0]["field"] == "llm"
    finally:
        run.stop()


def test_no_text_is_stored_by_default(tmp_path: Path) -> None:
    cfg = config()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 5
    events = llm_events(50, START, WINDOW, seed=1, pii=True)
    try:
        post(run.client, events)
        assert run.monitor.wait_idle()
    finally:
        run.stop()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    for e in events[:10]:
        assert e["llm"]["prompt"].encode() not in stored
        assert e["llm"]["response"].encode() not in stored
        assert e["llm"]["context"][0]["text"].encode() not in stored
    assert b"example.com" not in stored
    assert e["llm"]["context"][0]["id"].encode() in stored  # ids and scores are kept


def test_masked_text_keeps_the_text_without_its_pii() -> None:
    plan = plan_of(config(llm={"text": "masked"}))
    feats, kept, _ = plan.read({"prompt": "Mail me at ann@example.com", "response": "Done."}, None)
    assert kept["prompt"] == "Mail me at [EMAIL]" and feats["prompt_pii"] is True and feats["response_pii"] is False


def test_baseline_from_a_file_of_past_events(tmp_path: Path) -> None:
    past = llm_events(200, START - 86400, 3600, seed=5)
    (tmp_path / "past.ndjson").write_bytes(b"\n".join(orjson.dumps(e) for e in past))
    (tmp_path / "bot.yaml").write_text("model: bot\nkind: llm\nllm:\n  baseline:\n    file: past.ndjson\n")
    from argusml.service.server import load_model_file

    cfg, ref = load_model_file(tmp_path / "bot.yaml")
    assert ref.n_rows == 200 and not is_learning(ref)
    # a broken line is named, with its field
    past[3]["llm"]["output_tokens"] = -1
    (tmp_path / "past.ndjson").write_bytes(b"\n".join(orjson.dumps(e) for e in past))
    with pytest.raises(ConfigError, match=r"past.ndjson: line 4: llm.output_tokens: .*non-negative integer"):
        baseline_from_file(str(tmp_path / "past.ndjson"), plan_of(cfg), 120.0)


def test_register_over_http_without_a_baseline_or_with_past_events(tmp_path: Path) -> None:
    run = start_monitor(tmp_path / "data")
    try:
        r = run.client.put("/v1/models/bot", json={"config": {"kind": "llm", "window": "1m"}})
        assert r.status_code == 200, r.text
        assert run.client.get("/v1/models/bot/status").json()["baseline"]["state"] == "learning"
        past = llm_events(150, START - 86400, 3600, seed=5)
        r = run.client.put("/v1/models/bot2", json={"config": {"kind": "llm"}, "baseline": past})
        assert r.status_code == 200, r.text
        assert run.client.get("/v1/models/bot2/status").json()["baseline"]["events"] == 150
        past[7]["llm"]["context"] = "doc-1"
        r = run.client.put("/v1/models/bot3", json={"config": {"kind": "llm"}, "baseline": past})
        assert r.status_code == 422 and "baseline[7].llm.context" in json.dumps(r.json())
        r = run.client.put("/v1/models/bot4", json={"config": {"kind": "tabular"}})
        assert r.status_code == 422 and "baseline: required" in json.dumps(r.json())
    finally:
        run.stop()


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="add 'kind: llm'"):
        ModelConfig(model="m", llm={"text": "raw"})
    with pytest.raises(ValueError, match="learns its baseline from its traffic"):
        ModelConfig(model="m", kind="llm", reference="base.json")
    with pytest.raises(ValueError, match="must outlast the baseline's learning"):
        ModelConfig(model="m", kind="llm", window="1d", retention={"raw_events": "7d"},
                    llm={"baseline": {"windows": 12}})


def _iso(t: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def test_embeddings_drift_in_windows_and_survive_a_restart(tmp_path: Path) -> None:
    cfg = config()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 5
    try:
        post(run.client, llm_events(300, START, 2 * WINDOW, seed=1, dim=16))
        post(run.client, llm_events(150, START + 2 * WINDOW, WINDOW, seed=2, first_id=1000, dim=16))
        run.clock.t = START + 2 * WINDOW + 11
        assert run.monitor.wait_idle()
        ref = run.monitor.model("bot").refs[""].reference
        assert {n: (e.n, e.dim) for n, e in ref.profile.embeddings.items()} == {
            "query_embedding": (300, 16), "response_embedding": (300, 16)}
        # half of the next window, then a crash-free restart: the open window's vectors come back
        post(run.client, llm_events(75, START + 3 * WINDOW, WINDOW / 2, seed=3, first_id=2000, dim=16, long=True))
        assert run.monitor.wait_idle()
    finally:
        run.stop()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 3 * WINDOW + 35
    try:
        post(run.client, llm_events(75, START + 3 * WINDOW + 30, WINDOW / 2, seed=4, first_id=3000, dim=16,
                                    long=True))
        run.clock.t = START + 4 * WINDOW + 11
        assert run.monitor.wait_idle()
        windows = run.client.get("/v1/models/bot/windows").json()["windows"]
        by_start = {w["start"]: w["verdict"] for w in windows if w["segment"] == "*"}
        assert "response_embedding" not in by_start[_iso(START + 2 * WINDOW)]["drifted_columns"]
        shifted = by_start[_iso(START + 3 * WINDOW)]
        assert "response_embedding" in shifted["drifted_columns"]
        assert "query_embedding" not in shifted["drifted_columns"]  # the questions did not change
        findings = run.client.get("/v1/models/bot/findings").json()["findings"]
        (f,) = [f for f in findings if f["check"] == "embedding_drift"]
        assert f["column"] == "response_embedding" and f["severity"] == "P1"
        assert "centroid" in f["evidence"]["drifted_by"] and f["evidence"]["n_cur"] == 150
        assert all(k.startswith(("e2", "e3")) for k in f["evidence"]["moved_most"])  # ids of the window's events
    finally:
        run.stop()


def sessions(n: int, start: float, span: float, seed: int, *, rephrase: float, fail: float, first: int) -> list[dict]:
    """``n`` two-turn sessions spread over [start, start + span): the second turn asks again in other words
    with probability ``rephrase``, else something new; its answer is a refusal with probability ``fail``."""
    import numpy as np

    from llm_traffic import llm_event

    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        t = start + span * k / n
        q = f"How do I change the delivery address for order {1000 + k} before it ships?"
        again = f"can i change the delivery address of order {1000 + k} before shipping"
        other = f"What payment cards do you accept for plan {k} upgrades and refunds?"
        sid = f"s{first + k}"
        out.append(llm_event(2 * (first + k), t, rng, prompt=q, session=sid))
        second = llm_event(2 * (first + k) + 1, t + 5, rng, prompt=again if rng.random() < rephrase else other,
                           session=sid, lost=bool(rng.random() < fail))
        out.append(second)
    return out


def test_rephrases_and_abandoned_sessions_are_windowed_and_checked(tmp_path: Path) -> None:
    cfg = config(llm={"session_timeout": "10s"})
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 1
    try:
        base = sessions(100, START, 2 * WINDOW - 15, seed=1, rephrase=0.1, fail=0.05, first=0)
        for k in range(0, len(base), 20):  # in time order, as they happen
            post(run.client, base[k:k + 20])
        post(run.client, sessions(50, START + 2 * WINDOW, WINDOW - 15, seed=2, rephrase=0.1, fail=0.05, first=1000))
        run.clock.t = START + 2 * WINDOW + 11
        assert run.monitor.wait_idle()
        ref = run.monitor.model("bot").refs[""].reference
        assert ref.profile.sessions.ended == 100  # every one was silent for 10 s by the learning's end
        assert ref.profile.sessions.abandoned == sum(1 for e in base[1::2] if e["llm"]["response"].startswith("I'm sorry"))
        rephrase = ref.profile.columns["rephrase"]
        assert rephrase.n_rows == 200 and rephrase.missing_ratio == 0.5  # first turns are not judged
        post(run.client, sessions(50, START + 3 * WINDOW, WINDOW - 15, seed=3, rephrase=0.7, fail=0.6, first=2000))
        run.clock.t = START + 4 * WINDOW + 11
        assert run.monitor.wait_idle()
        windows = run.client.get("/v1/models/bot/windows").json()["windows"]
        by_start = {w["start"]: w["verdict"] for w in windows if w["segment"] == "*"}
        assert "rephrase" not in by_start[_iso(START + 2 * WINDOW)]["drifted_columns"]
        assert "rephrase" in by_start[_iso(START + 3 * WINDOW)]["drifted_columns"]
        findings = run.client.get("/v1/models/bot/findings").json()["findings"]
        rise = [f for f in findings if f["check"] == "abandonment_rise"]
        assert len(rise) == 1 and rise[0]["window_start"] == _iso(START + 3 * WINDOW), rise
        assert rise[0]["evidence"]["current"]["ended"] == 50
    finally:
        run.stop()


def test_the_offline_judge_scores_a_sample_per_window_and_a_drop_is_a_finding(tmp_path: Path) -> None:
    cfg = config(llm={"judge": {"max_per_window": 120}})
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 5
    try:
        post(run.client, llm_events(300, START, 2 * WINDOW, seed=1))
        post(run.client, llm_events(150, START + 2 * WINDOW, WINDOW, seed=2, first_id=1000))
        run.clock.t = START + 2 * WINDOW + 11
        assert run.monitor.wait_idle()
        judge = run.monitor.model("bot").refs[""].reference.profile.judge
        # each learning window judged 120 of its 150 answers (the budget); the rest counted, not judged
        assert (judge.judge, judge.judged, judge.skipped_budget) == ("lexical-v1", 240, 60)
        assert judge.passes == 240  # the assistant quotes its documents: grounded, relevant
        post(run.client, llm_events(150, START + 3 * WINDOW, WINDOW, seed=3, first_id=2000, lost=True))
        run.clock.t = START + 4 * WINDOW + 11
        assert run.monitor.wait_idle()
        windows = run.client.get("/v1/models/bot/windows").json()["windows"]
        by_start = {w["start"]: w["verdict"] for w in windows if w["segment"] == "*"}
        quiet = by_start[_iso(START + 2 * WINDOW)]["llm"]["judge"]
        assert quiet["status"] == "stable" and quiet["judged"] == 120 and quiet["pass_rate"]["value"] == 1.0
        bad = by_start[_iso(START + 3 * WINDOW)]["llm"]["judge"]
        assert bad["status"] == "dropped" and bad["pass_rate"]["value"] == 0.0
        (f,) = [f for f in run.client.get("/v1/models/bot/findings").json()["findings"] if f["check"] == "judge_drop"]
        assert f["severity"] == "P2" and "pass rate 100% -> 0%" in f["message"]
    finally:
        run.stop()


def test_a_judge_of_your_own_is_imported_by_its_path_and_one_that_cannot_be_is_a_config_error(tmp_path: Path) -> None:
    from argusml.monitor.state import ModelState

    cfg = config(llm={"judge": {"function": "json:no_such_judge"}})
    with pytest.raises(ConfigError, match="module 'json' has no 'no_such_judge'"):
        ModelState(cfg, learning_reference(plan_of(cfg)))
    cfg = config(llm={"judge": {"function": "math:isfinite"}})  # a function of the llm object: raises on a dict
    state = ModelState(cfg, learning_reference(plan_of(cfg)))
    assert state.judge.name == "math:isfinite" and plan_of(cfg).judge_rate == 0.05


def test_every_page_answers_while_the_model_learns(tmp_path: Path) -> None:
    """A learning model has its columns and no profile yet: the API and the dashboard say so, never a 500."""
    from fastapi.testclient import TestClient

    from argusml.service.app import create_app

    cfg = config()
    run = start_monitor(tmp_path / "data", (cfg, learning_reference(plan_of(cfg))))
    run.clock.t = START + 5
    try:
        client = TestClient(create_app(run.monitor), raise_server_exceptions=False)
        post(client, llm_events(50, START, WINDOW, seed=1))
        assert run.monitor.wait_idle()
        paths = ["/v1/models", "/v1/models/bot", "/v1/models/bot/features", "/v1/models/bot/features/refusal",
                 "/v1/models/bot/timeseries", "/v1/models/bot/status", "/metrics", "/v1/models/bot/advice",
                 "/v1/models/bot/digest", "/v1/models/bot/costs", "/v1/models/bot/windows", "/", "/models/bot",
                 "/v1/models/bot/performance", "/v1/models/bot/findings"]
        assert {p: client.get(p).status_code for p in paths} == dict.fromkeys(paths, 200)
        r = client.get("/v1/models/bot/reference")
        assert r.status_code == 409 and "50 of at least 100 events" in r.json()["detail"]
    finally:
        run.stop()


def test_config_validate_says_an_llm_model_learns_and_names_a_judge_it_cannot_import(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from argusml.cli.main import app

    (tmp_path / "bot.yaml").write_text("model: bot\nkind: llm\nllm:\n  baseline: {windows: 6, min_events: 50}\n")
    r = CliRunner().invoke(app, ["config", "validate", str(tmp_path / "bot.yaml")])
    assert r.exit_code == 0 and "an LLM model: its baseline is learned from its first 6 windows with events, at " \
                                "least 50 events; 21 derived columns" in r.output, r.output
    (tmp_path / "bot.yaml").write_text("model: bot\nkind: llm\nllm:\n  judge: {function: 'nosuch.mod:judge'}\n")
    r = CliRunner().invoke(app, ["config", "validate", str(tmp_path / "bot.yaml")])
    assert r.exit_code == 2 and "llm.judge.function 'nosuch.mod:judge': cannot import 'nosuch.mod'" in r.output
