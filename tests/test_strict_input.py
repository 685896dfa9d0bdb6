"""Strict where the contract is clear, never a silent 200 (issue 14), over real HTTP (uvicorn).

What is Argus's own contract (the prediction, the label, the event time) is rejected per index when
broken, and the good events of the same batch are kept; the features are the data under watch, so an
event without some of them is kept, warned about per index and counted into the window's findings.
Query parameters that select nothing by mistake (a granularity the model does not have, a version it
never saw) answer 400/404 naming the allowed values instead of an empty list.

A real DuckDB store, the real app under uvicorn; only the clock is ours, so windows close without
waiting minutes.
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from argusml.monitor import Monitor
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from argusml.store import Store
from service_util import T0, Clock, LiveServer, event, reference_frame, start_monitor

pytestmark = pytest.mark.service

MINUTE = 60.0
KEPT = "; kept, they count as missing values in the window (send null for a value that is missing on purpose)"


def start(tmp_path: Any, ref: Reference, clock: Clock, **cfg: Any) -> tuple[Monitor, Store, LiveServer]:
    running = start_monitor(tmp_path / "data", (ModelConfig(model="m", **{"window": "1m", "lateness": "1m", **cfg}), ref),
                            clock=clock)
    return running.monitor, running.store, running.live()


@pytest.fixture
def svc(tmp_path, ref):
    """(monitor, server, clock): model 'm', a 1-minute window and 1 minute of lateness."""
    clock = Clock()
    mon, store, srv = start(tmp_path, ref, clock)
    yield mon, srv, clock
    srv.stop()
    mon.stop()
    store.close()


def post(srv: LiveServer, what: str, items: list[dict[str, Any]], model: str = "m") -> httpx.Response:
    return httpx.post(f"{srv.url}/v1/models/{model}/{what}", json=items, timeout=30)


def get(srv: LiveServer, what: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{srv.url}/v1/models/m/{what}", params=params, timeout=30)


def closed_rows(mon: Monitor, srv: LiveServer, clock: Clock, **params: Any) -> list[int]:
    """Row counts of the whole-traffic 1-minute windows, after the clock passed their end and lateness."""
    clock.advance(3 * MINUTE)
    assert mon.wait_idle()
    r = get(srv, "windows", segment="*", granularity="1m", closed=True, **params)
    assert r.status_code == 200, r.text
    return [w["n_rows"] for w in r.json()["windows"]]


def problems(r: httpx.Response, key: str = "rejected") -> list[tuple[int, str | None, str]]:
    return [(p["index"], p["field"], p["error"]) for p in r.json()[key]]


def scrape(srv: LiveServer, name: str, **labels: str) -> float:
    """One sample of the Prometheus text, read by the Prometheus text parser."""
    for family in text_string_to_metric_families(httpx.get(f"{srv.url}/metrics").text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    raise AssertionError(f"no sample {name}{labels}")


# -- the prediction ------------------------------------------------------------------------------------------------
def test_a_prediction_that_breaks_the_models_contract_is_rejected_per_index_and_the_rest_kept(svc):
    mon, srv, clock = svc
    rng = np.random.default_rng(1)
    events = [event(f"e{i}", rng, timestamp=T0 - 30) for i in range(10)]
    events[1]["prediction"] = "benign"  # a class name for a numeric score
    events[2]["prediction"] = {"0": 0.9, "1": 0.8}  # sums to 1.7
    events[3]["prediction"] = 17.5  # a probability model's score
    events[4]["prediction"] = -0.25
    events[5]["prediction"] = {"0": 0.25, "2": 0.75}  # class 2 is not one of the model's (0, 1)
    events[6]["prediction"] = {"0": 0.3, "1": 0.7}  # a distribution over the model's classes: kept
    events[7]["prediction"] = 1  # a hard 0/1 answer is a probability too
    events[8]["prediction"] = 1.0000000001  # float noise past 1: within the tolerance of 1e-9
    events[9]["prediction"] = {"0": 0.3334, "1": 0.6667}  # rounded by the client: sums to 1.0001, within 1e-3
    r = post(srv, "events", events)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 5 and "warnings" not in r.json()
    assert problems(r) == [
        (1, "prediction", "prediction 'benign' is a string, but 'score' is numeric in the reference: send the score, "
                          "a number in [0, 1], or {class: probability}"),
        (2, "prediction", "class probabilities must sum to 1 (within 0.001), these sum to 1.7: send one probability "
                          "per class (0, 1)"),
        (3, "prediction", "prediction 17.5 is outside [0, 1]: 'score' is the probability score of a binary "
                          "classifier (so says the reference)"),
        (4, "prediction", "prediction -0.25 is outside [0, 1]: 'score' is the probability score of a binary "
                          "classifier (so says the reference)"),
        (5, "prediction", "class '2' is not one of the model's classes; allowed: 0, 1"),
    ]
    # the good events of the batch are stored (with the positive class's probability as the score) and folded
    mon.flush_index()
    rows = dict(mon.store._rows("SELECT id, prediction FROM events WHERE model = 'm'"))
    assert rows == {"e0": events[0]["prediction"], "e6": 0.7, "e7": 1.0, "e8": 1.0000000001, "e9": 0.6667}
    assert closed_rows(mon, srv, clock) == [5]
    status = get(srv, "status").json()
    assert (status["events_total"], status["rejected_total"]) == (5, 5)
    assert scrape(srv, "argus_events_rejected_total", model="m", reason="bad_prediction") == 5.0
    # a batch of nothing but broken predictions is a 422 with every reason
    r = post(srv, "events", [{**event("x", rng), "prediction": "malignant"}])
    assert r.status_code == 422 and r.json()["error"] == "all_rejected" and problems(r)[0][:2] == (0, "prediction")


def test_a_regression_prediction_outside_the_references_range_is_drift_not_a_rejection(tmp_path):
    """Only a probability has bounds: a regression predicting 10x its reference's largest value is kept
    (the drift checks report it), while a string for its numeric prediction is still rejected."""
    df = reference_frame(2000, seed=3)
    df["y"] = df["score"] * 100 + np.random.default_rng(4).normal(size=len(df))
    df["pred"] = df["y"] + np.random.default_rng(5).normal(size=len(df))
    reg = Reference.from_frame(df.drop(columns=["score"]), prediction="pred", target="y")
    assert reg.performance is not None and reg.performance["task"] == "regression"
    clock = Clock()
    mon, store, srv = start(tmp_path, reg, clock)
    try:
        rng = np.random.default_rng(6)
        events = [{**event(f"r{i}", rng, timestamp=T0 - 30), "prediction": 1000.0 + i} for i in range(3)]
        events.append({**event("r3", rng, timestamp=T0 - 30), "prediction": "high"})
        r = post(srv, "events", events)
        assert r.status_code == 200 and r.json()["accepted"] == 3, r.text
        assert problems(r) == [(3, "prediction", "prediction 'high' is a string, but 'pred' is numeric in the "
                                                 "reference: send a number")]
        # any finite number is a label of a regression target; a class name is not
        r = post(srv, "labels", [{"id": "r0", "label": 1e6}, {"id": "r1", "label": -2.5}, {"id": "r2", "label": "a"}])
        assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
        assert problems(r) == [(2, "label", "label 'a' is a string, but the target 'y' is numeric")]
    finally:
        srv.stop()
        mon.stop()
        store.close()


# -- the label -------------------------------------------------------------------------------------------------------
def test_a_label_that_is_not_one_of_the_targets_classes_is_rejected_and_never_stored_as_a_correction(svc):
    mon, srv, _ = svc
    rng = np.random.default_rng(2)
    assert post(srv, "events", [event(f"p{i}", rng, timestamp=T0 - 30) for i in range(3)]).status_code == 200
    r = post(srv, "labels", [{"id": "p0", "label": 1}, {"id": "p1", "label": True}])
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text  # true is 1 for a 0/1 target
    r = post(srv, "labels", [{"id": "p0", "label": 7}, {"id": "p2", "label": 2.5}, {"id": "p0", "label": 0},
                             {"id": "p2", "label": 1.0}])
    assert r.status_code == 200, r.text
    assert problems(r) == [(0, "label", "label 7 is not a class of the target 'label'; allowed: 0, 1"),
                           (1, "label", "label 2.5 is not a class of the target 'label'; allowed: 0, 1")]
    # the valid ones: p0's label changes from 1 to 0 (a correction), p2 gets its first label
    assert {k: r.json()[k] for k in ("accepted", "corrected", "joined", "pending")} == {
        "accepted": 2, "corrected": 1, "joined": 2, "pending": 0}
    r = post(srv, "labels", [{"id": "p1", "label": 7}])
    assert r.status_code == 422 and problems(r)[0][0] == 0 and "allowed: 0, 1" in problems(r)[0][2]
    status = get(srv, "status").json()
    assert (status["labels_total"], status["label_corrections"]) == (4, 1)  # the 7s were never stored
    stored = mon.store._rows("SELECT id, label FROM labels WHERE model = 'm' ORDER BY lseq")
    assert stored == [("p0", "1"), ("p1", "1"), ("p0", "0"), ("p2", "1")]


# -- the features ----------------------------------------------------------------------------------------------------
def test_absent_features_are_kept_warned_per_index_and_found_in_the_window(svc):
    mon, srv, clock = svc
    rng = np.random.default_rng(3)
    events = [event(f"f{i}", rng, timestamp=T0 - 30) for i in range(400)]
    sparse = list(range(0, 400, 4))  # a quarter of the traffic carries only x0: 6 of the 7 features are absent
    for i in sparse:
        events[i]["features"] = {"x0": events[i]["features"]["x0"]}
    events[1]["features"]["x3"] = None  # null is how a value is missing on purpose: no warning
    del events[2]["features"]["cat"]
    r = post(srv, "events", events)
    assert r.status_code == 200 and r.json()["accepted"] == 400 and r.json()["rejected"] == [], r.text
    six = "6 of the reference's 7 features are absent: x1, x2, x3, x4, x5, cat" + KEPT
    assert problems(r, "warnings") == sorted([(i, "features", six) for i in sparse] + [
        (2, "features", "1 of the reference's 7 features are absent: cat" + KEPT)])
    assert closed_rows(mon, srv, clock) == [400]
    findings = get(srv, "findings", segment="*", granularity="1m").json()["findings"]
    missing = {f["column"]: f["evidence"]["count"] for f in findings if f["check"] == "missing_values"}
    assert missing == {"x1": 100, "x2": 100, "x3": 101, "x4": 100, "x5": 100, "cat": 101}  # x0 is never missing
    window = get(srv, "windows", segment="*", granularity="1m").json()["windows"][0]
    assert window["verdict"]["columns"]["x1"]["missing_ratio"] == 0.25


def test_absent_features_reject_the_event_when_the_model_rejects_schema_violations(tmp_path, ref):
    clock = Clock()
    mon, store, srv = start(tmp_path, ref, clock, on_schema_violation="reject")
    try:
        rng = np.random.default_rng(4)
        events = [event(f"s{i}", rng, timestamp=T0 - 30) for i in range(3)]
        del events[1]["features"]["x5"]
        r = post(srv, "events", events)
        assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
        assert problems(r) == [(1, "features", "1 of the reference's 7 features are absent: x5 "
                                               "(on_schema_violation: reject)")]
        assert "warnings" not in r.json()
    finally:
        srv.stop()
        mon.stop()
        store.close()


# -- the event time --------------------------------------------------------------------------------------------------
def test_an_event_older_than_the_lateness_is_rejected_saying_use_backfill_and_counted(svc):
    mon, srv, clock = svc
    rng = np.random.default_rng(5)
    # the clock is at T0: the window [T0 - 60, T0) is open until T0 + 60; [T0 - 120, T0 - 60) closed at T0
    events = [event("now", rng, timestamp=T0 - 10), event("2020", rng, timestamp="2020-01-01T00:00:00Z"),
              event("closed", rng, timestamp=T0 - 200), event("just-closed", rng, timestamp=T0 - 61)]
    r = post(srv, "events", events)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    live = "live events must be from 2027-01-15T07:59:00Z on"
    assert problems(r) == [
        (1, "timestamp", "timestamp 2020-01-01T00:00:00Z is older than the window's lateness: use backfill "
                         "(POST /v1/models/m/backfill). Its 1m window closed at 2020-01-01T00:02:00Z (1m after its "
                         f"end); {live}"),
        (2, "timestamp", "timestamp 2027-01-15T07:56:40Z is older than the window's lateness: use backfill "
                         "(POST /v1/models/m/backfill). Its 1m window closed at 2027-01-15T07:58:00Z (1m after its "
                         f"end); {live}"),
        (3, "timestamp", "timestamp 2027-01-15T07:58:59Z is older than the window's lateness: use backfill "
                         "(POST /v1/models/m/backfill). Its 1m window closed at 2027-01-15T08:00:00Z (1m after its "
                         f"end); {live}"),
    ]
    clock.advance(59.5)  # a late event joins its window until the window's end plus the lateness ...
    assert post(srv, "events", [event("late", rng, timestamp=T0 - 1)]).json()["accepted"] == 1
    clock.advance(0.5)  # ... and not from then on
    r = post(srv, "events", [event("too-late", rng, timestamp=T0 - 1)])
    assert r.status_code == 422 and problems(r)[0][2].endswith("live events must be from 2027-01-15T08:00:00Z on")
    assert closed_rows(mon, srv, clock) == [2]  # nothing refused is folded
    status = get(srv, "status").json()
    assert (status["too_late_total"], status["rejected_total"], status["events_total"]) == (4, 4, 2)
    assert scrape(srv, "argus_events_too_late_total", model="m") == 4.0
    assert scrape(srv, "argus_events_rejected_total", model="m", reason="too_late") == 4.0
    mon.flush_index()
    assert sorted(i for (i,) in mon.store._rows("SELECT id FROM events")) == ["late", "now"]  # none stored


# -- query mistakes --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["findings", "windows", "performance"])
def test_a_query_for_what_the_model_cannot_have_is_400_or_404_naming_the_allowed_values(svc, ref, what):
    _, srv, _ = svc
    rng = np.random.default_rng(6)
    post(srv, "events", [event("a", rng, timestamp=T0 - 30, version="v1"), event("b", rng, timestamp=T0 - 30)])
    allowed = "allowed: 1m, 1h, 1d"
    for g in ("7m", "5m", "2h"):  # 5m on a 1-minute model, 2h that it never rolls up to
        r = get(srv, what, granularity=g)
        assert r.status_code == 400, r.text
        assert r.json()["detail"] == f"granularity: '{g}' is not a window length of model 'm'; {allowed}"
    r = get(srv, what, granularity="soon")
    assert r.status_code == 400 and r.json()["detail"].startswith("granularity: not a duration: 'soon'"), r.text
    r = get(srv, what, version="v9")
    assert r.status_code == 404 and r.json()["error"] == "unknown_version", r.text
    assert r.json()["detail"] == ("version 'v9': model 'm' has no events, windows or reference of that version; its "
                                  "versions: unversioned, v1")
    for params in ({"granularity": "1m", "version": "v1"}, {"granularity": "60s"}, {"granularity": "1d"},
                   {"version": "unversioned"}, {"version": ""}):
        assert get(srv, what, **params).status_code == 200, params
    # a version with a reference of its own but no traffic yet is known: an empty answer is the truth there
    assert httpx.put(f"{srv.url}/v1/models/m/versions/v3/reference", json=ref.to_dict()).status_code == 200
    assert get(srv, what, version="v3").status_code == 200


def test_a_version_known_only_from_its_stored_windows_is_still_queryable(tmp_path, ref):
    """The prediction index forgets a version after ``retention.predictions``; its windows and findings are
    kept far longer (``retention.profiles``), and after a restart they must still be reachable by version."""
    clock = Clock()
    cfg = {"retention": {"predictions": "1d", "raw_events": "1d"}, "labels": {"horizon": "1d"}}
    mon, store, srv = start(tmp_path, ref, clock, **cfg)
    try:
        rng = np.random.default_rng(7)
        r = post(srv, "events", [event(f"o{i}", rng, timestamp=T0 - 30, version="old") for i in range(5)])
        assert r.status_code == 200, r.text
        assert closed_rows(mon, srv, clock, version="old") == [5]
        clock.advance(2 * 86400)
        assert mon.apply_retention(clock())["m"]["predictions"] == 5
    finally:
        srv.stop()
        mon.stop()
        store.close()
    mon, store, srv = start(tmp_path, ref, clock, **cfg)
    try:
        assert "old" not in mon.model("m").versions  # the index no longer has it
        r = get(srv, "windows", version="old", granularity="1m")
        assert r.status_code == 200 and [w["n_rows"] for w in r.json()["windows"] if w["segment"] == "*"] == [5]
        r = get(srv, "windows", version="older")
        assert r.status_code == 404 and r.json()["detail"].endswith("its versions: none yet"), r.text
    finally:
        srv.stop()
        mon.stop()
        store.close()


def test_granularities_follow_the_models_window(tmp_path, ref):
    """A model of 5-minute windows rolls up to 1h and 1d; one of 2-hour windows rolls up to the day only."""
    for window, allowed in (("5m", "5m, 1h, 1d"), ("2h", "2h, 1d")):
        clock = Clock()
        mon, store, srv = start(tmp_path / window, ref, clock, window=window)
        try:
            r = get(srv, "windows", granularity="1m")
            assert r.status_code == 400 and r.json()["detail"].endswith(f"allowed: {allowed}"), r.text
            assert get(srv, "windows", granularity=window).status_code == 200
        finally:
            srv.stop()
            mon.stop()
            store.close()



def test_labels_for_the_tokens_a_sample_hands_out_join_under_hashed_ids(running_monitor, ref, monkeypatch):
    """Under privacy.hash [id], `GET .../sample` hands out the stored tokens; a label sent back with
    `"id_hashed": true` joins as it is, one without would be hashed again. Only a token's shape may skip
    the hashing, so a raw identifier cannot be stored that way."""
    import time

    from argusml.monitor.privacy import TOKEN_CHARS

    monkeypatch.setenv("ARGUS_HMAC_KEY", "k" * 32)
    client = running_monitor((ModelConfig(model="m", privacy={"hash": ["id"]}), ref), data="d", clock=time.time).client
    rng = np.random.default_rng(0)
    assert client.post("/v1/models/m/events", json=[event(f"r{i}", rng) for i in range(20)]).status_code == 200
    s = client.get("/v1/models/m/sample", params={"size": 5}).json()
    assert s["ids"] == "hashed" and all(len(r["id"]) == TOKEN_CHARS for r in s["rows"])
    back = [{"id": r["id"], "label": 1, "id_hashed": True} for r in s["rows"]]
    r = client.post("/v1/models/m/labels", json=back).json()
    assert r["joined"] == 5 and r["pending"] == 0
    bad = client.post("/v1/models/m/labels", json=[{"id": "alice@example.com", "label": 1, "id_hashed": True},
                                                   {"id": "r1", "label": 0, "id_hashed": "yes"}])
    assert bad.status_code == 422
    assert [(p["index"], p["field"]) for p in bad.json()["rejected"]] == [(0, "id"), (1, "id_hashed")]
    assert "token Argus handed out" in bad.json()["rejected"][0]["error"]
    # the raw id, as the model server knows it, still joins (hashed on the way in)
    assert client.post("/v1/models/m/labels", json=[{"id": "r7", "label": 0}]).json()["joined"] == 1
