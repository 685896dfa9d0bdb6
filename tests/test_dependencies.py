"""Dependencies: the config and its messages, real probes against real servers (an HTTP server that fails
and recovers, a TCP listener that closes, one that never answers), heartbeats over HTTP and across a
restart, the ``dependency_down`` alert ranked as an incident's root cause, and the /metrics lines.

Probes are driven by ``Prober.run_once(now)`` with the time given, and the test waits on the futures it
returns: the servers are real, the clock is the test's, nothing sleeps.
"""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from argusml.alerts.engine import DependencySignal, Engine, FindingSignal, TickSignal, WindowSignal
from argusml.monitor.dependencies import DependencyState
from argusml.schema.dependencies import Dependency
from argusml.schema.errors import ConfigError
from argusml.schema.model_config import model_config_from_dict
from service_util import T0, start_monitor

pytestmark = pytest.mark.service

W = 300.0


def config(deps: list[dict[str, Any]], **extra: Any) -> Any:
    return model_config_from_dict({"model": "m", "window": "5m", "dependencies": deps, **extra}, "m.yaml")


def problem(deps: list[dict[str, Any]], **extra: Any) -> str:
    with pytest.raises(ConfigError) as exc:
        config(deps, **extra)
    return str(exc.value)


# -- the config ----------------------------------------------------------------------------------------------
def test_a_dependency_of_each_kind_with_its_defaults() -> None:
    cfg = config([{"name": "features", "kind": "http", "url": "http://fs:8080/health"},
                  {"name": "vectors", "kind": "tcp", "address": "vectors:6333", "every": "10s", "timeout": 0.5,
                   "failures": 3},
                  {"name": "orders_table", "kind": "freshness", "max_age": "1h", "latency_slo": None}])
    http_dep, tcp_dep, fresh = cfg.dependencies
    assert (http_dep.every, http_dep.timeout, http_dep.failures, http_dep.severity) == (30.0, 2.0, 2, None)
    assert http_dep.target == "http://fs:8080/health"
    assert (tcp_dep.every, tcp_dep.timeout, tcp_dep.failures, tcp_dep.endpoint) == (10.0, 0.5, 3, ("vectors", 6333))
    assert fresh.max_age == 3600.0 and fresh.target == "heartbeat"
    assert config([{"name": "db", "kind": "tcp", "host": "db", "port": 5432}]).dependencies[0].target == "db:5432"


@pytest.mark.parametrize("deps, message", [
    ([{"name": "fs", "kind": "http"}],
     "m.yaml: dependencies[0].url: required for kind 'http' (e.g. url: http://features:8080/health) "
     "(dependency 'fs')"),
    ([{"name": "fs", "kind": "http", "url": "ftp://fs/x"}],
     "m.yaml: dependencies[0].url: 'ftp://fs/x' is not an http(s) URL (e.g. http://features:8080/health) "
     "(dependency 'fs')"),
    ([{"name": "db", "kind": "tcp", "host": "db"}],
     "m.yaml: dependencies[0].port: required for kind 'tcp' (host and port, or address: host:port) "
     "(dependency 'db')"),
    ([{"name": "db", "kind": "tcp", "address": "db:99999"}],
     "m.yaml: dependencies[0].address: 'db:99999' is not host:port (e.g. vectors:6333) (dependency 'db')"),
    ([{"name": "db", "kind": "tcp", "address": "db:1", "port": 2}],
     "m.yaml: dependencies[0].address: give either address or host and port, not both (dependency 'db')"),
    ([{"name": "t", "kind": "freshness"}],
     "m.yaml: dependencies[0].max_age: required for kind 'freshness' (e.g. max_age: 1h) (dependency 't')"),
    ([{"name": "fs", "kind": "http", "url": "http://fs", "max_age": "1h"}],
     "m.yaml: dependencies[0].max_age: not used by kind 'http' (it takes url) (dependency 'fs')"),
    ([{"name": "fs", "kind": "http", "url": "http://fs", "urll": "x"}],
     "m.yaml: dependencies[0].urll: unknown key; did you mean 'url'? (dependency 'fs')"),
    ([{"name": "fs", "kind": "http", "url": "http://fs", "every": "5x"}],
     "m.yaml: dependencies[0].every: not a duration: '5x' (use a number and a unit: 30s, 5m, 1h, 7d, 2w) "
     "(dependency 'fs')"),
    ([{"name": "fs", "kind": "http", "url": "http://fs", "failures": 0}],
     "m.yaml: dependencies[0].failures: Input should be greater than or equal to 1 (dependency 'fs')"),
    ([{"name": "fs", "kind": "http", "url": "http://fs", "every": "10s", "timeout": "1m"}],
     "m.yaml: dependencies[0].timeout: must be above 0 and at most every (10s): a probe still running when the "
     "next is due would overlap it (dependency 'fs')"),
    ([{"name": "fs", "kind": "http", "url": "http://fs", "timeout": 1, "latency_slo": 2}],
     "m.yaml: dependencies[0].latency_slo: must be above 0 and at most timeout (1s) (dependency 'fs')"),
    ([{"name": "fs", "kind": "grpc"}],
     "m.yaml: dependencies[0].kind: Input should be 'http', 'tcp' or 'freshness' (dependency 'fs')"),
    ([{"name": "fs", "kind": "http", "url": "http://a"}, {"name": "x y", "kind": "http", "url": "http://b"}],
     "m.yaml: dependencies[1].name: 'x y' must be 1-64 letters, digits, '_', '-' or '.', starting with a letter "
     "or digit (dependency 'x y')"),
    ([{"name": "fs", "kind": "http", "url": "http://a"}, {"name": "fs", "kind": "tcp", "address": "a:1"}],
     "m.yaml: dependencies: dependency 'fs' is given twice (dependencies[0] and [1]); names identify metrics and "
     "alerts, so each must be unique"),
])
def test_config_errors_name_the_dependency_and_the_field(deps: list[dict[str, Any]], message: str) -> None:
    assert problem(deps) == message


def test_dependencies_key_typo_suggests_it_and_alerts_checks_accepts_dependency_down() -> None:
    with pytest.raises(ConfigError, match=r"m.yaml: dependancies: unknown key; did you mean 'dependencies'\?"):
        model_config_from_dict({"model": "m", "dependancies": []}, "m.yaml")
    cfg = config([], alerts={"checks": {"dependency_down": "P0"}})
    assert cfg.alerts.checks["dependency_down"] == "P0"
    assert "did you mean 'dependency_down'?" in problem([], alerts={"checks": {"dependency_dwn": "P0"}})


# -- real servers ----------------------------------------------------------------------------------------------
class _Status(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        """Quiet: the test's output is its assertions."""


@contextmanager
def http_server(status: int = 200) -> Iterator[Any]:
    """A real HTTP server on a free port answering ``server.status`` (change it to fail or recover)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    srv.status = status  # type: ignore[attr-defined]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@contextmanager
def hung_server() -> Iterator[int]:
    """A socket that listens and never answers: the kernel completes the connection, the request is sent,
    and no byte ever comes back."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


def url(srv: Any) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/health"


def probe(prober: Any, now: float) -> list[Any]:
    """One pass at ``now``; waits for the probes it started."""
    futures = prober.run_once(now)
    wait(futures, timeout=30)
    return futures


@pytest.fixture
def monitor(tmp_path: Path, ref: Any) -> Iterator[Any]:
    """A real monitor on a real store, not started: the test drives the prober and the alert pass itself."""
    made: list[Any] = []

    def make(deps: list[dict[str, Any]], data: str = "data", start: bool = False, **extra: Any) -> Any:
        running = start_monitor(tmp_path / data, (config(deps, **extra), ref), start=start)
        made.append(running)
        return running

    yield make
    for running in reversed(made):
        running.monitor.dependencies.stop()
        running.stop()


def state(running: Any, name: str) -> DependencyState:
    return running.monitor.dependencies.states[("m", name)]


def test_http_dependency_goes_down_after_failures_probes_and_up_after_one_good_one(monitor: Any) -> None:
    with http_server(200) as srv:
        r = monitor([{"name": "features", "kind": "http", "url": url(srv), "every": "10s", "failures": 2}])
        prober = r.monitor.dependencies
        assert len(probe(prober, T0)) == 1
        st = state(r, "features")
        assert (st.up, st.consecutive_failures, st.last_probe_at, st.last_error) == (True, 0, T0, None)
        assert st.probe_duration is not None and 0 < st.probe_duration < 2
        assert probe(prober, T0 + 5) == []  # not due before `every`
        srv.status = 500
        probe(prober, T0 + 10)
        assert (st.up, st.consecutive_failures, st.failing_since) == (True, 1, T0 + 10)  # one failure is not down
        assert st.last_error == f"HTTP 500 from {url(srv)}"
        probe(prober, T0 + 20)
        assert (st.up, st.consecutive_failures, st.failing_since) == (False, 2, T0 + 10)
        srv.status = 302  # a redirect is an answer: up
        probe(prober, T0 + 30)
        assert (st.up, st.consecutive_failures, st.failing_since, st.last_error, st.last_ok_at) == (
            True, 0, None, None, T0 + 30)


def test_tcp_dependency_goes_down_when_its_listener_closes(monitor: Any) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    r = monitor([{"name": "vectors", "kind": "tcp", "address": f"127.0.0.1:{port}", "every": "5s",
                  "failures": 2}])
    prober = r.monitor.dependencies
    probe(prober, T0)
    st = state(r, "vectors")
    assert st.up is True and st.probe_duration is not None
    listener.close()
    probe(prober, T0 + 5)
    assert st.up is True and st.consecutive_failures == 1
    probe(prober, T0 + 10)
    assert st.up is False and st.consecutive_failures == 2
    assert st.last_error is not None and st.last_error.startswith(f"TCP connect to 127.0.0.1:{port} failed: ")
    assert "refused" in st.last_error.lower()


def test_a_hung_dependency_does_not_delay_the_others(monitor: Any) -> None:
    with http_server(200) as srv, hung_server() as port:
        r = monitor([{"name": "hung", "kind": "http", "url": f"http://127.0.0.1:{port}/", "every": "5s",
                      "timeout": "3s"},
                     {"name": "fast", "kind": "http", "url": url(srv), "every": "5s", "timeout": "3s"}])
        prober = r.monitor.dependencies
        hung, fast = prober.run_once(T0)
        wait([fast], timeout=10)
        assert fast.done() and not hung.done()  # the fast one's verdict did not wait for the hung one
        assert state(r, "fast").up is True and state(r, "hung").up is None
        # the next pass probes the fast one again; the hung one, still in flight, is left alone
        again = prober.run_once(T0 + 5)
        assert len(again) == 1 and not hung.done()
        wait([hung, *again], timeout=10)
        h = state(r, "hung")
        assert h.consecutive_failures == 1 and h.last_error == f"no answer from http://127.0.0.1:{port}/ within 3s"
        assert h.probe_duration is not None and h.probe_duration >= 3


def test_a_probe_slower_than_latency_slo_fails(monitor: Any) -> None:
    with http_server(200) as srv:
        r = monitor([{"name": "slow", "kind": "http", "url": url(srv), "every": "5s", "timeout": 1,
                      "latency_slo": 1e-9, "failures": 1}])
        probe(r.monitor.dependencies, T0)
        st = state(r, "slow")
        assert st.up is False and st.last_error is not None
        assert st.last_error.startswith("answered in ") and st.last_error.endswith("over its latency_slo of 1e-09s")


# -- heartbeats ----------------------------------------------------------------------------------------------
FRESH = [{"name": "orders", "kind": "freshness", "max_age": "1m", "every": "10s", "failures": 2}]


def test_heartbeat_route_records_the_age_and_freshness_goes_down_then_up(monitor: Any) -> None:
    r = monitor(FRESH)
    c, clock, prober = r.client, r.clock, r.monitor.dependencies
    got = c.post("/v1/models/m/dependencies/orders", json={"timestamp": "2027-01-15T07:59:50Z"})
    assert T0 == 1_800_000_000.0 and got.status_code == 200, got.text
    dep = got.json()["dependency"]
    assert (dep["status"], dep["age_seconds"], dep["last_heartbeat"]) == ("up", 10.0, "2027-01-15T07:59:50Z")
    listed = c.get("/v1/models/m/dependencies").json()
    assert [(d["name"], d["kind"], d["status"], d["age_seconds"], d["max_age_seconds"])
            for d in listed["dependencies"]] == [("orders", "freshness", "up", 10.0, 60.0)]
    clock.t = T0 + 55  # 65 s old: stale, once
    probe(prober, clock.t)
    assert (state(r, "orders").up, state(r, "orders").consecutive_failures) == (True, 1)
    clock.t = T0 + 65
    probe(prober, clock.t)
    st = state(r, "orders")
    assert st.up is False and st.last_error == "newest heartbeat is 75s old, over its max_age of 60s"
    shown = c.get("/v1/models/m/dependencies").json()["dependencies"][0]
    assert (shown["status"], shown["age_seconds"], shown["consecutive_failures"]) == ("down", 75.0, 2)
    # the pipeline recovers: its post clears the dependency at once, not at the next look
    got = c.post("/v1/models/m/dependencies/orders", json={"timestamp": clock.t - 1})
    assert got.json()["dependency"]["status"] == "up" and st.up is True
    # an old timestamp posted now is what a stalled pipeline says: the newest post wins, age grows
    c.post("/v1/models/m/dependencies/orders", json={"timestamp": clock.t - 3600})
    assert st.age(clock.t) == 3600.0 and st.consecutive_failures == 1


def test_heartbeat_route_refuses_unknown_models_dependencies_and_bad_bodies(monitor: Any) -> None:
    r = monitor([*FRESH, {"name": "fs", "kind": "http", "url": "http://127.0.0.1:9/"}])
    c = r.client
    got = c.post("/v1/models/nope/dependencies/orders", json={"timestamp": T0})
    assert got.status_code == 404 and got.json()["error"] == "unknown_model"
    got = c.post("/v1/models/m/dependencies/order", json={"timestamp": T0})
    assert got.status_code == 404 and got.json()["detail"] == ("model 'm' has no dependency 'order'; its "
                                                               "dependencies: orders, fs")
    assert c.get("/v1/models/nope/dependencies").status_code == 404
    for body, field in (({}, "body.timestamp"), ({"timestamp": T0, "ts": 1}, "body.ts"),
                        ({"timestamp": None}, "body.timestamp")):
        got = c.post("/v1/models/m/dependencies/orders", json=body)
        assert got.status_code == 422 and any(e["field"].startswith(field) for e in got.json()["detail"]), got.text
    got = c.post("/v1/models/m/dependencies/orders", json={"timestamp": "yesterday"})
    assert got.status_code == 422 and got.json()["detail"] == [{
        "field": "timestamp", "error": "timestamp 'yesterday' is not RFC 3339 (e.g. 2026-01-31T12:00:00Z) or epoch "
                                      "seconds"}]
    got = c.post("/v1/models/m/dependencies/orders", json={"timestamp": T0 + 3600})
    assert got.status_code == 422 and "more than 300s ahead of the server's clock" in got.text
    got = c.post("/v1/models/m/dependencies/fs", json={"timestamp": T0})
    assert got.status_code == 422 and got.json()["detail"] == (
        "dependency 'fs' of model 'm' is kind 'http': Argus probes it (http://127.0.0.1:9/); heartbeats are for "
        "kind 'freshness'")
    # curl's default form type is read as JSON, as on the other JSON routes
    got = c.post("/v1/models/m/dependencies/orders", content=b'{"timestamp": 1799999990}',
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert got.status_code == 200 and got.json()["dependency"]["age_seconds"] == 10.0


def test_a_restart_keeps_the_heartbeat(monitor: Any) -> None:
    r = monitor(FRESH)
    assert r.client.post("/v1/models/m/dependencies/orders", json={"timestamp": T0 - 20}).status_code == 200
    r.stop()
    r2 = monitor(FRESH, start=True)
    (dep,) = r2.client.get("/v1/models/m/dependencies").json()["dependencies"]
    assert dep["last_heartbeat"] == "2027-01-15T07:59:40Z" and dep["age_seconds"] == 20.0


INDEX = [{"name": "kb", "kind": "freshness", "max_age": "1h", "every": "10s", "failures": 1, "max_drop": 0.1,
          "min_documents": 1000}]


def test_a_vector_index_that_lost_documents_is_down_and_its_size_is_kept_over_time(monitor: Any) -> None:
    """The ingestion pipeline of a RAG index posts its freshness and document count: fresh but 24% smaller
    than its peak of the day is down (a re-index that dropped a document set); the counts survive a restart."""
    r = monitor(INDEX)
    c, clock = r.client, r.clock
    for dt, n in ((-7200, 12_000), (-3600, 12_500), (-10, 12_400)):
        clock.t = T0 + dt
        got = c.post("/v1/models/m/dependencies/kb", json={"timestamp": clock.t - 5, "documents": n})
        assert got.status_code == 200 and got.json()["dependency"]["status"] == "up", got.text
    clock.t = T0
    got = c.post("/v1/models/m/dependencies/kb", json={"timestamp": T0 - 5, "documents": 9_500}).json()["dependency"]
    assert (got["status"], got["documents"], got["documents_peak_1d"]) == ("down", 9_500, 12_500)
    assert got["last_error"] == "documents fell from 12,500 to 9,500 (-24.0%) within a day, more than its max_drop of 10%"
    metrics = c.get("/metrics").text
    assert 'argus_dependency_documents{dependency="kb",model="m"} 9500.0' in metrics
    history = c.get("/v1/models/m/dependencies/kb/documents", params={"since": T0 - 86400}).json()["documents"]
    assert [h["documents"] for h in history] == [12_000, 12_500, 12_400, 9_500]
    got = c.post("/v1/models/m/dependencies/kb", json={"timestamp": T0, "documents": 500}).json()["dependency"]
    assert got["last_error"] == "the newest heartbeat reports 500 documents, under its min_documents of 1,000"
    r.stop()
    r2 = monitor(INDEX, start=True)
    (dep,) = r2.client.get("/v1/models/m/dependencies").json()["dependencies"]
    assert (dep["documents"], dep["documents_peak_1d"]) == (500, 12_500)
    assert problem([{"name": "x", "kind": "http", "url": "http://a/", "max_drop": 0.2}]) == (
        "m.yaml: dependencies[0].max_drop: not used by kind 'http' (it takes url) (dependency 'x')")


def test_a_freshness_dependency_never_heard_from_is_down_after_max_age(monitor: Any) -> None:
    r = monitor(FRESH)
    prober = r.monitor.dependencies
    probe(prober, T0)  # the prober starts: the pipeline has max_age to post its first heartbeat
    assert state(r, "orders").up is None
    probe(prober, T0 + 70)
    probe(prober, T0 + 80)
    st = state(r, "orders")
    assert st.up is False and st.last_error == ("no heartbeat received (POST .../dependencies/orders) in 80s, "
                                                "over its max_age of 60s")


# -- alerts and incidents -------------------------------------------------------------------------------------
def test_an_incident_of_errors_names_the_down_dependency_as_its_root_cause() -> None:
    """The real engine: errors fire first (a symptom) with two causes beside them; the dependency's first
    failed probe was in the errors' first window, so it ranks first: ahead of missing values that moved in
    that window too (a dependency down is more fundamental) and of a drift that moved later."""
    cfg = config([{"name": "features", "kind": "http", "url": "http://fs/health"}],
                 alerts={"webhook": "http://am.example/hook"})
    e = Engine()
    for i in range(3):
        findings = [FindingSignal("missing_values", "x1", "P1", "x1 is 30% null", 0.3)]
        findings += [FindingSignal("drift", "x0", "P1", "x0 drifted", 0.3)] if i >= 1 else []
        w = WindowSignal("m", "v1", T0 + i * W, T0 + (i + 1) * W, "window",
                         {"rows": 500.0, "requests": 400.0, "error_rate": 0.12}, findings)
        e.window(cfg, w, w.end + 120)
    (inc,) = e.incidents.values()
    assert sorted(a["name"] for a in inc.alerts.values()) == ["missing_values", "serving_errors"]
    now = T0 + 3 * W + 130
    e.tick(cfg, TickSignal("m", dependencies=[DependencySignal("features", True, T0 + 40, 2, "HTTP 503 from "
                                                               "http://fs/health")]), now)
    for i in range(3, 5):
        w = WindowSignal("m", "v1", T0 + i * W, T0 + (i + 1) * W, "window",
                         {"rows": 500.0, "requests": 400.0, "error_rate": 0.12},
                         [FindingSignal("drift", "x0", "P1", "x0 drifted", 0.3),
                          FindingSignal("missing_values", "x1", "P1", "x1 is 30% null", 0.3)])
        e.window(cfg, w, w.end + 120)
    shown = e.show(inc)
    names = {a["id"]: a for a in shown["alerts"]}
    causes = [(c["rank"], names[c["alert_id"]]["name"]) for c in shown["causes"]]
    assert causes == [(1, "dependency_down"), (2, "missing_values"), (3, "drift")]
    dep = next(a for a in shown["alerts"] if a["name"] == "dependency_down")
    assert (dep["severity"], dep["role"], dep["labels"], dep["starts_at"]) == (
        "P1", "cause", {"dependency": "features"}, "2027-01-15T08:00:00Z")
    assert dep["summary"] == ("dependency 'features' (http) is down: 2 consecutive failed probes of "
                              "http://fs/health; last error: HTTP 503 from http://fs/health")
    assert dep["runbook_url"] == "/v1/runbooks/dependency_down?model=m"
    assert shown["causes"][0]["evidence"].startswith(
        "dependency_down: bad since 08:00 UTC; moved in the same window as the first symptom, serving_errors")
    # it comes back: one good tick resolves it
    e.tick(cfg, TickSignal("m", dependencies=[DependencySignal("features", False)]), now + 600)
    assert next(a for a in e.show(inc)["alerts"] if a["name"] == "dependency_down")["status"] == "resolved"


@pytest.mark.parametrize("extra, dep_severity, expected", [
    ({}, None, "P1"),
    ({"alerts": {"checks": {"dependency_down": "P0"}}}, None, "P0"),
    ({"alerts": {"checks": {"dependency_down": "P0"}}}, "P2", "P2"),  # the dependency's own wins
    ({"alerts": {"checks": {"dependency_down": "off"}}}, None, None),
])
def test_dependency_down_severity_default_override_and_off(extra: dict[str, Any], dep_severity: str | None,
                                                           expected: str | None) -> None:
    dep: dict[str, Any] = {"name": "fs", "kind": "http", "url": "http://fs/"}
    if dep_severity:
        dep["severity"] = dep_severity
    cfg = config([dep], **extra)
    e = Engine()
    e.tick(cfg, TickSignal("m", dependencies=[DependencySignal("fs", True, T0, 2, "HTTP 500")]), T0 + 60)
    fired = [a.severity for a in e.models["m"].alerts.values() if a.status == "firing"]
    assert fired == ([expected] if expected else [])


def test_a_dependency_removed_from_the_config_resolves_its_alert() -> None:
    cfg = config([{"name": "fs", "kind": "http", "url": "http://fs/"}])
    e = Engine()
    e.tick(cfg, TickSignal("m", dependencies=[DependencySignal("fs", True, T0, 2, "HTTP 500")]), T0 + 60)
    (inc,) = e.incidents.values()
    e.tick(config([]), TickSignal("m"), T0 + 70)
    assert e.show(inc)["status"] == "resolved" and e.models["m"].alerts == {}


def test_the_alert_pass_reads_the_prober_and_the_incident_is_served(monitor: Any) -> None:
    """Wiring: the monitor's alert pass takes the prober's states on its tick, the incident reaches the store
    and the API, and /metrics shows the gauges (which promtool's linter accepts)."""
    with http_server(500) as srv:
        r = monitor([{"name": "features", "kind": "http", "url": url(srv), "every": "10s"}, *FRESH],
                    alerts={"webhook": "http://127.0.0.1:9/hook"})
        prober = r.monitor.dependencies
        r.client.post("/v1/models/m/dependencies/orders", json={"timestamp": T0 - 30})
        probe(prober, T0)
        probe(prober, T0 + 10)
        r.monitor.alerting.run_once(T0 + 11)
        (inc,) = r.client.get("/v1/incidents", params={"model": "m"}).json()
        (alert,) = inc["alerts"]
        assert (alert["name"], alert["labels"], alert["role"]) == ("dependency_down", {"dependency": "features"},
                                                                     "cause")
        assert inc["title"] == "m: dependency_down"
        metrics = r.client.get("/metrics").text
        lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                 if line.startswith("argus_dependency_")}
        took = state(r, "features").probe_duration
        assert lines == {'argus_dependency_up{dependency="features",model="m"}': 0.0,
                         'argus_dependency_up{dependency="orders",model="m"}': 1.0,
                         'argus_dependency_probe_duration_seconds{dependency="features",model="m"}': took,
                         'argus_dependency_age_seconds{dependency="orders",model="m"}': 30.0}
        assert "# TYPE argus_dependency_up gauge" in metrics
        lint = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=metrics.encode(), capture_output=True,
                              timeout=60)
        assert lint.returncode == 0 and not lint.stdout and not lint.stderr, (lint.stdout, lint.stderr)
        srv.status = 200
        probe(prober, T0 + 20)
        r.monitor.alerting.run_once(T0 + 21)
        (inc,) = r.client.get("/v1/incidents", params={"model": "m"}).json()
        assert inc["status"] == "resolved"


def test_a_config_with_dependencies_round_trips_through_json() -> None:
    """The store keeps configs as JSON (registrations over HTTP, the config history): they must read back."""
    cfg = config([{"name": "fs", "kind": "http", "url": "http://fs/", "severity": "P0", "latency_slo": 0.5},
                  {"name": "db", "kind": "tcp", "address": "db:5432"}, *FRESH])
    again = type(cfg).model_validate_json(cfg.model_dump_json())
    assert again == cfg and again.dependencies[0] == Dependency(name="fs", kind="http", url="http://fs/",
                                                                severity="P0", latency_slo=0.5)
