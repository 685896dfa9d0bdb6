"""Everything the service keeps, in one embedded DuckDB file.

This module is the only place that knows SQL. Times are epoch seconds
(DOUBLE): every caller already thinks in them, and the HTTP edge formats
RFC 3339. A commit here is durable: DuckDB writes and fsyncs its WAL before
``COMMIT`` returns, which is what lets the service acknowledge an event only
after the transaction that holds it has committed.

DuckDB connections are not to be shared between threads; each thread gets
its own cursor of the one database (``_cur``). Only one process may open
the file read-write (DuckDB locks it), as the architecture wants: only the
server opens its store.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

import orjson
import pyarrow as pa

from argusml.schema import InputError
from argusml.store.rawlog import RawLog

log = logging.getLogger("argus.store")

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
"""

EVENT_SCHEMA = pa.schema([("seq", pa.int64()), ("model", pa.string()), ("version", pa.string()),
                          ("id", pa.string()), ("ts", pa.float64()), ("arrival", pa.float64()),
                          ("prediction", pa.float64()), ("prediction_label", pa.string()), ("segment", pa.string()),
                          ("probabilities", pa.string()), ("latency_ms", pa.float64()), ("status", pa.int32())])
"""One row per event: the compact prediction index (kept
``retention.predictions``, so late labels join). The raw, redacted events
live in the append-only ``RawLog`` beside the database (``rawlog.py``).
``probabilities`` is the JSON of a ``{class: probability}`` prediction (null
otherwise): a multiclass model's label-free estimates need the whole vector,
which ``prediction`` (one number) cannot hold. Added after the first release:
a store from before it gets the column, null, when opened. So do ``latency_ms``
and ``status`` (as the event sent them; null: not sent, a status then counts
as 200), which a champion/challenger comparison reads per version."""
LABEL_SCHEMA = pa.schema([("model", pa.string()), ("version", pa.string()), ("id", pa.string()),
                          ("label", pa.string()), ("ts", pa.float64()), ("arrival", pa.float64()),
                          ("state", pa.string()), ("prediction_ts", pa.float64()), ("resolved_at", pa.float64()),
                          ("lseq", pa.int64()), ("name", pa.string())])
"""Labels and business outcomes, one row each as they arrived (``name`` null: a label; else the outcome's
name). A correction is a later row for the same (version, id): the one with the highest ``lseq`` counts,
the earlier ones stay for audit."""
PERF_CHECKS = ("performance_drop", "weak_segment", "estimated_performance_drop", "proxy_shift")
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


def _memory_size(limit: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit.strip(), re.IGNORECASE):
        raise ValueError(f"not a memory size: {limit!r} (e.g. 64MB, 1GB)")
    return limit.strip()


def _event_columns(events: pa.Table) -> pa.Table:
    """Index rows in ``EVENT_SCHEMA``'s column order (inserts are by position), the columns a caller
    written before they existed null: such a caller keeps working as columns are added."""
    n = events.num_rows
    return pa.table({f.name: events.column(f.name) if f.name in events.schema.names else pa.nulls(n, f.type)
                     for f in EVENT_SCHEMA}, schema=EVENT_SCHEMA)


def _rows_table(rows: Sequence[Any], schema: pa.Schema) -> pa.Table:
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
    """A closed window of a backfill (``Monitor._close`` with ``backfill``): it may take the place of the
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


class Store:
    """One DuckDB database file under the service's data directory."""

    def __init__(self, data_dir: str | os.PathLike[str], *, read_only: bool = False, memory_limit: str = "512MB") -> None:
        import duckdb

        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(os.fspath(data_dir), "argus.duckdb")
        try:
            # DuckDB checkpoints inside the commit that crosses its WAL threshold (16 MB by default),
            # stalling that writer under load (docs/BENCHMARKS.md); the monitor checkpoints
            # on its own cadence instead, and 128 MB bounds the WAL (and the replay after a crash)
            self._con = duckdb.connect(self.path, read_only=read_only,
                                       config={"memory_limit": memory_limit, "threads": 2,
                                               **({} if read_only else {"checkpoint_threshold": "128MB"})})
        except duckdb.IOException as exc:
            msg = str(exc)
            if "lock" in msg.lower():
                raise InputError("the store is open in another process (is another `argus serve` running on this "
                                 "--data directory?)", path=self.path) from None
            raise InputError(f"cannot open the store: {msg}", path=self.path) from None
        except duckdb.Error as exc:
            raise InputError(f"cannot open the store (not a DuckDB file, or from a newer DuckDB?): {exc}",
                             path=self.path) from None
        self._local = threading.local()
        self.raw = RawLog(os.path.join(os.fspath(data_dir), "events"))
        if not read_only:
            self._con.execute(DDL)
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
            for model in self.raw.models():  # a crash mid-append leaves a torn last line: never acknowledged
                if self.raw.repair(model):
                    log.info("raw log of %r: cut a torn last line (a crash during its write)", model)

    # -- connections -------------------------------------------------------------
    def _cur(self) -> Any:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
        return cur

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        cur = self._cur()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def close(self) -> None:
        self.raw.close()
        try:
            self._con.execute("CHECKPOINT")
        except Exception:  # read-only or already closed: nothing to flush
            pass
        self._con.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cur().execute(sql, list(params)).fetchall()

    # -- meta ------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        r = self._rows("SELECT value FROM meta WHERE key = ?", [key])
        return r[0][0] if r else None

    def set_memory_limit(self, limit: str) -> None:
        """DuckDB's memory limit is the database's, for every connection: the performance job raises it
        while it joins a period and lowers it after (DuckDB then evicts cached blocks down to it)."""
        self._cur().execute(f"SET memory_limit = '{_memory_size(limit)}'")

    def set_meta(self, key: str, value: str) -> None:
        self._cur().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    # -- models and baselines ---------------------------------------------------------
    def save_model(self, model: str, config_json: str, now: float) -> None:
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO models VALUES (?, ?, ?)", [model, config_json, now])

    def load_models(self) -> list[tuple[str, str]]:
        return [(m, c) for m, c in self._rows("SELECT model, config FROM models ORDER BY model")]

    def save_baseline(self, model: str, version: str, baseline_json: str, now: float) -> None:
        """``version`` '' is the model's own reference, used by versions without one."""
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?)", [model, version, baseline_json, now])

    def load_baselines(self, model: str) -> list[tuple[str, str]]:
        return [(v, b) for v, b in self._rows("SELECT version, baseline FROM baselines WHERE model = ?", [model])]

    # -- the ingest transaction -------------------------------------------------------
    def append_raw(self, raw: list[tuple[str, int, list[bytes]]]) -> None:
        """Append raw event lines per model, fsynced: once this returns the events are durable."""
        for model, first_seq, lines in raw:
            self.raw.append(model, first_seq, lines)

    def index(self, events: pa.Table | None, labels: pa.Table | None = None,
              joined: list[tuple[str, str, float]] | None = None, now: float = 0.0) -> None:
        """One DuckDB transaction with index rows (whose raw lines are already
        durable), labels and label joins.

        ``joined`` lists (model, id, prediction_ts) of pending labels whose
        prediction is in ``events``: they are resolved in the same
        transaction, so a crash never leaves one joined but not stored."""
        if events is not None and events.num_rows and events.schema.names != EVENT_SCHEMA.names:
            events = _event_columns(events)
        if not labels and not joined:
            if events is not None and events.num_rows:
                # one statement in auto-commit mode is one transaction: one call into DuckDB instead of three
                self._cur().from_arrow(events).insert_into("events")
            return
        with self.transaction() as cur:
            if events is not None and events.num_rows:
                cur.from_arrow(events).insert_into("events")
            if labels is not None and labels.num_rows:
                cur.from_arrow(labels).insert_into("labels")
            if joined:
                jt = pa.table({"model": [j[0] for j in joined], "id": [j[1] for j in joined],
                               "pts": [j[2] for j in joined]})
                cur.register("_jn", jt)
                cur.execute("""UPDATE labels SET state = 'joined', prediction_ts = _jn.pts, resolved_at = ?
                               FROM _jn WHERE labels.model = _jn.model AND labels.id = _jn.id
                               AND labels.state = 'pending'""", [now])
                cur.unregister("_jn")

    def write(self, events: pa.Table | None, labels: pa.Table | None = None,
              joined: list[tuple[str, str, float]] | None = None, now: float = 0.0,
              raw: list[tuple[str, int, list[bytes]]] | None = None) -> None:
        """The raw lines, then their index rows: what the service's writer does, in one call."""
        self.append_raw(raw or [])
        self.index(events, labels, joined, now)

    def last_seq(self) -> int:
        """The highest sequence number stored anywhere: in the index or in a raw log ahead of it."""
        return max([self.max_seq(), *(self.raw.last_seq(m) for m in self.raw.models())])

    def _for_ids(self, sql: str, model: str, ids: list[str]) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (with ``?`` the model, and ``_ids`` a table of ``ids``)."""
        if not ids:
            return []
        cur = self._cur()
        cur.register("_ids", pa.table({"id": pa.array(ids, pa.string())}))
        try:
            return cur.execute(sql, [model]).fetchall()
        finally:
            cur.unregister("_ids")

    def find_predictions(self, model: str, ids: list[str]) -> dict[tuple[str, str], float]:
        """(version, id) -> prediction time for the ids that have a prediction (latest if repeated)."""
        rows = self._for_ids("""SELECT p.version, p.id, max(p.ts) FROM events p
                                WHERE p.model = ? AND p.id IN (SELECT id FROM _ids) GROUP BY 1, 2""", model, ids)
        return {(v, i): ts for v, i, ts in rows}

    def latest_labels(self, model: str, ids: list[str]) -> dict[tuple[str, str], str]:
        """(version or '', id) -> the label that counts now (the latest) for the labels of ``ids``."""
        rows = self._for_ids("""SELECT coalesce(version, ''), id, arg_max(label, lseq) FROM labels
                                WHERE model = ? AND name IS NULL AND id IN (SELECT id FROM _ids) GROUP BY 1, 2""",
                             model, ids)
        return {(v, i): lab for v, i, lab in rows}

    def outcome_keys(self, model: str, ids: list[str]) -> set[tuple[str, str, str, str, float]]:
        """(version or '', id, name, value, timestamp) of the stored outcomes of ``ids``: a retried post is
        recognised by all five."""
        return set(self._for_ids("""SELECT coalesce(version, ''), id, name, label, ts FROM labels
                                    WHERE model = ? AND name IS NOT NULL AND id IN (SELECT id FROM _ids)""",
                                 model, ids))

    def max_lseq(self) -> int:
        return int(self._rows("SELECT coalesce(max(lseq), 0) FROM labels")[0][0])

    # -- performance: (prediction, label) pairs and what the performance job stores --------------------
    @staticmethod
    def _dim_sql(dims: Sequence[str], alias: str = "e") -> tuple[str, list[str]]:
        """Select-list items extracting each segment dimension from the index's segment JSON (as s0, s1, ...)."""
        if not dims:
            return "", []
        paths = ['$."' + d.replace("\\", "\\\\").replace('"', '\\"') + '"' for d in dims]
        return "".join(f", json_extract_string({alias}.segment, ?) AS s{k}" for k in range(len(dims))), paths

    def changed_buckets(self, model: str, since: float, granularity: float) -> list[float]:
        """Starts of the ``granularity`` buckets (by prediction time) whose labels, outcomes or predictions
        changed after ``since`` (label resolution or event arrival time)."""
        g = granularity
        rows = self._rows("""SELECT DISTINCT floor(prediction_ts / ?) * ? FROM labels
                             WHERE model = ? AND state = 'joined' AND resolved_at > ?
                             UNION SELECT DISTINCT floor(ts / ?) * ? FROM events WHERE model = ? AND arrival > ?""",
                          [g, g, model, since, g, g, model, since])
        return sorted(float(b) for (b,) in rows if b is not None)

    def labelled_pairs(self, model: str, start: float, end: float, dims: Sequence[str] = (),
                       version: str | None = None, sample: int | None = None, labelled_only: bool = True
                       ) -> pa.Table:
        """Predictions made in [start, end) that have a label, with the label that counts (the latest) and
        when the first label arrived: version, ts, prediction, prediction_label, probabilities, label,
        first_arrival, s0...
        ``labelled_only=False``: every prediction, the label null where none arrived (label-free estimates).
        ``sample`` keeps a uniform random sample of that many pairs (seeded: the same rows every time)."""
        sel, paths = self._dim_sql(dims)
        vfilter = " AND e.version = ?" if version is not None else ""
        labelled = " AND (lv.id IS NOT NULL OR lu.id IS NOT NULL)" if labelled_only else ""
        # labels collapse to the latest per (id, version) first; a prediction then takes its version's label or
        # the unversioned one, whichever came later (two joins on the collapsed rows beat one join and a
        # GROUP BY over the prediction: docs/BENCHMARKS.md, "Figures behind the code")
        sql = f"""WITH l AS (SELECT id, version, arg_max(label, lseq) AS label, max(lseq) AS lseq,
                                    min(arrival) AS first_arrival
                             FROM labels WHERE model = ? AND name IS NULL AND state = 'joined' GROUP BY id, version)
                  SELECT e.version, e.ts, e.prediction, e.prediction_label, e.probabilities,
                         CASE WHEN lv.lseq IS NULL OR lu.lseq > lv.lseq THEN lu.label ELSE lv.label END AS label,
                         least(lv.first_arrival, lu.first_arrival) AS first_arrival{sel}
                  FROM events e LEFT JOIN l lv ON lv.id = e.id AND lv.version = e.version
                       LEFT JOIN l lu ON lu.id = e.id AND lu.version IS NULL
                  WHERE e.model = ? AND e.ts >= ? AND e.ts < ?{vfilter}{labelled}"""
        if sample is not None:
            sql = f"SELECT * FROM ({sql}) USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE (7)"
        params = [model, *paths, model, start, end, *([version] if version is not None else [])]
        return self._cur().sql(sql, params=params).to_arrow_table()

    def outcome_sums(self, model: str, start: float, end: float, dims: Sequence[str] = ()) -> pa.Table:
        """Per prediction made in [start, end) and outcome name, the sum of its outcomes' values:
        version, ts, name, value, s0..."""
        sel, paths = self._dim_sql(dims)
        sql = f"""SELECT e.version, e.ts, l.name, sum(CAST(l.label AS DOUBLE)) AS value{sel}
                  FROM events e JOIN labels l ON l.model = e.model AND l.id = e.id
                       AND (l.version IS NULL OR l.version = e.version)
                  WHERE e.model = ? AND e.ts >= ? AND e.ts < ? AND l.name IS NOT NULL AND l.state = 'joined'
                  GROUP BY e.seq, e.version, e.ts, e.segment, l.name"""
        return self._cur().sql(sql, params=[*paths, model, start, end]).to_arrow_table()

    # -- champion / challenger --------------------------------------------------------------------
    def compare_pairs(self, model: str, champion: str, challenger: str, start: float, end: float) -> pa.Table:
        """The labelled predictions of two versions made in [start, end), side by side on the id:
        champion_prediction, champion_prediction_label, champion_label and the same for the challenger, a
        side null where that version has no labelled prediction of the id (split traffic: every row has one
        null side; shadow: none). The join is done here, so ids never leave DuckDB. An id counts once per
        version (its latest prediction), with the label that counts (the latest: of the version, or
        unversioned); two versions labelled differently for one id are two unmatched rows, not a pair."""
        sql = """WITH l AS (SELECT id, version, arg_max(label, lseq) AS label, max(lseq) AS lseq
                            FROM labels WHERE model = ? AND name IS NULL AND state = 'joined' GROUP BY id, version),
                 p AS (SELECT e.version, e.id, e.prediction, e.prediction_label,
                              CASE WHEN lv.lseq IS NULL OR lu.lseq > lv.lseq THEN lu.label ELSE lv.label END AS label
                       FROM events e LEFT JOIN l lv ON lv.id = e.id AND lv.version = e.version
                            LEFT JOIN l lu ON lu.id = e.id AND lu.version IS NULL
                       WHERE e.model = ? AND e.version IN (?, ?) AND e.ts >= ? AND e.ts < ?
                             AND (lv.id IS NOT NULL OR lu.id IS NOT NULL)
                       QUALIFY row_number() OVER (PARTITION BY e.version, e.id ORDER BY e.ts DESC, e.seq DESC) = 1),
                 a AS (SELECT * FROM p WHERE version = ?), b AS (SELECT * FROM p WHERE version = ?)
                 SELECT a.prediction AS champion_prediction, a.prediction_label AS champion_prediction_label,
                        a.label AS champion_label, b.prediction AS challenger_prediction,
                        b.prediction_label AS challenger_prediction_label, b.label AS challenger_label
                 FROM a FULL OUTER JOIN b ON a.id = b.id AND a.label = b.label"""
        return self._cur().sql(sql, params=[model, model, champion, challenger, start, end, champion,
                                            challenger]).to_arrow_table()

    def compare_operations(self, model: str, versions: Sequence[str], start: float, end: float
                           ) -> dict[str, pa.Table]:
        """Per version, events made in [start, end) and those with an error status (outside 2xx; no status
        is a success): ``counts`` (version, events, errors); and the latencies sent (``latency``: version,
        latency_ms), 8 bytes an event, for exact quantiles."""
        vs = list(versions)
        marks = ", ".join("?" for _ in vs)
        cur = self._cur()
        counts = cur.sql(f"""SELECT version, count(*) AS events,
                                    count(*) FILTER (WHERE status < 200 OR status >= 300) AS errors
                             FROM events WHERE model = ? AND version IN ({marks}) AND ts >= ? AND ts < ?
                             GROUP BY version""", params=[model, *vs, start, end]).to_arrow_table()
        latency = cur.sql(f"""SELECT version, latency_ms FROM events
                              WHERE model = ? AND version IN ({marks}) AND ts >= ? AND ts < ?
                                    AND latency_ms IS NOT NULL""", params=[model, *vs, start, end]).to_arrow_table()
        return {"counts": counts, "latency": latency}

    def prediction_counts(self, model: str, start: float, end: float, window: float, dims: Sequence[str] = ()
                          ) -> pa.Table:
        """Predictions per version, ``window`` bucket (column b) and segment values in [start, end): n."""
        sel, paths = self._dim_sql(dims)
        return self._cur().sql(f"""SELECT version, floor(ts / ?) * ? AS b{sel}, count(*) AS n FROM events e
                                   WHERE model = ? AND ts >= ? AND ts < ? GROUP BY ALL""",
                               params=[window, window, *paths, model, start, end]).to_arrow_table()

    def save_performance(self, model: str, keys: list[tuple[float, float]], rows: list[PerformanceRow],
                         findings: list[FindingRow]) -> None:
        """Replace the performance rows and performance findings of the windows ``keys`` (granularity, start),
        in one transaction: a revised window never shows half its old and half its new numbers."""
        with self.transaction() as cur:
            if keys:
                cur.register("_k", pa.table({"g": [k[0] for k in keys], "s": [k[1] for k in keys]}))
                cur.execute("DELETE FROM performance WHERE model = ? AND EXISTS (SELECT 1 FROM _k WHERE _k.g = "
                            "performance.granularity AND _k.s = performance.start_ts)", [model])
                cur.execute(f"""DELETE FROM findings WHERE model = ? AND check_name IN
                                ({', '.join('?' * len(PERF_CHECKS))}) AND EXISTS (SELECT 1 FROM _k
                                WHERE _k.g = findings.granularity AND _k.s = findings.window_start)""",
                            [model, *PERF_CHECKS])
                cur.unregister("_k")
            # from Arrow, not executemany: thousands of windows with their JSON took seconds row by row
            if rows:
                cur.from_arrow(_rows_table(rows, PERFORMANCE_COLUMNS)).insert_into("performance")
            if findings:
                cur.from_arrow(_rows_table(findings, FINDING_COLUMNS)).insert_into("findings")

    def performance(self, model: str, *, since: float | None = None, until: float | None = None,
                    version: str | None = None, segment: str | None = None, granularity: float | None = None,
                    min_labels: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        where, params = self._filters(model, "start_ts", "end_ts", since, until, version, segment, granularity)
        if min_labels:
            where.append("labels >= ?")
            params.append(min_labels)
        return self._select("performance", "version, segment, granularity, start_ts, end_ts, predictions, labels, "
                            "lag_p50, lag_p90, status, metrics, outcomes, updated_at, estimated", where, params,
                            "start_ts DESC, granularity, version, segment", limit)

    def max_seq(self, model: str | None = None) -> int:
        if model is None:
            return int(self._rows("SELECT coalesce(max(seq), 0) FROM events")[0][0])
        return int(self._rows("SELECT coalesce(max(seq), 0) FROM events WHERE model = ?", [model])[0][0])

    def raw_after(self, model: str, seq: int, chunk: int = 50_000
                  ) -> Iterator[list[tuple[int, str, str, float, float, dict[str, Any]]]]:
        """Raw events of a model past ``seq``, in order: the replay after a crash."""
        return self.raw.read_after(model, seq, chunk)

    def recent_keys(self, model: str, since: float, limit: int) -> list[tuple[str, str]]:
        """(version, id) of the newest predictions since ``since``: the dedup index after a restart."""
        return self._rows("SELECT version, id FROM events WHERE model = ? AND arrival >= ? "
                          "ORDER BY arrival DESC LIMIT ?", [model, since, limit])

    def pending_labels(self, model: str, outcomes: bool = False) -> list[tuple[str, float]]:
        """(id, arrival) of the labels (or outcomes) still waiting for their prediction."""
        return self._rows(f"SELECT id, max(arrival) FROM labels WHERE model = ? AND state = 'pending' AND name IS "
                          f"{'NOT ' if outcomes else ''}NULL GROUP BY id", [model])

    def outcome_names(self, model: str) -> list[str]:
        return [n for (n,) in self._rows("SELECT DISTINCT name FROM labels WHERE model = ? AND name IS NOT NULL",
                                         [model])]

    def expire_labels(self, model: str, before: float, now: float) -> tuple[int, int]:
        """Pending labels and outcomes that arrived before ``before`` expire: (labels, outcomes) expired."""
        with self.transaction() as cur:
            n_lab, n_out = cur.execute("SELECT count(*) FILTER (WHERE name IS NULL), count(*) FILTER (WHERE name IS "
                                       "NOT NULL) FROM labels WHERE model = ? AND state = 'pending' AND arrival < ?",
                                       [model, before]).fetchone()
            if n_lab or n_out:
                cur.execute("UPDATE labels SET state = 'expired', resolved_at = ? WHERE model = ? "
                            "AND state = 'pending' AND arrival < ?", [now, model, before])
        return int(n_lab), int(n_out)

    def counts(self, model: str) -> dict[str, int]:
        ev = self._rows("SELECT count(*) FROM events WHERE model = ?", [model])[0][0]
        lb = self._rows("SELECT name IS NULL, state, count(*) FROM labels WHERE model = ? GROUP BY 1, 2", [model])
        by_state = {s: int(n) for is_label, s, n in lb if is_label}
        out = {s: int(n) for is_label, s, n in lb if not is_label}
        return {"events": int(ev), "labels": sum(by_state.values()), "labels_pending": by_state.get("pending", 0),
                "labels_joined": by_state.get("joined", 0), "labels_expired": by_state.get("expired", 0),
                "outcomes": sum(out.values()), "outcomes_joined": out.get("joined", 0)}

    def count_events(self, model: str) -> int:
        return int(self._rows("SELECT count(*) FROM events WHERE model = ?", [model])[0][0])

    def raw_events(self, model: str) -> int:
        """Raw events still held (reads the whole log: for tests and small stores)."""
        return self.raw.count(model)

    def versions(self, model: str) -> list[str]:
        return [v for (v,) in self._rows("SELECT DISTINCT version FROM events WHERE model = ?", [model])]

    def event_ids(self, model: str) -> list[tuple[str, str]]:
        return self._rows("SELECT version, id FROM events WHERE model = ?", [model])

    # -- review samples (sampled ground truth) ---------------------------------------------------
    def review_versions(self, model: str, since: float | None, until: float | None) -> list[str]:
        """Versions with predictions made in [since, until), sorted."""
        where, params = self._window_where(since, until)
        return [v for (v,) in self._rows(f"SELECT DISTINCT version FROM events e WHERE model = ?{where} ORDER BY 1",
                                         [model, *params])]

    @staticmethod
    def _window_where(since: float | None, until: float | None) -> tuple[str, list[Any]]:
        sql, params = "", []
        if since is not None:
            sql, params = sql + " AND e.ts >= ?", [*params, since]
        if until is not None:
            sql, params = sql + " AND e.ts < ?", [*params, until]
        return sql, params

    def review_frame(self, model: str, version: str, since: float | None, until: float | None,
                     unlabelled_only: bool) -> pa.Table:
        """(seq, prediction) of one version's predictions made in [since, until), in no particular order:
        the population a review sample is drawn from. Two numeric columns, 16 bytes a prediction, because
        the design needs nothing else; the drawn units' details come from ``events_by_seq``.
        ``unlabelled_only``: without a label of this version or of none (which joins every version) that
        has not expired. An anti-join on the id, not NOT EXISTS with the version condition in it: that
        one DuckDB runs as a nested loop, many times slower (docs/BENCHMARKS.md, "Figures behind the code")."""
        where, params = self._window_where(since, until)
        anti, anti_params = "", []
        if unlabelled_only:
            anti = ("ANTI JOIN (SELECT DISTINCT id FROM labels WHERE model = ? AND name IS NULL AND state <> "
                    "'expired' AND (version IS NULL OR version = ?)) l ON l.id = e.id ")
            anti_params = [model, version]
        return self._cur().sql(f"SELECT e.seq, e.prediction FROM events e {anti}WHERE e.model = ? AND "
                               f"e.version = ?{where}", params=[*anti_params, model, version, *params]
                               ).to_arrow_table()

    def events_by_seq(self, model: str, seqs: Sequence[int]) -> list[tuple[Any, ...]]:
        """(seq, version, id, ts, prediction, prediction_label, segment) of these index rows, by seq."""
        if not len(seqs):
            return []
        cur = self._cur()
        cur.register("_seqs", pa.table({"seq": pa.array(list(seqs), pa.int64())}))
        try:
            return cur.execute("SELECT e.seq, e.version, e.id, e.ts, e.prediction, e.prediction_label, e.segment "
                               "FROM events e SEMI JOIN _seqs s ON s.seq = e.seq WHERE e.model = ? ORDER BY e.seq",
                               [model]).fetchall()
        finally:
            cur.unregister("_seqs")

    # -- windows and findings -------------------------------------------------------
    def load_open_windows(self) -> list[WindowRow]:
        return [WindowRow(*r) for r in self._rows("SELECT * FROM windows WHERE NOT closed")]

    def save_windows(self, closed: list[tuple[WindowRow, list[FindingRow]]],
                     snapshot: tuple[list[WindowRow], dict[str, str]] | None = None,
                     profiles: Sequence[tuple[str, str, str, float, float, str]] = ()) -> None:
        """Closed windows with their findings and, in the same transaction, the
        snapshot of the windows still open and the ``meta`` that goes with it
        (folded sequence, closing clock). One transaction, so a crash can
        neither lose a closed window nor replay its events into it twice.
        ``profiles`` replaces closed windows' stored profiles, (model, version,
        segment, granularity, start, profile): a roll-up slims the children it
        merged in the transaction that saves it."""
        with self.transaction() as cur:
            if profiles:
                cur.executemany("UPDATE windows SET profile = ? WHERE model = ? AND version = ? AND segment = ? "
                                "AND granularity = ? AND start_ts = ? AND closed",
                                [[p, m, v, s, g, t] for m, v, s, g, t, p in profiles])
            backfilled = [row for row, _ in closed if isinstance(row, BackfilledRow)]
            if backfilled:
                self._make_room(cur, backfilled)
            for row, findings in closed:
                cur.execute("INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row.values())
                if findings:
                    cur.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                    [f.values() for f in findings])
            if snapshot is not None:
                rows, meta = snapshot
                cur.execute("DELETE FROM windows WHERE NOT closed")
                if rows:
                    cur.executemany("INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                    [r.values() for r in rows])
                for k, v in meta.items():
                    cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [k, v])

    @staticmethod
    def _make_room(cur: Any, rows: list[BackfilledRow]) -> None:
        """Before backfilled windows are inserted: the rows they merged (and those rows' findings) go, and so
        do the roll-ups over their buckets at every coarser granularity with their findings, so the next
        roll-up pass computes them again from the children as they are now. The performance job's findings
        are its own (it revises them when predictions change) and stay. Set-wise (a backfill of a month
        closes thousands of windows at once), and before any insert: a merged row may carry the same
        ``closed_at`` as the row it replaces."""
        perf = ", ".join("?" * len(PERF_CHECKS))
        cur.register("_b", pa.table({"model": [r.model for r in rows], "version": [r.version for r in rows],
                                     "segment": [r.segment for r in rows], "g": [r.granularity for r in rows],
                                     "s": [r.start for r in rows],
                                     "replaces": pa.array([r.replaces for r in rows], pa.float64())}))
        same = "_b.model = {t}.model AND _b.version = {t}.version AND _b.segment = {t}.segment"
        try:
            cur.execute(f"""DELETE FROM windows WHERE closed AND EXISTS (SELECT 1 FROM _b WHERE {same.format(t="windows")}
                            AND _b.g = windows.granularity AND _b.s = windows.start_ts
                            AND _b.replaces = windows.closed_at)""")
            cur.execute(f"""DELETE FROM findings WHERE check_name NOT IN ({perf}) AND EXISTS (SELECT 1 FROM _b
                            WHERE {same.format(t="findings")} AND _b.replaces IS NOT NULL
                            AND _b.g = findings.granularity AND _b.s = findings.window_start)""", list(PERF_CHECKS))
            cur.execute(f"""DELETE FROM findings WHERE check_name NOT IN ({perf}) AND EXISTS (SELECT 1 FROM _b
                            WHERE {same.format(t="findings")} AND findings.granularity > _b.g
                            AND findings.window_start <= _b.s AND findings.window_end > _b.s)""", list(PERF_CHECKS))
            cur.execute(f"""DELETE FROM windows WHERE closed AND EXISTS (SELECT 1 FROM _b WHERE {same.format(t="windows")}
                            AND windows.granularity > _b.g AND windows.start_ts <= _b.s AND windows.end_ts > _b.s)""")
        finally:
            cur.unregister("_b")

    def bucket_windows(self, model: str, version: str, granularity: float, start: float
                       ) -> list[tuple[str, str | None, int, int, float]]:
        """(segment, profile, n_rows, late, closed_at) of the closed windows of one bucket, every segment."""
        return self._rows("SELECT segment, profile, n_rows, late, closed_at FROM windows WHERE model = ? AND "
                          "version = ? AND granularity = ? AND start_ts = ? AND closed ORDER BY closed_at",
                          [model, version, granularity, start])

    def pending_rollups(self, model: str, child: float, granularity: float, closes_before: float
                        ) -> list[tuple[str, str, float]]:
        """(version, segment, start) of ``granularity`` buckets whose children are
        all due (the bucket ended before ``closes_before``) and that are not rolled up yet."""
        return self._rows("""
            SELECT DISTINCT version, segment, floor(start_ts / ?) * ? AS b FROM windows
            WHERE model = ? AND granularity = ? AND closed AND floor(start_ts / ?) * ? + ? <= ?
            EXCEPT SELECT version, segment, start_ts FROM windows WHERE model = ? AND granularity = ?
            ORDER BY 3, 1, 2""",
            [granularity, granularity, model, child, granularity, granularity, granularity, closes_before,
             model, granularity])

    def child_profiles(self, model: str, version: str, segment: str, child: float, start: float, end: float
                       ) -> list[tuple[str, int, int, float]]:
        """(profile, n_rows, late, start) of the closed windows of length ``child`` in [start, end)."""
        return self._rows("SELECT profile, n_rows, late, start_ts FROM windows WHERE model = ? AND version = ? "
                          "AND segment = ? "
                          "AND granularity = ? AND closed AND start_ts >= ? AND start_ts < ? ORDER BY start_ts",
                          [model, version, segment, child, start, end])

    def windows(self, model: str, *, since: float | None = None, until: float | None = None,
                version: str | None = None, segment: str | None = None, granularity: float | None = None,
                closed: bool | None = None, limit: int = 100, with_profile: bool = False) -> list[dict[str, Any]]:
        where, params = self._filters(model, "start_ts", "end_ts", since, until, version, segment, granularity)
        if closed is not None:
            where.append("closed = ?")
            params.append(closed)
        cols = ("version, segment, granularity, start_ts, end_ts, closed, n_rows, late, verdict, closed_at"
                + (", profile" if with_profile else ""))
        return self._select("windows", cols, where, params, "start_ts DESC, granularity, version, segment", limit)

    def findings(self, model: str, *, since: float | None = None, until: float | None = None,
                 version: str | None = None, segment: str | None = None, granularity: float | None = None,
                 severity: str | None = None, linked: bool = True, limit: int = 100) -> list[dict[str, Any]]:
        """Findings, newest window first. ``linked=False`` leaves out those that repeat a parent's (a
        segment's or roll-up's restatement of the same check on the same column) and counts, per finding
        listed, the repeats that point at it (``repeated``)."""
        where, params = self._filters(model, "window_start", "window_end", since, until, version, segment, granularity)
        if severity is not None:
            where.append("severity = ?")
            params.append(severity)
        cols = ("version, segment, granularity, window_start, window_end, check_name, column_name, severity, "
                "message, evidence, created_at, parent_segment, parent_granularity, parent_start")
        if linked:
            return self._select("findings", cols, where, params, "window_start DESC, severity, check_name", limit)
        where.append("parent_segment IS NULL")
        rows = self._select("findings", cols, where, params, "window_start DESC, severity, check_name", limit)
        if rows:
            counts = self._rows(
                "SELECT version, check_name, column_name, parent_segment, parent_granularity, parent_start, count(*) "
                "FROM findings WHERE model = ? AND parent_segment IS NOT NULL AND parent_start >= ? "
                "AND parent_start <= ? GROUP BY ALL",
                [model, min(r["window_start"] for r in rows), max(r["window_start"] for r in rows)])
            n = {tuple(c[:6]): c[6] for c in counts}
            for r in rows:
                r["repeated"] = n.get((r["version"], r["check_name"], r["column_name"], r["segment"],
                                       r["granularity"], r["window_start"]), 0)
        return rows

    def child_findings(self, model: str, version: str, segment: str, child: float, start: float, end: float
                       ) -> list[FindingRow]:
        """The findings of the closed windows of length ``child`` in [start, end), oldest first: what a
        roll-up's findings may repeat."""
        rows = self._rows("SELECT * FROM findings WHERE model = ? AND version = ? AND segment = ? AND granularity = ? "
                          "AND window_start >= ? AND window_start < ? ORDER BY window_start",
                          [model, version, segment, child, start, end])
        return [FindingRow(*r) for r in rows]

    def _select(self, table: str, cols: str, where: list[str], params: list[Any], order: str, limit: int
                ) -> list[dict[str, Any]]:
        """Rows of ``table`` as dicts keyed by ``cols`` (the reads behind the API's lists)."""
        rows = self._rows(f"SELECT {cols} FROM {table} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
                          [*params, limit])
        names = [c.strip() for c in cols.split(",")]
        return [dict(zip(names, r)) for r in rows]

    @staticmethod
    def _filters(model: str, start_col: str, end_col: str, since: float | None, until: float | None,
                 version: str | None, segment: str | None, granularity: float | None) -> tuple[list[str], list[Any]]:
        where, params = ["model = ?"], [model]
        for cond, val in ((f"{end_col} > ?", since), (f"{start_col} < ?", until), ("version = ?", version),
                          ("segment = ?", segment), ("granularity = ?", granularity)):
            if val is not None:
                where.append(cond)
                params.append(val)
        return where, params

    def first_windows(self, model: str, granularity: float) -> dict[str, float]:
        """Per version, the start of its first window of ``granularity`` (open or closed): when it began serving."""
        return dict(self._rows("SELECT version, min(start_ts) FROM windows WHERE model = ? AND granularity = ? "
                               "GROUP BY version", [model, granularity]))

    def latest_closed(self, model: str, granularity: float) -> list[dict[str, Any]]:
        """The newest closed window of ``granularity`` per (version, segment)."""
        rows = self._rows("""SELECT version, segment, start_ts, end_ts, n_rows, verdict FROM windows w
            WHERE model = ? AND granularity = ? AND closed AND start_ts = (SELECT max(start_ts) FROM windows
                WHERE model = w.model AND version = w.version AND segment = w.segment AND granularity = w.granularity
                AND closed) ORDER BY version, segment""", [model, granularity])
        return [dict(zip(("version", "segment", "start_ts", "end_ts", "n_rows", "verdict"), r)) for r in rows]

    # -- retention ----------------------------------------------------------------------
    def delete_older(self, model: str, *, raw_events: float, predictions: float, labels: float,
                     profiles: float, lag_bounds: Sequence[float] = ()) -> dict[str, int]:
        """Retention, given the epoch times before which rows go: raw log
        segments holding only older events are deleted (their index rows
        stay), index rows, labels, findings and closed windows are deleted.
        Counts per kind (bytes for the raw log). What the deleted labels
        counted is added to the model's retired tallies in the same
        transaction (``label_tallies``, its label lag bucketed by
        ``lag_bounds``): counters derived from the table never go backwards."""
        out = {}
        with self.transaction() as cur:
            def count(sql: str, params: list[Any]) -> int:
                return int(cur.execute(f"SELECT count(*) FROM {sql}", params).fetchone()[0])

            tallies = self._label_tally(cur, model, lag_bounds) if count(
                "labels WHERE model = ? AND arrival < ?", [model, labels]) else None
            through = cur.execute("SELECT coalesce(max(seq), 0) FROM events WHERE model = ? AND arrival < ?",
                                  [model, raw_events]).fetchone()[0]
            newest = cur.execute("SELECT coalesce(max(seq), 0) FROM events WHERE model = ?", [model]).fetchone()[0]
            out["raw_bytes"] = self.raw.drop(model, int(through), int(newest)) if through else 0
            for key, table, col, before, extra in (
                    ("predictions", "events", "arrival", predictions, ""),
                    ("labels", "labels", "arrival", labels, ""),
                    ("findings", "findings", "window_end", profiles, ""),
                    ("performance", "performance", "end_ts", profiles, ""),
                    ("windows", "windows", "end_ts", profiles, " AND closed")):
                out[key] = n = count(f"{table} WHERE model = ? AND {col} < ?{extra}", [model, before])
                if n:
                    cur.execute(f"DELETE FROM {table} WHERE model = ? AND {col} < ?{extra}", [model, before])
            if tallies is not None:
                self._retire(cur, model, tallies, lag_bounds)
        return out

    # -- counters that outlive the process ------------------------------------------------------
    @staticmethod
    def _bucket_sql(expr: str, bounds: Sequence[float]) -> str:
        """The histogram bucket of ``expr``: how many bounds lie below it, numpy's ``searchsorted`` (side
        left) as the live histograms count, so a value equal to a bound is in that bound's bucket (``le``).
        The bounds are bound parameters, in order: DuckDB reads a literal 0.005 as a DECIMAL."""
        return " + ".join(f"CAST({expr} > ? AS INTEGER)" for _ in bounds) or "0"

    @staticmethod
    def _bucketed(rows: Sequence[tuple[Any, ...]], n_bounds: int) -> dict[str, Any]:
        """(bucket, count, sum) rows as a whole histogram: counts per bucket (the last +Inf) and the sum."""
        counts = [0] * (n_bounds + 1)
        total = 0.0
        for b, n, s in rows:
            counts[int(b)] += int(n)
            total += float(s or 0.0)
        return {"counts": counts, "total": total}

    def event_tallies(self, model: str, after_seq: int, latency_bounds: Sequence[float]) -> dict[str, Any]:
        """What the live event counters count, over the index rows past ``after_seq``: per version the
        events, the events per status code (none sent: 200) and the latency histogram (seconds, bucketed by
        ``latency_bounds``); and the newest event time. At start-up the index holds every acknowledged event
        (the raw log's tail is indexed first), so this recounts what happened after the last saved counters
        (or, from a store that has none, everything the index still holds), aggregated here, not fetched."""
        versions: dict[str, dict[str, Any]] = {}
        for version, code, n in self._rows("SELECT version, coalesce(status, 200), count(*) FROM events "
                                           "WHERE model = ? AND seq > ? GROUP BY 1, 2", [model, after_seq]):
            v = versions.setdefault(version, {"events": 0, "requests": {}})
            v["events"] += int(n)
            v["requests"][str(code)] = int(n)
        lat = self._rows(f"SELECT version, {self._bucket_sql('latency_ms / 1000.0', latency_bounds)}, count(*), "
                         "sum(latency_ms / 1000.0) FROM events WHERE model = ? AND seq > ? AND latency_ms IS NOT NULL "
                         "GROUP BY 1, 2", [*latency_bounds, model, after_seq])
        for version in {r[0] for r in lat}:
            versions[version]["latency"] = self._bucketed([r[1:] for r in lat if r[0] == version],
                                                          len(latency_bounds))
        last = self._rows("SELECT max(ts) FROM events WHERE model = ? AND seq > ?", [model, after_seq])[0][0]
        return {"versions": versions, "last_event_ts": last}

    def _label_tally(self, cur: Any, model: str, lag_bounds: Sequence[float]) -> dict[str, Any]:
        """``LABEL_TALLIES`` and the label lag histogram of the model's label and outcome rows, as the writer
        counts them: every label of a (version, id) after its first is a correction (duplicates are never
        stored); a (version, id) counts as joined once, with the lag of its first joined label (its arrival
        minus the prediction time, at least 0); outcomes count row by row."""
        lab = cur.execute("""WITH g AS (SELECT count(*) AS n, bool_or(state = 'joined') AS joined,
                                               count(*) FILTER (WHERE state = 'expired') AS expired
                                        FROM labels WHERE model = ? AND name IS NULL GROUP BY coalesce(version, ''), id)
                             SELECT coalesce(sum(n), 0), count(*) FILTER (WHERE joined), coalesce(sum(expired), 0),
                                    coalesce(sum(n - 1), 0) FROM g""", [model]).fetchone()
        outcomes = cur.execute("SELECT count(*), count(*) FILTER (WHERE state = 'joined'), count(*) FILTER (WHERE state = "
                           "'expired') FROM labels WHERE model = ? AND name IS NOT NULL", [model]).fetchone()
        out: dict[str, Any] = {k: int(v) for k, v in zip(LABEL_TALLIES, (*lab, *outcomes))}
        lag = cur.execute(f"""SELECT {self._bucket_sql('lag', lag_bounds)}, count(*), sum(lag) FROM (
                                  SELECT arg_min(greatest(arrival - prediction_ts, 0.0), arrival) AS lag FROM labels
                                  WHERE model = ? AND name IS NULL AND state = 'joined'
                                  GROUP BY coalesce(version, ''), id) GROUP BY 1""", [*lag_bounds, model]).fetchall()
        out["lag"] = {**self._bucketed(lag, len(lag_bounds)), "bounds": [float(b) for b in lag_bounds]}
        return out

    @staticmethod
    def _plus(a: dict[str, Any], b: dict[str, Any], sign: int = 1) -> dict[str, Any]:
        """Tallies ``a`` plus (or minus) ``b``; a lag histogram of other bounds in ``b`` is left out."""
        out = {**a, **{k: a[k] + sign * int(b.get(k, 0)) for k in LABEL_TALLIES}}
        lag = b.get("lag") or {}
        if lag.get("bounds") == a["lag"]["bounds"]:
            out["lag"] = {"bounds": a["lag"]["bounds"], "total": a["lag"]["total"] + sign * lag["total"],
                          "counts": [x + sign * y for x, y in zip(a["lag"]["counts"], lag["counts"])]}
        return out

    def _retired(self, cur: Any, model: str) -> dict[str, Any] | None:
        row = cur.execute("SELECT value FROM meta WHERE key = ?", [f"retired_labels:{model}"]).fetchone()
        return orjson.loads(row[0]) if row is not None else None

    def _retire(self, cur: Any, model: str, before: dict[str, Any], lag_bounds: Sequence[float]) -> None:
        """Add to the model's retired tallies what the tallies lost since ``before`` (in the caller's
        transaction, the one that deleted labels). The difference, not a tally of the deleted rows: a
        (version, id) whose first label went while a correction stayed changes what its rest counts."""
        gone = self._plus(before, self._label_tally(cur, model, lag_bounds), -1)
        old = self._retired(cur, model)
        if old is not None:
            gone = self._plus(gone, old)
        cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"retired_labels:{model}", orjson.dumps(gone).decode()])

    def label_tallies(self, model: str, lag_bounds: Sequence[float]) -> dict[str, Any]:
        """``LABEL_TALLIES`` and the label lag histogram (``lag``: bounds, counts per bucket, total) of every
        label and outcome the model ever stored: what the rows still here count plus what retention took
        away. Labels are committed before they are acknowledged, and joins and expiries in the transactions
        that make them, so these hold after a crash too."""
        cur = self._cur()
        out = self._label_tally(cur, model, lag_bounds)
        old = self._retired(cur, model)
        return self._plus(out, old) if old is not None else out

    def newest_windows(self, model: str, granularity: float, segment: str) -> list[dict[str, Any]]:
        """Per version, the newest closed window of ``granularity`` and ``segment`` (of two with one start,
        one closed early when its reference was replaced, the later): the window the live gauges showed."""
        rows = self._rows("""SELECT version, start_ts, end_ts, n_rows, verdict FROM windows
                             WHERE model = ? AND granularity = ? AND segment = ? AND closed
                             QUALIFY row_number() OVER (PARTITION BY version ORDER BY start_ts DESC,
                                                        closed_at DESC NULLS LAST) = 1
                             ORDER BY version""", [model, granularity, segment])
        return [dict(zip(("version", "start_ts", "end_ts", "n_rows", "verdict"), r)) for r in rows]

    def checkpoint(self) -> bool:
        """Write the WAL into the database file; False when a write transaction of another thread is open
        (DuckDB refuses then): the next call, a few seconds later, does it. Waiting (FORCE CHECKPOINT)
        would stall the fold loop behind the writer."""
        import duckdb

        try:
            self._cur().execute("CHECKPOINT")
        except duckdb.TransactionException as exc:
            if "other write transactions" not in str(exc):
                raise
            return False
        return True
