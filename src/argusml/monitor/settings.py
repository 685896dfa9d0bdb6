"""The monitor's settings: service-wide limits and cadences (a model's own are in its ``ModelConfig``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    """Service-wide limits (not per model)."""

    max_pending_events: int = 200_000
    max_batch_rows: int = 20_000  # per writer transaction
    snapshot_every: float = 10.0
    tick_every: float = 1.0
    retention_every: float = 3600.0
    fold_gather: float = 0.25  # the fold thread waits this long for more rows ...
    fold_min_rows: int = 5_000  # ... unless it has this many
    index_rows: int = 20_000  # index rows buffered before a DuckDB commit ...
    index_every: float = 0.5  # ... or after this many seconds (see writer.py)
    performance_every: float = 10.0  # how often the performance job looks for changed windows
    advice_every: float = 60.0  # how old the advice /status shows may be (GET .../advice is always fresh)
    checkpoint_every: float = 10.0  # DuckDB holds appended rows in memory until a checkpoint writes them out
    memory_limit: str = "64MB"  # DuckDB caches blocks up to this (and spills past it); ingest needs little
    # ... while the performance job joins a period's labels to its predictions, DuckDB may use this much
    # (a day of pairs runs out of memory at the ingest's limit: docs/BENCHMARKS.md, "Figures behind the code")
    performance_memory_limit: str = "1GB"
    external_url: str = ""  # how users reach this service: links in notifications (runbooks, incidents)
    alert_every: float = 1.0  # the alert thread ticks this often (absence rules, SLO samples, repeats) ...
    alert_on_close: bool = True  # ... and runs at once when the fold thread has committed closed windows
    backfill_idle: float = 10.0  # seconds without a backfill request after which its open windows close
    # every open window's profile is written with each snapshot, and closing (a check run each) must not hold
    # up the live windows for long; so a model holds at most this many open backfill windows (segments
    # included) ...
    backfill_open_max: int = 128
    backfill_close_seconds: float = 0.5  # ... and closing them takes at most about this long per tick (the
    # rest wait for the next tick); the closed ones are saved with the next snapshot
