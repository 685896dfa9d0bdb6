"""What the multivariate drift tests need from the reference and from each window.

The reference learns an encoding of rows into numbers (``Encoder``), a PCA
of the encoded rows, the distribution of the reconstruction error on rows
the PCA did not see, and a small sample of encoded rows for the domain
classifier (``MultivariateModel``, stored in the baseline). Current data is
folded into a ``MultivariateProfile``: the count and sums of the per-row
reconstruction error (they add, so windows merge exactly) and a bottom-k
sample of encoded rows (uniform, and merges exactly too).

Encoding: a numeric feature becomes its normal score under the reference
(the reference's mid-ECDF, interpolated, through the normal quantile), so a
skewed or heavy-tailed column neither dominates the components nor makes the
error's mean unstable; every coordinate is bounded (about +-4). A
categorical or boolean feature becomes standardised indicators of its most
frequent reference categories. Missing values encode as 0, the reference
centre: missingness is the quality checks' business, and must not look like
a change of structure.
"""

from __future__ import annotations

import base64
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtri

from argusml.profile.column import ColumnSpec
from argusml.profile.correlation import normal_scores
from argusml.profile.frame import TableSource, coerce
from argusml.schema import Kind, Role
from argusml.stats import Mergeable
from argusml.stats.multivariate import PCA, QUADRATIC_BASIS, bottom_k, fit_pca, principal_axes

FIT_ROWS = 20_000
"""Reference rows the model learns from: half fit the PCA, the other half give
the held-out error distribution and the classifier's reference sample."""
KNOTS = 257
MAX_ENCODED = 100
"""Encoded columns kept (the most complete features first); the classifier's products grow with the square."""
MAX_INDICATORS = 8
MIN_CATEGORY_SHARE = 0.01
SALT = 0x6D756C7469
"""Mixed into every seed here: a bare seed 0 would replay the very stream that
generated a test's (or a simulation's) data, and the sample would select on it."""
SCORE_ROWS = 20_000
"""Current rows whose reconstruction error is computed (every k-th row beyond
this): the mean error is then known to about 1% of itself (its spread is
about its mean), ten times finer than the 10% rise that matters; encoding
more rows of a large table only costs time."""


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def _unb64(s: str, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=dtype).reshape(shape).copy()


@dataclass
class EncodedColumn:
    """One coordinate of an encoded row: a numeric feature's normal score, or one category's indicator.

    >>> EncodedColumn("x", "numeric").label, EncodedColumn("c", "categorical", category="a").label
    ('x', 'c=a')
    >>> EncodedColumn.from_dict(EncodedColumn("c", "categorical", category="a", mean=0.5, sd=0.5).to_dict())
    EncodedColumn(name='c', kind='categorical', knots=None, cdf=None, category='a', mean=0.5, sd=0.5)
    """

    name: str
    kind: str  # the column's kind: "numeric", or "categorical" / "boolean" for an indicator of ``category``
    knots: np.ndarray | None = None  # numeric: reference values ...
    cdf: np.ndarray | None = None  # ... and their mid-ECDF
    category: str | None = None  # indicator: the category
    mean: float = 0.0
    sd: float = 1.0

    @property
    def label(self) -> str:
        return self.name if self.category is None else f"{self.name}={self.category}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind, "mean": self.mean, "sd": self.sd}
        if self.knots is not None and self.cdf is not None:
            d.update(knots=self.knots.tolist(), cdf=self.cdf.tolist())
        if self.category is not None:
            d["category"] = self.category
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncodedColumn:
        return cls(d["name"], d["kind"], None if "knots" not in d else np.asarray(d["knots"], dtype=np.float64),
                   None if "cdf" not in d else np.asarray(d["cdf"], dtype=np.float64), d.get("category"),
                   float(d["mean"]), float(d["sd"]))


def _knots(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference values at KNOTS quantiles and their mid-ECDF (ties get the middle of their jump).

    The ECDF is clipped to [1/2n, 1 - 1/2n] with n at most 10,000, so the
    most extreme score is about +-3.9 whatever the reference size."""
    s = np.sort(v)
    knots = np.unique(np.quantile(s, np.linspace(0.0, 1.0, KNOTS), method="inverted_cdf"))
    mid = (np.searchsorted(s, knots, "left") + np.searchsorted(s, knots, "right")) / (2.0 * s.size)
    lo = 0.5 / min(s.size, 10_000)
    return knots, np.clip(mid, lo, 1.0 - lo)


def _fit_column(source: TableSource, name: str, spec: ColumnSpec, rows: np.ndarray
                ) -> tuple[float, list[EncodedColumn]] | None:
    """How one feature encodes (normal scores, or indicators of its frequent categories), and the share of
    rows where it is present; None when it cannot carry joint structure (constant, or one category)."""
    arr = source.column(name).take(pa.array(rows))
    if spec.kind is Kind.NUMERIC:
        v = coerce(arr, Kind.NUMERIC).values
        v = v[np.isfinite(v)]
        if v.size < 2 or v.min() == v.max():
            return None
        knots, cdf = _knots(v)
        if knots.size < 2:
            return None
        z = ndtri(np.interp(v, knots, cdf))
        return v.size / rows.size, [EncodedColumn(name, "numeric", knots, cdf, mean=float(z.mean()),
                                                  sd=float(z.std()) or 1.0)]
    if spec.kind not in (Kind.CATEGORICAL, Kind.BOOLEAN):
        return None
    vals = coerce(arr, spec.kind).values
    present = len(vals) - vals.null_count
    if present < 2:
        return None
    counts = pc.value_counts(pc.drop_null(vals))
    pairs = sorted(((c.as_py(), str(v.as_py())) for v, c in zip(counts.field("values"), counts.field("counts"))),
                   reverse=True)
    if len(pairs) < 2:
        return None
    # k - 1 indicators carry a k-category column whole; rare categories are noise to a PCA
    ind = [EncodedColumn(name, spec.kind.value, category=cat, mean=c / rows.size,
                         sd=float(np.sqrt(c / rows.size * (1 - c / rows.size))))
           for c, cat in pairs[:min(MAX_INDICATORS, len(pairs) - 1)] if c / rows.size >= MIN_CATEGORY_SHARE]
    return (present / rows.size, ind) if ind else None


class Encoder:
    """Rows of a table as a float matrix, the same way for reference and current data.

    With knots 0, 1, 2 at ECDF 0.25, 0.5, 0.75, x = 1 scores the normal quantile of 0.5, 0, and x = 2
    that of 0.75, 0.6745; c = "a" against a share of 0.5 (sd 0.5) is (1 - 0.5) / 0.5 = 1, "b" -1.
    Missing values encode as 0, the centre.

    >>> enc = Encoder([EncodedColumn("x", "numeric", knots=np.array([0.0, 1.0, 2.0]), cdf=np.array([0.25, 0.5, 0.75])),
    ...                EncodedColumn("c", "categorical", category="a", mean=0.5, sd=0.5)])
    >>> src = TableSource.from_frame(pa.table({"x": [1.0, 2.0, None], "c": ["a", "b", None]}))
    >>> enc.names, enc.encode(src).round(4).tolist()
    (['x', 'c'], [[0.0, 1.0], [0.6745, -1.0], [0.0, 0.0]])
    """

    def __init__(self, columns: list[EncodedColumn]) -> None:
        self.columns = columns
        self.names = list(dict.fromkeys(c.name for c in columns))

    @classmethod
    def fit(cls, source: TableSource, specs: dict[str, ColumnSpec], rows: np.ndarray) -> Encoder:
        from argusml.profile.dataset import run_tasks  # (dataset imports this module)

        names = [n for n, sp in specs.items() if sp.role is Role.FEATURE and n in source.schema.names]
        fitted = run_tasks([(lambda n=n: _fit_column(source, n, specs[n], rows)) for n in names])
        cols = [c for c in fitted if c is not None]
        cols.sort(key=lambda t: -t[0])  # stable: the most complete first, then table order
        out: list[EncodedColumn] = []
        for _, group in cols:
            if len(out) + len(group) > MAX_ENCODED:
                break
            out.extend(group)
        return cls(out)

    def encode(self, source: TableSource, rows: np.ndarray | None = None) -> np.ndarray:
        """(rows x encoded columns), missing as 0; a column the table lacks is all 0 (the quality
        checks report it missing; here it must not pass for a change of structure)."""
        from argusml.profile.dataset import run_tasks  # (dataset imports this module)

        n = source.n_rows if rows is None else rows.size
        z = np.zeros((n, len(self.columns)))
        # each task fills its own columns of z
        run_tasks([(lambda name=name: self.encode_column(name, source.column(name), rows, z))
                   for name in self.names if name in source.schema.names])
        return z

    def encode_column(self, name: str, arr: pa.ChunkedArray, rows: np.ndarray | None, z: np.ndarray) -> None:
        """Fill the encoded columns of one feature into ``z``: profiling calls this with the
        column it has just read, so no file is read twice."""
        if rows is not None:
            arr = arr.take(pa.array(rows))
        vals = None
        for j, c in enumerate(self.columns):
            if c.name != name:
                continue
            if vals is None:
                vals = coerce(arr, Kind(c.kind)).values
            if c.category is None:
                assert c.knots is not None and c.cdf is not None
                col = (normal_scores(vals, c.knots, c.cdf) - c.mean) / c.sd
                z[:, j] = np.where(np.isfinite(col), col, 0.0)
            else:
                hit = pc.fill_null(pc.equal(pc.cast(vals, pa.string()), c.category), False)
                ind = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=np.float64)
                col = (ind - c.mean) / c.sd
                present = np.asarray(pc.is_valid(vals).to_numpy(zero_copy_only=False), dtype=bool)
                z[:, j] = np.where(present, col, 0.0)

    def to_list(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.columns]


def fit_rows(n_rows: int, seed: int = 0) -> np.ndarray:
    """The reference rows the model learns from, sorted (seeded: the same baseline from the same data)."""
    rng = np.random.default_rng([seed, SALT])
    return np.sort(rng.choice(n_rows, size=min(FIT_ROWS, n_rows), replace=False))


def score_rows(n_rows: int) -> np.ndarray | None:
    """The rows whose error is computed: all, or every k-th so that at most SCORE_ROWS enter."""
    stride = max(1, -(-n_rows // SCORE_ROWS))
    return None if stride == 1 else np.arange(0, n_rows, stride)


@dataclass
class MultivariateModel:
    """What the reference learned of the features' joint structure (see the module): fitted once by
    ``fit``, then ``score`` folds each batch of current rows into a ``MultivariateProfile``.

    200 reference rows of two correlated features: all are fit rows, half fit the PCA (one component:
    at most p - 1) and the other 100 give the held-out error. Current rows whose y runs against x
    break the structure, and their mean error is far above the reference's.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=200)
    >>> src = TableSource.from_frame(pa.table({"x": x, "y": x + rng.normal(0.0, 0.3, 200)}))
    >>> from argusml.profile import Reference
    >>> model = Reference.from_source(src).multivariate
    >>> len(model.encoder.columns), model.pca.components.shape, model.error_n, model.sample.shape
    (2, (1, 2), 100, (100, 2))
    >>> p = model.score(TableSource.from_frame(pa.table({"x": x[:100], "y": -x[:100]})), sample_rows=10)
    >>> p.n, p.error_sum / p.n > 10 * model.error_mean
    (100, True)
    """

    encoder: Encoder
    pca: PCA
    error_n: int  # held-out reference rows ...
    error_mean: float  # ... their mean reconstruction error ...
    error_var: float  # ... and its variance
    sample: np.ndarray  # encoded held-out reference rows, for the domain classifier
    error_columns: np.ndarray  # held-out mean squared residual per encoded column (where the error sits)
    basis: np.ndarray | None = None  # leading directions for the classifier's products (when p > QUADRATIC_BASIS)

    @classmethod
    def fit(cls, source: TableSource, specs: dict[str, ColumnSpec], sample_rows: int = 2000, seed: int = 0,
            exclude: Collection[str] = (), taken: dict[str, pa.ChunkedArray] | None = None
            ) -> MultivariateModel | None:
        """None when fewer than two features encode (nothing joint to test) or too few rows.
        ``exclude``: features a comparison ignores, left out of the model. ``taken``: the
        ``fit_rows`` of columns a caller has already read (the reference's profiling)."""
        if source.n_rows < 40:
            return None
        rows = fit_rows(source.n_rows, seed)
        keep = {n: s for n, s in specs.items() if n not in exclude and s.role is Role.FEATURE
                and n in source.schema.names}
        # the sampled rows once, in memory: fitting and encoding then read no file twice
        idx = pa.array(rows)
        taken = taken or {}
        part = TableSource.from_frame(pa.table({n: taken[n] if n in taken else source.column(n).take(idx)
                                                for n in keep}), source.name)
        every = np.arange(part.n_rows)
        enc = Encoder.fit(part, keep, every)
        if len(enc.columns) < 2:
            return None
        z = enc.encode(part)
        perm = np.random.default_rng([seed, SALT, 1]).permutation(z.shape[0])  # PCA half, held-out half
        a, b = z[perm[: z.shape[0] // 2]], z[perm[z.shape[0] // 2:]]
        pca = fit_pca(a)
        res = pca.residuals(b)
        res2 = res * res
        err = res2.mean(axis=1)
        basis = None
        if z.shape[1] > QUADRATIC_BASIS:
            basis = principal_axes(a)[1][:QUADRATIC_BASIS]
        return cls(enc, pca, int(err.size), float(err.mean()), float(err.var(ddof=1)),
                   b[:sample_rows].astype(np.float32), res2.mean(axis=0), basis)

    def score(self, source: TableSource, sample_rows: int, seed: int = 0) -> MultivariateProfile:
        """Fold a table: reconstruction errors of (at most SCORE_ROWS of) its rows and a bottom-k sample."""
        return self.score_encoded(self.encoder.encode(source, score_rows(source.n_rows)), sample_rows, seed)

    def score_encoded(self, z: np.ndarray, sample_rows: int, seed: int = 0) -> MultivariateProfile:
        res2 = self.pca.residuals(z)
        res2 *= res2
        err = res2.mean(axis=1)
        prof = MultivariateProfile(int(err.size), float(err.sum()), float((err * err).sum()), sample_rows,
                                   res2.sum(axis=0))
        if sample_rows > 0 and z.shape[0]:
            keys = np.random.default_rng([seed, SALT]).random(z.shape[0])
            keep = bottom_k(keys, sample_rows)
            prof.keys, prof.rows = keys[keep], z[keep].astype(np.float32)
        return prof

    def ignored(self, ignore: Collection[str]) -> np.ndarray:
        """Encoded columns of ignored features."""
        return np.array([j for j, c in enumerate(self.encoder.columns) if c.name in ignore], dtype=np.intp)

    def to_dict(self) -> dict[str, Any]:
        p = len(self.encoder.columns)
        return {"columns": self.encoder.to_list(),
                "pca": {"mean": self.pca.mean.tolist(), "components": self.pca.components.tolist(),
                        "explained": self.pca.explained.tolist()},
                "error": {"n": self.error_n, "mean": self.error_mean, "var": self.error_var,
                          "columns": self.error_columns.tolist()},
                "sample": {"rows": int(self.sample.shape[0]), "float32": _b64(self.sample)},
                "basis": None if self.basis is None else self.basis.tolist(), "width": p}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MultivariateModel:
        enc = Encoder([EncodedColumn.from_dict(c) for c in d["columns"]])
        p = len(enc.columns)
        comp = np.asarray(d["pca"]["components"], dtype=np.float64).reshape(-1, p)
        expl = np.asarray(d["pca"]["explained"], dtype=np.float64)
        pca = PCA(np.asarray(d["pca"]["mean"], dtype=np.float64), comp, expl, float(expl.sum()))
        s = d["sample"]
        sample = _unb64(s["float32"], np.float32, (int(s["rows"]), p))
        basis = None if d.get("basis") is None else np.asarray(d["basis"], dtype=np.float64).reshape(-1, p)
        e = d["error"]
        return cls(enc, pca, int(e["n"]), float(e["mean"]), float(e["var"]), sample,
                   np.asarray(e["columns"], dtype=np.float64), basis)


@dataclass
class MultivariateProfile(Mergeable):
    """Current rows folded for the multivariate tests: the sums of their reconstruction errors and a
    bottom-k sample of encoded rows. Built by ``MultivariateModel.score``; combined by ``merge`` or ``+``
    into a new profile: the sums add, and the sample keeps the ``capacity`` smallest keys of both.

    >>> a = MultivariateProfile(2, error_sum=1.5, error_sum2=1.25, capacity=2, residual_sum=np.array([1.0, 0.5]),
    ...                         keys=np.array([0.3, 0.9]), rows=np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    >>> b = MultivariateProfile(1, error_sum=0.5, error_sum2=0.25, capacity=2, residual_sum=np.array([0.25, 0.25]),
    ...                         keys=np.array([0.1]), rows=np.array([[5.0, 6.0]], dtype=np.float32))
    >>> m = a + b
    >>> m.n, m.error_sum, m.residual_sum.tolist(), m.keys.tolist(), m.rows.tolist()
    (3, 2.0, [1.25, 0.75], [0.1, 0.3], [[5.0, 6.0], [1.0, 2.0]])
    """

    n: int  # rows whose reconstruction error was computed
    error_sum: float
    error_sum2: float
    capacity: int  # sample size kept (0: none)
    residual_sum: np.ndarray = field(default_factory=lambda: np.empty(0))  # per encoded column, squared residuals
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    rows: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.float32))

    def merge(self, other: MultivariateProfile) -> MultivariateProfile:
        cap = max(self.capacity, other.capacity)
        out = MultivariateProfile(self.n + other.n, self.error_sum + other.error_sum,
                                  self.error_sum2 + other.error_sum2, cap, self.residual_sum + other.residual_sum)
        parts = [p for p in (self, other) if p.keys.size]
        if parts:
            keys = np.concatenate([p.keys for p in parts])
            rows = np.vstack([p.rows for p in parts])
            keep = bottom_k(keys, cap)
            out.keys, out.rows = keys[keep], rows[keep]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "error_sum": self.error_sum, "error_sum2": self.error_sum2, "capacity": self.capacity,
                "residual_sum": self.residual_sum.tolist(),
                "sample": self.keys.size, "width": int(self.rows.shape[1]) if self.keys.size else 0,
                "keys": _b64(self.keys.astype(np.float64)), "float16": _b64(self.rows.astype(np.float16))}

    @staticmethod
    def strip_sample(d: dict[str, Any]) -> bool:
        """Drop the row sample from a stored profile (``to_dict`` form) in place; False when it had none.
        A window whose roll-up has merged it needs its sums still (its own verdict is kept) but not its
        rows: they are the bulk of a stored window."""
        if not int(d.get("sample") or 0):
            return False
        d.update(sample=0, width=0, keys="", float16="", stripped=True)
        return True

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MultivariateProfile:
        k, w = int(d["sample"]), int(d["width"])
        out = cls(int(d["n"]), float(d["error_sum"]), float(d["error_sum2"]), int(d["capacity"]),
                  np.asarray(d["residual_sum"], dtype=np.float64))
        if k:
            out.keys = _unb64(d["keys"], np.float64, (k,))
            out.rows = _unb64(d["float16"], np.float16, (k, w)).astype(np.float32)
        return out
