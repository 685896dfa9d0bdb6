"""Numeric column profile: moments, bins on the reference's quantiles, a KLL
sketch, the most frequent values and a bounded exact sample.

One sort of the batch's values gives everything exactly and cheaply: bin
counts are ``searchsorted`` of the edges into the sorted values, the
KLL sketch is fed in sorted order (faster for the sketch: docs/BENCHMARKS.md), and run
lengths give the frequent values. Every part merges: counts, sums and
moments exactly; the sketch within its published rank error; the frequent
values within a stated bound (Misra-Gries style); the sample stays a
uniform sample of the union.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any

import datasketches as ds
import numpy as np

from argusml.stats import EMPTY_MOMENTS, Mergeable, Moments

KLL_K = 200
"""KLL accuracy parameter: about 1.3% normalized rank error (99% confidence)."""

SAMPLE_CAP = 2000
"""Values kept verbatim. A batch or window with at most this many values
keeps all of them, so its drift tests are exact (scipy's own KS)."""

TOP_K = 20
"""Most frequent values kept per column, to find sentinels such as -999."""

BODY_LEVELS = tuple(i / 200 for i in range(1, 200))
TAIL_LEVELS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.9980, 0.9990, 0.9995, 0.9998, 0.9999)
COARSE_LEVELS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
TAIL_MEASURE_LEVELS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.95, 0.975, 0.99, 0.995, 0.999)
MIN_BEYOND = 10
"""A tail level is used only if the reference has at least this many values
beyond it; rarer levels would put edges on a handful of outliers."""

REPORT_QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


@dataclass
class NumericSpec:
    """Bin edges taken exactly from the reference, and which quantile level
    each edge stands for. Bin 0 holds values below the reference minimum,
    bin i holds ``edges[i-1] < x <= edges[i]``, the last bin values above the
    reference maximum.

    A reference of 1, 2, 3, 4 puts an edge on each value (the inverted CDF at every level picks one of
    them), plus one just below the minimum: 5 edges, 6 bins. The median level 0.5 picks the value at
    rank ceil(0.5 * 4) = 2, which is 2.0, edge 2.

    >>> spec = NumericSpec.from_sorted(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> spec.edges.tolist()[1:], spec.n_bins, spec.edge_of(0.5), float(spec.edges[spec.edge_of(0.5)])
    ([1.0, 2.0, 3.0, 4.0], 6, 2, 2.0)
    """

    edges: np.ndarray
    level_values: np.ndarray  # quantile levels ...
    level_edges: np.ndarray  # ... and the index of the edge each maps to
    _by_level: dict[float, int] | None = field(default=None, repr=False, compare=False)

    @property
    def n_bins(self) -> int:
        return int(self.edges.size) + 1

    def edge_of(self, level: float) -> int | None:
        if self._by_level is None:
            self._by_level = {round(float(lv), 9): int(i) for lv, i in zip(self.level_values, self.level_edges)}
        return self._by_level.get(round(float(level), 9))

    def to_dict(self) -> dict[str, Any]:
        return {
            "edges": [float(e) for e in self.edges],
            "levels": {f"{lv:g}": int(i) for lv, i in zip(self.level_values, self.level_edges, strict=False)},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NumericSpec:
        levels = d.get("levels", {})
        return cls(
            edges=np.asarray(d["edges"], dtype=np.float64),
            level_values=np.asarray([float(k) for k in levels], dtype=np.float64),
            level_edges=np.asarray(list(levels.values()), dtype=np.int64),
        )

    @classmethod
    def from_sorted(cls, s: np.ndarray) -> NumericSpec:
        """Edges at exact quantiles of sorted finite values (inverted CDF:
        each edge is a value that occurs, so ties and integers stay exact)."""
        return cls._at(s.size, lambda ranks: s[ranks])

    @classmethod
    def _at(cls, n: int, select: Any) -> NumericSpec:
        if n == 0:
            return cls(np.empty(0), np.empty(0), np.empty(0, dtype=np.int64))
        levels = [lv for lv in BODY_LEVELS + TAIL_LEVELS if min(lv, 1 - lv) * n >= MIN_BEYOND]
        levels = sorted(set(levels) | {lv for lv in BODY_LEVELS})
        lv = np.asarray(levels)
        idx = np.clip(np.ceil(lv * n).astype(np.int64) - 1, 0, n - 1)
        picked = select(np.concatenate([[0], idx, [n - 1]]))
        values = picked[1:-1]
        lo = np.nextafter(picked[0], -np.inf)
        edges = np.unique(np.concatenate([[lo], values, [picked[-1]]]))
        return cls(edges, lv, np.searchsorted(edges, values))


@dataclass
class NumericProfile(Mergeable):
    """One numeric column of one batch or window, binned on the reference's edges (see the module).

    Built from values by ``from_values`` (or ``from_sorted``); combined by ``merge`` or ``+`` into a new
    profile. On the edges of ``NumericSpec``'s example, the batch 1, 2, 3, 4, NaN, inf has 4 finite
    values (one in each of bins 1-4) and one infinity; NaN is the column profile's business. Merged with
    0, 4, 9 (bins 0, 4 and 5), the seven values have mean 23 / 7 = 3.2857, and their median, read from
    the complete sample, is the value at rank ceil(0.5 * 7) = 4: 3.0.

    >>> spec = NumericSpec.from_sorted(np.array([1.0, 2.0, 3.0, 4.0]))
    >>> p = NumericProfile.from_values(np.array([1.0, 2.0, 3.0, 4.0, np.nan, np.inf]), spec)
    >>> p.n, p.n_inf, p.counts.tolist(), p.quantile(0.5), p.moments.variance   # 5 / 3 by hand
    (4, 1, [0, 1, 1, 1, 1, 0], 2.0, 1.6666666666666667)
    >>> m = p + NumericProfile.from_values(np.array([0.0, 4.0, 9.0]), spec)
    >>> m.n, m.counts.tolist(), round(m.moments.mean, 4), m.quantile(0.5), m.min, m.max
    (7, [1, 1, 1, 1, 2, 1], 3.2857, 3.0, 0.0, 9.0)
    """

    n: int = 0  # finite values
    n_inf: int = 0
    moments: Moments = EMPTY_MOMENTS
    min: float = math.nan
    max: float = math.nan
    counts: np.ndarray | None = None  # per bin of the spec; None without one
    sums: np.ndarray | None = None
    top: dict[float, int] = field(default_factory=dict)
    top_omitted: int = 0  # no value outside ``top`` occurs more often than this
    sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    quantiles: dict[float, float] | None = None  # exact, while from one batch
    kll_bytes: bytes | None = None

    @property
    def sample_complete(self) -> bool:
        """True when ``sample`` holds every finite value (exact tests apply)."""
        return self.sample.size == self.n

    @classmethod
    def from_values(cls, values: np.ndarray, spec: NumericSpec | None, sample_cap: int = SAMPLE_CAP,
                    with_sketch: bool = True) -> NumericProfile:
        finite = np.isfinite(values)
        v = values if finite.all() else values[finite]
        n_inf = int(np.isinf(values).sum()) if v.size != values.size else 0
        if not with_sketch and spec is not None and v.size >= UNSORTED_MIN and spec.edges.size >= 3:
            return cls._from_unsorted(v, spec, n_inf=n_inf, sample_cap=sample_cap)
        s = np.sort(v)
        return cls.from_sorted(s, spec, n_inf=n_inf, sample_cap=sample_cap, with_sketch=with_sketch)

    @classmethod
    def _from_unsorted(cls, v: np.ndarray, spec: NumericSpec, *, n_inf: int, sample_cap: int) -> NumericProfile:
        """The same profile as ``from_sorted`` (bins, sums, exact quantiles, the frequent values) without
        sorting: on a large column the sort is the largest step of a profile (docs/BENCHMARKS.md, "Figures behind the code").

        Integer-valued columns are counted value by value (``bincount``); others on a fine uniform grid
        whose cells either lie between two edges (every value in them has the same bin) or touch an edge
        (their few values are placed by binary search). Only the values the grid cannot place, those
        outside its range or in a cell heavy enough to hide a frequent value, are ever sorted.
        """
        p, ranks = _unsorted_start(v, n_inf, sample_cap)
        counted = _integer_counts(p, v)
        if counted is not None:
            _from_distinct(p, *counted, spec, ranks)
        else:
            _from_grid(p, v, spec, ranks)
        return p

    @classmethod
    def from_sorted(cls, s: np.ndarray, spec: NumericSpec | None, *, n_inf: int = 0, sample_cap: int = SAMPLE_CAP,
                    with_sketch: bool = True) -> NumericProfile:
        n = int(s.size)
        p = cls(n=n, n_inf=n_inf)
        if n:
            p.moments = Moments.from_values(s)
            p.min, p.max = float(s[0]), float(s[-1])
            q_idx = np.clip(np.ceil(np.asarray(REPORT_QUANTILES) * n).astype(np.int64) - 1, 0, n - 1)
            p.quantiles = {q: float(s[i]) for q, i in zip(REPORT_QUANTILES, q_idx, strict=False)}
            p.top, p.top_omitted = _top_values(s)
            if n <= sample_cap:
                p.sample = s.copy()
            else:
                rng = np.random.default_rng(n)
                p.sample = np.sort(s[rng.choice(n, size=sample_cap, replace=False)])
            if with_sketch:
                sk = ds.kll_doubles_sketch(KLL_K)
                sk.update(s)
                p.kll_bytes = sk.serialize()
        else:
            p.quantiles = {}
        if spec is not None:
            p.counts, p.sums = _bin(s, spec.edges)
        return p

    def kll(self) -> ds.kll_doubles_sketch | None:
        """A fresh sketch from the stored bytes, which the caller may change (merge into): a method, not a
        property, because each call deserialises and hands out a new mutable object."""
        return ds.kll_doubles_sketch.deserialize(self.kll_bytes) if self.kll_bytes else None

    def quantile(self, q: float) -> float:
        if self.n == 0:
            return math.nan
        if self.quantiles is not None and q in self.quantiles:
            return self.quantiles[q]
        if self.sample_complete:
            return float(self.sample[max(0, math.ceil(q * self.n) - 1)])
        sk = self.kll()
        return float(sk.get_quantile(q)) if sk is not None else math.nan

    @property
    def quantiles_exact(self) -> bool:
        return self.quantiles is not None or self.sample_complete

    def merge(self, other: NumericProfile) -> NumericProfile:
        if (self.counts is None) != (other.counts is None) or (
            self.counts is not None and other.counts is not None and self.counts.size != other.counts.size
        ):
            raise ValueError("cannot merge numeric profiles binned on different reference edges")
        out = NumericProfile(n=self.n + other.n, n_inf=self.n_inf + other.n_inf)
        out.moments = self.moments.merge(other.moments)
        out.min = float(np.nanmin([self.min, other.min])) if out.n else math.nan
        out.max = float(np.nanmax([self.max, other.max])) if out.n else math.nan
        if self.counts is not None and other.counts is not None:
            out.counts = self.counts + other.counts
            out.sums = self.sums + other.sums  # type: ignore[operator]
        out.top, out.top_omitted = _merge_top(self.top, self.top_omitted, other.top, other.top_omitted)
        out.sample = _merge_samples(self.sample, self.n, other.sample, other.n)
        out.quantiles = None if self.n and other.n else (self.quantiles if self.n else other.quantiles)
        out.kll_bytes = merge_kll(self.kll_bytes, other.kll_bytes)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_inf": self.n_inf,
            "moments": self.moments.to_list(),
            "min": _num(self.min),
            "max": _num(self.max),
            "counts": None if self.counts is None else [int(c) for c in self.counts],
            "sums": None if self.sums is None else [float(x) for x in self.sums],
            "top": [[_num(k), int(v)] for k, v in self.top.items()],
            "top_omitted": self.top_omitted,
            "sample": [float(x) for x in self.sample],
            "quantiles": None if self.quantiles is None else {f"{q:g}": _num(v) for q, v in self.quantiles.items()},
            "kll": base64.b64encode(self.kll_bytes).decode("ascii") if self.kll_bytes else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NumericProfile:
        return cls(
            n=int(d["n"]),
            n_inf=int(d.get("n_inf", 0)),
            moments=Moments.from_list(d["moments"]),
            min=math.nan if d.get("min") is None else float(d["min"]),
            max=math.nan if d.get("max") is None else float(d["max"]),
            counts=None if d.get("counts") is None else np.asarray(d["counts"], dtype=np.int64),
            sums=None if d.get("sums") is None else np.asarray(d["sums"], dtype=np.float64),
            top={float(k): int(v) for k, v in d.get("top", [])},
            top_omitted=int(d.get("top_omitted", 0)),
            sample=np.asarray(d.get("sample", []), dtype=np.float64),
            quantiles=None if d.get("quantiles") is None else {float(k): (math.nan if v is None else float(v))
                                                                for k, v in d["quantiles"].items()},
            kll_bytes=base64.b64decode(d["kll"]) if d.get("kll") else None,
        )


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


UNSORTED_MIN = 20_000
"""From this many values on, a profile is built without sorting them (``_from_unsorted``); below, one
sort is as cheap as the grid's passes."""

INTEGER_SPAN = 1 << 20
"""Integer-valued columns spanning at most this many integers are counted value by value."""

GRID_CELLS = 1 << 16
FREQUENT_SHARE = 1 / 2000
"""Without sorting, the frequent values listed are all those holding more than this share of the values
(a sentinel's default share is 1%); ``top_omitted`` bounds the others by it."""


SELECT_CELLS = 1 << 18


def _select(v: np.ndarray, cell: np.ndarray, counts: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """The values at ``ranks`` of ``v``, given a cell index per value that never decreases as the value
    grows: cumulative counts name each rank's cell, and only those cells' values are sorted."""
    cum = np.concatenate([[0], np.cumsum(counts)])
    at = np.searchsorted(cum, ranks, side="right") - 1
    needed = np.zeros(counts.size, dtype=bool)
    needed[at] = True
    chosen = np.sort(v[needed[cell]])
    before = np.concatenate([[0], np.cumsum(np.where(needed, counts, 0))])  # chosen values in earlier cells
    return chosen[before[at] + ranks - cum[at]]


def _integral(v: np.ndarray) -> bool:
    """Every value a whole number; the first thousand decide most columns without a full pass."""
    head = v[:1000]
    return bool(np.array_equal(head, np.round(head)) and np.array_equal(v, np.round(v)))


def _from_distinct(p: NumericProfile, values: np.ndarray, counts: np.ndarray, spec: NumericSpec,
                   ranks: np.ndarray) -> None:
    """Bins, sums, quantiles and frequent values from the distinct values (ascending) and their counts."""
    idx = np.searchsorted(spec.edges, values, side="left")
    p.counts = np.bincount(idx, weights=counts, minlength=spec.n_bins).astype(np.int64)
    p.sums = np.bincount(idx, weights=values * counts, minlength=spec.n_bins)
    cum = np.cumsum(counts)
    at = np.searchsorted(cum, ranks, side="right")
    p.quantiles = {q: float(values[i]) for q, i in zip(REPORT_QUANTILES, at, strict=False)}
    p.top, p.top_omitted = _top_of(values, counts)


def _top_of(values: np.ndarray, counts: np.ndarray, floor: int = 0) -> tuple[dict[float, int], int]:
    """The TOP_K most frequent of exactly counted values (at least twice), and the largest count among
    the rest - at least ``floor``, the bound on values that were not counted."""
    if counts.size == 0:
        return {}, floor
    if counts.size > TOP_K:
        keep = np.argpartition(counts, -TOP_K)[-TOP_K:]
        rest = np.ones(counts.size, dtype=bool)
        rest[keep] = False
        omitted = int(counts[rest].max())
    else:
        keep = np.arange(counts.size)
        omitted = 0
    top = {float(values[i]): int(counts[i]) for i in keep if counts[i] >= 2}
    if len(top) < keep.size:
        omitted = max(omitted, 1)
    return dict(sorted(top.items(), key=lambda kv: -kv[1])), max(omitted, floor)


def grid_cells(v: np.ndarray, edges: np.ndarray, cells: int = GRID_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """Each value's cell of a uniform grid over the inner edges (monotone in the value: 0 below the grid,
    cells + 1 above it), and each cell's bin (``bin_table``).

    Beyond the inner edges values are few (or the data moved, and then there is no shortcut anyway).
    """
    lo, hi = float(edges[min(1, edges.size - 1)]), float(edges[max(edges.size - 2, 0)])
    if not hi > lo:
        lo, hi = float(edges[0]), float(edges[-1])
    if not hi > lo:  # one distinct edge: every cell ambiguous
        return np.where(v < lo, 0, cells + 1), np.full(cells + 2, -1)
    scale = cells / (hi - lo)
    return _cells(v, lo, scale, cells), bin_table(edges, lo, scale, cells)


def _cells(v: np.ndarray, lo: float, scale: float, cells: int) -> np.ndarray:
    buf = np.subtract(v, lo)
    np.multiply(buf, scale, out=buf)
    np.add(buf, 1.0, out=buf)
    np.clip(buf, 0.0, cells + 1.0, out=buf)
    return buf.astype(np.int64)


def bin_table(edges: np.ndarray, lo: float, scale: float, cells: int) -> np.ndarray:
    """Each grid cell's bin (bin i: edges[i-1] < x <= edges[i]), or -1 where the cell is ambiguous.

    A cell is ambiguous when an edge lies in it or a neighbour (rounding moves a value by far less than a
    cell); every other cell lies between two edges, so its midpoint's bin is the bin of all its values,
    and only the values of ambiguous cells need a binary search."""
    table = np.searchsorted(edges, lo + (np.arange(-1, cells + 1) + 0.5) / scale, side="left")
    e_cell = np.clip((edges - lo) * scale + 1.0, 0.0, cells + 1.0).astype(np.int64)
    for d in (-1, 0, 1):
        table[np.clip(e_cell + d, 0, cells + 1)] = -1
    table[[0, cells + 1]] = -1
    return table


def _from_grid(p: NumericProfile, v: np.ndarray, spec: NumericSpec, ranks: np.ndarray) -> None:
    cell, table = grid_cells(v, spec.edges)
    _aggregate(p, v, spec, cell, table, np.bincount(cell, minlength=GRID_CELLS + 2), ranks)


def _aggregate(p: NumericProfile, v: np.ndarray, spec: NumericSpec, cell: np.ndarray, table: np.ndarray,
               cell_counts: np.ndarray, ranks: np.ndarray) -> None:
    """Bins, sums, quantiles and frequent values from each value's grid cell and each cell's bin."""
    # a clear cell adds its count and sum to its bin whole; only the values of ambiguous cells are placed
    # one by one (no per-value bin index is ever built)
    cell_sums = np.bincount(cell, weights=v, minlength=cell_counts.size)
    clear = table >= 0
    loose = v[~clear[cell]]
    at = np.searchsorted(spec.edges, loose, side="left")
    p.counts = (np.bincount(table[clear], weights=cell_counts[clear], minlength=spec.n_bins).astype(np.int64)
                + np.bincount(at, minlength=spec.n_bins))
    p.sums = (np.bincount(table[clear], weights=cell_sums[clear], minlength=spec.n_bins)
              + np.bincount(at, weights=loose, minlength=spec.n_bins))

    # quantiles: the cells holding the ranks, and a sort of just their values
    p.quantiles = dict(zip(REPORT_QUANTILES, _select(v, cell, cell_counts, ranks).tolist(), strict=False))

    # frequent values: a value held more than `bound` times sits in a cell holding more than that (the
    # cells beyond the grid included); count exactly there, bound the rest by it
    bound = max(1, int(v.size * FREQUENT_SHARE))
    heavy = cell_counts > bound
    heavy[[0, cell_counts.size - 1]] = True
    values, counts = np.unique(v[heavy[cell]], return_counts=True)
    p.top, p.top_omitted = _top_of(values, counts, floor=bound)


def learn_unsorted(v: np.ndarray, n_inf: int, sample_cap: int = SAMPLE_CAP) -> tuple[NumericSpec, NumericProfile]:
    """A reference column's spec and profile in one pass over its finite values, without sorting them:
    the grid whose cells select the exact edges (``_select``) also bins the values on them. The same
    spec and profile as ``NumericSpec.from_sorted`` and ``NumericProfile.from_sorted`` give."""
    n = int(v.size)
    p, ranks = _unsorted_start(v, n_inf, sample_cap)
    counted = _integer_counts(p, v)
    if counted is not None:
        values, c = counted
        cum = np.cumsum(c)
        spec = NumericSpec._at(n, lambda r: values[np.searchsorted(cum, r, side="right")])
        _from_distinct(p, values, c, spec, ranks)
    else:
        smp = np.sort(v[np.random.default_rng(n).integers(0, n, 4096)])
        lo, hi = float(smp[4]), float(smp[-5])
        if not hi > lo:
            lo, hi = p.min, p.max
        if not hi > lo:  # (nearly) constant: nothing for a grid to do
            s = np.sort(v)
            spec = NumericSpec.from_sorted(s)
            return spec, NumericProfile.from_sorted(s, spec, n_inf=n_inf, sample_cap=sample_cap, with_sketch=False)
        scale = SELECT_CELLS / (hi - lo)
        cell = _cells(v, lo, scale, SELECT_CELLS)
        cell_counts = np.bincount(cell, minlength=SELECT_CELLS + 2)
        spec = NumericSpec._at(n, lambda r: _select(v, cell, cell_counts, r))
        _aggregate(p, v, spec, cell, bin_table(spec.edges, lo, scale, SELECT_CELLS), cell_counts, ranks)
    return spec, p


def _unsorted_start(v: np.ndarray, n_inf: int, sample_cap: int) -> tuple[NumericProfile, np.ndarray]:
    """What an unsorted profile knows before binning: count, moments, range, the exact sample (seeded by
    the size, as the sorted path's), and the ranks of the report quantiles."""
    n = int(v.size)
    p = NumericProfile(n=n, n_inf=n_inf, moments=Moments.from_values(v), min=float(v.min()), max=float(v.max()))
    p.sample = np.sort(v[np.random.default_rng(n).choice(n, size=sample_cap, replace=False)]) if n > sample_cap \
        else np.sort(v)
    return p, np.clip(np.ceil(np.asarray(REPORT_QUANTILES) * n).astype(np.int64) - 1, 0, n - 1)


def _integer_counts(p: NumericProfile, v: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct values (ascending) and their counts of an integer-valued column spanning at most
    INTEGER_SPAN integers; None for any other (it goes to the grid)."""
    if not (p.max - p.min <= INTEGER_SPAN and _integral(v)):
        return None
    counts = np.bincount((v - p.min).astype(np.int64))
    present = np.flatnonzero(counts)
    return p.min + present.astype(np.float64), counts[present]


def _bin(s: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts and sums of sorted values per bin (bin i: edges[i-1] < x <= edges[i])."""
    n = s.size
    pos = np.concatenate([[0], np.searchsorted(s, edges, side="right"), [n]])
    counts = np.diff(pos).astype(np.int64)
    sums = np.zeros(counts.size)
    filled = counts > 0
    if n:
        # a bin's sum runs from its first value to the next filled bin's first value
        sums[filled] = np.add.reduceat(s, pos[:-1][filled])
    return counts, sums


def _top_values(s: np.ndarray) -> tuple[dict[float, int], int]:
    """The TOP_K most frequent values of sorted data, and the largest count
    among the rest (values occurring once are never listed)."""
    n = s.size
    if n == 0:
        return {}, 0
    changes = s[1:] != s[:-1]
    if changes.all():  # all values distinct: nothing repeats, nothing to list
        return {}, 1
    starts = np.concatenate([[0], np.flatnonzero(changes) + 1])
    return _top_of(s[starts], np.diff(np.append(starts, n)))


def _merge_top(a: dict[float, int], a_om: int, b: dict[float, int], b_om: int) -> tuple[dict[float, int], int]:
    """Union of two frequent-value lists. A value absent from one side counts
    at most that side's omitted bound there; we record the counts we know
    (a lower bound) and carry the bounds, as the Misra-Gries merge does."""
    merged: dict[float, int] = dict(a)
    for k, v in b.items():
        merged[k] = merged.get(k, 0) + v
    omitted = a_om + b_om
    if len(merged) > TOP_K:
        ordered = sorted(merged.items(), key=lambda kv: -kv[1])
        omitted = max(omitted, ordered[TOP_K][1] + a_om + b_om)
        merged = dict(ordered[:TOP_K])
    return dict(sorted(merged.items(), key=lambda kv: -kv[1])), omitted


def merge_kll(a: bytes | None, b: bytes | None) -> bytes | None:
    """The serialised KLL sketch of both parts, from theirs (None for a part with no values)."""
    if a and b:
        sk = ds.kll_doubles_sketch.deserialize(a)
        sk.merge(ds.kll_doubles_sketch.deserialize(b))
        return sk.serialize()
    return a or b


def _merge_samples(a: np.ndarray, n_a: int, b: np.ndarray, n_b: int, cap: int = SAMPLE_CAP) -> np.ndarray:
    """A uniform sample of the union from uniform samples of the parts: draw
    how many come from each part (hypergeometric), then that many from each.
    Seeded by the sizes, so the same merge gives the same sample."""
    if a.size + b.size <= cap and a.size == n_a and b.size == n_b:
        return np.sort(np.concatenate([a, b]))
    k = min(cap, n_a + n_b)
    rng = np.random.default_rng([n_a, n_b])
    k_a = int(rng.hypergeometric(n_a, n_b, k)) if n_a and n_b else (k if n_a else 0)
    k_a = min(k_a, a.size)
    k_b = min(k - k_a, b.size)
    pick_a = a[rng.choice(a.size, size=k_a, replace=False)] if k_a else np.empty(0)
    pick_b = b[rng.choice(b.size, size=k_b, replace=False)] if k_b else np.empty(0)
    return np.sort(np.concatenate([pick_a, pick_b]))
