"""The alert engine inside a running monitor: windows close in the real store, the alert thread judges them,
incidents are read and acted on over the real app, and state survives a restart."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from argusml.monitor import Settings
from argusml.schema.model_config import model_config_from_dict
from service_util import FAST, Running, event, make_reference

pytestmark = pytest.mark.service


QUIET = Settings(**FAST, alert_every=3600.0)
"""The alert thread waits an hour between passes: the test runs each pass itself (``run_once``), so what a
pass returns is all that happened."""


def model(**alerts: Any) -> Any:
    return model_config_from_dict({"model": "m", "window": "1m", "lateness": "0s", "owner": "alice",
                                   "alerts": {"webhook": "http://127.0.0.1:9/hook", **alerts}}, "m.yaml")


def close_window(r: Running, w: int, *, rename: bool = False, shift: float = 0.0, n: int = 300) -> Any:
    """Send one minute of events (``x0`` renamed upstream to ``x0_v2`` with ``rename``), close the window and
    run an alert pass; the pass's changes."""
    rng = np.random.default_rng(1000 + w)  # not the reference's seed: its draws would repeat the reference's values
    events = []
    for i in range(n):
        e = event(f"{w}-{i}", rng, shift=shift, timestamp=r.clock.t + i * 0.1)
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
