"""One column's profile and the reference's expectations for it.

A ``ColumnSpec`` is what the reference fixes once: kind, role, Arrow type,
bin edges (numeric, datetime, and text lengths) or the category list. A
``ColumnProfile`` summarises rows against a spec: counts of rows, missing
and wrongly typed values, plus a numeric or category profile by kind.

Near-unique columns (text and identifiers) are profiled by what stays
stable in them: their length in characters (and in words, for text) and the
share of values the reference never held (``unseen.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from argusml.profile.categorical import MAX_EXACT_ONCE, CategoryProfile
from argusml.profile.frame import coerce, float64_values
from argusml.profile.numeric import UNSORTED_MIN, NumericProfile, NumericSpec, learn_unsorted
from argusml.profile.unseen import SeenValues, UnseenCounts
from argusml.schema import Kind, Role
from argusml.stats import Mergeable

NUMERIC_LIKE = (Kind.NUMERIC, Kind.DATETIME, Kind.TEXT, Kind.IDENTIFIER)
_WORD = r"\S+"


@dataclass
class ColumnSpec:
    """What the reference fixed for one column, once; every later profile of it is made against it.

    >>> spec = ColumnSpec("x", Kind.NUMERIC, Role.FEATURE, "double",
    ...                   numeric=NumericSpec.from_sorted(np.array([1.0, 2.0, 3.0, 4.0])))
    >>> spec.numeric.n_bins, sorted(spec.to_dict())
    (6, ['bins', 'dtype', 'kind', 'role'])
    >>> ColumnSpec.from_dict("x", spec.to_dict()).numeric.edges.tolist() == spec.numeric.edges.tolist()
    True
    """

    name: str
    kind: Kind
    role: Role
    dtype: str
    numeric: NumericSpec | None = None
    categories: list[str] | None = None
    tokens: NumericSpec | None = None  # text: bins of the number of words
    seen: SeenValues | None = None  # text and identifiers: the reference's (sampled) values, hashed

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind.value, "role": self.role.value, "dtype": self.dtype}
        if self.numeric is not None:
            d["bins"] = self.numeric.to_dict()
        if self.categories is not None:
            d["categories"] = self.categories
        if self.tokens is not None:
            d["token_bins"] = self.tokens.to_dict()
        if self.seen is not None:
            d["seen"] = self.seen.to_dict()
        return d

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> ColumnSpec:
        return cls(name=name, kind=Kind(d["kind"]), role=Role(d["role"]), dtype=d.get("dtype", ""),
                   numeric=NumericSpec.from_dict(d["bins"]) if d.get("bins") else None,
                   categories=d.get("categories"),
                   tokens=NumericSpec.from_dict(d["token_bins"]) if d.get("token_bins") else None,
                   seen=SeenValues.from_dict(d["seen"]) if d.get("seen") else None)


@dataclass
class ColumnProfile(Mergeable):
    """One column of a batch or window against its spec: rows, missing and mistyped values, and the
    values' own profile. Built by ``profile_column`` (or ``build_column`` for the reference); combined
    by ``merge`` or ``+``; the ratios are properties.

    "1", " 2.5", "x", null read as numbers: one null, one type error ("x"), two values present, so both
    ratios are 1/4; 1 falls in bin 1 of the spec below and 2.5 in bin 3.

    >>> spec = ColumnSpec("x", Kind.NUMERIC, Role.FEATURE, "double",
    ...                   numeric=NumericSpec.from_sorted(np.array([1.0, 2.0, 3.0, 4.0])))
    >>> p, _ = profile_column(pa.chunked_array([["1", " 2.5", "x", None]]), spec)
    >>> p.n_rows, p.nulls, p.type_errors, p.present, p.missing_ratio, p.type_error_ratio
    (4, 1, 1, 2, 0.25, 0.25)
    >>> p.numeric.counts.tolist()
    [0, 1, 0, 1, 0, 0]
    >>> twice = p + p
    >>> twice.n_rows, twice.nulls, twice.missing_ratio, twice.numeric.counts.tolist()
    (8, 2, 0.25, [0, 2, 0, 2, 0, 0])
    """

    kind: Kind
    n_rows: int
    nulls: int
    type_errors: int
    numeric: NumericProfile | None = None
    categories: CategoryProfile | None = None
    distinct: int | None = None  # text and id columns
    distinct_exact: bool = True
    tokens: NumericProfile | None = None  # text: words per value
    unseen: UnseenCounts | None = None  # text and identifiers: values the reference never held

    @property
    def present(self) -> int:
        """Values that are neither missing nor wrongly typed."""
        return self.n_rows - self.nulls - self.type_errors

    @property
    def missing_ratio(self) -> float:
        return self.nulls / self.n_rows if self.n_rows else 0.0

    @property
    def type_error_ratio(self) -> float:
        return self.type_errors / self.n_rows if self.n_rows else 0.0

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        if self.kind is not other.kind:
            raise ValueError(f"cannot merge a {self.kind} profile with a {other.kind} profile")
        out = ColumnProfile(self.kind, self.n_rows + other.n_rows, self.nulls + other.nulls,
                            self.type_errors + other.type_errors)
        if self.numeric is not None and other.numeric is not None:
            out.numeric = self.numeric.merge(other.numeric)
        if self.categories is not None and other.categories is not None:
            out.categories = self.categories.merge(other.categories)
        if self.distinct is not None and other.distinct is not None:
            # distinct counts of parts bound the union's from both sides only
            out.distinct = max(self.distinct, other.distinct)
            out.distinct_exact = False
        if self.tokens is not None and other.tokens is not None:
            out.tokens = self.tokens.merge(other.tokens)
        if self.unseen is not None and other.unseen is not None:
            out.unseen = self.unseen.merge(other.unseen)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "n_rows": self.n_rows,
            "nulls": self.nulls,
            "type_errors": self.type_errors,
            "numeric": None if self.numeric is None else self.numeric.to_dict(),
            "categories": None if self.categories is None else self.categories.to_dict(),
            "distinct": self.distinct,
            "distinct_exact": self.distinct_exact,
            **({"tokens": self.tokens.to_dict()} if self.tokens is not None else {}),
            **({"unseen": self.unseen.to_dict()} if self.unseen is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnProfile:
        return cls(
            kind=Kind(d["kind"]), n_rows=int(d["n_rows"]), nulls=int(d["nulls"]), type_errors=int(d["type_errors"]),
            numeric=None if d.get("numeric") is None else NumericProfile.from_dict(d["numeric"]),
            categories=None if d.get("categories") is None else CategoryProfile.from_dict(d["categories"]),
            distinct=d.get("distinct"), distinct_exact=bool(d.get("distinct_exact", True)),
            tokens=None if d.get("tokens") is None else NumericProfile.from_dict(d["tokens"]),
            unseen=None if d.get("unseen") is None else UnseenCounts.from_dict(d["unseen"]),
        )


def distinct_count(arr: pa.ChunkedArray) -> int:
    if pa.types.is_dictionary(arr.type):
        arr = pc.cast(arr, arr.type.value_type)
    non_null = arr.drop_null() if arr.null_count else arr
    return int(pc.count_distinct(non_null).as_py()) if len(non_null) else 0


def word_counts(text: pa.ChunkedArray) -> np.ndarray:
    """Whitespace-separated words per value, NaN for a missing one."""
    return float64_values(pc.count_substring_regex(text, _WORD))


def profile_column(arr: pa.ChunkedArray, spec: ColumnSpec, *, with_sketch: bool = True,
                   corr_stride: int = 0) -> tuple[ColumnProfile, np.ndarray | None]:
    """Profile a column against the reference's spec for it. With
    ``corr_stride`` > 0 also return every corr_stride-th value (as floats,
    NaN for missing) for the table's co-moments, so they need no second read."""
    c = coerce(arr, spec.kind)
    prof = ColumnProfile(spec.kind, len(arr), c.nulls, c.type_errors)
    if spec.kind in NUMERIC_LIKE:
        prof.numeric = NumericProfile.from_values(c.values, spec.numeric, with_sketch=with_sketch)
        if spec.kind.near_unique and c.text is not None:
            prof.distinct = distinct_count(c.text)
            if spec.tokens is not None:
                prof.tokens = NumericProfile.from_values(word_counts(c.text), spec.tokens, with_sketch=with_sketch)
            if spec.seen is not None:
                prof.unseen = spec.seen.count_unseen(c.text)
    else:
        prof.categories = CategoryProfile.from_arrow(c.values, None if with_sketch else MAX_EXACT_ONCE)
    if spec.role is Role.ID:
        prof.distinct = distinct_count(arr)
    return prof, _every(c.values, corr_stride) if spec.kind is Kind.NUMERIC else None


def _every(values: np.ndarray, stride: int) -> np.ndarray | None:
    """Every stride-th value; a copy when thinned, so the full column can be freed."""
    if stride <= 0:
        return None
    return values if stride == 1 else values[::stride].copy()


def build_column(arr: pa.ChunkedArray, name: str, kind: Kind, role: Role, *, corr_stride: int = 0,
                 with_sketch: bool = True) -> tuple[ColumnSpec, ColumnProfile, np.ndarray | None]:
    """Derive a reference column's spec from its own values, then profile it
    on that spec (one sort serves both)."""
    spec = ColumnSpec(name, kind, role, str(arr.type))
    c = coerce(arr, kind)
    prof = ColumnProfile(kind, len(arr), c.nulls, c.type_errors)
    if kind in NUMERIC_LIKE:
        finite = np.isfinite(c.values)
        v = c.values if finite.all() else c.values[finite]
        n_inf = int(np.isinf(c.values).sum()) if v.size != c.values.size else 0
        if with_sketch or v.size < UNSORTED_MIN:
            s = np.sort(v)  # the sketch takes sorted values faster (docs/BENCHMARKS.md)
            spec.numeric = NumericSpec.from_sorted(s)
            prof.numeric = NumericProfile.from_sorted(s, spec.numeric, n_inf=n_inf, with_sketch=with_sketch)
        else:  # exact edges by selection, and the profile on the same grid: the same numbers, without a sort
            spec.numeric, prof.numeric = learn_unsorted(v, n_inf)
        if kind.near_unique and c.text is not None:
            prof.distinct = distinct_count(c.text)
            if role not in (Role.ID, Role.TIMESTAMP):  # never drift-tested: nothing to learn for it
                spec.seen = SeenValues.from_arrow(c.text)
            if kind is Kind.TEXT:
                w = word_counts(c.text)
                w = np.sort(w[np.isfinite(w)])
                spec.tokens = NumericSpec.from_sorted(w)
                prof.tokens = NumericProfile.from_sorted(w, spec.tokens, with_sketch=with_sketch)
    else:
        prof.categories = CategoryProfile.from_arrow(c.values, None if with_sketch else MAX_EXACT_ONCE)
        spec.categories = list(prof.categories.counts)
        if not prof.categories.exact:  # a sketch lists only its heavy hitters: keep how many levels there were
            prof.distinct = distinct_count(c.values)
    if role is Role.ID:
        prof.distinct = distinct_count(arr)
    return spec, prof, _every(c.values, corr_stride) if kind is Kind.NUMERIC else None
