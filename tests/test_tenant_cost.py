"""Cost and tokens of an LLM model per version and tenant: input and output tokens priced apart, the tenants
past ``cost.max_tenants`` folded into ``__other__`` (and counted), day totals split at a UTC midnight, the
per-tenant and token budgets as alerts that name the tenant, ``/costs?by=tenant`` and ``/metrics``, and all of
it kept across a restart and recounted from the raw log after a crash (docs/OPERATIONS.md, "Cost")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from argusml.alerts.rules import budget_rules
from argusml.monitor import Settings
from argusml.monitor.events import EventRecord
from argusml.monitor.llm import learning_reference, plan_of
from argusml.monitor.metrics import ModelMetrics
from argusml.monitor.ops import DAY, count_ops, event_cost, event_tokens, folded_tenants, tenant_table
from argusml.schema import ConfigError
from argusml.schema.model_config import CostSettings, ModelConfig, model_config_from_dict
from service_util import FAST, T0, Clock, LiveServer, start_monitor

MID = (T0 // DAY + 1) * DAY  # the UTC midnight after T0
PER_IN, PER_OUT = 0.5, 1.5  # per 1000 tokens
IN, OUT = 1000, 200  # every test event's tokens
PRICE = IN * PER_IN / 1000 + OUT * PER_OUT / 1000  # 0.5 + 0.3 = 0.8 an event
QUIET = Settings(**FAST, alert_every=3600.0, alert_on_close=False)
"""The test runs each alert pass itself (``run_once``)."""


def rec(llm: dict[str, Any] | None = None, features: dict[str, Any] | None = None, ts: float = T0,
        **kw: Any) -> EventRecord:
    r = EventRecord("1", "v1", ts, features or {}, None, None, None, None, llm=llm)
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def test_input_and_output_tokens_are_priced_apart_and_an_event_s_own_cost_wins() -> None:
    cfg = CostSettings(per_1k_input_tokens=PER_IN, per_1k_output_tokens=PER_OUT, per_prediction=0.01)
    llm = {"input_tokens": 1200, "output_tokens": 300, "tenant": "acme"}
    # 1200 x 0.5 / 1000 = 0.6 in, 300 x 1.5 / 1000 = 0.45 out, 0.01 a prediction
    assert event_cost(rec(llm), cfg) == pytest.approx(0.6 + 0.45 + 0.01, rel=1e-12)
    assert event_cost(rec({"output_tokens": 10}), cfg) == pytest.approx(0.015 + 0.01, rel=1e-12)
    assert event_cost(rec(llm, cost=0.02), cfg) == 0.02  # its own cost wins
    assert event_cost(rec(llm, fallback=True), cfg) == 0.0  # the fallback answered: no model call
    assert event_cost(rec({"tenant": "acme"}), cfg) == 0.01  # no tokens: the prediction's price only
    # the LLM's tokens come from the llm object, not from a feature that happens to share the name
    assert event_tokens(rec({"input_tokens": 7}, features={"input_tokens": 999})) == (7, 0)
    # a tabular event's from its features of those names; a bad value is no token count
    assert event_tokens(rec(features={"input_tokens": 40.0, "output_tokens": 2})) == (40, 2)
    assert event_tokens(rec(features={"input_tokens": -1, "output_tokens": float("nan")})) is None
    assert event_cost(rec(features={"input_tokens": 2000, "output_tokens": 0}),
                      CostSettings(per_1k_input_tokens=PER_IN, per_1k_output_tokens=PER_OUT)) == 1.0


def test_config_errors_say_what_to_set() -> None:
    def error(cost: dict[str, Any], **kw: Any) -> str:
        with pytest.raises(ConfigError) as err:
            model_config_from_dict({"model": "m", "cost": cost, **kw}, "m.yaml")
        return str(err.value)

    assert error({"per_1k_input_tokens": 0.5}) == (
        "m.yaml: cost: per_1k_input_tokens needs per_1k_output_tokens too: providers bill input and output tokens "
        "apart (set per_1k_output_tokens: 0 if those tokens are free)")
    assert error({"per_1k_output_tokens": 0.5}) == (
        "m.yaml: cost: per_1k_output_tokens needs per_1k_input_tokens too: providers bill input and output tokens "
        "apart (set per_1k_input_tokens: 0 if those tokens are free)")
    assert error({"per_1k_input_tokens": 0.5, "per_1k_output_tokens": 1, "per_1k_tokens": 1,
                  "tokens": ["input_tokens"]}) == (
        "m.yaml: cost: per_1k_tokens and per_1k_input_tokens/per_1k_output_tokens would price the same tokens "
        "twice: keep per_1k_input_tokens and per_1k_output_tokens (input and output priced apart), or "
        "per_1k_tokens with tokens")
    assert error({"budget_per_tenant_per_day": 10}) == (
        "m.yaml: cost.budget_per_tenant_per_day: only an LLM model's events name a tenant (llm.tenant); add "
        "'kind: llm', or set budget_per_day")
    assert "max_tenants" in error({"max_tenants": 0})
    with pytest.raises(ConfigError, match="tenant_cost_per_day is judged per tenant, against a fixed limit"):
        model_config_from_dict({"model": "m", "alerts": {"rules": [
            {"name": "t", "type": "baseline", "metric": "tenant_cost_per_day", "rise": 0.5}]}}, "m.yaml")
    cfg = ModelConfig(model="bot", kind="llm", cost={"per_1k_input_tokens": 0.5, "per_1k_output_tokens": 1.5,
                                                     "budget_per_tenant_per_day": 10, "budget_tokens_per_day": 5e4,
                                                     "budget_severity": "P2"})
    assert [(r.name, r.metric, r.above, r.severity.value, r.for_windows) for r in budget_rules(cfg)] == [
        ("cost_budget_tenant", "tenant_cost_per_day", 10, "P2", 1),
        ("cost_budget_tokens", "tokens_per_day", 5e4, "P2", 1)]


def test_tenants_past_the_cap_fold_into_other_and_are_counted() -> None:
    cost = CostSettings(per_1k_input_tokens=PER_IN, per_1k_output_tokens=PER_OUT, max_tenants=2)
    m = ModelMetrics()
    vm = m.version("v1")
    tenants = ["acme", "beta", "acme", "gamma", "delta", "gamma", "beta", "", "gamma"]
    records = [rec({"input_tokens": IN, "output_tokens": OUT, **({"tenant": t} if t else {})}, ts=T0 + i)
               for i, t in enumerate(tenants)]
    count_ops(m, vm, "v1", records[:4], cost)  # two batches: the cap holds across them
    count_ops(m, vm, "v1", records[4:], cost)
    day = (T0 // DAY) * DAY
    assert m.tenants == {"acme", "beta"}
    assert tenant_table(m) == [
        {"day": day, "tenant": t, "events": n, "costed": n, "total": pytest.approx(n * PRICE, rel=1e-12),
         "input_tokens": n * IN, "output_tokens": n * OUT}
        for t, n in (("", 1), ("__other__", 4), ("acme", 2), ("beta", 2))]
    assert folded_tenants(m) == {"tenants": 2, "events": 4, "names": ["gamma", "delta"], "unnamed_events": 0}
    assert m.tenant_cost == pytest.approx({"acme": 2 * PRICE, "beta": 2 * PRICE, "__other__": 4 * PRICE}, rel=1e-12)
    assert (vm.input_tokens, vm.output_tokens, vm.costed) == (9 * IN, 9 * OUT, 9)
    # a tabular model's events count under the tenant "" with their token features, on the flat path too
    tab = ModelMetrics()
    count_ops(tab, tab.version("v"), "v", [rec(features={"input_tokens": 30, "output_tokens": 4}),
                                           rec(features={"x": 1.0}), rec(features={"output_tokens": 6})],
              CostSettings(per_prediction=0.25))
    assert tenant_table(tab) == [{"day": day, "tenant": "", "events": 3, "costed": 3, "total": 0.75,
                                  "input_tokens": 30, "output_tokens": 10}]


# -- the running service ---------------------------------------------------------------------------------------
BUDGET_TENANT, BUDGET_TOKENS = 10.0, 40_000.0


def config() -> ModelConfig:
    return ModelConfig(model="bot", kind="llm", window="1m", lateness="10s",
                       llm={"baseline": {"windows": 1, "min_events": 10}},
                       cost={"per_1k_input_tokens": PER_IN, "per_1k_output_tokens": PER_OUT, "max_tenants": 2,
                             "budget_per_tenant_per_day": BUDGET_TENANT, "budget_tokens_per_day": BUDGET_TOKENS})


def events(prefix: str, start: float, tenants: list[str]) -> list[dict[str, Any]]:
    """One event per tenant, 1 s apart from ``start``, each 1000 tokens in and 200 out (0.8 USD)."""
    return [{"id": f"{prefix}-{i}", "timestamp": start + i, "version": "v1",
             "llm": {"prompt": f"How do I reset my password, case {i}?", "response": "Open the login page.",
                     "input_tokens": IN, "output_tokens": OUT, "tenant": t}} for i, t in enumerate(tenants)]


def post(run: Any, batch: list[dict[str, Any]]) -> None:
    r = run.client.post("/v1/models/bot/events", json=batch)
    assert r.status_code == 200 and r.json()["rejected"] == [], r.text


def scrape(run: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with LiveServer(run.monitor) as srv:
        text = httpx.get(srv.url + "/metrics", timeout=30).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples
            if s.name in ("argus_tokens_total", "argus_tenant_cost_total", "argus_tenants_folded", "argus_cost_total")}


def start(path: Path, t: float) -> Any:
    cfg = config()
    return start_monitor(path, (cfg, learning_reference(plan_of(cfg))), clock=Clock(t), settings=QUIET)


def test_tenant_costs_day_totals_budgets_metrics_and_a_restart(tmp_path: Path) -> None:
    a, b, d = MID - 180, MID - 120, MID  # window A (learning), window B (the budgets break), window D (next day)
    run = start(tmp_path / "data", a + 5)
    try:
        post(run, events("a", a, ["acme"] * 5 + ["beta"] * 5))  # the baseline: 10 events
        run.clock.t = b + 5
        assert run.monitor.wait_idle()
        post(run, events("b", b, ["acme"] * 20 + ["beta"] * 5 + ["gamma"] * 3 + ["delta"] * 2))
        run.clock.t = b + 60 + 11
        assert run.monitor.wait_idle()
        run.monitor.alerting.run_once()
        # day 1 by hand: acme 25 events x 0.8 = 20 (over 10), beta 10 x 0.8 = 8, gamma and delta past the cap
        # of 2 tenants: __other__ 5 x 0.8 = 4; tokens 40 x 1200 = 48,000 (over 40,000)
        firing = {(x["name"], x["labels"].get("tenant")): x for x in run.monitor.alerting.alerts("bot")}
        assert set(firing) == {("cost_budget_tenant", "acme"), ("cost_budget_tokens", None)}
        acme = firing[("cost_budget_tenant", "acme")]
        assert (acme["status"], acme["severity"], acme["labels"]) == ("firing", "P1", {"tenant": "acme",
                                                                                      "model_version": "v1"})
        assert acme["value"] == pytest.approx(25 * PRICE, rel=1e-12)
        assert acme["summary"] == "tenant acme spent 20.00 USD today; the budget is 10 USD a tenant a day"
        tokens = firing[("cost_budget_tokens", None)]
        assert tokens["value"] == 48_000.0
        assert tokens["summary"] == "48000 tokens (input and output) today; the budget is 40000 tokens a day"
        [incident] = run.client.get("/v1/incidents").json()  # one incident, its alert naming the tenant
        shown = {x["name"]: x for x in incident["alerts"]}
        assert shown["cost_budget_tenant"]["labels"] == {"tenant": "acme"}
        assert incident["timeline"][0]["detail"].startswith("by cost_budget_tenant for tenant 'acme' (P1)")

        # past midnight: a new day for every total; acme's spend starts again at 0
        post(run, events("d", d, ["acme", "acme", "gamma"]))
        run.clock.t = d + 60 + 11
        assert run.monitor.wait_idle()
        run.monitor.alerting.run_once()
        engine = run.monitor.alerting.engine.models["bot"]
        judged = {a_.labels.get("tenant"): a_.judged[-1] for a_ in engine.alerts.values()
                  if a_.name == "cost_budget_tenant"}
        assert judged["acme"][2] is False and judged["acme"][3] == pytest.approx(2 * PRICE, rel=1e-12)

        body = run.client.get("/v1/models/bot/costs", params={"by": "tenant"}).json()
        day1, day2 = "2027-01-15", "2027-01-16"

        def row(day: str, tenant: str, n: int) -> dict[str, Any]:
            total = pytest.approx(n * PRICE, rel=1e-12)
            over = None if tenant == "__other__" else n * PRICE > BUDGET_TENANT
            return {"day": day, "tenant": tenant, "events": n, "costed": n, "total": total, "input_tokens": n * IN,
                    "output_tokens": n * OUT, "over_budget": over}

        assert body["tenants"] == [row(day1, "__other__", 5), row(day1, "acme", 25), row(day1, "beta", 10),
                                   row(day2, "__other__", 1), row(day2, "acme", 2)]
        assert body["folded"] == {"tenants": 2, "events": 6, "names": ["gamma", "delta"], "unnamed_events": 0}
        assert (body["budget_per_tenant_per_day"], body["max_tenants"]) == (BUDGET_TENANT, 2)
        assert [(x["day"], x["predictions"], x["total"]) for x in body["days"]] == [
            (day1, 40, pytest.approx(40 * PRICE, rel=1e-12)), (day2, 3, pytest.approx(3 * PRICE, rel=1e-12))]
        plain = run.client.get("/v1/models/bot/costs").json()
        assert set(plain) == {"model", "currency", "budget_per_day", "costs", "days"}  # unchanged without by
        assert run.client.get("/v1/models/bot/costs", params={"by": "tenants"}).status_code == 400

        got = scrape(run)
        lab = (("model", "bot"), ("model_version", "v1"))
        assert got[("argus_tokens_total", (("direction", "input"), *lab))] == 43 * IN
        assert got[("argus_tokens_total", (("direction", "output"), *lab))] == 43 * OUT
        per_tenant = {dict(k[1])["tenant"]: v for k, v in got.items() if k[0] == "argus_tenant_cost_total"}
        assert per_tenant == pytest.approx({"acme": 27 * PRICE, "beta": 10 * PRICE, "__other__": 6 * PRICE},
                                           rel=1e-12)
        assert got[("argus_tenants_folded", (("model", "bot"),))] == 2
    finally:
        run.stop()

    # a restart continues the totals from the snapshot
    run = start(tmp_path / "data", d + 60 + 20)
    try:
        assert run.monitor.wait_idle()
        assert run.client.get("/v1/models/bot/costs", params={"by": "tenant"}).json() == body
        assert scrape(run) == got
        run.monitor.stop()  # then a crash before any snapshot: the raw log holds every acknowledged event
        run.store._cur().execute("DELETE FROM meta WHERE key = 'counters:bot'")
    finally:
        run.store.close()
        run.stopped = True
    run = start(tmp_path / "data", d + 60 + 30)
    try:
        assert run.monitor.wait_idle()
        again = run.client.get("/v1/models/bot/costs", params={"by": "tenant"}).json()
        assert again == body
        assert scrape(run) == pytest.approx(got, rel=1e-12)
    finally:
        run.stop()


def test_the_exported_prometheus_rules_carry_the_tenant_and_token_budgets() -> None:
    from argusml.export.prometheus import RuleOptions, prometheus_rules

    rules = {r["alert"]: r for g in prometheus_rules([config()], RuleOptions())["groups"] for r in g["rules"]
             if r.get("alert", "").startswith("cost_budget")}
    assert {k: (r["expr"], r["labels"]["severity"]) for k, r in rules.items()} == {
        "cost_budget_tenant": ('sum by (model, tenant) (increase(argus_tenant_cost_total{model="bot",'
                               'tenant!="__other__"}[1d])) > 10', "P1"),
        "cost_budget_tokens": ('sum by (model) (increase(argus_tokens_total{model="bot"}[1d])) > 40000', "P1")}
