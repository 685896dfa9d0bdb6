"""The dashboard's reads: every model's incidents and window health in one grouped query each, and a
model's operations per time bucket.

The overview shows hundreds of models on one page; a read per model would make its cost grow with the
fleet (N+1). Each read here answers for every model at once, grouped in DuckDB, so the page costs the same
few queries whatever the number of models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from argusml.store.connection import Connection

BAD_STATUSES = ("error", "drift", "warning")
"""Window verdict statuses that make a model's health "warning" (``ok`` and ``not_checked`` do not)."""


STATUS_SQL = ("coalesce(nullif(regexp_extract({v}[1:40], '^\\{{\\s*\"status\"\\s*:\\s*\"([a-z_]+)\"', 1), ''), "
              "json_extract_string({v}, '$.status'))")
"""A stored verdict's status, read from the first bytes of its text (``WindowVerdict.dumps`` writes
``status`` first), parsing the whole JSON only for a text that does not start so. Parsing every window's
verdict (kilobytes each, for each column) to learn one word cost more memory than the serving store has
(64 MB: a day of 5-minute windows of 500 models, 150,000 verdicts, failed); the prefix reads them in a third
of a second."""


class OverviewTables(Connection):
    """Grouped reads over every model (a part of ``Store``)."""

    def incident_summary(self) -> dict[str, dict[str, Any]]:
        """Per model with any incident: open ones (not resolved; acknowledged count) per severity, the oldest
        open one's stored state, and when the newest resolved one was resolved. One grouped query."""
        rows = self._rows("""
            SELECT model,
                   count(*) FILTER (WHERE status <> 'resolved' AND severity = 'P0'),
                   count(*) FILTER (WHERE status <> 'resolved' AND severity = 'P1'),
                   count(*) FILTER (WHERE status <> 'resolved' AND severity = 'P2'),
                   arg_min(state, opened_at) FILTER (WHERE status <> 'resolved'),
                   max(TRY_CAST(json_extract_string(state, '$.resolved_at') AS DOUBLE))
                       FILTER (WHERE status = 'resolved')
            FROM incidents GROUP BY model""")
        return {m: {"open": {"P0": int(p0), "P1": int(p1), "P2": int(p2)}, "oldest_open": oldest,
                    "last_resolved_at": resolved}
                for m, p0, p1, p2, oldest, resolved in rows}

    def window_health(self, granularities: Mapping[str, float]) -> list[dict[str, Any]]:
        """Per model and version, over the closed whole-traffic windows of the model's own window length
        (``granularities``: model -> seconds): the newest window's status, start, end, drifted columns and
        findings per severity; ``bad_since``, the start of the run of error/drift/warning windows that ends
        with the newest (None when the newest is not bad); and ``last_bad_end``, the end of the newest bad
        window (None: none ever). One query, whatever the number of models."""
        if not granularities:
            return []
        bad = ", ".join(f"'{s}'" for s in BAD_STATUSES)
        cur = self._cur()
        cur.register("_g", pa.table({"model": list(granularities), "g": [float(v) for v in granularities.values()]}))
        try:
            rows = cur.execute(f"""
                WITH w AS (SELECT w.model, w.version, w.granularity, w.start_ts, w.end_ts, w.closed_at,
                                  {STATUS_SQL.format(v="w.verdict")} AS status
                           FROM windows w JOIN _g ON _g.model = w.model AND _g.g = w.granularity
                           WHERE w.closed AND w.segment = '*'),
                     g AS (SELECT model, version, granularity,
                                  max(start_ts) FILTER (WHERE status IS NULL OR status NOT IN ({bad})) AS last_ok,
                                  max(end_ts) FILTER (WHERE status IN ({bad})) AS last_bad_end,
                                  arg_max(status, (start_ts, closed_at)) AS status,
                                  max(start_ts) AS start_ts,
                                  arg_max(end_ts, (start_ts, closed_at)) AS end_ts,
                                  arg_max(closed_at, (start_ts, closed_at)) AS closed_at
                           FROM w GROUP BY model, version, granularity),
                     s AS (SELECT w.model, w.version, min(w.start_ts) AS bad_since FROM w JOIN g USING (model, version)
                           WHERE g.status IN ({bad}) AND (g.last_ok IS NULL OR w.start_ts > g.last_ok)
                           GROUP BY w.model, w.version)
                SELECT g.model, g.version, g.status, g.start_ts, g.end_ts,
                       json_extract(v.verdict, '$.drifted_columns')::VARCHAR,
                       json_extract(v.verdict, '$.findings_by_severity')::VARCHAR, s.bad_since, g.last_bad_end
                FROM g LEFT JOIN s USING (model, version)
                     LEFT JOIN windows v ON g.status IN ({bad}) AND v.model = g.model AND v.version = g.version
                          AND v.segment = '*' AND v.granularity = g.granularity AND v.start_ts = g.start_ts
                          AND v.closed_at = g.closed_at AND v.closed
                ORDER BY g.model, g.version""").fetchall()
        finally:
            cur.unregister("_g")
        keys = ("model", "version", "status", "start_ts", "end_ts", "drifted_columns", "findings_by_severity",
                "bad_since", "last_bad_end")
        return [dict(zip(keys, r)) for r in rows]

    def ops_buckets(self, model: str, step: float, since: float, until: float, version: str | None = None,
                    limit: int = 2000) -> list[dict[str, Any]]:
        """Per ``step`` bucket of event time in [since, until) and version, newest ``limit`` buckets, oldest
        first: requests, errors (status 500 or more), latency quantiles (``quantile_cont``: linear
        interpolation between the closest ranks, numpy's default ``linear`` method) and fallback answers."""
        vfilter = " AND version = ?" if version is not None else ""
        rows = self._rows(f"""
            SELECT * FROM (
                SELECT floor(ts / ?) * ? AS b, version, count(*) AS requests,
                       count(*) FILTER (WHERE status >= 500) AS errors,
                       quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.9), quantile_cont(latency_ms, 0.99),
                       count(*) FILTER (WHERE fallback) AS fallback
                FROM events WHERE model = ? AND ts >= ? AND ts < ?{vfilter}
                GROUP BY 1, 2 ORDER BY 1 DESC, 2 LIMIT ?) ORDER BY 1, 2""",
                          [step, step, model, since, until, *([version] if version is not None else []), limit])
        keys = ("start", "version", "requests", "errors", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
                "fallback")
        return [dict(zip(keys, r)) for r in rows]

    def window_segments(self, model: str, granularity: float) -> list[str]:
        """The segments the model's closed windows of ``granularity`` have, sorted ('*': all traffic)."""
        return [s for (s,) in self._rows("SELECT DISTINCT segment FROM windows WHERE model = ? AND granularity = ? "
                                         "AND closed ORDER BY 1", [model, granularity])]
