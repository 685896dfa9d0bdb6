"""Backpressure: what ingest has accepted and the pipeline has not finished with.

An event counts from the moment its request queues it for the writer until
it is folded, and its index row until the indexer commits it. Past
``Settings.max_pending_events`` ingest answers ``Busy`` (429 at the edge)
instead of growing memory; index rows pile up only while DuckDB fails.
"""

from __future__ import annotations

import threading

from argusml.schema import ArgusError


class Busy(ArgusError):
    """Ingestion is behind; the caller should retry after ``retry_after`` seconds."""

    def __init__(self, pending: int, limit: int) -> None:
        self.retry_after = 1
        super().__init__(f"ingestion is behind: {pending} events queued (limit {limit}); retry shortly")


class Backlog:
    """The counts, updated from the request thread, the writer, the indexer and the fold thread under
    ``lock`` (which also guards each model's ``backfill_queued``, counted from the same threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writer = 0  # queued for the writer
        self.fold = 0  # written, not folded yet
        self.unindexed = 0  # acknowledged, their index rows not committed yet

    def count(self, writer: int = 0, fold: int = 0, unindexed: int = 0) -> None:
        with self.lock:
            self.writer += writer
            self.fold += fold
            self.unindexed += unindexed

    @property
    def depth(self) -> int:
        """Events not yet written and folded (``Monitor.queue_depth``)."""
        return self.writer + self.fold

    def check(self, limit: int) -> None:
        depth = self.depth + self.unindexed
        if depth >= limit:
            raise Busy(depth, limit)
