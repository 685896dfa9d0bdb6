"""Self-contained HTML rendering of a report dict (no network, no CDN).

Why it looks the way it does:

- One file that opens offline, years later, on an air-gapped laptop: CSS is
  inline, charts are inline SVG drawn here in Python, the only script is a
  few lines of optional filtering. No JavaScript library, no web font.
- Small: the report dict holds aggregates only (bins and shares), and the
  charts are drawn from those, so a report's size does not grow with the
  number of rows, unlike the incumbents' HTML reports, which embed raw rows
  (docs/BENCHMARKS.md, "Figures behind the code").
- Safe: column names and categories are user data. Everything goes through
  Jinja2's autoescape, and the SVG builders below escape every string they
  place, so a column named ``<script>`` is shown, never run.
- Honest charts: the reference's numeric bins have equal reference
  probability, hence unequal widths; plotting shares per bin as equal bars
  would distort the shape, so numeric charts show density (share / width).
  Where a bin is a single value (a point mass, e.g. integers or a sentinel)
  density is undefined, and the chart shows shares per bin instead, saying
  that the bins are not to scale.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from itertools import pairwise
from typing import Any

import jinja2
from markupsafe import Markup, escape

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
# Reference is also drawn as a filled area and current as a bold line, so the two
# differ in form as well as in colour.
REF_COLOUR = "#0072B2"
CUR_COLOUR = "#D55E00"

SEVERITIES = ("P0", "P1", "P2")
SCORE_ORDER = ("psi", "ks", "wasserstein_norm", "tail", "js", "tvd", "chi2", "wasserstein", "mean_shift_sd",
               "std_ratio")
STATUS_TEXT = {
    "ok": "No drift, and no P0 or P1 finding.",
    "warning": "No column drifted, but there are P1 findings to look at today.",
    "drift": "Columns drifted: both statistically credible and larger than the practical effect threshold.",
    "error": "P0 findings: the data is broken for the model (e.g. a column is missing or entirely null).",
}

# ---------------------------------------------------------------------------
# Number formatting (None is how the report dict spells NaN/inf/unknown)
# ---------------------------------------------------------------------------

DASH = "—"


def fmt_num(x: Any, digits: int = 4) -> str:
    """A number for people: thousands separators for counts, a few significant digits otherwise."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if not isinstance(x, float):
        return str(x)
    if not math.isfinite(x):
        return DASH
    if x == 0:
        return "0"
    if abs(x) >= 1e6 or abs(x) < 1e-3:
        return f"{x:.{max(digits - 1, 1)}e}"
    return f"{x:.{digits}g}"


def fmt_pct(x: Any) -> str:
    """A share in [0, 1] as a percentage; tiny non-zero shares are not rounded to 0%."""
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return DASH
    p = 100.0 * x
    if p == 0:
        return "0%"
    if abs(p) < 0.01:
        return "<0.01%" if p > 0 else ">-0.01%"
    if abs(p) < 10:
        return f"{p:.2f}%"
    return f"{p:.1f}%"


def fmt_p(x: Any) -> str:
    """A p-value: 0.0 in the dict means it underflowed double precision, not that it is exactly 0."""
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return DASH
    if x == 0:
        return "<1e-300"
    if x < 1e-3:
        return f"{x:.2e}"
    return f"{x:.3f}"


def fmt_time(x: Any) -> str:
    """Epoch seconds (how datetime columns are profiled) as a UTC timestamp."""
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return DASH
    try:
        return datetime.fromtimestamp(x, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return fmt_num(float(x))


def fmt_duration(x: Any) -> str:
    """A spread in seconds (std of a datetime column) in a readable unit."""
    if x is None or not isinstance(x, (int, float)) or not math.isfinite(x):
        return DASH
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if abs(x) >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x:.3g} s"


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
    return float(x) if _finite([x]) and x > 0 else 0.0


def _count(x: Any) -> int:
    return int(x) if _finite([x]) else 0


def _finite(xs: Sequence[Any]) -> bool:
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
    if k < 1 or len(ref) != k or len(cur) != k or not _finite(edges) or not _finite(ref) or not _finite(cur):
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
    if not cats or len(ref) != len(cats) or len(cur) != len(cats) or not _finite(ref) or not _finite(cur):
        return None
    rows = []
    for c, r, s in zip(cats, ref, cur, strict=True):
        label = "(null)" if c is None else str(c)
        note = " (new)" if r == 0 and s > 0 else " (gone)" if s == 0 and r > 0 else ""
        rows.append((label, note, r, s))
    other = dist.get("other")
    if isinstance(other, dict) and _finite([other.get("reference"), other.get("current")]):
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


def _worst(findings: Sequence[dict[str, Any]]) -> str | None:
    sev = [f.get("severity") for f in findings if f.get("severity") in SEVERITIES]
    return min(sev, key=SEVERITIES.index) if sev else None


def _summary_rows(summary: dict[str, Any], kind: str) -> dict[str, Any]:
    """Reference and current summary side by side, numeric or categorical."""
    ref = summary.get("reference") if isinstance(summary.get("reference"), dict) else {}
    cur = summary.get("current") if isinstance(summary.get("current"), dict) else {}
    if not ref and not cur:
        return {"type": "none", "rows": []}
    if "top" in ref or "top" in cur:
        rows = [("rows", fmt_num(ref.get("count")), fmt_num(cur.get("count"))),
                ("categories", fmt_num(ref.get("categories")), fmt_num(cur.get("categories")))]
        if ref.get("exact") is False or cur.get("exact") is False:
            rows.append(("counts exact", fmt_num(ref.get("exact")), fmt_num(cur.get("exact"))))
        rt, ct = ref.get("top") or [], cur.get("top") or []
        for i in range(max(len(rt), len(ct))):
            a = rt[i] if i < len(rt) else None
            b = ct[i] if i < len(ct) else None
            rows.append((f"top {i + 1}",
                         f"{a.get('value')} ({fmt_pct(a.get('share'))})" if a else DASH,
                         f"{b.get('value')} ({fmt_pct(b.get('share'))})" if b else DASH))
        return {"type": "categorical", "rows": rows}
    val: Callable[[Any], str] = fmt_time if kind == "datetime" else fmt_num
    spread: Callable[[Any], str] = fmt_duration if kind == "datetime" else fmt_num
    rq, cq = ref.get("quantiles") or {}, cur.get("quantiles") or {}
    rows = [("count", fmt_num(ref.get("count")), fmt_num(cur.get("count"))),
            ("mean", val(ref.get("mean")), val(cur.get("mean"))),
            ("std", spread(ref.get("std")), spread(cur.get("std"))),
            ("min", val(ref.get("min")), val(cur.get("min")))]
    for q in sorted(set(rq) | set(cq), key=lambda s: float(s[1:]) if s[1:].replace(".", "", 1).isdigit() else 1e9):
        rows.append((q, val(rq.get(q)), val(cq.get(q))))
    rows.append(("max", val(ref.get("max")), val(cur.get("max"))))
    if ref.get("infinite") or cur.get("infinite"):
        rows.append(("infinite", fmt_num(ref.get("infinite")), fmt_num(cur.get("infinite"))))
    if ref.get("quantiles_exact") is False or cur.get("quantiles_exact") is False:
        rows.append(("quantiles exact", fmt_num(ref.get("quantiles_exact")), fmt_num(cur.get("quantiles_exact"))))
    return {"type": "numeric", "rows": rows}


def _quality_rows(q: dict[str, Any]) -> list[tuple[str, str]]:
    if not q.get("present", True):
        return [("present", "no: missing from the current data"),
                ("missing (reference)", fmt_pct(q.get("reference_missing_ratio")))]
    rows = [("rows", fmt_num(q.get("rows"))),
            ("missing", f"{fmt_pct(q.get('missing_ratio'))} (reference {fmt_pct(q.get('reference_missing_ratio'))})"),
            ("type errors", f"{fmt_num(q.get('type_errors'))} ({fmt_pct(q.get('type_error_ratio'))})")]
    if "out_of_range_ratio" in q:
        rows.append(("outside reference range", fmt_pct(q.get("out_of_range_ratio"))))
    if "new_categories" in q:
        rows.append(("new categories", f"{fmt_num(q.get('new_categories'))} ({fmt_pct(q.get('new_category_ratio'))} of rows)"))
    if "categories" in q:
        rows.append(("categories", fmt_num(q.get("categories"))))
    if "distinct" in q:
        rows.append(("distinct", fmt_num(q.get("distinct"))))
    return rows


def _column_view(i: int, name: str, col: dict[str, Any], uid: str) -> dict[str, Any]:
    drift = col.get("drift") or {}
    status = drift.get("status") or "not_tested"
    test = drift.get("test") if isinstance(drift.get("test"), dict) else None
    effect = drift.get("effect") if isinstance(drift.get("effect"), dict) else None
    scores = drift.get("scores") if isinstance(drift.get("scores"), dict) else {}
    findings = [f for f in (col.get("findings") or []) if isinstance(f, dict)]
    kind = str(col.get("kind") or "")
    quality = col.get("quality") or {}
    det = drift.get("detectable_effect")
    keys = [s for s in SCORE_ORDER if s in scores] + sorted(s for s in scores if s not in SCORE_ORDER)
    drifted = status == "drifted"
    worst = _worst(findings)
    p_adj = test.get("p_adjusted") if test else None
    alpha = test.get("alpha") if test else None
    significant = _finite([p_adj, alpha]) and p_adj < alpha
    if status != "stable" or not (test and effect):
        why = ""
    elif significant:
        why = "significant, but the effect is below the practical threshold"
    elif effect.get("passed"):
        why = "the effect passes the threshold, but it is not significant at this N"
    else:
        why = "neither significant nor large"
    return {
        "anchor": f"{uid}-c{i}",
        "name": name,
        "kind": kind,
        "role": str(col.get("role") or ""),
        "status": status,
        "drifted": drifted,
        "open": drifted or worst is not None,
        "present": quality.get("present", True),
        "test": test,
        "effect": effect,
        "scores": [(s, fmt_num(scores[s]), effect is not None and s == effect.get("method")) for s in keys],
        "detectable": det if isinstance(det, dict) else None,
        "reason": drift.get("reason"),
        "why_stable": why,
        "n_reference": drift.get("n_reference"),
        "n_current": drift.get("n_current"),
        "quality": _quality_rows(quality),
        "missing": quality.get("missing_ratio"),
        "summary": _summary_rows(col.get("summary") or {}, kind),
        "chart": distribution_chart(col.get("distribution"), name, kind),
        "findings": findings,
        "worst": worst,
        "n_findings": len(findings),
    }


def _uid(report: dict[str, Any]) -> str:
    """A stable id prefix, so that two reports in one notebook do not share anchors."""
    key = repr((report.get("generated_at"), (report.get("reference") or {}).get("source"),
                (report.get("current") or {}).get("source"), (report.get("verdict") or {}).get("drifted_columns")))
    return "ar" + hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]


def build_context(report: dict[str, Any], embedded: bool = False) -> dict[str, Any]:
    """Everything the template shows, with defaults for pieces an older or partial report lacks."""
    verdict = report.get("verdict") or {}
    uid = _uid(report)
    columns_in = report.get("columns") or {}
    columns = [_column_view(i, str(n), c, uid) for i, (n, c) in enumerate(columns_in.items()) if isinstance(c, dict)]
    anchors = {c["name"]: c["anchor"] for c in columns}
    by_sev = verdict.get("findings_by_severity") or {}
    findings = []
    for f in report.get("findings") or []:
        if not isinstance(f, dict):
            continue
        col = f.get("column")
        findings.append({"severity": f.get("severity"), "check": f.get("check"), "column": col,
                         "anchor": anchors.get(col) if isinstance(col, str) else None, "message": f.get("message")})
    if not by_sev:
        by_sev = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    status = verdict.get("status") or "error"
    drifted = list(verdict.get("drifted_columns") or [])
    corr = report.get("correlations") or {}
    settings = report.get("settings") or {}
    drift_settings = settings.get("drift") or {}
    thresholds = drift_settings.get("thresholds") or {}
    return {
        "embedded": embedded,
        "uid": uid,
        "status": status,
        "status_text": STATUS_TEXT.get(status, ""),
        "sev": {s: _count(by_sev.get(s)) for s in SEVERITIES},
        "drifted": [(n, anchors.get(n) if isinstance(n, str) else None) for n in drifted],
        "n_drifted": verdict.get("n_drifted", len(drifted)),
        "n_tested": verdict.get("n_tested"),
        "insufficient": [(n, anchors.get(n) if isinstance(n, str) else None) for n in verdict.get("insufficient_data") or []],
        "prediction_drift": bool(verdict.get("prediction_drift")),
        "target_drift": bool(verdict.get("target_drift")),
        "alpha": verdict.get("alpha", drift_settings.get("alpha")),
        "correction": verdict.get("correction", drift_settings.get("correction")),
        "reference": report.get("reference") or {},
        "current": report.get("current") or {},
        "generated_at": report.get("generated_at"),
        "argus_version": report.get("argus_version"),
        "schema_version": report.get("schema_version"),
        "elapsed_s": report.get("elapsed_s"),
        "findings": findings,
        "columns": columns,
        "mv": _multivariate_view(report.get("multivariate")),
        "corr": {
            "tested": bool(corr.get("tested")),
            "method": corr.get("method"),
            "threshold": corr.get("threshold"),
            "n_pairs": corr.get("n_pairs"),
            "changed": [p for p in corr.get("changed") or [] if isinstance(p, dict)],
            "pairs": [p for p in corr.get("pairs") or [] if isinstance(p, dict)],
        },
        "thresholds": [(k, v) for k, v in thresholds.items()],
        "ignored": list(settings.get("ignored") or []),
        "min_rows": drift_settings.get("min_rows"),
        "ref_colour": REF_COLOUR,
        "cur_colour": CUR_COLOUR,
    }


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("argusml.reports", "templates"),
        autoescape=True,  # the template is HTML whatever its .j2 suffix says
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fmt_num, pct=fmt_pct, pval=fmt_p)
    return env


def render_html(report: dict[str, Any], embedded: bool = False) -> str:
    """Render a report dict (``Report.to_dict()``) as one self-contained HTML page.

    ``embedded=True`` returns a fragment for Jupyter's ``_repr_html_``: no
    ``<html>``/``<head>``, and every style scoped under ``.argus-report`` so
    the notebook around it keeps its own look.
    """
    return _environment().get_template("report.html.j2").render(**build_context(report, embedded))


__all__ = ["build_context", "categorical_chart", "distribution_chart", "fmt_num", "fmt_p", "fmt_pct",
           "numeric_chart", "render_html"]



def _multivariate_view(mv: Any) -> dict[str, Any] | None:
    """The two joint-distribution tests as table rows; None when the report has no such section
    (older reports) so the template leaves it out."""
    if not isinstance(mv, dict):
        return None
    rows = []
    for key, name, effect in (("reconstruction", "PCA reconstruction error", "relative_increase"),
                              ("classifier", "domain classifier AUC", "auc")):
        t = mv.get(key)
        if isinstance(t, dict):
            rows.append({"name": name, "status": t.get("status"), "effect": t.get(effect),
                         "threshold": t.get("threshold"), "p_adjusted": t.get("p_adjusted"),
                         "reason": t.get("reason"),
                         "where": [c.get("feature") for c in t.get("columns") or [] if isinstance(c, dict)][:3]})
    return {"status": mv.get("status"), "drifted": bool(mv.get("drifted")), "reason": mv.get("reason"),
            "features": len(mv.get("features") or []), "components": mv.get("components"), "rows": rows}
