"""The alert engine inside a running monitor: windows close in the real store, the alert thread judges them,
incidents are read and acted on over the real app, and state survives a restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from argusml.monitor import Settings
from argusml.schema.model_config import model_config_from_dict
from service_util import FAST, T0, Running, event, make_reference

pytestmark = pytest.mark.service


QUIET = Settings(**FAST, alert_every=3600.0, alert_on_close=False)
"""The alert thread waits an hour between passes: the test runs each pass itself (``run_once``), so what a
pass returns is all that happened."""


def model(**alerts: Any) -> Any:
    return model_config_from_dict({"model": "m", "window": "1m", "lateness": "0s", "owner": "alice",
                                   "alerts": {"webhook": "http://127.0.0.1:9/hook", **alerts}}, "m.yaml")


def close_window(r: Running, w: int, *, rename: bool = False, shift: float = 0.0, n: int = 300,
                 errors: float = 0.0) -> Any:
    """Send one minute of events (``x0`` renamed upstream to ``x0_v2`` with ``rename``; with ``errors``, that
    share of the requests failing), close the window and run an alert pass; the pass's changes."""
    rng = np.random.default_rng(1000 + w)  # not the reference's seed: its draws would repeat the reference's values
    events = []
    for i in range(n):
        served = {"status": 500 if i < errors * n else 200, "latency_ms": 40.0} if errors else {}
        e = event(f"{w}-{i}", rng, shift=shift, timestamp=r.clock.t + i * 0.1, **served)
        if rename:
            e["features"]["x0_v2"] = e["features"].pop("x0")
        events.append(e)
    assert r.client.post("/v1/models/m/events", json=events).status_code == 200
    r.clock.advance(60)
    assert r.monitor.wait_idle()
    return r.monitor.alerting.run_once()


def test_a_renamed_column_is_one_incident_over_http(running_monitor: Callable[..., Running]) -> None:
    r = running_monitor((model(), make_reference()), settings=QUIET)
    close_window(r, 0)
    assert r.client.get("/v1/incidents").json() == []
    changes = close_window(r, 1, rename=True)
    assert [(n.event, n.severity, n.receiver) for n in changes.notices] == [("opened", "P0", "default")]
    for w in range(2, 5):
        close_window(r, w, rename=True)
    (inc,) = r.client.get("/v1/incidents", params={"model": "m"}).json()
    assert (inc["model"], inc["status"], inc["severity"], inc["owner"]) == ("m", "open", "P0", "alice")
    names = {(a["name"], a["labels"].get("column")) for a in inc["alerts"]}
    assert {("all_null", "x0"), ("extra_column", "x0_v2")} <= names
    first = next(a for a in inc["alerts"] if a["id"] == inc["causes"][0]["alert_id"])
    assert (first["name"], first["labels"]["column"]) == ("all_null", "x0")
    assert inc["opened_at"].endswith("Z") and inc["time_to_detect_s"] == 60.0
    assert r.client.get(f"/v1/incidents/{inc['id']}").json()["id"] == inc["id"]
    firing = r.client.get("/v1/alerts", params={"model": "m"}).json()
    assert {a["name"] for a in firing} >= {"all_null", "extra_column"}
    metrics = r.client.get("/metrics").text
    assert 'argus_incidents_open{model="m",severity="P0"} 1.0' in metrics
    assert 'argus_alerts{model="m",severity="P0",state="firing"} 1.0' in metrics

    acked = r.client.post(f"/v1/incidents/{inc['id']}/ack", json={"by": "bob", "comment": "looking"}).json()
    assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "bob")
    assert r.client.get("/v1/incidents", params={"status": "acknowledged"}).json()[0]["id"] == inc["id"]
    done = r.client.post(f"/v1/incidents/{inc['id']}/resolve", json={"by": "bob"}).json()
    assert (done["status"], done["resolved_by"]) == ("resolved", "bob")
    assert "## Timeline" in done["postmortem"]
    again = r.client.post(f"/v1/incidents/{inc['id']}/ack")
    assert again.status_code == 409 and again.json()["error"] == "incident_resolved"
    missing = r.client.get("/v1/incidents/inc-000000000000")
    assert missing.status_code == 404 and "GET /v1/incidents lists them" in missing.json()["detail"]
    # a person resolved it while the column is still missing: no new incident until the alert clears and recurs
    close_window(r, 5, rename=True)
    assert len(r.client.get("/v1/incidents").json()) == 1


def test_silences_over_http(running_monitor: Callable[..., Running]) -> None:
    r = running_monitor((model(), make_reference()), settings=QUIET)
    bad = r.client.post("/v1/silences", json={"matchers": {"model": "m"}})
    assert bad.status_code == 400 and "exactly one of 'duration'" in bad.json()["detail"]
    made = r.client.post("/v1/silences", json={"matchers": {"model": "m", "alertname": "all_*"}, "duration": "1h",
                                               "author": "bob", "comment": "migration"})
    assert made.status_code == 201
    s = made.json()
    changes = close_window(r, 0, rename=True)
    assert changes.notices == []  # silenced: the incident opens, nobody is paged
    (inc,) = r.client.get("/v1/incidents").json()
    assert {a["name"]: a["silenced_by"] for a in inc["alerts"]}["all_null"] == s["id"]
    listed = r.client.get("/v1/silences").json()
    assert [(x["id"], x["active"], x["author"]) for x in listed] == [(s["id"], True, "bob")]
    assert r.client.delete(f"/v1/silences/{s['id']}").status_code == 200
    assert r.client.get("/v1/silences").json()[0]["active"] is False
    changes = close_window(r, 1, rename=True)
    assert [(n.event, n.severity) for n in changes.notices] == [("opened", "P0")]


def test_a_restart_mid_pending_neither_loses_nor_duplicates(running_monitor: Callable[..., Running]) -> None:
    cfg, ref = model(for_windows=3), make_reference()
    r = running_monitor((cfg, ref), settings=QUIET)
    close_window(r, 0)
    close_window(r, 1, shift=1.5)
    close_window(r, 2, shift=1.5)
    pending = {a["name"] for a in r.client.get("/v1/alerts").json() if a["status"] == "pending"}
    assert "drift" in pending and r.client.get("/v1/incidents").json() == []
    clock = r.clock
    r.stop()
    r2 = running_monitor((cfg, ref), clock=clock, settings=QUIET)
    sent = close_window(r2, 3, shift=1.5).notices
    assert [(n.event, n.receiver) for n in sent] == [("opened", "default")]
    (inc,) = r2.client.get("/v1/incidents").json()
    drift = [a for a in inc["alerts"] if a["name"] == "drift"]
    assert drift and all(a["starts_at"] == inc["first_bad_at"] for a in drift)
    assert close_window(r2, 4, shift=1.5).notices == []
    assert len(r2.client.get("/v1/incidents").json()) == 1


@pytest.mark.slow
def test_argus_incidents_from_the_command_line(running_monitor: Callable[..., Running]) -> None:
    r = running_monitor((model(), make_reference()), settings=QUIET)
    close_window(r, 0, rename=True)
    srv = r.live()

    def argus(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "argusml.cli.main", *args], capture_output=True, text=True,
                              timeout=60)

    p = argus("incidents", "list", "--url", srv.url, "--model", "m", "--json")
    assert p.returncode == 0, p.stderr
    (inc,) = json.loads(p.stdout)
    assert {"id", "model", "status", "severity", "opened_at", "alerts", "causes"} <= set(inc)
    assert {"id", "name", "severity", "role"} <= set(inc["alerts"][0])
    assert {"alert_id", "rank", "evidence"} <= set(inc["causes"][0])
    shown = argus("incidents", "show", inc["id"], "--url", srv.url)
    assert shown.returncode == 0 and "likely causes:" in shown.stdout and "all_null" in shown.stdout
    acked = argus("incidents", "ack", inc["id"], "--url", srv.url, "--by", "carol")
    assert (acked.returncode, acked.stdout.strip()) == (0, f"{inc['id']}: acknowledged")
    down = argus("incidents", "list", "--url", "http://127.0.0.1:9")
    assert down.returncode == 2 and "cannot reach the service" in down.stderr and "Traceback" not in down.stderr
    assert argus("incidents", "show", "inc-nope", "--url", srv.url).returncode == 2


def test_incident_rows_survive_in_the_store(tmp_path: Path, running_monitor: Callable[..., Running]) -> None:
    cfg, ref = model(), make_reference()
    r = running_monitor((cfg, ref), settings=QUIET)
    close_window(r, 0, rename=True)
    (before,) = r.client.get("/v1/incidents").json()
    clock = r.clock
    r.stop()
    r2 = running_monitor((cfg, ref), clock=clock, settings=QUIET)
    (after,) = r2.client.get("/v1/incidents").json()
    assert after["id"] == before["id"] and after["status"] == "open"
    assert after["id"] in r2.monitor.alerting.engine.incidents


def test_an_incident_reaches_its_webhook_and_resolves_there(running_monitor: Callable[..., Running]) -> None:
    from test_notify import Hook

    hook = Hook()
    try:
        r = running_monitor((model(webhook=hook.url + "/am"), make_reference()), settings=QUIET)
        close_window(r, 0, rename=True)
        assert hook.wait_for(1)
        path, body = hook.posts[0]
        (inc,) = r.client.get("/v1/incidents").json()
        assert (path, body["version"], body["status"], body["groupKey"]) == ("/am", "4", "firing", inc["id"])
        labels = body["alerts"][0]["labels"]
        assert (labels["alertname"], labels["model"], labels["severity"], labels["incident_id"]) == (
            "all_null", "m", "P0", inc["id"])
        assert body["alerts"][0]["annotations"]["runbook_url"].endswith("/v1/runbooks/all_null?model=m")
        r.client.post(f"/v1/incidents/{inc['id']}/resolve", json={"by": "bob"})
        assert hook.wait_for(2)
        assert [b["status"] for _, b in hook.posts] == ["firing", "resolved"]
        assert hook.posts[1][1]["groupKey"] == inc["id"]
    finally:
        hook.close()


def test_a_failing_notifier_is_an_alert_a_finding_and_a_metric(running_monitor: Callable[..., Running]) -> None:
    from test_notify import Hook

    hook = Hook()
    hook.script = [(400, "no such route", {})]  # refused for good: not retried
    try:
        r = running_monitor((model(webhook=hook.url + "/gone"), make_reference()), settings=QUIET)
        close_window(r, 0, rename=True)
        assert hook.wait_for(1)
        deadline = time.monotonic() + 10
        while not r.monitor.alerting.sender.gave_up and time.monotonic() < deadline:
            time.sleep(0.02)
        close_window(r, 1, rename=True)
        firing = {a["name"]: a for a in r.client.get("/v1/alerts").json()}
        assert firing["notifier_failing"]["labels"] == {"receiver": "default"}
        assert "HTTP 400" in firing["notifier_failing"]["summary"]
        found = r.client.get("/v1/models/m/findings", params={"limit": 1000}).json()["findings"]
        assert any(f["check"] == "notifier_failing" and "'default'" in f["message"] for f in found)
        assert 'argus_notifications_failed_total{model="m",receiver="default"} 1.0' in r.client.get("/metrics").text
    finally:
        hook.close()


def test_an_error_budget_burning_fast_pages_from_the_running_service(running_monitor: Callable[..., Running]) -> None:
    from test_notify import Hook

    hook = Hook()
    # hour-long windows: the SLO is judged on the clock (its counters sampled each minute), not per window
    cfg = model_config_from_dict({"model": "m", "window": "1h", "lateness": "0s",
                                  "slos": {"error_rate": {"objective": 0.99}},
                                  "alerts": {"webhook": hook.url}}, "m.yaml")
    r = running_monitor((cfg, make_reference()), settings=QUIET)
    r.clock.t = T0 - T0 % 3600
    sent = []
    rng = np.random.default_rng(7)
    for minute in range(105):  # a quiet hour, then 20% of requests failing: a burn of 20 against a 1% budget
        events = [event(f"{minute}-{i}", rng, timestamp=r.clock.t + i, latency_ms=80.0,
                        status=500 if minute >= 60 and i < 10 else 200) for i in range(50)]
        assert r.client.post("/v1/models/m/events", json=events).status_code == 200
        r.clock.advance(60)
        r.monitor.flush_index()
        sent += [(minute, n.event, n.severity) for n in r.monitor.alerting.run_once().notices]
    # the 1-hour window passes 14.4 once 44 of its 60 minutes failed at 20x (14.4 / 20 * 60 = 43.2)
    assert sent == [(103, "opened", "P0")]
    st = r.client.get("/v1/models/m/slos").json()["error_rate"]
    assert st["objective"] == 0.99 and st["burn_rates"]["5m"] == pytest.approx(20.0)
    assert st["burn_rates"]["3d"] is None  # three days not sampled yet: no rate rather than a guess
    assert st["alert"] == {"status": "firing", "severity": "P0"}
    (inc,) = r.client.get("/v1/incidents").json()
    assert [a["name"] for a in inc["alerts"]] == ["slo_error_rate"]
    assert hook.wait_for(1) and hook.posts[0][1]["alerts"][0]["labels"]["alertname"] == "slo_error_rate"
    hook.close()
    metrics = r.client.get("/metrics").text
    (line,) = [x for x in metrics.splitlines() if x.startswith('argus_slo_burn_rate{model="m",slo="error_rate",window="5m"}')]
    assert float(line.split()[-1]) == pytest.approx(20.0)
    assert 'argus_slo_error_budget_remaining{model="m",slo="error_rate"}' in metrics


def test_the_clock_sees_the_performance_job_s_newest_windows(running_monitor: Callable[..., Running]) -> None:
    """Quality SLOs and label-lag rules read the newest judged performance window and the newest window's lag
    (what /status shows), not nothing."""
    cfg = model_config_from_dict({"model": "m", "window": "1m", "lateness": "0s",
                                  "performance": {"min_labels": 50},
                                  "alerts": {"webhook": "http://127.0.0.1:9/hook"}}, "m.yaml")
    r = running_monitor((cfg, make_reference()), settings=QUIET)
    rng = np.random.default_rng(11)
    events = [event(f"p{i}", rng, timestamp=r.clock.t + i * 0.1) for i in range(400)]
    assert r.client.post("/v1/models/m/events", json=events).status_code == 200
    labels = [{"id": e["id"], "label": int(rng.random() < e["prediction"])} for e in events]
    r.clock.advance(90)
    assert r.client.post("/v1/models/m/labels", json=labels).status_code == 200
    r.clock.advance(60)
    assert r.monitor.wait_idle()
    r.monitor.update_performance(force=True)
    sig = r.monitor.alerting.tick_signal(r.monitor.model("m"), r.clock())
    perf = r.client.get("/v1/models/m/status").json()["performance"]["unversioned"]
    assert sig.performance["roc_auc"] == perf["judged"]["metrics"]["roc_auc"]["value"]
    assert sig.label_lag == perf["latest"]["label_lag_p90_seconds"] and sig.label_lag > 60
    # and the alert pass reads the performance windows written (a quality rule judges them)
    from argusml.monitor.alerting import PERF_CURSOR

    r.monitor.alerting.run_once()
    assert r.monitor.alerting._cursors[PERF_CURSOR] == max(
        p["updated_at"] for p in r.monitor.store.performance("m", limit=1000))
