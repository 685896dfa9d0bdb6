"""Messy data: Argus never crashes on it, and messiness alone raises no P0/P1.

Two kinds of test:

* messy but unchanged: reference and current come from the same generator
  (fixed seeds) with awkward columns - datetimes with and without zones,
  5,000 distinct ids, free text, zip-like integer codes, constant and
  all-null columns, booleans, mixed Python objects, infinities, pandas
  extension dtypes. The report must be written and no P0/P1 finding may
  arise (fixed seeds make this deterministic; the drift tests run at 5%
  family-wise, so a different seed could in principle draw a drift);
* planted problems: one defect put into a clean current frame must give the
  specific finding (check, column, severity) and the report must still be
  written.

The same cases run through the `argus` CLI on CSV files, and polars and
Arrow inputs must give the pandas answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import argusml

N = 2000
BLOCKING = {"P0", "P1"}
WORDS = np.array("the a model score drifted quietly over night customer paid late early refund shipped box blue "
                 "red never always very small large order support ticket closed opened again".split())


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _controls(rng: np.random.Generator, n: int) -> dict[str, object]:
    """Well-behaved columns that sit beside every messy one."""
    return {"amount": rng.lognormal(3, 1, n), "segment": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])}


def _times(rng: np.random.Generator, n: int, days: int = 30) -> pd.DatetimeIndex:
    return pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, days * 86400, n), unit="s")


def _sentences(rng: np.random.Generator, n: int) -> list[str]:
    return [" ".join(rng.choice(WORDS, int(k))).capitalize() + "." for k in rng.integers(3, 20, n)]


# -- messy but unchanged ---------------------------------------------------------------------------------------
# each case: (seed -> frame, {column: expected kind})


def _case_datetimes(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    t = _times(rng, N)
    utc = t.tz_localize("UTC")
    with_nulls = pd.Series(t).where(rng.random(N) > 0.05)
    return pd.DataFrame({"ts_naive": t, "ts_utc": utc, "ts_berlin": utc.tz_convert("Europe/Berlin"),
                         "ts_tokyo": utc.tz_convert("Asia/Tokyo"), "ts_nulls": with_nulls,
                         "day": pd.Series(t).dt.date, **_controls(rng, N)})


def _case_ids(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    n = 5000
    ids = rng.choice(10**9, n, replace=False)
    return pd.DataFrame({"user_id": [f"u-{i:09d}" for i in ids], "uuid_like": [f"{i:032x}" for i in rng.integers(0, 2**62, n)],
                         **_controls(rng, n)})


def _case_free_text(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    n = 5000
    return pd.DataFrame({"comment": _sentences(rng, n), **_controls(rng, n)})


def _case_integer_codes(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    zips = _rng(99).choice(np.arange(1000, 99951), 3000, replace=False)  # the same code book on both sides
    weights = 1.0 / np.arange(1, zips.size + 1)
    return pd.DataFrame({"zip": rng.choice(zips, N, p=weights / weights.sum()),
                         "store": rng.integers(100, 140, N), **_controls(rng, N)})


def _case_constant(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    return pd.DataFrame({"const_num": np.full(N, 7), "const_float": np.full(N, 0.5), "const_str": ["EUR"] * N,
                         "const_bool": np.ones(N, dtype=bool), **_controls(rng, N)})


def _case_all_null(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    return pd.DataFrame({"null_float": np.full(N, np.nan), "null_object": pd.Series([None] * N, dtype=object),
                         "null_int": pd.array([pd.NA] * N, dtype="Int64"),
                         "null_str": pd.Series([None] * N, dtype="string"), **_controls(rng, N)})


def _case_booleans(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    nullable = pd.array(np.where(rng.random(N) < 0.1, None, rng.random(N) < 0.4), dtype="boolean")
    return pd.DataFrame({"flag": rng.random(N) < 0.3, "flag_nullable": nullable,
                         "yes_no": np.where(rng.random(N) < 0.6, "yes", "no"), **_controls(rng, N)})


def _case_mixed_objects(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    v = rng.integers(0, 50, N)
    how = rng.integers(0, 3, N)
    mixed = np.array([int(x) if h == 0 else (str(x) if h == 1 else float(x)) for x, h in zip(v, how, strict=True)],
                     dtype=object)
    labels = np.array([str(x) if h else int(x) for x, h in zip(rng.integers(0, 5, N), how, strict=True)], dtype=object)
    return pd.DataFrame({"mixed_numbers": mixed, "mixed_labels": labels, **_controls(rng, N)})


def _case_extension_dtypes(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    return pd.DataFrame({
        "count_na": pd.array(np.where(rng.random(N) < 0.1, None, rng.integers(0, 10, N)), dtype="Int64"),
        "tier": pd.Categorical(rng.choice(["gold", "silver", "bronze"], N), categories=["gold", "silver", "bronze"]),
        "name": pd.Series(rng.choice(["ann", "bob", "cy", None], N), dtype="string"),
        "ratio32": rng.random(N).astype(np.float32),
        "small_int": rng.integers(0, 100, N).astype(np.int8),
        **_controls(rng, N),
    })


def _case_infinities(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    x = rng.normal(size=N)
    x[rng.random(N) < 0.01] = np.inf
    x[rng.random(N) < 0.005] = -np.inf
    return pd.DataFrame({"with_inf": x, **_controls(rng, N)})


SAME_DISTRIBUTION = {
    "datetimes": (_case_datetimes, {"ts_naive": "datetime", "ts_utc": "datetime", "ts_berlin": "datetime",
                                    "ts_tokyo": "datetime", "ts_nulls": "datetime", "day": "datetime"}),
    "high_cardinality_ids": (_case_ids, {"user_id": "identifier", "uuid_like": "identifier"}),
    "free_text": (_case_free_text, {"comment": "text"}),
    "integer_codes": (_case_integer_codes, {"zip": "numeric", "store": "numeric"}),
    "constant_both_sides": (_case_constant, {}),
    "all_null_both_sides": (_case_all_null, {}),
    "booleans": (_case_booleans, {"flag": "boolean", "flag_nullable": "boolean", "yes_no": "boolean"}),
    "mixed_objects": (_case_mixed_objects, {"mixed_numbers": "numeric"}),
    "extension_dtypes": (_case_extension_dtypes, {"count_na": "numeric", "tier": "categorical", "name": "categorical",
                                                  "ratio32": "numeric", "small_int": "numeric"}),
    "infinities": (_case_infinities, {"with_inf": "numeric"}),
}


def _blocking(rep: argusml.Report) -> list[str]:
    return [f"{f.severity.value} {f.check} {f.column}: {f.message}" for f in rep.findings if f.severity.value in BLOCKING]


def _find(rep: argusml.Report, check: str, column: str | None) -> list[argusml.Finding]:
    return [f for f in rep.findings if f.check == check and f.column == column]


def _written(rep: argusml.Report, tmp_path: Path) -> dict[str, object]:
    """The report saves as strict JSON (no NaN) and as HTML."""
    rep.save(tmp_path / "report.json")
    rep.save(tmp_path / "report.html")
    assert (tmp_path / "report.html").stat().st_size > 0
    return json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", list(SAME_DISTRIBUTION))
def test_messy_but_unchanged_raises_no_p0_p1(case: str, tmp_path: Path) -> None:
    make, kinds = SAME_DISTRIBUTION[case]
    ref, cur = make(1), make(2)
    rep = argusml.report(ref, cur)
    report = _written(rep, tmp_path)
    assert not _blocking(rep), _blocking(rep)
    columns = report["columns"]
    assert set(columns) == set(ref.columns)
    for col, kind in kinds.items():
        assert columns[col]["kind"] == kind, (col, columns[col]["kind"])
    for col, entry in columns.items():
        assert entry["drift"]["status"] != "drifted", (col, entry["drift"])
        assert entry["quality"]["type_errors"] == 0, (col, entry["quality"])


def test_datetimes_are_not_drift_tested_and_all_null_is_insufficient_data() -> None:
    rep = argusml.report(_case_datetimes(1), _case_datetimes(2)).to_dict()
    for col in ("ts_naive", "ts_utc", "ts_berlin", "ts_tokyo"):
        assert rep["columns"][col]["drift"]["status"] == "not_tested"
    rep = argusml.report(_case_all_null(1), _case_all_null(2)).to_dict()
    for col in ("null_float", "null_object", "null_int", "null_str"):
        assert rep["columns"][col]["drift"]["status"] == "insufficient_data", rep["columns"][col]["drift"]
        assert rep["columns"][col]["quality"]["missing_ratio"] == 1.0


def test_integer_codes_declared_categorical_raise_no_p0_p1() -> None:
    """Zip codes as categories: 3,000 codes, many seen on one side only."""
    ref = argusml.Reference.from_frame(_case_integer_codes(1), kinds={"zip": "categorical", "store": "categorical"})
    rep = argusml.report(ref, _case_integer_codes(2))
    assert rep.to_dict()["columns"]["zip"]["kind"] == "categorical"
    assert not _blocking(rep), _blocking(rep)


def test_iso_datetime_strings_in_csv(tmp_path: Path) -> None:
    """CSV files with ISO 8601 strings: naive, with offsets that change with
    DST, and dates only; they are read as datetimes, never as type errors."""
    def frame(seed: int) -> pd.DataFrame:
        rng = _rng(seed)
        utc = _times(rng, N, days=60).tz_localize("UTC")
        berlin = utc.tz_convert("Europe/Berlin")  # +01:00 and +02:00 (DST starts on 31 March)
        return pd.DataFrame({"naive": utc.tz_localize(None).strftime("%Y-%m-%dT%H:%M:%S"),
                             "offset": [t.isoformat() for t in berlin], "zulu": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "date": utc.strftime("%Y-%m-%d"), **_controls(rng, N)})
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    frame(1).to_csv(ref, index=False)
    frame(2).to_csv(cur, index=False)
    assert "+02:00" in cur.read_text() and "+01:00" in cur.read_text()
    rep = argusml.report(str(ref), str(cur))
    report = _written(rep, tmp_path)
    for col in ("naive", "offset", "zulu", "date"):
        assert report["columns"][col]["kind"] == "datetime", (col, report["columns"][col]["kind"])
        assert report["columns"][col]["quality"]["type_errors"] == 0
    assert not _blocking(rep), _blocking(rep)


# -- planted problems -----------------------------------------------------------------------------------------


def _clean(seed: int, n: int = N) -> pd.DataFrame:
    rng = _rng(seed)
    return pd.DataFrame({
        "id": [f"c{seed}-{i:06d}" for i in range(n)],
        "x": rng.normal(50, 10, n),
        "y": rng.gamma(2.0, 3.0, n),
        "amount": rng.lognormal(3, 1, n),
        "cat": rng.choice(list("abcde"), n),
        "k": rng.integers(0, 100, n),
    })


REF = _clean(1)
CUR = _clean(2)


def _ref(**kw: object) -> argusml.Reference:
    return argusml.Reference.from_frame(REF, id="id", **kw)


def _planted_rows(share: float, seed: int = 0) -> np.ndarray:
    return _rng(seed).choice(N, int(share * N), replace=False)


def test_clean_pair_has_no_findings_at_all() -> None:
    """The baseline for the planted tests: nothing fires on the clean pair."""
    rep = argusml.report(_ref(), CUR)
    assert rep.findings == [], [f.message for f in rep.findings]
    assert rep.to_dict()["columns"]["id"]["drift"]["status"] == "not_tested"


def _assert_finding(rep: argusml.Report, check: str, column: str | None, severity: str) -> argusml.Finding:
    found = _find(rep, check, column)
    assert found, f"no {check} finding for {column!r}; findings: {[(f.check, f.column) for f in rep.findings]}"
    assert found[0].severity.value == severity, found[0]
    return found[0]


def test_strings_in_a_numeric_column_are_type_errors(tmp_path: Path) -> None:
    cur = CUR.copy()
    cur["x"] = cur["x"].astype(object)
    rows = _planted_rows(0.01)
    cur.loc[rows, "x"] = np.where(np.arange(rows.size) % 2, "n/a", "12,5")
    rep = argusml.report(_ref(), cur)
    f = _assert_finding(rep, "type_errors", "x", "P1")
    assert f.evidence["count"] == rows.size
    report = _written(rep, tmp_path)
    assert report["columns"]["x"]["quality"]["type_errors"] == rows.size
    assert report["columns"]["x"]["drift"]["status"] == "stable"  # the other 99% are still tested
    assert {g.column for g in rep.findings if g.severity.value in BLOCKING} == {"x"}


def test_current_missing_half_the_columns(tmp_path: Path) -> None:
    dropped = ["y", "cat", "k"]
    rep = argusml.report(_ref(), CUR.drop(columns=dropped))
    for col in dropped:
        _assert_finding(rep, "missing_column", col, "P0")
    assert {f.column for f in rep.findings if f.check == "missing_column"} == set(dropped)
    report = _written(rep, tmp_path)
    for col in dropped:
        assert report["columns"][col]["quality"]["present"] is False
        assert report["columns"][col]["drift"]["status"] == "not_tested"
    assert report["verdict"]["status"] == "error"


def test_missing_target_is_p2_not_a_schema_break() -> None:
    """Labels often arrive later than the features."""
    ref = argusml.Reference.from_frame(REF.assign(label=_rng(5).integers(0, 2, N)), target="label")
    rep = argusml.report(ref, CUR)
    _assert_finding(rep, "missing_column", "label", "P2")
    assert not _blocking(rep), _blocking(rep)


def test_extra_columns_are_reported() -> None:
    cur = CUR.assign(extra_num=1.5, extra_text="hello")
    rep = argusml.report(_ref(), cur)
    for col in ("extra_num", "extra_text"):
        _assert_finding(rep, "extra_column", col, "P2")
    assert not _blocking(rep), _blocking(rep)


def test_column_that_became_all_null() -> None:
    rep = argusml.report(_ref(), CUR.assign(y=np.nan))
    f = _assert_finding(rep, "all_null", "y", "P0")
    assert f.evidence["nulls"] == N
    assert rep.to_dict()["columns"]["y"]["drift"]["status"] == "insufficient_data"


def test_sentinel_minus_999() -> None:
    cur = CUR.copy()
    cur.loc[_planted_rows(0.05), "amount"] = -999.0
    rep = argusml.report(_ref(), cur)
    f = _assert_finding(rep, "sentinel_value", "amount", "P1")
    assert f.evidence["value"] == -999.0
    assert f.evidence["share"] == pytest.approx(0.05)


def test_new_category_in_ten_percent_of_rows() -> None:
    cur = CUR.copy()
    cur.loc[_planted_rows(0.10), "cat"] = "zz-new"
    rep = argusml.report(_ref(), cur)
    f = _assert_finding(rep, "new_categories", "cat", "P2")
    assert "zz-new" in f.evidence["categories"]
    assert f.evidence["share"] == pytest.approx(0.10)


def test_duplicate_ids_with_id_role() -> None:
    cur = CUR.copy()
    cur.loc[:99, "id"] = cur.loc[100:199, "id"].to_numpy()
    rep = argusml.report(_ref(), cur)
    f = _assert_finding(rep, "duplicate_ids", "id", "P1")
    assert f.evidence["duplicates"] == 100
    # a column named like an identifier and distinct on every reference row is taken as the id
    assert _find(argusml.report(REF, cur), "duplicate_ids", "id")
    # under another name, without the id role, it is just text: no duplicate check
    renamed = {"id": "customer_code"}
    assert not _find(argusml.report(REF.rename(columns=renamed), cur.rename(columns=renamed)), "duplicate_ids",
                     "customer_code")


# -- the CLI on CSV files ---------------------------------------------------------------------------------------


def _argus(*args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "argusml.cli.main", *args], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "ARGUS_NO_PROGRESS": "1"})
    assert "Traceback" not in p.stderr, p.stderr
    assert "internal error" not in p.stderr, p.stderr
    return p


def _messy_csv_frame(seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    t = _times(rng, N)
    return pd.DataFrame({
        "when": t.strftime("%Y-%m-%dT%H:%M:%S"), "when_utc": t.tz_localize("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "user_id": [f"u-{i:09d}" for i in rng.choice(10**9, N, replace=False)],
        "comment": _sentences(rng, N), "zip": rng.integers(1000, 99951, N), "const": 7, "currency": "EUR",
        "empty": np.nan, "flag": rng.random(N) < 0.3, "with_inf": np.where(rng.random(N) < 0.01, np.inf, 1.0),
        "x": rng.normal(50, 10, N), "cat": rng.choice(list("abcde"), N),
    })


@pytest.mark.slow
def test_cli_check_on_messy_but_unchanged_csv_exits_0(tmp_path: Path) -> None:
    ref, cur, out = tmp_path / "ref.csv", tmp_path / "cur.csv", tmp_path / "out" / "report.json"
    _messy_csv_frame(1).to_csv(ref, index=False)
    _messy_csv_frame(2).to_csv(cur, index=False)
    p = _argus("check", "-r", str(ref), "-c", str(cur), "-o", str(out))
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["columns"]) == set(_messy_csv_frame(1).columns)
    assert not [f for f in report["findings"] if f["severity"] in BLOCKING]
    assert report["columns"]["when"]["kind"] == "datetime"


@pytest.mark.slow
def test_cli_report_with_half_the_columns_missing_exits_0(tmp_path: Path) -> None:
    ref, cur, out = tmp_path / "ref.csv", tmp_path / "cur.csv", tmp_path / "report.json"
    REF.to_csv(ref, index=False)
    CUR.drop(columns=["y", "cat", "k"]).to_csv(cur, index=False)
    p = _argus("report", "-r", str(ref), "-c", str(cur), "--format", "json", "-o", str(out))
    assert p.returncode == 0, p.stdout + p.stderr
    assert str(out) in p.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    missing = {(f["check"], f["column"], f["severity"]) for f in report["findings"] if f["check"] == "missing_column"}
    assert missing == {("missing_column", c, "P0") for c in ("y", "cat", "k")}


@pytest.mark.slow
def test_cli_check_on_planted_type_errors_exits_1(tmp_path: Path) -> None:
    ref, cur, out = tmp_path / "ref.csv", tmp_path / "cur.csv", tmp_path / "report.json"
    planted = CUR.copy()
    planted["x"] = planted["x"].astype(object)
    planted.loc[_planted_rows(0.01), "x"] = "oops"
    REF.to_csv(ref, index=False)
    planted.to_csv(cur, index=False)
    p = _argus("check", "-r", str(ref), "-c", str(cur), "-o", str(out))
    assert p.returncode == 1, p.stdout + p.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert ("type_errors", "x", "P1") in {(f["check"], f["column"], f["severity"]) for f in report["findings"]}


@pytest.mark.slow
def test_cli_unusable_current_file_exits_2_without_traceback(tmp_path: Path) -> None:
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    REF.to_csv(ref, index=False)
    cur.write_text(",".join(REF.columns) + "\n", encoding="utf-8")  # a header and no rows
    p = _argus("report", "-r", str(ref), "-c", str(cur), "-o", str(tmp_path / "r.json"))
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.startswith("argus: error:") and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "r.json").exists()


# -- pandas, polars and Arrow agree ---------------------------------------------------------------------------


def _library_frame(seed: int, shifted: bool) -> pd.DataFrame:
    rng = _rng(seed)
    t = _times(rng, N)
    return pd.DataFrame({
        "x": rng.normal(0.5 if shifted else 0.0, 1, N),
        "y": rng.gamma(2.0, 3.0, N),
        "k": rng.integers(0, 20, N),
        "cat": rng.choice(list("abc"), N, p=[0.2, 0.3, 0.5] if shifted else [0.5, 0.3, 0.2]),
        "color": rng.choice(["red", "green", None], N),
        "flag": rng.random(N) < 0.3,
        "ts": t, "ts_utc": t.tz_localize("UTC"),
        "user_id": [f"u-{i:09d}" for i in rng.choice(10**9, N, replace=False)],
        "comment": _sentences(rng, N),
        "empty": np.full(N, np.nan), "const": np.full(N, 3),
        "with_nan": np.where(rng.random(N) < 0.2, np.nan, rng.normal(size=N)),
    })


def _statuses(rep: argusml.Report) -> dict[str, tuple[str, str]]:
    return {c: (e["kind"], e["drift"]["status"]) for c, e in rep.to_dict()["columns"].items()}


def _checks(rep: argusml.Report) -> set[tuple[str, str | None, str]]:
    return {(f.check, f.column, f.severity.value) for f in rep.findings}


def test_polars_and_arrow_inputs_match_pandas() -> None:
    ref, cur = _library_frame(1, shifted=False), _library_frame(2, shifted=True)
    by_pandas = argusml.report(ref, cur)
    want = _statuses(by_pandas)
    assert want["x"][1] == "drifted" and want["cat"][1] == "drifted"
    assert want["y"][1] == "stable"
    inputs = {
        "polars": (pl.from_pandas(ref), pl.from_pandas(cur)),
        "arrow": (pa.Table.from_pandas(ref, preserve_index=False), pa.Table.from_pandas(cur, preserve_index=False)),
        "polars reference, arrow current": (pl.from_pandas(ref), pa.Table.from_pandas(cur, preserve_index=False)),
    }
    for name, (r, c) in inputs.items():
        rep = argusml.report(r, c)
        assert _statuses(rep) == want, name
        assert _checks(rep) == _checks(by_pandas), name


# -- regressions: each was a false alarm or a miss found on messy data -------------------------------------------


def test_type_errors_at_the_reference_rate_are_not_reported() -> None:
    def frame(seed: int, bad: int) -> pd.DataFrame:
        rng = _rng(seed)
        v = rng.integers(0, 50, N).astype(object)
        v[rng.choice(N, bad, replace=False)] = "n/a"
        return pd.DataFrame({"v": v})
    rep = argusml.report(frame(1, 20), frame(2, 21))  # 1.00% vs 1.05% "n/a"
    assert not _find(rep, "type_errors", "v"), [f.message for f in rep.findings]


def test_rare_values_absent_by_chance_is_not_constant_column() -> None:
    def frame(seed: int, ones: int) -> pd.DataFrame:
        v = np.zeros(N)
        v[_rng(seed).choice(N, ones, replace=False)] = 1.0
        return pd.DataFrame({"rare": v, "x": _rng(seed).normal(size=N)})
    # P(no 1 in 2000 rows | reference rate 3/2000) is about 5%: not evidence of a constant column
    rep = argusml.report(frame(1, 3), frame(2, 0))
    assert not _find(rep, "constant_column", "rare"), [f.message for f in rep.findings]


def test_infinities_at_the_reference_rate_are_not_out_of_range() -> None:
    rep = argusml.report(_case_infinities(1), _case_infinities(2))
    assert not _find(rep, "out_of_range", "with_inf"), [f.message for f in rep.findings]


def test_arrow_string_view_categories_are_categorical() -> None:
    rng = _rng(0)
    ref = pa.table({"s": pa.array(rng.choice(list("abc"), N)).cast(pa.string_view())})
    cur = pa.table({"s": pa.array(np.where(rng.random(N) < 0.9, "a", "b")).cast(pa.string_view())})
    rep = argusml.report(ref, cur)
    assert rep.to_dict()["columns"]["s"]["kind"] == "categorical"
    assert "s" in rep.drifted_columns
