"""Advice never contradicts the findings and windows it summarises.

Histories are generated (hypothesis): hours of windows that drifted or not,
open quality findings, hourly and daily performance windows that held,
dropped or had too few labels. Each is written to a real store, advised on
as the service does (``model_advice``), and the advice is checked against
what the store holds, the way a user reading /status next to /advice would.
"""

from __future__ import annotations

import tempfile

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argusml.checks.advice import QUALITY_CHECKS
from argusml.monitor.advice import model_advice
from argusml.monitor.state import ModelState
from argusml.profile import Reference
from argusml.schema.model_config import ModelConfig
from argusml.store import FindingRow, PerformanceRow, Store, WindowRow

pytestmark = [pytest.mark.service, pytest.mark.slow]

HOUR, DAY = 3600.0, 86400.0
DAY0 = 1_799_971_200.0  # a UTC midnight
FEATURES = ("x", "z")


def _reference() -> Reference:
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    return Reference.from_frame(pd.DataFrame({"x": x, "z": rng.normal(size=2000), "score": rng.random(2000),
                                              "label": (x > 0).astype(int)}), prediction="score", target="label")


STATE = ModelState(ModelConfig(model="m", window="1h", performance={"min_labels": 100}), _reference())

hour_st = st.fixed_dictionaries({
    "drifted": st.lists(st.sampled_from(FEATURES), unique=True, max_size=2),
    "checked": st.booleans(),
    "quality": st.lists(st.sampled_from(["all_null", "sentinel_value", "type_errors"]), unique=True, max_size=2),
    "severity": st.sampled_from(["P0", "P1", "P2"]),
    "perf": st.sampled_from(["ok", "degraded", "insufficient", None]),
})
history_st = st.fixed_dictionaries({
    "hours": st.lists(hour_st, min_size=1, max_size=8),
    "day": st.sampled_from(["ok", "degraded", "insufficient", None]),
})


def _finding(check: str, column: str | None, severity: str, g: float, start: float, evidence: dict) -> FindingRow:
    return FindingRow("m", "v1", "*", g, start, start + g, check, column, severity, f"{check} on {column}",
                      orjson.dumps(evidence).decode(), start + g)


def _perf(g: float, start: float, status: str) -> tuple[PerformanceRow, list[FindingRow]]:
    labels = 50 if status == "insufficient" else 500
    acc = 0.7 if status == "degraded" else 0.9
    row = PerformanceRow("m", "v1", "*", g, start, start + g, 1000, labels, 60.0, 120.0, status,
                         orjson.dumps({"accuracy": {"value": acc}}).decode(), None, start + g)
    found = []
    if status == "degraded":
        found.append(_finding("performance_drop", "accuracy", "P1", g, start,
                              {"metric": "accuracy", "current": {"value": acc, "n": labels},
                               "baseline": {"value": 0.9}}))
    return row, found


def _write(store: Store, history: dict) -> None:
    closed = []
    for k, h in enumerate(history["hours"]):
        start = DAY0 + k * HOUR
        verdict = {"status": "drift" if h["drifted"] else "ok", "drifted_columns": h["drifted"],
                   "n_tested": 3 if h["checked"] else 0, "multivariate": {"status": None, "drifted": False}}
        if not h["checked"]:
            verdict = {"status": "not_checked", "reason": "too small"}
        found = [_finding("drift", c, "P1", HOUR, start, {}) for c in h["drifted"]] if h["checked"] else []
        found += [_finding(q, "x", h["severity"], HOUR, start, {}) for q in h["quality"]]
        closed.append((WindowRow("m", "v1", "*", HOUR, start, start + HOUR, True, 1000, 0, None,
                                 orjson.dumps(verdict).decode(), start + HOUR), found))
    store.save_windows(closed)
    keys, rows, found = [], [], []
    for k, h in enumerate(history["hours"]):
        if h["perf"] is not None:
            r, f = _perf(HOUR, DAY0 + k * HOUR, h["perf"])
            keys.append((HOUR, DAY0 + k * HOUR))
            rows.append(r)
            found += f
    if history["day"] is not None:
        r, f = _perf(DAY, DAY0, history["day"])
        keys.append((DAY, DAY0))
        rows.append(r)
        found += f
    if keys:
        store.save_performance("m", keys, rows, found)


def _newest_judged(store: Store, g: float) -> dict | None:
    rows = [r for r in store.performance("m", granularity=g, segment="*", limit=1000)
            if r["labels"] >= 100 and r["status"] in ("ok", "degraded")]
    return max(rows, key=lambda r: r["start_ts"]) if rows else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history_st)
def test_advice_never_contradicts_the_findings_it_summarises(history: dict) -> None:
    with tempfile.TemporaryDirectory() as d:
        store = Store(d)
        try:
            _write(store, history)
            now = DAY0 + len(history["hours"]) * HOUR + 60
            a = model_advice(store, STATE, now)["versions"]["v1"]
            # open: the newest window that was checked (a window too small to check closes nothing)
            checked = [w for w in store.windows("m", granularity=HOUR, closed=True, limit=100)
                       if orjson.loads(w["verdict"]).get("status") != "not_checked"]
            newest = checked[0] if checked else None
            open_ = [] if newest is None else [
                f for f in store.findings("m", granularity=HOUR, since=newest["end_ts"] - 1, until=newest["end_ts"],
                                          limit=100) if f["severity"] in ("P0", "P1")]
            judged = [j for j in (_newest_judged(store, g) for g in (HOUR, DAY)) if j is not None]
        finally:
            store.close()
    text = a["summary"] + " " + " ".join(a["actions"])
    degraded = any(j["status"] == "degraded" for j in judged)
    # what /status lists as open is never answered with "no action", and is named
    if open_:
        assert a["decision"] != "no_action", a["summary"]
    # the tree: a quality finding open means the data is fixed first, whatever drifted or dropped
    if any(f["check_name"] in QUALITY_CHECKS for f in open_):
        assert a["decision"] == "fix_data", a["summary"]
        assert a["actions"][0].startswith("Fix the data feeding the model first"), a["actions"]
        assert not any(x.startswith("Retrain") for x in a["actions"]), a["actions"]
        for f in open_:
            assert f"{f['severity']} {f['check_name']} on" in a["summary"], (f, a["summary"])
    # "holds" only when no granularity's newest judged window dropped, on a window wholly after the onset
    if "Performance holds" in a["summary"]:
        assert not degraded, a["summary"]
        drift = a["evidence"].get("drift") or {}
        if "onset" in drift:
            assert any(j["status"] == "ok" and j["start_ts"] >= drift["onset"] for j in judged), a["summary"]
    if degraded:  # a drop is acted on or looked into, never waited out (no calendar here)
        assert a["decision"] in ("investigate", "retrain", "rollback", "fix_data", "disable_feature"), a["summary"]
        assert "realised_drop" in a["evidence"], a["summary"]
    # a drift the advice itself reports is never denied in the same breath
    if "drift" in a["evidence"] and "onset" in a["evidence"]["drift"]:
        assert "no input drift explains it" not in text, text
    if a["decision"] == "no_action":
        assert not open_ and not degraded
        if "No drift" in a["summary"]:
            assert "onset" not in (a["evidence"].get("drift") or {})


# -- an incident's recommendation and the model's advice, for the same state --------------------------------------
def _incident_and_advice(running_monitor, **window) -> tuple[dict, dict, object]:
    from argusml.monitor import Settings
    from service_util import FAST, make_reference
    from test_alerting_service import close_window
    from test_notify import Hook

    hook = Hook()
    cfg = ModelConfig(model="m", window="1m", lateness="0s", alerts={"webhook": hook.url})
    r = running_monitor((cfg, make_reference()), settings=Settings(**FAST, alert_every=3600.0, alert_on_close=False))
    close_window(r, 0)
    close_window(r, 1, **window)
    (inc,) = r.client.get("/v1/incidents", params={"model": "m"}).json()
    shown = r.client.get(f"/v1/incidents/{inc['id']}").json()
    advice = r.client.get("/v1/models/m/advice").json()
    assert hook.wait_for(1)
    hook.close()
    return shown, advice, (r, hook)


def test_a_renamed_column_ends_in_fix_data_in_the_incident_its_notification_and_the_advice(running_monitor):
    from typer.testing import CliRunner

    from argusml.cli.main import app

    inc, advice, (r, hook) = _incident_and_advice(running_monitor, rename=True)
    rec = inc["recommendation"]
    assert rec["decision"] == "fix_data" == advice["decision"]
    assert rec["summary"].startswith("Fix the data: all_null on x0 [P0]") and "Likely root cause: all_null on x0" in \
        rec["summary"]
    assert rec["actions"][0].startswith("Fix the data feeding the model first (all_null")
    assert advice["summary"].startswith("Fix the data. The data is broken: all_null")
    # the notification carries it as an annotation (Alertmanager's format)
    payload = hook.posts[0][1]
    assert payload["commonAnnotations"]["recommendation"] == f"{rec['summary']} Next: {rec['actions'][0]}"
    # and `argus incidents show` prints it before the causes
    out = CliRunner().invoke(app, ["incidents", "show", inc["id"], "--url", r.live().url])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[2] == f"recommendation: FIX DATA: {rec['summary']}"
    assert lines[3] == f"  -> {rec['actions'][0]}"


def test_an_error_burst_fails_open_in_the_incident_and_the_advice(running_monitor):
    inc, advice, _ = _incident_and_advice(running_monitor, errors=0.5)
    assert [a["name"] for a in inc["alerts"]] == ["serving_errors"]
    rec = inc["recommendation"]
    assert rec["decision"] == "fail_open" == advice["decision"]
    assert rec["summary"].startswith("Fail open to the fallback: serving is failing: serving_errors [P0]")
    assert advice["summary"].startswith("Fail open to the fallback. Serving is failing: serving_errors [P0]")
    # the same actions, but the advice knows the breakers the clients report (none here), the incident does not
    acts = advice["versions"][advice["version"]]["actions"]
    assert acts[1:] == rec["actions"][1:]
    assert acts[0].startswith("No circuit breaker reports to Argus for this model")
    assert rec["actions"][0].startswith("Fail open: let the circuit breaker serve the fallback")
