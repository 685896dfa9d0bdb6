"""The weekly owner report as a page and as an e-mail: one self-contained HTML document with PNG charts.

The page must read the same in a mail client, in a browser from a file, and without Argus running: no
script, no stylesheet or font from elsewhere, no link it needs. So the layout is tables with inline
styles (the subset mail clients honour), and the charts are PNG images (``raster.py``) that travel with
the page: as ``cid:`` parts of a ``multipart/related`` e-mail, or as ``data:`` URIs in the file
`argus digest` writes and ``GET /v1/models/{m}/digest?format=html`` answers.

The input is the dict ``monitor/digest.py`` gathers (the JSON of ``?format=json``), so the page is a pure
function of it.
"""

from __future__ import annotations

import base64
import email.policy
import html
import math
import re
from collections.abc import Callable
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any

from argusml.reports.fmt import DASH, fmt_duration, fmt_num, fmt_pct
from argusml.reports.raster import PALETTE, Chart, Color

DAY = 86400.0
WIDTH, HEIGHT = 640, 220
DECISION_COLORS = {"no_action": "#2e7d32", "investigate": "#ef6c00", "retrain": "#c62828", "rollback": "#c62828"}
_FONT = "font-family:Helvetica,Arial,sans-serif;"
_CELL = "padding:4px 8px;border-bottom:1px solid #e0e0e0;text-align:left;"
_HEAD = _CELL + "background:#f5f5f5;font-weight:bold;"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _label_day(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%m/%d")


def _label_hour(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M")


def _x_axis(start: float, end: float) -> tuple[list[float], Callable[[float], str]]:
    """Ticks on UTC midnights (every k days, at most 8 of them), or on hours for a period under two days."""
    span = end - start
    if span >= 2 * DAY:
        step = DAY * max(1, math.ceil(span / DAY / 8))
        label = _label_day
    else:
        step = 3600.0 * next(h for h in (1, 2, 3, 6, 12, 24) if span / (3600.0 * h) <= 8)
        label = _label_hour
    first = math.ceil(start / step) * step
    return [first + k * step for k in range(int((end - first) // step) + 1)], label


def _y_label(lo: float, hi: float) -> Callable[[float], str]:
    digits = max(0, min(4, 1 - math.floor(math.log10(max(hi - lo, 1e-12)))))
    return lambda v: f"{v:.{digits}f}"


def _color(i: int) -> Color:
    return PALETTE[i % len(PALETTE)]


def _hex(c: Color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def quality_chart(digest: dict[str, Any]) -> Chart | None:
    """The primary metric per version over the period, each judged window at its middle, with its
    interval as a band; windows with too few labels are gaps. None when no window was judged."""
    q = digest["quality"]
    points = [(v, p) for v, ps in q["versions"].items() for p in ps if p["judged"]]
    if not points:
        return None
    lows = [p["low"] if p["low"] is not None else p["value"] for _, p in points]
    highs = [p["high"] if p["high"] is not None else p["value"] for _, p in points]
    lo, hi = min(lows), max(highs)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.01, hi + 0.01
    period = digest["period"]
    ticks, label = _x_axis(period["start_ts"], period["end_ts"])
    chart = Chart(WIDTH, HEIGHT, (period["start_ts"], period["end_ts"]), (lo, hi), ticks, label, _y_label(lo, hi))
    half = q["granularity"] / 2
    for i, ps in enumerate(q["versions"].values()):
        x = [p["start_ts"] + half for p in ps]
        keep = [p["judged"] for p in ps]
        chart.series(x, [p["value"] if k else None for p, k in zip(ps, keep)], _color(i),
                     [p["low"] if k else None for p, k in zip(ps, keep)],
                     [p["high"] if k else None for p, k in zip(ps, keep)])
    return chart


def coverage_chart(digest: dict[str, Any]) -> Chart | None:
    """Label coverage per window and version (labelled share of the window's predictions), 0 to 100%."""
    q = digest["quality"]
    if not any(p["coverage"] is not None for ps in q["versions"].values() for p in ps):
        return None
    period = digest["period"]
    ticks, label = _x_axis(period["start_ts"], period["end_ts"])
    chart = Chart(WIDTH, HEIGHT, (period["start_ts"], period["end_ts"]), (0.0, 1.0), ticks, label,
                  lambda v: f"{100 * v:.0f}%")
    half = q["granularity"] / 2
    for i, (_, ps) in enumerate(q["versions"].items()):
        chart.series([p["start_ts"] + half for p in ps], [p["coverage"] for p in ps], _color(i))
    return chart


def cost_chart(digest: dict[str, Any]) -> Chart | None:
    cost = digest["cost"]
    days = cost.get("days") or []
    if not cost.get("configured") or not days:
        return None
    period = digest["period"]
    ticks, label = _x_axis(period["start_ts"], period["end_ts"])
    values = [d["cost"] for d in days]
    lo, hi = 0.0, max(max(values), 1e-9)
    chart = Chart(WIDTH, HEIGHT, (period["start_ts"], period["end_ts"]), (lo, hi), ticks, label, _y_label(lo, hi))
    chart.series([d["day_ts"] + DAY / 2 for d in days], values, _color(0))
    return chart


def charts(digest: dict[str, Any]) -> dict[str, bytes]:
    """The report's PNG charts by name (those with something to show)."""
    out = {}
    for name, fn in (("quality", quality_chart), ("coverage", coverage_chart), ("cost", cost_chart)):
        chart = fn(digest)
        if chart is not None:
            out[name] = chart.png()
    return out


def content_id(digest: dict[str, Any], name: str) -> str:
    """A chart's Content-ID (without angle brackets): unique per model, period and chart."""
    model = re.sub(r"[^A-Za-z0-9_.-]", "_", str(digest["model"]))
    return f"{name}.{model}.{int(digest['period']['end_ts'])}@argus"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """A table of already escaped cells."""
    th = "".join(f'<th style="{_HEAD}">{h}</th>' for h in head)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in r) + "</tr>" for r in rows)
    return f'<table cellpadding="0" cellspacing="0" style="border-collapse:collapse;{_FONT}font-size:13px">' \
           f"<tr>{th}</tr>{body}</table>"


def _section(title: str, body: str) -> str:
    return (f'<tr><td style="padding:16px 0 4px 0;{_FONT}"><h2 style="margin:0;font-size:17px;color:#222">'
            f'{_e(title)}</h2></td></tr><tr><td style="{_FONT}font-size:14px;color:#333">{body}</td></tr>')


def _img(src: str | None, alt: str) -> str:
    if src is None:
        return ""
    return (f'<p style="margin:8px 0"><img src="{_e(src)}" width="{WIDTH}" height="{HEIGHT}" alt="{_e(alt)}" '
            'style="display:block;border:0;max-width:100%;height:auto"></p>')


def _legend(versions: list[str]) -> str:
    if len(versions) < 2:
        return ""
    items = " ".join(f'<span style="color:{_hex(_color(i))};font-weight:bold">&#9632;</span> {_e(v)}'
                     for i, v in enumerate(versions))
    return f'<p style="margin:4px 0;font-size:13px">{items}</p>'


def _quality(d: dict[str, Any], src: str | None) -> str:
    q = d["quality"]
    if q["metric"] is None:
        return "<p>No labelled predictions in this period: model quality could not be measured.</p>"
    rows = []
    for v, s in q["summary"].items():
        rows.append([_e(v), fmt_num(s["windows"]), fmt_num(s["judged"]), fmt_num(s["first"]), fmt_num(s["last"]),
                     fmt_num(s["degraded"])])
    return (f"<p><b>{_e(q['metric'])}</b> per {_e(fmt_duration(q['granularity']))} window with its 95% interval "
            f"(windows with at least {fmt_num(q['min_labels'])} labels).</p>"
            + _img(src, f"{q['metric']} over the period") + _legend(list(q["versions"]))
            + _table(["version", "windows", "judged", "first", "last", "degraded"], rows))


def _incidents(d: dict[str, Any]) -> str:
    inc = d["incidents"]
    head = (f"<p>Opened: <b>{inc['opened']}</b> &middot; resolved: <b>{inc['resolved']}</b> &middot; still open at "
            f"the end: <b>{inc['open_at_end']}</b> &middot; median time to resolve: "
            f"<b>{_e(fmt_duration(inc['median_time_to_resolve_s']))}</b></p>")
    if not inc["incidents"]:
        return head
    rows = [[_e(i["id"]), _e(i["severity"]), _e((i["opened_at"] or DASH).replace("T", " ").rstrip("Z")),
             _e((i["resolved_at"] or ("open" if i["open"] else DASH)).replace("T", " ").rstrip("Z")),
             _e(fmt_duration(i["time_to_resolve_s"])), _e(i["title"])] for i in inc["incidents"]]
    return head + _table(["incident", "severity", "opened (UTC)", "resolved (UTC)", "time to resolve", "what"], rows)


def _drift(d: dict[str, Any]) -> str:
    dr = d["drift"]
    if not dr["windows"]:
        return "<p>No window in this period had enough rows to test for drift.</p>"
    share = dr["drifted_windows"] / dr["windows"]
    text = (f"<p><b>{dr['drifted_windows']}</b> of {dr['windows']} {_e(fmt_duration(dr['window']))} windows drifted "
            f"({fmt_pct(share)}).")
    if dr["prediction_windows"]:
        text += f" The prediction drifted in {dr['prediction_windows']}."
    text += "</p>"
    if dr["features"]:
        text += _table(["feature", "windows drifted"], [[_e(f["feature"]), fmt_num(f["windows"])]
                                                          for f in dr["features"]])
    return text


def _labels(d: dict[str, Any], src: str | None) -> str:
    lab = d["labels"]
    text = (f"<p>{fmt_num(lab['labels'])} of {fmt_num(lab['predictions'])} predictions labelled "
            f"(<b>{fmt_pct(lab['coverage'])}</b>).</p>")
    if len(lab["versions"]) > 1:
        text += _table(["version", "predictions", "labelled", "coverage"],
                       [[_e(v), fmt_num(x["predictions"]), fmt_num(x["labels"]), fmt_pct(x["coverage"])]
                        for v, x in lab["versions"].items()])
    return text + _img(src, "label coverage over the period")


def _cost(d: dict[str, Any], src: str | None) -> str:
    cost = d["cost"]
    if not cost.get("configured"):
        return f"<p>{_e(cost.get('note') or 'no cost model configured').capitalize()}.</p>"
    cur = f" {_e(cost['currency'])}" if cost.get("currency") else ""
    return (f"<p>Total <b>{fmt_num(cost['total'])}{cur}</b>; per prediction {fmt_num(cost['per_prediction'])}{cur}."
            "</p>" + _img(src, "cost per day")
            + _table(["day (UTC)", "cost"], [[_e(x["day"][:10]), fmt_num(x["cost"])] for x in cost["days"]]))


def render_html(digest: dict[str, Any], images: str = "data") -> tuple[str, dict[str, bytes]]:
    """The page and its images: ``images="data"`` embeds each chart as a ``data:`` URI (one file),
    ``"cid"`` refers to it as ``cid:<content id>`` and returns the PNGs by content id for the e-mail."""
    if images not in ("data", "cid"):
        raise ValueError(f"images must be 'data' or 'cid', not {images!r}")
    pngs = charts(digest)
    src: dict[str, str | None] = {"quality": None, "coverage": None, "cost": None}
    parts: dict[str, bytes] = {}
    for name, png in pngs.items():
        if images == "data":
            src[name] = "data:image/png;base64," + base64.b64encode(png).decode()
        else:
            cid = content_id(digest, name)
            src[name] = f"cid:{cid}"
            parts[cid] = png
    period = digest["period"]
    rec = digest["recommendation"]
    decision = rec.get("decision") or "unknown"
    colour = DECISION_COLORS.get(decision, "#555555")
    who = " &middot; ".join(x for x in (f"owner {_e(digest['owner'])}" if digest.get("owner") else "",
                                          f"team {_e(digest['team'])}" if digest.get("team") else "") if x)
    body = (
        f'<tr><td style="{_FONT}"><h1 style="margin:0;font-size:22px;color:#111">Weekly report: '
        f'{_e(digest["model"])}</h1><p style="margin:4px 0;color:#555;font-size:13px">'
        f'{_e(_when(period["start_ts"]))} to {_e(_when(period["end_ts"]))} UTC'
        + (f" &middot; {who}" if who else "") + "</p></td></tr>"
        f'<tr><td style="padding:12px;border-left:6px solid {colour};background:#fafafa;{_FONT}">'
        f'<p style="margin:0;font-size:16px;font-weight:bold;color:{colour}">Recommended: '
        f'{_e(decision.replace("_", " "))}</p><p style="margin:6px 0 0 0;font-size:14px;color:#333">'
        f'{_e(rec.get("summary") or "No recommendation available.")}</p></td></tr>'
        + _section("Model quality", _quality(digest, src["quality"]))
        + _section("Incidents", _incidents(digest))
        + _section("Drift", _drift(digest))
        + _section("Label coverage", _labels(digest, src["coverage"]))
        + _section("Cost", _cost(digest, src["cost"]))
        + f'<tr><td style="padding-top:18px;{_FONT}font-size:12px;color:#888">Generated by Argus at '
          f'{_e((digest.get("generated_at") or "").replace("T", " ").rstrip("Z"))} UTC for the period '
          f'{_e(_day(period["start_ts"]))} to {_e(_day(period["end_ts"]))}.</td></tr>'
    )
    page = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f'<title>Argus weekly report: {_e(digest["model"])}</title></head>'
            '<body style="margin:0;padding:16px;background:#ffffff">'
            f'<table role="presentation" cellpadding="0" cellspacing="0" width="100%" '
            f'style="max-width:680px;border-collapse:collapse">{body}</table></body></html>\n')
    return page, parts


def subject(digest: dict[str, Any]) -> str:
    period = digest["period"]
    decision = (digest["recommendation"].get("decision") or "unknown").replace("_", " ")
    return (f"Argus weekly report: {digest['model']}, {_day(period['start_ts'])} to {_day(period['end_ts'])} "
            f"({decision})")


def digest_email(digest: dict[str, Any]) -> EmailMessage:
    """The report as one ``multipart/related`` e-mail: the HTML, then each chart as an ``image/png`` part
    whose Content-ID the HTML names. Sender, recipients, date and Message-ID are set when it is sent."""
    page, parts = render_html(digest, images="cid")
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject(digest)
    msg.set_content(page, subtype="html")
    for cid, png in parts.items():
        msg.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid.split('.')[0]}.png")
    if not parts:  # no chart to attach: still multipart/related, so every digest has one shape
        msg.make_related()
    return msg


def digest_mime(digest: dict[str, Any]) -> str:
    """``digest_email`` as RFC 5322 text: what the outbox keeps until the sender delivers it."""
    return digest_email(digest).as_string()
