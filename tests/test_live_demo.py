"""`argus demo --live`: clean windows stay quiet, drifted windows find the planted problems, and what it
prints can be read and opened: lines cut between words, URLs that answer until the user stops it."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import pytest

from argusml.service.live_demo import run_live_demo
from service_util import free_port

pytestmark = [pytest.mark.service, pytest.mark.slow]

WIDTH = 80


def test_live_demo_is_quiet_then_finds_the_planted_drift_and_serves_what_it_prints():
    lines: list[str] = []
    stop = threading.Event()
    result: dict[str, Any] = {}
    port = free_port()

    def demo() -> None:
        result.update(run_live_demo(port, windows=4, window_seconds=2, rows_per_window=1500, echo=lines.append,
                                    width=WIDTH, stop=stop))

    thread = threading.Thread(target=demo, daemon=True)
    thread.start()
    deadline = time.monotonic() + 90
    while not any("Ctrl-C" in line for line in lines) and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = "\n".join(lines)
    assert lines and lines[-1] == "Press Ctrl-C to stop it.", text
    urls = re.findall(r"http://\S+", text)
    assert f"http://127.0.0.1:{port}/metrics" in urls and f"http://127.0.0.1:{port}/v1/models/credit/status" in urls
    for url in set(urls):  # every address it printed can be opened while it says it runs
        assert httpx.get(url, timeout=10).status_code == 200, url
    status = httpx.get(f"http://127.0.0.1:{port}/v1/models/credit/status", timeout=10).json()
    assert status["events_total"] == 6000 and status["labels_joined"] == 1500
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and lines[-1] == "Stopped."
    with pytest.raises(httpx.ConnectError):  # once it says it stopped, nothing is left behind on the port
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)

    verdicts = result["verdicts"]
    assert len(verdicts) == 4, text
    assert [v["status"] for v in verdicts[:2]] == ["ok", "ok"], text
    for v in verdicts[2:]:
        assert v["status"] == "drift", text
        drifted = {c for sev, check, c in v["findings"] if check == "drift"}
        assert {"channel", "utilization"} <= drifted, v  # the two largest planted changes, in 1,500 rows
        assert ("P1", "missing_values", "employment") in v["findings"]
    assert result["status"]["events_total"] == 6000 and result["status"]["labels_joined"] == 1500

    # lines are cut between words: each message shown is there whole, and no line is wider than asked
    # unless it is one unbreakable word (a URL)
    flat = " ".join(text.split())
    shown = [m for v in verdicts for m in v["shown"]]
    assert len(shown) >= 4 and any(len(m) > WIDTH for m in shown)  # long enough to need wrapping
    for message in shown:
        assert " ".join(message.split()) in flat, message
    for line in text.splitlines():
        assert len(line) <= WIDTH or len(line.split()) == 1 or re.fullmatch(r"\s+\S+\s+http://\S+", line), line
