"""Getting rows in: files and data frames become Arrow columns.

Everything downstream reads one column at a time through a ``TableSource``,
so a Parquet file is never loaded whole (columns are read on demand, in
parallel) and pandas, polars and Arrow frames all look the same. Values are
then coerced to what the reference expects, counting - not raising on -
values of the wrong type.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from argusml.schema import InputError, Kind

_NUMERIC_RE = r"^\s*[-+]?((\d+(\.\d*)?)|(\.\d+))([eE][-+]?\d+)?\s*$|^\s*[-+]?(inf|infinity|nan)\s*$"
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".csv.gz", ".tsv.gz", ".arrow", ".feather")


def to_arrow(frame: Any, where: str = "frame") -> pa.Table:
    """Accept pandas, polars or Arrow (anything exposing the Arrow C stream)."""
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    mod = type(frame).__module__
    if mod.startswith("pandas"):
        try:
            return pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # mixed Python objects in one column (numbers and strings): keep
            # them as text so the profile can count the wrongly typed values
            fixed = frame.copy()
            for col in fixed.columns:
                if fixed[col].dtype == object:
                    fixed[col] = fixed[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
            return pa.Table.from_pandas(fixed, preserve_index=False)
    if mod.startswith("polars"):
        return frame.to_arrow()
    if hasattr(frame, "__arrow_c_stream__"):
        return pa.table(frame)
    if isinstance(frame, dict):
        return pa.table(frame)
    raise InputError(f"unsupported frame type {type(frame).__name__}; expected a pandas, polars or Arrow table",
                     path=where)


@dataclass
class TableSource:
    """Columns of one table, read lazily from Parquet or held in memory.

    >>> src = TableSource.from_frame(pa.table({"a": [1, 2, 3], "b": ["x", "y", None]}))
    >>> src.n_rows, src.columns, src.column("b").to_pylist()
    (3, ['a', 'b'], ['x', 'y', None])
    """

    name: str
    schema: pa.Schema
    n_rows: int
    table: pa.Table | None = None
    parquet_path: str | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def column(self, name: str) -> pa.ChunkedArray:
        if self.table is not None:
            return normalize(self.table.column(name))
        import pyarrow.parquet as pq

        field = self.schema.field(name)
        as_dict = [name] if pa.types.is_string(field.type) or pa.types.is_large_string(field.type) else None
        # ParquetFile, not read_table: read_table goes through pyarrow.dataset, whose import pulls in pandas
        t = pq.ParquetFile(self.parquet_path, read_dictionary=as_dict).read(columns=[name])
        return normalize(t.column(0))

    @classmethod
    def from_frame(cls, frame: Any, name: str = "frame") -> TableSource:
        t = to_arrow(frame, name)
        _check_columns(t.schema, name)
        return cls(name=name, schema=t.schema, n_rows=t.num_rows, table=t)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> TableSource:
        p = os.fspath(path)
        if not os.path.exists(p):
            raise InputError("file not found", path=p)
        if os.path.isdir(p):
            raise InputError("is a directory, expected a CSV or Parquet file", path=p)
        low = p.lower()
        try:
            if low.endswith((".parquet", ".pq")):
                import pyarrow.parquet as pq

                pf = pq.ParquetFile(p)
                schema = pf.schema_arrow
                _check_columns(schema, p)
                return cls(name=p, schema=schema, n_rows=pf.metadata.num_rows, parquet_path=p)
            if low.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz", ".txt")):
                from pyarrow import csv

                delim = "\t" if ".tsv" in low else ","
                t = csv.read_csv(p, parse_options=csv.ParseOptions(delimiter=delim, newlines_in_values=True),
                                 convert_options=csv.ConvertOptions(strings_can_be_null=True))
            elif low.endswith((".arrow", ".feather")):
                import pyarrow.feather as feather

                t = feather.read_table(p)
            else:
                raise InputError(f"unsupported file format; expected one of {', '.join(SUPPORTED_SUFFIXES)}", path=p)
        except InputError:
            raise
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"cannot read file: {msg}", path=p) from None
        _check_columns(t.schema, p)
        return cls(name=p, schema=t.schema, n_rows=t.num_rows, table=t)


def normalize(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Newer Arrow layouts of the same logical types (string and binary
    views) become the classic ones every compute kernel knows."""
    t = arr.type
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t):
        return pc.cast(arr, pa.large_string())
    if hasattr(pa.types, "is_binary_view") and pa.types.is_binary_view(t):
        return pc.cast(arr, pa.large_binary())
    return arr


def class_probabilities(arr: pa.ChunkedArray) -> tuple[list[str], np.ndarray] | None:
    """A prediction column of class probabilities - an event's ``{class: probability}``, which pandas and
    polars frames hold as an Arrow struct - as (classes, rows x classes matrix): a missing class is 0, a
    missing prediction a row of NaN. None when the column is not one (a struct of at least two numbers)."""
    t = arr.type
    if not (pa.types.is_struct(t) and t.num_fields >= 2
            and all(pa.types.is_integer(f.type) or pa.types.is_floating(f.type) for f in t)):
        return None
    whole = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    P = np.column_stack([np.nan_to_num(pc.fill_null(whole.field(k), 0).to_numpy(zero_copy_only=False)
                                       .astype(np.float64)) for k in range(t.num_fields)])
    P[~np.asarray(whole.is_valid().to_numpy(zero_copy_only=False), dtype=bool)] = np.nan
    return [t.field(k).name for k in range(t.num_fields)], P


def most_probable(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """A prediction column of class probabilities read as its most probable class, as the service reads an
    event's probability map (so a reference's predictions are profiled like the events' labels); any other
    column as it is."""
    got = class_probabilities(arr)
    if got is None:
        return arr
    classes, P = got
    labels = np.array(classes, dtype=object)[np.nan_to_num(P, nan=-1.0).argmax(axis=1)]
    labels[np.isnan(P[:, 0])] = None
    return pa.chunked_array([pa.array(labels, pa.string())])


def _check_columns(schema: pa.Schema, where: str) -> None:
    if len(schema.names) == 0:
        raise InputError("no columns", path=where)
    dupes = sorted({n for n in schema.names if schema.names.count(n) > 1})
    if dupes:
        raise InputError(f"duplicate column names: {', '.join(dupes)}", path=where)


def open_source(data: Any, name: str | None = None) -> TableSource:
    if isinstance(data, TableSource):
        return data
    if isinstance(data, (str, os.PathLike)):
        return TableSource.from_path(data)
    return TableSource.from_frame(data, name or "frame")


def _decoded(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(arr.type):
        return pc.cast(arr, arr.type.value_type)
    return arr


NEAR_UNIQUE_RATIO = 0.5
"""A string column whose reference has at least this many distinct values per value is near-unique
(docs/CHECKS.md, "Cardinality"): most of its values occur once or twice, so a new sample of it is mostly
values no earlier sample held, and a test of its category counts compares noise. It is profiled and
tested as text or an identifier instead."""

FEW_CATEGORIES = 50
"""Up to this many distinct values a column is categorical whatever its row count: a small table's
50 states are categories even if the table has 60 rows."""


def infer_kind(arr: pa.ChunkedArray) -> Kind:
    """A column's kind from its Arrow type and, for strings, its values.

    Strings that are overwhelmingly numbers (a CSV column with a few typos)
    are numeric. Strings (and dictionary-encoded columns, which is how
    Parquet and pandas' ``category`` hand strings over) are categorical
    however many levels they have, unless they are near-unique: then they
    are text when most values are several words, identifiers otherwise.
    """
    t = arr.type
    if pa.types.is_boolean(t):
        return Kind.BOOLEAN
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return Kind.NUMERIC
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return Kind.DATETIME
    if pa.types.is_null(t):
        return Kind.NUMERIC
    is_dict = pa.types.is_dictionary(t)
    if is_dict and not (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)):
        return Kind.CATEGORICAL  # codes of another type (pandas categories of numbers): declared categories
    if not (is_dict or pa.types.is_string(t) or pa.types.is_large_string(t)):
        return Kind.TEXT
    non_null = arr.drop_null() if arr.null_count else arr
    n = len(non_null)
    if n == 0:
        return Kind.CATEGORICAL
    if not is_dict:
        numeric = pc.sum(pc.match_substring_regex(non_null, _NUMERIC_RE, ignore_case=True)).as_py() or 0
        if numeric >= 0.95 * n:
            return Kind.NUMERIC
    distinct = _count_distinct(non_null)
    if not is_dict and distinct <= 4:
        lowered = set(pc.unique(pc.utf8_lower(non_null)).to_pylist())
        if lowered <= (_TRUE | _FALSE) and len(lowered) <= 2 and not lowered <= {"0", "1"}:
            return Kind.BOOLEAN
    if distinct <= FEW_CATEGORIES or distinct < NEAR_UNIQUE_RATIO * n:
        return Kind.CATEGORICAL
    words = pc.match_substring_regex(pc.utf8_trim_whitespace(_decoded(non_null)), r"\s")
    return Kind.TEXT if (pc.sum(words).as_py() or 0) >= 0.5 * n else Kind.IDENTIFIER


def _count_distinct(arr: pa.ChunkedArray) -> int:
    """Distinct values; for a dictionary column, distinct codes once the chunks share one dictionary (a
    dictionary holds each value once; decoding a million strings to count fifty costs several times more:
    docs/BENCHMARKS.md, "Figures behind the code")."""
    if pa.types.is_dictionary(arr.type):
        unified = arr.unify_dictionaries()
        return int(pc.count_distinct(pa.chunked_array([c.indices for c in unified.chunks],
                                                      arr.type.index_type)).as_py())
    return int(pc.count_distinct(arr).as_py())


@dataclass
class Coerced:
    """A column's values in the form its kind is profiled in.

    ``values`` is float64 with NaN for missing (numeric, datetime as epoch
    seconds, text as lengths) or an Arrow string array (categorical,
    boolean as "true"/"false"); ``type_errors`` counts present values that
    could not be read as the expected kind (they are not missing values).

    "1", " 2.5", "x" and a null read as numbers: 1.0 and 2.5 (whitespace is trimmed), "x" is a type
    error and the null a missing value; both become NaN.

    >>> c = coerce(pa.chunked_array([["1", " 2.5", "x", None]]), Kind.NUMERIC)
    >>> c.values.tolist()[:2], int(np.isnan(c.values).sum()), c.nulls, c.type_errors
    ([1.0, 2.5], 2, 1, 1)
    """

    values: Any
    nulls: int
    type_errors: int
    text: pa.ChunkedArray | None = None


def float64_values(arr: pa.ChunkedArray) -> np.ndarray:
    """Values as float64 with NaN for nulls, read straight from the Arrow
    buffers: pyarrow's own to_numpy imports pandas on first use (docs/BENCHMARKS.md, "Figures behind the code")."""
    if not pa.types.is_float64(arr.type):
        arr = pc.cast(arr, pa.float64(), safe=False)  # ints beyond 2**53 round, as in numpy
    out = np.empty(len(arr), dtype=np.float64)
    pos = 0
    for c in arr.chunks:
        n = len(c)
        if n == 0:
            continue
        bufs = c.buffers()
        out[pos:pos + n] = np.frombuffer(bufs[1], dtype=np.float64, count=n, offset=c.offset * 8)
        if c.null_count:
            bits = np.unpackbits(np.frombuffer(bufs[0], dtype=np.uint8), bitorder="little")[c.offset:c.offset + n]
            out[pos:pos + n][bits == 0] = np.nan
        pos += n
    return out


def coerce(arr: pa.ChunkedArray, kind: Kind) -> Coerced:
    arr = _decoded(arr) if kind is not Kind.CATEGORICAL else arr
    t = arr.type
    nulls = arr.null_count
    if kind is Kind.NUMERIC:
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_boolean(t):
            vals = float64_values(arr)
            nulls = int(np.isnan(vals).sum())
            return Coerced(vals, nulls, 0)
        if pa.types.is_null(t):
            return Coerced(np.full(len(arr), np.nan), len(arr), 0)
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
            s = _decoded(arr)
            ok = pc.match_substring_regex(s, _NUMERIC_RE, ignore_case=True)
            good = pc.if_else(ok, s, pa.scalar(None, s.type))
            vals = float64_values(pc.cast(pc.utf8_trim_whitespace(good), pa.float64()))
            bad = int(len(s) - s.null_count - (pc.sum(ok).as_py() or 0))
            nan_total = int(np.isnan(vals).sum())
            return Coerced(vals, nan_total - bad, bad)
        # timestamps, lists, ...: nothing here is a number
        n = len(arr)
        return Coerced(np.full(n, np.nan), nulls, n - nulls)
    if kind is Kind.DATETIME:
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            # sub-microsecond digits do not matter for monitoring: truncate rather than fail
            ts = pc.cast(arr, pa.timestamp("us", tz=t.tz if pa.types.is_timestamp(t) else None), safe=False) \
                if not pa.types.is_timestamp(t) or t.unit != "us" else arr
            vals = float64_values(pc.cast(pc.cast(ts, pa.int64()), pa.float64())) / 1e6
            return Coerced(vals, nulls, 0)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            out = np.full(len(arr), np.nan)
            bad = 0
            try:
                ts = pc.cast(arr, pa.timestamp("us"), safe=False)
                return coerce(ts, kind)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # some value is not ISO 8601 as Arrow reads it: parse one by one, counting failures
            from datetime import datetime, timezone

            for i, v in enumerate(arr.to_pylist()):
                if v is None:
                    continue
                try:
                    d = datetime.fromisoformat(v.strip())
                    if d.tzinfo is None:
                        d = d.replace(tzinfo=timezone.utc)
                    out[i] = d.timestamp()
                except ValueError:
                    bad += 1
            return Coerced(out, nulls, bad)
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            return coerce(arr, Kind.NUMERIC)
        n = len(arr)
        return Coerced(np.full(n, np.nan), nulls, n - nulls)
    if kind is Kind.BOOLEAN:
        if pa.types.is_boolean(t):
            return Coerced(pc.cast(arr, pa.string()), nulls, 0)
        s = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(arr, pa.string()))) if not pa.types.is_floating(t) \
            else pc.cast(pc.cast(arr, pa.int64(), safe=False), pa.string())
        is_t = pc.is_in(s, value_set=pa.array(sorted(_TRUE)))
        is_f = pc.is_in(s, value_set=pa.array(sorted(_FALSE)))
        out = pc.if_else(is_t, "true", pc.if_else(is_f, "false", pa.scalar(None, pa.string())))
        bad = int(len(s) - s.null_count - (pc.sum(pc.or_(is_t, is_f)).as_py() or 0))
        return Coerced(out, nulls, bad)
    if kind is Kind.CATEGORICAL:
        if pa.types.is_dictionary(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
            return Coerced(arr, nulls, 0)
        if pa.types.is_floating(t):
            # 3.0 and 3 are the same code; keep integral floats integral
            vals = float64_values(arr)
            integral = np.isfinite(vals) & (np.mod(vals, 1) == 0)
            if integral[np.isfinite(vals)].all():
                return Coerced(pc.cast(pc.cast(arr, pa.int64(), safe=False), pa.string()), nulls, 0)
        try:
            return Coerced(pc.cast(arr, pa.string()), nulls, 0)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return Coerced(pa.chunked_array([pa.array([None if v is None else str(v) for v in arr.to_pylist()],
                                                      pa.string())]), nulls, 0)
    # TEXT and IDENTIFIER: profile the length of each value
    try:
        s = pc.cast(_decoded(arr), pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        s = pa.chunked_array([pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())])
    return Coerced(float64_values(pc.utf8_length(s)), nulls, 0, text=s)
