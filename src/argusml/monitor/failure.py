"""What a monitor thread does when the store under it has failed for good."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("argus.monitor")


def stopped_by_store(store: Any, thread: str) -> bool:
    """True, after one CRITICAL line, when the store is unusable (``Connection.failure``: DuckDB
    invalidated the database): the caller's loop ends instead of logging the same error at every tick.
    Its thread no longer being alive fails /readyz, and `argus serve` stops on the failure by itself
    (``service/server.watch_store``); a restart recovers from the raw log."""
    failure = store.failure()
    if failure is None:
        return False
    log.critical("%s thread stopped: the store failed (%s); restart the service", thread, failure)
    return True
