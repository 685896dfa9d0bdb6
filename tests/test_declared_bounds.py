"""Declared expectations: ``columns.<name>.{min, max, allowed, max_missing}`` (docs/CHECKS.md).

Counts are compared with pandas on the same rows; the merge invariant (check the merge of two
profiles == check the profile of the union) is a hypothesis property, as windows and roll-ups rely on it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import argusml
from argusml.checks import QualityChecker
from argusml.profile import DatasetProfile, Reference, TableSource, profile_source
from argusml.profile.declared import resolve_declared
from argusml.schema import (
    DEFAULT_SEVERITY,
    ConfigError,
    Finding,
    InputError,
    ReportConfig,
    Severity,
    load_report_config,
)
from argusml.schema.model_config import ModelConfig
from argusml.service.server import load_config_dir
from service_util import T0, event, make_reference, reference_frame, write_config


def declared_findings(ref: object, current: pd.DataFrame, **config: object) -> list[Finding]:
    rep = argusml.report(ref, current, config=ReportConfig(**config))
    return [f for f in rep.findings if f.check == "declared_bound"]


def one(findings: list[Finding], column: str) -> Finding:
    (f,) = [f for f in findings if f.column == column]
    return f


@pytest.fixture(scope="module")
def kelvin() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A temperature in Kelvin whose reference already holds a few impossible negatives."""
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"temp": rng.normal(280, 20, 6000), "color": rng.choice(["red", "green", "blue"], 6000),
                        "ok": rng.random(6000) < 0.7})
    ref.loc[:20, "temp"] = -3.0
    cur = pd.DataFrame({"temp": rng.normal(280, 20, 4000), "color": rng.choice(["red", "green", "blue"], 4000),
                        "ok": rng.random(4000) < 0.7})
    return ref, cur


# -- numeric bounds -----------------------------------------------------------------------------------------
def test_min_max_counts_share_and_worst_match_pandas(kelvin):
    ref, cur = kelvin
    cur = cur.copy()
    cur.loc[0:9, "temp"] = -np.linspace(1, 10, 10)
    cur.loc[10, "temp"] = -np.inf
    cur.loc[11:15, "temp"] = np.nan
    cur.loc[16:18, "temp"] = [401.0, 500.5, np.inf]
    f = one(declared_findings(ref, cur, columns={"temp": {"min": 0, "max": 400}}), "temp")
    t = cur["temp"]
    present = int(t.notna().sum())  # infinities are values (they can be compared), NaN is missing
    below, above = int((t < 0).sum()), int((t > 400).sum())
    assert (below, above) == (11, 3)  # the hand count: ten negatives and -inf; 401, 500.5 and +inf
    ev = f.evidence
    assert ev["violated"] == ["min", "max"] and ev["exact"]
    assert ev["min"]["count"] == below and ev["min"]["share"] == below / present and ev["min"]["values"] == present
    assert ev["max"]["count"] == above and ev["max"]["share"] == above / present
    assert ev["min"]["worst"] == "-inf" and ev["max"]["worst"] == "inf"  # JSON cannot hold infinities: spelled
    assert f.severity is Severity.P1
    assert "11 of" in f.message and "below min 0" in f.message


def test_a_reference_with_negatives_does_not_hide_negatives(kelvin):
    """out_of_range compares with the reference's range, which already holds -3: it cannot see a -2.
    The declared min can, and says that the reference broke the contract too."""
    ref, cur = kelvin
    cur = cur.copy()
    cur.loc[:14, "temp"] = -2.0
    rep = argusml.report(ref, cur)
    assert not [f for f in rep.findings if f.column == "temp" and f.check in ("out_of_range", "declared_bound")]
    f = one(declared_findings(ref, cur, columns={"temp": {"min": 0}}), "temp")
    assert f.evidence["min"]["count"] == 15 and f.evidence["min"]["worst"] == -2.0
    assert f.evidence["min"]["reference_worst"] == -3.0
    assert "the reference's lowest was -3" in f.message


def test_values_within_the_declared_bounds_raise_nothing(kelvin):
    ref, cur = kelvin
    cfg = {"temp": {"min": float(cur.temp.min()), "max": float(cur.temp.max())},
           "color": {"allowed": ["red", "green", "blue"], "max_missing": 0.0}, "ok": {"allowed": [True, False]}}
    assert declared_findings(ref, cur, columns=cfg) == []
    nudged = {**cfg, "temp": {"min": float(np.nextafter(cur.temp.min(), np.inf))}}  # one value now lies below
    assert one(declared_findings(ref, cur, columns=nudged), "temp").evidence["min"]["count"] == 1


def test_datetime_bounds_take_iso_dates_and_report_iso_times():
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2021-01-01", tz="UTC")
    ref = pd.DataFrame({"t": start + pd.to_timedelta(rng.integers(0, 365 * 86400, 3000), unit="s")})
    cur = pd.DataFrame({"t": start + pd.to_timedelta(rng.integers(0, 365 * 86400, 2000), unit="s")})
    cur.loc[:4, "t"] = pd.Timestamp("1970-01-01", tz="UTC")  # a zero epoch: a classic broken default
    cur.loc[5, "t"] = pd.Timestamp("2031-06-01T12:00:00", tz="UTC")
    f = one(declared_findings(ref, cur, columns={"t": {"min": "2020-01-01", "max": "2030-01-01T00:00:00Z"}}), "t")
    assert f.evidence["min"] == {"bound": "2020-01-01T00:00:00+00:00", "count": 5, "share": 5 / 2000,
                                 "values": 2000, "worst": "1970-01-01T00:00:00+00:00", "exact": True}
    assert f.evidence["max"]["count"] == 1 and f.evidence["max"]["worst"] == "2031-06-01T12:00:00+00:00"
    assert "before min 2020-01-01" in f.message and "latest 2031-06-01" in f.message


# -- allowed values ----------------------------------------------------------------------------------------
def test_allowed_counts_and_top_offenders_match_pandas(kelvin):
    ref, cur = kelvin
    cur = cur.copy()
    cur.loc[:29, "color"] = "purple"
    cur.loc[30:34, "color"] = "Red"  # a spelling the contract does not allow
    cur.loc[35:39, "color"] = None  # missing is max_missing's business, not allowed's
    f = one(declared_findings(ref, cur, columns={"color": {"allowed": ["red", "green", "blue"]}}), "color")
    outside = cur.color[cur.color.notna() & ~cur.color.isin(["red", "green", "blue"])]
    ev = f.evidence["allowed"]
    assert ev["count"] == len(outside) == 35 and ev["share"] == 35 / int(cur.color.notna().sum())
    assert ev["top"] == outside.value_counts().to_dict() == {"purple": 30, "Red": 5}
    assert ev["exact"] and ev["top_exact"] and "reference_count" not in ev
    assert "'purple' (30)" in f.message


def test_allowed_on_boolean_and_integer_coded_columns():
    rng = np.random.default_rng(2)
    ref = Reference.from_frame(pd.DataFrame({"flag": rng.random(2000) < 0.5, "grade": rng.choice([1, 2, 3], 2000)}),
                               kinds={"grade": "categorical"})  # integer codes, declared categorical
    cur = pd.DataFrame({"flag": rng.random(1000) < 0.5, "grade": rng.choice([1, 2, 3, 4], 1000)})
    found = declared_findings(ref, cur, columns={"flag": {"allowed": ["yes"]}, "grade": {"allowed": [1, 2, 3.0]}})
    flag = one(found, "flag").evidence["allowed"]
    assert flag["count"] == int((~cur.flag).sum()) and flag["allowed"] == ["true"]
    assert flag["reference_count"] == ref.profile.columns["flag"].categories.counts["false"]  # said, not hidden
    grade = one(found, "grade").evidence["allowed"]
    assert grade["allowed"] == ["1", "2", "3"] and grade["count"] == int((cur.grade == 4).sum())
    assert grade["top"] == {"4": int((cur.grade == 4).sum())}


# -- max_missing -------------------------------------------------------------------------------------------
def _with_missing(n: int, missing: int) -> pd.DataFrame:
    x = np.arange(n, dtype=float)
    x[:missing] = np.nan
    return pd.DataFrame({"x": x})


def test_max_missing_is_a_contract_on_the_ratio():
    ref = _with_missing(1000, 0)
    f = one(declared_findings(ref, _with_missing(1000, 60), columns={"x": {"max_missing": 0.05}}), "x")
    assert f.severity is Severity.P1
    assert f.evidence["max_missing"] == {"bound": 0.05, "ratio": 0.06, "count": 60, "rows": 1000, "exact": True,
                                         "small_sample": False, "reference_ratio": 0.0}
    assert declared_findings(ref, _with_missing(1000, 50), columns={"x": {"max_missing": 0.05}}) == []  # at the bound


def test_max_missing_in_a_small_window_is_downgraded_unless_it_forbids_any():
    ref = _with_missing(1000, 0)
    small = _with_missing(20, 2)  # 10% of 20 rows: one row moves the ratio by 5 points
    f = one(declared_findings(ref, small, columns={"x": {"max_missing": 0.05}}), "x")
    assert f.severity is Severity.P2 and f.evidence["max_missing"]["small_sample"]
    assert "only 20 rows" in f.message
    f = one(declared_findings(ref, small, columns={"x": {"max_missing": 0.05}},
                              quality={"max_missing_min_rows": 20}), "x")
    assert f.severity is Severity.P1  # the threshold is a setting
    f = one(declared_findings(ref, small, columns={"x": {"max_missing": 0.0}}), "x")
    assert f.severity is Severity.P1 and not f.evidence["max_missing"]["small_sample"]  # "never missing": 1 breaks it
    both = one(declared_findings(ref, small, columns={"x": {"max_missing": 0.05, "max": 10}}), "x")
    assert both.severity is Severity.P1  # a value above max is a fact at any size: the finding keeps its tier


def test_severity_override_and_the_gate():
    ref, cur = _with_missing(1000, 0), _with_missing(1000, 0).assign(x=lambda d: d.x - 5)
    f = one(declared_findings(ref, cur, columns={"x": {"min": 0}}, severity={"declared_bound": "P0"}), "x")
    assert f.severity is Severity.P0
    assert DEFAULT_SEVERITY["declared_bound"] is Severity.P1


def test_report_json_carries_the_finding(kelvin):
    ref, cur = kelvin
    rep = argusml.report(ref, cur.assign(temp=lambda d: d.temp - 1000), config=ReportConfig(
        columns={"temp": {"min": 0}}))
    data = orjson.loads(rep.to_json())
    (f,) = [f for f in data["findings"] if f["check"] == "declared_bound"]
    assert f["column"] == "temp" and f["evidence"]["min"]["count"] == 4000
    assert "declared_bound" in rep.to_html()


# -- config validation -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("columns:\n  temp: {min: 5, max: 0}\n", "columns.temp: min (5) is above max (0)"),
    ("columns:\n  color: {allowed: []}\n", "columns.color.allowed: an empty list allows nothing"),
    ("columns:\n  temp: {max_missing: 5}\n", "columns.temp.max_missing: 5 is not a share in [0, 1]"),
    ("columns:\n  temp: {mni: 0}\n", "columns.temp.mni: unknown key; did you mean 'min'?"),
    ("columns:\n  temp: {min: cold}\n", "columns.temp.min: 'cold' is neither a number nor an ISO"),
    ("columns:\n  temp: {min: 0, max: 2020-01-01}\n", "must both be numbers or both dates"),
    ("columns:\n  color: {kind: categorical, min: 0}\n", "columns.color.min: a bound fits numeric"),
    ("columns:\n  color: {allowed: [red, null]}\n", "columns.color.allowed: null is not a value"),
    ("columns:\n  temp: {min: .nan}\n", "columns.temp.min: nan is not a finite number"),
])
def test_config_errors_at_load_name_the_column_and_key(tmp_path: Path, text: str, expected: str):
    p = tmp_path / "argus.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_report_config(p)
    assert str(exc.value).startswith(f"{p}: ") and expected in str(exc.value)


@pytest.mark.parametrize(("columns", "expected"), [
    ({"color": {"min": 0}}, "config: columns.color.min: a bound fits numeric and datetime columns; 'color' is "
                            "categorical in the reference (list its values in allowed)"),
    ({"temp": {"allowed": [1, 2]}}, "config: columns.temp.allowed: a list of values fits categorical and boolean "
                                    "columns; 'temp' is numeric in the reference (bound it with min/max)"),
    ({"tmep": {"max": 400}}, "config: columns.tmep: declares max, but the reference has no column 'tmep' "
                             "(did you mean 'temp'?)"),
    ({"ok": {"allowed": ["maybe"]}}, "config: columns.ok.allowed: 'maybe' is not a boolean value"),
    ({"temp": {"max": "2020-01-01"}}, "config: columns.temp.max: 'temp' is numeric in the reference; a date bound"),
])
def test_a_key_that_does_not_fit_the_reference_kind_is_an_error_before_profiling(kelvin, columns, expected):
    ref, cur = kelvin
    with pytest.raises(ConfigError) as exc:
        argusml.report(ref, cur, config=ReportConfig(columns=columns))
    assert str(exc.value).startswith(expected)


def test_a_number_bound_on_a_datetime_column_asks_for_a_date():
    frame = pd.DataFrame({"t": pd.date_range("2021-01-01", periods=200, freq="h", tz="UTC")})
    ref = Reference.from_frame(frame)
    with pytest.raises(ConfigError, match=r"columns\.t\.min: 't' is a datetime column: give the bound as an ISO"):
        resolve_declared(ReportConfig(columns={"t": {"min": 0}}), ref.specs, "config")


# -- exact and mergeable ----------------------------------------------------------------------------------
_MERGE_REF = None


def merge_reference() -> Reference:
    global _MERGE_REF
    if _MERGE_REF is None:
        rng = np.random.default_rng(3)
        _MERGE_REF = Reference.from_frame(pd.DataFrame({"x": rng.normal(size=3000),
                                                        "c": rng.choice(["a", "b", "c"], 3000)}))
    return _MERGE_REF


def _profile(ref: Reference, x: list[float], c: list[str | None], cfg: ReportConfig) -> DatasetProfile:
    table = pa.table({"x": pa.array(x, pa.float64()), "c": pa.array(c, pa.string())})
    return profile_source(TableSource.from_frame(table), ref.specs, None, parallel=False,
                          declared=resolve_declared(cfg, ref.specs, "config"))


def _roundtrip(p: DatasetProfile) -> DatasetProfile:
    """As a window stores it, and a roll-up reads it back."""
    return DatasetProfile.from_dict(orjson.loads(orjson.dumps(p.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY)))


def _check(ref: Reference, prof: DatasetProfile, cfg: ReportConfig) -> list[Finding]:
    declared = resolve_declared(cfg, ref.specs, "config")
    found = QualityChecker(ref, prof, cfg.quality, DEFAULT_SEVERITY, declared).run(["x", "c"])
    return [f for f in found if f.check == "declared_bound"]  # the other checks' top values merge within a bound


_values = st.one_of(st.floats(-5, 5, allow_nan=False), st.just(math.nan), st.just(math.inf), st.just(-math.inf))
_rows = st.lists(st.tuples(_values, st.sampled_from(["a", "b", "c", "zz", "q", None])), min_size=2, max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows, cut=st.floats(0, 1), lo=st.floats(-4, 4), width=st.floats(0, 6),
       allowed=st.sets(st.sampled_from(["a", "b", "c", "zz"]), min_size=1), max_missing=st.floats(0, 1))
def test_checking_a_merge_equals_checking_the_union(rows, cut, lo, width, allowed, max_missing):
    ref = merge_reference()
    cfg = ReportConfig(columns={"x": {"min": lo, "max": lo + width}, "c": {"allowed": sorted(allowed),
                                                                          "max_missing": max_missing}})
    x, c = [r[0] for r in rows], [r[1] for r in rows]
    k = min(len(rows) - 1, max(1, round(cut * len(rows))))
    union = _profile(ref, x, c, cfg)
    merged = _roundtrip(_profile(ref, x[:k], c[:k], cfg)).merge(_roundtrip(_profile(ref, x[k:], c[k:], cfg)))
    assert _check(ref, merged, cfg) == _check(ref, union, cfg)
    # and both are the truth
    xs = np.asarray(x)
    counts = merged.declared["x"]
    assert (counts.below, counts.above) == (int((xs < lo).sum()), int((xs > lo + width).sum()))
    assert merged.declared["c"].outside == sum(1 for v in c if v is not None and v not in allowed)


def test_parts_counted_against_other_bounds_fall_back_to_a_true_bracket():
    """A roll-up across a config change cannot add counts taken against different bounds: the check then
    brackets the count with the reference's bins and says it is not exact."""
    ref = merge_reference()
    rng = np.random.default_rng(4)
    x = rng.normal(size=6000)  # more than the 2,000-value sample: bins, not the sample, decide
    old, new = (ReportConfig(columns={"x": {"min": m}}) for m in (-2.0, -1.0))
    c = ["a"] * 3000
    merged = _profile(ref, list(x[:3000]), c, old).merge(_profile(ref, list(x[3000:]), c, new))
    assert "x" not in merged.declared
    f = one(_check(ref, merged, new), "x")
    ev, truth = f.evidence["min"], int((x < -1.0).sum())
    assert not ev["exact"] and not f.evidence["exact"]
    assert ev["count"] <= truth <= ev["count_max"] and ev["count_max"] - ev["count"] <= 0.02 * x.size
    assert ev["worst"] == float(x.min()) and "at least" in f.message
    small = _profile(ref, list(x[:500]), c[:500], old).merge(_profile(ref, list(x[500:1000]), c[:500], new))
    ev = one(_check(ref, small, new), "x").evidence["min"]  # a complete sample: exact after all
    assert ev["exact"] and ev["count"] == int((x[:1000] < -1.0).sum())


# -- the service ---------------------------------------------------------------------------------------------
DECLARED_YAML = {"checks": {"columns": {"x0": {"min": -3.0, "max": 3.0},
                                        "cat": {"allowed": ["a", "b", "c"], "max_missing": 0.0},
                                        "score": {"min": 0, "max": 1}}}}


@pytest.fixture
def served(tmp_path, running_monitor):
    """The model YAML read by `argus serve`'s loader, registered on a monitor with our clock (at T0, an hour
    boundary)."""
    ref = make_reference()
    (cfg, baseline), = load_config_dir(write_config(tmp_path / "models", ref, **DECLARED_YAML))[0]
    assert cfg.checks.columns["x0"].min == -3.0
    running = running_monitor((cfg, baseline))
    return running.monitor, running.client, running.clock, ref


def _events(rng: np.random.Generator, start: int, n: int, ts: float) -> list[dict]:
    evs = [event(start + i, rng, timestamp=ts) for i in range(n)]
    evs[0]["features"]["x0"] = -40.0
    evs[1]["features"]["x0"] = 55.0
    evs[2]["features"]["cat"] = "zz"
    evs[3]["features"]["cat"] = None
    return evs


@pytest.mark.service
def test_model_yaml_keys_produce_the_finding_in_windows_and_rollups(served):
    mon, client, clock, _ = served
    rng = np.random.default_rng(5)
    sent = []
    hour = T0 + 3600  # the monitor's clock only moves forward
    for t in (hour + 5, hour + 2405):  # two 5-minute windows of one hour
        clock.t = t + 1
        evs = _events(rng, 1000 * len(sent), 150, t)
        assert client.post("/v1/models/m/events", json=evs).json()["accepted"] == 150
        sent.append(evs)
    clock.t = hour + 3600 + 200  # past the hour's end and the lateness: its roll-up is due
    assert mon.wait_idle() and mon.wait_idle()

    def found(granularity: str) -> list[dict]:
        return [f for f in client.get("/v1/models/m/findings", params={"granularity": granularity, "segment": "*",
                                                                        "linked": True}
                                      ).json()["findings"] if f["check"] == "declared_bound"]

    fives = found("5m")
    x0 = [f for f in fives if f["column"] == "x0"]
    assert len(x0) == 2 and all(f["severity"] == "P1" for f in x0)
    for f, evs in zip(sorted(x0, key=lambda f: f["window_start"]), sent):
        xs = np.array([e["features"]["x0"] for e in evs])
        assert f["evidence"]["min"]["count"] == int((xs < -3).sum()) and f["evidence"]["min"]["worst"] == -40.0
        assert f["evidence"]["max"]["count"] == int((xs > 3).sum())
    cat = [f for f in fives if f["column"] == "cat"]
    assert len(cat) == 2 and all(f["evidence"]["allowed"]["top"] == {"zz": 1} for f in cat)
    assert all(f["evidence"]["max_missing"]["count"] == 1 for f in cat)
    assert not [f for f in fives if f["column"] == "score"]  # predictions in [0, 1]: the contract holds

    rolled = {f["column"]: f for f in found("1h")}
    assert all(f["repeats"]["granularity"] == 300.0 for f in rolled.values())  # restating its windows: linked
    all_x = np.array([e["features"]["x0"] for evs in sent for e in evs])
    assert rolled["x0"]["evidence"]["min"]["count"] == int((all_x < -3).sum())  # the roll-up adds the counts
    assert rolled["x0"]["evidence"]["exact"]
    assert rolled["cat"]["evidence"]["allowed"]["count"] == 2
    assert rolled["cat"]["evidence"]["max_missing"]["count"] == 2


@pytest.mark.service
def test_a_model_yaml_key_that_does_not_fit_the_baseline_is_refused(tmp_path, served):
    mon, client, _, ref = served
    bad = ModelConfig(model="m", checks={"columns": {"cat": {"min": 0}}})
    with pytest.raises(ConfigError, match=r"model 'm': checks: columns\.cat\.min: a bound fits numeric"):
        mon.register(bad, ref)
    r = client.put("/v1/models/m2", json={"config": {"checks": {"columns": {"x1": {"allowed": ["a"]}}}},
                                          "baseline": ref.to_dict()})
    assert r.status_code == 422 and "columns.x1.allowed" in str(r.json())
    retrained = Reference.from_frame(reference_frame(seed=2).assign(x0=lambda d: np.where(d.x0 > 0, "hi", "lo")),
                                     prediction="score")
    with pytest.raises(InputError, match=r"does not fit the model's declared bounds: .*columns\.x0\.min"):
        mon.set_version_reference("m", "v2", retrained)
    r = client.put("/v1/models/m/versions/v2/reference", json=retrained.to_dict())  # over HTTP: a 4xx, not a 500
    assert r.status_code == 422 and "columns.x0.min" in str(r.json()), r.text
    assert set(client.get("/v1/models/m").json()["references"]) == {"*"}  # nothing was replaced


def test_negative_zero_is_reported_as_zero_whatever_the_merge_order() -> None:
    """Found by the merge property: min(0.0, -0.0) keeps whichever came first, so a merge and the union
    named different worst values for the same data."""
    ref = merge_reference()
    cfg = ReportConfig(columns={"x": {"min": 1.0, "max": 1.0}})
    x, c = [0.0, -0.0], ["a", "a"]
    union = _profile(ref, x, c, cfg)
    merged = _roundtrip(_profile(ref, x[:1], c[:1], cfg)).merge(_roundtrip(_profile(ref, x[1:], c[1:], cfg)))
    assert _check(ref, merged, cfg) == _check(ref, union, cfg)
    assert "lowest 0;" in _check(ref, union, cfg)[0].message
