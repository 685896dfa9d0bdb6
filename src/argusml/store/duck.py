"""Everything the service keeps, in one embedded DuckDB file and two folders beside it.

The store package is the only place that knows SQL. Times are epoch
seconds (DOUBLE): every caller already thinks in them, and the HTTP edge
formats RFC 3339. A commit is durable (``connection.py``), which is what lets
the service acknowledge an event only after the transaction that holds it
has committed.

``Store`` is built in layers: ``Connection`` (the database, cursors,
transactions), ``WindowTables`` (windows, findings, profile files:
``windows.py``), and here what the rest keeps: models and baselines, the
prediction index and labels, performance windows, champion/challenger
reads, review samples, retention and the counters that outlive a process.
The tables themselves are in ``tables.py``.

Beside the database: ``events/``, the raw events (``rawlog.py``), and
``profiles/``, the window profiles and baselines the windows and
baselines tables point at (``profiles.py``). Neither is text DuckDB would have to rewrite at a
checkpoint.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import pyarrow as pa

from argusml.store.alerting import AlertTables
from argusml.store.configs import ConfigHistory
from argusml.store.dependencies import DependencyTables
from argusml.store.outbox import Outbox
from argusml.store.overview import OverviewTables
from argusml.store.rawlog import RawLog
from argusml.store.startup import StartupReads
from argusml.store.tables import (
    EVENT_SCHEMA,
    FINDING_COLUMNS,
    LABEL_SCHEMA,
    LABEL_TALLIES,
    PERF_CHECKS,
    PERFORMANCE_COLUMNS,
    SCHEMA_VERSION,
    BackfilledRow,
    FindingRow,
    PerformanceRow,
    WindowRow,
    by_check,
    event_columns,
    link_repeats,
    rows_table,
)
from argusml.store.windows import WindowTables

log = logging.getLogger("argus.store")

__all__ = ["EVENT_SCHEMA", "FINDING_COLUMNS", "LABEL_SCHEMA", "LABEL_TALLIES", "PERFORMANCE_COLUMNS", "PERF_CHECKS",
           "SCHEMA_VERSION", "BackfilledRow", "FindingRow", "PerformanceRow", "Store", "WindowRow", "by_check",
           "link_repeats"]


class Store(Outbox, ConfigHistory, WindowTables, AlertTables, DependencyTables, OverviewTables, StartupReads):
    """What the service keeps under its data directory (see the module docstring)."""

    def __init__(self, data_dir: str | os.PathLike[str], *, read_only: bool = False, memory_limit: str = "512MB") -> None:
        super().__init__(data_dir, read_only=read_only, memory_limit=memory_limit)
        if not read_only:
            self._alert_tables()
            self._dependency_tables()
        self.raw = RawLog(os.path.join(os.fspath(data_dir), "events"))
        if not read_only:
            self._baselines_to_files()
            for model in self.raw.models():  # a crash mid-append leaves a torn last line: never acknowledged
                if self.raw.repair(model):
                    log.info("raw log of %r: cut a torn last line (a crash during its write)", model)

    def close(self) -> None:
        self.raw.close()
        super().close()

    # -- models and baselines ---------------------------------------------------------
    def save_model(self, model: str, config_json: str, now: float) -> None:
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO models VALUES (?, ?, ?)", [model, config_json, now])

    def load_models(self) -> list[tuple[str, str]]:
        return [(m, c) for m, c in self._rows("SELECT model, config FROM models ORDER BY model")]

    def save_baseline(self, model: str, version: str, baseline_json: str, now: float) -> None:
        """``version`` '' is the model's own reference, used by versions without one. The text (a reference
        profile, hundreds of KB) goes to a profile file and the table keeps a reference, as for windows: kept
        inline, 500 models' baselines made every checkpoint pin ~290 MB of strings and fail at the
        service's memory limit, invalidating the database (docs/BENCHMARKS.md, "Figures behind the code")."""
        ref = self.profiles.put([baseline_json])[0]
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?)", [model, version, ref, now])

    def _baselines_to_files(self) -> None:
        """Baselines a store from before ``save_baseline`` kept inline move to profile files, so the next
        checkpoint no longer holds their text: one scan, one file, one update."""
        if not self._rows("SELECT 1 FROM baselines WHERE strlen(baseline) > 200 LIMIT 1"):
            return  # references are short: nothing to move
        self.set_memory_limit("1GB")  # the old texts are read into memory once
        try:
            rows = self._rows("SELECT model, version, baseline FROM baselines WHERE strlen(baseline) > 200")
            refs = self.profiles.put([b for *_, b in rows])
            moved = pa.table({"model": [m for m, *_ in rows], "version": [v for _, v, _ in rows], "ref": refs})
            del rows
            with self.transaction() as cur:
                cur.register("moved_baselines", moved)
                cur.execute("UPDATE baselines SET baseline = m.ref FROM moved_baselines m "
                            "WHERE baselines.model = m.model AND baselines.version = m.version")
                cur.unregister("moved_baselines")
            self.checkpoint()
        finally:
            self.set_memory_limit(self.memory_limit)
        log.info("moved %d baseline(s) kept in the database to profile files", len(refs))

    def load_baselines(self, model: str) -> list[tuple[str, str]]:
        """(version, baseline JSON); a baseline stored inline by an older store reads as itself."""
        rows = self._rows("SELECT version, baseline FROM baselines WHERE model = ?", [model])
        texts = self.profiles.read([b for _, b in rows])
        return [(v, t) for (v, _), t in zip(rows, texts) if t is not None]

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
            events = event_columns(events)
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
        first_arrival, s0... Events the fallback answered are not the model's predictions: left out.
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
                  WHERE e.model = ? AND e.ts >= ? AND e.ts < ? AND e.fallback IS NOT TRUE{vfilter}{labelled}"""
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
                        AND e.fallback IS NOT TRUE
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
                             AND (lv.id IS NOT NULL OR lu.id IS NOT NULL) AND e.fallback IS NOT TRUE
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
        """The model's predictions (not the fallback's) per version, ``window`` bucket (column b) and segment
        values in [start, end): n."""
        sel, paths = self._dim_sql(dims)
        return self._cur().sql(f"""SELECT version, floor(ts / ?) * ? AS b{sel}, count(*) AS n FROM events e
                                   WHERE model = ? AND ts >= ? AND ts < ? AND fallback IS NOT TRUE GROUP BY ALL""",
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
                cur.from_arrow(rows_table(rows, PERFORMANCE_COLUMNS)).insert_into("performance")
            if findings:
                cur.from_arrow(rows_table(findings, FINDING_COLUMNS)).insert_into("findings")

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
                               f"e.version = ? AND e.fallback IS NOT TRUE{where}", params=[*anti_params, model, version, *params]
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

            tallies = self._label_tally(cur, model, lag_bounds)[model] if count(
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
    def _label_tally(self, cur: Any, model: str | None, lag_bounds: Sequence[float]) -> dict[str, dict[str, Any]]:
        """Per model (every model with ``model`` None), ``LABEL_TALLIES`` and the label lag histogram of its
        label and outcome rows, as the writer counts them: every label of a (version, id) after its first is
        a correction (duplicates are never stored); a (version, id) counts as joined once, with the lag of
        its first joined label (its arrival minus the prediction time, at least 0); outcomes count row by
        row. A model asked for by name is there even without rows (all zero)."""
        where, params = ("model = ?", [model]) if model is not None else ("TRUE", [])
        lab = cur.execute(f"""WITH g AS (SELECT model, count(*) AS n, bool_or(state = 'joined') AS joined,
                                                count(*) FILTER (WHERE state = 'expired') AS expired
                                         FROM labels WHERE {where} AND name IS NULL
                                         GROUP BY model, coalesce(version, ''), id)
                              SELECT model, sum(n), count(*) FILTER (WHERE joined), sum(expired), sum(n - 1)
                              FROM g GROUP BY model""", params).fetchall()
        outcomes = cur.execute(f"""SELECT model, count(*), count(*) FILTER (WHERE state = 'joined'),
                                          count(*) FILTER (WHERE state = 'expired')
                                   FROM labels WHERE {where} AND name IS NOT NULL GROUP BY model""", params).fetchall()
        lag = cur.execute(f"""SELECT model, {self._bucket_sql('lag', lag_bounds)}, count(*), sum(lag) FROM (
                                  SELECT model, arg_min(greatest(arrival - prediction_ts, 0.0), arrival) AS lag
                                  FROM labels WHERE {where} AND name IS NULL AND state = 'joined'
                                  GROUP BY model, coalesce(version, ''), id) GROUP BY 1, 2""",
                          [*lag_bounds, *params]).fetchall()
        counts: dict[str, list[int]] = {}
        for m, *vals in lab:
            counts.setdefault(m, [0] * len(LABEL_TALLIES))[:4] = [int(v or 0) for v in vals]
        for m, *vals in outcomes:
            counts.setdefault(m, [0] * len(LABEL_TALLIES))[4:] = [int(v or 0) for v in vals]
        lags: dict[str, list[tuple[Any, ...]]] = {}
        for m, *rest in lag:
            lags.setdefault(m, []).append(tuple(rest))
        out = {m: self.zero_tallies(lag_bounds) for m in (set(counts) | ({model} if model is not None else set()))}
        for m, vals in counts.items():
            out[m].update(zip(LABEL_TALLIES, vals))
        for m, rows in lags.items():
            out[m]["lag"].update(self._bucketed(rows, len(lag_bounds)))
        return out

    @classmethod
    def zero_tallies(cls, lag_bounds: Sequence[float]) -> dict[str, Any]:
        """The tallies of a model with no label or outcome: every count 0, an empty lag histogram."""
        return {**dict.fromkeys(LABEL_TALLIES, 0),
                "lag": {**cls._bucketed([], len(lag_bounds)), "bounds": [float(b) for b in lag_bounds]}}

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
        gone = self._plus(before, self._label_tally(cur, model, lag_bounds)[model], -1)
        old = self._retired(cur, model)
        if old is not None:
            gone = self._plus(gone, old)
        cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"retired_labels:{model}", orjson.dumps(gone).decode()])

    def label_tallies(self, model: str | None, lag_bounds: Sequence[float]) -> dict[str, dict[str, Any]]:
        """Per model (every model with ``model`` None), ``LABEL_TALLIES`` and the label lag histogram
        (``lag``: bounds, counts per bucket, total) of every label and outcome it ever stored: what the rows
        still here count plus what retention took away. Labels are committed before they are acknowledged,
        and joins and expiries in the transactions that make them, so these hold after a crash too."""
        out = self._label_tally(self._cur(), model, lag_bounds)
        for m, text in self.metas("retired_labels:").items():
            if model is None or m == model:  # a model whose rows retention took all of has none in ``out``
                base = out[m] if m in out else self.zero_tallies(lag_bounds)
                out[m] = self._plus(base, orjson.loads(text))
        return out
