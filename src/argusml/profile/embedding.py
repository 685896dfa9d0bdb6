"""Embedding profile: a bounded, mergeable summary of a stream of vectors (the query or response
embeddings of one window of LLM events), and embedding drift between two of them.

The service cannot keep a day of 384-float rows, so a window keeps what each drift test needs
(``argusml.stats.embedding``) in a form that adds up:

* **Over every row, by addition:** n, Σx (float64) and Σ‖x‖². The mean is Σx / n and
  tr(Σ) = (Σ‖x‖² − n‖mean‖²) / (n − 1), so the centroid test is exact at any size.
* **A bounded sample of rows, by bottom-k** (Cohen & Kaplan 2007, "Summarizing data using
  bottom-k sketches"): each row's priority is a fixed hash (blake2b) of its key, an event id, read
  as a uniform number, and the profile keeps the ``cap`` rows of smallest priority, in arrival
  order. The k smallest of a union are among the k smallest of each part, so a merge keeps exactly
  the rows that profiling the union at once keeps: ``a.merge(b)`` is the profile of both parts'
  rows, sample and keys included, not a new draw. The sample feeds tr(Σ²), the MMD, the effect size
  and the examples, which the keys name.
* **The norms:** the sampled rows' norms (every norm while the profile holds every row, so the KS
  test is then exact) and a KLL sketch of all of them, the sketch a numeric column keeps
  (``argusml.profile.numeric``) at a finer accuracy (``NORMS_KLL_K``), for the KS test once the
  sample is partial.

Without keys a row's priority is a seeded draw for its position in the matrix (the seed by default a
hash of the rows), so one profile is a uniform sample, but a merge is only a uniform sample of the
union, not the one profiling the union would keep.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import datasketches as ds
import numpy as np

from argusml.profile.numeric import merge_kll
from argusml.stats import Mergeable, ks_exact, ks_p_value, ks_statistic_from_counts
from argusml.stats import tests as two_sample  # the module, not its TestResult: pytest would collect the class here
from argusml.stats.embedding import (
    EXAMPLES,
    MAX_PER_SIDE,
    MIN_NORMS_KS,
    MIN_SHIFT,
    NORMS_EXACT,
    PERMUTATIONS,
    EmbeddingDrift,
    EmbeddingSide,
    check_matrix,
    drift_between,
    squared_norms,
)

SAMPLE_CAP = MAX_PER_SIDE
"""Rows kept: as many as the MMD takes of a side, so a profile's test sees what a matrix's would."""

NORMS_KLL_K = 800
"""KLL accuracy for the norms: about 0.35% rank error (99% confidence), where a numeric column's sketch
(``argusml.profile.numeric.KLL_K``, 200) has 1.3%. The norms' KS counts as drift from a distance of 0.025
(``MIN_NORMS_KS``); two k = 200 sketches of 20,000 rows from one distribution read distances up to 0.008
larger than the exact ones, two k = 800 sketches up to 0.0015 (30 seeded pairs, 10 merged windows each).
The sketch stays small: about 15 kB, against 3 MB for the sample of rows."""

NORMS_SKETCH = "two-sample KS on the Euclidean norms, all rows, from KLL sketches (k = 800, rank error about 0.35% each)"


def key_priorities(keys: Sequence[str]) -> np.ndarray:
    """Each key's bottom-k priority: the first 8 bytes of its blake2b digest as an unsigned integer,
    uniform over [0, 2⁶⁴). A fixed hash, not Python's salted ``hash``, so every process and every
    window gives an event the same priority, which is what makes merging exact.

    >>> key_priorities(["q1", "q1", "q2"]).tolist() == [key_priorities(["q1"])[0]] * 2 + [key_priorities(["q2"])[0]]
    True
    """
    digest = b"".join(hashlib.blake2b(k.encode("utf-8"), digest_size=8).digest() for k in keys)
    return np.frombuffer(digest, dtype="<u8").astype(np.uint64)


def position_priorities(rows: np.ndarray, seed: int | None) -> np.ndarray:
    """Priorities for rows without keys: the seeded generator's i-th draw for row i. The default seed
    is a hash of the rows, so two windows with different rows never share a priority sequence."""
    if seed is None:
        seed = int.from_bytes(hashlib.blake2b(np.ascontiguousarray(rows).data, digest_size=8).digest(), "little")
    return np.random.default_rng(seed).integers(0, 2**64, size=len(rows), dtype=np.uint64)


def bottom_k(priority: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k smallest priorities, ties to the earlier row, in arrival order. Ordering by
    (priority, position) is a total order, and arrival order survives a merge (one part's rows, then
    the other's), so the same k rows come out of the parts as of the whole."""
    if len(priority) <= k:
        return np.arange(len(priority))
    return np.sort(np.argsort(priority, kind="stable")[:k])


@dataclass(eq=False)
class EmbeddingProfile(Mergeable):
    """A bounded summary of n vectors of ``dim`` floats that merges exactly (see the module).

    Three rows in two windows. Σ‖x‖² is 25 + 1 + 1 = 27 and the mean (4/3, 5/3), so
    tr(Σ) = (27 − 3·41/9) / 2 = 20/3. With room for two rows the merged profile keeps the two keys of
    smallest hash, the two that profiling all three rows at once keeps.

    >>> rows = np.array([[3.0, 4.0], [0.0, 1.0], [1.0, 0.0]])
    >>> a = EmbeddingProfile.from_rows(rows[:2], keys=["q1", "q2"], cap=2)
    >>> b = EmbeddingProfile.from_rows(rows[2:], keys=["q3"], cap=2)
    >>> m = a + b
    >>> m.n, m.mean.round(4).tolist(), m.sum_sq_norms, round(m.trace, 4), m.complete
    (3, [1.3333, 1.6667], 27.0, 6.6667, False)
    >>> m.keys, m.index.tolist(), m.norms.tolist()
    (['q1', 'q3'], [0, 2], [5.0, 1.0])
    >>> m.keys == EmbeddingProfile.from_rows(rows, keys=["q1", "q2", "q3"], cap=2).keys
    True
    """

    dim: int
    n: int
    sum: np.ndarray  # float64, over every row
    sum_sq_norms: float  # Σ‖x‖², over every row
    sample: np.ndarray  # float32, at most ``cap`` rows, arrival order
    priority: np.ndarray  # uint64, of each sample row
    index: np.ndarray  # int64: each sample row's position among all the rows profiled, parts in merge order
    keys: list[str] | None  # each sample row's key; None for rows profiled without keys
    norms: np.ndarray  # float64, each sample row's norm
    kll_bytes: bytes | None  # KLL sketch of every row's norm
    cap: int = SAMPLE_CAP

    @classmethod
    def from_rows(cls, matrix: np.ndarray, keys: Sequence[str] | None = None, cap: int = SAMPLE_CAP,
                  seed: int | None = None) -> EmbeddingProfile:
        """Profile one batch of rows (rows × dimensions). ``keys`` (event ids, one a row) make the sample
        exactly mergeable and name the examples; ``seed`` only matters without them."""
        a = check_matrix("rows", matrix, min_rows=0)
        if cap < 2:
            raise ValueError(f"cap must be at least 2 (the MMD needs two rows a side), got {cap}")
        n, dim = a.shape
        if keys is not None:
            keys = [str(k) for k in keys]
            if len(keys) != n:
                raise ValueError(f"got {len(keys)} keys for {n} rows: one key a row")
        priority = key_priorities(keys) if keys is not None else position_priorities(a, seed)
        keep = bottom_k(priority, cap)
        sq = squared_norms(a)
        norms = np.sqrt(sq)
        kll = None
        if n:
            sk = ds.kll_doubles_sketch(NORMS_KLL_K)
            sk.update(np.sort(norms))  # sorted is faster for the sketch (docs/BENCHMARKS.md)
            kll = sk.serialize()
        return cls(dim=dim, n=n, sum=a.sum(axis=0, dtype=np.float64), sum_sq_norms=float(sq.sum()),
                   sample=np.asarray(a[keep], dtype=np.float32), priority=priority[keep], index=keep.astype(np.int64),
                   keys=None if keys is None else [keys[i] for i in keep], norms=norms[keep], kll_bytes=kll, cap=cap)

    @property
    def mean(self) -> np.ndarray:
        return self.sum / self.n if self.n else np.full(self.dim, np.nan)

    @property
    def centred_ss(self) -> float:
        """Σ‖x − mean‖² = Σ‖x‖² − ‖Σx‖²/n. The difference loses digits only when the mean's norm is
        nearly every row's norm (relative error about 1e-16 · Σ‖x‖² / Σ‖x − mean‖²): never for
        embeddings, whose rows spread around a mean far shorter than they are."""
        return max(self.sum_sq_norms - float(self.sum @ self.sum) / self.n, 0.0) if self.n else 0.0

    @property
    def trace(self) -> float:
        """tr(Σ), the total variance over every row."""
        return self.centred_ss / (self.n - 1) if self.n > 1 else 0.0

    @property
    def complete(self) -> bool:
        """True when the sample holds every row: the norms test is then exact."""
        return len(self.sample) == self.n

    @property
    def labels(self) -> np.ndarray:
        """What names each sample row in a report: its key, or its position without keys."""
        return self.index if self.keys is None else np.asarray(self.keys, dtype=object)

    def kll(self) -> ds.kll_doubles_sketch | None:
        """A fresh sketch of the norms, which the caller may change (as ``NumericProfile.kll``)."""
        return ds.kll_doubles_sketch.deserialize(self.kll_bytes) if self.kll_bytes else None

    def norm_median(self) -> float:
        if self.complete:
            return float(np.median(self.norms)) if self.n else float("nan")
        return float(self.kll().get_quantile(0.5))  # type: ignore[union-attr]

    def side(self) -> EmbeddingSide:
        """What the drift tests need of this profile."""
        return EmbeddingSide(n=self.n, mean=self.mean, centred_ss=self.centred_ss, sample=self.sample,
                             labels=self.labels, norm_median=self.norm_median())

    def merge(self, other: EmbeddingProfile) -> EmbeddingProfile:
        if self.dim != other.dim:
            raise ValueError(f"cannot merge embedding profiles of {self.dim} and {other.dim} dimensions: "
                             "were both embedded with the same model?")
        keyed = {p.keys is not None for p in (self, other) if p.n}
        if len(keyed) > 1:
            raise ValueError("cannot merge a profile of keyed rows with one of rows without keys: "
                             "their samples were drawn on different priorities")
        with_keys = keyed == {True} or (not keyed and self.keys is not None)
        cap = min(self.cap, other.cap)
        keep = bottom_k(np.concatenate([self.priority, other.priority]), cap)

        def both(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.concatenate([a, b])[keep]

        keys = None
        if with_keys:
            joined = (self.keys or []) + (other.keys or [])
            keys = [joined[i] for i in keep]
        return EmbeddingProfile(
            dim=self.dim, n=self.n + other.n, sum=self.sum + other.sum, sum_sq_norms=self.sum_sq_norms + other.sum_sq_norms,
            sample=both(self.sample, other.sample).reshape(-1, self.dim), priority=both(self.priority, other.priority),
            index=both(self.index, other.index + self.n), keys=keys, norms=both(self.norms, other.norms),
            kll_bytes=merge_kll(self.kll_bytes, other.kll_bytes), cap=cap)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, compact: arrays as base64 of their little-endian bytes (a full sample of 2,000 × 384
        float32 rows is 3 MB, 4 MB as base64; as a list of decimals it would be about four times that)."""
        return {
            "dim": self.dim, "n": self.n, "cap": self.cap,
            "sum": _b64(self.sum, "<f8"), "sum_sq_norms": self.sum_sq_norms,
            "sample": {"shape": list(self.sample.shape), "dtype": "<f4", "data": _b64(self.sample, "<f4")},
            "priority": _b64(self.priority, "<u8"), "index": _b64(self.index, "<i8"),
            "keys": None if self.keys is None else list(self.keys), "norms": _b64(self.norms, "<f8"),
            "kll": base64.b64encode(self.kll_bytes).decode("ascii") if self.kll_bytes else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EmbeddingProfile:
        dim = int(d["dim"])
        s = d["sample"]
        return cls(
            dim=dim, n=int(d["n"]), cap=int(d.get("cap", SAMPLE_CAP)),
            sum=_unb64(d["sum"], "<f8", np.float64), sum_sq_norms=float(d["sum_sq_norms"]),
            sample=_unb64(s["data"], s.get("dtype", "<f4"), np.float32).reshape(tuple(s["shape"])),
            priority=_unb64(d["priority"], "<u8", np.uint64), index=_unb64(d["index"], "<i8", np.int64),
            keys=None if d.get("keys") is None else [str(k) for k in d["keys"]],
            norms=_unb64(d["norms"], "<f8", np.float64),
            kll_bytes=base64.b64decode(d["kll"]) if d.get("kll") else None,
        )


def _b64(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _unb64(s: str, dtype: str, native: type) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=dtype).astype(native)


def sketch_ks(ref: ds.kll_doubles_sketch, cur: ds.kll_doubles_sketch) -> two_sample.TestResult:
    """Two-sample KS between the distributions two KLL sketches estimate, with the p-value at the sketches'
    full counts (``ks_p_value``, as binned KS is). Each estimated CDF is a step function that moves only at
    the sketch's retained items, so evaluating both at every retained item finds their largest gap
    exactly; the gap is off the true KS distance by at most the two sketches' rank errors."""
    points = np.unique(np.fromiter((item for sk in (ref, cur) for item, _ in sk), dtype=np.float64))
    fr = np.asarray(ref.get_cdf(points))
    fc = np.asarray(cur.get_cdf(points))
    d = ks_statistic_from_counts(np.diff(fr, prepend=0.0), np.diff(fc, prepend=0.0))
    return two_sample.TestResult("ks_sketch", d, ks_p_value(d, ref.n, cur.n))


def embedding_drift_profiles(ref: EmbeddingProfile, cur: EmbeddingProfile, *, alpha: float = 0.05,
                             permutations: int = PERMUTATIONS, seed: int = 0, examples: int = EXAMPLES,
                             min_shift: float | None = MIN_SHIFT,
                             min_norms_ks: float | None = MIN_NORMS_KS) -> EmbeddingDrift:
    """``embedding_drift`` from two profiles instead of two matrices: the same tests, gates and result.

    The centroid's means and tr(Σ) are exact over every row (from the sums); tr(Σ²), the MMD, the effect
    size and the examples come from the samples, as they do from a matrix's bounded sample; the norms' KS is
    exact while both profiles hold every row and from the sketches after (``methods["norms"]`` says which).
    ``moved_most`` holds keys of current rows (their positions for profiles without keys). Two profiles
    that hold every row give what ``embedding_drift`` gives on their matrices with the same ``seed``.
    """
    if ref.dim != cur.dim:
        raise ValueError(f"current has {cur.dim} dimensions, the reference has {ref.dim}: "
                         "were both embedded with the same model?")
    for name, p in (("reference", ref), ("current", cur)):
        if p.n < 2:
            raise ValueError(f"{name} profile holds {p.n} rows; the tests need at least 2")
    if ref.complete and cur.complete:
        norms, method = ks_exact(ref.norms, cur.norms), NORMS_EXACT
    else:
        norms, method = sketch_ks(ref.kll(), cur.kll()), NORMS_SKETCH  # type: ignore[arg-type]
    return drift_between(ref.side(), cur.side(), norms, method, np.random.default_rng(seed), alpha=alpha,
                         permutations=permutations, examples=examples, min_shift=min_shift, min_norms_ks=min_norms_ks)
