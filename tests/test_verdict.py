"""A window's verdict is one type (checks/verdict.py): built from check results, written as JSON, read back.

The JSON is what `/windows` and `/status` answer and what the store holds, so it must keep its shape; a row
written by an older release must read back whole. Checked on real check results: a numeric, a categorical and
a boolean prediction, with drift planted and without.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argusml.checks import run_checks
from argusml.checks.verdict import ColumnVerdict, MultivariateVerdict, WindowVerdict
from argusml.profile import Reference
from argusml.profile.dataset import profile_source
from argusml.profile.frame import TableSource
from argusml.schema import DriftStatus, Finding, Kind, Severity


def _frame(rng: np.random.Generator, n: int, shift: float, pred: str) -> pd.DataFrame:
    x = rng.normal(shift, 1, n)
    score = 1 / (1 + np.exp(-x))
    p = {"numeric": score, "boolean": score > 0.5, "class": np.where(score > 0.66, "hi", np.where(score > 0.33, "mid", "lo"))}
    return pd.DataFrame({"x": x, "c": rng.choice(list("abc"), n, p=[0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.3, 0.5]),
                         "m": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)), "pred": p[pred]})


def _results(pred: str, shift: float) -> tuple[object, Reference, object]:
    rng = np.random.default_rng(3)
    ref = Reference.from_frame(_frame(rng, 3000, 0.0, pred), prediction="pred")
    prof = profile_source(TableSource.from_frame(_frame(rng, 1500, shift, pred)), ref.specs, ref.profile.correlation,
                          parallel=False)
    return run_checks(ref, prof), ref, prof


# the JSON as the monitor wrote it before the verdict had a type (``_written_before`` below), for a
# numeric prediction with drift planted: keys, order and nesting must stay
STORED_BEFORE = {
    "status": "drift", "drifted_columns": ["x"], "n_tested": 4, "n_drifted": 1,
    "findings_by_severity": {"P0": 0, "P1": 1, "P2": 0, "P3": 0}, "alpha": 0.05, "n_rows": 1500,
    "columns": {"x": {"missing_ratio": 0.0, "drift": "drifted", "drifted": True, "method": "ks", "p_adjusted": 1e-9,
                      "effect": "wasserstein_iqr", "value": 0.3, "scores": {"psi": 0.2, "ks": 0.2}},
                "m": {"missing_ratio": 0.1}},
    "prediction": {"mean": 0.6}, "multivariate": {"status": "ok", "drifted": False},
    "insufficient_data": [], "quality_insufficient": None,
    "prediction_baseline": {"source": "model_reference", "reason": "its own"},
    "provisional_looks": {"looks": 2, "drifted_columns": ["x"], "confirmed": ["x"], "withdrawn": []},
}


@pytest.mark.parametrize("pred", ["numeric", "boolean", "class"])
@pytest.mark.parametrize("shift", [0.0, 0.8])
def test_the_typed_verdict_is_the_json_the_monitor_wrote(pred: str, shift: float) -> None:
    res, ref, prof = _results(pred, shift)
    v = WindowVerdict.of(res, ref, prof)
    assert v.to_dict() == _written_before(res, ref, prof)
    assert list(v.to_dict()) == list(_written_before(res, ref, prof))
    back = WindowVerdict.from_dict(orjson.loads(orjson.dumps(v.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY)))
    assert back == v
    if shift:
        assert "x" in v.drifted_columns and v.columns["x"].drifted and v.status == "drift"


def test_a_stored_verdict_reads_back_as_it_was_written() -> None:
    v = WindowVerdict.from_dict(STORED_BEFORE)
    assert v.to_dict() == STORED_BEFORE and list(v.to_dict()) == list(STORED_BEFORE)
    assert v.columns["m"] == ColumnVerdict(0.1) and v.columns["x"].scores == {"psi": 0.2, "ks": 0.2}


def test_an_older_row_without_the_newer_keys_reads_whole() -> None:
    old = {"status": "ok", "drifted_columns": [], "n_tested": 2, "n_drifted": 0,
           "findings_by_severity": {"P0": 0, "P1": 0, "P2": 0, "P3": 0}, "alpha": 0.05, "n_rows": 80, "columns": {},
           "prediction": None}
    v = WindowVerdict.from_dict(old)
    assert v.multivariate == MultivariateVerdict() and v.insufficient_data == [] and v.quality_insufficient is None
    assert v.to_dict() == {**old, "multivariate": {"status": None, "drifted": False}, "insufficient_data": [],
                           "quality_insufficient": None}


def test_with_findings_recounts_and_restates() -> None:
    v = WindowVerdict.from_dict({**STORED_BEFORE, "drifted_columns": [], "status": "warning"})
    p1 = Finding("out_of_range", "x", Severity.P1, "m", {})
    p0 = Finding("schema", "x", Severity.P0, "m", {})
    assert v.with_findings([]).status == "ok" and v.with_findings([]).findings_by_severity["P1"] == 0
    assert v.with_findings([p1]).status == "warning"
    assert v.with_findings([p1, p0]).status == "error" and v.with_findings([p0]).findings_by_severity["P0"] == 1
    assert WindowVerdict.from_dict(STORED_BEFORE).with_findings([]).status == "drift"  # drift stands without findings


def test_a_provisional_look_keeps_its_fields() -> None:
    look = {**STORED_BEFORE, "provisional": True, "look": 2, "looks_planned": 14, "looked_at": 1.7e9,
            "findings": [{"check": "drift", "column": "x", "severity": "P2", "message": "m", "evidence": {}}]}
    v = WindowVerdict.from_dict(look)
    assert v.provisional is not None and v.provisional["look"] == 2
    assert v.to_dict() == look


_num = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=32))
_columns = st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(
    st.builds(ColumnVerdict, _num),
    st.builds(ColumnVerdict, _num, st.sampled_from(["drifted", "stable", "insufficient_data"]), st.booleans(),
              st.sampled_from(["ks", "chi2", None]), _num, st.sampled_from(["psi", None]), _num,
              st.dictionaries(st.sampled_from(["psi", "ks", "js"]), st.floats(0, 10)))), max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.builds(WindowVerdict, st.sampled_from(["ok", "drift", "warning", "error"]), st.lists(st.text(max_size=5)),
                 st.integers(0, 99), st.integers(0, 99), st.just({"P0": 0, "P1": 1, "P2": 0, "P3": 2}),
                 st.sampled_from([0.05, 0.01]), st.integers(0, 10**6), _columns,
                 st.one_of(st.none(), st.just({"mean": 0.5})),
                 st.builds(MultivariateVerdict, st.sampled_from(["ok", "drift", None]), st.booleans(), _num),
                 reason=st.one_of(st.none(), st.text(max_size=10)), skipped_windows=st.one_of(st.none(), st.integers(0, 9))))
def test_json_round_trip(v: WindowVerdict) -> None:
    v.multivariate.error_p_adjusted = None if v.multivariate.error_increase is None else 0.5
    assert WindowVerdict.from_dict(orjson.loads(orjson.dumps(v.to_dict()))) == v


def _written_before(res: Any, reference: Reference, profile: Any) -> dict[str, Any]:
    """The monitor's window summary as it was before the verdict had a type (monitor/summary.py, removed):
    the oracle the typed verdict must equal."""
    v = res.verdict.to_dict()
    cols: dict[str, Any] = {}
    for name, cr in res.columns.items():
        d = cr.drift
        c: dict[str, Any] = {"missing_ratio": cr.current.missing_ratio if cr.current is not None else None}
        if d is not None:
            c.update({"drift": d.status.value, "drifted": d.status is DriftStatus.DRIFTED, "method": d.method,
                      "p_adjusted": d.p_adjusted, "effect": d.effect_method, "value": d.effect_value,
                      "scores": {k: x for k, x in d.scores.items() if x is not None and isinstance(x, (int, float))
                                 and math.isfinite(x)}})
        cols[name] = c
    pred: dict[str, Any] | None = None
    pname = reference.prediction
    if pname and pname in profile.columns:
        cp = profile.columns[pname]
        if cp.numeric is not None and cp.numeric.n:
            pred = {"mean": float(cp.numeric.moments.mean)}
        elif cp.categories is not None and cp.categories.n:
            n = cp.categories.n
            pred = {"class_ratio": {k: c / n for k, c in list(cp.categories.counts.items())[:50]}}
        if pred is not None and reference.specs[pname].kind is Kind.BOOLEAN and cp.categories is not None:
            pred["mean"] = cp.categories.counts.get("true", 0) / max(cp.categories.n, 1)
    return {"status": v["status"], "drifted_columns": v["drifted_columns"], "n_tested": v["n_tested"],
            "n_drifted": v["n_drifted"], "findings_by_severity": v["findings_by_severity"], "alpha": v["alpha"],
            "n_rows": profile.n_rows, "columns": cols, "prediction": pred,
            "multivariate": _mv_written_before(res.multivariate),
            "insufficient_data": v["insufficient_data"], "quality_insufficient": v.get("quality_insufficient")}


def _mv_written_before(mv: dict[str, Any]) -> dict[str, Any]:
    """The window's multivariate verdict and the two tests' effect sizes (the rest is in its finding)."""
    out: dict[str, Any] = {"status": mv.get("status"), "drifted": bool(mv.get("drifted"))}
    rec, clf = mv.get("reconstruction") or {}, mv.get("classifier") or {}
    if "relative_increase" in rec:
        out["error_increase"] = rec["relative_increase"]
        out["error_p_adjusted"] = rec["p_adjusted"]
    if "auc" in clf:
        out["classifier_auc"] = clf["auc"]
        out["classifier_p_adjusted"] = clf["p_adjusted"]
    return out
