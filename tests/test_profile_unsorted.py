"""A large batch is profiled without sorting it: the profile must be the one sorting gives.

Bins, their sums, the report quantiles, min, max and moments are exact either way; the frequent values
are exact above the unsorted path's bound, and the bound it states holds for every value it omits.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argusml.profile.numeric import (
    FREQUENT_SHARE,
    UNSORTED_MIN,
    NumericProfile,
    NumericSpec,
    learn_unsorted,
)


def _spec(ref: np.ndarray) -> NumericSpec:
    return NumericSpec.from_sorted(np.sort(ref))


def _draw(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "normal":
        return rng.normal(50, 10, n)
    if kind == "lognormal":
        return rng.lognormal(3, 1.5, n)
    if kind == "ages":
        return rng.integers(18, 91, n).astype(float)
    if kind == "big_integers":
        return rng.integers(0, 10**9, n).astype(float)
    if kind == "zero_inflated":
        x = rng.exponential(3.0, n)
        x[rng.random(n) < 0.4] = 0.0
        return x
    if kind == "rounded":
        return np.round(rng.normal(0, 1, n), 2)
    if kind == "cauchy":
        return rng.standard_cauchy(n)
    raise ValueError(kind)


def _current(kind: str, rng: np.random.Generator, n: int, change: str) -> np.ndarray:
    x = _draw(kind, rng, n)
    if change == "sentinel":
        x[rng.random(n) < 0.03] = -999.0
    elif change == "shifted":
        x = x + 5 * (np.std(x[np.isfinite(x)]) if np.isfinite(x).all() else 1.0)
    elif change == "point_mass":
        x[rng.random(n) < 0.2] = float(np.median(x))
    return x


KINDS = ["normal", "lognormal", "ages", "big_integers", "zero_inflated", "rounded", "cauchy"]


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(KINDS), change=st.sampled_from(["none", "sentinel", "shifted", "point_mass"]),
       seed=st.integers(0, 2**31), n=st.integers(UNSORTED_MIN, 3 * UNSORTED_MIN))
def test_unsorted_profile_equals_the_sorted_one(kind: str, change: str, seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    spec = _spec(_draw(kind, rng, 5000))
    x = _current(kind, rng, n, change)
    fast = NumericProfile.from_values(x, spec, with_sketch=False)
    slow = NumericProfile.from_sorted(np.sort(x), spec, with_sketch=False)
    assert fast.counts is not None and slow.counts is not None
    assert np.array_equal(fast.counts, slow.counts)
    np.testing.assert_allclose(fast.sums, slow.sums, rtol=1e-9, atol=1e-6)  # type: ignore[arg-type]
    assert fast.quantiles == slow.quantiles
    assert (fast.min, fast.max, fast.n) == (slow.min, slow.max, slow.n)
    assert fast.moments.mean == pytest.approx(slow.moments.mean, rel=1e-9, abs=1e-9)
    assert fast.moments.m2 == pytest.approx(slow.moments.m2, rel=1e-9)
    bound = max(1, int(n * FREQUENT_SHARE))
    values, counts = np.unique(x, return_counts=True)
    truth = dict(zip(values.tolist(), counts.tolist()))
    heavy = {v: c for v, c in truth.items() if c > bound}
    assert {v: fast.top[v] for v in heavy if v in fast.top} == heavy or len(fast.top) == 20
    for v, c in fast.top.items():
        assert truth[v] == c
    omitted = max((c for v, c in truth.items() if v not in fast.top), default=0)
    assert omitted <= fast.top_omitted
    assert fast.sample.size == 2000 and np.all(np.isin(fast.sample, x))


def test_a_sentinel_is_listed_with_its_exact_count() -> None:
    rng = np.random.default_rng(0)
    spec = _spec(rng.normal(size=5000))
    x = rng.normal(size=200_000)
    x[:6000] = -999.0
    fast = NumericProfile.from_values(x, spec, with_sketch=False)
    assert fast.top[-999.0] == 6000
    assert fast.counts is not None and fast.counts[0] == 6000 + int((x[6000:] <= spec.edges[0]).sum())


def test_a_reference_built_without_sorting_is_the_sorted_one() -> None:
    """build_column takes the selection path for a report's throwaway reference (no sketch)."""
    import pyarrow as pa

    from argusml.profile import build_column
    from argusml.schema import Kind, Role

    rng = np.random.default_rng(1)
    x = rng.lognormal(2, 1, 100_000)
    x[::97] = np.nan
    arr = pa.chunked_array([pa.array(x)])
    spec_fast, prof_fast, _ = build_column(arr, "x", Kind.NUMERIC, Role.FEATURE, with_sketch=False)
    spec_slow, prof_slow, _ = build_column(arr, "x", Kind.NUMERIC, Role.FEATURE, with_sketch=True)
    assert spec_fast.numeric is not None and spec_slow.numeric is not None
    assert np.array_equal(spec_fast.numeric.edges, spec_slow.numeric.edges)
    assert prof_fast.numeric is not None and prof_slow.numeric is not None
    assert np.array_equal(prof_fast.numeric.counts, prof_slow.numeric.counts)  # type: ignore[arg-type]
    assert prof_fast.numeric.quantiles == prof_slow.numeric.quantiles
    assert prof_fast.nulls == prof_slow.nulls == x[::97].size


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(KINDS), change=st.sampled_from(["none", "sentinel", "point_mass"]),
       seed=st.integers(0, 2**31), n=st.integers(UNSORTED_MIN, 3 * UNSORTED_MIN))
def test_a_reference_learned_in_one_pass_equals_the_sorted_one(kind: str, change: str, seed: int, n: int) -> None:
    """learn_unsorted: the exact edges and the profile on them from one grid, as sorting gives them."""
    x = _current(kind, np.random.default_rng(seed), n, change)
    spec, prof = learn_unsorted(x, n_inf=0)
    s = np.sort(x)
    want_spec = NumericSpec.from_sorted(s)
    want = NumericProfile.from_sorted(s, want_spec, with_sketch=False)
    assert np.array_equal(spec.edges, want_spec.edges)
    assert np.array_equal(spec.level_edges, want_spec.level_edges)
    assert np.array_equal(prof.counts, want.counts)  # type: ignore[arg-type]
    np.testing.assert_allclose(prof.sums, want.sums, rtol=1e-9, atol=1e-6)  # type: ignore[arg-type]
    assert prof.quantiles == want.quantiles and (prof.min, prof.max, prof.n) == (want.min, want.max, want.n)
    values, counts = np.unique(x, return_counts=True)
    truth = dict(zip(values.tolist(), counts.tolist()))
    assert all(truth[v] == c for v, c in prof.top.items())
    assert max((c for v, c in truth.items() if v not in prof.top), default=0) <= prof.top_omitted
