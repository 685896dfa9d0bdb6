"""Labels and business outcomes in the service: their types checked against the reference's target,
repeats counted and not stored twice, corrections stored beside what they correct (and counting from
then on), outcomes joined to predictions like labels. A real DuckDB store and the real app."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from service_util import T0, event, reference_frame

pytestmark = pytest.mark.service


@pytest.fixture
def svc(running_monitor, ref):
    running = running_monitor((ModelConfig(model="m", window="5m", lateness="1m", segments=["cat"]), ref),
                        (ModelConfig(model="notarget"), Reference.from_frame(reference_frame(), prediction="score")))
    return running.monitor, running.client, running.clock


def labels(client: TestClient, items: list, model: str = "m"):
    return client.post(f"/v1/models/{model}/labels", json=items)


def test_a_label_of_the_wrong_type_is_rejected_with_its_index_and_the_rest_kept(svc):
    mon, client, _ = svc
    rng = np.random.default_rng(1)
    client.post("/v1/models/m/events", json=[event(f"p{i}", rng, timestamp=T0 - 50) for i in range(3)])
    r = labels(client, [{"id": "p0", "label": 1}, {"id": "p1", "label": "yes"}, {"id": "p2", "label": True}])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["joined"]) == (2, 2)
    assert body["rejected"] == [{"index": 1, "field": "label",
                                 "error": "label 'yes' is a string, but the target 'label' is numeric"}]
    assert mon.store._rows("SELECT id, label FROM labels ORDER BY id") == [("p0", "1"), ("p2", "1")]
    text = client.get("/metrics").text
    assert 'argus_events_rejected_total{model="m",reason="label_wrong_label_type"} 1.0' in text


def test_labels_for_a_model_without_a_target_are_refused_saying_how_to_fix_it(svc):
    _, client, _ = svc
    r = labels(client, [{"id": "a", "label": 1}], model="notarget")
    assert r.status_code == 422
    err = r.json()["rejected"][0]["error"]
    assert "declares no target" in err and "argus baseline DATA --target COL" in err


def test_a_repeated_label_is_counted_not_stored_and_a_correction_replaces_it_keeping_both(svc):
    mon, client, _ = svc
    rng = np.random.default_rng(2)
    client.post("/v1/models/m/events", json=[event("a", rng, timestamp=T0 - 50), event("b", rng, timestamp=T0 - 50)])
    assert labels(client, [{"id": "a", "label": 1}, {"id": "b", "label": 0}]).json()["joined"] == 2
    r = labels(client, [{"id": "a", "label": 1}, {"id": "b", "label": 1}, {"id": "b", "label": 1}])
    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("accepted", "duplicates", "corrected", "joined")} == \
        {"accepted": 1, "duplicates": 2, "corrected": 1, "joined": 1}
    rows = mon.store._rows("SELECT id, label FROM labels WHERE id = 'b' ORDER BY lseq")
    assert rows == [("b", "0"), ("b", "1")]  # both kept, for audit
    assert mon.store.latest_labels("m", ["a", "b"]) == {("", "a"): "1", ("", "b"): "1"}
    s = client.get("/v1/models/m/status").json()
    assert (s["labels_total"], s["labels_joined"], s["label_duplicates"], s["label_corrections"]) == (3, 2, 2, 1)
    pairs = mon.store.labelled_pairs("m", T0 - 3600, T0 + 1).to_pylist()
    assert sorted((p["label"], p["prediction"] is not None) for p in pairs) == [("1", True), ("1", True)]


def test_outcomes_join_in_either_order_sum_per_prediction_and_retries_are_not_counted_twice(svc):
    mon, client, _ = svc
    rng = np.random.default_rng(3)
    client.post("/v1/models/m/events", json=[event("o1", rng, timestamp=T0 - 50)])
    r = client.post("/v1/models/m/outcomes", json=[
        {"id": "o1", "name": "revenue", "value": 12.5, "timestamp": T0 - 10},
        {"id": "o1", "name": "revenue", "value": 7.5, "timestamp": T0 - 5},
        {"id": "o1", "name": "conversion"},
        {"id": "later", "name": "conversion", "value": True},
        {"id": "o1", "name": "revenue", "value": "12"},
        {"id": "o1", "value": 1}])
    assert r.status_code == 202, r.text
    b = r.json()
    assert (b["accepted"], b["joined"], b["pending"], b["duplicates"]) == (4, 3, 1, 0)
    assert [(e["index"], e["field"]) for e in b["rejected"]] == [(4, "value"), (5, "name")]
    retry = client.post("/v1/models/m/outcomes", json=[{"id": "o1", "name": "revenue", "value": 12.5,
                                                       "timestamp": T0 - 10}])
    assert retry.json()["duplicates"] == 1 and retry.json()["accepted"] == 0
    client.post("/v1/models/m/events", json=[event("later", rng, timestamp=T0 - 40)])
    assert mon.wait_idle()
    sums = {(o["name"], o["value"]) for o in mon.store.outcome_sums("m", T0 - 3600, T0 + 1).to_pylist()}
    assert sums == {("revenue", 20.0), ("conversion", 1.0)} | {("conversion", 1.0)}
    assert len(mon.store.outcome_sums("m", T0 - 3600, T0 + 1)) == 3  # o1 revenue, o1 conversion, later conversion
    s = client.get("/v1/models/m/status").json()
    assert (s["outcomes_total"], s["outcomes_joined"], s["outcomes_pending"]) == (4, 4, 0)
    # outcome names are a small fixed set: the 33rd new name is refused, with its index
    many = [{"id": "o1", "name": f"n{k}"} for k in range(40)]
    r = client.post("/v1/models/m/outcomes", json=many)
    assert r.json()["accepted"] == 30 and {e["index"] for e in r.json()["rejected"]} == set(range(30, 40))
