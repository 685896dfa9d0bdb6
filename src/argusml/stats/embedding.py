"""Drift of an embedding matrix (queries, responses, retrieved documents) against a reference one.

A column of 384 floats per row is not 384 columns: each coordinate alone means
nothing, and a change of topic moves the rows along directions no single
coordinate follows. Three tests look at the rows as vectors, each blind to
something the others see:

* **Centroid.** The distance between the two means (cosine and Euclidean),
  over every row. Its null distribution is analytic: by the central limit
  theorem the difference of means D is close to N(0, τΣ) with τ = 1/n₁ + 1/n₂,
  so ‖D‖² is a weighted sum of χ²₁ variables, matched here in mean and
  variance by a scaled χ² (Welch-Satterthwaite; Zhang 2005 for this use):
  g·χ²ₕ with g = τ·tr(Σ²)/tr(Σ) and h = tr(Σ)²/tr(Σ²). tr(Σ) comes from every
  row, tr(Σ²) from the bounded sample with Bai & Saranadasa's (1996)
  unbiased correction. No permutations, so it is exact over 100,000 rows at
  the cost of two passes. It sees a shift of the mean only.
* **MMD** (Gretton et al. 2012). The unbiased estimate of the squared maximum
  mean discrepancy with a Gaussian kernel, whose bandwidth is the median
  pairwise distance of the pooled sample (the median heuristic). It sees any
  change of distribution, including a rotation that keeps the mean and every
  norm (a new topic replacing an old one). Its p-value is a permutation test
  on a bounded sample (at most ``MAX_PER_SIDE`` rows a side,
  ``PERMUTATIONS`` relabellings), all computed from one pooled kernel
  matrix: one matrix product gives every relabelling's statistic.
* **Norms.** A two-sample KS test on the rows' Euclidean norms, over every
  row: a model or pipeline change that rescales vectors (unnormalised
  outputs, a truncation that shortens texts) shows here first.

The decision combines the three p-values with Holm's step-down, so the
family-wise false-alarm rate stays at ``alpha`` whatever their dependence.

The rows of the current sample farthest from their nearest reference row
are returned as examples (indices into the current matrix) so a report can
show the queries or documents that moved most.

Each test needs of a side only its row count, mean, centred sum of squares,
a bounded sample of rows and a test of the norms: :class:`EmbeddingSide`.
:func:`embedding_drift` takes them from two matrices; the profile layer
(``argusml.profile.embedding``) takes them from two bounded, mergeable
summaries of a stream. Both decide in :func:`drift_between`, so the two
entry points cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as sps

from argusml.stats.tests import adjust_p_values, ks_exact

if TYPE_CHECKING:  # pytest would take the class for a test class if it were a name of this module
    from argusml.stats.tests import TestResult

MAX_PER_SIDE = 2_000
"""Rows of each side in the MMD sample: the pooled kernel matrix is 4,000² float32 (64 MB), and
500 relabellings of it cost one 4,000 × 4,000 × 501 product (docs/BENCHMARKS.md, "Embedding drift")."""

PERMUTATIONS = 500
"""Relabellings for the MMD p-value: its smallest value is 1/501 ≈ 0.002, well below the 0.05/3 that
Holm asks of the first of three tests."""

EXAMPLES = 10
"""Current rows returned as the ones that moved most."""

MIN_SHIFT = 0.1
"""The centroid's practical effect: the means moved a tenth of the rows' spread along the move, as
``wasserstein_norm``'s 0.1 reference standard deviations for one column."""

MIN_NORMS_KS = 0.025
"""The norms' practical effect: a KS distance of 2.5% of rows, as the ``ks`` threshold of a column."""


@dataclass(frozen=True)
class CentroidTest:
    """The two means' distances and the analytic p-value of the squared Euclidean one.

    >>> ref = np.array([[1.0, 0.0], [1.0, 2.0], [3.0, 0.0], [3.0, 2.0]])
    >>> t = centroid_test(ref, ref + [0.0, 1.0])
    >>> t.euclidean, round(t.cosine, 6)
    (1.0, 0.051317)
    """

    cosine: float
    euclidean: float
    p_value: float
    trace: float  # tr(Σ) of the pooled within-side covariance
    trace_sq: float  # tr(Σ²), from the bounded sample


@dataclass(frozen=True)
class MMDTest:
    """The unbiased squared MMD of the bounded sample and its permutation p-value.

    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=(100, 3))
    >>> t, _ = mmd_test(ref, rng.normal(size=(100, 3)) + [1.0, 0.0, 0.0], permutations=99)
    >>> t.p_value, t.permutations, (t.n_ref, t.n_cur)
    (0.01, 99, (100, 100))
    """

    mmd2: float
    p_value: float
    bandwidth: float
    permutations: int
    n_ref: int
    n_cur: int


@dataclass(frozen=True)
class EmbeddingDrift:
    """Everything a report needs about one embedding column's drift.

    ``p_adjusted`` holds Holm's adjusted p-values by method; ``drifted`` is
    true exactly when one of them is at most ``alpha``. ``moved_most`` are
    indices into the current matrix (or, from profiles, the rows' keys),
    farthest first, with their distance to the nearest reference row of the
    sample in ``moved_distance``.

    >>> rng = np.random.default_rng(1)
    >>> ref = rng.normal(size=(300, 4)).astype(np.float32)
    >>> cur = rng.normal(size=(300, 4)).astype(np.float32)
    >>> cur[7] += 25.0  # one row far from everything
    >>> d = embedding_drift(ref, cur, permutations=99)
    >>> (d.n_ref, d.n_cur, d.dim), int(d.moved_most[0])
    ((300, 300, 4), 7)
    """

    n_ref: int
    n_cur: int
    dim: int
    alpha: float
    centroid: CentroidTest
    mmd: MMDTest
    norms_ks: float
    norms_p_value: float
    ref_norm_median: float
    cur_norm_median: float
    p_adjusted: dict[str, float]
    drifted: bool
    moved_most: np.ndarray
    moved_distance: np.ndarray
    methods: dict[str, str] = field(default_factory=dict)
    drifted_by: list[str] = field(default_factory=list)  # the tests that decided it
    effects: dict[str, float] = field(default_factory=dict)  # centroid: shift in spreads; norms: KS distance
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain numbers for the report JSON."""
        return {
            "n_ref": self.n_ref, "n_cur": self.n_cur, "dim": self.dim, "alpha": self.alpha,
            "drifted": self.drifted, "drifted_by": list(self.drifted_by), "p_adjusted": dict(self.p_adjusted),
            "effects": dict(self.effects), "thresholds": dict(self.thresholds), "methods": dict(self.methods),
            "centroid": {"cosine": self.centroid.cosine, "euclidean": self.centroid.euclidean,
                         "p_value": self.centroid.p_value},
            "mmd": {"mmd2": self.mmd.mmd2, "p_value": self.mmd.p_value, "bandwidth": self.mmd.bandwidth,
                    "permutations": self.mmd.permutations, "n_ref": self.mmd.n_ref, "n_cur": self.mmd.n_cur},
            "norms": {"ks": self.norms_ks, "p_value": self.norms_p_value,
                      "ref_median": self.ref_norm_median, "cur_median": self.cur_norm_median},
            "moved_most": [i if isinstance(i, str) else int(i) for i in self.moved_most],
            "moved_distance": [float(v) for v in self.moved_distance],
        }


def check_matrix(name: str, m: np.ndarray, dim: int | None = None, min_rows: int = 2) -> np.ndarray:
    """The matrix as an array, or a ValueError that names the side and what to fix: checked once, at
    the boundary, so that no test downstream meets a NaN or a vector of another model."""
    a = np.asarray(m)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix (rows × dimensions), got shape {a.shape}; "
                         "stack the vectors with np.vstack")
    if a.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {a.shape[0]}")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{name} has {a.shape[1]} dimensions, the reference has {dim}: "
                         "were both embedded with the same model?")
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
        raise ValueError(f"{name} has a NaN or infinite value (first in row {bad})")
    return a


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All squared Euclidean distances between the rows of a and of b, by one matrix product
    (‖x‖² + ‖y‖² − 2x·y, clipped at 0 where rounding makes it negative)."""
    an = np.einsum("ij,ij->i", a, a)
    bn = np.einsum("ij,ij->i", b, b)
    d2 = an[:, None] + bn[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0, out=d2)


def median_bandwidth(d2: np.ndarray) -> float:
    """The median heuristic: the median distance between distinct rows of the pooled sample, from
    their square-distance matrix. Distances are in the data's own unit, so the kernel adapts to
    normalised and unnormalised embeddings alike; 1.0 when every row is the same point.

    >>> pts = np.array([[0.0], [1.0], [3.0]])
    >>> median_bandwidth(squared_distances(pts, pts))
    2.0
    """
    iu = np.triu_indices(d2.shape[0], k=1)
    m = float(np.median(np.sqrt(d2[iu])))
    return m if m > 0 else 1.0


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """Unbiased squared MMD with the kernel exp(−‖a − b‖² / (2·bandwidth²)), in float64
    (Gretton et al. 2012, Lemma 6): the mean kernel within each side, without the diagonal, minus
    twice the mean across. It is 0 on average when both sides come from one distribution, and
    can be slightly negative."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    g = -0.5 / bandwidth**2
    kxx = np.exp(g * squared_distances(x, x))
    kyy = np.exp(g * squared_distances(y, y))
    kxy = np.exp(g * squared_distances(x, y))
    n, m = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2.0 * kxy.mean())


def _permutation_mmd2(k0: np.ndarray, n: int, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """Unbiased MMD² of the observed split (first n rows against the rest) and of ``permutations``
    random relabellings, from the pooled kernel matrix with a zero diagonal.

    With a the indicator of the first side and r = K·1, the within and across sums are aᵀKa,
    1ᵀK1 − 2aᵀr + aᵀKa and aᵀr − aᵀKa, so one product K·A over every relabelling's indicator
    column gives them all. The matrix arrives centred on its mean off-diagonal entry, which
    changes no MMD² (a constant cancels between the three means) and keeps float32 sums small.
    """
    total = k0.shape[0]
    m = total - n
    labels = np.zeros((total, permutations + 1), dtype=np.float32)
    labels[:n, 0] = 1.0
    for j in range(1, permutations + 1):
        labels[rng.permutation(total)[:n], j] = 1.0
    ka = (k0 @ labels).astype(np.float64)
    a = labels.astype(np.float64)
    r = k0.sum(axis=1, dtype=np.float64)
    t = float(r.sum())
    xx = np.einsum("ij,ij->j", a, ka)
    ar = r @ a
    yy = t - 2.0 * ar + xx
    xy = ar - xx
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (n * m)


def mmd_test(x: np.ndarray, y: np.ndarray, *, permutations: int = PERMUTATIONS, seed: int = 0,
             bandwidth: float | None = None) -> tuple[MMDTest, np.ndarray]:
    """MMD permutation test of two samples (use them whole: :func:`embedding_drift` bounds them).

    Returns the test and the squared distances from each y row to each x row, which the caller
    reuses to find the rows that moved most. The p-value counts the observed split among the
    relabellings ((1 + #{MMD²ₚ ≥ MMD²}) / (1 + P)), so it is never 0 and is exact in level."""
    x32 = np.asarray(x, dtype=np.float32)
    y32 = np.asarray(y, dtype=np.float32)
    z = np.vstack([x32, y32])
    d2 = squared_distances(z, z)
    bw = median_bandwidth(d2) if bandwidth is None else float(bandwidth)
    k = d2  # reuse the buffer: the distances are not needed past this point but for the cross block
    cross = d2[len(x32):, : len(x32)].copy()
    np.multiply(k, np.float32(-0.5 / bw**2), out=k)
    np.exp(k, out=k)
    np.fill_diagonal(k, 0.0)
    total = k.shape[0]
    centre = np.float32((k.sum(dtype=np.float64)) / (total * (total - 1)))
    k -= centre
    np.fill_diagonal(k, 0.0)
    stats = _permutation_mmd2(k, len(x32), permutations, np.random.default_rng(seed))
    observed = float(stats[0])
    p = float((1 + np.count_nonzero(stats[1:] >= observed)) / (1 + permutations))
    return MMDTest(observed, p, bw, permutations, len(x32), len(y32)), cross


def _trace_sq(xs: np.ndarray, ys: np.ndarray) -> float:
    """tr(Σ²) of the pooled within-side covariance, unbiased under normality (Bai & Saranadasa
    1996): tr(S²) overestimates it by about tr(S)²/f on f degrees of freedom."""
    zc = np.vstack([xs - xs.mean(axis=0), ys - ys.mean(axis=0)]).astype(np.float64)
    f = zc.shape[0] - 2
    s = (zc.T @ zc) / f
    tr = float(np.trace(s))
    tr2 = float(np.sum(s * s))
    est = f * f / ((f + 2) * (f - 1)) * (tr2 - tr * tr / f)
    d = s.shape[0]
    # tr(Σ)²/d ≤ tr(Σ²) ≤ tr(Σ)²: keep the estimate inside what any covariance allows
    return float(np.clip(est, tr * tr / d, tr * tr)) if tr > 0 else 0.0


def squared_norms(m: np.ndarray) -> np.ndarray:
    """Each row's squared Euclidean norm, summed in float64 whatever the rows' precision: the norms test
    of a matrix and the sums of a profile read the same numbers, so a profile that keeps every row tests
    exactly what the matrix does. In blocks, so a float32 matrix never has a float64 copy."""
    out = np.empty(len(m))
    for i in range(0, len(m), NORM_BLOCK):
        np.sum(np.square(m[i:i + NORM_BLOCK], dtype=np.float64), axis=1, out=out[i:i + NORM_BLOCK])
    return out


NORM_BLOCK = 8192


@dataclass(frozen=True)
class EmbeddingSide:
    """One side of a comparison as the tests need it, from a matrix (``of_matrix``) or a profile.

    Count, mean and the centred sum of squares Σ‖x − mean‖² are over every row, so the centroid test is
    exact at any size; the sample (float32, at most ``MAX_PER_SIDE`` rows) feeds tr(Σ²), the MMD, the
    effect size and the examples, which ``labels`` name (indices into the matrix, or a stream's keys).
    Three points: mean (2, 1), squared deviations 1 + 1 + 0 along x and 1 + 1 + 4 along y, so
    Σ‖x − mean‖² = 8 and tr(Σ) = 8 / 2.

    >>> s = EmbeddingSide.of_matrix(np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 3.0]]))
    >>> s.n, s.mean.tolist(), s.centred_ss, s.trace
    (3, [2.0, 1.0], 8.0, 4.0)
    """

    n: int
    mean: np.ndarray  # float64
    centred_ss: float
    sample: np.ndarray
    labels: np.ndarray
    norm_median: float = float("nan")

    @property
    def trace(self) -> float:
        """tr(Σ), the side's total variance over every row."""
        return self.centred_ss / (self.n - 1) if self.n > 1 else 0.0

    @classmethod
    def of_matrix(cls, m: np.ndarray, sample: np.ndarray | None = None, labels: np.ndarray | None = None,
                  norms: np.ndarray | None = None) -> EmbeddingSide:
        """Every row's moments, and the sample as given, not cast: ``embedding_drift`` passes float32 rows, the
        MMD's precision, while ``centroid_test`` on small matrices keeps their float64 (the whole matrix when None)."""
        n = len(m)
        return cls(n=n, mean=m.mean(axis=0, dtype=np.float64),
                   centred_ss=float(m.var(axis=0, dtype=np.float64).sum() * n),
                   sample=m if sample is None else sample, labels=np.arange(n) if labels is None else labels,
                   norm_median=float(np.median(norms)) if norms is not None else float("nan"))


def centroid_between(ref: EmbeddingSide, cur: EmbeddingSide) -> CentroidTest:
    """Cosine and Euclidean distance between the two means over every row, and the scaled-χ² p-value
    of the squared Euclidean one (see the module's docstring); tr(Σ²) from the two samples."""
    diff = ref.mean - cur.mean
    stat = float(diff @ diff)
    n1, n2 = ref.n, cur.n
    trace = float((ref.centred_ss + cur.centred_ss) / (n1 + n2 - 2))
    trace_sq = _trace_sq(ref.sample, cur.sample)
    denom = float(np.linalg.norm(ref.mean) * np.linalg.norm(cur.mean))
    cosine = float(1.0 - (ref.mean @ cur.mean) / denom) if denom > 0 else 0.0
    if trace <= 0 or trace_sq <= 0:
        p = 1.0 if stat == 0 else 0.0
    else:
        tau = 1.0 / n1 + 1.0 / n2
        g = tau * trace_sq / trace
        h = trace * trace / trace_sq
        p = float(sps.chi2.sf(stat / g, h))
    return CentroidTest(max(cosine, 0.0), float(np.sqrt(stat)), p, trace, trace_sq)


def centroid_test(ref: np.ndarray, cur: np.ndarray, ref_sample: np.ndarray | None = None,
                  cur_sample: np.ndarray | None = None) -> CentroidTest:
    """:func:`centroid_between` of two matrices; the samples give tr(Σ²), the whole matrices when omitted."""
    return centroid_between(EmbeddingSide.of_matrix(ref, ref_sample), EmbeddingSide.of_matrix(cur, cur_sample))


def _sample(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= k else np.sort(rng.choice(n, size=k, replace=False))


def shift_in_spread(rs: np.ndarray, cs: np.ndarray, diff: np.ndarray) -> float:
    """How far the means moved, in standard deviations of the rows along the direction they moved
    (pooled within each side's sample): the centroid's effect size, read like ``wasserstein_norm`` (the
    average displacement in reference standard deviations) for one column.

    >>> rs = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 10.0], [2.0, 10.0]])
    >>> shift_in_spread(rs, rs + [1.0, 0.0], np.array([-1.0, 0.0]))  # sd 1.155 along x: 1 / 1.155
    0.866025
    """
    norm = float(np.linalg.norm(diff))
    if norm == 0:
        return 0.0
    u = diff / norm
    pr = (rs - rs.mean(axis=0)) @ u
    pc = (cs - cs.mean(axis=0)) @ u
    var = float(pr @ pr + pc @ pc) / max(len(pr) + len(pc) - 2, 1)
    return float(round(norm / np.sqrt(var), 6)) if var > 0 else float("inf")




def drift_between(ref: EmbeddingSide, cur: EmbeddingSide, norms: TestResult, norms_method: str,
                  rng: np.random.Generator, *, alpha: float, permutations: int, examples: int,
                  min_shift: float | None, min_norms_ks: float | None) -> EmbeddingDrift:
    """The three tests and the decision, for :func:`embedding_drift` and for profiles alike.

    The norms test arrives made, because only the caller knows whether it has every norm or a sketch of
    them (``norms_method`` says which). ``rng`` has drawn the caller's samples, if any, and now draws the
    relabellings: a profile that keeps every row, tested with the same seed, gives the same p-values as
    the matrices.
    """
    centroid = centroid_between(ref, cur)
    mmd, cross = mmd_test(ref.sample, cur.sample, permutations=permutations, seed=int(rng.integers(2**63)))

    nearest = np.sqrt(cross.min(axis=1).astype(np.float64))
    order = np.argsort(-nearest, kind="stable")[:examples]

    raw = {"centroid": centroid.p_value, "mmd": mmd.p_value, "norms": norms.p_value}
    adjusted = dict(zip(raw, adjust_p_values(list(raw.values()), "holm")))
    rs, cs = np.asarray(ref.sample, dtype=np.float64), np.asarray(cur.sample, dtype=np.float64)
    effects = {"centroid": shift_in_spread(rs, cs, ref.mean - cur.mean), "norms": float(norms.statistic)}
    gates = {"centroid": min_shift, "norms": min_norms_ks}
    drifted_by = [k for k, p in adjusted.items()
                  if p <= alpha and (gates.get(k) is None or effects.get(k, 0.0) >= gates[k])]
    return EmbeddingDrift(
        n_ref=ref.n, n_cur=cur.n, dim=int(ref.mean.shape[0]), alpha=alpha, centroid=centroid, mmd=mmd,
        norms_ks=norms.statistic, norms_p_value=norms.p_value,
        ref_norm_median=ref.norm_median, cur_norm_median=cur.norm_median,
        p_adjusted={k: float(v) for k, v in adjusted.items()},
        drifted=bool(drifted_by), drifted_by=drifted_by, effects=effects,
        thresholds={k: v for k, v in gates.items() if v is not None},
        moved_most=cur.labels[order], moved_distance=nearest[order],
        methods={"centroid": "scaled chi-square on the squared distance of the means, all rows",
                 "mmd": f"unbiased MMD², Gaussian kernel, median-heuristic bandwidth, {permutations} permutations, "
                        f"{len(rs)} + {len(cs)} rows",
                 "norms": norms_method,
                 "combine": "Holm over centroid, mmd, norms; centroid and norms count only past their effect size",
                 "moved_most": "current sample rows farthest from their nearest reference sample row"},
    )


NORMS_EXACT = "two-sample KS on the Euclidean norms, all rows"


def embedding_drift(ref: np.ndarray, cur: np.ndarray, *, alpha: float = 0.05, max_per_side: int = MAX_PER_SIDE,
                    permutations: int = PERMUTATIONS, seed: int = 0, examples: int = EXAMPLES,
                    min_shift: float | None = MIN_SHIFT, min_norms_ks: float | None = MIN_NORMS_KS) -> EmbeddingDrift:
    """Compare a current embedding matrix with the reference one (rows × dimensions, float32 or
    float64; embeddings are used as they come, not normalised).

    Same inputs and seed, same result: the bounded samples and the relabellings are drawn from
    ``seed``. The centroid and the norms use every row; the MMD and the examples use at most
    ``max_per_side`` rows of each side.

    Drift is decided as for any column (docs/LLM.md): a test counts when its Holm-adjusted p-value is at
    most ``alpha`` and its effect is at least the practical size, ``min_shift`` for the centroid (the means'
    move in standard deviations along it) and ``min_norms_ks`` for the norms (the KS distance). Over 100,000
    rows both tests find shifts far too small to matter; ``None`` drops a gate. The MMD has none: on its
    bounded sample only a sizeable change reaches significance.
    """
    ref = check_matrix("reference", ref)
    cur = check_matrix("current", cur, ref.shape[1])
    rng = np.random.default_rng(seed)
    ri = _sample(len(ref), max_per_side, rng)
    ci = _sample(len(cur), max_per_side, rng)
    ref_norms = np.sqrt(squared_norms(ref))
    cur_norms = np.sqrt(squared_norms(cur))
    sides = (EmbeddingSide.of_matrix(ref, np.asarray(ref[ri], dtype=np.float32), ri, ref_norms),
             EmbeddingSide.of_matrix(cur, np.asarray(cur[ci], dtype=np.float32), ci, cur_norms))
    return drift_between(*sides, ks_exact(ref_norms, cur_norms), NORMS_EXACT, rng, alpha=alpha,
                         permutations=permutations, examples=examples, min_shift=min_shift, min_norms_ks=min_norms_ks)
