"""The statistics behind alerting: SLO burn rates, seasonal thresholds, step or slope.

Pure functions of numbers (numpy and scipy only): the alert engine passes times as epoch seconds and
decides what to do with the answers. Three pieces, each small enough to check by hand:

- burn rates of an SLO's error budget from cumulative ``(total, bad)`` counters, and the multi-window,
  multi-burn-rate policy of the Google SRE workbook (ch. 5, "Alerting on SLOs", table 5-8);
- a robust band per hour-of-week (median and MAD), so a metric that follows the week is judged against
  the same hour of past weeks;
- whether a recent change is a step (one change point) or a slope (a linear trend), by BIC.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# ---------------------------------------------------------------------------------------------------------
# 1. SLO burn rates
# ---------------------------------------------------------------------------------------------------------

FINE_SECONDS = 2 * 3600.0
"""How long a CounterSeries keeps every sample (the P0 and P1 short windows, 5 and 30 minutes, live here)."""
COARSE_STEP_SECONDS = 300.0
"""At most one sample per this many seconds is kept once older than FINE_SECONDS."""
HORIZON_SECONDS = 3 * 86400.0 + 3600.0
"""Samples older than this are dropped: the P2 long window (3 days) and an hour's margin."""
SLO_PERIOD_SECONDS = 30 * 86400.0
"""The SLO period whose error budget a burn rate spends (the SRE workbook's 30 days)."""
MIN_COVERAGE = 0.9
"""A window must be at least this share covered by samples for its burn rate to be told."""


class CounterSeries:
    """Cumulative ``(t, total, bad)`` counter samples of one SLO, thinned so memory stays bounded.

    A counter that goes down was reset (the process restarted): as Prometheus's ``increase()`` does, the
    sample after a drop counts its whole value as new events. The two counters restart together, so a drop
    of either is a reset of both. Resets are folded in as samples arrive: the series keeps *reset-free*
    cumulative counts, so thinning old samples can never hide a reset.

    Memory: every sample of the newest ``fine`` seconds; older ones thinned to the first sample in each
    ``coarse_step``-aligned bucket; none older than ``horizon``. With one sample a minute and the defaults
    that is at most 120 + 852 + 2 samples (24 bytes each), whatever the age of the series.

    ``increase(start, end)`` interpolates the reset-free counts linearly between the samples around each
    end. After thinning, the value at an end ``x`` lies between the kept samples ``a <= x <= b`` around it,
    as the full-resolution value does, so the error of an increase is at most the events counted between
    ``a`` and ``b``, summed over both ends; ``b - a`` is at most ``coarse_step`` plus the sampling interval.
    At a steady event rate across ``[a, b]`` the error is zero. Ends inside the newest ``fine`` seconds are
    exact. An end outside the samples takes the nearest sample's counts (no extrapolation).

    Four samples a minute apart, with a reset between the 2nd and 3rd (the counter fell from 200 to 30):
    the events over [0, 180] are 100 + 30 + 40 = 170, of which 2 + 1 + 3 = 6 bad. Half a minute into the
    first interval the counts interpolate to 150 and 3.

    >>> s = CounterSeries()
    >>> for t, total, bad in [(0, 100, 2), (60, 200, 4), (120, 30, 1), (180, 70, 4)]:
    ...     s.append(t, total, bad)
    >>> s.increase(0, 180)
    (170.0, 6.0)
    >>> s.increase(30, 180)
    (120.0, 5.0)
    >>> CounterSeries.from_list(s.to_list()).to_list() == s.to_list()
    True
    """

    __slots__ = ("_bad", "_coarse_step", "_fine", "_horizon", "_raw", "_t", "_total")

    def __init__(
        self,
        *,
        fine: float = FINE_SECONDS,
        coarse_step: float = COARSE_STEP_SECONDS,
        horizon: float = HORIZON_SECONDS,
    ) -> None:
        if not (math.isfinite(coarse_step) and coarse_step > 0):
            raise ValueError(f"CounterSeries: coarse_step must be a positive number of seconds, got {coarse_step!r}")
        if not (math.isfinite(fine) and fine >= 0):
            raise ValueError(f"CounterSeries: fine must be a number of seconds >= 0, got {fine!r}")
        if not (math.isfinite(horizon) and horizon >= fine):
            raise ValueError(f"CounterSeries: horizon ({horizon!r}) must be finite and at least fine ({fine!r}) seconds")
        self._fine = float(fine)
        self._coarse_step = float(coarse_step)
        self._horizon = float(horizon)
        self._t = array("d")
        self._total = array("d")  # reset-free cumulative counts
        self._bad = array("d")
        self._raw: tuple[float, float] | None = None  # the last sample as the counters read it

    @property
    def fine(self) -> float:
        return self._fine

    @property
    def coarse_step(self) -> float:
        return self._coarse_step

    @property
    def horizon(self) -> float:
        return self._horizon

    def __len__(self) -> int:
        return len(self._t)

    @property
    def times(self) -> list[float]:
        """The kept samples' times, oldest first."""
        return list(self._t)

    @property
    def first_time(self) -> float | None:
        return self._t[0] if self._t else None

    @property
    def last_time(self) -> float | None:
        return self._t[-1] if self._t else None

    def append(self, t: float, total: float, bad: float) -> None:
        """Add the counters as read at ``t``; ``t`` must be later than the last sample's."""
        if not (math.isfinite(t) and math.isfinite(total) and math.isfinite(bad)):
            raise ValueError(f"CounterSeries.append: t, total and bad must be finite numbers, got ({t!r}, {total!r}, {bad!r})")
        if total < 0 or bad < 0:
            raise ValueError(f"CounterSeries.append at t={t}: counters are >= 0, got total={total!r}, bad={bad!r}")
        if bad > total:
            raise ValueError(
                f"CounterSeries.append at t={t}: bad ({bad!r}) exceeds total ({total!r}); bad events are a subset "
                "of all events, so read both counters from the same scrape"
            )
        if self._t and t <= self._t[-1]:
            raise ValueError(
                f"CounterSeries.append: t={t!r} is not after the last sample (t={self._t[-1]!r}); append samples "
                "in time order, one per time"
            )
        if self._raw is None:
            cum_total, cum_bad = float(total), float(bad)
        else:
            last_total, last_bad = self._raw
            if total < last_total or bad < last_bad:  # a reset: everything counted since is new
                d_total, d_bad = float(total), float(bad)
            else:
                d_total, d_bad = total - last_total, bad - last_bad
            cum_total, cum_bad = self._total[-1] + d_total, self._bad[-1] + d_bad
        self._raw = (float(total), float(bad))
        # samples older than the previous sample's fine cutoff are thinned already
        first_fine = bisect_left(self._t, self._t[-1] - self._fine) if self._t else 0
        self._t.append(float(t))
        self._total.append(cum_total)
        self._bad.append(cum_bad)
        self._thin(first_fine, t - self._fine)
        old = bisect_left(self._t, t - self._horizon)
        if old:
            del self._t[:old], self._total[:old], self._bad[:old]

    def _thin(self, i: int, cutoff: float) -> None:
        """Samples from index ``i`` older than ``cutoff`` leave the full-resolution part: each stays only when
        it is the first of its coarse bucket (everything before ``i`` is thinned already)."""
        step = self._coarse_step
        while i < len(self._t) - 1 and self._t[i] < cutoff:
            if i == 0 or math.floor(self._t[i] / step) > math.floor(self._t[i - 1] / step):
                i += 1
            else:
                del self._t[i], self._total[i], self._bad[i]

    def _at(self, x: float) -> tuple[float, float]:
        t = self._t
        if x <= t[0]:
            return self._total[0], self._bad[0]
        if x >= t[-1]:
            return self._total[-1], self._bad[-1]
        b = bisect_right(t, x)
        a = b - 1
        w = (x - t[a]) / (t[b] - t[a])
        return (
            self._total[a] + w * (self._total[b] - self._total[a]),
            self._bad[a] + w * (self._bad[b] - self._bad[a]),
        )

    def increase(self, start: float, end: float) -> tuple[float, float]:
        """Events and bad events counted over ``[start, end]`` (reset-aware, interpolated at both ends)."""
        if end < start:
            raise ValueError(f"CounterSeries.increase: end ({end!r}) is before start ({start!r}); pass start <= end")
        if not self._t:
            return 0.0, 0.0
        t0, b0 = self._at(start)
        t1, b1 = self._at(end)
        return t1 - t0, b1 - b0

    def coverage(self, start: float, end: float) -> float:
        """Share of ``[start, end]`` that lies between the first and the last sample.

        Gaps between samples do not reduce it: cumulative counters carry the events of a gap into the next
        sample, so only a window reaching past the first or the last sample misses events."""
        if end <= start or not self._t:
            return 0.0
        covered = min(end, self._t[-1]) - max(start, self._t[0])
        return max(covered, 0.0) / (end - start)

    def to_list(self) -> list[list[float | None]]:
        """JSON-ready: ``[[fine, coarse_step, horizon, raw_total, raw_bad], [t, total, bad], ...]`` (the raw
        pair is the last sample as read, to spot a reset on the next append; sample counts are reset-free)."""
        raw_total, raw_bad = self._raw if self._raw is not None else (None, None)
        head: list[float | None] = [self._fine, self._coarse_step, self._horizon, raw_total, raw_bad]
        return [head, *map(list, zip(self._t, self._total, self._bad))]

    @classmethod
    def from_list(cls, v: Sequence[Sequence[float | None]]) -> CounterSeries:
        expected = (
            "CounterSeries.from_list: expected [[fine, coarse_step, horizon, raw_total, raw_bad], [t, total, bad], ...] "
            "as written by to_list"
        )
        if not v or len(v[0]) != 5 or any(len(row) != 3 for row in v[1:]):
            raise ValueError(expected)
        fine, step, horizon, raw_total, raw_bad = v[0]
        rows = v[1:]
        try:
            s = cls(fine=float(fine), coarse_step=float(step), horizon=float(horizon))
            s._t = array("d", [row[0] for row in rows])
            s._total = array("d", [row[1] for row in rows])
            s._bad = array("d", [row[2] for row in rows])
        except TypeError as e:  # a null where a number belongs
            raise ValueError(f"{expected} ({e})") from e
        if s._t and (raw_total is None or raw_bad is None):
            raise ValueError("CounterSeries.from_list: samples without the last raw counters; pass the list to_list wrote")
        if any(b <= a for a, b in zip(s._t, s._t[1:])):
            raise ValueError("CounterSeries.from_list: sample times must increase strictly; pass the list to_list wrote")
        s._raw = None if raw_total is None or raw_bad is None else (float(raw_total), float(raw_bad))
        return s


def _check_objective(objective: float) -> None:
    if not (0.0 < objective < 1.0):
        raise ValueError(f"SLO objective must lie strictly between 0 and 1 (like 0.995 for 99.5%), got {objective!r}")


def burn_rate(
    series: CounterSeries,
    now: float,
    window: float,
    objective: float,
    *,
    min_coverage: float = MIN_COVERAGE,
) -> float | None:
    """How fast the window spends the error budget: its bad share over the allowed bad share ``1 - objective``.

    A burn rate of 1 spends exactly the budget over the SLO period; 14.4 spends 2% of 30 days' budget in an
    hour. None when the window counted no events, or when less than ``min_coverage`` (default 90%) of
    ``[now - window, now]`` lies between the series' first and last sample: a series younger than the window
    would otherwise speak for a period it never saw, and one whose last sample is stale for one it missed.
    Gaps between samples inside the window do not count against it (the counters carry a gap's events).

    2% of 1,000 requests bad over the last hour, against a 99.9% objective: 0.02 / 0.001 = 20.

    >>> s = CounterSeries()
    >>> s.append(0, 0, 0); s.append(3600, 1000, 20)
    >>> round(burn_rate(s, 3600, 3600, 0.999), 9)
    20.0
    >>> burn_rate(s, 3600 + 1800, 3600, 0.999) is None  # the last half hour has no samples
    True
    """
    _check_objective(objective)
    if not (math.isfinite(window) and window > 0):
        raise ValueError(f"burn_rate: window must be a positive number of seconds, got {window!r}")
    start = now - window
    if series.coverage(start, now) < min_coverage:
        return None
    total, bad = series.increase(start, now)
    if total <= 0:
        return None
    return (bad / total) / (1.0 - objective)


class BurnTier(NamedTuple):
    """One row of a multi-window burn policy: alert at ``severity`` when both windows burn above ``factor``.

    The long window makes the alert significant (2% of a 30-day budget for the P0 row: 14.4 × 1 h / 720 h),
    the short one makes it stop soon after the burning does.

    >>> BURN_POLICY[0]
    BurnTier(severity='P0', long_window=3600.0, short_window=300.0, factor=14.4)
    >>> round(BURN_POLICY[0].factor * BURN_POLICY[0].long_window / SLO_PERIOD_SECONDS, 6)
    0.02
    """

    severity: str
    long_window: float
    short_window: float
    factor: float


BURN_POLICY: tuple[BurnTier, ...] = (
    BurnTier("P0", 3600.0, 300.0, 14.4),
    BurnTier("P1", 6 * 3600.0, 1800.0, 6.0),
    BurnTier("P2", 3 * 86400.0, 6 * 3600.0, 1.0),
)
"""The SRE workbook's table, most severe first: 2% of the budget in 1 h (P0), 5% in 6 h (P1), 10% in 3 days (P2)."""


@dataclass(frozen=True)
class TierBurn:
    """A policy row's two burn rates now, and the share of the period's budget its long window spent.

    ``budget_spent`` is ``long_rate × long_window / period`` (the workbook's reading, which takes the window's
    traffic as typical of the period). 20× over an hour of a 30-day SLO spends 20 / 720 = 2.78% of it.

    >>> tb = TierBurn(BURN_POLICY[0], long_rate=20.0, short_rate=15.0, budget_spent=20.0 * 3600 / SLO_PERIOD_SECONDS)
    >>> tb.burning, round(tb.budget_spent, 5)
    (True, 0.02778)
    >>> TierBurn(BURN_POLICY[0], long_rate=20.0, short_rate=2.0, budget_spent=0.028).burning
    False
    """

    tier: BurnTier
    long_rate: float | None
    short_rate: float | None
    budget_spent: float | None

    @property
    def burning(self) -> bool:
        """Both windows burn faster than the row's factor (strictly, as the workbook's rules compare)."""
        f = self.tier.factor
        return self.long_rate is not None and self.short_rate is not None and self.long_rate > f and self.short_rate > f

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.tier.severity,
            "long_window_s": self.tier.long_window,
            "short_window_s": self.tier.short_window,
            "factor": self.tier.factor,
            "long_rate": self.long_rate,
            "short_rate": self.short_rate,
            "budget_spent": self.budget_spent,
            "burning": self.burning,
        }


def _read_fired(read: Callable[[TierBurn], float | None]) -> property:
    """A BurnResult property reading the firing row, None when no row fires."""

    def get(self: BurnResult) -> float | None:
        f = self.fired
        return read(f) if f is not None else None

    return property(get)


@dataclass(frozen=True)
class BurnResult:
    """Every policy row's burn rates, and the most severe row whose two windows both burn (or none).

    The properties read the firing row (None when none fires); ``tiers`` keeps all rows, in the policy's
    order, as evidence for the alert or for a dashboard.

    An hour of 2% errors at 99.9% burns at 20 over 1 h and over its last 5 minutes: P0 fires.

    >>> s = CounterSeries()
    >>> for minute in range(61):
    ...     s.append(60.0 * minute, 1000.0 * minute, 20.0 * minute)
    >>> r = evaluate_burn(s, 3600.0, 0.999)
    >>> r.severity, round(r.long_rate, 6), round(r.short_rate, 6), r.long_window, r.short_window
    ('P0', 20.0, 20.0, 3600.0, 300.0)
    >>> round(r.budget_spent, 5), [t.long_rate for t in r.tiers[1:]]  # 6 h and 3 d are not covered yet
    (0.02778, [None, None])
    """

    tiers: tuple[TierBurn, ...]

    @property
    def fired(self) -> TierBurn | None:
        return next((t for t in self.tiers if t.burning), None)

    @property
    def severity(self) -> str | None:
        f = self.fired
        return f.tier.severity if f else None

    long_rate = _read_fired(lambda f: f.long_rate)
    short_rate = _read_fired(lambda f: f.short_rate)
    long_window = _read_fired(lambda f: f.tier.long_window)
    short_window = _read_fired(lambda f: f.tier.short_window)
    factor = _read_fired(lambda f: f.tier.factor)
    budget_spent = _read_fired(lambda f: f.budget_spent)

    def to_dict(self) -> dict[str, object]:
        return {"severity": self.severity, "tiers": [t.to_dict() for t in self.tiers]}


def evaluate_burn(
    series: CounterSeries,
    now: float,
    objective: float,
    policy: Sequence[BurnTier | tuple[str, float, float, float]] = BURN_POLICY,
    *,
    period: float = SLO_PERIOD_SECONDS,
    min_coverage: float = MIN_COVERAGE,
) -> BurnResult:
    """Multi-window, multi-burn-rate alerting (SRE workbook, ch. 5, approach 6) on one SLO's counters.

    ``policy`` rows are ``(severity, long_window, short_window, factor)``, most severe first; the first row
    whose long and short windows both burn above its factor fires. The short window is what lets an alert
    stop once the burning has stopped, while the long one still remembers it. Windows not covered enough
    (see ``burn_rate``) have no burn rate and cannot fire.

    An hour at 2% errors, then 5 clean minutes: the hour still burns at 18.3 (1,100 bad of 60,000 events is
    1.83%), but its last 5 minutes burn at 0, so P0 does not fire.

    >>> s = CounterSeries()
    >>> for minute in range(66):
    ...     s.append(60.0 * minute, 1000.0 * minute, 20.0 * min(minute, 60))
    >>> r = evaluate_burn(s, 3900.0, 0.999)
    >>> r.severity, round(r.tiers[0].long_rate, 4), r.tiers[0].short_rate
    (None, 18.3333, 0.0)
    """
    _check_objective(objective)
    if not (math.isfinite(period) and period > 0):
        raise ValueError(f"evaluate_burn: period must be a positive number of seconds, got {period!r}")
    tiers = []
    for i, row in enumerate(policy):
        if len(row) != 4:
            raise ValueError(f"evaluate_burn: policy row {i} is {row!r}; each row is (severity, long_window, short_window, factor)")
        tier = BurnTier(str(row[0]), float(row[1]), float(row[2]), float(row[3]))
        long_rate = burn_rate(series, now, tier.long_window, objective, min_coverage=min_coverage)
        short_rate = burn_rate(series, now, tier.short_window, objective, min_coverage=min_coverage)
        spent = None if long_rate is None else long_rate * tier.long_window / period
        tiers.append(TierBurn(tier, long_rate, short_rate, spent))
    return BurnResult(tuple(tiers))


def budget_remaining(
    series: CounterSeries,
    now: float,
    objective: float,
    period: float = SLO_PERIOD_SECONDS,
) -> float | None:
    """Share of the period's error budget left: 1.0 untouched, 0 spent, below 0 overspent.

    Counted over the part of ``[now - period, now]`` the series holds (``covered`` seconds, at most its
    horizon): ``1 - burn × covered / period``, which scales the covered traffic to the whole period and counts
    no bad events outside it. With the default 3-day horizon and a 30-day period that is a lower bound on
    the spend; give the series a horizon of at least the period to count all of it. None with no events.

    10 bad of 10,000 events over one covered day of a 30-day, 99.9% SLO: burn 1, so 1/30 of the budget spent.

    >>> s = CounterSeries()
    >>> s.append(0, 0, 0); s.append(86400, 10000, 10)
    >>> round(budget_remaining(s, 86400, 0.999), 6), round(1 - 1 / 30, 6)
    (0.966667, 0.966667)
    """
    _check_objective(objective)
    if not (math.isfinite(period) and period > 0):
        raise ValueError(f"budget_remaining: period must be a positive number of seconds, got {period!r}")
    covered = series.coverage(now - period, now) * period
    if covered <= 0:
        return None
    total, bad = series.increase(now - period, now)
    if total <= 0:
        return None
    burn = (bad / total) / (1.0 - objective)
    return 1.0 - burn * covered / period


# ---------------------------------------------------------------------------------------------------------
# 2. Seasonal thresholds
# ---------------------------------------------------------------------------------------------------------

WEEK_SECONDS = 7 * 86400.0
MONDAY_ORIGIN = 4 * 86400.0
"""1970-01-05 00:00 UTC, the first Monday after the epoch (1970-01-01 was a Thursday): weeks start here."""
MAD_TO_SIGMA = 1.4826
"""1 / Φ⁻¹(3/4): the MAD times this estimates a normal distribution's standard deviation."""
MIN_SCALE = 1e-9
"""The band's last-resort floor, so a series with a zero median and zero MAD still has a finite z."""


def seasonal_bucket(
    t: float | np.ndarray,
    *,
    period: float = WEEK_SECONDS,
    bucket: float = 3600.0,
    origin: float = MONDAY_ORIGIN,
) -> int | np.ndarray:
    """Index of the bucket of the period that epoch second ``t`` (UTC) falls in: hour-of-week by default,
    0 for Monday 00:00-01:00, 24 for Tuesday's first hour, 167 for Sunday 23:00-24:00.

    Epoch 0 was a Thursday 00:00, so it is hour 3 × 24 = 72 of its week; a day later is 96.

    >>> seasonal_bucket(0.0), seasonal_bucket(86400.0), seasonal_bucket(MONDAY_ORIGIN - 1)
    (72, 96, 167)
    """
    idx = np.floor(np.mod(np.asarray(t, dtype=float) - origin, period) / bucket).astype(np.int64)
    return int(idx) if idx.ndim == 0 else idx


@dataclass(frozen=True)
class Band:
    """The normal range of a seasonal metric at one bucket of its period, from the same bucket's history.

    ``lower``/``upper`` are ``median ∓ k × scale``; ``scale`` is the largest of 1.4826 × MAD, a share of the
    median's size and MIN_SCALE. History 90, 100, 110, 100, 130 has median 100 and absolute deviations
    10, 0, 10, 0, 30, whose median is 10: scale 14.826, band 100 ± 4 × 14.826 = [40.696, 159.304].

    >>> b = seasonal_band([0.0, 1.0, 2.0, 3.0, 4.0], [90, 100, 110, 100, 130], 5.0, period=1.0, bucket=1.0)
    >>> b.median, round(b.scale, 3), round(b.lower, 3), round(b.upper, 3), b.n
    (100.0, 14.826, 40.696, 159.304, 5)
    >>> b.judge(30.0), b.judge(150.0), b.judge(200.0), round(b.z(200.0), 3)
    ('below', 'inside', 'above', 6.745)
    """

    median: float
    scale: float
    lower: float
    upper: float
    n: int
    bucket_index: int
    k: float

    def judge(self, value: float) -> str:
        """"below", "above" or "inside" the band (its edges are inside)."""
        if value < self.lower:
            return "below"
        if value > self.upper:
            return "above"
        return "inside"

    def z(self, value: float) -> float:
        """Distance from the median in robust standard deviations (the band's edges are at ±k)."""
        return (value - self.median) / self.scale

    def to_dict(self) -> dict[str, float | int]:
        return {
            "median": self.median,
            "scale": self.scale,
            "lower": self.lower,
            "upper": self.upper,
            "n": self.n,
            "bucket_index": self.bucket_index,
            "k": self.k,
        }


def seasonal_band(
    times: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    at: float,
    *,
    period: float = WEEK_SECONDS,
    bucket: float = 3600.0,
    k: float = 4.0,
    min_history: int = 3,
    min_mad_fraction: float = 0.05,
    pool: int = 0,
    origin: float = MONDAY_ORIGIN,
) -> Band | None:
    """The robust band for time ``at`` from past observations in the same bucket of the period.

    Observations before ``at`` whose time falls in ``at``'s bucket (and, with ``pool=p``, in the ``p``
    buckets either side, wrapping round the period) give the median and the MAD. Median and MAD ignore one
    odd week in three or more, where a mean and a standard deviation would follow it. The scale is floored
    at ``min_mad_fraction × |median|`` so a very regular series (MAD near 0) does not call noise an anomaly.
    Non-finite values are left out. None with fewer than ``min_history`` observations.

    Times are epoch seconds, UTC; buckets count from ``origin``, by default a Monday 00:00 UTC, so with the
    defaults bucket 0 is Monday 00:00-01:00. Three past Mondays at 9:00 saw 480, 500 and 520; a fourth
    Monday's 9:00 band is 500 ± 4 × max(1.4826 × 20, 0.05 × 500) = 500 ± 118.608.

    >>> monday_9 = MONDAY_ORIGIN + 9 * 3600.0
    >>> b = seasonal_band([monday_9 + w * WEEK_SECONDS for w in range(3)], [480.0, 500.0, 520.0], monday_9 + 3 * WEEK_SECONDS)
    >>> b.bucket_index, b.median, round(b.lower, 3), round(b.upper, 3)
    (9, 500.0, 381.392, 618.608)
    """
    if not (math.isfinite(period) and period > 0 and math.isfinite(bucket) and 0 < bucket <= period):
        raise ValueError(f"seasonal_band: need 0 < bucket <= period (seconds), got bucket={bucket!r}, period={period!r}")
    if pool < 0 or min_history < 1 or k <= 0 or min_mad_fraction < 0:
        raise ValueError(
            f"seasonal_band: need pool >= 0, min_history >= 1, k > 0, min_mad_fraction >= 0; got pool={pool!r}, "
            f"min_history={min_history!r}, k={k!r}, min_mad_fraction={min_mad_fraction!r}"
        )
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError(f"seasonal_band: times and values must be 1-d and of one length, got shapes {t.shape} and {v.shape}")
    n_buckets = math.ceil(period / bucket)
    target = int(seasonal_bucket(at, period=period, bucket=bucket, origin=origin))
    wanted = np.array(sorted({(target + j) % n_buckets for j in range(-pool, pool + 1)}))
    idx = seasonal_bucket(t, period=period, bucket=bucket, origin=origin)
    keep = (t < at) & np.isfinite(v) & np.isfinite(t) & np.isin(idx, wanted)
    history = v[keep]
    if history.size < min_history:
        return None
    median = float(np.median(history))
    mad = float(np.median(np.abs(history - median)))
    scale = max(MAD_TO_SIGMA * mad, min_mad_fraction * abs(median), MIN_SCALE)
    return Band(median, scale, median - k * scale, median + k * scale, int(history.size), target, float(k))


# ---------------------------------------------------------------------------------------------------------
# 3. Step or slope
# ---------------------------------------------------------------------------------------------------------

STEP_OR_SLOPE_MIN_BIC_GAP = 2.0
"""Below this BIC difference the two models explain the data about equally well ("unclear"): Kass and
Raftery (1995) call a BIC difference under 2 "not worth more than a bare mention"."""
STEP_OR_SLOPE_NOISE_MULTIPLE = 3.0
"""A change no larger than this many residual standard deviations is "flat"."""


@dataclass(frozen=True)
class Shape:
    """What kind of change a metric's recent windows show, and how large.

    ``change`` is the level after the step minus the level before, or the slope times the span (n - 1
    points); ``at`` is the first index after the step (None unless a step). BICs are
    ``n·ln(SSE/n) + 3·ln(n)`` for both models, so lower is better and their difference is the SSE ratio.

    >>> s = step_or_slope([1.0, 1.0, 1.0, 5.0, 5.0, 5.0])
    >>> s.kind, s.change, s.at
    ('step', 4.0, 3)
    >>> step_or_slope([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).kind, step_or_slope([2.0] * 8).kind
    ('slope', 'flat')
    """

    kind: str
    change: float
    at: int | None
    slope_per_point: float
    bic_step: float
    bic_slope: float

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "change": self.change,
            "at": self.at,
            "slope_per_point": self.slope_per_point,
            "bic_step": self.bic_step,
            "bic_slope": self.bic_slope,
        }


def _best_split(y: np.ndarray) -> tuple[int, float, float]:
    """(first index after the split, SSE, right mean - left mean) of the two-means fit minimising SSE, each
    side holding at least two points. O(n) from prefix sums."""
    n = y.size
    c1 = np.concatenate([[0.0], np.cumsum(y)])
    c2 = np.concatenate([[0.0], np.cumsum(y * y)])
    s = np.arange(2, n - 1)  # left = y[:s], right = y[s:]
    left_sum, left_sq = c1[s], c2[s]
    right_sum, right_sq = c1[n] - c1[s], c2[n] - c2[s]
    sse = (left_sq - left_sum**2 / s) + (right_sq - right_sum**2 / (n - s))
    best = int(np.argmin(sse))
    split = int(s[best])
    # the SSE again, two-pass, at the chosen split: the prefix-sum form cancels badly for large levels
    left, right = y[:split], y[split:]
    sse_best = float(((left - left.mean()) ** 2).sum() + ((right - right.mean()) ** 2).sum())
    return split, sse_best, float(right.mean() - left.mean())


def step_or_slope(
    values: Sequence[float] | np.ndarray,
    *,
    min_points: int = 6,
    min_bic_gap: float = STEP_OR_SLOPE_MIN_BIC_GAP,
    noise_multiple: float = STEP_OR_SLOPE_NOISE_MULTIPLE,
) -> Shape:
    """Tell a sudden step from a gradual slope in a metric's recent values (oldest first).

    Two fits of the same data: (a) the best single change point, two means with the split minimising the
    SSE, at least two points each side; (b) the least-squares line over the index. Each is scored by
    ``BIC = n·ln(SSE/n) + k·ln(n)`` with k = 3 for both (step: two levels and the change point; line:
    intercept, slope and the noise variance, which the step's count leaves out). The choice is a
    convention: with equal k the penalty cancels and the comparison is ``n·ln(SSE_slope / SSE_step)``.
    Then, in order:

    - fewer than ``min_points`` values (or fewer than 4, which a split needs): "unclear", change 0;
    - the better model's change (``after - before``, or ``slope × (n - 1)``) is at most ``noise_multiple``
      (3) times its residual standard deviation ``sqrt(SSE / (n - 3))``: "flat";
    - the BICs differ by at most ``min_bic_gap`` (2): "unclear", with the better model's change;
    - else the lower BIC: "step" or "slope".

    A tiny worked example: 1, 0.8, 1.2, 5.2, 4.8, 5 splits at index 3 into means 1 and 5 (SSE 4 × 0.04 =
    0.16); round the mean 3 and the middle index 2.5 the cross products sum to 18 and the squares of the
    index to 17.5, the squares of the values to 24.16, so the line has slope 18 / 17.5 = 1.028571 and SSE
    24.16 - 18² / 17.5 = 5.645714 (np.polyfit agrees): BIC favours the step by 6 × ln(5.645714 / 0.16) = 21.38.

    >>> s = step_or_slope([1.0, 0.8, 1.2, 5.2, 4.8, 5.0])
    >>> s.kind, round(s.change, 6), s.at, round(s.slope_per_point, 6)
    ('step', 4.0, 3, 1.028571)
    >>> round(s.bic_slope - s.bic_step, 2)
    21.38
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"step_or_slope: values must be a 1-d sequence, got shape {y.shape}")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ValueError(f"step_or_slope: values[{int(bad[0])}] is {float(y[bad[0]])!r}; pass finite values (drop empty windows first)")
    n = y.size
    if n < max(min_points, 4):
        return Shape("unclear", 0.0, None, 0.0, math.nan, math.nan)
    x = np.arange(n, dtype=float)
    xc = x - x.mean()
    yc = y - y.mean()
    slope = float((xc * yc).sum() / (xc * xc).sum())
    sse_line = float(((yc - slope * xc) ** 2).sum())
    split, sse_step, step_change = _best_split(y)
    # SSE floor relative to the data's size, so a perfect fit has a finite (very low) BIC
    floor = n * (1e-12 * max(1.0, float(np.abs(y).max()))) ** 2
    k_ln_n = 3.0 * math.log(n)
    bic_step = n * math.log(max(sse_step, floor) / n) + k_ln_n
    bic_slope = n * math.log(max(sse_line, floor) / n) + k_ln_n
    slope_change = slope * (n - 1)
    step_wins = bic_step < bic_slope
    change, sse = (step_change, sse_step) if step_wins else (slope_change, sse_line)
    noise = math.sqrt(sse / (n - 3)) if n > 3 else 0.0
    if abs(change) <= noise_multiple * noise or abs(change) <= 1e-9 * max(1.0, float(np.abs(y).max())):
        return Shape("flat", change, None, slope, bic_step, bic_slope)
    if abs(bic_step - bic_slope) <= min_bic_gap:
        return Shape("unclear", change, None, slope, bic_step, bic_slope)
    if step_wins:
        return Shape("step", change, split, slope, bic_step, bic_slope)
    return Shape("slope", change, None, slope, bic_step, bic_slope)
