"""The events' ops fields (``resources``, ``stages``, ``fallback``, ``cost``): validated at the door, kept in
the raw payload, counted into stage latency, cost and fallback numbers that the alert engine, /metrics and
``GET /v1/models/{m}/costs`` show, kept out of the model's predictions when the fallback answered, and
continued across a restart.

The numbers are worked by hand below (``Batch``): what the window's stage quantiles, cost per prediction,
fallback ratio and the day's spend must be.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from argusml.monitor import Settings
from argusml.monitor.events import EventRecord, Schema, validate_events
from argusml.monitor.ops import event_cost
from argusml.schema import ConfigError, Kind, Role
from argusml.schema.model_config import CostSettings, model_config_from_dict
from service_util import FAST, T0, LiveServer, Running, event, make_reference

pytestmark = pytest.mark.service

SCHEMA = Schema({"a": SimpleNamespace(role=Role.FEATURE, kind=Kind.NUMERIC),
                 "p": SimpleNamespace(role=Role.PREDICTION, kind=Kind.NUMERIC)}, None)


def _validate(items: list[dict[str, Any]]) -> tuple[Any, list[int], list[Any]]:
    batch, indexes, rejected, _ = validate_events(items, {"": SCHEMA}, now=T0, future_skew=300.0,
                                                  reject_violations=False)
    return batch, indexes, rejected


def test_each_wrong_ops_field_is_rejected_with_its_index_field_and_reason() -> None:
    ok = {"id": "ok", "timestamp": T0, "features": {"a": 1.0}, "prediction": 0.5,
          "resources": {"cpu": 0.25, "memory": 2_000_000_000, "gpu": 1, "gpu_memory": 0},
          "stages": {"preprocess": 3, "model": 41.5}, "fallback": True, "cost": 0}
    cost_rule = "cost must be a non-negative number (what serving this event cost, in the model's cost currency)"
    cases = [  # (what the event sends instead, the field named, the error)
        ({"resources": {"gpu_mem": 1e9}}, "resources.gpu_mem",
         "unknown resource; did you mean 'gpu_memory'?; allowed: cpu, memory, gpu, gpu_memory"),
        ({"resources": {"cpu": 1.5}}, "resources.cpu", "cpu must be a share between 0 and 1 (share of the CPUs the "
         "serving process may use, busy serving this request (0 to 1)), got 1.5; send 0.35 for 35%"),
        ({"resources": {"memory": -1}}, "resources.memory", "memory must be a non-negative number of bytes, got -1"),
        ({"resources": {"gpu": "0.3"}}, "resources.gpu",
         "gpu must be a number (share of a GPU the request kept busy for its latency (0 to 1)), got a string"),
        ({"resources": [0.3]}, "resources",
         "resources must be an object of {cpu, memory, gpu, gpu_memory} to numbers, got a list"),
        ({"stages": {"model": -3}}, "stages.model",
         "stage 'model' must be a non-negative number of milliseconds, got a number '-3'"),
        ({"stages": {"pre process": 1}}, "stages.pre process",
         "a stage name must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or '_'"),
        ({"stages": {f"s{k}": 1 for k in range(17)}}, "stages", "17 stages; at most 16 per event"),
        ({"stages": "model=3"}, "stages",
         'stages must be an object of stage names to milliseconds (e.g. {"preprocess": 3.2, "model": 41.0}), got a '
         'string'),
        ({"fallback": "yes"}, "fallback", "fallback must be true or false, got a string 'yes'"),
        ({"cost": -0.01}, "cost", f"{cost_rule}, got a number '-0.01'"),
        ({"cost": True}, "cost", f"{cost_rule}, got a boolean 'True'"),
    ]
    items = [ok] + [{**ok, "id": f"b{k}", **change} for k, (change, _, _) in enumerate(cases)]
    batch, indexes, rejected = _validate(items)
    assert indexes == [0]
    rec = batch.records[0]
    assert (rec.resources, rec.stages, rec.fallback, rec.cost) == (
        {"cpu": 0.25, "memory": 2_000_000_000, "gpu": 1, "gpu_memory": 0}, {"preprocess": 3, "model": 41.5}, True, 0)
    assert [(p.index, p.field, p.error) for p in rejected] == [(k + 1, f, e) for k, (_, f, e) in enumerate(cases)]
    assert {p.reason for p in rejected} == {"bad_resources", "bad_stages", "bad_fallback", "bad_cost"}


def test_the_ops_fields_survive_the_raw_payload_and_an_event_without_them_is_stored_as_before() -> None:
    items = [{"id": "1", "timestamp": T0, "features": {"a": 2.0}, "prediction": 0.25, "latency_ms": 12.0,
              "resources": {"gpu": 0.5, "gpu_memory": 8e9}, "stages": {"model": 9.5}, "fallback": True, "cost": 0.004},
             {"id": "2", "timestamp": T0, "features": {"a": 3.0}, "prediction": 0.75, "fallback": False}]
    batch, _, rejected = _validate(items)
    assert rejected == []
    full, plain = batch.records
    assert orjson.loads(plain.payload) == {"features": {"a": 3.0}, "prediction": 0.75}
    back = EventRecord.from_stored(7, full.version, full.id, full.ts, orjson.loads(full.payload))
    for name in ("features", "prediction", "latency_ms", "resources", "stages", "fallback", "cost"):
        assert getattr(back, name) == getattr(full, name), name
    assert back.payload == full.payload and back.seq == 7
    again = EventRecord.from_stored(8, plain.version, plain.id, plain.ts, orjson.loads(plain.payload))
    assert (again.resources, again.stages, again.fallback, again.cost) == (None, None, False, None)


def test_an_event_s_own_cost_wins_and_the_configured_components_add_up() -> None:
    cfg = CostSettings(per_prediction=0.002, per_1k_tokens=0.5, tokens=["prompt_tokens", "completion_tokens"],
                       per_gpu_hour=3.6)

    def rec(**kw: Any) -> EventRecord:
        r = EventRecord("1", "v", T0, kw.pop("features", {}), 0.5, None, kw.pop("latency_ms", None), None)
        for k, v in kw.items():
            setattr(r, k, v)
        return r

    assert event_cost(rec(cost=0.25, resources={"gpu": 1.0}, latency_ms=1000.0), cfg) == 0.25
    assert event_cost(rec(), cfg) == 0.002  # nothing but the per-prediction price applies
    # 1200 + 300 tokens at 0.5 per 1000 = 0.75; a GPU at half for 2 s at 3.6 an hour = 0.001
    assert event_cost(rec(features={"prompt_tokens": 1200, "completion_tokens": 300}, resources={"gpu": 0.5},
                          latency_ms=2000.0), cfg) == pytest.approx(0.002 + 0.75 + 0.001, rel=1e-12)
    assert event_cost(rec(fallback=True), cfg) == 0.0  # the fallback answered: the model was not called
    assert event_cost(rec(fallback=True, cost=0.01), cfg) == 0.01
    assert event_cost(rec(), None) is None
    assert event_cost(rec(), CostSettings(per_gpu_hour=2.0)) is None  # no GPU share, no latency: unpriced
    with pytest.raises(ConfigError) as err:
        model_config_from_dict({"model": "m", "cost": {"per_1k_tokens": 0.5}}, "m.yaml")
    assert str(err.value) == ("m.yaml: cost: per_1k_tokens needs 'tokens': the features that hold each event's token "
                              "counts (e.g. tokens: [prompt_tokens, completion_tokens])")
    with pytest.raises(ConfigError) as err:
        model_config_from_dict({"model": "m", "cost": {"per_predictoin": 0.5}}, "m.yaml")
    assert str(err.value) == "m.yaml: cost.per_predictoin: unknown key; did you mean 'per_prediction'?"


@pytest.mark.parametrize("cost", [None, CostSettings(per_prediction=0.002), CostSettings(per_gpu_hour=3.6)])
def test_the_counters_of_a_mixed_batch_are_the_sums_of_each_event_s_own(cost: CostSettings | None) -> None:
    """The writer counts plain events per day without looking at each (a flat price); the counters must be
    what event by event gives."""
    from argusml.monitor.metrics import ModelMetrics
    from argusml.monitor.ops import DAY, count_ops

    rng = np.random.default_rng(5)
    records = []
    for i in range(500):
        r = EventRecord(str(i), "v", DAY0 + 86400 * (i % 3) - 1.5 + i, {}, 0.5, None, float(rng.integers(1, 300)),
                        None)
        kind = i % 5
        if kind == 1:
            r.fallback = True
        elif kind == 2:
            r.cost = float(rng.random())
        elif kind == 3:
            r.resources, r.stages = {"gpu": float(rng.random())}, {"model": 5.0}
        records.append(r)
    m = ModelMetrics()
    vm = m.version("v")
    count_ops(m, vm, "v", records[:123], cost)
    count_ops(m, vm, "v", records[123:], cost)
    want: dict[tuple[float, str], list[Any]] = {}
    for r in records:
        c = event_cost(r, cost)
        row = want.setdefault(((r.ts // DAY) * DAY, "v"), [0, 0, 0, 0.0])
        row[0] += 1
        row[1] += r.fallback
        row[2] += c is not None
        row[3] += c or 0.0
    assert m.costs.keys() == want.keys()
    for k, row in want.items():
        assert m.costs[k][:3] == row[:3] and m.costs[k][3] == pytest.approx(row[3], rel=1e-12, abs=1e-15), k
    costs = [c for r in records if (c := event_cost(r, cost)) is not None]
    assert (vm.fallback, vm.costed) == (100, len(costs)) and vm.cost == pytest.approx(sum(costs), rel=1e-12)
    assert vm.stages["model"].n == 100 and vm.resource_n == {"gpu": 100}


# -- the running service -------------------------------------------------------------------------------
QUIET = Settings(**FAST, alert_every=3600.0, alert_on_close=False)
"""The test runs each alert pass itself (``run_once``)."""
PER_PREDICTION, PER_GPU_HOUR, BUDGET = 0.002, 3.6, 0.9
DAY0 = T0 - T0 % 86400


def config() -> Any:
    return model_config_from_dict({
        "model": "m", "window": "1m", "lateness": "0s",
        "cost": {"per_prediction": PER_PREDICTION, "per_gpu_hour": PER_GPU_HOUR, "budget_per_day": BUDGET},
        "alerts": {"webhook": "http://127.0.0.1:9/hook", "rules": [
            {"name": "slow_model_stage", "type": "threshold", "metric": "stage_latency_p99.model", "above": 0.07,
             "for_windows": 1},
            {"name": "on_fallback", "type": "threshold", "metric": "fallback_ratio", "above": 0.4, "for_windows": 1}]}},
        "m.yaml")


def batch(start: float, rng: np.random.Generator) -> tuple[list[dict[str, Any]], list[float]]:
    """Window 2's 40 events, and the predictions of the 20 the model answered.

    - 0-9: the fallback answered (prediction 0.999), no cost sent: 0 each;
    - 10-19: the fallback answered and says it cost 0.01: 0.1;
    - 20-39: the model, 100 ms, resources {cpu 0.25, memory 2e9, gpu 0.5}, stages preprocess 3 ms and model
      30 ms (20-29) or 60 ms (30-39); 20-24 say they cost 0.05 (0.25), 25-39 are priced by the config:
      0.002 + 3.6 an hour x 0.5 GPU x 0.1 s = 0.00205 each, 15 x 0.00205 = 0.03075.
    Total 0.38075 over 40 events: 0.00951875 a prediction; fallback ratio 20 / 40.
    """
    out, model_preds = [], []
    for i in range(40):
        e = event(f"w2-{i}", rng, timestamp=start + i * 0.5)
        if i < 20:
            e.update(fallback=True, prediction=0.999)
            if i >= 10:
                e["cost"] = 0.01
        else:
            e.update(latency_ms=100.0, resources={"cpu": 0.25, "memory": 2e9, "gpu": 0.5},
                     stages={"preprocess": 3.0, "model": 30.0 if i < 30 else 60.0})
            if i < 25:
                e["cost"] = 0.05
            model_preds.append(e["prediction"])
        out.append(e)
    return out, model_preds


WINDOW1 = 300 * PER_PREDICTION  # 0.6: under the budget
WINDOW2 = 0.1 + 0.25 + 15 * (PER_PREDICTION + PER_GPU_HOUR * 0.5 * 0.1 / 3600)  # 0.38075
DAY_TOTAL = WINDOW1 + WINDOW2  # 0.98075: over it


def close(r: Running, events: list[dict[str, Any]]) -> Any:
    assert r.client.post("/v1/models/m/events", json=events).json()["rejected"] == []
    r.clock.advance(60)
    assert r.monitor.wait_idle()
    return r.monitor.alerting.run_once()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url + "/metrics", timeout=30).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples if not s.name.startswith("process_")}


def labelled(**labels: str) -> tuple[tuple[str, str], ...]:
    """A label set of the model's one version, as ``scrape`` keys it."""
    return tuple(sorted({"model": "m", "model_version": "unversioned", **labels}.items()))


OPS_FAMILIES = ("argus_stage_duration_seconds_bucket", "argus_stage_duration_seconds_sum",
                "argus_stage_duration_seconds_count", "argus_fallback_events_total", "argus_cost_total")


def test_stage_latency_cost_and_fallbacks_from_events_to_alerts_metrics_and_costs(running_monitor: Any) -> None:
    ref = make_reference(2000)
    r = running_monitor((config(), ref), settings=QUIET)
    rng = np.random.default_rng(7)
    close(r, [event(f"w1-{i}", rng, timestamp=T0 + i * 0.1) for i in range(300)])
    assert not [a for a in r.monitor.alerting.alerts("m") if a["name"] in ("cost_budget", "slow_model_stage")]
    events, model_preds = batch(T0 + 60, rng)
    close(r, events)
    vm = r.monitor.models["m"].metrics.version("unversioned")

    # the window by arrival: what the alert engine judged, by hand (docstring of ``batch``)
    assert vm.last_ops == pytest.approx({
        "fallback_ratio": 0.5, "cost_per_prediction": WINDOW2 / 40,
        # model: 10 at 30 ms in (25, 50] ms, 10 at 60 ms in (50, 75] ms; p50 = 25 + 25 x 10/10 = 50 ms,
        # p99 = 50 + 25 x (19.8 - 10)/10 = 74.5 ms; preprocess: all 20 in (0, 5] ms: 5 x 10/20, 5 x 19.8/20
        "stage_latency_p50.model": 0.05, "stage_latency_p99.model": 0.0745,
        "stage_latency_p50.preprocess": 0.0025, "stage_latency_p99.preprocess": 0.00495,
        "resource.cpu": 0.25, "resource.memory": 2e9, "resource.gpu": 0.5}, rel=1e-12)
    firing = {a["name"]: a for a in r.monitor.alerting.alerts("m")}
    assert firing["cost_budget"]["status"] == "firing" and firing["cost_budget"]["severity"] == "P1"
    assert firing["cost_budget"]["value"] == pytest.approx(DAY_TOTAL, rel=1e-12)
    assert firing["cost_budget"]["summary"] == "0.98 USD spent today; the budget is 0.9 USD a day"
    assert firing["slow_model_stage"]["value"] == pytest.approx(0.0745, rel=1e-12)
    assert firing["on_fallback"]["value"] == 0.5 and firing["on_fallback"]["role"] == "symptom"

    ops = r.client.get("/v1/models/m/status").json()["operations"]["unversioned"]
    assert ops["fallback_events"] == 20 and ops["cost_total"] == pytest.approx(DAY_TOTAL, rel=1e-12)
    assert ops["last_window"] == pytest.approx(vm.last_ops, rel=1e-12)

    # the fallback's answers are not the model's: out of the window's prediction, their features in
    verdict = vm.window.verdict
    assert verdict.n_rows == 40
    assert verdict.prediction["mean"] == pytest.approx(float(np.mean(model_preds)), rel=1e-9)
    assert verdict.columns["score"].missing_ratio == 0.0
    [w2] = r.store.windows("m", since=T0 + 60, until=T0 + 120, segment="*", closed=True, with_profile=True)
    cols = orjson.loads(w2["profile"])["profile"]["columns"]
    assert cols["score"]["n_rows"] == 20 and cols["x0"]["n_rows"] == 40
    # ... and out of the label joins, the review population and the performance window's prediction count
    assert r.client.post("/v1/models/m/labels", json=[{"id": e["id"], "label": i % 2}
                                                       for i, e in enumerate(events)]).status_code in (200, 202)
    assert r.monitor.wait_idle()
    pairs = r.store.labelled_pairs("m", T0 + 60, T0 + 120)
    assert pairs.num_rows == 20 and sorted(pairs.column("prediction").to_pylist()) == sorted(model_preds)
    assert r.store.review_frame("m", "unversioned", T0 + 60, T0 + 120, False).num_rows == 20
    assert r.store.prediction_counts("m", T0 + 60, T0 + 120, 60.0).column("n").to_pylist() == [20]

    # /costs: the day, by hand
    body = r.client.get("/v1/models/m/costs").json()
    assert body["currency"] == "USD" and body["budget_per_day"] == BUDGET
    [row] = body["costs"]
    assert row == {"day": "2027-01-15", "version": "unversioned", "predictions": 340, "fallback": 20,
                   "costed": 340, "total": pytest.approx(DAY_TOTAL, rel=1e-12),
                   "per_prediction": pytest.approx(DAY_TOTAL / 340, rel=1e-12)}
    assert body["days"] == [{"day": "2027-01-15", "predictions": 340, "total": pytest.approx(DAY_TOTAL, rel=1e-12),
                             "per_prediction": pytest.approx(DAY_TOTAL / 340, rel=1e-12), "over_budget": True}]

    # the weekly digest reads the same numbers
    assert r.monitor.digests.cost == r.monitor.cost_rows
    assert r.monitor.cost_rows("m", DAY0, DAY0 + 86400) == [
        {"day": DAY0, "version": "unversioned", "cost": pytest.approx(DAY_TOTAL, rel=1e-12), "predictions": 340}]

    # /metrics: the families and their labels
    with LiveServer(r.monitor) as srv:
        got = scrape(srv.url)
    assert got[("argus_stage_duration_seconds_bucket", labelled(stage="model", le="0.025"))] == 0
    assert got[("argus_stage_duration_seconds_bucket", labelled(stage="model", le="0.05"))] == 10
    assert got[("argus_stage_duration_seconds_bucket", labelled(stage="model", le="0.075"))] == 20
    assert got[("argus_stage_duration_seconds_count", labelled(stage="preprocess"))] == 20
    assert got[("argus_stage_duration_seconds_sum", labelled(stage="model"))] == pytest.approx(10 * 0.03 + 10 * 0.06)
    assert got[("argus_fallback_events_total", labelled())] == 20
    assert got[("argus_cost_total", labelled())] == pytest.approx(DAY_TOTAL, rel=1e-12)
    assert got[("argus_cost_per_prediction", labelled())] == pytest.approx(WINDOW2 / 40, rel=1e-12)
    assert {k[1]: v for k, v in got.items() if k[0] == "argus_event_resource_usage"} == {
        labelled(resource="cpu"): 0.25, labelled(resource="memory"): 2e9, labelled(resource="gpu"): 0.5}

    # a restart continues every one of them, and /costs
    before = {k: v for k, v in got.items() if k[0] in (*OPS_FAMILIES, "argus_cost_per_prediction",
                                                         "argus_event_resource_usage")}
    r.stop()
    r2 = running_monitor((config(), ref), settings=QUIET)
    with LiveServer(r2.monitor) as srv:
        after = scrape(srv.url)
    assert {k: after.get(k) for k in before} == before
    assert r2.client.get("/v1/models/m/costs").json() == body

    # without saved counters (a crash before the first snapshot), the raw log recounts them
    r2.monitor.stop()
    r2.store._cur().execute("DELETE FROM meta WHERE key = 'counters:m'")
    r2.store.close()
    r2.stopped = True
    r3 = running_monitor((config(), ref), settings=QUIET)
    with LiveServer(r3.monitor) as srv:
        recounted = scrape(srv.url)
    ops_only = {k: v for k, v in before.items() if k[0] in OPS_FAMILIES}
    assert {k: recounted.get(k) for k in ops_only} == pytest.approx(ops_only, rel=1e-12)
    assert r3.client.get("/v1/models/m/costs").json()["days"] == body["days"]


def test_a_window_the_fallback_answered_whole_judges_the_inputs_and_not_a_missing_prediction(running_monitor: Any
                                                                                             ) -> None:
    r = running_monitor((config(), make_reference(2000)), settings=QUIET)
    rng = np.random.default_rng(3)
    close(r, [{**event(f"f{i}", rng, timestamp=T0 + i * 0.1), "fallback": True} for i in range(300)])
    verdict = r.monitor.models["m"].metrics.version("unversioned").window.verdict
    assert verdict.n_rows == 300 and verdict.prediction is None
    found = set(r.store._rows("SELECT check_name, column_name FROM findings WHERE model = 'm'"))
    assert not [f for f in found if f[1] == "score"], found
    assert r.monitor.models["m"].metrics.version("unversioned").fallback == 300


def test_the_exported_prometheus_rules_carry_the_model_s_budget_at_its_severity() -> None:
    from argusml.export.prometheus import RuleOptions, prometheus_rules

    cfg = model_config_from_dict({"model": "m", "cost": {"per_prediction": 0.001, "budget_per_day": 25,
                                                         "budget_severity": "P0"}}, "m.yaml")
    rules = [r for g in prometheus_rules([cfg], RuleOptions())["groups"] for r in g["rules"]
             if r.get("alert") == "cost_budget"]
    assert [(r["expr"], r["labels"]["severity"]) for r in rules] == [
        ('sum by (model) (increase(argus_cost_total{model="m"}[1d])) > 25', "P0")]
    assert not [r for g in prometheus_rules([model_config_from_dict({"model": "m"}, "m.yaml")])["groups"]
                for r in g["rules"] if r.get("alert") == "cost_budget"]
