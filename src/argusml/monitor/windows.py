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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from argusml.monitor.events import MAX_EXTRA_NAMES, EventRecord, Schema
from argusml.profile import DatasetProfile, Reference
from argusml.profile.dataset import profile_source
from argusml.profile.frame import TableSource
from argusml.schema import Kind

OVERALL = "*"
OTHER = "__other__"


def reference_fingerprint(ref: Reference) -> str:
    """Profiles folded on one reference's bins only merge with each other."""
    spec = orjson.dumps({n: s.to_dict() for n, s in ref.specs.items()}, option=orjson.OPT_SERIALIZE_NUMPY |
                        orjson.OPT_SORT_KEYS)
    return hashlib.sha256(spec).hexdigest()[:16]


@dataclass
class Window:
    version: str
    segment: str
    granularity: float
    start: float
    reference: str  # fingerprint of the reference its bins come from
    profile: DatasetProfile | None = None
    n_rows: int = 0
    late: int = 0  # rows that arrived after the bucket's end (but within the lateness)
    extra: set[str] = field(default_factory=set)

    @property
    def end(self) -> float:
        return self.start + self.granularity

    def add(self, prof: DatasetProfile, late: int) -> None:
        self.profile = prof if self.profile is None else self.profile.merge(prof)
        self.n_rows += prof.n_rows
        self.late += late

    def profile_json(self) -> str:
        assert self.profile is not None
        prof = self.profile
        if self.extra:
            prof = DatasetProfile(prof.n_rows, prof.columns, prof.correlation, sorted(self.extra)[:MAX_EXTRA_NAMES])
        return orjson.dumps({"reference": self.reference, "profile": prof.to_dict()},
                            option=orjson.OPT_SERIALIZE_NUMPY).decode()


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


def records_table(records: list[EventRecord], schema: Schema) -> tuple[pa.Table, set[str]]:
    """The rows of a micro-batch as columns, plus feature names the reference does not know."""
    cols: dict[str, pa.Array] = {}
    for name in schema.features:
        cols[name] = _array([r.features.get(name) for r in records])
    if schema.prediction is not None:
        numeric = schema.prediction_kind is Kind.NUMERIC
        cols[schema.prediction] = _array([r.pred_value if numeric else r.pred_label for r in records])
    known = schema.features
    extra: set[str] = set()
    for r in records:
        if len(r.features) != len(known) or not r.features.keys() <= known.keys():
            extra.update(k for k in r.features if k not in known)
            if len(extra) > MAX_EXTRA_NAMES:
                break
    return pa.table(cols) if cols else pa.table({"_": pa.nulls(len(records))}), extra


class Folder:
    """Open windows of one model; owned by the monitor's fold thread."""

    def __init__(self, window: float, lateness: float, segments: list[str], max_segment_values: int) -> None:
        self.window = window
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

    def fold(self, records: Iterable[tuple[EventRecord, float]], schema: Schema, reference: Reference,
             fingerprint: str) -> int:
        """Fold (record, arrival) pairs of one version into their windows; the number too late to fold."""
        w = self.window
        groups: dict[tuple[str, str, float], list[EventRecord]] = {}
        late_counts: dict[tuple[str, str, float], int] = {}
        too_late = 0
        for rec, arrival in records:
            start = (rec.ts // w) * w
            if start + w + self.lateness <= max(arrival, self.closed_through):
                too_late += 1
                continue
            late = arrival > start + w
            keys = [(rec.version, OVERALL, start)]
            for dim in self.segments:
                seg = self.segment_of(rec, dim)
                if seg is not None:
                    keys.append((rec.version, seg, start))
            for k in keys:
                groups.setdefault(k, []).append(rec)
                if late:
                    late_counts[k] = late_counts.get(k, 0) + 1
        for key, recs in groups.items():
            win = self.open.get(key)
            if win is not None and win.reference != fingerprint:
                # the version's reference changed under an open window: its bins differ, so the old
                # part is closed early (by the next tick) and the rest starts afresh
                self.evicted.append(win)
                win = None
            if win is None:
                win = Window(key[0], key[1], w, key[2], fingerprint)
                self.open[key] = win
            table, extra = records_table(recs, schema)
            prof = profile_source(TableSource.from_frame(table), reference.specs, reference.profile.correlation,
                                  parallel=False)
            win.add(prof, late_counts.get(key, 0))
            if extra and len(win.extra) < MAX_EXTRA_NAMES:
                win.extra.update(extra)
        self.too_late += too_late
        return too_late

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
