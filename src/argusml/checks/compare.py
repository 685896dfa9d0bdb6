"""Champion or challenger: promote, keep waiting, or roll back, with the reasons.

One decision function for the API and the CLI (two views of one decision
never disagree). It reads the differences ``stats.compare`` computed and the
model's ``compare:`` settings, and follows the rule of drift decisions: a
change counts when it is statistically credible *and* larger than what the
owner said matters.

- **Roll back** when the challenger is shown worse on the watched metric
  (the whole interval below no change) and its estimate is worse by more
  than ``margin``, or when its error rate or p95 latency is shown above the
  configured limit (whole interval beyond it). The operational checks need
  no labels, so a canary that errors or slows is rolled back before any
  label arrives.
- **Promote** when both versions have ``min_labels`` labels, the whole
  interval of the gain lies above ``-margin`` (better, or non-inferior), and
  the error rate and latency are shown within their limits.
- **Wait** otherwise, saying why and how many more labels are needed: the
  planned size for ``min_difference`` at ``alpha`` and ``power`` less the
  labels there are; once that size is reached and the interval still
  straddles the margin, the labels at which the difference seen so far would
  clear it.

Intervals are two-sided at ``1 - alpha``, so "shown" is a one-sided test at
``alpha / 2``: conservative, and the same interval the API shows. Before the
planned labels are in, a metric verdict asks for more (p < 0.001, the
Haybittle-Peto rule), because the verdict is read again and again as labels
arrive, and a fixed-sample interval read at every look would promote noise
far more often than ``alpha`` says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from argusml.schema.model_config import CompareSettings
from argusml.stats.compare import Difference, Plan, labels_needed, labels_to_decide
from argusml.stats.compare import z_of as sc_z

INTERIM_Z = 3.2905267314918945
"""Before the planned labels are in, a metric verdict needs two-sided p < 0.001 (Haybittle 1971; Peto et al.
1976): a strong effect is acted on early, a borderline one waits for the planned size, and repeated looks
barely add to the chance of a false verdict."""
DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "mae"}
HIGHER_IS_BETTER = {"roc_auc": True, "accuracy": True, "mae": False, "rmse": False}
METRIC_WORDS = {"roc_auc": "ROC AUC", "accuracy": "accuracy", "mae": "MAE", "rmse": "RMSE"}
TEST_WORDS = {"delong_paired": "paired DeLong", "delong": "DeLong (independent samples)",
              "agresti_min": "McNemar (exact) with the Agresti-Min interval", "newcombe": "Newcombe's interval",
              "welch": "Welch's t", "paired_t": "paired t", "delta": "delta method",
              "delta_paired": "paired delta method"}


@dataclass
class Verdict:
    """``decision`` is promote | wait | rollback; ``reasons`` are sentences a person reads; ``evidence``
    the numbers behind them; ``labels_needed`` more labels (pairs when paired) before a metric verdict."""

    decision: str
    reasons: list[str]
    labels_needed: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reasons": self.reasons, "labels_needed": self.labels_needed,
                "evidence": self.evidence}


def metric_for(task: str, settings: CompareSettings) -> str:
    """The watched metric; ValueError when the configured one does not apply to the task."""
    metric = settings.metric or DEFAULT_METRIC[task]
    allowed = {"binary": ("roc_auc", "accuracy"), "multiclass": ("accuracy",), "regression": ("mae", "rmse")}[task]
    if metric not in allowed:
        raise ValueError(f"compare.metric {metric!r} does not apply to a {task} model; use one of "
                         f"{', '.join(allowed)}")
    return metric


def _fmt(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else "n/a"


def _signed(v: float) -> str:
    return f"{v:+.4g}" if math.isfinite(v) else "n/a"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3g}"


def describe(diff: Difference) -> str:
    """One sentence: both values, the difference with its interval, the test."""
    name = METRIC_WORDS.get(diff.metric, diff.metric)
    on = f"{diff.n_champion:,} shared ids" if diff.paired else f"{diff.n_champion:,} and {diff.n_challenger:,} labels"
    return (f"{name} {_fmt(diff.challenger)} for the challenger against {_fmt(diff.champion)} for the champion: "
            f"{_signed(diff.difference)} ({round(diff.confidence * 100):d}% interval {_signed(diff.low)} to "
            f"{_signed(diff.high)}; {TEST_WORDS.get(diff.method, diff.method)} on {on}, {_p(diff.p_value)})")


def _points(share: float) -> str:
    v = 100 * share
    return f"{v:.3g} percentage point" + ("" if v == 1 else "s")


def _operational(error_rate: Difference | None, latency_p95: Difference | None, s: CompareSettings
                 ) -> tuple[list[str], list[str], list[str]]:
    """(reasons to roll back, reasons the limits are not shown met yet, reasons they are met)."""
    bad: list[str] = []
    unclear: list[str] = []
    fine: list[str] = []
    if error_rate is not None and math.isfinite(error_rate.difference):
        er = error_rate
        limit = s.max_error_rate_increase
        text = (f"error rate {er.challenger:.2%} for the challenger against {er.champion:.2%} "
                f"({100 * er.difference:+.2f} points, interval {100 * er.low:+.2f} to {100 * er.high:+.2f}; "
                f"{er.n_challenger:,} and {er.n_champion:,} events)")
        if er.low > limit:
            bad.append(f"{text}: above the allowed rise of {_points(limit)}")
        elif not er.high <= limit:
            unclear.append(f"{text}: not yet shown within the allowed rise of {_points(limit)}")
        else:
            fine.append(f"{text}: within the allowed rise of {_points(limit)}")
    if latency_p95 is not None and math.isfinite(latency_p95.extra.get("ratio", math.nan)):
        lat = latency_p95
        lo, hi, r = lat.extra["ratio_low"], lat.extra["ratio_high"], lat.extra["ratio"]
        limit = 1 + s.max_latency_increase
        text = (f"p95 latency {lat.challenger:.4g} ms for the challenger against {lat.champion:.4g} ms "
                f"(x{r:.3f}, interval x{lo:.3f} to x{hi:.3f})")
        if math.isfinite(lo) and lo > limit:
            bad.append(f"{text}: above the allowed x{limit:.3g}")
        elif not (math.isfinite(hi) and hi <= limit):
            unclear.append(f"{text}: not yet shown within the allowed x{limit:.3g}")
        else:
            fine.append(f"{text}: within the allowed x{limit:.3g}")
    return bad, unclear, fine


def decide(watched: Difference, labels: tuple[int, int], settings: CompareSettings, *,
           error_rate: Difference | None = None, latency_p95: Difference | None = None) -> Verdict:
    """The verdict on ``watched`` (challenger minus champion), with ``labels`` the labelled rows of the
    champion and the challenger behind it (both the number of pairs when paired)."""
    s = settings
    higher = HIGHER_IS_BETTER.get(watched.metric, True)
    sign = 1.0 if higher else -1.0
    gain = sign * watched.difference
    g_low, g_high = sorted((sign * watched.low, sign * watched.high))
    scale = abs(watched.champion) if math.isfinite(watched.champion) and watched.champion != 0 else 1.0
    margin = s.margin * scale
    delta = s.min_difference * scale
    plan = labels_needed(watched, delta, s.alpha, s.power)
    # before the planned labels are in, a verdict needs p < 0.001 (Haybittle-Peto), so looking again and
    # again as labels arrive does not turn noise into a verdict; at the planned size, the plain interval
    info = min(1.0, plan.have / plan.needed) if plan.needed else 0.0
    z = sc_z(watched.confidence)
    widen = max(INTERIM_Z, z) / z if info < 1 else 1.0
    if widen > 1 and math.isfinite(gain):
        g_low, g_high = gain - (gain - g_low) * widen, gain + (g_high - gain) * widen
    short = sum(max(0, s.min_labels - n) for n in ((labels[0],) if watched.paired else labels))
    enough = short == 0
    has_interval = math.isfinite(g_low) and math.isfinite(g_high)
    name = METRIC_WORDS.get(watched.metric, watched.metric)
    evidence: dict[str, Any] = {
        "metric": watched.metric, "higher_is_better": higher, "difference": watched.to_dict(),
        "gain": gain if math.isfinite(gain) else None, "margin": margin, "min_difference": delta,
        "plan": plan.to_dict(), "labels": {"champion": labels[0], "challenger": labels[1], "paired": watched.paired},
        "min_labels": s.min_labels, "information": info,
        "boundary_z": z * widen,
        "decision_interval": [g_low, g_high] if math.isfinite(g_low) and math.isfinite(g_high) else None}
    ops_bad, ops_unclear, ops_fine = _operational(error_rate, latency_p95, s)
    said = describe(watched) if math.isfinite(watched.difference) else f"{name}: no labelled rows to compare yet"
    if widen > 1 and plan.needed:
        said += (f" [an early look: {plan.have:,} of the {plan.needed:,} planned labels, so the verdict asks for "
                 f"p < 0.001 (z = {z * widen:.2f}, Haybittle-Peto), not z = {z:.2f}]")

    worse = enough and has_interval and g_high < 0 and gain <= -margin
    if ops_bad or worse:
        reasons = list(ops_bad)
        if worse:
            reasons.insert(0, f"the challenger is worse: {said}; worse than the margin of {margin:.3g}")
        return Verdict("rollback", reasons, None, evidence)

    if not enough or not has_interval:
        need = _more(plan, short)
        counts = (f"{labels[0]:,} shared ids" if watched.paired else
                  f"{labels[0]:,} labels of the champion and {labels[1]:,} of the challenger")
        reasons = [f"too few labels for a verdict on {name}: {counts}, at least {s.min_labels:,} needed"
                   + ("" if watched.paired else " of each") if not enough else
                   f"no interval for {name} yet (too little spread in the labels)"]
        if math.isfinite(watched.difference):
            reasons.append(f"so far: {said}")
        reasons.append(_plan_words(plan, name, need, watched.paired))
        reasons += ops_unclear + ops_fine
        return Verdict("wait", reasons, need, evidence)

    if g_low > -margin:
        how = (f"the challenger is better: {said}" if g_low > 0 else
               f"the challenger is not worse by more than the margin of {margin:.3g} ({s.margin:g} of the "
               f"champion's {name}): {said}")
        if ops_unclear:
            return Verdict("wait", [how, *ops_unclear, *ops_fine], 0, evidence)
        return Verdict("promote", [how, *ops_fine], None, evidence)

    # the interval straddles the margin: more labels will tell
    if plan.remaining:
        need = plan.remaining
        reasons = [f"no verdict on {name} yet: {said}; the interval reaches beyond the margin of {margin:.3g}",
                   _plan_words(plan, name, need, watched.paired)]
    else:
        bound = -margin if gain > -margin else 0.0  # promote needs the low end above -margin; roll back, below 0
        total = labels_to_decide(watched, gain - bound, s.alpha, s.power)
        have = plan.have
        need = None if total is None else max(1, total - have)
        reasons = [f"no verdict on {name} yet: {said}; the interval reaches beyond the margin of {margin:.3g}",
                   f"the {plan.needed:,} labels planned to detect a difference of {delta:.3g} are in: the difference "
                   f"is smaller than that"
                   + (f"; about {need:,} more would tell it from the {'margin' if bound else 'champion'} "
                      f"if it stays at {_signed(watched.difference)}" if need is not None else
                      "; it sits on the margin, so no number of labels is sure to tell")]
    return Verdict("wait", [*reasons, *ops_unclear, *ops_fine], need, evidence)


def _more(plan: Plan, short: int) -> int | None:
    if plan.remaining is None:
        return short or None
    return max(plan.remaining, short)


def _plan_words(plan: Plan, name: str, need: int | None, paired: bool) -> str:
    unit = "shared ids (each label scores both versions)" if paired else "labels (both versions together)"
    if plan.needed is None:
        return (f"the labels needed cannot be planned yet (no spread in {name}'s data); "
                + (f"at least {need:,} more are needed" if need else "send more labels"))
    how = {"connor_mcnemar": "McNemar's test, from the share of ids the versions disagree on (Connor 1987)",
           "two_proportions": "the two-proportion formula at the current traffic split",
           "standard_error": "the standard error seen so far"}[plan.method]
    return (f"{plan.needed:,} labels are needed to detect a difference of {plan.delta:.3g} with power "
            f"{plan.power:g} at alpha {plan.alpha:g} ({how}); {plan.have:,} are in, {need:,} more {unit} to go"
            if need is not None else
            f"{plan.needed:,} labels are needed to detect a difference of {plan.delta:.3g} ({how})")
