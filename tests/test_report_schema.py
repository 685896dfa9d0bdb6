"""The report JSON keeps the contract of DESIGN.md "Report JSON".

Dashboards, CI gates and other tools read this JSON without importing Argus,
so its shape is published as a JSON Schema (argusml/reports/report.schema.json)
and every report built here must validate against it. The schema must also
be strict enough to reject broken reports, or it guarantees nothing: the
negative cases below are mutations a careless refactor could make.

Frames are built here (5,000 rows, like the 100k benchmark's columns, with
planted shifts) so the test needs no data files and runs in about a second.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator

import argusml

N = 5_000


def _schema() -> dict[str, Any]:
    text = resources.files("argusml.reports").joinpath("report.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _bench_like_frames(n: int = N, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small cousin of the benchmark: normals, lognormals, uniforms, integers, categories,
    a column with nulls, a prediction and a target; the current frame carries planted drifts
    (mean shift, variance change, sentinel, new category, frequency swap)."""
    rng = np.random.default_rng(seed)

    def frame(drift: bool) -> pd.DataFrame:
        d: dict[str, Any] = {}
        for i, (mu, sd) in enumerate([(0, 1), (50, 10), (-3, 2), (100, 15)]):
            shift = {2: 1.0}.get(i, 0.0) if drift else 0.0
            scale = math.sqrt(2) if drift and i == 3 else 1.0
            d[f"norm_{i}"] = rng.normal(mu + shift, sd * scale, n)
        for i in range(2):
            d[f"lognorm_{i}"] = rng.lognormal(3, 1, n)
            d[f"unif_{i}"] = rng.uniform(0, 1, n)
        age = rng.integers(18, 91, n).astype(float)
        if drift:
            age[rng.random(n) < 0.05] = -999.0
        d["int_0"] = age
        d["int_1"] = rng.poisson(3, n).astype(float)
        p5 = np.array([0.384, 0.221, 0.160, 0.128, 0.107])
        if drift:
            p5 = p5[[0, 2, 1, 3, 4]]
        d["cat_5"] = rng.choice([f"cat_5_{i:02d}" for i in range(5)], n, p=p5 / p5.sum())
        cat10 = rng.choice([f"cat_10_{i:02d}" for i in range(10)], n).astype(object)
        if drift:
            cat10[rng.random(n) < 0.1] = "cat_10_NEW"
        d["cat_10"] = cat10
        d["cat_50"] = rng.choice([f"cat_50_{i:02d}" for i in range(50)], n)
        nn = rng.normal(5, 2, n)
        nn[rng.random(n) < 0.05] = np.nan
        d["nan_norm"] = nn
        score = 1 / (1 + np.exp(-(d["norm_0"] + 0.02 * (d["norm_1"] - 50))))
        d["prediction"] = score
        d["target"] = (rng.random(n) < score).astype(int)
        return pd.DataFrame(d)

    return frame(False), frame(True)


@pytest.fixture(scope="module")
def bench_report() -> dict[str, Any]:
    ref, cur = _bench_like_frames()
    return argusml.report(ref, cur, target="target", prediction="prediction").to_dict()


@pytest.fixture(scope="module")
def kinds_report() -> dict[str, Any]:
    """Every column kind, a column missing from the current data, and a new category."""
    rng = np.random.default_rng(11)
    n = 2_000
    ref = pd.DataFrame({
        "amount": rng.gamma(2.0, 10.0, n),
        "channel": rng.choice(["web", "app", "store"], n, p=[0.5, 0.3, 0.2]),
        "is_member": rng.random(n) < 0.3,
        "seen_at": pd.date_range("2024-01-01", periods=n, freq="min"),
        "comment": [f"free-text note number {i} about order {i * 7919 % 10007}" for i in range(n)],
        "legacy_score": rng.normal(size=n),
    })
    cur = ref.drop(columns=["legacy_score"]).copy()
    cur["channel"] = rng.choice(["web", "app", "store", "kiosk"], n, p=[0.4, 0.3, 0.2, 0.1])
    return argusml.report(ref, cur).to_dict()


@pytest.fixture(scope="module")
def tiny_report() -> dict[str, Any]:
    """Too few current rows to test anything: every tested column is insufficient_data."""
    ref, cur = _bench_like_frames(n=1_000, seed=3)
    return argusml.report(ref, cur.head(12), target="target", prediction="prediction").to_dict()


def _errors(validator: Draft202012Validator, report: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(report)]


def _assert_invariants(report: dict[str, Any]) -> None:
    """What the schema cannot say: relations between fields."""
    cols = report["columns"]
    for name, col in cols.items():
        drift = col["drift"]
        assert drift["drifted"] == (drift["status"] == "drifted"), name
        if drift["status"] == "drifted":
            assert drift["test"]["p_adjusted"] < drift["test"]["alpha"], name
            assert drift["effect"]["value"] >= drift["effect"]["threshold"], name
        dist = col.get("distribution")
        if dist and dist["type"] == "numeric":
            assert len(dist["edges"]) == len(dist["reference"]) + 1 == len(dist["current"]) + 1, name
            assert all(b >= a for a, b in itertools.pairwise(dist["edges"])), name
            for side in ("reference", "current"):
                total = sum(dist[side]) + dist["below"][side] + dist["above"][side]
                assert total == pytest.approx(1.0, abs=1e-6), (name, side)
        elif dist and dist["type"] == "categorical":
            assert len(dist["categories"]) == len(dist["reference"]) == len(dist["current"]), name
            for side in ("reference", "current"):
                total = sum(dist[side]) + (dist.get("other") or {}).get(side, 0.0)
                assert total == pytest.approx(1.0, abs=1e-6), (name, side)
    verdict = report["verdict"]
    assert set(verdict["drifted_columns"]) == {n for n, c in cols.items() if c["drift"]["status"] == "drifted"}
    counts = {s: sum(1 for f in report["findings"] if f["severity"] == s) for s in ("P0", "P1", "P2")}
    assert verdict["findings_by_severity"] == counts
    assert {f["column"] for f in report["findings"] if f["column"] is not None} <= set(cols)


def _strict_json(report: dict[str, Any]) -> None:
    """No NaN or Infinity may reach the file: JSON has neither, and other parsers reject them."""

    def refuse(token: str) -> None:
        raise AssertionError(f"non-JSON number {token} in the report")

    text = json.dumps(report, allow_nan=False)
    assert json.loads(text, parse_constant=refuse) == report


def test_bench_like_report_validates(validator: Draft202012Validator, bench_report: dict[str, Any]) -> None:
    assert _errors(validator, bench_report) == []
    _assert_invariants(bench_report)
    _strict_json(bench_report)
    # the planted shifts exercise the "drifted" branch of the schema, not only "stable"
    verdict = bench_report["verdict"]
    assert verdict["status"] == "drift"
    assert {"norm_2", "cat_10"} <= set(verdict["drifted_columns"])
    assert bench_report["columns"]["prediction"]["role"] == "prediction"
    assert bench_report["columns"]["target"]["role"] == "target"
    assert bench_report["correlations"]["tested"] is True


def test_kinds_and_missing_column_validate(validator: Draft202012Validator, kinds_report: dict[str, Any]) -> None:
    assert _errors(validator, kinds_report) == []
    _assert_invariants(kinds_report)
    _strict_json(kinds_report)
    cols = kinds_report["columns"]
    assert {c["kind"] for c in cols.values()} == {"numeric", "categorical", "boolean", "datetime", "text"}
    gone = cols["legacy_score"]
    assert gone["quality"]["present"] is False
    assert gone["drift"]["status"] == "not_tested" and gone["drift"]["test"] is None
    assert any(f["check"] == "missing_column" and f["severity"] == "P0" for f in kinds_report["findings"])
    assert kinds_report["verdict"]["status"] == "error"
    assert cols["channel"]["distribution"]["type"] == "categorical"
    assert "kiosk" in cols["channel"]["distribution"]["categories"]


def test_insufficient_data_validates(validator: Draft202012Validator, tiny_report: dict[str, Any]) -> None:
    assert _errors(validator, tiny_report) == []
    _assert_invariants(tiny_report)
    statuses = {c["drift"]["status"] for c in tiny_report["columns"].values()}
    assert statuses == {"insufficient_data"}
    assert tiny_report["verdict"]["status"] != "drift"


def _first(report: dict[str, Any], status: str) -> dict[str, Any]:
    return next(c for c in report["columns"].values() if c["drift"]["status"] == status)


Mutation = Callable[[dict[str, Any]], None]


def _set_status_maybe(r: dict[str, Any]) -> None:
    _first(r, "stable")["drift"]["status"] = "maybe"


def _drifted_flag_on_stable(r: dict[str, Any]) -> None:
    _first(r, "stable")["drift"]["drifted"] = True


def _drifted_without_test(r: dict[str, Any]) -> None:
    _first(r, "drifted")["drift"]["test"] = None


def _drifted_without_effect(r: dict[str, Any]) -> None:
    _first(r, "drifted")["drift"]["effect"] = None


def _drifted_flag_off(r: dict[str, Any]) -> None:
    _first(r, "drifted")["drift"]["drifted"] = False


def _verdict_maybe(r: dict[str, Any]) -> None:
    r["verdict"]["status"] = "maybe"


def _verdict_ok_despite_drift(r: dict[str, Any]) -> None:
    r["verdict"]["status"] = "ok"


def _severity_p3(r: dict[str, Any]) -> None:
    r["findings"][0]["severity"] = "P3"


def _finding_without_evidence(r: dict[str, Any]) -> None:
    del r["findings"][0]["evidence"]


def _finding_column_number(r: dict[str, Any]) -> None:
    r["findings"][0]["column"] = 3


def _no_findings_key(r: dict[str, Any]) -> None:
    del r["findings"]


def _schema_version_2(r: dict[str, Any]) -> None:
    r["schema_version"] = 2


def _kind_float(r: dict[str, Any]) -> None:
    _first(r, "stable")["kind"] = "float"


def _role_label(r: dict[str, Any]) -> None:
    _first(r, "stable")["role"] = "label"


def _present_without_missing_ratio(r: dict[str, Any]) -> None:
    del _first(r, "stable")["quality"]["missing_ratio"]


def _p_value_above_one(r: dict[str, Any]) -> None:
    _first(r, "stable")["drift"]["test"]["p_adjusted"] = 1.5


def _nan_became_string(r: dict[str, Any]) -> None:
    _first(r, "stable")["drift"]["scores"]["psi"] = "NaN"


def _generated_at_not_a_time(r: dict[str, Any]) -> None:
    r["generated_at"] = "yesterday"


def _numeric_distribution_without_edges(r: dict[str, Any]) -> None:
    col = next(c for c in r["columns"].values() if (c["distribution"] or {}).get("type") == "numeric")
    del col["distribution"]["edges"]


@pytest.mark.parametrize("mutate", [
    _set_status_maybe, _drifted_flag_on_stable, _drifted_without_test, _drifted_without_effect, _drifted_flag_off,
    _verdict_maybe, _verdict_ok_despite_drift, _severity_p3, _finding_without_evidence, _finding_column_number,
    _no_findings_key, _schema_version_2, _kind_float, _role_label, _present_without_missing_ratio,
    _p_value_above_one, _nan_became_string, _generated_at_not_a_time, _numeric_distribution_without_edges,
], ids=lambda f: f.__name__.strip("_"))
def test_schema_rejects_broken_reports(validator: Draft202012Validator, bench_report: dict[str, Any],
                                       mutate: Mutation) -> None:
    broken = copy.deepcopy(bench_report)
    mutate(broken)
    assert _errors(validator, broken), f"the schema accepted a report broken by {mutate.__name__}"


def test_report_quality_ratios_are_the_checks_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's out_of_range_ratio and new-category share are the numbers the checks judged, by one rule:
    out of range counts rows past the reference's min/max and infinities, over rows with a number; new
    categories are counted only against an exact reference (a sketch cannot tell a new level from a rare one
    it dropped), so a sketched reference reports no count rather than a wrong one."""
    import argusml.profile.categorical as categorical
    import argusml.profile.column as column

    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 4000), "c": rng.choice(list("abcd"), 4000)})
    cur = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 3700), np.full(250, 50.0), np.full(50, np.inf)],
                        "c": np.r_[rng.choice(list("abcd"), 3600), np.full(400, "new")]})
    rep = argusml.report(ref, cur)
    cols = rep.to_dict()["columns"]
    by_check = {f.check: f for f in rep.findings}
    assert cols["x"]["quality"]["out_of_range_ratio"] == by_check["out_of_range"].evidence["share"]
    assert cols["x"]["quality"]["out_of_range_ratio"] == pytest.approx((250 + 50 + (cur.x.iloc[:3700] > ref.x.max()).sum()
                                                                        + (cur.x.iloc[:3700] < ref.x.min()).sum()) / 4000)
    assert cols["c"]["quality"]["new_category_ratio"] == by_check["new_categories"].evidence["share"] == 0.1
    assert cols["c"]["quality"]["new_categories"] == by_check["new_categories"].evidence["count"] == 1
    # a reference past the exact cap keeps a sketch: no new-category count, and no finding either
    monkeypatch.setattr(categorical, "MAX_EXACT", 2)
    monkeypatch.setattr(column, "MAX_EXACT_ONCE", 2)
    sketched = argusml.report(ref, cur)
    quality = sketched.to_dict()["columns"]["c"]["quality"]
    assert "new_categories" not in quality and "new_category_ratio" not in quality
    assert quality["categories"] == 5
    assert not [f for f in sketched.findings if f.check == "new_categories"]


def test_the_chart_coarsens_with_few_current_rows() -> None:
    """Rice's rule (2 n^(1/3) bars, 10 to 50): 150 rows get 11 regular bars (and the decile edges), not 60;
    the tail edges a decision rests on stay, and each side still sums to one."""
    from argusml.reports.model import chart_bins

    assert [chart_bins(n) for n in (0, 100, 150, 1_000, 15_625, 10**6)] == [10, 10, 11, 20, 50, 50]
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"x": rng.normal(size=20_000)})
    bars = {}
    for n in (150, 20_000):
        dist = argusml.report(ref, pd.DataFrame({"x": rng.normal(size=n)})).to_dict()["columns"]["x"]["distribution"]
        for side in ("reference", "current"):
            assert sum(dist[side]) + dist["below"][side] + dist["above"][side] == pytest.approx(1.0, abs=1e-9)
        bars[n] = len(dist["current"])
    assert bars[150] <= 2 * chart_bins(150) + 2 and 2 * bars[150] <= bars[20_000]
