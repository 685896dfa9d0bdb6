"""`argus compare` against `argus serve` in a child process: the verdict, the reasons and the table printed,
the JSON answer, the exit codes (0 promote or wait, 1 roll back, 2 no verdict), and one-line errors for an
unknown version or an unreachable service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from argusml.cli.main import app
from service_util import T0, Server, free_port, make_reference, write_config
from test_service_compare import _traffic

pytestmark = [pytest.mark.service, pytest.mark.slow]


def test_argus_compare_prints_the_verdict_and_fails_cleanly(tmp_path) -> None:
    # 80 seconds of traffic, ten minutes old, sent at once as late events: the 15 m lateness covers them
    cfg = write_config(tmp_path / "cfg", make_reference(n=4000), window="5m", lateness="15m")
    server = Server(cfg, tmp_path / "data")
    try:
        server.wait_ready()
        rng = np.random.default_rng(5)
        events, labels, _ = _traffic(rng, 800)
        now = time.time()
        for e in events:  # (ten minutes late, whatever the phase of the clock in its 5-minute windows)
            e["timestamp"] = now - 680 + (e["timestamp"] - (T0 - 3600)) / 10
        for path, items in (("events", events), ("labels", labels)):
            r = httpx.post(f"{server.url}/v1/models/m/{path}", json=items, timeout=30)
            assert r.status_code in (200, 202), r.text
        deadline = time.monotonic() + 90  # generous: a loaded machine indexes slower
        while time.monotonic() < deadline:  # the index trails an acknowledgement by up to 0.5 s
            body = httpx.get(f"{server.url}/v1/models/m/compare", params={"champion": "v1", "challenger": "v2"}).json()
            if body["matched"] == 800:
                break
            time.sleep(0.2)
        base = ["compare", "--url", server.url, "--model", "m"]
        r = CliRunner().invoke(app, [*base, "--champion", "v1", "--challenger", "v2"])
        assert r.exit_code == 0, r.output
        assert r.stdout.startswith("PROMOTE the challenger: m v2 (challenger) against v1 (champion)")
        assert "paired traffic, 800 shared ids" in r.stdout and "roc_auc" in r.stdout and "McNemar" in r.stdout
        r = CliRunner().invoke(app, [*base, "--champion", "v2", "--challenger", "v1", "--json"])
        assert r.exit_code == 1, r.output
        assert json.loads(r.stdout)["verdict"]["decision"] == "rollback"
        # the real entry point: one line on stderr, exit 2, never a traceback
        p = subprocess.run([sys.executable, "-m", "argusml.cli.main", *base, "--champion", "v1", "--challenger", "v9"],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "ARGUS_NO_PROGRESS": "1"})
        assert p.returncode == 2 and "Traceback" not in p.stderr
        assert p.stderr.strip() == ("argus: error: 422 unknown_version: challenger 'v9': model 'm' has no events of "
                                    "that version; its versions: v1, v2")
    finally:
        server.stop()
    r = CliRunner().invoke(app, ["compare", "--url", f"http://127.0.0.1:{free_port()}", "--model", "m",
                                 "--champion", "v1", "--challenger", "v2"])
    assert r.exit_code == 2 and r.stderr.startswith("argus: error: cannot reach the service at http://127.0.0.1:")
    r = CliRunner().invoke(app, ["compare", "--help"])
    assert r.exit_code == 0 and "Example: argus compare --url http://argus:8080" in r.stdout
