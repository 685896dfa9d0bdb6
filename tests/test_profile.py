"""Profiles merge like the data they summarise, and survive serialisation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argusml.profile import (
    CategoryProfile,
    ColumnProfile,
    CoMoments,
    DatasetProfile,
    NumericProfile,
    NumericSpec,
    Reference,
    open_source,
    profile_source,
)
from argusml.profile.categorical import MAX_EXACT
from argusml.profile.numeric import SAMPLE_CAP, TOP_K

values = st.lists(st.one_of(st.integers(-5, 5).map(float), st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
                            st.just(float("nan")), st.just(float("inf"))), min_size=0, max_size=200)


def _spec(seed: int = 0) -> NumericSpec:
    ref = np.random.default_rng(seed).normal(0, 100, 5000)
    return NumericSpec.from_sorted(np.sort(np.round(ref)))


SPEC = _spec()


@settings(max_examples=150, deadline=None)
@given(values, values)
def test_numeric_merge_equals_profile_of_concatenation(a: list[float], b: list[float]) -> None:
    xa, xb = np.array(a, dtype=float), np.array(b, dtype=float)
    pa_, pb = NumericProfile.from_values(xa, SPEC), NumericProfile.from_values(xb, SPEC)
    merged = pa_.merge(pb)
    whole = NumericProfile.from_values(np.concatenate([xa, xb]), SPEC)
    assert merged.n == whole.n and merged.n_inf == whole.n_inf
    np.testing.assert_array_equal(merged.counts, whole.counts)  # exact
    np.testing.assert_allclose(merged.sums, whole.sums, rtol=1e-12, atol=1e-6)
    assert merged.moments.n == whole.moments.n
    if whole.n:
        assert merged.min == whole.min and merged.max == whole.max
        assert merged.moments.mean == pytest.approx(whole.moments.mean, rel=1e-9, abs=1e-9)
        assert merged.moments.m2 == pytest.approx(whole.moments.m2, rel=1e-7, abs=1e-6)
    # small parts keep every value: the merged sample is the union, exactly
    if whole.n <= SAMPLE_CAP:
        np.testing.assert_array_equal(merged.sample, whole.sample)
        assert merged.sample_complete
    # frequent values: every count we report is a lower bound within the carried bound
    for v, cnt in merged.top.items():
        true = int((np.concatenate([xa, xb]) == v).sum())
        assert cnt <= true <= cnt + merged.top_omitted


def test_kll_merge_within_published_error() -> None:
    rng = np.random.default_rng(7)
    parts = [rng.lognormal(0, 1, 30_000) for _ in range(4)]
    profs = [NumericProfile.from_values(p, None) for p in parts]
    merged = profs[0]
    for p in profs[1:]:
        merged = merged.merge(p)
    allv = np.sort(np.concatenate(parts))
    sk = merged.kll()
    eps = sk.normalized_rank_error(False)
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        est = merged.quantile(q)
        rank = np.searchsorted(allv, est, side="right") / allv.size
        assert abs(rank - q) <= eps
    assert merged.quantiles is None and not merged.quantiles_exact


def test_merged_sample_is_uniform_over_parts() -> None:
    a = NumericProfile.from_values(np.zeros(30_000), None)
    b = NumericProfile.from_values(np.ones(10_000), None)
    m = a.merge(b)
    assert m.sample.size == SAMPLE_CAP
    share_ones = float(m.sample.mean())
    assert 0.2 < share_ones < 0.3  # 10k of 40k rows are ones


def test_top_values_find_a_sentinel() -> None:
    x = np.concatenate([np.arange(1000, dtype=float), np.full(300, -999.0)])
    p = NumericProfile.from_values(x, None)
    assert p.top[-999.0] == 300
    assert len(p.top) <= TOP_K


def test_spec_bins_ties_and_range() -> None:
    ref = np.array([1, 1, 1, 2, 2, 3, 3, 3, 3, 10], dtype=float)
    spec = NumericSpec.from_sorted(np.sort(ref))
    assert np.all(np.diff(spec.edges) > 0)
    assert spec.edges[0] < 1 and spec.edges[-1] == 10
    p = NumericProfile.from_values(np.array([0.0, 1, 2, 3, 11, 10]), spec)
    assert p.counts[0] == 1 and p.counts[-1] == 1  # below min, above max
    assert p.counts.sum() == 6


cats = st.lists(st.one_of(st.sampled_from(["a", "b", "c", "é", ""]), st.none()), max_size=100)


@given(cats, cats)
def test_category_merge_is_exact(a: list, b: list) -> None:
    pa_ = CategoryProfile.from_arrow(pa.array(a, pa.string()))
    pb = CategoryProfile.from_arrow(pa.array(b, pa.string()))
    whole = CategoryProfile.from_arrow(pa.array(a + b, pa.string()))
    m = pa_.merge(pb)
    assert m.counts == whole.counts and m.n == whole.n


def test_category_cap_switches_to_heavy_hitters() -> None:
    many = [f"id{i}" for i in range(MAX_EXACT + 500)] + ["hot"] * 5000
    p = CategoryProfile.from_arrow(pa.array(many))
    assert not p.exact
    assert abs(p.counts["hot"] - 5000) <= p.error_bound
    q = p.merge(p)
    assert abs(q.counts["hot"] - 10_000) <= q.error_bound


def test_comoments_match_pandas_pairwise_corr() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 3))
    x[:, 1] += 0.7 * x[:, 0]
    x[rng.random(2000) < 0.1, 2] = np.nan
    cm = CoMoments.empty(["a", "b", "c"], np.array([1000.0, -5.0, 0.0]))
    cm.update(x[:1200])
    other = CoMoments.empty(["a", "b", "c"], np.array([1000.0, -5.0, 0.0]))
    other.update(x[1200:])
    r = cm.merge(other).correlation
    want = pd.DataFrame(x, columns=["a", "b", "c"]).corr().to_numpy()
    np.testing.assert_allclose(r, want, atol=1e-10)


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(size=n),
        "k": rng.integers(0, 5, n),
        "c": rng.choice(["u", "v", "w"], n),
        "b": rng.random(n) < 0.3,
        "t": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 10_000, n), unit="min"),
        "s": [f"free text {i}" for i in rng.integers(0, 10**6, n)],
    })


def test_dataset_merge_equals_profile_of_union() -> None:
    ref = Reference.from_frame(_frame(5000, 0))
    a, b = _frame(3000, 1), _frame(4000, 2)
    pa_ = profile_source(open_source(a), ref.specs, ref.profile.correlation)
    pb = profile_source(open_source(b), ref.specs, ref.profile.correlation)
    whole = profile_source(open_source(pd.concat([a, b], ignore_index=True)), ref.specs, ref.profile.correlation)
    m = pa_.merge(pb)
    assert m.n_rows == whole.n_rows
    for name, col in whole.columns.items():
        got = m.columns[name]
        assert (got.n_rows, got.nulls, got.type_errors) == (col.n_rows, col.nulls, col.type_errors)
        if col.numeric is not None:
            np.testing.assert_array_equal(got.numeric.counts, col.numeric.counts)
        if col.categories is not None:
            assert got.categories.counts == col.categories.counts
    np.testing.assert_allclose(m.correlation.correlation, whole.correlation.correlation, atol=1e-12)


def _dumped(summary: object) -> str:
    return json.dumps(summary.to_dict(), sort_keys=True)  # type: ignore[attr-defined]


def test_plus_is_merge_and_leaves_both_parts_unchanged() -> None:
    """The verb set's contract (stats/mergeable.py): ``a + b`` is ``a.merge(b)``, a new summary, and
    neither part changes; for every mergeable profile a table's profile holds."""
    ref = Reference.from_frame(_frame(3000, 0))
    assert ref.multivariate is not None
    a, b = (profile_source(open_source(_frame(n, seed)), ref.specs, ref.profile.correlation, with_sketch=False,
                           multivariate=ref.multivariate, sample_rows=50, seed=seed)
            for n, seed in ((500, 1), (700, 2)))
    parts = [(a, b), (a.correlation, b.correlation), (a.multivariate, b.multivariate)]
    for name in ("x", "k", "c", "b", "t", "s"):
        ca, cb = a.columns[name], b.columns[name]
        parts.append((ca, cb))
        parts += [(getattr(ca, f), getattr(cb, f)) for f in ("numeric", "categories", "tokens", "unseen")
                  if getattr(ca, f) is not None]
    kinds = {type(x).__name__ for x, _ in parts}
    assert kinds == {"DatasetProfile", "CoMoments", "MultivariateProfile", "ColumnProfile", "NumericProfile",
                     "CategoryProfile", "UnseenCounts"}
    for x, y in parts:
        before = (_dumped(x), _dumped(y))
        total = x + y
        assert type(total) is type(x) and total is not x and total is not y
        assert _dumped(total) == _dumped(x.merge(y))
        assert (_dumped(x), _dumped(y)) == before
    assert (a + b).n_rows == 1200


def test_plus_refuses_a_summary_of_another_kind() -> None:
    p = NumericProfile.from_values(np.array([1.0, 2.0]), None)
    with pytest.raises(TypeError, match="unsupported operand type"):
        p + p.moments
    with pytest.raises(TypeError, match="unsupported operand type"):
        CategoryProfile() + 1


def test_every_public_stats_and_profile_class_has_a_doctest() -> None:
    """Each shows its use (build, update, merge, read) with numbers a reader can check; the suite runs them."""
    import importlib
    import inspect
    import pkgutil

    import argusml.profile
    import argusml.stats

    missing, seen = [], 0
    for pkg in (argusml.stats, argusml.profile):
        for info in pkgutil.iter_modules(pkg.__path__):
            mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
            for name, obj in vars(mod).items():
                if inspect.isclass(obj) and obj.__module__ == mod.__name__ and not name.startswith("_"):
                    seen += 1
                    if ">>>" not in (obj.__doc__ or ""):
                        missing.append(f"{mod.__name__}.{name}")
    assert seen >= 40 and not missing, missing


def test_profile_json_round_trip() -> None:
    ref = Reference.from_frame(_frame(3000, 0))
    d = json.loads(json.dumps(ref.profile.to_dict()))
    back = DatasetProfile.from_dict(d)
    assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(ref.profile.to_dict(), sort_keys=True)
    col = ColumnProfile.from_dict(ref.profile.columns["x"].to_dict())
    assert col.numeric.kll().get_quantile(0.5) == ref.profile.columns["x"].numeric.kll().get_quantile(0.5)


def test_reference_save_load_round_trip(tmp_path) -> None:
    ref = Reference.from_frame(_frame(3000, 0), target="b")
    path = tmp_path / "baseline.json"
    ref.save(path)
    text = path.read_text()
    assert text.startswith("{\n") and '"format": "argus-baseline"' in text  # human-readable, versioned
    back = Reference.load(path)
    assert back.target == "b"
    assert {n: s.kind for n, s in back.specs.items()} == {n: s.kind for n, s in ref.specs.items()}
    assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(ref.to_dict(), sort_keys=True)


def test_kind_inference() -> None:
    ref = Reference.from_frame(_frame(3000, 0))
    kinds = {n: s.kind.value for n, s in ref.specs.items()}
    assert kinds == {"x": "numeric", "k": "numeric", "c": "categorical", "b": "boolean", "t": "datetime", "s": "text"}
    over = Reference.from_frame(_frame(3000, 0), kinds={"k": "categorical"})
    assert over.specs["k"].kind.value == "categorical"


@pytest.mark.parametrize("lib", ["pandas", "polars", "arrow"])
def test_frames_of_every_library_profile_alike(lib: str) -> None:
    df = _frame(2000, 4).drop(columns=["t"])
    if lib == "polars":
        import polars as pl

        frame = pl.from_pandas(df)
    elif lib == "arrow":
        frame = pa.Table.from_pandas(df, preserve_index=False)
    else:
        frame = df
    ref = Reference.from_frame(frame)
    base = Reference.from_frame(df)
    for n in df.columns:
        assert ref.specs[n].kind == base.specs[n].kind
        a, b = ref.profile.columns[n], base.profile.columns[n]
        if a.numeric is not None:
            np.testing.assert_array_equal(a.numeric.counts, b.numeric.counts)
        else:
            assert a.categories.counts == b.categories.counts


def test_float64_values_matches_arrow_with_nulls_offsets_and_chunks() -> None:
    from argusml.profile.frame import float64_values

    base = pa.array([1.5, None, 3.0, None, 5.0, 6.0, None, 8.0, 9.0, 10.0, 11.0])
    chunked = pa.chunked_array([base.slice(3, 6), pa.array([], pa.float64()), base.slice(1, 4)])
    want = np.concatenate([np.asarray(c.to_numpy(zero_copy_only=False), dtype=float) for c in chunked.chunks])
    np.testing.assert_array_equal(float64_values(chunked), want)
    ints = pa.chunked_array([pa.array([1, None, 3], pa.int32()).slice(1)])
    np.testing.assert_array_equal(float64_values(ints), [np.nan, 3.0])


@settings(max_examples=150, deadline=None)
@given(st.one_of(
    st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), max_size=30),
    st.lists(st.one_of(st.none(), st.integers(-2**62, 2**62)), max_size=30),
    st.lists(st.one_of(st.none(), st.booleans()), max_size=30),
    st.lists(st.one_of(st.none(), st.sampled_from([-3.0, 0.0, 1.0, 2.0, 1e15, -0.0])), max_size=30),
    st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=30)))
def test_class_text_by_arrow_casts_spells_every_label_as_the_per_value_rule(values):
    """Labels are joined by their text: the vectorised spelling must equal the one-value-at-a-time rule."""
    import pyarrow as pa

    from argusml.profile.labelled import class_text, number_text

    arr = pa.chunked_array([pa.array(values)]) if values else pa.chunked_array([], pa.float64())

    def one(v):
        if v is None:
            return None
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return number_text(v)
        return str(v)

    assert class_text(arr).tolist() == [one(v) for v in arr.to_pylist()]
