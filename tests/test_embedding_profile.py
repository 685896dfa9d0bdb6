"""EmbeddingProfile (profile/embedding.py): merging equals profiling the union, storage round-trips, and
drift from two profiles agrees with drift from the matrices.

The merge property is checked over random splits (hypothesis); the drift cases are the ones
tests/test_embedding_drift.py checks on matrices, here on 20,000 rows profiled in 10 windows.
"""

from __future__ import annotations

import json
import re
from functools import reduce
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argusml.profile.embedding import NORMS_SKETCH, EmbeddingProfile, embedding_drift_profiles, key_priorities
from argusml.stats.embedding import NORMS_EXACT, embedding_drift

P = EmbeddingProfile.from_rows


def _keys(prefix: str, start: int, stop: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(start, stop)]


def _windows(m: np.ndarray, prefix: str, parts: int, cap: int = 2000) -> EmbeddingProfile:
    """The profile of ``m`` as the service builds it: one profile a window, merged."""
    bounds = np.linspace(0, len(m), parts + 1).astype(int)
    return reduce(EmbeddingProfile.merge, [P(m[a:b], keys=_keys(prefix, a, b), cap=cap) for a, b in pairwise(bounds)])


def _assert_same(merged: EmbeddingProfile, whole: EmbeddingProfile) -> None:
    assert (merged.n, merged.dim, merged.cap) == (whole.n, whole.dim, whole.cap)
    np.testing.assert_allclose(merged.sum, whole.sum, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(whole.sum).max())))
    assert merged.sum_sq_norms == pytest.approx(whole.sum_sq_norms, rel=1e-9)
    assert merged.keys == whole.keys
    np.testing.assert_array_equal(merged.sample, whole.sample)
    np.testing.assert_array_equal(merged.priority, whole.priority)
    np.testing.assert_array_equal(merged.index, whole.index)
    np.testing.assert_array_equal(merged.norms, whole.norms)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), cap=st.sampled_from([2, 5, 17, 200]),
       cuts=st.lists(st.floats(0.0, 1.0), max_size=6), tree=st.booleans())
def test_merging_windows_gives_the_profile_of_their_union(seed: int, n: int, cap: int, cuts: list[float], tree: bool) -> None:
    """Bottom-k on hashed keys: whatever the split and the order of merging, the same rows, keys and sums."""
    rng = np.random.default_rng(seed)
    m = (rng.standard_normal((n, 3)) * rng.uniform(0.1, 10.0) + rng.uniform(-5, 5, 3)).astype(np.float32)
    bounds = [0, *sorted(int(c * n) for c in cuts), n]
    parts = [P(m[a:b], keys=_keys("e", a, b), cap=cap) for a, b in pairwise(bounds)]
    if tree and len(parts) > 2:  # (a + b) + (c + …): any association, same profile
        merged = reduce(EmbeddingProfile.merge, parts[:2]) + reduce(EmbeddingProfile.merge, parts[2:])
    else:
        merged = reduce(EmbeddingProfile.merge, parts)
    whole = P(m, keys=_keys("e", 0, n), cap=cap)
    _assert_same(merged, whole)
    assert len(merged.sample) == min(cap, n)
    # the sample is the cap smallest hashes of all keys
    assert sorted(merged.keys or []) == sorted(np.asarray(_keys("e", 0, n))[np.argsort(key_priorities(_keys("e", 0, n)))[:cap]])


def test_the_sample_is_uniform_over_rows() -> None:
    """Hashes of event ids are uniform: each of 10 blocks of 10,000 rows holds about a tenth of 2,000."""
    prof = P(np.zeros((100_000, 1), dtype=np.float32), keys=[f"evt-{i:06d}" for i in range(100_000)])
    per_block = np.bincount(prof.index // 10_000, minlength=10)
    assert per_block.sum() == 2000 and per_block.min() > 140 and per_block.max() < 260  # 200 ± 4.2 sd


def test_the_sums_give_the_mean_and_total_variance_of_every_row() -> None:
    rng = np.random.default_rng(3)
    m = rng.standard_normal((5000, 8)) * np.arange(1, 9) + 2.0
    prof = _windows(m, "r", 7, cap=100)
    np.testing.assert_allclose(prof.mean, m.mean(axis=0), rtol=1e-12)
    assert prof.trace == pytest.approx(np.trace(np.cov(m.T)), rel=1e-10)
    assert not prof.complete and len(prof.sample) == 100


def test_without_keys_positions_name_the_rows_and_a_merge_is_only_a_sample() -> None:
    rng = np.random.default_rng(4)
    m = rng.standard_normal((300, 4))
    a, b = P(m[:200], cap=50), P(m[200:], cap=50)
    merged = a + b
    assert merged.keys is None and len(merged.sample) == 50
    np.testing.assert_array_equal(merged.sample, m[merged.index].astype(np.float32))  # positions in the union
    assert P(m[:200], cap=50).index.tolist() == a.index.tolist()  # same rows, same sample
    assert P(m[:200], cap=50, seed=1).index.tolist() != a.index.tolist()
    small = P(m[:30]) + P(m[30:60])  # under the cap every row stays, in order
    assert small.index.tolist() == list(range(60)) and small.complete


def test_json_round_trip_keeps_every_part() -> None:
    rng = np.random.default_rng(5)
    prof = _windows(rng.standard_normal((3000, 16)).astype(np.float32), "q", 3, cap=500)
    text = json.dumps(prof.to_dict())
    back = EmbeddingProfile.from_dict(json.loads(text))
    _assert_same(back, prof)
    assert back.sum.tolist() == prof.sum.tolist() and back.sum_sq_norms == prof.sum_sq_norms
    assert back.kll().get_quantile(0.5) == prof.kll().get_quantile(0.5) and back.kll().n == 3000
    assert back.sample.dtype == np.float32 and back.sample.shape == (500, 16)
    assert len(json.loads(text)["sample"]["data"]) == 4 * -(-500 * 16 * 4 // 3)  # base64 of float32, not decimals
    _assert_same(back + P(np.ones((3, 16)), keys=["x", "y", "z"], cap=500), prof + P(np.ones((3, 16)), keys=["x", "y", "z"], cap=500))


def test_profiles_that_hold_every_row_test_what_the_matrices_do() -> None:
    """Below the cap the profile keeps every row in arrival order and the seed draws the same relabellings,
    so the p-values are embedding_drift's (the sums differ from the matrix's moments only by rounding)."""
    rng = np.random.default_rng(6)
    ref = rng.standard_normal((900, 12)).astype(np.float32)
    cur = (rng.standard_normal((700, 12)) * 1.05 + 0.08).astype(np.float32)
    cur[[5, 321]] += 9.0
    direct = embedding_drift(ref, cur, permutations=199, seed=3, examples=2)
    prof = embedding_drift_profiles(_windows(ref, "r", 4), _windows(cur, "c", 3), permutations=199, seed=3, examples=2)
    for k in ("centroid", "mmd", "norms"):
        assert prof.p_adjusted[k] == pytest.approx(direct.p_adjusted[k], rel=1e-9, abs=1e-300)
    assert prof.centroid.p_value == pytest.approx(direct.centroid.p_value, rel=1e-9)
    assert prof.centroid.trace == pytest.approx(direct.centroid.trace, rel=1e-9)
    assert prof.mmd == direct.mmd and prof.norms_ks == direct.norms_ks
    assert prof.effects == pytest.approx(direct.effects, rel=1e-9)
    assert prof.drifted_by == direct.drifted_by and prof.methods == direct.methods
    assert prof.methods["norms"] == NORMS_EXACT
    assert prof.moved_most.tolist() == [f"c{i}" for i in direct.moved_most] == ["c5", "c321"]
    assert json.loads(json.dumps(prof.to_dict()))["moved_most"] == ["c5", "c321"]


CAP_20K = 1000
"""Sample rows a side for the 20,000-row cases: half the default, a quarter of the MMD's cost, so the file stays
within seconds on one core; bench/embedding_drift.py runs the default 2,000 on 100,000 rows."""


@pytest.fixture(scope="module")
def reference_20k() -> tuple[np.ndarray, EmbeddingProfile]:
    rng = np.random.default_rng(20)
    ref = rng.standard_normal((20_000, 64)).astype(np.float32)
    return ref, _windows(ref, "r", 10, cap=CAP_20K)


def test_20k_rows_in_10_windows_against_the_same_distribution_is_not_drift(reference_20k) -> None:
    _, ref = reference_20k
    cur = _windows(np.random.default_rng(21).standard_normal((20_000, 64)).astype(np.float32), "c", 10, cap=CAP_20K)
    r = embedding_drift_profiles(ref, cur, permutations=99)
    assert not r.drifted and r.drifted_by == []
    assert (r.n_ref, r.n_cur, r.dim, r.mmd.n_ref, r.mmd.n_cur) == (20_000, 20_000, 64, CAP_20K, CAP_20K)
    assert r.methods["norms"] == NORMS_SKETCH and r.norms_ks < 0.02
    assert all(isinstance(k, str) and k.startswith("c") for k in r.moved_most)


def test_20k_rows_in_10_windows_with_the_mean_moved_by_three_tenths_of_a_spread(reference_20k) -> None:
    _, ref = reference_20k
    rng = np.random.default_rng(22)
    u = rng.standard_normal(64)
    u /= np.linalg.norm(u)
    cur = _windows((rng.standard_normal((20_000, 64)) + 0.3 * u).astype(np.float32), "c", 10, cap=CAP_20K)
    r = embedding_drift_profiles(ref, cur, permutations=99)
    assert r.drifted and "centroid" in r.drifted_by
    assert r.effects["centroid"] == pytest.approx(0.3, abs=0.03)
    assert r.centroid.euclidean == pytest.approx(0.3, abs=0.02)


def test_20k_rows_in_10_windows_with_a_topic_swap_that_keeps_mean_and_norms_is_caught_by_mmd() -> None:
    """tests/test_embedding_drift.py's new topic: the same rows turned (two axes swapped), so the mean stays 0
    and every norm stays; only the MMD can see it."""
    rng = np.random.default_rng(23)
    ref = rng.standard_normal((20_000, 64)) * np.r_[3.0, np.ones(63)]
    ref = (ref - ref.mean(axis=0)).astype(np.float32)
    cur = ref[:, [1, 0, *range(2, 64)]]
    r = embedding_drift_profiles(_windows(ref, "r", 10, cap=CAP_20K), _windows(cur, "c", 10, cap=CAP_20K), permutations=99)
    assert r.mmd.p_value == pytest.approx(1 / 100)
    assert r.centroid.euclidean == pytest.approx(0.0, abs=1e-4) and r.centroid.p_value > 0.99
    assert r.norms_ks < 0.01 and r.p_adjusted["norms"] > 0.05
    assert r.drifted and r.drifted_by == ["mmd"]


@pytest.mark.parametrize("build, message", [
    (lambda: P(np.zeros((5, 4))) + P(np.zeros((5, 3))), "embedding profiles of 4 and 3 dimensions"),
    (lambda: embedding_drift_profiles(P(np.zeros((5, 4))), P(np.ones((5, 3)))), "current has 3 dimensions, the reference has 4"),
    (lambda: P(np.array([[0.0, 1.0], [np.nan, 2.0]])), "NaN or infinite value (first in row 1)"),
    (lambda: P(np.zeros(4)), "2-D matrix"),
    (lambda: embedding_drift_profiles(P(np.zeros((0, 4))), P(np.ones((5, 4)))), "reference profile holds 0 rows"),
    (lambda: embedding_drift_profiles(P(np.ones((5, 4))), P(np.ones((1, 4)))), "current profile holds 1 rows"),
    (lambda: P(np.zeros((3, 2)), keys=["a", "b"]), "got 2 keys for 3 rows"),
    (lambda: P(np.zeros((3, 2)), keys=["a", "b", "c"]) + P(np.ones((3, 2))), "keyed rows with one of rows without keys"),
    (lambda: P(np.zeros((3, 2)), cap=1), "cap must be at least 2"),
])
def test_bad_input_says_what_was_expected(build, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_an_empty_profile_merges_as_nothing() -> None:
    rows = np.arange(12.0).reshape(4, 3)
    full = P(rows, keys=list("abcd"))
    for merged in (P(np.empty((0, 3))) + full, full + P(np.empty((0, 3)))):
        _assert_same(merged, full)
        assert merged.kll().n == 4
