"""The weekly owner report: the numbers it gathers against a hand calculation on a store filled through the
real monitor, its PNG charts decoded pixel by pixel, its HTML self-contained, its e-mail received by a real
SMTP server exactly once per period across a restart, retried when the server is down, and the CLI and
HTTP reads of it."""

from __future__ import annotations

import base64
import email
import email.policy
import math
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from argusml.cli.main import app
from argusml.monitor import Settings
from argusml.profile import Reference
from argusml.reports.digest import content_id, coverage_chart, quality_chart, render_html
from argusml.reports.raster import PALETTE, Canvas, Chart, encode_png
from argusml.schema import ConfigError
from argusml.schema.digest import DigestSettings, digest_receiver, parse_every
from argusml.schema.model_config import ModelConfig, model_config_from_dict
from service_util import Clock, LiveServer, event, free_port, make_reference, start_monitor

HOUR = 3600.0
DAY = 86400.0
SUNDAY = 1_799_971_200.0 + 2 * DAY  # Sunday 2027-01-17 00:00 UTC (T0 is Friday the 15th, 08:00)
MONDAY_8 = SUNDAY + DAY + 8 * HOUR  # the send time that ends the period: Monday 2027-01-18 08:00 UTC
Z = 1.959963984540054  # the normal quantile of 0.975


# -- PNG ---------------------------------------------------------------------------------------------


def decode_png(data: bytes) -> np.ndarray:
    """The RGB pixels of a PNG as Argus writes it (8-bit RGB, filter 0), read chunk by chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        pos += 12 + n
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    w, h, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour) == (8, 2)
    raw = np.frombuffer(zlib.decompress(chunks[1][1]), dtype=np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()  # every scanline unfiltered
    return raw[:, 1:].reshape(h, w, 3)


def test_png_header_size_and_the_pixels_of_a_line():
    c = Canvas(64, 32)
    c.polyline([5, 50], [10, 10], (200, 0, 0), width=1)
    c.polyline([10, 10], [2, 30], (0, 0, 200), width=1)
    data = c.png()
    assert struct.unpack(">II", data[16:24]) == (64, 32)  # IHDR's width and height
    px = decode_png(data)
    assert px.shape == (32, 64, 3)
    red = np.flatnonzero((px[10] == (200, 0, 0)).all(axis=1))
    assert red.tolist() == [x for x in range(5, 51) if x != 10]  # from 5 to 50, crossed at 10
    assert (px[2:31, 10] == (0, 0, 200)).all()  # the blue one, drawn after, crosses it
    assert (px[1, 10] == 255).all() and (px[31, 10] == 255).all()
    assert (px[20, 30] == 255).all() and (px[9, 20] == 255).all()
    # a band blends over what is there: white * 0.75 + colour * 0.25, rounded
    c.band([20, 40], [20, 20], [28, 28], (0, 0, 200), alpha=0.25)
    band = decode_png(c.png())
    assert tuple(band[24, 30]) == (191, 191, 241)
    assert (band[18, 30] == 255).all() and (band[30, 30] == 255).all()


def test_encode_png_refuses_what_it_cannot_write():
    with pytest.raises(ValueError, match=r"\(height, width, 3\) uint8"):
        encode_png(np.zeros((4, 4), dtype=np.uint8))


def test_chart_draws_a_point_where_it_says_and_a_nan_is_a_gap():
    chart = Chart(320, 160, (0.0, 10.0), (0.5, 1.0), [0.0, 5.0, 10.0], lambda t: f"{t:g}", lambda v: f"{v:.1f}")
    chart.series([1.0, 2.0, 3.0, 7.0, 8.0], [0.6, 0.7, 0.8, None, 0.9], PALETTE[0])
    px = decode_png(chart.png())
    for x, y in ((1.0, 0.6), (2.0, 0.7), (3.0, 0.8), (8.0, 0.9)):
        col, row = round(float(chart.x_px(x))), round(float(chart.y_px(y)))
        assert tuple(px[row, col]) == PALETTE[0], (x, y)
    # between 3 and 8 there is no line (7 is a gap), so the middle of that span is not the series colour
    col, row = round(float(chart.x_px(5.5))), round(float(chart.y_px(0.85)))
    assert tuple(px[row, col]) != PALETTE[0]


# -- config --------------------------------------------------------------------------------------------


def test_schedule_and_config_errors_name_the_key():
    assert parse_every("monday 08:00") == (0, 8 * 3600)
    assert DigestSettings().last_due(MONDAY_8) == MONDAY_8
    assert DigestSettings().last_due(MONDAY_8 - 1) == MONDAY_8 - 7 * DAY
    assert DigestSettings(every="sunday 23:30").last_due(MONDAY_8) == SUNDAY + 23.5 * HOUR
    for bad, why in (("funday 08:00", "not a weekday"), ("monday 25:00", "not a time of day"),
                     ("monday", "not a weekday and a UTC time")):
        with pytest.raises(ConfigError, match=why) as exc:
            model_config_from_dict({"model": "m", "owner": "a@example.com", "digest": {"every": bad}}, "m.yaml")
        assert "m.yaml" in str(exc.value) and "digest.every" in str(exc.value)
    with pytest.raises(ConfigError, match=re.escape("nobody to send it to; set digest.to, or owner")):
        model_config_from_dict({"model": "m", "owner": "alice", "digest": {}}, "m.yaml")
    with pytest.raises(ConfigError, match="'pager' is not an e-mail receiver"):
        model_config_from_dict({"model": "m", "digest": {"receiver": "pager"}, "alerts": {"receivers": {
            "pager": {"webhook": "http://x.example/hook"}}}}, "m.yaml")
    with pytest.raises(ConfigError, match="the name is taken by the digest"):
        model_config_from_dict({"model": "m", "owner": "a@example.com", "digest": {}, "alerts": {"receivers": {
            "digest": {"webhook": "http://x.example/hook"}}}}, "m.yaml")
    # the owner by default; a named e-mail receiver lends its server and, with nobody else named, its recipients
    cfg = ModelConfig(model="m", owner="alice@example.com", digest={})
    assert digest_receiver(cfg.digest, cfg.owner, {}).email.to == ["alice@example.com"]
    cfg = ModelConfig(model="m", owner="alice", digest={"receiver": "mail"}, alerts={"receivers": {"mail": {
        "email": {"to": ["team@example.com"], "smtp_host": "mx.example.com", "smtp_port": 587}}}})
    rx = digest_receiver(cfg.digest, cfg.owner, cfg.alerts.all_receivers()).email
    assert (rx.to, rx.smtp_host, rx.smtp_port) == (["team@example.com"], "mx.example.com", 587)


# -- the numbers, by hand --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ref() -> Reference:
    return make_reference(n=4000)


def wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


HOURS = [  # (events, labelled, of which wrong, feature shift)
    (500, 400, 100, 0.0),
    (500, 500, 50, 0.0),
    (500, 0, 0, 1.5),
]


def fill(running: Any) -> dict[str, Any]:
    """Three hours of Sunday traffic through the real app: labels for the first two (a known share of them
    wrong at threshold 0.5), the third hour's inputs shifted; every window closed and scored."""
    client, clock, mon = running.client, running.clock, running.monitor
    rng = np.random.default_rng(5)
    start = SUNDAY + 10 * HOUR
    for h, (n, labelled, wrong, shift) in enumerate(HOURS):
        t0 = start + h * HOUR
        clock.t = t0 + HOUR - 60
        events = [event(f"{h}-{i}", rng, shift=shift, timestamp=t0 + 5 + 7 * i) for i in range(n)]
        assert client.post("/v1/models/m/events", json=events).status_code == 200
        labels = []
        for i, e in enumerate(events[:labelled]):
            y = int(e["prediction"] >= 0.5)
            labels.append({"id": e["id"], "label": 1 - y if i < wrong else y})
        if labels:
            assert client.post("/v1/models/m/labels", json=labels).status_code in (200, 202)
    clock.t = start + 3 * HOUR + 300  # past the last window's end and lateness
    assert mon.wait_idle() and mon.wait_idle()
    mon.update_performance(force=True)
    mon.alerting.run_once()
    return {"start": start}


def model_config(**extra: Any) -> ModelConfig:
    return ModelConfig(model="m", window="1h", lateness="2m", owner="owner@example.com", team="risk",
                       performance={"threshold": 0.5, "watched": ["accuracy"], "min_labels": 50},
                       alerts={"for_windows": 1}, **extra)


def test_gathered_numbers_match_a_hand_calculation(tmp_path, ref):
    running = start_monitor(tmp_path / "data", (model_config(digest={}), ref), clock=Clock(SUNDAY),
                            settings=Settings(tick_every=0.02, snapshot_every=0.05, performance_every=3600,
                                              alert_every=3600))
    try:
        mon, client, clock = running.monitor, running.client, running.clock
        filled = fill(running)
        start = filled["start"]
        # one incident for the drifted hour; resolved by hand 90 minutes after it opened
        incidents = client.get("/v1/incidents", params={"model": "m"}).json()
        assert len(incidents) == 1, incidents
        opened = incidents[0]
        opened_ts = running.store.incident_state(opened["id"])["opened_at"]
        clock.t = opened_ts + 5400
        assert client.post(f"/v1/incidents/{opened['id']}/resolve", json={"by": "alice"}).status_code == 200

        d = mon.digest("m", MONDAY_8, 7 * DAY)
        assert d["period"] == {"start": "2027-01-11T08:00:00Z", "end": "2027-01-18T08:00:00Z",
                               "start_ts": MONDAY_8 - 7 * DAY, "end_ts": MONDAY_8, "days": 7.0}
        assert (d["model"], d["owner"], d["team"]) == ("m", "owner@example.com", "risk")

        q = d["quality"]
        assert (q["metric"], q["granularity"], q["min_labels"]) == ("accuracy", HOUR, 50)
        points = q["versions"]["unversioned"]
        assert [p["start_ts"] for p in points] == [start, start + HOUR, start + 2 * HOUR]
        assert [(p["predictions"], p["labels"]) for p in points] == [(500, 400), (500, 500), (500, 0)]
        assert [p["coverage"] for p in points] == [0.8, 1.0, 0.0]
        for p, (k, n) in zip(points[:2], ((300, 400), (450, 500))):
            lo, hi = wilson(k, n)
            assert p["value"] == k / n and p["judged"]
            assert p["low"] == pytest.approx(lo, abs=1e-12) and p["high"] == pytest.approx(hi, abs=1e-12)
        assert points[2]["value"] is None and not points[2]["judged"]
        # the reference's own accuracy is about 0.75 (a calibrated score on uniform scores): neither hour dropped
        assert q["summary"]["unversioned"] == {"windows": 3, "judged": 2, "first": 0.75, "last": 0.9, "degraded": 0}

        assert d["labels"] == {"predictions": 1500, "labels": 900, "coverage": 0.6,
                               "versions": {"unversioned": {"predictions": 1500, "labels": 900, "coverage": 0.6}}}

        dr = d["drift"]
        assert (dr["windows"], dr["drifted_windows"], dr["window"]) == (3, 1, HOUR)
        assert dr["features"] == [{"feature": f"x{i}", "windows": 1} for i in range(6)]
        assert dr["days"] == [{"day": "2027-01-17T00:00:00Z", "day_ts": SUNDAY, "windows": 3, "drifted": 1}]

        inc = d["incidents"]
        assert (inc["opened"], inc["resolved"], inc["open_at_end"]) == (1, 1, 0)
        assert inc["median_time_to_resolve_s"] == 5400.0 == inc["max_time_to_resolve_s"]
        assert inc["incidents"][0]["id"] == opened["id"] and inc["incidents"][0]["time_to_resolve_s"] == 5400.0

        assert d["cost"] == {"configured": False, "note": "no cost model configured"}
        advice = client.get("/v1/models/m/advice").json()
        assert d["recommendation"] == {"decision": advice["decision"], "summary": advice["summary"],
                                       "version": advice.get("version")}

        # a period that ends before the traffic holds none of it
        empty = mon.digest("m", start, 7 * DAY)
        assert empty["labels"]["predictions"] == 0 and empty["drift"]["windows"] == 0
        assert empty["incidents"]["opened"] == 0 and empty["quality"]["metric"] is None
        page, _ = render_html(empty)
        assert "could not be measured" in page and "No window in this period" in page

        # the page: no script, nothing fetched from elsewhere, every image a PNG inside it
        page, parts = render_html(d, images="data")
        assert parts == {}
        assert "<script" not in page.lower() and "http://" not in page and "https://" not in page
        assert not re.search(r"""(src|href)\s*=\s*["'](?!data:image/png;base64,)""", page)
        srcs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
        assert len(srcs) == 2  # quality and coverage; no cost chart without a cost model
        shapes = [decode_png(base64.b64decode(s)).shape for s in srcs]
        assert shapes == [(220, 640, 3), (220, 640, 3)]
        assert "Recommended: " in page and "No cost model configured." in page
        assert "<b>1</b> of 3 1 h windows drifted" in page and "<td" in page
        priced = {**d, "cost": {"configured": True, "currency": "EUR", "total": 7.0, "per_prediction": 0.035,
                                "days": [{"day": "2027-01-17T00:00:00Z", "day_ts": SUNDAY, "cost": 7.0}]}}
        page, _ = render_html(priced)
        assert "Total <b>7 EUR</b>; per prediction 0.035 EUR." in page and "2027-01-17</td>" in page
        assert len(re.findall(r'src="data:image/png;base64,', page)) == 3
        # the charts draw each window at its middle, where their axes put it: the judged windows' accuracy (the
        # unjudged third hour is a gap), every window's coverage
        chart = quality_chart(d)
        assert chart is not None
        px = decode_png(chart.png())
        for mid, value in ((start + HOUR / 2, 0.75), (start + 1.5 * HOUR, 0.9)):
            assert tuple(px[round(float(chart.y_px(value))), round(float(chart.x_px(mid)))]) == PALETTE[0]
        cover = coverage_chart(d)
        assert cover is not None
        px = decode_png(cover.png())
        for mid, value in ((start + HOUR / 2, 0.8), (start + 1.5 * HOUR, 1.0), (start + 2.5 * HOUR, 0.0)):
            assert tuple(px[round(float(cover.y_px(value))), round(float(cover.x_px(mid)))]) == PALETTE[0]
    finally:
        running.stop()


# -- the e-mail, against a real SMTP server -----------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def until(cond: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Wait for the monitor's own threads (the alert loop, the sender) to get somewhere."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def check_message(msg: email.message.EmailMessage, charts: int) -> None:
    """One multipart/related e-mail whose HTML names exactly its ``charts`` image parts by Content-ID, PNGs
    all."""
    assert msg.get_content_type() == "multipart/related"
    parts = list(msg.iter_parts())
    assert parts[0].get_content_type() == "text/html"
    page = parts[0].get_content()
    assert "<script" not in page.lower() and "http://" not in page and "https://" not in page
    images = {p["Content-ID"].strip("<>"): p.get_content() for p in parts[1:]}
    assert all(p.get_content_type() == "image/png" for p in parts[1:])
    assert set(re.findall(r'src="cid:([^"]+)"', page)) == set(images) and len(images) == charts
    for png in images.values():
        assert decode_png(png).shape == (220, 640, 3)


def test_one_email_per_period_across_a_restart(tmp_path, ref, smtp):
    inbox, port = smtp
    cfg = model_config(digest={"to": ["owner@example.com", "lead@example.com"],
                               "smtp": {"smtp_host": "127.0.0.1", "smtp_port": port, "sender": "argus@example.com"}})
    settings = Settings(tick_every=0.02, snapshot_every=0.05, performance_every=3600, alert_every=0.02)
    clock = Clock(SUNDAY)
    running = start_monitor(tmp_path / "data", (cfg, ref), clock=clock, settings=settings)
    try:
        fill(running)
        mon = running.monitor
        clock.t = MONDAY_8 - 10  # seen before its first send time: nothing goes yet
        passes = mon.alerting.passes
        assert until(lambda: mon.alerting.passes >= passes + 3)
        assert inbox.messages == [] and running.store.cursor("digest.m") == MONDAY_8 - 7 * DAY
        clock.t = MONDAY_8 + 10  # the alert loop queues it, the sender delivers it
        assert until(lambda: len(inbox.messages) == 1)
        rcpt, msg = inbox.messages[0]
        assert rcpt == ["owner@example.com", "lead@example.com"]
        assert msg["Subject"].startswith("Argus weekly report: m, 2027-01-11 to 2027-01-18 (")
        assert (msg["From"], msg["To"]) == ("argus@example.com", "owner@example.com, lead@example.com")
        check_message(msg, 2)
        assert until(lambda: mon.alerting.sender.sent.get(("m", "digest")) == 1)
        passes = mon.alerting.passes
        assert until(lambda: mon.alerting.passes >= passes + 3)
        assert len(inbox.messages) == 1
    finally:
        running.stop()
    # a restart in the same period sends nothing more
    running = start_monitor(tmp_path / "data", (cfg, ref), clock=clock, settings=settings)
    try:
        mon = running.monitor
        clock.t = MONDAY_8 + 3600
        passes = mon.alerting.passes
        assert until(lambda: mon.alerting.passes >= passes + 5)
        assert len(inbox.messages) == 1 and mon.digests.run_once() == []
        rows = [r for r in running.store.notifications(model="m") if r["receiver"] == "digest"]
        assert [(r["state"], r["incident_id"]) for r in rows] == [("sent", "digest-2027-01-18T08:00:00Z")]
        # the next period's send time: the next one
        clock.t = MONDAY_8 + 7 * DAY + 1
        assert until(lambda: len(inbox.messages) == 2)
        assert inbox.messages[1][1]["Subject"].startswith("Argus weekly report: m, 2027-01-18 to 2027-01-25 (")
        assert inbox.messages[1][1]["Message-ID"] != inbox.messages[0][1]["Message-ID"]
    finally:
        running.stop()


def test_a_failed_send_is_retried_and_counted(tmp_path, ref):
    port = free_port()  # nothing listens there yet
    cfg = model_config(digest={"smtp": {"smtp_host": "127.0.0.1", "smtp_port": port}})
    clock = Clock(MONDAY_8 - 60)
    running = start_monitor(tmp_path / "data", (cfg, ref), clock=clock, start=False)
    try:
        mon = running.monitor
        sender = mon.alerting.sender
        assert mon.digests.run_once() == []  # first sight
        clock.t = MONDAY_8 + 1
        assert mon.digests.run_once() == ["m"] and mon.digests.run_once() == []
        assert sender.run_once(clock.t) == 1
        assert sender.failures[("m", "digest")] == 1 and sender.sent.get(("m", "digest")) is None
        (row,) = running.store.notifications(model="m")
        assert row["state"] == "pending" and row["attempts"] == 1 and row["next_at"] > clock.t
        assert row["last_error"].startswith(f"receiver 'digest' (email via 127.0.0.1:{port}): ConnectionRefused")
        from aiosmtpd.controller import Controller

        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            assert sender.run_once(row["next_at"]) == 1
            assert sender.sent[("m", "digest")] == 1 and len(inbox.messages) == 1
            assert inbox.messages[0][0] == ["owner@example.com"]
            check_message(inbox.messages[0][1], 0)  # no traffic, no chart: the page says so in words
            assert "could not be measured" in inbox.messages[0][1].get_body(("html",)).get_content()
        finally:
            controller.stop()
        (row,) = running.store.notifications(model="m")
        assert (row["state"], row["attempts"]) == ("sent", 2)
    finally:
        running.stop()


# -- HTTP and CLI -------------------------------------------------------------------------------------------


def test_http_json_round_trip_html_and_the_cli_file(tmp_path, ref):
    running = start_monitor(tmp_path / "data", (model_config(), ref), clock=Clock(SUNDAY),
                            settings=Settings(tick_every=0.02, snapshot_every=0.05, performance_every=3600,
                                              alert_every=3600))
    try:
        fill(running)
        mon, client = running.monitor, running.client
        r = client.get("/v1/models/m/digest", params={"days": 7, "until": "2027-01-18T08:00:00Z"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert r.json() == orjson.loads(orjson.dumps(mon.digest("m", MONDAY_8, 7 * DAY)))
        assert r.json()["labels"]["labels"] == 900
        short = client.get("/v1/models/m/digest", params={"days": 0.5, "until": str(MONDAY_8)}).json()
        assert short["period"]["start_ts"] == MONDAY_8 - DAY / 2 and short["labels"]["predictions"] == 0
        page = client.get("/v1/models/m/digest", params={"format": "html", "until": str(MONDAY_8)})
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page.text
        assert client.get("/v1/models/nope/digest").status_code == 404
        bad = client.get("/v1/models/m/digest", params={"until": "yesterday"})
        assert bad.status_code == 400 and "until" in bad.json()["detail"]
        assert client.get("/v1/models/m/digest", params={"days": 0}).status_code == 422
        assert client.get("/v1/models/m/digest", params={"format": "pdf"}).status_code == 422

        out = tmp_path / "reports" / "m-week.html"
        with LiveServer(mon) as srv:
            res = CliRunner().invoke(app, ["digest", "--url", srv.url, "--model", "m", "-o", str(out),
                                           "--until", "2027-01-18T08:00:00Z"])
            missing = CliRunner().invoke(app, ["digest", "--url", srv.url, "--model", "nope", "-o", str(out) + "x"])
            as_json = CliRunner().invoke(app, ["digest", "--url", srv.url, "--model", "m", "-f", "json", "-o", "-",
                                               "--until", str(MONDAY_8)])
        dead = CliRunner().invoke(app, ["digest", "--url", f"http://127.0.0.1:{free_port()}", "--model", "m"])
        assert res.exit_code == 0, res.output
        text = out.read_text()
        assert text == page.text.replace(re.search(r"Generated by Argus at [^<]*", page.text).group(0),
                                         re.search(r"Generated by Argus at [^<]*", text).group(0))
        assert "<script" not in text.lower() and len(re.findall(r'src="data:image/png;base64,', text)) == 2
        assert missing.exit_code == 2 and missing.stderr.startswith("argus: error: ") and "nope" in missing.stderr
        assert not Path(str(out) + "x").exists()
        assert as_json.exit_code == 0 and orjson.loads(as_json.stdout)["labels"]["coverage"] == 0.6
        assert dead.exit_code == 2 and "cannot reach the service" in dead.stderr
    finally:
        running.stop()


def test_cid_content_ids_are_unique_per_model_period_and_chart():
    d = {"model": "credit/risk", "period": {"end_ts": MONDAY_8}}
    assert content_id(d, "quality") == f"quality.credit_risk.{int(MONDAY_8)}@argus"
    assert content_id(d, "coverage") != content_id(d, "quality")


def test_cost_per_day_when_a_cost_model_and_its_reader_are_wired():
    """The cost section reads what a cost reader gives per day and version (summed per day), and says there
    is no cost model when the config has none or nothing reads cost."""
    from types import SimpleNamespace

    from argusml.monitor.digest import gather_cost
    from argusml.reports.digest import cost_chart

    rows = [{"day": SUNDAY - DAY, "version": "v1", "cost": 2.5, "predictions": 100},
            {"day": SUNDAY - DAY, "version": "v2", "cost": 1.5, "predictions": 60},
            {"day": SUNDAY, "version": "v1", "cost": 3.0, "predictions": 40}]
    asked = []

    def read(model: str, start: float, end: float) -> list[dict[str, Any]]:
        asked.append((model, start, end))
        return rows

    state = SimpleNamespace(name="m", config=SimpleNamespace(cost=SimpleNamespace(currency="EUR")))
    cost = gather_cost(state, MONDAY_8 - 7 * DAY, MONDAY_8, read)  # type: ignore[arg-type]
    assert asked == [("m", MONDAY_8 - 7 * DAY, MONDAY_8)]
    assert (cost["configured"], cost["currency"], cost["total"], cost["per_prediction"]) == (True, "EUR", 7.0, 0.035)
    assert cost["days"] == [{"day": "2027-01-16T00:00:00Z", "day_ts": SUNDAY - DAY, "cost": 4.0},
                            {"day": "2027-01-17T00:00:00Z", "day_ts": SUNDAY, "cost": 3.0}]
    assert gather_cost(state, 0, 1, None) == {"configured": False, "note": "no cost model configured"}  # type: ignore[arg-type]
    bare = SimpleNamespace(name="m", config=SimpleNamespace())
    assert gather_cost(bare, 0, 1, read)["configured"] is False  # type: ignore[arg-type]

    digest = {"model": "m", "period": {"start_ts": MONDAY_8 - 7 * DAY, "end_ts": MONDAY_8}, "cost": cost}
    chart = cost_chart(digest)
    assert chart is not None
    px = decode_png(chart.png())
    for day, value in ((SUNDAY - DAY, 4.0), (SUNDAY, 3.0)):
        assert tuple(px[round(float(chart.y_px(value))), round(float(chart.x_px(day + DAY / 2)))]) == PALETTE[0]
