"""The one table of default severities, per check.

Why each default: a schema break (missing column, feature entirely null)
stops the model from seeing its inputs, so it pages (P0). Changes that make
predictions untrustworthy but not absent — drift, wrong types, sentinels,
missing values rising, a declared bound broken — are for today (P1). Things worth knowing but rarely
urgent — a new rare category, an extra column, a correlation change — go to
the backlog (P2). Override per check in the config file (``severity:``).
"""

from __future__ import annotations

from argusml.schema.kinds import Severity

DEFAULT_SEVERITY: dict[str, Severity] = {
    "missing_column": Severity.P0,
    "all_null": Severity.P0,
    "type_errors": Severity.P1,
    "missing_values": Severity.P1,
    "constant_column": Severity.P1,
    "near_constant_column": Severity.P2,
    "out_of_range": Severity.P2,
    "sentinel_value": Severity.P1,
    "new_categories": Severity.P2,
    "vanished_categories": Severity.P2,
    "duplicate_ids": Severity.P1,
    "future_timestamps": Severity.P2,
    # a value outside what the owner declared possible (columns.<name>.{min, max, allowed, max_missing}): a
    # contract broken, whatever the reference held, so it is for today like a sentinel or wrong types
    "declared_bound": Severity.P1,
    "extra_column": Severity.P2,
    "drift": Severity.P1,
    "prediction_drift": Severity.P1,
    "target_drift": Severity.P1,
    "correlation_change": Severity.P2,
    # the joint distribution changed beyond a practical effect. Like a correlation change it is for the backlog:
    # when features drifted too it repeats them (their findings carry the severity), and alone it says
    # "investigate", not which input broke
    "multivariate_drift": Severity.P2,
    # an LLM model's queries or answers moved as vectors (docs/LLM.md): new topics, another template or
    # embedding pipeline; for today like a drifted feature
    "embedding_drift": Severity.P1,
    # more users left an LLM application right after a failed answer: its quality as they see it fell
    "abandonment_rise": Severity.P1,
    # the judge's pass rate or mean score fell: a sampled, model-graded view of quality, like a label-free
    # estimate worth knowing before acting (a new rubric or judge model moves it too)
    "judge_drop": Severity.P2,
    # model quality (docs/PERFORMANCE.md): a credible drop beyond tolerance is for today; a weak segment
    # and a drop seen only in the label-free estimate are worth knowing, not yet worth acting on
    "performance_drop": Severity.P1,
    "weak_segment": Severity.P2,
    "estimated_performance_drop": Severity.P2,
    "proxy_shift": Severity.P2,
    # a business outcome (posted to /outcomes) credibly below its baseline over consecutive windows: what the
    # model is for fell, with the sample sizes behind it, so it is for today like a performance drop
    "outcome_drop": Severity.P1,
}
