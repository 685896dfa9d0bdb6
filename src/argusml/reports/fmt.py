"""Numbers, shares, p-values and times as a report shows them (None is how the report dict spells NaN/inf/unknown)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

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
