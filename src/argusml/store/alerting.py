"""What the alert engine keeps: each model's alert state, the incidents, the silences, and how far it has
read the closed windows and performance windows.

The engine's state, the incidents it changed, the notices it queued and its read cursors are written in one
transaction (``save_alerting``): after a crash the next process reads on from the cursor with exactly the
state that cursor produced, so no window is judged twice into a counter and no notice is lost or sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from argusml.store.connection import Connection
from argusml.store.tables import FINDING_COLUMNS, PERF_CHECKS, FindingRow, rows_table

ALERT_DDL = """
CREATE TABLE IF NOT EXISTS alert_state(model VARCHAR PRIMARY KEY, state VARCHAR, updated_at DOUBLE);
CREATE TABLE IF NOT EXISTS incidents(id VARCHAR PRIMARY KEY, model VARCHAR, status VARCHAR, severity VARCHAR,
    opened_at DOUBLE, updated_at DOUBLE, state VARCHAR);
CREATE TABLE IF NOT EXISTS silences(id VARCHAR PRIMARY KEY, ends_at DOUBLE, state VARCHAR);
CREATE TABLE IF NOT EXISTS alert_cursors(key VARCHAR PRIMARY KEY, value DOUBLE);
"""
"""Only the alert thread (and the API's acknowledgements, under the same lock) writes these tables: a
transaction of its own never conflicts with the fold thread's snapshots, which rewrite ``meta``."""

_WINDOW_COLS = ("model", "version", "granularity", "start_ts", "end_ts", "n_rows", "verdict", "closed_at")
_FINDING_COLS = ("model", "version", "segment", "granularity", "window_start", "check_name", "column_name",
                 "severity", "message", "evidence")
_PERF_COLS = ("model", "version", "granularity", "start_ts", "end_ts", "labels", "lag_p90", "status", "metrics",
              "updated_at")


class AlertTables(Connection):
    """The alert engine's tables (a part of ``Store``)."""

    def _alert_tables(self) -> None:
        self._cur().execute(ALERT_DDL)

    # -- what the engine reads -------------------------------------------------------------------
    def closed_windows_since(self, after: float, limit: int = 5000) -> list[dict[str, Any]]:
        """Whole-traffic windows closed after ``after`` (their ``closed_at``), oldest close first, each with
        the findings of its bucket (its own and its segment windows', for where a finding is confined)."""
        rows = self._rows(f"SELECT {', '.join(_WINDOW_COLS)} FROM windows WHERE closed AND segment = '*' "
                          "AND closed_at > ? ORDER BY closed_at, model, start_ts LIMIT ?", [after, limit])
        out = [dict(zip(_WINDOW_COLS, r)) for r in rows]
        if not out:
            return out
        last = out[-1]["closed_at"]
        if len(out) == limit:  # a close cut in two would be read half now and never again: leave it whole
            out = [w for w in out if w["closed_at"] < last] or out
            last = out[-1]["closed_at"]
        found = self._rows(f"SELECT {', '.join(_FINDING_COLS)} FROM findings WHERE created_at >= ? "
                           "AND created_at <= ?", [out[0]["closed_at"], last])
        by_window: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for f in found:
            d = dict(zip(_FINDING_COLS, f))
            by_window.setdefault((d["model"], d["version"], d["granularity"], d["window_start"]), []).append(d)
        segs = dict(((m, v, g, t), n) for m, v, g, t, n in self._rows(
            "SELECT model, version, granularity, start_ts, count(*) FROM windows WHERE closed AND segment <> '*' "
            "AND closed_at >= ? AND closed_at <= ? GROUP BY ALL", [out[0]["closed_at"], last]))
        for w in out:
            key = (w["model"], w["version"], w["granularity"], w["start_ts"])
            w["findings"] = by_window.get(key, [])
            w["segment_windows"] = segs.get(key, 0)
        return out

    def performance_since(self, after: float, limit: int = 5000) -> list[dict[str, Any]]:
        """Whole-traffic performance windows written after ``after`` (``updated_at``), oldest first, each with
        the performance job's findings of that window."""
        rows = self._rows(f"SELECT {', '.join(_PERF_COLS)} FROM performance WHERE segment = '*' AND updated_at > ? "
                          "ORDER BY updated_at, model, start_ts LIMIT ?", [after, limit])
        out = [dict(zip(_PERF_COLS, r)) for r in rows]
        if not out:
            return out
        checks = ", ".join(f"'{c}'" for c in PERF_CHECKS)
        found = self._rows(f"SELECT {', '.join(_FINDING_COLS)} FROM findings WHERE segment = '*' AND check_name IN "
                           f"({checks}) AND window_start >= ? AND window_start <= ?",
                           [min(p["start_ts"] for p in out), max(p["start_ts"] for p in out)])
        by_window: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for f in found:
            d = dict(zip(_FINDING_COLS, f))
            by_window.setdefault((d["model"], d["version"], d["granularity"], d["window_start"]), []).append(d)
        for p in out:
            p["findings"] = by_window.get((p["model"], p["version"], p["granularity"], p["start_ts"]), [])
        return out

    def metric_windows(self, model: str, version: str, granularity: float, since: float, until: float
                       ) -> list[tuple[float, int, str | None]]:
        """(start, rows, verdict JSON) of the closed whole-traffic windows in [since, until): a metric's past."""
        return self._rows("SELECT start_ts, n_rows, verdict FROM windows WHERE model = ? AND version = ? AND "
                          "segment = '*' AND granularity = ? AND closed AND start_ts >= ? AND start_ts < ? "
                          "ORDER BY start_ts", [model, version, granularity, since, until])

    def performance_history(self, model: str, version: str, since: float, until: float
                            ) -> list[tuple[float, str | None, float | None]]:
        """(start, metrics JSON, lag p90) of the whole-traffic performance windows in [since, until)."""
        return self._rows("SELECT start_ts, metrics, lag_p90 FROM performance WHERE model = ? AND version = ? AND "
                          "segment = '*' AND start_ts >= ? AND start_ts < ? ORDER BY start_ts",
                          [model, version, since, until])

    # -- the engine's state ------------------------------------------------------------------------
    def load_alerting(self) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Every model's alert state, the incidents not resolved, and the silences not yet over."""
        models = {m: orjson.loads(s) for m, s in self._rows("SELECT model, state FROM alert_state")}
        incidents = [orjson.loads(s) for (s,) in self._rows("SELECT state FROM incidents WHERE status <> 'resolved'")]
        silences = [orjson.loads(s) for (s,) in self._rows("SELECT state FROM silences ORDER BY ends_at")]
        return models, incidents, silences

    def save_alerting(self, cur: Any, models: dict[str, dict[str, Any] | None],
                      incidents: Sequence[tuple[str, str, str, str, float, float, dict[str, Any]]],
                      cursors: dict[str, float], now: float) -> None:
        """Within the caller's transaction (``cur``), with the notices it queues: the alert state of the models
        that changed (None: the model is gone), the incidents that changed, and the read cursors."""
        for model, state in models.items():
            cur.execute("DELETE FROM alert_state WHERE model = ?", [model])
            if state is not None:
                cur.execute("INSERT INTO alert_state VALUES (?, ?, ?)", [model, orjson.dumps(state).decode(), now])
        for iid, model, status, severity, opened_at, updated_at, state in incidents:
            cur.execute("INSERT OR REPLACE INTO incidents VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [iid, model, status, severity, opened_at, updated_at, orjson.dumps(state).decode()])
        for key, value in cursors.items():
            cur.execute("INSERT OR REPLACE INTO alert_cursors VALUES (?, ?)", [key, float(value)])

    def cursor(self, key: str) -> float:
        rows = self._rows("SELECT value FROM alert_cursors WHERE key = ?", [key])
        return float(rows[0][0]) if rows else 0.0

    # -- reads for the API ---------------------------------------------------------------------------
    def incident_states(self, *, model: str | None = None, status: str | None = None, limit: int = 100
                        ) -> list[dict[str, Any]]:
        """Incidents, newest opened first."""
        where, params = ["TRUE"], []
        if model is not None:
            where.append("model = ?")
            params.append(model)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        rows = self._rows(f"SELECT state FROM incidents WHERE {' AND '.join(where)} ORDER BY opened_at DESC, id "
                          "LIMIT ?", [*params, limit])
        return [orjson.loads(s) for (s,) in rows]

    def incidents_between(self, model: str, start: float, end: float, limit: int = 10_000) -> list[dict[str, Any]]:
        """The incidents of ``model`` that were open at some time in [start, end): opened before ``end`` and
        not resolved before ``start`` (a superset: an incident changes no earlier than it resolves, so
        the caller reads ``resolved_at`` for the exact cut), oldest first."""
        rows = self._rows("SELECT state FROM incidents WHERE model = ? AND opened_at < ? AND (status <> 'resolved' "
                          "OR updated_at >= ?) ORDER BY opened_at, id LIMIT ?", [model, end, start, limit])
        return [orjson.loads(s) for (s,) in rows]

    def incident_state(self, incident_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT state FROM incidents WHERE id = ?", [incident_id])
        return orjson.loads(rows[0][0]) if rows else None

    def add_findings(self, rows: Sequence[FindingRow]) -> None:
        """Findings that belong to no window (a notifier failing): granularity 0, a point in time."""
        with self.transaction() as cur:
            cur.from_arrow(rows_table(list(rows), FINDING_COLUMNS)).insert_into("findings")

    def save_silence(self, silence_id: str, ends_at: float, state: dict[str, Any]) -> None:
        with self.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO silences VALUES (?, ?, ?)",
                        [silence_id, ends_at, orjson.dumps(state).decode()])

    def delete_incidents_before(self, model: str, before: float) -> int:
        """Resolved incidents of ``model`` last changed before ``before`` go (retention); open ones stay."""
        return len(self._rows("DELETE FROM incidents WHERE model = ? AND status = 'resolved' AND updated_at < ? "
                              "RETURNING id", [model, before]))

    def delete_silences_before(self, before: float) -> int:
        """Silences over before ``before`` go (kept a while after they end, for the record)."""
        with self.transaction() as cur:
            (n,) = cur.execute("SELECT count(*) FROM silences WHERE ends_at < ?", [before]).fetchone()
            cur.execute("DELETE FROM silences WHERE ends_at < ?", [before])
        return int(n)
