"""All checks of one comparison (reference vs current), in one place.

This is the single decision function the report, the CLI gate and (later)
the service and /metrics share: given the same profiles and settings it
returns the same statuses and findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from argusml.checks.correlation import correlation_changes
from argusml.checks.drift import DriftResult, column_drift, decide
from argusml.checks.embedding import embedding_drift_check
from argusml.checks.judged import judge_check
from argusml.checks.multivariate import multivariate_drift
from argusml.checks.quality import QualityChecker
from argusml.checks.sessions import abandonment_check
from argusml.checks.verdict import Verdict, severity_counts, verdict_status
from argusml.profile import ColumnProfile, DatasetProfile, Reference
from argusml.profile.declared import resolve_declared
from argusml.schema import DEFAULT_SEVERITY, DriftStatus, Finding, ReportConfig, Role

DRIFT_CHECK = {Role.FEATURE: "drift", Role.PREDICTION: "prediction_drift", Role.TARGET: "target_drift"}


@dataclass
class ColumnResult:
    name: str
    reference: ColumnProfile
    current: ColumnProfile | None
    drift: DriftResult | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def worst(self) -> int:
        """Sort key: most severe finding first, then drifted, then the rest."""
        rank = min((f.severity.rank for f in self.findings), default=9)
        drifted = self.drift is not None and self.drift.status is DriftStatus.DRIFTED
        return rank * 2 + (0 if drifted else 1)


@dataclass
class CheckResults:
    reference: Reference
    current: DatasetProfile
    config: ReportConfig
    columns: dict[str, ColumnResult]
    findings: list[Finding]
    correlations: dict[str, Any]
    verdict: Verdict
    multivariate: dict[str, Any] = field(default_factory=dict)
    embeddings: dict[str, Any] = field(default_factory=dict)  # an LLM model's embedding tests, by embedding
    abandonment: dict[str, Any] | None = None  # an LLM model's sessions abandoned, against the baseline's
    judge: dict[str, Any] | None = None  # an LLM model's judged answers, against the baseline's


def _fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.3g}"


def _fmt_p(p: float | None) -> str:
    if p == 0:
        return "<1e-300"  # below double precision: say so rather than print an impossible 0
    return _fmt(p)


def drift_message(name: str, res: DriftResult) -> str:
    parts = [f"{name!r} drifted: {res.effect_method} {_fmt(res.effect_value)} >= {_fmt(res.effect_threshold)}"]
    parts.append(f"({res.method} p_adj {_fmt_p(res.p_adjusted)})")
    ms = res.scores.get("mean_shift_sd")
    if ms is not None and abs(ms) >= 0.01:
        parts.append(f"mean {ms:+.2f} sd")
    sr = res.scores.get("std_ratio")
    if sr is not None and abs(sr - 1) >= 0.05:
        parts.append(f"spread x{sr:.2f}")
    tail = res.evidence.get("tail")
    if res.effect_method == "tail" and tail:
        parts.append(f"share {tail['side']} {tail['edge']:.4g}: {100 * tail['reference_share']:.2f}% -> "
                     f"{100 * tail['current_share']:.2f}%")
    unseen = res.evidence.get("unseen")
    if unseen:
        parts.append(f"unseen values {100 * unseen['current_share']:.1f}% of rows, the reference predicts "
                     f"{100 * unseen['expected_share']:.1f}%")
    change = res.evidence.get("largest_change")
    if change:
        parts.append(f"largest change {change['category']!r}: {100 * change['reference_share']:.1f}% -> "
                     f"{100 * change['current_share']:.1f}%")
    return "; ".join([parts[0] + " " + parts[1], *parts[2:]])


def run_checks(reference: Reference, current: DatasetProfile, config: ReportConfig | None = None) -> CheckResults:
    config = config or ReportConfig()
    severity = {**DEFAULT_SEVERITY, **config.severity}
    names = [n for n in reference.specs if not config.ignored(n)]
    current = replace(current, extra_columns=[n for n in current.extra_columns if not config.ignored(n)])

    declared = resolve_declared(config, reference.specs, "config")
    checker = QualityChecker(reference, current, config.quality, severity, declared)
    quality = checker.run(names)
    columns = {n: ColumnResult(n, reference.profile.columns[n], current.columns.get(n)) for n in names}
    for f in quality:
        if f.column in columns:
            columns[f.column].findings.append(f)

    drift: dict[str, DriftResult] = {}
    for n in names:
        cur = current.columns.get(n)
        if cur is None:
            continue
        drift[n] = column_drift(reference.specs[n], reference.profile.columns[n], cur,
                                config.thresholds_for(n), config.min_rows_for(n))
    decide(drift, config.drift.alpha, config.drift.correction)
    findings = list(quality)
    for n, res in drift.items():
        columns[n].drift = res
        if res.status is DriftStatus.DRIFTED:
            role = reference.specs[n].role
            check = DRIFT_CHECK.get(role, "drift")
            f = Finding(check, n, severity[check], drift_message(n, res),
                        {"method": res.method, "p_adjusted": res.p_adjusted, "effect": res.effect_method,
                         "value": res.effect_value, "threshold": res.effect_threshold})
            columns[n].findings.append(f)
            findings.append(f)

    corr = correlation_changes(reference.profile.correlation, current.correlation, config.drift.alpha,
                               config.drift.correlation_threshold, config.drift.correction, config.drift.min_rows,
                               _off_mode_support(reference, current))
    corr_names = set()
    if corr.get("changed"):
        changed = corr["changed"]
        shown = "; ".join(f"{a}~{b}: {r['reference']:+.2f} -> {r['current']:+.2f}"
                          for r in changed[:3] for a, b in [r["columns"]])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        findings.append(Finding("correlation_change", None, severity["correlation_change"],
                                f"{len(changed)} feature pair(s) changed correlation: {shown}{more}",
                                {"pairs": changed[:20]}))
        corr_names = {c for r in changed for c in r["columns"]}

    multivariate, mv_finding = multivariate_drift(reference, current, config.multivariate, config.drift.alpha,
                                                  severity["multivariate_drift"], ignored_features(reference, config))
    if mv_finding is not None:
        findings.append(mv_finding)
    embeddings, emb_findings = embedding_drift_check(reference, current, config.drift.alpha, config.drift.min_rows,
                                                     severity["embedding_drift"], config.ignored)
    findings.extend(emb_findings)
    abandonment, ab_findings = abandonment_check(reference, current, config.drift.alpha, severity["abandonment_rise"])
    findings.extend(ab_findings)
    judged, judge_findings = judge_check(reference, current, config.drift.alpha, severity["judge_drop"])
    findings.extend(judge_findings)

    findings.sort(key=lambda f: (f.severity.rank, f.check, f.column or ""))
    verdict = _verdict(reference, drift, findings, config, corr_names, multivariate["drifted"])
    verdict.quality_insufficient = checker.insufficient
    # an embedding is one column of vectors: a drifted one is a drifted column of the window
    emb_drifted = [n for n, r in embeddings.items() if r["status"] == "drifted"]
    verdict.drifted_columns += emb_drifted
    verdict.n_drifted += len(emb_drifted)
    verdict.n_tested += sum(r["status"] in ("drifted", "stable") for r in embeddings.values())
    if verdict.drifted_columns and verdict.status in ("ok", "warning"):
        verdict.status = "drift"
    return CheckResults(reference, current, config, columns, findings, corr, verdict, multivariate, embeddings,
                        abandonment, judged)


def ignored_features(reference: Reference, config: ReportConfig) -> list[str]:
    """Features the config leaves out; profiles for the multivariate tests need them before the checks run."""
    return [n for n, sp in reference.specs.items() if sp.role is Role.FEATURE and config.ignored(n)]


def multivariate_rows(config: ReportConfig) -> int | None:
    """Rows of current data a profile samples for the domain classifier; None when the tests are off
    (the profile then scores nothing for them)."""
    return config.multivariate.sample_rows if config.multivariate.enabled else None


def _off_mode_support(reference: Reference, current: DatasetProfile) -> dict[str, int]:
    """Per numeric column, the fewest values off its most frequent value on either side."""
    out: dict[str, int] = {}
    for name, rp in reference.profile.columns.items():
        cp = current.columns.get(name)
        if rp.numeric is None or cp is None or cp.numeric is None:
            continue
        out[name] = min(p.n - max(p.top.values(), default=1) for p in (rp.numeric, cp.numeric))
    return out


def _verdict(reference: Reference, drift: dict[str, DriftResult], findings: list[Finding], config: ReportConfig,
             corr_names: set[str], multivariate: bool) -> Verdict:
    drifted = [n for n, r in drift.items() if r.status is DriftStatus.DRIFTED]
    tested = [n for n, r in drift.items() if r.tested]
    features = [n for n in tested if reference.specs[n].role is Role.FEATURE]
    drifted_features = [n for n in drifted if reference.specs[n].role is Role.FEATURE]
    by_sev = severity_counts(findings)
    return Verdict(
        status=verdict_status(by_sev, bool(drifted), multivariate),
        drifted_columns=drifted,
        prediction_drift=any(reference.specs[n].role is Role.PREDICTION for n in drifted),
        target_drift=any(reference.specs[n].role is Role.TARGET for n in drifted),
        n_columns=sum(1 for n in reference.specs if not config.ignored(n)),
        n_tested=len(tested),
        n_drifted=len(drifted),
        share_drifted_features=(len(drifted_features) / len(features)) if features else 0.0,
        insufficient_data=[n for n, r in drift.items() if r.status is DriftStatus.INSUFFICIENT_DATA],
        alpha=config.drift.alpha,
        correction=config.drift.correction,
        findings_by_severity=by_sev,
        correlation_changed_columns=sorted(corr_names),
        multivariate_drift=multivariate,
    )
