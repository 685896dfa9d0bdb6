"""Checks: pure functions of (reference, current profile, settings) -> findings."""

from argusml.checks.drift import DriftResult, column_drift, decide
from argusml.checks.quality import QualityChecker, numeric_summary
from argusml.checks.run import CheckResults, ColumnResult, ignored_features, multivariate_rows, run_checks

__all__ = ["CheckResults", "ColumnResult", "DriftResult", "QualityChecker", "column_drift", "decide",
           "ignored_features", "multivariate_rows", "numeric_summary", "run_checks"]
