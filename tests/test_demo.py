"""`argus demo`: the replayed story finds each planted problem when it should, leaves a store that `argus serve`
reopens, refuses a store another process holds or that is not its own, and stops cleanly on Ctrl-C.

Two real replays of the two-day story (``--days 2``: the same problems, squeezed; ``Story.for_days``): one
``--once`` in-process, one served in a subprocess and ended with SIGINT, on the first one's store (a second run
replaces the first)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from argusml.service.demo import MODEL, DemoError, Result, Story, run_demo
from argusml.store import Store
from service_util import free_port

pytestmark = [pytest.mark.service, pytest.mark.slow]

ARGUS = [sys.executable, "-m", "argusml.cli.main"]
DAYS = 2
HOUR = 3600.0


def _env() -> dict[str, str]:
    return {**os.environ, "ARGUS_NO_PROGRESS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, list[str], Path]:
    data = tmp_path_factory.mktemp("demo") / "argus-data"
    lines: list[str] = []
    result = run_demo(str(data), free_port(), once=True, days=DAYS, echo=lines.append)
    return result, lines, data


def _alerts(result: Result) -> dict[tuple[str, str | None, str], str]:
    """(alert name, column, version) -> the id of the incident it fired in."""
    return {(a["name"], a["labels"].get("column"), a["model_version"]): inc["id"]
            for inc in result.incidents for a in inc["alerts"]}


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_once_finds_each_planted_problem_when_the_story_says(once: tuple[Result, list[str], Path]) -> None:
    result, lines, data = once
    text = "\n".join(lines)
    story = Story.for_days(DAYS)
    assert result.end - result.start == DAYS * 86400 and result.end % HOUR == 0
    alerts = _alerts(result)
    for planted in [("drift", "mean_radius", "v1"),              # the scanner's radii, in the champion's traffic
                    ("drift", "mean_radius", "v2"),              # ... and in the canary's
                    ("missing_values", "mean_texture", "v1"),    # the broken upstream, both columns, both versions
                    ("missing_values", "mean_smoothness", "v1"),
                    ("missing_values", "mean_texture", "v2"),
                    ("missing_values", "mean_smoothness", "v2"),
                    ("slow", None, "v1"),                        # the latency regression
                    ("performance_drop", None, "v2")]:           # the canary, once its labels came
        assert planted in alerts, text
    # nothing drifted but the drifted feature (and the prediction of the canary, another model)
    assert {c for (name, c, _) in alerts if name == "drift"} == {"mean_radius"}, text
    assert result.drifted == ["mean_radius"]
    # the nulls' incident: opened when the third bad hour closed, resolved when the second good one did, and it
    # holds nothing else
    nulls = alerts[("missing_values", "mean_texture", "v1")]
    inc = next(i for i in result.incidents if i["id"] == nulls)
    assert {a["name"] for a in inc["alerts"]} == {"missing_values"} and len(inc["alerts"]) == 4
    assert _epoch(inc["opened_at"]) == result.start + (story.nulls[0] + 4) * HOUR
    assert inc["status"] == "resolved" and _epoch(inc["resolved_at"]) == result.start + (story.nulls[1] + 3) * HOUR
    # the latency rule fired on the slow hours, not before. Latency is counted by arrival since the version's
    # previous judged window, and a window is judged once the next hour has arrived (it closes the window): so
    # the window before the first slow hour carries that hour's latency, and is the first bad one
    slow = next(a for i in result.incidents for a in i["alerts"] if a["name"] == "slow")
    assert _epoch(slow["starts_at"]) == result.start + (story.slow_from - 1) * HOUR
    # the canary was judged worse than the champion on its labels
    assert result.compare["verdict"]["decision"] == "rollback", result.compare["verdict"]
    assert result.compare["versions"]["v2"]["labels"] >= 100
    # each incident was printed as it opened, with its page
    for i in result.incidents:
        assert f"incident {i['id']} opened (" in text  # with its severity then (it may have escalated since)
        assert f"/incidents/{i['id']}" in text
    # the reports: per version, the last day against the reference, and the digest
    folder = data / "reports"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{MODEL}-{v}-last-day.{ext}" for v in ("v1", "v2") for ext in ("html", "json")] + [f"{MODEL}-digest.html"])
    assert [str(p) for p in sorted(folder.iterdir())] == sorted(result.reports)
    v1 = json.loads((folder / f"{MODEL}-v1-last-day.json").read_text())
    assert "mean_radius" in v1["verdict"]["drifted_columns"]
    for p in result.reports:
        assert p in text


def _wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready in {timeout} s")


def test_serve_reopens_the_store_and_a_demo_on_it_says_it_is_held(once: tuple[Result, list[str], Path]) -> None:
    result, _, data = once
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen([*ARGUS, "serve", "--data", str(data), "--port", str(port), "--log-level", "warning"],
                             env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_ready(url, serve)
        assert [m["model"] for m in httpx.get(f"{url}/v1/models", timeout=10).json()["models"]] == [MODEL]
        shown = {i["id"]: i["status"] for i in httpx.get(f"{url}/v1/incidents", params={"model": MODEL},
                                                         timeout=10).json()}
        assert shown == {i["id"]: i["status"] for i in result.incidents}
        story = Story.for_days(DAYS)
        for version, hours in (("v1", DAYS * 24), ("v2", DAYS * 24 - story.canary_from)):
            windows = httpx.get(f"{url}/v1/models/{MODEL}/windows", timeout=10,
                                params={"version": version, "segment": "*", "limit": 1000}).json()["windows"]
            hourly = [w for w in windows if w["granularity"] == HOUR]  # the others are the daily roll-ups
            assert len(hourly) == hours and all(w["closed"] for w in hourly), version
        status = httpx.get(f"{url}/v1/models/{MODEL}/status", timeout=10).json()
        assert status["events_total"] == result.events and status["labels_total"] == result.labels

        # the demo on the store the server holds: one line, exit 2
        held = subprocess.run([*ARGUS, "demo", "--once", "--data", str(data), "--port", str(free_port())],
                              env=_env(), capture_output=True, text=True, timeout=60)
        assert held.returncode == 2, held.stdout + held.stderr
        assert held.stderr.count("\n") == 1 and held.stderr.startswith("argus: error: "), held.stderr
        assert "the store is open in another process" in held.stderr and "--data" in held.stderr
    finally:
        serve.send_signal(signal.SIGINT)
        out, _ = serve.communicate(timeout=60)
    assert serve.returncode in (0, -signal.SIGINT, 130), out


def test_a_taken_port_and_a_store_of_other_models_are_refused(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(DemoError, match=rf"port {port} on 127.0.0.1 is taken .*--port"):
            run_demo(str(tmp_path / "d"), port, once=True, days=DAYS, echo=lambda _: None)
    store = Store(tmp_path / "theirs")
    store.save_model("credit", "{}", 0.0)
    store.close()
    with pytest.raises(DemoError, match=r"holds models the demo did not make \(credit\).*--data"):
        run_demo(str(tmp_path / "theirs"), free_port(), once=True, days=DAYS, echo=lambda _: None)
    assert (tmp_path / "theirs" / "argus.duckdb").exists()  # never removed
    with pytest.raises(DemoError, match="--days must be at least 2"):
        run_demo(str(tmp_path / "d"), free_port(), once=True, days=1, echo=lambda _: None)


def test_the_served_demo_replaces_the_last_run_then_stops_on_ctrl_c(once: tuple[Result, list[str], Path]) -> None:
    _, _, data = once
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([*ARGUS, "demo", "--days", str(DAYS), "--port", str(port), "--data", str(data)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while "Serving until Ctrl-C." not in lines and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    text = "\n".join(lines)
    assert "Serving until Ctrl-C." in lines, text + (proc.stderr.read() if proc.poll() is not None else "")
    assert "replacing the demo store from the last run" in lines[0]
    assert f"Dashboard: {url}/   (the API: {url}/docs)" in lines
    models: Any = httpx.get(f"{url}/v1/models", timeout=10).json()["models"]
    assert [m["model"] for m in models] == [MODEL]
    windows = httpx.get(f"{url}/v1/models/{MODEL}/windows", timeout=10,
                        params={"version": "v1", "segment": "*", "limit": 1000}).json()["windows"]
    # the first run's week was replaced, not merged into this one
    assert len([w for w in windows if w["granularity"] == HOUR]) == DAYS * 24
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    reader.join(10)
    assert lines[-1] == "Stopped."
    with pytest.raises(httpx.ConnectError):  # the port is free again
        httpx.get(f"{url}/healthz", timeout=2)
