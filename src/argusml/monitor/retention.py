"""Retention: each model's data is kept as long as its config says (``retention``), and labels whose
prediction never came expire (``labels.horizon``). The fold thread applies it every ``retention_every``."""

from __future__ import annotations

import logging

from argusml.monitor.metrics import LABEL_LAG_BUCKETS
from argusml.monitor.state import ModelState
from argusml.store import Store

log = logging.getLogger("argus.monitor")


def apply_retention(store: Store, models: dict[str, ModelState], now: float) -> dict[str, dict[str, int]]:
    """Delete what each model's ``retention`` no longer keeps, and expire the labels still waiting for their
    prediction past ``labels.horizon``; per model, what was deleted and how many labels expired."""
    out = {}
    for state in list(models.values()):
        r = state.config.retention
        out[state.name] = store.delete_older(state.name, raw_events=now - r.raw_events,
                                             predictions=now - r.predictions, labels=now - r.labels,
                                             profiles=now - r.profiles, lag_bounds=LABEL_LAG_BUCKETS)
        expired, expired_outcomes = store.expire_labels(state.name, now - state.config.labels.horizon, now)
        if expired or expired_outcomes:
            cutoff = now - state.config.labels.horizon
            for pend in (state.pending, state.pending_outcomes):
                for k in [k for k, a in pend.items() if a < cutoff]:
                    del pend[k]
            state.metrics.labels_expired += expired
            state.metrics.outcomes_expired += expired_outcomes
            state.metrics.labels_pending = len(state.pending)
            log.info("%d pending labels of %r expired without a prediction", expired, state.name)
        out[state.name]["labels_expired"] = expired
        out[state.name]["incidents"] = store.delete_incidents_before(state.name, now - r.profiles)
    # the alert engine's records outlive the models: kept as long as the longest profile retention
    keep = max((s.config.retention.profiles for s in list(models.values())), default=400 * 86400.0)
    store.prune_notifications(now - keep)
    store.delete_silences_before(now - keep)
    return out
