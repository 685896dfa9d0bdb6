"""The store: events, labels, profiles, findings (embedded DuckDB). Only this layer knows SQL."""

from argusml.store.duck import (
    EVENT_SCHEMA,
    LABEL_SCHEMA,
    PERF_CHECKS,
    BackfilledRow,
    FindingRow,
    PerformanceRow,
    Store,
    WindowRow,
    by_check,
    link_repeats,
)

__all__ = ["EVENT_SCHEMA", "LABEL_SCHEMA", "PERF_CHECKS", "BackfilledRow", "FindingRow", "PerformanceRow", "Store",
           "WindowRow", "by_check", "link_repeats"]
