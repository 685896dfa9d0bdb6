"""``outcome_drop``: a business outcome credibly below its baseline over consecutive windows.

Outcomes (a conversion, revenue) are posted to ``/v1/models/{m}/outcomes`` and
summarised per performance window (``PerformanceJob._outcome_summary``): the
window's predictions, those with a non-zero outcome, the outcome's total and
sum of squares. A drop is a finding when each of the last ``windows`` windows
is credibly lower than the baseline — the pooled windows of the trailing
period before that run — by a one-sided test with the sample sizes
(``stats/outcomes.py``): Fisher's exact test on the rate, Welch's on the value
per prediction. One window below is often noise (a slow Monday morning); a
run of them is a drop.

When both the rate and the mean are tested (an outcome that is not 0/1), each
is tested at ``alpha / 2`` (Bonferroni), so an outcome whose distribution did
not change fires with probability at most ``alpha`` per window judged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from argusml.schema import Finding
from argusml.schema.severity import DEFAULT_SEVERITY
from argusml.stats.outcomes import mean_drop_p, rate_drop_p, variance


def _counts(summaries: list[Mapping[str, Any]]) -> tuple[int, int, float, float | None]:
    """(predictions, with the outcome, total, sum of squares or None when a summary lacks it), pooled."""
    n = hits = 0
    total = 0.0
    ss: float | None = 0.0
    for s in summaries:
        n += int(s.get("predictions") or 0)
        hits += int(s.get("with_outcome") or 0)
        total += float(s.get("total") or 0.0)
        if ss is not None and s.get("sum_squares") is not None:
            ss += float(s["sum_squares"])
        else:
            ss = None
    return n, hits, total, ss


def _binary(summaries: list[Mapping[str, Any]]) -> bool:
    """Every outcome was 1 (a conversion): then the mean is the rate, tested once."""
    return all(float(s.get("total") or 0.0) == float(s.get("with_outcome") or 0) and
               (s.get("sum_squares") is None or float(s["sum_squares"]) == float(s.get("with_outcome") or 0))
               for s in summaries)


def outcome_drops(series: Mapping[float, Mapping[str, Mapping[str, Any]]], start: float, g: float, *,
                  windows: int, trailing: float, alpha: float) -> list[Finding]:
    """The ``outcome_drop`` findings of the window starting at ``start`` (length ``g``).

    ``series`` maps window starts to that window's outcome summaries (name -> summary). The run is the
    window and the ``windows - 1`` before it, each of which must be present; the baseline pools the
    windows in ``[start - trailing, first start of the run)``."""
    run = [start - k * g for k in range(windows)]
    if any(s not in series for s in run):
        return []
    first = run[-1]
    base_starts = [s for s in series if start - trailing <= s < first - 1e-9]
    out: list[Finding] = []
    for name in sorted(series[start]):
        base = [series[s][name] for s in base_starts if name in series[s]]
        cur = [series[s].get(name) for s in run]
        if not base or any(c is None for c in cur):
            continue
        now = [c for c in cur if c is not None]
        bn, bh, bt, bss = _counts(base)
        if bn == 0:
            continue
        test_mean = not _binary(base + now)
        level = alpha / 2 if test_mean else alpha
        rate_ps = [rate_drop_p(int(c.get("with_outcome") or 0), int(c.get("predictions") or 0), bh, bn) for c in now]
        mean_ps: list[float] = []
        if test_mean and bss is not None and all(c.get("sum_squares") is not None for c in now):
            bvar = variance(bt, bss, bn)
            for c in now:
                n = int(c.get("predictions") or 0)
                t = float(c.get("total") or 0.0)
                mean_ps.append(mean_drop_p(t / n if n else math.nan, variance(t, float(c["sum_squares"]), n), n,
                                           bt / bn, bvar, bn) if n else 1.0)
        newest = now[0]
        n_new = int(newest.get("predictions") or 0)
        for measure, ps, cur_v, base_v in (
                ("rate", rate_ps, int(newest.get("with_outcome") or 0) / n_new if n_new else math.nan, bh / bn),
                ("per_prediction", mean_ps, float(newest.get("total") or 0.0) / n_new if n_new else math.nan,
                 bt / bn)):
            if not ps or max(ps) >= level:
                continue
            what = "share of predictions with" if measure == "rate" else "value per prediction of"
            out.append(Finding(
                "outcome_drop", name, DEFAULT_SEVERITY["outcome_drop"],
                f"{what} outcome {name!r} {cur_v:.4g} against {base_v:.4g} before, lower in {windows} window(s) "
                f"in a row (largest p {max(ps):.2g} < {level:g}; {n_new} predictions in the newest, {bn} in the "
                "baseline)",
                {"outcome": name, "measure": measure, "current": {"value": cur_v, "n": n_new},
                 "baseline": {"value": base_v, "n": bn, "windows": len(base)}, "since": first, "windows": windows,
                 "p_values": ps, "alpha": level,
                 "test": "fisher_exact_one_sided" if measure == "rate" else "welch_one_sided"}))
    return out


__all__ = ["outcome_drops"]
