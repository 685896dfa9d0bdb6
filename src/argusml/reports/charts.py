"""The report's charts: inline SVG drawn from the report dict's bins and shares (no script, no library).

Numeric charts show density (share / width): the reference's bins have
equal reference probability, hence unequal widths, and bars of shares per
bin would distort the shape. Where a bin is a single value (a point mass,
e.g. integers or a sentinel) density is undefined, and the chart shows
shares per bin instead, saying that the bins are not to scale. Every string
placed in the SVG is escaped: column names and categories are user data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from itertools import pairwise
from typing import Any

from markupsafe import Markup, escape

from argusml.reports.fmt import fmt_pct

# ---------------------------------------------------------------------------
# SVG helpers
# ---------------------------------------------------------------------------


def _n(v: float) -> str:
    """A coordinate with one decimal: enough for screen pixels, small in the file."""
    s = f"{v:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _nice_step(span: float, n: int) -> float:
    raw = span / max(n, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values inside [lo, hi] (about n of them)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    step = _nice_step(hi - lo, n)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9 and len(ticks) < 50:
        ticks.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    return ticks


def _tick_label(v: float) -> str:
    """Short tick text: no trailing zeros, k/M suffixes never (they hide precision)."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6 or a < 1e-3:
        return f"{v:.2g}"
    s = f"{v:.4g}"
    return s


def _text(x: float, y: float, s: str, anchor: str = "middle", cls: str = "t", extra: str = "") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" class="{cls}"{extra}>{escape(s)}</text>'


def _legend(x: float, y: float) -> str:
    return (f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="14" height="10" class="rf"/>'
            + _text(x + 19, y, "reference", "start", "lg")
            + f'<line x1="{_n(x + 96)}" y1="{_n(y - 4)}" x2="{_n(x + 112)}" y2="{_n(y - 4)}" class="cl"/>'
            + _text(x + 117, y, "current", "start", "lg"))


def _svg(width: int, height: int, body: str, label: str) -> Markup:
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
                  f"<title>{escape(label)}</title>{body}</svg>")


def _share(x: Any) -> float:
    """A share from the dict, 0 when absent, null or not a number (the chart must not fail on it)."""
    return float(x) if all_finite([x]) and x > 0 else 0.0


def as_count(x: Any) -> int:
    return int(x) if all_finite([x]) else 0


def all_finite(xs: Sequence[Any]) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in xs)


# ---------------------------------------------------------------------------
# Numeric distribution chart
# ---------------------------------------------------------------------------

W, H = 620, 236
ML, MR, MT, MB = 58, 14, 30, 46
SIDE_W = 150  # the "outside the reference range" panel


def numeric_chart(dist: dict[str, Any], name: str, kind: str) -> Markup | None:
    """Reference vs current for numeric bins: density over the value axis, or shares when a bin is a point."""
    edges = dist.get("edges") or []
    ref = dist.get("reference") or []
    cur = dist.get("current") or []
    k = len(edges) - 1
    if k < 1 or len(ref) != k or len(cur) != k or not all_finite(edges) or not all_finite(ref) or not all_finite(cur):
        return None
    if any(b < a for a, b in pairwise(edges)):
        return None
    below = dist.get("below") or {}
    above = dist.get("above") or {}
    outside = [(_share(below.get("reference")), _share(below.get("current"))),
               (_share(above.get("reference")), _share(above.get("current")))]
    has_outside = any(v > 0 for pair in outside for v in pair)
    plot_right = W - MR - (SIDE_W if has_outside else 0)

    draw_edges = _integer_edges(edges) if kind != "datetime" else None
    integer = draw_edges is not None
    draw_edges = draw_edges or list(edges)
    span = draw_edges[-1] - draw_edges[0]
    widths = [b - a for a, b in pairwise(draw_edges)]
    point = any(w <= max(abs(span), 1e-300) * 1e-9 for w in widths) or span <= 0
    if point:
        body = _share_bars(edges, ref, cur, plot_right, kind)
        mode = "share of rows per bin"
    else:
        body = _density(draw_edges, ref, cur, plot_right, kind, integer)
        mode = "density"
    if has_outside:
        body += _outside_panel(outside, plot_right + 18)
    body += _legend(ML, 16)
    return _svg(W, H, body, f"{name}: reference vs current distribution ({mode})")


def _integer_edges(edges: Sequence[float]) -> list[float] | None:
    """Drawing edges for integer-valued data, or None when the data is not integers.

    Bins are ``(a, b]`` and ``edges[0]`` sits just below the reference minimum. When
    every edge is an integer the data is integer-valued: ``(a, b]`` holds the
    integers ``a+1..b``, so it is drawn as ``[a+0.5, b+0.5)``, and the first bin as
    ``[min-0.5, edges[1]+0.5)``. Without this, a first bin holding one value more
    than its width shows a false spike, and ``(-0.0, 0.0]`` (all the zeros) would
    be a point mass with no density.
    """
    def near_int(v: float) -> bool:
        return abs(v - round(v)) <= 1e-9 * max(1.0, abs(v))

    if len(edges) < 2 or not all(near_int(e) for e in edges) or max(abs(e) for e in edges) > 2**52:
        return None
    return [round(edges[0]) - 0.5] + [round(e) + 0.5 for e in edges[1:]]


def _use_log(edges: Sequence[float], ref: Sequence[float]) -> bool:
    """Log axis for positive, right-skewed data: half the reference mass in the first tenth of the range."""
    if edges[0] <= 0 or len(edges) < 9:
        return False
    cum = 0.0
    for i, s in enumerate(ref):
        cum += s
        if cum >= 0.5 * sum(ref):
            med = edges[i + 1]
            break
    else:
        return False
    return (med - edges[0]) / (edges[-1] - edges[0]) < 0.1 and edges[-1] / edges[0] > 30


def _density(edges: Sequence[float], ref: Sequence[float], cur: Sequence[float], right: float, kind: str,
             integer: bool = False) -> str:
    log = _use_log(edges, ref) and not integer
    t: Callable[[float], float] = math.log10 if log else (lambda v: v)
    te = [t(e) for e in edges]
    k = len(te) - 1
    # Long outer bins (a tail reaching far past the body) would squash the body: draw them
    # cut at a quarter of the inner span, mark the cut, and label the true end.
    lo, hi = te[0], te[-1]
    cut_lo = cut_hi = False
    if k >= 5:
        inner = te[-2] - te[1]
        if inner > 0 and te[1] - te[0] > 0.25 * inner:
            lo, cut_lo = te[1] - 0.25 * inner, True
        if inner > 0 and te[-1] - te[-2] > 0.25 * inner:
            hi, cut_hi = te[-2] + 0.25 * inner, True
    dref = [s / (b - a) for s, (a, b) in zip(ref, pairwise(te), strict=True)]
    dcur = [s / (b - a) for s, (a, b) in zip(cur, pairwise(te), strict=True)]
    ymax, clipped = _density_top([max(a, b) for a, b in zip(dref, dcur, strict=True)])
    scale = _eng_scale(ymax)
    yticks = _nice_ticks(0.0, ymax * 1.05 / scale, 4)
    ytop = max(yticks[-1] * scale, ymax * 1.05)
    pw, ph = right - ML, H - MT - MB
    y0 = MT + ph

    def x(v: float) -> float:
        return ML + (min(max(v, lo), hi) - lo) / (hi - lo) * pw

    def y(d: float) -> float:
        return y0 - min(d, ytop) / ytop * ph

    def step(ds: Sequence[float]) -> str:
        parts = [f"M{_n(x(te[0]))} {_n(y0)}"]
        for i, d in enumerate(ds):
            parts.append(f"V{_n(y(d))}H{_n(x(te[i + 1]))}")
        parts.append(f"V{_n(y0)}")
        return "".join(parts)

    out = [f'<line x1="{ML}" y1="{_n(y0)}" x2="{_n(right)}" y2="{_n(y0)}" class="ax"/>',
           f'<line x1="{ML}" y1="{MT}" x2="{ML}" y2="{_n(y0)}" class="ax"/>']
    for v in yticks:
        yy = y(v * scale)
        out.append(f'<line x1="{ML}" y1="{_n(yy)}" x2="{_n(right)}" y2="{_n(yy)}" class="gr"/>')
        out.append(_text(ML - 5, yy + 4, _tick_label(v), "end"))
    out.append(f'<path d="{step(dref)}Z" class="ra"/>')
    out.append(f'<path d="{step(dref)}" class="rl"/>')
    out.append(f'<path d="{step(dcur)}" class="cl"/>')
    for i in clipped:  # a spike taller than the axis: say how tall instead of squashing everything else
        cx = (x(te[i]) + x(te[i + 1])) / 2
        peak = max(dref[i], dcur[i])
        out.append(f'<path d="M{_n(cx - 4)} {_n(MT + 7)}l4 -7l4 7Z" class="spk"/>')
        out.append(_text(cx + 7, MT + 8, f"{_tick_label(peak / scale)} ({fmt_pct(max(ref[i], cur[i]))} of rows)",
                         "start" if cx < ML + pw * 0.6 else "end", "t ts"))
    # x ticks: round values inside the drawn range, plus the true ends when a tail was cut
    if log:
        tick_vals = _log_ticks(lo, hi)
    else:
        if kind == "datetime":
            tick_vals = _time_ticks(lo, hi)
        else:
            vals = _nice_ticks(lo, hi, 5)
            if integer:  # no tick at 2.5 on an axis of integers
                vals = [v for v in vals if v == round(v)] or [float(round((lo + hi) / 2))]
            tick_vals = [(v, _x_label(v, kind)) for v in vals]
    placed: list[float] = []
    ends: list[tuple[float, str]] = []
    shift = 0.5 if integer else 0.0  # integer bins are drawn half a unit wide of their values
    if cut_lo:
        ends.append((ML, _x_label(edges[0] + shift, kind)))
    if cut_hi:
        ends.append((ML + pw, _x_label(edges[-1] - shift, kind)))
    for px, _ in ends:
        placed.append(px)
    for v, lab in tick_vals:
        px = x(v)
        if any(abs(px - q) < 52 for q in placed):
            continue
        placed.append(px)
        out.append(f'<line x1="{_n(px)}" y1="{_n(y0)}" x2="{_n(px)}" y2="{_n(y0 + 4)}" class="ax"/>')
        out.append(_text(px, y0 + 16, lab))
    for px, lab in ends:
        # a zig-zag on the axis says "this stretch is not to scale"
        zx = px + (10 if px == ML else -10)
        out.append(f'<path d="M{_n(zx - 4)} {_n(y0 + 5)}l4 -10l4 10" class="brk"/>')
        out.append(_text(px, y0 + 16, lab, "start" if px == ML else "end", "t te"))
    xl = {"text": "length (characters)", "datetime": "time (UTC)"}.get(kind, "value")
    if log:
        xl += ", log scale"
    if integer and kind != "text":
        xl += " (integers)"
    if cut_lo or cut_hi:
        xl += "; outermost bins drawn shortened"
    out.append(_text(ML + pw / 2, H - 8, xl, "middle", "al"))
    yl = "density per log₁₀ unit" if log else "density"
    if scale != 1.0:
        yl += f" (×{_sup_pow10(scale)})"
    out.append(_text(14, MT + ph / 2, yl, "middle", "al", f' transform="rotate(-90 14 {_n(MT + ph / 2)})"'))
    return "".join(out)


def _density_top(peaks: Sequence[float]) -> tuple[float, list[int]]:
    """The y-axis top, and the bins that stick out above it.

    A point mass inside a wider bin (a sentinel, many zeros) makes one bin tens
    of times denser than the rest, and an axis sized for it flattens the whole
    shape. When the tallest bin is more than 3x the third tallest, the axis is
    sized for the others and the spikes are clipped and labelled.
    """
    top = max(peaks) if peaks else 0.0
    if top <= 0:
        return 1.0, []
    ranked = sorted(peaks, reverse=True)
    if len(ranked) >= 8 and ranked[2] > 0 and ranked[0] > 3 * ranked[2]:
        cap = 3 * ranked[2]
        rest = max(p for p in peaks if p <= cap)
        return rest, [i for i, p in enumerate(peaks) if p > rest * 1.05]
    return top, []


def _eng_scale(top: float) -> float:
    """A power of 1000 that brings the axis values to 0.01-1000, so ticks stay short."""
    if top <= 0 or 0.01 <= top < 1000:
        return 1.0
    return 10.0 ** (3 * math.floor(math.log10(top) / 3))


def _sup_pow10(scale: float) -> str:
    exp = round(math.log10(scale))
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return "10" + str(exp).translate(sup)


def _log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks on a log10 axis (lo, hi are log10 values): powers of ten, or 1-2-5 when the range is short."""
    out: list[tuple[float, str]] = []
    mults = (1,) if hi - lo > 2.5 else (1, 2, 5)
    for p in range(math.floor(lo), math.ceil(hi) + 1):
        for m in mults:
            v = m * 10.0 ** p
            lv = math.log10(v)
            if lo - 1e-9 <= lv <= hi + 1e-9:
                out.append((lv, _tick_label(v)))
    if len(out) < 2:
        out = [(lo, _tick_label(10 ** lo)), (hi, _tick_label(10 ** hi))]
    return out


TIME_STEPS = (1, 5, 15, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400,
              14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400)


def _time_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks on round UTC times (midnights, whole hours), labelled as precisely as the step needs."""
    span = hi - lo
    step = next((st for st in TIME_STEPS if span / st <= 6), TIME_STEPS[-1] * math.ceil(span / 6 / TIME_STEPS[-1]))
    fmt = "%Y-%m-%d" if step >= 86400 else "%m-%d %H:%M" if step >= 60 else "%H:%M:%S"
    out = []
    v = math.ceil(lo / step) * step
    while v <= hi and len(out) < 12:
        try:
            out.append((float(v), datetime.fromtimestamp(v, tz=timezone.utc).strftime(fmt)))
        except (OverflowError, OSError, ValueError):
            break
        v += step
    return out


def _x_label(v: float, kind: str) -> str:
    if kind == "datetime":
        try:
            return datetime.fromtimestamp(v, tz=timezone.utc).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            return _tick_label(v)
    return _tick_label(v)


def _share_bars(edges: Sequence[float], ref: Sequence[float], cur: Sequence[float], right: float, kind: str) -> str:
    """Grouped bars, one slot per bin, labelled by the bin's upper edge (the value, for a point mass)."""
    k = len(ref)
    pw, ph = right - ML, H - MT - MB
    y0 = MT + ph
    ymax = max(max(ref), max(cur)) or 1.0
    yticks = _nice_ticks(0.0, ymax * 1.05, 4)
    ytop = max(yticks[-1], ymax * 1.05)
    slot = pw / k
    bw = max(min(slot * 0.4, 24.0), 0.6)
    out = [f'<line x1="{ML}" y1="{_n(y0)}" x2="{_n(right)}" y2="{_n(y0)}" class="ax"/>',
           f'<line x1="{ML}" y1="{MT}" x2="{ML}" y2="{_n(y0)}" class="ax"/>']
    for v in yticks:
        yy = y0 - v / ytop * ph
        out.append(f'<line x1="{ML}" y1="{_n(yy)}" x2="{_n(right)}" y2="{_n(yy)}" class="gr"/>')
        out.append(_text(ML - 5, yy + 4, fmt_pct(v) if v else "0", "end"))
    for i in range(k):
        cx = ML + slot * (i + 0.5)
        for s, dx, cls in ((ref[i], -bw, "rb"), (cur[i], 0.0, "cb")):
            h = s / ytop * ph
            out.append(f'<rect x="{_n(cx + dx)}" y="{_n(y0 - h)}" width="{_n(bw)}" height="{_n(h)}" class="{cls}">'
                       f"<title>{escape(_bin_label(edges, i, kind))}: {escape(fmt_pct(s))}</title></rect>")
    every = max(1, math.ceil(k / max(1, int(pw // 56))))
    for i in range(0, k, every):
        cx = ML + slot * (i + 0.5)
        out.append(f'<line x1="{_n(cx)}" y1="{_n(y0)}" x2="{_n(cx)}" y2="{_n(y0 + 4)}" class="ax"/>')
        out.append(_text(cx, y0 + 16, _x_label(edges[i + 1], kind)))
    xl = {"text": "length (characters)", "datetime": "time (UTC)"}.get(kind, "value")
    out.append(_text(ML + pw / 2, H - 8, f"{xl}: bin upper edge (bins not to scale)", "middle", "al"))
    out.append(_text(14, MT + ph / 2, "share of rows", "middle", "al", f' transform="rotate(-90 14 {_n(MT + ph / 2)})"'))
    return "".join(out)


def _bin_label(edges: Sequence[float], i: int, kind: str) -> str:
    a, b = edges[i], edges[i + 1]
    if b - a <= max(abs(b), 1.0) * 1e-9:
        return f"= {_x_label(b, kind)}"
    return f"({_x_label(a, kind)}, {_x_label(b, kind)}]"


def _outside_panel(outside: list[tuple[float, float]], left: float) -> str:
    """Shares below the reference minimum and above its maximum, on their own share scale."""
    ph = H - MT - MB
    y0 = MT + ph
    # A floor on the scale: 0.01% outside must not look like 3% outside.
    top = max(max(max(p) for p in outside) * 1.25, 0.02)
    out = [_text(left + (W - MR - left) / 2, MT - 2, "outside ref. range", "middle", "al"),
           f'<line x1="{_n(left)}" y1="{_n(y0)}" x2="{_n(W - MR)}" y2="{_n(y0)}" class="ax"/>']
    gw = (W - MR - left) / 2
    for j, ((r, c), lab) in enumerate(zip(outside, ("< min", "> max"), strict=True)):
        gx = left + gw * (j + 0.5)
        for s, dx, cls in ((r, -13.0, "rb"), (c, 1.0, "cb")):
            h = max(s / top * (ph - 34), 1.0 if s > 0 else 0.0)
            out.append(f'<rect x="{_n(gx + dx)}" y="{_n(y0 - h)}" width="12" height="{_n(h)}" class="{cls}">'
                       f"<title>{escape(lab)}: {escape(fmt_pct(s))}</title></rect>")
        # values stacked above the pair, in the series' colours (two side-by-side labels would collide)
        out.append(_text(gx, MT + 14, fmt_pct(r), "middle", "t ts rt"))
        out.append(_text(gx, MT + 27, fmt_pct(c), "middle", "t ts ct"))
        out.append(_text(gx, y0 + 16, lab))
    return "".join(out)


# ---------------------------------------------------------------------------
# Categorical distribution chart
# ---------------------------------------------------------------------------

CAT_LABEL_W = 170
CAT_ROW = 26
CAT_LABEL_CHARS = 24


def _shorten(label: str, limit: int) -> str:
    """Cut the middle, not the end: category names often share a long prefix and differ at the end."""
    limit = max(limit, 8)
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "…" + label[len(label) - (limit - 1 - head):]


def categorical_chart(dist: dict[str, Any], name: str) -> Markup | None:
    """Grouped horizontal bars of shares, one row per category (top ones, then "other")."""
    cats = list(dist.get("categories") or [])
    ref = list(dist.get("reference") or [])
    cur = list(dist.get("current") or [])
    if not cats or len(ref) != len(cats) or len(cur) != len(cats) or not all_finite(ref) or not all_finite(cur):
        return None
    rows = []
    for c, r, s in zip(cats, ref, cur, strict=True):
        label = "(null)" if c is None else str(c)
        note = " (new)" if r == 0 and s > 0 else " (gone)" if s == 0 and r > 0 else ""
        rows.append((label, note, r, s))
    other = dist.get("other")
    if isinstance(other, dict) and all_finite([other.get("reference"), other.get("current")]):
        n_other = other.get("categories")
        rows.append((f"other ({n_other} categories)" if n_other is not None else "other", "",
                     max(other["reference"], 0.0), max(other["current"], 0.0)))
    top_m, bottom_m = 30, 40
    h = top_m + bottom_m + CAT_ROW * len(rows)
    x0 = CAT_LABEL_W
    pw = W - x0 - 96  # room at the right for "12.3% → 45.6%"
    vmax = max(max(r for _, _, r, _ in rows), max(s for _, _, _, s in rows)) or 1.0
    ticks = _nice_ticks(0.0, vmax, 4)
    top = max(ticks[-1], vmax)
    y_axis = top_m + CAT_ROW * len(rows)
    out = [_legend(x0, 16)]
    for v in ticks:
        px = x0 + v / top * pw
        out.append(f'<line x1="{_n(px)}" y1="{top_m}" x2="{_n(px)}" y2="{_n(y_axis)}" class="gr"/>')
        out.append(_text(px, y_axis + 16, fmt_pct(v) if v else "0"))
    for i, (label, note, r, s) in enumerate(rows):
        yy = top_m + CAT_ROW * i
        short = _shorten(label, CAT_LABEL_CHARS - (len(note) if note else 0))
        out.append(f'<text x="{x0 - 6}" y="{_n(yy + 16)}" text-anchor="end" class="t">'
                   f"<title>{escape(label)}</title>{escape(short)}"
                   + (f'<tspan class="nt">{escape(note)}</tspan>' if note else "") + "</text>")
        wr, wc = r / top * pw, s / top * pw
        out.append(f'<rect x="{x0}" y="{_n(yy + 4)}" width="{_n(wr)}" height="9" class="rb">'
                   f"<title>{escape(label)} reference: {escape(fmt_pct(r))}</title></rect>")
        out.append(f'<rect x="{x0}" y="{_n(yy + 13)}" width="{_n(wc)}" height="9" class="cb">'
                   f"<title>{escape(label)} current: {escape(fmt_pct(s))}</title></rect>")
        out.append(_text(x0 + max(wr, wc) + 5, yy + 17, f"{fmt_pct(r)} → {fmt_pct(s)}", "start", "t ts"))
    out.append(f'<line x1="{x0}" y1="{top_m}" x2="{x0}" y2="{_n(y_axis)}" class="ax"/>')
    out.append(f'<line x1="{x0}" y1="{_n(y_axis)}" x2="{_n(x0 + pw)}" y2="{_n(y_axis)}" class="ax"/>')
    out.append(_text(x0 + pw / 2, h - 8, "share of rows", "middle", "al"))
    return _svg(W, h, "".join(out), f"{name}: reference vs current shares per category")


def distribution_chart(dist: Any, name: str, kind: str) -> Markup | None:
    """The chart for a column's ``distribution`` entry, or None when there is nothing drawable."""
    if not isinstance(dist, dict):
        return None
    if dist.get("type") == "numeric":
        return numeric_chart(dist, name, kind)
    if dist.get("type") == "categorical":
        return categorical_chart(dist, name)
    return None


# ---------------------------------------------------------------------------
# View model: the template only lays out what is computed here
# ---------------------------------------------------------------------------
