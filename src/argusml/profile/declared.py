"""Declared expectations (``columns.<name>.{min, max, allowed}``) counted while profiling.

A declared bound is a contract, not a distribution: the number of values
below an arbitrary ``min`` cannot be read from bins placed on the
reference's quantiles (a bound inside a bin splits it unknowably). The
bounds are known before any data is profiled (the report's config, the
model's YAML for every window), so the profile counts the values beyond
them as it reads the column. Counts add and extremes take the min/max, so
the counts of merged window profiles equal the counts of their union, as
long as both parts were counted against the same bounds; parts counted
against other bounds do not merge (``DeclaredCounts.merge`` says None) and
the check falls back to what bins, the sample and min/max prove.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from argusml.profile.categorical import string_counts
from argusml.profile.column import ColumnSpec
from argusml.profile.frame import coerce
from argusml.schema import ConfigError, Kind, ReportConfig

NUMBER_KINDS = (Kind.NUMERIC, Kind.DATETIME)
VALUE_KINDS = (Kind.CATEGORICAL, Kind.BOOLEAN)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class Declared:
    """One column's declared expectations in the units its profile uses:
    datetimes as epoch seconds (UTC), allowed values spelled as the
    category profile spells them ("true"/"false", integral codes without
    ".0").

    ``max_missing`` needs no counting (the null count answers it), so ``counted`` leaves it out.

    >>> d = Declared(min=0.0, max=10.0, max_missing=0.1)
    >>> d.counted, Declared(max_missing=0.1).counted
    (Declared(min=0.0, max=10.0, allowed=None, max_missing=None), None)
    """

    min: float | None = None
    max: float | None = None
    allowed: frozenset[str] | None = None
    max_missing: float | None = None

    @property
    def counted(self) -> Declared | None:
        """What the profile must count for this column (None: nothing, only ``max_missing``,
        which the column profile's null count answers exactly)."""
        if self.min is None and self.max is None and self.allowed is None:
            return None
        return Declared(self.min, self.max, self.allowed)

    def to_dict(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max,
                "allowed": None if self.allowed is None else sorted(self.allowed)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Declared:
        return cls(None if d.get("min") is None else float(d["min"]),
                   None if d.get("max") is None else float(d["max"]),
                   None if d.get("allowed") is None else frozenset(str(v) for v in d["allowed"]))


@dataclass
class DeclaredCounts:
    """Values of one column beyond its declared bounds, exact for the rows profiled.

    ``below``/``above`` include infinities (-inf is below any min); ``lowest``
    and ``highest`` are the worst offenders (NaN when there are none).
    ``outside`` counts non-missing values not in ``allowed``.

    Counts add, so ``merge`` gives the union's; it returns None for parts counted against different
    bounds (no count of the union exists), which is why these counts have no ``+``. Against [0, 10],
    -1, 5, 12, 20 and a null hold one value below and two above; a second part's -3 makes two below.

    >>> from argusml.schema import Role
    >>> spec = ColumnSpec("x", Kind.NUMERIC, Role.FEATURE, "double")
    >>> a = count_declared(pa.chunked_array([[-1.0, 5.0, 12.0, 20.0, None]]), spec, Declared(0.0, 10.0))
    >>> a.below, a.above, a.lowest, a.highest
    (1, 2, -1.0, 20.0)
    >>> b = count_declared(pa.chunked_array([[-3.0]]), spec, Declared(0.0, 10.0))
    >>> m = a.merge(b)
    >>> m.below, m.above, m.lowest
    (2, 2, -3.0)
    >>> a.merge(count_declared(pa.chunked_array([[-3.0]]), spec, Declared(1.0, 10.0))) is None
    True
    """

    bounds: Declared
    below: int = 0
    above: int = 0
    lowest: float = math.nan
    highest: float = math.nan
    outside: int = 0

    def merge(self, other: DeclaredCounts) -> DeclaredCounts | None:
        """The counts of the union, or None when the parts were counted against different bounds."""
        if self.bounds != other.bounds:
            return None
        return DeclaredCounts(self.bounds, self.below + other.below, self.above + other.above,
                              _nanmin(self.lowest, other.lowest), _nanmax(self.highest, other.highest),
                              self.outside + other.outside)

    def to_dict(self) -> dict[str, Any]:
        return {"bounds": self.bounds.to_dict(), "below": self.below, "above": self.above,
                "lowest": encode_extreme(self.lowest), "highest": encode_extreme(self.highest), "outside": self.outside}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeclaredCounts:
        return cls(Declared.from_dict(d["bounds"]), int(d.get("below", 0)), int(d.get("above", 0)),
                   _decode(d.get("lowest")), _decode(d.get("highest")), int(d.get("outside", 0)))


def _nanmin(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def _nanmax(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


def encode_extreme(x: float) -> float | str | None:
    """JSON has no infinities, and an infinite worst offender is worth keeping: spell it."""
    if math.isnan(x):
        return None
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _decode(x: float | str | None) -> float:
    return math.nan if x is None else float(x)


def merge_declared(a: Mapping[str, DeclaredCounts], a_columns: Mapping[str, Any],
                   b: Mapping[str, DeclaredCounts], b_columns: Mapping[str, Any]) -> dict[str, DeclaredCounts]:
    """Counts of two profiles' union. A column with counts on one side only keeps them when the other
    side has no rows of it; if the other side profiled it without counting, the union's count is unknown."""
    out: dict[str, DeclaredCounts] = {}
    for name in dict.fromkeys([*a, *b]):
        ca, cb = a.get(name), b.get(name)
        if ca is not None and cb is not None:
            merged = ca.merge(cb)
        elif ca is not None:
            merged = None if name in b_columns else ca
        else:
            merged = None if name in a_columns else cb
        if merged is not None:
            out[name] = merged
    return out


def count_declared(arr: pa.ChunkedArray, spec: ColumnSpec, bounds: Declared) -> DeclaredCounts:
    """Count one column's values beyond ``bounds``, read as its reference reads it."""
    out = DeclaredCounts(bounds)
    c = coerce(arr, spec.kind)
    if spec.kind in NUMBER_KINDS:
        v = c.values  # NaN for missing and wrongly typed values: no comparison counts them
        if bounds.min is not None:
            low = v[v < bounds.min]
            if low.size:
                out.below, out.lowest = int(low.size), float(low.min())
        if bounds.max is not None:
            high = v[v > bounds.max]
            if high.size:
                out.above, out.highest = int(high.size), float(high.max())
    elif bounds.allowed is not None:
        out.outside = sum(n for k, n in string_counts(c.values).items() if k not in bounds.allowed)
    return out


def resolve_declared(config: ReportConfig, specs: Mapping[str, ColumnSpec], where: str) -> dict[str, Declared]:
    """Every column's declared expectations, checked against the reference's kinds and put in the
    profile's units. A key that makes no sense for the column's kind, or a column the reference does not
    have, is a ConfigError naming ``where``, the column and the key: a contract that cannot be checked
    must not pass silently. Ignored columns are validated but left out."""
    out: dict[str, Declared] = {}
    for name, cs in config.columns.items():
        keys = cs.declares
        if not keys:
            continue
        spec = specs.get(name)
        if spec is None:
            hint = difflib.get_close_matches(name, list(specs), n=1)
            raise ConfigError(f"{where}: columns.{name}: declares {', '.join(keys)}, but the reference has no "
                              f"column {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        kind = spec.kind
        lo, hi = (_bound(where, name, key, getattr(cs, key), kind) for key in ("min", "max"))
        allowed = None
        if cs.allowed is not None:
            if kind not in VALUE_KINDS:
                raise ConfigError(f"{where}: columns.{name}.allowed: a list of values fits categorical and boolean "
                                  f"columns; {name!r} is {kind.value} in the reference"
                                  + (" (bound it with min/max)" if kind in NUMBER_KINDS else ""))
            allowed = frozenset(_spelled(where, name, v, kind) for v in cs.allowed)
        if not config.ignored(name):
            out[name] = Declared(lo, hi, allowed, cs.max_missing)
    return out


def _bound(where: str, name: str, key: str, value: float | datetime | None, kind: Kind) -> float | None:
    if value is None:
        return None
    place = f"{where}: columns.{name}.{key}"
    if kind not in NUMBER_KINDS:
        raise ConfigError(f"{place}: a bound fits numeric and datetime columns; {name!r} is {kind.value} in the "
                          "reference" + (" (list its values in allowed)" if kind in VALUE_KINDS else ""))
    if kind is Kind.DATETIME:
        if not isinstance(value, datetime):
            raise ConfigError(f"{place}: {name!r} is a datetime column: give the bound as an ISO date/time "
                              f"(e.g. 2024-01-01 or 2024-01-01T12:00:00Z), not the number {value:g}")
        return value.timestamp()
    if isinstance(value, datetime):
        raise ConfigError(f"{place}: {name!r} is numeric in the reference; a date bound ({value.isoformat()}) "
                          "fits datetime columns only")
    return float(value)


def _spelled(where: str, name: str, value: str | bool | int | float, kind: Kind) -> str:
    """An allowed value as the profile spells it (``coerce``: booleans as "true"/"false", integral
    numbers as integers)."""
    if kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip().lower()
        if text in _TRUE:
            return "true"
        if text in _FALSE:
            return "false"
        raise ConfigError(f"{where}: columns.{name}.allowed: {value!r} is not a boolean value ({name!r} is boolean "
                          "in the reference: allow true, false or both)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
