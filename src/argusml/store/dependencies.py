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
"""


class DependencyTables(Connection):
    """The ``dependency_heartbeats`` table (a part of ``Store``)."""

    def _dependency_tables(self) -> None:
        self._cur().execute(DEPENDENCY_DDL)

    def save_heartbeat(self, model: str, dependency: str, ts: float, received_at: float) -> None:
        """Record the heartbeat a pipeline posted (the newest post wins, even when its timestamp is older:
        the pipeline says how fresh its data is now). Durable once this returns."""
        self._cur().execute("INSERT OR REPLACE INTO dependency_heartbeats VALUES (?, ?, ?, ?)",
                            [model, dependency, ts, received_at])

    def heartbeats(self) -> dict[tuple[str, str], tuple[float, float]]:
        """(model, dependency) -> (heartbeat timestamp, when it was received), epoch seconds."""
        return {(m, d): (float(ts), float(at)) for m, d, ts, at in
                self._rows("SELECT model, dependency, ts, received_at FROM dependency_heartbeats")}
