"""Pure statistics (numpy and scipy only): nothing here knows about data
frames, files, HTTP or time."""

from argusml.stats.mergeable import Mergeable
from argusml.stats.moments import EMPTY as EMPTY_MOMENTS
from argusml.stats.moments import Moments
from argusml.stats.tests import (
    TestResult,
    adjust_p_values,
    chi2_homogeneity,
    correlation_change_p,
    correlation_change_ps,
    js_distance,
    ks_detectable,
    ks_exact,
    ks_from_counts,
    ks_p_value,
    ks_statistic_from_counts,
    max_cell_test,
    merge_sparse_bins,
    net_distance,
    psi,
    tail_change,
    total_variation,
    unseen_mass_test,
    wasserstein,
)

__all__ = [
    "EMPTY_MOMENTS",
    "Mergeable",
    "Moments",
    "TestResult",
    "adjust_p_values",
    "chi2_homogeneity",
    "correlation_change_p",
    "correlation_change_ps",
    "js_distance",
    "ks_detectable",
    "ks_exact",
    "ks_from_counts",
    "ks_p_value",
    "ks_statistic_from_counts",
    "max_cell_test",
    "merge_sparse_bins",
    "net_distance",
    "psi",
    "tail_change",
    "total_variation",
    "unseen_mass_test",
    "wasserstein",
]
