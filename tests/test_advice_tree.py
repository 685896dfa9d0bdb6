"""The decision tree: each branch from a hand-built AdviceInputs, the precedence between them, the calendar,
the review sample, the incident's recommendation from its alerts; ``outcome_drop`` against hand calculations
and a trusted reference (scipy's Fisher test), with its size bounded by alpha exactly."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from argusml.checks.advice import (
    DECISIONS,
    TREE,
    CalendarPeriod,
    DriftRun,
    Drop,
    OutcomeDrop,
    ReviewEstimate,
    advise,
    recommend_incident,
)
from argusml.checks.outcomes import outcome_drops
from argusml.schema.errors import ConfigError
from argusml.schema.model_config import model_config_from_dict
from argusml.stats.outcomes import mean_drop_p, rate_drop_p
from test_advice import inputs

DAY = 86400.0
NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC, as in test_advice


DRIFT = DriftRun(onset=NOW - 3 * DAY, windows=72, features=["income", "age"], multivariate=False)
ONE = DriftRun(onset=NOW - DAY, windows=24, features=["income"], multivariate=True, residual_features=["income"])
DROP = Drop(metric="accuracy", current=0.80, baseline=0.90, since=NOW - 3 * DAY, labels=500)
NULLS = {"check": "missing_values", "column": "income", "severity": "P1", "window_start": NOW - 3600,
         "window_end": NOW}
BURST = {"id": "al-1", "name": "serving_errors", "severity": "P0", "role": "symptom", "status": "firing",
         "model_version": "v1", "labels": {}, "summary": "31.0% of requests failed over the last window",
         "value": 0.31}
SLOW = {"id": "al-2", "name": "slo_latency", "severity": "P1", "role": "symptom", "status": "firing",
        "model_version": "", "labels": {}, "summary": "latency SLO burning 6x", "value": 6.0}
OK_AFTER = {"start": NOW - 7200, "end": NOW - 3600, "labels": 800, "metrics": {}}


def test_the_tree_is_the_documented_order_and_every_decision_is_ranked():
    assert [t[0] for t in TREE] == ["fail_open", "scale_or_restart", "rollback", "fix_data", "wait",
                                    "disable_feature", "retrain", "investigate", "wait", "no_action"]
    assert {t[0] for t in TREE} == set(DECISIONS)


def test_fail_open_on_an_error_burst_before_anything_else():
    rb = {"previous": "v0", "reasons": ["accuracy worse."]}
    a = advise(inputs(incident_alerts=[BURST, SLOW], rollback=rb, open_findings=[NULLS], drift=DRIFT,
                      realised_drop=DROP, labels_since={DRIFT.onset: 5000}))
    assert a["decision"] == "fail_open" and a["evidence"]["tree_step"] == 1
    assert a["summary"].startswith("Fail open to the fallback. Serving is failing: serving_errors [P0] (version v1): "
                                   "31.0% of requests failed")
    assert a["actions"][0].startswith("Fail open: let the circuit breaker serve the fallback")
    # a dependency down is a failing serve too
    dep = {**BURST, "name": "dependency_down", "severity": "P1", "labels": {"dependency": "features"}}
    assert advise(inputs(incident_alerts=[dep]))["decision"] == "fail_open"


def test_failing_open_names_the_breakers_the_clients_report():
    def first(breakers: dict[str, str]) -> str:
        return advise(inputs(incident_alerts=[BURST], breakers=breakers))["actions"][0]

    assert first({"scorer on pod-1": "open", "scorer on pod-2": "closed"}).startswith(
        "The circuit breaker(s) scorer on pod-1 are open: their fallback already answers.")
    assert first({"scorer on pod-1": "closed", "scorer on pod-2": "half_open"}).startswith(
        "Open the circuit breaker(s) scorer on pod-1, scorer on pod-2 (now closed, half_open)")
    assert first({}).startswith("No circuit breaker reports to Argus for this model: route the traffic")


def test_latency_and_errors_without_a_burst_scale_or_restart():
    a = advise(inputs(incident_alerts=[SLOW, {**BURST, "severity": "P1"}], drift=DRIFT, realised_drop=DROP,
                      labels_since={DRIFT.onset: 5000}))
    assert a["decision"] == "scale_or_restart" and a["summary"].startswith("Scale or restart. Serving is degraded: ")
    assert "slo_latency [P1]" in a["summary"] and "Scale out or restart" in a["actions"][0]
    # another version's alerts are not this version's serving
    other = advise(inputs(incident_alerts=[{**BURST, "model_version": "v0"}]))
    assert other["decision"] == "no_action"


def test_rollback_comes_before_the_data_and_an_unexpected_version_rolls_back():
    rb = {"previous": "v0", "reasons": ["accuracy 0.71 vs 0.90."]}
    a = advise(inputs(rollback=rb, open_findings=[NULLS]))
    assert a["decision"] == "rollback" and a["summary"].startswith("Roll back. Version v1 is worse than v0")
    unexpected = {**BURST, "name": "unexpected_version", "severity": "P1", "role": "cause"}
    assert advise(inputs(incident_alerts=[unexpected]))["decision"] == "rollback"


def test_a_quality_finding_upstream_of_drift_fixes_the_data_not_retrain():
    a = advise(inputs(drift=DRIFT, realised_drop=DROP, labels_since={DRIFT.onset: 5000}, open_findings=[NULLS]))
    assert a["decision"] == "fix_data"
    assert a["summary"].startswith("Fix the data. The data is broken upstream of the drift: missing_values")
    assert "Realised accuracy fell to 0.8 from 0.9" in a["summary"]  # the facts stay in the reasons
    assert a["actions"][0].startswith("Fix the data feeding the model first (missing_values)")
    assert "serving without feature 'income'" in a["actions"][1]
    assert not any("Retrain on data" in x for x in a["actions"])
    # the same inputs without the finding: retrain
    assert advise(inputs(drift=DRIFT, realised_drop=DROP, labels_since={DRIFT.onset: 5000}))["decision"] == "retrain"
    # a firing quality alert of an open incident is broken data too
    stale = {**BURST, "name": "stale_data", "severity": "P1", "role": "cause"}
    assert advise(inputs(incident_alerts=[stale]))["decision"] == "fix_data"


def test_drift_for_x_days_is_said():
    a = advise(inputs(drift=DRIFT))
    assert "(72 window(s) in a row; drift for 3.0 days)" in a["summary"]
    assert a["evidence"]["drift"]["lasted_s"] == 3 * DAY
    b = advise(inputs(drift=DriftRun(onset=NOW - 5400, windows=1, features=["x"], multivariate=False)))
    assert "drift for 1.5 hours" in b["summary"]


def test_a_declared_holiday_waits_with_its_name_and_outlasting_it_does_not():
    sale = CalendarPeriod("black friday", NOW - 4 * DAY, NOW + DAY)
    a = advise(inputs(drift=DRIFT, realised_drop=DROP, labels_since={DRIFT.onset: 5000}, calendar=[sale]))
    assert a["decision"] == "wait" and a["summary"].startswith("Wait. It began during 'black friday' (")
    assert a["evidence"]["calendar"]["name"] == "black friday"
    assert a["actions"][0].startswith("Wait until 'black friday' is over") and "do not retrain" in a["actions"][0]
    # began before the period: not the holiday's doing
    late = CalendarPeriod("black friday", NOW - 2 * DAY, NOW + DAY)
    assert advise(inputs(drift=DRIFT, realised_drop=DROP, labels_since={DRIFT.onset: 5000},
                         calendar=[late]))["decision"] == "retrain"
    # the period ended more than a day ago and the drift goes on: judged as any other, and said
    past = CalendarPeriod("black friday", NOW - 4 * DAY, NOW - 2 * DAY)
    b = advise(inputs(drift=DRIFT, realised_drop=DROP, labels_since={DRIFT.onset: 5000}, calendar=[past]))
    assert b["decision"] == "retrain" and "which ended 2027-01-13 08:00 UTC: it outlasted it" in b["summary"]
    # broken data is not a holiday
    assert advise(inputs(drift=DRIFT, open_findings=[NULLS], calendar=[sale]))["decision"] == "fix_data"


def test_one_drifted_feature_that_hurts_without_labels_to_retrain_is_disabled():
    est = Drop(metric="accuracy", current=0.7, baseline=0.9, since=NOW - DAY, labels=3)
    a = advise(inputs(drift=ONE, estimated_drop=est))
    assert a["decision"] == "disable_feature" and a["summary"].startswith("Disable feature 'income'. Only feature "
                                                                           "'income' drifted and the rest hold")
    assert a["actions"][0].startswith("Disable feature 'income'") and a["evidence"]["disable_feature"] == "income"
    # two features drifted: no single one to switch off
    assert advise(inputs(drift=DRIFT, estimated_drop=est))["decision"] == "investigate"
    # labels enough to retrain on the new population: retrain beats switching a feature off
    drop = Drop(metric="accuracy", current=0.8, baseline=0.9, since=ONE.onset, labels=500)
    assert advise(inputs(drift=ONE, realised_drop=drop, labels_since={ONE.onset: 5000}))["decision"] == "retrain"
    # drifted but unhurt (no evidence of harm): not disabled
    assert advise(inputs(drift=ONE))["decision"] == "investigate"


def test_an_outcome_drop_is_investigated_and_outside_the_model_when_labels_hold():
    o = OutcomeDrop("conversion", "rate", 0.06, 0.10, NOW - 2 * 3600, 2, 1e-6, 2000)
    a = advise(inputs(outcome_drops=[o]))
    assert a["decision"] == "investigate"
    assert ("Business outcome conversion (share of predictions with it) fell to 0.06 from 0.1: 2 window(s) in a row "
            "since 2027-01-15 06:00 UTC (p 1e-06; 2000 predictions in the newest).") in a["summary"]
    held = advise(inputs(outcome_drops=[o], judged_ok={**OK_AFTER, "start": NOW - 3600}))
    assert "likely outside the model" in held["summary"] and "Look outside the model first" in held["actions"][0]


def test_the_review_sample_is_evidence_for_and_against_a_drop_where_labels_are_scarce():
    worse = ReviewEstimate("accuracy", 0.78, 0.72, 0.84, 150, 0.90)
    a = advise(inputs(drift=DRIFT, review=worse))
    assert a["decision"] == "investigate" and "credibly worse, the drop is real" in a["summary"]
    assert any("The review sample confirms a drop" in x for x in a["actions"])
    same = ReviewEstimate("accuracy", 0.89, 0.84, 0.93, 150, 0.90)
    b = advise(inputs(drift=DRIFT, review=same))
    assert b["decision"] == "wait" and "no sign of a drop" in b["summary"]
    # it outranks the label-free estimate
    est = Drop(metric="accuracy", current=0.7, baseline=0.9, since=NOW - DAY, labels=3)
    c = advise(inputs(estimated_drop=est, review=same))
    assert c["decision"] == "no_action" and "outranks the label-free estimate" in c["summary"]
    # lower is better for MAE: an interval wholly above the baseline is worse
    mae = ReviewEstimate("mean_absolute_error", 3.0, 2.6, 3.4, 150, 2.0)
    assert advise(inputs(drift=ONE, review=mae))["decision"] == "disable_feature"


def test_every_decision_but_no_action_comes_with_an_action():
    cases = [inputs(proxy_shifts=["entropy_mean"]), inputs(drift=DRIFT), inputs(open_findings=[NULLS]),
             inputs(drift=DRIFT, judged_ok=OK_AFTER), inputs(incident_alerts=[SLOW])]
    for a in map(advise, cases):
        assert a["actions"] and a["reasons"], a
    proxies = advise(cases[0])
    assert proxies["decision"] == "investigate" and proxies["actions"][0].startswith("Look at what moved: ")


def test_harmless_drift_waits_and_nothing_is_no_action():
    assert advise(inputs(drift=DRIFT, judged_ok=OK_AFTER))["decision"] == "wait"
    a = advise(inputs())
    assert a["decision"] == "no_action" and a["evidence"]["tree_step"] == len(TREE)


# -- the incident's recommendation: the same tree from its alerts -------------------------------------------
def _alert(i: int, name: str, severity: str = "P1", role: str = "cause", column: str | None = None,
           status: str = "firing") -> dict:
    return {"id": f"al-{i}", "name": name, "severity": severity, "role": role, "status": status,
            "model_version": "v1", "labels": {"column": column} if column else {}, "summary": f"{name} moved",
            "value": None}


def test_incident_recommendations_by_cause():
    def rec(*alerts: dict) -> dict:
        causes = [{"alert_id": a["id"], "rank": k} for k, a in enumerate([a for a in alerts if a["role"] == "cause"], 1)]
        return recommend_incident("credit", list(alerts), causes)

    r = rec(_alert(1, "missing_column", "P0", column="income"), _alert(2, "drift", column="age"),
            _alert(3, "performance_drop", role="symptom"))
    assert r["decision"] == "fix_data"
    assert r["summary"] == ("Fix the data: missing_column on income [P0] (version v1): missing_column moved. Likely "
                            "root cause: missing_column on income [P0] (version v1): missing_column moved.")
    assert r["actions"][0].startswith("Fix the data feeding the model first (missing_column)")
    assert rec(_alert(1, "unexpected_version"), _alert(2, "drift", column="x"))["decision"] == "rollback"
    assert rec(_alert(1, "serving_errors", "P1", "symptom"))["decision"] == "scale_or_restart"
    assert rec(_alert(1, "serving_errors", "P0", "symptom"))["decision"] == "fail_open"
    assert rec(_alert(1, "dependency_down", "P1"), _alert(2, "missing_column", "P0", column="x"))["decision"] == \
        "fail_open"
    one = rec(_alert(1, "drift", column="income"), _alert(2, "performance_drop", role="symptom"))
    assert one["decision"] == "disable_feature" and "'income'" in one["summary"]
    drift = rec(_alert(1, "drift", column="income"), _alert(2, "drift", column="age"))
    assert drift["decision"] == "investigate" and "GET /v1/models/credit/advice" in drift["actions"][0]
    # resolved: what it was about
    assert rec(_alert(1, "stale_data", status="resolved"))["decision"] == "fix_data"


# -- outcome_drop ---------------------------------------------------------------------------------------------
def _summary(hits: int, n: int) -> dict:
    return {"predictions": n, "with_outcome": hits, "total": float(hits), "sum_squares": float(hits)}


def _series(rates: list[float], n: int = 2000) -> dict[float, dict]:
    return {k * 3600.0: {"conversion": _summary(round(r * n), n)} for k, r in enumerate(rates)}


def test_rate_drop_p_is_fisher_one_sided():
    # the trusted reference: scipy's Fisher exact test on the 2x2 table, alternative "less"
    for hits, n, bh, bn in ((120, 2000, 200, 2000), (190, 2000, 200, 2000), (3, 50, 10, 60), (0, 10, 0, 10)):
        ref = stats.fisher_exact([[hits, n - hits], [bh, bn - bh]], alternative="less").pvalue
        assert rate_drop_p(hits, n, bh, bn) == pytest.approx(ref, rel=1e-9, abs=1e-15)
    with pytest.raises(ValueError, match="hits must lie in"):
        rate_drop_p(5, 4, 1, 10)


def test_mean_drop_p_by_hand():
    # z = (2.0 - 2.5) / sqrt(4/400 + 4/400) = -3.5355; Phi(z) = 2.035e-4
    assert mean_drop_p(2.0, 4.0, 400, 2.5, 4.0, 400) == pytest.approx(stats.norm.cdf(-0.5 / math.sqrt(0.02)))
    assert mean_drop_p(2.0, 4.0, 20, 2.5, 4.0, 400) == 1.0  # too few to trust the normal


def test_conversion_010_to_006_on_2000_a_window_fires_and_010_to_0095_does_not():
    # two baseline hours at 0.10 (400 of 4000), then two hours at 0.06 (120 of 2000 each)
    f = outcome_drops(_series([0.10, 0.10, 0.06, 0.06]), 3 * 3600.0, 3600.0, windows=2, trailing=30 * DAY,
                      alpha=0.05)
    assert [(x.check, x.column, x.severity.value) for x in f] == [("outcome_drop", "conversion", "P1")]
    ev = f[0].evidence
    assert ev["measure"] == "rate" and ev["current"] == {"value": 0.06, "n": 2000}
    assert ev["baseline"] == {"value": 0.10, "n": 4000, "windows": 2} and ev["since"] == 2 * 3600.0
    assert ev["p_values"] == [pytest.approx(stats.fisher_exact([[120, 1880], [400, 3600]], alternative="less").pvalue)] * 2
    assert ev["alpha"] == 0.05  # 0/1 outcomes: the mean is the rate, tested once
    assert outcome_drops(_series([0.10, 0.10, 0.095, 0.095]), 3 * 3600.0, 3600.0, windows=2, trailing=30 * DAY,
                         alpha=0.05) == []
    # one window down is not a sustained drop
    assert outcome_drops(_series([0.10, 0.10, 0.10, 0.06]), 3 * 3600.0, 3600.0, windows=2, trailing=30 * DAY,
                         alpha=0.05) == []
    # a gap in the run, or no baseline before it: nothing to judge
    gap = _series([0.10, 0.10, 0.06, 0.06])
    del gap[2 * 3600.0]
    assert outcome_drops(gap, 3 * 3600.0, 3600.0, windows=2, trailing=30 * DAY, alpha=0.05) == []
    assert outcome_drops(_series([0.06, 0.06]), 3600.0, 3600.0, windows=2, trailing=30 * DAY, alpha=0.05) == []


def test_revenue_per_prediction_is_tested_by_welch_at_half_alpha():
    base = {"predictions": 1000, "with_outcome": 250, "total": 2500.0, "sum_squares": 25000.0}  # 250 x 10.0
    low = {"predictions": 1000, "with_outcome": 250, "total": 1250.0, "sum_squares": 6250.0}  # 250 x 5.0
    series = {0.0: {"revenue": base}, 3600.0: {"revenue": low}, 7200.0: {"revenue": low}}
    f = outcome_drops(series, 7200.0, 3600.0, windows=2, trailing=30 * DAY, alpha=0.05)
    assert [(x.evidence["measure"], x.evidence["alpha"]) for x in f] == [("per_prediction", 0.025)]
    # by hand: means 1.25 vs 2.5; variances (6250 - 1000 * 1.5625) / 999 and (25000 - 6250) / 999
    v1, v0 = (6250 - 1562.5) / 999, (25000 - 6250) / 999
    p = stats.norm.cdf((1.25 - 2.5) / math.sqrt(v1 / 1000 + v0 / 1000))
    assert f[0].evidence["p_values"] == [pytest.approx(p)] * 2 and f[0].evidence["current"]["value"] == 1.25


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 0.99), st.integers(1, 40), st.integers(1, 40), st.sampled_from([0.01, 0.05, 0.2]))
def test_identical_rates_fire_with_probability_at_most_alpha(p: float, n: int, base_n: int, alpha: float):
    """Exactly, not by simulation: the chance that the test fires, summed over every outcome of two
    independent binomials with the same rate, never exceeds alpha."""
    import numpy as np

    x = np.arange(n + 1)
    y = np.arange(base_n + 1)
    px, py = stats.binom.pmf(x, n, p), stats.binom.pmf(y, base_n, p)
    fire = np.array([[rate_drop_p(int(a), n, int(b), base_n) < alpha for b in y] for a in x])
    size = float(px @ fire.astype(float) @ py)
    assert size <= alpha + 1e-12, (p, n, base_n, size)


# -- calendar: config ------------------------------------------------------------------------------------------
def test_calendar_config_validates_and_recurs_yearly():
    cfg = model_config_from_dict({"model": "m", "calendar": [
        {"name": "christmas", "start": "2026-12-24", "end": "2026-12-26", "recurring": "yearly"},
        {"name": "migration", "start": "2027-01-15T06:00:00Z", "end": "2027-01-15T09:30:00Z"}]}, "m.yaml")
    xmas, mig = cfg.calendar
    # a date end includes its whole day (UTC): 24 Dec 00:00 to 27 Dec 00:00
    assert xmas.periods(NOW - 60 * DAY, NOW) == [(1_798_070_400.0, 1_798_329_600.0)]  # 2026
    assert xmas.periods(NOW, NOW + 365 * DAY) == [(1_829_606_400.0, 1_829_865_600.0)]  # 2027
    assert mig.periods(NOW - DAY, NOW) == [(NOW - 7200, NOW + 5400)]
    assert mig.periods(NOW + DAY, NOW + 2 * DAY) == []
    with pytest.raises(ConfigError) as e:
        model_config_from_dict({"model": "m", "calendar": [{"name": "sale", "start": "2026-11-27",
                                                            "end": "2026-11-20"}]}, "m.yaml")
    assert str(e.value) == ("m.yaml: calendar[0]: calendar event 'sale': end 2026-11-20 is not after start 2026-11-27: "
                            "swap them, or give the last day as end (a date end includes its whole day)")
    with pytest.raises(ConfigError, match=r"calendar\[0\]\.start: not a date or datetime: 'soon'"):
        model_config_from_dict({"model": "m", "calendar": [{"name": "x", "start": "soon", "end": "2026-11-20"}]},
                               "m.yaml")
    with pytest.raises(ConfigError, match="recurring"):
        model_config_from_dict({"model": "m", "calendar": [{"name": "x", "start": "2026-11-20",
                                                            "end": "2026-11-21", "recurring": "weekly"}]}, "m.yaml")


# -- outcome_drop through the running service ----------------------------------------------------------------
@pytest.mark.service
def test_service_conversion_that_falls_is_an_outcome_drop_and_an_input_to_advice(tmp_path):
    import numpy as np

    from argusml.monitor import Settings
    from argusml.schema.model_config import ModelConfig
    from service_util import Clock, make_reference, start_monitor

    day0 = (NOW // DAY) * DAY + 8 * 3600
    clock = Clock(day0)
    running = start_monitor(tmp_path / "data", (ModelConfig(model="m", window="1h", lateness="1m"), make_reference()),
                            clock=clock, settings=Settings(tick_every=0.02, snapshot_every=0.05,
                                                           performance_every=3600))
    mon, store, client = running.monitor, running.store, running.client
    try:
        rng = np.random.default_rng(5)
        from service_util import event

        for h, rate in enumerate((0.10, 0.10, 0.06, 0.06)):
            t0 = day0 + h * 3600
            clock.t = t0 + 3500
            ev = [event(f"{h}-{i}", rng, timestamp=t0 + 5 + 1.5 * i) for i in range(2000)]
            assert client.post("/v1/models/m/events", json=ev).status_code == 200
            won = [{"id": f"{h}-{i}", "name": "conversion", "value": 1, "timestamp": t0 + 3000}
                   for i in range(round(rate * 2000))]
            assert client.post("/v1/models/m/outcomes", json=won).status_code in (200, 202)
        clock.t = day0 + 4 * 3600 + 120
        assert mon.wait_idle() and mon.wait_idle()
        mon.update_performance(force=True)
        found = [f for f in store.findings("m", granularity=3600.0, limit=100) if f["check_name"] == "outcome_drop"]
        # hour 3 is the second hour in a row at 0.06 against the 0.10 of hours 0-1; hour 2 alone is not a run
        assert [(f["window_start"], f["column_name"], f["severity"]) for f in found] == \
            [(day0 + 3 * 3600, "conversion", "P1")]
        a = client.get("/v1/models/m/advice").json()
        assert a["decision"] == "investigate", a["summary"]
        assert "Business outcome conversion (share of predictions with it) fell to 0.06 from 0.1" in a["summary"]
    finally:
        mon.stop()
        store.close()


def test_every_notification_says_the_recommendation():
    from argusml.alerts.notify import _email_lines, alertmanager_payload, slack_payload

    rec = recommend_incident("credit", [_alert(1, "missing_column", "P0", column="income")],
                             [{"alert_id": "al-1", "rank": 1, "evidence": "moved first"}])
    inc = {"id": "inc-1", "model": "credit", "status": "open", "severity": "P0", "title": "credit: missing_column",
           "opened_at": "2027-01-15T08:00:00Z", "alerts": [{**_alert(1, "missing_column", "P0", column="income"),
                                                            "starts_at": "2027-01-15T08:00:00Z", "fingerprint": "f"}],
           "causes": [{"alert_id": "al-1", "rank": 1, "evidence": "moved first"}], "recommendation": rec}
    notice = {"event": "opened", "receiver": "default", "incident": inc}
    line = f"{rec['summary']} Next: {rec['actions'][0]}"
    assert alertmanager_payload(notice, "http://argus")["alerts"][0]["annotations"]["recommendation"] == line
    blocks = slack_payload(notice)["blocks"]
    assert blocks[2]["text"]["text"] == f"*Recommendation*\n{line}"
    lines = [t for t, _ in _email_lines(notice)]
    at = lines.index("Recommendation")
    assert lines[at + 1] == rec["summary"] and lines[at + 2] == f"- {rec['actions'][0]}"
    # an incident shown without one (stored before recommendations existed) still notifies, without the line
    old = {**notice, "incident": {k: v for k, v in inc.items() if k != "recommendation"}}
    assert "recommendation" not in alertmanager_payload(old, "http://argus")["alerts"][0]["annotations"]
