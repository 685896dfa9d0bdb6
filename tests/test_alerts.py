"""The alert engine through simulated time: windows in, alerts, incidents and notices out.

No monitor, no sleeping: each test builds the windows a model would close and hands them to ``Engine``
with the time they close at, so flapping, gaps, restarts and 200 models run in milliseconds.
"""

from __future__ import annotations

from typing import Any

import pytest

from argusml.alerts.engine import Engine, FindingSignal, Notice, Silence, TickSignal, WindowSignal
from argusml.alerts.incident import Incident
from argusml.schema.model_config import ModelConfig, model_config_from_dict

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
W = 300.0


def config(**extra: Any) -> ModelConfig:
    base: dict[str, Any] = {"model": "credit", "alerts": {"webhook": "http://am.example/hook"}}
    for k, v in extra.items():
        if k == "alerts":
            base["alerts"] = {**base["alerts"], **v}
        else:
            base[k] = v
    return model_config_from_dict(base, "test.yaml")


def finding(check: str, column: str | None = None, severity: str = "P1", value: float | None = None) -> FindingSignal:
    return FindingSignal(check, column, severity, f"{check} on {column}", value)


def window(i: int, *findings: FindingSignal, version: str = "v1", model: str = "credit", **metrics: float
           ) -> WindowSignal:
    return WindowSignal(model, version, T0 + i * W, T0 + (i + 1) * W, "window", {"rows": 500.0, **metrics},
                        list(findings))


def feed(engine: Engine, cfg: ModelConfig, i: int, *findings: FindingSignal, **kw: Any) -> list[Notice]:
    """Close window ``i`` (judged 2 minutes after its end, as a window with the default lateness is) and return
    the notices it queued."""
    w = window(i, *findings, model=cfg.model, **kw)
    engine.window(cfg, w, w.end + 120)
    return engine.drain().notices


def only_incident(engine: Engine) -> Incident:
    (inc,) = engine.incidents.values()
    return inc


def test_a_finding_fires_after_for_windows_and_resolves_after_resolve_windows() -> None:
    e, cfg = Engine(), config()
    drift = finding("drift", "age", value=0.3)
    assert feed(e, cfg, 0, drift) == [] and feed(e, cfg, 1, drift) == []
    (alert,) = e.models["credit"].alerts.values()
    assert alert.status == "pending" and alert.first_bad_at == T0
    notices = feed(e, cfg, 2, drift)
    assert [(n.event, n.receiver, n.severity) for n in notices] == [("opened", "default", "P1")]
    inc = only_incident(e)
    assert inc.first_bad_at == T0 and inc.opened_at == T0 + 3 * W + 120
    assert inc.to_dict()["time_to_detect_s"] == 3 * W + 120
    assert feed(e, cfg, 3) == []  # one good window is not enough (resolve_windows = 2)
    assert alert.status == "firing"
    notices = feed(e, cfg, 4)
    assert [(n.event, n.incident["status"]) for n in notices] == [("resolved", "resolved")]
    assert notices[0].incident["time_to_resolve_s"] == (T0 + 5 * W + 120) - (T0 + 3 * W + 120)
    assert e.incidents == {}  # resolved incidents are handed to the store and let go


def test_a_finding_that_comes_and_goes_never_fires_and_a_firing_one_does_not_flap() -> None:
    e, cfg = Engine(), config()
    drift = finding("drift", "age")
    for i in range(12):  # bad, good, bad, good: never three bad in a row
        assert feed(e, cfg, i, *([drift] if i % 2 == 0 else [])) == []
    assert e.incidents == {}
    for i in range(12, 15):
        feed(e, cfg, i, drift)
    assert only_incident(e).status == "open"
    sent = []
    for i in range(15, 30):  # now it flickers: never two good windows in a row, so it stays one firing alert
        sent += feed(e, cfg, i, *([drift] if i % 2 == 0 else []))
    assert sent == [] and only_incident(e).status == "open"


def test_a_p0_schema_break_fires_on_its_first_window() -> None:
    e, cfg = Engine(), config()
    notices = feed(e, cfg, 0, finding("missing_column", "income", "P0"))
    assert [(n.event, n.severity) for n in notices] == [("opened", "P0")]
    assert only_incident(e).to_dict()["time_to_detect_s"] == W + 120


def test_a_threshold_hovering_at_its_limit_does_not_flap() -> None:
    cfg = config(alerts={"for_windows": 2, "rules": [
        {"name": "slow", "type": "threshold", "metric": "latency_p99", "above": 1.0, "clear": 0.8}]})
    e = Engine()
    values = [1.2, 1.3, 0.95, 1.05, 0.9, 1.01, 0.85, 1.1]  # fires, then hovers between clear (0.8) and 1.0
    sent = []
    for i, v in enumerate(values):
        sent += feed(e, cfg, i, latency_p99=v)
    assert [n.event for n in sent] == ["opened"]
    assert feed(e, cfg, 8, latency_p99=0.7) == []  # one good window: resolve_windows is 2
    assert [n.event for n in feed(e, cfg, 9, latency_p99=0.75)] == ["resolved"]


def test_severity_follows_size_and_a_p0_level_fires_at_once() -> None:
    cfg = config(alerts={"rules": [
        {"name": "errors", "type": "threshold", "metric": "error_rate", "above": 0.05, "p0": 0.3}]})
    e = Engine()
    notices = feed(e, cfg, 0, error_rate=0.4, requests=1000.0)
    assert [(n.event, n.severity) for n in notices] == [("opened", "P0")]


def test_serving_errors_are_built_in_and_need_enough_requests() -> None:
    e, cfg = Engine(), config()
    for i in range(4):  # six stray errors out of six requests: not a P0, not anything
        assert feed(e, cfg, i, error_rate=1.0, requests=6.0) == []
    assert e.incidents == {}
    notices = feed(e, cfg, 4, error_rate=0.4, requests=200.0)
    assert [(n.event, n.severity) for n in notices] == [("opened", "P0")]
    alert = only_incident(e).to_dict()["alerts"][0]
    assert alert["name"] == "serving_errors" and alert["role"] == "symptom"
    assert alert["summary"] == "40.0% of requests failed over the last window"


def test_a_gap_neither_confirms_nor_clears() -> None:
    e, cfg = Engine(), config()
    drift = finding("drift", "age")
    feed(e, cfg, 0, drift)
    feed(e, cfg, 1, drift)
    # windows 2..9 never closed (no traffic); the next window with the finding is the third bad one
    assert [n.event for n in feed(e, cfg, 10, drift)] == ["opened"]


def test_a_window_judged_twice_counts_once() -> None:
    e, cfg = Engine(), config()
    drift = finding("drift", "age")
    for _ in range(3):
        feed(e, cfg, 0, drift)  # a replay of the same window: still one bad window
    (alert,) = e.models["credit"].alerts.values()
    assert alert.status == "pending" and alert.streak(True) == 1


def test_a_restart_mid_pending_neither_loses_nor_duplicates() -> None:
    cfg = config()
    drift = finding("drift", "age")
    first = Engine()
    feed(first, cfg, 0, drift)
    first.window(cfg, window(1, drift), T0 + 2 * W + 120)
    saved = first.drain()
    # the process dies here; the next one loads what was saved and reads on (window 1 again: it was not
    # acknowledged by a saved cursor in this scenario, so it comes back)
    second = Engine()
    second.load(saved.models, [], [])
    assert feed(second, cfg, 1, drift) == []  # window 1 again: not a third bad window
    notices = feed(second, cfg, 2, drift)
    assert [n.event for n in notices] == ["opened"]
    assert feed(second, cfg, 3, drift) == []  # and only once


def test_an_incident_survives_a_restart_and_resolves_once() -> None:
    cfg = config()
    first = Engine()
    feed(first, cfg, 0, finding("missing_column", "income", "P0"))
    alerts_state = first.models["credit"].to_dict()
    inc_state = only_incident(first).to_state()
    second = Engine()
    second.load({"credit": alerts_state}, [Incident.from_state(inc_state)], [])
    assert feed(second, cfg, 1, finding("missing_column", "income", "P0")) == []  # no second "opened"
    feed(second, cfg, 2)
    notices = feed(second, cfg, 3)
    assert [(n.event, n.receiver) for n in notices] == [("resolved", "default")]


def rename_upstream(i: int, after: int) -> list[FindingSignal]:
    """Window ``i`` of a model whose column ``income`` an upstream job renamed to ``income_usd`` at window
    ``after``: the model reads income as missing, every feature derived from it shifts, and so does the
    prediction."""
    if i < after:
        return []
    out = [finding("missing_column", "income", "P0"), finding("extra_column", "income_usd", "P2")]
    derived = ["debt_ratio", "income_bucket", "savings_rate", "credit_util", "payment_ratio", "income_rank",
               "loan_to_income", "disposable", "tax_band", "net_worth", "spend_ratio", "housing_ratio"]
    out += [finding("drift", c, value=0.5 - k * 0.02) for k, c in enumerate(derived)]
    out += [finding("missing_values", c) for c in ("income_bucket", "income_rank", "tax_band")]
    out += [finding("prediction_drift", "score", value=0.4), finding("correlation_change", None, "P2")]
    return out


def test_twenty_alerts_from_one_upstream_break_are_one_incident_with_the_break_first() -> None:
    cfg = config(alerts={"for_windows": 3}, team="risk", owner="alice")
    e = Engine(external_url="http://argus:8080")
    sent: list[Notice] = []
    for i in range(6):
        sent += feed(e, cfg, i, *rename_upstream(i, after=2))
    # the accuracy drop follows, in the performance window of the same hours, once labels arrive
    perf = WindowSignal("credit", "v1", T0 + 2 * W, T0 + 4 * W, "performance", {"performance.roc_auc": 0.61},
                        [finding("performance_drop", "roc_auc")])
    for k in range(3):
        e.window(cfg, perf, T0 + 8 * W + k * 60)
        perf = WindowSignal("credit", "v1", perf.end, perf.end + 2 * W, "performance", perf.metrics, perf.findings)
    sent += e.drain().notices
    inc = only_incident(e).to_dict()
    assert len(inc["alerts"]) == 20
    assert [(n.event, n.severity) for n in sent] == [("opened", "P0")]  # one page, not twenty
    by_id = {a["id"]: a for a in inc["alerts"]}
    first = by_id[inc["causes"][0]["alert_id"]]
    assert (first["name"], first["labels"]) == ("missing_column", {"column": "income"})
    assert "'income_usd' appeared in the same window: renamed upstream?" in inc["causes"][0]["evidence"]
    drop = next(a for a in inc["alerts"] if a["name"] == "performance_drop")
    assert drop["role"] == "symptom" and drop["id"] not in {c["alert_id"] for c in inc["causes"]}
    ranked = [by_id[c["alert_id"]]["name"] for c in inc["causes"]]
    assert ranked[:2] == ["missing_column", "extra_column"]
    assert ranked.index("missing_values") < ranked.index("drift") < ranked.index("correlation_change")
    top_drift = next(c for c in inc["causes"] if by_id[c["alert_id"]]["name"] == "drift")
    assert by_id[top_drift["alert_id"]]["labels"] == {"column": "debt_ratio"}
    assert "the largest of 12 drifted feature(s); the prediction shifted too" in top_drift["evidence"]
    assert inc["title"] == "credit: missing_column income (+19 more)"
    assert sent[0].incident["url"] == f"http://argus:8080/v1/incidents/{inc['id']}"
    assert by_id[inc["causes"][0]["alert_id"]]["runbook_url"] == "http://argus:8080/v1/runbooks/missing_column?model=credit"


def test_two_hundred_models_at_once_are_two_hundred_incidents() -> None:
    e = Engine()
    cfgs = [config(model=f"m{k:03d}") for k in range(200)]
    sent: list[Notice] = []
    for i in range(4):
        for k, cfg in enumerate(cfgs):
            fs = rename_upstream(i, after=1) if k % 2 == 0 else [finding("drift", "x")] if i >= 1 else []
            e.window(cfg, window(i, *fs, model=cfg.model), T0 + (i + 1) * W + 120)
        sent += e.drain().notices
    assert len(e.incidents) == 200
    assert sorted(n.model for n in sent) == [c.model for c in cfgs]
    assert {n.severity for n in sent if int(n.model[1:]) % 2 == 0} == {"P0"}
    assert {n.severity for n in sent if int(n.model[1:]) % 2 == 1} == {"P1"}
    assert all(len(i.alerts) == 1 for i in e.incidents.values() if int(i.model[1:]) % 2 == 1)


def test_an_alert_long_after_an_incident_opens_a_new_one() -> None:
    e, cfg = Engine(), config(alerts={"group_within": "30m"})
    feed(e, cfg, 0, finding("missing_column", "a", "P0"))
    feed(e, cfg, 1, finding("missing_column", "a", "P0"), finding("missing_column", "b", "P0"))
    assert len(only_incident(e).alerts) == 2
    for i in range(2, 20):  # a stays broken for 90 minutes; c breaks after that: another incident
        feed(e, cfg, i, finding("missing_column", "a", "P0"), *([finding("missing_column", "c", "P0")] if i >= 19
                                                                 else []))
    assert len(e.incidents) == 2


def test_routes_by_tier_team_and_owner() -> None:
    cfg = config(team="risk", owner="alice", alerts={
        "webhook": None,
        "receivers": {"pager": {"webhook": "http://pager/x"}, "chat": {"slack": "https://hooks.slack.test/T/B"},
                      "alice": {"email": {"to": ["alice@example.com"]}}},
        "routes": [{"receiver": "pager", "severity": ["P0"]},
                   {"receiver": "alice", "severity": ["P0", "P1"], "owner": "alice", "continue": True},
                   {"receiver": "chat", "severity": ["P1"], "team": "risk"}]})
    e = Engine()
    assert [(n.receiver, n.event) for n in feed(e, cfg, 0, finding("missing_column", "x", "P0"))] == [("pager", "opened")]
    e2 = Engine()
    for i in range(3):
        got = feed(e2, cfg, i, finding("drift", "x"))
    assert [(n.receiver, n.event) for n in got] == [("alice", "opened"), ("chat", "opened")]
    e3 = Engine()
    for i in range(3):  # P2 goes to the backlog: an incident, no notice
        assert feed(e3, cfg, i, finding("new_categories", "x", "P2")) == []
    assert only_incident(e3).severity == "P2"


def test_an_escalation_is_told_and_acknowledgement_stops_repeats() -> None:
    cfg = config(alerts={"repeat": "1h"})
    e = Engine()
    for i in range(3):
        feed(e, cfg, i, finding("drift", "x"))
    inc = only_incident(e)
    notices = feed(e, cfg, 3, finding("drift", "x"), finding("missing_column", "y", "P0"))
    assert [(n.event, n.severity) for n in notices] == [("escalated", "P0")]
    e.tick(cfg, TickSignal("credit"), T0 + 4 * W + 120 + 3599)
    assert e.drain().notices == []
    e.tick(cfg, TickSignal("credit"), T0 + 4 * W + 120 + 3600)
    assert [n.event for n in e.drain().notices] == ["repeat"]
    e.acknowledge(inc.id, "bob", T0 + 4 * W + 3800)
    e.tick(cfg, TickSignal("credit"), T0 + 4 * W + 3 * 3600)
    assert e.drain().notices == []
    assert inc.status == "acknowledged" and inc.acknowledged_by == "bob"


def test_a_silence_mutes_until_it_ends() -> None:
    cfg = config()
    e = Engine()
    e.add_silence(Silence("sil-1", {"alertname": "drift", "model": "cred*"}, T0, T0 + 3600, "bob", "known"))
    for i in range(3):
        assert feed(e, cfg, i, finding("drift", "x")) == []
    inc = only_incident(e)
    assert inc.to_dict()["alerts"][0]["silenced_by"] == "sil-1"
    e.tick(cfg, TickSignal("credit"), T0 + 3601)
    assert [(n.event, n.severity) for n in e.drain().notices] == [("opened", "P1")]


def test_an_unexpected_version_is_a_cause() -> None:
    cfg = config(versions={"v3": {"expected": True}})
    e = Engine()
    assert feed(e, cfg, 0, version="v3") == []
    e.window(cfg, window(1, version="v4"), T0 + 2 * W + 120)
    notices = e.drain().notices
    assert [(n.event, n.severity) for n in notices] == [("opened", "P1")]
    alert = notices[0].incident["alerts"][0]
    assert (alert["name"], alert["role"], alert["model_version"]) == ("unexpected_version", "cause", "v4")
    assert alert["summary"] == "version v4 is serving; expected: v3"


def test_no_events_fires_at_once_and_resolves_when_traffic_returns() -> None:
    cfg = config(alerts={"rules": [{"name": "no_events", "type": "absence", "metric": "silence", "after": "15m",
                                    "severity": "P0"}]})
    e = Engine()
    e.tick(cfg, TickSignal("credit", silence=600), T0)
    assert e.drain().notices == []
    e.tick(cfg, TickSignal("credit", silence=960), T0 + 360)
    assert [(n.event, n.severity) for n in e.drain().notices] == [("opened", "P0")]
    e.tick(cfg, TickSignal("credit", silence=5), T0 + 420)
    assert [n.event for n in e.drain().notices] == ["resolved"]


def test_a_baseline_rule_judges_against_the_median_of_its_past() -> None:
    cfg = config(alerts={"rules": [{"name": "auc", "type": "baseline", "metric": "performance.roc_auc",
                                    "drop": 0.1, "p0_drop": 0.3, "for_windows": 1}]})
    past = [0.80, 0.82, 0.81, 0.79, 0.80]

    def history(version: str, metric: str, since: float, until: float) -> tuple[list[float], list[float]]:
        assert (version, metric) == ("v1", "performance.roc_auc")
        if until - since != 30 * 86400:  # the windows before the alert's own, for step or slope: none here
            return [], []
        return [since + k for k in range(len(past))], past

    e = Engine()

    def perf(i: int, auc: float) -> list[Notice]:
        e.window(cfg, WindowSignal("credit", "v1", T0 + i * 3600, T0 + (i + 1) * 3600, "performance",
                                   {"performance.roc_auc": auc}), T0 + (i + 2) * 3600, history)
        return e.drain().notices

    assert perf(0, 0.75) == []  # 6.25% below the median 0.80: within the 10% allowed
    notices = perf(1, 0.70)
    assert [(n.event, n.severity) for n in notices] == [("opened", "P1")]
    assert notices[0].incident["alerts"][0]["summary"] == (
        "performance.roc_auc = 0.7: 12.5% below its baseline 0.8 (median of 5 windows)")
    assert [(n.event, n.severity) for n in perf(2, 0.5)] == [("escalated", "P0")]


@pytest.mark.parametrize("bad_rule, message", [
    ({"name": "r", "type": "threshold", "metric": "latncy_p99", "above": 1},
     "unknown metric 'latncy_p99'; did you mean 'latency_p99'?"),
    ({"name": "r", "type": "threshold", "metric": "error_rate"}, "takes exactly one of 'above' or 'below'"),
    ({"name": "r", "type": "threshold", "metric": "error_rate", "above": 0.1, "clear": 0.2},
     "'clear' (0.2) must be on the good side of the limit (0.1)"),
    ({"name": "r", "type": "absence", "metric": "rows", "after": "5m"}, "an absence rule watches"),
    ({"name": "r", "type": "threshold", "metric": "findings.drfit", "above": 0},
     "unknown check 'drfit' in metric 'findings.drfit'; did you mean 'findings.drift'?"),
])
def test_rules_that_cannot_work_are_config_errors(bad_rule: dict[str, Any], message: str) -> None:
    from argusml.schema import ConfigError

    with pytest.raises(ConfigError) as info:
        config(alerts={"rules": [bad_rule]})
    assert message in str(info.value)


def test_a_route_to_a_missing_receiver_names_the_nearest() -> None:
    from argusml.schema import ConfigError

    with pytest.raises(ConfigError) as info:
        config(alerts={"receivers": {"pager": {"webhook": "http://p/x"}}, "routes": [{"receiver": "pagr"}]})
    assert "routes[0].receiver: no receiver named 'pagr'; did you mean 'pager'?" in str(info.value)


def test_an_slo_burning_fast_pages_and_stops_soon_after_the_burn() -> None:
    cfg = config(slos={"error_rate": {"objective": 0.999}})
    e = Engine()
    total = bad = 0.0
    sent: list[tuple[int, str, str]] = []
    for minute in range(0, 4 * 60):
        total += 1000
        if 120 <= minute < 185:
            bad += 20  # 2% of requests fail for 65 minutes: a burn rate of 0.02 / 0.001 = 20
        e.tick(cfg, TickSignal("credit", counters={"error_rate": (total, bad)}), T0 + minute * 60)
        sent += [(minute, n.event, n.severity) for n in e.drain().notices]
    (opened, resolved) = sent
    # at minute m the 1-hour window counts 20 * (m - 119) bad of 60,000: a burn of (m - 119) / 3, past 14.4
    # from m = 163 (the 5-minute window burns at 20 all along): the page goes out after 44 minutes of errors
    assert opened == (163, "opened", "P0")
    # the errors stop at minute 185; the 5-minute window is clean by minute 190: no P0 tier burns, and the
    # 6-hour window has not seen 90% of its span, so no lower tier either
    assert resolved[1:] == ("resolved", "P0") and 185 <= resolved[0] <= 190


def test_a_seasonal_rule_knows_a_monday_morning() -> None:
    cfg = config(alerts={"for_windows": 1, "rules": [
        {"name": "traffic", "type": "seasonal", "metric": "rows", "direction": "below", "k": 4}]})
    monday_8am = 1_799_654_400.0  # 2027-01-11 08:00 UTC, a Monday
    times = [monday_8am - w * 7 * 86400 + h * 3600 for w in range(1, 5) for h in range(-2, 3)]
    values = [5000.0 + 10 * (w % 3) if h == 0 else 1000.0 for w in range(1, 5) for h in range(-2, 3)]

    def history(version: str, metric: str, since: float, until: float) -> tuple[list[float], list[float]]:
        kept = [(t, v) for t, v in zip(times, values) if since <= t < until]
        return [t for t, _ in kept], [v for _, v in kept]

    def hour(rows: float) -> list[Notice]:
        e = Engine()
        e.window(cfg, WindowSignal("credit", "v1", monday_8am, monday_8am + 3600, "window", {"rows": rows}),
                 monday_8am + 3700, history)
        return e.drain().notices

    assert hour(4900.0) == []  # the usual Monday-morning peak
    notices = hour(1000.0)  # a night's traffic on a Monday morning: below its band
    assert [(n.event, n.severity) for n in notices] == [("opened", "P1")]
    assert "below its usual range for this hour of the week" in notices[0].incident["alerts"][0]["summary"]


@pytest.mark.parametrize("values, shape", [
    ([0.10, 0.11, 0.10, 0.09, 0.10, 0.50, 0.51, 0.50], "a sudden step"),
    ([0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45], "a gradual slope"),
])
def test_an_alert_says_whether_its_metric_stepped_or_sloped(values: list[float], shape: str) -> None:
    cfg = config(alerts={"rules": [{"name": "nulls", "type": "threshold", "metric": "missing_ratio.age",
                                    "above": 0.3}]})
    def history(version: str, metric: str, since: float, until: float) -> tuple[list[float], list[float]]:
        kept = [(T0 + i * W, v) for i, v in enumerate(values) if since <= T0 + i * W < until]
        return [t for t, _ in kept], [v for _, v in kept]

    e = Engine()
    for i, v in enumerate(values):
        w = window(i, **{"missing_ratio.age": v})
        e.window(cfg, w, w.end + 120, history)
    (alert,) = only_incident(e).to_dict()["alerts"]
    assert alert["summary"].endswith(f"({shape} over the last 8 windows)")


def test_an_alert_whose_rule_was_removed_resolves() -> None:
    rule = {"name": "slow", "type": "threshold", "metric": "latency_p99", "above": 1.0}
    cfg = config(alerts={"for_windows": 1, "rules": [rule]})
    e = Engine()
    assert [n.event for n in feed(e, cfg, 0, latency_p99=2.0)] == ["opened"]
    without = config(alerts={"for_windows": 1})  # the owner deleted the rule and reloaded the config
    assert [n.event for n in feed(e, without, 1, latency_p99=2.0)] == ["resolved"]
    assert feed(e, without, 2, latency_p99=2.0) == [] and e.incidents == {}


def test_a_model_s_alert_state_survives_its_round_trip() -> None:
    """A restarted service reads each model's state back: the versions it had seen must come back as versions,
    and the SLO save clock must not become one of them (a positional mix-up once made it a dict, and every
    alert pass of a model with SLOs failed after a restart)."""
    from argusml.alerts.engine import ModelAlerts

    state = ModelAlerts(slo_sampled_at=T0, versions={"v1": T0 + 60.0, "v2": T0 + 120.0})
    back = ModelAlerts.from_dict(state.to_dict())
    assert back.versions == {"v1": T0 + 60.0, "v2": T0 + 120.0}
    assert back.slo_sampled_at == T0
    assert back.slo_saved_at == float("-inf")
    assert back.to_dict() == state.to_dict()
