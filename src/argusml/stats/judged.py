"""A window of judges' verdicts as counts and sums that merge, and the test of a drop against a reference.

In ``stats`` (pure numbers) so that a window's profile can carry it (``DatasetProfile.judge``) and the LLM
layer can fill it: a verdict is anything with a ``score`` in [0, 1] and a ``passed`` flag
(``argusml.llm.judge.Verdict``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from argusml.stats.compare import Difference, mean_difference_from_summary, proportion_difference
from argusml.stats.mergeable import Mergeable
from argusml.stats.performance import Estimate, proportion, t_interval
from argusml.stats.tests import adjust_p_values


class _Scored(Protocol):
    @property
    def score(self) -> float: ...

    @property
    def passed(self) -> bool | None: ...


@dataclass
class JudgeWindow(Mergeable):
    """A window's verdicts as counts and sums that merge exactly (``a.merge(b)`` is the window of both,
    up to float rounding of the sums): events seen, judged, not judged (``abstained``: the judge had
    nothing to judge), ``errors`` (raised, bad answer or timed out; by exception name in
    ``error_kinds``), ``skipped_budget`` (sampled but over the window's budget), passes, and the sum
    and sum of squares of the scores.

    It reads as the mean score with Student's t interval (exact for normal scores at any count, so a
    window of 5 verdicts needs no bootstrap; clipped to [0, 1]) and the pass rate with Wilson's.
    Scores 0.9, 0.8, 0.6, 0.4, 0.3: mean 0.6, sample variance (2.06 - 5 * 0.36) / 4 = 0.065, so the 95%
    interval is 0.6 -+ t(4, 0.975) sqrt(0.065 / 5) = 0.6 -+ 2.7764 * 0.11402 = (0.2834, 0.9166); 3 passes
    of 5 at 0.5 give Wilson's (0.2307, 0.8824).

    >>> from types import SimpleNamespace as Verdict
    >>> w = JudgeWindow("toy")
    >>> for s in (0.9, 0.8, 0.6, 0.4, 0.3):
    ...     w.add(Verdict(score=s, passed=s >= 0.5))
    >>> m, p = w.mean_score, w.pass_rate
    >>> round(m.value, 4), round(m.low, 4), round(m.high, 4), m.method
    (0.6, 0.2834, 0.9166, 't')
    >>> p.value, round(p.low, 4), round(p.high, 4)
    (0.6, 0.2307, 0.8824)
    >>> w.merge(JudgeWindow("toy", judged=1, score_sum=1.0, score_sq_sum=1.0, passes=1)).judged
    6
    """

    judge: str = ""
    seen: int = 0
    judged: int = 0
    abstained: int = 0
    errors: int = 0
    skipped_budget: int = 0
    passes: int = 0
    score_sum: float = 0.0
    score_sq_sum: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        """Judge calls made: what the budget counts (an error or an abstention costs a call too)."""
        return self.judged + self.abstained + self.errors

    def add(self, verdict: _Scored | None) -> None:
        """Count one judge call's verdict (None: the judge abstained)."""
        if verdict is None:
            self.abstained += 1
            return
        self.judged += 1
        self.passes += bool(verdict.passed)
        self.score_sum += verdict.score
        self.score_sq_sum += verdict.score * verdict.score

    def add_error(self, kind: str) -> None:
        """Count one judge call that failed (``kind``: the exception's name, ``TimeoutError`` for a slow one)."""
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def merge(self, other: JudgeWindow) -> JudgeWindow:
        """The window of both parts (neither is changed). Refuses windows of two different judges."""
        if self.judge and other.judge and self.judge != other.judge:
            raise ValueError(f"cannot merge windows of judge {self.judge!r} and judge {other.judge!r}")
        kinds = dict(self.error_kinds)
        for k, v in other.error_kinds.items():
            kinds[k] = kinds.get(k, 0) + v
        return JudgeWindow(self.judge or other.judge, self.seen + other.seen, self.judged + other.judged,
                           self.abstained + other.abstained, self.errors + other.errors,
                           self.skipped_budget + other.skipped_budget, self.passes + other.passes,
                           self.score_sum + other.score_sum, self.score_sq_sum + other.score_sq_sum, kinds)

    @property
    def mean(self) -> float:
        return self.score_sum / self.judged if self.judged else float("nan")

    @property
    def variance(self) -> float:
        """Sample variance of the scores from the two sums (n - 1 in the denominator); NaN under 2."""
        n = self.judged
        if n < 2:
            return float("nan")
        return max((self.score_sq_sum - self.score_sum * self.score_sum / n) / (n - 1), 0.0)

    @property
    def mean_score(self) -> Estimate:
        """The mean score with its 95% t interval, clipped to [0, 1]."""
        return self.mean_score_at(0.95)

    def mean_score_at(self, confidence: float) -> Estimate:
        low, high = t_interval(self.judged, self.mean, self.variance, confidence)
        if not math.isnan(low):
            low, high = max(low, 0.0), min(high, 1.0)
        return Estimate(self.mean, low, high, self.judged, "t")

    @property
    def pass_rate(self) -> Estimate:
        """The share of judged answers that passed, with its 95% Wilson interval."""
        return self.pass_rate_at(0.95)

    def pass_rate_at(self, confidence: float) -> Estimate:
        if not self.judged:
            return Estimate(float("nan"), 0.0, 1.0, 0, "wilson")
        return proportion(self.passes, self.judged, confidence)

    def to_dict(self) -> dict[str, Any]:
        return {"judge": self.judge, "seen": self.seen, "judged": self.judged, "abstained": self.abstained,
                "errors": self.errors, "skipped_budget": self.skipped_budget, "passes": self.passes,
                "score_sum": self.score_sum, "score_sq_sum": self.score_sq_sum,
                "error_kinds": dict(sorted(self.error_kinds.items()))}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> JudgeWindow:
        return cls(str(d.get("judge") or ""), int(d["seen"]), int(d["judged"]), int(d["abstained"]),
                   int(d["errors"]), int(d["skipped_budget"]), int(d["passes"]), float(d["score_sum"]),
                   float(d["score_sq_sum"]), {str(k): int(v) for k, v in dict(d.get("error_kinds") or {}).items()})


@dataclass(frozen=True)
class JudgeComparison:
    """Whether the judged quality dropped from a reference window to the current one: the pass rate by
    the two-proportion z test (Newcombe's interval), the mean score by Welch's t test, both one-sided
    (only a drop alarms) and Holm-adjusted together, so the chance of a false alarm stays at ``alpha``.

    Reference 80 passes of 100, current 65 of 100: pooled 0.725, z = -0.15 / sqrt(0.725 * 0.275 * 0.02)
    = -2.3764, one-sided p = Phi(-2.3764) = 0.00876. The mean score, 0.75 to 0.68 with variances 0.0379
    and 0.0481 from the sums below: Welch's t = -2.3875, one-sided p = 0.00896
    (``scipy.stats.ttest_ind_from_stats(..., equal_var=False, alternative="less")``). Holm doubles the
    smaller (0.0175) and lifts the larger to it: both 0.0175, both drops significant at 0.05.

    >>> ref = JudgeWindow("toy", judged=100, passes=80, score_sum=75.0, score_sq_sum=60.0)
    >>> cur = JudgeWindow("toy", judged=100, passes=65, score_sum=68.0, score_sq_sum=51.0)
    >>> c = compare(ref, cur)
    >>> c.dropped, round(c.p_pass_rate, 4), round(c.p_mean_score, 4)
    (True, 0.0175, 0.0175)
    """

    pass_rate: Difference
    mean_score: Difference
    p_pass_rate: float
    p_mean_score: float
    alpha: float

    @property
    def pass_rate_dropped(self) -> bool:
        return self.p_pass_rate <= self.alpha

    @property
    def mean_score_dropped(self) -> bool:
        return self.p_mean_score <= self.alpha

    @property
    def dropped(self) -> bool:
        return self.pass_rate_dropped or self.mean_score_dropped

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {"dropped": self.dropped, "alpha": self.alpha,
                "pass_rate": {**self.pass_rate.to_dict(), "p_drop": num(self.p_pass_rate),
                              "dropped": self.pass_rate_dropped},
                "mean_score": {**self.mean_score.to_dict(), "p_drop": num(self.p_mean_score),
                               "dropped": self.mean_score_dropped}}


def _one_sided_drop(d: Difference) -> float:
    """The p-value of "current is lower" from the two-sided test of a symmetric statistic (z or t)."""
    if not math.isfinite(d.p_value):
        return float("nan")
    return d.p_value / 2 if d.difference < 0 else 1 - d.p_value / 2


def compare(ref: JudgeWindow, cur: JudgeWindow, alpha: float = 0.05) -> JudgeComparison:
    """Whether the current window's pass rate or mean score is significantly below the reference's
    (:class:`JudgeComparison`). Refuses windows of two different judges: a new judge model or rubric
    moves every score, which is not a drop in the answers."""
    if ref.judge and cur.judge and ref.judge != cur.judge:
        raise ValueError(f"cannot compare judge {ref.judge!r} with judge {cur.judge!r}: their scores are not "
                         "on one scale")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    rate = proportion_difference(ref.passes, ref.judged, cur.passes, cur.judged, 1 - alpha, "judge_pass_rate")
    mean = mean_difference_from_summary(ref.judged, ref.mean, ref.variance, cur.judged, cur.mean, cur.variance,
                                        1 - alpha, "judge_mean_score")
    ps = [_one_sided_drop(rate), _one_sided_drop(mean)]
    finite = [i for i, p in enumerate(ps) if math.isfinite(p)]
    adjusted = adjust_p_values([ps[i] for i in finite], "holm") if finite else []
    for i, p in zip(finite, adjusted):
        ps[i] = float(p)
    return JudgeComparison(rate, mean, ps[0], ps[1], alpha)
