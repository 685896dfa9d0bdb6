"""Line and band charts as PNG images, drawn with numpy and written with zlib: the owner report's charts.

An e-mail cannot run a script and many clients drop inline SVG, so the weekly report's charts are PNG
images. Drawing a line, an interval band and a few digits on a pixel array takes a page of numpy, and a
PNG is a signature and three chunks (IHDR, one zlib-compressed IDAT, IEND; W3C PNG, sections 5 and 11),
so no plotting library (and no headless browser) is needed: a week's chart of 168 hourly windows draws
and encodes in a few milliseconds.

Coordinates: ``x`` grows to the right and ``y`` downwards in pixels, (0, 0) the top-left pixel's centre.
``Chart`` maps data values to pixels (``x_px``, ``y_px``), so a caller or a test knows exactly which
pixel a point lands on.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Sequence

import numpy as np

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
AXIS: Color = (90, 90, 90)
GRID: Color = (228, 228, 228)
PALETTE: tuple[Color, ...] = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14),
                              (23, 190, 207))
"""Series colours, in order (the category palette most readers know)."""

_GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    "%": "101001010100101", ":": "000010000010000", "/": "001001010100100", " ": "000000000000000",
    "+": "000010111010000", "e": "000111101110111", "k": "100101110101101", "M": "101111111101101",
}
"""A 3x5 pixel font of the characters tick labels use (digits, sign, point, percent, date and time marks)."""
GLYPH_W, GLYPH_H = 3, 5


def encode_png(pixels: np.ndarray, level: int = 6) -> bytes:
    """An RGB ``(height, width, 3)`` uint8 array as PNG bytes: 8 bits per channel, colour type 2, no filter
    (a chart is flat colour, which deflate compresses well without one)."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"encode_png needs a (height, width, 3) uint8 array, got {pixels.shape} {pixels.dtype}")
    h, w, _ = pixels.shape
    rows = np.zeros((h, 1 + 3 * w), dtype=np.uint8)  # each scanline starts with its filter type, 0
    rows[:, 1:] = pixels.reshape(h, 3 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
            + chunk(b"IEND", b""))


class Canvas:
    """An RGB pixel array with the few primitives charts need; every primitive clips to the canvas."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"a canvas needs a positive size, got {width}x{height}")
        self.width, self.height = width, height
        self.pixels = np.empty((height, width, 3), dtype=np.uint8)
        self.pixels[:] = background

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: Color) -> None:
        """Fill the pixels whose centres lie in [x0, x1] x [y0, y1]."""
        a, b = max(0, math.ceil(min(x0, x1))), min(self.width - 1, math.floor(max(x0, x1)))
        c, d = max(0, math.ceil(min(y0, y1))), min(self.height - 1, math.floor(max(y0, y1)))
        if a <= b and c <= d:
            self.pixels[c:d + 1, a:b + 1] = color

    def _stamp(self, xs: np.ndarray, ys: np.ndarray, color: Color, width: int) -> None:
        """Square brushes of ``width`` pixels centred on the points (rounded)."""
        xi, yi = np.rint(xs).astype(np.int64), np.rint(ys).astype(np.int64)
        lo = -(width // 2)
        for dx in range(lo, lo + width):
            for dy in range(lo, lo + width):
                x, y = xi + dx, yi + dy
                ok = (x >= 0) & (x < self.width) & (y >= 0) & (y < self.height)
                self.pixels[y[ok], x[ok]] = color

    def polyline(self, xs: Sequence[float], ys: Sequence[float], color: Color, width: int = 2) -> None:
        """Straight segments between consecutive points; a NaN breaks the line, and a point with no finite
        neighbour is drawn as a dot (so a lone window still shows)."""
        x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        finite = np.isfinite(x) & np.isfinite(y)
        parts_x, parts_y = [], []
        for i in range(len(x) - 1):
            if not (finite[i] and finite[i + 1]):
                continue
            n = int(max(abs(x[i + 1] - x[i]), abs(y[i + 1] - y[i]))) + 2
            t = np.linspace(0.0, 1.0, n)
            parts_x.append(x[i] + t * (x[i + 1] - x[i]))
            parts_y.append(y[i] + t * (y[i + 1] - y[i]))
        if parts_x:
            self._stamp(np.concatenate(parts_x), np.concatenate(parts_y), color, width)
        alone = finite & ~np.r_[False, finite[:-1]] & ~np.r_[finite[1:], False]
        if alone.any():
            self._stamp(x[alone], y[alone], color, width + 2)

    def band(self, xs: Sequence[float], lows: Sequence[float], highs: Sequence[float], color: Color,
             alpha: float = 0.25) -> None:
        """Shade, blended at ``alpha`` over what is there, between two piecewise-linear edges over
        consecutive finite points; a lone finite point gets a vertical bar three pixels wide."""
        x = np.asarray(xs, dtype=np.float64)
        lo, hi = np.asarray(lows, dtype=np.float64), np.asarray(highs, dtype=np.float64)
        finite = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
        tint = np.asarray(color, dtype=np.float64)
        rows = np.arange(self.height, dtype=np.float64)[:, None]
        mask = np.zeros((self.height, self.width), dtype=bool)
        for i in range(len(x) - 1):
            if not (finite[i] and finite[i + 1]) or x[i + 1] <= x[i]:
                continue
            cols = np.arange(max(0, math.ceil(x[i])), min(self.width - 1, math.floor(x[i + 1])) + 1)
            if cols.size == 0:
                continue
            t = (cols - x[i]) / (x[i + 1] - x[i])
            a, b = lo[i] + t * (lo[i + 1] - lo[i]), hi[i] + t * (hi[i + 1] - hi[i])
            top, bottom = np.minimum(a, b), np.maximum(a, b)
            mask[:, cols] |= (rows >= np.floor(top)[None, :]) & (rows <= np.ceil(bottom)[None, :])
        alone = finite & ~np.r_[False, finite[:-1]] & ~np.r_[finite[1:], False]
        for i in np.flatnonzero(alone):
            mid = round(float(x[i]))
            c0, c1 = max(0, mid - 1), min(self.width - 1, mid + 1)
            r0, r1 = max(0, math.floor(min(lo[i], hi[i]))), min(self.height - 1, math.ceil(max(lo[i], hi[i])))
            if c0 <= c1 and r0 <= r1:
                mask[r0:r1 + 1, c0:c1 + 1] = True
        if mask.any():
            px = self.pixels[mask].astype(np.float64)
            self.pixels[mask] = np.rint(px * (1 - alpha) + tint * alpha).astype(np.uint8)

    def text(self, x: float, y: float, s: str, color: Color = AXIS, scale: int = 2, align: str = "left") -> None:
        """``s`` in the 3x5 font, each font pixel ``scale`` pixels square, its top at ``y``; ``align``: where
        ``x`` is (left, right or centre). Characters without a glyph are drawn as spaces."""
        advance = (GLYPH_W + 1) * scale
        width = len(s) * advance - scale
        left = x if align == "left" else x - width if align == "right" else x - width / 2
        for k, ch in enumerate(s):
            bits = _GLYPHS.get(ch, _GLYPHS[" "])
            for i, bit in enumerate(bits):
                if bit == "1":
                    gx, gy = left + k * advance + (i % GLYPH_W) * scale, y + (i // GLYPH_W) * scale
                    self.rect(gx, gy, gx + scale - 1, gy + scale - 1, color)

    def png(self) -> bytes:
        return encode_png(self.pixels)


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi].

    >>> nice_ticks(0.71, 0.93)
    [0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(1, target)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    out = []
    k = 0
    while first + k * step <= hi + step * 1e-9 or not out or out[-1] < hi:
        out.append(round(first + k * step, 12))
        k += 1
    return out


class Chart:
    """A time-series chart: a plot area with a grid, y tick labels on the left and x tick labels below.
    Data go in as values; ``x_px``/``y_px`` say where a value is drawn."""

    LEFT, RIGHT, TOP, BOTTOM = 52, 12, 10, 22

    def __init__(self, width: int, height: int, x_range: tuple[float, float], y_range: tuple[float, float],
                 x_ticks: Sequence[float], x_label: Callable[[float], str], y_label: Callable[[float], str]) -> None:
        self.canvas = Canvas(width, height)
        self.x0, self.x1 = x_range
        self.y_ticks = nice_ticks(*y_range)
        self.y0, self.y1 = (self.y_ticks[0], self.y_ticks[-1]) if len(self.y_ticks) > 1 else (y_range[0] - 1,
                                                                                             y_range[0] + 1)
        self.left, self.right = self.LEFT, width - 1 - self.RIGHT
        self.top, self.bottom = self.TOP, height - 1 - self.BOTTOM
        c = self.canvas
        for t in self.y_ticks:
            yp = float(self.y_px(t))
            c.rect(self.left, yp, self.right, yp, GRID)
            c.text(self.left - 6, yp - GLYPH_H + 1, y_label(t), align="right")
        for t in x_ticks:
            xp = float(self.x_px(t))
            if self.left <= xp <= self.right:
                c.rect(xp, self.top, xp, self.bottom, GRID)
                c.text(xp, self.bottom + 6, x_label(t), align="centre")
        c.rect(self.left, self.top, self.left, self.bottom, AXIS)
        c.rect(self.left, self.bottom, self.right, self.bottom, AXIS)

    def x_px(self, x: float | np.ndarray) -> np.ndarray:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (np.asarray(x, dtype=np.float64) - self.x0) / span * (self.right - self.left)

    def y_px(self, y: float | np.ndarray) -> np.ndarray:
        span = (self.y1 - self.y0) or 1.0
        return self.bottom - (np.asarray(y, dtype=np.float64) - self.y0) / span * (self.bottom - self.top)

    def series(self, x: Sequence[float], y: Sequence[float | None], color: Color,
               low: Sequence[float | None] | None = None, high: Sequence[float | None] | None = None) -> None:
        """A line through ``y`` (None: a gap), over its interval band when ``low`` and ``high`` are given."""
        def arr(v: Sequence[float | None]) -> np.ndarray:
            return np.array([math.nan if a is None else float(a) for a in v], dtype=np.float64)

        xp = self.x_px(np.asarray(x, dtype=np.float64))
        if low is not None and high is not None:
            self.canvas.band(xp, self.y_px(arr(low)), self.y_px(arr(high)), color)
        self.canvas.polyline(xp, self.y_px(arr(y)), color)

    def png(self) -> bytes:
        return self.canvas.png()
