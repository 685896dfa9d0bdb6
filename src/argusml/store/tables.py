"""The store's tables: their DDL, the Arrow schemas of bulk inserts, and the row types callers build.

Kept apart from the queries (``connection.py``, ``windows.py``, ``duck.py``)
so that a reader who wants to know what is stored finds it on one page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = "1"

DDL = """
CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS models(model VARCHAR PRIMARY KEY, config VARCHAR, updated_at DOUBLE);
CREATE TABLE IF NOT EXISTS baselines(model VARCHAR, version VARCHAR, baseline VARCHAR, updated_at DOUBLE,
    PRIMARY KEY (model, version));
CREATE TABLE IF NOT EXISTS events(seq BIGINT, model VARCHAR, version VARCHAR, id VARCHAR, ts DOUBLE,
    arrival DOUBLE, prediction DOUBLE, prediction_label VARCHAR, segment VARCHAR);
ALTER TABLE events ADD COLUMN IF NOT EXISTS probabilities VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS latency_ms DOUBLE;
ALTER TABLE events ADD COLUMN IF NOT EXISTS status INTEGER;
ALTER TABLE events ADD COLUMN IF NOT EXISTS fallback BOOLEAN;
CREATE TABLE IF NOT EXISTS labels(model VARCHAR, version VARCHAR, id VARCHAR, label VARCHAR, ts DOUBLE,
    arrival DOUBLE, state VARCHAR, prediction_ts DOUBLE, resolved_at DOUBLE);
ALTER TABLE labels ADD COLUMN IF NOT EXISTS lseq BIGINT;
ALTER TABLE labels ADD COLUMN IF NOT EXISTS name VARCHAR;
CREATE TABLE IF NOT EXISTS performance(model VARCHAR, version VARCHAR, segment VARCHAR, granularity DOUBLE,
    start_ts DOUBLE, end_ts DOUBLE, predictions BIGINT, labels BIGINT, lag_p50 DOUBLE, lag_p90 DOUBLE,
    status VARCHAR, metrics VARCHAR, outcomes VARCHAR, updated_at DOUBLE);
ALTER TABLE performance ADD COLUMN IF NOT EXISTS estimated VARCHAR;
CREATE TABLE IF NOT EXISTS windows(model VARCHAR, version VARCHAR, segment VARCHAR, granularity DOUBLE,
    start_ts DOUBLE, end_ts DOUBLE, closed BOOLEAN, n_rows BIGINT, late BIGINT, profile VARCHAR, verdict VARCHAR,
    closed_at DOUBLE);
CREATE TABLE IF NOT EXISTS findings(model VARCHAR, version VARCHAR, segment VARCHAR, granularity DOUBLE,
    window_start DOUBLE, window_end DOUBLE, check_name VARCHAR, column_name VARCHAR, severity VARCHAR,
    message VARCHAR, evidence VARCHAR, created_at DOUBLE);
ALTER TABLE findings ADD COLUMN IF NOT EXISTS parent_segment VARCHAR;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS parent_granularity DOUBLE;
ALTER TABLE findings ADD COLUMN IF NOT EXISTS parent_start DOUBLE;
CREATE SEQUENCE IF NOT EXISTS notification_ids START 1;
CREATE TABLE IF NOT EXISTS notifications(id BIGINT DEFAULT nextval('notification_ids'), model VARCHAR,
    incident_id VARCHAR, receiver VARCHAR, severity VARCHAR, notice VARCHAR, state VARCHAR, attempts INTEGER,
    created_at DOUBLE, next_at DOUBLE, sent_at DOUBLE, last_error VARCHAR, updated_at DOUBLE);
CREATE TABLE IF NOT EXISTS config_versions(model VARCHAR, version INTEGER, sha256 VARCHAR, config VARCHAR,
    author VARCHAR, source VARCHAR, recorded_at DOUBLE, PRIMARY KEY (model, version));
"""

EVENT_SCHEMA = pa.schema([("seq", pa.int64()), ("model", pa.string()), ("version", pa.string()),
                          ("id", pa.string()), ("ts", pa.float64()), ("arrival", pa.float64()),
                          ("prediction", pa.float64()), ("prediction_label", pa.string()), ("segment", pa.string()),
                          ("probabilities", pa.string()), ("latency_ms", pa.float64()), ("status", pa.int32()),
                          ("fallback", pa.bool_())])
"""One row per event: the compact prediction index (kept
``retention.predictions``, so late labels join). The raw, redacted events
live in the append-only ``RawLog`` beside the database (``rawlog.py``).
``probabilities`` is the JSON of a ``{class: probability}`` prediction (null
otherwise): a multiclass model's label-free estimates need the whole vector,
which ``prediction`` (one number) cannot hold. Added after the first release:
a store from before it gets the column, null, when opened. So do ``latency_ms``
and ``status`` (as the event sent them; null: not sent, a status then counts
as 200), which a champion/challenger comparison reads per version. ``fallback`` is true for an event the
user's fallback answered (null otherwise): its prediction is not the model's, so the performance joins, the
review sample and the champion/challenger pairs leave it out (docs/OPERATIONS.md, "Fallback events")."""
LABEL_SCHEMA = pa.schema([("model", pa.string()), ("version", pa.string()), ("id", pa.string()),
                          ("label", pa.string()), ("ts", pa.float64()), ("arrival", pa.float64()),
                          ("state", pa.string()), ("prediction_ts", pa.float64()), ("resolved_at", pa.float64()),
                          ("lseq", pa.int64()), ("name", pa.string())])
"""Labels and business outcomes, one row each as they arrived (``name`` null: a label; else the outcome's
name). A correction is a later row for the same (version, id): the one with the highest ``lseq`` counts,
the earlier ones stay for audit."""
PERF_CHECKS = ("performance_drop", "weak_segment", "estimated_performance_drop", "proxy_shift", "outcome_drop")
"""Findings the performance job writes; it replaces them whenever it revises a window."""
LABEL_TALLIES = ("labels", "labels_joined", "labels_expired", "label_corrections", "outcomes", "outcomes_joined",
                 "outcomes_expired")
"""The label and outcome counters the labels table can tell (``Store.label_tallies``): labels and outcomes
stored, first labels joined to their prediction, pending ones expired, corrections (a later, different label
for a (version, id)), outcomes joined and expired."""
PERFORMANCE_COLUMNS = pa.schema([("model", pa.string()), ("version", pa.string()), ("segment", pa.string()),
                                 ("granularity", pa.float64()), ("start_ts", pa.float64()), ("end_ts", pa.float64()),
                                 ("predictions", pa.int64()), ("labels", pa.int64()), ("lag_p50", pa.float64()),
                                 ("lag_p90", pa.float64()), ("status", pa.string()), ("metrics", pa.string()),
                                 ("outcomes", pa.string()), ("updated_at", pa.float64()), ("estimated", pa.string())])
FINDING_COLUMNS = pa.schema([("model", pa.string()), ("version", pa.string()), ("segment", pa.string()),
                             ("granularity", pa.float64()), ("window_start", pa.float64()),
                             ("window_end", pa.float64()), ("check_name", pa.string()), ("column_name", pa.string()),
                             ("severity", pa.string()), ("message", pa.string()), ("evidence", pa.string()),
                             ("created_at", pa.float64()), ("parent_segment", pa.string()),
                             ("parent_granularity", pa.float64()), ("parent_start", pa.float64())])


def memory_size(limit: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit.strip(), re.IGNORECASE):
        raise ValueError(f"not a memory size: {limit!r} (e.g. 64MB, 1GB)")
    return limit.strip()


def event_columns(events: pa.Table) -> pa.Table:
    """Index rows in ``EVENT_SCHEMA``'s column order (inserts are by position), the columns a caller
    written before they existed null: such a caller keeps working as columns are added."""
    n = events.num_rows
    return pa.table({f.name: events.column(f.name) if f.name in events.schema.names else pa.nulls(n, f.type)
                     for f in EVENT_SCHEMA}, schema=EVENT_SCHEMA)


def rows_table(rows: Sequence[Any], schema: pa.Schema) -> pa.Table:
    cols = list(zip(*(r.values() for r in rows)))
    return pa.table({f.name: pa.array(c, f.type) for f, c in zip(schema, cols)}, schema=schema)


class _Row:
    """A row of one table: its fields are the table's columns, in order."""

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]


@dataclass
class PerformanceRow(_Row):
    model: str
    version: str
    segment: str
    granularity: float
    start: float
    end: float
    predictions: int
    labels: int
    lag_p50: float | None
    lag_p90: float | None
    status: str
    metrics: str  # JSON: name -> Estimate.to_dict()
    outcomes: str | None  # JSON: name -> summary
    updated_at: float
    estimated: str | None = None  # JSON: label-free estimates (CBPE) from every prediction of the window


@dataclass
class WindowRow(_Row):
    model: str
    version: str
    segment: str
    granularity: float
    start: float
    end: float
    closed: bool
    n_rows: int
    late: int
    profile: str | None
    verdict: str | None = None
    closed_at: float | None = None


class BackfilledRow(WindowRow):
    """A closed window of a backfill (``Closer.close`` with ``backfill``): it may take the place of the
    row the store holds for its bucket (``replaces``: that row's ``closed_at``; None: nothing to replace),
    and the roll-ups over its bucket are out of date once it is saved (``Store.save_windows``)."""

    replaces: float | None = None

    @classmethod
    def of(cls, row: WindowRow, replaces: float | None) -> BackfilledRow:
        out = cls(*row.values())
        out.replaces = replaces
        return out


@dataclass
class FindingRow(_Row):
    model: str
    version: str
    segment: str
    granularity: float
    window_start: float
    window_end: float
    check: str
    column: str | None
    severity: str
    message: str
    evidence: str
    created_at: float
    # the finding this one repeats (same version, check and column): the overall window's of the same
    # bucket for a segment's, a child window's for a roll-up's; null for a finding of its own. The
    # parent is always a root (its own parent is null), so one lookup finds the original evidence.
    parent_segment: str | None = None
    parent_granularity: float | None = None
    parent_start: float | None = None

    @property
    def key(self) -> tuple[str, float, float]:
        """(segment, granularity, window start): what a repeat names as its parent."""
        return self.segment, self.granularity, self.window_start

    @property
    def root(self) -> tuple[str, float, float]:
        """The key of the finding this one stands for: its parent's, or its own."""
        if self.parent_segment is None or self.parent_granularity is None or self.parent_start is None:
            return self.key
        return self.parent_segment, self.parent_granularity, self.parent_start


def by_check(frows: list[FindingRow]) -> dict[tuple[str, str | None], FindingRow]:
    """Findings by (check, column), the first of each kept (children come oldest first)."""
    out: dict[tuple[str, str | None], FindingRow] = {}
    for f in frows:
        out.setdefault((f.check, f.column), f)
    return out


def link_repeats(frows: list[FindingRow], parents: dict[tuple[str, str | None], FindingRow]) -> None:
    """Point each finding that repeats a parent's check on the same column at the parent's root."""
    for f in frows:
        p = parents.get((f.check, f.column))
        if p is not None:
            f.parent_segment, f.parent_granularity, f.parent_start = p.root
