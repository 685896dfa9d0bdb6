"""What to do about a model now: one recommendation from a decision tree that separates infrastructure,
version, data and model, with its reasons and actions.

Owners do not want another dashboard; they want the decision and why. The
decision is a pure function of what the monitor already knows, gathered by
``monitor/advice.py``; an incident's recommendation (``recommend_incident``)
walks the same tree from its alerts. The first step whose condition holds
decides (``TREE``, in order):

1. **fail open** when serving is failing (an error burst: ``serving_errors`` or
   the error-rate SLO at P0; a dependency down): serve the fallback first,
   nothing else can be judged while requests fail;
2. **scale or restart** when errors, latency or saturation are past their
   limits without a burst: the infrastructure, not the model;
3. **roll back** when the newest version is credibly worse than the one it
   replaced (or a version nobody expected is serving);
4. **fix the data** when a quality finding (a missing column, wrong types, a
   null spike, a sentinel, a declared bound broken, stale data) is open: it
   sits upstream of any drift or drop, and retraining on broken data teaches
   the model the breakage;
5. **wait** when the drift or drop began inside a holiday or one-off the
   config declares (``calendar:``), named;
6. **disable a feature** when one feature drifted, the rest hold, the model
   is hurt (labels, the review sample, the label-free estimate or an outcome
   say so) and there are too few labels to retrain on;
7. **retrain** when realised performance dropped beyond tolerance and there
   are enough labels on the population the model now sees: since drift began
   when the inputs drifted, else since performance dropped (the relationship
   changed, not the inputs). With costs configured, only when the expected
   loss over the horizon exceeds the cost of a retrain;
8. **investigate** when something moved but the evidence does not yet justify
   acting: drift with no labels to judge it, a label-free estimate or a proxy
   that dropped, a weak segment, a drop with too few labels, a business
   outcome that fell (``outcome_drop``);
9. **wait** when drift is all that moved and labelled performance (or the
   review sample) shows it harmless, which is said, so nobody retrains on a
   false alarm;
10. **no action** otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DECISIONS = ("no_action", "wait", "investigate", "retrain", "disable_feature", "fix_data", "rollback",
             "scale_or_restart", "fail_open")
"""Every decision, least pressing first: a model's advice is that of its most pressing version."""

TREE: tuple[tuple[str, str, str], ...] = (
    ("fail_open", "infrastructure", "serving is failing: an error burst (serving_errors or the error-rate SLO at "
                                    "P0) or a dependency down"),
    ("scale_or_restart", "infrastructure", "errors, latency or saturation past their limits (serving_errors, the "
                                           "latency or error-rate SLO, a latency or saturation rule)"),
    ("rollback", "version", "the newest version is credibly worse than the one before, or an unexpected version "
                            "serves"),
    ("fix_data", "data", "an open P0/P1 quality finding (or a firing quality alert) upstream of any drift or drop"),
    ("wait", "calendar", "the drift or drop began inside a declared holiday or one-off"),
    ("disable_feature", "data", "one feature drifted, the rest hold, the model is hurt, too few labels to retrain"),
    ("retrain", "model", "a credible realised drop with enough labels on the new population (and, with costs, "
                         "worth it)"),
    ("investigate", "model", "something moved without the evidence to act: drift without labels, an estimated or "
                             "outcome drop, a weak segment, a proxy, a drop with too few labels"),
    ("wait", "model", "drift that labelled performance (or the review sample) shows harmless"),
    ("no_action", "-", "nothing moved"),
)
"""The decision tree, in precedence order: (decision, what it is about, the condition). The first whose condition
holds decides; docs/PERFORMANCE.md shows it as a table."""


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
class OutcomeDrop:
    """A business outcome credibly below its baseline over consecutive windows (an ``outcome_drop`` finding)."""

    name: str
    measure: str  # rate (share of predictions with the outcome) | per_prediction (mean value)
    current: float
    baseline: float
    since: float  # start of the first window of the run
    windows: int
    p_value: float
    predictions: int  # in the newest window


@dataclass
class CalendarPeriod:
    """One declared holiday or one-off, resolved to epoch seconds (a recurring one: this year's)."""

    name: str
    start: float
    end: float


@dataclass
class ReviewEstimate:
    """The weighted (Horvitz-Thompson) estimate from a labelled review sample, and the baseline it is read
    against: evidence about performance where realised labels are too few."""

    metric: str
    value: float
    low: float
    high: float
    reviewed: int
    baseline: float


LOWER_IS_BETTER = frozenset({"mae", "mean_absolute_error", "rmse", "error_rate", "log_loss", "brier"})


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
    # business outcomes credibly down (outcome_drop findings of the newest performance window)
    outcome_drops: list[OutcomeDrop] = field(default_factory=list)
    review: ReviewEstimate | None = None  # the review sample's weighted estimate, when one was taken
    # firing alerts of the model's open incidents, as the incident shows them ({name, severity, role, status,
    # model_version, labels, summary, value}): serving errors, latency, dependencies, versions
    incident_alerts: list[dict[str, Any]] = field(default_factory=list)
    calendar: list[CalendarPeriod] = field(default_factory=list)  # declared periods that overlap the lookback
    # the circuit breakers SDK clients report for the model: "breaker on host" -> closed | half_open | open;
    # None when not known (an incident's recommendation has only its alerts)
    breakers: dict[str, str] | None = None


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


# -- what an alert says about the layers -------------------------------------------------------------------
QUALITY_CHECKS = frozenset({"missing_column", "all_null", "type_errors", "missing_values", "sentinel_value",
                            "declared_bound", "constant_column", "duplicate_ids", "future_timestamps", "no_events",
                            "stale_data", "slo_freshness"})
"""Findings and alerts that say the data is broken (or stopped), not that its distribution moved: fix them
upstream before judging (or retraining) the model on it. Not ``extra_column`` (a column the model does not
read) nor ``out_of_range`` (values beyond the reference's: a distribution change unless a declared bound
says they are impossible)."""

ERROR_ALERTS = frozenset({"serving_errors", "slo_error_rate"})
"""Requests failing."""

DEPENDENCY_ALERTS = frozenset({"dependency_down"})
"""Something the model calls is down: every request through it fails, so serve the fallback."""

INFRA_WORDS = ("latency", "saturation", "cpu", "memory", "gpu", "throughput", "queue")
"""An alert whose name says one of these (``slo_latency``, a user rule ``p99_latency``) is about the serving
infrastructure."""

MODEL_ALERTS = frozenset({"performance_drop", "estimated_performance_drop", "outcome_drop", "weak_segment",
                          "proxy_shift", "slo_quality", "prediction_drift", "target_drift"})
"""Symptoms of the model's quality: what to do about them needs labels (``GET /v1/models/{m}/advice``)."""


def _alert_text(a: dict[str, Any]) -> str:
    col = (a.get("labels") or {}).get("column")
    version = a.get("model_version")
    return (f"{a['name']}" + (f" on {col}" if col else "") + f" [{a.get('severity', '?')}]"
            + (f" (version {version})" if version else "") + (f": {a['summary']}" if a.get("summary") else ""))


def _is_infra(name: str) -> bool:
    return name in ERROR_ALERTS or any(w in name for w in INFRA_WORDS)


@dataclass
class Signals:
    """What each step of the tree looks at, from advice inputs or from an incident's alerts."""

    fail_open: list[str] = field(default_factory=list)  # why serving is failing
    infra: list[str] = field(default_factory=list)  # errors, latency, saturation without a burst
    rollback: bool = False
    bad_data: list[str] = field(default_factory=list)  # the quality problems, named
    bad_columns: list[str] = field(default_factory=list)
    calendar: str | None = None  # the declared period the movement began in
    disable: str | None = None  # the one feature to switch off
    retrain: bool = False
    investigate: bool = False
    harmless: bool = False  # drift shown harmless (labels or the review sample)


def decide(sig: Signals) -> tuple[str, int]:
    """The first step of ``TREE`` whose condition holds: (decision, its index in TREE)."""
    holds = (bool(sig.fail_open), bool(sig.infra), sig.rollback, bool(sig.bad_data), sig.calendar is not None,
             sig.disable is not None, sig.retrain, sig.investigate, sig.harmless, True)
    step = holds.index(True)
    return TREE[step][0], step


def _infra_signals(sig: Signals, alerts: list[dict[str, Any]]) -> None:
    """Infrastructure from firing alerts: a dependency down or an error burst (P0) fails open; other errors,
    latency and saturation call for scaling or a restart."""
    for a in alerts:
        name = a["name"]
        if name in DEPENDENCY_ALERTS or (name in ERROR_ALERTS and a.get("severity") == "P0"):
            sig.fail_open.append(_alert_text(a))
        elif _is_infra(name):
            sig.infra.append(_alert_text(a))


def _quality_signals(sig: Signals, alerts: list[dict[str, Any]]) -> None:
    for a in alerts:
        if a["name"] in QUALITY_CHECKS:
            sig.bad_data.append(_alert_text(a))
            col = (a.get("labels") or {}).get("column")
            if col and col not in sig.bad_columns:
                sig.bad_columns.append(col)


def _lasted(seconds: float) -> str:
    return f"{seconds / 86400:.1f} days" if seconds >= 86400 else f"{seconds / 3600:.1f} hours"


CALENDAR_GRACE = 86400.0
"""How long after a declared period its effects are still waited out (returns after a sale, a slow restart
after a holiday); drift that outlasts it is judged as any other."""


def _covering(periods: list[CalendarPeriod], began: float, now: float) -> CalendarPeriod | None:
    """The declared period the movement began in, while it (and its grace day) has not ended."""
    for p in sorted(periods, key=lambda p: p.start):
        if p.start <= began < p.end and now < p.end + CALENDAR_GRACE:
            return p
    return None


def _breaker_action(breakers: dict[str, str]) -> str:
    """Failing open as the model's own breakers stand: already open, ready to open, or none to open."""
    opened = sorted(k for k, s in breakers.items() if s == "open")
    if opened:
        return (f"The circuit breaker(s) {_list(opened, 3)} are open: their fallback already answers. Keep them "
                "open until what failed is restored (events it answers carry fallback: true).")
    if breakers:
        return (f"Open the circuit breaker(s) {_list(sorted(breakers), 3)} (now "
                f"{_list(sorted(set(breakers.values())), 3)}) so the fallback answers: lower the error rate they "
                "trip at, or restart the clients with the breaker forced open.")
    return ("No circuit breaker reports to Argus for this model: route the traffic to the fallback by hand, and "
            "wrap the model call in one (docs/SERVICE.md, \"Circuit breaker and fallback\") so it fails open "
            "by itself next time.")


def _ops_actions(sig: Signals, model: str, decision: str, breakers: dict[str, str] | None = None) -> list[str]:
    if decision == "fail_open":
        first = ("Fail open: let the circuit breaker serve the fallback (a rule, a cached answer or the previous "
                 "version) while serving is failing; without a breaker, route the traffic to the fallback by hand."
                 if breakers is None else _breaker_action(breakers))
        return [first,
                "Then restore what failed (the dependency, the serving process) and close the breaker once the "
                "error rate is back under its limit; `argus incidents list` shows when the alerts resolve."]
    return ["Scale out or restart the serving process: check its CPU, memory and GPU, its queue and the latency of "
            "each stage; roll the instances one at a time.",
            f"Watch the error rate and latency of {model} recover (GET /v1/models/{model}/status); if a new version "
            "went out just before, roll it back instead."]


def _data_actions(sig: Signals, model: str, version: str, checks: list[str]) -> list[str]:
    out = [f"Fix the data feeding the model first ({_list(checks, 3)}): the upstream pipeline, the schema, the "
           f"feature store. GET /v1/models/{model}/findings?version={version} has the evidence. Do not retrain on "
           "broken data."]
    if len(sig.bad_columns) == 1:
        out.append(f"Until it is fixed, consider serving without feature {sig.bad_columns[0]!r} (the rest of the "
                   "inputs hold) or failing open to the fallback.")
    out.append("Once the data is clean, advise again: drift or a drop that remains is the model's.")
    return out


# -- the advice ----------------------------------------------------------------------------------------------
def advise(inp: AdviceInputs) -> dict[str, Any]:
    """The decision, one plain paragraph, the reasons and the actions, with the numbers as evidence.

    Every fact found is a reason (what moved, since when, on how many labels); the actions are those of the
    one decision the tree reaches."""
    reasons: list[str] = []
    evidence: dict[str, Any] = {}
    acts: dict[str, list[str]] = {}
    lead: dict[str, list[str]] = {}  # the reason that decides a step, said first
    sig = Signals()
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
        lasted = max(inp.now - d.onset, 0.0)
        reasons.append(f"Drift since {_when(d.onset)} ({d.windows} window(s) in a row; drift for {_lasted(lasted)}): "
                       f"{'; '.join(what) or 'inputs'}." + where)
        evidence["drift"] = {"onset": d.onset, "windows": d.windows, "features": d.features,
                             "multivariate": d.multivariate, "prediction": d.prediction, "segments": d.segments,
                             "lasted_s": lasted}
    elif inp.drift_ended is not None:
        evidence["drift"] = {"ended": inp.drift_ended}

    # 1-2. infrastructure: the incidents' firing alerts
    alerts = [a for a in inp.incident_alerts if a.get("model_version") in (None, "", inp.version)]
    _infra_signals(sig, alerts)
    if sig.fail_open:
        lead["fail_open"] = [f"Serving is failing: {'; '.join(sig.fail_open)}."]
    if sig.infra:
        lead["scale_or_restart"] = [f"Serving is degraded: {'; '.join(sig.infra)}."]
    for k in ("fail_open", "scale_or_restart"):
        acts[k] = _ops_actions(sig, inp.model, k, inp.breakers)
    if alerts:
        evidence["incident_alerts"] = alerts

    # 3. the version
    if inp.rollback is not None:
        sig.rollback = True
        prev = inp.rollback.get("previous")
        why = " ".join(inp.rollback.get("reasons", [])).strip()
        lead["rollback"] = [f"Version {inp.version} is worse than {prev}: {why}" + ("" if why.endswith(".") else ".")]
        acts["rollback"] = [f"Roll back to version {prev}; keep {inp.version}'s traffic in shadow to gather evidence."]
        evidence["rollback"] = inp.rollback
    else:
        unexpected = [a for a in alerts if a["name"] == "unexpected_version"]
        if unexpected:
            sig.rollback = True
            lead["rollback"] = [f"A version nobody expected is serving: {_alert_text(unexpected[0])}."]
            acts["rollback"] = ["Roll back to the expected version (the config's versions pinned expected: true), "
                                "or pin this one if it was meant to ship."]

    # 4. the data: open quality findings, firing quality alerts
    quality = sorted({f["check"] for f in inp.open_findings if f["check"] in QUALITY_CHECKS})
    for f in inp.open_findings:
        if f["check"] in QUALITY_CHECKS and f["column"] and f["column"] not in sig.bad_columns:
            sig.bad_columns.append(f["column"])
    sig.bad_data = list(quality)
    _quality_signals(sig, [a for a in alerts if a["name"] not in quality])
    if sig.bad_data:
        upstream = " upstream of the drift" if d is not None else ""
        lead["fix_data"] = [f"The data is broken{upstream}: {_list(sig.bad_data, 4)} (fix it before judging or "
                            "retraining the model)."]
        acts["fix_data"] = _data_actions(sig, inp.model, inp.version,
                                         quality or [a.split(" ", 1)[0] for a in sig.bad_data])

    # 7-8. the model: a realised drop retrains when enough labels exist on the new population
    hurt: list[str] = []  # what says the model is hurt, for disable_feature

    def retrain_window(drop: Drop) -> tuple[float, str]:
        # drift that began within the first dropped window (an hour that starts clean and drifts at :32)
        # explains the drop as well as drift that began before it
        if d is not None and d.onset < drop.since + max(drop.window, 1e-9):
            return d.onset, "since drift began"
        if d is not None:
            return drop.since, (f"since performance dropped, before the input drift found from {_when(d.onset)}: "
                                "the drift does not explain the start of the drop")
        return drop.since, "since performance dropped (no input drift explains it: the relationship changed)"

    few_labels = False
    if inp.realised_drop is not None:
        drop = inp.realised_drop
        start, why = retrain_window(drop)
        have = inp.labels_since.get(start, 0)
        reasons.append(f"Realised {drop.metric} fell to {drop.current:.4g} from {drop.baseline:.4g} "
                       f"(since {_when(drop.since)}, {drop.labels} labels in the newest window).")
        evidence["realised_drop"] = drop.__dict__
        evidence["retrain_window"] = {"start": start, "labels": have, "needed": inp.min_retrain_labels}
        hurt.append(f"realised {drop.metric} fell")
        loss = _expected_loss(inp, drop)
        if have < inp.min_retrain_labels:
            few_labels = sig.investigate = True
            reasons.append(f"Only {have} labelled predictions {why} ({_when(start)}); {inp.min_retrain_labels} "
                           "are needed to retrain on them.")
            acts["investigate"] = [f"Label more predictions from {_when(start)} on (`argus sample` picks which), "
                                   "then retrain on that window."]
        elif loss is not None and inp.retrain_cost is not None and loss < inp.retrain_cost:
            sig.investigate = True
            reasons.append(f"Keeping the model costs about {loss:.4g} over {inp.horizon_days:g} days, less than a "
                           f"retrain ({inp.retrain_cost:.4g}).")
            acts["investigate"] = ["Retraining does not pay yet: watch the drop; retrain with the next scheduled one."]
            evidence["expected_loss"] = loss
        else:
            sig.retrain = True
            acts["retrain"] = [f"Retrain on data {why}: from {_when(start)}, with its {have} labelled predictions"
                               + (" (earlier data shows a population the model no longer sees)." if d is not None
                                  else ".")]
            if loss is not None:
                evidence["expected_loss"] = loss
                if inp.retrain_cost is not None:
                    reasons.append(f"Keeping the model costs about {loss:.4g} over {inp.horizon_days:g} days, more "
                                   f"than a retrain ({inp.retrain_cost:.4g}).")
    inv = acts.setdefault("investigate", [])
    ok = inp.judged_ok
    held = d is not None and _after(ok, d.onset) and inp.realised_drop is None

    # the review sample: weighted evidence where realised labels are scarce
    rv = inp.review
    review_says: str | None = None  # "drop" | "holds"
    if rv is not None and inp.realised_drop is None and not held:
        lower = rv.metric in LOWER_IS_BETTER
        worse = rv.low > rv.baseline if lower else rv.high < rv.baseline
        review_says = "drop" if worse else "holds"
        reasons.append(f"The review sample's weighted estimate of {rv.metric} is {rv.value:.4g} ({rv.low:.4g} to "
                       f"{rv.high:.4g}, {rv.reviewed} reviewed) against a baseline of {rv.baseline:.4g}: "
                       + ("credibly worse, the drop is real." if worse else "no sign of a drop."))
        evidence["review"] = rv.__dict__
        if worse:
            hurt.append(f"the review sample's {rv.metric} is worse")
            sig.investigate = True
            inv.append("The review sample confirms a drop: label more recent predictions (`argus sample`, then "
                       "`argus labels import`) until the retrain window has enough labels, then retrain on it.")

    if inp.estimated_drop is not None:
        e = inp.estimated_drop
        reasons.append(f"Without labels, the label-free estimate of {e.metric} fell to {e.current:.4g} from "
                       f"{e.baseline:.4g} (since {_when(e.since)}).")
        evidence["estimated_drop"] = e.__dict__
        if review_says == "holds":
            reasons.append("The review sample outranks the label-free estimate: no drop is confirmed.")
        elif inp.realised_drop is None:
            hurt.append(f"the label-free estimate of {e.metric} fell")
            sig.investigate = True
            inv.append("Label a sample of recent predictions (`argus sample`, then `argus labels import`) to "
                       "confirm the drop before retraining.")

    for o in inp.outcome_drops:
        hurt.append(f"outcome {o.name} fell")
        sig.investigate = True
        measure = "share of predictions with it" if o.measure == "rate" else "per prediction"
        reasons.append(f"Business outcome {o.name} ({measure}) fell to {o.current:.4g} from {o.baseline:.4g}: "
                       f"{o.windows} window(s) in a row since {_when(o.since)} (p {o.p_value:.2g}; {o.predictions} "
                       "predictions in the newest).")
        evidence.setdefault("outcome_drops", []).append(o.__dict__)
    if inp.outcome_drops:
        first = min(o.since for o in inp.outcome_drops)
        if ok is not None and ok.get("start", ok["end"]) >= first - 1e-9 and inp.realised_drop is None:
            reasons.append("The model's labelled performance holds over the same period: the outcome's cause is "
                           "likely outside the model (prices, traffic mix, the product).")
            inv.append("Look outside the model first: what else changed for this outcome (pricing, the page, the "
                       "traffic source); the model's accuracy holds.")
        else:
            inv.append(f"Compare the outcome with the model's quality (GET /v1/models/{inp.model}/performance): a "
                       "drop in both is the model's; label recent predictions if there are too few labels.")

    if d is not None and inp.realised_drop is None:
        if held:
            assert ok is not None
            sig.harmless = True
            reasons.append(f"Performance holds on {ok['labels']} labels after the drift began "
                           f"(window {_when(ok.get('start', ok['end']))} to {_when(ok['end'])}): the drift has "
                           "not hurt the model.")
        elif review_says == "holds":
            sig.harmless = True
        else:
            sig.investigate = True
            reasons.append("No labelled window wholly after the drift began to tell whether it hurts.")
            inv.append("Check the drifted features' upstream sources; label a sample of recent "
                       "predictions (`argus sample`) to measure the effect.")
        acts["wait"] = ["No retrain needed. If this population is the new normal, rebase the reference on recent "
                        "data (`argus baseline`, then `argus reference set`) so the drift findings close; else keep "
                        "watching the drifted features."]
    if inp.weak_segments:
        sig.investigate = True
        reasons.append(f"Weak segment(s): {_list(inp.weak_segments)}.")
        inv.append(f"Look at segment(s) {_list(inp.weak_segments, 3)}: their error differs from the rest.")
    if inp.proxy_shifts:
        if (ok is not None and (d is None or _after(ok, d.onset))) or review_says == "holds":
            # proxies stand in for labels; where labels (or reviews) judged the same period, they outrank them
            reasons.append(f"Label-free proxies moved ({_list(inp.proxy_shifts)}), as they do when inputs "
                           f"shift; {'the review sample' if review_says == 'holds' else 'labelled performance'} "
                           "outranks them.")
        else:
            sig.investigate = True
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
        if not sig.harmless:  # drift findings of a drift shown harmless are that drift, said above
            sig.investigate = True
            if not inv:
                inv.append(f"Look at the open findings: GET /v1/models/{inp.model}/findings?version={inp.version} "
                           "has the evidence.")

    # 6. one feature broken, the rest hold: switch it off until there are labels to retrain
    if (d is not None and len(d.features) == 1 and hurt and not sig.retrain and not held
            and (few_labels or inp.realised_drop is None) and set(d.residual_features) <= set(d.features)):
        sig.disable = d.features[0]
        lead["disable_feature"] = [f"Only feature {d.features[0]!r} drifted and the rest hold, while "
                                   f"{'; '.join(hurt)}."]
        acts["disable_feature"] = [
            f"Disable feature {d.features[0]!r}: serve with it set to its reference value (or the model's missing-"
            "value path), or fail open to the fallback, and check its upstream source.",
            f"Label predictions since {_when(d.onset)} (`argus sample`) to retrain with the new distribution; "
            "re-enable the feature after the retrain."]
        evidence["disable_feature"] = d.features[0]

    # 5. the calendar: a declared holiday or one-off the movement began in
    began = [t for t in (d.onset if d is not None else None,
                         inp.realised_drop.since if inp.realised_drop is not None else None,
                         inp.estimated_drop.since if inp.estimated_drop is not None else None,
                         *(o.since for o in inp.outcome_drops)) if t is not None]
    if began:
        period = _covering(inp.calendar, min(began), inp.now)
        if period is not None:
            sig.calendar = period.name
            lead["wait"] = [f"It began during {period.name!r} ({_when(period.start)} to {_when(period.end)}), a "
                            "period the config declares: expected to pass."]
            acts["wait_calendar"] = [f"Wait until {period.name!r} is over (until {_when(period.end)}, and a day "
                                     "after), then advise again; do not retrain on this period's data.",
                                     "If it persists past then, it is not the holiday: the advice will say what "
                                     "to do."]
            evidence["calendar"] = period.__dict__
        else:
            outlasted = [p for p in inp.calendar if p.start <= min(began) < p.end]
            if outlasted:
                reasons.append(f"It began during {outlasted[0].name!r}, which ended {_when(outlasted[0].end)}: it "
                               "outlasted it.")

    decision, step = decide(sig)
    if decision == "wait" and TREE[step][1] == "calendar":
        actions = acts["wait_calendar"]
    elif decision == "wait":
        actions = acts["wait"]
        if inp.realised_drop is None and not held and review_says == "holds":
            reasons.append("The review sample shows the drift harmless.")
        lead.pop("wait", None)
    else:
        actions = acts.get(decision, [])
    if decision == "investigate" and not actions:
        actions = [f"Look at what moved: GET /v1/models/{inp.model}/findings?version={inp.version} and "
                   f"/performance have the evidence; label a sample of recent predictions (`argus sample`) to "
                   "judge it."]
    reasons = lead.get(decision, []) + reasons
    if inp.compare_skipped is not None:
        reasons.append(f"Not compared with version {inp.compare_skipped} this time (a performance pass held the "
                       f"store); GET /v1/models/{inp.model}/advice compares them.")
    if decision == "no_action" and not reasons:
        reasons.append(f"No drift, no performance drop and no weak segment in the last {inp.lookback / 86400:g} days.")
    evidence["tree_step"] = step + 1
    summary = {"no_action": "No action needed.", "wait": "Wait.", "investigate": "Investigate.",
               "retrain": "Retrain.", "disable_feature": f"Disable feature {sig.disable!r}.",
               "fix_data": "Fix the data.", "rollback": "Roll back.", "scale_or_restart": "Scale or restart.",
               "fail_open": "Fail open to the fallback."}[decision]
    return {"model": inp.model, "version": inp.version, "decision": decision,
            "summary": " ".join([summary, *reasons]), "reasons": reasons, "actions": actions,
            "evidence": evidence, "generated_at": inp.now, "lookback_s": inp.lookback}


def recommend_incident(model: str, alerts: list[dict[str, Any]], causes: list[dict[str, Any]]) -> dict[str, Any]:
    """An incident's one recommendation, by the same tree as ``advise``, from its alerts (the firing ones;
    once every alert resolved, all of them: what the incident was about) and its ranked causes.

    The incident knows alerts, not labels: where the tree needs labels (a drift or a drop: retrain, wait or
    investigate) it says investigate and points at the model's advice, which has them."""
    live = [a for a in alerts if a.get("status") == "firing"] or list(alerts)
    by_id = {a["id"]: a for a in alerts if "id" in a}
    root = by_id.get(causes[0]["alert_id"]) if causes else None
    sig = Signals()
    _infra_signals(sig, live)
    sig.rollback = any(a["name"] == "unexpected_version" for a in live)
    _quality_signals(sig, live)
    drifted = sorted({(a.get("labels") or {}).get("column") for a in live if a["name"] == "drift"} - {None})
    symptoms = [a for a in live if a["name"] in MODEL_ALERTS]
    hurt = [a for a in symptoms if a["name"] in ("performance_drop", "estimated_performance_drop", "outcome_drop",
                                                 "slo_quality")]
    if len(drifted) == 1 and hurt and not any(a["name"] in ("multivariate_drift", "correlation_change")
                                              for a in live):
        sig.disable = drifted[0]
    if drifted or symptoms or not live:
        sig.investigate = True
    elif live:
        sig.investigate = True  # an alert the tree has no branch for (a user rule): look at it
    decision, _ = decide(sig)
    root_text = f" Likely root cause: {_alert_text(root)}." if root is not None else ""
    advice = f"GET /v1/models/{model}/advice (`argus advise --model {model}`)"
    if decision in ("fail_open", "scale_or_restart"):
        lines = sig.fail_open if decision == "fail_open" else sig.infra
        summary = (("Fail open to the fallback: serving is failing: " if decision == "fail_open" else
                    "Scale or restart: serving is degraded: ") + "; ".join(lines) + ".")
        actions = _ops_actions(sig, model, decision)
    elif decision == "rollback":
        a = next(a for a in live if a["name"] == "unexpected_version")
        summary = f"Roll back: a version nobody expected is serving ({_alert_text(a)})."
        actions = ["Roll back to the expected version (the config's versions pinned expected: true), or pin this "
                   "one if it was meant to ship."]
    elif decision == "fix_data":
        summary = f"Fix the data: {_list(sig.bad_data, 4)}."
        checks = sorted({a["name"] for a in live if a["name"] in QUALITY_CHECKS})
        version = next((a.get("model_version") for a in live if a["name"] in QUALITY_CHECKS), "") or ""
        actions = _data_actions(sig, model, version, checks)
    elif decision == "disable_feature":
        summary = (f"Disable feature {sig.disable!r}: it alone drifted while "
                   f"{', '.join(sorted({a['name'] for a in hurt}))} fired.")
        actions = [f"Disable feature {sig.disable!r}: serve with it set to its reference value (or the model's "
                   "missing-value path), or fail open to the fallback, and check its upstream source.",
                   f"Then {advice} says when there are labels enough to retrain."]
    else:
        what = ", ".join(sorted({a["name"] for a in live})) or "nothing firing"
        summary = f"Investigate: {what}."
        actions = [f"{advice} weighs the labels, the review sample and the calendar: retrain (on which window), "
                   "wait or investigate further."]
    return {"decision": decision, "summary": summary + root_text, "actions": actions}
