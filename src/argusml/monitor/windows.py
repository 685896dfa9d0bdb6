"""Windows: events folded into profiles per version, segment and time bucket.

Buckets are tumbling and aligned to UTC (``floor(ts / w) * w``), keyed by the
event's own time, not its arrival. A bucket stays open until its end plus
the allowed lateness; an event whose bucket has already closed is stored
(labels can still join it) but not folded, and counted as too late.

Each segment dimension gets windows of its own beside the whole traffic
(``segment = "*"``): ``country=DE`` and ``channel=web`` each see the rows
that carry them. A dimension keeps at most ``max_segment_values`` values;
later values fold into ``<dim>=__other__`` so windows (and Prometheus label
sets) stay bounded whatever the traffic sends.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from argusml.monitor.events import MAX_EXTRA_NAMES, EventRecord
from argusml.profile import DatasetProfile, Reference
from argusml.profile.dataset import profile_source
from argusml.profile.declared import Declared
from argusml.profile.embedding import EmbeddingProfile
from argusml.profile.frame import TableSource
from argusml.profile.multivariate import MultivariateProfile
from argusml.schema import Kind

OVERALL = "*"
OTHER = "__other__"


def reference_fingerprint(ref: Reference) -> str:
    """Profiles folded on one reference's bins only merge with each other."""
    spec = orjson.dumps({n: s.to_dict() for n, s in ref.specs.items()}, option=orjson.OPT_SERIALIZE_NUMPY |
                        orjson.OPT_SORT_KEYS)
    return hashlib.sha256(spec).hexdigest()[:16]


FOLD_ROWS = 20_000
"""Rows a window buffers (as Arrow tables) before profiling them in one go:
profiling has a fixed cost per call, so folding 100-event requests one by
one would spend most of the time on it. The buffer is also flushed before
every snapshot and close, so what is saved is always complete."""


@dataclass
class Window:
    version: str
    segment: str
    granularity: float
    start: float
    reference: str  # fingerprint of the reference its bins come from
    profile: DatasetProfile | None = None
    n_rows: int = 0  # rows folded, buffered ones included
    late: int = 0  # rows that arrived after the bucket's end (but within the lateness)
    extra: set[str] = field(default_factory=set)
    pending: list[pa.Table] = field(default_factory=list)
    pending_rows: int = 0
    bins: Reference | None = None  # the reference the buffered rows are profiled on
    sample_rows: int | None = None  # rows sampled for the multivariate tests; None: not tested (segments)
    declared: dict[str, Declared] = field(default_factory=dict)  # bounds whose breaks the profile counts
    # provisional looks (Monitor.provisional_pass): how many were taken, the rows and clock of the last one,
    # and its verdict (the summary with its findings) until the close replaces it
    looks: int = 0
    looked_rows: int = 0
    looked_at: float = -math.inf
    provisional: dict[str, Any] | None = None

    @property
    def end(self) -> float:
        return self.start + self.granularity

    def append(self, table: pa.Table, late: int, reference: Reference,
               declared: dict[str, Declared] | None = None) -> None:
        if self.pending and table.schema != self.pending[0].schema:
            self.flush()  # a column changed type between batches (e.g. ints, then floats)
        self.bins = reference
        self.declared = declared or {}
        self.pending.append(table)
        self.pending_rows += table.num_rows
        self.n_rows += table.num_rows
        self.late += late
        if self.pending_rows >= FOLD_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending or self.bins is None:
            return
        reference = self.bins
        table = self.pending[0] if len(self.pending) == 1 else pa.concat_tables(self.pending)
        self.pending, self.pending_rows = [], 0
        mv = reference.multivariate if self.sample_rows is not None else None
        # every batch draws its own sample keys, deterministically (window start, rows before it)
        seed = (int(self.start) * 1_000_003 + self.n_rows - table.num_rows) % (1 << 63)
        vectors = [c for c in table.column_names if c.startswith(EMBEDDING_PREFIX) and c != ID_COLUMN]
        embeddings = {}
        if vectors:
            keys = table.column(ID_COLUMN).to_pylist() if ID_COLUMN in table.column_names else None
            for c in vectors:
                e = profile_vectors(keys, table.column(c).to_pylist(), WINDOW_EMBEDDING_ROWS)
                if e is not None:
                    embeddings[c[len(EMBEDDING_PREFIX):]] = e
            table = table.drop_columns([*vectors, *([ID_COLUMN] if keys is not None else [])])
        prof = profile_source(TableSource.from_frame(table), reference.specs, reference.profile.correlation,
                              parallel=False, multivariate=mv, sample_rows=self.sample_rows or 0, seed=seed,
                              declared=self.declared)
        if embeddings:
            prof = replace(prof, embeddings=embeddings)
        self.profile = prof if self.profile is None else self.profile.merge(prof)

    def add_part(self, part: DatasetProfile) -> None:
        """What is known of this window's rows only after they were folded, as a profile of no rows: the
        sessions whose last turn is in it, the judge's verdicts on its answers (monitor/llm.py)."""
        self.flush()
        self.profile = part if self.profile is None else self.profile.merge(part)

    def profile_json(self) -> str:
        assert self.profile is not None and not self.pending
        prof = self.profile
        if self.extra:
            prof = replace(prof, extra_columns=sorted(self.extra)[:MAX_EXTRA_NAMES])
        return orjson.dumps({"reference": self.reference, "profile": prof.to_dict()},
                            option=orjson.OPT_SERIALIZE_NUMPY).decode()


def without_sample(text: str) -> str | None:
    """A stored window profile without its multivariate row sample, or None when it has none."""
    d = orjson.loads(text)
    mv = d.get("profile", {}).get("multivariate")
    if mv is None or not MultivariateProfile.strip_sample(mv):
        return None
    return orjson.dumps(d).decode()


def load_profile(text: str) -> tuple[str, DatasetProfile]:
    d = orjson.loads(text)
    return d["reference"], DatasetProfile.from_dict(d["profile"])


def _array(values: list[Any]) -> pa.Array:
    """Arrow array of JSON scalars; a column mixing types becomes text, so
    the profile counts the values its kind cannot read as type errors."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


EMBEDDING_PREFIX = "llm."
"""Columns ``llm.query_embedding`` and ``llm.response_embedding`` carry an LLM model's vectors through a
window's buffer; the flush summarises them as ``EmbeddingProfile``s, never as columns."""
ID_COLUMN = "llm.id"
WINDOW_EMBEDDING_ROWS = 1000
"""Rows of each embedding a window samples (bottom-k on the event id, so windows merge exactly): the MMD
of a window against the baseline runs on at most this many a side."""


def profile_vectors(keys: list[Any] | None, vectors: list[Any], cap: int) -> EmbeddingProfile | None:
    """The profile of the vectors present (None: no event had one). Vectors of another length than the
    commonest are left out: one embedding model's vectors are not comparable with another's."""
    rows = [(k, v) for k, v in zip(keys or range(len(vectors)), vectors) if v is not None]
    if not rows:
        return None
    dims = Counter(len(v) for _, v in rows)
    dim = dims.most_common(1)[0][0]
    if len(dims) > 1:
        rows = [(k, v) for k, v in rows if len(v) == dim]
    matrix = np.asarray([v for _, v in rows], dtype=np.float32)
    return EmbeddingProfile.from_rows(matrix, keys=[str(k) for k, _ in rows] if keys is not None else None, cap=cap)


def embedding_columns(records: list[EventRecord]) -> dict[str, list[Any]]:
    """The vectors of LLM events, as the buffer's columns (none when no event has one)."""
    out: dict[str, list[Any]] = {}
    for name in ("query_embedding", "response_embedding"):
        vals = [r.llm.get(name) if r.llm else None for r in records]
        if any(v is not None for v in vals):
            out[EMBEDDING_PREFIX + name] = vals
    if out:
        out[ID_COLUMN] = [r.id for r in records]
    return out


def columns_table(columns: dict[str, list[Any]], n: int, reference: Reference, dirty: set[str]) -> pa.Table:
    """Arrow columns of a batch. A numeric column whose values all are
    numbers or null goes through numpy (None becomes NaN, which profiles
    count as missing), several times faster than Arrow's conversion of a
    Python list; anything else keeps its values for the profile to judge."""
    if not columns:
        return pa.table({"_": pa.nulls(n)})
    out = {}
    for name, vals in columns.items():
        spec = reference.specs.get(name)
        if spec is not None and spec.kind is Kind.NUMERIC and name not in dirty:
            try:
                out[name] = pa.array(np.array(vals, dtype=np.float64))
                continue
            except (TypeError, ValueError):
                pass  # a value numpy cannot take as a float: Arrow's conversion below keeps it for the profile
        out[name] = _array(vals)
    return pa.table(out)


class Folder:
    """Open windows of one model; owned by the monitor's fold thread."""

    def __init__(self, window: float, lateness: float, segments: list[str], max_segment_values: int, *,
                 sample_rows: int | None = None) -> None:
        self.window = window
        # multivariate tests run on whole-traffic windows only: a segment is a sub-population whose joint
        # distribution differs from the reference's by construction
        self.sample_rows = sample_rows
        self.lateness = lateness
        self.segments = segments
        self.max_segment_values = max_segment_values
        self.open: dict[tuple[str, str, float], Window] = {}
        self.segment_values: dict[str, set[str]] = {d: set() for d in segments}
        self.closed_through = 0.0  # every bucket with end + lateness <= this is closed
        self.too_late = 0
        self.evicted: list[Window] = []

    def segment_of(self, rec: EventRecord, dim: str) -> str | None:
        v = rec.segment.get(dim) if rec.segment else None
        if v is None:
            v = rec.features.get(dim)
        if v is None or type(v) in (dict, list):
            return None
        s = str(v)[:100]
        seen = self.segment_values[dim]
        if s not in seen:
            if len(seen) >= self.max_segment_values:
                return f"{dim}={OTHER}"
            seen.add(s)
        return f"{dim}={s}"

    def fold(self, records: list[EventRecord], columns: dict[str, list[Any]], arrival: float | np.ndarray,
             reference: Reference, fingerprint: str, extra: set[str] | None = None, dirty: set[str] | None = None,
             declared: dict[str, Declared] | None = None) -> int:
        """Fold records of one version (with their schema columns, aligned) into
        their windows; returns how many were too late to fold."""
        n = len(records)
        if n == 0:
            return 0
        w = self.window
        ts = np.fromiter((r.ts for r in records), dtype=np.float64, count=n)
        starts = np.floor(ts / w) * w
        arr = np.broadcast_to(np.asarray(arrival, dtype=np.float64), (n,))
        too_late = starts + w + self.lateness <= np.maximum(arr, self.closed_through)
        late = arr > starts + w
        n_too_late = int(too_late.sum())
        table = columns_table(columns, n, reference, dirty if dirty is not None else set(columns))
        # segments are sub-populations: their vectors differ from the baseline's by construction
        vectors = [c for c in table.column_names if c.startswith(EMBEDDING_PREFIX)]
        seg_table = table.drop_columns(vectors) if vectors else table
        version = records[0].version
        for start in np.unique(starts[~too_late]) if n_too_late else np.unique(starts):
            in_bucket = (starts == start) & ~too_late
            idx = np.flatnonzero(in_bucket)
            whole = idx.size == n
            sub = table if whole else table.take(pa.array(idx))
            self._add((version, OVERALL, float(start)), sub, int(late[idx].sum()), reference, fingerprint, extra,
                      declared)
            for dim in self.segments:
                groups: dict[str, list[int]] = {}
                for j in idx.tolist():
                    seg = self.segment_of(records[j], dim)
                    if seg is not None:
                        groups.setdefault(seg, []).append(j)
                for seg, js in groups.items():
                    part = (seg_table if whole and len(js) == n else seg_table.take(pa.array(js, pa.int64()))
                            ) if vectors else (sub if whole and len(js) == n else table.take(pa.array(js, pa.int64())))
                    self._add((version, seg, float(start)), part, int(late[js].sum()), reference, fingerprint, extra,
                              declared)
        self.too_late += n_too_late
        return n_too_late

    def _add(self, key: tuple[str, str, float], table: pa.Table, late: int, reference: Reference, fingerprint: str,
             extra: set[str] | None, declared: dict[str, Declared] | None = None) -> None:
        win = self.open.get(key)
        if win is not None and win.reference != fingerprint:
            # the version's reference changed under an open window: its bins differ, so the old
            # part is closed early (by the next tick) and the rest starts afresh
            self.evicted.append(win)
            win = None
        if win is None:
            win = Window(key[0], key[1], self.window, key[2], fingerprint)
            if key[1] == OVERALL and self.sample_rows is not None:
                win.sample_rows = self.sample_rows
            self.open[key] = win
        win.append(table, late, reference, declared)
        if extra and len(win.extra) < MAX_EXTRA_NAMES:
            win.extra.update(extra)

    def due(self, now: float) -> list[Window]:
        """Windows whose end plus lateness has passed; removed from the open set."""
        out = [win for win in self.open.values() if win.end + self.lateness <= now]
        for win in out:
            del self.open[(win.version, win.segment, win.start)]
        self.closed_through = max(self.closed_through, now)
        out.extend(self.evicted)
        self.evicted = []
        return out

    def take_version(self, version: str) -> list[Window]:
        """All open windows of a version (closed early when its reference is replaced)."""
        out = [win for k, win in self.open.items() if k[0] == version]
        for win in out:
            del self.open[(win.version, win.segment, win.start)]
        return out
