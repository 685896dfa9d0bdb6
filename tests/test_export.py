"""`argus export`, checked by the tools that consume its files: promtool, amtool, a real Alertmanager, the
Grafana SDK, and, end to end, a real Prometheus evaluating the rules against a real `argus serve` and firing
into a real Alertmanager that delivers to a local webhook.

The binaries come from Debian's packages (scripts/install-test-deps.sh); without them these tests skip with
the reason, except under CI=true, where a missing binary is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from argusml.cli.main import app
from argusml.export import RuleOptions, alertmanager_config, grafana_dashboards, load_dashboard, prometheus_rules
from argusml.export.metrics import SERIES
from argusml.export.prometheus import latency_good_ratio
from argusml.schema.model_config import load_model_document
from service_util import free_port, log_tail, require_binaries, stop_process, wait_ready

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "prometheus"
MODELS = DATA / "models"
PROMETHEUS, PROMTOOL = "/usr/bin/prometheus", "/usr/bin/promtool"
ALERTMANAGER, AMTOOL = "/usr/bin/prometheus-alertmanager", "/usr/bin/amtool"
ARGUS = str(Path(sys.executable).with_name("argus"))
runner = CliRunner()

# what the other parts of the release add to /metrics (their own collectors), by the names they agreed on
NEW_SERIES = {"argus_stage_duration_seconds_bucket", "argus_stage_duration_seconds_sum", "argus_stage_duration_seconds_count",
              "argus_fallback_events_total", "argus_cost_total", "argus_cost_per_prediction", "argus_event_resource_usage",
              "argus_dependency_up", "argus_dependency_probe_duration_seconds", "argus_dependency_age_seconds",
              "argus_circuit_breaker_state"}


def _service_series() -> set[str]:
    """Every series name the service's collector exposes, read from its source: the families it builds and the
    names a query uses for them (``_total`` for counters, the three series of a histogram)."""
    src = (ROOT / "src" / "argusml" / "service" / "metrics.py").read_text()
    out: set[str] = set()
    for kind, name in re.findall(r'(Counter|Gauge|Histogram)MetricFamily\(\s*"(argus_\w+)"', src):
        out |= ({f"{name}_total"} if kind == "Counter" else
                {f"{name}_{p}" for p in ("bucket", "sum", "count")} if kind == "Histogram" else {name})
    assert len(out) > 40, sorted(out)  # the regex still finds the families
    return out


def _names_in(expr: str) -> set[str]:
    """The argus_* series a PromQL expression reads (a recording rule's own name, level:metric:op, is not one)."""
    return set(re.findall(r"(?<![\w:])argus_[a-z0-9_]+", expr))


def _configs() -> list[Any]:
    return [load_model_document(p) for p in sorted(MODELS.glob("*.yaml"))]


def _export(tmp: Path, *args: str) -> Path:
    res = runner.invoke(app, ["export", *args])
    assert res.exit_code == 0, res.output
    return tmp


# ---------------------------------------------------------------- the metric names


def test_export_knows_exactly_the_series_argus_exposes() -> None:
    assert _service_series() | NEW_SERIES == set(SERIES)


def test_rules_read_only_series_argus_exposes() -> None:
    known = _service_series() | NEW_SERIES
    doc = prometheus_rules(_configs(), RuleOptions(cost_budgets={"credit": 40.0}))
    read = set().union(*(_names_in(r["expr"]) for g in doc["groups"] for r in g["rules"]))
    assert read <= known, sorted(read - known)
    # every concern has its rule: SLO burn, serving errors, drift, freshness, labels, incidents, deps, breaker, cost
    alerts = {r["alert"] for g in doc["groups"] for r in g["rules"] if "alert" in r}
    assert alerts == {"slo_error_rate", "slo_latency", "slo_freshness", "slo_quality", "serving_errors", "drift",
                      "stale_data", "label_lag", "incident_open", "dependency_down", "circuit_breaker_open",
                      "cost_budget", "labels_stopped"}
    for g in doc["groups"]:
        for r in g["rules"]:
            if "alert" in r:
                assert r["labels"].get("severity", "series") in ("P0", "P1", "P2", "series"), r
                assert set(r["annotations"]) >= {"summary", "runbook_url"}, r


def test_dependency_rules_take_the_severity_the_engine_gives(tmp_path: Path) -> None:
    # one rule per declared dependency: its own severity first, then alerts.checks.dependency_down, else P1
    def deps(doc: str) -> dict[str, str]:
        (tmp_path / "m.yaml").write_text(doc)
        rules = prometheus_rules([load_model_document(tmp_path / "m.yaml")], RuleOptions())
        return {r["expr"].split('dependency="')[1].split('"')[0]: r["labels"]["severity"]
                for g in rules["groups"] for r in g["rules"] if r.get("alert") == "dependency_down"}

    listed = ("dependencies:\n  - {name: fs, kind: tcp, address: 'fs:6379', severity: P0}\n"
              "  - {name: vdb, kind: http, url: 'http://vdb:8000/health'}\n")
    assert deps("model: m\n" + listed) == {"fs": "P0", "vdb": "P1"}
    assert deps("model: m\nalerts: {checks: {dependency_down: P2}}\n" + listed) == {"fs": "P0", "vdb": "P2"}
    assert deps("model: m\nalerts: {checks: {dependency_down: 'off'}}\n" + listed) == {"fs": "P0"}
    assert deps("model: m\n") == {}


def test_latency_slo_interpolates_within_a_bucket_as_the_engine_does() -> None:
    # 0.6 s lies between the bounds 0.5 and 0.75: 40% of the way, so good = b(0.5) + (b(0.75) - b(0.5)) * 0.4
    q = latency_good_ratio("credit", 0.6, 300)
    assert 'le="0.5"' in q and 'le="0.75"' in q and "* 0.4)" in q
    exact = latency_good_ratio("credit", 1.0, 300)
    assert 'le="1.0"' in exact and "*" not in exact
    assert 'le="0.005"' in latency_good_ratio("credit", 0.001, 300) and "* 0.2)" in latency_good_ratio("credit", 0.001, 300)


# ---------------------------------------------------------------- Prometheus rules


def test_promtool_accepts_the_rules_of_the_example_configs_and_the_smallest_one(tmp_path: Path) -> None:
    require_binaries(PROMTOOL)
    smallest = tmp_path / "smallest"
    smallest.mkdir()
    (smallest / "m.yaml").write_text("model: m\n")
    for name, config in (("examples", MODELS), ("smallest", smallest), ("one file", MODELS / "credit.yaml")):
        out = tmp_path / f"{name}.rules.yml"
        _export(tmp_path, "prometheus-rules", "--config", str(config), "-o", str(out))
        p = subprocess.run([PROMTOOL, "check", "rules", str(out)], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "SUCCESS" in p.stdout, f"{name}: {p.stdout}{p.stderr}"
    # the example with every SLO: each has its burn rate over all five windows and three tiers of alerts
    doc = yaml.safe_load((tmp_path / "examples.rules.yml").read_text())
    credit = next(g for g in doc["groups"] if g["name"] == "argus.model.credit")
    burns = [(r["labels"]["slo"], r["record"]) for r in credit["rules"] if r.get("record", "").startswith("model_slo:argus_slo_burn")]
    assert len(burns) == 4 * 5
    tiers = sorted((r["alert"], r["labels"]["severity"]) for r in credit["rules"] if r.get("alert", "").startswith("slo_"))
    assert tiers == sorted((f"slo_{s}", t) for s in ("error_rate", "latency", "freshness", "quality") for t in ("P0", "P1", "P2"))


@pytest.mark.slow  # promtool evaluates 3-day windows over 2 hours of samples: 6 s
def test_promtool_unit_tests_pass_on_the_exported_rules(tmp_path: Path) -> None:
    """tests/data/prometheus/rules_test.yml: input series in, expected alerts out (burn-rate tiers firing and not,
    serving errors, drift after for_windows, stale data, a dependency, the breaker, an open incident)."""
    require_binaries(PROMTOOL)
    _export(tmp_path, "prometheus-rules", "--config", str(MODELS), "--external-url", "http://argus:8080",
            "-o", str(tmp_path / "argus.rules.yml"))
    shutil.copy(DATA / "rules_test.yml", tmp_path / "rules_test.yml")
    p = subprocess.run([PROMTOOL, "test", "rules", str(tmp_path / "rules_test.yml")], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and "SUCCESS" in p.stdout, p.stdout + p.stderr


@pytest.mark.slow  # promtool evaluates 3-day windows over 2 hours of samples: 6 s
def test_the_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """The unit tests pin the numbers: rules that divided by a budget ten times smaller (an objective of 99.9%)
    would burn ten times faster, fire the P0 tier at 65 minutes and fail the file."""
    require_binaries(PROMTOOL)
    _export(tmp_path, "prometheus-rules", "--config", str(MODELS), "--external-url", "http://argus:8080",
            "-o", str(tmp_path / "argus.rules.yml"))
    rules = (tmp_path / "argus.rules.yml").read_text()
    (tmp_path / "argus.rules.yml").write_text(rules.replace(") / 0.01\n", ") / 0.001\n"))
    shutil.copy(DATA / "rules_test.yml", tmp_path / "rules_test.yml")
    p = subprocess.run([PROMTOOL, "test", "rules", str(tmp_path / "rules_test.yml")], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode != 0 and "slo_error_rate" in p.stdout + p.stderr


# ---------------------------------------------------------------- Alertmanager


def test_amtool_accepts_the_config_and_routes_by_tier_then_model(tmp_path: Path) -> None:
    require_binaries(AMTOOL)
    out = tmp_path / "alertmanager.yml"
    _export(tmp_path, "alertmanager", "--config", str(MODELS), "-o", str(out))
    p = subprocess.run([AMTOOL, "check-config", str(out)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "SUCCESS" in p.stdout, p.stdout + p.stderr
    assert "2 inhibit rules" in p.stdout and "6 receivers" in p.stdout, p.stdout
    cases = {  # labels -> receivers, in order: credit's routes (pager continues to chat), fraud's webhook
        ("alertname=slo_error_rate", "model=credit", "severity=P0"): "credit/pager,credit/chat",
        ("alertname=drift", "model=credit", "severity=P1"): "credit/chat",
        ("alertname=label_lag", "model=credit", "severity=P2"): "credit/mail",
        ("alertname=serving_errors", "model=fraud", "severity=P0"): "fraud/default",
        ("alertname=label_lag", "model=fraud", "severity=P2"): "argus-default",  # P2 goes to the backlog
        ("alertname=drift", "model=unknown", "severity=P1"): "argus-default",
        ("alertname=drift", "model=credit"): "argus-default",  # no severity: no tier claims it
    }
    for labels, receivers in cases.items():
        p = subprocess.run([AMTOOL, "config", "routes", "test", f"--config.file={out}",
                            f"--verify.receivers={receivers}", *labels], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"{labels}: {p.stdout}{p.stderr}"
    wrong = subprocess.run([AMTOOL, "config", "routes", "test", f"--config.file={out}",
                            "--verify.receivers=credit/mail", "model=credit", "severity=P0"],
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode != 0  # the check can fail


def test_receivers_map_each_kind() -> None:
    doc = alertmanager_config(_configs(), default_webhook="http://hooks.example/argus")
    by_name = {r["name"]: r for r in doc["receivers"]}
    assert by_name["argus-default"]["webhook_configs"] == [{"url": "http://hooks.example/argus", "send_resolved": True}]
    assert by_name["credit/pager"]["webhook_configs"][0]["url"] == "https://pager.example/v1/argus"
    assert by_name["credit/chat"]["slack_configs"][0]["api_url"] == "https://hooks.slack.com/services/T000/B000/XXXX"
    assert by_name["credit/mail"]["email_configs"] == [{
        "to": "risk-oncall@example.com", "from": "argus@example.com", "smarthost": "smtp.example.com:587",
        "require_tls": True, "send_resolved": True, "auth_username": "argus"}]
    assert doc["route"]["group_by"] == ["alertname", "model"]
    assert doc["inhibit_rules"] == [
        {"source_matchers": ['severity="P0"'], "target_matchers": ['severity=~"P1|P2"'], "equal": ["model"]},
        {"source_matchers": ['severity="P1"'], "target_matchers": ['severity=~"P2"'], "equal": ["model"]}]


def _http(method: str, url: str, body: Any = None, timeout: float = 10.0) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class _Hook:
    """A real local webhook receiver: it keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                hook.bodies.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads the bodies, not an access log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _start_alertmanager(tmp: Path, config: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = tmp / "alertmanager.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp / 'am'}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, f"{url}/-/ready", log, "alertmanager", timeout=30)
    return proc, url, log


@pytest.mark.slow
def test_a_p0_inhibits_the_p1_and_p2_of_its_model_only(tmp_path: Path) -> None:
    """Inhibition in a real Alertmanager (amtool's route test does not apply inhibit rules)."""
    require_binaries(ALERTMANAGER)
    hook = _Hook()
    cfg = alertmanager_config(_configs(), default_webhook=hook.url)
    for r in cfg["receivers"]:  # deliver to the local hook, not to the examples' hosts
        for kind in ("webhook_configs", "slack_configs", "email_configs"):
            if kind in r:
                del r[kind]
                r["webhook_configs"] = [{"url": hook.url}]
    (tmp_path / "am.yml").write_text(yaml.safe_dump(cfg))
    proc = None
    try:
        proc, url, log = _start_alertmanager(tmp_path, tmp_path / "am.yml")
        alerts = [{"labels": {"alertname": name, "model": model, "severity": sev}}
                  for name, model, sev in (("slo_error_rate", "credit", "P0"), ("drift", "credit", "P1"),
                                           ("label_lag", "credit", "P2"), ("label_lag", "fraud", "P2"),
                                           ("drift", "fraud", "P1"))]
        assert _http("POST", f"{url}/api/v2/alerts", alerts)[0] == 200
        deadline = time.monotonic() + 20
        while True:
            got = json.loads(_http("GET", f"{url}/api/v2/alerts")[1])
            state = {(a["labels"]["alertname"], a["labels"]["model"]): a["status"] for a in got}
            if len(state) == 5 and state[("drift", "credit")]["state"] == "suppressed":
                break
            assert time.monotonic() < deadline, f"{state}\n{log_tail(log)}"
            time.sleep(0.2)
        assert state[("slo_error_rate", "credit")]["state"] == "active"
        for key in (("drift", "credit"), ("label_lag", "credit")):
            assert state[key]["state"] == "suppressed" and state[key]["inhibitedBy"], (key, state[key])
        # credit's P0 silences nothing of fraud's; fraud's own P1 silences its P2
        assert state[("drift", "fraud")]["state"] == "active" and not state[("drift", "fraud")]["inhibitedBy"]
        deadline = time.monotonic() + 20
        while state[("label_lag", "fraud")]["state"] != "suppressed":
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
            state = {(a["labels"]["alertname"], a["labels"]["model"]): a["status"]
                     for a in json.loads(_http("GET", f"{url}/api/v2/alerts")[1])}
        fingerprints = {(a["labels"]["alertname"], a["labels"]["model"]): a["fingerprint"]
                        for a in json.loads(_http("GET", f"{url}/api/v2/alerts")[1])}
        assert state[("label_lag", "fraud")]["inhibitedBy"] == [fingerprints[("drift", "fraud")]]
        assert state[("drift", "credit")]["inhibitedBy"] == [fingerprints[("slo_error_rate", "credit")]]
    finally:
        stop_process(proc)
        hook.close()


# ---------------------------------------------------------------- Grafana


def test_dashboards_round_trip_through_the_sdk_and_read_only_argus_series(tmp_path: Path) -> None:
    pytest.importorskip("grafana_foundation_sdk", reason="pip install 'argusml[export]'")
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    _export(tmp_path, "grafana", "-o", str(tmp_path / "boards"))
    files = sorted(p.name for p in (tmp_path / "boards").iterdir())
    assert files == ["argus-model-health.json", "argus-operational.json"]
    known = _service_series() | NEW_SERIES
    rows_of: dict[str, list[str]] = {}
    for stem, built in grafana_dashboards().items():
        written = json.loads((tmp_path / "boards" / f"argus-{stem}.json").read_text())
        assert written == built
        back = json.loads(json.dumps(load_dashboard(written), cls=JSONEncoder))
        assert back == written  # the SDK reads back exactly what it wrote
        variables = {v["name"]: v for v in written["templating"]["list"]}
        assert variables["model"]["query"] == "label_values(argus_events_total, model)"
        assert variables["model_version"]["query"] == 'label_values(argus_events_total{model=~"$model"}, model_version)'
        assert variables["datasource"]["query"] == "prometheus"
        rows_of[stem] = [p["title"] for p in written["panels"] if p["type"] == "row"]
        panels = [p for p in written["panels"] if p["type"] != "row"]
        assert len({p["id"] for p in written["panels"]}) == len(written["panels"])
        for p in panels:
            assert p["targets"], p["title"]
            for t in p["targets"]:
                names = _names_in(t["expr"])
                assert names and names <= known, (p["title"], t["expr"], names - known)
                if "model_version" not in t["expr"] and "argus_up" not in names and "argus_ingest_queue_depth" not in names:
                    assert 'model=~"$model"' in t["expr"], t["expr"]
    assert rows_of == {
        "operational": ["Traffic & errors", "Latency", "Alerts & SLOs", "Cost", "Dependencies & breaker"],
        "model-health": ["Drift", "Data quality", "Performance & labels", "Alerts & SLOs"]}


def test_grafana_without_the_sdk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for mod in [m for m in sys.modules if m.startswith("grafana_foundation_sdk")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "grafana_foundation_sdk", None)  # what Python does for a package not installed
    res = runner.invoke(app, ["export", "grafana", "-o", str(tmp_path)])
    assert res.exit_code == 2
    assert "pip install 'argusml[export]'" in res.output and "Traceback" not in res.output
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- the command line


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "m.yaml").write_text("model: m\nslos: {latency: {objective: 0.99}}\n")
    cases = {
        str(tmp_path / "nope"): "no such file or folder",
        str(empty): "no model configs",
        str(tmp_path / "bad"): "latency: needs 'threshold'",
    }
    for what in ("prometheus-rules", "alertmanager"):
        for path, message in cases.items():
            res = runner.invoke(app, ["export", what, "--config", path])
            assert res.exit_code == 2, res.output
            assert message in res.output and "Traceback" not in res.output, res.output
    res = runner.invoke(app, ["export", "prometheus-rules", "--config", str(MODELS), "--external-url", "argus:8080"])
    assert res.exit_code == 2 and "--external-url" in res.output


def test_help_has_an_example() -> None:
    for what in ("prometheus-rules", "alertmanager", "grafana"):
        res = runner.invoke(app, ["export", what, "--help"])
        assert res.exit_code == 0 and f"Example: argus export {what}" in res.output, res.output


def test_stdout_is_the_default_and_the_runbook_links_use_the_external_url() -> None:
    res = runner.invoke(app, ["export", "prometheus-rules", "--config", str(MODELS / "fraud.yaml"),
                              "--external-url", "https://argus.example.com/"])
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load(res.stdout)
    links = {r["annotations"]["runbook_url"] for g in doc["groups"] for r in g["rules"] if "alert" in r}
    assert "https://argus.example.com/v1/runbooks/serving_errors?model=fraud" in links
    assert all(u.startswith("https://argus.example.com/v1/") for u in links), links


# ---------------------------------------------------------------- end to end


def _reference(n: int, seed: int) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    x = r.normal(size=n)
    return pd.DataFrame({"x": x, "score": 1 / (1 + np.exp(-x))})


@pytest.mark.slow
@pytest.mark.service
def test_prometheus_fires_an_exported_rule_into_alertmanager_and_the_webhook(tmp_path: Path) -> None:
    """argus serve <- Prometheus (scraping, the exported rules) -> Alertmanager (the exported config) -> webhook."""
    require_binaries(PROMETHEUS, ALERTMANAGER)
    env = {**os.environ, "ARGUS_NO_PROGRESS": "1"}
    _reference(1000, 0).to_parquet(tmp_path / "ref.parquet")
    served = tmp_path / "served"
    served.mkdir()
    p = subprocess.run([ARGUS, "baseline", str(tmp_path / "ref.parquet"), "--prediction", "score", "-o",
                        str(served / "base.json")], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    # Argus itself notifies nobody (no alerts: key): only Alertmanager, from the exported config, may call the hook
    (served / "m.yaml").write_text("model: m\nreference: base.json\nwindow: 5s\nlateness: 0s\n")
    hook = _Hook()
    exported = tmp_path / "exported"
    exported.mkdir()
    (exported / "m.yaml").write_text(f"model: m\nwindow: 5s\nalerts:\n  webhook: {hook.url}\n")
    port, prom_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    res = runner.invoke(app, ["export", "prometheus-rules", "--config", str(exported), "--interval", "1s",
                              "--external-url", base, "-o", str(tmp_path / "argus.rules.yml")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["export", "alertmanager", "--config", str(exported), "-o", str(tmp_path / "am.yml")])
    assert res.exit_code == 0, res.output

    server = prom = am = None
    server_log, prom_log = tmp_path / "argus.log", tmp_path / "prometheus.log"
    try:
        with server_log.open("wb") as out:
            server = subprocess.Popen([ARGUS, "serve", "--config", str(served), "--data", str(tmp_path / "data"),
                                       "--port", str(port), "--log-level", "warning"],
                                      stdout=out, stderr=subprocess.STDOUT, env=env)
        am, am_url, am_log = _start_alertmanager(tmp_path, tmp_path / "am.yml")
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(tmp_path / "argus.rules.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am_url.removeprefix("http://")]}]}]},
            "scrape_configs": [{"job_name": "argus", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]}))
        with prom_log.open("wb") as out:
            prom = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                                     f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                     f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=out, stderr=subprocess.STDOUT)
        wait_ready(server, f"{base}/healthz", server_log, "argus serve")

        # an error burst: batches of events, 80% with status 500, until the alert reaches the hook
        rng = np.random.default_rng(1)
        sent, firing = 0, []
        deadline = time.monotonic() + 90
        while not firing:
            assert prom.poll() is None, f"prometheus exited {prom.returncode}:\n{log_tail(prom_log)}"
            assert am.poll() is None, f"alertmanager exited {am.returncode}:\n{log_tail(am_log)}"
            x = rng.normal(size=50)
            batch = [{"id": f"e{sent + i}", "features": {"x": float(v)}, "prediction": float(1 / (1 + np.exp(-v))),
                      "latency_ms": 20.0, "status": 500 if i % 5 else 200} for i, v in enumerate(x)]
            status, body = _http("POST", f"{base}/v1/models/m/events", batch)
            assert status == 200, body[:2000]
            sent += len(batch)
            firing = [a for b in hook.bodies for a in b["alerts"]
                      if b["status"] == "firing" and a["labels"].get("alertname") == "serving_errors"]
            assert time.monotonic() < deadline, (
                f"no serving_errors at the webhook after 90 s ({sent} events sent); hook got {hook.bodies}\n"
                f"prometheus alerts: {_http('GET', f'http://127.0.0.1:{prom_port}/api/v1/alerts')[1][:2000]!r}\n"
                f"{log_tail(prom_log)}\n{log_tail(am_log)}")
            time.sleep(0.5)
        alert = firing[0]
        assert alert["labels"]["model"] == "m" and alert["labels"]["severity"] == "P0", alert
        assert alert["annotations"]["runbook_url"] == f"{base}/v1/runbooks/serving_errors?model=m"
        assert "80% of requests failed" in alert["annotations"]["summary"], alert
        first = next(b for b in hook.bodies if b["status"] == "firing")
        assert first["receiver"] == "m/default" and first["version"] == "4" and first["externalURL"].startswith("http")
        assert first["groupLabels"] == {"alertname": "serving_errors", "model": "m"}
        # the P1 of the same burst (it waits for_windows windows) is inhibited by the P0: never sent
        assert all(a["labels"]["severity"] == "P0" for b in hook.bodies for a in b["alerts"]
                   if a["labels"].get("alertname") == "serving_errors"), hook.bodies
    finally:
        stop_process(prom)
        stop_process(am)
        stop_process(server)
        hook.close()
