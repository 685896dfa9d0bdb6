"""Columns of every size: exact category counts, valid tests on sketches, near-unique text and identifiers.

A random split of a column must stay quiet however many levels it has, and a real change must still be
found. Exact counts are checked against a direct computation on the full columns; the sketch path and the
unseen-mass test against simulation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial import distance as spd

import argusml
import argusml.profile.categorical as categorical
import argusml.profile.unseen as unseen_mod
from argusml.checks.drift import column_drift
from argusml.profile import CategoryProfile, ColumnProfile, ColumnSpec, Reference, infer_kind
from argusml.profile.unseen import SeenValues, UnseenCounts, hash_strings
from argusml.schema import DriftThresholds, Kind, Role
from argusml.stats import unseen_mass_test
from argusml.stats.tests import PSI_EPSILON


def _zipf_codes(rng: np.random.Generator, levels: int, n: int, a: float = 1.1) -> np.ndarray:
    w = 1.0 / np.arange(1, levels + 1) ** a
    return rng.choice(levels, size=n, p=w / w.sum())


def _strings(codes: np.ndarray, prefix: str = "L") -> pa.ChunkedArray:
    return pa.chunked_array([pc.binary_join_element_wise(prefix, pc.cast(pa.array(codes), pa.string()), "")])


def _categorical(arr: pa.ChunkedArray) -> ColumnProfile:
    cats = CategoryProfile.from_arrow(arr)
    return ColumnProfile(Kind.CATEGORICAL, len(arr), arr.null_count, 0, categories=cats)


SPEC = ColumnSpec("c", Kind.CATEGORICAL, Role.FEATURE, "string")


def _pooled(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The documented pooling, written out independently: categories whose combined count is below
    5 * N / min(n_r, n_c) share one cell (folded into the smallest large cell if that one is still small)."""
    need = 5.0 * (r.sum() + c.sum()) / min(r.sum(), c.sum())
    t = r + c
    small = t < need
    if small.sum() <= 1:
        return r, c
    if (~small).sum() == 0:
        return np.array([r.sum()]), np.array([c.sum()])
    pr, pcur = r[small].sum(), c[small].sum()
    r, c = r[~small].copy(), c[~small].copy()
    if pr + pcur >= need:
        return np.append(r, pr), np.append(c, pcur)
    j = int(np.argmin(r + c))
    r[j] += pr
    c[j] += pcur
    return r, c


@pytest.mark.slow  # columns of up to 200,000 levels, counted and tested: seconds
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levels=st.one_of(st.integers(1, 60), st.integers(61, 5_000), st.integers(5_001, 200_000)),
       seed=st.integers(0, 2**31), share=st.floats(0.2, 0.8))
@example(levels=1, seed=0, share=0.5)
@example(levels=95_000, seed=1, share=0.5)  # both sides exact, near the cap
@example(levels=200_000, seed=2, share=0.5)  # past the cap: sketched, and said so
def test_exact_counts_give_the_direct_computation(levels: int, seed: int, share: float) -> None:
    """TVD, PSI, JS and chi-square from the profiles equal a direct computation on the full columns
    (pandas value_counts, scipy) whenever both profiles are exact; past the cap the result says approximate."""
    rng = np.random.default_rng(seed)
    n = max(2 * levels, 400)
    codes = _zipf_codes(rng, levels, n)
    cut = int(share * n)
    ref_arr, cur_arr = _strings(codes[:cut]), _strings(codes[cut:])
    ref, cur = _categorical(ref_arr), _categorical(cur_arr)
    res = column_drift(SPEC, ref, cur, DriftThresholds(), 50)
    vr = pd.Series(ref_arr.to_pylist()).value_counts()
    vc = pd.Series(cur_arr.to_pylist()).value_counts()
    exact = vr.size <= categorical.MAX_EXACT and vc.size <= categorical.MAX_EXACT
    assert ref.categories is not None and cur.categories is not None
    assert ref.categories.exact == (vr.size <= categorical.MAX_EXACT)
    if not exact:
        assert res.evidence["sketch"]["approximate"] is True
        assert not res.exact
        return
    assert res.exact and "sketch" not in res.evidence
    both = pd.concat([vr.rename("r"), vc.rename("c")], axis=1).fillna(0.0)
    r, c = both["r"].to_numpy(float), both["c"].to_numpy(float)
    p, q = r / r.sum(), c / c.sum()
    assert res.scores["tvd"] == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-12)
    pe, qe = np.maximum(p, PSI_EPSILON), np.maximum(q, PSI_EPSILON)
    assert res.scores["psi"] == pytest.approx(float(np.sum((qe - pe) * np.log(qe / pe))), rel=1e-12, abs=1e-12)
    assert res.scores["js"] == pytest.approx(float(spd.jensenshannon(p, q, base=2.0)), abs=1e-12)
    pr, pcur = _pooled(r, c)
    if pr.size >= 2:
        chi2, pval, _dof, _ = sps.chi2_contingency(np.vstack([pr, pcur]), correction=False)
        assert res.scores["chi2"] == pytest.approx(chi2, rel=1e-12, abs=1e-9)
        assert res.evidence.get("p_chi2", res.p_value) == pytest.approx(pval, rel=1e-9, abs=1e-300)


def test_a_3900_level_column_is_counted_exactly_and_a_random_split_stays_quiet() -> None:
    """The case from the field: a 337k-row table, a string column of about 3,900 levels, random halves.
    Exact counts (no sketch), a valid chi-square, no drift."""
    rng = np.random.default_rng(7)
    codes = _zipf_codes(rng, 3900, 337_000, a=0.9)
    df = pd.DataFrame({"tailnum": [f"N{c:04d}" for c in codes]})
    order = rng.permutation(len(df))
    ref, cur = df.iloc[order[: len(df) // 2]], df.iloc[order[len(df) // 2:]]
    rep = argusml.report(ref, cur)
    col = rep.to_dict()["columns"]["tailnum"]
    assert col["kind"] == "categorical"
    assert col["drift"]["status"] == "stable", col["drift"]
    assert col["drift"]["test"]["exact"] is True
    assert col["summary"]["reference"]["exact"] is True


@pytest.mark.parametrize("seed", range(6))
def test_sketched_counts_stay_valid_on_random_splits(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the exact cap forced low, both sides are frequent-items sketches: a random split is never
    drifted (the old test compared sketch estimates as if exact and said TVD 0.4, p 0)."""
    monkeypatch.setattr(categorical, "MAX_EXACT", 500)
    rng = np.random.default_rng(seed)
    codes = _zipf_codes(rng, 3900, 120_000, a=1.0)
    ref, cur = _categorical(_strings(codes[:60_000])), _categorical(_strings(codes[60_000:]))
    assert ref.categories is not None and not ref.categories.exact
    res = column_drift(SPEC, ref, cur, DriftThresholds(), 50)
    assert res.p_value is not None and res.p_value > 0.05, res
    assert res.evidence["sketch"]["categories_tested"] > 10
    assert res.scores["tvd"] < 0.025


def test_sketched_counts_still_find_a_real_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """5% of rows moving to a new category, and 3% moving into an existing one, are found on sketches."""
    monkeypatch.setattr(categorical, "MAX_EXACT", 500)
    rng = np.random.default_rng(1)
    codes = _zipf_codes(rng, 3900, 120_000, a=1.0)
    ref = _categorical(_strings(codes[:60_000]))
    new = codes[60_000:].copy()
    new[rng.random(new.size) < 0.05] = 99_999
    res = column_drift(SPEC, ref, _categorical(_strings(new)), DriftThresholds(), 50)
    assert res.p_value is not None and res.p_value < 1e-6 and res.effect_passed
    moved = codes[60_000:].copy()
    moved[rng.random(moved.size) < 0.03] = 5
    res = column_drift(SPEC, ref, _categorical(_strings(moved)), DriftThresholds(), 50)
    assert res.p_value is not None and res.p_value < 1e-6 and res.effect_passed


def test_sketch_bounds_contain_the_true_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(categorical, "MAX_EXACT", 200)
    rng = np.random.default_rng(3)
    codes = _zipf_codes(rng, 20_000, 200_000, a=1.0)
    arr = _strings(codes)
    prof = CategoryProfile.from_arrow(arr)
    truth = pd.Series(arr.to_pylist()).value_counts()
    assert not prof.exact and prof.error_bound > 0
    for key in [*truth.index[:300], "never-there"]:
        lo, hi = prof.bounds(key)
        assert lo <= truth.get(key, 0) <= hi, key


# -- kinds ------------------------------------------------------------------------------------------------


def test_kinds_follow_the_distinct_ratio() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    titles = pa.chunked_array([[f"the {rng.integers(10**7)} story of {rng.integers(10**7)}" for _ in range(n)]])
    codes = pa.chunked_array([[f"AB{rng.integers(10**9):09d}" for _ in range(n)]])
    many = _strings(_zipf_codes(rng, 3000, n))
    assert infer_kind(titles) is Kind.TEXT
    assert infer_kind(codes) is Kind.IDENTIFIER
    assert infer_kind(many) is Kind.CATEGORICAL  # 3,000 levels, but each repeats: categories
    assert infer_kind(pc.dictionary_encode(titles)) is Kind.TEXT  # how Parquet and pandas hand strings over
    assert infer_kind(pc.dictionary_encode(many)) is Kind.CATEGORICAL


# -- the hash ---------------------------------------------------------------------------------------------


def test_hash_is_stable_across_versions_and_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored baselines hold these hashes: a change of the function would make every value unseen."""
    words = ["", "a", "b", "ab", "ba", "héllo wörld", "x" * 1000]
    h = hash_strings(pa.array(words))
    assert [int(v) for v in h[:5]] == GOLDEN
    assert len(set(h.tolist())) == len(words)
    monkeypatch.setattr(unseen_mod, "_CHUNK_BYTES", 3)  # every string its own chunk, some longer than one
    assert np.array_equal(hash_strings(pa.array(words)), h)
    assert np.array_equal(hash_strings(pa.array(["zz", *words]).slice(1)), h)  # offsets of a slice
    assert np.array_equal(hash_strings(pa.array(words, pa.large_string())), h)


GOLDEN = [16294208416658607535, 1150141624382495772, 9453152626207465773, 4772695815158872895,
          540437257455403556]


# -- near-unique columns: the unseen-mass test ----------------------------------------------------------------


def _titles(rng: np.random.Generator, n: int, vocabulary: int = 400_000, prefix: str = "title") -> list[str]:
    """Titles from a long-tailed population: mostly one-off, some repeated (sequels, remakes)."""
    ids = _zipf_codes(rng, vocabulary, n, a=0.6)
    return [f"{prefix} {i} part {i % 3}" for i in ids]


def test_unseen_mass_test_by_hand() -> None:
    r = unseen_mass_test(1000, 600, 100, 500, 330)
    gt = 0.6
    var = 0.6 * 0.4 / 500 + (600 + 200) / 1000**2 - 600**2 / 1000**3
    z = (0.66 - gt) / math.sqrt(var)
    assert r.expected == pytest.approx(gt)
    assert r.statistic == pytest.approx(z)
    assert r.p_value == pytest.approx(sps.norm.sf(z))
    assert r.effect == pytest.approx(0.06 / 0.4)


def test_unseen_mass_test_holds_its_level_on_random_splits() -> None:
    """200 random splits of a near-unique column: rejections at 5% stay near 5%."""
    rng = np.random.default_rng(11)
    population = np.array(_titles(rng, 400_000), dtype=object)
    p_values = []
    for _ in range(200):
        rows = population[rng.integers(0, population.size, 4000)]
        seen = SeenValues.from_arrow(pa.array(rows[:2000]))
        u = seen.count_unseen(pa.array(rows[2000:]))
        p_values.append(unseen_mass_test(seen.rows, seen.singletons, seen.doubletons, u.rows, u.unseen).p_value)
    rate = float(np.mean(np.array(p_values) < 0.05))
    assert 0.01 <= rate <= 0.10, rate


def test_random_split_of_near_unique_columns_is_quiet_and_a_new_population_is_not() -> None:
    rng = np.random.default_rng(5)
    n = 60_000
    df = pd.DataFrame({"title": _titles(rng, n), "sku": [f"SKU{v:08d}" for v in rng.integers(0, 10**8, n)],
                       "x": rng.normal(size=n)})
    order = rng.permutation(n)
    ref, cur = df.iloc[order[: n // 2]], df.iloc[order[n // 2:]]
    rep = argusml.report(ref, cur)
    cols = rep.to_dict()["columns"]
    assert cols["title"]["kind"] == "text" and cols["sku"]["kind"] == "identifier"
    for name in ("title", "sku"):
        drift = cols[name]["drift"]
        assert drift["status"] == "stable", drift
        assert drift["evidence"]["unseen"]["expected_share"] == pytest.approx(
            drift["evidence"]["unseen"]["current_share"], abs=0.02)
    assert cols["title"]["cardinality"]["distinct_ratio"] >= 0.5
    assert not rep.findings
    # the same column, now titles of another catalogue: as long, as many words, but never seen
    other = cur.copy()
    other["title"] = _titles(np.random.default_rng(6), len(other), prefix="TITLE")
    rep = argusml.report(ref, other)
    drift = rep.to_dict()["columns"]["title"]["drift"]
    assert drift["status"] == "drifted", drift
    assert drift["effect"]["method"] == "unseen"
    assert [f.column for f in rep.findings if f.check == "drift"] == ["title"]
    assert "unseen values" in rep.findings[0].message


def test_identical_near_unique_data_never_drifts() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"title": _titles(rng, 5000)})
    rep = argusml.report(df, df)
    drift = rep.to_dict()["columns"]["title"]["drift"]
    assert drift["status"] == "stable"
    assert drift["evidence"]["unseen"]["current_share"] == 0.0


def test_sampled_value_set_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_HASHES the reference keeps a bottom-k sample of its values; counts on both sides are over
    the same sub-population, so the estimate agrees with the full set's within its error."""
    rng = np.random.default_rng(8)
    rows = np.array(_titles(rng, 40_000), dtype=object)
    ref, cur = pa.array(rows[:20_000]), pa.array(rows[20_000:])
    full = SeenValues.from_arrow(ref)
    monkeypatch.setattr(unseen_mod, "MAX_HASHES", 3000)
    part = SeenValues.from_arrow(ref, max_hashes=3000)
    assert part.sampled and not full.sampled and part.hashes.size == 3000
    u_full, u_part = full.count_unseen(cur), part.count_unseen(cur)
    assert u_part.rows < u_full.rows
    assert u_part.unseen / u_part.rows == pytest.approx(u_full.unseen / u_full.rows, abs=0.03)
    assert part.singletons / part.rows == pytest.approx(full.singletons / full.rows, abs=0.03)
    back = SeenValues.from_dict(part.to_dict())
    assert back.cut == part.cut and np.array_equal(back.hashes, part.hashes)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=6), min_size=1, max_size=60),
       st.lists(st.text(min_size=0, max_size=6), min_size=1, max_size=60),
       st.lists(st.text(min_size=0, max_size=6), min_size=1, max_size=60))
def test_unseen_counts_merge_like_the_union(ref: list[str], a: list[str], b: list[str]) -> None:
    seen = SeenValues.from_arrow(pa.array(ref))
    merged = seen.count_unseen(pa.array(a)).merge(seen.count_unseen(pa.array(b)))
    assert merged == seen.count_unseen(pa.array(a + b))
    assert merged.unseen == sum(1 for v in a + b if v not in set(ref))
    assert UnseenCounts.from_dict(merged.to_dict()) == merged


def test_a_baseline_keeps_what_the_unseen_test_needs(tmp_path: object) -> None:
    """Saved and loaded, a baseline gives the same near-unique verdict as the frame it was learned from."""
    import pathlib

    rng = np.random.default_rng(4)
    df = pd.DataFrame({"title": _titles(rng, 8000)})
    path = pathlib.Path(str(tmp_path)) / "base.json"
    Reference.from_frame(df.iloc[:4000]).save(path)
    assert "title 1" not in path.read_text()  # hashes, not the text
    a = argusml.report(df.iloc[:4000], df.iloc[4000:]).to_dict()["columns"]["title"]["drift"]
    b = argusml.report(str(path), df.iloc[4000:]).to_dict()["columns"]["title"]["drift"]
    assert a["evidence"]["unseen"] == b["evidence"]["unseen"]


# -- effect sizes net of noise, and the quality checks on many levels ---------------------------------------


def test_noise_of_a_distance_matches_simulation() -> None:
    """Under one shared distribution the measured TVD averages what ``net_distance`` calls its noise."""
    from argusml.stats import net_distance, total_variation

    rng = np.random.default_rng(0)
    p = 1.0 / np.arange(1, 201) ** 1.1
    p /= p.sum()
    tvds, noises = [], []
    for _ in range(300):
        r, c = rng.multinomial(4000, p), rng.multinomial(6000, p)
        tvds.append(total_variation(r, c))
        noises.append(net_distance(r, c).tvd_noise)
    assert float(np.mean(noises)) == pytest.approx(float(np.mean(tvds)), rel=0.08)
    nd = net_distance(np.array([50.0, 50.0]), np.array([50.0, 50.0]))
    assert nd.tvd_noise == pytest.approx(0.5 * math.sqrt(2 / math.pi) * 2 * math.sqrt(0.25 * (2 / 100)))
    assert nd.psi_noise == pytest.approx(1 * (2 / 100)) and nd.tvd_net == 0.0


def test_a_random_split_of_many_levels_has_no_effect_and_a_move_into_one_level_does() -> None:
    rng = np.random.default_rng(1)
    codes = _zipf_codes(rng, 3900, 120_000, a=1.0)
    ref = _categorical(_strings(codes[:60_000]))
    quiet = column_drift(SPEC, ref, _categorical(_strings(codes[60_000:])), DriftThresholds(), 50)
    assert quiet.scores["tvd"] > 0.05 and quiet.scores["tvd_net"] < 0.01  # raw TVD is mostly noise
    moved = codes[60_000:].copy()
    moved[rng.random(moved.size) < 0.03] = 5
    res = column_drift(SPEC, ref, _categorical(_strings(moved)), DriftThresholds(), 50)
    assert res.effect_method == "tvd" and 0.025 < res.effect_value < 0.035 and res.effect_passed


def test_many_levels_do_not_vanish_or_appear_on_a_random_split() -> None:
    """A 3,900-level column: some rare levels land on one side only, by chance; neither vanished nor new
    categories are findings then (Bonferroni over the levels; Good-Turing with its own variance)."""
    rng = np.random.default_rng(9)
    codes = _zipf_codes(rng, 3900, 40_000, a=0.9)
    df = pd.DataFrame({"code": [f"C{c}" for c in codes]})
    for seed in range(4):
        order = np.random.default_rng(seed).permutation(len(df))
        rep = argusml.report(df.iloc[order[:20_000]], df.iloc[order[20_000:]])
        assert not [f for f in rep.findings if f.check in ("vanished_categories", "new_categories")], rep.findings
    gone = df[df["code"] != "C0"]  # the most frequent level, ~10% of rows, disappears
    rep = argusml.report(df.iloc[:20_000], gone.iloc[-15_000:])
    assert [f.column for f in rep.findings if f.check == "vanished_categories"] == ["code"]


# -- the service: window profiles of near-unique and many-level columns ---------------------------------------


@pytest.mark.service
def test_the_service_tests_text_columns_in_windows_and_rollups(tmp_path) -> None:
    """A model with a title column (text) and a 2,000-level code: clean windows stay quiet, a window of
    titles from another catalogue is drifted on the unseen share, and so is the hour roll-up that holds it."""
    from argusml.service.server import load_config_dir
    from service_util import Clock, start_monitor, write_config

    t0 = 1_800_000_000.0
    rng = np.random.default_rng(12)
    n = 6000
    ref_frame = pd.DataFrame({"title": _titles(rng, n), "code": [f"K{c}" for c in _zipf_codes(rng, 2000, n, a=0.8)],
                              "x": rng.normal(size=n), "score": rng.random(n)})
    ref = Reference.from_frame(ref_frame, prediction="score")
    assert ref.specs["title"].kind is Kind.TEXT and ref.specs["code"].kind is Kind.CATEGORICAL
    (cfg, baseline), = load_config_dir(write_config(tmp_path / "models", ref, window="5m"))[0]
    clock = Clock(t0)
    running = start_monitor(tmp_path / "data", (cfg, baseline), clock=clock)
    mon, store = running.monitor, running.store
    try:
        client = running.client
        hour = t0 + 3600
        starts = (hour + 5, hour + 305, hour + 605)
        for k, t in enumerate(starts):
            titles = _titles(rng, 800, prefix="TITLE" if k == 2 else "title")
            codes = _zipf_codes(rng, 2000, 800, a=0.8)
            evs = [{"id": f"{k}-{i}", "timestamp": t, "prediction": float(rng.random()),
                    "features": {"title": titles[i], "code": f"K{codes[i]}", "x": float(rng.normal())}}
                   for i in range(800)]
            clock.t = t + 1
            assert client.post("/v1/models/m/events", json=evs).json()["accepted"] == 800
        clock.t = hour + 3600 + 200
        assert mon.wait_idle() and mon.wait_idle()
        windows = client.get("/v1/models/m/windows", params={"granularity": "5m", "segment": "*"}).json()["windows"]
        by_start = {w["start"]: w["verdict"]["columns"] for w in windows}
        assert len(by_start) == 3
        statuses = [by_start[k]["title"]["drift"] for k in sorted(by_start)]
        assert statuses == ["stable", "stable", "drifted"], by_start
        assert all(by_start[k]["code"]["drift"] == "stable" for k in by_start)
        found = client.get("/v1/models/m/findings", params={"granularity": "5m", "segment": "*"}).json()["findings"]
        assert [(f["check"], f["column"]) for f in found if f["severity"] in ("P0", "P1")] == [("drift", "title")]
        assert "unseen values" in next(f for f in found if f["column"] == "title")["message"]
        # the roll-up merged the windows' profiles, unseen counts included (their sum is tested above)
        hourly = client.get("/v1/models/m/windows", params={"granularity": "1h", "segment": "*"}).json()["windows"]
        assert len(hourly) == 1 and hourly[0]["verdict"]["n_rows"] == 2400
        assert hourly[0]["verdict"]["columns"]["title"]["drift"] == "drifted"
    finally:
        mon.stop()
        store.close()


def test_a_report_counts_exactly_past_the_cap_that_kept_profiles_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sketch cannot tell rows spread over many new one-off categories from its own error; a report's
    throwaway profiles stay exact up to MAX_EXACT_ONCE levels and find them, while a saved baseline (kept)
    switches to the sketch at MAX_EXACT."""
    monkeypatch.setattr(categorical, "MAX_EXACT", 1000)
    rng = np.random.default_rng(4)
    codes = _zipf_codes(rng, 3900, 200_000, a=0.9)
    df = pd.DataFrame({"code": [f"N{c}" for c in codes]})
    ref, cur = df.iloc[:100_000], df.iloc[100_000:].copy()
    spread = rng.random(len(cur)) < 0.05  # 5% of rows to one-off new codes
    cur.loc[spread, "code"] = [f"NEW{i}" for i in range(int(spread.sum()))]
    rep = argusml.report(ref, cur).to_dict()["columns"]["code"]
    assert rep["drift"]["test"]["exact"] and rep["drift"]["status"] == "drifted", rep["drift"]
    assert rep["summary"]["reference"]["exact"]
    assert not Reference.from_frame(ref).profile.columns["code"].categories.exact  # type: ignore[union-attr]


@pytest.mark.parametrize("seed", range(4))
def test_a_sketched_baseline_against_exact_current_counts_stays_valid(seed: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A saved baseline past the cap holds a sketch, while a report counts the current data exactly: the
    current side is sketched alike before the test. Compared raw, the sketch's upper-bound estimates beside
    exact counts leaned every kept category one way and a clean split tested p < 1e-14."""
    monkeypatch.setattr(categorical, "MAX_EXACT", 500)
    rng = np.random.default_rng(seed)
    codes = _zipf_codes(rng, 20_000, 120_000, a=1.0)
    df = pd.DataFrame({"code": [f"Z{c}" for c in codes]})
    baseline = Reference.from_frame(df.iloc[:60_000])
    assert not baseline.profile.columns["code"].categories.exact  # type: ignore[union-attr]
    col = argusml.report(baseline, df.iloc[60_000:]).to_dict()["columns"]["code"]
    assert col["drift"]["test"]["p_value"] > 0.05, col["drift"]
    assert col["drift"]["evidence"]["sketch"]["approximate"] is True
    assert col["cardinality"]["distinct"] > 5000 and col["cardinality"]["distinct_exact"]
