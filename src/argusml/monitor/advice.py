"""Gather what the monitor knows about a model for ``checks/advice.py``.

Everything comes from the store's closed windows, performance windows and
findings over the lookback (``advice.lookback``, 7 days by default), per
version, plus the champion/challenger comparison of the newest version with
the one before it. Reading, not computing: the checks already ran when the
windows closed, so advice is cheap enough for every ``/status``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from argusml.checks.advice import (
    DECISIONS,
    AdviceInputs,
    CalendarPeriod,
    DriftRun,
    Drop,
    OutcomeDrop,
    ReviewEstimate,
    advise,
)
from argusml.checks.verdict import WindowVerdict
from argusml.monitor.state import ModelState
from argusml.schema import InputError, Role
from argusml.store import Store

log = logging.getLogger("argusml.advice")

OVERALL = "*"
MAX_ROWS = 100_000
PER_PREDICTION = ("accuracy", "mae", "error_rate")
"""Metrics whose drop prices per prediction: preferred when several dropped, so costs can be compared."""


def _drift_run(store: Store, state: ModelState, version: str, since: float, findings: list[dict[str, Any]]
               ) -> tuple[DriftRun | None, float | None]:
    rows = store.windows(state.name, since=since, version=version, segment=OVERALL, granularity=state.config.window,
                         closed=True, limit=MAX_ROWS)
    read = [(r, WindowVerdict.loads(r.get("verdict"))) for r in rows]
    verdicts = [(r, v) for r, v in read if v is not None and v.judged]
    verdicts.sort(key=lambda t: -t[0]["start_ts"])
    run = []
    for r, v in verdicts:
        if not v.drifted:
            break
        run.append((r, v))
    if not run:
        ended = next((r["end_ts"] for r, v in verdicts if v.drifted), None)
        return None, ended
    specs = state.ref(version).reference.specs
    counts: Counter[str] = Counter()
    prediction = False
    for _, v in run:
        for c in v.drifted_columns:
            sp = specs.get(c)
            if sp is not None and sp.role is Role.PREDICTION:
                prediction = True
            elif sp is None or sp.role is Role.FEATURE:
                counts[c] += 1
    onset = run[-1][0]["start_ts"]
    residual: Counter[str] = Counter()
    for f in findings:
        if f["check_name"] == "multivariate_drift" and f["window_start"] >= onset and f["segment"] == OVERALL:
            ev = orjson.loads(f["evidence"]) if f.get("evidence") else {}
            for c in ((ev.get("reconstruction") or {}).get("columns") or [])[:3]:
                residual[c["feature"].split("=", 1)[0]] += 1
    segments: Counter[str] = Counter()
    if state.config.segments:
        # which sub-populations carry the drift: segment windows of the run with a drifted feature
        for r in store.windows(state.name, since=onset, version=version, granularity=state.config.window,
                               closed=True, limit=MAX_ROWS):
            seg = WindowVerdict.loads(r.get("verdict")) if r["segment"] != OVERALL else None
            if seg is not None and any(c in counts for c in seg.drifted_columns):
                segments[r["segment"]] += 1
    return DriftRun(onset=onset, windows=len(run), features=[c for c, _ in counts.most_common()],
                    multivariate=any(v.multivariate.drifted for _, v in run),
                    residual_features=[c for c, _ in residual.most_common()], prediction=prediction,
                    segments=[s for s, _ in segments.most_common()]), None


def _drop_of(findings: list[dict[str, Any]], check: str, start: float, since: float, g: float) -> Drop | None:
    """The drop a window's findings of ``check`` describe (the per-prediction metric when there is one)."""
    mine = [f for f in findings if f["check_name"] == check and f["window_start"] == start
            and f["segment"] == OVERALL and f["granularity"] == g]
    if not mine:
        return None
    mine.sort(key=lambda f: (PER_PREDICTION.index(f["column_name"]) if f["column_name"] in PER_PREDICTION
                             else len(PER_PREDICTION), f["column_name"] or ""))
    ev = orjson.loads(mine[0]["evidence"]) if mine[0].get("evidence") else {}
    cur, base = ev.get("current") or {}, ev.get("baseline") or {}
    if cur.get("value") is None or base.get("value") is None:
        return None
    return Drop(metric=ev.get("metric") or mine[0]["column_name"], current=float(cur["value"]),
                baseline=float(base["value"]), since=since, labels=int(cur.get("n") or 0), window=g)


def _realised(perf: dict[float, list[dict[str, Any]]], findings: list[dict[str, Any]], min_labels: int
              ) -> tuple[Drop | None, dict[str, Any] | None]:
    """The realised drop, else the newest judgement that performance holds, read at every granularity.

    A drop is judged where it shows: a bad ten minutes read from an hourly
    window, or a bad hour from a daily one, is diluted by the clean rest. So the
    finest granularity whose newest judged window is degraded gives the drop,
    and "performance holds" needs every granularity's newest judged window to
    be ok (the latest-starting of them, with its start, is what the advice
    cites: a day that began before the drift cannot vouch for it, its last
    hour can)."""
    drop = None
    ok: dict[str, Any] | None = None
    degraded = False
    for g in sorted(perf):
        judged = [r for r in perf[g] if r["labels"] >= min_labels and r["status"] in ("ok", "degraded")]
        if not judged:
            continue
        newest = judged[0]
        if newest["status"] != "degraded":
            if ok is None or newest["start_ts"] > ok["start"]:  # the latest-starting: the most recent evidence
                ok = {"start": newest["start_ts"], "end": newest["end_ts"], "labels": newest["labels"],
                      "granularity": g,
                      "metrics": orjson.loads(newest["metrics"]) if newest.get("metrics") else {}}
            continue
        degraded = True
        if drop is not None:
            continue
        first = newest
        for r in judged[1:]:
            if r["status"] != "degraded":
                break
            first = r
        drop = _drop_of(findings, "performance_drop", newest["start_ts"], first["start_ts"], g)
    return drop, (None if degraded else ok)


OPEN_LOOKBACK = 50
"""Closed windows read back, newest first, to find the newest one big enough to judge."""


def open_finding_rows(store: Store, state: ModelState, version: str) -> list[dict[str, Any]]:
    """The findings that are open for a version: those of its newest closed whole-traffic window at the
    base length that was big enough for the checks. A window of a few stray events says nothing either
    way (``quality_insufficient``), so it neither raises findings nor closes the ones before it.
    /status lists these and advice reads them: the two cannot disagree."""
    for w in store.windows(state.name, version=version, segment=OVERALL, granularity=state.config.window,
                           closed=True, limit=OPEN_LOOKBACK):
        verdict = WindowVerdict.loads(w.get("verdict"))
        if verdict is not None and (verdict.quality_insufficient or not verdict.checked):
            continue
        return store.findings(state.name, version=version, granularity=state.config.window,
                              since=w["end_ts"] - 1e-6, until=w["end_ts"], segment=OVERALL, limit=MAX_ROWS)
    return []


def _open_findings(store: Store, state: ModelState, version: str) -> list[dict[str, Any]]:
    """The P0/P1 open findings, one per (check, column) (a performance drop names its metric)."""
    out = []
    for f in open_finding_rows(store, state, version):
        if f["severity"] not in ("P0", "P1"):
            continue
        column = f["column_name"]
        if column is None and f.get("evidence"):  # a performance drop names its metric in the evidence
            column = (orjson.loads(f["evidence"]) or {}).get("metric")
        item = {"check": f["check_name"], "column": column, "severity": f["severity"],
                "window_start": f["window_start"], "window_end": f["window_end"]}
        if item not in out:
            out.append(item)
    return out


def _outcome_drops(perf: list[dict[str, Any]], findings: list[dict[str, Any]], g: float) -> list[OutcomeDrop]:
    """The ``outcome_drop`` findings of the newest whole-traffic window (of the report length) with outcomes:
    a drop that stopped is no longer an input."""
    newest = next((r["start_ts"] for r in perf if r.get("outcomes")), None)
    out = []
    for f in findings:
        if (f["check_name"] != "outcome_drop" or f["window_start"] != newest or f["granularity"] != g
                or f["segment"] != OVERALL):
            continue
        ev = orjson.loads(f["evidence"]) if f.get("evidence") else {}
        cur, base = ev.get("current") or {}, ev.get("baseline") or {}
        if cur.get("value") is None or base.get("value") is None:
            continue
        out.append(OutcomeDrop(name=ev.get("outcome") or f["column_name"], measure=ev.get("measure", "rate"),
                               current=float(cur["value"]), baseline=float(base["value"]),
                               since=float(ev.get("since", f["window_start"])), windows=int(ev.get("windows", 1)),
                               p_value=max(ev.get("p_values") or [1.0]), predictions=int(cur.get("n") or 0)))
    return out


OPEN_INCIDENTS = 50
"""Incidents of a model read back for its firing alerts (newest opened first)."""


def incident_alerts(store: Store, model: str) -> list[dict[str, Any]]:
    """The firing alerts of the model's open (or acknowledged) incidents, as the incidents show them: the
    infrastructure, version and data signals advice shares with each incident's recommendation."""
    out = []
    for inc in store.incident_states(model=model, limit=OPEN_INCIDENTS):
        if inc.get("status") == "resolved":
            continue
        for a in (inc.get("alerts") or {}).values():
            if a.get("status") == "firing":
                out.append({k: a.get(k) for k in ("id", "name", "severity", "role", "status", "model_version",
                                                  "labels", "summary", "value")} | {"incident": inc["id"]})
    return out


REVIEW_METRICS = {"accuracy": "accuracy", "mean_absolute_error": "mae"}
"""What a review sample estimates (``argus labels import``), and the baseline metric it is read against."""


def review_estimate(state: ModelState, version: str, doc: dict[str, Any] | None) -> ReviewEstimate | None:
    """A review sample's estimate (``{metric, value, low, high, responded}``) against the version's baseline:
    None without one, or when the baseline has no such metric to read it against."""
    from argusml.monitor.performance import task_of

    if doc is None:
        return None
    spec = task_of(state.ref(version).reference, state.config)
    base = (spec.baseline or {}).get(REVIEW_METRICS[doc["metric"]]) if spec is not None else None
    if base is None or base.value is None:
        return None
    return ReviewEstimate(metric=doc["metric"], value=float(doc["value"]), low=float(doc["low"]),
                          high=float(doc["high"]), reviewed=int(doc["responded"]), baseline=float(base.value))


def calendar_periods(state: ModelState, since: float, until: float) -> list[CalendarPeriod]:
    return [CalendarPeriod(e.name, s, t) for e in state.config.calendar for s, t in e.periods(since, until)]


def gather(store: Store, state: ModelState, version: str, now: float,
           compare: Callable[[str, str], dict[str, Any] | None] | None = None,
           review: dict[str, Any] | None = None) -> AdviceInputs:
    cfg = state.config
    adv = cfg.advice
    since = now - adv.lookback
    findings = store.findings(state.name, since=since, version=version, limit=MAX_ROWS)
    drift, ended = _drift_run(store, state, version, since, findings)

    g = state.report_granularity
    perf_by_g = {gr: store.performance(state.name, since=since, version=version, segment=OVERALL, granularity=gr,
                                       limit=MAX_ROWS) for gr in state.granularities}
    for rows in perf_by_g.values():
        rows.sort(key=lambda r: -r["start_ts"])
    realised, judged_ok = _realised(perf_by_g, findings, cfg.performance.min_labels)
    perf = perf_by_g.get(g, [])
    estimated = None
    if perf:
        newest_any = perf[0]
        est_rows = [f for f in findings if f["check_name"] == "estimated_performance_drop"]
        if est_rows:
            first = min((f["window_start"] for f in est_rows if f["granularity"] == g), default=newest_any["start_ts"])
            estimated = _drop_of(findings, "estimated_performance_drop", newest_any["start_ts"], first, g)
    newest_start = perf[0]["start_ts"] if perf else None
    judged = [r for r in perf if r["labels"] >= cfg.performance.min_labels and r["status"] in ("ok", "degraded")]
    latest_judged = judged[0]["start_ts"] if judged else None
    weak = sorted({f"{f['column_name']}={(orjson.loads(f['evidence']) or {}).get('value')}" for f in findings
                   if f["check_name"] == "weak_segment" and f["window_start"] == latest_judged})
    proxies = sorted({(orjson.loads(f["evidence"]) or {}).get("proxy", "proxy") for f in findings
                      if f["check_name"] == "proxy_shift" and f["window_start"] == newest_start
                      and f["segment"] == OVERALL})

    starts = [s for s in (drift.onset if drift else None, realised.since if realised else None) if s is not None]
    finest = perf_by_g.get(state.granularities[0], [])  # labels since a start inside an hour count from it
    labels_since = {s: int(sum(r["labels"] for r in finest if r["start_ts"] >= s)) for s in starts}
    span = max((now - min(r["start_ts"] for r in perf)) / 86400.0, 1 / 24) if perf else 1.0
    per_day = sum(r["predictions"] for r in perf) / span if perf else 0.0

    rollback = None
    skipped = None
    previous = _previous_version(store, state, version, since)
    if compare is not None and previous is not None:
        try:
            res = compare(previous, version)
        except InputError as exc:  # e.g. no target: nothing to compare, and no reason to roll back
            log.info("no comparison of %s with %s: %s", version, previous, exc)
            res = None
        if res is None and compare is not None:
            skipped = previous  # the store was busy: say so rather than imply the versions compare well
        verdict = (res or {}).get("verdict") or {}
        if verdict.get("decision") == "rollback":
            rollback = {"previous": previous, "reasons": list(verdict.get("reasons") or []),
                        "comparison": {k: res.get(k) for k in ("mode", "metric", "labels") if res and k in res}}
    return AdviceInputs(
        model=state.name, version=version, now=now, lookback=adv.lookback, drift=drift, drift_ended=ended,
        realised_drop=realised, estimated_drop=estimated, judged_ok=judged_ok, weak_segments=weak,
        proxy_shifts=proxies, labels_since=labels_since, predictions_per_day=per_day, rollback=rollback,
        min_retrain_labels=adv.min_retrain_labels, retrain_cost=adv.retrain_cost, error_cost=adv.error_cost,
        horizon_days=adv.horizon / 86400.0, compare_skipped=skipped,
        open_findings=_open_findings(store, state, version), outcome_drops=_outcome_drops(perf, findings, g),
        review=review_estimate(state, version, review), incident_alerts=incident_alerts(store, state.name),
        calendar=calendar_periods(state, since, now),
        breakers={f"{b} on {host}": s for (host, b), s in list(state.metrics.breakers.items())})


def _previous_version(store: Store, state: ModelState, version: str, since: float) -> str | None:
    """The version that served before ``version`` started (by their first windows in the lookback)."""
    firsts: dict[str, float] = {}
    for r in store.windows(state.name, since=since, segment=OVERALL, granularity=state.config.window, closed=True,
                           limit=MAX_ROWS):
        firsts[r["version"]] = min(firsts.get(r["version"], r["start_ts"]), r["start_ts"])
    if version not in firsts:
        return None
    earlier = [(t, v) for v, t in firsts.items() if v != version and t < firsts[version]]
    return max(earlier)[1] if earlier else None


def model_advice(store: Store, state: ModelState, now: float,
                 compare: Callable[[str, str], dict[str, Any] | None] | None = None,
                 review: dict[str, Any] | None = None) -> dict[str, Any]:
    """Advice per version with traffic in the lookback, and the model's: the most pressing of them
    (``DECISIONS`` order). ``review``: a review sample's weighted estimate (``{metric, value, low, high,
    responded}``, as `argus labels import --json` prints it), weighed for every version."""
    versions = sorted({r["version"] for r in store.windows(state.name, since=now - state.config.advice.lookback,
                                                           segment=OVERALL, granularity=state.config.window,
                                                           limit=MAX_ROWS)})
    per = {v: advise(gather(store, state, v, now, compare, review)) for v in versions}
    if not per:
        return {"model": state.name, "decision": "no_action", "summary": "No action needed. No traffic in the "
                f"last {state.config.advice.lookback / 86400:g} days to judge.", "versions": {}}
    worst = max(per.values(), key=lambda a: DECISIONS.index(a["decision"]))
    return {"model": state.name, "decision": worst["decision"], "version": worst["version"],
            "summary": worst["summary"], "versions": per}
