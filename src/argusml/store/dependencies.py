"""Freshness heartbeats of dependencies: the newest timestamp each pipeline posted, kept across restarts.

A freshness dependency is judged by how old its newest heartbeat is. Were the heartbeat only in memory, a
restart would forget it, and the dependency would read as never heard from (down after ``max_age``) however
recently the pipeline posted. One row per (model, dependency), replaced by each post: the table stays as
small as the configs that name the dependencies.
"""

from __future__ import annotations

from argusml.store.connection import Connection

DEPENDENCY_DDL = """
CREATE TABLE IF NOT EXISTS dependency_heartbeats(model VARCHAR, dependency VARCHAR, ts DOUBLE, received_at DOUBLE,
    PRIMARY KEY (model, dependency));
CREATE TABLE IF NOT EXISTS dependency_documents(model VARCHAR, dependency VARCHAR, received_at DOUBLE,
    ts DOUBLE, documents BIGINT);
"""
DOCUMENTS_KEPT = 30 * 86400.0
"""Seconds of document counts kept per dependency: a month of an index's size, read back at start-up."""


class DependencyTables(Connection):
    """The ``dependency_heartbeats`` table (a part of ``Store``)."""

    def _dependency_tables(self) -> None:
        self._cur().execute(DEPENDENCY_DDL)

    def save_heartbeat(self, model: str, dependency: str, ts: float, received_at: float) -> None:
        """Record the heartbeat a pipeline posted (the newest post wins, even when its timestamp is older:
        the pipeline says how fresh its data is now). Durable once this returns."""
        self._cur().execute("INSERT OR REPLACE INTO dependency_heartbeats VALUES (?, ?, ?, ?)",
                            [model, dependency, ts, received_at])

    def save_documents(self, model: str, dependency: str, ts: float, received_at: float, documents: int) -> None:
        """Record the document count a heartbeat reported (an index's size over time), dropping the
        dependency's counts older than ``DOCUMENTS_KEPT``."""
        cur = self._cur()
        cur.execute("INSERT INTO dependency_documents VALUES (?, ?, ?, ?, ?)",
                    [model, dependency, received_at, ts, documents])
        cur.execute("DELETE FROM dependency_documents WHERE model = ? AND dependency = ? AND received_at < ?",
                    [model, dependency, received_at - DOCUMENTS_KEPT])

    def documents(self, since: float) -> dict[tuple[str, str], list[tuple[float, float, int]]]:
        """(model, dependency) -> [(received at, heartbeat timestamp, documents)] received since ``since``,
        oldest first."""
        out: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
        for m, d, at, ts, n in self._rows("SELECT model, dependency, received_at, ts, documents FROM "
                                          "dependency_documents WHERE received_at >= ? ORDER BY received_at",
                                          [since]):
            out.setdefault((m, d), []).append((float(at), float(ts), int(n)))
        return out

    def heartbeats(self) -> dict[tuple[str, str], tuple[float, float]]:
        """(model, dependency) -> (heartbeat timestamp, when it was received), epoch seconds."""
        return {(m, d): (float(ts), float(at)) for m, d, ts, at in
                self._rows("SELECT model, dependency, ts, received_at FROM dependency_heartbeats")}
