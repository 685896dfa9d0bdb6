"""A table's profile, how to compute one fast, and how to merge two.

Columns are profiled independently, so they are spread over a small thread
pool: the heavy parts (Parquet decoding, sorting, binning) release the GIL,
which is what lets a second core pay off. Co-moments for correlations are
one more task that streams row batches of the numeric columns.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from argusml.profile.column import ColumnProfile, ColumnSpec, profile_column
from argusml.profile.correlation import CoMoments
from argusml.profile.declared import Declared, DeclaredCounts, count_declared, merge_declared
from argusml.profile.embedding import EmbeddingProfile
from argusml.profile.frame import TableSource, most_probable
from argusml.profile.multivariate import MultivariateModel, MultivariateProfile, score_rows
from argusml.profile.sessions import SessionCounts
from argusml.schema import Role
from argusml.stats import Mergeable
from argusml.stats.judged import JudgeWindow

MAX_CORRELATION_COLUMNS = 100
"""Correlations are kept for at most this many numeric features (the most
complete ones); the matrix grows with the square."""


@dataclass
class DatasetProfile(Mergeable):
    """A table's profile against a reference: each column's, and what spans columns.

    Built by ``profile_source``; combined by ``merge`` or ``+`` into a new profile, column by column.
    On a reference of x = 1, 2, 3, 4: x = 0.5, 2, 9 falls in bins 0 (below the minimum), 2 and 5 (above
    the maximum), and x = 3 of a second batch in bin 3; the second batch's unknown column is kept as
    extra; one null among the four values of c.

    >>> import pyarrow as pa
    >>> from argusml.profile import Reference
    >>> ref = Reference.from_frame(pa.table({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", None]}))
    >>> a = profile_source(TableSource.from_frame(pa.table({"x": [0.5, 2.0, 9.0], "c": ["a", "z", None]})),
    ...                    ref.specs, ref.profile.correlation)
    >>> b = profile_source(TableSource.from_frame(pa.table({"x": [3.0], "c": ["b"], "extra": [1]})),
    ...                    ref.specs, ref.profile.correlation)
    >>> m = a + b
    >>> m.n_rows, m.columns["x"].numeric.counts.tolist(), m.columns["c"].missing_ratio, m.extra_columns
    (4, [1, 0, 1, 1, 0, 1], 0.25, ['extra'])
    >>> m.columns["c"].categories.counts
    {'a': 1, 'b': 1, 'z': 1}
    """

    n_rows: int
    columns: dict[str, ColumnProfile]
    correlation: CoMoments | None = None
    extra_columns: list[str] = field(default_factory=list)  # present, but unknown to the reference
    multivariate: MultivariateProfile | None = None  # reconstruction errors and a row sample (current data only)
    declared: dict[str, DeclaredCounts] = field(default_factory=dict)  # values beyond declared bounds, per column
    # an LLM model's embeddings (query, response), each summarised as a whole vector, not as columns
    embeddings: dict[str, EmbeddingProfile] = field(default_factory=dict)
    sessions: SessionCounts | None = None  # an LLM model's sessions that ended (profile/sessions.py)
    judge: JudgeWindow | None = None  # an LLM model's judged answers (llm/judge.py)

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        cols: dict[str, ColumnProfile] = {}
        for name in dict.fromkeys([*self.columns, *other.columns]):
            a, b = self.columns.get(name), other.columns.get(name)
            cols[name] = a.merge(b) if a is not None and b is not None else (a or b)  # type: ignore[assignment]
        corr = None
        if self.correlation is not None and other.correlation is not None:
            corr = self.correlation.merge(other.correlation)
        else:
            corr = self.correlation or other.correlation
        extra = sorted(set(self.extra_columns) | set(other.extra_columns))
        a, b = self.multivariate, other.multivariate
        mv = a.merge(b) if a is not None and b is not None else (a or b)
        declared = merge_declared(self.declared, self.columns, other.declared, other.columns)
        emb = dict(self.embeddings)
        for name, e in other.embeddings.items():
            mine = emb.get(name)
            if mine is None:
                emb[name] = e
            elif mine.dim == e.dim:
                emb[name] = mine.merge(e)
            # else: another embedding model's vectors (a dimension change) do not mix: the first one's are kept
        sa, sb = self.sessions, other.sessions
        sessions = sa.merge(sb) if sa is not None and sb is not None else (sa or sb)
        ja, jb = self.judge, other.judge
        judge = ja if jb is None else jb if ja is None else ja.merge(jb) if ja.judge == jb.judge else jb
        # (a window of another judge than the one before: a new judge replaces it, its scale is another)
        return DatasetProfile(self.n_rows + other.n_rows, cols, corr, extra, mv, declared, emb, sessions, judge)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
            "correlation": None if self.correlation is None else self.correlation.to_dict(),
            "extra_columns": self.extra_columns,
            **({"multivariate": self.multivariate.to_dict()} if self.multivariate is not None else {}),
            **({"declared": {k: v.to_dict() for k, v in self.declared.items()}} if self.declared else {}),
            **({"embeddings": {k: v.to_dict() for k, v in self.embeddings.items()}} if self.embeddings else {}),
            **({"sessions": self.sessions.to_dict()} if self.sessions is not None else {}),
            **({"judge": self.judge.to_dict()} if self.judge is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetProfile:
        return cls(int(d["n_rows"]), {k: ColumnProfile.from_dict(v) for k, v in d["columns"].items()},
                   None if d.get("correlation") is None else CoMoments.from_dict(d["correlation"]),
                   list(d.get("extra_columns", [])),
                   None if d.get("multivariate") is None else MultivariateProfile.from_dict(d["multivariate"]),
                   {k: DeclaredCounts.from_dict(v) for k, v in (d.get("declared") or {}).items()},
                   {k: EmbeddingProfile.from_dict(v) for k, v in (d.get("embeddings") or {}).items()},
                   None if d.get("sessions") is None else SessionCounts.from_dict(d["sessions"]),
                   None if d.get("judge") is None else JudgeWindow.from_dict(d["judge"]))


def workers() -> int:
    """Threads for profiling: the usable cores, at most 4 (memory grows with it)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


_MALLOC_TUNED: list[bool] = []


def keep_freed_memory() -> None:
    """Let glibc's malloc keep the memory a profile frees, for the next array to reuse.

    A report allocates and frees hundreds of megabytes of temporary arrays (a few per column, 8 MB each at
    a million rows). By default glibc gives large blocks back to the kernel on free (mmap above a
    threshold, heap trimming above another), so the next array of the same size is faulted in and zeroed
    again, in system time that was a large share of a report (docs/BENCHMARKS.md, "Figures behind the code"). Fixing the mmap
    threshold at its maximum (32 MiB) and the trim threshold at 256 MiB keeps blocks of that size in the
    process. The price is RSS that does not shrink after a report by up to 256 MiB of free heap. Set once
    per process; nothing on platforms without glibc.
    """
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED.append(True)
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): their allocators differ
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    mallopt(m_trim_threshold, 256 * 1024 * 1024)


def one_blas_thread() -> AbstractContextManager[Any]:
    """BLAS (OpenBLAS, MKL) held to one thread while Argus profiles and checks.

    Argus's matrix products are small (co-moments of 50,000 rows, a classifier of a thousand rows), and
    its column tasks already keep every core busy; BLAS's own threads then only compete with them and
    with each other, and on a loaded machine their spin-waits make a Newton fit many times slower
    (docs/BENCHMARKS.md, "Figures behind the code").
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def run_tasks(tasks: list[Callable[[], Any]], progress: Callable[[], None] | None = None, *,
              parallel: bool = True) -> list[Any]:
    """Run independent tasks on the pool, in order of submission; tiny inputs
    run inline (a pool costs more than it saves)."""
    if not parallel or len(tasks) <= 1 or workers() == 1:
        out = []
        for t in tasks:
            out.append(t())
            if progress:
                progress()
        return out
    with ThreadPoolExecutor(max_workers=workers()) as pool:
        futures = [pool.submit(t) for t in tasks]
        results = []
        for f in futures:
            results.append(f.result())
            if progress:
                progress()
        return results


CORRELATION_ROWS = 50_000
"""Co-moments use every k-th row so that at most this many rows enter: r is
then known to about +-0.009 (95%), far inside the 0.1 change that matters,
and neither the normal scores nor the matrix product weigh on the profile of
a large table."""


def correlation_stride(n_rows: int) -> int:
    return max(1, math.ceil(n_rows / CORRELATION_ROWS))


CORRELATION_BLOCK = 16_384
"""Rows per block of the co-moment update: its temporaries (several blocks
of rows x columns) stay a few MB instead of several copies of the table."""


def comoments_of(names: list[str], values: dict[str, np.ndarray], shift: np.ndarray,
                 scores: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> CoMoments:
    """Co-moments of the columns' values as summed: with ``scores``, each value is already its normal
    score (``CoMoments.transform``, done in the column's own task, in parallel)."""
    cm = CoMoments.empty(names, shift, scores)
    if not names:
        return cm
    rows = values[names[0]].size
    x = np.empty((min(rows, CORRELATION_BLOCK), len(names)))
    for start in range(0, rows, CORRELATION_BLOCK):
        k = min(CORRELATION_BLOCK, rows - start)
        for i, n in enumerate(names):
            x[:k, i] = values[n][start:start + k]
        cm.update(x[:k])
    return cm


def _read(source: TableSource, spec: ColumnSpec) -> Any:
    """A column as its reference read it: class probabilities in the prediction column as their top class."""
    arr = source.column(spec.name)
    return most_probable(arr) if spec.role is Role.PREDICTION else arr


def profile_source(source: TableSource, specs: dict[str, ColumnSpec], correlation: CoMoments | None,
                   progress: Callable[[], None] | None = None, *, with_sketch: bool = True,
                   parallel: bool = True, multivariate: MultivariateModel | None = None, sample_rows: int = 0,
                   seed: int = 0, declared: dict[str, Declared] | None = None) -> DatasetProfile:
    """Profile a table against a reference's specs (bins, categories).

    ``with_sketch=False`` leaves out the KLL quantile sketches: a profile
    that is compared once and thrown away (a report on files) has its exact
    quantiles already, and the sketch would be a large part of the time
    (docs/BENCHMARKS.md, "Figures behind the code").

    ``parallel=False`` profiles in the calling thread: the service folds
    small micro-batches, where starting a pool costs more than it saves.

    Columns the reference knows but the table lacks are simply absent from
    the profile (the quality check reports them); columns the table has but
    the reference lacks are listed as extra.

    With the reference's ``multivariate`` model, the rows are also scored for
    the multivariate drift tests, keeping a uniform sample of ``sample_rows``
    encoded rows (``seed`` draws its keys: give each batch of a window its
    own, so that the keys of different batches are independent).

    ``declared`` (``resolve_declared``) names the columns with declared
    bounds: their values beyond them are counted here, exactly, because no
    part of a profile built on the reference's bins can say how many values
    lie beyond an arbitrary bound.
    """
    present = [n for n in specs if n in source.schema.names]
    # a column missing from the current data leaves the other pairs testable
    corr_names = [n for n in (correlation.names if correlation is not None else []) if n in present]
    if len(corr_names) < 2:
        corr_names = []
    stride = correlation_stride(source.n_rows)
    corr_set = set(corr_names)
    enc = multivariate.encoder if multivariate is not None else None
    mv_rows = score_rows(source.n_rows)
    z = None if enc is None else np.zeros((source.n_rows if mv_rows is None else mv_rows.size, len(enc.columns)))

    counted = {n: b for n, d in (declared or {}).items() if (b := d.counted) is not None}

    def task(n: str) -> tuple[ColumnProfile, np.ndarray | None, DeclaredCounts | None]:
        arr = _read(source, specs[n])
        prof, corr_values = profile_column(arr, specs[n], corr_stride=stride if n in corr_set else 0,
                                           with_sketch=with_sketch)
        if corr_values is not None and correlation is not None:
            corr_values = correlation.transform(n, corr_values)
        if enc is not None and z is not None and n in enc.names:
            enc.encode_column(n, arr, mv_rows, z)  # each task fills its own columns of z
        return prof, corr_values, (count_declared(arr, specs[n], counted[n]) if n in counted else None)

    results = run_tasks([(lambda n=n: task(n)) for n in present], progress, parallel=parallel)
    cols = {n: r[0] for n, r in zip(present, results)}
    corr = None
    if correlation is not None and corr_names:
        shift = correlation.shift[[correlation.names.index(n) for n in corr_names]]
        corr = comoments_of(corr_names, {n: r[1] for n, r in zip(present, results) if n in corr_set}, shift,
                            correlation.scores)
    extra = [n for n in source.schema.names if n not in specs]
    mv = None if multivariate is None or z is None else multivariate.score_encoded(z, sample_rows, seed)
    counts = {n: r[2] for n, r in zip(present, results) if r[2] is not None}
    return DatasetProfile(source.n_rows, cols, corr, extra, mv, counts)
