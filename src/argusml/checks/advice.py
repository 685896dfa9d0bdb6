"""What to do about a model now: no action, investigate, retrain or roll back.

Owners do not want another dashboard; they want the decision and why. The
decision is a pure function of what the monitor already knows, gathered by
``monitor/advice.py``:

* **roll back** when the newest version is credibly worse than the one it
  replaced (the champion/challenger verdict on their overlap);
* **retrain** when realised performance dropped beyond tolerance and there are
  enough labels on the population the model now sees: since drift began when
  the inputs drifted, else since performance dropped (the relationship
  changed, not the inputs). With costs configured, only when the expected
  loss over the horizon exceeds the cost of a retrain;
* **investigate** when something moved but the evidence does not yet justify
  acting: drift with no labels to judge it, a label-free estimate or a proxy
  that dropped, a weak segment, a drop with too few labels to retrain on;
* **no action** otherwise — including drift that labelled performance shows
  to be harmless, which is said, so nobody retrains on a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DECISIONS = ("no_action", "investigate", "retrain", "rollback")


@dataclass
class DriftRun:
    """The run of drifted windows that reaches the newest checked window."""

    onset: float  # start of its first window
    windows: int
    features: list[str]  # drifted features, most often drifted first
    multivariate: bool  # the joint distribution changed in some window of the run
    residual_features: list[str] = field(default_factory=list)  # where the reconstruction error grew most
    prediction: bool = False  # the prediction's distribution drifted
    segments: list[str] = field(default_factory=list)  # segments whose windows drifted, most often first


@dataclass
class Drop:
    """A credible performance drop (realised, or label-free estimated)."""

    metric: str
    current: float
    baseline: float
    since: float  # start of the first window of the run of dropped windows
    labels: int  # labels in the newest dropped window
    window: float = 0.0  # length of the windows it was judged on (s)


@dataclass
class AdviceInputs:
    model: str
    version: str
    now: float
    lookback: float
    drift: DriftRun | None
    drift_ended: float | None  # end of the newest drifted window, when drift is no longer current
    realised_drop: Drop | None
    estimated_drop: Drop | None
    judged_ok: dict[str, Any] | None  # the newest judged window when it is not degraded: {"end", "labels", "metrics"}
    weak_segments: list[str]
    proxy_shifts: list[str]
    labels_since: dict[float, int]  # labelled predictions since each candidate start (onset, drop start)
    predictions_per_day: float
    rollback: dict[str, Any] | None  # {"previous", "reasons", ...} when the comparison says roll back
    min_retrain_labels: int
    retrain_cost: float | None
    error_cost: float | None
    horizon_days: float
    compare_skipped: str | None = None  # the previous version, when comparing with it had to be skipped
    # the P0/P1 findings /status shows as open (the version's newest closed window): {check, column, severity,
    # window_start, window_end}. Advice never says "no action" over them
    open_findings: list[dict[str, Any]] = field(default_factory=list)


DRIFT_CHECKS = ("drift", "prediction_drift", "target_drift", "multivariate_drift", "correlation_change")
"""Findings the drift run already describes: an open one adds no action of its own."""


def _after(ok: dict[str, Any] | None, onset: float) -> bool:
    """A judgement that performance holds vouches for the drifted period only if its whole window lies after
    the onset: an hour that is half clean can hide a drop in its drifted half."""
    return ok is not None and ok.get("start", ok["end"]) >= onset - 1e-9


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _list(names: list[str], k: int = 5) -> str:
    shown = ", ".join(names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")


def _expected_loss(inp: AdviceInputs, drop: Drop) -> float | None:
    """Cost of keeping the model over the horizon: the metric's loss per prediction times volume.

    Only for metrics whose drop is a per-prediction error (accuracy, MAE);
    for a ranking metric (ROC AUC) a drop has no per-prediction price."""
    if inp.error_cost is None:
        return None
    per_prediction = {"accuracy": lambda d: d.baseline - d.current, "mae": lambda d: d.current - d.baseline,
                      "error_rate": lambda d: d.current - d.baseline}.get(drop.metric)
    if per_prediction is None:
        return None
    return max(per_prediction(drop), 0.0) * inp.error_cost * inp.predictions_per_day * inp.horizon_days


def advise(inp: AdviceInputs) -> dict[str, Any]:
    """The decision, one plain paragraph, the reasons and the actions, with the numbers as evidence."""
    reasons: list[str] = []
    actions: list[str] = []
    evidence: dict[str, Any] = {}
    d = inp.drift
    if d is not None:
        what = []
        if d.features:
            what.append(f"features {_list(d.features)}")
        if d.multivariate:
            what.append("the joint distribution of the features"
                        + (f" (most in {_list(d.residual_features, 3)})" if d.residual_features else ""))
        if d.prediction:
            what.append("the predictions")
        where = f" Drifted most in segment(s) {_list(d.segments, 3)}." if d.segments else ""
        reasons.append(f"Drift since {_when(d.onset)} ({d.windows} window(s) in a row): {'; '.join(what) or 'inputs'}."
                       + where)
        evidence["drift"] = {"onset": d.onset, "windows": d.windows, "features": d.features,
                             "multivariate": d.multivariate, "prediction": d.prediction, "segments": d.segments}
    elif inp.drift_ended is not None:
        evidence["drift"] = {"ended": inp.drift_ended}

    def retrain_window(drop: Drop) -> tuple[float, str]:
        # drift that began within the first dropped window (an hour that starts clean and drifts at :32)
        # explains the drop as well as drift that began before it
        if d is not None and d.onset < drop.since + max(drop.window, 1e-9):
            return d.onset, "since drift began"
        if d is not None:
            return drop.since, (f"since performance dropped, before the input drift found from {_when(d.onset)}: "
                                "the drift does not explain the start of the drop")
        return drop.since, "since performance dropped (no input drift explains it: the relationship changed)"

    decision = "no_action"
    if inp.rollback is not None:
        decision = "rollback"
        prev = inp.rollback.get("previous")
        why = " ".join(inp.rollback.get("reasons", [])).strip()
        reasons.insert(0, f"Version {inp.version} is worse than {prev}: {why}" + ("" if why.endswith(".") else "."))
        actions.append(f"Roll back to version {prev}; keep {inp.version}'s traffic in shadow to gather evidence.")
        evidence["rollback"] = inp.rollback
    elif inp.realised_drop is not None:
        drop = inp.realised_drop
        start, why = retrain_window(drop)
        have = inp.labels_since.get(start, 0)
        reasons.append(f"Realised {drop.metric} fell to {drop.current:.4g} from {drop.baseline:.4g} "
                       f"(since {_when(drop.since)}, {drop.labels} labels in the newest window).")
        evidence["realised_drop"] = drop.__dict__
        evidence["retrain_window"] = {"start": start, "labels": have, "needed": inp.min_retrain_labels}
        loss = _expected_loss(inp, drop)
        if have < inp.min_retrain_labels:
            decision = "investigate"
            reasons.append(f"Only {have} labelled predictions {why} ({_when(start)}); {inp.min_retrain_labels} "
                           "are needed to retrain on them.")
            actions.append(f"Label more predictions from {_when(start)} on (`argus sample` picks which), then "
                           "retrain on that window.")
        elif loss is not None and inp.retrain_cost is not None and loss < inp.retrain_cost:
            decision = "investigate"
            reasons.append(f"Keeping the model costs about {loss:.4g} over {inp.horizon_days:g} days, less than a "
                           f"retrain ({inp.retrain_cost:.4g}).")
            actions.append("Retraining does not pay yet: watch the drop; retrain with the next scheduled one.")
            evidence["expected_loss"] = loss
        else:
            decision = "retrain"
            actions.append(f"Retrain on data {why}: from {_when(start)}, with its {have} labelled predictions"
                           + (" (earlier data shows a population the model no longer sees)." if d is not None
                              else "."))
            if loss is not None:
                evidence["expected_loss"] = loss
                if inp.retrain_cost is not None:
                    reasons.append(f"Keeping the model costs about {loss:.4g} over {inp.horizon_days:g} days, more "
                                   f"than a retrain ({inp.retrain_cost:.4g}).")
    if decision in ("no_action",):
        if inp.estimated_drop is not None:
            e = inp.estimated_drop
            decision = "investigate"
            reasons.append(f"Without labels, the label-free estimate of {e.metric} fell to {e.current:.4g} from "
                           f"{e.baseline:.4g} (since {_when(e.since)}).")
            actions.append("Label a sample of recent predictions (`argus sample`, then `argus labels import`) to "
                           "confirm the drop before retraining.")
            evidence["estimated_drop"] = e.__dict__
        if d is not None:
            ok = inp.judged_ok
            if _after(ok, d.onset) and decision == "no_action":
                assert ok is not None
                reasons.append(f"Performance holds on {ok['labels']} labels after the drift began "
                               f"(window {_when(ok.get('start', ok['end']))} to {_when(ok['end'])}): the drift has "
                               "not hurt the model.")
                actions.append("No retrain needed. If this population is the new normal, rebase the reference on "
                               "recent data (`argus baseline`, then `argus reference set`) so the drift findings "
                               "close; else keep watching the drifted features.")
            else:
                decision = "investigate"
                if not _after(ok, d.onset):
                    reasons.append("No labelled window wholly after the drift began to tell whether it hurts.")
                    actions.append("Check the drifted features' upstream sources; label a sample of recent "
                                   "predictions (`argus sample`) to measure the effect.")
        if inp.weak_segments:
            decision = "investigate" if decision == "no_action" else decision
            reasons.append(f"Weak segment(s): {_list(inp.weak_segments)}.")
            actions.append(f"Look at segment(s) {_list(inp.weak_segments, 3)}: their error differs from the rest.")
        if inp.proxy_shifts:
            ok = inp.judged_ok
            if ok is not None and (d is None or _after(ok, d.onset)):
                # proxies stand in for labels; where labels judged the same period, they outrank them
                reasons.append(f"Label-free proxies moved ({_list(inp.proxy_shifts)}), as they do when inputs "
                               "shift; labelled performance outranks them.")
            else:
                decision = "investigate" if decision == "no_action" else decision
                reasons.append(f"Label-free proxies moved: {_list(inp.proxy_shifts)}.")
    if inp.open_findings:
        # what /status lists as open is in the advice, and outranks "no action"
        by: dict[tuple[str, str], list[str]] = {}
        for f in sorted(inp.open_findings, key=lambda f: (f["severity"], f["check"], f["column"] or "")):
            cols = by.setdefault((f["severity"], f["check"]), [])
            if (f["column"] or "the data") not in cols:
                cols.append(f["column"] or "the data")
        shown = "; ".join(f"{sev} {check} on {_list(cols, 3)}" for (sev, check), cols in by.items())
        end = max(f["window_end"] for f in inp.open_findings)
        reasons.append(f"Open finding(s) in the newest window (ending {_when(end)}): {shown}.")
        evidence["open_findings"] = inp.open_findings
        if decision == "no_action":
            decision = "investigate"
        quality = sorted({check for _, check in by if check not in DRIFT_CHECKS})
        if quality:
            actions.append(f"Check the data feeding the model ({_list(quality, 3)}): "
                           f"GET /v1/models/{inp.model}/findings?version={inp.version} has the evidence.")
    if inp.compare_skipped is not None:
        reasons.append(f"Not compared with version {inp.compare_skipped} this time (a performance pass held the "
                       f"store); GET /v1/models/{inp.model}/advice compares them.")
    if decision == "no_action" and not reasons:
        reasons.append(f"No drift, no performance drop and no weak segment in the last {inp.lookback / 86400:g} days.")
    summary = {"no_action": "No action needed.", "investigate": "Investigate.", "retrain": "Retrain.",
               "rollback": "Roll back."}[decision]
    return {"model": inp.model, "version": inp.version, "decision": decision,
            "summary": " ".join([summary, *reasons]), "reasons": reasons, "actions": actions,
            "evidence": evidence, "generated_at": inp.now, "lookback_s": inp.lookback}
