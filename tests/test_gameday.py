"""`argus gameday` against a real service: every fault detected and alerted within its budget, a fault the
service cannot see fails the run, and the pieces the game day stands on (traffic drawn from the reference,
the baseline read back over HTTP, a label lag that grows once labels stop)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from argusml.cli.gameday import FAULTS, Row, column_of, table
from argusml.monitor import Settings
from argusml.profile import Reference
from argusml.schema.model_config import model_config_from_dict
from service_util import FAST, T0, Running, event, make_reference, reference_frame

pytestmark = pytest.mark.service

WINDOW = 5.0
"""Seconds. Short enough that eight faults take two minutes, long enough that a busy two-core machine (a load
of 12 while this was written) still closes, checks and alerts a window inside the budgets (detection in 2
windows, an alert in 3): at 2 and 3 s windows the service's own passes ran seconds late there."""

LIVE = Settings(tick_every=0.05, snapshot_every=0.1, alert_every=0.1, performance_every=1.0)
"""The real clock; the fold, alert and performance passes many times a window (the defaults' 1 s, 1 s and
10 s are for 5-minute windows)."""


def gameday_config(**extra: Any) -> Any:
    """The default config but for short windows: a lateness of a fifth of the window (the default's 2 minutes
    of 5 would be 2 s here), provisional looks every 2 s (30 s of 5 minutes would be 0.5 s; 1 s is the least
    allowed, and fewer looks spare the busy machine), and alerts after 2 bad windows instead of 3 (one window
    less to wait per fault)."""
    return model_config_from_dict({"model": "m", "window": f"{WINDOW:g}s", "lateness": f"{WINDOW / 5:g}s",
                                   "provisional": {"every": "2s"}, "alerts": {"for_windows": 2}, **extra}, "m.yaml")


def gameday(url: str, *args: str, timeout: float = 600) -> tuple[int, dict[str, Any], str]:
    """`argus gameday --json` in a child process: (exit code, its JSON, its stderr)."""
    p = subprocess.run([sys.executable, "-m", "argusml.cli.main", "gameday", "--url", url, "--model", "m",
                        "--json", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}, p.stderr


@pytest.mark.slow
def test_every_fault_is_detected_and_alerted_within_its_budget(running_monitor: Callable[..., Running]) -> None:
    r = running_monitor((gameday_config(), make_reference()), clock=time.time, settings=LIVE)
    srv = r.live()
    before = r.client.get("/v1/models/m").json()["config"]
    code, out, err = gameday(srv.url)
    rows = {f["fault"]: f for f in out["faults"]}
    assert list(rows) == list(FAULTS), err
    for name, row in rows.items():
        if name == "dependency" and row["verdict"] == "skipped":  # a service without dependencies: yet
            assert row["note"].startswith("not supported by this server"), row
            continue
        assert row["verdict"] == "ok", (row, err[-3000:])
        assert row["detected_after_s"] <= row["detect_budget"]
        assert row["alert_budget"] is None or row["alerted_after_s"] <= row["alert_budget"]
    assert code == 0 and out["passed"]
    # budgets: two windows to detect, for_windows + 1 to alert; labels their horizon (two windows) plus two
    assert rows["shift"]["detect_budget"] == 2 * WINDOW and rows["shift"]["alert_budget"] == 3 * WINDOW
    assert rows["labels-stop"]["detect_budget"] == rows["labels-stop"]["alert_budget"] == 4 * WINDOW
    assert rows["malformed"]["alert_budget"] is None  # refused at the door: no alert expected
    # what showed each fault is the fault's own signal, on the fault's own version
    assert rows["shift"]["detected_by"].endswith("finding drift on x0 (P1)")
    assert "missing_values on x0" in rows["nulls"]["detected_by"]
    assert rows["errors"]["alerted_by"].startswith("alert serving_errors firing (P0)")
    assert rows["latency"]["alerted_by"].startswith("alert gameday_latency firing")
    assert rows["worse-version"]["version"].endswith("-worse-version-new")
    assert rows["worse-version"]["alerted_by"].startswith("alert performance_drop firing")
    assert rows["labels-stop"]["alerted_by"].startswith("alert label_lag firing")
    # a latency rule, a label rule, performance.report; and the heartbeat dependency where the server has them
    assert len(out["config_changes"]) == 3 + (rows["dependency"]["verdict"] == "ok")
    # the model's own config is back as it was, and the incidents the faults opened were resolved
    assert r.client.get("/v1/models/m").json()["config"] == before
    incidents = r.client.get("/v1/incidents", params={"model": "m", "limit": 1000}).json()
    by = {i["id"]: i for i in incidents}
    for row in rows.values():
        inc = (row["alerted_by"] or "").rpartition(" in ")[2]
        if inc.startswith("inc-"):
            assert by[inc]["status"] == "resolved" and by[inc]["resolved_by"] == "argus-gameday"


@pytest.mark.slow
def test_a_fault_the_service_cannot_see_fails_the_run(running_monitor: Callable[..., Running]) -> None:
    """The built-in serving_errors rule replaced by one that fires only past 99% failures: a 30% error burst
    goes unseen, and the game day says so and exits 1."""
    cfg = gameday_config(alerts={"for_windows": 2, "rules": [
        {"name": "serving_errors", "type": "threshold", "metric": "error_rate", "above": 0.99}]})
    r = running_monitor((cfg, make_reference()), clock=time.time, settings=LIVE)
    srv = r.live()
    code, out, err = gameday(srv.url, "--faults", "errors")
    assert code == 1, err
    (row,) = out["faults"]
    assert row["fault"] == "errors" and row["verdict"] == "FAIL: not detected, no alert"
    assert row["detected_at"] is None and row["alerted_at"] is None and not out["passed"]


def test_unknown_faults_are_refused_with_the_known_ones() -> None:
    p = subprocess.run([sys.executable, "-m", "argusml.cli.main", "gameday", "--url", "http://127.0.0.1:9",
                        "--model", "m", "--faults", "shift,drought"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.strip() == ("argus: error: --faults: unknown fault(s) drought; choose from "
                                + ", ".join(FAULTS))


def test_healthy_traffic_falls_in_the_reference_bins_as_the_reference_does() -> None:
    """Drawn bin by bin from the reference's own counts, healthy traffic does not drift: each bin's share of
    20,000 draws is within 0.5 points of the reference's."""
    ref = make_reference()
    d = ref.to_dict()
    col = column_of("x0", d["columns"]["x0"])
    assert len(col.counts) == len(col.edges) + 1
    values = np.asarray(col.sample(np.random.default_rng(5), 20_000))
    edges = np.asarray(col.edges)
    pos = np.concatenate([[0], np.searchsorted(np.sort(values), edges, side="right"), [values.size]])
    drawn = np.diff(pos) / values.size
    expected = np.asarray(col.counts) / sum(col.counts)
    assert np.abs(drawn - expected).max() < 0.005
    # the reference's own standard deviation (x0 is standard normal): what the shift is measured in
    assert col.sd == pytest.approx(float(reference_frame()["x0"].std(ddof=1)), rel=1e-9)
    cat = column_of("cat", d["columns"]["cat"])
    drawn_cats = cat.sample(np.random.default_rng(6), 20_000)
    assert {k: round(drawn_cats.count(k) / 20_000, 2) for k in "abc"} == {"a": 0.51, "b": 0.29, "c": 0.2}


def test_a_row_fails_for_each_budget_it_misses() -> None:
    def row(detected: float | None, alerted: float | None, alert_budget: float | None = 12.0) -> Row:
        r = Row("shift", "x", injected_at=100.0, detect_budget=8.0, alert_budget=alert_budget,
                detected_at=None if detected is None else 100.0 + detected,
                alerted_at=None if alerted is None else 100.0 + alerted)
        r.judge()
        return r

    assert row(8.0, 12.0).verdict == "ok"
    assert row(8.5, 12.0).verdict == "FAIL: detected late"
    assert row(3.0, 12.5).verdict == "FAIL: alerted late"
    assert row(None, None).verdict == "FAIL: not detected, no alert"
    assert row(3.0, None, alert_budget=None).verdict == "ok"
    text = table([row(3.0, 9.0)], 4.0)
    assert text.splitlines()[2].split() == ["shift", "00:01:40.000", "3.0s", "(0.8w)", "9.0s", "(2.2w)", "2w", "/",
                                           "3w", "ok"]


def test_the_baseline_comes_back_over_http(running_monitor: Callable[..., Running]) -> None:
    """What the game day draws its traffic from, and what PUT takes back with a changed config."""
    ref = make_reference()
    r = running_monitor((gameday_config(), ref))
    got = r.client.get("/v1/models/m/reference")
    assert got.status_code == 200
    again = Reference.from_dict(got.json())
    assert again.to_dict()["columns"] == ref.to_dict()["columns"] and again.n_rows == ref.n_rows
    missing = r.client.get("/v1/models/m/reference", params={"version": "v9"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "model 'm' has no reference of its own for version 'v9'; versions with one: none"
    assert r.client.get("/v1/models/nope/reference").status_code == 404


def test_the_label_lag_grows_once_labels_stop(running_monitor: Callable[..., Running]) -> None:
    """The newest performance window's lag never grows once labels stop (a window without labels has no lag);
    the clock's label_lag is at least the time since the last label while predictions keep coming."""
    cfg = model_config_from_dict({"model": "m", "window": "1m", "lateness": "0s"}, "m.yaml")
    r = running_monitor((cfg, make_reference()), settings=Settings(**FAST, alert_every=3600.0,
                                                                    alert_on_close=False))
    rng = np.random.default_rng(3)
    alerting, state = r.monitor.alerting, r.monitor.model("m")

    def send(prefix: str, labels: bool) -> None:
        events = [event(f"{prefix}{i}", rng, timestamp=r.clock.t) for i in range(20)]
        assert r.client.post("/v1/models/m/events", json=events).status_code == 200
        if labels:
            ls = [{"id": e["id"], "label": int(rng.random() < e["prediction"])} for e in events]
            assert r.client.post("/v1/models/m/labels", json=ls).status_code in (200, 202)
        assert r.monitor.wait_idle()

    assert alerting.tick_signal(state, r.clock()).label_lag is None  # no label yet: nothing is late
    send("a", labels=True)
    assert alerting.tick_signal(state, r.clock()).label_lag is None  # labels just came
    r.clock.advance(100)
    send("b", labels=False)
    assert alerting.tick_signal(state, r.clock()).label_lag == pytest.approx(100.0)
    r.clock.advance(50)
    assert alerting.tick_signal(state, r.clock()).label_lag == pytest.approx(150.0)
    send("c", labels=True)  # labels again: waiting starts over
    assert alerting.tick_signal(state, r.clock()).label_lag is None
    assert r.clock() == T0 + 150
