"""`argus demo --live`: clean windows stay quiet, drifted windows find the planted problems."""

from __future__ import annotations

from argusml.service.live_demo import run_live_demo
from service_util import free_port


def test_live_demo_is_quiet_then_finds_the_planted_drift():
    lines: list[str] = []
    out = run_live_demo(free_port(), windows=4, window_seconds=2, rows_per_window=1500, echo=lines.append)
    verdicts = out["verdicts"]
    assert len(verdicts) == 4, lines
    assert [v["status"] for v in verdicts[:2]] == ["ok", "ok"], lines
    for v in verdicts[2:]:
        assert v["status"] == "drift", lines
        drifted = {c for sev, check, c in v["findings"] if check == "drift"}
        assert {"channel", "utilization"} <= drifted, v  # the two largest planted changes, in 1,500 rows
        assert ("P1", "missing_values", "employment") in v["findings"]
    assert out["status"]["events_total"] == 6000 and out["status"]["labels_joined"] == 1500
