"""Real tables: random halves of one table look alike to Argus; real shifts do not.

The tables ship offline: scikit-learn's bundled data sets (``load_*``, never
``fetch_*``) and two public-domain CSVs under tests/data/ (see the README
there). Each table is split into random halves with fixed seeds; one half is
the reference and the other the current data. Such halves come from the same
distribution, so Argus must not page anyone about them:

* no P0/P1 quality finding in any split (quality checks are meant to be
  significance-tested, so sampling noise must not reach P0/P1);
* drift is Holm-corrected at 5% family-wise per report, so over all
  tables x seeds a drifted column is allowed in a few splits, but in no more
  than 10% of them.

Splitting the same tables by a meaningful variable (season, sex, class)
gives a real shift, which must be found and named.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as skd

import argusml

DATA = Path(__file__).resolve().parent / "data"
SEEDS = (0, 1, 2, 3, 4)
DRIFT_CHECKS = {"drift", "prediction_drift", "target_drift"}
BLOCKING = {"P0", "P1"}


def _sklearn(name: str, **kw: object) -> Callable[[], tuple[pd.DataFrame, str | None]]:
    def load() -> tuple[pd.DataFrame, str | None]:
        frame = getattr(skd, f"load_{name}")(as_frame=True, **kw).frame
        return frame, ("target" if "target" in frame.columns else None)

    return load


def _csv(name: str) -> Callable[[], tuple[pd.DataFrame, str | None]]:
    return lambda: (pd.read_csv(DATA / name), None)


TABLES: dict[str, Callable[[], tuple[pd.DataFrame, str | None]]] = {
    "iris": _sklearn("iris"),
    "wine": _sklearn("wine"),
    "breast_cancer": _sklearn("breast_cancer"),
    "diabetes": _sklearn("diabetes"),
    "digits": _sklearn("digits"),
    "linnerud": _sklearn("linnerud"),
    "seattle_weather": _csv("seattle-weather.csv"),
    "airports": _csv("airports.csv"),
}

# Random halves of load_digits on which Argus raises P1 quality findings that
# are sampling noise (see the reasons); remove once argusml is fixed.
_DIGITS_SENTINEL = ("argusml bug: sentinel_value (P1) fires on random halves of load_digits: pixel columns take "
                    "17 integer values, each top value is tested at p < 1e-3 with no correction over the "
                    "~1000 (column, value) pairs of a report, e.g. 'the value 9 now holds 6.01% of pixel_4_5 "
                    "(reference: 2.34%)'")
_DIGITS_CONSTANT = ("argusml bug: constant_column (P1) fires on random halves of load_digits: pixel_2_0 is 0 in "
                    "894 of 898 reference rows and in all 899 current rows; with a reference rate of 0.45% "
                    "non-zero, an all-zero half has probability ~2%, so this is noise, not a constant column")


@functools.cache
def _table(name: str) -> tuple[pd.DataFrame, str | None]:
    return TABLES[name]()


def _halves(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(df))
    half = len(df) // 2
    return (df.iloc[order[:half]].reset_index(drop=True), df.iloc[order[half:]].reset_index(drop=True))


@functools.cache
def _split_report(name: str, seed: int) -> argusml.Report:
    df, target = _table(name)
    ref, cur = _halves(df, seed)
    return argusml.report(ref, cur, target=target)


def _fired(rep: argusml.Report) -> str:
    return "; ".join(f"{f.severity.value} {f.check} {f.column}: {f.message}" for f in rep.findings) or "nothing"


def _split_params() -> list[object]:
    params = []
    for name in TABLES:
        for seed in SEEDS:
            params.append(pytest.param(name, seed, id=f"{name}-seed{seed}"))
    return params


def test_tables_load_with_their_known_shapes() -> None:
    """The bundled tables (no network: load_*, files in tests/data) are what they claim to be."""
    shapes = {name: _table(name)[0].shape for name in TABLES}
    assert shapes["iris"] == (150, 5)
    assert shapes["digits"] == (1797, 65)
    assert shapes["seattle_weather"] == (1461, 6)
    assert shapes["airports"] == (3376, 7)
    airports = _table("airports")[0]
    assert airports["city"].isna().sum() > 0, "airports.csv is expected to have missing cities"


@pytest.mark.parametrize(("name", "seed"), _split_params())
def test_random_half_raises_no_blocking_quality_finding(name: str, seed: int) -> None:
    rep = _split_report(name, seed)
    df, _ = _table(name)
    report = json.loads(rep.to_json())
    assert set(report["columns"]) == set(df.columns)
    blocking = [f for f in rep.findings if f.severity.value in BLOCKING and f.check not in DRIFT_CHECKS]
    assert not blocking, f"{name} seed {seed}: P0/P1 quality findings on a random half: {_fired(rep)}"
    # a drift finding exists exactly for the drifted columns
    drift_findings = {f.column for f in rep.findings if f.check in DRIFT_CHECKS}
    assert drift_findings == set(rep.drifted_columns)
    for col, entry in report["columns"].items():
        assert entry["drift"]["status"] in {"drifted", "stable", "insufficient_data", "not_tested"}, col


def test_random_halves_rarely_drift() -> None:
    """Holm at 5% family-wise per report: a drifted column in at most 10% of
    all splits (tables x seeds), whatever table it comes from."""
    fired = []
    splits = [(name, seed) for name in TABLES for seed in SEEDS]
    for name, seed in splits:
        rep = _split_report(name, seed)
        if rep.drifted_columns:
            fired.append(f"{name} seed {seed}: " + "; ".join(f.message for f in rep.findings if f.check in DRIFT_CHECKS))
    print(f"{len(fired)} of {len(splits)} random splits had a drifted column")
    for line in fired:
        print("  " + line)
    assert len(fired) <= 0.10 * len(splits), "\n".join(fired)


def test_random_halves_rarely_change_correlation() -> None:
    fired = []
    splits = [(name, seed) for name in TABLES for seed in SEEDS]
    for name, seed in splits:
        rep = _split_report(name, seed)
        fired += [f"{name} seed {seed}: {f.message}" for f in rep.findings if f.check == "correlation_change"]
    print(f"{len(fired)} of {len(splits)} random splits had a correlation change")
    for line in fired:
        print("  " + line)
    assert len(fired) <= 0.10 * len(splits), "\n".join(fired)


def test_tiny_table_is_insufficient_data_never_drift() -> None:
    """linnerud has 20 rows: 10 a side is below min_rows for every column."""
    for seed in SEEDS:
        report = _split_report("linnerud", seed).to_dict()
        statuses = {c: e["drift"]["status"] for c, e in report["columns"].items()}
        assert set(statuses.values()) == {"insufficient_data"}, statuses


# -- real shifts --------------------------------------------------------------------------------------------


def _assert_drifted(rep: argusml.Report, columns: set[str]) -> None:
    report = rep.to_dict()
    statuses = {c: e["drift"]["status"] for c, e in report["columns"].items()}
    missing = {c for c in columns if statuses[c] != "drifted"}
    assert not missing, f"not drifted: {missing}; statuses {statuses}; findings: {_fired(rep)}"
    named = {f.column for f in rep.findings if f.check in DRIFT_CHECKS and f.severity.value == "P1"}
    assert columns <= named, f"no P1 drift finding for {columns - named}: {_fired(rep)}"
    assert rep.has_blocking()
    assert report["verdict"]["status"] in {"drift", "error"}


def test_seattle_winter_vs_summer_is_drift(tmp_path: Path) -> None:
    """Seattle's daily weather, December-February as reference and June-August
    as current, read from CSV files: temperatures and weather types shift."""
    w = pd.read_csv(DATA / "seattle-weather.csv")
    month = pd.to_datetime(w["date"], format="%Y/%m/%d").dt.month
    ref, cur = tmp_path / "winter.csv", tmp_path / "summer.csv"
    w[month.isin([12, 1, 2])].to_csv(ref, index=False)
    w[month.isin([6, 7, 8])].to_csv(cur, index=False)
    rep = argusml.report(str(ref), str(cur))
    _assert_drifted(rep, {"temp_max", "temp_min", "weather"})


def test_diabetes_women_vs_men_is_drift() -> None:
    """HDL (s3) and the cholesterol/HDL ratio (s4) differ by sex: ~0.7 sd."""
    d = skd.load_diabetes(as_frame=True, scaled=False).frame
    ref, cur = d[d["sex"] == 1].drop(columns="sex"), d[d["sex"] == 2].drop(columns="sex")
    rep = argusml.report(ref, cur, target="target")
    _assert_drifted(rep, {"s3", "s4"})


def test_wine_cultivar_1_vs_2_is_drift() -> None:
    """Two cultivars of wine differ in alcohol, proline and colour."""
    wine = skd.load_wine(as_frame=True).frame
    ref, cur = (wine[wine["target"] == k].drop(columns="target") for k in (0, 1))
    rep = argusml.report(ref, cur)
    _assert_drifted(rep, {"alcohol", "proline", "color_intensity", "flavanoids"})


def test_breast_cancer_benign_vs_malignant_is_drift() -> None:
    bc = skd.load_breast_cancer(as_frame=True).frame
    ref, cur = bc[bc["target"] == 1].drop(columns="target"), bc[bc["target"] == 0].drop(columns="target")
    rep = argusml.report(ref, cur)
    _assert_drifted(rep, {"worst radius", "worst perimeter", "mean concave points"})


def test_airports_east_vs_west_is_drift() -> None:
    """Airports east of 95 W against those west of it: longitude and state shift."""
    a = pd.read_csv(DATA / "airports.csv")
    rep = argusml.report(a[a["longitude"] > -95], a[a["longitude"] <= -95])
    _assert_drifted(rep, {"longitude", "state"})


def test_cli_check_passes_random_halves_of_a_real_csv(tmp_path: Path) -> None:
    """`argus check` on random halves of airports.csv (strings, missing values):
    exit 0, a JSON report, no traceback."""
    ref, cur = _halves(pd.read_csv(DATA / "airports.csv"), seed=7)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    out = tmp_path / "report.json"
    p = subprocess.run([sys.executable, "-m", "argusml.cli.main", "check", "-r", str(tmp_path / "ref.csv"),
                        "-c", str(tmp_path / "cur.csv"), "-o", str(out)],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "ARGUS_NO_PROGRESS": "1"})
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(out.read_text())
    assert not [f for f in report["findings"] if f["severity"] in BLOCKING]
    assert set(report["columns"]) == set(ref.columns)
