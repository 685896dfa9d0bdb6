"""What a start reads back for every model: one grouped query per kind, not one per model.

A start continues each model's dedup keys, pending labels, counters, window gauges and performance
panel from the store (``monitor/recovery.py``). Read model by model, that was about fifteen queries per
model, each scanning the events or labels table: 500 models took 25 s to start on an idle machine, and
the cost grew with models times rows. Each read here answers for every model at once, grouped in DuckDB;
per-model parameters (a dedup horizon, a window length) travel as a small Arrow table joined in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from argusml.store.connection import Connection

PERFORMANCE_PANEL = ("version, segment, granularity, start_ts, end_ts, predictions, labels, lag_p50, lag_p90, "
                     "status, metrics, outcomes, updated_at, estimated")
"""The performance columns /status and /metrics show (``Store.performance`` returns the same)."""


class StartupReads(Connection):
    """Grouped reads for ``recover`` and the performance panel's first load."""

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

    @contextmanager
    def _joined(self, name: str, columns: Mapping[str, Sequence[Any]]) -> Iterator[Any]:
        """The thread's cursor with ``columns`` registered as the table ``name`` for the query's join."""
        cur = self._cur()
        cur.register(name, pa.table(dict(columns)))
        try:
            yield cur
        finally:
            cur.unregister(name)

    def max_seqs(self) -> dict[str, int]:
        """Per model, the newest sequence in the index."""
        return {m: int(s) for m, s in self._rows("SELECT model, max(seq) FROM events GROUP BY model")}

    def versions_all(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for m, v in self._rows("SELECT DISTINCT model, version FROM events"):
            out.setdefault(m, set()).add(v)
        return out

    def recent_keys_all(self, horizons: Mapping[str, tuple[float, int]]) -> dict[str, list[tuple[str, str]]]:
        """Per model, (version, id) of its newest predictions since its ``since``, at most its ``limit``,
        newest first: ``horizons`` maps model -> (since, limit). The dedup index after a restart."""
        if not horizons:
            return {}
        with self._joined("_h", {"model": list(horizons), "since": [h[0] for h in horizons.values()],
                                 "lim": [h[1] for h in horizons.values()]}) as cur:
            rows = cur.execute("""SELECT e.model, e.version, e.id FROM events e JOIN _h ON e.model = _h.model
                                  WHERE e.arrival >= _h.since
                                  QUALIFY row_number() OVER (PARTITION BY e.model ORDER BY e.arrival DESC) <= _h.lim
                                  ORDER BY e.model, e.arrival DESC""").fetchall()
        out: dict[str, list[tuple[str, str]]] = {}
        for m, v, i in rows:
            out.setdefault(m, []).append((v, i))
        return out

    def pending_labels_all(self) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
        """Per model, (labels, outcomes) still waiting for their prediction: id -> newest arrival."""
        out: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
        for m, is_label, id_, arrival in self._rows("SELECT model, name IS NULL, id, max(arrival) FROM labels "
                                                    "WHERE state = 'pending' GROUP BY 1, 2, 3"):
            out.setdefault(m, ({}, {}))[0 if is_label else 1][id_] = arrival
        return out

    def outcome_names_all(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for m, n in self._rows("SELECT DISTINCT model, name FROM labels WHERE name IS NOT NULL"):
            out.setdefault(m, set()).add(n)
        return out

    def metas(self, prefix: str) -> dict[str, str]:
        """The ``meta`` values whose key starts with ``prefix``, keyed by the rest of the key."""
        return {k[len(prefix):]: v for k, v in self._rows("SELECT key, value FROM meta WHERE starts_with(key, ?)",
                                                          [prefix])}

    def event_tallies_all(self, through: Mapping[str, int], latency_bounds: Sequence[float]) -> dict[str, dict[str, Any]]:
        """Per model, what the live event counters count over the index rows past its ``through`` sequence:
        per version the events, the events per status code (none sent: 200) and the latency histogram
        (seconds, bucketed by ``latency_bounds``); and the newest event time. At start-up the index holds
        every acknowledged event (the raw log's tail is indexed first), so this recounts what happened
        after the last saved counters (or, from a store that has none, everything the index still holds),
        aggregated here, not fetched."""
        if not through:
            return {}
        bucket = self._bucket_sql("latency_ms / 1000.0", latency_bounds)
        with self._joined("_t", {"model": list(through), "through": [int(s) for s in through.values()]}) as cur:
            counts = cur.execute("""SELECT e.model, version, coalesce(status, 200), count(*), max(ts) FROM events e
                                    JOIN _t ON e.model = _t.model WHERE e.seq > _t.through GROUP BY 1, 2, 3""").fetchall()
            lat = cur.execute(f"""SELECT e.model, version, {bucket}, count(*), sum(latency_ms / 1000.0) FROM events e
                                  JOIN _t ON e.model = _t.model WHERE e.seq > _t.through AND latency_ms IS NOT NULL
                                  GROUP BY 1, 2, 3""", list(latency_bounds)).fetchall()
        out: dict[str, dict[str, Any]] = {m: {"versions": {}, "last_event_ts": None} for m in through}
        for m, version, code, n, last in counts:
            v = out[m]["versions"].setdefault(version, {"events": 0, "requests": {}})
            v["events"] += int(n)
            v["requests"][str(code)] = int(n)
            if out[m]["last_event_ts"] is None or last > out[m]["last_event_ts"]:
                out[m]["last_event_ts"] = last
        by_version: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for m, version, *rest in lat:
            by_version.setdefault((m, version), []).append(tuple(rest))
        for (m, version), rows in by_version.items():
            out[m]["versions"][version]["latency"] = self._bucketed(rows, len(latency_bounds))
        return out

    def newest_windows_all(self, granularity: Mapping[str, float], segment: str) -> dict[str, list[dict[str, Any]]]:
        """Per model, per version, the newest closed window of the model's ``granularity`` and ``segment``
        (of two with one start, one closed early when its reference was replaced, the later): the window the
        live gauges showed."""
        if not granularity:
            return {}
        with self._joined("_g", {"model": list(granularity), "g": [float(g) for g in granularity.values()]}) as cur:
            rows = cur.execute("""SELECT w.model, version, start_ts, end_ts, n_rows, verdict FROM windows w
                                  JOIN _g ON w.model = _g.model AND w.granularity = _g.g
                                  WHERE segment = ? AND closed
                                  QUALIFY row_number() OVER (PARTITION BY w.model, version ORDER BY start_ts DESC,
                                                             closed_at DESC NULLS LAST) = 1
                                  ORDER BY w.model, version""", [segment]).fetchall()
        out: dict[str, list[dict[str, Any]]] = {}
        for m, *rest in rows:
            out.setdefault(m, []).append(dict(zip(("version", "start_ts", "end_ts", "n_rows", "verdict"), rest)))
        return out

    def performance_panel(self, panel: Mapping[str, tuple[float, int]], segment: str
                          ) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """Per model and version, its newest performance window (``latest``) and its newest with at least
        ``min_labels`` labels (``judged``; labels lag, so often an older one), of the model's report
        ``granularity`` and ``segment``: ``panel`` maps model -> (granularity, min_labels)."""
        if not panel:
            return {}
        names = [c.strip() for c in PERFORMANCE_PANEL.split(",")]
        out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {m: {} for m in panel}
        with self._joined("_p", {"model": list(panel), "g": [float(p[0]) for p in panel.values()],
                                 "min_labels": [int(p[1]) for p in panel.values()]}) as cur:
            for key, cond in (("latest", "TRUE"), ("judged", "p.labels >= _p.min_labels")):
                rows = cur.execute(f"""SELECT p.model, {', '.join('p.' + n for n in names)} FROM performance p
                                       JOIN _p ON p.model = _p.model AND p.granularity = _p.g
                                       WHERE p.segment = ? AND {cond}
                                       QUALIFY row_number() OVER (PARTITION BY p.model, p.version
                                                                  ORDER BY p.start_ts DESC) = 1""",
                                   [segment]).fetchall()
                for m, *rest in rows:
                    row = dict(zip(names, rest))
                    out[m].setdefault(row["version"], {})[key] = row
        return out
